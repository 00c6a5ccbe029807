//! The sync run: for each usage point, plan what is missing, fetch it from any
//! [`ReadingSource`], keep it in the [`StateDir`] as it arrives, split and aggregate it
//! with linky-core, write it through any [`Sink`], merge devices, and report.
//!
//! A run is set up with named settings and run:
//!
//! ```no_run
//! # async fn example(source: &dyn linky_core::ReadingSource, clock: &dyn linky_core::Clock) {
//! use linky_domoticz::{MemorySink, StateDir, SyncEvent, SyncRun, SyncSettings};
//! let sink = MemorySink::new();
//! let state = StateDir::open("/var/lib/linky").unwrap();
//! let mut show = |event: &SyncEvent| println!("{event}");
//! let report = SyncRun::new(source, &sink, &state, clock)
//!     .settings(SyncSettings::default())
//!     .deadline(clock.now() + chrono::Duration::minutes(10))
//!     .progress(&mut show)
//!     .run()
//!     .await;
//! for error in report.errors() {
//!     eprintln!("{error}");
//! }
//! println!("next run at {}", report.next_run);
//! # }
//! ```
//!
//! # What a run guarantees
//!
//! - Every answer is stored before the next request: an interrupted run (crash, quota,
//!   deadline, cancellation) keeps what it fetched, "no data" facts included, and the
//!   next run goes on from there.
//! - A day counts as held when its distinct intervals cover it; duplicates do not count
//!   twice, so a day with a hole is asked for again while in the window.
//! - A device's rows are written only from days held for **every** flow it shows (both
//!   flows of a meter that has both, each side of a merged device): a day with one side
//!   not fetched yet is not written with 0 for that side; it waits for a later run.
//! - A quota or outage ends the fetching; a `Retry-After` longer than the client's retry
//!   policy ends the run as "retry later", and the next run time honours it.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use linky_core::{
    CallingHours, Clock, ColourSource, DeviceData, DeviceId, DeviceRows, FetchRequest, Flow,
    HistorySettings, HolidayZone, MainDisplay, Measurement, OffPeakConfig, PARIS, PlanLimits,
    Reading, ReadingSource, RunOutcome, RunSettings, SecondaryDisplay, SourceData, SourceError,
    SourceErrorKind, SourceEvent, UsagePointId, device_rows, history_after_run, history_window,
    merge_device, merged_pairs, next_run, plan_fetches, retry_not_before, shift_days,
};

use crate::state::{ContractHoursEntry, StateError, StateStore, StoredKind, SyncMeta};
use crate::{Sink, SinkError};

/// What a sync is told to do: [`SyncSettings::new`] or the default, then the `with_`
/// methods.
///
/// ```
/// use linky_domoticz::SyncSettings;
/// let settings = SyncSettings::new("22h00-6h00".parse().unwrap()).with_production(false);
/// assert!(settings.offpeak.has_two_tariffs("22516914714270"));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SyncSettings {
    /// The off-peak schedule.
    pub offpeak: OffPeakConfig,
    /// Whose public holidays count.
    pub holiday_zone: HolidayZone,
    /// Validated history settings.
    pub history: HistorySettings,
    /// The main dashboard display.
    pub main: MainDisplay,
    /// The secondary dashboard display.
    pub secondary: SecondaryDisplay,
    /// When calls are allowed.
    pub calling_hours: CallingHours,
    /// Whether to fetch production too.
    pub production: bool,
    /// Whether a usage point without a section in `offpeak` takes the off-peak hours of
    /// its contract (asked at most once a week, kept with their dates in the state).
    pub contract_hours: bool,
    /// The user's offer and subscribed power (kVA): each device's daily cost is written.
    pub costs: Option<(linky_core::Offer, u32)>,
}

impl SyncSettings {
    /// The settings a recorded run had (its schedule, history windows and whether it
    /// asked for production), to replay it as it ran.
    ///
    /// ```
    /// # #[cfg(feature = "replay")] {
    /// let mut info = linky_enedis::ReplayInfo::new(
    ///     chrono::NaiveDate::from_ymd_opt(2024, 11, 15).unwrap().and_hms_opt(9, 30, 0).unwrap(),
    ///     vec!["22516914714270".to_owned()],
    ///     7,
    ///     linky_enedis::Outcome::Success,
    /// );
    /// info.offpeak = "22h00-6h00".to_owned();
    /// let settings = linky_domoticz::SyncSettings::from_replay(&info).unwrap();
    /// assert_eq!(settings.history.days(), 7);
    /// assert!(settings.production);
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// The session's schedule's mistake.
    #[cfg(feature = "replay")]
    pub fn from_replay(
        info: &linky_enedis::ReplayInfo,
    ) -> Result<SyncSettings, linky_core::ScheduleError> {
        Ok(SyncSettings::new(info.schedule()?)
            .with_history(info.history())
            .with_production(info.production))
    }

    /// The defaults with `offpeak` as the schedule.
    pub fn new(offpeak: OffPeakConfig) -> SyncSettings {
        SyncSettings {
            offpeak,
            ..SyncSettings::default()
        }
    }

    /// With `offpeak` as the schedule.
    pub fn with_offpeak(mut self, offpeak: OffPeakConfig) -> SyncSettings {
        self.offpeak = offpeak;
        self
    }

    /// With `zone`'s public holidays.
    pub fn with_holiday_zone(mut self, zone: HolidayZone) -> SyncSettings {
        self.holiday_zone = zone;
        self
    }

    /// With `history` (validated by [`HistorySettings::new`], given the displays).
    pub fn with_history(mut self, history: HistorySettings) -> SyncSettings {
        self.history = history;
        self
    }

    /// With these displays; the history is validated again for them (its warnings are
    /// dropped: validate with [`HistorySettings::new`] to show them).
    pub fn with_displays(mut self, main: MainDisplay, secondary: SecondaryDisplay) -> SyncSettings {
        self.main = main;
        self.secondary = secondary;
        self.history = HistorySettings::new(
            i64::from(self.history.hours_days()),
            i64::from(self.history.days()),
            main,
            secondary,
        )
        .0;
        self
    }

    /// With these calling hours.
    pub fn with_calling_hours(mut self, hours: CallingHours) -> SyncSettings {
        self.calling_hours = hours;
        self
    }

    /// Whether to fetch production too.
    pub fn with_production(mut self, production: bool) -> SyncSettings {
        self.production = production;
        self
    }

    /// Whether a usage point for which `offpeak` says nothing takes the off-peak hours
    /// Enedis has on record for it (its contract; the user's schedule always wins). The
    /// contract is asked at most once every [`CONTRACT_CHECK_DAYS`] days; each text is
    /// kept in the state with the day it holds from (the contract's last tariff change),
    /// so that a change splits the days after it by the new hours and leaves the days
    /// before it alone. A text that cannot be read is a warning (a [`SyncEvent`] and a
    /// note of the device's report), never a silent single tariff. Off by default: one
    /// more request per usage point and week.
    pub fn with_contract_hours(mut self, contract_hours: bool) -> SyncSettings {
        self.contract_hours = contract_hours;
        self
    }

