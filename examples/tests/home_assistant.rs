//! The Home Assistant sink against a real Home Assistant 2025.4.4 (from PyPI, in the
//! virtual environment `.ci/run` installs and caches; `.ci/run` starts one and says where
//! in `LINKY_HA_URL`, the tests that restart it start their own with `LINKY_HA_HASS`).
//!
//! A two-year backfill of a consumer and a producer (hence a merged device), with Tempo
//! and costs, goes into Home Assistant and the memory sink at once: every hour of every
//! statistic read back equals the memory sink's rows (energy to the mWh as written, money
//! to the micro-euro), sums are continuous, both DST days have their 23 and 25 hours, a
//! second run imports nothing, a schedule change rewrites its hours with every later sum,
//! a restart in the middle of an import is completed by the next run. The Energy
//! dashboard's preferences keep what the user had.
//!
//! Without Home Assistant the tests say so and stop, unless `LINKY_REQUIRE_SERVERS` is set
//! (`.ci/run` sets it): then they fail.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use linky_core::{DashboardRow, DayRow, DeviceId, HourRow, PARIS};
use linky_domoticz::{
    ColourHourRow, CostHourRow, DeviceHandle, DeviceInfo, HomeAssistantConfig, HomeAssistantSink,
    MemorySink, MemoryState, Password, Sink, SinkError, StoredDayMismatch, SyncReport, SyncRun,
    SyncSettings,
};
use linky_enedis::ReplayServer;
use serde_json::{Value, json};

// ---- a real Home Assistant ----

/// The `hass` program of the cached virtual environment, if there is one.
fn hass_program() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("LINKY_HA_HASS") {
        return Some(PathBuf::from(path));
    }
    let home = std::env::var_os("HOME")?;
    let venv = PathBuf::from(home).join(".cache/linky-ci/ha-2025.4.4");
    venv.join(".complete")
        .exists()
        .then(|| venv.join("bin/hass"))
}

