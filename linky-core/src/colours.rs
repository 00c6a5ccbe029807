//! Day-colour tariffs: a calendar of day colours that never invents one, and the Tempo
//! classifier (blue, white and red days, each with peak and off-peak: six classes).
//!
//! **The calendar** ([`ColourCalendar`]) holds, per local date, the colour its offer gave
//! that day; a date it does not hold is unknown, and a split that needs it waits
//! ([`split_by_colour`] reports it) instead of guessing. It is serializable, so that a
//! sync keeps it with its state.
//!
//! **Tempo** (EDF's regulated option): the colour day runs from 06:00 to 06:00 local time
//! on the day it is named after; peak hours are 06:00-22:00, off-peak 22:00-06:00, and the
//! night from 22:00 to 06:00 is billed with the colour of the day that started at 06:00 the
//! morning before. So a local day D needs D's colour (06:00-24:00) and D-1's (00:00-06:00):
//! [`TempoClassifier`] cuts D into three runs, on the real time line (the 06:00 boundary
//! always exists; both DST changes happen inside the 00:00-06:00 run).
//!
//! **Other offers on the same mechanism.** EJP (22 mobile peak days from November to
//! March, peak 07:00 to 01:00 the next day) and EDF's Zen Flex (up to 20 sobriety days,
//! peak hours 08:00-13:00 and 18:00-20:00) are calendars of special days too: a
//! [`ColourCalendar`] holds them as [`DayColour::Red`] (the special day) and
//! [`DayColour::Blue`] (an ordinary one), and their classifiers would be other
//! [`crate::TariffClassifier`]s over the same calendar. Only Tempo's classifier is
//! implemented; EJP's and Zen Flex's, and their sources, are not.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::{LoadCurve, SplitCurve, TariffClassifier};

/// A day's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DayColour {
    /// Tempo's cheapest days (about 300 a year); an ordinary day of EJP or Zen Flex.
    Blue,
    /// Tempo's middle days (43 a year).
    White,
    /// Tempo's dearest days (22 a year, November to March, never at the weekend); EJP's
    /// mobile peak days, Zen Flex's sobriety days.
    Red,
}

impl DayColour {
    /// The three colours, cheapest first.
    pub const ALL: [DayColour; 3] = [DayColour::Blue, DayColour::White, DayColour::Red];

    /// The English word (`blue`, `white`, `red`).
    pub const fn as_str(self) -> &'static str {
        match self {
            DayColour::Blue => "blue",
            DayColour::White => "white",
            DayColour::Red => "red",
        }
    }

    /// 0 for blue, 1 for white, 2 for red.
    pub const fn index(self) -> usize {
        match self {
            DayColour::Blue => 0,
            DayColour::White => 1,
            DayColour::Red => 2,
        }
    }
}

impl fmt::Display for DayColour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A word that names no day colour.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown colour {word:?} (blue, white or red; bleu, blanc or rouge)")]
#[non_exhaustive]
pub struct UnknownColour {
    /// The word, as written.
    pub word: String,
}

impl std::str::FromStr for DayColour {
    type Err = UnknownColour;

    /// A colour in English or French, any case: `blue`/`bleu`, `white`/`blanc`,
    /// `red`/`rouge`; also RTE's `BLUE`/`WHITE`/`RED` and the codes `1`, `2`, `3`.
    ///
    /// ```
    /// use linky_core::DayColour;
    /// assert_eq!("Rouge".parse::<DayColour>(), Ok(DayColour::Red));
    /// assert_eq!("2".parse::<DayColour>(), Ok(DayColour::White));
    /// assert!("green".parse::<DayColour>().is_err());
    /// ```
    fn from_str(text: &str) -> Result<DayColour, UnknownColour> {
        match text.trim().to_lowercase().as_str() {
            "blue" | "bleu" | "1" => Ok(DayColour::Blue),
            "white" | "blanc" | "2" => Ok(DayColour::White),
            "red" | "rouge" | "3" => Ok(DayColour::Red),
            _ => Err(UnknownColour {
                word: text.trim().to_owned(),
            }),
        }
    }
}

