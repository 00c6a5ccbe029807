//! Day colours from their publishers, with the client's discipline: a request rate limit,
//! retries of transient errors with the retry policy (a `Retry-After` above it returned,
//! not slept), answers capped in size, typed errors, one clock, recorded sessions.
//!
//! - [`ColourServer::RtePublic`]: RTE's public, keyless data behind its Tempo calendar
//!   page, `GET /cms/open_data/v1/tempo?season=2024-2025` on
//!   `https://www.services-rte.com`, answering `{"values": {"2024-09-01": "BLUE", ...}}`
//!   for the whole season so far (other keys are ignored).
//! - [`ColourServer::CouleurTempo`]: api-couleur-tempo.fr, a community cache of RTE,
//!   `GET /api/joursTempo?periode=2024-2025` answering
//!   `[{"dateJour": "2025-02-03", "codeJour": 3, "periode": "2024-2025"}, ...]` (`codeJour`
//!   0 unknown, 1 blue, 2 white, 3 red).
//!
//! Both are asked season by season (1 September to 31 August). A day not published (a
//! missing key, a code 0, another word) is absent from the calendar: never guessed. Use
//! them together with [`linky_core::FallbackColours`].

use std::sync::Arc;
use std::time::Duration;

use chrono::{Datelike, NaiveDate};
use linky_core::{Clock, ColourCalendar, ColourSource, DayColour, RetryPolicy, SourceError};
use serde::Deserialize;
use tracing::Instrument;

use crate::client::limiter::RateLimiter;
#[cfg(feature = "client")]
use crate::client::{read_capped, source_error, transport_error};
use crate::{ApiError, DEFAULT_MAX_BODY_BYTES, DEFAULT_USER_AGENT, Endpoint, Error, Recorder};

/// Who publishes the colours.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ColourServer {
    /// RTE's public Tempo calendar data (no key); e.g. `https://www.services-rte.com`.
    RtePublic {
        /// The base URL.
        base_url: String,
    },
    /// api-couleur-tempo.fr (no key); e.g. `https://www.api-couleur-tempo.fr`.
    CouleurTempo {
        /// The base URL.
        base_url: String,
    },
}

impl ColourServer {
    /// RTE's public data at its real address.
    pub fn rte() -> ColourServer {
        ColourServer::RtePublic {
            base_url: "https://www.services-rte.com".to_owned(),
        }
    }

    /// api-couleur-tempo.fr at its real address.
    pub fn couleur_tempo() -> ColourServer {
        ColourServer::CouleurTempo {
            base_url: "https://www.api-couleur-tempo.fr".to_owned(),
        }
    }

    /// A short name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            ColourServer::RtePublic { .. } => "rte",
            ColourServer::CouleurTempo { .. } => "api-couleur-tempo",
        }
    }

    fn base_url(&self) -> &str {
        match self {
            ColourServer::RtePublic { base_url } | ColourServer::CouleurTempo { base_url } => {
                base_url.trim_end_matches('/')
            }
        }
    }

    /// The path asking for a whole Tempo season (`2024-2025`).
    fn season_path(&self, season: &str) -> String {
        match self {
            ColourServer::RtePublic { .. } => format!("/cms/open_data/v1/tempo?season={season}"),
            ColourServer::CouleurTempo { .. } => format!("/api/joursTempo?periode={season}"),
        }
    }
}

/// The Tempo season (`2024-2025`) holding `date`: 1 September to 31 August.
pub fn tempo_season(date: NaiveDate) -> String {
    let start = if date.month() >= 9 {
        date.year()
    } else {
        date.year() - 1
    };
    format!("{start}-{}", start + 1)
}