/// Whether the tests can run; panics when they must and cannot.
fn available() -> bool {
    let found = std::env::var("LINKY_HA_URL").is_ok() || hass_program().is_some();
    if !found {
        assert!(
            std::env::var_os("LINKY_REQUIRE_SERVERS").is_none(),
            "no Home Assistant: run .ci/run, which installs it"
        );
        eprintln!("no Home Assistant here: skipped (.ci/run installs it)");
    }
    found
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A Home Assistant of the test's own, with a fresh configuration, stopped when dropped.
struct OwnHomeAssistant {
    child: Option<Child>,
    folder: PathBuf,
    port: u16,
}

impl OwnHomeAssistant {
    fn start() -> OwnHomeAssistant {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let folder = std::env::temp_dir().join(format!(
            "linky-ha-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        std::fs::remove_dir_all(&folder).ok();
        std::fs::create_dir_all(&folder).unwrap();
        let port = free_port();
        std::fs::write(
            folder.join("configuration.yaml"),
            format!(
                "homeassistant:\n  name: linky-test\n  time_zone: Europe/Paris\n  latitude: 48.85\n  longitude: 2.35\n  elevation: 35\n  unit_system: metric\n  currency: EUR\n  country: FR\nhttp:\n  server_host: 127.0.0.1\n  server_port: {port}\nrecorder:\n  commit_interval: 1\nonboarding:\nenergy:\n"
            ),
        )
        .unwrap();
        let mut own = OwnHomeAssistant {
            child: None,
            folder,
            port,
        };
        own.launch();
        own
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn launch(&mut self) {
        let child = Command::new(hass_program().expect("hass"))
            .args(["--skip-pip", "-c"])
            .arg(&self.folder)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        wait_until_up(&self.url());
    }

    /// Stops it as a service manager does (SIGTERM), and waits.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            child.wait().ok();
        }
    }
}

impl Drop for OwnHomeAssistant {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
        std::fs::remove_dir_all(&self.folder).ok();
    }
}

/// Waits (a minute at most) until Home Assistant answers its onboarding page.
fn wait_until_up(url: &str) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        let ok = Command::new("curl")
            .args(["-sf", "-o", "/dev/null", &format!("{url}/api/onboarding")])
            .status()
            .is_ok_and(|status| status.success());
        if ok {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("home assistant at {url} did not start");
}

const USER: &str = "test";
const PASSWORD: &str = "test-password";

/// An access token of the owner, created by the onboarding's first step (no browser), or
/// by a login when that step is done.
async fn token(url: &str) -> String {
    let http = reqwest::Client::new();
    let client_id = format!("{url}/");
    let onboarding = http
        .post(format!("{url}/api/onboarding/users"))
        .body(
            json!({"client_id": client_id, "name": "Test", "username": USER,
                   "password": PASSWORD, "language": "fr"})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let code = if onboarding.status().is_success() {
        let answer: Value = serde_json::from_str(&onboarding.text().await.unwrap()).unwrap();
        answer["auth_code"].as_str().unwrap().to_owned()
    } else {
        let flow: Value = serde_json::from_str(
            &http
                .post(format!("{url}/auth/login_flow"))
                .body(
                    json!({"client_id": client_id, "handler": ["homeassistant", null],
                           "redirect_uri": client_id})
                    .to_string(),
                )
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        )
        .unwrap();
        let flow_id = flow["flow_id"].as_str().unwrap();
        let done: Value = serde_json::from_str(
            &http
                .post(format!("{url}/auth/login_flow/{flow_id}"))
                .body(
                    json!({"client_id": client_id, "username": USER, "password": PASSWORD})
                        .to_string(),
                )
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        )
        .unwrap();
        done["result"].as_str().unwrap().to_owned()
    };
    let answer: Value = serde_json::from_str(
        &http
            .post(format!("{url}/auth/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("client_id", client_id.as_str()),
            ])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    answer["access_token"].as_str().unwrap().to_owned()
}

/// The Home Assistant `.ci/run` started (its URL and a token), else one of the test's own.
async fn shared() -> (String, String, Option<OwnHomeAssistant>) {
    static TOKEN: tokio::sync::OnceCell<(String, String)> = tokio::sync::OnceCell::const_new();
    if let Ok(url) = std::env::var("LINKY_HA_URL") {
        let (url, token) = TOKEN
            .get_or_init(|| async { (url.clone(), token(&url).await) })
            .await
            .clone();
        return (url, token, None);
    }
    let own = OwnHomeAssistant::start();
    let token = token(&own.url()).await;
    (own.url(), token, Some(own))
}

// ---- the memory sink beside it ----

/// The first errors of a report, for a failed assertion's message.
fn errors(report: &SyncReport) -> String {
    report
        .errors()
        .take(3)
        .map(|error| error.to_string().chars().take(300).collect::<String>())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Writes to both sinks; the memory sink (taking every hour) is the reference.
struct Tee<'a> {
    memory: &'a MemorySink,
    home_assistant: &'a HomeAssistantSink,
}

fn memory_handle(handle: &DeviceHandle) -> DeviceHandle {
    DeviceHandle {
        device_id: handle.device_id.clone(),
        key: handle.device_id.to_string(),
    }
}

#[linky_domoticz::async_trait]
impl Sink for Tee<'_> {
    async fn ensure_device(&self, id: &DeviceId) -> Result<DeviceHandle, SinkError> {
        self.memory.ensure_device(id).await?;
        self.home_assistant.ensure_device(id).await
    }
    async fn describe_device(&self, d: &DeviceHandle, info: &DeviceInfo) -> Result<(), SinkError> {
        self.memory.describe_device(&memory_handle(d), info).await?;
        self.home_assistant.describe_device(d, info).await
    }
    async fn write_hours(&self, d: &DeviceHandle, rows: &[HourRow]) -> Result<(), SinkError> {
        self.memory.write_hours(&memory_handle(d), rows).await?;
        self.home_assistant.write_hours(d, rows).await
    }
    async fn write_days(&self, d: &DeviceHandle, rows: &[DayRow]) -> Result<(), SinkError> {
        self.memory.write_days(&memory_handle(d), rows).await?;
        self.home_assistant.write_days(d, rows).await
    }
    async fn write_dashboard(&self, d: &DeviceHandle, row: &DashboardRow) -> Result<(), SinkError> {
        self.memory.write_dashboard(&memory_handle(d), row).await
    }
    async fn mark_timed_out(&self, _d: &DeviceHandle) -> Result<(), SinkError> {
        Ok(())
    }
    fn keeps_all_hours(&self) -> bool {
        true
    }
    async fn write_colour_hours(
        &self,
        d: &DeviceHandle,
        rows: &[ColourHourRow],
    ) -> Result<(), SinkError> {
        self.memory
            .write_colour_hours(&memory_handle(d), rows)
            .await?;
        self.home_assistant.write_colour_hours(d, rows).await
    }
    async fn write_cost_hours(
        &self,
        d: &DeviceHandle,
        rows: &[CostHourRow],
    ) -> Result<(), SinkError> {
        self.memory
            .write_cost_hours(&memory_handle(d), rows)
            .await?;
        self.home_assistant.write_cost_hours(d, rows).await
    }
    async fn verify_days(
        &self,
        d: &DeviceHandle,
        rows: &[DayRow],
    ) -> Result<Vec<StoredDayMismatch>, SinkError> {
        self.home_assistant.verify_days(d, rows).await
    }
}

/// Tempo colours every day (red every tenth, white every seventh, else blue).
struct Colours;

#[linky_domoticz::async_trait]
impl linky_core::ColourSource for Colours {
    fn name(&self) -> &str {
        "test colours"
    }
    async fn colours(
        &self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<linky_core::ColourCalendar, linky_core::SourceError> {
        use chrono::Datelike;
        let mut calendar = linky_core::ColourCalendar::new();
        for day in from.iter_days().take_while(|d| *d < to) {
            let colour = match day.day() {
                d if d % 10 == 0 => linky_core::DayColour::Red,
                d if d % 7 == 0 => linky_core::DayColour::White,
                _ => linky_core::DayColour::Blue,
            };
            calendar.set(day, colour);
        }
        Ok(calendar)
    }
}

/// Syncs the generated two-year backfill (`seed`) through its replay into `sink`, with
/// Tempo colours and Tempo's regulated prices, by `schedule` (else the session's).
async fn sync(
    seed: u64,
    sink: &dyn Sink,
    state: &MemoryState,
    schedule: Option<&str>,
) -> SyncReport {
    sync_session(
        linky_examples::two_year_session(seed),
        sink,
        state,
        schedule,
    )
    .await
}

/// [`sync`] of any session.
async fn sync_session(
    session: linky_enedis::Session,
    sink: &dyn Sink,
    state: &MemoryState,
    schedule: Option<&str>,
) -> SyncReport {
    let info = session.replay.clone().unwrap();
    let replay = ReplayServer::start(session).await.unwrap();
    let client = replay.client().unwrap();
    let offer = linky_core::PriceBook::regulated()
        .offer("Tempo")
        .unwrap()
        .clone();
    let settings = SyncSettings::new(schedule.unwrap_or(&info.offpeak).parse().unwrap())
        .with_history(
            linky_core::HistorySettings::new(7, info.days, Default::default(), Default::default())
                .0,
        )
        .with_costs(offer, 6);
    SyncRun::new(&client, sink, state, client.clock())
        .settings(settings)
        .colour_source(&Colours)
        .spread_minutes(1)
        .retry_days(1)
        .run()
        .await
}

fn sink_for(url: &str, token: &str) -> HomeAssistantSink {
    HomeAssistantSink::new(HomeAssistantConfig::new(url, Password::new(token))).unwrap()
}

// ---- reading back ----

/// An authenticated websocket of the test's own (to read back, and to prepare cases).
struct Reader {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    id: u64,
}

impl Reader {
    async fn connect(url: &str, token: &str) -> Reader {
        use futures_util::{SinkExt, StreamExt};
        let address = format!("{}/api/websocket", url.replacen("http", "ws", 1));
        let (mut socket, _) = tokio_tungstenite::connect_async(address).await.unwrap();
        socket.next().await.unwrap().unwrap(); // auth_required
        let auth = json!({"type": "auth", "access_token": token}).to_string();
        socket
            .send(tokio_tungstenite::tungstenite::Message::text(auth))
            .await
            .unwrap();
        let answer = socket.next().await.unwrap().unwrap();
        assert!(answer.to_text().unwrap().contains("auth_ok"), "{answer}");
        Reader { socket, id: 0 }
    }

    async fn command(&mut self, mut command: Value) -> Value {
        use futures_util::{SinkExt, StreamExt};
        self.id += 1;
        command["id"] = json!(self.id);
        self.socket
            .send(tokio_tungstenite::tungstenite::Message::text(
                command.to_string(),
            ))
            .await
            .unwrap();
        loop {
            let frame = self.socket.next().await.unwrap().unwrap();
            let tokio_tungstenite::tungstenite::Message::Text(text) = frame else {
                continue; // pings
            };
            let answer: Value = serde_json::from_str(&text).unwrap();
            if answer["id"] == json!(self.id) {
                return answer;
            }
        }
    }

    /// Every hourly row of `id`: start (ms) -> (state, sum).
    async fn hours(&mut self, id: &str) -> BTreeMap<i64, (f64, f64)> {
        let answer = self
            .command(json!({
                "type": "recorder/statistics_during_period",
                "start_time": "2000-01-01T00:00:00Z",
                "statistic_ids": [id],
                "period": "hour",
                "types": ["state", "sum"],
            }))
            .await;
        assert_eq!(answer["success"], true, "{answer}");
        answer["result"][id]
            .as_array()
            .into_iter()
            .flatten()
            .map(|row| {
                (
                    row["start"].as_i64().unwrap(),
                    (row["state"].as_f64().unwrap(), row["sum"].as_f64().unwrap()),
                )
            })
            .collect()
    }
}

fn mwh(energy: linky_core::Energy) -> i64 {
    let minutes = energy.milliwatt_minutes();
    (minutes.abs() + 30) / 60 * minutes.signum()
}

fn micro(money: linky_core::Money) -> i64 {
    let per = linky_core::MONEY_UNITS_PER_EURO / 1_000_000;
    ((money.units().abs() + per / 2) / per * money.units().signum()) as i64
}

/// What each statistic must hold, from the memory sink's rows: id -> start -> integer
/// units (mWh or micro-euros).
fn expected(memory: &MemorySink) -> BTreeMap<String, (f64, BTreeMap<i64, i64>)> {
    let mut all: BTreeMap<String, (f64, BTreeMap<i64, i64>)> = BTreeMap::new();
    let mut put = |id: String, scale: f64, start: DateTime<Utc>, value: i64| {
        all.entry(id)
            .or_insert((scale, BTreeMap::new()))
            .1
            .insert(start.timestamp_millis() - 3_600_000, value);
    };
    for key in memory.device_ids() {
        let device = memory.device(&key).unwrap();
        let slug = key.parse::<DeviceId>().unwrap().slug();
        let info = device.info.clone().unwrap();
        let id = |what: &str| format!("linky:{slug}_{what}");
        for (end, energies) in &device.hours {
            for (flow, pair, shown) in [
                ("consumption", energies.consumption, info.consumption),
                ("production", energies.production, info.production),
            ] {
                if !shown {
                    continue;
                }
                if info.two_tariffs {
                    put(id(&format!("{flow}_hp")), 1e3, *end, mwh(pair[0]));
                    put(id(&format!("{flow}_hc")), 1e3, *end, mwh(pair[1]));
                } else {
                    put(id(flow), 1e3, *end, mwh(pair[0] + pair[1]));
                }
            }
        }
        let classes = [
            "blue_hp", "blue_hc", "white_hp", "white_hc", "red_hp", "red_hc",
        ];
        for (end, energies) in &device.colour_hours {
            for (class, energy) in classes.iter().zip(energies) {
                put(id(&format!("tempo_{class}")), 1e3, *end, mwh(*energy));
            }
        }
        for (end, row) in &device.cost_hours {
            put(id("cost"), 1e6, *end, micro(row.total()));
            for (class, money) in classes.iter().zip(&row.classes) {
                put(id(&format!("cost_tempo_{class}")), 1e6, *end, micro(*money));
            }
        }
    }
    all
}

/// Every hour of every statistic as Home Assistant holds it equals `expected`, and each
/// sum is the previous one plus the hour (from `base`, the sum before the first hour).
async fn check_every_hour(
    reader: &mut Reader,
    expected: &BTreeMap<String, (f64, BTreeMap<i64, i64>)>,
) -> usize {
    let mut checked = 0;
    for (id, (scale, hours)) in expected {
        let held = reader.hours(id).await;
        let units = |value: f64| (value * scale).round() as i64;
        let mut previous: Option<i64> = None;
        for (start, (state, sum)) in &held {
            if let Some(previous) = previous {
                assert_eq!(
                    units(*sum),
                    previous + units(*state),
                    "{id} at {start}: the sum is continuous"
                );
            }
            previous = Some(units(*sum));
        }
        // Every hour: its row, or no row for an hour without energy (the same to Home
        // Assistant, whose change comes from the closest earlier row).
        for (start, value) in hours {
            let state = held.get(start).map_or(0, |(state, _)| units(*state));
            assert_eq!(state, *value, "{id} at {start}");
            checked += 1;
        }
        // And no row that the hours do not have.
        for start in held.keys() {
            assert!(
                hours.contains_key(start),
                "{id}: a row at {start} of no hour"
            );
        }
    }
    checked
}

// ---- the tests ----

/// Two years of every hour of the three devices, Tempo's six classes and costs, into a
/// real Home Assistant: every hour equal, sums continuous, both DST days right, a second
/// run imports nothing, a schedule change rewrites its hours and every later sum.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_years_of_statistics_read_back_exactly_and_a_second_run_imports_nothing() {
    if !available() {
        return;
    }
    let (url, token, _own) = shared().await;
    // The sink's own share of the time: the same run into the stand-in, which holds each
    // import at once.
    let emulator = linky_domoticz::HomeAssistantEmulator::start("2025.4.4").await;
    let stand_in = sink_for(&emulator.url(), &emulator.token());
    let started = Instant::now();
    let report = sync(3, &stand_in, &MemoryState::new(), None).await;
    assert!(report.is_success(), "{}", errors(&report));
    let own_share = started.elapsed();
    let memory = MemorySink::new();
    let home_assistant = sink_for(&url, &token);
    let tee = Tee {
        memory: &memory,
        home_assistant: &home_assistant,
    };
    let state = MemoryState::new();
    let started = Instant::now();
    let first = sync(3, &tee, &state, None).await;
    let elapsed = started.elapsed();
    assert!(first.is_success(), "{}", errors(&first));
    let imported = home_assistant.imported_rows();
    println!(
        "two years of hourly statistics of three devices ({imported} rows, every class, Tempo and costs) \
         imported into Home Assistant {} in {:.1} s (target 20 s); the same run into the stand-in: \
         {:.1} s (the sink's own work, the rest is Home Assistant's recorder: {:.0} rows/s)",
        home_assistant.version().await.unwrap(),
        elapsed.as_secs_f64(),
        own_share.as_secs_f64(),
        imported as f64 / (elapsed - own_share).as_secs_f64()
    );
    let expected = expected(&memory);
    // Consumer: 2 + 6 Tempo + 7 costs; producer: 2; merged: 4.
    assert_eq!(
        expected.len(),
        21,
        "{:?}",
        expected.keys().collect::<Vec<_>>()
    );
    let mut reader = Reader::connect(&url, &token).await;
    let checked = check_every_hour(&mut reader, &expected).await;
    assert!(checked > 300_000, "{checked}");
    // Both DST days: 25 and 23 hours of consumption (each in its peak or off-peak row).
    let mut held = BTreeMap::new();
    for class in ["hp", "hc"] {
        let id = format!("linky:{}_consumption_{class}", linky_examples::CONSUMER);
        held.extend(reader.hours(&id).await);
    }
    let per_day = |date: &str| {
        held.keys()
            .filter(|start| {
                DateTime::<Utc>::from_timestamp_millis(**start)
                    .unwrap()
                    .with_timezone(&PARIS)
                    .date_naive()
                    .to_string()
                    == date
            })
            .count()
    };
    assert_eq!((per_day("2024-10-27"), per_day("2024-03-31")), (25, 23));
    // Nothing changed: nothing imported, nothing different.
    drop(reader);
    let second = sync(3, &tee, &state, None).await;
    assert!(second.is_success(), "{}", errors(&second));
    assert_eq!(
        home_assistant.imported_rows(),
        imported,
        "a second run imports nothing"
    );
    // Other off-peak hours: the peak and off-peak series change, rewritten with every
    // later sum; Tempo's do not.
    let third = sync(3, &tee, &state, Some("1h00-7h00 13h00-15h00")).await;
    assert!(third.is_success(), "{}", errors(&third));
    assert!(home_assistant.imported_rows() > imported);
    let changed = expected_changed(&expected, &self::expected(&memory));
    assert!(
        changed.iter().any(|id| id.ends_with("_consumption_hp")),
        "{changed:?}"
    );
    assert!(
        !changed.iter().any(|id| id.contains("_tempo_")),
        "{changed:?}"
    );
    let mut reader = Reader::connect(&url, &token).await;
    check_every_hour(&mut reader, &self::expected(&memory)).await;
}

/// The ids whose hours differ between `before` and `after`.
fn expected_changed(
    before: &BTreeMap<String, (f64, BTreeMap<i64, i64>)>,
    after: &BTreeMap<String, (f64, BTreeMap<i64, i64>)>,
) -> Vec<String> {
    after
        .iter()
        .filter(|(id, (_, hours))| before.get(*id).map(|(_, h)| h) != Some(hours))
        .map(|(id, _)| id.clone())
        .collect()
}

/// Home Assistant restarted (SIGTERM, as a service manager does) while the first run
/// imports: the run fails with a retry; the next one completes every series, the sums
/// continuous and nothing counted twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_in_the_middle_of_an_import_is_completed_by_the_next_run() {
    if !available() || hass_program().is_none() {
        return;
    }
    let mut own = OwnHomeAssistant::start();
    let url = own.url();
    let token = token(&url).await;
    let memory = MemorySink::new();
    let home_assistant = std::sync::Arc::new(sink_for(&url, &token));
    let state = MemoryState::new();
    let first = {
        let tee = Tee {
            memory: &memory,
            home_assistant: &home_assistant,
        };
        let run = sync(4, &tee, &state, None);
        tokio::pin!(run);
        // Stop it once imports are under way.
        loop {
            tokio::select! {
                report = &mut run => break report,
                () = tokio::time::sleep(Duration::from_millis(20)) => {
                    if home_assistant.imported_rows() > 20_000 && own.child.is_some() {
                        own.stop();
                    }
                }
            }
        }
    };
    assert!(!first.is_success(), "the restart was not in the middle");
    assert!(
        first.errors().all(linky_domoticz::SyncError::is_retryable),
        "{}",
        errors(&first)
    );
    own.launch();
    let token = self::token(&url).await;
    let home_assistant = sink_for(&url, &token);
    let tee = Tee {
        memory: &memory,
        home_assistant: &home_assistant,
    };
    let second = sync(4, &tee, &state, None).await;
    assert!(second.is_success(), "{}", errors(&second));
    let mut reader = Reader::connect(&url, &token).await;
    check_every_hour(&mut reader, &expected(&memory)).await;
}

/// A wrong token is refused with a clear error and nothing is written; a statistic that
/// exists in another unit is named, and left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_and_a_statistic_in_another_unit_are_clear_errors() {
    if !available() {
        return;
    }
    let (url, token, _own) = shared().await;
    let wrong = sink_for(&url, "not-a-token");
    let error = wrong
        .ensure_device(&linky_examples::CONSUMER.parse().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(error, SinkError::Unauthorized { .. }), "{error}");
    assert!(
        error.to_string().contains("long-lived access token"),
        "{error}"
    );
    // The consumer's peak series, made first in kWh by someone else.
    let device: DeviceId = "22222222222222".parse().unwrap();
    let id = format!("linky:{}_consumption_hp", device.slug());
    let mut reader = Reader::connect(&url, &token).await;
    let made = reader
        .command(json!({
            "type": "recorder/import_statistics",
            "metadata": {"has_mean": false, "has_sum": true, "name": "mine", "source": "linky",
                         "statistic_id": id, "unit_of_measurement": "kWh"},
            "stats": [{"start": "2024-06-01T10:00:00Z", "state": 1.0, "sum": 1.0}],
        }))
        .await;
    assert_eq!(made["success"], true, "{made}");
    let sink = sink_for(&url, &token);
    let handle = sink.ensure_device(&device).await.unwrap();
    sink.describe_device(&handle, &DeviceInfo::new(true, true, false))
        .await
        .unwrap();
    let row = HourRow {
        end_utc: "2024-06-01T12:00:00Z".parse().unwrap(),
        end: "2024-06-01T14:00:00".parse().unwrap(),
        energies: Default::default(),
    };
    // The recorder holds the statistic made above once its queue reaches it: behind the
    // two years another test imports into the same Home Assistant (a minute or more in
    // CI), so wait for its metadata first.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let held = reader
            .command(json!({"type": "recorder/get_statistics_metadata", "statistic_ids": [id]}))
            .await;
        if held["result"]
            .as_array()
            .is_some_and(|found| !found.is_empty())
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the recorder never held {id}: {held}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let error = loop {
        match sink.write_hours(&handle, std::slice::from_ref(&row)).await {
            Err(error) => break error,
            Ok(()) => {
                assert!(Instant::now() < deadline, "the unit was never checked");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    assert!(matches!(error, SinkError::Config { .. }), "{error}");
    assert!(
        error.to_string().contains(&id) && error.to_string().contains("kWh"),
        "{error}"
    );
}

/// The Energy dashboard gets a device's consumption per class with their costs and its
/// production, beside the sources the user already has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_energy_dashboard_gets_the_statistics_and_keeps_the_users_sources() {
    if !available() || hass_program().is_none() {
        return;
    }
    // A Home Assistant of its own: the shared one gets the same devices' two years.
    let own = OwnHomeAssistant::start();
    let url = own.url();
    let token = token(&url).await;
    let mut reader = Reader::connect(&url, &token).await;
    // A gas source the user has: kept.
    let gas = json!({"type": "gas", "stat_energy_from": "sensor.gas_meter", "stat_cost": null,
                     "entity_energy_price": null, "number_energy_price": null});
    let saved = reader
        .command(json!({"type": "energy/save_prefs", "energy_sources": [gas]}))
        .await;
    assert_eq!(saved["success"], true, "{saved}");
    let memory = MemorySink::new();
    let home_assistant = sink_for(&url, &token);
    let tee = Tee {
        memory: &memory,
        home_assistant: &home_assistant,
    };
    // The bundled main session: a week of a consumer and a producer.
    let report = sync_session(
        linky_examples::main_session(),
        &tee,
        &MemoryState::new(),
        None,
    )
    .await;
    assert!(report.is_success(), "{}", errors(&report));
    let consumer: DeviceId = linky_examples::CONSUMER.parse().unwrap();
    let change = home_assistant
        .add_to_energy_dashboard(&consumer)
        .await
        .unwrap();
    assert_eq!(change.consumption.len(), 6, "{change:?}");
    assert!(
        change.consumption.iter().all(|(_, cost)| cost.is_some()),
        "{change:?}"
    );
    // Again: nothing more.
    let again = home_assistant
        .add_to_energy_dashboard(&consumer)
        .await
        .unwrap();
    assert!(again.is_empty() && again.already.len() == 6, "{again:?}");
    let producer: DeviceId = linky_examples::PRODUCER.parse().unwrap();
    let production = home_assistant
        .add_to_energy_dashboard(&producer)
        .await
        .unwrap();
    assert_eq!(production.production.len(), 2, "{production:?}");
    let prefs = reader.command(json!({"type": "energy/get_prefs"})).await;
    let sources = prefs["result"]["energy_sources"]
        .as_array()
        .unwrap()
        .clone();
    assert!(sources.iter().any(|s| s["type"] == "gas"), "{prefs}");
    let grid = sources.iter().find(|s| s["type"] == "grid").unwrap();
    assert_eq!(grid["flow_from"].as_array().unwrap().len(), 6, "{grid}");
    assert_eq!(grid["flow_to"].as_array().unwrap().len(), 2, "{grid}");
    let validate = reader.command(json!({"type": "energy/validate"})).await;
    assert_eq!(validate["success"], true, "{validate}");
}
