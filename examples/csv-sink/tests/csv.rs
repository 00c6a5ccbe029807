//! The CSV sink driven by the sync from a readings file: every day's energy exact, a
//! second run changes nothing, and the binary does the same from the command line.

use linky_core::{Clock, ManualClock, PARIS};
use linky_csv_sink::{CsvSink, ReadingsFile};
use linky_domoticz::{MemoryState, SyncRun, SyncSettings};

const CONSUMER: &str = "22516914714270";
const PRODUCER: &str = "10284856584123";

/// 40 days of half-hours for a consumer (1000 W) and a producer (600 W by day), around
/// the fall-back day of 2024.
fn readings() -> String {
    let mut text = String::new();
    let start = chrono::NaiveDate::from_ymd_opt(2024, 10, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_local_timezone(PARIS)
        .unwrap();
    for step in 1..=(40 * 48 + 2) {
        let end = start + chrono::Duration::minutes(30 * step);
        let local = end.naive_local().format("%Y-%m-%d %H:%M:%S");
        text.push_str(&format!("{CONSUMER},consumption,{local},30,1000\n"));
        let daylight = (9..17).contains(&chrono::Timelike::hour(&end.naive_local()));
        text.push_str(&format!(
            "{PRODUCER},production,{local},30,{}\n",
            if daylight { 600 } else { 0 }
        ));
    }
    text
}

fn folder(name: &str) -> std::path::PathBuf {
    let folder = std::env::temp_dir().join(format!("linky-csv-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&folder).ok();
    folder
}

#[tokio::test]
async fn the_sync_writes_every_day_exactly_and_a_second_run_changes_nothing() {
    let source = ReadingsFile::parse(&readings()).unwrap();
    let out = folder("sync");
    let sink = CsvSink::new(&out);
    let state = MemoryState::new();
    let clock = ManualClock::new(
        chrono::NaiveDate::from_ymd_opt(2024, 11, 10)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_local_timezone(PARIS)
            .unwrap()
            .with_timezone(&chrono::Utc),
    );
    let settings = SyncSettings::new("22h00-6h00".parse().unwrap()).with_history(
        linky_core::HistorySettings::new(2, 60, Default::default(), Default::default()).0,
    );
    let report = SyncRun::new(&source, &sink, &state, &clock)
        .settings(settings.clone())
        .run()
        .await;
    assert!(report.is_success(), "{report:?}");
    let days = std::fs::read_to_string(out.join(format!("{CONSUMER}.days.csv"))).unwrap();
    let lines: Vec<&str> = days.lines().collect();
    assert_eq!(lines.len(), 1 + 40);
    assert!(lines.contains(&"2024-10-02,16000.000,8000.000,0.000,0.000"));
    // The fall-back day has 25 hours: the repeated 02:00-03:00 is off-peak.
    assert!(
        lines.contains(&"2024-10-27,16000.000,9000.000,0.000,0.000"),
        "{days}"
    );
    // The merged device has a file name without spaces or slashes.
    let merged =
        std::fs::read_to_string(out.join(format!("{CONSUMER}_{PRODUCER}.days.csv"))).unwrap();
    assert!(
        merged.contains("2024-10-02,16000.000,8000.000,4800.000,0.000"),
        "{merged}"
    );
    let hours = std::fs::read_to_string(out.join(format!("{CONSUMER}.hours.csv"))).unwrap();
    assert_eq!(hours.lines().count(), 1 + 48);

    let before: Vec<String> = ["days", "hours"]
        .iter()
        .map(|what| std::fs::read_to_string(out.join(format!("{CONSUMER}.{what}.csv"))).unwrap())
        .collect();
    clock.advance(std::time::Duration::from_secs(60));
    let again = SyncRun::new(&source, &sink, &state, &clock)
        .settings(settings)
        .run()
        .await;
    assert!(again.is_success());
    assert_eq!(again.requests, 0);
    let after: Vec<String> = ["days", "hours"]
        .iter()
        .map(|what| std::fs::read_to_string(out.join(format!("{CONSUMER}.{what}.csv"))).unwrap())
        .collect();
    assert_eq!(before, after);
    assert!(clock.local_now(PARIS) > clock.local_now(PARIS) - chrono::Duration::seconds(1));
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn the_command_line_syncs_a_file_and_refuses_bad_lines() {
    let out = folder("cli");
    std::fs::create_dir_all(&out).unwrap();
    let input = out.join("readings.csv");
    std::fs::write(&input, readings()).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_linky-csv-sink"))
            .args(args)
            .output()
            .unwrap()
    };
    let output = run(&[input.to_str().unwrap(), out.to_str().unwrap(), "22h00-6h00"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let days = std::fs::read_to_string(out.join(format!("{CONSUMER}.days.csv"))).unwrap();
    assert_eq!(days.lines().count(), 1 + 40);
    std::fs::write(&input, "22516914714270,consumption,not a date,30,1\n").unwrap();
    let output = run(&[input.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("line 1"));
    std::fs::remove_dir_all(&out).ok();
}
