//! Recorded sessions: what went over the wire between a client and a backend, as a JSON
//! file, with secrets removed and, optionally, usage points replaced by placeholders.
//!
//! # Format (`linky-session/1`)
//!
//! ```json
//! {
//!   "format": "linky-session/1",
//!   "description": "what the session shows",
//!   "backend": "proxy",
//!   "exchanges": [
//!     {
//!       "request": { "method": "GET", "path": "/data/proxy/metering_data_dc/v5/daily_consumption?start=2024-06-01&end=2024-06-08&usage_point_id=22516914714270" },
//!       "response": { "status": 200, "headers": { "retry-after": "30" }, "body": { "meter_reading": {} }, "fault": null }
//!     }
//!   ],
//!   "replay": { "now": "2024-11-15T09:30:00", "usage_points": ["22516914714270"],
//!               "offpeak": "22h00-6h00", "days": 7, "hours_days": 0, "production": true,
//!               "outcome": "success" }
//! }
//! ```
//!
//! - `path` is the path and query as sent. Requests are replayed in order; a POST (a token
//!   request) matches on its path alone, since its form carries secrets.
//! - `body` is the JSON answer, or a string when the answer was not JSON.
//! - `fault` simulates a broken server instead of answering: `"reset"` (the connection
//!   closes halfway through the body), or `{"stall_ms": N}` (no answer for N ms).
//! - Recording never writes an `Authorization` header, and replaces every token, client
//!   secret and device code in bodies by `[redacted]`.
//! - `replay` (optional) says what replaying the session needs: the run's local time, its
//!   usage points and settings, and how it ended; [`ReplayServer::client`] hands back a
//!   client set up for it.

mod generate;
mod record;
mod replay;
mod sandbox;

use serde::{Deserialize, Serialize};

pub use generate::SyntheticSession;
pub use record::Recorder;
pub use replay::{ReplayError, ReplayServer};
pub use sandbox::{Meter, sandbox_now, sandbox_sessions, sync_session, sync_session_compact};

/// The format name written in every session file.
pub const SESSION_FORMAT: &str = "linky-session/1";

/// A recorded session.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Always [`SESSION_FORMAT`].
    pub format: String,
    /// What the session shows.
    #[serde(default)]
    pub description: String,
    /// The backend it was recorded against (its [`crate::Backend::name`]).
    #[serde(default)]
    pub backend: String,
    /// The exchanges, in order.
    pub exchanges: Vec<Exchange>,
    /// What replaying it needs, when the recorder said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<ReplayInfo>,
}

/// What replaying a session needs besides its exchanges: when the run was, with which
/// usage points and settings, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReplayInfo {
    /// The run's local (Paris) time.
    pub now: chrono::NaiveDateTime,
    /// The usage points, in the order the run took them (placeholders if hidden).
    pub usage_points: Vec<String>,
    /// The off-peak schedule, as written.
    #[serde(default)]
    pub offpeak: String,
    /// Days of history (the sync's `days` setting, validated).
    pub days: i64,
    /// Days of hour rows.
    #[serde(default)]
    pub hours_days: i64,
    /// Whether production was asked for.
    #[serde(default = "asked")]
    pub production: bool,
    /// Whether the session holds daily energies, fetched one request after another rather
    /// than by a sync.
    #[serde(default)]
    pub daily_energy: bool,
    /// How the run ended.
    pub outcome: Outcome,
}

fn asked() -> bool {
    true
}

impl ReplayInfo {
    /// A run at `now` over `days` of history, for `usage_points`, that ended with
    /// `outcome`; no schedule, no hour rows, production asked for.
    pub fn new(
        now: chrono::NaiveDateTime,
        usage_points: Vec<String>,
        days: i64,
        outcome: Outcome,
    ) -> ReplayInfo {
        ReplayInfo {
            now,
            usage_points,
            offpeak: String::new(),
            days,
            hours_days: 0,
            production: true,
            daily_energy: false,
            outcome,
        }
    }

