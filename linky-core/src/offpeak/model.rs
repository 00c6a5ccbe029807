//! The typed off-peak configuration, its canonical form, and the lookup.

use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike, Weekday};

use crate::{Flow, HolidayZone, is_holiday};

/// Minutes in a day: the end of a range that runs to midnight.
pub const END_OF_DAY: u16 = 24 * 60;

/// An off-peak range `[begin, end)` in minutes of the local day (0 to 1440). A range whose
/// end is before its begin wraps over midnight **within the same day-section**: it is
/// `[begin, 1440) ∪ [0, end)` of the same day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeRange {
    begin: u16,
    end: u16,
}

impl TimeRange {
    /// The range from `begin` to `end` minutes (each 0 to 1440), or `None` out of bounds.
    ///
    /// An end of 1439 (23:59) is refused: the language reads `23h59` as an end as the end
    /// of the day (1440), so such a range would have no text form.
    pub const fn new(begin: u16, end: u16) -> Option<TimeRange> {
        if begin > END_OF_DAY || end > END_OF_DAY || end == END_OF_DAY - 1 {
            None
        } else {
            Some(TimeRange { begin, end })
        }
    }

    /// Where the range begins, in minutes after local midnight.
    pub const fn begin(self) -> u16 {
        self.begin
    }

    /// Where the range ends (excluded), in minutes after local midnight; 1440 is midnight
    /// at the end of the day.
    pub const fn end(self) -> u16 {
        self.end
    }

    /// Whether the range holds no minute (its begin equals its end).
    pub const fn is_empty(self) -> bool {
        self.begin == self.end || (self.begin == END_OF_DAY && self.end == 0)
    }

    /// Whether the minute starting `minute` minutes after midnight is in the range.
    pub const fn contains(self, minute: u16) -> bool {
        if self.begin <= self.end {
            self.begin <= minute && minute < self.end
        } else {
            minute >= self.begin || minute < self.end
        }
    }

    /// The range as one or two non-wrapping pieces `[begin, end)` of the day.
    pub fn pieces(self) -> impl Iterator<Item = (u16, u16)> {
        let (first, second) = if self.begin <= self.end {
            ((self.begin, self.end), None)
        } else {
            ((self.begin, END_OF_DAY), Some((0, self.end)))
        };
        std::iter::once(first)
            .chain(second)
            .filter(|(begin, end)| begin < end)
    }
}

impl fmt::Display for TimeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", Clock(self.begin), Clock(self.end))
    }
}

/// A minute of the day printed as `HH:MM` (1440 as `24:00`).
pub(crate) struct Clock(pub(crate) u16);

impl fmt::Display for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// The off-peak ranges of one direction in one section: every day, per weekday, and on
/// public holidays.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Part {
    /// Ranges that apply on days without a section of their own.
    pub every_day: Vec<TimeRange>,
    /// Per weekday (Monday first): `Some` when the day has a section, even an empty one
    /// (then that day is all peak).
    pub weekdays: [Option<Vec<TimeRange>>; 7],
    /// The holiday section, if any.
    pub holidays: Option<Vec<TimeRange>>,
}

impl Part {
    /// The ranges that apply on `date` (the lookup's third step).
    pub fn ranges_on(&self, date: NaiveDate, zone: HolidayZone) -> &[TimeRange] {
        if let Some(holidays) = &self.holidays
            && is_holiday(date, zone)
        {
            return holidays;
        }
        self.weekday_ranges(date.weekday())
    }

    /// The ranges of `weekday` on an ordinary (non-holiday) day.
    pub fn weekday_ranges(&self, weekday: Weekday) -> &[TimeRange] {
        self.weekdays[weekday.num_days_from_monday() as usize]
            .as_deref()
            .unwrap_or(&self.every_day)
    }

    fn is_blank(&self) -> bool {
        self.every_day.is_empty()
            && self.weekdays.iter().all(Option::is_none)
            && self.holidays.is_none()
    }
}

/// One section: the consumption part and, if given, the production part.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    /// The consumption part (also used for production when there is no production part).
    pub consumption: Part,
    /// The production part, if the section has one (`P`).
    pub production: Option<Part>,
}

