//! The sync run with a source double, the memory sink and the fake Domoticz: idempotence,
//! quota errors, outages, crashes mid-write, corrupt state, merged devices.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use chrono::{Duration, NaiveDate, NaiveDateTime, TimeZone};
use linky_core::{
    ApparentPower, FetchRequest, Flow, ManualClock, Measurement, PARIS, Power, PowerPeak,
    QualityReport, Reading, ReadingSource, SourceData, SourceError, SourceErrorKind, UsagePointId,
};
use linky_domoticz::{
    DomoticzConfig, DomoticzSink, MemorySink, Sink, StateDir, StateStore, SyncReport, SyncRun,
    SyncSettings,
};

use linky_domoticz::DomoticzEmulator;

/// A source with whole days of PT30M readings: `consumers` consume, `producers` produce
/// (the other direction answers "no data, for good"). It can fail at a given request.
pub(crate) struct FakeSource {
    consumers: Vec<&'static str>,
    producers: Vec<&'static str>,
    requests: AtomicUsize,
    fail_at: Mutex<Option<(usize, SourceErrorKind)>>,
    /// Answers a request in place of the usual data, by request number.
    hook: Mutex<Option<Hook>>,
    /// From this request on, never answers (a process killed while waiting).
    hang_from: Mutex<Option<usize>>,
    /// Tells the observer of a retry (a quota, 30 s) before answering the first request.
    retry_told: bool,
}

type Hook = Box<dyn FnMut(usize, &FetchRequest) -> Option<Result<SourceData, SourceError>> + Send>;

impl FakeSource {
    pub(crate) fn new(consumers: Vec<&'static str>, producers: Vec<&'static str>) -> FakeSource {
        FakeSource {
            consumers,
            producers,
            requests: AtomicUsize::new(0),
            fail_at: Mutex::new(None),
            hook: Mutex::new(None),
            hang_from: Mutex::new(None),
            retry_told: false,
        }
    }

    fn with_retry_told(mut self) -> FakeSource {
        self.retry_told = true;
        self
    }

    fn with_hook(self, hook: Hook) -> FakeSource {
        *self.hook.lock().unwrap() = Some(hook);
        self
    }
}

fn half_hours(start: NaiveDate, end: NaiveDate, watts: i64) -> Vec<Reading> {
    let midnight = |d: NaiveDate| {
        PARIS
            .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
            .earliest()
            .unwrap()
    };
    let mut readings = Vec::new();
    let mut instant = midnight(start) + Duration::minutes(30);
    while instant <= midnight(end) {
        readings.push(Reading {
            end: instant.naive_local(),
            length_minutes: 30,
            power: Power::from_watts(watts),
        });
        instant += Duration::minutes(30);
    }
    readings
}

#[async_trait]
impl ReadingSource for FakeSource {
    async fn fetch_observed(
        &self,
        usage_point: &UsagePointId,
        request: &FetchRequest,
        observer: &(dyn Fn(linky_core::SourceEvent) + Send + Sync),
    ) -> Result<SourceData, SourceError> {
        if self.retry_told && self.requests.load(Ordering::SeqCst) == 0 {
            observer(linky_core::SourceEvent::Retrying {
                attempt: 1,
                wait: std::time::Duration::from_secs(30),
                reason: "enedis answered 429 (transient)".to_owned(),
                rate_limited: true,
            });
        }
        self.fetch(usage_point, request).await
    }

    async fn usage_points(&self) -> Result<Vec<UsagePointId>, SourceError> {
        Ok(self
            .consumers
            .iter()
            .chain(&self.producers)
            .map(|p| p.parse().unwrap())
            .collect())
    }

    async fn fetch(
        &self,
        usage_point: &UsagePointId,
        request: &FetchRequest,
    ) -> Result<SourceData, SourceError> {
        let number = self.requests.fetch_add(1, Ordering::SeqCst);
        if self
            .hang_from
            .lock()
            .unwrap()
            .is_some_and(|from| number >= from)
        {
            std::future::pending::<()>().await;
        }
        if let Some(hook) = self.hook.lock().unwrap().as_mut()
            && let Some(answer) = hook(number, request)
        {
            return answer;
        }
        if let Some((at, kind)) = *self.fail_at.lock().unwrap()
            && number >= at
        {
            return Err(SourceError::new(
                kind,
                format!("enedis answered 429 (transient) at request {number}"),
            ));
        }
        let pdl = usage_point.as_str();
        let consumes = self.consumers.contains(&pdl);
        Ok(match request.measurement {
            Measurement::LoadCurve(Flow::Consumption) if consumes => SourceData::Curve {
                readings: half_hours(request.start, request.end, 1000),
                report: QualityReport::default(),
            },
            Measurement::LoadCurve(Flow::Production) if !consumes => SourceData::Curve {
                readings: half_hours(request.start, request.end, 400),
                report: QualityReport::default(),
            },
            Measurement::DailyMaxPower if consumes => SourceData::Peaks(
                request
                    .days()
                    .map(|d| PowerPeak {
                        at: d.and_hms_opt(19, 0, 0).unwrap(),
                        power: ApparentPower::from_va(4000),
                    })
                    .collect(),
            ),
            _ => SourceData::NoData { permanent: true },
        })
    }
}

pub(crate) fn now() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2024, 6, 20)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap()
}

fn settings() -> SyncSettings {
    SyncSettings::new("22h-6h".parse().unwrap())
}

fn state() -> (StateDir, std::path::PathBuf) {
    let root = std::env::temp_dir().join(format!(
        "linky-sync-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    (StateDir::open(&root).unwrap(), root)
}

fn rand_suffix() -> u64 {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    COUNTER.fetch_add(1, Ordering::SeqCst) as u64
}

async fn sync(
    source: &FakeSource,
    sink: &dyn Sink,
    state: &StateDir,
    at: NaiveDateTime,
) -> SyncReport {
    let clock = clock_at(at);
    SyncRun::new(source, sink, state, &clock)
        .settings(settings())
        .spread_minutes(7)
        .retry_days(3)
        .run()
        .await
}

/// A clock showing local (Paris) time `at`.
pub(crate) fn clock_at(at: NaiveDateTime) -> ManualClock {
    ManualClock::new(
        PARIS
            .from_local_datetime(&at)
            .earliest()
            .unwrap()
            .with_timezone(&chrono::Utc),
    )
}

pub(crate) const CONSUMER: &str = "22516914714270";
pub(crate) const PRODUCER: &str = "10284856584123";

#[tokio::test]
async fn a_second_run_fetches_nothing_and_writes_the_same_rows() {
    let source = FakeSource::new(vec![CONSUMER], vec![PRODUCER]);
    let (state, root) = state();
    let sink = MemorySink::new();
    let first = sync(&source, &sink, &state, now()).await;
    assert!(first.is_success(), "{first:?}");
    assert!(first.requests > 0);
    assert_eq!(
        sink.device_ids(),
        [
            PRODUCER.to_owned(),
            CONSUMER.to_owned(),
            format!("{CONSUMER} / {PRODUCER}")
        ]
    );
    let consumer = sink.device(CONSUMER).unwrap();
    assert_eq!(consumer.days.len(), 7);
    // 22h-6h off-peak at 1000 W: 8 kWh off-peak, 16 kWh peak a day.
    let day = consumer.days.values().next().unwrap();
    assert_eq!(day.consumption.map(|e| e.as_wh_f64()), [16000.0, 8000.0]);
    assert_eq!(
        first.next_run,
        NaiveDate::from_ymd_opt(2024, 6, 21)
            .unwrap()
            .and_hms_opt(8, 7, 0)
            .unwrap()
    );
    let merged = sink.device(&format!("{CONSUMER} / {PRODUCER}")).unwrap();
    assert_eq!(
        merged
            .days
            .values()
            .next()
            .unwrap()
            .production
            .map(|e| e.as_wh_f64()),
        [6400.0, 3200.0]
    );

    let before = sink.device(CONSUMER).unwrap();
    let second = sync(&source, &sink, &state, now() + Duration::hours(1)).await;
    assert!(second.is_success(), "{second:?}");
    assert_eq!(second.requests, 0, "nothing new to fetch");
    let after = sink.device(CONSUMER).unwrap();
    assert_eq!(
        (after.days.clone(), after.hours.clone(), after.dashboard),
        (before.days, before.hours, before.dashboard)
    );
    std::fs::remove_dir_all(root).ok();
}

#[tokio::test]
async fn a_quota_error_mid_backfill_keeps_what_was_fetched_and_the_next_run_completes() {
    let source = FakeSource::new(vec![CONSUMER], vec![]);
    *source.fail_at.lock().unwrap() = Some((1, SourceErrorKind::Transient));
    let (state, root) = state();
    let sink = MemorySink::new();
    let first = sync(&source, &sink, &state, now()).await;
    assert!(!first.is_success());
    assert!(
        first.devices[0].errors[0].to_string().contains("429"),
        "{first:?}"
    );
    assert_eq!(first.next_run, now() + Duration::hours(1));
    // The first request (the newest 7 days) was stored, but not written: the meter's
    // production side is not known yet (its request never went out), and a day is
    // written only when held for every flow the device shows.
    assert!(sink.device(CONSUMER).is_none());
    assert_eq!(first.devices[0].days_waiting, 7);
    *source.fail_at.lock().unwrap() = None;
    let requests_before = source.requests.load(Ordering::SeqCst);
    let second = sync(&source, &sink, &state, now() + Duration::hours(1)).await;
    assert!(second.is_success(), "{second:?}");
    // Only what was missing: the peaks, and production (which answers "none, for good");
    // the curve's 7 days were held. The quota error stopped the first run's requests.
    assert_eq!(source.requests.load(Ordering::SeqCst) - requests_before, 2);
    assert_eq!(sink.device(CONSUMER).unwrap().days.len(), 7);
    assert_eq!(second.devices[0].days_waiting, 0);
    std::fs::remove_dir_all(root).ok();
}

#[tokio::test]
async fn domoticz_down_mid_sync_then_back_gets_everything_without_refetching() {
    let source = FakeSource::new(vec![CONSUMER], vec![]);
    let (state, root) = state();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = DomoticzSink::new(DomoticzConfig::new(format!("http://127.0.0.1:{port}"))).unwrap();
    let first = sync(&source, &down, &state, now()).await;
    assert!(
        first.errors.iter().any(|e| e
            .to_string()
            .contains("stopped writing: domoticz unavailable")),
        "{first:?}"
    );
    let fetched = source.requests.load(Ordering::SeqCst);
    assert!(fetched > 0);

    let server = DomoticzEmulator::start("2025.1").await;
    let fake = &server;
    let up = DomoticzSink::new(DomoticzConfig::new(server.uri())).unwrap();
    let second = sync(&source, &up, &state, now() + Duration::hours(1)).await;
    assert!(second.is_success(), "{second:?}");
    assert_eq!(
        source.requests.load(Ordering::SeqCst),
        fetched,
        "nothing fetched again"
    );
    assert_eq!(second.devices[0].days_written, 7);
    let stored_days = fake.state.lock().unwrap().long_log.len();
    assert_eq!(stored_days, 7);
    std::fs::remove_dir_all(root).ok();
}

#[tokio::test]
async fn domoticz_refusing_credentials_is_reported() {
    let source = FakeSource::new(vec![CONSUMER], vec![]);
    let (state, root) = state();
    let server = DomoticzEmulator::builder("2025.1")
        .required_authorization("Bearer right")
        .start()
        .await
        .unwrap();
    let sink = DomoticzSink::new(DomoticzConfig::new(server.uri())).unwrap();
    let report = sync(&source, &sink, &state, now()).await;
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.to_string().contains("refused the credentials")),
        "{report:?}"
    );
    std::fs::remove_dir_all(root).ok();
}

