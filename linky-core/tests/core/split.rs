//! The tariff splitter and the rows through the public API: hand-computed cases for every
//! improvement over the original, and properties (exact sums, chunking).

use chrono::{Duration, NaiveDate, NaiveDateTime};
use linky_core::{
    CompiledSchedule, DeviceData, Energy, Flow, HistorySettings, HolidayZone, IntervalLength,
    LoadCurve, MainDisplay, OffPeakConfig, PARIS, Power, Reading, RunSettings, SecondaryDisplay,
    SplitCurve, Tariff, device_rows, merged_devices,
};
use proptest::prelude::*;

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
}

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn schedule(text: &str, device: &str, flow: Flow) -> CompiledSchedule {
    let config: OffPeakConfig = text.parse().unwrap();
    CompiledSchedule::new(&config, device, flow, HolidayZone::Metropole)
}

fn curve(readings: &[Reading]) -> LoadCurve {
    let (curve, report) = LoadCurve::builder(PARIS).build(readings);
    assert_eq!(report.dropped_readings(), 0, "{report}");
    curve
}

/// Every reading of local day `day` at `length`, in Enedis' order, at `watts`.
fn full_day(day: NaiveDate, length: IntervalLength, watts: i64) -> Vec<Reading> {
    super::time_model::readings_of_day(day, length, |_| watts)
}

/// The baseline: each real minute classified through the plain lookup at its local time.
fn per_minute(curve: &LoadCurve, config: &OffPeakConfig, device: &str, flow: Flow) -> [Energy; 2] {
    let mut totals = [Energy::ZERO; 2];
    for interval in curve.intervals() {
        for minute in interval.start_minute()..interval.end_minute() {
            let local = chrono::DateTime::from_timestamp(minute * 60, 0)
                .unwrap()
                .with_timezone(&PARIS)
                .naive_local();
            let off_peak = config.is_off_peak(device, flow, local, HolidayZone::Metropole);
            totals[usize::from(off_peak)] += interval.power().energy_over_minutes(1);
        }
    }
    totals
}

fn wh(energies: [Energy; 2]) -> [f64; 2] {
    energies.map(Energy::as_wh_f64)
}

#[test]
fn an_interval_straddling_a_boundary_is_prorated_by_minute() {
    // Enedis' own windows start at odd minutes: 02h26. The hour ending 03:00 holds
    // 26 peak minutes and 34 off-peak ones; the original put it all on its midpoint.
    let split = curve(&[Reading::new(
        at("2024-06-03 03:00"),
        IntervalLength::PT60M,
        Power::from_watts(600),
    )])
    .split(&schedule("2h26-7h26", "1", Flow::Consumption));
    assert_eq!(wh(split.intervals()[0].energy), [260.0, 340.0]);
    assert_eq!(split.intervals()[0].total().as_wh_f64(), 600.0);
}

#[test]
fn an_hour_with_a_missing_half_counts_only_what_is_there() {
    let readings = [Reading::new(
        at("2024-06-03 10:30"),
        IntervalLength::PT30M,
        Power::from_watts(1000),
    )];
    let split = curve(&readings).split(&schedule("", "1", Flow::Consumption));
    let hours = split.hours();
    assert_eq!(
        (hours[0].minutes, hours[0].total().as_wh_f64()),
        (30, 500.0)
    );
}

#[test]
fn dst_days_split_every_real_minute_by_its_local_time() {
    // 02h00-03h00 off-peak: on the spring-forward day that local hour does not exist; on
    // the fall-back day it happens twice and both are off-peak.
    let config: OffPeakConfig = "2h00-3h00".parse().unwrap();
    let compiled = CompiledSchedule::new(&config, "1", Flow::Consumption, HolidayZone::Metropole);
    for (day, hours, off_peak_minutes) in [("2024-03-31", 23, 0), ("2024-10-27", 25, 120)] {
        for length in [IntervalLength::PT30M, IntervalLength::PT10M] {
            let curve = curve(&full_day(date(day), length, 600));
            let split = curve.split(&compiled);
            let [peak, off_peak] = split.totals();
            assert_eq!(
                off_peak,
                Power::from_watts(600).energy_over_minutes(off_peak_minutes),
                "{day}"
            );
            assert_eq!(peak + off_peak, curve.total_energy());
            assert_eq!(
                split.totals(),
                per_minute(&curve, &config, "1", Flow::Consumption)
            );
            assert_eq!(split.hours().len(), hours);
            // Run two days later, so that the hour ending at the day's last midnight is
            // inside the hour rows' window too.
            let rows = device_rows(
                &device("11111111111111", Some(split), None),
                &settings(date(day) + Duration::days(2), 7, 7),
            );
            assert_eq!(rows.days.len(), 1);
            assert_eq!(rows.days[0].hours_with_data, hours as u32);
            assert_eq!(rows.days[0].totals.consumption, [peak, off_peak]);
            assert_eq!(rows.hours.len(), hours);
            assert_eq!(
                linky_core::HourRow::running_totals(&rows.hours)
                    .last()
                    .unwrap()
                    .consumption,
                [peak, off_peak]
            );
        }
    }
}

