//! The time model through the public API: DST days, anomalies,
//! holidays, and the exactness properties of curves, hours and days.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use linky_core::{
    Energy, Holiday, HolidayZone, IntervalLength, LoadCurve, PARIS, Power, Reading, easter_sunday,
    holiday_on, holidays_in_year, hours_in_day,
};
use proptest::prelude::*;

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
}

/// The readings Enedis would send for `day` at `length`: local END times in order,
/// following the real time line (so the fall-back day repeats 02:xx local times and
/// the spring-forward day skips them). Power = 1000 W + the reading's index.
fn synthetic_day(day: NaiveDate, length: IntervalLength) -> Vec<Reading> {
    readings_of_day(day, length, |index| 1000 + index as i64)
}

/// Every reading of local day `day` at `length`, in Enedis' order and local END times,
/// the power of the `index`-th reading being `watts(index)` W.
pub fn readings_of_day(
    day: NaiveDate,
    length: IntervalLength,
    watts: impl Fn(usize) -> i64,
) -> Vec<Reading> {
    let midnight = |date: NaiveDate| {
        date.and_hms_opt(0, 0, 0)
            .unwrap()
            .and_local_timezone(PARIS)
            .unwrap()
    };
    let end = midnight(day.succ_opt().unwrap());
    let step = Duration::minutes(i64::from(length.minutes()));
    let mut readings = Vec::new();
    let mut instant = midnight(day) + step;
    while instant <= end {
        let power = Power::from_watts(watts(readings.len()));
        readings.push(Reading::new(instant.naive_local(), length, power));
        instant += step;
    }
    readings
}

/// The PT30M readings of `days` local days from `first`, each day's `i`-th at `base + i` W.
fn half_hours(first: NaiveDate, days: i64, base: i64) -> Vec<Reading> {
    (0..days)
        .flat_map(|day| {
            readings_of_day(first + Duration::days(day), IntervalLength::PT30M, |i| {
                base + i as i64
            })
        })
        .collect()
}

/// The hours and the minutes `curve` holds on the 2024 fall-back day.
fn fall_back_day(curve: &LoadCurve) -> (u32, u32) {
    let day = curve
        .days()
        .into_iter()
        .find(|day| day.date == date("2024-10-27"))
        .unwrap();
    (day.hours_in_day, day.minutes)
}

fn expected_energy(readings: &[Reading]) -> Energy {
    readings
        .iter()
        .map(|r| r.power.energy_over_minutes(r.length_minutes as u32))
        .sum()
}

#[test]
fn dst_days_of_2024_have_23_and_25_hours_with_every_reading_counted_once() {
    for (day, hours, length, count) in [
        ("2024-03-31", 23, IntervalLength::PT30M, 46),
        ("2024-10-27", 25, IntervalLength::PT30M, 50),
        ("2024-03-31", 23, IntervalLength::PT10M, 138),
        ("2024-10-27", 25, IntervalLength::PT10M, 150),
    ] {
        let day = date(day);
        let readings = synthetic_day(day, length);
        assert_eq!(readings.len(), count, "{day} {length}");
        let (curve, report) = LoadCurve::builder(PARIS)
            .expected_period(day, day.succ_opt().unwrap())
            .build(&readings);
        assert!(report.is_clean(), "{day} {length}: {report}");
        assert_eq!(curve.intervals().len(), count);
        let hour_buckets = curve.hours();
        assert_eq!(hour_buckets.len(), hours, "{day} {length}");
        assert!(hour_buckets.iter().all(|h| h.minutes == 60));
        let days = curve.days();
        assert_eq!(days.len(), 1);
        assert_eq!(days[0].date, day);
        assert_eq!(days[0].hours_in_day, hours as u32);
        assert_eq!(days[0].hours_with_data, hours as u32);
        assert!(days[0].is_complete());
        assert_eq!(days[0].energy, expected_energy(&readings));
        assert_eq!(curve.total_energy(), expected_energy(&readings));
    }
}