/// A sink that fails after `writes` rows, as a run killed mid-write would.
struct CrashingSink {
    inner: MemorySink,
    left: AtomicUsize,
}

#[async_trait]
impl Sink for CrashingSink {
    async fn ensure_device(
        &self,
        id: &linky_core::DeviceId,
    ) -> Result<linky_domoticz::DeviceHandle, linky_domoticz::SinkError> {
        self.inner.ensure_device(id).await
    }
    async fn write_hours(
        &self,
        d: &linky_domoticz::DeviceHandle,
        rows: &[linky_core::HourRow],
    ) -> Result<(), linky_domoticz::SinkError> {
        self.inner.write_hours(d, rows).await
    }
    async fn write_days(
        &self,
        d: &linky_domoticz::DeviceHandle,
        rows: &[linky_core::DayRow],
    ) -> Result<(), linky_domoticz::SinkError> {
        let left = self.left.load(Ordering::SeqCst);
        if rows.len() > left {
            self.inner.write_days(d, &rows[..left]).await?;
            self.left.store(0, Ordering::SeqCst);
            return Err(linky_domoticz::SinkError::Unavailable {
                sink: "crashing",
                detail: "killed mid-write".to_owned(),
            });
        }
        self.left.fetch_sub(rows.len(), Ordering::SeqCst);
        self.inner.write_days(d, rows).await
    }
    async fn write_dashboard(
        &self,
        d: &linky_domoticz::DeviceHandle,
        row: &linky_core::DashboardRow,
    ) -> Result<(), linky_domoticz::SinkError> {
        self.inner.write_dashboard(d, row).await
    }
    async fn mark_timed_out(
        &self,
        d: &linky_domoticz::DeviceHandle,
    ) -> Result<(), linky_domoticz::SinkError> {
        self.inner.mark_timed_out(d).await
    }
}

#[tokio::test]
async fn a_crash_between_fetch_and_write_loses_nothing_and_duplicates_nothing() {
    let source = FakeSource::new(vec![CONSUMER], vec![]);
    let (state, root) = state();
    let crashing = CrashingSink {
        inner: MemorySink::new(),
        left: AtomicUsize::new(3),
    };
    let first = sync(&source, &crashing, &state, now()).await;
    assert!(!first.is_success());
    assert_eq!(crashing.inner.device(CONSUMER).unwrap().days.len(), 3);
    let fetched = source.requests.load(Ordering::SeqCst);
    // The next run (a new process) writes the rest from the state, fetching nothing.
    let second = sync(&source, &crashing.inner, &state, now() + Duration::hours(1)).await;
    assert!(second.is_success(), "{second:?}");
    assert_eq!(source.requests.load(Ordering::SeqCst), fetched);
    let device = crashing.inner.device(CONSUMER).unwrap();
    assert_eq!(device.days.len(), 7);
    let all: Vec<f64> = device
        .days
        .values()
        .map(|d| d.consumption[0].as_wh_f64() + d.consumption[1].as_wh_f64())
        .collect();
    assert!(
        all.iter().all(|wh| *wh == 24000.0),
        "every day once, exact: {all:?}"
    );
    std::fs::remove_dir_all(root).ok();
}

/// A companion that fails mid-write (a broker gone) never fails the sync: the main sink
/// gets every day, the failure is kept and said; a companion that works gets the same rows.
#[tokio::test]
async fn a_companion_that_fails_never_holds_up_the_main_sink() {
    let source = FakeSource::new(vec![CONSUMER], vec![]);
    let (state, root) = state();
    let main = MemorySink::new();
    let crashing = CrashingSink {
        inner: MemorySink::new(),
        left: AtomicUsize::new(3),
    };
    let both = linky_domoticz::WithCompanion::new(&main, &crashing);
    let report = sync(&source, &both, &state, now()).await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(main.device(CONSUMER).unwrap().days.len(), 7);
    assert_eq!(crashing.inner.device(CONSUMER).unwrap().days.len(), 3);
    let failures = both.companion_failures();
    assert!(
        failures
            .iter()
            .any(|e| e.to_string().contains("killed mid-write")),
        "{failures:?}"
    );
    // A working companion holds what the main sink holds.
    let (second_state, root2) = self::state();
    let (main, beside) = (MemorySink::new(), MemorySink::new());
    let both = linky_domoticz::WithCompanion::new(&main, &beside);
    assert!(
        sync(&source, &both, &second_state, now())
            .await
            .is_success()
    );
    assert!(both.companion_failures().is_empty());
    assert_eq!(
        main.device(CONSUMER).unwrap().days,
        beside.device(CONSUMER).unwrap().days
    );
    assert_eq!(
        main.device(CONSUMER).unwrap().dashboard,
        beside.device(CONSUMER).unwrap().dashboard
    );
    std::fs::remove_dir_all(root).ok();
    std::fs::remove_dir_all(root2).ok();
}

#[tokio::test]
async fn a_corrupt_state_file_is_reported_and_its_days_fetched_again() {
    let source = FakeSource::new(vec![CONSUMER], vec![]);
    let (state, root) = state();
    let sink = MemorySink::new();
    assert!(sync(&source, &sink, &state, now()).await.is_success());
    let month = root.join(format!("readings/{CONSUMER}/consumption/2024-06.json"));
    let text = std::fs::read_to_string(&month).unwrap();
    std::fs::write(&month, text.replacen("1000000", "9000000", 1)).unwrap();
    let before = source.requests.load(Ordering::SeqCst);
    let report = sync(&source, &sink, &state, now() + Duration::hours(1)).await;
    // Found, fetched again and mended in the same run: a note, not a failure.
    assert!(
        report.devices[0]
            .notes
            .iter()
            .any(|e| e.to_string().contains("is corrupt (checksum mismatch)")),
        "{report:?}"
    );
    assert!(report.is_success(), "{report:?}");
    assert!(source.requests.load(Ordering::SeqCst) > before, "refetched");
    assert_eq!(sink.device(CONSUMER).unwrap().days.len(), 7);
    // And the run after that is clean again.
    assert!(
        sync(&source, &sink, &state, now() + Duration::hours(2))
            .await
            .is_success()
    );
    std::fs::remove_dir_all(root).ok();
}

#[tokio::test]
async fn a_direction_the_meter_lacks_is_remembered() {
    let source = FakeSource::new(vec![CONSUMER], vec![]);
    let (state, root) = state();
    let sink = MemorySink::new();
    sync(&source, &sink, &state, now()).await;
    let meta = state.load_meta().unwrap();
    assert_eq!(
        meta.no_data,
        BTreeSet::from([format!("{CONSUMER}/production")])
    );
    let before = source.requests.load(Ordering::SeqCst);
    sync(&source, &sink, &state, now() + Duration::days(1)).await;
    // The next day: one new day of curve and of peaks, and no production request.
    assert_eq!(source.requests.load(Ordering::SeqCst) - before, 2);
    std::fs::remove_dir_all(root).ok();
}

