//! Issue 9's fault suite: two-year backfills of a consumer and a producer (hence a merged
//! device) through the real client, HTTP stack included, against a simulated Enedis that
//! misbehaves in one way per scenario, into the memory sink or a Domoticz 2025.1
//! emulator. For every scenario:
//!
//! - runs are repeated at the time each run sets for the next, until one succeeds (and,
//!   where data arrives late, the runs of the next days);
//! - every day row, hour row and the dashboard of every device are compared exactly with
//!   the ground truth through linky-core (to the milliwatt-minute in memory, to the Wh
//!   Domoticz stores);
//! - the data requests made are counted against the least a clean backfill needs
//!   (`plan_fetches` over the same run days);
//! - one more run fetches nothing and changes nothing (nothing written twice).
//!
//! `cargo test -p linky-examples --test faults -- --nocapture` prints the table.

mod enedis;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use chrono::{NaiveDate, NaiveDateTime};
use enedis::{Alteration, CONSUMER, Enedis, Fault, PRODUCER, Rule, When, truth};
use linky_core::{
    Clock, CompiledSchedule, DeviceData, DeviceRows, Flow, HistorySettings, HolidayZone, LoadCurve,
    ManualClock, Measurement, PARIS, PlanLimits, RetryPolicy, RunSettings, SHORT_HISTORY_DAYS,
    device_rows, merge_device, plan_fetches,
};
use linky_domoticz::{
    DomoticzConfig, DomoticzEmulator, DomoticzSink, MemorySink, Sink, StateDir, SyncReport,
    SyncRun, SyncSettings,
};
use linky_enedis::{
    AccessToken, Backend, Client, MemoryTokenStore, RefreshToken, TokenSet, TokenStore, sandbox_now,
};

const SCHEDULE: &str = "22h00-6h00 sa 0h-24h di 0h-24h fe 0h-24h";
/// How long a request may take before the client gives up on it (stalls are longer).
const CLIENT_TIMEOUT: Duration = Duration::from_millis(1500);
const STALL: Duration = Duration::from_secs(4);

fn settings() -> SyncSettings {
    SyncSettings::new(SCHEDULE.parse().unwrap())
        .with_history(HistorySettings::new(2, 730, Default::default(), Default::default()).0)
}

