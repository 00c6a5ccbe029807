//! Load curves in real time: readings stamped with local wall-clock times become
//! intervals on the time line, with a report of everything that did not fit.
//!
//! Enedis stamps each load-curve reading with the local (Europe/Paris) time at which its
//! interval ENDS, without an offset. Two days a year that is not enough: on the
//! spring-forward day the local hour 02:00-03:00 does not exist (46 half-hours), on the
//! fall-back day the local times 02:00-03:00 happen twice (50 half-hours) and nothing in a
//! reading tells the two apart. [`LoadCurveBuilder::build`] keeps the readings' order and
//! maps each to the earliest instant after the previous reading (preferring the instant
//! that continues the previous interval exactly), then checks it against its length.
//!
//! What is an error and what is an anomaly: see [`LoadCurveBuilder`].

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use crate::{Energy, Error, Power};

/// The largest average power a reading may have: 100 MW, far above any Linky contract
/// (36 kVA for households, 250 kVA for C4 sites). Larger values are garbage, and keeping
/// them out also keeps every sum of energies far from integer overflow.
pub const MAX_PLAUSIBLE_POWER: Power = Power::from_watts(100_000_000);

/// The time zone of every Linky meter's wall clock.
pub const PARIS: Tz = chrono_tz::Europe::Paris;

/// The length of a load-curve interval, as Enedis gives it (`PT30M`).
///
/// ```
/// use linky_core::IntervalLength;
/// let length: IntervalLength = "PT15M".parse().unwrap();
/// assert_eq!(length.minutes(), 15);
/// assert_eq!(length.to_string(), "PT15M");
/// assert!("PT20M".parse::<IntervalLength>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IntervalLength(u8);

impl IntervalLength {
    /// Five minutes.
    pub const PT5M: IntervalLength = IntervalLength(5);
    /// Ten minutes.
    pub const PT10M: IntervalLength = IntervalLength(10);
    /// A quarter of an hour.
    pub const PT15M: IntervalLength = IntervalLength(15);
    /// Half an hour, the usual length.
    pub const PT30M: IntervalLength = IntervalLength(30);
    /// An hour.
    pub const PT60M: IntervalLength = IntervalLength(60);

    /// The length of `minutes` minutes, if Enedis uses it (5, 10, 15, 30 or 60).
    pub const fn from_minutes(minutes: i64) -> Option<IntervalLength> {
        match minutes {
            5 | 10 | 15 | 30 | 60 => Some(IntervalLength(minutes as u8)),
            _ => None,
        }
    }

    /// The length in minutes.
    pub const fn minutes(self) -> u32 {
        self.0 as u32
    }

    /// Whether `seconds` is a whole number of minutes that is a multiple of the length: a
    /// division by a constant for each length (a division by a variable costs tens of
    /// cycles in the builder's hot loop).
    const fn divides_seconds(self, seconds: u32) -> bool {
        match self.0 {
            5 => seconds.is_multiple_of(300),
            10 => seconds.is_multiple_of(600),
            15 => seconds.is_multiple_of(900),
            30 => seconds.is_multiple_of(1800),
            _ => seconds.is_multiple_of(3600),
        }
    }
}

impl FromStr for IntervalLength {
    type Err = Error;

    /// Reads `PT<n>M` (also `PT1H`), case-insensitively.
    fn from_str(text: &str) -> Result<IntervalLength, Error> {
        parse_duration_minutes(text)
            .and_then(IntervalLength::from_minutes)
            .ok_or_else(|| Error::InvalidIntervalLength {
                text: text.chars().take(40).collect(),
            })
    }
}

/// Reads an ISO 8601 duration of the form `PT<n>M` or `PT<n>H` (sign allowed) as minutes,
/// whatever the value: the caller decides which lengths it accepts.
///
/// ```
/// assert_eq!(linky_core::parse_duration_minutes("PT30M"), Some(30));
/// assert_eq!(linky_core::parse_duration_minutes("pt1h"), Some(60));
/// assert_eq!(linky_core::parse_duration_minutes("PT-5M"), Some(-5));
/// assert_eq!(linky_core::parse_duration_minutes("30"), None);
/// ```
pub fn parse_duration_minutes(text: &str) -> Option<i64> {
    let text = text.trim();
    let prefix = text.get(..2)?;
    if !prefix.eq_ignore_ascii_case("PT") {
        return None;
    }
    let body = &text[2..];
    let (number, factor) = match body.as_bytes().last()? {
        b'M' | b'm' => (&body[..body.len() - 1], 1),
        b'H' | b'h' => (&body[..body.len() - 1], 60),
        _ => return None,
    };
    if number.is_empty() || number.len() > 9 {
        return None;
    }
    number.parse::<i64>().ok().map(|value| value * factor)
}

impl fmt::Display for IntervalLength {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PT{}M", self.0)
    }
}

/// One load-curve reading as Enedis sends it: the local END of its interval (no offset),
/// the interval's length in minutes (unchecked: the builder reports bad ones) and the
/// average power over the interval.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// Local wall-clock time at which the interval ends.
    pub end: NaiveDateTime,
    /// The interval's length in minutes, as given (may be wrong: zero, negative, odd).
    pub length_minutes: i64,
    /// The average power over the interval.
    pub power: Power,
}

impl Reading {
    /// A reading of `power` over the `length` ending at local time `end`.
    pub fn new(end: NaiveDateTime, length: IntervalLength, power: Power) -> Reading {
        Reading {
            end,
            length_minutes: i64::from(length.minutes()),
            power,
        }
    }
}

