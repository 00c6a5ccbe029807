//! The pipeline through the public API: the original plugin's worked examples, every
//! hour row, day row and dashboard row.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};
use linky_core::{
    ApparentPower, CompiledSchedule, DeviceData, DeviceRows, Flow, HistorySettings, HolidayZone,
    IntervalLength, LoadCurve, MainDisplay, OffPeakConfig, PARIS, Power, PowerPeak, Reading,
    RunSettings, SecondaryDisplay, device_rows, merged_devices,
};
use serde_json::Value;

fn examples() -> Vec<Value> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/examples/pipeline-examples.jsonl");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn local(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
}

/// The readings of a v5 load-curve payload (the wire parser lives in linky-enedis; this
/// reads just what the examples hold).
fn readings(payload: &Value) -> Vec<Reading> {
    let reading = payload.get("meter_reading").unwrap_or(payload);
    reading["interval_reading"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let length: IntervalLength = r["interval_length"].as_str().unwrap().parse().unwrap();
            let watts: i64 = r["value"].as_str().unwrap().parse().unwrap();
            Reading::new(
                local(r["date"].as_str().unwrap()),
                length,
                Power::from_watts(watts),
            )
        })
        .collect()
}

fn peaks(payload: &Value) -> Vec<PowerPeak> {
    let reading = payload.get("meter_reading").unwrap_or(payload);
    reading["interval_reading"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| PowerPeak {
            at: local(r["date"].as_str().unwrap()),
            power: ApparentPower::from_va(r["value"].as_str().unwrap().parse().unwrap()),
        })
        .collect()
}

/// Runs one example through the pipeline: every device's rows, merged devices included.
fn run(example: &Value) -> Vec<DeviceRows> {
    let config: OffPeakConfig = example["offpeak"].as_str().unwrap().parse().unwrap();
    let main: MainDisplay = example["main"].as_str().unwrap().parse().unwrap();
    let secondary: SecondaryDisplay = example["secondary"].as_str().unwrap().parse().unwrap();
    let (history, _) = HistorySettings::new(
        example["hours_days"].as_i64().unwrap(),
        example["days"].as_i64().unwrap(),
        main,
        secondary,
    );
    let settings = RunSettings {
        today: example["today"]
            .as_str()
            .unwrap()
            .parse::<NaiveDate>()
            .unwrap(),
        history,
        main,
        secondary,
    };
    let mut devices = Vec::new();
    for (pdl, point) in example["points"].as_object().unwrap() {
        let split = |flow: Flow, key: &str| {
            point.get(key).map(|payload| {
                let (curve, report) = LoadCurve::builder(PARIS).build(&readings(payload));
                assert!(report.dropped_readings() == 0, "{pdl} {key}: {report}");
                let schedule = CompiledSchedule::new(&config, pdl, flow, HolidayZone::Metropole);
                curve.split(&schedule)
            })
        };
        devices.push(DeviceData {
            device: pdl.clone(),
            consumption: split(Flow::Consumption, "consumption"),
            production: split(Flow::Production, "production"),
            peaks: point.get("peaks").map(peaks).unwrap_or_default(),
            two_tariffs: config.has_two_tariffs(pdl),
        });
    }
    let merged = merged_devices(&devices, &settings);
    devices.extend(merged);
    devices
        .iter()
        .map(|device| device_rows(device, &settings))
        .collect()
}

/// The numbers of an sValue, and its date if it has one.
fn fields(svalue: &str) -> (Vec<f64>, Option<String>) {
    let parts: Vec<&str> = svalue.split(';').collect();
    let (numbers, date) = if parts.len() == 7 {
        (&parts[..6], Some(parts[6].to_owned()))
    } else {
        (&parts[..], None)
    };
    (numbers.iter().map(|n| n.parse().unwrap()).collect(), date)
}

fn assert_close(actual: &[f64], expected: &[f64], context: &str) {
    assert_eq!(actual.len(), expected.len(), "{context}");
    for (a, e) in actual.iter().zip(expected) {
        assert!(
            (a - e).abs() <= 1e-6,
            "{context}: {actual:?} != {expected:?}"
        );
    }
}

#[test]
fn every_row_of_the_original_worked_examples() {
    let examples = examples();
    assert_eq!(examples.len(), 18);
    let mut rows_checked = 0;
    for (index, example) in examples.iter().enumerate() {
        let computed = run(example);
        let expected = example["expected"].as_object().unwrap();
        let devices: Vec<&str> = computed.iter().map(|r| r.device.as_str()).collect();
        let mut expected_devices: Vec<&str> = expected.keys().map(String::as_str).collect();
        expected_devices.sort_unstable();
        let mut sorted = devices.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, expected_devices, "example {index}");
        for rows in &computed {
            let context = format!("example {index}, device {}", rows.device);
            let svalues = expected[&rows.device].as_array().unwrap();
            let mut dated: BTreeMap<String, Vec<f64>> = BTreeMap::new();
            let mut dashboard = None;
            for svalue in svalues {
                match fields(svalue.as_str().unwrap()) {
                    (numbers, Some(date)) => {
                        dated.insert(date, numbers);
                    }
                    (numbers, None) => dashboard = Some(numbers),
                }
            }
            let mut ours: BTreeMap<String, Vec<f64>> = BTreeMap::new();
            for hour in &rows.hours {
                let [u1, u2, r1, r2] = hour.cumulative.in_order().map(|e| e.as_wh());
                ours.insert(
                    hour.end.format("%Y-%m-%d %H:%M:%S").to_string(),
                    vec![u1, u2, r1, r2, 0.0, 0.0],
                );
            }
            for day in &rows.days {
                let [u1, u2, r1, r2] = day.totals.in_order().map(|e| e.as_wh());
                ours.insert(day.date.to_string(), vec![u1, u2, r1, r2, 0.0, 0.0]);
            }
            assert_eq!(
                ours.keys().collect::<Vec<_>>(),
                dated.keys().collect::<Vec<_>>(),
                "{context}: the dates written"
            );
            for (date, numbers) in &dated {
                assert_close(&ours[date], numbers, &format!("{context}, {date}"));
                rows_checked += 1;
            }
            match (&rows.dashboard, dashboard) {
                (Some(row), Some(expected)) => {
                    let ours = [
                        row.u1_wh,
                        row.u2_wh,
                        row.r1_wh,
                        row.r2_wh,
                        row.cons_va as f64,
                        row.prod_va as f64,
                    ];
                    assert_close(&ours, &expected, &format!("{context}, dashboard"));
                    rows_checked += 1;
                }
                (None, None) => {}
                (ours, theirs) => panic!("{context}: dashboard {ours:?} != {theirs:?}"),
            }
        }
    }
    // Every sValue of every device of every example.
    assert_eq!(rows_checked, 1632);
}