#[derive(Deserialize)]
struct RteSeason {
    values: std::collections::BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CouleurTempoDay {
    date_jour: String,
    code_jour: i64,
}

/// Reads a season's answer of `server` into the calendar (days not published left out).
///
/// ```
/// use linky_enedis::{parse_colours, ColourServer};
/// let body = br#"{"values":{"2025-02-22":"BLUE","2025-02-23":"RED","2025-02-23-fallback":"true"}}"#;
/// let calendar = parse_colours(&ColourServer::rte(), body).unwrap();
/// assert_eq!(calendar.len(), 2);
/// // RTE's degraded mode: the colour is used, but not final.
/// let day = chrono::NaiveDate::from_ymd_opt(2025, 2, 23).unwrap();
/// assert!(calendar.is_degraded(day));
/// let body = br#"[{"dateJour":"2025-02-12","codeJour":0,"periode":"2024-2025"},
///                 {"dateJour":"2025-02-03","codeJour":3,"periode":"2024-2025"}]"#;
/// let calendar = parse_colours(&ColourServer::couleur_tempo(), body).unwrap();
/// assert_eq!(calendar.len(), 1);
/// ```
///
/// # Errors
///
/// [`Error::Malformed`] for a body of another shape.
pub fn parse_colours(server: &ColourServer, body: &[u8]) -> Result<ColourCalendar, Error> {
    let malformed = |format: &'static str| {
        move |error: serde_json::Error| Error::Malformed {
            format,
            detail: error.to_string(),
        }
    };
    let mut calendar = ColourCalendar::new();
    match server {
        ColourServer::RtePublic { .. } => {
            let season: RteSeason =
                serde_json::from_slice(body).map_err(malformed("rte tempo season"))?;
            // `<date>-fallback: "true"`: RTE gave that day's colour in a degraded mode.
            let degraded = |date: NaiveDate| {
                season
                    .values
                    .get(&format!("{date}-fallback"))
                    .is_some_and(|flag| {
                        flag.as_str().map_or(flag.as_bool() == Some(true), |text| {
                            text.eq_ignore_ascii_case("true")
                        })
                    })
            };
            for (key, value) in &season.values {
                let Ok(date) = key.parse::<NaiveDate>() else {
                    continue; // `...-fallback` flags and other keys
                };
                let colour = match value.as_str() {
                    Some("BLUE") => DayColour::Blue,
                    Some("WHITE") => DayColour::White,
                    Some("RED") => DayColour::Red,
                    _ => continue,
                };
                if degraded(date) {
                    calendar.set_degraded(date, colour);
                } else {
                    calendar.set(date, colour);
                }
            }
        }
        ColourServer::CouleurTempo { .. } => {
            let days: Vec<CouleurTempoDay> =
                serde_json::from_slice(body).map_err(malformed("api-couleur-tempo days"))?;
            for day in days {
                let Ok(date) = day.date_jour.parse::<NaiveDate>() else {
                    return Err(Error::Malformed {
                        format: "api-couleur-tempo days",
                        detail: format!("{:?} is not a date", day.date_jour),
                    });
                };
                let colour = match day.code_jour {
                    1 => DayColour::Blue,
                    2 => DayColour::White,
                    3 => DayColour::Red,
                    _ => continue,
                };
                calendar.set(date, colour);
            }
        }
    }
    Ok(calendar)
}

/// A client of one colour publisher.
#[cfg(feature = "client")]
#[derive(Debug, Clone)]
pub struct ColourClient {
    server: ColourServer,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
    limiter: Arc<tokio::sync::Mutex<RateLimiter>>,
    max_body_bytes: usize,
    recorder: Option<Arc<Recorder>>,
}