#[tokio::test]
async fn days_domoticz_drops_are_found_by_the_read_back_after_a_sync() {
    let source = FakeSource::new(vec![CONSUMER], vec![]);
    let (state, root) = state();
    let server = DomoticzEmulator::start("2025.1").await;
    let fake = &server;
    fake.state
        .lock()
        .unwrap()
        .drop_days
        .insert(NaiveDate::from_ymd_opt(2024, 6, 15).unwrap());
    let sink = DomoticzSink::new(DomoticzConfig::new(server.uri())).unwrap();
    let report = sync(&source, &sink, &state, now()).await;
    assert!(!report.is_success());
    assert!(
        report.devices[0].errors[0]
            .to_string()
            .contains("other totals than written for 2024-06-15"),
        "{report:?}"
    );
    std::fs::remove_dir_all(root).ok();
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// Settings of three weeks of history: three load-curve requests per flow.
fn three_weeks() -> SyncSettings {
    settings().with_history(
        linky_core::HistorySettings::new(0, 21, Default::default(), Default::default()).0,
    )
}

async fn sync_with(
    source: &FakeSource,
    sink: &dyn Sink,
    state: &StateDir,
    clock: &ManualClock,
    settings: SyncSettings,
) -> SyncReport {
    SyncRun::new(source, sink, state, clock)
        .settings(settings)
        .spread_minutes(7)
        .retry_days(3)
        .run()
        .await
}

/// Issue 9, item 2: the producer's curve fails mid-backfill (a quota). The merged device
/// `C / P` is written only for the days both sides hold, never with 0 for the missing
/// side; the next run completes it, every day exact.
#[tokio::test]
async fn a_merged_device_waits_for_its_missing_side() {
    // Requests: C consumption x3, C peaks, C production (none), P consumption (none),
    // P peaks (none), P production x3: the second of P's production requests fails.
    let source = FakeSource::new(vec![CONSUMER], vec![PRODUCER]);
    *source.fail_at.lock().unwrap() = Some((8, SourceErrorKind::Transient));
    let (state, root) = state();
    let sink = MemorySink::new();
    let clock = clock_at(now());
    let first = sync_with(&source, &sink, &state, &clock, three_weeks()).await;
    assert_eq!(
        first.stopped,
        Some(linky_domoticz::StopReason::RetryLater { not_before: None })
    );
    let merged_id = format!("{CONSUMER} / {PRODUCER}");
    let merged = sink.device(&merged_id).unwrap();
    // The newest week only: P's production holds 7 days, C's consumption 21.
    assert_eq!(merged.days.len(), 7, "{:?}", merged.days.keys());
    assert!(merged.days.keys().all(|d| *d >= day("2024-06-13")));
    for totals in merged.days.values() {
        assert_eq!(
            totals.consumption[0].as_wh_f64() + totals.consumption[1].as_wh_f64(),
            24000.0
        );
        assert_eq!(
            totals.production[0].as_wh_f64() + totals.production[1].as_wh_f64(),
            9600.0
        );
    }
    let merged_report = first
        .devices
        .iter()
        .find(|d| d.device.to_string() == merged_id)
        .unwrap();
    assert_eq!(merged_report.days_waiting, 14);
    // The producer's own device shows its 7 days; the consumer all 21.
    assert_eq!(sink.device(PRODUCER).unwrap().days.len(), 7);
    assert_eq!(sink.device(CONSUMER).unwrap().days.len(), 21);

    *source.fail_at.lock().unwrap() = None;
    clock.advance(std::time::Duration::from_secs(3600));
    let second = sync_with(&source, &sink, &state, &clock, three_weeks()).await;
    assert!(second.is_success(), "{second:?}");
    let merged = sink.device(&merged_id).unwrap();
    assert_eq!(merged.days.len(), 21);
    for totals in merged.days.values() {
        assert_eq!(
            totals.production[0].as_wh_f64() + totals.production[1].as_wh_f64(),
            9600.0
        );
    }
    std::fs::remove_dir_all(root).ok();
}

/// Issue 9, item 3: a day with a hole and a duplicate has as many readings as a whole
/// day; it is not complete, and is asked for again.
#[tokio::test]
async fn a_day_with_a_hole_and_a_duplicate_is_asked_for_again() {
    let gappy = day("2024-06-17");
    let source = FakeSource::new(vec![CONSUMER], vec![]).with_hook(Box::new(move |_, request| {
        if request.measurement != Measurement::LoadCurve(Flow::Consumption) {
            return None;
        }
        let mut readings = half_hours(request.start, request.end, 1000);
        if let Some(position) = readings
            .iter()
            .position(|r| r.end == gappy.and_hms_opt(10, 0, 0).unwrap())
        {
            // 10:00 is missing; 10:30 comes twice: still 48 readings that day.
            readings[position] = readings[position + 1];
        }
        Some(Ok(SourceData::Curve {
            readings,
            report: QualityReport::default(),
        }))
    }));
    let (state, root) = state();
    let sink = MemorySink::new();
    let clock = clock_at(now());
    sync_with(&source, &sink, &state, &clock, settings()).await;
    let (held, _) = state.held_days(
        CONSUMER,
        linky_domoticz::StoredKind::Curve(Flow::Consumption),
        day("2024-06-13"),
        day("2024-06-20"),
    );
    assert!(!held.contains(&gappy), "{held:?}");
    assert_eq!(held.len(), 6);
    let before = source.requests.load(Ordering::SeqCst);
    clock.advance(std::time::Duration::from_secs(3600));
    sync_with(&source, &sink, &state, &clock, settings()).await;
    // One request: the consumption curve of the incomplete day (the peaks were held).
    assert_eq!(source.requests.load(Ordering::SeqCst) - before, 1);
    std::fs::remove_dir_all(root).ok();
}

/// Issue 9, item 5: a permanent "no data" answer is saved when it arrives: a run killed
/// right after it does not ask again.
#[tokio::test]
async fn a_no_data_fact_survives_a_run_killed_right_after_it() {
    // Requests: C consumption, C peaks, C production (none, for good), then P: hangs.
    let source = FakeSource::new(vec![CONSUMER], vec![PRODUCER]);
    *source.hang_from.lock().unwrap() = Some(3);
    let (state, root) = state();
    let sink = MemorySink::new();
    let clock = clock_at(now());
    let killed = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        sync_with(&source, &sink, &state, &clock, settings()),
    )
    .await;
    assert!(killed.is_err(), "the run was killed while waiting");
    assert!(
        state
            .load_meta()
            .unwrap()
            .no_data
            .contains(&format!("{CONSUMER}/production"))
    );
    *source.hang_from.lock().unwrap() = None;
    let before = source.requests.load(Ordering::SeqCst);
    let report = sync_with(&source, &sink, &state, &clock, settings()).await;
    assert!(report.is_success(), "{report:?}");
    // P's three requests (its production curve, two "none, for good"); none for C.
    assert_eq!(source.requests.load(Ordering::SeqCst) - before, 3);
    std::fs::remove_dir_all(root).ok();
}

/// Issue 9, item 4: a quota whose Retry-After is longer than the client waits ends the
/// run as "retry later"; the next run is not set before the server said.
#[tokio::test]
async fn a_long_retry_after_ends_the_run_and_sets_the_next_one_after_it() {
    let source = FakeSource::new(vec![CONSUMER], vec![]).with_hook(Box::new(|number, _| {
        (number == 1).then(|| {
            Err(
                SourceError::new(SourceErrorKind::Transient, "429 (transient): quota")
                    .with_retry_after(std::time::Duration::from_secs(3 * 3600)),
            )
        })
    }));
    let (state, root) = state();
    let sink = MemorySink::new();
    let clock = clock_at(now());
    let report = sync_with(&source, &sink, &state, &clock, settings()).await;
    assert_eq!(
        report.stopped,
        Some(linky_domoticz::StopReason::RetryLater {
            not_before: Some(now() + Duration::hours(3))
        })
    );
    assert_eq!(
        report.next_run,
        now() + Duration::hours(3) + Duration::minutes(0)
    );
    // The first answer is kept: the next run asks only for the rest.
    assert_eq!(source.requests.load(Ordering::SeqCst), 2);
    clock.set(linky_core::Clock::now(&clock_at(report.next_run)));
    let before = source.requests.load(Ordering::SeqCst);
    let next = sync_with(&source, &sink, &state, &clock, settings()).await;
    assert!(next.is_success(), "{next:?}");
    assert_eq!(source.requests.load(Ordering::SeqCst) - before, 2);
    std::fs::remove_dir_all(root).ok();
}

/// Issue 9, item 9: a deadline stops the run between two requests; what was fetched is
/// kept and written; the next run goes on from there and the backfill ends with exactly
/// the requests a clean one makes.
#[tokio::test]
async fn a_deadline_stops_between_requests_and_the_next_run_goes_on() {
    // Each request takes a minute of the clock.
    let clock = std::sync::Arc::new(clock_at(now()));
    let ticking = clock.clone();
    let source = FakeSource::new(vec![CONSUMER], vec![]).with_hook(Box::new(move |_, _| {
        ticking.advance(std::time::Duration::from_secs(60));
        None
    }));
    let consumption_only = three_weeks().with_production(false);
    let (state, root) = state();
    let sink = MemorySink::new();
    let deadline = linky_core::Clock::now(clock.as_ref()) + Duration::minutes(2);
    let first = SyncRun::new(&source, &sink, &state, clock.as_ref())
        .settings(consumption_only.clone())
        .deadline(deadline)
        .run()
        .await;
    assert_eq!(first.stopped, Some(linky_domoticz::StopReason::Deadline));
    assert_eq!(source.requests.load(Ordering::SeqCst), 2);
    // What it holds is written: the two newest weeks.
    assert_eq!(sink.device(CONSUMER).unwrap().days.len(), 14);
    let second = sync_with(&source, &sink, &state, &clock, consumption_only).await;
    assert!(second.is_success(), "{second:?}");
    // Three curve requests and one for the peaks: what a clean backfill makes.
    assert_eq!(source.requests.load(Ordering::SeqCst), 4);
    assert_eq!(sink.device(CONSUMER).unwrap().days.len(), 21);
    std::fs::remove_dir_all(root).ok();
}