impl Section {
    /// The part that applies to `flow` (the lookup's second step).
    pub fn part(&self, flow: Flow) -> &Part {
        match (flow, &self.production) {
            (Flow::Production, Some(production)) => production,
            _ => &self.consumption,
        }
    }
}

/// A season of the off-peak reform (TURPE 7): summer runs from 1 April to 31 October,
/// winter from 1 November to 31 March.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Season {
    /// 1 April to 31 October (`summer`, `été`).
    Summer,
    /// 1 November to 31 March (`winter`, `hiver`).
    Winter,
}

impl Season {
    /// The season of `date`.
    pub fn of(date: NaiveDate) -> Season {
        if (4..=10).contains(&date.month()) {
            Season::Summer
        } else {
            Season::Winter
        }
    }

    /// The canonical word (`summer`, `winter`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Season::Summer => "summer",
            Season::Winter => "winter",
        }
    }
}

impl fmt::Display for Season {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A part of a schedule that holds between two dates (both included; either may be open),
/// with seasonal parts of its own.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatedPart {
    /// The first day it holds (`from`), if bounded.
    pub from: Option<NaiveDate>,
    /// The last day it holds (`until`, included), if bounded.
    pub until: Option<NaiveDate>,
    /// What holds then: its sections, and its own seasons (never periods of its own).
    pub schedule: OffPeakConfig,
}

impl DatedPart {
    /// Whether `date` lies in the part's dates.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.from.is_none_or(|from| from <= date) && self.until.is_none_or(|until| date <= until)
    }

    /// Whether two parts share a day.
    pub fn overlaps(&self, other: &DatedPart) -> bool {
        let starts_before_other_ends = match (self.from, other.until) {
            (Some(from), Some(until)) => from <= until,
            _ => true,
        };
        let other_starts_before_this_ends = match (other.from, self.until) {
            (Some(from), Some(until)) => from <= until,
            _ => true,
        };
        starts_before_other_ends && other_starts_before_this_ends
    }
}

/// A whole off-peak configuration, as parsed from the "Heures creuses" text.
///
/// A schedule may change over time: **dated parts** (`from 2025-11-01 ...`, `until
/// 2025-10-31 ...`, `from D until D ...`) and **seasons** (`summer ...`, `winter ...`,
/// also inside a dated part) each hold a whole schedule of their own (default section,
/// PDL sections, days, holidays, production). On a local day, the schedule in force for a
/// PDL ([`OffPeakConfig::on`]) is the first that has a section for it (its own or a
/// default one), from the most specific: the season of the dated part holding the day,
/// that dated part, the season at the top, then the words before any period (the
/// **base**). A part without a section for a PDL leaves its days to the next, so
/// `from 2025-11-01 12345678901234 23h-7h` changes that PDL's hours only; write
/// `00:00-00:00` for "no off-peak hours" in a period.
///
/// ```
/// use linky_core::{Flow, HolidayZone, OffPeakConfig};
/// let config: OffPeakConfig = "2h00-7h00 13h00-16h00 mercredi 08h00-15h00".parse().unwrap();
/// assert_eq!(config.to_string(), "02:00-07:00 13:00-16:00 wed 08:00-15:00");
/// let wednesday_noon = "2024-06-05T12:00:00".parse().unwrap();
/// assert!(config.is_off_peak("22516914714270", Flow::Consumption, wednesday_noon, HolidayZone::Metropole));
/// ```
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OffPeakConfig {
    /// The section used for every PDL that has none of its own.
    pub default: Option<Section>,
    /// The PDL sections, in the order given (the PDL as written: a run of digits).
    pub usage_points: Vec<(String, Section)>,
    /// Seasonal schedules (each with no seasons or periods of its own), at most one per
    /// season.
    pub seasons: Vec<(Season, OffPeakConfig)>,
    /// Dated schedules, which never overlap (only at the top level).
    pub periods: Vec<DatedPart>,
}

/// The separator of a merged device's id: `C / P`.
pub const MERGED_DEVICE_SEPARATOR: &str = " / ";

impl OffPeakConfig {
    /// Whether this schedule has a section of its own (a default or a PDL section),
    /// ignoring its seasons and periods.
    pub fn has_sections(&self) -> bool {
        self.default.is_some() || !self.usage_points.is_empty()
    }

