//! From split curves to what a P1 meter device receives: hour rows, day rows and the
//! dashboard row.

use std::ops::{Add, AddAssign};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;

use super::dashboard::{DashboardRow, dashboard_row};
use super::settings::{HistorySettings, MainDisplay, SecondaryDisplay};
use crate::{
    ApparentPower, CompiledSchedule, DeviceId, Energy, Flow, HolidayZone, LoadCurve, OffPeakConfig,
    PARIS, QualityReport, Reading, SplitCurve, Tariff,
    split::{LocalClock, MinuteDates},
};

/// The four energy series of a P1 meter: consumption (U1, U2) and production (R1, R2),
/// each split into peak (tariff 1) and off-peak (tariff 2).
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
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

/// One clock hour of a device: both flows.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceHour {
    /// When the hour ends.
    pub end_utc: DateTime<Utc>,
    /// The local time the hour ends (its label; the fall-back day has two hours ending
    /// at local 03:00... and two at 02:00: the instant tells them apart).
    pub end: NaiveDateTime,
    /// The hour's energies.
    pub energies: MeterEnergies,
}

/// A daily maximum power reading: when the peak happened (local time) and its value.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerPeak {
    /// The local time of the peak.
    pub at: NaiveDateTime,
    /// The peak's apparent power.
    pub power: ApparentPower,
}

/// What one device (a PDL, or a merged `C / P`) has to show.
///
/// Build it from readings with [`DeviceData::builder`], which places each flow's readings
/// on the time line and splits them by the device's schedule.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone)]
pub struct DeviceData {
    /// The device.
    pub device: DeviceId,
    /// The consumption curve split by the consumption schedule, if the device has one.
    pub consumption: Option<SplitCurve<2>>,
    /// The production curve split by the production schedule, if any.
    pub production: Option<SplitCurve<2>>,
    /// Daily maximum powers (consumption).
    pub peaks: Vec<PowerPeak>,
    /// Whether the device has two tariffs: its schedule has off-peak hours (see
    /// [`crate::OffPeakConfig::has_two_tariffs`]).
    pub two_tariffs: bool,
}

impl DeviceData {
    /// The hours with data in either flow, in time order.
    pub fn hours(&self) -> Vec<DeviceHour> {
        // Both flows' hours are in time order: merged, an hour in both is added up.
        let hours_of = |curve: &Option<SplitCurve<2>>| {
            curve.as_ref().map(SplitCurve::hours).unwrap_or_default()
        };
        let (consumption, production) = (hours_of(&self.consumption), hours_of(&self.production));
        let mut consumed = consumption.iter().peekable();
        let mut produced = production.iter().peekable();
        let mut consumption_clock = self
            .consumption
            .as_ref()
            .map(|curve| LocalClock::new(curve.time_zone()));
        let mut production_clock = self
            .production
            .as_ref()
            .map(|curve| LocalClock::new(curve.time_zone()));
        let mut utc_dates = MinuteDates::default();
        let mut merged = Vec::with_capacity(consumption.len().max(production.len()));
        loop {
            let end_minute = match (
                consumed.peek().map(|hour| hour.end_minute),
                produced.peek().map(|hour| hour.end_minute),
            ) {
                (None, None) => break,
                (Some(c), Some(p)) => c.min(p),
                (Some(minute), None) | (None, Some(minute)) => minute,
            };
            let mut energies = MeterEnergies::default();
            let mut clock = None;
            if let Some(hour) = consumed.next_if(|hour| hour.end_minute == end_minute) {
                energies.consumption = hour.energy;
                clock = consumption_clock.as_mut();
            }
            if let Some(hour) = produced.next_if(|hour| hour.end_minute == end_minute) {
                energies.production = hour.energy;
                clock = clock.or(production_clock.as_mut());
            }
            let Some(clock) = clock else { break };
            let end_utc = utc_dates.at(end_minute).and_utc();
            merged.push(DeviceHour {
                end_utc,
                end: clock.local(end_minute),
                energies,
            });
        }
        merged
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

/// Builds a [`DeviceData`] from readings as received (see [`DeviceData::builder`]).
#[derive(Debug, Clone)]
pub struct DeviceDataBuilder<'a> {
    device: DeviceId,
    schedule: &'a OffPeakConfig,
    holiday_zone: HolidayZone,
    time_zone: Tz,
    period: Option<(NaiveDate, NaiveDate)>,
    consumption: Option<&'a [Reading]>,
    production: Option<&'a [Reading]>,
    peaks: Vec<PowerPeak>,
}

impl DeviceData {
    /// A builder of `device`'s data, split by `schedule` with `holiday_zone`'s holidays,
    /// in Paris time. Whether the device has two tariffs comes from the same schedule.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use linky_core::{DeviceData, DeviceId, HolidayZone, IntervalLength, OffPeakConfig, Power, Reading, Tariff};
    /// let day = NaiveDate::from_ymd_opt(2024, 6, 3).unwrap();
    /// let readings: Vec<Reading> = (1..=48)
    ///     .map(|half_hour| {
    ///         let end = day.and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::minutes(30 * half_hour);
    ///         Reading::new(end, IntervalLength::PT30M, Power::from_watts(1000))
    ///     })
    ///     .collect();
    /// let schedule: OffPeakConfig = "22h00-6h00".parse().unwrap();
    /// let device: DeviceId = "22516914714270".parse().unwrap();
    /// let (data, report) = DeviceData::builder(device, &schedule, HolidayZone::Metropole)
    ///     .period(day, day.succ_opt().unwrap())
    ///     .consumption(&readings)
    ///     .build();
    /// assert!(report.is_clean());
    /// let split = data.consumption.as_ref().unwrap();
    /// assert_eq!(split.total_in(Tariff::OffPeak).as_wh_f64(), 8000.0);
    /// assert!(data.two_tariffs);
    /// ```
    pub fn builder(
        device: DeviceId,
        schedule: &OffPeakConfig,
        holiday_zone: HolidayZone,
    ) -> DeviceDataBuilder<'_> {
        DeviceDataBuilder {
            device,
            schedule,
            holiday_zone,
            time_zone: PARIS,
            period: None,
            consumption: None,
            production: None,
            peaks: Vec::new(),
        }
    }
}

