//! The async client: one [`Client`] per backend, behind the [`MeterSource`] trait.

mod device_flow;
pub(crate) mod limiter;
mod routes;
mod source;
#[cfg(feature = "client")]
pub(crate) use source::source_error;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use linky_core::{Clock, Measurement, RetryPolicy, SourceEvent};
use serde::Deserialize;
use tokio::sync::Mutex;
use tracing::Instrument;

#[cfg(feature = "client")]
pub use device_flow::DeviceFlow;
pub use device_flow::{DeviceCode, PollDecision, decide_poll};
pub use routes::{Backend, v5_path};
pub use source::{Fetched, MeterSource};

use crate::classify::Endpoint;
use crate::secret::AccessToken;
use crate::tokens::{MemoryTokenStore, TokenSet, TokenStore};
use crate::{ApiError, Error, ErrorCategory};
use limiter::RateLimiter;

/// The largest answer a client reads by default: 8 MiB. A week of PT5M readings is about
/// 0.2 MB and a year of daily values about 40 kB; anything far larger is not a
/// measurement, and reading it would only cost memory. See [`ClientBuilder::max_body_bytes`].
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Hears what happens while a request is answered.
pub(crate) type Observer<'a> = dyn Fn(SourceEvent) + Send + Sync + 'a;

/// The User-Agent sent by default (the proxy checks `Name/x.y.z`).
pub const DEFAULT_USER_AGENT: &str = concat!("linky-rs/", env!("CARGO_PKG_VERSION"));

/// Settings of a [`Client`], validated by [`ClientBuilder::build`].
#[cfg(feature = "client")]
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    backend: Backend,
    user_agent: String,
    timeout: Duration,
    min_spacing: Duration,
    max_per_second: u32,
    retry: RetryPolicy,
    max_body_bytes: usize,
    tokens: Option<Arc<dyn TokenStoreDebug>>,
    recorder: Option<Arc<crate::Recorder>>,
    clock: Arc<dyn Clock>,
    jitter_seed: Option<u64>,
}

/// A token store that can also be shown in `Debug` (never its content).
pub trait TokenStoreDebug: TokenStore + std::fmt::Debug {}
impl<T: TokenStore + std::fmt::Debug> TokenStoreDebug for T {}

#[cfg(feature = "client")]
impl ClientBuilder {
    /// The User-Agent header (default `linky-rs/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> ClientBuilder {
        self.user_agent = user_agent.into();
        self
    }

    /// How long one request may take, connection to last byte (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.timeout = timeout;
        self
    }

    /// The least time between two requests (default none; the original spaced them 5 s).
    pub fn min_spacing(mut self, spacing: Duration) -> ClientBuilder {
        self.min_spacing = spacing;
        self
    }

    /// At most this many requests in any second (default 5, Enedis' limit).
    pub fn max_per_second(mut self, count: u32) -> ClientBuilder {
        self.max_per_second = count.max(1);
        self
    }

    /// Retries of transient errors (default: 5 attempts, from 5 s doubling to 5 min). A
    /// server that asks to wait longer than the policy's longest delay (`Retry-After`
    /// above [`RetryPolicy::max`]) is not waited for: the error comes back at once, with
    /// its [`Error::retry_after`], for the caller to come back later.
    pub fn retry(mut self, policy: RetryPolicy) -> ClientBuilder {
        self.retry = policy;
        self
    }

    /// The largest answer read (default [`DEFAULT_MAX_BODY_BYTES`]). A larger one is
    /// refused with [`Error::BodyTooLarge`] as soon as its announced length or the bytes
    /// read so far pass the limit: it is never held in memory whole.
    pub fn max_body_bytes(mut self, limit: usize) -> ClientBuilder {
        self.max_body_bytes = limit;
        self
    }

    /// The clock every decision that depends on time asks: token expiry, retry delays,
    /// request spacing, the device flow's polling (default [`SystemClock`]). A
    /// [`linky_core::ManualClock`] makes a client's waits instant and its runs repeatable.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> ClientBuilder {
        self.clock = clock;
        self
    }

    /// The seed of the jitter spread over retry delays (default: drawn from the clock at
    /// build time). Given, the delays are the same on every run.
    pub fn jitter_seed(mut self, seed: u64) -> ClientBuilder {
        self.jitter_seed = Some(seed);
        self
    }

    /// Where tokens are kept between runs (default: in memory).
    pub fn token_store(mut self, store: Arc<dyn TokenStoreDebug>) -> ClientBuilder {
        self.tokens = Some(store);
        self
    }

    /// Records every exchange (redacted) into `recorder`, to save as a session.
    pub fn recorder(mut self, recorder: Arc<crate::Recorder>) -> ClientBuilder {
        self.recorder = Some(recorder);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a base URL that is not http(s) or an empty user agent.
    pub fn build(self) -> Result<Client, Error> {
        let base = self.backend.base_url();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(Error::Config {
                detail: format!(
                    "base url {base:?} of the {} backend is not http(s)",
                    self.backend.name()
                ),
            });
        }
        if self.user_agent.trim().is_empty() {
            return Err(Error::Config {
                detail: "empty user agent".to_owned(),
            });
        }
        let http = reqwest::Client::builder()
            .user_agent(self.user_agent.clone())
            .timeout(self.timeout)
            .connect_timeout(self.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|error| Error::Config {
                detail: format!("cannot build the http client: {error}"),
            })?;
        let tokens = self
            .tokens
            .clone()
            .unwrap_or_else(|| Arc::new(MemoryTokenStore::default()));
        Ok(Client {
            inner: Arc::new(Inner {
                limiter: Mutex::new(RateLimiter::new(self.min_spacing, self.max_per_second)),
                jitter: std::sync::Mutex::new(
                    self.jitter_seed
                        .unwrap_or_else(|| seed_from(self.clock.now()))
                        | 1,
                ),
                current_token: Mutex::new(None),
                http,
                tokens,
                settings: self,
            }),
        })
    }
}

