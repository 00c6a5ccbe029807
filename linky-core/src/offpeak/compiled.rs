//! The compiled form of a schedule: built once per (device, flow, holiday zone), it
//! answers "which tariff, and until when" without looking at the configuration again,
//! so that a tariff splitter can walk years of readings quickly.

use chrono::{Datelike, NaiveDate};

use super::model::{DatedPart, END_OF_DAY, OffPeakConfig, Section, TimeRange, pdl_for_flow};
use crate::{Flow, HolidayZone, Tariff, is_holiday};

/// Which table of a [`CompiledSchedule`] applies on a day: a weekday, or the holiday
/// table, of the schedule in force that day (see [`OffPeakConfig::on`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DayKind {
    table: u8,
    layer: u16,
}

impl DayKind {
    /// The table of public holidays (of the base schedule).
    pub const HOLIDAY: DayKind = DayKind { table: 7, layer: 0 };

    /// The table of an ordinary `weekday` (of the base schedule).
    pub fn weekday(weekday: chrono::Weekday) -> DayKind {
        DayKind {
            table: weekday.num_days_from_monday() as u8,
            layer: 0,
        }
    }

    /// The index of the table (0 = Monday ... 6 = Sunday, 7 = holidays).
    pub const fn index(self) -> usize {
        self.table as usize
    }

    /// Which schedule is in force: its index in [`OffPeakConfig::layers`] (0 = the base).
    pub const fn layer(self) -> usize {
        self.layer as usize
    }
}

/// A day's off-peak minutes as sorted boundaries: the tariff toggles at each one,
/// starting with peak at minute 0. `[120, 420]` is off-peak from 02:00 to 07:00.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct DayTable {
    boundaries: Vec<u16>,
}

impl DayTable {
    fn from_ranges(ranges: &[TimeRange]) -> DayTable {
        let mut off_peak = [false; END_OF_DAY as usize];
        for range in ranges {
            for (begin, end) in range.pieces() {
                off_peak[begin as usize..end as usize].fill(true);
            }
        }
        let mut boundaries = Vec::new();
        let mut current = false;
        for (minute, &value) in off_peak.iter().enumerate() {
            if value != current {
                boundaries.push(minute as u16);
                current = value;
            }
        }
        if current {
            boundaries.push(END_OF_DAY);
        }
        DayTable { boundaries }
    }

    fn tariff_at(&self, minute: u16) -> (Tariff, u16) {
        let index = self
            .boundaries
            .partition_point(|&boundary| boundary <= minute);
        let tariff = if index % 2 == 1 {
            Tariff::OffPeak
        } else {
            Tariff::Peak
        };
        let until = self.boundaries.get(index).copied().unwrap_or(END_OF_DAY);
        (tariff, until)
    }

    /// Off-peak minutes in `[from, to)`.
    fn off_peak_minutes(&self, from: u16, to: u16) -> u16 {
        self.boundaries
            .chunks(2)
            .map(|pair| {
                let (begin, end) = (pair[0], pair.get(1).copied().unwrap_or(END_OF_DAY));
                end.min(to).saturating_sub(begin.max(from))
            })
            .sum()
    }
}

/// A schedule compiled for one device (a PDL or a merged `C / P`), one flow and one
/// holiday zone.
///
/// ```
/// use chrono::NaiveDate;
/// use linky_core::{CompiledSchedule, Flow, HolidayZone, OffPeakConfig, Tariff};
/// let config: OffPeakConfig = "22h30-6h30 sa 00h00-23h59 fe 00h00-23h59".parse().unwrap();
/// let schedule = CompiledSchedule::new(&config, "22516914714270", Flow::Consumption, HolidayZone::Metropole);
/// let monday = NaiveDate::from_ymd_opt(2024, 6, 3).unwrap();
/// assert_eq!(schedule.tariff_at(monday, 6 * 60), (Tariff::OffPeak, 6 * 60 + 30));
/// assert_eq!(schedule.tariff_at(monday, 7 * 60), (Tariff::Peak, 22 * 60 + 30));
/// let bastille_day = NaiveDate::from_ymd_opt(2024, 7, 14).unwrap();
/// assert_eq!(schedule.tariff_at(bastille_day, 12 * 60), (Tariff::OffPeak, 1440));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledSchedule {
    /// Per schedule that may be in force (the configuration's layers), its eight tables.
    layers: Vec<Layer>,
    /// The configuration's seasons and dates only (no sections), to find a day's layer.
    calendar: Option<OffPeakConfig>,
    zone: HolidayZone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Layer {
    tables: [DayTable; 8],
    holidays_apply: bool,
}

impl Layer {
    fn new(config: &OffPeakConfig, device: &str, flow: Flow) -> Layer {
        let part = config.part(device, flow);
        let weekdays = [
            chrono::Weekday::Mon,
            chrono::Weekday::Tue,
            chrono::Weekday::Wed,
            chrono::Weekday::Thu,
            chrono::Weekday::Fri,
            chrono::Weekday::Sat,
            chrono::Weekday::Sun,
        ];
        let tables = std::array::from_fn(|index| match (part, weekdays.get(index)) {
            (None, _) => DayTable::default(),
            (Some(part), Some(&weekday)) => DayTable::from_ranges(part.weekday_ranges(weekday)),
            (Some(part), None) => DayTable::from_ranges(part.holidays.as_deref().unwrap_or(&[])),
        });
        Layer {
            tables,
            holidays_apply: part.is_some_and(|part| part.holidays.is_some()),
        }
    }
}