/// Issue 9, item 9: a cancellation stops the run even while a request hangs; nothing
/// is written, what was stored stays, the next run goes on.
#[tokio::test]
async fn a_cancelled_run_stops_while_a_request_hangs() {
    let source = FakeSource::new(vec![CONSUMER], vec![]);
    *source.hang_from.lock().unwrap() = Some(1);
    let (state, root) = state();
    let sink = MemorySink::new();
    let clock = clock_at(now());
    let token = linky_domoticz::CancelToken::new();
    let canceller = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        canceller.cancel();
    });
    let report = SyncRun::new(&source, &sink, &state, &clock)
        .settings(three_weeks())
        .cancel_token(token)
        .run()
        .await;
    assert_eq!(report.stopped, Some(linky_domoticz::StopReason::Cancelled));
    assert!(sink.device_ids().is_empty());
    *source.hang_from.lock().unwrap() = None;
    let second = sync_with(&source, &sink, &state, &clock, three_weeks()).await;
    assert!(second.is_success(), "{second:?}");
    // The first answer was kept: 2 + 1 + 1 after the 2 of the first run.
    assert_eq!(source.requests.load(Ordering::SeqCst), 2 + 4);
    assert_eq!(sink.device(CONSUMER).unwrap().days.len(), 21);
    std::fs::remove_dir_all(root).ok();
}

/// A UI hears typed events: each request sent and answered, the quota's wait, the
/// direction a meter lacks, each device written and done. The state here lives in
/// memory (a one-off run), and the errors are typed with their cause.
#[tokio::test]
async fn a_run_tells_typed_events_and_keeps_typed_errors() {
    use linky_domoticz::{MemoryState, StopReason, SyncError, SyncEvent};
    let source = FakeSource::new(vec![CONSUMER], vec![PRODUCER]).with_retry_told();
    let state = MemoryState::new();
    let sink = MemorySink::new();
    let clock = clock_at(now());
    let mut events = Vec::new();
    let mut hear = |event: &SyncEvent| events.push(event.clone());
    let report = SyncRun::new(&source, &sink, &state, &clock)
        .settings(settings())
        .progress(&mut hear)
        .run()
        .await;
    assert!(report.is_success(), "{report:?}");
    let sent = events
        .iter()
        .filter(|e| matches!(e, SyncEvent::RequestSent { .. }))
        .count();
    assert_eq!(sent, source.requests.load(Ordering::SeqCst));
    // Each measurement's requests are announced before the first of them: a progress bar
    // knows "done of planned", and the plan is what was sent.
    let planned: usize = events
        .iter()
        .map(|e| match e {
            SyncEvent::Planned { requests, .. } => *requests,
            _ => 0,
        })
        .sum();
    assert_eq!(planned, sent);
    let first_planned = events
        .iter()
        .position(|e| matches!(e, SyncEvent::Planned { .. }));
    let first_sent = events
        .iter()
        .position(|e| matches!(e, SyncEvent::RequestSent { .. }));
    assert!(first_planned < first_sent);
    assert!(events.iter().any(|e| matches!(
        e,
        SyncEvent::Retrying { wait, rate_limited: true, .. } if wait.as_secs() == 30
    )));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SyncEvent::RequestAnswered { values: 336, .. }))
    );
    let lacking = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                SyncEvent::NoData {
                    permanent: true,
                    ..
                }
            )
        })
        .count();
    assert_eq!(lacking, 3, "{events:?}");
    let done: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            SyncEvent::DeviceDone { report } => Some(report.device.slug()),
            _ => None,
        })
        .collect();
    assert_eq!(
        done,
        [
            CONSUMER.to_owned(),
            PRODUCER.to_owned(),
            format!("{CONSUMER}_{PRODUCER}")
        ]
    );
    // Friendly lines.
    assert!(
        events
            .iter()
            .any(|e| e.to_string() == format!("{CONSUMER}: no production on this meter"))
    );
    // The memory state remembers within the process: a second run fetches nothing.
    let before = source.requests.load(Ordering::SeqCst);
    assert!(sync_in(&source, &sink, &state, &clock).await.is_success());
    assert_eq!(source.requests.load(Ordering::SeqCst), before);

    // A typed error keeps its cause and says whether to retry.
    let failing = FakeSource::new(vec![CONSUMER], vec![]);
    *failing.fail_at.lock().unwrap() = Some((0, SourceErrorKind::Transient));
    let report = sync_in(&failing, &sink, &MemoryState::new(), &clock).await;
    assert_eq!(
        report.stopped,
        Some(StopReason::RetryLater { not_before: None })
    );
    let error = report.errors().next().unwrap();
    assert!(matches!(error, SyncError::Fetch { .. }));
    assert!(error.is_retryable());
    let cause = std::error::Error::source(error).unwrap();
    assert!(cause.downcast_ref::<SourceError>().is_some());
    assert_eq!(
        error.to_string(),
        "consumption: enedis answered 429 (transient) at request 0"
    );
}

async fn sync_in(
    source: &FakeSource,
    sink: &dyn Sink,
    state: &dyn StateStore,
    clock: &ManualClock,
) -> SyncReport {
    SyncRun::new(source, sink, state, clock)
        .settings(settings())
        .run()
        .await
}

/// A source whose contract gives off-peak hours, changed by the test between runs.
struct ContractSource {
    inner: FakeSource,
    hours: Mutex<Option<linky_core::ContractHours>>,
    asked: AtomicUsize,
}

#[async_trait]
impl ReadingSource for ContractSource {
    async fn usage_points(&self) -> Result<Vec<UsagePointId>, SourceError> {
        self.inner.usage_points().await
    }

    async fn fetch(
        &self,
        usage_point: &UsagePointId,
        request: &FetchRequest,
    ) -> Result<SourceData, SourceError> {
        self.inner.fetch(usage_point, request).await
    }

    async fn contract_hours(
        &self,
        _usage_point: &UsagePointId,
    ) -> Result<Option<linky_core::ContractHours>, SourceError> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        Ok(self.hours.lock().unwrap().clone())
    }
}

/// Without a schedule of the user's for a usage point, the sync takes its contract's
/// off-peak hours, keeps each text with the day it holds from, and splits each day by the
/// hours in force then: a change leaves the days before it alone.
#[tokio::test]
async fn a_usage_point_without_a_schedule_takes_its_contracts_hours_over_time() {
    use linky_core::{ContractHours, HistorySettings};
    use linky_domoticz::{SyncError, SyncEvent};
    let contract = |text: &str, since: Option<&str>| {
        Some(ContractHours::new(text, since.map(|d| d.parse().unwrap())))
    };
    let source = ContractSource {
        inner: FakeSource::new(vec![CONSUMER], vec![]),
        hours: Mutex::new(contract("HC (22H00-6H00)", Some("2019-01-01"))),
        asked: AtomicUsize::new(0),
    };
    let (state, root) = state();
    let sink = MemorySink::new();
    let settings = SyncSettings::new(linky_core::OffPeakConfig::default())
        .with_history(HistorySettings::new(2, 30, Default::default(), Default::default()).0)
        .with_contract_hours(true);
    let run = |at: NaiveDateTime| {
        let (source, sink, state, settings) = (&source, &sink, &state, settings.clone());
        async move {
            let clock = clock_at(at);
            let mut events = Vec::new();
            let mut hear = |event: &SyncEvent| events.push(event.clone());
            let report = SyncRun::new(source, sink, state, &clock)
                .settings(settings)
                .spread_minutes(7)
                .retry_days(3)
                .progress(&mut hear)
                .run()
                .await;
            (report, events)
        }
    };
    let off_peak_wh = |day: &str| {
        let device = sink.device(CONSUMER).unwrap();
        let energies = device.days[&day.parse::<NaiveDate>().unwrap()];
        (
            energies.consumption[0].as_wh_f64(),
            energies.consumption[1].as_wh_f64(),
        )
    };
    let at = |text: &str| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();

    // The first text learned stands for the whole past.
    let (report, events) = run(at("2024-06-20 09:00")).await;
    assert!(report.is_success(), "{report:?}");
    assert!(events.iter().any(|e| matches!(e, SyncEvent::ContractHours { text, since: None, .. } if text == "HC (22H00-6H00)")));
    assert_eq!(off_peak_wh("2024-05-25"), (16_000.0, 8_000.0));
    assert_eq!(off_peak_wh("2024-06-19"), (16_000.0, 8_000.0));
    // Asked once a week at most.
    run(at("2024-06-21 09:00")).await;
    assert_eq!(source.asked.load(Ordering::SeqCst), 1);

    // Enedis moves the hours on 25 June: the days from then on are split by the new ones.
    *source.hours.lock().unwrap() = contract("HC (23H00-6H00)", Some("2024-06-25"));
    let (report, events) = run(at("2024-06-28 09:00")).await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(source.asked.load(Ordering::SeqCst), 2);
    assert!(events.iter().any(|e| matches!(e, SyncEvent::ContractHours { since: Some(since), .. } if since.to_string() == "2024-06-25")));
    assert_eq!(off_peak_wh("2024-06-24"), (16_000.0, 8_000.0));
    assert_eq!(off_peak_wh("2024-06-25"), (17_000.0, 7_000.0));
    assert_eq!(off_peak_wh("2024-06-27"), (17_000.0, 7_000.0));
    assert_eq!(off_peak_wh("2024-05-30"), (16_000.0, 8_000.0));
    // Kept in the state with their dates.
    let meta = state.load_meta().unwrap();
    let kept: Vec<(String, Option<String>)> = meta.contract_hours[CONSUMER]
        .entries
        .iter()
        .map(|e| (e.text.clone(), e.since.map(|d| d.to_string())))
        .collect();
    assert_eq!(
        kept,
        [
            ("HC (22H00-6H00)".to_owned(), None),
            ("HC (23H00-6H00)".to_owned(), Some("2024-06-25".to_owned()))
        ]
    );

    // A text that cannot be read: a warning and a note, the hours known before kept.
    *source.hours.lock().unwrap() = contract("HC variables", None);
    let (report, events) = run(at("2024-07-06 09:00")).await;
    let warned = events
        .iter()
        .any(|e| matches!(e, SyncEvent::ScheduleWarning { warning, .. } if warning.contains("\"HC variables\" cannot be read") && warning.contains("the hours known before")));
    assert!(warned, "{events:#?}");
    let device = &report.devices[0];
    assert!(device.errors.is_empty(), "{device:?}");
    assert!(
        device
            .notes
            .iter()
            .any(|n| matches!(n, SyncError::ContractHours { .. }))
    );
    assert_eq!(off_peak_wh("2024-07-05"), (17_000.0, 7_000.0));

    // The user's own schedule wins: the contract is not even asked.
    let asked = source.asked.load(Ordering::SeqCst);
    let clock = clock_at(at("2024-07-20 09:00"));
    SyncRun::new(&source, &sink, &state, &clock)
        .settings(settings.clone().with_offpeak("22h-6h".parse().unwrap()))
        .run()
        .await;
    assert_eq!(source.asked.load(Ordering::SeqCst), asked);
    std::fs::remove_dir_all(root).ok();
}