/// One interval of a built curve: a place on the time line and an average power.
///
/// Sixteen bytes: the power (at most [`MAX_PLAUSIBLE_POWER`], 37 bits of milliwatts) and
/// the length share a word; a built curve is read and written once per interval, and its
/// size is what the builder and the splitter move through memory.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    /// End, in minutes since the Unix epoch (UTC).
    end_minute: i64,
    /// The power in milliwatts, shifted left by 8, and the length in minutes.
    power_and_length: u64,
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("end_minute", &self.end_minute)
            .field("length", &self.length())
            .field("power", &self.power())
            .finish()
    }
}

impl Interval {
    /// The instant the interval ends.
    pub fn end(&self) -> DateTime<Utc> {
        minute_to_utc(self.end_minute)
    }

    /// The instant the interval starts.
    pub fn start(&self) -> DateTime<Utc> {
        minute_to_utc(self.start_minute())
    }

    /// The end in whole minutes since the Unix epoch (UTC), for fast arithmetic.
    pub const fn end_minute(&self) -> i64 {
        self.end_minute
    }

    /// The start in whole minutes since the Unix epoch (UTC).
    pub const fn start_minute(&self) -> i64 {
        self.end_minute - (self.power_and_length & 0xff) as i64
    }

    /// The interval's length.
    pub const fn length(&self) -> IntervalLength {
        IntervalLength((self.power_and_length & 0xff) as u8)
    }

    /// The average power over the interval.
    pub const fn power(&self) -> Power {
        Power::from_milliwatts((self.power_and_length >> 8) as i64)
    }

    /// The energy of the interval, exact.
    pub const fn energy(&self) -> Energy {
        self.power()
            .energy_over_minutes((self.power_and_length & 0xff) as u32)
    }

    /// An interval ending at `end_minute`; `power` is a built curve's (from 0 to
    /// [`MAX_PLAUSIBLE_POWER`], which the builder checks).
    const fn new(end_minute: i64, length: IntervalLength, power: Power) -> Interval {
        Interval {
            end_minute,
            power_and_length: ((power.milliwatts() as u64) << 8) | length.0 as u64,
        }
    }
}

fn minute_to_utc(minute: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(minute.saturating_mul(60), 0).unwrap_or_default()
}

/// A time line of non-overlapping intervals in one time zone, sorted by time.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadCurve {
    time_zone: Tz,
    intervals: Vec<Interval>,
}

impl LoadCurve {
    /// A builder for a curve whose readings are stamped in `time_zone` (normally [`PARIS`]).
    pub fn builder(time_zone: Tz) -> LoadCurveBuilder {
        LoadCurveBuilder {
            time_zone,
            period: None,
        }
    }

    /// The intervals, sorted by time, none overlapping another.
    pub fn intervals(&self) -> &[Interval] {
        &self.intervals
    }

    /// The time zone of the curve's wall clock.
    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }

    /// Whether the curve holds no interval.
    pub fn is_empty(&self) -> bool {
        self.intervals.is_empty()
    }

    /// The energy of all intervals, exact.
    pub fn total_energy(&self) -> Energy {
        self.intervals.iter().map(Interval::energy).sum()
    }
}

/// Settings for building a [`LoadCurve`]: the time zone and, optionally, the period the
/// readings were asked for, so that missing days at its edges are reported as holes.
///
/// Enedis stamps each load-curve reading with the local (Europe/Paris) time at which its
/// interval ENDS, without an offset. Two days a year that is not enough: on the
/// spring-forward day the local hour 02:00-03:00 does not exist, on the fall-back day the
/// local times 02:00-03:00 happen twice and nothing in a reading tells the two apart.
/// [`LoadCurveBuilder::build`] keeps the readings' order within each answer and maps each
/// reading to the earliest instant after the previous one (preferring the instant that
/// continues it exactly), then checks it against its length.
///
/// # What is an error, what is an anomaly
///
/// Nothing here fails: building a curve always succeeds, and every reading either becomes
/// an interval or is left out **and reported** in the [`QualityReport`]; holes are reported
/// too. Energy is never dropped silently, never doubled:
///
/// | case | what happens |
/// |---|---|
/// | a hole (missing intervals, inside the curve or at the edges of the expected period) | reported as [`AnomalyKind::Hole`] |
/// | a reading repeated with the same value | second copy left out, [`AnomalyKind::Duplicate`] |
/// | the same end with another value or length | second one left out, [`AnomalyKind::ConflictingDuplicate`] |
/// | a reading overlapping an earlier one | left out, [`AnomalyKind::Overlap`] |
/// | a reading out of order (answers newest first, readings reversed) | put where it belongs if that place is free (no anomaly: nothing is lost or changed), else left out, [`AnomalyKind::OutOfOrder`] |
/// | a length other than PT5M, PT10M, PT15M, PT30M, PT60M (zero and negative included) | left out, [`AnomalyKind::UnsupportedLength`] |
/// | a negative power, or one above 100 MW | left out, [`AnomalyKind::NegativePower`], [`AnomalyKind::ImplausiblePower`] |
/// | a local time that does not exist (spring-forward gap) or is not on a whole minute | left out, [`AnomalyKind::NonexistentLocalTime`] / [`AnomalyKind::NotWholeMinute`] |
/// | an end not on a multiple of its length (e.g. PT30M ending at 10:15) | kept, [`AnomalyKind::Misaligned`] |
/// | a reading outside the expected period | kept, [`AnomalyKind::OutsidePeriod`] |
///
/// Whole-payload problems (malformed JSON, another usage point, a wrong unit) are errors
/// of the wire parser in linky-enedis, before a curve is built.
#[derive(Debug, Clone)]
pub struct LoadCurveBuilder {
    time_zone: Tz,
    period: Option<(NaiveDate, NaiveDate)>,
}

impl LoadCurveBuilder {
    /// The readings were asked for the local days `[start, end)`: report holes from
    /// `start 00:00` to `end 00:00`, and readings outside that span.
    pub fn expected_period(mut self, start: NaiveDate, end: NaiveDate) -> LoadCurveBuilder {
        self.period = Some((start, end));
        self
    }

