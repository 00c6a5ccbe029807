//! What a sync needs from a data source, in linky-core's own types, so that the code that
//! ties a source to a sink depends on a trait, not on a client (linky-enedis implements
//! it for its client). A trait is not I/O: linky-core still performs none.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;

use crate::{Energy, FetchRequest, PowerPeak, QualityReport, Reading, UsagePointId};

/// What one request brought.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceData {
    /// Load-curve readings, as received, and what could not be read.
    Curve {
        /// The readings, in the order received.
        readings: Vec<Reading>,
        /// Readings left out by the wire parser.
        report: QualityReport,
    },
    /// Daily maximum powers.
    Peaks(Vec<PowerPeak>),
    /// Daily energies.
    DailyEnergy(Vec<(NaiveDate, Energy)>),
    /// No data there; `permanent` when it will never change (the meter has no such
    /// direction).
    NoData {
        /// Whether it will never change.
        permanent: bool,
    },
}

/// Why a source could not answer, in the terms a sync acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SourceErrorKind {
    /// Try again later (outage, timeout, quota): what was fetched stays.
    Transient,
    /// The user must consent again.
    ConsentLost,
    /// Anything else: retrying the same request will not help.
    Unexpected,
}

/// A source's error: its kind, a message safe to show (no secret) and, for a quota or an
/// outage, how long the server asked to wait.
///
/// ```
/// use std::time::Duration;
/// use linky_core::{SourceError, SourceErrorKind};
/// let error = SourceError::new(SourceErrorKind::Transient, "429: quota")
///     .with_retry_after(Duration::from_secs(3600));
/// assert_eq!(error.retry_after, Some(Duration::from_secs(3600)));
/// assert_eq!(error.to_string(), "429: quota");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SourceError {
    /// What to do about it.
    pub kind: SourceErrorKind,
    /// What happened.
    pub message: String,
    /// How long the server asked to wait before asking again (`Retry-After`), if it said.
    pub retry_after: Option<std::time::Duration>,
    /// The source's own error, kept for [`std::error::Error::source`] (a caller may
    /// downcast it, to `linky_enedis::Error` for instance).
    pub cause: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SourceError {
    /// The source's own error itself (not its `Arc`), so that it downcasts.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|cause| cause as &(dyn std::error::Error + 'static))
    }
}

impl PartialEq for SourceError {
    /// Equal when the kind, the message and the wait are (the cause is not compared).
    fn eq(&self, other: &SourceError) -> bool {
        (self.kind, &self.message, self.retry_after)
            == (other.kind, &other.message, other.retry_after)
    }
}

impl Eq for SourceError {}

impl SourceError {
    /// An error of `kind` saying `message`.
    pub fn new(kind: SourceErrorKind, message: impl Into<String>) -> SourceError {
        SourceError {
            kind,
            message: message.into(),
            retry_after: None,
            cause: None,
        }
    }

    /// The same error, with the wait the server asked for.
    pub fn with_retry_after(mut self, wait: std::time::Duration) -> SourceError {
        self.retry_after = Some(wait);
        self
    }

    /// The same error, keeping the source's own error as its cause.
    pub fn with_cause(
        mut self,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> SourceError {
        self.cause = Some(Arc::new(cause));
        self
    }
}

/// What a source tells while it answers a request, for a caller to show.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceEvent {
    /// A transient error (a quota, an outage): the request is sent again after `wait`.
    Retrying {
        /// The attempt that failed (1 for the first).
        attempt: u32,
        /// How long the source waits before the next attempt.
        wait: std::time::Duration,
        /// What failed, safe to show.
        reason: String,
        /// Whether a quota was hit.
        rate_limited: bool,
    },
    /// The access token was refused or about to expire: a new one was obtained.
    TokenRenewed,
}

/// The off-peak hours a distributor has on record for a usage point (its contract).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContractHours {
    /// The text as written, e.g. `HC (22H00-6H00)` (read with
    /// [`crate::parse_contract_hours`]).
    pub text: String,
    /// Since when the tariff holds, when the contract says (its last tariff change).
    pub since: Option<chrono::NaiveDate>,
}

impl ContractHours {
    /// Hours written as `text` (Enedis' wording), holding `since` that day when known.
    pub fn new(text: impl Into<String>, since: Option<chrono::NaiveDate>) -> ContractHours {
        ContractHours {
            text: text.into(),
            since,
        }
    }
}

/// A source of Linky data, as a sync sees it.
#[async_trait]
pub trait ReadingSource: Send + Sync {
    /// The usage points the source may read.
    async fn usage_points(&self) -> Result<Vec<UsagePointId>, SourceError>;

    /// Answers one planned request.
    async fn fetch(
        &self,
        usage_point: &UsagePointId,
        request: &FetchRequest,
    ) -> Result<SourceData, SourceError>;

    /// Answers one planned request, telling `observer` what happens meanwhile (retries
    /// and their waits). The default tells nothing and calls [`ReadingSource::fetch`].
    async fn fetch_observed(
        &self,
        usage_point: &UsagePointId,
        request: &FetchRequest,
        observer: &(dyn Fn(SourceEvent) + Send + Sync),
    ) -> Result<SourceData, SourceError> {
        let _ = observer;
        self.fetch(usage_point, request).await
    }

    /// The off-peak hours the distributor has on record for `usage_point`, when the
    /// source can tell (`None`: it cannot, or the contract has none). The default cannot.
    async fn contract_hours(
        &self,
        usage_point: &UsagePointId,
    ) -> Result<Option<ContractHours>, SourceError> {
        let _ = usage_point;
        Ok(None)
    }
}
