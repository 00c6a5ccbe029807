//! The tariff splitter: every interval's energy divided between tariff classes, minute by
//! minute, each minute classified at its own local time.
//!
//! A classifier ([`TariffClassifier`]) says, for a local day, which class each minute
//! belongs to, as a short plan of runs. Peak/off-peak ([`CompiledSchedule`], two classes)
//! is the first; a Tempo classifier (blue/white/red days x peak/off-peak, six classes, the
//! colour day running 06:00 to 06:00) implements the same trait with `N = 6`.
//!
//! The splitter walks the curve once, building each local day's plan once (on the real
//! time line, so the spring-forward day has 23 hours and the fall-back day classifies its
//! repeated local hour twice, by its local time) and cutting each interval at the plan's
//! boundaries. An interval that straddles a boundary (Enedis' own windows start at odd
//! minutes like 02h26) is prorated by minute; the classes' energies add up to the
//! interval's energy exactly. No allocation per interval beyond the output itself.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone};
use chrono_tz::Tz;

use crate::curve::local_midnight_minute;
use crate::offpeak::{CompiledSchedule, END_OF_DAY};
use crate::{Energy, LoadCurve, Tariff};

/// Decides the tariff class of every minute of a local day, for `N` classes.
pub trait TariffClassifier<const N: usize> {
    /// Fills `plan` with the runs of local day `date`: `(end, class)` pairs with strictly
    /// increasing ends, the last one 1440, each class below `N`. Minute `m` belongs to the
    /// first run whose end is above `m`.
    fn plan_day(&self, date: NaiveDate, plan: &mut Vec<(u16, u8)>);
}

/// Class 0 is peak, class 1 off-peak.
impl TariffClassifier<2> for CompiledSchedule {
    fn plan_day(&self, date: NaiveDate, plan: &mut Vec<(u16, u8)>) {
        plan.clear();
        // The day's table toggles at each boundary, starting with peak at minute 0.
        let mut class = tariff_class(Tariff::Peak);
        for &boundary in self.boundaries(self.day_kind(date)) {
            if boundary > 0 {
                plan.push((boundary, class));
            }
            class ^= 1;
        }
        if plan.last().is_none_or(|(end, _)| *end < END_OF_DAY) {
            plan.push((END_OF_DAY, class));
        }
    }
}

/// The class of a tariff for two-class splits: peak 0, off-peak 1.
pub const fn tariff_class(tariff: Tariff) -> u8 {
    match tariff {
        Tariff::Peak => 0,
        Tariff::OffPeak => 1,
    }
}

/// Everyone is peak: the classifier of a usage point without two tariffs.
#[derive(Debug, Clone, Copy, Default)]
pub struct SingleTariff;

impl TariffClassifier<2> for SingleTariff {
    fn plan_day(&self, _date: NaiveDate, plan: &mut Vec<(u16, u8)>) {
        plan.clear();
        plan.push((END_OF_DAY, 0));
    }
}

/// The energy per class of the intervals of one clock hour (an interval that crosses a
/// clock hour, never one from Enedis, is cut at it): the splitter's output, one piece per
/// hour with data.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitInterval<const N: usize> {
    /// End, in minutes since the Unix epoch (UTC).
    pub end_minute: i64,
    /// Length in minutes.
    pub minutes: u16,
    /// Energy per class; their sum is the piece's energy, exactly.
    pub energy: [Energy; N],
}

impl<const N: usize> SplitInterval<N> {
    /// The piece's whole energy.
    pub fn total(&self) -> Energy {
        self.energy.iter().sum()
    }
}

/// A load curve split between tariff classes.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitCurve<const N: usize> {
    time_zone: Tz,
    intervals: Vec<SplitInterval<N>>,
}

/// A local day's plan on the real time line.
struct DayWindow {
    date: NaiveDate,
    start: i64,
    end: i64,
    /// The UTC offset (in minutes) in force at `end`.
    offset_at_end: i32,
    /// The first Unix minute after `end` at which the offset may differ from
    /// `offset_at_end` (a lower bound of the next DST change).
    stable_until: i64,
    /// `(end as a Unix minute, class)`, increasing.
    runs: Vec<(i64, u8)>,
}