    /// Builds the curve from readings in the order they were received. Never fails: see
    /// the module documentation for what is left out and reported.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use linky_core::{IntervalLength, LoadCurve, Power, Reading, PARIS};
    ///
    /// // The fall-back day of 2024: local 02:00 and 02:30 come twice.
    /// let day = NaiveDate::from_ymd_opt(2024, 10, 27).unwrap();
    /// let stamps = ["01:30", "02:00", "02:30", "02:00", "02:30", "03:00"];
    /// let readings: Vec<Reading> = stamps
    ///     .iter()
    ///     .map(|hhmm| {
    ///         let time = chrono::NaiveTime::parse_from_str(hhmm, "%H:%M").unwrap();
    ///         Reading::new(day.and_time(time), IntervalLength::PT30M, Power::from_watts(1000))
    ///     })
    ///     .collect();
    /// let (curve, report) = LoadCurve::builder(PARIS).build(&readings);
    /// assert_eq!(curve.intervals().len(), 6);
    /// assert!(report.is_clean());
    /// assert_eq!(curve.total_energy().as_wh_f64(), 3000.0);
    /// ```
    pub fn build(&self, readings: &[Reading]) -> (LoadCurve, QualityReport) {
        // Readings as Enedis sends them (whole runs in any order of answers, nothing to
        // report but holes) take a fast path; anything else, the general one.
        match self.fast_path(readings) {
            Some((intervals, runs)) => {
                let mut anomalies = Vec::new();
                self.report_run_holes(&intervals, &runs, &mut anomalies);
                anomalies.sort_by_key(|anomaly| anomaly.sort_key());
                let curve = LoadCurve {
                    time_zone: self.time_zone,
                    intervals,
                };
                (curve, QualityReport { anomalies })
            }
            None => self.build_without_fast_path(readings),
        }
    }

    /// The fast path of [`LoadCurveBuilder::build`]: the intervals, sorted, and their runs
    /// (start, end, first and last-but-one positions), when every reading passes the
    /// checks of one reading alone (length, power, whole and aligned minutes, a time that
    /// exists), continues its run or starts a new one at a single instant, and the runs do
    /// not overlap (in any order). The time zone is asked once per block of days (once per
    /// reading only on a day whose offset changes). `None` for anything else: the general
    /// path then places and reports it; both give the same curve and report whenever this
    /// one answers (a property test compares them).
    fn fast_path(&self, readings: &[Reading]) -> Option<(Vec<Interval>, Vec<Run>)> {
        let mut intervals: Vec<Interval> = Vec::with_capacity(readings.len());
        // The runs in the order of arrival; the current one in locals.
        let mut runs: Vec<Run> = Vec::new();
        let (mut run_start, mut run_end, mut run_from) = (i64::MIN, i64::MIN, 0usize);
        let mut in_order = true;
        // The local day of the last reading: its date, its midnight (Unix minute), and
        // whether its offset holds all day.
        let mut day = NaiveDate::MIN;
        let (mut midnight, mut uniform) = (0i64, false);
        let mut midnights = Midnights::new(self.time_zone);
        for (position, reading) in readings.iter().enumerate() {
            let length = IntervalLength::from_minutes(reading.length_minutes)?;
            let power = reading.power;
            // From 0 to the plausible most, in one unsigned comparison.
            if power.milliwatts() as u64 > MAX_PLAUSIBLE_POWER.milliwatts() as u64 {
                return None;
            }
            let time = reading.end.time();
            let seconds = time.num_seconds_from_midnight();
            // A whole minute that is a multiple of the length: one division by a constant.
            if !length.divides_seconds(seconds) || time.nanosecond() != 0 {
                return None;
            }
            let local_minute = seconds / 60;
            let date = reading.end.date();
            if date != day {
                (midnight, uniform) = midnights.day(date)?;
                day = date;
            }
            let length_minutes = i64::from(length.minutes());
            let end_minute = if uniform {
                midnight + i64::from(local_minute)
            } else {
                let as_minute = |instant: DateTime<Tz>| instant.timestamp().div_euclid(60);
                match self.time_zone.from_local_datetime(&reading.end) {
                    LocalResult::Single(instant) => as_minute(instant),
                    LocalResult::Ambiguous(first, second) => {
                        // The fall-back hour: the instant that continues the run.
                        let (first, second) = (as_minute(first), as_minute(second));
                        if first - length_minutes == run_end {
                            first
                        } else if second - length_minutes == run_end {
                            second
                        } else {
                            return None;
                        }
                    }
                    LocalResult::None => return None,
                }
            };
            let start = end_minute - length_minutes;
            if start != run_end {
                if run_end != i64::MIN {
                    runs.push(Run {
                        start: run_start,
                        end: run_end,
                        from: run_from,
                        to: position,
                    });
                }
                in_order &= start >= run_end;
                (run_start, run_from) = (start, position);
            }
            run_end = end_minute;
            intervals.push(Interval::new(end_minute, length, power));
        }
        if run_end != i64::MIN {
            runs.push(Run {
                start: run_start,
                end: run_end,
                from: run_from,
                to: readings.len(),
            });
        }
        if in_order {
            return Some((intervals, runs));
        }
        // Answers in another order (a backfill's, newest first): the runs sorted, each
        // copied once (sixteen bytes an interval), when they do not overlap.
        runs.sort_by_key(|run| run.start);
        if !runs.windows(2).all(|pair| pair[0].end <= pair[1].start) {
            return None;
        }
        let mut sorted = Vec::with_capacity(intervals.len());
        for run in &mut runs {
            let from = sorted.len();
            sorted.extend_from_slice(&intervals[run.from..run.to]);
            (run.from, run.to) = (from, sorted.len());
        }
        Some((sorted, runs))
    }

