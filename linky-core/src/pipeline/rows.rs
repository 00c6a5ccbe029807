//! From split curves to what a P1 meter device receives: hour rows, day rows and the
//! dashboard row (spec/pipeline.md, "Rows written to the device").

use std::collections::BTreeMap;
use std::ops::{Add, AddAssign};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;

use super::dashboard::{DashboardRow, dashboard_row};
use super::settings::{HistorySettings, MainDisplay, SecondaryDisplay};
use crate::{ApparentPower, Energy, SplitCurve, Tariff};

/// The four energy series of a P1 meter: consumption (U1, U2) and production (R1, R2),
/// each split into peak (tariff 1) and off-peak (tariff 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MeterEnergies {
    /// Consumption, indexed by tariff class (0 peak, 1 off-peak).
    pub consumption: [Energy; 2],
    /// Production, indexed by tariff class.
    pub production: [Energy; 2],
}

impl MeterEnergies {
    /// Consumption in `tariff`.
    pub fn consumption_in(&self, tariff: Tariff) -> Energy {
        self.consumption[usize::from(crate::tariff_class(tariff))]
    }

    /// Production in `tariff`.
    pub fn production_in(&self, tariff: Tariff) -> Energy {
        self.production[usize::from(crate::tariff_class(tariff))]
    }

    /// The four values in sValue order: U1, U2, R1, R2.
    pub fn in_order(&self) -> [Energy; 4] {
        [
            self.consumption[0],
            self.consumption[1],
            self.production[0],
            self.production[1],
        ]
    }
}

impl Add for MeterEnergies {
    type Output = MeterEnergies;
    fn add(mut self, other: MeterEnergies) -> MeterEnergies {
        self += other;
        self
    }
}

impl AddAssign for MeterEnergies {
    fn add_assign(&mut self, other: MeterEnergies) {
        for index in 0..2 {
            self.consumption[index] += other.consumption[index];
            self.production[index] += other.production[index];
        }
    }
}

/// One clock hour of a device: both flows, and how many minutes of each have data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceHour {
    /// The local time the hour ends (its label).
    pub end: NaiveDateTime,
    /// The hour's energies.
    pub energies: MeterEnergies,
}

/// A daily maximum power reading: when the peak happened (local time) and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerPeak {
    /// The local time of the peak.
    pub at: NaiveDateTime,
    /// The peak's apparent power.
    pub power: ApparentPower,
}

/// What one device (a PDL, or a merged `C / P`) has to show.
#[derive(Debug, Clone)]
pub struct DeviceData {
    /// The device id: a PDL, or `C / P`.
    pub device: String,
    /// The consumption curve split by the consumption schedule, if the device has one.
    pub consumption: Option<SplitCurve<2>>,
    /// The production curve split by the production schedule, if any.
    pub production: Option<SplitCurve<2>>,
    /// Daily maximum powers (consumption).
    pub peaks: Vec<PowerPeak>,
    /// Whether the device has two tariffs (offpeak.md, "This PDL has two tariffs").
    pub two_tariffs: bool,
}

impl DeviceData {
    /// The hours with data in either flow, in time order.
    pub fn hours(&self) -> Vec<DeviceHour> {
        let mut by_end: BTreeMap<i64, (Tz, MeterEnergies)> = BTreeMap::new();
        for (curve, is_production) in [(&self.consumption, false), (&self.production, true)] {
            let Some(curve) = curve else { continue };
            for hour in curve.hours() {
                let slot = by_end
                    .entry(hour.end_minute)
                    .or_insert((curve.time_zone(), MeterEnergies::default()));
                let target = if is_production {
                    &mut slot.1.production
                } else {
                    &mut slot.1.consumption
                };
                for (total, energy) in target.iter_mut().zip(hour.energy) {
                    *total += energy;
                }
            }
        }
        by_end
            .into_iter()
            .map(|(end_minute, (time_zone, energies))| DeviceHour {
                end: chrono::DateTime::from_timestamp(end_minute * 60, 0)
                    .unwrap_or_default()
                    .with_timezone(&time_zone)
                    .naive_local(),
                energies,
            })
            .collect()
    }