/// A mistake in a colour file, where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
#[non_exhaustive]
pub struct ColourFileError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// Tempo's six classes, in this order: blue peak, blue off-peak, white peak, white
/// off-peak, red peak, red off-peak (the class of a colour and tariff is
/// `colour.index() * 2 + tariff_class`).
pub const TEMPO_CLASSES: [(DayColour, crate::Tariff); 6] = [
    (DayColour::Blue, crate::Tariff::Peak),
    (DayColour::Blue, crate::Tariff::OffPeak),
    (DayColour::White, crate::Tariff::Peak),
    (DayColour::White, crate::Tariff::OffPeak),
    (DayColour::Red, crate::Tariff::Peak),
    (DayColour::Red, crate::Tariff::OffPeak),
];

/// The Tempo class of a colour and tariff (see [`TEMPO_CLASSES`]).
pub const fn tempo_class(colour: DayColour, tariff: crate::Tariff) -> u8 {
    (colour.index() * 2) as u8 + crate::tariff_class(tariff)
}

/// Each local date's colour, as its source published it; a date it does not hold is
/// unknown.
///
/// ```
/// use chrono::NaiveDate;
/// use linky_core::{ColourCalendar, DayColour};
/// let day = NaiveDate::from_ymd_opt(2025, 1, 15).unwrap();
/// let mut calendar = ColourCalendar::new();
/// calendar.set(day, DayColour::Red);
/// assert_eq!(calendar.colour(day), Some(DayColour::Red));
/// assert_eq!(calendar.colour(day.succ_opt().unwrap()), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColourCalendar {
    days: BTreeMap<NaiveDate, DayColour>,
    /// Days whose colour the publisher gave in a degraded mode (RTE's `-fallback: "true"`):
    /// known, but not for good.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    degraded: std::collections::BTreeSet<NaiveDate>,
}