    /// [`LoadCurveBuilder::report_holes_and_edges`] for the fast path's sorted runs: a hole
    /// can only open at a run's start, so a run inside the expected period costs one
    /// comparison; a run that crosses its edges is gone through interval by interval.
    fn report_run_holes(&self, intervals: &[Interval], runs: &[Run], anomalies: &mut Vec<Anomaly>) {
        let period = self.period_minutes();
        let mut expected_from = period.map(|(start, _)| start);
        for run in runs {
            let inside = period.is_none_or(|(start, end)| start <= run.start && run.end <= end);
            if inside {
                if let Some(from) = expected_from
                    && run.start > from
                {
                    anomalies.push(self.hole(from, run.start));
                }
                expected_from = Some(expected_from.map_or(run.end, |from| from.max(run.end)));
                continue;
            }
            for interval in &intervals[run.from..run.to] {
                self.check_interval(interval, period, &mut expected_from, anomalies);
            }
        }
        self.close_period(period, expected_from, anomalies);
    }

    /// [`LoadCurveBuilder::build`] without its fast path: what it did before issue 21, for
    /// the benchmarks' baseline and the tests that compare both paths.
    #[doc(hidden)]
    pub fn build_without_fast_path(&self, readings: &[Reading]) -> (LoadCurve, QualityReport) {
        let mut anomalies = Vec::new();
        let mut checked: Vec<Checked> = Vec::with_capacity(readings.len());
        for (index, reading) in readings.iter().enumerate() {
            if let Some((length, candidates)) = self.check_reading(index, reading, &mut anomalies) {
                checked.push(Checked {
                    index,
                    length,
                    candidates,
                    late: false,
                });
            }
        }
        let order = placing_order(&mut checked);

        let mut intervals: Vec<Interval> = Vec::with_capacity(checked.len());
        let mut deferred = Vec::new();
        for position in order {
            let entry = &checked[position];
            let (index, length, candidates) = (entry.index, entry.length, entry.candidates);
            let reading = &readings[index];
            let previous = intervals.last().copied();
            let previous_end = previous.map_or(i64::MIN, |interval| interval.end_minute);
            let Some(end_minute) = choose_instant(&candidates, length, previous_end) else {
                match previous {
                    Some(previous) if candidates.contains(&Some(previous.end_minute)) => {
                        anomalies.push(duplicate_anomaly(index, reading, &previous, length));
                    }
                    _ => deferred.push((index, length, candidates)),
                }
                continue;
            };
            let interval = Interval::new(end_minute, length, reading.power);
            if interval.start_minute() < previous_end {
                let kind = if entry.late {
                    AnomalyKind::OutOfOrder { placed: false }
                } else {
                    AnomalyKind::Overlap {
                        minutes: previous_end - interval.start_minute(),
                    }
                };
                anomalies.push(Anomaly::at_reading(index, reading, kind));
                continue;
            }
            // A reading that came late but finds its place is no anomaly: nothing is lost
            // or changed, and answers may come in any order.
            intervals.push(interval);
        }

        if !deferred.is_empty() {
            let mut late = OutOfOrder {
                intervals: &intervals,
                placed: BTreeMap::new(),
                last: None,
            };
            for (index, length, candidates) in deferred {
                late.place(&mut anomalies, index, &readings[index], length, candidates);
            }
            let placed = late.placed;
            intervals = merge_sorted(intervals, placed.into_values());
        }

        self.report_holes_and_edges(&intervals, &mut anomalies);
        anomalies.sort_by_key(|anomaly| anomaly.sort_key());
        let curve = LoadCurve {
            time_zone: self.time_zone,
            intervals,
        };
        (curve, QualityReport { anomalies })
    }

    /// Checks what can be checked of one reading alone; returns its length and the one or
    /// two instants (Unix minutes) its local end can mean, or reports why it is left out.
    fn check_reading(
        &self,
        index: usize,
        reading: &Reading,
        anomalies: &mut Vec<Anomaly>,
    ) -> Option<(IntervalLength, [Option<i64>; 2])> {
        let Some(length) = IntervalLength::from_minutes(reading.length_minutes) else {
            anomalies.push(Anomaly::at_reading(
                index,
                reading,
                AnomalyKind::UnsupportedLength {
                    minutes: reading.length_minutes,
                },
            ));
            return None;
        };
        if reading.power.milliwatts() < 0 {
            anomalies.push(Anomaly::at_reading(
                index,
                reading,
                AnomalyKind::NegativePower {
                    power: reading.power,
                },
            ));
            return None;
        }
        if reading.power > MAX_PLAUSIBLE_POWER {
            anomalies.push(Anomaly::at_reading(
                index,
                reading,
                AnomalyKind::ImplausiblePower {
                    power: reading.power,
                },
            ));
            return None;
        }
        if reading.end.second() != 0 || reading.end.nanosecond() != 0 {
            anomalies.push(Anomaly::at_reading(
                index,
                reading,
                AnomalyKind::NotWholeMinute,
            ));
            return None;
        }
        let as_minute = |instant: DateTime<Tz>| instant.timestamp().div_euclid(60);
        let candidates = match self.time_zone.from_local_datetime(&reading.end) {
            LocalResult::Single(instant) => [Some(as_minute(instant)), None],
            LocalResult::Ambiguous(first, second) => {
                [Some(as_minute(first)), Some(as_minute(second))]
            }
            LocalResult::None => {
                anomalies.push(Anomaly::at_reading(
                    index,
                    reading,
                    AnomalyKind::NonexistentLocalTime,
                ));
                return None;
            }
        };
        let local_minute = i64::from(reading.end.hour() * 60 + reading.end.minute());
        if local_minute % i64::from(length.minutes()) != 0 {
            anomalies.push(Anomaly::at_reading(index, reading, AnomalyKind::Misaligned));
        }
        Some((length, candidates))
    }

