//! Fetch planning and the calling policy, pure: which date ranges to ask for, when to run
//! next, how long to wait before a retry. Nothing here reads the clock: "now" is always a
//! parameter, and so is any randomness (as a number the caller draws).

use std::collections::BTreeSet;
use std::time::Duration as StdDuration;

use chrono::{Days, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use crate::Flow;

/// What can be fetched from Enedis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Measurement {
    /// The load curve of a flow (average powers, at most 7 days per call).
    LoadCurve(Flow),
    /// Daily energies of a flow (long spans allowed).
    DailyEnergy(Flow),
    /// Daily maximum power (consumption).
    DailyMaxPower,
}

impl Measurement {
    /// The most days one request may span: 7 for load curves, 365 for daily series.
    pub const fn max_days_per_request(self) -> i64 {
        match self {
            Measurement::LoadCurve(_) => 7,
            Measurement::DailyEnergy(_) | Measurement::DailyMaxPower => 365,
        }
    }

    /// How far back Enedis keeps it: about 24 months for load curves, 36 for daily series.
    pub const fn history_limit_days(self) -> i64 {
        match self {
            Measurement::LoadCurve(_) => 730,
            Measurement::DailyEnergy(_) | Measurement::DailyMaxPower => 1095,
        }
    }
}

/// One request to make: a measurement over the local days `[start, end)`.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FetchRequest {
    /// What to fetch.
    pub measurement: Measurement,
    /// The first day asked for.
    pub start: NaiveDate,
    /// The day after the last one asked for (Enedis' `end` is exclusive).
    pub end: NaiveDate,
}

impl FetchRequest {
    /// The days the request covers.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let end = self.end;
        self.start.iter_days().take_while(move |day| *day < end)
    }
}

/// What bounds a plan: build it with [`PlanLimits::new`] (fields may be added).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlanLimits {
    /// The local time of the run.
    pub now: NaiveDateTime,
    /// How many days back to cover (from today, excluded).
    pub days: i64,
    /// The meter's activation date, if known: nothing is asked before it.
    pub activation_date: Option<NaiveDate>,
}

impl PlanLimits {
    /// A run at local time `now` covering `days` days back, activation date unknown.
    pub fn new(now: NaiveDateTime, days: i64) -> PlanLimits {
        PlanLimits {
            now,
            days,
            activation_date: None,
        }
    }

    /// With the meter's activation date: nothing is asked before it.
    pub fn with_activation_date(mut self, date: Option<NaiveDate>) -> PlanLimits {
        self.activation_date = date;
        self
    }
}

/// The hour before which today is not asked for: Enedis reasons in UTC and can refuse
/// `end = today` just after local midnight.
pub const EARLIEST_HOUR_FOR_TODAY: u32 = 1;

/// The date ranges to request for `measurement` so that every day of the window is held:
/// the days not in `held`, in contiguous runs cut into chunks of at most
/// [`Measurement::max_days_per_request`], newest first. Never before the history limit or
/// the activation date; never an `end` after today, nor today before 01:00.
///
/// The number of requests is the least possible: each run of missing days is cut into as
/// few chunks as its length allows.
///
/// ```
/// use std::collections::BTreeSet;
/// use chrono::NaiveDate;
/// use linky_core::{plan_fetches, Flow, Measurement, PlanLimits};
/// let today = NaiveDate::from_ymd_opt(2024, 6, 20).unwrap();
/// let limits = PlanLimits::new(today.and_hms_opt(9, 0, 0).unwrap(), 20);
/// let plan = plan_fetches(Measurement::LoadCurve(Flow::Consumption), &BTreeSet::new(), &limits);
/// let spans: Vec<String> = plan.iter().map(|r| format!("{}..{}", r.start, r.end)).collect();
/// assert_eq!(spans, ["2024-06-13..2024-06-20", "2024-06-06..2024-06-13", "2024-05-31..2024-06-06"]);
/// ```
pub fn plan_fetches(
    measurement: Measurement,
    held: &BTreeSet<NaiveDate>,
    limits: &PlanLimits,
) -> Vec<FetchRequest> {
    let today = limits.now.date();
    // The first day that must not be asked for.
    let end = if limits.now.hour() < EARLIEST_HOUR_FOR_TODAY {
        shift_days(today, -1)
    } else {
        today
    };
    // `days` comes from a configuration: any value plans, never past the history limit.
    let days = limits.days.clamp(0, measurement.history_limit_days());
    let mut start = shift_days(today, -days);
    if let Some(activation) = limits.activation_date {
        start = start.max(activation);
    }
    let max_days = measurement.max_days_per_request();
    let mut requests = Vec::new();
    // Walk back from the newest day, collecting runs of missing days.
    let mut run_end: Option<NaiveDate> = None;
    let Some(mut day) = end.pred_opt() else {
        return requests;
    };
    loop {
        let missing = day >= start && !held.contains(&day);
        match (missing, run_end) {
            (true, None) => run_end = Some(shift_days(day, 1)),
            (false, Some(end_of_run)) => {
                push_chunks(
                    &mut requests,
                    measurement,
                    shift_days(day, 1),
                    end_of_run,
                    max_days,
                );
                run_end = None;
            }
            _ => {}
        }
        match day.pred_opt() {
            Some(before) if day >= start => day = before,
            _ => break,
        }
    }
    if let Some(end_of_run) = run_end {
        // The calendar's first day was missing too.
        push_chunks(&mut requests, measurement, day, end_of_run, max_days);
    }
    requests
}