    /// With the user's `offer` at `kva`: each device's day rows come with their cost
    /// ([`crate::CostDayRow`], subscription included, exact), written through
    /// [`Sink::write_cost_days`]. A Tempo offer is costed on the days whose colours the
    /// run knows (see [`SyncRun::colour_source`]); a day without a price is skipped.
    pub fn with_costs(mut self, offer: linky_core::Offer, kva: u32) -> SyncSettings {
        self.costs = Some((offer, kva));
        self
    }
}

impl Default for SyncSettings {
    fn default() -> SyncSettings {
        SyncSettings {
            offpeak: OffPeakConfig::default(),
            holiday_zone: HolidayZone::Metropole,
            history: HistorySettings::default(),
            main: MainDisplay::default(),
            secondary: SecondaryDisplay::default(),
            calling_hours: CallingHours::default(),
            production: true,
            contract_hours: false,
            costs: None,
        }
    }
}

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
    fn new(device: DeviceId) -> DeviceReport {
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

/// What happens during a run, for a caller to show (its `Display` is a line for a
/// person).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncEvent {
    /// The requests a usage point's measurement needs in this run are planned (announced
    /// before the first of them, so that a caller can show "done of planned").
    Planned {
        /// The usage point.
        usage_point: UsagePointId,
        /// What will be asked for.
        kind: StoredKind,
        /// How many requests.
        requests: usize,
    },
    /// A request goes to the source.
    RequestSent {
        /// The usage point.
        usage_point: UsagePointId,
        /// What is asked for.
        kind: StoredKind,
        /// The request.
        request: FetchRequest,
    },
    /// The source answered with data, now stored.
    RequestAnswered {
        /// The usage point.
        usage_point: UsagePointId,
        /// What was asked for.
        kind: StoredKind,
        /// The request.
        request: FetchRequest,
        /// How many values came (readings or days).
        values: usize,
        /// How many of them the source could not read (reported, left out).
        anomalies: usize,
    },
    /// The source answered that there is no such data.
    NoData {
        /// The usage point.
        usage_point: UsagePointId,
        /// What was asked for.
        kind: StoredKind,
        /// Whether it never will have (the meter lacks that direction).
        permanent: bool,
    },
    /// A transient error (a quota, an outage): the source asks again after `wait`.
    Retrying {
        /// The usage point.
        usage_point: UsagePointId,
        /// What is asked for.
        kind: StoredKind,
        /// The attempt that failed (1 for the first).
        attempt: u32,
        /// How long the source waits.
        wait: std::time::Duration,
        /// What failed.
        reason: String,
        /// Whether a quota was hit.
        rate_limited: bool,
    },
    /// The source renewed its access token.
    TokenRenewed {
        /// The usage point being fetched.
        usage_point: UsagePointId,
    },
    /// Day colours were asked for (Tempo): how many were learned, and the days of the
    /// window still unknown (not published yet, or the sources failed).
    Colours {
        /// Days learned in this run.
        learned: usize,
        /// Days of the window whose colour is still unknown.
        unknown: Vec<NaiveDate>,
    },
    /// The run stops asking the source.
    Stopped {
        /// Why.
        reason: StopReason,
    },
    /// A usage point's contract gave off-peak hours not known before (the first ones, or
    /// a change): its days from `since` on are split by them.
    ContractHours {
        /// The usage point.
        usage_point: UsagePointId,
        /// The hours as written.
        text: String,
        /// The first day they hold (`None`: the whole past, as far as known).
        since: Option<NaiveDate>,
    },
    /// A schedule problem: a contract's hours that cannot be read or asked for. The usage
    /// point is split with the hours known before, or a single tariff when none are.
    ScheduleWarning {
        /// The usage point.
        usage_point: UsagePointId,
        /// What.
        warning: String,
    },
    /// A problem with the state, met and handled (a corrupt file fetched again).
    StateWarning {
        /// The usage point.
        usage_point: UsagePointId,
        /// What.
        warning: String,
    },
    /// A device's rows are about to be written.
    Writing {
        /// The device.
        device: DeviceId,
        /// Day rows.
        days: usize,
        /// Hour rows.
        hours: usize,
    },
    /// A device is done: written, or not for the reasons its report gives.
    DeviceDone {
        /// What happened to it.
        report: Box<DeviceReport>,
    },
}

impl fmt::Display for SyncEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncEvent::Planned {
                usage_point,
                kind,
                requests,
            } => write!(
                f,
                "{usage_point}: {} needs {requests} request{}",
                kind.as_str(),
                if *requests == 1 { "" } else { "s" }
            ),
            SyncEvent::RequestSent {
                usage_point,
                kind,
                request,
            } => write!(
                f,
                "{usage_point}: {} {}..{}",
                kind.as_str(),
                request.start,
                request.end
            ),
            SyncEvent::RequestAnswered {
                usage_point,
                kind,
                values,
                anomalies,
                ..
            } => {
                write!(
                    f,
                    "{usage_point}: {} answered, {values} values",
                    kind.as_str()
                )?;
                if *anomalies > 0 {
                    write!(f, ", {anomalies} unreadable")?;
                }
                Ok(())
            }
            SyncEvent::NoData {
                usage_point,
                kind,
                permanent: true,
            } => write!(f, "{usage_point}: no {} on this meter", kind.as_str()),
            SyncEvent::NoData {
                usage_point, kind, ..
            } => write!(f, "{usage_point}: no {} there yet", kind.as_str()),
            SyncEvent::Retrying {
                usage_point,
                kind,
                attempt,
                wait,
                reason,
                ..
            } => write!(
                f,
                "{usage_point}: {} attempt {attempt} failed ({reason}): waiting {:.1} s",
                kind.as_str(),
                wait.as_secs_f64()
            ),
            SyncEvent::TokenRenewed { usage_point } => {
                write!(f, "{usage_point}: access token renewed")
            }
            SyncEvent::Stopped { reason } => write!(f, "stopped: {reason}"),
            SyncEvent::Colours { learned, unknown } => {
                write!(f, "day colours: {learned} learned")?;
                match (unknown.first(), unknown.last()) {
                    (Some(first), Some(last)) if first == last => {
                        write!(f, ", {first} not known yet")
                    }
                    (Some(first), Some(last)) => write!(
                        f,
                        ", {} days not known yet ({first} to {last})",
                        unknown.len()
                    ),
                    _ => Ok(()),
                }
            }
            SyncEvent::StateWarning {
                usage_point,
                warning,
            }
            | SyncEvent::ScheduleWarning {
                usage_point,
                warning,
            } => write!(f, "{usage_point}: {warning}"),
            SyncEvent::ContractHours {
                usage_point,
                text,
                since,
            } => {
                write!(f, "{usage_point}: off-peak hours from the contract: {text}")?;
                match since {
                    Some(since) => write!(f, " from {since}"),
                    None => Ok(()),
                }
            }
            SyncEvent::Writing {
                device,
                days,
                hours,
            } => write!(f, "{device}: writing {days} day rows, {hours} hour rows"),
            SyncEvent::DeviceDone { report } => {
                write!(
                    f,
                    "{}: {} day rows, {} hour rows, dashboard {}",
                    report.device,
                    report.days_written,
                    report.hours_written,
                    if report.dashboard_written {
                        "written"
                    } else {
                        "not written"
                    }
                )?;
                if report.days_waiting > 0 {
                    write!(f, ", {} days waiting for a flow", report.days_waiting)?;
                }
                Ok(())
            }
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