impl ColourCalendar {
    /// Reads a colour file: one `YYYY-MM-DD;colour` a line (the separator `;`, `,` or a
    /// space; the colour as [`DayColour`]'s `FromStr` takes it), `#` comments and blank
    /// lines ignored; a date given twice takes its last colour.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use linky_core::{ColourCalendar, DayColour};
    /// let calendar = ColourCalendar::read("# winter\n2025-01-14;rouge\n2025-01-15,white\n").unwrap();
    /// let day = NaiveDate::from_ymd_opt(2025, 1, 14).unwrap();
    /// assert_eq!(calendar.colour(day), Some(DayColour::Red));
    /// let error = ColourCalendar::read("2025-01-14;green").unwrap_err();
    /// assert_eq!((error.line, error.column), (1, 12));
    /// ```
    ///
    /// # Errors
    ///
    /// The first bad line, with its line and column.
    pub fn read(text: &str) -> Result<ColourCalendar, ColourFileError> {
        let mut calendar = ColourCalendar::new();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("");
            let indent = line.chars().count() - line.trim_start().chars().count();
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let error = |column: usize, message: String| ColourFileError {
                line: index + 1,
                column: indent + column,
                message,
            };
            let (day, colour) = line
                .split_once([';', ',', ' '])
                .ok_or_else(|| error(1, "expected YYYY-MM-DD;colour".to_owned()))?;
            let date: NaiveDate = day
                .trim()
                .parse()
                .map_err(|_| error(1, format!("{:?} is not a date", day.trim())))?;
            let colour: DayColour = colour.parse().map_err(|unknown: UnknownColour| {
                let skipped = colour.chars().count() - colour.trim_start().chars().count();
                error(day.chars().count() + 2 + skipped, unknown.to_string())
            })?;
            calendar.set(date, colour);
        }
        Ok(calendar)
    }

    /// An empty calendar.
    pub fn new() -> ColourCalendar {
        ColourCalendar::default()
    }

    /// The colour of `date`, if known.
    pub fn colour(&self, date: NaiveDate) -> Option<DayColour> {
        self.days.get(&date).copied()
    }

    /// Records `date`'s colour (a later publication replaces an earlier one, a degraded
    /// one included).
    pub fn set(&mut self, date: NaiveDate, colour: DayColour) {
        self.days.insert(date, colour);
        self.degraded.remove(&date);
    }

    /// Records `date`'s colour as given in a degraded mode (RTE's `-fallback` flag): used
    /// like any colour, but not final (a sync asks for it again).
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use linky_core::{ColourCalendar, DayColour};
    /// let day = NaiveDate::from_ymd_opt(2025, 2, 22).unwrap();
    /// let mut calendar = ColourCalendar::new();
    /// calendar.set_degraded(day, DayColour::Blue);
    /// assert_eq!((calendar.colour(day), calendar.is_degraded(day)), (Some(DayColour::Blue), true));
    /// calendar.set(day, DayColour::White);
    /// assert!(!calendar.is_degraded(day));
    /// ```
    pub fn set_degraded(&mut self, date: NaiveDate, colour: DayColour) {
        self.days.insert(date, colour);
        self.degraded.insert(date);
    }

    /// Whether `date`'s colour was given in a degraded mode (see
    /// [`ColourCalendar::set_degraded`]).
    pub fn is_degraded(&self, date: NaiveDate) -> bool {
        self.degraded.contains(&date)
    }

    /// Adds every day of `other` (its colours win, degraded or not).
    pub fn merge(&mut self, other: &ColourCalendar) {
        for (date, colour) in other.days() {
            if other.is_degraded(date) {
                self.set_degraded(date, colour);
            } else {
                self.set(date, colour);
            }
        }
    }

    /// The known days, in date order.
    pub fn days(&self) -> impl Iterator<Item = (NaiveDate, DayColour)> + '_ {
        self.days.iter().map(|(d, c)| (*d, *c))
    }

    /// How many days are known.
    pub fn len(&self) -> usize {
        self.days.len()
    }

    /// Whether no day is known.
    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    /// The dates of `[from, to)` whose colour is unknown.
    pub fn missing(&self, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
        from.iter_days()
            .take_while(|d| *d < to)
            .filter(|d| !self.days.contains_key(d))
            .collect()
    }

    /// How many days of each colour the Tempo season holding `date` has used up to
    /// `date` included (the season runs from 1 September to 31 August), blue first.
    pub fn season_counts(&self, date: NaiveDate) -> [u32; 3] {
        let start = tempo_season_start(date);
        let mut counts = [0; 3];
        for (_, colour) in self.days.range(start..=date) {
            counts[colour.index()] += 1;
        }
        counts
    }

    /// How many days of the Tempo season holding `date`, up to `date` included, have no
    /// colour here: what [`ColourCalendar::season_counts`] misses.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use linky_core::{ColourCalendar, DayColour};
    /// let mut calendar = ColourCalendar::new();
    /// calendar.set(NaiveDate::from_ymd_opt(2025, 9, 2).unwrap(), DayColour::Blue);
    /// let day = NaiveDate::from_ymd_opt(2025, 9, 3).unwrap();
    /// assert_eq!(calendar.season_counts(day), [1, 0, 0]);
    /// assert_eq!(calendar.season_missing(day), 2); // 1 and 3 September
    /// ```
    pub fn season_missing(&self, date: NaiveDate) -> usize {
        let start = tempo_season_start(date);
        let days = (date - start).num_days() + 1;
        let known = self.days.range(start..=date).count();
        usize::try_from(days).unwrap_or(0).saturating_sub(known)
    }
}

/// Tempo's red days in a season.
pub const TEMPO_RED_DAYS: u32 = 22;
/// Tempo's white days in a season.
pub const TEMPO_WHITE_DAYS: u32 = 43;

/// The first day (1 September) of the Tempo season holding `date`.
///
/// ```
/// use chrono::NaiveDate;
/// let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
/// assert_eq!(linky_core::tempo_season_start(day(2025, 8, 31)), day(2024, 9, 1));
/// assert_eq!(linky_core::tempo_season_start(day(2025, 9, 1)), day(2025, 9, 1));
/// ```
pub fn tempo_season_start(date: NaiveDate) -> NaiveDate {
    let first_year = if date.month() >= 9 {
        date.year()
    } else {
        date.year() - 1
    };
    NaiveDate::from_ymd_opt(first_year, 9, 1).unwrap_or(date)
}