/// Cuts the run `[start, end)` into chunks of at most `max_days`, newest first.
fn push_chunks(
    requests: &mut Vec<FetchRequest>,
    measurement: Measurement,
    start: NaiveDate,
    end: NaiveDate,
    max_days: i64,
) {
    let mut chunk_end = end;
    while chunk_end > start {
        let chunk_start = shift_days(chunk_end, -max_days).max(start);
        requests.push(FetchRequest {
            measurement,
            start: chunk_start,
            end: chunk_end,
        });
        chunk_end = chunk_start;
    }
}

/// When calls are allowed: Enedis' servers are unreachable at night, and the original
/// never called between 22:00 and 08:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallingHours {
    /// The first hour calls are allowed (08 by default).
    pub from_hour: u32,
    /// The hour calls stop (22 by default).
    pub until_hour: u32,
}

impl Default for CallingHours {
    fn default() -> CallingHours {
        CallingHours {
            from_hour: 8,
            until_hour: 22,
        }
    }
}

/// How the last run ended, for [`next_run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// Everything was fetched and written.
    Success,
    /// Something failed and should be retried.
    Failure,
}

impl CallingHours {
    /// Calls allowed from `from_hour` (included) to `until_hour` (excluded), 0 to 24.
    pub fn new(from_hour: u32, until_hour: u32) -> CallingHours {
        CallingHours {
            from_hour: from_hour.min(24),
            until_hour: until_hour.min(24),
        }
    }

    /// Whether a call may be made at local time `now`.
    pub fn allows(&self, now: NaiveDateTime) -> bool {
        (self.from_hour..self.until_hour).contains(&now.hour())
    }

    /// The first allowed time at or after `at`, plus `spread_minutes` when it had to move
    /// (so that users do not all call at 08:00 sharp).
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use linky_core::CallingHours;
    /// let evening = NaiveDate::from_ymd_opt(2024, 6, 20).unwrap().and_hms_opt(23, 10, 0).unwrap();
    /// let hours = CallingHours::default();
    /// assert_eq!(hours.first_allowed(evening, 17).to_string(), "2024-06-21 08:17:00");
    /// let noon = evening - chrono::Duration::hours(11);
    /// assert_eq!(hours.first_allowed(noon, 17), noon);
    /// ```
    pub fn first_allowed(&self, at: NaiveDateTime, spread_minutes: u32) -> NaiveDateTime {
        if self.allows(at) {
            return at;
        }
        let opening =
            NaiveTime::from_hms_opt(self.from_hour.min(23), 0, 0).unwrap_or(NaiveTime::MIN);
        let day = if at.hour() < self.from_hour {
            Some(at.date())
        } else {
            at.date().succ_opt()
        };
        // At the end of time there is no next opening: `at` stands (never a panic).
        day.and_then(|day| {
            day.and_time(opening)
                .checked_add_signed(Duration::minutes(i64::from(spread_minutes % 60)))
        })
        .unwrap_or(at)
    }
}

/// The longest wait a server's `Retry-After` is honoured for: one day. Enedis' quotas are
/// daily, so a longer wait is a wrong header; a daemon must not fall silent for years (or
/// panic on a date past the end of the calendar) because a server said 10^13 seconds.
pub const RETRY_AFTER_CEILING: StdDuration = StdDuration::from_secs(24 * 3600);

