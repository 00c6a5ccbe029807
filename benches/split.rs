//! The tariff splitter: ten years of PT30M readings (about 175 000 intervals) and of
//! PT10M readings through a schedule with a weekday section, a holiday section and
//! wrapping ranges, beside a straightforward baseline that classifies each minute through
//! the parsed configuration (no compiled form). Outside `--test` runs, it also prints the
//! splitter's throughput and its ratio to the baseline.
//!
//! Target: at least 175 million intervals per second for PT30M on one thread (issue 11;
//! about 123 M before it), at least 50 times the baseline. Tempo's six classes (a colour for every day of the ten years) run
//! beside the two-class split in the same run: target at least half its rate.

use std::hint::black_box;
use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDate};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use linky_benches::{best_time, best_times_in_turn};
use linky_core::{
    ColourCalendar, CompiledSchedule, DayColour, Energy, Flow, HolidayZone, IntervalLength,
    LoadCurve, OffPeakConfig, PARIS, Power, Reading, SplitCurve, split_by_colour,
};

const SCHEDULE: &str = "22h26-6h26 12h00-14h00 mercredi 11h00-16h00 fe 0h-24h";
const DEVICE: &str = "22516914714270";

/// Ten years of readings of `length`, in Enedis' order and local END times.
fn ten_years(length: IntervalLength) -> LoadCurve {
    let start = NaiveDate::from_ymd_opt(2015, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| t.and_local_timezone(PARIS).single())
        .expect("a valid start");
    let step = i64::from(length.minutes());
    let count = 10 * 365 * 1440 / step;
    let readings: Vec<Reading> = (1..=count)
        .map(|index| {
            let end = start + Duration::minutes(step * index);
            let watts = 150 + (index * 7919) % 4000;
            Reading::new(end.naive_local(), length, Power::from_watts(watts))
        })
        .collect();
    LoadCurve::builder(PARIS).build(&readings).0
}

/// The baseline: every minute of every interval classified through the parsed
/// configuration, at its own local time.
fn baseline(curve: &LoadCurve, config: &OffPeakConfig) -> [Energy; 2] {
    let mut totals = [Energy::ZERO; 2];
    for interval in curve.intervals() {
        for minute in interval.start_minute()..interval.end_minute() {
            let local = chrono::DateTime::from_timestamp(minute * 60, 0)
                .unwrap_or_default()
                .with_timezone(&PARIS)
                .naive_local();
            let off_peak =
                config.is_off_peak(DEVICE, Flow::Consumption, local, HolidayZone::Metropole);
            totals[usize::from(off_peak)] += interval.power().energy_over_minutes(1);
        }
    }
    totals
}

fn split(curve: &LoadCurve, schedule: &CompiledSchedule) -> SplitCurve<2> {
    curve.split(schedule)
}

/// A colour for every day from 2014-12-31 on (the first night needs the day before): 22
/// red and 43 white days a season, in winter weekdays, the rest blue.
fn ten_years_of_colours() -> ColourCalendar {
    let mut calendar = ColourCalendar::new();
    let first = NaiveDate::from_ymd_opt(2014, 12, 31).expect("a valid date");
    for n in 0..(10 * 366 + 2) {
        let day = first + Duration::days(n);
        let colour = match (n * 37) % 365 {
            0..22 => DayColour::Red,
            22..65 => DayColour::White,
            _ => DayColour::Blue,
        };
        calendar.set(day, colour);
    }
    calendar
}

/// Prints the six-class split's rate beside the two-class one's, measured in this run.
fn print_tempo_ratio(curve: &LoadCurve, schedule: &CompiledSchedule, calendar: &ColourCalendar) {
    let count = curve.intervals().len() as f64;
    // One run of each in turn: both rates measured under the same load.
    let times = best_times_in_turn(
        StdDuration::from_secs(4),
        &mut [
            &mut || {
                black_box(split(curve, schedule));
            },
            &mut || {
                black_box(split_by_colour(curve, calendar));
            },
        ],
    );
    let (two, six) = (times[0], times[1]);
    let tempo = split_by_colour(curve, calendar);
    assert!(tempo.waiting.is_empty(), "every colour is known");
    assert_eq!(
        tempo.split.totals().iter().copied().sum::<Energy>(),
        split(curve, schedule)
            .totals()
            .iter()
            .copied()
            .sum::<Energy>(),
        "six classes hold the same energy as two"
    );
    println!(
        "split pt30m tempo (6 classes): {:.0} M intervals/s, two classes {:.0} M intervals/s, ratio {:.2} (target at least 0.5)",
        count / six.as_secs_f64() / 1e6,
        count / two.as_secs_f64() / 1e6,
        two.as_secs_f64() / six.as_secs_f64()
    );
}

fn print_ratios(
    config: &OffPeakConfig,
    schedule: &CompiledSchedule,
    curves: &[(&str, &LoadCurve)],
) {
    for (name, curve) in curves {
        let count = curve.intervals().len() as f64;
        let fast = best_time(StdDuration::from_secs(2), || {
            black_box(split(curve, schedule));
        });
        let slow = best_time(StdDuration::from_secs(2), || {
            black_box(baseline(curve, config));
        });
        assert_eq!(
            split(curve, schedule).totals(),
            baseline(curve, config),
            "{name}: the baseline disagrees"
        );
        println!(
            "split {name}: {:.0} M intervals/s, baseline {:.2} M intervals/s, ratio {:.0}x",
            count / fast.as_secs_f64() / 1e6,
            count / slow.as_secs_f64() / 1e6,
            slow.as_secs_f64() / fast.as_secs_f64()
        );
    }
}

fn splitting(c: &mut Criterion) {
    let config: OffPeakConfig = SCHEDULE.parse().expect("a valid schedule");
    let schedule =
        CompiledSchedule::new(&config, DEVICE, Flow::Consumption, HolidayZone::Metropole);
    let half_hours = ten_years(IntervalLength::PT30M);
    let ten_minutes = ten_years(IntervalLength::PT10M);
    let colours = ten_years_of_colours();
    if !std::env::args().any(|argument| argument == "--test") {
        print_ratios(
            &config,
            &schedule,
            &[("pt30m", &half_hours), ("pt10m", &ten_minutes)],
        );
        print_tempo_ratio(&half_hours, &schedule, &colours);
    }
    for (name, curve) in [("pt30m", &half_hours), ("pt10m", &ten_minutes)] {
        let mut group = c.benchmark_group(format!("split_ten_years_{name}"));
        group.throughput(Throughput::Elements(curve.intervals().len() as u64));
        group.bench_function("compiled", |b| {
            b.iter(|| split(black_box(curve), &schedule))
        });
        if name == "pt30m" {
            group.bench_function("tempo_six_classes", |b| {
                b.iter(|| split_by_colour(black_box(curve), &colours))
            });
        }
        group.sample_size(10);
        group.bench_function("baseline_per_minute", |b| {
            b.iter(|| baseline(black_box(curve), &config))
        });
        group.finish();
    }
}

criterion_group!(benches, splitting);
criterion_main!(benches);