#[test]
fn the_fall_back_day_keeps_two_hours_ending_at_local_three() {
    let readings = synthetic_day(date("2024-10-27"), IntervalLength::PT30M);
    let (curve, _) = LoadCurve::builder(PARIS).build(&readings);
    let labels: Vec<String> = curve
        .hours()
        .iter()
        .map(|h| h.end.format("%H:%M%:z").to_string())
        .collect();
    assert_eq!(labels[1..4], ["02:00+02:00", "02:00+01:00", "03:00+01:00"]);
    assert_eq!(labels.last().unwrap(), "00:00+01:00");
}

#[test]
fn the_hour_ending_at_midnight_belongs_to_the_day_before() {
    let readings = [
        Reading::new(
            at("2024-06-01 23:30"),
            IntervalLength::PT30M,
            Power::from_watts(100),
        ),
        Reading::new(
            at("2024-06-02 00:00"),
            IntervalLength::PT30M,
            Power::from_watts(100),
        ),
        Reading::new(
            at("2024-06-02 00:30"),
            IntervalLength::PT30M,
            Power::from_watts(100),
        ),
    ];
    let (curve, _) = LoadCurve::builder(PARIS).build(&readings);
    let days = curve.days();
    assert_eq!(days.len(), 2);
    assert_eq!(
        (days[0].date, days[0].energy.as_wh_f64()),
        (date("2024-06-01"), 100.0)
    );
    assert_eq!(
        (days[1].date, days[1].energy.as_wh_f64()),
        (date("2024-06-02"), 50.0)
    );
    assert_eq!(days[1].hours_with_data, 1);
}

#[test]
fn mixed_lengths_inside_one_curve() {
    let readings = [
        Reading::new(
            at("2024-06-01 00:30"),
            IntervalLength::PT30M,
            Power::from_watts(600),
        ),
        Reading::new(
            at("2024-06-01 00:45"),
            IntervalLength::PT15M,
            Power::from_watts(400),
        ),
        Reading::new(
            at("2024-06-01 00:50"),
            IntervalLength::PT5M,
            Power::from_watts(1201),
        ),
        Reading::new(
            at("2024-06-01 01:00"),
            IntervalLength::PT10M,
            Power::from_watts(1),
        ),
        Reading::new(
            at("2024-06-01 02:00"),
            IntervalLength::PT60M,
            Power::from_watts(7),
        ),
    ];
    let (curve, report) = LoadCurve::builder(PARIS).build(&readings);
    assert!(report.is_clean(), "{report}");
    let hours = curve.hours();
    assert_eq!(hours.len(), 2);
    // 300 + 100 + 100.0833.. + 0.1666.. Wh
    assert_eq!(
        hours[0].energy,
        Energy::from_milliwatt_minutes(600_000 * 30 + 400_000 * 15 + 1_201_000 * 5 + 1_000 * 10)
    );
    assert_eq!(hours[0].minutes, 60);
    assert_eq!(hours[1].energy.as_wh_f64(), 7.0);
}

/// The anomalies' messages, one per line, for a compact expectation.
fn check_anomalies(readings: &[Reading], period: Option<(&str, &str)>, expected: &[&str]) {
    let mut builder = LoadCurve::builder(PARIS);
    if let Some((start, end)) = period {
        builder = builder.expected_period(date(start), date(end));
    }
    let (curve, report) = builder.build(readings);
    let messages: Vec<String> = report.anomalies().iter().map(ToString::to_string).collect();
    assert_eq!(messages, expected);
    // Whatever was kept, nothing overlaps and the total is the kept intervals' energy.
    for pair in curve.intervals().windows(2) {
        assert!(pair[0].end_minute() <= pair[1].start_minute());
    }
    let kept: Energy = curve.intervals().iter().map(|i| i.energy()).sum();
    assert_eq!(curve.total_energy(), kept);
    let days: Energy = curve.days().iter().map(|d| d.energy).sum();
    assert_eq!(days, kept);
}