impl<'a> DeviceDataBuilder<'a> {
    /// The local days `[start, end)` the readings cover: holes at the edges are reported.
    pub fn period(mut self, start: NaiveDate, end: NaiveDate) -> DeviceDataBuilder<'a> {
        self.period = Some((start, end));
        self
    }

    /// The time zone of the readings' local times (default Europe/Paris).
    pub fn time_zone(mut self, time_zone: Tz) -> DeviceDataBuilder<'a> {
        self.time_zone = time_zone;
        self
    }

    /// The consumption readings, as received (of the consumer, for a merged device).
    pub fn consumption(mut self, readings: &'a [Reading]) -> DeviceDataBuilder<'a> {
        self.consumption = Some(readings);
        self
    }

    /// The production readings, as received (of the producer, for a merged device).
    pub fn production(mut self, readings: &'a [Reading]) -> DeviceDataBuilder<'a> {
        self.production = Some(readings);
        self
    }

    /// The daily maximum powers (consumption).
    pub fn peaks(mut self, peaks: Vec<PowerPeak>) -> DeviceDataBuilder<'a> {
        self.peaks = peaks;
        self
    }

    /// The device's data, and what the readings' placement reported (holes, duplicates,
    /// readings left out...), both flows together. A flow without readings is absent.
    pub fn build(self) -> (DeviceData, QualityReport) {
        let name = self.device.to_string();
        let mut report = QualityReport::default();
        let mut split = |flow: Flow, readings: Option<&[Reading]>| {
            let readings = readings.filter(|r| !r.is_empty())?;
            let mut builder = LoadCurve::builder(self.time_zone);
            if let Some((start, end)) = self.period {
                builder = builder.expected_period(start, end);
            }
            let (curve, curve_report) = builder.build(readings);
            report.merge(curve_report);
            let schedule = CompiledSchedule::new(self.schedule, &name, flow, self.holiday_zone);
            Some(curve.split(&schedule))
        };
        let consumption = split(Flow::Consumption, self.consumption);
        let production = split(Flow::Production, self.production);
        let data = DeviceData {
            two_tariffs: self.schedule.has_two_tariffs(&name),
            device: self.device,
            consumption,
            production,
            peaks: self.peaks,
        };
        (data, report)
    }
}

/// An hour row: one clock hour of a device and its own energies.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourRow {
    /// When the hour ends: on the fall-back day, the two hours labelled 02:00-03:00 are
    /// two rows with two instants.
    pub end_utc: DateTime<Utc>,
    /// The local time the hour ends (its label).
    pub end: NaiveDateTime,
    /// The hour's energies.
    pub energies: MeterEnergies,
}

impl HourRow {
    /// The running totals of `rows`, in their order: what a meter whose hourly log
    /// holds counters takes (a Domoticz P1 meter's short log), starting from 0 before
    /// the first row.
    ///
    /// ```
    /// use linky_core::{Energy, HourRow, MeterEnergies};
    /// let hour = |wh| HourRow {
    ///     end_utc: Default::default(),
    ///     end: Default::default(),
    ///     energies: MeterEnergies { consumption: [Energy::from_wh(wh), Energy::ZERO], production: [Energy::ZERO; 2] },
    /// };
    /// let totals = HourRow::running_totals(&[hour(100), hour(250)]);
    /// assert_eq!(totals[1].consumption[0], Energy::from_wh(350));
    /// ```
    pub fn running_totals(rows: &[HourRow]) -> Vec<MeterEnergies> {
        rows.iter()
            .scan(MeterEnergies::default(), |total, row| {
                *total += row.energies;
                Some(*total)
            })
            .collect()
    }
}