/// A colour source that knows the days up to `published`, and counts what it is asked.
pub(crate) struct Colours {
    published: NaiveDate,
    asked: Mutex<Vec<(NaiveDate, NaiveDate)>>,
    down: std::sync::atomic::AtomicBool,
}

impl Colours {
    /// Publishing every day up to `published`.
    pub(crate) fn until(published: &str) -> Colours {
        Colours {
            published: published.parse().unwrap(),
            asked: Mutex::new(Vec::new()),
            down: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

#[async_trait]
impl linky_core::ColourSource for Colours {
    fn name(&self) -> &str {
        "test colours"
    }

    async fn colours(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<linky_core::ColourCalendar, SourceError> {
        self.asked.lock().unwrap().push((from, to));
        if self.down.load(Ordering::SeqCst) {
            return Err(SourceError::new(SourceErrorKind::Transient, "503"));
        }
        let mut calendar = linky_core::ColourCalendar::new();
        for day in from
            .iter_days()
            .take_while(|d| *d < to && *d <= self.published)
        {
            let colour = if chrono::Datelike::day(&day) % 10 == 0 {
                linky_core::DayColour::Red
            } else {
                linky_core::DayColour::Blue
            };
            calendar.set(day, colour);
        }
        Ok(calendar)
    }
}

/// With a colour source, a run keeps the window's day colours in its state, asks only for
/// those it lacks, and says which are still unknown; a failing source is a note, never a
/// failed run or an invented colour.
#[tokio::test]
async fn a_run_keeps_the_day_colours_it_lacks() {
    use linky_domoticz::{SyncError, SyncEvent};
    let source = FakeSource::new(vec![CONSUMER], vec![]);
    let colours = Colours::until("2024-06-20");
    let (state, root) = state();
    let sink = MemorySink::new();
    let run = |at: NaiveDateTime| {
        let (source, sink, state, colours) = (&source, &sink, &state, &colours);
        async move {
            let clock = clock_at(at);
            let mut events = Vec::new();
            let mut hear = |event: &SyncEvent| events.push(event.clone());
            let report = SyncRun::new(source, sink, state, &clock)
                .settings(settings())
                .colour_source(colours)
                .progress(&mut hear)
                .run()
                .await;
            (report, events)
        }
    };
    let (report, events) = run(now()).await;
    assert!(report.is_success(), "{report:?}");
    let meta = state.load_meta().unwrap();
    let today: NaiveDate = now().date();
    // The window and today are known; tomorrow is not published yet.
    assert_eq!(meta.colours.colour(today), Some(linky_core::DayColour::Red));
    assert_eq!(meta.colours.colour(today + Duration::days(1)), None);
    assert!(events.iter().any(|e| matches!(e, SyncEvent::Colours { unknown, .. } if unknown == &[today + Duration::days(1)])));
    let known = meta.colours.len();
    // The next run asks only from the first unknown day.
    *colours.asked.lock().unwrap() = Vec::new();
    let (_, _) = run(now() + Duration::days(1)).await;
    let asked = colours.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].0, today + Duration::days(1));
    // The source fails: a note, the run succeeds, nothing invented.
    colours.down.store(true, Ordering::SeqCst);
    let (report, _) = run(now() + Duration::days(3)).await;
    assert!(report.is_success(), "{report:?}");
    assert!(
        report
            .notes
            .iter()
            .any(|n| matches!(n, SyncError::Colours { .. }))
    );
    let meta = state.load_meta().unwrap();
    assert_eq!(meta.colours.len(), known);
    assert!(
        meta.colours
            .days()
            .all(|(d, _)| d <= colours.published && chrono::Datelike::year(&d) == 2024)
    );
    std::fs::remove_dir_all(root).ok();
}

/// With a colour source and a Tempo offer, each device's day rows come with their six
/// Tempo counters (the days whose colours are known) and their cost, exactly.
#[tokio::test]
async fn tempo_counters_and_daily_costs_go_through_the_sink() {
    use linky_core::{DayColour, Energy, PriceBook};
    let source = FakeSource::new(vec![CONSUMER], vec![]);
    let colours = Colours::until("2024-06-20");
    let (state, root) = state();
    let sink = MemorySink::new();
    let tempo = PriceBook::regulated().offer("Tempo").unwrap().clone();
    let clock = clock_at(now());
    let report = SyncRun::new(&source, &sink, &state, &clock)
        .settings(settings().with_costs(tempo, 6))
        .colour_source(&colours)
        .run()
        .await;
    assert!(report.is_success(), "{report:?}");
    let device = sink.device(CONSUMER).unwrap();
    assert!(!device.days.is_empty());
    // Every day row has its Tempo counters: the colours of the window are all known.
    let days: Vec<NaiveDate> = device.days.keys().copied().collect();
    assert_eq!(
        device.colour_days.keys().copied().collect::<Vec<_>>(),
        days,
        "{days:?}"
    );
    // The test source makes every tenth day red: 2024-06-19 is blue after a blue 18th.
    let day: NaiveDate = "2024-06-19".parse().unwrap();
    assert!(days.contains(&day), "{days:?}");
    let wh = device.colour_days[&day].map(Energy::as_wh_f64);
    assert_eq!(wh, [16_000.0, 8_000.0, 0.0, 0.0, 0.0, 0.0]);
    let state_colours = state.load_meta().unwrap().colours;
    assert_eq!(state_colours.colour(day), Some(DayColour::Blue));
    // Its cost with the prices of 2024-02-01 (6 kVA), the subscription a thirtieth of June's.
    let by_hand = 16.0 * 0.1609 + 8.0 * 0.1296 + 157.09 / 12.0 / 30.0;
    let cost = device.cost_days[&day];
    assert!(
        (cost.as_euros() - by_hand).abs() < 1e-9,
        "{cost} vs {by_hand}"
    );
    assert_eq!(device.cost_days.len(), device.days.len());
    std::fs::remove_dir_all(root).ok();
}

/// Into a Domoticz (2025.1's behaviour): Tempo's six counters in three P1 meters, one per
/// colour, and the daily cost in a Managed Counter in cents, dated; a second run creates
/// nothing more and rewrites the same rows.
#[tokio::test]
async fn tempo_counters_and_costs_land_in_domoticz_devices_that_keep_dated_history() {
    use linky_core::{Energy, PriceBook};
    let server = DomoticzEmulator::start("2025.1").await;
    let domoticz = DomoticzSink::new(DomoticzConfig::new(server.uri())).unwrap();
    let memory = MemorySink::new();
    let source = FakeSource::new(vec![CONSUMER], vec![]);
    let colours = Colours::until("2024-06-20");
    let tempo = PriceBook::regulated().offer("Tempo").unwrap().clone();
    let settings = settings().with_costs(tempo, 6);
    let (memory_state, memory_root) = state();
    let (state, root) = state();
    for _ in 0..2 {
        let clock = clock_at(now());
        let report = SyncRun::new(&source, &domoticz, &state, &clock)
            .settings(settings.clone())
            .colour_source(&colours)
            .run()
            .await;
        assert!(report.is_success(), "{report:?}");
    }
    let clock = clock_at(now());
    SyncRun::new(&source, &memory, &memory_state, &clock)
        .settings(settings)
        .colour_source(&colours)
        .run()
        .await;
    let expected = memory.device(CONSUMER).unwrap();
    server.with_state(|state| {
        let idx_of = |name: &str| {
            state
                .devices
                .iter()
                .find(|(_, _, n)| n == name)
                .map(|(idx, _, _)| idx.clone())
                .unwrap_or_else(|| panic!("no device {name:?} in {:?}", state.devices))
        };
        // Four devices besides the meter's, each created once (the colour devices are not
        // asked for here).
        assert_eq!(state.devices.len(), 5, "{:?}", state.devices);
        for (colour, word) in [(0, "bleu"), (1, "blanc"), (2, "rouge")] {
            let idx = idx_of(&format!("Linky {CONSUMER} Tempo {word}"));
            assert_eq!(state.types[&idx], (250, 1));
            for (date, energies) in &expected.colour_days {
                let stored = state
                    .long_log
                    .get(&(idx.clone(), *date))
                    .copied()
                    .unwrap_or_default();
                let wh = |e: Energy| e.round_wh();
                assert_eq!(
                    stored,
                    [wh(energies[colour * 2]), wh(energies[colour * 2 + 1]), 0, 0],
                    "{word} {date}"
                );
            }
        }
        let cost = idx_of(&format!("Linky {CONSUMER} coût"));
        assert_eq!(state.types[&cost], (243, 33));
        assert_eq!(state.counter_settings[&cost], (3, 100));
        for (date, money) in &expected.cost_days {
            assert_eq!(
                state.counter_log.get(&(cost.clone(), *date)),
                Some(&(0, money.round_cents())),
                "{date}"
            );
        }
        assert_eq!(
            state.counter_log.keys().filter(|(i, _)| *i == cost).count(),
            expected.cost_days.len()
        );
        // Their tiles show something (issue 18: "0 Watt, Today: 0.000 kWh" and "0 €"):
        // each colour's meter its last day of that colour, the cost counter the last day.
        for (colour, word) in [(0, "bleu"), (1, "blanc"), (2, "rouge")] {
            let idx = idx_of(&format!("Linky {CONSUMER} Tempo {word}"));
            let last =
                expected.colour_days.iter().rev().find(|(_, e)| {
                    e[colour * 2] != Energy::ZERO || e[colour * 2 + 1] != Energy::ZERO
                });
            let Some((date, energies)) = last else {
                // No day of that colour in the window: nothing to show.
                assert_eq!(state.live.get(&idx), None, "{word}");
                continue;
            };
            let (peak, off_peak) = (
                energies[colour * 2].round_wh(),
                energies[colour * 2 + 1].round_wh(),
            );
            let hours = i64::from(linky_core::hours_in_day(*date, PARIS));
            assert_eq!(
                state.live.get(&idx),
                Some(&format!(
                    "{peak};{off_peak};0;0;{};0",
                    (peak + off_peak) / hours
                )),
                "{word}"
            );
        }
        let last_cost = expected.cost_days.values().last().unwrap();
        assert_eq!(
            state.live.get(&cost),
            Some(&format!("0;{}", last_cost.round_cents()))
        );
    });
    std::fs::remove_dir_all(root).ok();
    std::fs::remove_dir_all(memory_root).ok();
}

/// Between midnight and 06:00 the colour day that runs (and its tariff) is the day
/// before's: a colour refresh then shows it as today's, and the new calendar day's colour
/// as tomorrow's, in every place (issue 18: "Tempo aujourd'hui" moved at midnight).
#[tokio::test]
async fn before_six_in_the_morning_today_is_the_colour_day_still_running() {
    use linky_core::DayColour;
    let server = DomoticzEmulator::start("2025.1").await;
    let domoticz =
        DomoticzSink::new(DomoticzConfig::new(server.uri()).with_colour_devices(true)).unwrap();
    let source = FakeSource::new(vec![CONSUMER], vec![]);
    // Every tenth day red: the 20th red, the 21st blue.
    let colours = Colours::until("2024-06-21");
    let (state, root) = state();
    let refresh = |when: &str| {
        let clock = clock_at(at(when));
        let (source, domoticz, state, colours) = (&source, &domoticz, &state, &colours);
        async move {
            SyncRun::new(source, domoticz, state, &clock)
                .settings(settings())
                .colour_source(colours)
                .refresh_colours()
                .await
        }
    };
    let alert = |name: &str| {
        server.with_state(|state| {
            let idx = state
                .devices
                .iter()
                .find(|(_, _, n)| n == name)
                .map(|(idx, _, _)| idx.clone())
                .unwrap();
            state.alerts[&idx].clone()
        })
    };
    // 21 June, 02:00: the 20th's red day runs until 06:00.
    let night = refresh("2024-06-21 02:00").await;
    assert!(night.errors.is_empty(), "{night:?}");
    assert_eq!(
        night.forecast.today,
        "2024-06-20".parse::<NaiveDate>().unwrap()
    );
    assert_eq!(
        (night.forecast.today_colour, night.forecast.tomorrow_colour),
        (Some(DayColour::Red), Some(DayColour::Blue))
    );
    assert_eq!(alert("Linky Tempo aujourd'hui"), (4, "ROUGE".to_owned()));
    assert_eq!(alert("Linky Tempo demain"), (1, "BLEU".to_owned()));
    // 06:05: the 21st's blue day.
    let morning = refresh("2024-06-21 06:05").await;
    assert_eq!(
        morning.forecast.today,
        "2024-06-21".parse::<NaiveDate>().unwrap()
    );
    assert_eq!(alert("Linky Tempo aujourd'hui"), (1, "BLEU".to_owned()));
    std::fs::remove_dir_all(root).ok();
}

/// Today's and tomorrow's colours, at every run with a colour source: in Domoticz, two
/// Alert sensors (level 1 blue, 2 white, 4 red, 0 unknown, the colour's word as text),
/// created once; tomorrow unknown until published, then known at the next run; no colour
/// source, no forecast.
#[tokio::test]
async fn today_and_tomorrow_colours_land_in_two_alert_sensors() {
    use linky_core::DayColour;
    use linky_domoticz::ColourForecast;
    let server = DomoticzEmulator::start("2025.1").await;
    let domoticz =
        DomoticzSink::new(DomoticzConfig::new(server.uri()).with_colour_devices(true)).unwrap();
    let memory = MemorySink::new();
    let source = FakeSource::new(vec![CONSUMER], vec![]);
    // The test source makes every tenth day red: today (the 20th) is red, tomorrow not
    // published yet.
    let colours = Colours::until("2024-06-20");
    let (memory_state, memory_root) = state();
    let (plain_state, plain_root) = state();
    let (domoticz_state, root) = state();
    let today = now().date();
    let run = |sink: &'static str| {
        let (source, colours) = (&source, &colours);
        let (sink, state): (&dyn linky_domoticz::Sink, _) = match sink {
            "domoticz" => (&domoticz, &domoticz_state),
            _ => (&memory, &memory_state),
        };
        async move {
            let clock = clock_at(now());
            let report = SyncRun::new(source, sink, state, &clock)
                .settings(settings())
                .colour_source(colours)
                .run()
                .await;
            assert!(report.is_success(), "{report:?}");
        }
    };
    run("memory").await;
    let forecasts: Vec<ColourForecast> = memory.colour_forecasts();
    assert_eq!(forecasts.len(), 1);
    let forecast = &forecasts[0];
    assert_eq!(
        (
            forecast.today,
            forecast.today_colour,
            forecast.tomorrow_colour
        ),
        (today, Some(DayColour::Red), None)
    );
    // The season's counts as far as the colours kept go (the run's short history window),
    // and the days of the season (from 2023-09-01, 294 days to today) they miss.
    let first_kept = forecast.calendar.days().next().unwrap().0;
    let kept_days = (today - first_kept).num_days() as u32 + 1;
    assert_eq!(forecast.calendar.len() as u32, kept_days);
    let reds = forecast
        .calendar
        .days()
        .filter(|(_, c)| *c == DayColour::Red)
        .count() as u32;
    assert!(reds >= 1);
    assert_eq!(forecast.season_used, [kept_days - reds, 0, reds]);
    assert_eq!(forecast.season_unknown, 294 - kept_days);
    assert_eq!(
        forecast.calendar.days().last(),
        Some((today, DayColour::Red))
    );
    run("domoticz").await;
    let alert = |name: &str| {
        server.with_state(|state| {
            let idx = state
                .devices
                .iter()
                .find(|(_, _, n)| n == name)
                .map(|(idx, _, _)| idx.clone())
                .unwrap_or_else(|| panic!("no device {name:?} in {:?}", state.devices));
            assert_eq!(state.types[&idx], (243, 22), "{name}");
            state.alerts[&idx].clone()
        })
    };
    assert_eq!(alert("Linky Tempo aujourd'hui"), (4, "ROUGE".to_owned()));
    assert_eq!(alert("Linky Tempo demain"), (0, "INCONNU".to_owned()));
    // Tomorrow's colour is published (blue): the next run shows it, creating nothing.
    let devices = server.with_state(|state| state.devices.len());
    let colours_later = Colours::until("2024-06-21");
    let clock = clock_at(now() + Duration::hours(4));
    let report = SyncRun::new(&source, &domoticz, &domoticz_state, &clock)
        .settings(settings())
        .colour_source(&colours_later)
        .run()
        .await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(alert("Linky Tempo demain"), (1, "BLEU".to_owned()));
    assert_eq!(alert("Linky Tempo aujourd'hui"), (4, "ROUGE".to_owned()));
    let season_text = format!(
        "rouge {reds}/22, blanc 0/43 (saison 2023-2024), {} jour(s) inconnu(s)",
        294 - kept_days
    );
    server.with_state(|state| {
        assert_eq!(state.devices.len(), devices, "{:?}", state.devices);
        // The season's counts in a Text sensor.
        let season = state
            .devices
            .iter()
            .find(|(_, _, n)| n == "Linky Tempo saison")
            .map(|(idx, _, _)| idx.clone())
            .unwrap();
        assert_eq!(state.types[&season], (243, 19));
        assert_eq!(state.texts[&season], season_text);
        // Domoticz's text log: one entry per change.
        let texts: Vec<&str> = state.text_log.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(texts, ["ROUGE", "INCONNU", season_text.as_str(), "BLEU"]);
    });
    // Without a colour source, no forecast.
    let plain = MemorySink::new();
    let clock = clock_at(now());
    SyncRun::new(&source, &plain, &plain_state, &clock)
        .settings(settings())
        .run()
        .await;
    assert!(plain.colour_forecasts().is_empty());
    for root in [root, memory_root, plain_root] {
        std::fs::remove_dir_all(root).ok();
    }
}

/// A colour source whose published colours can change between runs, counting what it is
/// asked.
struct Publisher {
    published: Mutex<std::collections::BTreeMap<NaiveDate, linky_core::DayColour>>,
    asked: Mutex<Vec<(NaiveDate, NaiveDate)>>,
}

impl Publisher {
    /// Every day up to `last` published: red every tenth day, blue otherwise.
    fn up_to(last: &str) -> Publisher {
        let last: NaiveDate = last.parse().unwrap();
        let published = (last - Duration::days(60))
            .iter_days()
            .take_while(|d| *d <= last)
            .map(|d| {
                let colour = if chrono::Datelike::day(&d) % 10 == 0 {
                    linky_core::DayColour::Red
                } else {
                    linky_core::DayColour::Blue
                };
                (d, colour)
            })
            .collect();
        Publisher {
            published: Mutex::new(published),
            asked: Mutex::new(Vec::new()),
        }
    }