#[cfg(feature = "client")]
impl ColourClient {
    /// A client of `server`: at most one request every two seconds (these are free
    /// services), the default retry policy, the system clock, answers up to 8 MiB.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the HTTP client cannot be built.
    pub fn new(server: ColourServer) -> Result<ColourClient, Error> {
        let http = reqwest::Client::builder()
            .user_agent(DEFAULT_USER_AGENT)
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|error| Error::Config {
                detail: format!("http client: {error}"),
            })?;
        Ok(ColourClient {
            server,
            http,
            clock: Arc::new(crate::SystemClock),
            retry: RetryPolicy::default(),
            limiter: Arc::new(tokio::sync::Mutex::new(RateLimiter::new(
                Duration::from_secs(2),
                1,
            ))),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            recorder: None,
        })
    }

    /// With this clock (waits, spacing).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> ColourClient {
        self.clock = clock;
        self
    }

    /// With this retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> ColourClient {
        self.retry = policy;
        self
    }

    /// At least `spacing` between two requests.
    pub fn min_spacing(mut self, spacing: Duration) -> ColourClient {
        self.limiter = Arc::new(tokio::sync::Mutex::new(RateLimiter::new(spacing, 1)));
        self
    }

    /// Refuses answers above `limit` bytes.
    pub fn max_body_bytes(mut self, limit: usize) -> ColourClient {
        self.max_body_bytes = limit;
        self
    }

    /// Records every exchange (a session to replay offline).
    pub fn recorder(mut self, recorder: Arc<Recorder>) -> ColourClient {
        self.recorder = Some(recorder);
        self
    }

    /// Its publisher.
    pub fn server(&self) -> &ColourServer {
        &self.server
    }

    /// The colours of the whole season holding `date`, as published so far.
    ///
    /// # Errors
    ///
    /// A typed [`Error`]: transient ones (429, 5xx, transport) were retried first.
    pub async fn season(&self, date: NaiveDate) -> Result<ColourCalendar, Error> {
        let season = tempo_season(date);
        let path = self.server.season_path(&season);
        let span = tracing::info_span!("colours", server = self.server.name(), %season);
        let body = self.get_with_retries(&path).instrument(span).await?;
        parse_colours(&self.server, &body)
    }

    async fn get_with_retries(&self, path: &str) -> Result<Vec<u8>, Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let error = match self.get_once(path).await {
                Ok(body) => return Ok(body),
                Err(error) => error,
            };
            if let Some(wait) = error.retry_after()
                && wait > self.retry.max
            {
                return Err(error);
            }
            // No jitter source of its own: the middle of the policy's range.
            if error.category() == crate::ErrorCategory::Transient
                && let Some(delay) = self.retry.delay(attempt, error.retry_after(), 0.5)
            {
                tracing::warn!(%error, attempt, delay_ms = delay.as_millis() as u64, "transient error: retrying");
                self.clock.sleep(delay).await;
                continue;
            }
            return Err(error);
        }
    }

    async fn get_once(&self, path: &str) -> Result<Vec<u8>, Error> {
        self.limiter
            .lock()
            .await
            .wait_turn(self.clock.as_ref())
            .await;
        let name = self.server.name();
        let url = format!("{}{path}", self.server.base_url());
        let response = self
            .http
            .get(&url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| transport_error(name, &error))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = read_capped(response, self.max_body_bytes, name).await?;
        if let Some(recorder) = &self.recorder {
            let headers = retry_after
                .iter()
                .map(|v| ("retry-after".to_owned(), v.clone()))
                .collect();
            recorder.record("GET", path, status, headers, &body);
        }
        if status == 200 {
            return Ok(body);
        }
        Err(Error::Api(
            ApiError::classify(Endpoint::Data, status, None, retry_after.as_deref(), &body)
                .with_retry_after_at(retry_after.as_deref(), self.clock.now()),
        ))
    }
}

#[cfg(feature = "client")]
#[async_trait::async_trait]
impl ColourSource for ColourClient {
    fn name(&self) -> &str {
        self.server.name()
    }

    async fn colours(&self, from: NaiveDate, to: NaiveDate) -> Result<ColourCalendar, SourceError> {
        let mut calendar = ColourCalendar::new();
        let mut date = from;
        while date < to {
            let season = self.season(date).await.map_err(source_error)?;
            for (day, colour) in season.days() {
                if from <= day && day < to {
                    if season.is_degraded(day) {
                        calendar.set_degraded(day, colour);
                    } else {
                        calendar.set(day, colour);
                    }
                }
            }
            // The next season starts on 1 September.
            let next_year = if date.month() >= 9 {
                date.year() + 1
            } else {
                date.year()
            };
            match NaiveDate::from_ymd_opt(next_year, 9, 1) {
                Some(next) => date = next,
                None => break,
            }
        }
        Ok(calendar)
    }
}

