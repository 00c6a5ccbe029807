//! The main job. Until the sync run exists (issue: linky-domoticz), it replays the real
//! Enedis payloads bundled in `testdata/enedis` through the parsers and the time model
//! and prints, per usage point, the day-by-day energy: date, hours with data, energy,
//! anomalies.
//!
//! ```text
//! cargo run --release --example replay
//! ```

use std::collections::BTreeMap;
use std::process::ExitCode;

use chrono::{Duration, NaiveDate};
use linky_core::{AnomalyKind, DayBucket, Flow, PARIS, QualityReport};
use linky_enedis::{UsagePointCheck, parse_load_curve};

/// The bundled load curves: (where it was captured, body).
const LOAD_CURVES: [(&str, &[u8]); 5] = [
    (
        "Enedis sandbox, client 0 (v5)",
        include_bytes!("../testdata/enedis/sandbox-infodavide_consumption_load_curve.json"),
    ),
    (
        "saniho/apiEnedis, 7 days (v5 through a gateway)",
        include_bytes!("../testdata/enedis/saniho_consumption_load_curve_7days_data_8.json"),
    ),
    (
        "saniho/apiEnedis, PT15M week with a hole (v5 through a gateway)",
        include_bytes!("../testdata/enedis/saniho_consumption_load_curve_PT15M_week2.json"),
    ),
    (
        "myelectricaldatapy, a week asked, three days sent (MyElectricalData)",
        include_bytes!("../testdata/enedis/myelectricaldatapy_detail.json"),
    ),
    (
        "MyElectricalData capture, 2026-09 (v5)",
        include_bytes!("../testdata/enedis/med-new_v5_consumption_load_curve_2026-09.json"),
    ),
];

fn main() -> ExitCode {
    let mut failed = false;
    for (source, body) in LOAD_CURVES {
        // The captures are anonymised, so their usage points cannot be checked here; a
        // real client always checks (UsagePointCheck::Expect).
        let body = unwrap_capture_harness(body);
        let payload = match parse_load_curve(&body, Flow::Consumption, UsagePointCheck::Skip) {
            Ok(payload) => payload,
            Err(error) => {
                eprintln!("{source}: {error}");
                failed = true;
                continue;
            }
        };
        let (curve, report) = payload.build_curve(PARIS);
        let usage_point = payload.usage_point.as_deref().unwrap_or("(none)");
        println!("usage point {usage_point}: {source}");
        println!(
            "{} readings, {} intervals kept, {} minutes missing",
            payload.readings.len(),
            curve.intervals().len(),
            report.missing_minutes()
        );
        print_days(&curve.days(), &report, payload.period);
        println!("total {:.3} kWh\n", curve.total_energy().as_kwh());
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Some captures wrap the HTTP body in their test harness's `{"status_code", "content"}`:
/// take the body out (what Enedis sent is `content`).
fn unwrap_capture_harness(bytes: &[u8]) -> Vec<u8> {
    let content = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|value| value.get("content").cloned());
    match content {
        Some(content) => serde_json::to_vec(&content).unwrap_or_else(|_| bytes.to_vec()),
        None => bytes.to_vec(),
    }
}

/// One row per day of the period (or of the data, without a period).
fn print_days(days: &[DayBucket], report: &QualityReport, period: Option<(NaiveDate, NaiveDate)>) {
    let by_date: BTreeMap<NaiveDate, &DayBucket> = days.iter().map(|d| (d.date, d)).collect();
    let (first, end) = match (period, days.first(), days.last()) {
        (Some(period), _, _) => period,
        (None, Some(first), Some(last)) => (first.date, last.date + Duration::days(1)),
        _ => return,
    };
    println!(
        "  {:<10}  {:>7}  {:>12}  anomalies",
        "date", "hours", "energy kWh"
    );
    for date in first.iter_days().take_while(|d| *d < end) {
        let notes = anomalies_of(report, date);
        match by_date.get(&date) {
            Some(day) => println!(
                "  {date}  {:>3}/{:<3}  {:>12.3}  {notes}",
                day.hours_with_data,
                day.hours_in_day,
                day.energy.as_kwh()
            ),
            None => println!("  {date}  {:>7}  {:>12}  {notes}", "0", "-"),
        }
    }
}

/// The anomalies that touch `date`, as one short text.
fn anomalies_of(report: &QualityReport, date: NaiveDate) -> String {
    let notes: Vec<String> = report
        .anomalies()
        .iter()
        .filter(|anomaly| match &anomaly.kind {
            AnomalyKind::Hole { start, end, .. } => {
                start.date_naive() <= date && (*end - Duration::minutes(1)).date_naive() >= date
            }
            _ => anomaly
                .local_end
                .is_some_and(|end| (end - Duration::minutes(1)).date() == date),
        })
        .map(|anomaly| anomaly.kind.to_string())
        .collect();
    if notes.is_empty() {
        "-".to_owned()
    } else {
        notes.join("; ")
    }
}