impl DayWindow {
    /// Makes `self` the window of the local day that contains `minute`, reusing its
    /// buffers. Moving to the next day costs no time-zone lookup on ordinary days.
    fn move_to<const N: usize, C: TariffClassifier<N>>(
        &mut self,
        minute: i64,
        time_zone: Tz,
        classifier: &C,
        local_plan: &mut Vec<(u16, u8)>,
    ) {
        // The next day has at least 23 hours: a minute within them after this day's end
        // is the next day's, which starts where this one ends.
        let next = self
            .date
            .succ_opt()
            .filter(|_| self.end <= minute && minute < self.end + 23 * 60);
        let (date, start, offset_at_start) = match next {
            Some(next) => (next, self.end, self.offset_at_end),
            None => {
                let (date, start) = Self::locate(minute, time_zone);
                (date, start, offset_minutes(time_zone, start))
            }
        };
        // Most days have 24 hours: no offset change before the next midnight. Only around
        // a change (twice a year) is the next midnight looked up.
        let ordinary_end = start + i64::from(END_OF_DAY);
        if next.is_none() || ordinary_end > self.stable_until {
            self.stable_until = stable_until(time_zone, start, offset_at_start);
        }
        classifier.plan_day(date, local_plan);
        self.runs.clear();
        self.date = date;
        self.start = start;
        if ordinary_end <= self.stable_until {
            self.end = ordinary_end;
            self.offset_at_end = offset_at_start;
            self.runs.extend(
                local_plan
                    .iter()
                    .map(|&(until, class)| (start + i64::from(until), class)),
            );
            return;
        }
        // A DST day: the offset changes once, at `change`. Before it, local minutes run
        // from midnight; after it, they are shifted by the change (the spring-forward day
        // skips an hour, the fall-back day repeats one, classified by its local time).
        let change = self.stable_until + 1;
        let offset_after = offset_minutes(time_zone, change);
        let shift = i64::from(offset_after - offset_at_start);
        let end = ordinary_end - shift;
        self.end = end;
        self.offset_at_end = offset_after;
        // (real start, real end, local minute at the real start) of each side.
        for (real_from, real_to, local_from) in [
            (start, change.min(end), 0),
            (change.max(start), end, change.max(start) - start + shift),
        ] {
            let mut real = real_from;
            for &(until, class) in local_plan.iter() {
                let local_until = i64::from(until);
                let local_now = real - real_from + local_from;
                if real >= real_to || local_until <= local_now {
                    continue;
                }
                let run_end = (real + local_until - local_now).min(real_to);
                match self.runs.last_mut() {
                    Some(last) if last.1 == class => last.0 = run_end,
                    _ => self.runs.push((run_end, class)),
                }
                real = run_end;
            }
        }
        self.stable_until = stable_until(time_zone, end, offset_after);
    }

    /// The run holding `minute` as `(end, class)`: moves the window to the minute's day
    /// when needed, then the cursor `run_index` forward (minutes come in time order).
    // Always inlined: it is the splitter's hot loop (measured: 15% slower as a call).
    #[inline(always)]
    fn run_at<const N: usize, C: TariffClassifier<N>>(
        &mut self,
        minute: i64,
        run_index: &mut usize,
        time_zone: Tz,
        classifier: &C,
        local_plan: &mut Vec<(u16, u8)>,
    ) -> (i64, u8) {
        if !(self.start <= minute && minute < self.end) {
            self.move_to(minute, time_zone, classifier, local_plan);
            *run_index = 0;
        }
        while self.runs.get(*run_index).is_some_and(|run| run.0 <= minute) {
            *run_index += 1;
        }
        self.runs.get(*run_index).copied().unwrap_or((self.end, 0))
    }

    /// The local date holding `minute`, and the Unix minute of its local midnight.
    fn locate(minute: i64, time_zone: Tz) -> (NaiveDate, i64) {
        let date = utc_minute(minute).with_timezone(&time_zone).date_naive();
        let start =
            local_midnight_minute(time_zone, date).unwrap_or(minute - minute.rem_euclid(1440));
        (date, start)
    }
}