fn half_hour(end: &str, watts: i64) -> Reading {
    Reading::new(at(end), IntervalLength::PT30M, Power::from_watts(watts))
}

#[test]
fn holes_are_reported_inside_and_at_the_edges() {
    check_anomalies(
        &[
            half_hour("2024-06-01 01:00", 10),
            half_hour("2024-06-01 03:00", 10),
        ],
        Some(("2024-06-01", "2024-06-02")),
        &[
            "hole of 30 minutes from 2024-06-01 00:00+02:00 to 2024-06-01 00:30+02:00",
            "hole of 90 minutes from 2024-06-01 01:00+02:00 to 2024-06-01 02:30+02:00",
            "hole of 1260 minutes from 2024-06-01 03:00+02:00 to 2024-06-02 00:00+02:00",
        ],
    );
}

#[test]
fn duplicates_and_conflicts_keep_the_first_reading() {
    check_anomalies(
        &[
            half_hour("2024-06-01 00:30", 10),
            half_hour("2024-06-01 00:30", 10),
            half_hour("2024-06-01 00:30", 11),
            half_hour("2024-06-01 01:00", 10),
        ],
        None,
        &[
            "reading 1 (2024-06-01 00:30:00): duplicate reading; left out",
            "reading 2 (2024-06-01 00:30:00): second reading for the same interval (11 W, kept \
             the first: 10 W); left out",
        ],
    );
}

#[test]
fn overlaps_and_out_of_order_readings() {
    check_anomalies(
        &[
            half_hour("2024-06-01 00:30", 10),
            half_hour("2024-06-01 01:30", 10),
            // Fits in the hole left between 00:30 and 01:00: put back.
            half_hour("2024-06-01 01:00", 20),
            // A PT60M ending at 02:00 overlaps 01:00-01:30.
            Reading::new(
                at("2024-06-01 02:00"),
                IntervalLength::PT60M,
                Power::from_watts(5),
            ),
            // Out of order, and its place is taken by nothing but overlaps 00:00-00:30.
            Reading::new(
                at("2024-06-01 00:15"),
                IntervalLength::PT15M,
                Power::from_watts(5),
            ),
        ],
        None,
        &[
            "reading 4 (2024-06-01 00:15:00): out of order and its place is taken; left out",
            // Reading 2 came late and was put back in its place: no anomaly (issue 21).
            "reading 3 (2024-06-01 02:00:00): overlaps the previous reading by 30 minutes; left out",
        ],
    );
}

#[test]
fn bad_lengths_bad_values_and_impossible_times() {
    check_anomalies(
        &[
            Reading {
                end: at("2024-03-31 00:30"),
                length_minutes: 0,
                power: Power::from_watts(1),
            },
            Reading {
                end: at("2024-03-31 01:00"),
                length_minutes: -30,
                power: Power::from_watts(1),
            },
            Reading {
                end: at("2024-03-31 01:30"),
                length_minutes: 20,
                power: Power::from_watts(1),
            },
            half_hour("2024-03-31 02:00", -4),
            half_hour("2024-03-31 02:30", 4),
            Reading::new(
                at("2024-03-31 03:15"),
                IntervalLength::PT30M,
                Power::from_watts(1),
            ),
        ],
        None,
        &[
            "reading 0 (2024-03-31 00:30:00): unsupported interval length of 0 minutes \
             (expected 5, 10, 15, 30 or 60); left out",
            "reading 1 (2024-03-31 01:00:00): unsupported interval length of -30 minutes \
             (expected 5, 10, 15, 30 or 60); left out",
            "reading 2 (2024-03-31 01:30:00): unsupported interval length of 20 minutes \
             (expected 5, 10, 15, 30 or 60); left out",
            "reading 3 (2024-03-31 02:00:00): negative power -4 W; left out",
            "reading 4 (2024-03-31 02:30:00): local time does not exist (spring-forward gap); \
             left out",
            "reading 5 (2024-03-31 03:15:00): end is not a multiple of the interval length",
        ],
    );
}