/// Cancels a run from elsewhere (a signal handler, another task). Cheap to clone; every
/// clone cancels the same run.
#[derive(Debug, Clone, Default)]
pub struct CancelToken {
    inner: Arc<CancelInner>,
}

#[derive(Debug, Default)]
struct CancelInner {
    cancelled: AtomicBool,
    notify: tokio::sync::Notify,
}

impl CancelToken {
    /// A token not cancelled yet.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Cancels: the run stops before its next request (a request under way is
    /// abandoned: its answer was not stored, so nothing is lost).
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// Completes when the token is cancelled.
    pub async fn cancelled(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

/// How often a sync asks a usage point's contract for its off-peak hours, in days.
pub const CONTRACT_CHECK_DAYS: i64 = 7;

/// Hears the events of a run.
type Progress<'a> = dyn FnMut(&SyncEvent) + Send + 'a;

/// A sync run, set up with named settings, then [`SyncRun::run`].
///
/// The random parts of the schedule (the minute spread of the next run, the days before
/// a failed full-history grab is tried again) are drawn from the clock when not given,
/// and fixed when given.
pub struct SyncRun<'a> {
    source: &'a dyn ReadingSource,
    colour_source: Option<&'a dyn ColourSource>,
    sink: &'a dyn Sink,
    state: &'a dyn StateStore,
    clock: &'a dyn Clock,
    settings: SyncSettings,
    deadline: Option<DateTime<Utc>>,
    cancel: CancelToken,
    spread_minutes: Option<u32>,
    retry_days: Option<i64>,
    progress: Mutex<Option<&'a mut Progress<'a>>>,
    /// Whether a corrupt state file was met (its days must be fetched again).
    corrupt_seen: AtomicBool,
}

impl<'a> SyncRun<'a> {
    /// A run reading from `source`, writing to `sink`, keeping its state in `state`, at
    /// the time `clock` tells; the default [`SyncSettings`].
    pub fn new(
        source: &'a dyn ReadingSource,
        sink: &'a dyn Sink,
        state: &'a dyn StateStore,
        clock: &'a dyn Clock,
    ) -> SyncRun<'a> {
        SyncRun {
            source,
            colour_source: None,
            sink,
            state,
            clock,
            settings: SyncSettings::default(),
            deadline: None,
            cancel: CancelToken::new(),
            spread_minutes: None,
            retry_days: None,
            progress: Mutex::new(None),
            corrupt_seen: AtomicBool::new(false),
        }
    }

