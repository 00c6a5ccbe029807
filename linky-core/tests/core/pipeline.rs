//! The pipeline through the public API: the original plugin's worked examples, every
//! hour row, day row and dashboard row.

use std::collections::BTreeMap;

#[path = "../../../testdata/examples/pipeline_loader.rs"]
mod pipeline_loader;

use pipeline_loader::{examples, fields, run};

fn assert_close(actual: &[f64], expected: &[f64], context: &str) {
    assert_within(actual, expected, 1e-6, context);
}

fn assert_within(actual: &[f64], expected: &[f64], tolerance: f64, context: &str) {
    assert_eq!(actual.len(), expected.len(), "{context}");
    for (a, e) in actual.iter().zip(expected) {
        assert!(
            (a - e).abs() <= tolerance,
            "{context}: {actual:?} != {expected:?}"
        );
    }
}

/// The dashboard's figures are `Energy`: a mean is rounded to the milliwatt-minute, half
/// of which is 1/120 000 Wh.
const MEAN_ROUNDING_WH: f64 = 1.0 / 120_000.0 + 1e-9;

#[test]
fn every_row_of_the_original_worked_examples() {
    let examples = examples();
    assert_eq!(examples.len(), 18);
    let mut rows_checked = 0;
    for (index, example) in examples.iter().enumerate() {
        let computed = run(example);
        let expected = example["expected"].as_object().unwrap();
        let devices: Vec<String> = computed.iter().map(|r| r.device.to_string()).collect();
        let mut expected_devices: Vec<String> = expected.keys().cloned().collect();
        expected_devices.sort_unstable();
        let mut sorted = devices.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, expected_devices, "example {index}");
        for rows in &computed {
            let context = format!("example {index}, device {}", rows.device);
            let svalues = expected[&rows.device.to_string()].as_array().unwrap();
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
            let running = linky_core::HourRow::running_totals(&rows.hours);
            for (hour, cumulative) in rows.hours.iter().zip(&running) {
                let [u1, u2, r1, r2] = cumulative.in_order().map(|e| e.as_wh_f64());
                ours.insert(
                    hour.end.format("%Y-%m-%d %H:%M:%S").to_string(),
                    vec![u1, u2, r1, r2, 0.0, 0.0],
                );
            }
            for day in &rows.days {
                let [u1, u2, r1, r2] = day.totals.in_order().map(|e| e.as_wh_f64());
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
                        row.u1.as_wh_f64(),
                        row.u2.as_wh_f64(),
                        row.r1.as_wh_f64(),
                        row.r2.as_wh_f64(),
                        row.cons_va as f64,
                        row.prod_va as f64,
                    ];
                    assert_within(
                        &ours,
                        &expected,
                        MEAN_ROUNDING_WH,
                        &format!("{context}, dashboard"),
                    );
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