    fn report_holes_and_edges(&self, intervals: &[Interval], anomalies: &mut Vec<Anomaly>) {
        let period = self.period_minutes();
        let mut expected_from = period.map(|(start, _)| start);
        for interval in intervals {
            self.check_interval(interval, period, &mut expected_from, anomalies);
        }
        self.close_period(period, expected_from, anomalies);
    }

    /// The expected period's bounds in local minutes, when it has one.
    fn period_minutes(&self) -> Option<(i64, i64)> {
        self.period.and_then(|(start, end)| {
            Some((
                local_midnight_minute(self.time_zone, start)?,
                local_midnight_minute(self.time_zone, end)?,
            ))
        })
    }

    /// One interval in time order: a hole before it, an edge of the period it crosses;
    /// `expected_from` moves to its end.
    fn check_interval(
        &self,
        interval: &Interval,
        period: Option<(i64, i64)>,
        expected_from: &mut Option<i64>,
        anomalies: &mut Vec<Anomaly>,
    ) {
        if let Some(from) = *expected_from
            && interval.start_minute() > from
        {
            anomalies.push(self.hole(from, interval.start_minute()));
        }
        if let Some((start, end)) = period
            && (interval.start_minute() < start || interval.end_minute > end)
        {
            anomalies.push(Anomaly {
                reading: None,
                local_end: Some(self.local(interval.end_minute).naive_local()),
                kind: AnomalyKind::OutsidePeriod,
            });
        }
        *expected_from =
            Some(expected_from.map_or(interval.end_minute, |from| from.max(interval.end_minute)));
    }

    /// The hole at the period's end, after the last interval.
    fn close_period(
        &self,
        period: Option<(i64, i64)>,
        expected_from: Option<i64>,
        anomalies: &mut Vec<Anomaly>,
    ) {
        if let (Some((_, end)), Some(from)) = (period, expected_from)
            && from < end
        {
            anomalies.push(self.hole(from, end));
        }
    }

    fn hole(&self, from_minute: i64, to_minute: i64) -> Anomaly {
        Anomaly {
            reading: None,
            local_end: Some(self.local(to_minute).naive_local()),
            kind: AnomalyKind::Hole {
                start: self.local(from_minute).fixed_offset(),
                end: self.local(to_minute).fixed_offset(),
                minutes: to_minute - from_minute,
            },
        }
    }

    fn local(&self, minute: i64) -> DateTime<Tz> {
        minute_to_utc(minute).with_timezone(&self.time_zone)
    }
}

/// One curve from several answers, added one by one as they arrive (a backfill's chunks,
/// newest first or in any order): no need to concatenate them first. Built with
/// [`LoadCurveBuilder::chunks`]; the readings are placed as [`LoadCurveBuilder::build`]
/// places them (chunks that do not overlap make one time line in any order, with no
/// anomaly), and an anomaly's reading number counts across the chunks in the order they
/// were added.
///
/// ```
/// use chrono::NaiveDate;
/// use linky_core::{IntervalLength, LoadCurve, Power, Reading, PARIS};
///
/// let day = |d: u32| NaiveDate::from_ymd_opt(2024, 6, d).unwrap();
/// let half_hours = |d: u32| -> Vec<Reading> {
///     (1..=48)
///         .map(|n| {
///             let end = day(d).and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::minutes(30 * n);
///             Reading::new(end, IntervalLength::PT30M, Power::from_watts(500))
///         })
///         .collect()
/// };
/// let mut chunks = LoadCurve::builder(PARIS).expected_period(day(1), day(4)).chunks();
/// for answer in [half_hours(3), half_hours(2), half_hours(1)] {
///     chunks.add(&answer); // newest first, as a backfill asks
/// }
/// let (curve, report) = chunks.build();
/// assert!(report.is_clean(), "{report}");
/// assert_eq!(curve.intervals().len(), 3 * 48);
/// assert_eq!(curve.total_energy().as_wh_f64(), 36_000.0);
/// ```
#[derive(Debug, Clone)]
pub struct CurveChunks {
    builder: LoadCurveBuilder,
    readings: Vec<Reading>,
    chunks: usize,
    found_before: QualityReport,
}

impl LoadCurveBuilder {
    /// A builder that takes the readings of several answers one by one: see
    /// [`CurveChunks`].
    pub fn chunks(self) -> CurveChunks {
        CurveChunks {
            builder: self,
            readings: Vec::new(),
            chunks: 0,
            found_before: QualityReport::default(),
        }
    }
}

impl CurveChunks {
    /// Adds one answer's readings, in the order they came in it.
    pub fn add(&mut self, readings: &[Reading]) -> &mut CurveChunks {
        self.readings.extend_from_slice(readings);
        self.chunks += 1;
        self
    }

    /// Adds anomalies found before the readings were placed (an answer's values that
    /// could not be read): they are part of the built curve's report.
    pub fn add_report(&mut self, report: QualityReport) -> &mut CurveChunks {
        self.found_before.merge(report);
        self
    }

    /// How many answers were added.
    pub fn len(&self) -> usize {
        self.chunks
    }

    /// Whether no answer was added.
    pub fn is_empty(&self) -> bool {
        self.chunks == 0
    }

    /// The curve of every answer added, and one report (see [`LoadCurveBuilder::build`]).
    pub fn build(&self) -> (LoadCurve, QualityReport) {
        let (curve, mut report) = self.builder.build(&self.readings);
        report.merge(self.found_before.clone());
        (curve, report)
    }
}

/// A stretch of contiguous intervals of the fast path: its start and end (Unix minutes)
/// and its positions `[from, to)` among the intervals.
#[derive(Debug, Clone, Copy)]
struct Run {
    start: i64,
    end: i64,
    from: usize,
    to: usize,
}