    /// What to sync and how.
    pub fn settings(mut self, settings: SyncSettings) -> SyncRun<'a> {
        self.settings = settings;
        self
    }

    /// Stop asking the source once the clock passes `deadline`: the run then writes what
    /// it holds and reports [`StopReason::Deadline`]; the next run goes on from there. A
    /// request under way finishes (the client's retry policy bounds it).
    pub fn deadline(mut self, deadline: DateTime<Utc>) -> SyncRun<'a> {
        self.deadline = Some(deadline);
        self
    }

    /// Stop when `token` is cancelled: before the next request (one under way is
    /// abandoned, its answer not stored) and before the next device is written. Reports
    /// [`StopReason::Cancelled`].
    pub fn cancel_token(mut self, token: CancelToken) -> SyncRun<'a> {
        self.cancel = token;
        self
    }

    /// The minute (0-59) after the opening hour at which the next run is set, so that
    /// users do not all call at 08:00 sharp (default: drawn from the clock).
    pub fn spread_minutes(mut self, minutes: u32) -> SyncRun<'a> {
        self.spread_minutes = Some(minutes % 60);
        self
    }

    /// In how many days (1-7) a failed full-history grab is tried again (default: drawn
    /// from the clock).
    pub fn retry_days(mut self, days: i64) -> SyncRun<'a> {
        self.retry_days = Some(days.clamp(1, 7));
        self
    }

    /// Also keeps the day colours (Tempo) of the history window and tomorrow in the
    /// state, asked of `source` (e.g. [`linky_core::FallbackColours`] over RTE and a
    /// cache) for the days not known yet, once per run, within the calling hours; a day not
    /// published stays unknown (the [`SyncEvent::Colours`] event lists them). What other
    /// tools build on them (costs, Tempo counters) reads [`SyncMeta::colours`]. After the
    /// devices' rows, each run gives the sink today's and tomorrow's colours
    /// ([`Sink::write_colour_forecast`]).
    pub fn colour_source(mut self, source: &'a dyn ColourSource) -> SyncRun<'a> {
        self.colour_source = Some(source);
        self
    }

    /// Hears every [`SyncEvent`] as it happens.
    pub fn progress(self, progress: &'a mut Progress<'a>) -> SyncRun<'a> {
        if let Ok(mut slot) = self.progress.lock() {
            *slot = Some(progress);
        }
        self
    }

    /// Runs the sync.
    pub async fn run(self) -> SyncReport {
        let now = self.clock.local_now(PARIS);
        let drawn = self.drawn(now);
        let spread_minutes = self.spread_minutes.unwrap_or(drawn % 60);
        let retry_days = self.retry_days.unwrap_or(1 + i64::from(drawn / 60 % 7));
        let mut errors = Vec::new();
        let mut meta = self.state.load_meta().unwrap_or_else(|error| {
            errors.push(SyncError::State(error));
            SyncMeta::default()
        });
        let settings = self.settings.clone();
        let days = i64::from(settings.history.days()).max(i64::from(settings.history.hours_days()));
        let (window, full_grab) = history_window(days, &meta.history(), now);
        let mut report = SyncReport {
            devices: Vec::new(),
            requests: 0,
            full_grab,
            errors,
            stopped: None,
            notes: Vec::new(),
            next_run: now,
            forecast: None,
            next_colour_check: None,
        };
        if !settings.calling_hours.allows(now) {
            report.errors.push(SyncError::OutsideCallingHours);
        }
        let usage_points = match self.source.usage_points().await {
            Ok(points) => points,
            Err(error) => {
                report.errors.push(SyncError::UsagePoints(error));
                Vec::new()
            }
        };
        let today = now.date();
        if let Some(colours) = self.colour_source
            && settings.calling_hours.allows(now)
            && !self.cancel.is_cancelled()
        {
            // The history window's days, and the night before.
            let from = shift_days(today, -(window.max(days) + 1));
            // A provisional colour before the whole history window is no longer asked.
            meta.provisional_colours.retain(|date| *date >= from);
            self.learn_colours(
                colours,
                &mut meta,
                (from, shift_days(today, 2)),
                now,
                (&mut report.errors, &mut report.notes),
            )
            .await;
        }
        let history = if self.sink.keeps_all_hours() {
            settings.history.covering_all_hours()
        } else {
            settings.history
        };
        let run = RunSettings::new(today, history).with_displays(settings.main, settings.secondary);
        let mut devices = Vec::new();
        let mut gates = Vec::new();
        for usage_point in &usage_points {
            let mut device_report = DeviceReport::new(DeviceId::meter(usage_point.clone()));
            let uses_contract =
                settings.contract_hours && !settings.offpeak.has_two_tariffs(usage_point.as_str());
            if uses_contract && settings.calling_hours.allows(now) && report.stopped.is_none() {
                self.check_contract_hours(&mut meta, usage_point, today, &mut device_report)
                    .await;
            }
            let offpeak = if uses_contract {
                self.contract_schedule(&meta, usage_point, &mut device_report)
            } else {
                settings.offpeak.clone()
            };
            if settings.calling_hours.allows(now) && report.stopped.is_none() {
                report.stopped = self
                    .fetch_missing(
                        &mut meta,
                        usage_point,
                        window,
                        &mut device_report,
                        &mut report.requests,
                    )
                    .await;
                if let Some(reason) = report.stopped {
                    self.say(SyncEvent::Stopped { reason });
                }
            }
            let (data, gate) = self.device_data(
                &meta,
                usage_point,
                &offpeak,
                today,
                window.max(days),
                &mut device_report,
            );
            devices.push(data);
            gates.push(gate);
            report.devices.push(device_report);
        }
        for (consumer, producer) in merged_pairs(&devices, &run) {
            let mut merged = merge_device(&devices[consumer], &devices[producer]);
            let gate: BTreeSet<NaiveDate> = gates[consumer]
                .intersection(&gates[producer])
                .copied()
                .collect();
            // The days each side holds but the other does not yet: they wait.
            let waiting = gates[consumer]
                .symmetric_difference(&gates[producer])
                .count();
            merged.retain_days(|day| gate.contains(&day));
            let mut device_report = DeviceReport::new(merged.device.clone());
            device_report.days_waiting = waiting;
            report.devices.push(device_report);
            devices.push(merged);
        }
        if !self.cancel.is_cancelled() {
            let colours = self.colour_source.map(|_| &meta.colours);
            self.write_all(&devices, &run, colours, &mut report).await;
            let sink_stopped = report
                .errors
                .iter()
                .any(|error| matches!(error, SyncError::StoppedWriting(_)));
            if self.colour_source.is_some() && !sink_stopped && !self.cancel.is_cancelled() {
                // "Today" is the colour day: until 06:00, the day before's.
                report.forecast = Some(
                    self.write_forecast(
                        &meta.colours,
                        linky_core::colour_day(now),
                        &mut report.errors,
                    )
                    .await,
                );
            }
        }
        if self.cancel.is_cancelled() && report.stopped != Some(StopReason::Cancelled) {
            report.stopped = Some(StopReason::Cancelled);
            self.say(SyncEvent::Stopped {
                reason: StopReason::Cancelled,
            });
        }
        let success = report.is_success();
        if !(full_grab && report.stopped.is_some()) {
            // A full grab cut short stays due: the next run goes on with it.
            meta.set_history(history_after_run(
                &meta.history(),
                days,
                full_grab,
                success,
                now,
                retry_days,
            ));
        }
        if self.corrupt_seen.load(Ordering::SeqCst) {
            // Days of a corrupt file may lie outside the short window: the next run is a
            // full grab, which asks for every day not held.
            meta.next_full_grab = Some(now);
        }
        if let Err(error) = self.state.save_meta(&meta) {
            report.errors.push(SyncError::State(error));
        }
        let outcome = if report.is_success() {
            RunOutcome::Success
        } else {
            RunOutcome::Failure
        };
        report.next_run = next_run(now, outcome, settings.calling_hours, spread_minutes);
        if self.colour_source.is_some() {
            report.next_colour_check = next_colour_check(now, &meta, spread_minutes);
        }
        if let Some(StopReason::RetryLater {
            not_before: Some(not_before),
        }) = report.stopped
        {
            let allowed = settings
                .calling_hours
                .first_allowed(not_before, spread_minutes);
            report.next_run = report.next_run.max(allowed);
        }
        report
    }

    /// Asks the contract of `usage_point` for its off-peak hours when the last answer is
    /// older than [`CONTRACT_CHECK_DAYS`], and keeps a new text with its first day (saved
    /// at once, like the "no data" facts).
    async fn check_contract_hours(
        &self,
        meta: &mut SyncMeta,
        usage_point: &UsagePointId,
        today: NaiveDate,
        device_report: &mut DeviceReport,
    ) {
        let pdl = usage_point.as_str();
        let history = meta.contract_hours.entry(pdl.to_owned()).or_default();
        if history
            .checked
            .is_some_and(|checked| today < shift_days(checked, CONTRACT_CHECK_DAYS))
        {
            return;
        }
        let cancel = self.cancel.clone();
        let answer = tokio::select! {
            answer = self.source.contract_hours(usage_point) => answer,
            () = cancel.cancelled() => return,
        };
        let hours = match answer {
            Ok(hours) => hours,
            Err(error) => {
                let warning =
                    format!("the contract's off-peak hours could not be asked for: {error}");
                self.say(SyncEvent::ScheduleWarning {
                    usage_point: usage_point.clone(),
                    warning,
                });
                device_report.notes.push(SyncError::ContractHours {
                    detail: "the contract could not be asked for".to_owned(),
                    cause: Some(error),
                });
                return;
            }
        };
        history.checked = Some(today);
        if let Some(hours) = hours
            && history
                .entries
                .last()
                .is_none_or(|last| last.text != hours.text)
        {
            // The first text stands for the whole past; a change holds from the contract's
            // last tariff change when that is after the previous text's start, else from
            // the day it was seen.
            let since = match history.entries.last() {
                None => None,
                Some(last) => Some(
                    hours
                        .since
                        .filter(|since| last.since.is_none_or(|previous| *since > previous))
                        .unwrap_or(today),
                ),
            };
            history.entries.push(ContractHoursEntry {
                text: hours.text.clone(),
                since,
                seen: today,
            });
            self.say(SyncEvent::ContractHours {
                usage_point: usage_point.clone(),
                text: hours.text,
                since,
            });
        }
        if let Err(error) = self.state.save_meta(meta) {
            device_report.errors.push(SyncError::State(error));
        }
    }

    /// The schedule of a usage point that takes its contract's hours: the settings' with
    /// each known text from its first day. A text that cannot be read is a warning; its
    /// days keep the hours known before it (a single tariff when there are none).
    fn contract_schedule(
        &self,
        meta: &SyncMeta,
        usage_point: &UsagePointId,
        device_report: &mut DeviceReport,
    ) -> OffPeakConfig {
        let pdl = usage_point.as_str();
        let Some(history) = meta.contract_hours.get(pdl) else {
            return self.settings.offpeak.clone();
        };
        let (schedule, unreadable) = history.schedule(&self.settings.offpeak, pdl);
        for (error, known_before) in unreadable {
            let fallback = if known_before {
                "the hours known before"
            } else {
                "a single tariff"
            };
            let warning = format!(
                "{error}; its days are split with {fallback}: give a schedule for {pdl} to say otherwise"
            );
            self.say(SyncEvent::ScheduleWarning {
                usage_point: usage_point.clone(),
                warning: warning.clone(),
            });
            device_report.notes.push(SyncError::ContractHours {
                detail: warning,
                cause: None,
            });
        }
        schedule
    }

    /// A number drawn from the clock: the spread minute and the retry days when not set.
    fn drawn(&self, now: NaiveDateTime) -> u32 {
        self.clock.now().timestamp_subsec_nanos() ^ now.and_utc().timestamp() as u32
    }

    /// Gives the sink today's and tomorrow's colours as the calendar knows them (unknown
    /// ones as unknown: a colour is never guessed), and returns them.
    async fn write_forecast(
        &self,
        colours: &linky_core::ColourCalendar,
        today: NaiveDate,
        errors: &mut Vec<SyncError>,
    ) -> crate::ColourForecast {
        let forecast = forecast_of(colours, today);
        if let Err(error) = self.sink.write_colour_forecast(&forecast).await {
            errors.push(SyncError::Sink(error));
        }
        forecast
    }

    /// Asks `source` for the colours of `[from, to)` not known for good yet (unknown, or
    /// learned before they were final), keeps them (saved at once) with whether they are
    /// final at `now`, tells which are still unknown, and returns how many were learned or
    /// changed.
    async fn learn_colours(
        &self,
        source: &dyn ColourSource,
        meta: &mut SyncMeta,
        (from, to): (NaiveDate, NaiveDate),
        now: NaiveDateTime,
        (errors, notes): (&mut Vec<SyncError>, &mut Vec<SyncError>),
    ) -> usize {
        let mut asked: BTreeSet<NaiveDate> = meta.colours.missing(from, to).into_iter().collect();
        asked.extend(meta.provisional_colours.range(from..to));
        let (Some(first), Some(last)) = (asked.first(), asked.last()) else {
            return 0;
        };
        let cancel = self.cancel.clone();
        let answer = tokio::select! {
            answer = source.colours(*first, shift_days(*last, 1)) => answer,
            () = cancel.cancelled() => return 0,
        };
        let mut learned = 0;
        match answer {
            Ok(found) => {
                for (date, colour) in found.days() {
                    if meta.colours.colour(date) != Some(colour) {
                        learned += 1;
                    }
                    meta.colours.set(date, colour);
                    // Before it is final, or given in a degraded mode: asked again.
                    if now < linky_core::colour_final_at(date) || found.is_degraded(date) {
                        meta.provisional_colours.insert(date);
                    } else {
                        meta.provisional_colours.remove(&date);
                    }
                }
                if let Err(error) = self.state.save_meta(meta) {
                    errors.push(SyncError::State(error));
                }
            }
            Err(error) => notes.push(SyncError::Colours {
                publisher: source.name().to_owned(),
                cause: error,
            }),
        }
        self.say(SyncEvent::Colours {
            learned,
            unknown: meta.colours.missing(from, to),
        });
        learned
    }

    /// Asks the colour source for today's and tomorrow's colours when they are not known
    /// for good, keeps them and gives them to the sink: what a daemon does at
    /// [`SyncReport::next_colour_check`] (tomorrow's colour is published around 11:00,
    /// after the morning's run), without asking the readings' source anything. Calling
    /// hours do not apply (they are the readings' source's). Without a colour source, it
    /// only gives the sink what the state holds.
    pub async fn refresh_colours(self) -> ColourRefresh {
        let now = self.clock.local_now(PARIS);
        let today = now.date();
        let spread_minutes = self.spread_minutes.unwrap_or(self.drawn(now) % 60);
        let mut errors = Vec::new();
        let mut notes = Vec::new();
        let mut meta = match self.state.load_meta() {
            Ok(meta) => meta,
            Err(error) => {
                // Nothing is saved over a state that does not read, nor written to the
                // sink: the next run deals with it.
                return ColourRefresh {
                    forecast: forecast_of(
                        &linky_core::ColourCalendar::new(),
                        linky_core::colour_day(now),
                    ),
                    learned: 0,
                    errors: vec![SyncError::State(error)],
                    notes,
                    next_check: None,
                };
            }
        };
        let mut learned = 0;
        if let Some(source) = self.colour_source
            && !self.cancel.is_cancelled()
        {
            learned = self
                .learn_colours(
                    source,
                    &mut meta,
                    (linky_core::colour_day(now), shift_days(today, 2)),
                    now,
                    (&mut errors, &mut notes),
                )
                .await;
        }
        let forecast = self
            .write_forecast(&meta.colours, linky_core::colour_day(now), &mut errors)
            .await;
        ColourRefresh {
            forecast,
            learned,
            errors,
            notes,
            next_check: self
                .colour_source
                .and_then(|_| next_colour_check(now, &meta, spread_minutes)),
        }
    }

    /// Tells the caller.
    fn say(&self, event: SyncEvent) {
        if let Ok(mut progress) = self.progress.lock()
            && let Some(progress) = progress.as_mut()
        {
            progress(&event);
        }
    }

    /// Records state warnings as errors, noting corrupt files.
    fn warn(&self, device_report: &mut DeviceReport, warnings: Vec<StateError>) {
        if warnings
            .iter()
            .any(|warning| matches!(warning, StateError::Corrupt { .. }))
        {
            self.corrupt_seen.store(true, Ordering::SeqCst);
        }
        device_report
            .errors
            .extend(warnings.into_iter().map(SyncError::State));
    }

    /// Why fetching must stop now, if it must.
    fn must_stop(&self) -> Option<StopReason> {
        if self.cancel.is_cancelled() {
            Some(StopReason::Cancelled)
        } else if self
            .deadline
            .is_some_and(|deadline| self.clock.now() >= deadline)
        {
            Some(StopReason::Deadline)
        } else {
            None
        }
    }

    /// Fetches what the window misses for one usage point, storing each answer before the
    /// next request, and each permanent "no data" fact as soon as it is learned. Returns
    /// why the run must stop asking the source, if it must.
    async fn fetch_missing(
        &self,
        meta: &mut SyncMeta,
        usage_point: &UsagePointId,
        window: i64,
        device_report: &mut DeviceReport,
        answered: &mut usize,
    ) -> Option<StopReason> {
        let pdl = usage_point.as_str();
        let now = self.clock.local_now(PARIS);
        let today = now.date();
        for (measurement, kind) in measurements(&self.settings) {
            if meta.lacks(pdl, kind) {
                continue;
            }
            let days = if kind == StoredKind::Peaks {
                window.max(i64::from(self.settings.history.peak_days()))
            } else {
                window
            };
            let (held, warnings) = self
                .state
                .held_days(pdl, kind, shift_days(today, -days), today);
            // A corrupt file's days are not held: they are asked for again now. Whether
            // that mended it shows when the rows are built (still corrupt: an error).
            for warning in warnings {
                self.say(SyncEvent::StateWarning {
                    usage_point: usage_point.clone(),
                    warning: warning.to_string(),
                });
                device_report.notes.push(SyncError::State(warning));
            }
            let limits = PlanLimits::new(now, days);
            let plan = plan_fetches(measurement, &held, &limits);
            if !plan.is_empty() {
                self.say(SyncEvent::Planned {
                    usage_point: usage_point.clone(),
                    kind,
                    requests: plan.len(),
                });
            }
            for request in plan {
                if let Some(stop) = self.must_stop() {
                    return Some(stop);
                }
                self.say(SyncEvent::RequestSent {
                    usage_point: usage_point.clone(),
                    kind,
                    request,
                });
                let observer = |event: SourceEvent| {
                    self.say(match event {
                        SourceEvent::Retrying {
                            attempt,
                            wait,
                            reason,
                            rate_limited,
                        } => SyncEvent::Retrying {
                            usage_point: usage_point.clone(),
                            kind,
                            attempt,
                            wait,
                            reason,
                            rate_limited,
                        },
                        _ => SyncEvent::TokenRenewed {
                            usage_point: usage_point.clone(),
                        },
                    });
                };
                let cancel = self.cancel.clone();
                let answer = tokio::select! {
                    answer = self.source.fetch_observed(usage_point, &request, &observer) => answer,
                    () = cancel.cancelled() => return Some(StopReason::Cancelled),
                };
                let answer = match answer {
                    Ok(answer) => answer,
                    Err(error) => {
                        let kind_of_error = error.kind;
                        let retry_after = error.retry_after;
                        device_report.errors.push(SyncError::Fetch {
                            kind,
                            request,
                            error,
                        });
                        match kind_of_error {
                            SourceErrorKind::Transient => {
                                // A server's wait, however absurd, is capped and
                                // never overflows the calendar.
                                let not_before = retry_after.map(|wait| {
                                    retry_not_before(self.clock.local_now(PARIS), wait)
                                });
                                return Some(StopReason::RetryLater { not_before });
                            }
                            SourceErrorKind::ConsentLost => return Some(StopReason::ConsentLost),
                            // A malformed answer, another usage point, an oversized body:
                            // this measurement waits for the next run, the others go on.
                            _ => break,
                        }
                    }
                };
                *answered += 1;
                let (start, end) = (request.start, request.end);
                let answered_event = |values: usize, anomalies: usize| SyncEvent::RequestAnswered {
                    usage_point: usage_point.clone(),
                    kind,
                    request,
                    values,
                    anomalies,
                };
                let stored = match answer {
                    SourceData::Curve { readings, report } => {
                        let anomalies = report.anomalies().len();
                        device_report.anomalies += anomalies;
                        let flow = match kind {
                            StoredKind::Curve(flow) => flow,
                            StoredKind::Peaks => Flow::Consumption,
                        };
                        let stored = self.state.store_curve(pdl, flow, start, end, &readings);
                        self.say(answered_event(readings.len(), anomalies));
                        stored
                    }
                    SourceData::Peaks(peaks) => {
                        let stored = self.state.store_peaks(pdl, start, end, &peaks);
                        self.say(answered_event(peaks.len(), 0));
                        stored
                    }
                    SourceData::DailyEnergy(values) => {
                        self.say(answered_event(values.len(), 0));
                        Ok(())
                    }
                    SourceData::NoData { permanent: true } => {
                        meta.set_lacks(pdl, kind);
                        // Saved at once, as readings are: an interrupted run must not
                        // ask again.
                        if let Err(error) = self.state.save_meta(meta) {
                            device_report.errors.push(SyncError::State(error));
                        }
                        self.say(SyncEvent::NoData {
                            usage_point: usage_point.clone(),
                            kind,
                            permanent: true,
                        });
                        break;
                    }
                    // Nothing there yet: those days are fetched (and empty), asked again
                    // while in the window.
                    SourceData::NoData { permanent: false } => {
                        self.say(SyncEvent::NoData {
                            usage_point: usage_point.clone(),
                            kind,
                            permanent: false,
                        });
                        match kind {
                            StoredKind::Curve(flow) => {
                                self.state.store_curve(pdl, flow, start, end, &[])
                            }
                            StoredKind::Peaks => self.state.store_peaks(pdl, start, end, &[]),
                        }
                    }
                };
                if let Err(error) = stored {
                    device_report.errors.push(SyncError::State(error));
                    break;
                }
            }
        }
        None
    }

    /// The flows a usage point's device shows: consumption, and production when asked
    /// for; less the directions the meter is known to lack.
    fn shown_flows(&self, meta: &SyncMeta, pdl: &str) -> Vec<Flow> {
        let mut flows = Vec::new();
        if !meta.lacks(pdl, StoredKind::Curve(Flow::Consumption)) {
            flows.push(Flow::Consumption);
        }
        if self.settings.production && !meta.lacks(pdl, StoredKind::Curve(Flow::Production)) {
            flows.push(Flow::Production);
        }
        flows
    }

    /// A usage point's data from the state over the window, kept to the days held for
    /// every flow it shows (returned: the gate).
    fn device_data(
        &self,
        meta: &SyncMeta,
        usage_point: &UsagePointId,
        offpeak: &OffPeakConfig,
        today: NaiveDate,
        days: i64,
        device_report: &mut DeviceReport,
    ) -> (DeviceData, BTreeSet<NaiveDate>) {
        let pdl = usage_point.as_str();
        let from = shift_days(today, -days);
        let mut gate: Option<BTreeSet<NaiveDate>> = None;
        let mut any_held = BTreeSet::new();
        let mut readings: [Vec<Reading>; 2] = [Vec::new(), Vec::new()];
        for flow in self.shown_flows(meta, pdl) {
            let (fetched, flow_readings, warnings) =
                self.state.stored_curve(pdl, flow, from, today);
            self.warn(device_report, warnings);
            any_held.extend(fetched.iter().copied());
            gate = Some(match gate {
                None => fetched,
                Some(gate) => gate.intersection(&fetched).copied().collect(),
            });
            readings[usize::from(flow == Flow::Production)] = flow_readings;
        }
        let peak_days = i64::from(self.settings.history.peak_days()).max(days);
        let (peaks, warnings) = self.state.peaks(pdl, shift_days(today, -peak_days), today);
        self.warn(device_report, warnings);
        let (mut data, report) = DeviceData::builder(
            DeviceId::meter(usage_point.clone()),
            offpeak,
            self.settings.holiday_zone,
        )
        .period(from, today)
        .consumption(&readings[0])
        .production(&readings[1])
        .peaks(peaks)
        .build();
        device_report.anomalies += report
            .anomalies()
            .iter()
            .filter(|a| a.kind.drops_reading())
            .count();
        let gate = gate.unwrap_or_default();
        device_report.days_waiting = any_held.difference(&gate).count();
        data.retain_days(|day| gate.contains(&day));
        (data, gate)
    }

    /// Writes every device's rows, stopping at a sink that is down or refuses us, or at a
    /// cancellation.
    async fn write_all(
        &self,
        devices: &[DeviceData],
        run: &RunSettings,
        colours: Option<&linky_core::ColourCalendar>,
        report: &mut SyncReport,
    ) {
        for (data, device_report) in devices.iter().zip(report.devices.iter_mut()) {
            if self.cancel.is_cancelled() {
                break;
            }
            let rows = device_rows(data, run);
            self.say(SyncEvent::Writing {
                device: rows.device.clone(),
                days: rows.days.len(),
                hours: rows.hours.len(),
            });
            let extra = extra_rows(
                data,
                &rows,
                colours,
                self.settings.costs.as_ref(),
                self.sink.keeps_all_hours(),
            );
            let written = write_rows(self.sink, &rows, &extra, device_report).await;
            let stop = match written {
                Ok(()) => false,
                Err(error) => {
                    // The sink is down or refuses us: the others would fail the same way.
                    let stop = error.is_retryable()
                        || matches!(
                            error,
                            SinkError::Unauthorized { .. } | SinkError::Config { .. }
                        );
                    if stop {
                        report.errors.push(SyncError::StoppedWriting(error.clone()));
                    }
                    device_report.errors.push(SyncError::Sink(error));
                    stop
                }
            };
            self.say(SyncEvent::DeviceDone {
                report: Box::new(device_report.clone()),
            });
            if stop {
                break;
            }
        }
    }
}

