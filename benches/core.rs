//! Benchmarks of linky-core's time model: building a two-year PT30M curve from local
//! timestamps (DST resolution included), bucketing it into hours and days, and asking
//! the holiday calendar about every minute of a year.
//!
//! `cargo bench -p linky-benches` measures; `cargo bench -p linky-benches -- --test`
//! (what CI runs) runs each benchmark once to check it works.

use std::hint::black_box;

use chrono::{Duration, NaiveDate};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use linky_core::{HolidayZone, IntervalLength, LoadCurve, PARIS, Power, Reading, is_holiday};

/// Two years of PT30M readings in Enedis' order, with the local END times it sends.
fn two_years_of_half_hours() -> Vec<Reading> {
    let start = NaiveDate::from_ymd_opt(2023, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| t.and_local_timezone(PARIS).single())
        .expect("a valid start");
    (1..=2 * 365 * 48)
        .map(|step| {
            let end = start + Duration::minutes(30 * step);
            let watts = 200 + (step * 7919) % 3000;
            Reading::new(
                end.naive_local(),
                IntervalLength::PT30M,
                Power::from_watts(watts),
            )
        })
        .collect()
}

fn curves(c: &mut Criterion) {
    let readings = two_years_of_half_hours();
    let mut group = c.benchmark_group("load_curve");
    group.throughput(Throughput::Elements(readings.len() as u64));
    group.bench_function("build_two_years_pt30m", |b| {
        b.iter(|| LoadCurve::builder(PARIS).build(black_box(&readings)))
    });
    let (curve, _) = LoadCurve::builder(PARIS).build(&readings);
    group.bench_function("hours_two_years_pt30m", |b| {
        b.iter(|| black_box(&curve).hours())
    });
    group.bench_function("days_two_years_pt30m", |b| {
        b.iter(|| black_box(&curve).days())
    });
    group.finish();
}

fn holidays(c: &mut Criterion) {
    let minutes_in_a_year = 365 * 24 * 60;
    let first = NaiveDate::from_ymd_opt(2024, 1, 1).expect("a valid date");
    let mut group = c.benchmark_group("holidays");
    group.throughput(Throughput::Elements(minutes_in_a_year));
    group.bench_function("is_holiday_every_minute_of_a_year", |b| {
        b.iter(|| {
            let mut count = 0u32;
            for minute in 0..minutes_in_a_year as i64 {
                let date =
                    first.and_hms_opt(0, 0, 0).expect("midnight") + Duration::minutes(minute);
                count += u32::from(is_holiday(
                    black_box(date.date()),
                    HolidayZone::AlsaceMoselle,
                ));
            }
            count
        })
    });
    group.finish();
}

criterion_group!(benches, curves, holidays);
criterion_main!(benches);