#[cfg(feature = "client")]
fn seed_from(now: chrono::DateTime<chrono::Utc>) -> u64 {
    now.timestamp_nanos_opt()
        .map_or(0x9E37_79B9_7F4A_7C15, |nanos| nanos as u64)
}

/// The clock of the real world: the system's time, tokio's sleep.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[async_trait::async_trait]
impl Clock for SystemClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::<chrono::Utc>::from(SystemTime::now())
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// A client of one backend. Cheap to clone; clones share the rate limiter and tokens.
#[cfg(feature = "client")]
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[cfg(feature = "client")]
#[derive(Debug)]
struct Inner {
    settings: ClientBuilder,
    http: reqwest::Client,
    tokens: Arc<dyn TokenStoreDebug>,
    limiter: Mutex<RateLimiter>,
    jitter: std::sync::Mutex<u64>,
    /// The token in use (client credentials are not stored: they are cheap to renew).
    current_token: Mutex<Option<TokenSet>>,
}

#[cfg(feature = "client")]
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    refresh_token: Option<String>,
    expires_in: Option<u64>,
    usage_points_id: Option<String>,
}

#[cfg(feature = "client")]
impl Client {
    /// A builder for a client of `backend`, with the defaults.
    ///
    /// ```no_run
    /// use linky_core::Flow;
    /// use linky_enedis::{Backend, Client, MeterSource};
    /// # async fn run() -> Result<(), linky_enedis::Error> {
    /// // A Conso API token (conso.boris.sh): no consent flow, the token says it all.
    /// let backend = Backend::ConsoApi {
    ///     base_url: "https://conso.boris.sh/api".to_owned(),
    ///     token: linky_enedis::ApiToken::new(std::env::var("CONSO_TOKEN").unwrap_or_default()),
    ///     usage_points: vec!["22516914714270".to_owned()],
    /// };
    /// let client = Client::builder(backend).max_per_second(5).build()?;
    /// let pdl = "22516914714270".parse().unwrap();
    /// let day = chrono::NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
    /// let answer = client.load_curve(&pdl, Flow::Consumption, day, day.succ_opt().unwrap()).await?;
    /// # let _ = answer; Ok(()) }
    /// ```
    pub fn builder(backend: Backend) -> ClientBuilder {
        ClientBuilder {
            backend,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            timeout: Duration::from_secs(30),
            min_spacing: Duration::ZERO,
            max_per_second: 5,
            retry: RetryPolicy::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            tokens: None,
            recorder: None,
            clock: Arc::new(SystemClock),
            jitter_seed: None,
        }
    }

    /// The backend this client talks to.
    pub fn backend(&self) -> &Backend {
        &self.inner.settings.backend
    }

    /// The token store.
    pub fn token_store(&self) -> &Arc<dyn TokenStoreDebug> {
        &self.inner.tokens
    }