/// When a run that was told to wait `wait` may call again: `now` plus the wait, the wait
/// capped at [`RETRY_AFTER_CEILING`]. Any wait is accepted, never a panic.
///
/// ```
/// use std::time::Duration;
/// use linky_core::{retry_not_before, RETRY_AFTER_CEILING};
/// let now = chrono::NaiveDate::from_ymd_opt(2024, 6, 20).unwrap().and_hms_opt(9, 0, 0).unwrap();
/// assert_eq!(retry_not_before(now, Duration::from_secs(90)).to_string(), "2024-06-20 09:01:30");
/// let absurd = Duration::from_secs(10_000_000_000_000);
/// assert_eq!(retry_not_before(now, absurd), retry_not_before(now, RETRY_AFTER_CEILING));
/// assert_eq!(retry_not_before(now, absurd).to_string(), "2024-06-21 09:00:00");
/// ```
pub fn retry_not_before(now: NaiveDateTime, wait: StdDuration) -> NaiveDateTime {
    let wait = wait.min(RETRY_AFTER_CEILING);
    Duration::from_std(wait)
        .ok()
        .and_then(|wait| now.checked_add_signed(wait))
        .unwrap_or(NaiveDateTime::MAX)
}

/// When to run next (local time): after a success, tomorrow at the opening hour plus
/// `spread_minutes` (0 to 59, drawn by the caller); after a failure, in an hour, or at the
/// next opening if that hour is outside the calling hours.
///
/// ```
/// use chrono::NaiveDate;
/// use linky_core::{next_run, CallingHours, RunOutcome};
/// let now = NaiveDate::from_ymd_opt(2024, 6, 20).unwrap().and_hms_opt(21, 30, 0).unwrap();
/// let hours = CallingHours::default();
/// assert_eq!(next_run(now, RunOutcome::Success, hours, 17).to_string(), "2024-06-21 08:17:00");
/// assert_eq!(next_run(now, RunOutcome::Failure, hours, 17).to_string(), "2024-06-21 08:17:00");
/// let morning = now - chrono::Duration::hours(12);
/// assert_eq!(next_run(morning, RunOutcome::Failure, hours, 17).to_string(), "2024-06-20 10:30:00");
/// ```
pub fn next_run(
    now: NaiveDateTime,
    outcome: RunOutcome,
    hours: CallingHours,
    spread_minutes: u32,
) -> NaiveDateTime {
    match outcome {
        RunOutcome::Success => {
            let opening =
                NaiveTime::from_hms_opt(hours.from_hour.min(23), 0, 0).unwrap_or(NaiveTime::MIN);
            now.date()
                .succ_opt()
                .and_then(|day| {
                    day.and_time(opening)
                        .checked_add_signed(Duration::minutes(i64::from(spread_minutes % 60)))
                })
                .unwrap_or(NaiveDateTime::MAX)
        }
        RunOutcome::Failure => hours.first_allowed(
            now.checked_add_signed(Duration::hours(1))
                .unwrap_or(NaiveDateTime::MAX),
            spread_minutes,
        ),
    }
}

/// Exponential backoff with jitter for transient errors, honouring `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// The first delay.
    pub base: StdDuration,
    /// The longest delay.
    pub max: StdDuration,
    /// How many attempts in all (the first included) before giving up.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 5 s, doubling, at most 5 minutes, 5 attempts.
    fn default() -> RetryPolicy {
        RetryPolicy {
            base: StdDuration::from_secs(5),
            max: StdDuration::from_secs(300),
            max_attempts: 5,
        }
    }
}

impl RetryPolicy {
    /// Delays from `base`, doubling up to `max`, for `max_attempts` attempts in all (the
    /// first included).
    ///
    /// ```
    /// use std::time::Duration;
    /// let policy = linky_core::RetryPolicy::new(Duration::from_millis(100), Duration::from_secs(1), 3);
    /// assert_eq!(policy.max_attempts, 3);
    /// ```
    pub fn new(base: StdDuration, max: StdDuration, max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            base,
            max,
            max_attempts,
        }
    }

    /// The delay before attempt `attempt + 1` after `attempt` failed attempts (1 after the
    /// first failure), or `None` when it is time to give up. `jitter` (0 to 1, drawn by
    /// the caller) spreads the delay over `[d/2, d)`; a server's `Retry-After` is a floor.
    ///
    /// ```
    /// use std::time::Duration;
    /// use linky_core::RetryPolicy;
    /// let policy = RetryPolicy::default();
    /// assert_eq!(policy.delay(1, None, 0.0), Some(Duration::from_millis(2500)));
    /// assert_eq!(policy.delay(3, None, 0.999), Some(Duration::from_millis(19_990)));
    /// assert_eq!(policy.delay(1, Some(Duration::from_secs(60)), 0.5), Some(Duration::from_secs(60)));
    /// assert_eq!(policy.delay(5, None, 0.5), None);
    /// ```
    pub fn delay(
        &self,
        attempt: u32,
        retry_after: Option<StdDuration>,
        jitter: f64,
    ) -> Option<StdDuration> {
        if attempt == 0 || attempt >= self.max_attempts {
            return None;
        }
        let exponential = self
            .base
            .saturating_mul(1u32.checked_shl(attempt - 1).unwrap_or(u32::MAX))
            .min(self.max);
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let spread = exponential.mul_f64(0.5 + jitter / 2.0);
        Some(match retry_after {
            Some(floor) => spread.max(floor),
            None => spread,
        })
    }
}

