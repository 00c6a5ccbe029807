//! Benchmarks of the off-peak schedule language: parsing the longest example of the
//! seed README, and classifying every minute of a year through the compiled form,
//! beside the plain lookup through the parsed configuration as a baseline.

use std::hint::black_box;

use chrono::{Duration, NaiveDate};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use linky_core::{CompiledSchedule, Flow, HolidayZone, OffPeakConfig, Tariff};

/// The longest example of the seed README.
const LONGEST_README_EXAMPLE: &str = "02h00-04h00 16h00-19h00 P 17h00-22h00 mercredi 11h00-16h00 \
                                      12345678901234 88888888888888 13h00-16h00";

/// A schedule with weekday and holiday sections and wrapping ranges.
const BUSY_SCHEDULE: &str = "22h30-6h30 12h00-14h00 mercredi 11h00-16h00 sa 0h-23h59 \
                             di 0h-23h59 fe 0h-23h59 P 17h00-22h00";

fn parsing(c: &mut Criterion) {
    let mut group = c.benchmark_group("offpeak_parse");
    group.throughput(Throughput::Bytes(LONGEST_README_EXAMPLE.len() as u64));
    group.bench_function("longest_readme_example", |b| {
        b.iter(|| black_box(LONGEST_README_EXAMPLE).parse::<OffPeakConfig>())
    });
    group.finish();
}

fn lookups(c: &mut Criterion) {
    let config: OffPeakConfig = BUSY_SCHEDULE.parse().expect("a valid schedule");
    let device = "22516914714270";
    let zone = HolidayZone::Metropole;
    let first = NaiveDate::from_ymd_opt(2024, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("a valid date");
    let minutes_in_a_year: u32 = 366 * 1440;
    let mut group = c.benchmark_group("offpeak_lookup_every_minute_of_a_year");
    group.throughput(Throughput::Elements(u64::from(minutes_in_a_year)));
    group.bench_function("plain_lookup", |b| {
        b.iter(|| {
            (0..minutes_in_a_year)
                .filter(|&m| {
                    let at = first + Duration::minutes(i64::from(m));
                    config.is_off_peak(device, Flow::Consumption, black_box(at), zone)
                })
                .count()
        })
    });
    let compiled = CompiledSchedule::new(&config, device, Flow::Consumption, zone);
    group.bench_function("compiled_runs", |b| {
        b.iter(|| {
            // Walk the year run by run, as a tariff splitter does: one day kind per day,
            // one lookup per tariff change.
            let mut off_peak_minutes = 0u32;
            for day in first.date().iter_days().take(366) {
                let kind = compiled.day_kind(black_box(day));
                let mut minute = 0u16;
                while minute < 1440 {
                    let (tariff, until) = compiled.tariff_in(kind, minute);
                    if tariff == Tariff::OffPeak {
                        off_peak_minutes += u32::from(until - minute);
                    }
                    minute = until;
                }
            }
            off_peak_minutes
        })
    });
    group.finish();
}

criterion_group!(benches, parsing, lookups);
criterion_main!(benches);