/// The longest step when looking for the next offset change: changes closer together
/// than this could be missed, and no time zone has had two within a week.
const OFFSET_PROBE_STEP: i64 = 7 * 1440;

/// A Unix minute up to which the offset stays `offset` from `from` on: probes a week at a
/// time (for at most a year), then narrows the change down to the minute.
fn stable_until(time_zone: Tz, from: i64, offset: i32) -> i64 {
    let mut stable = from;
    while stable - from < 53 * OFFSET_PROBE_STEP {
        let probe = stable + OFFSET_PROBE_STEP;
        if offset_minutes(time_zone, probe) != offset {
            // The change is in (stable, probe]: narrow it down.
            let mut changed = probe;
            while changed - stable > 1 {
                let middle = stable + (changed - stable) / 2;
                if offset_minutes(time_zone, middle) == offset {
                    stable = middle;
                } else {
                    changed = middle;
                }
            }
            return stable;
        }
        stable = probe;
    }
    stable
}

/// Local times of Unix minutes, asking the time zone once per stretch of one offset
/// (about twice a year in France) rather than once per minute asked about.
#[derive(Debug, Clone)]
pub(crate) struct LocalClock {
    time_zone: Tz,
    /// Unix minutes `[from, until]` that keep `offset` (minutes east of UTC).
    span: (i64, i64, i32),
    dates: MinuteDates,
}

impl LocalClock {
    pub(crate) fn new(time_zone: Tz) -> LocalClock {
        LocalClock {
            time_zone,
            span: (1, 0, 0),
            dates: MinuteDates::default(),
        }
    }

    /// The local time at Unix minute `minute`.
    pub(crate) fn local(&mut self, minute: i64) -> chrono::NaiveDateTime {
        let (from, until, offset) = self.span;
        let offset = if from <= minute && minute <= until {
            offset
        } else {
            let offset = offset_minutes(self.time_zone, minute);
            self.span = (minute, stable_until(self.time_zone, minute, offset), offset);
            offset
        };
        self.dates.at(minute.saturating_add(i64::from(offset)))
    }
}

/// Date and time of minutes counted from 1970-01-01 00:00 (UTC's Unix minutes, or a
/// local clock's), remembering the last day: hours in order ask the calendar once a day.
#[derive(Debug, Clone, Default)]
pub(crate) struct MinuteDates {
    /// The last day asked about: its number from 1970-01-01, and its date.
    day: Option<(i64, NaiveDate)>,
}

impl MinuteDates {
    /// The date and time `minute` minutes after 1970-01-01 00:00.
    pub(crate) fn at(&mut self, minute: i64) -> chrono::NaiveDateTime {
        let day = minute.div_euclid(1440);
        let date = match self.day {
            Some((known, date)) if known == day => date,
            _ => {
                let date = utc_minute(minute).date_naive();
                self.day = Some((day, date));
                date
            }
        };
        let seconds = (minute.rem_euclid(1440) * 60) as u32;
        date.and_time(
            chrono::NaiveTime::from_num_seconds_from_midnight_opt(seconds, 0)
                .unwrap_or(chrono::NaiveTime::MIN),
        )
    }
}

/// The offset from UTC (in minutes) in force at Unix minute `minute`.
fn offset_minutes(time_zone: Tz, minute: i64) -> i32 {
    use chrono::Offset;
    time_zone
        .offset_from_utc_datetime(&utc_minute(minute).naive_utc())
        .fix()
        .local_minus_utc()
        / 60
}

/// The local day holding Unix minute `minute` (its first minute `[minute, minute + 1)`),
/// and its bounds `[start, end)` in Unix minutes.
fn local_day_of(time_zone: Tz, minute: i64) -> (NaiveDate, i64, i64) {
    let date = utc_minute(minute).with_timezone(&time_zone).date_naive();
    let start = local_midnight_minute(time_zone, date).unwrap_or(minute);
    let end = date
        .succ_opt()
        .and_then(|next| local_midnight_minute(time_zone, next))
        .unwrap_or(minute + 1);
    (date, start, end)
}

fn utc_minute(minute: i64) -> DateTime<chrono::Utc> {
    chrono::Utc
        .timestamp_opt(minute.saturating_mul(60), 0)
        .single()
        .unwrap_or_default()
}