    fn publish(&self, day: &str, colour: linky_core::DayColour) {
        self.published
            .lock()
            .unwrap()
            .insert(day.parse().unwrap(), colour);
    }

    fn asked(&self) -> Vec<(NaiveDate, NaiveDate)> {
        std::mem::take(&mut *self.asked.lock().unwrap())
    }
}

#[async_trait]
impl linky_core::ColourSource for Publisher {
    fn name(&self) -> &str {
        "publisher"
    }

    async fn colours(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<linky_core::ColourCalendar, SourceError> {
        self.asked.lock().unwrap().push((from, to));
        let mut calendar = linky_core::ColourCalendar::new();
        for (day, colour) in self.published.lock().unwrap().range(from..to) {
            calendar.set(*day, *colour);
        }
        Ok(calendar)
    }
}

/// A colour the publisher gave in a degraded mode stays provisional after the hour it
/// would be final: asked again at the next run, and final once published normally
/// (issue 18: RTE's `-fallback` flag was ignored and the colour kept for good).
#[tokio::test]
async fn a_degraded_colour_is_asked_again_until_published_normally() {
    struct Degraded(Mutex<bool>);
    #[async_trait]
    impl linky_core::ColourSource for Degraded {
        fn name(&self) -> &str {
            "degraded"
        }
        async fn colours(
            &self,
            from: NaiveDate,
            to: NaiveDate,
        ) -> Result<linky_core::ColourCalendar, SourceError> {
            let degraded = *self.0.lock().unwrap();
            let mut calendar = linky_core::ColourCalendar::new();
            for day in from
                .iter_days()
                .take_while(|d| *d < to && *d <= "2024-06-21".parse().unwrap())
            {
                if degraded && day == "2024-06-20".parse::<NaiveDate>().unwrap() {
                    calendar.set_degraded(day, linky_core::DayColour::White);
                } else {
                    calendar.set(day, linky_core::DayColour::Blue);
                }
            }
            Ok(calendar)
        }
    }
    let source = FakeSource::new(vec![CONSUMER], vec![]);
    let colours = Degraded(Mutex::new(true));
    let (state, root) = state();
    let sink = MemorySink::new();
    let run = |when: &str| {
        let clock = clock_at(at(when));
        let (source, sink, state, colours) = (&source, &sink, &state, &colours);
        async move {
            SyncRun::new(source, sink, state, &clock)
                .settings(settings())
                .colour_source(colours)
                .run()
                .await
        }
    };
    let day: NaiveDate = "2024-06-20".parse().unwrap();
    // Long after the 20th's colour is final (11:30 on the 19th): still provisional.
    let first = run("2024-06-20 15:00").await;
    assert!(first.is_success(), "{first:?}");
    let meta = state.load_meta().unwrap();
    assert_eq!(meta.colours.colour(day), Some(linky_core::DayColour::White));
    assert!(meta.provisional_colours.contains(&day));
    // Published normally: final, with its real colour.
    *colours.0.lock().unwrap() = false;
    let second = run("2024-06-20 16:00").await;
    assert!(second.is_success(), "{second:?}");
    let meta = state.load_meta().unwrap();
    assert_eq!(meta.colours.colour(day), Some(linky_core::DayColour::Blue));
    assert!(!meta.provisional_colours.contains(&day));
    std::fs::remove_dir_all(root).ok();
}

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
}

/// RTE publishes tomorrow's colour around 11:00 and may change it until about 11:15. A
/// colour learned by the morning's run is provisional: the run says when to ask again
/// (11:30 and its spread minute), a refresh then learns the final colour (changed here),
/// gives it to the sink and stops asking; the readings' source is not asked by a refresh.
#[tokio::test]
async fn tomorrows_colour_learned_before_it_is_final_is_asked_again() {
    use linky_core::DayColour;
    let source = FakeSource::new(vec![CONSUMER], vec![]);
    let publisher = Publisher::up_to("2024-06-20");
    publisher.publish("2024-06-21", DayColour::White);
    let (state, root) = state();
    let sink = MemorySink::new();
    let clock = clock_at(at("2024-06-20 09:00"));
    let report = SyncRun::new(&source, &sink, &state, &clock)
        .settings(settings())
        .colour_source(&publisher)
        .spread_minutes(7)
        .run()
        .await;
    assert!(report.is_success(), "{report:?}");
    let forecast = report.forecast.unwrap();
    assert_eq!(
        (forecast.today_colour, forecast.tomorrow_colour),
        (Some(DayColour::Red), Some(DayColour::White))
    );
    assert_eq!(report.next_colour_check, Some(at("2024-06-20 11:37")));
    let meta = state.load_meta().unwrap();
    assert_eq!(
        meta.provisional_colours
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["2024-06-21"]
    );
    publisher.asked();
    // RTE changes its mind before 11:15; the refresh at 11:37 learns it.
    publisher.publish("2024-06-21", DayColour::Red);
    let requests = source.requests.load(Ordering::SeqCst);
    let refresh = |time: &str| {
        let clock = clock_at(at(time));
        let (source, sink, state, publisher) = (&source, &sink, &state, &publisher);
        async move {
            SyncRun::new(source, sink, state, &clock)
                .settings(settings())
                .colour_source(publisher)
                .spread_minutes(7)
                .refresh_colours()
                .await
        }
    };
    let refreshed = refresh("2024-06-20 11:37").await;
    assert!(refreshed.errors.is_empty(), "{refreshed:?}");
    assert_eq!(refreshed.learned, 1);
    assert_eq!(refreshed.forecast.tomorrow_colour, Some(DayColour::Red));
    // Known for good: next, when the colour day changes (06:00 and the spread minute, 7
    // modulo 5), "today" moves on.
    assert_eq!(refreshed.next_check, Some(at("2024-06-21 06:02")));
    // Only tomorrow was asked (today's colour was final since yesterday 11:30).
    let tomorrow: NaiveDate = "2024-06-21".parse().unwrap();
    assert_eq!(
        publisher.asked(),
        [(tomorrow, tomorrow + Duration::days(1))]
    );
    assert_eq!(
        sink.colour_forecasts().last().unwrap().tomorrow_colour,
        Some(DayColour::Red)
    );
    let meta = state.load_meta().unwrap();
    assert!(meta.provisional_colours.is_empty());
    assert_eq!(meta.colours.colour(tomorrow), Some(DayColour::Red));
    // Known for good: a refresh asks nothing; the readings' source was never asked.
    let again = refresh("2024-06-20 12:10").await;
    assert_eq!(
        (again.learned, again.next_check),
        (0, Some(at("2024-06-21 06:02")))
    );
    assert!(publisher.asked().is_empty());
    assert_eq!(source.requests.load(Ordering::SeqCst), requests);
    std::fs::remove_dir_all(root).ok();
}

/// Tomorrow's colour not published by the morning's run: asked at 11:30, then every hour
/// until 20:00; a provisional colour never refreshed is asked again by the next day's run,
/// which corrects it; a refresh over a state that does not read saves and writes nothing.
#[tokio::test]
async fn an_unpublished_or_provisional_colour_is_asked_until_known_for_good() {
    use linky_core::DayColour;
    let source = FakeSource::new(vec![CONSUMER], vec![]);
    let publisher = Publisher::up_to("2024-06-20");
    let (state2, root2) = state();
    let (state, root) = state();
    let sink = MemorySink::new();
    let run = |time: &str| {
        let clock = clock_at(at(time));
        let (source, sink, state, publisher) = (&source, &sink, &state, &publisher);
        async move {
            SyncRun::new(source, sink, state, &clock)
                .settings(settings())
                .colour_source(publisher)
                .spread_minutes(45)
                .run()
                .await
        }
    };
    let refresh = |time: &str| {
        let clock = clock_at(at(time));
        let (source, sink, state, publisher) = (&source, &sink, &state, &publisher);
        async move {
            SyncRun::new(source, sink, state, &clock)
                .colour_source(publisher)
                .spread_minutes(45)
                .refresh_colours()
                .await
        }
    };
    let report = run("2024-06-20 09:00").await;
    assert_eq!(report.forecast.unwrap().tomorrow_colour, None);
    // The spread minute, up to half an hour, after 11:30.
    assert_eq!(report.next_colour_check, Some(at("2024-06-20 11:45")));
    let late = refresh("2024-06-20 11:45").await;
    assert_eq!(late.forecast.tomorrow_colour, None);
    assert_eq!(late.next_check, Some(at("2024-06-20 12:45")));
    // After 20:00, not before the next colour day (06:00, 45 modulo 5 minutes).
    assert_eq!(
        refresh("2024-06-20 19:30").await.next_check,
        Some(at("2024-06-21 06:00"))
    );
    // Published late, this evening: learned after 11:30 the day before, it is final.
    publisher.publish("2024-06-21", DayColour::White);
    let evening = refresh("2024-06-20 19:45").await;
    assert_eq!(evening.forecast.tomorrow_colour, Some(DayColour::White));
    assert_eq!(evening.next_check, Some(at("2024-06-21 06:00")));
    // At 06:00 the forecast moves on: today is the 21st (white), tomorrow unknown, asked
    // at 11:30 and the spread minute.
    let morning = refresh("2024-06-21 06:00").await;
    assert_eq!(
        morning.forecast.today,
        "2024-06-21".parse::<NaiveDate>().unwrap()
    );
    assert_eq!(
        (
            morning.forecast.today_colour,
            morning.forecast.tomorrow_colour
        ),
        (Some(DayColour::White), None)
    );
    assert_eq!(morning.next_check, Some(at("2024-06-21 11:45")));
    assert!(state.load_meta().unwrap().provisional_colours.is_empty());
    // A colour learned early the day before is corrected by the next day's run.
    let publisher_early = Publisher::up_to("2024-06-21");
    publisher_early.publish("2024-06-22", DayColour::White);
    let clock = clock_at(at("2024-06-21 08:10"));
    SyncRun::new(&source, &sink, &state2, &clock)
        .settings(settings())
        .colour_source(&publisher_early)
        .run()
        .await;
    let day: NaiveDate = "2024-06-22".parse().unwrap();
    assert!(
        state2
            .load_meta()
            .unwrap()
            .provisional_colours
            .contains(&day)
    );
    publisher_early.publish("2024-06-22", DayColour::Blue);
    publisher_early.asked();
    let clock = clock_at(at("2024-06-22 08:10"));
    let next_day = SyncRun::new(&source, &sink, &state2, &clock)
        .settings(settings())
        .colour_source(&publisher_early)
        .run()
        .await;
    assert_eq!(
        next_day.forecast.unwrap().today_colour,
        Some(DayColour::Blue)
    );
    let meta = state2.load_meta().unwrap();
    assert_eq!(meta.colours.colour(day), Some(DayColour::Blue));
    assert!(!meta.provisional_colours.contains(&day));
    assert!(
        publisher_early
            .asked()
            .iter()
            .any(|(from, to)| *from <= day && day < *to)
    );
    // A state that does not read: the refresh reports it and saves nothing over it.
    std::fs::write(root.join("sync.json"), "not json").unwrap();
    let forecasts = sink.colour_forecasts().len();
    let broken = refresh("2024-06-21 11:40").await;
    assert!(
        matches!(
            broken.errors.as_slice(),
            [linky_domoticz::SyncError::State(_)]
        ),
        "{broken:?}"
    );
    assert_eq!(sink.colour_forecasts().len(), forecasts);
    assert_eq!(
        std::fs::read_to_string(root.join("sync.json")).unwrap(),
        "not json"
    );
    for root in [root, root2] {
        std::fs::remove_dir_all(root).ok();
    }
}

/// Extreme values from outside (a server's `Retry-After`, dates in bodies and in the state
/// file, a contract's "since") go through a whole run: never a panic, and a wait from a
/// server is capped (issue 18).
mod extremes {
    use super::*;
    use linky_core::{Clock, ColourCalendar, ContractHours, DayColour, RETRY_AFTER_CEILING};
    use linky_domoticz::{ContractHoursEntry, ContractHoursHistory, StopReason, SyncMeta};
    use proptest::prelude::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// Any date the calendar holds, its ends more often than their share.
    fn any_date() -> impl Strategy<Value = NaiveDate> {
        let (min, max) = (
            NaiveDate::MIN.num_days_from_ce(),
            NaiveDate::MAX.num_days_from_ce(),
        );
        prop_oneof![
            Just(NaiveDate::MIN),
            Just(NaiveDate::MAX),
            (min..=max).prop_map(|days| NaiveDate::from_num_days_from_ce_opt(days).unwrap()),
            (-400i64..400).prop_map(|days| now().date() + Duration::days(days)),
        ]
    }

