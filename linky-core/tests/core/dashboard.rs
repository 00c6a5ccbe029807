//! The dashboard and the history settings through the public API, hand-computed.

use chrono::{NaiveDate, NaiveDateTime};
use linky_core::{
    ApparentPower, CompiledSchedule, DeviceData, Flow, HistorySettings, HolidayZone,
    IntervalLength, LoadCurve, MainDisplay, OffPeakConfig, PARIS, Period, Power, PowerPeak,
    Reading, RunSettings, SecondaryDisplay, TariffClassifier, device_rows, period_bounds,
};

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
}

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

#[test]
fn period_bounds_follow_yesterday() {
    let check = |today: &str, period: Period, after: Option<&str>, until: Option<&str>| {
        assert_eq!(
            period_bounds(period, date(today)),
            (after.map(at), until.map(at)),
            "{today} {period:?}"
        );
    };
    // Wednesday 12 June 2024: yesterday is Tuesday 11, its week began Monday 10.
    check(
        "2024-06-12",
        Period::Day,
        Some("2024-06-11 00:00"),
        Some("2024-06-12 00:00"),
    );
    check(
        "2024-06-12",
        Period::CurrentWeek,
        Some("2024-06-10 00:00"),
        None,
    );
    check(
        "2024-06-12",
        Period::LastWeek,
        Some("2024-06-03 00:00"),
        Some("2024-06-10 00:00"),
    );
    check(
        "2024-06-12",
        Period::CurrentMonth,
        Some("2024-06-01 00:00"),
        None,
    );
    check(
        "2024-06-12",
        Period::LastMonth,
        Some("2024-05-01 00:00"),
        Some("2024-06-01 00:00"),
    );
    check("2024-06-12", Period::Year, Some("2024-01-01 00:00"), None);
    // On New Year's Day, yesterday's periods are last year's.
    check(
        "2024-01-01",
        Period::CurrentWeek,
        Some("2023-12-25 00:00"),
        None,
    );
    check(
        "2024-01-01",
        Period::CurrentMonth,
        Some("2023-12-01 00:00"),
        None,
    );
    check(
        "2024-01-01",
        Period::LastMonth,
        Some("2023-11-01 00:00"),
        Some("2023-12-01 00:00"),
    );
    check("2024-01-01", Period::Year, Some("2023-01-01 00:00"), None);
}

/// Two full days of PT60M consumption (100 W on 10 June, 200 W on 11 June), off-peak
/// 00:00-06:00, and three daily peaks.
fn device(two_tariffs: bool, production: bool) -> DeviceData {
    let mut readings = Vec::new();
    for (day, watts) in [("2024-06-10", 100), ("2024-06-11", 200)] {
        for hour in 1..=24 {
            let end = date(day).and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::hours(hour);
            readings.push(Reading::new(
                end,
                IntervalLength::PT60M,
                Power::from_watts(watts),
            ));
        }
    }
    let config: OffPeakConfig = "0h-6h".parse().unwrap();
    let schedule = CompiledSchedule::new(&config, "1", Flow::Consumption, HolidayZone::Metropole);
    let curve = LoadCurve::builder(PARIS)
        .build(&readings)
        .0
        .split(&schedule);
    DeviceData {
        device: "11111111111111".parse().unwrap(),
        consumption: (!production).then(|| curve.clone()),
        production: production.then_some(curve),
        peaks: [
            ("2024-06-05 09:00", 5000),
            ("2024-06-10 12:00", 3000),
            ("2024-06-11 13:00", 4000),
        ]
        .iter()
        .map(|&(when, va)| PowerPeak {
            at: at(when),
            power: ApparentPower::from_va(va),
        })
        .collect(),
        two_tariffs,
    }
}

fn dashboard(data: &DeviceData, main: &str, secondary: &str) -> Option<[f64; 6]> {
    let main: MainDisplay = main.parse().unwrap();
    let secondary: SecondaryDisplay = secondary.parse().unwrap();
    let settings = RunSettings::new(
        date("2024-06-12"),
        HistorySettings::new(7, 7, main, secondary).0,
    )
    .with_displays(main, secondary);
    device_rows(data, &settings).dashboard.map(|row| {
        [
            row.u1.as_wh_f64(),
            row.u2.as_wh_f64(),
            row.r1.as_wh_f64(),
            row.r2.as_wh_f64(),
            row.cons_va as f64,
            row.prod_va as f64,
        ]
    })
}