/// A Tempo calendar that follows the published rules, for sessions and tests: for each
/// season, 22 red days on winter weekdays (November to March), 43 white days never on a
/// Sunday, Sundays blue, the rest blue; drawn from `seed`, over `[from, to)`.
pub fn synthetic_tempo_calendar(from: NaiveDate, to: NaiveDate, seed: u64) -> ColourCalendar {
    use chrono::Weekday;
    let mut calendar = ColourCalendar::new();
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut date = from;
    let mut counts = std::collections::BTreeMap::<String, [u32; 2]>::new();
    while date < to {
        let season = tempo_season(date);
        let used = counts.entry(season).or_default();
        let winter = matches!(date.month(), 11 | 12 | 1 | 2 | 3);
        let weekday = date.weekday();
        let weekend = matches!(weekday, Weekday::Sat | Weekday::Sun);
        let draw = next() % 100;
        let colour = if weekday == Weekday::Sun {
            DayColour::Blue
        } else if winter && !weekend && used[0] < linky_core::TEMPO_RED_DAYS && draw < 15 {
            used[0] += 1;
            DayColour::Red
        } else if used[1] < linky_core::TEMPO_WHITE_DAYS && draw >= 80 && (winter || draw >= 95) {
            used[1] += 1;
            DayColour::White
        } else {
            DayColour::Blue
        };
        calendar.set(date, colour);
        date = date.succ_opt().unwrap_or(to);
    }
    calendar
}

/// The bundled colour sessions, for tests and the documentation: each publisher's season
/// answer in its own format (the days up to `2025-02-22` published, the rest not yet),
/// and RTE failing (503, retried, then given up) while api-couleur-tempo.fr answers.
pub fn colour_sessions() -> Vec<(&'static str, crate::Session)> {
    use crate::{RecordedResponse, Session};
    let first = NaiveDate::from_ymd_opt(2024, 9, 1).unwrap_or_default();
    let published = NaiveDate::from_ymd_opt(2025, 2, 23).unwrap_or_default();
    let calendar = synthetic_tempo_calendar(first, published, 2025);
    let word = |colour: DayColour| match colour {
        DayColour::Blue => "BLUE",
        DayColour::White => "WHITE",
        DayColour::Red => "RED",
    };
    let mut values = serde_json::Map::new();
    for (date, colour) in calendar.days() {
        values.insert(date.to_string(), serde_json::json!(word(colour)));
    }
    // RTE also answers flags beside the days (ignored).
    values.insert(
        format!("{}-fallback", published.pred_opt().unwrap_or(published)),
        serde_json::json!("false"),
    );
    let rte_body = serde_json::json!({ "values": values });
    let mut days: Vec<serde_json::Value> = calendar
        .days()
        .map(|(date, colour)| {
            serde_json::json!({
                "dateJour": date.to_string(),
                "codeJour": colour.index() + 1,
                "periode": "2024-2025",
            })
        })
        .collect();
    // Tomorrow is listed before it is published: code 0.
    days.push(serde_json::json!({
        "dateJour": published.to_string(), "codeJour": 0, "periode": "2024-2025"
    }));
    let couleur_body = serde_json::Value::Array(days);
    let exchange = |path: &str, response: RecordedResponse| crate::Exchange {
        request: crate::RecordedRequest {
            method: "GET".to_owned(),
            path: path.to_owned(),
        },
        response,
    };
    let rte_path = "/cms/open_data/v1/tempo?season=2024-2025";
    let couleur_path = "/api/joursTempo?periode=2024-2025";
    let mut rte = Session::new(
        "RTE's public Tempo data: season 2024-2025 published up to 2025-02-22",
        "rte",
    );
    rte.exchanges
        .push(exchange(rte_path, RecordedResponse::json(200, rte_body)));
    let mut couleur = Session::new(
        "api-couleur-tempo.fr: season 2024-2025 published up to 2025-02-22, tomorrow unknown",
        "api-couleur-tempo",
    );
    couleur.exchanges.push(exchange(
        couleur_path,
        RecordedResponse::json(200, couleur_body.clone()),
    ));
    let mut fallback = Session::new(
        "RTE unavailable (503 three times: retried, then given up), api-couleur-tempo.fr answers",
        "rte",
    );
    for _ in 0..3 {
        let mut unavailable =
            RecordedResponse::json(503, serde_json::json!({"error": "service_unavailable"}));
        unavailable
            .headers
            .insert("retry-after".to_owned(), "1".to_owned());
        fallback.exchanges.push(exchange(rte_path, unavailable));
    }
    fallback.exchanges.push(exchange(
        couleur_path,
        RecordedResponse::json(200, couleur_body),
    ));
    vec![
        ("rte-season-2024-2025.json", rte),
        ("couleur-tempo-season-2024-2025.json", couleur),
        ("rte-down-couleur-tempo-answers.json", fallback),
    ]
}
