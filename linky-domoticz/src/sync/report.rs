//! What a run says of itself: per device, its errors, why it stopped, the whole report.

use std::fmt;

use chrono::{NaiveDate, NaiveDateTime};
use linky_core::{DeviceId, FetchRequest, SourceError, SourceErrorKind};

use crate::SinkError;
use crate::state::{StateError, StoredKind};
// The docs' links name the run's other types.
#[allow(unused_imports)]
use super::*;

/// What happened to one device.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceReport {
    /// The device.
    pub device: DeviceId,
    /// Day rows written.
    pub days_written: usize,
    /// Hour rows written.
    pub hours_written: usize,
    /// Whether the dashboard row was written.
    pub dashboard_written: bool,
    /// Data-quality anomalies found in its readings.
    pub anomalies: usize,
    /// Days held for some but not all of the flows the device shows: not written until
    /// the others are fetched.
    pub days_waiting: usize,
    /// What went wrong.
    pub errors: Vec<SyncError>,
    /// What went wrong and was mended in this run (a corrupt state file whose days were
    /// fetched again): worth telling, not a failure.
    pub notes: Vec<SyncError>,
}

impl DeviceReport {
    pub(super) fn new(device: DeviceId) -> DeviceReport {
        DeviceReport {
            device,
            days_written: 0,
            hours_written: 0,
            dashboard_written: false,
            anomalies: 0,
            days_waiting: 0,
            errors: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// What went wrong in a run, typed, with its cause: [`std::error::Error::source`] leads
/// to the source's or the sink's own error (a `linky_enedis::Error`, a [`SinkError`]...).
/// Its `Display` is a line for a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The source could not list the usage points.
    #[error("usage points: {0}")]
    UsagePoints(#[source] SourceError),
    /// The source could not answer a request.
    #[error("{}: {error}", .kind.as_str())]
    Fetch {
        /// What was asked for.
        kind: StoredKind,
        /// The request.
        request: FetchRequest,
        /// Why.
        #[source]
        error: SourceError,
    },
    /// The state store could not be read or written.
    #[error(transparent)]
    State(#[from] StateError),
    /// The sink failed.
    #[error("sink: {0}")]
    Sink(#[from] SinkError),
    /// The sink answered OK but holds other totals than written (Domoticz drops some
    /// dated writes silently): they are written again at the next run.
    #[error(
        "the sink holds other totals than written for {}: they will be written again next run",
        dates.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    )]
    NotStored {
        /// The days.
        dates: Vec<NaiveDate>,
    },
    /// The sink is down or refuses the credentials: the devices after this one were not
    /// written.
    #[error("stopped writing: {0}")]
    StoppedWriting(#[source] SinkError),
    /// The run's time is outside the calling hours: nothing was fetched.
    #[error("outside calling hours: nothing fetched")]
    OutsideCallingHours,
    /// The day colours could not be asked for (a note: the days stay unknown and wait).
    #[error("day colours from {publisher}: {cause}")]
    Colours {
        /// The colour source.
        publisher: String,
        /// Why.
        #[source]
        cause: SourceError,
    },
    /// A usage point's contract hours could not be asked for or read (a note: the run
    /// goes on with the hours known before, or a single tariff).
    #[error("contract off-peak hours: {detail}")]
    ContractHours {
        /// What went wrong.
        detail: String,
        /// The source's error, when asking failed.
        #[source]
        cause: Option<SourceError>,
    },
}

impl SyncError {
    /// Whether trying again later may work: a transient source error, a sink that is
    /// down, a state file that could not be written.
    pub fn is_retryable(&self) -> bool {
        match self {
            SyncError::UsagePoints(error) | SyncError::Fetch { error, .. } => {
                error.kind == SourceErrorKind::Transient
            }
            SyncError::Sink(error) | SyncError::StoppedWriting(error) => error.is_retryable(),
            SyncError::State(StateError::Io { .. }) | SyncError::NotStored { .. } => true,
            _ => false,
        }
    }
}

/// Why a run stopped asking the source before it was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// A quota or an outage: ask again later, not before `not_before` (local time) when
    /// the server said how long to wait.
    RetryLater {
        /// The earliest time to ask again, when the server said.
        not_before: Option<NaiveDateTime>,
    },
    /// The user must consent again.
    ConsentLost,
    /// The run's deadline passed.
    Deadline,
    /// The caller cancelled the run.
    Cancelled,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::RetryLater {
                not_before: Some(at),
            } => write!(f, "retry later, not before {at}"),
            StopReason::RetryLater { not_before: None } => f.write_str("retry later"),
            StopReason::ConsentLost => f.write_str("consent lost: consent again"),
            StopReason::Deadline => f.write_str("the deadline passed"),
            StopReason::Cancelled => f.write_str("cancelled"),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncReport {
    /// Per device (PDLs, then merged devices).
    pub devices: Vec<DeviceReport>,
    /// Requests answered by the source in this run.
    pub requests: usize,
    /// Whether the run was a full-history grab.
    pub full_grab: bool,
    /// Errors not tied to one device.
    pub errors: Vec<SyncError>,
    /// Why the run stopped asking the source early, if it did.
    pub stopped: Option<StopReason>,
    /// Problems met and handled, not tied to one device (the run still succeeds).
    pub notes: Vec<SyncError>,
    /// When to run next (local time).
    pub next_run: NaiveDateTime,
    /// With a colour source: today's and tomorrow's colours as the run left them.
    pub forecast: Option<crate::ColourForecast>,
    /// With a colour source: when to refresh the colours ([`SyncRun::refresh_colours`],
    /// local time): when the next colour day starts (06:00 and a few minutes: the forecast
    /// moves on with the tariff), and before that, while tomorrow's colour is not known for
    /// good, when it becomes final (11:30 and the spread minute), then hourly until 20:00.
    pub next_colour_check: Option<NaiveDateTime>,
}

/// What a colour refresh did ([`SyncRun::refresh_colours`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ColourRefresh {
    /// Today's and tomorrow's colours as the refresh left them (given to the sink).
    pub forecast: crate::ColourForecast,
    /// How many colours were learned or changed.
    pub learned: usize,
    /// What failed: the state or the sink.
    pub errors: Vec<SyncError>,
    /// Problems met and handled: a colour source that did not answer.
    pub notes: Vec<SyncError>,
    /// When to refresh again (see [`SyncReport::next_colour_check`]); `None` without a
    /// colour source.
    pub next_check: Option<NaiveDateTime>,
}

impl SyncReport {
    /// Whether nothing went wrong and nothing was left for later.
    pub fn is_success(&self) -> bool {
        self.stopped.is_none()
            && self.errors.is_empty()
            && self.devices.iter().all(|d| d.errors.is_empty())
    }

    /// Every error: the run's, then each device's.
    pub fn errors(&self) -> impl Iterator<Item = &SyncError> {
        self.errors
            .iter()
            .chain(self.devices.iter().flat_map(|d| &d.errors))
    }
}