    /// The clock the client asks.
    pub fn clock(&self) -> &dyn Clock {
        self.inner.settings.clock.as_ref()
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    fn next_jitter(&self) -> f64 {
        let mut state = self.inner.jitter.lock().map(|s| *s).unwrap_or(1);
        // xorshift64: enough to spread retries, no dependency for it.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        if let Ok(mut stored) = self.inner.jitter.lock() {
            *stored = state;
        }
        (state >> 11) as f64 / (1u64 << 53) as f64
    }

    /// GETs a measurement's body, with rate limiting, one token refresh on an expired
    /// token, and retries of transient errors.
    pub(crate) async fn fetch_body(
        &self,
        measurement: Measurement,
        usage_point: &str,
        (start, end): (chrono::NaiveDate, chrono::NaiveDate),
        observer: Option<&Observer<'_>>,
    ) -> Result<Vec<u8>, Error> {
        let backend = self.backend();
        let path = backend.data_path(measurement, usage_point, start, end);
        let url = format!("{}{path}", backend.base_url());
        let span = tracing::info_span!(
            "enedis_request",
            backend = backend.name(),
            path = %path.split('?').next().unwrap_or_default(),
            usage_point,
            %start,
            %end,
        );
        self.get_with_retries(&url, observer).instrument(span).await
    }