/// Today's and tomorrow's colours and the season's counts, as `colours` holds them;
/// `today` is the colour day running (see [`linky_core::colour_day`]).
fn forecast_of(colours: &linky_core::ColourCalendar, today: NaiveDate) -> crate::ColourForecast {
    crate::ColourForecast {
        today,
        today_colour: colours.colour(today),
        tomorrow_colour: today
            .succ_opt()
            .and_then(|tomorrow| colours.colour(tomorrow)),
        season_used: colours.season_counts(today),
        season_unknown: u32::try_from(colours.season_missing(today)).unwrap_or(u32::MAX),
        calendar: colours.clone(),
    }
}

/// When to refresh the colours next: when the next colour day starts (06:00, plus the
/// spread minute up to 4, so that "today" moves on when the tariff does), and before that,
/// while tomorrow's colour is not known for good, when it becomes final (11:30, plus the
/// spread minute up to half an hour), then every hour until 20:00 (a late publication).
fn next_colour_check(
    now: NaiveDateTime,
    meta: &SyncMeta,
    spread_minutes: u32,
) -> Option<NaiveDateTime> {
    let day_start = now.date().and_hms_opt(6, spread_minutes % 5, 0)?;
    let next_day_start = if now < day_start {
        day_start
    } else {
        day_start.checked_add_signed(Duration::days(1))?
    };
    let tomorrow = now.date().succ_opt()?;
    let settled =
        meta.colours.colour(tomorrow).is_some() && !meta.provisional_colours.contains(&tomorrow);
    let final_at = linky_core::colour_final_at(tomorrow);
    let ask = if settled {
        None
    } else if now < final_at {
        final_at.checked_add_signed(Duration::minutes(i64::from(spread_minutes % 30)))
    } else {
        let next = now.checked_add_signed(Duration::hours(1))?;
        let evening = now.date().and_hms_opt(20, 0, 0)?;
        (next <= evening).then_some(next)
    };
    Some(ask.map_or(next_day_start, |ask| ask.min(next_day_start)))
}