#[test]
fn a_whole_missing_day_leaves_the_next_day_alone() {
    let mut readings = synthetic_day(date("2024-06-01"), IntervalLength::PT30M);
    readings.extend(synthetic_day(date("2024-06-03"), IntervalLength::PT30M));
    let (curve, report) = LoadCurve::builder(PARIS)
        .expected_period(date("2024-06-01"), date("2024-06-04"))
        .build(&readings);
    assert_eq!(report.missing_minutes(), 24 * 60);
    let days = curve.days();
    assert_eq!(
        days.iter()
            .map(|d| (d.date, d.hours_with_data))
            .collect::<Vec<_>>(),
        [(date("2024-06-01"), 24), (date("2024-06-03"), 24)]
    );
}

#[test]
fn days_have_the_right_number_of_hours_for_decades() {
    let mut day = date("1990-01-01");
    while day < date("2040-01-01") {
        let expected = if day == last_sunday(day.year(), 3) {
            23
        } else if day == last_sunday(day.year(), 10) {
            25
        } else {
            24
        };
        // Before 1996 France fell back on the last Sunday of September.
        if day.year() >= 1996 {
            assert_eq!(hours_in_day(day, PARIS), expected, "{day}");
        }
        day = day.succ_opt().unwrap();
    }
}

fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let mut day = NaiveDate::from_ymd_opt(year, month + 1, 1)
        .unwrap()
        .pred_opt()
        .unwrap();
    while day.weekday() != chrono::Weekday::Sun {
        day = day.pred_opt().unwrap();
    }
    day
}

/// Métropole's 2024 holidays, as published by service-public.fr.
const METROPOLE_2024: [(&str, Holiday); 11] = [
    ("2024-01-01", Holiday::NewYear),
    ("2024-04-01", Holiday::EasterMonday),
    ("2024-05-01", Holiday::LabourDay),
    ("2024-05-08", Holiday::VictoryInEurope),
    ("2024-05-09", Holiday::Ascension),
    ("2024-05-20", Holiday::WhitMonday),
    ("2024-07-14", Holiday::BastilleDay),
    ("2024-08-15", Holiday::Assumption),
    ("2024-11-01", Holiday::AllSaints),
    ("2024-11-11", Holiday::Armistice),
    ("2024-12-25", Holiday::Christmas),
];

#[test]
fn holidays_of_2024_match_the_published_lists() {
    let metropole: Vec<(NaiveDate, Holiday)> =
        METROPOLE_2024.iter().map(|&(d, h)| (date(d), h)).collect();
    assert_eq!(holidays_in_year(2024, HolidayZone::Metropole), metropole);

    let mut alsace = metropole.clone();
    alsace.push((date("2024-03-29"), Holiday::GoodFriday));
    alsace.push((date("2024-12-26"), Holiday::SaintStephen));
    alsace.sort_by_key(|&(d, _)| d);
    assert_eq!(holidays_in_year(2024, HolidayZone::AlsaceMoselle), alsace);

    for (zone, day) in [
        (HolidayZone::Guadeloupe, "2024-05-27"),
        (HolidayZone::Martinique, "2024-05-22"),
        (HolidayZone::Guyane, "2024-06-10"),
        (HolidayZone::Reunion, "2024-12-20"),
        (HolidayZone::Mayotte, "2024-04-27"),
        (HolidayZone::SaintMartin, "2024-05-28"),
        (HolidayZone::SaintBarthelemy, "2024-10-09"),
    ] {
        let list = holidays_in_year(2024, zone);
        assert_eq!(list.len(), 12, "{zone}");
        assert!(
            list.contains(&(date(day), Holiday::AbolitionOfSlavery)),
            "{zone}"
        );
        assert_eq!(holiday_on(date(day), HolidayZone::Metropole), None);
    }
}

