//! The proxy's consent: the OAuth 2.0 Device Authorization Grant (RFC 8628). The polling
//! decision is a pure function of the last answer ([`decide_poll`]); [`DeviceFlow`] runs
//! it against the proxy.

use std::time::Duration;

use serde::Deserialize;

use super::Backend;
#[cfg(feature = "client")]
use super::Client;
use crate::classify::Endpoint;
use crate::secret::RefreshToken;
use crate::tokens::TokenSet;
use crate::{ApiError, Error, ErrorCategory};

/// What the proxy answered to the code request: what to tell the user.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceCode {
    /// The code to poll with (kept secret).
    device_code: RefreshToken,
    /// The code the user types.
    pub user_code: String,
    /// Where the user goes: `{base}/device?code={user_code}`.
    pub verification_url: String,
    /// How long the codes are valid.
    pub expires_in: Duration,
    /// How long to wait between polls.
    pub interval: Duration,
}

#[cfg(feature = "client")]
#[derive(Deserialize)]
struct CodeResponse {
    device_code: String,
    user_code: String,
    verification_uri: Option<String>,
    expires_in: Option<u64>,
    interval: Option<u64>,
}

/// What to do after a poll.
#[derive(Debug, Clone, PartialEq)]
pub enum PollDecision {
    /// Poll again after this long.
    Wait(Duration),
    /// Consent given: the tokens.
    Done(TokenSet),
    /// Stop: refused, expired, or an error that polling will not fix.
    Stop(Error),
}

/// The polling decision, from the last answer alone: keep the interval while the user
/// has not consented, add 5 s on `slow_down` (RFC 8628, 3.5), stop on anything else.
pub fn decide_poll(interval: Duration, answer: Result<TokenSet, Error>) -> PollDecision {
    match answer {
        Ok(tokens) => PollDecision::Done(tokens),
        Err(Error::Api(api)) if api.category() == ErrorCategory::AuthorizationPending => {
            PollDecision::Wait(interval)
        }
        Err(Error::Api(api))
            if api
                .code()
                .is_some_and(|c| c.eq_ignore_ascii_case("slow_down")) =>
        {
            PollDecision::Wait(interval.saturating_add(Duration::from_secs(5)))
        }
        Err(Error::Transport { .. }) => PollDecision::Wait(interval),
        Err(error) => PollDecision::Stop(error),
    }
}

/// Runs the device flow of a proxy client.
#[cfg(feature = "client")]
#[derive(Debug, Clone)]
pub struct DeviceFlow {
    client: Client,
}

#[cfg(feature = "client")]
impl DeviceFlow {
    /// The device flow of `client`, which must be a [`Backend::Proxy`] client.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for another backend.
    pub fn new(client: Client) -> Result<DeviceFlow, Error> {
        match client.backend() {
            Backend::Proxy { .. } => Ok(DeviceFlow { client }),
            other => Err(Error::Config {
                detail: format!("the {} backend has no device flow", other.name()),
            }),
        }
    }

    fn client_id(&self) -> &str {
        match self.client.backend() {
            Backend::Proxy { client_id, .. } => client_id,
            _ => "",
        }
    }

    /// Asks the proxy for a code to show the user.
    ///
    /// # Errors
    ///
    /// Any [`Error`] of the request.
    pub async fn request_code(&self) -> Result<DeviceCode, Error> {
        let base = self.client.backend().base_url().to_owned();
        let response = self
            .client
            .http()
            .post(format!("{base}/device/code"))
            .form(&[("client_id", self.client_id())])
            .send()
            .await
            .map_err(|error| super::transport_error("proxy", &error))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap_or_default();
        if status != 200 {
            return Err(Error::Api(ApiError::classify(
                Endpoint::Token,
                status,
                None,
                None,
                &body,
            )));
        }
        let parsed: CodeResponse =
            serde_json::from_slice(&body).map_err(|error| Error::Malformed {
                format: "device code",
                detail: error.to_string(),
            })?;
        Ok(DeviceCode {
            verification_url: match parsed.verification_uri {
                Some(uri) if uri.contains('?') => uri,
                _ => format!("{base}/device?code={}", parsed.user_code),
            },
            device_code: RefreshToken::new(parsed.device_code),
            user_code: parsed.user_code,
            // A server's figures are capped (a code lives at most a day, a poll waits at
            // most five minutes): the deadline arithmetic never overflows.
            expires_in: Duration::from_secs(parsed.expires_in.unwrap_or(600).min(24 * 3600)),
            interval: Duration::from_secs(parsed.interval.unwrap_or(5).clamp(1, 300)),
        })
    }

    /// Polls until the user consents, refuses, or the code expires; stores the tokens.
    ///
    /// # Errors
    ///
    /// The error that stopped the flow ([`Error::NoConsent`] when the code expired).
    pub async fn wait_for_consent(&self, code: &DeviceCode) -> Result<TokenSet, Error> {
        let clock = self.client.clock();
        let span =
            |wait: Duration| chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
        let deadline = clock
            .now()
            .checked_add_signed(span(code.expires_in))
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
        let mut interval = code.interval;
        let url = format!("{}/device/token", self.client.backend().base_url());
        let form = [
            ("client_id", self.client_id().to_owned()),
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:device_code".to_owned(),
            ),
            ("device_code", code.device_code.expose().to_owned()),
        ];
        loop {
            let next_poll = clock.now().checked_add_signed(span(interval));
            if next_poll.is_none_or(|next_poll| next_poll > deadline) {
                return Err(Error::NoConsent {
                    detail: "the user did not consent before the code expired".to_owned(),
                });
            }
            clock.sleep(interval).await;
            let answer = self.client.post_token(&url, &form).await;
            match decide_poll(interval, answer) {
                PollDecision::Wait(next) => interval = next,
                PollDecision::Done(tokens) => {
                    self.client.token_store().save(&tokens)?;
                    return Ok(tokens);
                }
                PollDecision::Stop(error) => return Err(error),
            }
        }
    }
}
