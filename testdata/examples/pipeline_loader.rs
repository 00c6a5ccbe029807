//! Loads `pipeline-examples.jsonl` and runs each case through linky-core, for the tests of
//! every crate that checks the original plugin's output (included with `#[path]`).

use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};
use linky_core::{
    ApparentPower, CompiledSchedule, DeviceData, DeviceRows, Flow, HistorySettings, HolidayZone,
    IntervalLength, LoadCurve, MainDisplay, OffPeakConfig, PARIS, Power, PowerPeak, Reading,
    RunSettings, SecondaryDisplay, device_rows, merged_devices,
};
use serde_json::Value;

/// Every example, one JSON object each.
pub fn examples() -> Vec<Value> {
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

fn interval_readings(payload: &Value) -> &Vec<Value> {
    payload.get("meter_reading").unwrap_or(payload)["interval_reading"]
        .as_array()
        .unwrap()
}

fn readings(payload: &Value) -> Vec<Reading> {
    interval_readings(payload)
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
    interval_readings(payload)
        .iter()
        .map(|r| PowerPeak {
            at: local(r["date"].as_str().unwrap()),
            power: ApparentPower::from_va(r["value"].as_str().unwrap().parse().unwrap()),
        })
        .collect()
}

/// Runs one example through the pipeline: every device's rows, merged devices included.
pub fn run(example: &Value) -> Vec<DeviceRows> {
    let config: OffPeakConfig = example["offpeak"].as_str().unwrap().parse().unwrap();
    let main: MainDisplay = example["main"].as_str().unwrap().parse().unwrap();
    let secondary: SecondaryDisplay = example["secondary"].as_str().unwrap().parse().unwrap();
    let (history, _) = HistorySettings::new(
        example["hours_days"].as_i64().unwrap(),
        example["days"].as_i64().unwrap(),
        main,
        secondary,
    );
    let settings = RunSettings::new(
        example["today"]
            .as_str()
            .unwrap()
            .parse::<NaiveDate>()
            .unwrap(),
        history,
    )
    .with_displays(main, secondary);
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
            device: pdl.parse().unwrap(),
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
pub fn fields(svalue: &str) -> (Vec<f64>, Option<String>) {
    let parts: Vec<&str> = svalue.split(';').collect();
    let (numbers, date) = if parts.len() == 7 {
        (&parts[..6], Some(parts[6].to_owned()))
    } else {
        (&parts[..], None)
    };
    (numbers.iter().map(|n| n.parse().unwrap()).collect(), date)
}