impl LoadCurve {
    /// Splits every interval between the classes of `classifier`.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use linky_core::{CompiledSchedule, Flow, HolidayZone, IntervalLength, LoadCurve, OffPeakConfig, Power, Reading, PARIS};
    /// // Enedis' own window starting at 02h26: the half-hour ending at 02:30 is split 26/4.
    /// let config: OffPeakConfig = "2h26-7h26".parse().unwrap();
    /// let schedule = CompiledSchedule::new(&config, "22516914714270", Flow::Consumption, HolidayZone::Metropole);
    /// let end = NaiveDate::from_ymd_opt(2024, 6, 3).unwrap().and_hms_opt(2, 30, 0).unwrap();
    /// let (curve, _) = LoadCurve::builder(PARIS).build(&[Reading::new(end, IntervalLength::PT30M, Power::from_watts(600))]);
    /// let split = curve.split(&schedule);
    /// let [peak, off_peak] = split.intervals()[0].energy;
    /// assert_eq!((peak.as_wh_f64(), off_peak.as_wh_f64()), (260.0, 40.0));
    /// ```
    pub fn split<const N: usize, C: TariffClassifier<N>>(&self, classifier: &C) -> SplitCurve<N> {
        let time_zone = self.time_zone();
        let intervals = self.intervals();
        let mut pieces: Vec<SplitInterval<N>> = Vec::with_capacity(piece_capacity(intervals));
        let mut local_plan = Vec::with_capacity(16);
        // An empty window: the first interval moves it to its day.
        let mut window = DayWindow {
            date: NaiveDate::MIN,
            start: i64::MAX,
            end: i64::MIN,
            offset_at_end: 0,
            stable_until: i64::MIN,
            runs: Vec::with_capacity(16),
        };
        let mut run_index = 0;
        // The run the last lookup fell in: an interval that ends by `run_limit` lies in it
        // wholly (intervals come in time order, so it starts after that lookup's minute).
        let mut run_limit = i64::MIN;
        let mut class = 0u8;
        // The clock hour being filled: its end (`i64::MIN` before the first one), the end
        // and minutes of its data, its energy per class, and the energy of `class` not yet
        // added to it. Kept in locals (registers) until the next hour begins, then pushed
        // whole: the vector is written once per hour.
        let mut hour_end = i64::MIN;
        let mut piece_end = i64::MIN;
        let mut piece_minutes = 0u16;
        let mut piece_energy = [Energy::ZERO; N];
        let mut pending = Energy::ZERO;
        for interval in intervals {
            let end = interval.end_minute();
            let length = interval.length().minutes();
            if end <= run_limit {
                let energy = interval.power().energy_over_minutes(length);
                if end <= hour_end {
                    // The common case: in the run and the hour of the interval before.
                    pending += energy;
                    piece_minutes += length as u16;
                    piece_end = end;
                    continue;
                }
                let start = end - i64::from(length);
                let next_hour_end = start + 60 - start.rem_euclid(60);
                if end <= next_hour_end {
                    // In the same run, wholly in a new hour: the hour before is done.
                    if hour_end != i64::MIN {
                        pieces.push(hour_piece(
                            piece_end,
                            piece_minutes,
                            piece_energy,
                            class,
                            pending,
                        ));
                    }
                    hour_end = next_hour_end;
                    piece_end = end;
                    piece_minutes = length as u16;
                    piece_energy = [Energy::ZERO; N];
                    pending = energy;
                    continue;
                }
            }
            // Anything else (a new run or day, an interval across a boundary or an hour):
            // minute by run and hour.
            add_to(&mut piece_energy, class, pending);
            pending = Energy::ZERO;
            let power = interval.power();
            let mut start = interval.start_minute();
            while start < end {
                let (run_end, run_class) = window.run_at(
                    start,
                    &mut run_index,
                    time_zone,
                    classifier,
                    &mut local_plan,
                );
                run_limit = run_end.min(window.end);
                class = run_class;
                if start >= hour_end {
                    if hour_end != i64::MIN {
                        pieces.push(hour_piece(
                            piece_end,
                            piece_minutes,
                            piece_energy,
                            class,
                            Energy::ZERO,
                        ));
                    }
                    hour_end = start + 60 - start.rem_euclid(60);
                    piece_minutes = 0;
                    piece_energy = [Energy::ZERO; N];
                }
                let segment_end = end.min(run_limit).min(hour_end);
                let minutes = (segment_end - start) as u32;
                add_to(&mut piece_energy, class, power.energy_over_minutes(minutes));
                piece_minutes += minutes as u16;
                piece_end = segment_end;
                start = segment_end;
            }
        }
        if hour_end != i64::MIN {
            pieces.push(hour_piece(
                piece_end,
                piece_minutes,
                piece_energy,
                class,
                pending,
            ));
        }
        SplitCurve {
            time_zone,
            intervals: pieces,
        }
    }
}