    /// The usage points, read (a hidden session's placeholders are valid ones).
    ///
    /// # Errors
    ///
    /// The first that is not a usage point's number.
    pub fn usage_point_ids(&self) -> Result<Vec<linky_core::UsagePointId>, linky_core::Error> {
        self.usage_points.iter().map(|pdl| pdl.parse()).collect()
    }

    /// The off-peak schedule, read (empty: a single tariff).
    ///
    /// # Errors
    ///
    /// The schedule's mistake.
    pub fn schedule(&self) -> Result<linky_core::OffPeakConfig, linky_core::ScheduleError> {
        self.offpeak.parse()
    }

    /// The history windows the run had: `days` of day rows and `hours_days` of hour rows,
    /// the displays' defaults.
    pub fn history(&self) -> linky_core::HistorySettings {
        linky_core::HistorySettings::new(
            self.hours_days,
            self.days,
            Default::default(),
            Default::default(),
        )
        .0
    }
}

/// How a recorded run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Outcome {
    /// Everything fetched and written.
    Success,
    /// A quota or an outage: the run stopped, to go on later.
    RetryLater,
    /// The consent was lost.
    ConsentLost,
    /// Something else failed.
    Failure,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Success => "success",
            Outcome::RetryLater => "retry later",
            Outcome::ConsentLost => "consent lost",
            Outcome::Failure => "failure",
        })
    }
}

impl Session {
    /// An empty session.
    pub fn new(description: impl Into<String>, backend: impl Into<String>) -> Session {
        Session {
            format: SESSION_FORMAT.to_owned(),
            description: description.into(),
            backend: backend.into(),
            exchanges: Vec::new(),
            replay: None,
        }
    }

    /// The usage points the session's requests name, in order of appearance (14-digit
    /// path or query parts).
    pub fn usage_points(&self) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        for exchange in &self.exchanges {
            if let Some(id) = exchange
                .request
                .path
                .split(['?', '&', '/', '='])
                .find(|part| part.len() == 14 && part.bytes().all(|b| b.is_ascii_digit()))
                && !found.iter().any(|known| known == id)
            {
                found.push(id.to_owned());
            }
        }
        found
    }

    /// Reads a session file's content.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Malformed`] when it is not a `linky-session/1` document.
    pub fn from_json(bytes: &[u8]) -> Result<Session, crate::Error> {
        let session: Session =
            serde_json::from_slice(bytes).map_err(|error| crate::Error::Malformed {
                format: "session",
                detail: error.to_string(),
            })?;
        if session.format != SESSION_FORMAT {
            return Err(crate::Error::Malformed {
                format: "session",
                detail: format!("format {:?}, expected {SESSION_FORMAT:?}", session.format),
            });
        }
        Ok(session)
    }

    /// The session as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// One request and what answered it.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    /// The request.
    pub request: RecordedRequest,
    /// The answer.
    pub response: RecordedResponse,
}

/// A request as sent (without its authorization).
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// Path and query.
    pub path: String,
}

/// An answer, or a fault.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedResponse {
    /// The HTTP status.
    pub status: u16,
    /// Headers that matter (`retry-after`, `www-authenticate`), lowercase names.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// The body: JSON, or a string.
    #[serde(default)]
    pub body: serde_json::Value,
    /// A simulated fault instead of a clean answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
}

impl RecordedResponse {
    /// A JSON answer with `status`.
    pub fn json(status: u16, body: serde_json::Value) -> RecordedResponse {
        RecordedResponse {
            status,
            headers: Default::default(),
            body,
            fault: None,
        }
    }

    /// The body's bytes as the server sends them.
    pub fn body_bytes(&self) -> Vec<u8> {
        match &self.body {
            serde_json::Value::Null => Vec::new(),
            serde_json::Value::String(text) => text.clone().into_bytes(),
            other => serde_json::to_vec(other).unwrap_or_default(),
        }
    }
}

/// A simulated server fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The connection closes halfway through the body.
    Reset,
    /// No answer for this long.
    Stall {
        /// How long, in milliseconds.
        stall_ms: u64,
    },
}