    /// Keeps the data of the local days for which `keep` says yes: both curves' pieces
    /// and the peaks. A sync uses it to show only days it holds for every flow a device
    /// shows, never a day with one side missing.
    pub fn retain_days(&mut self, mut keep: impl FnMut(NaiveDate) -> bool) {
        for curve in [&mut self.consumption, &mut self.production]
            .into_iter()
            .flatten()
        {
            curve.retain_days(&mut keep);
        }
        self.peaks.retain(|peak| keep(peak.at.date()));
    }

    /// Whether the device has any consumption data.
    pub fn has_consumption(&self) -> bool {
        self.consumption
            .as_ref()
            .is_some_and(|curve| !curve.intervals().is_empty())
    }

    /// Whether the device has any production data.
    pub fn has_production(&self) -> bool {
        self.production
            .as_ref()
            .is_some_and(|curve| !curve.intervals().is_empty())
    }
}

/// An hour row: the cumulative sums of the hours written so far in this run, dated by the
/// hour's local end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourRow {
    /// The local time the hour ends.
    pub end: NaiveDateTime,
    /// Cumulative energies since the run's first hour row.
    pub cumulative: MeterEnergies,
}

/// A day row: that day's totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRow {
    /// The local day.
    pub date: NaiveDate,
    /// The day's energies.
    pub totals: MeterEnergies,
    /// How many of its hours had data.
    pub hours_with_data: u32,
}

/// Everything one device receives in one run.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRows {
    /// The device id.
    pub device: String,
    /// Hour rows, in time order.
    pub hours: Vec<HourRow>,
    /// Day rows, in date order.
    pub days: Vec<DayRow>,
    /// The dashboard row, unless a series has no sample in the period.
    pub dashboard: Option<DashboardRow>,
}

/// What decides a run's rows: the day it runs, the history windows and the displays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunSettings {
    /// The run's local date: rows stop before it.
    pub today: NaiveDate,
    /// The history windows.
    pub history: HistorySettings,
    /// The main display.
    pub main: MainDisplay,
    /// The secondary display.
    pub secondary: SecondaryDisplay,
}

/// The least number of hours with data that makes a day row (except for the most recent
/// day with data).
pub const MIN_HOURS_FOR_A_DAY: u32 = 12;

/// Computes a device's rows for a run.
pub fn device_rows(data: &DeviceData, settings: &RunSettings) -> DeviceRows {
    let hours = data.hours();
    let midnight = |date: NaiveDate| date.and_time(chrono::NaiveTime::MIN);
    let today_start = midnight(settings.today);

    let mut hour_rows = Vec::new();
    if settings.history.hours_days > 0 {
        let from = today_start - Duration::days(i64::from(settings.history.hours_days));
        let mut cumulative = MeterEnergies::default();
        for hour in hours
            .iter()
            .filter(|h| from <= h.end && h.end < today_start)
        {
            cumulative += hour.energies;
            hour_rows.push(HourRow {
                end: hour.end,
                cumulative,
            });
        }
    }

    // Day D holds the hours ending in (D 00:00, D+1 00:00].
    let mut days: Vec<DayRow> = Vec::new();
    for hour in &hours {
        let date = (hour.end - Duration::minutes(1)).date();
        match days.last_mut() {
            Some(day) if day.date == date => {
                day.totals += hour.energies;
                day.hours_with_data += 1;
            }
            _ => days.push(DayRow {
                date,
                totals: hour.energies,
                hours_with_data: 1,
            }),
        }
    }
    let first_day = settings.today - Duration::days(i64::from(settings.history.days));
    days.retain(|day| first_day <= day.date && day.date < settings.today);
    let most_recent = days.last().map(|day| day.date);
    days.retain(|day| day.hours_with_data >= MIN_HOURS_FOR_A_DAY || Some(day.date) == most_recent);

    DeviceRows {
        device: data.device.clone(),
        hours: hour_rows,
        days,
        dashboard: dashboard_row(data, &hours, settings),
    }
}