/// Easter Sunday (MMDD) for every year from 1900 to 2200, from an independent
/// implementation of the Gregorian computus (python-dateutil), 15 years per line.
const EASTER_1900_2200: [&str; 21] = [
    "0415 0407 0330 0412 0403 0423 0415 0331 0419 0411 0327 0416 0407 0323 0412",
    "0404 0423 0408 0331 0420 0404 0327 0416 0401 0420 0412 0404 0417 0408 0331",
    "0420 0405 0327 0416 0401 0421 0412 0328 0417 0409 0324 0413 0405 0425 0409",
    "0401 0421 0406 0328 0417 0409 0325 0413 0405 0418 0410 0401 0421 0406 0329",
    "0417 0402 0422 0414 0329 0418 0410 0326 0414 0406 0329 0411 0402 0422 0414",
    "0330 0418 0410 0326 0415 0406 0419 0411 0403 0422 0407 0330 0419 0403 0326",
    "0415 0331 0419 0411 0403 0416 0407 0330 0412 0404 0423 0415 0331 0420 0411",
    "0327 0416 0408 0323 0412 0404 0424 0408 0331 0420 0405 0327 0416 0401 0421",
    "0412 0404 0417 0409 0331 0420 0405 0328 0416 0401 0421 0413 0328 0417 0409",
    "0325 0413 0405 0425 0410 0401 0421 0406 0329 0417 0409 0325 0414 0405 0418",
    "0410 0402 0421 0406 0329 0418 0402 0422 0414 0330 0418 0410 0326 0415 0406",
    "0329 0411 0403 0422 0414 0330 0419 0410 0326 0415 0407 0419 0411 0403 0423",
    "0407 0330 0419 0404 0326 0415 0331 0420 0411 0403 0416 0408 0330 0412 0404",
    "0424 0415 0331 0420 0412 0328 0417 0409 0325 0413 0405 0418 0410 0401 0421",
    "0406 0329 0417 0402 0422 0414 0329 0418 0410 0326 0414 0406 0329 0411 0402",
    "0422 0414 0330 0418 0410 0326 0415 0406 0419 0411 0403 0422 0407 0330 0419",
    "0403 0326 0415 0331 0419 0411 0403 0416 0407 0330 0412 0404 0423 0415 0331",
    "0420 0411 0327 0416 0408 0323 0412 0404 0424 0408 0331 0420 0405 0327 0416",
    "0401 0421 0412 0404 0417 0409 0331 0420 0405 0328 0416 0401 0421 0413 0328",
    "0417 0409 0325 0413 0405 0425 0410 0401 0421 0406 0329 0417 0409 0325 0414",
    "0406",
];

#[test]
fn easter_matches_known_dates_over_three_centuries() {
    let known: Vec<&str> = EASTER_1900_2200
        .iter()
        .flat_map(|line| line.split(' '))
        .collect();
    assert_eq!(known.len(), 301);
    for (offset, month_day) in known.iter().enumerate() {
        let year = 1900 + offset as i32;
        let expected = date(&format!("{year}-{}-{}", &month_day[..2], &month_day[2..]));
        assert_eq!(easter_sunday(year), Some(expected), "{year}");
        assert!(linky_core::is_holiday(
            expected.succ_opt().unwrap(),
            HolidayZone::Metropole
        ));
    }
    // Famous extremes: the earliest (22 March) and latest (25 April) dates.
    assert_eq!(easter_sunday(1818), Some(date("1818-03-22")));
    assert_eq!(easter_sunday(2285), Some(date("2285-03-22")));
    assert_eq!(easter_sunday(1943), Some(date("1943-04-25")));
}

#[test]
fn every_year_from_1900_to_2200_has_its_holidays() {
    for year in 1900..=2200 {
        let metropole = holidays_in_year(year, HolidayZone::Metropole);
        // Ascension can fall on 1 or 8 May, when the day counts once.
        assert!(matches!(metropole.len(), 10 | 11), "{year}");
        assert_eq!(
            holidays_in_year(year, HolidayZone::AlsaceMoselle).len(),
            metropole.len() + 2
        );
    }
}