    fn any_time() -> impl Strategy<Value = NaiveDateTime> {
        prop_oneof![
            Just(NaiveDateTime::MIN),
            Just(NaiveDateTime::MAX),
            (any_date(), 0u32..86_400)
                .prop_map(|(date, s)| date.and_hms_opt(s / 3600, s / 60 % 60, s % 60).unwrap()),
        ]
    }

    fn any_wait() -> impl Strategy<Value = std::time::Duration> {
        prop_oneof![
            Just(std::time::Duration::MAX),
            Just(std::time::Duration::from_secs(10_000_000_000_000)),
            (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| std::time::Duration::new(s, n)),
            (0u64..200_000).prop_map(std::time::Duration::from_secs),
        ]
    }

    use chrono::Datelike;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// A quota answer with any `Retry-After`: the run stops to retry later, not before
        /// now plus the wait capped at a day, and the next run is set, in the calling hours.
        #[test]
        fn any_retry_after_is_a_capped_retry(wait in any_wait()) {
            let report = runtime().block_on(async {
                let source = FakeSource::new(vec![CONSUMER], vec![]).with_hook(Box::new(
                    move |_, _| {
                        Some(Err(SourceError::new(SourceErrorKind::Transient, "enedis answered 429 (transient)")
                            .with_retry_after(wait)))
                    },
                ));
                let (state, root) = state();
                let report = sync(&source, &MemorySink::new(), &state, now()).await;
                std::fs::remove_dir_all(root).ok();
                report
            });
            let Some(StopReason::RetryLater { not_before: Some(not_before) }) = report.stopped else {
                panic!("{report:?}");
            };
            let capped = Duration::from_std(wait.min(RETRY_AFTER_CEILING)).unwrap();
            prop_assert_eq!(not_before, now() + capped);
            prop_assert!(report.next_run >= not_before);
            prop_assert!(report.next_run <= now() + Duration::days(2), "{}", report.next_run);
        }

