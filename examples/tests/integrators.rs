//! Three programs an integrator writes against the crates from their documentation only,
//! kept as tests so that the API they use stays as easy as they found it:
//!
//! 1. readings to per-day HP/HC and an offer comparison, on linky-core alone;
//! 2. a sink of one's own (day totals in a file) driven by the sync over a recorded session;
//! 3. a client-only program reading part of a session: its load curve and anomalies.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use linky_core::{
    ColourCalendar, CompareSettings, CompiledSchedule, DashboardRow, DayColour, DayRow, DeviceData,
    DeviceId, Flow, HistorySettings, HolidayZone, HourRow, IntervalLength, LoadCurve,
    MeterEnergies, PARIS, Power, PriceBook, Reading, RunSettings, Schedule, compare_offers,
    device_rows,
};
use linky_domoticz::{DeviceHandle, MemoryState, Sink, SinkError, SyncRun, SyncSettings};
use linky_enedis::{MeterSource, ReplayServer, Session};

fn session(name: &str) -> Session {
    let path = format!("{}/../testdata/sessions/{name}", env!("CARGO_MANIFEST_DIR"));
    Session::from_json(&std::fs::read(path).unwrap()).unwrap()
}

/// Program 1: a fortnight of half-hour readings, split by the user's off-peak hours into
/// day rows, then priced as Base, HP/HC and Tempo.
#[test]
fn readings_to_days_and_offers_on_linky_core_alone() {
    let first = chrono::NaiveDate::from_ymd_opt(2025, 1, 6).unwrap();
    let readings: Vec<Reading> = (1..=14 * 48)
        .map(|n| {
            let end = first.and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::minutes(30 * n);
            let watts = if (7..23).contains(&chrono::Timelike::hour(&end)) {
                1500
            } else {
                500
            };
            Reading::new(end, IntervalLength::PT30M, Power::from_watts(watts))
        })
        .collect();
    let schedule: Schedule = "22h00-6h00".parse().unwrap();
    let device: DeviceId = "22516914714270".parse().unwrap();
    let end = first + chrono::Duration::days(14);
    let (data, report) = DeviceData::builder(device, &schedule, HolidayZone::Metropole)
        .period(first, end)
        .consumption(&readings)
        .build();
    assert!(report.is_clean());
    // Day rows over the whole fortnight (the history window is a week by default).
    let history = HistorySettings::new(0, 14, Default::default(), Default::default()).0;
    let rows = device_rows(&data, &RunSettings::new(end, history));
    assert_eq!(rows.days.len(), 14);
    for day in &rows.days {
        let [peak, off_peak] = day.totals.consumption;
        // Readings ending 07:00 to 22:30 at 1500 W, the others at 500 W; peak hours are
        // 06:00-22:00: 250 Wh + 31 x 750 Wh peak, 750 + 250 + 14 x 250 Wh off-peak.
        assert_eq!((peak.round_wh(), off_peak.round_wh()), (23_500, 4_500));
    }
    // The offers, Tempo with a blue fortnight (and the night before it).
    let mut colours = ColourCalendar::new();
    for offset in -1..14 {
        colours.set(first + chrono::Duration::days(offset), DayColour::Blue);
    }
    let curve = LoadCurve::builder(PARIS).build(&readings).0;
    let compiled = CompiledSchedule::new(&schedule, "", Flow::Consumption, HolidayZone::Metropole);
    let settings = CompareSettings::new(first, end, 6, &compiled).with_colours(&colours);
    let comparison = compare_offers(&curve, &PriceBook::regulated(), settings);
    assert_eq!(comparison.days.len(), 14);
    assert!(comparison.left_out.is_empty(), "{:?}", comparison.left_out);
    let names: Vec<&str> = comparison.offers.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names[0], "Tempo",
        "all blue days: Tempo is cheapest, {names:?}"
    );
    for offer in &comparison.offers {
        // The kWh beside the euros, exact: every offer prices the same energy.
        let kwh: linky_core::Energy = offer.class_energies().into_iter().sum();
        assert_eq!(kwh.round_wh(), 14 * 28_000);
    }
}

/// Program 2's sink: each device's day totals, by day, in a JSON file written after each
/// write (an upsert: the same day again replaces it).
struct FileSink {
    path: PathBuf,
    days: Mutex<BTreeMap<String, BTreeMap<String, MeterEnergies>>>,
}

impl FileSink {
    fn save(
        &self,
        days: &BTreeMap<String, BTreeMap<String, MeterEnergies>>,
    ) -> Result<(), SinkError> {
        let text: BTreeMap<&String, BTreeMap<&String, [i64; 4]>> = days
            .iter()
            .map(|(device, days)| {
                let wh = days
                    .iter()
                    .map(|(day, e)| (day, e.in_order().map(|e| e.round_wh())))
                    .collect();
                (device, wh)
            })
            .collect();
        let json = serde_json::to_string_pretty(&text).map_err(|e| SinkError::other("file", e))?;
        std::fs::write(&self.path, json).map_err(|e| SinkError::other("file", e))
    }
}