fn device(
    id: &str,
    consumption: Option<SplitCurve<2>>,
    production: Option<SplitCurve<2>>,
) -> DeviceData {
    DeviceData {
        device: id.parse().unwrap(),
        consumption,
        production,
        peaks: Vec::new(),
        two_tariffs: true,
    }
}

fn settings(today: NaiveDate, hours_days: i64, days: i64) -> RunSettings {
    let main = MainDisplay::default();
    let secondary = SecondaryDisplay::default();
    RunSettings::new(
        today,
        HistorySettings::new(hours_days, days, main, secondary).0,
    )
    .with_displays(main, secondary)
}

#[test]
fn a_missing_whole_day_leaves_the_other_days_alone() {
    let mut readings = full_day(date("2024-06-01"), IntervalLength::PT30M, 100);
    readings.extend(full_day(date("2024-06-03"), IntervalLength::PT30M, 200));
    let split = curve(&readings).split(&schedule("", "1", Flow::Consumption));
    let rows = device_rows(
        &device("11111111111111", Some(split), None),
        &settings(date("2024-06-04"), 0, 7),
    );
    let days: Vec<(NaiveDate, f64)> = rows
        .days
        .iter()
        .map(|d| (d.date, d.totals.consumption[0].as_wh_f64()))
        .collect();
    assert_eq!(
        days,
        [(date("2024-06-01"), 2400.0), (date("2024-06-03"), 4800.0)]
    );
}

#[test]
fn merged_devices_keep_production_days_and_split_each_flow_by_its_own_schedule() {
    let config = "12345678901234 1h-2h 88888888888888 13h-14h";
    let mut consumption = full_day(date("2024-06-01"), IntervalLength::PT60M, 100);
    consumption.extend(full_day(date("2024-06-02"), IntervalLength::PT60M, 100));
    let mut production = consumption.clone();
    production.extend(full_day(date("2024-06-03"), IntervalLength::PT60M, 50));
    let consumer = device(
        "12345678901234",
        Some(curve(&consumption).split(&schedule(config, "12345678901234", Flow::Consumption))),
        None,
    );
    let producer = device(
        "88888888888888",
        None,
        Some(curve(&production).split(&schedule(config, "88888888888888", Flow::Production))),
    );
    let run = settings(date("2024-06-04"), 0, 7);
    let merged = merged_devices(&[consumer, producer], &run);
    assert_eq!(merged.len(), 1);
    assert_eq!(
        merged[0].device.to_string(),
        "12345678901234 / 88888888888888"
    );
    let rows = device_rows(&merged[0], &run);
    let days: Vec<(NaiveDate, [f64; 4])> = rows
        .days
        .iter()
        .map(|d| (d.date, d.totals.in_order().map(Energy::as_wh_f64)))
        .collect();
    // Consumption off-peak 01:00-02:00 (C's schedule), production off-peak 13:00-14:00
    // (P's schedule); the production-only day is kept.
    assert_eq!(
        days,
        [
            (date("2024-06-01"), [2300.0, 100.0, 2300.0, 100.0]),
            (date("2024-06-02"), [2300.0, 100.0, 2300.0, 100.0]),
            (date("2024-06-03"), [0.0, 0.0, 1150.0, 50.0]),
        ]
    );
}