    /// Whether the schedule changes over time (it has seasons or dated parts).
    pub fn is_dated(&self) -> bool {
        !self.seasons.is_empty() || !self.periods.is_empty()
    }

    /// The schedule in force for `pdl` on local day `date`: a season's, a dated part's,
    /// or the base (this one, whose own sections are then what [`OffPeakConfig::section`]
    /// sees).
    pub fn on(&self, date: NaiveDate, pdl: &str) -> &OffPeakConfig {
        self.layer(self.layer_index(date, pdl))
    }

    /// Every schedule that may be in force, base first, then the top seasons, then for
    /// each dated part its own schedule and its seasons: [`OffPeakConfig::layer_index`]
    /// indexes this list.
    pub fn layers(&self) -> Vec<&OffPeakConfig> {
        let mut layers = vec![self];
        layers.extend(self.seasons.iter().map(|(_, schedule)| schedule));
        for period in &self.periods {
            layers.push(&period.schedule);
            layers.extend(period.schedule.seasons.iter().map(|(_, schedule)| schedule));
        }
        layers
    }

    fn layer(&self, index: usize) -> &OffPeakConfig {
        let mut index = index;
        if index == 0 {
            return self;
        }
        index -= 1;
        if let Some((_, schedule)) = self.seasons.get(index) {
            return schedule;
        }
        index -= self.seasons.len();
        for period in &self.periods {
            if index == 0 {
                return &period.schedule;
            }
            index -= 1;
            if let Some((_, schedule)) = period.schedule.seasons.get(index) {
                return schedule;
            }
            index -= period.schedule.seasons.len();
        }
        self
    }

    /// The index in [`OffPeakConfig::layers`] of the schedule in force for `pdl` on
    /// `date`.
    pub fn layer_index(&self, date: NaiveDate, pdl: &str) -> usize {
        if !self.is_dated() {
            return 0;
        }
        let season = Season::of(date);
        let says = |schedule: &OffPeakConfig| schedule.section(pdl).is_some();
        let mut base = 1 + self.seasons.len();
        // Parsed periods never overlap; composed ones may (the distributor's hours of one
        // PDL beside the user's periods): the first holding the day with a section wins.
        for period in &self.periods {
            if period.contains(date) {
                let seasons = &period.schedule.seasons;
                if let Some(n) = seasons
                    .iter()
                    .position(|(s, schedule)| *s == season && says(schedule))
                {
                    return base + 1 + n;
                }
                if says(&period.schedule) {
                    return base;
                }
            }
            base += 1 + period.schedule.seasons.len();
        }
        self.seasons
            .iter()
            .position(|(s, schedule)| *s == season && says(schedule))
            .map_or(0, |n| 1 + n)
    }

    /// The section that applies to `pdl` (the lookup's first step) in this schedule's own
    /// sections (the base of a dated schedule: see [`OffPeakConfig::on`]).
    pub fn section(&self, pdl: &str) -> Option<&Section> {
        self.usage_points
            .iter()
            .find(|(id, _)| id == pdl)
            .map(|(_, section)| section)
            .or(self.default.as_ref())
    }

    /// Whether `pdl` has its own section (rather than the default one).
    pub fn has_own_section(&self, pdl: &str) -> bool {
        self.usage_points.iter().any(|(id, _)| id == pdl)
    }

    /// The part that applies to `pdl` and `flow`, if any section applies. A merged
    /// device id `C / P` looks consumption up as `C` and production as `P`.
    pub fn part(&self, device: &str, flow: Flow) -> Option<&Part> {
        let pdl = pdl_for_flow(device, flow);
        self.section(pdl).map(|section| section.part(flow))
    }

    /// Whether the minute starting at local time `at` is off-peak for `device` (a PDL or
    /// a merged `C / P`) and `flow`.
    pub fn is_off_peak(
        &self,
        device: &str,
        flow: Flow,
        at: NaiveDateTime,
        zone: HolidayZone,
    ) -> bool {
        let pdl = pdl_for_flow(device, flow);
        let Some(part) = self.on(at.date(), pdl).part(device, flow) else {
            return false;
        };
        let minute = (at.hour() * 60 + at.minute()) as u16;
        part.ranges_on(at.date(), zone)
            .iter()
            .any(|range| range.contains(minute))
    }

