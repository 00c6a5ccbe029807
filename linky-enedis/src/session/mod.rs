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
//!   ]
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

mod generate;
mod record;
mod replay;
mod sandbox;

use serde::{Deserialize, Serialize};

pub use generate::SyntheticSession;
pub use record::Recorder;
pub use replay::{ReplayError, ReplayServer};
pub use sandbox::{sandbox_now, sandbox_sessions};

/// The format name written in every session file.
pub const SESSION_FORMAT: &str = "linky-session/1";

/// A recorded session.
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
}

impl Session {
    /// An empty session.
    pub fn new(description: impl Into<String>, backend: impl Into<String>) -> Session {
        Session {
            format: SESSION_FORMAT.to_owned(),
            description: description.into(),
            backend: backend.into(),
            exchanges: Vec::new(),
        }
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    /// The request.
    pub request: RecordedRequest,
    /// The answer.
    pub response: RecordedResponse,
}

/// A request as sent (without its authorization).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// Path and query.
    pub path: String,
}

/// An answer, or a fault.
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
