//! The one error type of linky-domoticz.

/// What went wrong writing to a sink.
///
/// **Which variant, in a sink of one's own.** What the sync does next depends on it:
/// [`SinkError::Unavailable`] (the only one [`SinkError::is_retryable`] says yes to, with
/// [`SinkError::Other`] built by [`SinkError::retryable`]) means "try again later, nothing is
/// lost": the run ends as *retry later* and the next run writes the same rows again; use it
/// for a server that is down, a timeout, a lock held by another program, a full disk that
/// may be freed. [`SinkError::Unexpected`] means the sink answered something that cannot
/// be read (a protocol error, a schema the sink does not know): retrying as is will not
/// help. [`SinkError::Unauthorized`] and [`SinkError::Config`] ask the user to fix the
/// configuration. An error of a library the sink uses (rusqlite's, an I/O error) goes in
/// [`SinkError::Other`] by [`SinkError::other`] or [`SinkError::retryable`], which keep it
/// as the error's [`source`](std::error::Error::source), so that a caller can walk the
/// chain or downcast it.
///
/// ```
/// use linky_domoticz::SinkError;
/// let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "database locked");
/// let error = SinkError::retryable("sqlite", io);
/// assert!(error.is_retryable());
/// assert_eq!(error.to_string(), "sqlite: database locked");
/// let source = std::error::Error::source(&error).unwrap();
/// assert_eq!(source.to_string(), "database locked");
/// let io = error.source_ref().and_then(|e| e.downcast_ref::<std::io::Error>()).unwrap();
/// assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
/// ```
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
    /// An error of the sink's own (a database's, an I/O error), kept as the source: see
    /// [`SinkError::other`] and [`SinkError::retryable`].
    #[error("{sink}: {source}")]
    Other {
        /// Which sink.
        sink: &'static str,
        /// Whether trying again later may work.
        retryable: bool,
        /// The error itself.
        #[source]
        source: SinkSource,
    },
}

/// The error a [`SinkError::Other`] keeps: shared (so that the error stays `Clone`),
/// compared by its message.
#[derive(Debug, Clone)]
pub struct SinkSource(std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>);

impl SinkSource {
    /// The error, to downcast (`source.get().downcast_ref::<std::io::Error>()`).
    pub fn get(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self.0.as_ref()
    }
}

impl std::fmt::Display for SinkSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SinkSource {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for SinkSource {
    fn eq(&self, other: &SinkSource) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0) || self.0.to_string() == other.0.to_string()
    }
}

impl Eq for SinkSource {}

impl SinkError {
    /// Whether trying again later may work ("retry later"), as opposed to "this will never
    /// work until something is fixed".
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SinkError::Unavailable { .. }
                | SinkError::Other {
                    retryable: true,
                    ..
                }
        )
    }

    /// `error` of sink `sink`, kept as the source; not worth retrying as is.
    pub fn other(
        sink: &'static str,
        error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> SinkError {
        SinkError::Other {
            sink,
            retryable: false,
            source: SinkSource(std::sync::Arc::from(error.into())),
        }
    }

    /// `error` of sink `sink`, kept as the source; the run ends as *retry later*.
    pub fn retryable(
        sink: &'static str,
        error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> SinkError {
        SinkError::Other {
            sink,
            retryable: true,
            source: SinkSource(std::sync::Arc::from(error.into())),
        }
    }

    /// The error a [`SinkError::Other`] keeps, to downcast.
    pub fn source_ref(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        match self {
            SinkError::Other { source, .. } => Some(source.get()),
            _ => None,
        }
    }
}
