//! From readings to a split curve: the curve builder and the splitter together, over two
//! years of PT30M readings (35 040, what a backfill brings) in week-long answers arriving oldest first,
//! newest first (as a backfill asks for them) and in a shuffled order, through a schedule
//! with a weekday section and a holiday section. Beside it, in the same run: the previous
//! builder (its general path alone, `build_without_fast_path`) with the same splitter, and
//! the splitter alone. Outside `--test` runs, it prints the rates and their ratios.
//!
//! Target (issue 21): at least 100 million PT30M readings per second from readings to a
//! split curve, in every order (19.5-20.3 M before).

use std::hint::black_box;
use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDate};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use linky_benches::best_times_in_turn;
use linky_core::{
    CompiledSchedule, Flow, HolidayZone, IntervalLength, LoadCurve, OffPeakConfig, PARIS, Power,
    Reading, SplitCurve,
};

const SCHEDULE: &str = "22h26-6h26 12h00-14h00 mercredi 11h00-16h00 fe 0h-24h";
const DEVICE: &str = "22516914714270";

/// Two years of PT30M readings (from 2015, both DST days twice) in week-long answers, in
/// Enedis' order and local END times.
fn weeks() -> Vec<Vec<Reading>> {
    let start = NaiveDate::from_ymd_opt(2015, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| t.and_local_timezone(PARIS).single())
        .expect("a valid start");
    let count = 2 * 365 * 48;
    let readings: Vec<Reading> = (1..=count)
        .map(|index| {
            let end = start + Duration::minutes(30 * index);
            let watts = 150 + (index * 7919) % 4000;
            Reading::new(
                end.naive_local(),
                IntervalLength::PT30M,
                Power::from_watts(watts),
            )
        })
        .collect();
    readings.chunks(7 * 48).map(<[Reading]>::to_vec).collect()
}

fn shuffled(mut weeks: Vec<Vec<Reading>>) -> Vec<Vec<Reading>> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for i in (1..weeks.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        weeks.swap(i, (state % (i as u64 + 1)) as usize);
    }
    weeks
}

fn build_and_split(readings: &[Reading], schedule: &CompiledSchedule) -> SplitCurve<2> {
    let (curve, _) = LoadCurve::builder(PARIS).build(readings);
    curve.split(schedule)
}

fn previous_builder_and_split(readings: &[Reading], schedule: &CompiledSchedule) -> SplitCurve<2> {
    let (curve, _) = LoadCurve::builder(PARIS).build_without_fast_path(readings);
    curve.split(schedule)
}

fn building(c: &mut Criterion) {
    let config: OffPeakConfig = SCHEDULE.parse().expect("a valid schedule");
    let schedule =
        CompiledSchedule::new(&config, DEVICE, Flow::Consumption, HolidayZone::Metropole);
    let weeks = weeks();
    let oldest_first: Vec<Reading> = weeks.concat();
    let newest_first: Vec<Reading> = weeks.iter().rev().flatten().copied().collect();
    let shuffled_weeks: Vec<Reading> = shuffled(weeks.clone()).concat();
    let count = oldest_first.len();
    // Every order makes the same curve, clean, as the previous builder does.
    let expected = build_and_split(&oldest_first, &schedule);
    for readings in [&newest_first, &shuffled_weeks] {
        let (curve, report) = LoadCurve::builder(PARIS).build(readings);
        assert!(report.is_clean(), "{report}");
        assert_eq!(curve.split(&schedule).totals(), expected.totals());
        assert_eq!(
            previous_builder_and_split(readings, &schedule).totals(),
            expected.totals()
        );
    }
    if !std::env::args().any(|argument| argument == "--test") {
        let (curve, _) = LoadCurve::builder(PARIS).build(&oldest_first);
        let times = best_times_in_turn(
            StdDuration::from_secs(6),
            &mut [
                &mut || {
                    black_box(build_and_split(&oldest_first, &schedule));
                },
                &mut || {
                    black_box(build_and_split(&newest_first, &schedule));
                },
                &mut || {
                    black_box(build_and_split(&shuffled_weeks, &schedule));
                },
                &mut || {
                    black_box(previous_builder_and_split(&newest_first, &schedule));
                },
                &mut || {
                    black_box(curve.split(&schedule));
                },
                &mut || {
                    black_box(LoadCurve::builder(PARIS).build(&oldest_first));
                },
            ],
        );
        let rate = |time: StdDuration| count as f64 / time.as_secs_f64() / 1e6;
        println!(
            "build+split pt30m: oldest first {:.0} M readings/s, newest first {:.0} M/s, shuffled weeks {:.0} M/s (target 100); \
             previous builder+split (newest first) {:.1} M/s, ratio {:.1}x; splitter alone {:.0} M/s",
            rate(times[0]),
            rate(times[1]),
            rate(times[2]),
            rate(times[3]),
            times[3].as_secs_f64() / times[1].as_secs_f64(),
            rate(times[4]),
        );
        println!(
            "builder alone (oldest first): {:.0} M readings/s",
            rate(times[5])
        );
    }
    let mut group = c.benchmark_group("build_and_split_two_years_pt30m");
    group.throughput(Throughput::Elements(count as u64));
    group.sample_size(20);
    group.bench_function("newest_first", |b| {
        b.iter(|| build_and_split(black_box(&newest_first), &schedule))
    });
    group.bench_function("oldest_first", |b| {
        b.iter(|| build_and_split(black_box(&oldest_first), &schedule))
    });
    group.bench_function("previous_builder_newest_first", |b| {
        b.iter(|| previous_builder_and_split(black_box(&newest_first), &schedule))
    });
    group.finish();
}

criterion_group!(benches, building);
criterion_main!(benches);