#[linky_core::async_trait]
impl Sink for FileSink {
    async fn ensure_device(&self, device_id: &DeviceId) -> Result<DeviceHandle, SinkError> {
        Ok(DeviceHandle::new(device_id.clone(), device_id.slug()))
    }
    async fn write_hours(&self, _: &DeviceHandle, _: &[HourRow]) -> Result<(), SinkError> {
        Ok(())
    }
    async fn write_days(&self, device: &DeviceHandle, rows: &[DayRow]) -> Result<(), SinkError> {
        let mut days = self
            .days
            .lock()
            .map_err(|e| SinkError::other("file", e.to_string()))?;
        let kept = days.entry(device.key.clone()).or_default();
        for row in rows {
            kept.insert(row.date.to_string(), row.totals);
        }
        self.save(&days)
    }
    async fn write_dashboard(&self, _: &DeviceHandle, _: &DashboardRow) -> Result<(), SinkError> {
        Ok(())
    }
    async fn mark_timed_out(&self, _: &DeviceHandle) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Program 2: the sync drives the sink over a recorded session, twice; the second run
/// changes nothing. A sink that cannot write keeps its I/O error as the cause.
#[tokio::test]
async fn a_file_sink_of_ones_own_driven_by_a_recorded_session() {
    let folder = std::env::temp_dir().join(format!("linky-integrator-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let sink = FileSink {
        path: folder.join("days.json"),
        days: Mutex::new(BTreeMap::new()),
    };
    let state = MemoryState::new();
    let mut files = Vec::new();
    for run in 0..2 {
        let server = ReplayServer::start(session("replay-main.json"))
            .await
            .unwrap();
        if run == 1 {
            server.allow_subset(); // the second run asks only for what is missing
        }
        let info = server.replay_info().unwrap().clone();
        let client = server.client().unwrap();
        let report = SyncRun::new(&client, &sink, &state, client.clock())
            .settings(SyncSettings::from_replay(&info).unwrap())
            .run()
            .await;
        assert!(report.is_success(), "{report:?}");
        server.finish().unwrap();
        files.push(std::fs::read_to_string(&sink.path).unwrap());
    }
    assert_eq!(
        files[0], files[1],
        "an upsert: the second run changes nothing"
    );
    let written: serde_json::Value = serde_json::from_str(&files[0]).unwrap();
    assert_eq!(written["12345678901234"].as_object().unwrap().len(), 7);

    // Writing where no folder is: the sink's error says so, its cause is the I/O error.
    let broken = FileSink {
        path: folder.join("missing/days.json"),
        days: Mutex::new(BTreeMap::new()),
    };
    let handle = broken
        .ensure_device(&"12345678901234".parse().unwrap())
        .await
        .unwrap();
    let row = DayRow {
        date: chrono::NaiveDate::from_ymd_opt(2024, 11, 8).unwrap(),
        totals: MeterEnergies::default(),
        hours_with_data: 24,
        peak: None,
    };
    let error = broken.write_days(&handle, &[row]).await.unwrap_err();
    assert!(!error.is_retryable());
    let io = error
        .source_ref()
        .and_then(|e| e.downcast_ref::<std::io::Error>())
        .unwrap();
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    std::fs::remove_dir_all(&folder).ok();
}

/// Program 3: a client-only program reads a session's load curve, week by week in the
/// order it likes, and its anomalies; the session's peaks, never asked for, are no error.
#[tokio::test]
async fn a_client_only_program_reads_part_of_a_session() {
    let server = ReplayServer::start(session("client4-holes-tuesdays-wednesdays.json"))
        .await
        .unwrap();
    server.allow_subset();
    let info = server.replay_info().unwrap().clone();
    let client = server.client().unwrap();
    let pdl = info.usage_point_ids().unwrap().remove(0);
    let last = info.now.date();
    let mut chunks = LoadCurve::builder(PARIS).chunks();
    for week in (0..4).rev() {
        let start = last - chrono::Duration::days(7 * (week + 1));
        let end = last - chrono::Duration::days(7 * week);
        let answer = client
            .load_curve(&pdl, Flow::Consumption, start, end)
            .await
            .unwrap();
        if let linky_enedis::Fetched::Data(payload) = answer {
            payload.add_to(&mut chunks);
        }
    }
    let (curve, report) = chunks.build();
    // 28 days with Tuesdays' and Wednesdays' readings missing: 20 days of half hours
    // (give or take the edges' readings), and the four holes reported.
    assert!(
        (20 * 48..21 * 48).contains(&curve.intervals().len()),
        "{}",
        curve.intervals().len()
    );
    assert_eq!(report.holes().count(), 4, "{report}");
    server.finish().unwrap();
}