/// Adds `energy` to class `class` of `energy_per_class`.
#[inline(always)]
fn add_to<const N: usize>(energy_per_class: &mut [Energy; N], class: u8, energy: Energy) {
    if let Some(slot) = energy_per_class.get_mut(usize::from(class)) {
        *slot += energy;
    }
}

/// A finished hour's piece: `energy` with `pending` added to class `class`, built by value
/// (no store into the array just before it is copied: that store would stall the copy).
#[inline(always)]
fn hour_piece<const N: usize>(
    end_minute: i64,
    minutes: u16,
    energy: [Energy; N],
    class: u8,
    pending: Energy,
) -> SplitInterval<N> {
    let mut index = 0;
    let energy = energy.map(|in_class| {
        let this = index;
        index += 1;
        if this == usize::from(class) {
            in_class + pending
        } else {
            in_class
        }
    });
    SplitInterval {
        end_minute,
        minutes,
        energy,
    }
}

/// How many clock hours `intervals` can touch: the room for their split's pieces.
fn piece_capacity(intervals: &[crate::curve::Interval]) -> usize {
    match (intervals.first(), intervals.last()) {
        (Some(first), Some(last)) => {
            let span_hours = (last.end_minute() - first.start_minute()) / 60 + 2;
            usize::try_from(span_hours)
                .map_or(intervals.len(), |hours| hours.min(2 * intervals.len()))
        }
        _ => 0,
    }
}

impl<const N: usize> SplitCurve<N> {
    /// The same energy in `M` other classes, each clock hour's energy going whole to the
    /// class `classify` gives its local start (date and minute of the day). Exact for a
    /// classifier whose classes change only on the hour (Tempo's 06:00 and 22:00): every
    /// piece lies in one clock hour.
    pub fn reclassify_hours<const M: usize>(
        &self,
        mut classify: impl FnMut(NaiveDate, u16) -> u8,
    ) -> SplitCurve<M> {
        let time_zone = self.time_zone;
        let intervals = self
            .intervals
            .iter()
            .map(|piece| {
                let hour_start = piece.end_minute - 1 - (piece.end_minute - 1).rem_euclid(60);
                let local = utc_minute(hour_start)
                    .with_timezone(&time_zone)
                    .naive_local();
                let minute = (local.time() - chrono::NaiveTime::MIN).num_minutes() as u16;
                let class = usize::from(classify(local.date(), minute));
                let mut energy = [Energy::ZERO; M];
                if let Some(slot) = energy.get_mut(class) {
                    *slot = piece.total();
                }
                SplitInterval {
                    end_minute: piece.end_minute,
                    minutes: piece.minutes,
                    energy,
                }
            })
            .collect();
        SplitCurve {
            time_zone,
            intervals,
        }
    }
}

impl<const N: usize> SplitCurve<N> {
    /// The pieces, in time order: one per clock hour with data, holding that hour's
    /// minutes and energy per class.
    pub fn intervals(&self) -> &[SplitInterval<N>] {
        &self.intervals
    }