fn utc(local: NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    local
        .and_local_timezone(PARIS)
        .earliest()
        .unwrap()
        .with_timezone(&chrono::Utc)
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// Where rows go.
enum Target {
    Memory(MemorySink),
    Domoticz(Box<(DomoticzEmulator, DomoticzSink)>),
}

/// One scenario's world: the simulated Enedis, the clock, the client, the state, the sink.
struct World {
    enedis: Enedis,
    clock: Arc<ManualClock>,
    store: Arc<MemoryTokenStore>,
    client: Client,
    root: std::path::PathBuf,
    state: StateDir,
    target: Target,
    /// The local time of every run, in order.
    runs: Vec<NaiveDateTime>,
    /// Whether each run succeeded.
    successes: Vec<bool>,
}

static WORLDS: AtomicUsize = AtomicUsize::new(0);

impl World {
    async fn new(rules: Vec<Rule>) -> World {
        let enedis = Enedis::start(rules).await;
        let clock = Arc::new(ManualClock::new(utc(sandbox_now())));
        let store = Arc::new(MemoryTokenStore::default());
        store
            .save(&TokenSet {
                access_token: AccessToken::new("access-0"),
                refresh_token: Some(RefreshToken::new("refresh")),
                expires_at: SystemTime::from(clock.now()) + Duration::from_secs(12600),
                usage_points: vec![CONSUMER.to_owned(), PRODUCER.to_owned()],
            })
            .unwrap();
        let client = Client::builder(Backend::Proxy {
            base_url: enedis.url(),
            client_id: "fault-suite".to_owned(),
        })
        .max_per_second(10_000)
        .timeout(CLIENT_TIMEOUT)
        .max_body_bytes(1 << 20)
        .retry(RetryPolicy::new(
            Duration::from_secs(2),
            Duration::from_secs(120),
            4,
        ))
        .clock(clock.clone())
        .jitter_seed(9)
        .token_store(store.clone())
        .build()
        .unwrap();
        let root = std::env::temp_dir().join(format!(
            "linky-faults-{}-{}",
            std::process::id(),
            WORLDS.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::remove_dir_all(&root).ok();
        let state = StateDir::open(&root).unwrap();
        World {
            enedis,
            clock,
            store,
            client,
            root,
            state,
            target: Target::Memory(MemorySink::new()),
            runs: Vec::new(),
            successes: Vec::new(),
        }
    }

    async fn into_domoticz(mut self, down_after_calls: Option<usize>) -> World {
        let emulator = DomoticzEmulator::start("2025.1").await;
        emulator.with_state(|s| s.down_after_calls = down_after_calls);
        let sink = DomoticzSink::new(DomoticzConfig::new(emulator.uri())).unwrap();
        self.target = Target::Domoticz(Box::new((emulator, sink)));
        self
    }

    fn now(&self) -> NaiveDateTime {
        self.clock.local_now(PARIS)
    }

    fn set_now(&self, local: NaiveDateTime) {
        self.clock.set(utc(local));
    }

    /// One run at the clock's time, through `sink`.
    async fn run_into(&mut self, sink: &dyn Sink) -> SyncReport {
        self.runs.push(self.now());
        let report = SyncRun::new(&self.client, sink, &self.state, self.clock.as_ref())
            .settings(settings())
            .spread_minutes(11)
            .retry_days(2)
            .run()
            .await;
        self.successes.push(report.is_success());
        report
    }

    async fn run(&mut self) -> SyncReport {
        let target = std::mem::replace(&mut self.target, Target::Memory(MemorySink::new()));
        let sink: &dyn Sink = match &target {
            Target::Memory(sink) => sink,
            Target::Domoticz(domoticz) => &domoticz.1,
        };
        let report = self.run_into(sink).await;
        self.target = target;
        report
    }

    /// Runs at the time each run sets for the next, until one succeeds. Returns the runs.
    async fn until_success(&mut self, max_runs: usize) -> usize {
        for run in 1..=max_runs {
            let report = self.run().await;
            if report.is_success() {
                return run;
            }
            assert!(
                report.next_run > self.now(),
                "the next run is set after this one: {report:?}"
            );
            self.set_now(report.next_run);
        }
        panic!("no success in {max_runs} runs");
    }

    /// A run killed when the simulated Enedis receives its `at`-th data request (the
    /// process dies while waiting for the answer).
    async fn run_killed_at_request(&mut self, at: usize) {
        let killed = {
            let mut state = self.enedis.state.lock().unwrap();
            state.kill_at = Some(at);
            state.killed.clone()
        };
        let target = std::mem::replace(&mut self.target, Target::Memory(MemorySink::new()));
        {
            let sink: &dyn Sink = match &target {
                Target::Memory(sink) => sink,
                Target::Domoticz(domoticz) => &domoticz.1,
            };
            tokio::select! {
                report = self.run_into(sink) => panic!("the run was not killed: {report:?}"),
                () = killed.notified() => {}
            }
        }
        self.target = target;
    }

    fn data_requests(&self) -> usize {
        self.enedis.data_requests()
    }

    /// The least number of data requests the runs so far need, from the planner: the
    /// full backfill at the first run that succeeded (one request for each direction a
    /// meter lacks; days that came while it was unfinished fit its chunks), then on each
    /// later day what that day adds.
    fn minimum(&self) -> usize {
        let days = i64::from(settings().history.days());
        let with_data = [
            Measurement::LoadCurve(Flow::Consumption),
            Measurement::DailyMaxPower,
            Measurement::LoadCurve(Flow::Production),
        ];
        let first_success = self.successes.iter().position(|s| *s).unwrap_or(0);
        let first = self.runs[first_success];
        let limits = |now: NaiveDateTime, days: i64| PlanLimits::new(now, days);
        let mut total = 3; // C production, P consumption, P peaks: "none, for good"
        for measurement in with_data {
            total += plan_fetches(measurement, &BTreeSet::new(), &limits(first, days)).len();
        }
        let mut last_day = first.date();
        for &run in &self.runs[first_success + 1..] {
            if run.date() == last_day {
                continue;
            }
            let held: BTreeSet<NaiveDate> = (run.date()
                - chrono::Duration::days(SHORT_HISTORY_DAYS))
            .iter_days()
            .take_while(|d| *d < last_day)
            .collect();
            for measurement in with_data {
                total += plan_fetches(measurement, &held, &limits(run, SHORT_HISTORY_DAYS)).len();
            }
            last_day = run.date();
        }
        total
    }

    /// What each device must hold after the last run, from the ground truth.
    fn expected(&self) -> Vec<DeviceRows> {
        let settings = settings();
        let today = self.now().date();
        let from = today - chrono::Duration::days(i64::from(settings.history.days()));
        let run = RunSettings::new(today, settings.history)
            .with_displays(settings.main, settings.secondary);
        let split = |pdl: &str, flow: Flow| {
            let readings = truth::readings(flow, from, today);
            let (curve, report) = LoadCurve::builder(PARIS)
                .expected_period(from, today)
                .build(&readings);
            assert!(report.is_clean(), "{report}");
            let schedule =
                CompiledSchedule::new(&settings.offpeak, pdl, flow, HolidayZone::Metropole);
            curve.split(&schedule)
        };
        let peak_days =
            i64::from(settings.history.peak_days()).max(i64::from(settings.history.days()));
        let consumer = DeviceData {
            device: CONSUMER.parse().unwrap(),
            consumption: Some(split(CONSUMER, Flow::Consumption)),
            production: None,
            peaks: truth::peaks(today - chrono::Duration::days(peak_days), today),
            two_tariffs: true,
        };
        let producer = DeviceData {
            device: PRODUCER.parse().unwrap(),
            consumption: None,
            production: Some(split(PRODUCER, Flow::Production)),
            peaks: Vec::new(),
            two_tariffs: true,
        };
        let merged = merge_device(&consumer, &producer);
        [consumer, producer, merged]
            .iter()
            .map(|data| device_rows(data, &run))
            .collect()
    }

    /// Checks every device against the truth; returns how many day rows were checked.
    fn check_exact(&self) -> usize {
        let mut checked = 0;
        for expected in self.expected() {
            assert_eq!(expected.days.len(), 730, "{}", expected.device);
            match &self.target {
                Target::Memory(sink) => {
                    let device = sink
                        .device(&expected.device.to_string())
                        .unwrap_or_else(|| panic!("{} was never written", expected.device));
                    for row in &expected.days {
                        assert_eq!(
                            device.days.get(&row.date),
                            Some(&row.totals),
                            "{} on {}",
                            expected.device,
                            row.date
                        );
                    }
                    let first = expected.days[0].date;
                    let extra: Vec<&NaiveDate> = device
                        .days
                        .keys()
                        .filter(|d| **d >= first && !expected.days.iter().any(|r| r.date == **d))
                        .collect();
                    assert!(extra.is_empty(), "{}: rows for {extra:?}", expected.device);
                    for row in &expected.hours {
                        assert_eq!(
                            device.hours.get(&row.end_utc),
                            Some(&row.energies),
                            "{} at {}",
                            expected.device,
                            row.end
                        );
                    }
                    assert_eq!(device.dashboard, expected.dashboard, "{}", expected.device);
                }
                Target::Domoticz(domoticz) => {
                    let emulator = &domoticz.0;
                    let name = format!("Linky {}", expected.device);
                    emulator.with_state(|state| {
                        let devices: Vec<&String> = state
                            .devices
                            .iter()
                            .filter(|(_, _, n)| *n == name)
                            .map(|(idx, _, _)| idx)
                            .collect();
                        assert_eq!(devices.len(), 1, "{name}: one device, never two");
                        for row in &expected.days {
                            let written = row.totals.in_order().map(|e| e.round_wh().max(0));
                            assert_eq!(
                                state.long_log.get(&(devices[0].clone(), row.date)),
                                Some(&written),
                                "{name} on {}",
                                row.date
                            );
                        }
                    });
                }
            }
            checked += expected.days.len();
        }
        checked
    }

    /// What the sink holds, to compare before and after a run.
    fn snapshot(&self) -> String {
        match &self.target {
            Target::Memory(sink) => sink
                .device_ids()
                .iter()
                .map(|id| {
                    let device = sink.device(id).unwrap();
                    format!(
                        "{id}: {:?} {:?} {:?}",
                        device.days, device.hours, device.dashboard
                    )
                })
                .collect(),
            Target::Domoticz(domoticz) => domoticz
                .0
                .with_state(|s| format!("{:?} {:?} {:?}", s.devices, s.long_log, s.short_log)),
        }
    }

    /// Checks the result, runs once more (a minute later: nothing fetched, nothing
    /// changed), and returns the table row.
    async fn finish(mut self, name: &'static str, runs: usize) -> Row {
        let checked = self.check_exact();
        let made = self.data_requests();
        let minimum = self.minimum();
        let before = self.snapshot();
        self.set_now(self.now() + chrono::Duration::minutes(1));
        let again = self.run().await;
        assert!(again.is_success(), "{name}: {again:?}");
        assert_eq!(
            self.data_requests(),
            made,
            "{name}: the run after fetched again"
        );
        assert_eq!(
            self.snapshot(),
            before,
            "{name}: the run after changed the sink"
        );
        std::fs::remove_dir_all(&self.root).ok();
        Row {
            name,
            runs,
            made,
            minimum,
            checked,
        }
    }
}

/// One line of the table.
#[derive(Debug)]
struct Row {
    name: &'static str,
    runs: usize,
    made: usize,
    minimum: usize,
    checked: usize,
}

fn print(rows: &[Row]) {
    println!("\n| scenario | runs needed | requests made / minimum | day rows checked |");
    println!("|---|---|---|---|");
    for row in rows {
        println!(
            "| {} | {} | {} / {} | {} |",
            row.name, row.runs, row.made, row.minimum, row.checked
        );
    }
}

/// Checks a row against what the scenario may cost: `runs` exactly, and at most `extra`
/// requests above the minimum (a run stopped for a day asks for the new day apart).
fn expect(row: &Row, runs: usize, extra: usize) {
    assert_eq!(row.runs, runs, "{row:?}");
    assert!(row.made >= row.minimum, "{row:?}");
    assert!(row.made <= row.minimum + extra, "{row:?}");
}

fn nth(n: usize, fault: Fault) -> Rule {
    Rule::new(When::Nth(n), fault, 1)
}

fn status(status: u16, retry_after: Option<u64>, body: &str) -> Fault {
    Fault::Status {
        status,
        retry_after: retry_after.map(|seconds| seconds.to_string()),
        body: body.to_owned(),
    }
}

/// An error status whose `Retry-After` is sent as written (an HTTP-date, say).
fn status_with_retry_after(status: u16, retry_after: &str, body: &str) -> Fault {
    Fault::Status {
        status,
        retry_after: Some(retry_after.to_owned()),
        body: body.to_owned(),
    }
}

const QUOTA: &str = r#"{"error": "too_many_requests", "error_description": "quota"}"#;

/// Requests, in the order the sync makes them on a clean first run: C's consumption
/// curve 0-104, C's peaks 105-106, C's production 107 (none), P's consumption 108 and
/// peaks 109 (none), P's production 110-214.
async fn simple(name: &'static str, rules: Vec<Rule>, runs: usize, extra: usize) -> Row {
    let mut world = World::new(rules).await;
    let needed = world.until_success(6).await;
    let row = world.finish(name, needed).await;
    expect(&row, runs, extra);
    row
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fault_suite() {
    let mut rows = Vec::new();
    rows.push(simple("clean two-year backfill", vec![], 1, 0).await);
    rows.push(
        simple(
            "429, Retry-After 30 s (waited)",
            vec![nth(50, status(429, Some(30), QUOTA))],
            1,
            1,
        )
        .await,
    );
    rows.push(
        simple(
            "429, Retry-After 2 h (next run after it)",
            vec![nth(50, status(429, Some(7200), QUOTA))],
            2,
            1,
        )
        .await,
    );
    rows.push(
        simple(
            "429, Retry-After 10^13 s (capped at a day)",
            vec![nth(50, status(429, Some(10_000_000_000_000), QUOTA))],
            2,
            2,
        )
        .await,
    );
    rows.push(
        simple(
            "503, Retry-After an HTTP-date in 9999 (capped)",
            vec![nth(
                60,
                status_with_retry_after(503, "Fri, 31 Dec 9999 23:59:59 GMT", QUOTA),
            )],
            2,
            2,
        )
        .await,
    );
    let in_two_hours = (utc(sandbox_now()) + chrono::Duration::hours(2))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    rows.push(
        simple(
            "429, Retry-After an HTTP-date 2 h ahead",
            vec![nth(70, status_with_retry_after(429, &in_two_hours, QUOTA))],
            2,
            1,
        )
        .await,
    );
    rows.push(
        simple(
            "429 for the rest of a run",
            vec![Rule::new(When::From(60), status(429, None, QUOTA), 4)],
            2,
            4,
        )
        .await,
    );
    rows.push(
        simple(
            "500 then success",
            vec![nth(70, status(500, None, r#"{"error": "internal"}"#))],
            1,
            1,
        )
        .await,
    );
    rows.push(
        simple(
            "503 with an HTML body, twice",
            vec![Rule::new(
                When::From(20),
                status(503, None, "<html><body>Service Unavailable</body></html>"),
                2,
            )],
            1,
            2,
        )
        .await,
    );
    rows.push(
        simple(
            "stall before the answer",
            vec![nth(30, Fault::StallBeforeHeaders(STALL))],
            1,
            1,
        )
        .await,
    );
    rows.push(
        simple(
            "stall in the middle of the body",
            vec![nth(31, Fault::StallMidBody(STALL))],
            1,
            1,
        )
        .await,
    );
    rows.push(
        simple(
            "reset in the middle of the body",
            vec![nth(40, Fault::ResetMidBody)],
            1,
            1,
        )
        .await,
    );
    rows.push(
        simple(
            "truncated JSON (the producer's curve)",
            vec![nth(150, Fault::Truncated)],
            2,
            1,
        )
        .await,
    );
    rows.push(
        simple(
            "another usage point's body",
            vec![nth(10, Fault::OtherUsagePoint)],
            2,
            1,
        )
        .await,
    );
    rows.push(oversized().await);
    rows.push(
        simple(
            "token expired mid-backfill",
            vec![nth(80, Fault::ExpireToken)],
            1,
            1,
        )
        .await,
    );
    rows.push(
        simple(
            "duplicates and out-of-order readings",
            vec![
                Rule::new(
                    When::Measurement(Measurement::LoadCurve(Flow::Consumption)),
                    Fault::Alter(Alteration::Duplicates),
                    40,
                ),
                Rule::new(
                    When::Measurement(Measurement::LoadCurve(Flow::Production)),
                    Fault::Alter(Alteration::OutOfOrder),
                    60,
                ),
            ],
            1,
            0,
        )
        .await,
    );
    rows.push(
        simple(
            "both DST days reversed and duplicated",
            vec![
                Rule::new(
                    When::Covers(day("2024-10-27")),
                    Fault::Alter(Alteration::OutOfOrder),
                    2,
                ),
                Rule::new(
                    When::Covers(day("2024-03-31")),
                    Fault::Alter(Alteration::OutOfOrder),
                    2,
                ),
                Rule::new(
                    When::Covers(day("2023-10-29")),
                    Fault::Alter(Alteration::Duplicates),
                    2,
                ),
                Rule::new(
                    When::Covers(day("2023-03-26")),
                    Fault::Alter(Alteration::Duplicates),
                    2,
                ),
            ],
            1,
            0,
        )
        .await,
    );
    rows.push(consent_lost().await);
    rows.push(
        late_data(
            "a hole and a duplicate in one day",
            Alteration::HoleAndDuplicate(day("2024-11-02")),
        )
        .await,
    );
    rows.push(
        late_data(
            "holes filled a day later",
            Alteration::Hole(day("2024-11-05")),
        )
        .await,
    );
    rows.push(killed_mid_fetch("crash mid-fetch", 60).await);
    rows.push(killed_mid_fetch("no-data facts kept through a crash right after them", 110).await);
    rows.push(crash_mid_write().await);
    rows.push(corrupt_state().await);
    rows.push(domoticz("Domoticz closing connections as 2025.1 does", None, 1).await);
    rows.push(domoticz("Domoticz down mid-sync, then back", Some(700), 2).await);
    print(&rows);
    assert!(rows.len() >= 20);
}

/// An answer over the client's limit: refused with a typed error, whose cause (through
/// the sync's error and the source's) is the client's own `BodyTooLarge`; the next run
/// asks again.
async fn oversized() -> Row {
    let mut world = World::new(vec![nth(90, Fault::Oversized(2 << 20))]).await;
    let first = world.run().await;
    let error = first.errors().next().expect("an error");
    let source = std::error::Error::source(error).expect("the source's error");
    let cause = std::error::Error::source(source).expect("the client's error");
    assert!(
        matches!(
            cause.downcast_ref::<linky_enedis::Error>(),
            Some(linky_enedis::Error::BodyTooLarge {
                limit: 1_048_576,
                ..
            })
        ),
        "{cause:?}"
    );
    assert!(!error.is_retryable());
    world.set_now(first.next_run);
    let runs = 1 + world.until_success(3).await;
    let row = world
        .finish("oversized body (2 MiB, limit 1 MiB)", runs)
        .await;
    expect(&row, 2, 1);
    row
}

/// The consent is revoked mid-backfill: the renewal is refused, the tokens cleared, the
/// run stops; the user consents again and the next run goes on.
async fn consent_lost() -> Row {
    let mut world = World::new(vec![nth(100, Fault::LoseConsent)]).await;
    let first = world.run().await;
    assert_eq!(
        first.stopped,
        Some(linky_domoticz::StopReason::ConsentLost),
        "{first:?}"
    );
    assert!(
        world.store.load().unwrap().is_none(),
        "the refused tokens are forgotten"
    );
    let token = world.enedis.consent_again();
    world
        .store
        .save(&TokenSet {
            access_token: AccessToken::new(token),
            refresh_token: Some(RefreshToken::new("refresh-2")),
            expires_at: SystemTime::from(world.clock.now()) + Duration::from_secs(12600),
            usage_points: vec![CONSUMER.to_owned(), PRODUCER.to_owned()],
        })
        .unwrap();
    world.set_now(first.next_run);
    let runs = 1 + world.until_success(3).await;
    let row = world.finish("consent lost, then given again", runs).await;
    expect(&row, 2, 1);
    row
}

/// A day comes incomplete; it is written as it is, asked for again on the next day's run
/// while in the window, and then exact.
async fn late_data(name: &'static str, alteration: Alteration) -> Row {
    let late_day = match alteration {
        Alteration::HoleAndDuplicate(day) | Alteration::Hole(day) => day,
        _ => unreachable!(),
    };
    let mut world = World::new(vec![Rule::new(
        When::And(
            Box::new(When::Covers(late_day)),
            Box::new(When::Measurement(Measurement::LoadCurve(Flow::Consumption))),
        ),
        Fault::Alter(alteration),
        1,
    )])
    .await;
    let first = world.run().await;
    assert!(first.is_success(), "{first:?}");
    world.set_now(first.next_run);
    let second = world.run().await;
    assert!(second.is_success(), "{second:?}");
    let row = world.finish(name, 2).await;
    // The incomplete day's request once more, beside the new day's.
    expect(&row, 2, 1);
    row
}

/// The process is killed while waiting for the answer to request `at`; the next run goes
/// on from what was stored, "no data" facts included.
async fn killed_mid_fetch(name: &'static str, at: usize) -> Row {
    let mut world = World::new(vec![]).await;
    world.run_killed_at_request(at).await;
    world.set_now(world.now() + chrono::Duration::minutes(5));
    let runs = 1 + world.until_success(3).await;
    let row = world.finish(name, runs).await;
    // Only the request that never got its answer is made twice.
    expect(&row, 2, 1);
    row
}

/// A sink that never returns from its `left`-th day write, telling `stuck`.
struct StuckSink<'a> {
    inner: &'a MemorySink,
    left: AtomicUsize,
    stuck: tokio::sync::Notify,
}

#[async_trait::async_trait]
impl Sink for StuckSink<'_> {
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
        if self.left.fetch_sub(1, Ordering::SeqCst) == 1 {
            // Half the rows are written, then the process dies.
            self.inner.write_days(d, &rows[..rows.len() / 2]).await?;
            self.stuck.notify_one();
            std::future::pending::<()>().await;
        }
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

/// The process dies in the middle of writing the second device; the next run writes
/// everything from the state, fetching nothing.
async fn crash_mid_write() -> Row {
    let mut world = World::new(vec![]).await;
    let memory = MemorySink::new();
    let stuck = StuckSink {
        inner: &memory,
        left: AtomicUsize::new(2),
        stuck: tokio::sync::Notify::new(),
    };
    tokio::select! {
        report = world.run_into(&stuck) => panic!("the run was not killed: {report:?}"),
        () = stuck.stuck.notified() => {}
    }
    let fetched = world.data_requests();
    world.set_now(world.now() + chrono::Duration::minutes(5));
    let second = world.run_into(&memory).await;
    assert!(second.is_success(), "{second:?}");
    assert_eq!(world.data_requests(), fetched, "nothing fetched again");
    world.target = Target::Memory(memory);
    let row = world.finish("crash mid-write", 2).await;
    expect(&row, 2, 0);
    row
}

/// A month file of the state is damaged after a complete backfill: reported, its days
/// fetched again at the next run (a full grab is due again), exact in the end.
async fn corrupt_state() -> Row {
    let mut world = World::new(vec![]).await;
    assert!(world.run().await.is_success());
    let month = world
        .root
        .join(format!("readings/{CONSUMER}/consumption/2024-05.json"));
    let text = std::fs::read_to_string(&month).unwrap();
    std::fs::write(&month, text.replacen("\"2024-05-1", "\"2024-05-2", 1)).unwrap();
    world.set_now(world.now() + chrono::Duration::minutes(5));
    let second = world.run().await;
    assert!(!second.is_success());
    assert!(
        second.devices[0]
            .errors
            .iter()
            .any(|e| e.to_string().contains("is corrupt")),
        "{second:?}"
    );
    world.set_now(second.next_run);
    let runs = 2 + world.until_success(3).await;
    let row = world.finish("corrupt state file", runs).await;
    // The weeks of May 2024 (and the edges of April and June) once more.
    expect(&row, 3, 6);
    row
}

/// A two-year backfill into the Domoticz emulator (connections handled as 2025.1 does),
/// optionally down after some calls and back before the next run.
async fn domoticz(name: &'static str, down_after_calls: Option<usize>, runs: usize) -> Row {
    let mut world = World::new(vec![])
        .await
        .into_domoticz(down_after_calls)
        .await;
    let first = world.run().await;
    if down_after_calls.is_some() {
        assert!(!first.is_success());
        assert!(
            first
                .errors
                .iter()
                .any(|e| e.to_string().contains("stopped writing")),
            "{first:?}"
        );
        if let Target::Domoticz(domoticz) = &world.target {
            domoticz.0.with_state(|s| s.down = false);
        }
        world.set_now(first.next_run);
        let second = world.run().await;
        assert!(second.is_success(), "{second:?}");
    } else {
        assert!(first.is_success(), "{first:?}");
    }
    if let Target::Domoticz(domoticz) = &world.target {
        let (connections, unanswered) = domoticz.0.with_state(|s| (s.connections, s.unanswered));
        assert!(
            unanswered > 0 && connections > 1,
            "kept-alive connections were closed under the sink"
        );
    }
    let row = world.finish(name, runs).await;
    expect(&row, runs, 0);
    row
}