/// A day row: that day's totals, and its maximum power when known.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRow {
    /// The local day.
    pub date: NaiveDate,
    /// The day's energies.
    pub totals: MeterEnergies,
    /// How many of its hours had data.
    pub hours_with_data: u32,
    /// The day's maximum power (consumption), when the device has its peaks.
    pub peak: Option<PowerPeak>,
}

/// Everything one device receives in one run.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeviceRows {
    /// The device.
    pub device: DeviceId,
    /// Hour rows, in time order.
    pub hours: Vec<HourRow>,
    /// Day rows, in date order.
    pub days: Vec<DayRow>,
    /// The dashboard row, unless a series has no sample in the period.
    pub dashboard: Option<DashboardRow>,
}

/// What decides a run's rows: the day it runs, the history windows and the displays.
/// Build it with [`RunSettings::new`] (fields may be added).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
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

impl RunSettings {
    /// A run on local day `today` with `history`'s windows, the default displays.
    pub fn new(today: NaiveDate, history: HistorySettings) -> RunSettings {
        RunSettings {
            today,
            history,
            main: MainDisplay::default(),
            secondary: SecondaryDisplay::default(),
        }
    }

    /// With other displays.
    pub fn with_displays(mut self, main: MainDisplay, secondary: SecondaryDisplay) -> RunSettings {
        self.main = main;
        self.secondary = secondary;
        self
    }
}

/// The least number of hours with data that makes a day row (except for the most recent
/// day with data).
pub const MIN_HOURS_FOR_A_DAY: u32 = 12;

/// The local day an hour ending at `end` belongs to: the day of its last minute.
fn day_ending(end: NaiveDateTime) -> NaiveDate {
    let one_past_midnight =
        chrono::NaiveTime::from_hms_opt(0, 1, 0).unwrap_or(chrono::NaiveTime::MIN);
    if end.time() < one_past_midnight {
        end.date().pred_opt().unwrap_or(end.date())
    } else {
        end.date()
    }
}

/// Computes a device's rows for a run.
pub fn device_rows(data: &DeviceData, settings: &RunSettings) -> DeviceRows {
    let hours = data.hours();
    let midnight = |date: NaiveDate| date.and_time(chrono::NaiveTime::MIN);
    let today_start = midnight(settings.today);

    let mut hour_rows = Vec::new();
    if settings.history.hours_days() > 0 {
        let from = today_start - Duration::days(i64::from(settings.history.hours_days()));
        // The original's window, [from, today 00:00), or each day's own hours, (from,
        // today 00:00], for a sink whose hours must add up to its days.
        let by_day = settings.history.hours_by_day();
        hour_rows = hours
            .iter()
            .filter(|h| {
                if by_day {
                    from < h.end && h.end <= today_start
                } else {
                    from <= h.end && h.end < today_start
                }
            })
            .map(|hour| HourRow {
                end_utc: hour.end_utc,
                end: hour.end,
                energies: hour.energies,
            })
            .collect();
    }

    // Day D holds the hours ending in (D 00:00, D+1 00:00].
    let mut days: Vec<DayRow> = Vec::new();
    for hour in &hours {
        let date = day_ending(hour.end);
        match days.last_mut() {
            Some(day) if day.date == date => {
                day.totals += hour.energies;
                day.hours_with_data += 1;
            }
            _ => days.push(DayRow {
                date,
                totals: hour.energies,
                hours_with_data: 1,
                peak: None,
            }),
        }
    }
    let first_day = settings.today - Duration::days(i64::from(settings.history.days()));
    days.retain(|day| first_day <= day.date && day.date < settings.today);
    let most_recent = days.last().map(|day| day.date);
    days.retain(|day| day.hours_with_data >= MIN_HOURS_FOR_A_DAY || Some(day.date) == most_recent);
    // Each day's highest peak (the last of equal ones, as they came).
    let mut peaks: std::collections::HashMap<NaiveDate, PowerPeak> =
        std::collections::HashMap::new();
    for peak in &data.peaks {
        let best = peaks.entry(peak.at.date()).or_insert(*peak);
        if peak.power.va() >= best.power.va() {
            *best = *peak;
        }
    }
    for day in &mut days {
        day.peak = peaks.get(&day.date).copied();
    }

    DeviceRows {
        device: data.device.clone(),
        hours: hour_rows,
        days,
        dashboard: dashboard_row(data, &hours, settings),
    }
}