/// A merged device built from readings: each flow split by its own PDL's schedule, the
/// device's two tariffs from the same schedule, a slug safe for a file name.
#[test]
fn a_merged_device_from_readings() {
    let consumer: linky_core::UsagePointId = "12345678901234".parse().unwrap();
    let producer: linky_core::UsagePointId = "88888888888888".parse().unwrap();
    let device = linky_core::DeviceId::merged(consumer, producer);
    let config: OffPeakConfig = "22h-6h P 0h-24h".parse().unwrap();
    let consumption = full_day(date("2024-06-03"), IntervalLength::PT30M, 1000);
    let production = full_day(date("2024-06-03"), IntervalLength::PT60M, 500);
    let (data, report) = DeviceData::builder(device.clone(), &config, HolidayZone::Metropole)
        .period(date("2024-06-03"), date("2024-06-04"))
        .consumption(&consumption)
        .production(&production)
        .build();
    assert!(report.is_clean(), "{report}");
    assert_eq!(data.device.slug(), "12345678901234_88888888888888");
    let consumed = data.consumption.as_ref().unwrap();
    assert_eq!(
        wh([
            consumed.total_in(Tariff::Peak),
            consumed.total_in(Tariff::OffPeak)
        ]),
        [16000.0, 8000.0]
    );
    // Production is all off-peak by its own section.
    let produced = data.production.as_ref().unwrap();
    assert_eq!(
        wh([
            produced.total_in(Tariff::Peak),
            produced.total_in(Tariff::OffPeak)
        ]),
        [0.0, 12000.0]
    );
    assert!(data.two_tariffs);
    assert_eq!(
        "12345678901234 / 888"
            .parse::<linky_core::DeviceId>()
            .unwrap_err()
            .to_string(),
        "invalid usage point \"888\": expected exactly 14 digits, found 3 characters"
    );
}

/// Random curves around the 2024 DST days, with holes and mixed lengths.
pub(crate) fn readings_near_dst() -> impl Strategy<Value = Vec<Reading>> {
    let start = prop_oneof![
        Just(at("2024-03-30 00:00")),
        Just(at("2024-10-26 00:00")),
        Just(at("2024-07-13 00:00"))
    ];
    let step = (
        prop_oneof![Just(5i64), Just(10), Just(15), Just(30), Just(60)],
        0i64..3,
        0i64..5000,
    );
    (start, prop::collection::vec(step, 1..300)).prop_map(|(start, steps)| {
        let start = start.and_local_timezone(PARIS).unwrap();
        let mut end = start;
        let mut readings = Vec::new();
        for (length, gap, watts) in steps {
            // Align to the length, as Enedis does, after an optional hole.
            end += Duration::minutes(gap * 60);
            let minutes = end.timestamp() / 60;
            end += Duration::minutes((length - minutes.rem_euclid(length)) % length + length);
            readings.push(Reading {
                end: end.naive_local(),
                length_minutes: length,
                power: Power::from_watts(watts),
            });
        }
        readings
    })
}

/// Like [`readings_near_dst`], but each reading's end moved off its length's grid by a few
/// minutes now and then, so that intervals cross clock hours and schedule boundaries.
fn unaligned_readings() -> impl Strategy<Value = Vec<Reading>> {
    (readings_near_dst(), prop::collection::vec(0i64..60, 1..300)).prop_map(|(readings, shifts)| {
        let mut last_end: Option<NaiveDateTime> = None;
        let mut shifted = Vec::new();
        for (index, reading) in readings.into_iter().enumerate() {
            let shift = shifts.get(index).copied().unwrap_or(0) % reading.length_minutes;
            let end = reading.end + Duration::minutes(shift);
            // Keep them apart (the builder would drop an overlapping one).
            if last_end.is_some_and(|last| end - Duration::minutes(reading.length_minutes) < last) {
                continue;
            }
            last_end = Some(end);
            shifted.push(Reading { end, ..reading });
        }
        shifted
    })
}

/// Each clock hour's pieces as `(hour end, end of its data, minutes, [peak, off-peak])`, by
/// classifying every real minute through the plain lookup.
fn hours_per_minute(
    curve: &LoadCurve,
    config: &OffPeakConfig,
) -> Vec<(i64, i64, u16, [Energy; 2])> {
    let mut hours: Vec<(i64, i64, u16, [Energy; 2])> = Vec::new();
    for interval in curve.intervals() {
        for minute in interval.start_minute()..interval.end_minute() {
            let local = chrono::DateTime::from_timestamp(minute * 60, 0)
                .unwrap()
                .with_timezone(&PARIS)
                .naive_local();
            let class = usize::from(config.is_off_peak(
                "1",
                Flow::Consumption,
                local,
                HolidayZone::Metropole,
            ));
            let hour_end = minute - minute.rem_euclid(60) + 60;
            if hours.last().is_none_or(|last| last.0 != hour_end) {
                hours.push((hour_end, minute, 0, [Energy::ZERO; 2]));
            }
            let last = hours.last_mut().unwrap();
            last.1 = minute + 1;
            last.2 += 1;
            last.3[class] += interval.power().energy_over_minutes(1);
        }
    }
    hours
}

