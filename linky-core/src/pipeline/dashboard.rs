//! The dashboard row: statistics of the energy series and
//! the largest daily maximum power over the chosen periods.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};

use super::rows::{DeviceData, DeviceHour, RunSettings};
use super::settings::{Period, Statistic};
use crate::Energy;

/// The figures of a device's dashboard (a P1 meter's live value: `U1;U2;R1;R2;CONS;PROD`).
///
/// The energies are figures for display, not counters: a sum or a maximum is exact, a
/// mean is rounded to the milliwatt-minute (the unit of [`Energy`], 1/60 000 Wh).
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DashboardRow {
    /// Consumption, peak (or all consumption with a single tariff).
    pub u1: Energy,
    /// Consumption, off-peak.
    pub u2: Energy,
    /// Production, peak (or all production with a single tariff).
    pub r1: Energy,
    /// Production, off-peak.
    pub r2: Energy,
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

/// A statistic of one series of samples.
fn statistic(statistic: Statistic, samples: &[Energy]) -> Energy {
    match statistic {
        Statistic::Value => samples.iter().sum::<Energy>(),
        Statistic::Max => samples
            .iter()
            .max()
            .copied()
            .unwrap_or_default()
            .max(Energy::ZERO),
        Statistic::Mean => {
            // Rounded half away from zero to the milliwatt-minute.
            let sum = i128::from(samples.iter().sum::<Energy>().milliwatt_minutes());
            let count = samples.len().max(1) as i128;
            let mean = (2 * sum + sum.signum() * count) / (2 * count);
            Energy::from_milliwatt_minutes(mean as i64)
        }
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
    let series = |pick: &dyn Fn(&DeviceHour) -> Energy| -> Energy {
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
            Energy::ZERO,
            series(&|h| h.energies.production[0] + h.energies.production[1]),
            Energy::ZERO,
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
        (u1, u2, cons_va) = (Energy::ZERO, Energy::ZERO, 0);
    }
    if !has_production {
        (r1, r2) = (Energy::ZERO, Energy::ZERO);
    }
    Some(DashboardRow {
        u1,
        u2,
        r1,
        r2,
        cons_va,
        prod_va: 0,
    })
}