/// Local midnights on the time line, for the builder's fast path: the time zone is asked
/// about a block of eight days at once, and when the block is eight times 1440 minutes
/// long its days all keep one offset (no time zone changes its offset twice within eight
/// days); a day whose offset changes is asked about alone.
struct Midnights {
    time_zone: Tz,
    /// The first day of the block (days from the common era), its midnight, how many
    /// days the block holds, and whether they keep one offset.
    block: Option<(i32, i64, i32, bool)>,
}

impl Midnights {
    const BLOCK_DAYS: i32 = 8;

    fn new(time_zone: Tz) -> Midnights {
        Midnights {
            time_zone,
            block: None,
        }
    }

    /// `date`'s midnight (Unix minute), and whether the day keeps one offset all along.
    fn day(&mut self, date: NaiveDate) -> Option<(i64, bool)> {
        use chrono::Datelike;
        let day = date.num_days_from_ce();
        if let Some((first, midnight, days, uniform)) = self.block
            && (first..first + days).contains(&day)
        {
            return Some((midnight + i64::from(day - first) * 1440, uniform));
        }
        let midnight = local_midnight_minute(self.time_zone, date)?;
        let later = date.checked_add_days(chrono::Days::new(Self::BLOCK_DAYS as u64))?;
        let block = if local_midnight_minute(self.time_zone, later)? - midnight
            == i64::from(Self::BLOCK_DAYS) * 1440
        {
            (day, midnight, Self::BLOCK_DAYS, true)
        } else {
            let next = local_midnight_minute(self.time_zone, date.succ_opt()?)?;
            (day, midnight, 1, next - midnight == 1440)
        };
        self.block = Some(block);
        Some((midnight, block.3))
    }
}

/// The Unix minute of local midnight starting `date` (midnight always exists in France).
pub(crate) fn local_midnight_minute(time_zone: Tz, date: NaiveDate) -> Option<i64> {
    time_zone
        .from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
        .earliest()
        .map(|instant| instant.timestamp().div_euclid(60))
}

fn duplicate_anomaly(
    index: usize,
    reading: &Reading,
    existing: &Interval,
    length: IntervalLength,
) -> Anomaly {
    let kind = if existing.power() == reading.power && existing.length() == length {
        AnomalyKind::Duplicate
    } else {
        AnomalyKind::ConflictingDuplicate {
            kept: existing.power(),
            dropped: reading.power,
        }
    };
    Anomaly::at_reading(index, reading, kind)
}

/// A reading that passed the checks of one reading alone.
struct Checked {
    index: usize,
    length: IntervalLength,
    /// The one or two instants (Unix minutes) its local end can mean.
    candidates: [Option<i64>; 2],
    /// Whether it arrived after a reading that ends later: reported as out of order.
    late: bool,
}

/// The instant a reading ends at, after an interval ending at `previous_end`: the one
/// that continues it exactly, else the earliest one after it; `None` when both are not
/// after it.
fn choose_instant(
    candidates: &[Option<i64>; 2],
    length: IntervalLength,
    previous_end: i64,
) -> Option<i64> {
    let after_previous = candidates
        .iter()
        .flatten()
        .copied()
        .filter(|&end| end > previous_end);
    after_previous
        .clone()
        .find(|&end| end - i64::from(length.minutes()) == previous_end)
        .or_else(|| after_previous.min())
}

/// The order in which to place the checked readings. Readings arrive in runs: stretches
/// contiguous in time, such as one answer of Enedis. When the runs do not overlap, they
/// are placed sorted by when they start (a stable sort), each in its order of arrival,
/// which is what tells the fall-back day's two 02:xx hours apart: answers that arrive
/// newest first, as a backfill asks for them, cost one sort of the runs instead of one
/// vector insert per reading. When runs overlap (duplicates, conflicting answers), the
/// order of arrival is kept, so that the first reading of an interval wins.
///
/// Marks the readings that arrived after one ending later (reported as out of order).
fn placing_order(checked: &mut [Checked]) -> Vec<usize> {
    // (start, end, positions) of each run, in the order of arrival.
    let mut runs: Vec<(i64, i64, std::ops::Range<usize>)> = Vec::new();
    let mut latest_end = i64::MIN;
    for (position, entry) in checked.iter_mut().enumerate() {
        let minutes = i64::from(entry.length.minutes());
        let continues = runs.last().and_then(|&(_, run_end, _)| {
            choose_instant(&entry.candidates, entry.length, run_end)
                .filter(|&end| end - minutes == run_end)
        });
        let end = match (continues, runs.last_mut()) {
            (Some(end), Some(run)) => {
                run.1 = end;
                run.2.end = position + 1;
                end
            }
            _ => {
                let end =
                    choose_instant(&entry.candidates, entry.length, i64::MIN).unwrap_or(i64::MIN);
                runs.push((end.saturating_sub(minutes), end, position..position + 1));
                end
            }
        };
        entry.late = end <= latest_end;
        latest_end = latest_end.max(end);
    }
    let mut sorted = runs.clone();
    sorted.sort_by_key(|&(start, _, _)| start);
    let disjoint = sorted.windows(2).all(|pair| pair[0].1 <= pair[1].0);
    if disjoint {
        // Runs that do not overlap make one time line in any order of arrival: answers
        // newest first (as a backfill asks for them) are not out of order.
        for entry in checked.iter_mut() {
            entry.late = false;
        }
    }
    let order = if disjoint { sorted } else { runs };
    order
        .into_iter()
        .flat_map(|(_, _, positions)| positions)
        .collect()
}

/// Readings that came out of order, put where they belong when that place is free: in
/// `placed`, beside the sorted main intervals (merged once at the end, not inserted one
/// by one).
struct OutOfOrder<'a> {
    intervals: &'a [Interval],
    placed: BTreeMap<i64, Interval>,
    /// The last one placed: a reading that continues it exactly goes there first, as in
    /// the main pass (the fall-back day's second 02:xx hour after its first).
    last: Option<Interval>,
}