const SCHEDULES: [&str; 5] = [
    "22h26-6h26 12h00-14h00 mercredi 11h00-16h00 fe 0h-24h",
    "2h-3h",
    "",
    "1h-2h30 sa 0h-24h di 23h-1h",
    "0h07-0h09 23h58-0h01",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn peak_plus_off_peak_is_exact_everywhere(readings in readings_near_dst(), which in 0..SCHEDULES.len()) {
        let config: OffPeakConfig = SCHEDULES[which].parse().unwrap();
        let (curve, _) = LoadCurve::builder(PARIS).build(&readings);
        let compiled = CompiledSchedule::new(&config, "1", Flow::Consumption, HolidayZone::Metropole);
        let split = curve.split(&compiled);
        // Every piece: classes sum to the piece; pieces sum to the curve.
        let pieces: Energy = split.intervals().iter().map(|p| p.total()).sum();
        prop_assert_eq!(pieces, curve.total_energy());
        // Against the per-minute baseline.
        prop_assert_eq!(split.totals(), per_minute(&curve, &config, "1", Flow::Consumption));
        // Hours: same energies as the unsplit curve's hours.
        let plain: Vec<(i64, Energy)> = curve.hours().iter().map(|h| (h.end.timestamp() / 60, h.energy)).collect();
        let split_hours: Vec<(i64, Energy)> = split.hours().iter().map(|h| (h.end_minute, h.total())).collect();
        prop_assert_eq!(plain, split_hours);
        // Days: the day rows sum to the curve's energy.
        let run = settings(date("2024-12-31"), 7, 730);
        let rows = device_rows(&device("11111111111111", Some(split), None), &run);
        let all_days = rows.days.iter().fold(Energy::ZERO, |total, d| total + d.totals.consumption[0] + d.totals.consumption[1]);
        let kept_hours: u32 = rows.days.iter().map(|d| d.hours_with_data).sum();
        if kept_hours as usize == curve.hours().len() {
            prop_assert_eq!(all_days, curve.total_energy());
        }
    }

    /// A device's hours: both flows' hours merged in time order, an hour in both added
    /// up, each labelled with its local end, across DST changes (against a map of hours
    /// and a time-zone lookup per hour).
    #[test]
    fn a_devices_hours_merge_both_flows_with_their_local_ends(
        consumption in readings_near_dst(),
        production in readings_near_dst(),
        flows in 0..3usize,
    ) {
        let compiled = schedule("22h00-6h00", "1", Flow::Consumption);
        let split = |readings: &[Reading]| LoadCurve::builder(PARIS).build(readings).0.split(&compiled);
        let data = device(
            "11111111111111",
            (flows != 1).then(|| split(&consumption)),
            (flows != 0).then(|| split(&production)),
        );
        let mut expected: std::collections::BTreeMap<i64, linky_core::MeterEnergies> = Default::default();
        for (curve, is_production) in [(&data.consumption, false), (&data.production, true)] {
            for hour in curve.iter().flat_map(|curve| curve.hours()) {
                let slot = expected.entry(hour.end_minute).or_default();
                let target = if is_production { &mut slot.production } else { &mut slot.consumption };
                for (total, energy) in target.iter_mut().zip(hour.energy) {
                    *total += energy;
                }
            }
        }
        let hours = data.hours();
        prop_assert_eq!(hours.len(), expected.len());
        for (hour, (end_minute, energies)) in hours.iter().zip(&expected) {
            prop_assert_eq!(hour.end_utc.timestamp(), end_minute * 60);
            prop_assert_eq!(hour.end, hour.end_utc.with_timezone(&PARIS).naive_local());
            prop_assert_eq!(&hour.energies, energies);
        }
    }

    /// Days and months of a split: DST-exact local days, their sums equal to the hours',
    /// the whole curve's, per class and per tariff.
    #[test]
    fn days_and_months_sum_exactly(readings in readings_near_dst(), which in 0..SCHEDULES.len()) {
        let config: OffPeakConfig = SCHEDULES[which].parse().unwrap();
        let compiled = CompiledSchedule::new(&config, "1", Flow::Consumption, HolidayZone::Metropole);
        let split = LoadCurve::builder(PARIS).build(&readings).0.split(&compiled);
        let days = split.days();
        let by_days = days.iter().fold([Energy::ZERO; 2], |mut total, day| {
            total[0] += day.energy_in(Tariff::Peak);
            total[1] += day.energy_in(Tariff::OffPeak);
            total
        });
        prop_assert_eq!(by_days, split.totals());
        let by_months: Energy = split.months().iter().map(|m| m.total()).sum();
        prop_assert_eq!(by_months, split.total_in(Tariff::Peak) + split.total_in(Tariff::OffPeak));
        for day in &days {
            prop_assert_eq!(day.hours_in_day, linky_core::hours_in_day(day.date, PARIS));
            prop_assert!(day.minutes <= day.hours_in_day * 60);
        }
        // Each hour belongs to the day its local_day says, and the hours sum to the days.
        for day in &days {
            let hours: Energy = split
                .hours()
                .iter()
                .filter(|h| h.local_day(PARIS) == day.date)
                .map(|h| h.total())
                .sum();
            prop_assert_eq!(hours, day.total());
        }
    }

    /// Every piece, one per clock hour with data, against the minute-by-minute lookup:
    /// its end, its minutes and its energy per class, for intervals on and off the grid.
    #[test]
    fn each_hour_piece_matches_the_minute_by_minute_lookup(readings in unaligned_readings(), which in 0..SCHEDULES.len()) {
        let config: OffPeakConfig = SCHEDULES[which].parse().unwrap();
        let compiled = CompiledSchedule::new(&config, "1", Flow::Consumption, HolidayZone::Metropole);
        // (A reading shifted into the spring-forward gap is dropped: the rest is compared.)
        let curve = LoadCurve::builder(PARIS).build(&readings).0;
        let pieces: Vec<(i64, i64, u16, [Energy; 2])> = curve
            .split(&compiled)
            .intervals()
            .iter()
            .map(|p| (p.end_minute + (-p.end_minute).rem_euclid(60), p.end_minute, p.minutes, p.energy))
            .collect();
        prop_assert_eq!(pieces, hours_per_minute(&curve, &config));
    }

    #[test]
    fn the_split_does_not_depend_on_how_readings_were_chunked(readings in readings_near_dst(), cut in 0usize..300) {
        // Readings fetched in two requests cut at a local midnight, split separately.
        let compiled = schedule(SCHEDULES[0], "1", Flow::Consumption);
        let whole = LoadCurve::builder(PARIS).build(&readings).0.split(&compiled);
        let cut = cut.min(readings.len());
        let midnight = readings.get(cut).map(|r| r.end.date().and_hms_opt(0, 0, 0).unwrap());
        let (first, second): (Vec<Reading>, Vec<Reading>) = match midnight {
            Some(midnight) => readings.iter().partition(|r| r.end <= midnight),
            None => (readings.clone(), Vec::new()),
        };
        let mut pieces = LoadCurve::builder(PARIS).build(&first).0.split(&compiled).intervals().to_vec();
        pieces.extend_from_slice(LoadCurve::builder(PARIS).build(&second).0.split(&compiled).intervals());
        prop_assert_eq!(whole.intervals(), &pieces[..]);
    }
}