    /// The time zone of the curve.
    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }

    /// The energy per class of the whole curve.
    pub fn totals(&self) -> [Energy; N] {
        let mut totals = [Energy::ZERO; N];
        for piece in &self.intervals {
            for (total, energy) in totals.iter_mut().zip(piece.energy) {
                *total += energy;
            }
        }
        totals
    }

    /// The local days that hold at least one piece, in time order, with their energy per
    /// class: DST-exact (a day runs from local midnight to local midnight, 23, 24 or 25
    /// hours; the hour ending at midnight belongs to the day before).
    ///
    /// ```
    /// use chrono::{NaiveDate, TimeZone};
    /// use linky_core::{IntervalLength, LoadCurve, Power, Reading, SingleTariff, Tariff, PARIS};
    /// let day = NaiveDate::from_ymd_opt(2024, 10, 27).unwrap(); // 25 hours
    /// let start = PARIS.from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap()).unwrap();
    /// let readings: Vec<Reading> = (1..=50)
    ///     .map(|half_hour| {
    ///         let end = (start + chrono::Duration::minutes(30 * half_hour)).naive_local();
    ///         Reading::new(end, IntervalLength::PT30M, Power::from_watts(1000))
    ///     })
    ///     .collect();
    /// let split = LoadCurve::builder(PARIS).build(&readings).0.split(&SingleTariff);
    /// let days = split.days();
    /// assert_eq!((days.len(), days[0].hours_in_day, days[0].minutes), (1, 25, 25 * 60));
    /// assert_eq!(days[0].energy_in(Tariff::Peak).as_wh_f64(), 25_000.0);
    /// assert_eq!(split.months()[0].total().as_wh_f64(), 25_000.0);
    /// ```
    pub fn days(&self) -> Vec<SplitDay<N>> {
        let time_zone = self.time_zone;
        let mut days: Vec<SplitDay<N>> = Vec::new();
        // The current day's [start, end) in Unix minutes.
        let mut bounds = (i64::MAX, i64::MIN);
        for piece in &self.intervals {
            let minute = piece.end_minute - 1;
            if !(bounds.0 <= minute && minute < bounds.1) {
                let (date, start, end) = local_day_of(time_zone, minute);
                bounds = (start, end);
                days.push(SplitDay {
                    date,
                    hours_in_day: ((end - start) / 60) as u32,
                    minutes: 0,
                    energy: [Energy::ZERO; N],
                });
            }
            if let Some(day) = days.last_mut() {
                day.minutes += u32::from(piece.minutes);
                for (total, energy) in day.energy.iter_mut().zip(piece.energy) {
                    *total += energy;
                }
            }
        }
        days
    }

    /// The local months that hold at least one piece, in time order, with their energy
    /// per class (the sum of their [`SplitCurve::days`]).
    pub fn months(&self) -> Vec<SplitMonth<N>> {
        let mut months: Vec<SplitMonth<N>> = Vec::new();
        for day in self.days() {
            let (year, month) = (day.date.year(), day.date.month());
            match months.last_mut() {
                Some(last) if (last.year, last.month) == (year, month) => {
                    last.minutes += day.minutes;
                    for (total, energy) in last.energy.iter_mut().zip(day.energy) {
                        *total += energy;
                    }
                }
                _ => months.push(SplitMonth {
                    year,
                    month,
                    minutes: day.minutes,
                    energy: day.energy,
                }),
            }
        }
        months
    }

    /// Keeps the pieces of the local days for which `keep` says yes (a piece belongs to the
    /// day of its last minute: the hour ending at midnight is the day before's).
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use linky_core::{IntervalLength, LoadCurve, Power, Reading, SingleTariff, PARIS};
    /// let day = NaiveDate::from_ymd_opt(2024, 6, 3).unwrap();
    /// let readings: Vec<Reading> = (1..=96)
    ///     .map(|half_hour| {
    ///         let end = day.and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::minutes(30 * half_hour);
    ///         Reading::new(end, IntervalLength::PT30M, Power::from_watts(1000))
    ///     })
    ///     .collect();
    /// let mut split = LoadCurve::builder(PARIS).build(&readings).0.split(&SingleTariff);
    /// split.retain_days(|date| date != day);
    /// assert_eq!(split.intervals().len(), 24); // one piece per hour of the day kept
    /// ```
    pub fn retain_days(&mut self, mut keep: impl FnMut(NaiveDate) -> bool) {
        let time_zone = self.time_zone;
        // The current day as [start, end) in Unix minutes, and the verdict on it.
        let mut current: Option<(i64, i64, bool)> = None;
        self.intervals.retain(|piece| {
            let minute = piece.end_minute - 1;
            match current {
                Some((start, end, verdict)) if start <= minute && minute < end => verdict,
                _ => {
                    let (date, start, end) = local_day_of(time_zone, minute);
                    let verdict = keep(date);
                    current = Some((start, end, verdict));
                    verdict
                }
            }
        });
    }

    /// The hours that hold at least one piece, in time order, with their energy per class.
    pub fn hours(&self) -> Vec<SplitHour<N>> {
        let mut hours: Vec<SplitHour<N>> = Vec::new();
        for piece in &self.intervals {
            // A piece lies in one hour: the one ending at or after its end.
            let hour_end = piece.end_minute + (-piece.end_minute).rem_euclid(60);
            match hours.last_mut() {
                Some(last) if last.end_minute == hour_end => {
                    for (total, energy) in last.energy.iter_mut().zip(piece.energy) {
                        *total += energy;
                    }
                    last.minutes += u32::from(piece.minutes);
                }
                _ => hours.push(SplitHour {
                    end_minute: hour_end,
                    minutes: u32::from(piece.minutes),
                    energy: piece.energy,
                }),
            }
        }
        hours
    }
}