/// A backfill asks for the newest week first: each older week arrives after a newer one.
/// The curve is the one the weeks make in time order, the fall-back day's two 02:xx hours
/// included (before issue 9 an older week was put back reading by reading, which took
/// quadratic time and took the fall-back day's second 02:xx hour for a duplicate), and
/// nothing is reported (before issue 18, every reading of an older week was "out of
/// order"): weeks that do not overlap are no anomaly in any order.
#[test]
fn weeks_arriving_newest_first_make_the_same_curve_as_in_time_order() {
    let weeks: Vec<Vec<Reading>> = (0..4)
        .map(|week| half_hours(date("2024-10-07") + Duration::days(week * 7), 7, 500))
        .collect();
    let in_order: Vec<Reading> = weeks.iter().flatten().copied().collect();
    let newest_first: Vec<Reading> = weeks.iter().rev().flatten().copied().collect();
    let (expected, clean) = LoadCurve::builder(PARIS).build(&in_order);
    assert!(clean.is_clean(), "{clean}");
    let (curve, report) = LoadCurve::builder(PARIS).build(&newest_first);
    assert_eq!(curve.intervals(), expected.intervals());
    assert_eq!(curve.total_energy(), expected_energy(&in_order));
    assert_eq!(fall_back_day(&curve), (25, 25 * 60));
    assert!(report.is_clean(), "{report}");
    // The same weeks added one by one, newest first, shuffled: the same curve, clean.
    for order in [vec![3, 2, 1, 0], vec![1, 3, 0, 2]] {
        let mut chunks = LoadCurve::builder(PARIS)
            .expected_period(date("2024-10-07"), date("2024-11-04"))
            .chunks();
        for week in order {
            chunks.add(&weeks[week]);
        }
        assert_eq!(chunks.len(), 4);
        let (curve, report) = chunks.build();
        assert_eq!(curve.intervals(), expected.intervals());
        assert!(report.is_clean(), "{report}");
    }
}

/// Shuffles `answers` with `seed` and checks that they build the curve their time order
/// builds, dropping nothing.
fn check_any_order(mut answers: Vec<Vec<Reading>>, seed: u64) -> Result<(), TestCaseError> {
    let in_order: Vec<Reading> = answers.concat();
    // A seeded shuffle (Fisher-Yates with xorshift).
    let mut state = seed | 1;
    for i in (1..answers.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        answers.swap(i, (state % (i as u64 + 1)) as usize);
    }
    let (expected, _) = LoadCurve::builder(PARIS).build(&in_order);
    let (curve, report) = LoadCurve::builder(PARIS).build(&answers.concat());
    prop_assert_eq!(report.dropped_readings(), 0);
    prop_assert_eq!(curve.intervals().len(), expected.intervals().len());
    let first_difference = curve
        .intervals()
        .iter()
        .zip(expected.intervals())
        .position(|(got, want)| got != want);
    prop_assert_eq!(first_difference, None);
    Ok(())
}

/// When answers overlap (here the newest week comes twice), the order of arrival decides
/// which copy is kept; the older week, which comes last, still keeps the fall-back day's
/// two 02:xx hours apart.
#[test]
fn overlapping_answers_keep_the_first_copy_and_the_fall_back_day_whole() {
    let (older, newer) = (
        half_hours(date("2024-10-21"), 7, 300),
        half_hours(date("2024-10-28"), 7, 300),
    );
    let mut arrival = newer.clone();
    arrival.extend(newer.iter().map(|r| Reading {
        power: Power::from_watts(1),
        ..*r
    }));
    arrival.extend(older.iter().copied());
    let (curve, report) = LoadCurve::builder(PARIS).build(&arrival);
    let expected: Vec<Reading> = older.iter().chain(&newer).copied().collect();
    assert_eq!(curve.total_energy(), expected_energy(&expected));
    assert_eq!(curve.intervals().len(), expected.len());
    assert_eq!(fall_back_day(&curve), (25, 25 * 60));
    assert_eq!(report.dropped_readings(), newer.len());
}

