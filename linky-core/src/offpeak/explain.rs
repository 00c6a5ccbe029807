//! The human explanation of a schedule: the weekly timetable of one device and flow.

use std::fmt;

use chrono::Weekday;

use super::model::{Clock, END_OF_DAY, OffPeakConfig, Season, TimeRange, day_word, pdl_for_flow};
use crate::Flow;

/// The off-peak hours of one device and flow, day by day: what applies, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timetable {
    /// Which section applies, in words.
    pub source: String,
    /// Off-peak pieces `[begin, end)` of each weekday (Monday first), merged and sorted.
    pub weekdays: [Vec<(u16, u16)>; 7],
    /// Off-peak pieces of public holidays, when they have their own section.
    pub holidays: Option<Vec<(u16, u16)>>,
    /// The flow described.
    pub flow: Flow,
    /// The device described.
    pub device: String,
}

/// Merges ranges into sorted, disjoint, non-wrapping pieces.
fn merged_pieces(ranges: &[TimeRange]) -> Vec<(u16, u16)> {
    let mut pieces: Vec<(u16, u16)> = ranges.iter().flat_map(|range| range.pieces()).collect();
    pieces.sort_unstable();
    let mut merged: Vec<(u16, u16)> = Vec::new();
    for (begin, end) in pieces {
        match merged.last_mut() {
            Some(last) if begin <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((begin, end)),
        }
    }
    merged
}

impl OffPeakConfig {
    /// The weekly timetable of `device` (a PDL or `C / P`) for `flow`.
    ///
    /// ```
    /// use linky_core::{Flow, OffPeakConfig};
    /// let config: OffPeakConfig = "22h30-6h30 sa 0h-23h59".parse().unwrap();
    /// let text = config.timetable("22516914714270", Flow::Consumption).to_string();
    /// assert!(text.contains("mon  00:00-06:30 22:30-24:00"));
    /// assert!(text.contains("sat  00:00-24:00 (all day)"));
    /// ```
    pub fn timetable(&self, device: &str, flow: Flow) -> Timetable {
        let pdl = pdl_for_flow(device, flow);
        let (source, part) = match self.section(pdl) {
            None => ("no section applies: all peak".to_owned(), None),
            Some(section) => {
                let whose = if self.has_own_section(pdl) {
                    format!("the section of {pdl}")
                } else {
                    "the default section".to_owned()
                };
                let which = match (flow, &section.production) {
                    (Flow::Production, Some(_)) => "its production part",
                    (Flow::Production, None) => "its consumption part (no production part)",
                    (Flow::Consumption, _) => "its consumption part",
                };
                (format!("{whose}, {which}"), Some(section.part(flow)))
            }
        };
        let weekdays = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ]
        .map(|weekday| {
            part.map_or_else(Vec::new, |part| merged_pieces(part.weekday_ranges(weekday)))
        });
        Timetable {
            source,
            weekdays,
            holidays: part.and_then(|part| part.holidays.as_deref().map(merged_pieces)),
            flow,
            device: device.to_owned(),
        }
    }
}

impl OffPeakConfig {
    /// The timetable of each schedule that may be in force for `device` and `flow`, with
    /// when: the base first ("always", or "otherwise" when there are seasons or dated
    /// parts), then each season and dated part. A part without a section for the device's
    /// PDL is left out (the next one holds on its days).
    ///
    /// ```
    /// use linky_core::{Flow, OffPeakConfig};
    /// let config: OffPeakConfig = "22h-6h from 2025-11-01 23h-7h summer 23h-5h 12h-15h".parse().unwrap();
    /// let periods: Vec<String> = config
    ///     .timetables("22516914714270", Flow::Consumption)
    ///     .into_iter()
    ///     .map(|(when, _)| when)
    ///     .collect();
    /// assert_eq!(periods, ["otherwise", "from 2025-11-01", "from 2025-11-01, in summer (1 April - 31 October)"]);
    /// ```
    pub fn timetables(&self, device: &str, flow: Flow) -> Vec<(String, Timetable)> {
        let pdl = pdl_for_flow(device, flow);
        let says = |schedule: &OffPeakConfig| schedule.section(pdl).is_some();
        let season_words = |season: Season| match season {
            Season::Summer => "in summer (1 April - 31 October)",
            Season::Winter => "in winter (1 November - 31 March)",
        };
        let mut found = vec![(
            if self.is_dated() {
                "otherwise"
            } else {
                "always"
            }
            .to_owned(),
            self.timetable(device, flow),
        )];
        for (season, schedule) in &self.seasons {
            if says(schedule) {
                found.push((
                    season_words(*season).to_owned(),
                    schedule.timetable(device, flow),
                ));
            }
        }
        for period in &self.periods {
            let dates = match (period.from, period.until) {
                (Some(from), Some(until)) => format!("from {from} until {until}"),
                (Some(from), None) => format!("from {from}"),
                (None, Some(until)) => format!("until {until}"),
                (None, None) => "always".to_owned(),
            };
            if says(&period.schedule) {
                found.push((dates.clone(), period.schedule.timetable(device, flow)));
            }
            for (season, schedule) in &period.schedule.seasons {
                if says(schedule) {
                    found.push((
                        format!("{dates}, {}", season_words(*season)),
                        schedule.timetable(device, flow),
                    ));
                }
            }
        }
        found
    }
}

fn write_pieces(f: &mut fmt::Formatter<'_>, pieces: &[(u16, u16)]) -> fmt::Result {
    if pieces.is_empty() {
        return f.write_str("all peak");
    }
    let text: Vec<String> = pieces
        .iter()
        .map(|&(begin, end)| format!("{}-{}", Clock(begin), Clock(end)))
        .collect();
    f.write_str(&text.join(" "))?;
    if pieces == [(0, END_OF_DAY)] {
        f.write_str(" (all day)")?;
    }
    Ok(())
}

impl fmt::Display for Timetable {
    /// A header line, then one line per weekday and one for holidays, each listing the
    /// off-peak hours.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} of {}: {}", self.flow, self.device, self.source)?;
        for (index, pieces) in self.weekdays.iter().enumerate() {
            write!(f, "  {}  ", day_word(index))?;
            write_pieces(f, pieces)?;
            writeln!(f)?;
        }
        f.write_str("  holidays  ")?;
        match &self.holidays {
            Some(pieces) => write_pieces(f, pieces)?,
            None => f.write_str("as their weekday")?,
        }
        writeln!(f)
    }
}