    /// Whether `device` has two tariffs: the configuration (at any time of it) has a
    /// default section or a section for that PDL (for a merged device, for either PDL).
    pub fn has_two_tariffs(&self, device: &str) -> bool {
        self.layers()
            .iter()
            .any(|layer| match device.split_once(MERGED_DEVICE_SEPARATOR) {
                Some((consumption, production)) => {
                    layer.section(consumption.trim()).is_some()
                        || layer.section(production.trim()).is_some()
                }
                None => layer.section(device).is_some(),
            })
    }

    /// Whether the configuration is empty (no off-peak anywhere, at any time).
    pub fn is_empty(&self) -> bool {
        self.layers().iter().all(|layer| !layer.has_sections())
    }
}

/// The PDL whose schedule applies to `flow` on `device` (a PDL or `C / P`).
pub fn pdl_for_flow(device: &str, flow: Flow) -> &str {
    match (device.split_once(MERGED_DEVICE_SEPARATOR), flow) {
        (Some((consumption, _)), Flow::Consumption) => consumption.trim(),
        (Some((_, production)), Flow::Production) => production.trim(),
        (None, _) => device,
    }
}

const DAY_WORDS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// The canonical word of a weekday (`mon` ... `sun`).
pub(crate) fn day_word(index: usize) -> &'static str {
    DAY_WORDS[index]
}

/// Writes ranges separated by spaces; an empty list as the empty range `00:00-00:00`
/// when `placeholder` (so that a section word is never directly followed by another).
fn write_ranges(out: &mut Vec<String>, ranges: &[TimeRange], placeholder: bool) {
    if ranges.is_empty() && placeholder {
        out.push("00:00-00:00".to_owned());
    }
    out.extend(ranges.iter().map(ToString::to_string));
}

fn write_part(out: &mut Vec<String>, part: &Part) {
    write_ranges(out, &part.every_day, false);
    for (index, day) in part.weekdays.iter().enumerate() {
        if let Some(ranges) = day {
            out.push(day_word(index).to_owned());
            write_ranges(out, ranges, true);
        }
    }
    if let Some(ranges) = &part.holidays {
        out.push("holiday".to_owned());
        write_ranges(out, ranges, true);
    }
}

fn write_section(out: &mut Vec<String>, section: &Section, placeholder: bool) {
    let start = out.len();
    write_part(out, &section.consumption);
    if let Some(production) = &section.production {
        out.push("P".to_owned());
        write_part(out, production);
    }
    if placeholder && out.len() == start {
        // A default section that exists but holds nothing must still print something.
        out.push("00:00-00:00".to_owned());
    }
}

/// Writes a schedule's own sections; `placeholder`: something even when it has none (a
/// season's body, which may not be empty).
fn write_body(words: &mut Vec<String>, schedule: &OffPeakConfig, placeholder: bool) {
    if let Some(section) = &schedule.default {
        write_section(words, section, true);
    } else if placeholder && schedule.usage_points.is_empty() {
        words.push("00:00-00:00".to_owned());
    }
    for (pdl, section) in &schedule.usage_points {
        words.push(pdl.clone());
        write_section(words, section, false);
    }
}

fn write_seasons(words: &mut Vec<String>, schedule: &OffPeakConfig) {
    for (season, body) in &schedule.seasons {
        words.push(season.as_str().to_owned());
        write_body(words, body, true);
    }
}

impl fmt::Display for OffPeakConfig {
    /// The canonical form: times as `HH:MM`, English three-letter days, `holiday`, `P`,
    /// `summer`, `winter`, `from YYYY-MM-DD`, `until YYYY-MM-DD`; it parses back to the same
    /// configuration.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut words = Vec::new();
        write_body(&mut words, self, false);
        write_seasons(&mut words, self);
        for period in &self.periods {
            if let Some(from) = period.from {
                words.push(format!("from {from}"));
            }
            if let Some(until) = period.until {
                words.push(format!("until {until}"));
            }
            write_body(&mut words, &period.schedule, false);
            write_seasons(&mut words, &period.schedule);
        }
        f.write_str(&words.join(" "))
    }
}

impl Part {
    /// Whether this part holds nothing at all (no range, no day, no holiday section).
    pub fn is_empty(&self) -> bool {
        self.is_blank()
    }
}