/// The configuration reduced to what picks a day's layer for `pdl`: its seasons and
/// dates, and in each layer an empty default section where the original has a section
/// for `pdl`. It answers [`OffPeakConfig::layer_index`] as the original does, without
/// copying the ranges.
fn calendar_of(config: &OffPeakConfig, pdl: &str) -> OffPeakConfig {
    let marker = |schedule: &OffPeakConfig| OffPeakConfig {
        default: schedule.section(pdl).map(|_| Section::default()),
        usage_points: Vec::new(),
        seasons: schedule
            .seasons
            .iter()
            .map(|(season, body)| {
                let marked = OffPeakConfig {
                    default: body.section(pdl).map(|_| Section::default()),
                    ..OffPeakConfig::default()
                };
                (*season, marked)
            })
            .collect(),
        periods: Vec::new(),
    };
    let mut calendar = marker(config);
    calendar.periods = config
        .periods
        .iter()
        .map(|period| DatedPart {
            from: period.from,
            until: period.until,
            schedule: marker(&period.schedule),
        })
        .collect();
    calendar
}

impl CompiledSchedule {
    /// Compiles what `config` says for `device` and `flow`, with the holidays of `zone`,
    /// for every schedule it may have in force (seasons, dated parts).
    ///
    /// `device` is a usage point's number, or `C / P` for a merged device: it picks the
    /// schedule's section for that usage point (and flow). A schedule without PDL
    /// sections applies to every usage point, so any `device` will do, even `""`.
    ///
    /// ```
    /// use linky_core::{CompiledSchedule, Flow, HolidayZone, Schedule, Tariff};
    /// let schedule: Schedule = "22h00-6h00".parse().unwrap();
    /// let compiled = CompiledSchedule::new(&schedule, "", Flow::Consumption, HolidayZone::Metropole);
    /// let day = chrono::NaiveDate::from_ymd_opt(2025, 3, 4).unwrap();
    /// // At 23:00, off-peak until midnight (minute 1440).
    /// assert_eq!(compiled.tariff_at(day, 23 * 60), (Tariff::OffPeak, 1440));
    /// ```
    pub fn new(
        config: &OffPeakConfig,
        device: &str,
        flow: Flow,
        zone: HolidayZone,
    ) -> CompiledSchedule {
        let layers: Vec<Layer> = config
            .layers()
            .into_iter()
            .map(|layer| Layer::new(layer, device, flow))
            .collect();
        CompiledSchedule {
            layers,
            calendar: config
                .is_dated()
                .then(|| calendar_of(config, pdl_for_flow(device, flow))),
            zone,
        }
    }

    /// Which table applies on `date`: the schedule in force that day, and in it the
    /// holiday table or the weekday's.
    pub fn day_kind(&self, date: NaiveDate) -> DayKind {
        let layer = self
            .calendar
            .as_ref()
            .map_or(0, |calendar| calendar.layer_index(date, ""));
        let holidays_apply = self.layers.get(layer).is_some_and(|l| l.holidays_apply);
        let table = if holidays_apply && is_holiday(date, self.zone) {
            7
        } else {
            date.weekday().num_days_from_monday() as u8
        };
        DayKind {
            table,
            layer: layer as u16,
        }
    }

    /// The tariff of the minute starting `minute` minutes after local midnight on
    /// `date`, and the minute of that day (1440 = midnight) until which it holds.
    pub fn tariff_at(&self, date: NaiveDate, minute: u16) -> (Tariff, u16) {
        self.tariff_in(self.day_kind(date), minute)
    }

    fn table(&self, kind: DayKind) -> &DayTable {
        static NONE: DayTable = DayTable {
            boundaries: Vec::new(),
        };
        self.layers
            .get(kind.layer())
            .map_or(&NONE, |layer| &layer.tables[kind.index().min(7)])
    }

    /// The minutes at which the tariff toggles on a day of `kind`, sorted, starting with
    /// peak at minute 0 (`[120, 420]`: off-peak from 02:00 to 07:00).
    pub(crate) fn boundaries(&self, kind: DayKind) -> &[u16] {
        &self.table(kind).boundaries
    }

    /// As [`CompiledSchedule::tariff_at`], for a day whose kind is already known.
    pub fn tariff_in(&self, kind: DayKind, minute: u16) -> (Tariff, u16) {
        self.table(kind).tariff_at(minute.min(END_OF_DAY - 1))
    }

    /// How many minutes of `[from, to)` (minutes of one local day, `to` at most 1440)
    /// are off-peak on a day of `kind`.
    pub fn off_peak_minutes(&self, kind: DayKind, from: u16, to: u16) -> u16 {
        self.table(kind).off_peak_minutes(from, to.min(END_OF_DAY))
    }

    /// The holiday zone the schedule was compiled for.
    pub fn zone(&self) -> HolidayZone {
        self.zone
    }
}
