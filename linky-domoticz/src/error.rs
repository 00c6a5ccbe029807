//! The one error type of linky-domoticz.

/// What went wrong writing to a sink.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// The sink cannot be reached now (down, timeout, 5xx): retry later, nothing is lost.
    #[error("{sink} unavailable: {detail}")]
    Unavailable {
        /// Which sink.
        sink: &'static str,
        /// What happened.
        detail: String,
    },
    /// The sink refuses the credentials (401/403): fix the configuration.
    #[error("{sink} refused the credentials: {detail}")]
    Unauthorized {
        /// Which sink.
        sink: &'static str,
        /// What it said.
        detail: String,
    },
    /// The sink answered that it did not take a write or a call (`"status": "ERR"`).
    #[error("{sink} rejected {what}")]
    Rejected {
        /// Which sink.
        sink: &'static str,
        /// What was rejected (no credentials).
        what: String,
    },
    /// This version of the sink cannot work (Domoticz 2023.2, or too old).
    #[error("unsupported {sink}: {detail}")]
    Unsupported {
        /// Which sink.
        sink: &'static str,
        /// Why.
        detail: String,
    },
    /// A row that must not be sent (a date Domoticz would drop silently).
    #[error("invalid row: {detail}")]
    InvalidRow {
        /// What is wrong.
        detail: String,
    },
    /// The configuration cannot work.
    #[error("invalid configuration: {detail}")]
    Config {
        /// What is wrong.
        detail: String,
    },
    /// The sink took part of a write and refused the rest (an InfluxDB batch with a field
    /// type conflict): the other writes went on; the refused points need a look.
    #[error("{sink} kept {kept} point(s) and refused {refused}: {detail}")]
    PartlyWritten {
        /// Which sink.
        sink: &'static str,
        /// Points it kept.
        kept: usize,
        /// Points it refused.
        refused: usize,
        /// Its reason.
        detail: String,
    },
    /// The sink answered OK but does not hold what was written, even after correcting it
    /// (a value VictoriaMetrics keeps beside the new one, a point older than its
    /// retention): writing again will not help; the message says what will.
    #[error("{sink} does not keep what was written: {detail}")]
    NotKept {
        /// Which sink.
        sink: &'static str,
        /// What differs, and what to do.
        detail: String,
    },
    /// The sink's answer cannot be read.
    #[error("unexpected answer from {sink}: {detail}")]
    Unexpected {
        /// Which sink.
        sink: &'static str,
        /// What was wrong with it.
        detail: String,
    },
}

impl SinkError {
    /// Whether trying again later may work ("retry later"), as opposed to "this will never
    /// work until something is fixed".
    pub fn is_retryable(&self) -> bool {
        matches!(self, SinkError::Unavailable { .. })
    }
}