#[test]
fn dashboard_statistics_and_peaks() {
    let data = device(true, false);
    // Yesterday: 18 peak hours and 6 off-peak hours at 200 W; its peak was 4000 VA.
    assert_eq!(
        dashboard(&data, "peak_day", "value_day"),
        Some([3600.0, 1200.0, 0.0, 0.0, 4000.0, 0.0])
    );
    assert_eq!(
        dashboard(&data, "peak_cweek", "max_cweek"),
        Some([200.0, 200.0, 0.0, 0.0, 4000.0, 0.0])
    );
    // 48 hourly samples this week: (18 x 100 + 18 x 200) / 48 and (6 x 100 + 6 x 200) / 48.
    assert_eq!(
        dashboard(&data, "peak_lweek", "mean_cweek"),
        Some([112.5, 37.5, 0.0, 0.0, 5000.0, 0.0])
    );
    assert_eq!(
        dashboard(&data, "peak_cmonth", "value_cmonth"),
        Some([5400.0, 1800.0, 0.0, 0.0, 5000.0, 0.0])
    );
    // No peak in last month: CONS is 0, the row is still written.
    assert_eq!(
        dashboard(&data, "peak_lmonth", "value_day"),
        Some([3600.0, 1200.0, 0.0, 0.0, 0.0, 0.0])
    );
    // No energy sample last week or last month: no dashboard row at all.
    assert_eq!(dashboard(&data, "peak_day", "value_lweek"), None);
    assert_eq!(dashboard(&data, "peak_day", "mean_lmonth"), None);
}

#[test]
fn a_single_tariff_puts_everything_in_tariff_one() {
    let data = device(false, false);
    assert_eq!(
        dashboard(&data, "peak_day", "value_day"),
        Some([4800.0, 0.0, 0.0, 0.0, 4000.0, 0.0])
    );
    // The max of the whole hour, not the sum of the maxima.
    assert_eq!(
        dashboard(&data, "peak_day", "max_day"),
        Some([200.0, 0.0, 0.0, 0.0, 4000.0, 0.0])
    );
}

#[test]
fn without_consumption_the_consumption_figures_are_zero() {
    let data = device(true, true);
    assert_eq!(
        dashboard(&data, "peak_day", "value_day"),
        Some([0.0, 0.0, 3600.0, 1200.0, 0.0, 0.0])
    );
}

/// (hours_days, days, main, secondary) given, (hours_days, days, peak_days) used, warnings.
type SettingsCase = (
    i64,
    i64,
    &'static str,
    &'static str,
    (u16, u16, u16),
    &'static [&'static str],
);

#[test]
fn history_settings_clamp_and_raise_with_warnings() {
    let cases: [SettingsCase; 5] = [
        (7, 7, "peak_day", "value_day", (7, 7, 2), &[]),
        (
            -1,
            1,
            "peak_day",
            "value_day",
            (0, 2, 2),
            &[
                "hours_days set to 0 instead of -1: out of range",
                "days set to 2 instead of 1: out of range",
            ],
        ),
        (
            8,
            1000,
            "peak_year",
            "max_year",
            (7, 730, 366),
            &[
                "hours_days set to 7 instead of 8: out of range",
                "days set to 730 instead of 1000: out of range",
            ],
        ),
        (
            2,
            10,
            "peak_lmonth",
            "mean_cmonth",
            (2, 32, 63),
            &["days set to 32 instead of 10: raised to cover the secondary display's period"],
        ),
        (0, 14, "peak_cweek", "value_lweek", (0, 14, 7), &[]),
    ];
    for (hours_days, days, main, secondary, expected, warnings) in cases {
        let (settings, given) = HistorySettings::new(
            hours_days,
            days,
            main.parse().unwrap(),
            secondary.parse().unwrap(),
        );
        assert_eq!(
            (settings.hours_days(), settings.days(), settings.peak_days()),
            expected
        );
        let given: Vec<String> = given.iter().map(ToString::to_string).collect();
        assert_eq!(given, warnings);
    }
    assert_eq!(
        "peak_week".parse::<MainDisplay>().unwrap_err().to_string(),
        "unknown dashboard display \"peak_week\": expected peak_<period> or value_, max_ or mean_ \
         followed by a period (day, cweek, lweek, cmonth, lmonth, year)"
    );
    assert!("sum_day".parse::<SecondaryDisplay>().is_err());
    assert_eq!(
        "mean_lmonth"
            .parse::<SecondaryDisplay>()
            .unwrap()
            .to_string(),
        "mean_lmonth"
    );
}

/// A tariff of three classes (night, day, evening) to show that the splitter is not tied
/// to peak/off-peak: Tempo's six classes drop in the same way.
struct ThreeClasses;

impl TariffClassifier<3> for ThreeClasses {
    fn plan_day(&self, _date: NaiveDate, plan: &mut Vec<(u16, u8)>) {
        plan.clear();
        plan.extend([(6 * 60, 0), (18 * 60, 1), (24 * 60, 2)]);
    }
}

#[test]
fn the_splitter_takes_any_number_of_classes() {
    let readings: Vec<Reading> = (1..=24)
        .map(|hour| {
            let end =
                date("2024-06-10").and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::hours(hour);
            Reading::new(end, IntervalLength::PT60M, Power::from_watts(100))
        })
        .collect();
    let split = LoadCurve::builder(PARIS)
        .build(&readings)
        .0
        .split(&ThreeClasses);
    assert_eq!(
        split.totals().map(|e| e.as_wh_f64()),
        [600.0, 1200.0, 600.0]
    );
}
