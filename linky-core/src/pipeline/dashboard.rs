//! The dashboard row (spec/pipeline.md, "Dashboard"): statistics of the energy series and
//! the largest daily maximum power over the chosen periods.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};

use super::rows::{DeviceData, DeviceHour, RunSettings};
use super::settings::{Period, Statistic};
use crate::Energy;

/// The live value of a P1 meter: `U1;U2;R1;R2;CONS;PROD`.
///
/// The energies are figures for display, not counters: a sum or a maximum is exact, a
/// mean is a float; all are in Wh.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DashboardRow {
    /// Consumption, peak (or all consumption with a single tariff), in Wh.
    pub u1_wh: f64,
    /// Consumption, off-peak, in Wh.
    pub u2_wh: f64,
    /// Production, peak (or all production with a single tariff), in Wh.
    pub r1_wh: f64,
    /// Production, off-peak, in Wh.
    pub r2_wh: f64,
    /// The main display: the largest daily maximum power of the period, in VA.
    pub cons_va: i64,
    /// Always 0: there is no production peak.
    pub prod_va: i64,
}

/// The bounds of a period for the run day `today`: samples at `t` with
/// `after < t` (when there is a lower bound) and `t <= until` (when there is an upper one).
pub fn period_bounds(
    period: Period,
    today: NaiveDate,
) -> (Option<NaiveDateTime>, Option<NaiveDateTime>) {
    let midnight = |date: NaiveDate| date.and_time(chrono::NaiveTime::MIN);
    let yesterday = today - Duration::days(1);
    let monday = yesterday - Duration::days(i64::from(yesterday.weekday().num_days_from_monday()));
    let first_of_month = yesterday.with_day(1).unwrap_or(yesterday);
    let first_of_previous_month = (first_of_month - Duration::days(1))
        .with_day(1)
        .unwrap_or(first_of_month);
    let first_of_year = yesterday.with_ordinal(1).unwrap_or(yesterday);
    match period {
        Period::Day => (Some(midnight(yesterday)), Some(midnight(today))),
        Period::CurrentWeek => (Some(midnight(monday)), None),
        Period::LastWeek => (
            Some(midnight(monday - Duration::days(7))),
            Some(midnight(monday)),
        ),
        Period::CurrentMonth => (Some(midnight(first_of_month)), None),
        Period::LastMonth => (
            Some(midnight(first_of_previous_month)),
            Some(midnight(first_of_month)),
        ),
        Period::Year => (Some(midnight(first_of_year)), None),
    }
}

fn in_period(bounds: (Option<NaiveDateTime>, Option<NaiveDateTime>), t: NaiveDateTime) -> bool {
    bounds.0.is_none_or(|after| t > after) && bounds.1.is_none_or(|until| t <= until)
}

/// A statistic of one series of samples, in Wh.
fn statistic(statistic: Statistic, samples: &[Energy]) -> f64 {
    match statistic {
        Statistic::Value => samples.iter().sum::<Energy>().as_wh(),
        Statistic::Max => samples
            .iter()
            .max()
            .copied()
            .unwrap_or_default()
            .max(Energy::ZERO)
            .as_wh(),
        Statistic::Mean => samples.iter().sum::<Energy>().as_wh() / samples.len().max(1) as f64,
    }
}

/// The dashboard row, or `None` when an energy series that matters has no sample in the
/// secondary display's period (the original logs "missing data for the dashboard" and
/// tries again on the next run).
pub(crate) fn dashboard_row(
    data: &DeviceData,
    hours: &[DeviceHour],
    settings: &RunSettings,
) -> Option<DashboardRow> {
    let has_consumption = data.has_consumption();
    let has_production = data.has_production();
    if !has_consumption && !has_production {
        return None;
    }
    let bounds = period_bounds(settings.secondary.period, settings.today);
    let samples: Vec<&DeviceHour> = hours.iter().filter(|h| in_period(bounds, h.end)).collect();
    if samples.is_empty() {
        return None;
    }
    let series = |pick: &dyn Fn(&DeviceHour) -> Energy| -> f64 {
        let values: Vec<Energy> = samples.iter().map(|h| pick(h)).collect();
        statistic(settings.secondary.statistic, &values)
    };
    let (mut u1, mut u2, mut r1, mut r2) = if data.two_tariffs {
        (
            series(&|h| h.energies.consumption[0]),
            series(&|h| h.energies.consumption[1]),
            series(&|h| h.energies.production[0]),
            series(&|h| h.energies.production[1]),
        )
    } else {
        (
            series(&|h| h.energies.consumption[0] + h.energies.consumption[1]),
            0.0,
            series(&|h| h.energies.production[0] + h.energies.production[1]),
            0.0,
        )
    };
    let main_bounds = period_bounds(settings.main.period, settings.today);
    let mut cons_va = data
        .peaks
        .iter()
        .filter(|peak| in_period(main_bounds, peak.at))
        .map(|peak| peak.power.va())
        .max()
        .unwrap_or(0);
    if !has_consumption {
        (u1, u2, cons_va) = (0.0, 0.0, 0);
    }
    if !has_production {
        (r1, r2) = (0.0, 0.0);
    }
    Some(DashboardRow {
        u1_wh: u1,
        u2_wh: u2,
        r1_wh: r1,
        r2_wh: r2,
        cons_va,
        prod_va: 0,
    })
}
