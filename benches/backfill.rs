//! The whole CPU path of a two-year backfill: 105 week-long v5 load-curve bodies (about
//! 3 MB of JSON, newest week first as the planner asks) parsed, placed on the time line,
//! split into peak and off-peak, and turned into a device's rows.
//!
//! Beside it, in the same run, a baseline: the same bodies only parsed into a
//! `serde_json::Value` tree (the first step of the parser before issue 9, which then
//! copied the tree into typed structs). Outside `--test` runs, it prints both times and
//! their ratio.
//!
//! Also in the same run: the bodies oldest first, and the path with the previous curve
//! builder (its general path alone).
//!
//! Target: the whole path at most 5 ms newest first on this machine (issue 21; 9.6-10.3 ms
//! before it, about 52 ms before issue 9).

use std::hint::black_box;
use std::time::Duration as StdDuration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use linky_benches::best_times_in_turn;
use linky_core::{
    CompiledSchedule, DeviceData, DeviceRows, Flow, HistorySettings, HolidayZone, LoadCurve,
    MainDisplay, Measurement, OffPeakConfig, PARIS, PlanLimits, Reading, RunSettings,
    SecondaryDisplay, device_rows,
};
use linky_enedis::{Backend, SyntheticSession, UsagePointCheck, parse_load_curve, sandbox_now};

const DEVICE: &str = "22516914714270";
const SCHEDULE: &str = "22h00-6h00 sa 0h-24h di 0h-24h fe 0h-24h";

/// The bodies of a two-year consumption backfill, in the order they arrive.
fn bodies() -> Vec<Vec<u8>> {
    let session = SyntheticSession::new(
        Backend::Proxy {
            base_url: String::new(),
            client_id: String::new(),
        },
        DEVICE,
        vec![Measurement::LoadCurve(Flow::Consumption)],
        PlanLimits::new(sandbox_now(), 730),
        9,
    )
    .session();
    session
        .exchanges
        .iter()
        .map(|exchange| exchange.response.body_bytes())
        .collect()
}

/// Bodies to rows, as a sync does it.
fn whole_path(bodies: &[Vec<u8>], schedule: &CompiledSchedule, run: &RunSettings) -> DeviceRows {
    path(bodies, schedule, run, true)
}

/// Bodies to rows, with the builder's fast path or without it (the previous builder).
fn path(
    bodies: &[Vec<u8>],
    schedule: &CompiledSchedule,
    run: &RunSettings,
    fast: bool,
) -> DeviceRows {
    rows_of(&readings_of(bodies), schedule, run, fast)
}

/// The first half of the path: bodies to readings.
fn readings_of(bodies: &[Vec<u8>]) -> Vec<Reading> {
    let id = DEVICE.parse().expect("a valid usage point");
    let mut readings = Vec::new();
    for body in bodies {
        let payload = parse_load_curve(body, Flow::Consumption, UsagePointCheck::Expect(&id))
            .expect("a valid body");
        readings.extend(payload.readings);
    }
    readings
}

/// The second half: readings to rows.
fn rows_of(
    readings: &[Reading],
    schedule: &CompiledSchedule,
    run: &RunSettings,
    fast: bool,
) -> DeviceRows {
    let builder = LoadCurve::builder(PARIS);
    let (curve, _) = if fast {
        builder.build(readings)
    } else {
        builder.build_without_fast_path(readings)
    };
    let data = DeviceData {
        device: DEVICE.parse().expect("a valid device"),
        consumption: Some(curve.split(schedule)),
        production: None,
        peaks: Vec::new(),
        two_tariffs: true,
    };
    device_rows(&data, run)
}

/// The baseline: only the generic JSON tree of every body.
fn value_trees(bodies: &[Vec<u8>]) -> usize {
    bodies
        .iter()
        .map(|body| {
            let value: serde_json::Value = serde_json::from_slice(body).expect("json");
            value.as_object().map_or(0, |object| object.len())
        })
        .sum()
}

fn backfill(c: &mut Criterion) {
    let bodies = bodies();
    let bytes: usize = bodies.iter().map(Vec::len).sum();
    let config: OffPeakConfig = SCHEDULE.parse().expect("a valid schedule");
    let schedule =
        CompiledSchedule::new(&config, DEVICE, Flow::Consumption, HolidayZone::Metropole);
    let history =
        HistorySettings::new(7, 730, MainDisplay::default(), SecondaryDisplay::default()).0;
    let run = RunSettings::new(sandbox_now().date(), history);
    let rows = whole_path(&bodies, &schedule, &run);
    assert!(rows.days.len() >= 729, "{} day rows", rows.days.len());
    let oldest_first: Vec<Vec<u8>> = bodies.iter().rev().cloned().collect();
    assert_eq!(whole_path(&oldest_first, &schedule, &run), rows);
    assert_eq!(path(&bodies, &schedule, &run, false), rows);
    if !std::env::args().any(|argument| argument == "--test") {
        let readings = readings_of(&bodies);
        let times = best_times_in_turn(
            StdDuration::from_secs(6),
            &mut [
                &mut || {
                    black_box(whole_path(&bodies, &schedule, &run));
                },
                &mut || {
                    black_box(whole_path(&oldest_first, &schedule, &run));
                },
                &mut || {
                    black_box(path(&bodies, &schedule, &run, false));
                },
                &mut || {
                    black_box(value_trees(&bodies));
                },
                &mut || {
                    black_box(readings_of(&bodies));
                },
                &mut || {
                    black_box(rows_of(&readings, &schedule, &run, true));
                },
            ],
        );
        let ms = |time: StdDuration| time.as_secs_f64() * 1e3;
        println!(
            "backfill: {} bodies, {:.1} MB: whole path newest first {:.1} ms (target 5), oldest first {:.1} ms; \
             with the previous builder {:.1} ms; baseline (json trees only) {:.1} ms, ratio {:.2}",
            bodies.len(),
            bytes as f64 / 1e6,
            ms(times[0]),
            ms(times[1]),
            ms(times[2]),
            ms(times[3]),
            times[3].as_secs_f64() / times[0].as_secs_f64()
        );
        println!(
            "backfill, where the time goes: bodies to readings {:.1} ms, readings to rows {:.1} ms",
            ms(times[4]),
            ms(times[5])
        );
    }
    let mut group = c.benchmark_group("backfill_two_years");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(20);
    group.bench_function("bodies_to_rows", |b| {
        b.iter(|| whole_path(black_box(&bodies), &schedule, &run))
    });
    group.bench_function("baseline_json_trees_only", |b| {
        b.iter(|| value_trees(black_box(&bodies)))
    });
    group.finish();
}

criterion_group!(benches, backfill);
criterion_main!(benches);