impl OutOfOrder<'_> {
    /// The interval ending at `end_minute`, among both sets.
    fn at(&self, end_minute: i64) -> Option<Interval> {
        let position = self
            .intervals
            .partition_point(|other| other.end_minute < end_minute);
        self.intervals
            .get(position)
            .filter(|i| i.end_minute == end_minute)
            .or_else(|| self.placed.get(&end_minute))
            .copied()
    }

    /// Whether `interval` overlaps nothing of either set.
    fn fits(&self, interval: &Interval) -> bool {
        let end_minute = interval.end_minute;
        let position = self
            .intervals
            .partition_point(|other| other.end_minute < end_minute);
        let next = [
            self.intervals.get(position).copied(),
            self.placed.range(end_minute..).next().map(|(_, i)| *i),
        ]
        .into_iter()
        .flatten()
        .min_by_key(|i| i.end_minute);
        let before = [
            position.checked_sub(1).map(|p| self.intervals[p]),
            self.placed.range(..end_minute).next_back().map(|(_, i)| *i),
        ]
        .into_iter()
        .flatten()
        .max_by_key(|i| i.end_minute);
        next.is_none_or(|next| next.start_minute() >= end_minute)
            && before.is_none_or(|before| before.end_minute <= interval.start_minute())
    }

    fn place(
        &mut self,
        anomalies: &mut Vec<Anomaly>,
        index: usize,
        reading: &Reading,
        length: IntervalLength,
        candidates: [Option<i64>; 2],
    ) {
        let interval = |end_minute| Interval::new(end_minute, length, reading.power);
        let continuing = self.last.and_then(|last| {
            candidates
                .into_iter()
                .flatten()
                .find(|&end| end - i64::from(length.minutes()) == last.end_minute)
        });
        let chosen = match continuing {
            Some(end) if self.at(end).is_none() && self.fits(&interval(end)) => Some(end),
            _ => {
                for end_minute in candidates.into_iter().flatten() {
                    if let Some(existing) = self.at(end_minute) {
                        anomalies.push(duplicate_anomaly(index, reading, &existing, length));
                        return;
                    }
                }
                candidates
                    .into_iter()
                    .flatten()
                    .find(|&end| self.fits(&interval(end)))
            }
        };
        match chosen {
            // Put back in its place: nothing to report.
            Some(end) => {
                self.placed.insert(end, interval(end));
                self.last = Some(interval(end));
            }
            None => anomalies.push(Anomaly::at_reading(
                index,
                reading,
                AnomalyKind::OutOfOrder { placed: false },
            )),
        }
    }
}

/// Two sorted, disjoint sets of intervals as one sorted vector.
fn merge_sorted(intervals: Vec<Interval>, placed: impl Iterator<Item = Interval>) -> Vec<Interval> {
    let mut merged = Vec::with_capacity(intervals.len());
    let mut placed = placed.peekable();
    for interval in intervals {
        while let Some(next) = placed.next_if(|p| p.end_minute < interval.end_minute) {
            merged.push(next);
        }
        merged.push(interval);
    }
    merged.extend(placed);
    merged
}

/// Everything that did not fit while building a curve, in time order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QualityReport {
    anomalies: Vec<Anomaly>,
}

impl QualityReport {
    /// Every anomaly, in time order.
    pub fn anomalies(&self) -> &[Anomaly] {
        &self.anomalies
    }

    /// Whether nothing at all was found wrong.
    pub fn is_clean(&self) -> bool {
        self.anomalies.is_empty()
    }

    /// The holes, in time order.
    pub fn holes(&self) -> impl Iterator<Item = &Anomaly> {
        self.anomalies
            .iter()
            .filter(|anomaly| matches!(anomaly.kind, AnomalyKind::Hole { .. }))
    }

    /// The number of minutes missing in holes.
    pub fn missing_minutes(&self) -> i64 {
        self.anomalies
            .iter()
            .map(|anomaly| match anomaly.kind {
                AnomalyKind::Hole { minutes, .. } => minutes,
                _ => 0,
            })
            .sum()
    }

    /// The number of readings that were left out of the curve.
    pub fn dropped_readings(&self) -> usize {
        self.anomalies
            .iter()
            .filter(|a| a.kind.drops_reading())
            .count()
    }

    /// Adds an anomaly found elsewhere (e.g. by a wire parser: a value that is not a
    /// number), keeping the report in time order.
    pub fn push(&mut self, anomaly: Anomaly) {
        self.anomalies.push(anomaly);
        self.anomalies.sort_by_key(|anomaly| anomaly.sort_key());
    }

    /// Appends another report's anomalies.
    pub fn merge(&mut self, other: QualityReport) {
        self.anomalies.extend(other.anomalies);
        self.anomalies.sort_by_key(|anomaly| anomaly.sort_key());
    }
}

impl fmt::Display for QualityReport {
    /// One anomaly per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for anomaly in &self.anomalies {
            writeln!(f, "{anomaly}")?;
        }
        Ok(())
    }
}

/// One thing that did not fit: what, and where.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Anomaly {
    /// The position of the reading in the input (0-based), when one reading is at fault.
    pub reading: Option<usize>,
    /// The local end time as given (for a reading) or the local end of a hole.
    pub local_end: Option<NaiveDateTime>,
    /// What is wrong.
    pub kind: AnomalyKind,
}

impl Anomaly {
    /// An anomaly of the input's reading `reading` (0-based, when one reading is at
    /// fault), at local end `local_end` (as given, or a hole's end).
    pub fn new(
        reading: Option<usize>,
        local_end: Option<NaiveDateTime>,
        kind: AnomalyKind,
    ) -> Anomaly {
        Anomaly {
            reading,
            local_end,
            kind,
        }
    }