fn measurements(settings: &SyncSettings) -> Vec<(Measurement, StoredKind)> {
    let mut list = vec![
        (
            Measurement::LoadCurve(Flow::Consumption),
            StoredKind::Curve(Flow::Consumption),
        ),
        (Measurement::DailyMaxPower, StoredKind::Peaks),
    ];
    if settings.production {
        list.push((
            Measurement::LoadCurve(Flow::Production),
            StoredKind::Curve(Flow::Production),
        ));
    }
    list
}

/// A meter's Tempo and cost rows, for the days of its day rows (a merged device has none:
/// they would repeat its consumer's), and for a sink that keeps all hours the same by hour;
/// what the device shows.
#[derive(Debug)]
struct ExtraRows {
    info: crate::DeviceInfo,
    colours: Vec<crate::ColourDayRow>,
    costs: Vec<crate::CostDayRow>,
    colour_hours: Vec<crate::ColourHourRow>,
    cost_hours: Vec<crate::CostHourRow>,
}

fn extra_rows(
    data: &DeviceData,
    rows: &DeviceRows,
    colours: Option<&linky_core::ColourCalendar>,
    costs: Option<&(linky_core::Offer, u32)>,
    all_hours: bool,
) -> ExtraRows {
    use linky_core::{Energy, OfferKind};
    let mut extra = ExtraRows {
        info: crate::DeviceInfo::new(
            data.two_tariffs,
            data.has_consumption(),
            data.has_production(),
        ),
        colours: Vec::new(),
        costs: Vec::new(),
        colour_hours: Vec::new(),
        cost_hours: Vec::new(),
    };
    // A merged device shows its consumer's consumption: the consumer's own device has its
    // Tempo counters and costs already.
    if data.device.is_merged() {
        return extra;
    }
    let Some(consumption) = &data.consumption else {
        return extra;
    };
    extra.info.tempo = colours.is_some();
    if let Some((offer, _)) = costs {
        let classes = match offer.kind {
            OfferKind::Tempo => crate::CostClasses::Tempo,
            _ => crate::CostClasses::PeakOffPeak,
        };
        extra.info.costs = Some((offer.name.clone(), classes));
    }
    if all_hours {
        hourly_extra_rows(&mut extra, consumption, rows, colours, costs);
    }
    let wanted: BTreeSet<NaiveDate> = rows.days.iter().map(|d| d.date).collect();
    let tempo_days: Vec<linky_core::SplitDay<6>> = colours
        .map(|calendar| {
            linky_core::recolour(consumption, calendar)
                .split
                .days()
                .into_iter()
                .filter(|d| wanted.contains(&d.date))
                .collect()
        })
        .unwrap_or_default();
    extra.colours = tempo_days
        .iter()
        .map(|day| crate::ColourDayRow {
            date: day.date,
            energies: day.energy,
        })
        .collect();
    if let Some((offer, kva)) = costs {
        for day in &rows.days {
            let energies: Option<Vec<Energy>> = match offer.kind {
                OfferKind::Base => Some(vec![day.totals.consumption.iter().copied().sum()]),
                OfferKind::PeakOffPeak => Some(day.totals.consumption.to_vec()),
                OfferKind::Tempo => tempo_days
                    .iter()
                    .find(|t| t.date == day.date)
                    .map(|t| t.energy.to_vec()),
                // A kind this sync cannot cost yet (EJP, Zen Flex): no cost row.
                _ => None,
            };
            if let Some(cost) =
                energies.and_then(|energies| offer.day_cost(day.date, *kva, &energies))
            {
                extra.costs.push(crate::CostDayRow {
                    date: day.date,
                    cost: cost.total(),
                    offer: offer.name.clone(),
                });
            }
        }
    }
    extra
}