/// Schedules that change over time: each local day is split by the schedule in force on
/// it, DST days included. A constant 1 kW makes each class's energy its hours.
#[test]
fn seasons_and_dated_parts_split_each_day_by_the_schedule_in_force() {
    let text = "23h-7h summer 2h-7h 12h-15h";
    let config: OffPeakConfig = text.parse().unwrap();
    let compiled = schedule(text, "1", Flow::Consumption);
    let days = [
        "2026-03-28", // winter, 24 h
        "2026-03-29", // winter, spring forward: 23 h, 02:00-03:00 does not exist
        "2026-03-31", // the last winter day
        "2026-04-01", // the season switch: summer
        "2026-10-25", // summer, fall back: 25 h, 02:00-03:00 twice
        "2026-10-31", // the last summer day
        "2026-11-01", // winter again
    ];
    let readings: Vec<Reading> = days
        .iter()
        .flat_map(|day| full_day(date(day), IntervalLength::PT30M, 1000))
        .collect();
    let curve = curve(&readings);
    let split = curve.split(&compiled);
    let got: Vec<(String, [f64; 2])> = split
        .days()
        .iter()
        .map(|day| (day.date.to_string(), wh(day.energy)))
        .collect();
    let kwh = |peak: f64, off_peak: f64| [peak * 1000.0, off_peak * 1000.0];
    assert_eq!(
        got,
        [
            ("2026-03-28".to_owned(), kwh(16.0, 8.0)),
            // 23:00-24:00 and 00:00-07:00 less the hour that does not exist.
            ("2026-03-29".to_owned(), kwh(16.0, 7.0)),
            ("2026-03-31".to_owned(), kwh(16.0, 8.0)),
            // Summer: 02:00-07:00 and 12:00-15:00.
            ("2026-04-01".to_owned(), kwh(16.0, 8.0)),
            // 02:00-03:00 lived twice, off-peak both times.
            ("2026-10-25".to_owned(), kwh(16.0, 9.0)),
            ("2026-10-31".to_owned(), kwh(16.0, 8.0)),
            ("2026-11-01".to_owned(), kwh(16.0, 8.0)),
        ]
    );
    // Not only the totals: which hours. 12:00-15:00 is off-peak on the switch day only.
    let noon = |day: &str| {
        config.is_off_peak(
            "1",
            Flow::Consumption,
            at(&format!("{day} 12:30")),
            HolidayZone::Metropole,
        )
    };
    assert!(!noon("2026-03-31") && noon("2026-04-01") && noon("2026-10-31") && !noon("2026-11-01"));
    // The splitter agrees with the plain lookup minute by minute.
    assert_eq!(
        split.totals(),
        per_minute(&curve, &config, "1", Flow::Consumption)
    );
}

