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

mod cancel;
mod colours;
mod events;
mod fetch;
mod report;
mod settings;
mod write;

pub use cancel::CancelToken;
pub use events::SyncEvent;
pub use report::{ColourRefresh, DeviceReport, StopReason, SyncError, SyncReport};
pub use settings::SyncSettings;

use colours::next_colour_check;

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use linky_core::{
    Clock, ColourSource, DeviceId, PARIS, ReadingSource, RunOutcome, RunSettings, SourceErrorKind,
    history_after_run, history_window, merge_device, merged_pairs, next_run, retry_not_before,
    shift_days,
};

use crate::Sink;
use crate::state::{StateError, StateStore, SyncMeta};

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
                // Why the run cannot go on, as a request's failure would say it: no
                // consent (none given yet, or lost) or a retry later (with the server's
                // wait, capped).
                let stopped = match error.kind {
                    SourceErrorKind::ConsentLost => Some(StopReason::ConsentLost),
                    SourceErrorKind::Transient => Some(StopReason::RetryLater {
                        not_before: error.retry_after.map(|wait| retry_not_before(now, wait)),
                    }),
                    _ => None,
                };
                if let Some(reason) = stopped {
                    self.say(SyncEvent::Stopped { reason });
                    report.stopped = Some(reason);
                }
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

    /// A number drawn from the clock: the spread minute and the retry days when not set.
    fn drawn(&self, now: NaiveDateTime) -> u32 {
        self.clock.now().timestamp_subsec_nanos() ^ now.and_utc().timestamp() as u32
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
}