    async fn get_with_retries(
        &self,
        url: &str,
        observer: Option<&Observer<'_>>,
    ) -> Result<Vec<u8>, Error> {
        let tell = |event: SourceEvent| {
            if let Some(observer) = observer {
                observer(event);
            }
        };
        let mut refreshed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self.get_once(url).await;
            let error = match result {
                Ok(body) => return Ok(body),
                Err(error) => error,
            };
            let expired = error.category() == ErrorCategory::TokenExpired;
            if expired && !refreshed && self.can_renew_token() {
                refreshed = true;
                tracing::info!("access token refused: renewing it once");
                self.renew_token().await?;
                tell(SourceEvent::TokenRenewed);
                continue;
            }
            let policy = &self.inner.settings.retry;
            if let Some(wait) = error.retry_after()
                && wait > policy.max
            {
                // Longer than this run may wait: the caller comes back later.
                tracing::warn!(%error, retry_after_s = wait.as_secs(), "the server asks to wait longer than the retry policy allows: giving up for now");
                return Err(error);
            }
            if error.category() == ErrorCategory::Transient
                && let Some(delay) = policy.delay(attempt, error.retry_after(), self.next_jitter())
            {
                tracing::warn!(%error, attempt, delay_ms = delay.as_millis() as u64, "transient error: retrying");
                tell(SourceEvent::Retrying {
                    attempt,
                    wait: delay,
                    reason: error.to_string(),
                    rate_limited: error.is_rate_limited(),
                });
                self.clock().sleep(delay).await;
                continue;
            }
            return Err(error);
        }
    }

    fn record(
        &self,
        method: &str,
        url: &str,
        status: u16,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) {
        if let Some(recorder) = &self.inner.settings.recorder {
            let path = url.strip_prefix(self.backend().base_url()).unwrap_or(url);
            let kept = [
                reqwest::header::RETRY_AFTER,
                reqwest::header::WWW_AUTHENTICATE,
            ]
            .iter()
            .filter_map(|name| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| (name.as_str().to_owned(), v.to_owned()))
            })
            .collect();
            recorder.record(method, path, status, kept, body);
        }
    }

    /// Waits until the rate limit lets the next request go.
    async fn wait_turn(&self) {
        let mut limiter = self.inner.limiter.lock().await;
        limiter.wait_turn(self.clock()).await;
    }

    async fn get_once(&self, url: &str) -> Result<Vec<u8>, Error> {
        let authorization = self.authorization().await?;
        self.wait_turn().await;
        let started = std::time::Instant::now();
        let response = self
            .http()
            .get(url)
            .header(reqwest::header::AUTHORIZATION, authorization)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| self.transport_error(&error))?;
        let status = response.status().as_u16();
        let header = |name: reqwest::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let www_authenticate = header(reqwest::header::WWW_AUTHENTICATE);
        let retry_after = header(reqwest::header::RETRY_AFTER);
        let headers = response.headers().clone();
        let body = self.read_body(response).await?;
        self.record("GET", url, status, &headers, &body);
        tracing::debug!(
            status,
            duration_ms = started.elapsed().as_millis() as u64,
            bytes = body.len(),
            "answered"
        );
        if status == 200 {
            return Ok(body);
        }
        Err(Error::Api(
            ApiError::classify(
                Endpoint::Data,
                status,
                www_authenticate.as_deref(),
                retry_after.as_deref(),
                &body,
            )
            .with_retry_after_at(retry_after.as_deref(), self.clock().now()),
        ))
    }

    /// Reads an answer's body, refusing it as soon as it is known to pass the limit.
    async fn read_body(&self, response: reqwest::Response) -> Result<Vec<u8>, Error> {
        read_capped(
            response,
            self.inner.settings.max_body_bytes,
            self.backend().name(),
        )
        .await
    }

    fn transport_error(&self, error: &reqwest::Error) -> Error {
        transport_error(self.backend().name(), error)
    }

    fn can_renew_token(&self) -> bool {
        matches!(
            self.backend(),
            Backend::Proxy { .. } | Backend::DataConnect2026 { .. } | Backend::DataConnectV5 { .. }
        )
    }

    /// The Authorization header value for the next request.
    async fn authorization(&self) -> Result<String, Error> {
        match self.backend() {
            Backend::ConsoApi { token, .. } => Ok(format!("Bearer {}", token.expose())),
            Backend::MyElectricalData { token, .. } => Ok(token.expose().to_owned()),
            Backend::Proxy { .. }
            | Backend::DataConnect2026 { .. }
            | Backend::DataConnectV5 { .. } => {
                let token = self.valid_token().await?;
                Ok(format!("Bearer {}", token.expose()))
            }
        }
    }

    /// The current access token, renewed first when it expires within 10 minutes.
    async fn valid_token(&self) -> Result<AccessToken, Error> {
        let current = self.inner.current_token.lock().await.clone();
        let current = match current {
            Some(tokens) => Some(tokens),
            None => self.inner.tokens.load()?,
        };
        match current {
            Some(tokens) if !tokens.needs_refresh(SystemTime::from(self.clock().now())) => {
                let access = tokens.access_token.clone();
                *self.inner.current_token.lock().await = Some(tokens);
                Ok(access)
            }
            _ => Ok(self.renew_token().await?.access_token),
        }
    }

    /// Gets a new access token: client credentials for Data Connect, the refresh grant for
    /// the proxy. A refusal of the refresh grant is a lost consent: the stored tokens are
    /// cleared and the error says so.
    pub async fn renew_token(&self) -> Result<TokenSet, Error> {
        let backend = self.backend();
        let (url, form): (String, Vec<(&str, String)>) = match backend {
            Backend::DataConnect2026 {
                client_id,
                client_secret,
                ..
            }
            | Backend::DataConnectV5 {
                client_id,
                client_secret,
                ..
            } => (
                format!("{}/oauth2/v3/token", backend.base_url()),
                vec![
                    ("grant_type", "client_credentials".to_owned()),
                    ("client_id", client_id.clone()),
                    ("client_secret", client_secret.expose().to_owned()),
                ],
            ),
            Backend::Proxy { client_id, .. } => {
                let stored = self.inner.tokens.load()?;
                let Some(refresh) = stored.as_ref().and_then(|t| t.refresh_token.clone()) else {
                    return Err(Error::NoConsent {
                        detail: "no refresh token: run the device flow first".to_owned(),
                    });
                };
                let usage_points = stored.map(|t| t.usage_points.join(",")).unwrap_or_default();
                (
                    format!("{}/device/token", backend.base_url()),
                    vec![
                        ("grant_type", "refresh_token".to_owned()),
                        ("client_id", client_id.clone()),
                        ("refresh_token", refresh.expose().to_owned()),
                        ("usage_points_id", usage_points),
                    ],
                )
            }
            Backend::ConsoApi { .. } | Backend::MyElectricalData { .. } => {
                return Err(Error::Config {
                    detail: format!("the {} backend has no token to renew", backend.name()),
                });
            }
        };
        let tokens = self.post_token(&url, &form).await?;
        let tokens = match (backend, tokens.refresh_token.is_none()) {
            // The proxy's refresh answer keeps the same refresh token and usage points.
            (Backend::Proxy { .. }, true) => {
                let stored = self.inner.tokens.load()?;
                TokenSet {
                    refresh_token: stored.as_ref().and_then(|t| t.refresh_token.clone()),
                    usage_points: stored.map(|t| t.usage_points).unwrap_or_default(),
                    ..tokens
                }
            }
            _ => tokens,
        };
        if matches!(backend, Backend::Proxy { .. }) {
            self.inner.tokens.save(&tokens)?;
        }
        *self.inner.current_token.lock().await = Some(tokens.clone());
        Ok(tokens)
    }

    /// POSTs a token request; classifies refusals on the token endpoint.
    pub(crate) async fn post_token(
        &self,
        url: &str,
        form: &[(&str, String)],
    ) -> Result<TokenSet, Error> {
        self.wait_turn().await;
        let response = self
            .http()
            .post(url)
            .form(form)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| self.transport_error(&error))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let headers = response.headers().clone();
        let body = self.read_body(response).await?;
        self.record("POST", url, status, &headers, &body);
        if status != 200 {
            let error =
                ApiError::classify(Endpoint::Token, status, None, retry_after.as_deref(), &body)
                    .with_retry_after_at(retry_after.as_deref(), self.clock().now());
            if error.category() == ErrorCategory::ConsentLost {
                tracing::warn!(code = ?error.code(), "consent lost: clearing the stored tokens");
                self.inner.tokens.clear()?;
                *self.inner.current_token.lock().await = None;
            }
            return Err(Error::Api(error));
        }
        let parsed: TokenResponse =
            serde_json::from_slice(&body).map_err(|error| Error::Malformed {
                format: "token",
                detail: error.to_string(),
            })?;
        Ok(TokenSet {
            access_token: AccessToken::new(parsed.access_token),
            refresh_token: parsed.refresh_token.map(crate::secret::RefreshToken::new),
            expires_at: crate::tokens::expiry_after(
                SystemTime::from(self.clock().now()),
                parsed.expires_in.unwrap_or(3600),
            ),
            usage_points: parsed
                .usage_points_id
                .map(|ids| {
                    ids.split(',')
                        .map(|id| id.trim().to_owned())
                        .filter(|id| !id.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

/// Reads an answer's body up to `limit` bytes, refusing it as soon as it is known to pass
/// it (announced or streamed).
#[cfg(feature = "client")]
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
    backend: &'static str,
) -> Result<Vec<u8>, Error> {
    let too_large = |received: u64| Error::BodyTooLarge {
        backend,
        limit,
        received,
    };
    let announced = response.content_length();
    if let Some(length) = announced
        && length > limit as u64
    {
        return Err(too_large(length));
    }
    let host = host_of(response.url());
    let mut body = Vec::with_capacity(announced.map_or(0, |length| length as usize));
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| transport_error_at(backend, host.as_deref(), &error))?
    {
        if body.len() + chunk.len() > limit {
            return Err(too_large((body.len() + chunk.len()) as u64));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A transport failure, without reqwest's message (it can hold the URL).
#[cfg(feature = "client")]
pub(crate) fn transport_error(backend: &'static str, error: &reqwest::Error) -> Error {
    transport_error_at(backend, None, error)
}

/// The host of `url` as messages name it (with its port when not the scheme's).
#[cfg(feature = "client")]
fn host_of(url: &reqwest::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

/// [`transport_error`] for an error that may not carry its URL (a body cut off), with the
/// host it was read from.
#[cfg(feature = "client")]
fn transport_error_at(
    backend: &'static str,
    known_host: Option<&str>,
    error: &reqwest::Error,
) -> Error {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "the answer was cut off"
    } else {
        "the connection failed"
    };
    let host = error
        .url()
        .and_then(host_of)
        .or_else(|| known_host.map(str::to_owned))
        .unwrap_or_else(|| "(unknown host)".to_owned());
    // The innermost cause says what the system saw (connection refused, no such name);
    // reqwest's own message would repeat the URL, whose query may hold a usage point.
    let mut cause: &dyn std::error::Error = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    let detail = if error.is_timeout() || std::ptr::addr_eq(cause, error as &dyn std::error::Error)
    {
        what.to_owned()
    } else {
        format!("{what} ({})", cause_text(cause))
    };
    Error::Transport {
        backend,
        host,
        detail,
        timeout: error.is_timeout(),
    }
}

/// A cause as a person reads it: lowercase first letter, no `(os error N)`.
fn cause_text(cause: &dyn std::error::Error) -> String {
    let text = cause.to_string();
    let text = match text.find(" (os error") {
        Some(at) => text[..at].to_owned(),
        None => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}