/// When the colour of local day `date` is final: 11:30 the day before. RTE publishes
/// tomorrow's colour around 11:00 (as early as 06:30 in easy periods) and may still change
/// it until about 11:15; a colour learned before this time is provisional and worth asking
/// again. A sync keeps that apart (`SyncMeta::provisional_colours` in linky-domoticz).
///
/// ```
/// use chrono::NaiveDate;
/// let day = NaiveDate::from_ymd_opt(2025, 1, 15).unwrap();
/// assert_eq!(linky_core::colour_final_at(day).to_string(), "2025-01-14 11:30:00");
/// ```
pub fn colour_final_at(date: NaiveDate) -> chrono::NaiveDateTime {
    date.pred_opt()
        .unwrap_or(date)
        .and_time(chrono::NaiveTime::from_hms_opt(11, 30, 0).unwrap_or(chrono::NaiveTime::MIN))
}

/// The colour day running at local time `at`: a colour day (and its tariff) runs from
/// 06:00 to 06:00 the next day, so from midnight to 06:00 it is still the day before's.
/// What "today's colour" means for a home automation, at any hour.
///
/// ```
/// use chrono::NaiveDate;
/// let day = NaiveDate::from_ymd_opt(2025, 1, 15).unwrap();
/// assert_eq!(linky_core::colour_day(day.and_hms_opt(5, 59, 0).unwrap()).to_string(), "2025-01-14");
/// assert_eq!(linky_core::colour_day(day.and_hms_opt(6, 0, 0).unwrap()), day);
/// ```
pub fn colour_day(at: chrono::NaiveDateTime) -> NaiveDate {
    use chrono::Timelike;
    if at.hour() < 6 {
        at.date().pred_opt().unwrap_or(at.date())
    } else {
        at.date()
    }
}

/// The Tempo classifier over a calendar: local day D is off-peak from 00:00 to 06:00 in
/// D-1's colour, peak from 06:00 to 22:00 and off-peak from 22:00 in D's colour. A day
/// whose colours are unknown is classified as blue: split with [`split_by_colour`], which
/// leaves such days out and reports them.
#[derive(Debug, Clone, Copy)]
pub struct TempoClassifier<'a> {
    calendar: &'a ColourCalendar,
}

impl<'a> TempoClassifier<'a> {
    /// The classifier of `calendar`.
    pub fn new(calendar: &'a ColourCalendar) -> TempoClassifier<'a> {
        TempoClassifier { calendar }
    }

    /// The dates whose colours local day `date` needs: the day before (its night) and
    /// the day itself.
    pub fn needs(date: NaiveDate) -> [NaiveDate; 2] {
        [date.pred_opt().unwrap_or(date), date]
    }
}

/// 06:00 and 22:00 in minutes of the local day.
const TEMPO_DAY_START: u16 = 6 * 60;
const TEMPO_OFF_PEAK_START: u16 = 22 * 60;

impl TariffClassifier<6> for TempoClassifier<'_> {
    fn plan_day(&self, date: NaiveDate, plan: &mut Vec<(u16, u8)>) {
        let [yesterday, today] = Self::needs(date);
        tempo_plan(
            self.calendar.colour(yesterday),
            self.calendar.colour(today),
            plan,
        );
    }
}

/// The Tempo plan of a local day whose night (from the day before) and day have these
/// colours (blue when unknown).
fn tempo_plan(night: Option<DayColour>, day: Option<DayColour>, plan: &mut Vec<(u16, u8)>) {
    use crate::Tariff::{OffPeak, Peak};
    let night = night.unwrap_or(DayColour::Blue);
    let day = day.unwrap_or(DayColour::Blue);
    plan.clear();
    plan.push((TEMPO_DAY_START, tempo_class(night, OffPeak)));
    plan.push((TEMPO_OFF_PEAK_START, tempo_class(day, Peak)));
    plan.push((crate::END_OF_DAY, tempo_class(day, OffPeak)));
}

/// The colours of a run of consecutive days, read from a calendar once (in order, through
/// its map) and then by index: the classifier [`split_by_colour`] uses, one calendar read
/// per day instead of two map lookups. Days outside the run are asked of the calendar.
struct DayRun<'a> {
    calendar: &'a ColourCalendar,
    first: NaiveDate,
    colours: Vec<Option<DayColour>>,
    /// Whether every day of the run has its colour.
    complete: bool,
}