    /// An anomaly of the reading at `index`.
    pub fn at_reading(index: usize, reading: &Reading, kind: AnomalyKind) -> Anomaly {
        Anomaly {
            reading: Some(index),
            local_end: Some(reading.end),
            kind,
        }
    }

    fn sort_key(&self) -> (Option<NaiveDateTime>, usize) {
        (self.local_end, self.reading.unwrap_or(usize::MAX))
    }
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.reading, self.local_end) {
            (Some(index), Some(end)) => write!(f, "reading {index} ({end}): ")?,
            (Some(index), None) => write!(f, "reading {index}: ")?,
            _ => {}
        }
        write!(f, "{}", self.kind)?;
        if self.kind.drops_reading() {
            f.write_str("; left out")?;
        }
        Ok(())
    }
}

/// What kind of anomaly; see the module documentation for what each does to the curve.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AnomalyKind {
    /// No reading covers `[start, end)`.
    Hole {
        /// Where the hole starts, with its UTC offset.
        start: DateTime<chrono::FixedOffset>,
        /// Where the hole ends.
        end: DateTime<chrono::FixedOffset>,
        /// How many minutes are missing.
        minutes: i64,
    },
    /// The same reading again.
    Duplicate,
    /// The same end again with another value or length.
    ConflictingDuplicate {
        /// The power kept (the first one received).
        kept: Power,
        /// The power left out.
        dropped: Power,
    },
    /// The reading's interval overlaps earlier readings by `minutes`.
    Overlap {
        /// How many minutes overlap.
        minutes: i64,
    },
    /// The reading came after later ones and its place was taken: left out. (One that
    /// finds its place is not reported since issue 21: nothing is lost or changed.)
    OutOfOrder {
        /// Whether it was put in its place: `false` whenever it is reported.
        placed: bool,
    },
    /// A length that is not PT5M, PT10M, PT15M, PT30M or PT60M.
    UnsupportedLength {
        /// The length given, in minutes.
        minutes: i64,
    },
    /// A negative average power.
    NegativePower {
        /// The power given.
        power: Power,
    },
    /// An average power above [`MAX_PLAUSIBLE_POWER`].
    ImplausiblePower {
        /// The power given.
        power: Power,
    },
    /// A local time in the spring-forward gap.
    NonexistentLocalTime,
    /// A time with seconds.
    NotWholeMinute,
    /// An end that is not on a multiple of the interval length (kept as is).
    Misaligned,
    /// An interval outside the period asked for (kept).
    OutsidePeriod,
    /// A value that is not a number (reported by a wire parser).
    NotANumber {
        /// The text given, cut to 40 characters.
        text: String,
    },
    /// An interval length that cannot be read (reported by a wire parser).
    BadLength {
        /// The text given, cut to 40 characters.
        text: String,
    },
    /// A date that cannot be read (reported by a wire parser).
    BadDate {
        /// The text given, cut to 40 characters.
        text: String,
    },
}

impl AnomalyKind {
    /// Whether this anomaly means a reading was left out of the curve.
    pub fn drops_reading(&self) -> bool {
        match self {
            AnomalyKind::Duplicate
            | AnomalyKind::ConflictingDuplicate { .. }
            | AnomalyKind::Overlap { .. }
            | AnomalyKind::UnsupportedLength { .. }
            | AnomalyKind::NegativePower { .. }
            | AnomalyKind::ImplausiblePower { .. }
            | AnomalyKind::NonexistentLocalTime
            | AnomalyKind::NotWholeMinute
            | AnomalyKind::NotANumber { .. }
            | AnomalyKind::BadLength { .. }
            | AnomalyKind::BadDate { .. } => true,
            AnomalyKind::OutOfOrder { placed } => !placed,
            AnomalyKind::Hole { .. } | AnomalyKind::Misaligned | AnomalyKind::OutsidePeriod => {
                false
            }
        }
    }
}

impl fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnomalyKind::Hole {
                start,
                end,
                minutes,
            } => write!(
                f,
                "hole of {minutes} minutes from {} to {}",
                start.format("%Y-%m-%d %H:%M%:z"),
                end.format("%Y-%m-%d %H:%M%:z")
            ),
            AnomalyKind::Duplicate => f.write_str("duplicate reading"),
            AnomalyKind::ConflictingDuplicate { kept, dropped } => write!(
                f,
                "second reading for the same interval ({dropped}, kept the first: {kept})"
            ),
            AnomalyKind::Overlap { minutes } => {
                write!(f, "overlaps the previous reading by {minutes} minutes")
            }
            AnomalyKind::OutOfOrder { placed: true } => {
                f.write_str("out of order; put back in its place")
            }
            AnomalyKind::OutOfOrder { placed: false } => {
                f.write_str("out of order and its place is taken")
            }
            AnomalyKind::UnsupportedLength { minutes } => write!(
                f,
                "unsupported interval length of {minutes} minutes (expected 5, 10, 15, 30 or 60)"
            ),
            AnomalyKind::NegativePower { power } => write!(f, "negative power {power}"),
            AnomalyKind::ImplausiblePower { power } => {
                write!(f, "implausible power {power} (above 100 MW)")
            }
            AnomalyKind::NonexistentLocalTime => {
                f.write_str("local time does not exist (spring-forward gap)")
            }
            AnomalyKind::NotWholeMinute => f.write_str("time is not on a whole minute"),
            AnomalyKind::Misaligned => f.write_str("end is not a multiple of the interval length"),
            AnomalyKind::OutsidePeriod => f.write_str("outside the period asked for"),
            AnomalyKind::NotANumber { text } => write!(f, "value {text:?} is not a number"),
            AnomalyKind::BadLength { text } => {
                write!(f, "interval length {text:?} cannot be read")
            }
            AnomalyKind::BadDate { text } => write!(f, "date {text:?} cannot be read"),
        }
    }
}