/// The Tempo and cost rows of the hours of `rows` (see [`crate::ColourHourRow`] and
/// [`crate::CostHourRow`]): the same energies and prices as the day rows, hour by hour.
fn hourly_extra_rows(
    extra: &mut ExtraRows,
    consumption: &linky_core::SplitCurve<2>,
    rows: &DeviceRows,
    colours: Option<&linky_core::ColourCalendar>,
    costs: Option<&(linky_core::Offer, u32)>,
) {
    use linky_core::{Money, OfferKind};
    let wanted: BTreeSet<DateTime<Utc>> = rows.hours.iter().map(|hour| hour.end_utc).collect();
    if let Some(calendar) = colours {
        let tempo = linky_core::recolour(consumption, calendar).split;
        let time_zone = tempo.time_zone();
        extra.colour_hours = tempo
            .hours()
            .into_iter()
            .filter_map(|hour| {
                let end = hour.end(time_zone);
                let end_utc = end.with_timezone(&Utc);
                wanted.contains(&end_utc).then(|| crate::ColourHourRow {
                    end_utc,
                    end: end.naive_local(),
                    energies: hour.energy,
                })
            })
            .collect();
    }
    let Some((offer, kva)) = costs else {
        return;
    };
    // Each hour's classes at its day's prices; the subscription in each day's first hour.
    let day_of = |end: NaiveDateTime| (end - Duration::minutes(1)).date();
    let hours: Vec<(DateTime<Utc>, NaiveDateTime, Vec<linky_core::Energy>)> = match offer.kind {
        OfferKind::Tempo => extra
            .colour_hours
            .iter()
            .map(|hour| (hour.end_utc, hour.end, hour.energies.to_vec()))
            .collect(),
        _ => rows
            .hours
            .iter()
            .map(|hour| (hour.end_utc, hour.end, hour.energies.consumption.to_vec()))
            .collect(),
    };
    let mut last_day = None;
    for (end_utc, end, energies) in hours {
        let date = day_of(end);
        let Some(period) = offer.period_on(date, *kva) else {
            continue;
        };
        let classes: Vec<Money> = energies
            .iter()
            .enumerate()
            .map(|(class, energy)| {
                // Base has one price for every class.
                let price = period.prices.get(class).or(period.prices.first());
                price.map_or(Money::ZERO, |price| price.cost(*energy))
            })
            .collect();
        let subscription = if last_day == Some(date) {
            Money::ZERO
        } else {
            period.subscription.on(date)
        };
        last_day = Some(date);
        extra.cost_hours.push(crate::CostHourRow {
            end_utc,
            end,
            classes,
            subscription,
        });
    }
}