impl<'a> DayRun<'a> {
    /// The days `[first, last]` of `calendar`.
    fn new(calendar: &'a ColourCalendar, first: NaiveDate, last: NaiveDate) -> DayRun<'a> {
        let length = usize::try_from((last - first).num_days() + 1).unwrap_or(0);
        let mut colours = vec![None; length];
        let mut known = 0;
        for (date, colour) in calendar.days.range(first..=last) {
            if let Some(slot) = usize::try_from((*date - first).num_days())
                .ok()
                .and_then(|index| colours.get_mut(index))
            {
                *slot = Some(*colour);
                known += 1;
            }
        }
        DayRun {
            calendar,
            first,
            complete: known == length,
            colours,
        }
    }

    fn colour(&self, date: NaiveDate) -> Option<DayColour> {
        let index = i64::from(date.num_days_from_ce()) - i64::from(self.first.num_days_from_ce());
        match usize::try_from(index)
            .ok()
            .and_then(|i| self.colours.get(i))
        {
            Some(colour) => *colour,
            None => self.calendar.colour(date),
        }
    }
}

impl TariffClassifier<6> for DayRun<'_> {
    fn plan_day(&self, date: NaiveDate, plan: &mut Vec<(u16, u8)>) {
        let [yesterday, today] = TempoClassifier::needs(date);
        tempo_plan(self.colour(yesterday), self.colour(today), plan);
    }
}

/// A curve split by colour, and the days that wait for a colour.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ColourSplit {
    /// The split of the days whose colours are known (six Tempo classes).
    pub split: SplitCurve<6>,
    /// The local days left out: a colour they need is not known yet.
    pub waiting: Vec<NaiveDate>,
}

/// Splits `curve` into Tempo's six classes by `calendar`, day by day; a local day whose
/// colour or whose previous day's colour is unknown is left out and reported: its split
/// waits until the colour is known. The classes of every kept day add up to its energy
/// exactly, DST days included.
///
/// ```
/// use chrono::NaiveDate;
/// use linky_core::{
///     split_by_colour, ColourCalendar, DayColour, IntervalLength, LoadCurve, Power, Reading, PARIS,
/// };
/// let day = NaiveDate::from_ymd_opt(2025, 1, 15).unwrap();
/// let readings: Vec<Reading> = (1..=48)
///     .map(|half_hour| {
///         let end = day.and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::minutes(30 * half_hour);
///         Reading::new(end, IntervalLength::PT30M, Power::from_watts(1000))
///     })
///     .collect();
/// let curve = LoadCurve::builder(PARIS).build(&readings).0;
/// let mut calendar = ColourCalendar::new();
/// calendar.set(day, DayColour::Red);
/// // The night before 06:00 needs the 14th's colour.
/// assert_eq!(split_by_colour(&curve, &calendar).waiting, [day]);
/// calendar.set(day.pred_opt().unwrap(), DayColour::White);
/// let split = split_by_colour(&curve, &calendar);
/// let kwh = split.split.totals().map(|e| e.as_wh_f64() / 1000.0);
/// // White off-peak 00:00-06:00, red peak 06:00-22:00, red off-peak 22:00-24:00.
/// assert_eq!(kwh, [0.0, 0.0, 0.0, 6.0, 16.0, 2.0]);
/// ```
pub fn split_by_colour(curve: &LoadCurve, calendar: &ColourCalendar) -> ColourSplit {
    // The local days the curve touches, and the night before the first.
    let local_day = |minute: i64| {
        chrono::DateTime::from_timestamp(minute * 60, 0)
            .map(|at| at.with_timezone(&curve.time_zone()).date_naive())
    };
    let first = curve
        .intervals()
        .first()
        .and_then(|i| local_day(i.start_minute()));
    let last = curve
        .intervals()
        .last()
        .and_then(|i| local_day(i.end_minute() - 1));
    let (Some(first), Some(last)) = (first, last) else {
        return ColourSplit {
            split: curve.split(&TempoClassifier::new(calendar)),
            waiting: Vec::new(),
        };
    };
    let days = DayRun::new(calendar, first.pred_opt().unwrap_or(first), last);
    let split = curve.split(&days);
    // Every colour known (the usual case once a calendar is kept): nothing to leave out.
    if days.complete {
        return ColourSplit {
            split,
            waiting: Vec::new(),
        };
    }
    keep_known_days(split, calendar)
}

