//! `cargo run -p linky-csv-sink -- READINGS.csv OUT_FOLDER [OFFPEAK]`: syncs the readings
//! of a CSV file into per-device CSV files, with the state in memory (a one-off run).

use linky_core::{Clock, ManualClock, PARIS};
use linky_csv_sink::{CsvSink, ReadingsFile};
use linky_domoticz::{MemoryState, SyncEvent, SyncRun, SyncSettings};

fn main() -> std::process::ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let [readings, folder, rest @ ..] = &arguments[..] else {
        eprintln!("usage: linky-csv-sink READINGS.csv OUT_FOLDER [OFFPEAK]");
        return std::process::ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(readings) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("{readings}: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let source = match ReadingsFile::parse(&text) {
        Ok(source) => source,
        Err(error) => {
            eprintln!("{readings}: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let offpeak = match rest.first().map(|text| text.parse()).transpose() {
        Ok(offpeak) => offpeak.unwrap_or_default(),
        Err(error) => {
            eprintln!("{error}");
            return std::process::ExitCode::from(2);
        }
    };
    // Every day of the file (up to two years), hour rows for the last week.
    let history =
        linky_core::HistorySettings::new(7, 730, Default::default(), Default::default()).0;
    let settings = SyncSettings::new(offpeak).with_history(history);
    // The file's time: the day after its last reading, at noon.
    let last = text
        .lines()
        .filter_map(|line| line.split(',').nth(2))
        .filter_map(|end| {
            chrono::NaiveDateTime::parse_from_str(end.trim(), "%Y-%m-%d %H:%M:%S").ok()
        })
        .max()
        .unwrap_or_default();
    let noon = (last.date() + chrono::Duration::days(1))
        .and_hms_opt(12, 0, 0)
        .unwrap_or(last);
    let Some(start) = noon.and_local_timezone(PARIS).earliest() else {
        return std::process::ExitCode::FAILURE;
    };
    let clock = ManualClock::new(start.with_timezone(&chrono::Utc));
    let sink = CsvSink::new(folder);
    let state = MemoryState::new();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut show = |event: &SyncEvent| println!("{event}");
    let report = runtime.block_on(
        SyncRun::new(&source, &sink, &state, &clock)
            .settings(settings)
            .progress(&mut show)
            .run(),
    );
    for error in report.errors() {
        eprintln!("error: {error}");
    }
    println!("as of {}", clock.local_now(PARIS));
    if report.is_success() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