        /// Readings dated anywhere in the calendar, a state file holding any dates and any
        /// `days`, a contract since any day: the run ends (with errors, maybe), twice.
        #[test]
        fn extreme_dates_from_outside_never_panic(
            ends in proptest::collection::vec(any_time(), 0..6),
            last_success in proptest::option::of(any_time()),
            next_full_grab in proptest::option::of(any_time()),
            days_setting in proptest::option::of(any::<i64>()),
            checked in proptest::option::of(any_date()),
            since in proptest::option::of(any_date()),
            colour_days in proptest::collection::vec(any_date(), 0..4),
            at in (-400i64..400).prop_map(|minutes| now() + Duration::minutes(minutes * 37)),
        ) {
            runtime().block_on(async {
                let hook_ends = ends.clone();
                let source = ContractSource {
                    inner: FakeSource::new(vec![CONSUMER], vec![]).with_hook(Box::new(
                        move |number, request| {
                            (number == 0 && request.measurement == Measurement::LoadCurve(Flow::Consumption)).then(|| {
                                let mut readings = half_hours(request.start, request.end, 700);
                                readings.extend(hook_ends.iter().map(|end| Reading {
                                    end: *end,
                                    length_minutes: 30,
                                    power: Power::from_watts(500),
                                }));
                                Ok(SourceData::Curve { readings, report: QualityReport::default() })
                            })
                        },
                    )),
                    hours: Mutex::new(Some(ContractHours::new("HC (22H00-6H00)", since))),
                    asked: AtomicUsize::new(0),
                };
                let (state, root) = state();
                let mut colours = ColourCalendar::new();
                for day in &colour_days {
                    colours.set(*day, DayColour::White);
                }
                let mut meta = SyncMeta::default();
                meta.last_success = last_success;
                meta.next_full_grab = next_full_grab;
                meta.days_setting = days_setting;
                meta.colours = colours;
                meta.provisional_colours = colour_days.iter().copied().collect();
                let mut history = ContractHoursHistory::default();
                history.checked = checked;
                history.entries = vec![ContractHoursEntry {
                    text: "HC (23H00-7H00)".to_owned(),
                    since,
                    seen: checked.unwrap_or(NaiveDate::MAX),
                }];
                meta.contract_hours.insert(CONSUMER.to_owned(), history);
                state.save_meta(&meta).unwrap();
                let sink = MemorySink::new();
                let colour_source = Colours::until("2024-06-30");
                for minutes in [0, 90] {
                    let clock = clock_at(at + Duration::minutes(minutes));
                    let report = SyncRun::new(&source, &sink, &state, &clock)
                        .settings(SyncSettings::new(linky_core::OffPeakConfig::default()))
                        .colour_source(&colour_source)
                        .run()
                        .await;
                    assert!(report.next_run > clock.local_now(PARIS) - Duration::minutes(1), "{report:?}");
                }
                std::fs::remove_dir_all(root).ok();
            });
        }
    }
}

/// A source whose usage points cannot be listed, for the reason given.
struct NoUsagePoints(SourceErrorKind, Option<std::time::Duration>);

#[async_trait]
impl ReadingSource for NoUsagePoints {
    async fn usage_points(&self) -> Result<Vec<UsagePointId>, SourceError> {
        let error = SourceError::new(self.0, "the proxy lists no usage point yet");
        Err(match self.1 {
            Some(wait) => error.with_retry_after(wait),
            None => error,
        })
    }
    async fn fetch(&self, _: &UsagePointId, _: &FetchRequest) -> Result<SourceData, SourceError> {
        panic!("nothing is fetched without usage points")
    }
}

/// A source that cannot list its usage points stops the run with the reason a request's
/// failure would give: no consent (the command exits 3), or retry later after the wait.
#[tokio::test]
async fn usage_points_not_listed_stop_the_run_with_their_reason() {
    use linky_domoticz::{StopReason, SyncEvent};
    let at = now();
    for (source, expected) in [
        (
            NoUsagePoints(SourceErrorKind::ConsentLost, None),
            StopReason::ConsentLost,
        ),
        (
            NoUsagePoints(
                SourceErrorKind::Transient,
                Some(std::time::Duration::from_secs(5 * 3600)),
            ),
            StopReason::RetryLater {
                not_before: Some(at + Duration::hours(5)),
            },
        ),
    ] {
        let (state, root) = state();
        let clock = clock_at(at);
        let mut events = Vec::new();
        let mut hear = |event: &SyncEvent| events.push(event.clone());
        let report = SyncRun::new(&source, &MemorySink::new(), &state, &clock)
            .settings(settings())
            .progress(&mut hear)
            .run()
            .await;
        assert_eq!(report.stopped, Some(expected), "{report:?}");
        assert!(!report.is_success());
        assert!(
            events
                .iter()
                .any(|event| matches!(event, SyncEvent::Stopped { reason } if *reason == expected)),
            "{events:?}"
        );
        if let StopReason::RetryLater { .. } = expected {
            assert!(
                report.next_run >= at + Duration::hours(5),
                "{}",
                report.next_run
            );
        }
        std::fs::remove_dir_all(root).ok();
    }
}