/// Days fetched on an ordinary run: the original's "short history" (five weeks).
pub const SHORT_HISTORY_DAYS: i64 = 35;

/// What the history policy remembers between runs.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HistoryState {
    /// When the last run succeeded.
    pub last_success: Option<NaiveDateTime>,
    /// When the next full-history grab is due.
    pub next_full_grab: Option<NaiveDateTime>,
    /// The `days` setting of the last run.
    pub days_setting: Option<i64>,
}

/// How many days a run covers, and whether it is a full-history grab (the original's
/// policy): normally the last [`SHORT_HISTORY_DAYS`]; the whole `days` history when the
/// setting changed, when the grab is due (every `days / 2` days), or after being offline
/// longer than `days`.
///
/// ```
/// use linky_core::{history_window, HistoryState};
/// let now = chrono::NaiveDate::from_ymd_opt(2024, 6, 1).unwrap().and_hms_opt(9, 0, 0).unwrap();
/// assert_eq!(history_window(365, &HistoryState::default(), now), (365, true));
/// let recent = HistoryState { last_success: Some(now - chrono::Duration::days(1)), next_full_grab: Some(now + chrono::Duration::days(100)), days_setting: Some(365) };
/// assert_eq!(history_window(365, &recent, now), (35, false));
/// ```
pub fn history_window(days: i64, state: &HistoryState, now: NaiveDateTime) -> (i64, bool) {
    if days <= SHORT_HISTORY_DAYS {
        return (days, false);
    }
    let changed = state.days_setting != Some(days);
    let due = state.next_full_grab.is_none_or(|due| due <= now);
    let offline = state
        .last_success
        .is_none_or(|last| shift_days_time(last, days) <= now);
    if changed || due || offline {
        (days, true)
    } else {
        (SHORT_HISTORY_DAYS, false)
    }
}

/// The history state after a run: the next full grab `days / 2` days after a successful
/// one, 1 to 7 days (`retry_days`, drawn by the caller) after a failed one.
pub fn history_after_run(
    state: &HistoryState,
    days: i64,
    full_grab: bool,
    success: bool,
    now: NaiveDateTime,
    retry_days: i64,
) -> HistoryState {
    let mut next = *state;
    next.days_setting = Some(days);
    if success {
        next.last_success = Some(now);
        if full_grab {
            next.next_full_grab = Some(shift_days_time(now, (days / 2).max(1)));
        }
    } else if full_grab {
        next.next_full_grab = Some(shift_days_time(now, retry_days.clamp(1, 7)));
    }
    next
}

/// `date` moved by `days` days (back when negative), stopping at the calendar's first or
/// last day rather than overflowing: for counts that come from outside (a configuration,
/// a state file, a server), where a panic is never an answer.
///
/// ```
/// use chrono::NaiveDate;
/// use linky_core::shift_days;
/// let day = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
/// assert_eq!(shift_days(day, -1).to_string(), "2024-02-29");
/// assert_eq!(shift_days(day, i64::MAX), NaiveDate::MAX);
/// assert_eq!(shift_days(day, i64::MIN), NaiveDate::MIN);
/// ```
pub fn shift_days(date: NaiveDate, days: i64) -> NaiveDate {
    let moved = if days >= 0 {
        date.checked_add_days(Days::new(days.unsigned_abs()))
    } else {
        date.checked_sub_days(Days::new(days.unsigned_abs()))
    };
    moved.unwrap_or(if days >= 0 {
        NaiveDate::MAX
    } else {
        NaiveDate::MIN
    })
}

/// [`shift_days`] for a date and time: the time of day kept, saturating at the
/// calendar's ends.
pub fn shift_days_time(at: NaiveDateTime, days: i64) -> NaiveDateTime {
    let date = shift_days(at.date(), days);
    if date == at.date() && days != 0 {
        return if days > 0 {
            NaiveDateTime::MAX
        } else {
            NaiveDateTime::MIN
        };
    }
    date.and_time(at.time())
}