/// A strategy for curves with random lengths, holes, and values (some bad).
fn arbitrary_readings() -> impl Strategy<Value = Vec<Reading>> {
    let step = (
        prop_oneof![
            Just(5i64),
            Just(10),
            Just(15),
            Just(30),
            Just(60),
            -60i64..120
        ],
        0i64..5,
        -100i64..20_000,
        0u8..20,
    );
    (0i64..(365 * 24 * 60), prop::collection::vec(step, 0..400)).prop_map(|(offset, steps)| {
        // Start at a random minute of 2024, on a 5-minute grid.
        let mut end = at("2024-01-01 00:00") + Duration::minutes(offset / 5 * 5);
        let mut readings = Vec::new();
        for (length, gap, watts, shuffle) in steps {
            end += Duration::minutes(length.clamp(1, 60) + gap * 5);
            let mut reading = Reading {
                end,
                length_minutes: length,
                power: Power::from_milliwatts(watts * 137),
            };
            if shuffle == 0 {
                // Now and then, a reading from the past or a repeated one.
                reading.end -= Duration::minutes(length.abs() * 3);
            }
            readings.push(reading);
        }
        readings
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn days_hours_and_intervals_sum_to_the_same_energy(readings in arbitrary_readings()) {
        let (curve, report) = LoadCurve::builder(PARIS).build(&readings);
        let by_intervals: Energy = curve.intervals().iter().map(|i| i.energy()).sum();
        let hours = curve.hours();
        let by_hours: Energy = hours.iter().map(|h| h.energy).sum();
        let by_days: Energy = curve.days().iter().map(|d| d.energy).sum();
        prop_assert_eq!(by_intervals, by_hours);
        prop_assert_eq!(by_hours, by_days);
        // Every reading is either kept or reported as left out, never both, never neither.
        prop_assert_eq!(curve.intervals().len() + report.dropped_readings(), readings.len());
        for pair in curve.intervals().windows(2) {
            prop_assert!(pair[0].end_minute() <= pair[1].start_minute());
        }
        for hour in &hours {
            prop_assert!(hour.minutes <= 60);
        }
    }

    /// Answers (whole days, as Enedis sends them) arriving in any order make the curve
    /// they make in time order, both DST days included, and nothing is lost or doubled.
    #[test]
    fn answers_in_any_order_make_the_same_curve(
        spring in any::<bool>(),
        days in 1i64..20,
        days_per_answer in 1usize..8,
        seed in any::<u64>(),
    ) {
        let start = if spring { date("2024-03-20") } else { date("2024-10-20") };
        let by_day: Vec<Vec<Reading>> = (0..days)
            .map(|day| readings_of_day(start + Duration::days(day), IntervalLength::PT30M, |i| 100 + i as i64))
            .collect();
        let answers: Vec<Vec<Reading>> = by_day.chunks(days_per_answer).map(|c| c.concat()).collect();
        check_any_order(answers, seed)?;
    }

    /// Pieces of any size arriving in any order, away from the fall-back day (where a piece
    /// that starts inside the repeated hour cannot tell which of the two it belongs to).
    #[test]
    fn pieces_of_any_size_in_any_order_make_the_same_curve(
        days in 1i64..10,
        size in 1usize..200,
        seed in any::<u64>(),
    ) {
        let readings: Vec<Reading> = (0..days)
            .flat_map(|day| readings_of_day(date("2024-11-02") + Duration::days(day), IntervalLength::PT15M, |i| 7 + i as i64))
            .collect();
        check_any_order(readings.chunks(size).map(<[Reading]>::to_vec).collect(), seed)?;
    }

    #[test]
    fn building_never_panics_on_arbitrary_readings(
        raw in prop::collection::vec((any::<i64>(), any::<i64>(), any::<i64>()), 0..50)
    ) {
        let readings: Vec<Reading> = raw
            .into_iter()
            .filter_map(|(seconds, length, power)| {
                let end = chrono::DateTime::from_timestamp(seconds % 20_000_000_000, 0)?.naive_utc();
                Some(Reading { end, length_minutes: length, power: Power::from_milliwatts(power) })
            })
            .collect();
        let (curve, report) = LoadCurve::builder(PARIS)
            .expected_period(date("2024-01-01"), date("2024-02-01"))
            .build(&readings);
        let _ = (curve.days(), report.to_string());
    }
}

/// Chunks of whole days (a backfill's answers), each with its own hole and duplicate now
/// and then, both DST days among them.
fn chunks_with_faults() -> impl Strategy<Value = Vec<Vec<Reading>>> {
    (
        any::<bool>(),
        1i64..16,
        1usize..5,
        prop::collection::vec((any::<bool>(), any::<bool>(), 0usize..46), 16),
    )
        .prop_map(|(spring, days, days_per_chunk, faults)| {
            let start = if spring {
                date("2024-03-25")
            } else {
                date("2024-10-22")
            };
            let by_day: Vec<Vec<Reading>> = (0..days)
                .map(|day| {
                    let mut readings =
                        readings_of_day(start + Duration::days(day), IntervalLength::PT30M, |i| {
                            100 + i as i64
                        });
                    let (hole, duplicate, at) = faults[day as usize];
                    let mut at = at.min(readings.len().saturating_sub(2));
                    // Not in the fall-back day's repeated hour: a second 02:30 there is
                    // either a duplicate or the second 02:30, and nothing tells which.
                    if readings.len() == 50 && (1..12).contains(&at) {
                        at += 12;
                    }
                    if duplicate {
                        let copy = readings[at];
                        readings.insert(at + 1, copy);
                    }
                    if hole {
                        readings.remove(at);
                    }
                    readings
                })
                .collect();
            by_day.chunks(days_per_chunk).map(|c| c.concat()).collect()
        })
}

/// What a report says, without the reading numbers (they follow the order of arrival).
fn anomalies_by_place(report: &linky_core::QualityReport) -> Vec<String> {
    let mut said: Vec<String> = report
        .anomalies()
        .iter()
        .map(|anomaly| format!("{:?} {:?}", anomaly.local_end, anomaly.kind))
        .collect();
    said.sort();
    said
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The fast path (issue 21) gives exactly what the general path gives, report included,
    /// whatever the readings.
    #[test]
    fn the_fast_path_agrees_with_the_general_one(readings in arbitrary_readings()) {
        let builder = LoadCurve::builder(PARIS).expected_period(date("2024-01-01"), date("2025-01-02"));
        let fast = builder.build(&readings);
        let general = builder.build_without_fast_path(&readings);
        prop_assert!(fast.0 == general.0, "the fast path gives another curve");
        prop_assert_eq!(fast.1.anomalies(), general.1.anomalies());
    }

    /// The same chunks in any order (one by one, or concatenated): the same curve and the
    /// same anomalies, holes and duplicates inside chunks and DST days included (issue 21).
    #[test]
    fn any_order_of_the_same_chunks_gives_the_same_curve_and_anomalies(
        chunks in chunks_with_faults(),
        seed in any::<u64>(),
    ) {
        let builder = LoadCurve::builder(PARIS);
        let (expected, expected_report) = builder.build(&chunks.concat());
        let mut shuffled = chunks.clone();
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let mut one_by_one = builder.clone().chunks();
        for chunk in shuffled.iter().rev() {
            one_by_one.add(chunk);
        }
        for (curve, report) in [builder.build(&shuffled.concat()), one_by_one.build()] {
            prop_assert!(curve == expected, "another curve");
            prop_assert_eq!(anomalies_by_place(&report), anomalies_by_place(&expected_report));
        }
        let general = builder.build_without_fast_path(&shuffled.concat());
        prop_assert!(general.0 == expected, "the general path gives another curve");
    }
}