#[test]
fn a_dated_change_applies_from_its_first_day_and_leaves_the_past_alone() {
    // Enedis moves the hours on 2025-11-01; a PDL of its own keeps its old hours until
    // the end of 2025, then has none.
    let text = "22h-6h from 2025-11-01 23h-7h 12345678901234 1h-9h from 2026-01-01 \
                12345678901234 00:00-00:00";
    let config: OffPeakConfig = text.parse().unwrap();
    assert_eq!(
        config.to_string(),
        "22:00-06:00 from 2025-11-01 until 2025-12-31 23:00-07:00 12345678901234 \
         01:00-09:00 from 2026-01-01 12345678901234"
    );
    let off = |pdl: &str, when: &str| {
        config.is_off_peak(pdl, Flow::Consumption, at(when), HolidayZone::Metropole)
    };
    // The default schedule: 22-6 until 31 October, 23-7 from 1 November on.
    assert!(off("1", "2025-10-31 22:30") && !off("1", "2025-11-01 22:30"));
    assert!(!off("1", "2025-10-31 06:30") && off("1", "2025-11-01 06:30"));
    // The PDL section lives in its period only: 1-9 in Nov-Dec 2025, all peak from 2026
    // (its section there says no hours), the base before.
    assert!(off("12345678901234", "2025-10-31 23:00"));
    assert!(off("12345678901234", "2025-11-15 08:30"));
    assert!(!off("12345678901234", "2026-01-01 08:30"));
    // Another PDL in 2026: the 2026 period has no default section, so the base holds.
    assert!(off("1", "2026-02-01 22:30"));
    // Split: the change day (a Saturday) against the day before.
    let readings: Vec<Reading> = ["2025-10-31", "2025-11-01"]
        .iter()
        .flat_map(|day| full_day(date(day), IntervalLength::PT30M, 1000))
        .collect();
    let curve = curve(&readings);
    let split = curve.split(&schedule(text, "12345678901234", Flow::Consumption));
    let days: Vec<[f64; 2]> = split.days().iter().map(|d| wh(d.energy)).collect();
    assert_eq!(days, [[16_000.0, 8_000.0], [16_000.0, 8_000.0]]);
    let hours = split.hours();
    // 2025-11-01 08:00-09:00 (local; UTC+1) is off-peak for the PDL, 22:00-23:00 not.
    let hour_ending = |local: &str| {
        let end = at(local).and_local_timezone(PARIS).unwrap().timestamp() / 60;
        hours
            .iter()
            .find(|h| h.end_minute == end)
            .unwrap()
            .energy
            .map(Energy::as_wh_f64)
    };
    assert_eq!(hour_ending("2025-11-01 09:00"), [0.0, 1000.0]);
    assert_eq!(hour_ending("2025-11-01 23:00"), [1000.0, 0.0]);
    assert_eq!(hour_ending("2025-10-31 23:00"), [0.0, 1000.0]);
}