/// [`split_by_colour`] from a curve already split (by any classifier): each clock hour's
/// energy goes to its Tempo class, exactly (Tempo's classes change only on the hour).
/// Days whose colours are not all known are left out and reported.
pub fn recolour<const N: usize>(split: &SplitCurve<N>, calendar: &ColourCalendar) -> ColourSplit {
    let classifier = TempoClassifier::new(calendar);
    let mut plan = Vec::with_capacity(3);
    let split: SplitCurve<6> = split.reclassify_hours(|date, minute| {
        classifier.plan_day(date, &mut plan);
        plan.iter()
            .find(|(end, _)| minute < *end)
            .map_or(0, |(_, class)| *class)
    });
    keep_known_days(split, calendar)
}

/// Leaves out the days whose colours (their own, their night's) are not all known, and
/// says which.
fn keep_known_days(mut split: SplitCurve<6>, calendar: &ColourCalendar) -> ColourSplit {
    let mut waiting = Vec::new();
    split.retain_days(|date| {
        let known = TempoClassifier::needs(date)
            .iter()
            .all(|d| calendar.colour(*d).is_some());
        if !known {
            waiting.push(date);
        }
        known
    });
    ColourSplit { split, waiting }
}

/// Where day colours come from (RTE, a community cache...), as a sync sees it.
#[async_trait::async_trait]
pub trait ColourSource: Send + Sync {
    /// A short name for messages.
    fn name(&self) -> &str;

    /// The colours published for the local days `[from, to)`; a day not published yet is
    /// absent, never guessed.
    async fn colours(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<ColourCalendar, crate::SourceError>;
}

/// Several colour sources, asked in order: each one for the days the ones before it did
/// not give (an error moves on to the next one). The calendar holds every day any of them
/// gave; it fails only when every source failed.
///
/// ```
/// # async fn example(rte: &dyn linky_core::ColourSource, cache: &dyn linky_core::ColourSource) {
/// use chrono::NaiveDate;
/// use linky_core::{ColourSource, FallbackColours};
/// let sources = FallbackColours::new(vec![rte, cache]);
/// let from = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
/// let calendar = sources.colours(from, from + chrono::Duration::days(31)).await;
/// # }
/// ```
pub struct FallbackColours<'a> {
    sources: Vec<&'a dyn ColourSource>,
}

impl<'a> FallbackColours<'a> {
    /// The sources, the preferred one first.
    pub fn new(sources: Vec<&'a dyn ColourSource>) -> FallbackColours<'a> {
        FallbackColours { sources }
    }
}

#[async_trait::async_trait]
impl ColourSource for FallbackColours<'_> {
    fn name(&self) -> &str {
        "fallback"
    }

    async fn colours(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<ColourCalendar, crate::SourceError> {
        let mut calendar = ColourCalendar::new();
        let mut last_error = None;
        for source in &self.sources {
            // Unknown days, and days a source gave in a degraded mode: the next source
            // may know them for good.
            let mut missing = calendar.missing(from, to);
            missing.extend(calendar.degraded.range(from..to).copied());
            missing.sort_unstable();
            let (Some(first), Some(last)) = (missing.first(), missing.last()) else {
                break;
            };
            match source.colours(*first, crate::shift_days(*last, 1)).await {
                Ok(found) => {
                    for (date, colour) in found.days() {
                        if !missing.contains(&date) {
                            continue;
                        }
                        if !found.is_degraded(date) {
                            calendar.set(date, colour);
                        } else if calendar.colour(date).is_none() {
                            calendar.set_degraded(date, colour);
                        }
                    }
                }
                Err(error) => last_error = Some(error),
            }
        }
        match last_error {
            Some(error) if calendar.is_empty() => Err(error),
            _ => Ok(calendar),
        }
    }
}