async fn write_rows(
    sink: &dyn Sink,
    rows: &DeviceRows,
    extra: &ExtraRows,
    report: &mut DeviceReport,
) -> Result<(), SinkError> {
    if rows.days.is_empty() && rows.hours.is_empty() && rows.dashboard.is_none() {
        return Ok(());
    }
    let device = sink.ensure_device(&rows.device).await?;
    sink.describe_device(&device, &extra.info).await?;
    // A write the sink took in part does not stop the device's other writes: the first
    // such error is returned once they are done.
    let mut partly: Option<SinkError> = None;
    let mut go_on = |written: Result<(), SinkError>| -> Result<bool, SinkError> {
        match written {
            Ok(()) => Ok(true),
            Err(error @ SinkError::PartlyWritten { .. }) => {
                partly.get_or_insert(error);
                Ok(false)
            }
            Err(error) => Err(error),
        }
    };
    if go_on(sink.write_hours(&device, &rows.hours).await)? {
        report.hours_written = rows.hours.len();
    }
    if go_on(sink.write_days(&device, &rows.days).await)? {
        report.days_written = rows.days.len();
    }
    if !extra.colours.is_empty() {
        go_on(sink.write_colour_days(&device, &extra.colours).await)?;
    }
    if !extra.costs.is_empty() {
        go_on(sink.write_cost_days(&device, &extra.costs).await)?;
    }
    if !extra.colour_hours.is_empty() {
        go_on(sink.write_colour_hours(&device, &extra.colour_hours).await)?;
    }
    if !extra.cost_hours.is_empty() {
        go_on(sink.write_cost_hours(&device, &extra.cost_hours).await)?;
    }
    if let Some(dashboard) = &rows.dashboard {
        report.dashboard_written = go_on(sink.write_dashboard(&device, dashboard).await)?;
    }
    let mismatches = sink.verify_days(&device, &rows.days).await?;
    if !mismatches.is_empty() {
        report.errors.push(SyncError::NotStored {
            dates: mismatches.iter().map(|m| m.date).collect(),
        });
    }
    match partly {
        Some(error) => Err(error),
        None => Ok(()),
    }
}