impl SplitCurve<2> {
    /// The whole curve's energy in `tariff`.
    pub fn total_in(&self, tariff: Tariff) -> Energy {
        self.totals()[usize::from(tariff_class(tariff))]
    }
}

/// One local day of a split curve.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitDay<const N: usize> {
    /// The local date.
    pub date: NaiveDate,
    /// How many hours the day has: 23, 24 or 25.
    pub hours_in_day: u32,
    /// Minutes of the day with data.
    pub minutes: u32,
    /// Energy per class.
    pub energy: [Energy; N],
}

impl<const N: usize> SplitDay<N> {
    /// The day's whole energy.
    pub fn total(&self) -> Energy {
        self.energy.iter().sum()
    }

    /// Whether every minute of the day has data.
    pub fn is_complete(&self) -> bool {
        self.minutes == self.hours_in_day * 60
    }
}

impl SplitDay<2> {
    /// The day's energy in `tariff`.
    pub fn energy_in(&self, tariff: Tariff) -> Energy {
        self.energy[usize::from(tariff_class(tariff))]
    }
}

/// One local month of a split curve.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitMonth<const N: usize> {
    /// The year.
    pub year: i32,
    /// The month, 1 to 12.
    pub month: u32,
    /// Minutes of the month with data.
    pub minutes: u32,
    /// Energy per class.
    pub energy: [Energy; N],
}

impl<const N: usize> SplitMonth<N> {
    /// The month's whole energy.
    pub fn total(&self) -> Energy {
        self.energy.iter().sum()
    }
}

impl SplitMonth<2> {
    /// The month's energy in `tariff`.
    pub fn energy_in(&self, tariff: Tariff) -> Energy {
        self.energy[usize::from(tariff_class(tariff))]
    }
}

/// One clock hour of a split curve.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitHour<const N: usize> {
    /// When the hour ends, in minutes since the Unix epoch (UTC).
    pub end_minute: i64,
    /// Minutes of the hour with data.
    pub minutes: u32,
    /// Energy per class.
    pub energy: [Energy; N],
}

impl<const N: usize> SplitHour<N> {
    /// When the hour ends, in `time_zone`.
    pub fn end(&self, time_zone: Tz) -> DateTime<Tz> {
        utc_minute(self.end_minute).with_timezone(&time_zone)
    }

    /// The local day the hour belongs to: the day of its last minute (the hour ending at
    /// midnight is the day before's, not the day its end's date says).
    pub fn local_day(&self, time_zone: Tz) -> NaiveDate {
        utc_minute(self.end_minute - 1)
            .with_timezone(&time_zone)
            .date_naive()
    }

    /// The hour's whole energy.
    pub fn total(&self) -> Energy {
        self.energy.iter().sum()
    }
}

impl SplitHour<2> {
    /// The hour's energy in `tariff`.
    pub fn energy_in(&self, tariff: Tariff) -> Energy {
        self.energy[usize::from(tariff_class(tariff))]
    }
}
