//! The line-protocol sink against real servers: VictoriaMetrics and InfluxDB 1.x, from
//! Debian's packages (`.ci/run` installs them, starts one VictoriaMetrics and says so in
//! `LINKY_VICTORIA_URL`; the tests that stop and restart a server start their own).
//!
//! A bundled session is synced into the memory sink and the server at once; every hour
//! and every day is read back through the server's own query API and compared with the
//! memory sink's rows, exactly. A second run doubles nothing; a server down mid-sync, then
//! back, ends with every point once; a refused point says why; points a server drops
//! while answering OK are found by the read-back. Tempo's counters, daily costs and day
//! colours are read back the same way.
//!
//! Without the servers' programs the tests say so and stop, unless
//! `LINKY_REQUIRE_SERVERS` is set (`.ci/run` sets it): then they fail.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use linky_core::{
    Clock, DashboardRow, DayRow, DeviceId, HourRow, ManualClock, MeterEnergies, PARIS, RetryPolicy,
};
use linky_domoticz::{
    DeviceHandle, LineProtocolConfig, LineProtocolServer, LineProtocolSink, MemorySink,
    MemoryState, Sink, SinkError, StateStore, StoredDayMismatch, SyncReport, SyncRun, SyncSettings,
};
use linky_enedis::{ReplayServer, Session};
use serde_json::Value;

/// A server process of the tests' own, on a free port, stopped when dropped.
struct Server {
    child: Option<Child>,
    url: String,
    folder: PathBuf,
    kind: Kind,
    port: u16,
    /// Extra arguments (VictoriaMetrics' retention).
    retention: &'static str,
    /// InfluxDB with authentication on (its first user is created without).
    auth: bool,
    /// VictoriaMetrics with `-dedup.minScrapeInterval=1ms` (the README's flags).
    dedup: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Victoria,
    Influx,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn program(kind: Kind) -> &'static str {
    match kind {
        Kind::Victoria => "victoria-metrics",
        Kind::Influx => "influxd",
    }
}

/// Whether `kind`'s program is installed; when it is not, says so, and fails when the
/// servers are required.
fn available(kind: Kind) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {}", program(kind)))
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("LINKY_REQUIRE_SERVERS").is_none(),
            "{} is required (Debian package victoria-metrics / influxdb)",
            program(kind)
        );
        eprintln!(
            "skipped: {} is not installed (.ci/run installs it)",
            program(kind)
        );
    }
    found
}

impl Server {
    /// Starts `kind` with a throwaway folder; VictoriaMetrics with `retention`.
    fn start(kind: Kind, retention: &'static str) -> Server {
        Server::start_as(kind, retention, false)
    }

    /// InfluxDB with authentication on, and an admin (`admin`, `admin-password`).
    fn start_with_auth() -> Server {
        let server = Server::start_as(Kind::Influx, "", true);
        let query = "CREATE USER admin WITH PASSWORD 'admin-password' WITH ALL PRIVILEGES";
        let status = std::process::Command::new("curl")
            .args([
                "-sf",
                "-XPOST",
                &format!("{}/query", server.url),
                "--data-urlencode",
            ])
            .arg(format!("q={query}"))
            .status()
            .unwrap();
        assert!(status.success(), "the first user could not be created");
        server
    }

    fn start_as(kind: Kind, retention: &'static str, auth: bool) -> Server {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let folder = std::env::temp_dir().join(format!(
            "linky-{}-{}-{}",
            program(kind),
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        std::fs::remove_dir_all(&folder).ok();
        std::fs::create_dir_all(&folder).unwrap();
        // A free port can be taken by another test's server between its choice and the
        // launch: a server that exits or does not answer is launched again on other ports.
        let mut server = Server {
            child: None,
            url: String::new(),
            folder,
            kind,
            port: 0,
            retention,
            auth,
            dedup: true,
        };
        for attempt in 1..=3 {
            server.port = free_port();
            server.url = format!("http://127.0.0.1:{}", server.port);
            match server.try_launch() {
                Ok(()) => return server,
                Err(error) if attempt < 3 => eprintln!("{error}; launched again"),
                Err(error) => panic!("{error}"),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// Launches the server on its port; panics if it does not answer.
    fn launch(&mut self) {
        if let Err(error) = self.try_launch() {
            panic!("{error}");
        }
    }

    fn try_launch(&mut self) -> Result<(), String> {
        let mut command = Command::new(program(self.kind));
        match self.kind {
            Kind::Victoria => {
                command.args([
                    format!("-storageDataPath={}", self.folder.join("data").display()),
                    format!("-httpListenAddr=127.0.0.1:{}", self.port),
                    format!("-retentionPeriod={}", self.retention),
                ]);
                if self.dedup {
                    command.arg("-dedup.minScrapeInterval=1ms");
                }
            }
            Kind::Influx => {
                let config = self.folder.join("influxdb.conf");
                let dir = self.folder.display();
                std::fs::write(
                    &config,
                    format!(
                        "reporting-disabled = true\nbind-address = \"127.0.0.1:{}\"\n[meta]\n  dir = \"{dir}/meta\"\n[data]\n  dir = \"{dir}/data\"\n  wal-dir = \"{dir}/wal\"\n  query-log-enabled = false\n[http]\n  bind-address = \"127.0.0.1:{}\"\n  log-enabled = false\n  auth-enabled = {}\n[monitor]\n  store-enabled = false\n",
                        free_port(),
                        self.port,
                        self.auth
                    ),
                )
                .unwrap();
                command.arg("-config").arg(&config);
            }
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let ping = match self.kind {
            Kind::Victoria => "/health",
            Kind::Influx => "/ping",
        };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(response) = ping::blocking_get(&format!("{}{ping}", self.url))
                && response < 300
            {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                self.child = None;
                return Err(format!(
                    "{} exited ({status}) on port {}",
                    program(self.kind),
                    self.port
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.stop();
        Err(format!(
            "{} did not answer on port {} in 30 s",
            program(self.kind),
            self.port
        ))
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        std::fs::remove_dir_all(&self.folder).ok();
    }
}

/// A blocking GET's status, without an HTTP client of its own: the tests' runtime is
/// async, and this runs before it.
mod ping {
    pub fn blocking_get(url: &str) -> std::io::Result<u16> {
        use std::io::{Read, Write};
        let rest = url.strip_prefix("http://").unwrap_or(url);
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let mut stream = std::net::TcpStream::connect(host)?;
        stream.set_read_timeout(Some(std::time::Duration::from_secs(2)))?;
        write!(
            stream,
            "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok();
        answer
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| std::io::Error::other("no status"))
    }
}

/// The VictoriaMetrics `.ci/run` started (`LINKY_VICTORIA_URL`), else one of the test's
/// own (kept running while the second value lives), else none: the program is missing.
fn shared_victoria() -> Option<(String, Option<Server>)> {
    match std::env::var("LINKY_VICTORIA_URL") {
        Ok(url) => Some((url, None)),
        Err(_) if available(Kind::Victoria) => {
            let own = Server::start(Kind::Victoria, "100y");
            Some((own.url.clone(), Some(own)))
        }
        Err(_) => None,
    }
}

fn quick_retries() -> RetryPolicy {
    RetryPolicy::new(Duration::from_millis(50), Duration::from_millis(200), 3)
}

fn config(url: &str, kind: Kind, prefix: &str) -> LineProtocolConfig {
    let server = match kind {
        Kind::Victoria => LineProtocolServer::VictoriaMetrics,
        Kind::Influx => LineProtocolServer::InfluxV1 {
            database: "linky".to_owned(),
            credentials: None,
        },
    };
    LineProtocolConfig::new(url, server)
        .with_measurement_prefix(prefix)
        .with_retry(quick_retries())
}

/// How many more day writes, then what to do.
type Countdown<'a> = (usize, Box<dyn FnMut() + Send + 'a>);

/// Writes to both sinks: the memory sink is the reference.
struct Tee<'a> {
    memory: &'a MemorySink,
    server: &'a LineProtocolSink,
    /// Before this many more day writes to the server, call `before_write`.
    countdown: std::sync::Mutex<Option<Countdown<'a>>>,
}

#[linky_domoticz::async_trait]
impl Sink for Tee<'_> {
    async fn ensure_device(&self, id: &DeviceId) -> Result<DeviceHandle, SinkError> {
        self.memory.ensure_device(id).await?;
        self.server.ensure_device(id).await
    }
    async fn write_hours(&self, d: &DeviceHandle, rows: &[HourRow]) -> Result<(), SinkError> {
        self.memory.write_hours(&memory_handle(d), rows).await?;
        self.server.write_hours(d, rows).await
    }
    async fn write_days(&self, d: &DeviceHandle, rows: &[DayRow]) -> Result<(), SinkError> {
        if let Ok(mut countdown) = self.countdown.lock()
            && let Some((left, action)) = countdown.as_mut()
        {
            *left -= 1;
            if *left == 0 {
                action();
                *countdown = None;
            }
        }
        self.memory.write_days(&memory_handle(d), rows).await?;
        self.server.write_days(d, rows).await
    }
    async fn write_dashboard(&self, d: &DeviceHandle, row: &DashboardRow) -> Result<(), SinkError> {
        self.memory.write_dashboard(&memory_handle(d), row).await?;
        self.server.write_dashboard(d, row).await
    }
    async fn mark_timed_out(&self, d: &DeviceHandle) -> Result<(), SinkError> {
        self.server.mark_timed_out(d).await
    }
    fn keeps_all_hours(&self) -> bool {
        true
    }
    async fn write_colour_days(
        &self,
        d: &DeviceHandle,
        rows: &[linky_domoticz::ColourDayRow],
    ) -> Result<(), SinkError> {
        self.memory
            .write_colour_days(&memory_handle(d), rows)
            .await?;
        self.server.write_colour_days(d, rows).await
    }
    async fn write_cost_days(
        &self,
        d: &DeviceHandle,
        rows: &[linky_domoticz::CostDayRow],
    ) -> Result<(), SinkError> {
        self.memory.write_cost_days(&memory_handle(d), rows).await?;
        self.server.write_cost_days(d, rows).await
    }
    async fn write_colour_forecast(
        &self,
        forecast: &linky_domoticz::ColourForecast,
    ) -> Result<(), SinkError> {
        self.memory.write_colour_forecast(forecast).await?;
        self.server.write_colour_forecast(forecast).await
    }
    async fn verify_days(
        &self,
        d: &DeviceHandle,
        rows: &[DayRow],
    ) -> Result<Vec<StoredDayMismatch>, SinkError> {
        self.server.verify_days(d, rows).await
    }
}

/// The memory sink, taking every hour.
struct AllHours<'a>(&'a MemorySink);

#[linky_domoticz::async_trait]
impl Sink for AllHours<'_> {
    async fn ensure_device(&self, id: &DeviceId) -> Result<DeviceHandle, SinkError> {
        self.0.ensure_device(id).await
    }
    async fn write_hours(&self, d: &DeviceHandle, rows: &[HourRow]) -> Result<(), SinkError> {
        self.0.write_hours(d, rows).await
    }
    async fn write_days(&self, d: &DeviceHandle, rows: &[DayRow]) -> Result<(), SinkError> {
        self.0.write_days(d, rows).await
    }
    async fn write_dashboard(&self, d: &DeviceHandle, row: &DashboardRow) -> Result<(), SinkError> {
        self.0.write_dashboard(d, row).await
    }
    async fn mark_timed_out(&self, d: &DeviceHandle) -> Result<(), SinkError> {
        self.0.mark_timed_out(d).await
    }
    fn keeps_all_hours(&self) -> bool {
        true
    }
}

/// The memory sink keys devices by their printed id.
fn memory_handle(handle: &DeviceHandle) -> DeviceHandle {
    DeviceHandle {
        device_id: handle.device_id.clone(),
        key: handle.device_id.to_string(),
    }
}

fn bundled() -> Session {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/sessions/replay-main.json");
    Session::from_json(&std::fs::read(path).unwrap()).unwrap()
}

/// Syncs `session` through its replay into `sink`, with `state`.
async fn sync(
    session: Session,
    sink: &dyn Sink,
    state: &dyn StateStore,
    at: Option<&ManualClock>,
) -> SyncReport {
    sync_with_schedule(session, sink, state, at, None).await
}

/// [`sync`] with another off-peak schedule than the session's.
async fn sync_with_schedule(
    session: Session,
    sink: &dyn Sink,
    state: &dyn StateStore,
    at: Option<&ManualClock>,
    schedule: Option<&str>,
) -> SyncReport {
    let info = session.replay.clone().unwrap();
    let replay = ReplayServer::start(session).await.unwrap();
    let client = replay.client().unwrap();
    let clock: &dyn Clock = match at {
        Some(clock) => clock,
        None => client.clock(),
    };
    let schedule = schedule.unwrap_or(&info.offpeak);
    let settings = SyncSettings::new(schedule.parse().unwrap()).with_history(
        linky_core::HistorySettings::new(
            info.hours_days,
            info.days,
            Default::default(),
            Default::default(),
        )
        .0,
    );
    SyncRun::new(&client, sink, state, clock)
        .settings(settings)
        .spread_minutes(1)
        .retry_days(1)
        .run()
        .await
}

/// Every point the server holds, by (device slug, period, flow, class, start instant in
/// ms): milliwatt-minutes.
type Points = BTreeMap<(String, String, String, String, i64), i64>;

async fn read_back(url: &str, kind: Kind, prefix: &str) -> Points {
    let tags = ["device", "period", "flow", "class"];
    read_series(url, kind, &format!("{prefix}_energy"), "mwmin", &tags)
        .await
        .into_iter()
        .map(|((tags, time), value)| {
            let mut tags = tags.split('/').map(str::to_owned);
            let mut tag = || tags.next().unwrap();
            ((tag(), tag(), tag(), tag(), time), value)
        })
        .collect()
}

/// The points the memory sink's rows make.
fn expected(memory: &MemorySink) -> Points {
    let mut points = Points::new();
    for id in memory.device_ids() {
        let device = memory.device(&id).unwrap();
        let slug = id.parse::<DeviceId>().unwrap().slug();
        let mut add = |period: &str, start_ms: i64, energies: &MeterEnergies| {
            for (flow, pair) in [
                ("consumption", energies.consumption),
                ("production", energies.production),
            ] {
                for (class, energy) in [("peak", pair[0]), ("offpeak", pair[1])] {
                    points.insert(
                        (
                            slug.clone(),
                            period.to_owned(),
                            flow.to_owned(),
                            class.to_owned(),
                            start_ms,
                        ),
                        energy.milliwatt_minutes(),
                    );
                }
            }
        };
        for (end, energies) in &device.hours {
            add("hour", end.timestamp_millis() - 3_600_000, energies);
        }
        for (date, energies) in &device.days {
            let start = date
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_local_timezone(PARIS)
                .earliest()
                .unwrap();
            add("day", start.timestamp_millis(), energies);
        }
    }
    points
}

/// The bundled main session into the memory sink and a server at once: every hour and
/// day read back equals the memory sink's, exactly; a second run doubles nothing.
async fn same_points_as_memory(url: &str, kind: Kind, prefix: &str) {
    let memory = MemorySink::new();
    let server = LineProtocolSink::new(config(url, kind, prefix)).unwrap();
    let tee = Tee {
        memory: &memory,
        server: &server,
        countdown: std::sync::Mutex::new(None),
    };
    let state = MemoryState::new();
    let report = sync(bundled(), &tee, &state, None).await;
    assert!(report.is_success(), "{report:?}");
    let expected = expected(&memory);
    // Three devices, four series, a week of days and every one of their hours (a
    // time-series sink keeps them all, the newest day's last, ending at today's midnight,
    // included).
    assert_eq!(expected.len(), 3 * 4 * (7 * 24 + 7));
    let stored = read_back(url, kind, prefix).await;
    assert_eq!(stored, expected, "{kind:?}");
    // As the server holds them, each day's hours add up to the day, the newest included
    // (issue 18: its last hour came only with the next run).
    let mut hours_by_day: BTreeMap<(String, String, String, chrono::NaiveDate), i64> =
        BTreeMap::new();
    let mut days = BTreeMap::new();
    for ((device, period, flow, class, start_ms), value) in &stored {
        let start = chrono::DateTime::from_timestamp_millis(*start_ms)
            .unwrap()
            .with_timezone(&PARIS)
            .date_naive();
        let key = (device.clone(), flow.clone(), class.clone(), start);
        match period.as_str() {
            "hour" => *hours_by_day.entry(key).or_default() += value,
            _ => {
                days.insert(key, *value);
            }
        }
    }
    assert_eq!(days.len(), 3 * 4 * 7);
    assert_eq!(hours_by_day, days, "{kind:?}: hours against days");
    // The same rows again: the same points, none doubled.
    let again = sync(bundled(), &tee, &state, None).await;
    assert!(again.is_success(), "{again:?}");
    assert_eq!(
        read_back(url, kind, prefix).await,
        expected,
        "{kind:?} after a second run"
    );
}

#[tokio::test]
async fn victoria_metrics_holds_every_hour_and_day_exactly_once() {
    let Some((url, _own)) = shared_victoria() else {
        return;
    };
    same_points_as_memory(&url, Kind::Victoria, "t1").await;
}

#[tokio::test]
async fn influxdb_holds_every_hour_and_day_exactly_once_and_says_why_it_refuses_a_point() {
    if !available(Kind::Influx) {
        return;
    }
    let server = Server::start(Kind::Influx, "");
    same_points_as_memory(&server.url, Kind::Influx, "t2").await;

    // A field the database already holds as text in one shard (InfluxDB types fields per
    // shard, a week here): the points of that week are refused, the others kept, batch
    // after batch; the error says how many of each, as InfluxDB counted them (issue 18:
    // "rejected 5000 point(s)" while InfluxDB kept most, and the other batches skipped).
    let http = reqwest::Client::new();
    let status = http
        .post(format!("{}/write?db=linky", server.url))
        .body("t3_energy,device=1 mwmin=\"text\" 1717192800000000000")
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success());
    let sink = LineProtocolSink::new(config(&server.url, Kind::Influx, "t3").with_batch_lines(10))
        .unwrap();
    let device = sink
        .ensure_device(&"22516914714270".parse().unwrap())
        .await
        .unwrap();
    let first = chrono::NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
    let rows: Vec<DayRow> = first
        .iter_days()
        .take(21)
        .map(|date| DayRow {
            date,
            totals: MeterEnergies::default(),
            hours_with_data: 24,
            peak: None,
        })
        .collect();
    let error = sink.write_days(&device, &rows).await.unwrap_err();
    let SinkError::PartlyWritten { kept, refused, .. } = &error else {
        panic!("{error}");
    };
    let message = error.to_string();
    assert!(message.contains("field type conflict"), "{message}");
    assert_eq!(kept + refused, 21 * 4, "{message}");
    assert!(*refused > 0 && *kept > *refused, "{message}");
    let count: Value = http
        .get(format!("{}/query", server.url))
        .query(&[
            ("db", "linky"),
            (
                "q",
                "SELECT count(wh) FROM t3_energy WHERE device = '22516914714270'",
            ),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|text| serde_json::from_str(&text).unwrap())
        .unwrap();
    assert_eq!(
        count["results"][0]["series"][0]["values"][0][1].as_u64(),
        Some(*kept as u64),
        "InfluxDB holds what the error says it kept: {count}"
    );
    // The sink goes on: another device's rows in a week without conflict are written.
    let other = sink
        .ensure_device(&"10284856584123".parse().unwrap())
        .await
        .unwrap();
    sink.write_days(&other, &rows[14..]).await.unwrap();
}

/// A user with every right on an existing database, but not admin, writes without
/// `CREATE DATABASE`; a missing database it may not create, and a wrong password, are two
/// different errors that say so (issue 18).
#[tokio::test]
async fn influxdb_users_who_are_not_admins_write_to_their_database() {
    if !available(Kind::Influx) {
        return;
    }
    let server = Server::start_with_auth();
    let http = reqwest::Client::new();
    for query in [
        "CREATE DATABASE linky",
        "CREATE USER writer WITH PASSWORD 'writer-password'",
        "GRANT ALL ON linky TO writer",
    ] {
        let response = http
            .post(format!("{}/query", server.url))
            .basic_auth("admin", Some("admin-password"))
            .query(&[("q", query)])
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{query}");
    }
    // The grant reaches the writer's view of the databases a moment later under load
    // (seen once in a few dozen runs): wait until the writer sees its database.
    let started = Instant::now();
    loop {
        let listed = http
            .get(format!("{}/query", server.url))
            .basic_auth("writer", Some("writer-password"))
            .query(&[("q", "SHOW DATABASES")])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if listed.contains("\"linky\"") || started.elapsed() > Duration::from_secs(10) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sink_as = |database: &str, password: &str| {
        LineProtocolSink::new(
            LineProtocolConfig::new(
                &server.url,
                LineProtocolServer::InfluxV1 {
                    database: database.to_owned(),
                    credentials: Some((
                        "writer".to_owned(),
                        linky_domoticz::Password::new(password),
                    )),
                },
            )
            .with_measurement_prefix("t7")
            .with_retry(quick_retries()),
        )
        .unwrap()
    };
    let row = DayRow {
        date: chrono::NaiveDate::from_ymd_opt(2024, 6, 1).unwrap(),
        totals: MeterEnergies::default(),
        hours_with_data: 24,
        peak: None,
    };
    let id: DeviceId = "22516914714270".parse().unwrap();
    // Its own database: written and read back.
    let sink = sink_as("linky", "writer-password");
    let device = sink.ensure_device(&id).await.unwrap();
    sink.write_days(&device, std::slice::from_ref(&row))
        .await
        .unwrap();
    assert!(
        sink.verify_days(&device, std::slice::from_ref(&row))
            .await
            .unwrap()
            .is_empty()
    );
    // A database that does not exist: it may not create it, and the error says so.
    let error = sink_as("elsewhere", "writer-password")
        .ensure_device(&id)
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, SinkError::Config { .. }), "{message}");
    assert!(message.contains("does not exist"), "{message}");
    assert!(message.contains("admin"), "{message}");
    // A wrong password: the credentials are refused.
    let error = sink_as("linky", "wrong")
        .ensure_device(&id)
        .await
        .unwrap_err();
    assert!(matches!(error, SinkError::Unauthorized { .. }), "{error}");
    assert!(
        error.to_string().contains("authorization failed"),
        "{error}"
    );
}

/// A number VictoriaMetrics says about itself on `/metrics` (summed over its labels).
async fn victoria_metric(url: &str, name: &str) -> f64 {
    let text = reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|line| line.starts_with(name) && line[name.len()..].starts_with([' ', '{']))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Merges VictoriaMetrics' partitions of `prefix` (`YYYY_MM`) and waits for the merge to
/// end: the point where a rewritten value used to flip back to an old one.
async fn force_merge(url: &str, prefix: &str) {
    let merges = |url: String| async move { victoria_metric(&url, "vm_merges_total").await };
    let before = merges(url.to_owned()).await;
    reqwest::get(format!(
        "{url}/internal/force_merge?partition_prefix={prefix}"
    ))
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let active = victoria_metric(url, "vm_active_force_merges").await;
        let parts = victoria_metric(url, "vm_parts{type=\"storage/small\"}").await
            + victoria_metric(url, "vm_parts{type=\"storage/big\"}").await;
        if active == 0.0 && (merges(url.to_owned()).await > before || parts <= 1.0) {
            return;
        }
        assert!(Instant::now() < deadline, "the forced merge did not end");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A schedule change gives most hours and days other values: VictoriaMetrics 1.79 (as
/// Debian packages it, with the README's flags and without) holds every new value after
/// a forced merge, and a third run writes nothing (issue 18: the old values stayed, or
/// came back after merges, and the sync said "written again next run" forever).
#[tokio::test]
async fn a_schedule_change_corrects_every_point_in_victoria_metrics() {
    if !available(Kind::Victoria) {
        return;
    }
    for dedup in [true, false] {
        let mut server = Server::start(Kind::Victoria, "100y");
        if !dedup {
            server.stop();
            server.dedup = false;
            server.launch();
        }
        let url = server.url.clone();
        let memory = MemorySink::new();
        let sink = LineProtocolSink::new(config(&url, Kind::Victoria, "t8")).unwrap();
        let tee = Tee {
            memory: &memory,
            server: &sink,
            countdown: std::sync::Mutex::new(None),
        };
        let state = MemoryState::new();
        let first = sync_with_schedule(bundled(), &tee, &state, None, Some("22h00-6h00")).await;
        assert!(first.is_success(), "{first:?}");
        let before = expected(&memory);
        let second =
            sync_with_schedule(bundled(), &tee, &state, None, Some("1h00-7h00 12h30-14h30")).await;
        assert!(second.is_success(), "dedup {dedup}: {second:?}");
        let after = expected(&memory);
        let changed = before
            .iter()
            .filter(|(key, value)| after.get(*key) != Some(*value))
            .count();
        assert!(changed > 300, "{changed} points changed");
        force_merge(&url, "2024_11").await;
        assert_eq!(
            read_back(&url, Kind::Victoria, "t8").await,
            after,
            "dedup {dedup}"
        );
        // Nothing changed: nothing written (and no duplicate without the dedup flag).
        let inserted = victoria_metric(&url, "vm_rows_inserted_total").await;
        let third =
            sync_with_schedule(bundled(), &tee, &state, None, Some("1h00-7h00 12h30-14h30")).await;
        assert!(third.is_success(), "{third:?}");
        assert_eq!(
            victoria_metric(&url, "vm_rows_inserted_total").await,
            inserted
        );
        force_merge(&url, "2024_11").await;
        assert_eq!(
            read_back(&url, Kind::Victoria, "t8").await,
            after,
            "dedup {dedup}"
        );
    }
}

/// A server down in the middle of a sync (after the first device), then back: the run
/// reports it; the next one writes everything; every point is there once.
#[tokio::test]
async fn a_server_down_mid_sync_then_back_loses_nothing_and_doubles_nothing() {
    if !available(Kind::Victoria) {
        return;
    }
    let server = std::sync::Arc::new(std::sync::Mutex::new(Server::start(Kind::Victoria, "100y")));
    let url = server.lock().unwrap().url.clone();
    let memory = MemorySink::new();
    let sink = LineProtocolSink::new(config(&url, Kind::Victoria, "t4")).unwrap();
    let stopper = server.clone();
    let tee = Tee {
        memory: &memory,
        server: &sink,
        countdown: std::sync::Mutex::new(Some((
            2,
            Box::new(move || stopper.lock().unwrap().stop()),
        ))),
    };
    let state = MemoryState::new();
    let first = sync(bundled(), &tee, &state, None).await;
    assert!(!first.is_success());
    assert!(
        first
            .errors()
            .any(|e| e.to_string().contains("stopped writing")),
        "{first:?}"
    );
    server.lock().unwrap().launch();
    let second = sync(bundled(), &tee, &state, None).await;
    assert!(second.is_success(), "{second:?}");
    assert_eq!(second.requests, 0, "nothing fetched again");
    assert_eq!(
        read_back(&url, Kind::Victoria, "t4").await,
        expected(&memory)
    );
}

/// VictoriaMetrics with its default retention (a month) answers OK to a backfill and
/// drops it: the read-back finds every point missing, and the run says what to do.
#[tokio::test]
async fn points_dropped_while_answered_ok_are_found_by_the_read_back() {
    if !available(Kind::Victoria) {
        return;
    }
    let server = Server::start(Kind::Victoria, "1");
    let sink = LineProtocolSink::new(config(&server.url, Kind::Victoria, "t5")).unwrap();
    let report = sync(bundled(), &sink, &MemoryState::new(), None).await;
    // One clear error per device, with what to do, rather than "written again next run"
    // at every run.
    let not_kept: Vec<String> = report
        .errors()
        .map(ToString::to_string)
        .filter(|e| {
            e.contains("does not keep what was written") && e.contains("-retentionPeriod=100y")
        })
        .collect();
    assert_eq!(not_kept.len(), 3, "{report:?}");
}

/// Two years of hourly and daily rows of two devices written into the local server: the
/// time is printed (the target is under 2 s), and every day is read back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_years_of_rows_for_two_devices_timed() {
    if !available(Kind::Victoria) {
        return;
    }
    let server = Server::start(Kind::Victoria, "100y");
    let sink = LineProtocolSink::new(config(&server.url, Kind::Victoria, "t6")).unwrap();
    // The rows of the generated two-year backfill, made once in memory (every hour).
    let memory = MemorySink::new();
    let report = sync(
        linky_examples::two_year_session(11),
        &AllHours(&memory),
        &MemoryState::new(),
        None,
    )
    .await;
    assert!(report.is_success());
    let mut rows = Vec::new();
    for id in memory.device_ids().into_iter().take(2) {
        let device = memory.device(&id).unwrap();
        let hours: Vec<HourRow> = device
            .hours
            .iter()
            .map(|(end, energies)| HourRow {
                end_utc: *end,
                end: end.with_timezone(&PARIS).naive_local(),
                energies: *energies,
            })
            .collect();
        let days: Vec<DayRow> = device
            .days
            .iter()
            .map(|(date, totals)| DayRow {
                date: *date,
                totals: *totals,
                hours_with_data: 24,
                peak: None,
            })
            .collect();
        rows.push((id.parse::<DeviceId>().unwrap(), hours, days));
    }
    assert!(
        rows.iter()
            .all(|(_, hours, days)| hours.len() > 17_000 && days.len() == 730)
    );
    let started = Instant::now();
    for (id, hours, days) in &rows {
        let handle = sink.ensure_device(id).await.unwrap();
        sink.write_hours(&handle, hours).await.unwrap();
        sink.write_days(&handle, days).await.unwrap();
    }
    let elapsed = started.elapsed();
    let points: usize = rows.iter().map(|(_, h, d)| 4 * (h.len() + d.len())).sum();
    println!(
        "two years of hourly and daily rows for two devices ({points} points) written in {:.2} s (target 2 s)",
        elapsed.as_secs_f64()
    );
    for (id, _, days) in &rows {
        let handle = sink.ensure_device(id).await.unwrap();
        assert!(sink.verify_days(&handle, days).await.unwrap().is_empty());
    }
}

/// The Grafana dashboard reads what the sink writes: every metric and label its queries
/// name exists in VictoriaMetrics after a replay, and each query answers.
#[tokio::test]
async fn the_grafana_dashboard_queries_what_the_sink_writes() {
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("grafana/linky.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let queries: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|panel| panel["targets"].as_array().unwrap().clone())
        .map(|target| target["expr"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(queries.len(), 4);
    if !available(Kind::Victoria) {
        return;
    }
    let server = Server::start(Kind::Victoria, "100y");
    let sink = LineProtocolSink::new(config(&server.url, Kind::Victoria, "linky")).unwrap();
    let report = sync(bundled(), &sink, &MemoryState::new(), None).await;
    assert!(report.is_success(), "{report:?}");
    let http = reqwest::Client::new();
    http.get(format!("{}/internal/force_flush", server.url))
        .send()
        .await
        .unwrap();
    for query in queries {
        let query = query.replace("$device", "12345678901234");
        let text = http
            .get(format!("{}/api/v1/query_range", server.url))
            .query(&[
                ("query", query.as_str()),
                ("start", "2024-11-01T00:00:00Z"),
                ("end", "2024-11-16T00:00:00Z"),
                ("step", "1d"),
            ])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let answer: Value = serde_json::from_str(&text).unwrap();
        let series = answer["data"]["result"].as_array().unwrap();
        assert!(!series.is_empty(), "{query}: {text}");
    }
}

/// InfluxDB 2.x (no Debian package to run one): the write goes to `/api/v2/write` with
/// the organization, the bucket and nanoseconds, the token in `Authorization: Token`,
/// the body gzip-compressed line protocol; a 401 is a refusal of the credentials, a 503
/// is retried, then "unavailable".
#[tokio::test]
async fn influxdb_2_writes_with_its_token_and_bucket() {
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/write"))
        .and(query_param("org", "home"))
        .and(query_param("bucket", "linky"))
        .and(query_param("precision", "ns"))
        .and(header("authorization", "Token secret-token"))
        .and(header("content-encoding", "gzip"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let config = LineProtocolConfig::new(
        server.uri(),
        LineProtocolServer::InfluxV2 {
            org: "home".to_owned(),
            bucket: "linky".to_owned(),
            token: linky_domoticz::Password::new("secret-token"),
        },
    )
    .with_retry(quick_retries());
    let sink = LineProtocolSink::new(config.clone()).unwrap();
    assert!(
        !format!("{sink:?}").contains("secret-token"),
        "the token never prints"
    );
    let device = sink
        .ensure_device(&"22516914714270".parse().unwrap())
        .await
        .unwrap();
    let row = DayRow {
        date: chrono::NaiveDate::from_ymd_opt(2024, 10, 27).unwrap(),
        totals: MeterEnergies {
            consumption: [
                linky_core::Energy::from_wh(1500),
                linky_core::Energy::from_wh(500),
            ],
            production: [linky_core::Energy::ZERO; 2],
        },
        hours_with_data: 25,
        peak: None,
    };
    sink.write_days(&device, &[row]).await.unwrap();
    let requests = server.received_requests().await.unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2_decoder(&requests[0].body), &mut text).unwrap();
    // The fall-back day starts at its local midnight, 2024-10-26 22:00 UTC.
    assert!(
        text.contains(
            "linky_energy,device=22516914714270,flow=consumption,class=peak,period=day wh=1500,mwmin=90000000i 1729980000000000000"
        ),
        "{text}"
    );
    assert_eq!(text.lines().count(), 4);
    // Not verified (a bucket needs a v1 mapping to be read back): trusted.
    assert!(sink.verify_days(&device, &[row]).await.unwrap().is_empty());

    server.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let error = sink.write_days(&device, &[row]).await.unwrap_err();
    assert!(matches!(error, SinkError::Unauthorized { .. }), "{error}");
    server.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let error = sink.write_days(&device, &[row]).await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

/// A gzip reader (the test reads what the sink compressed).
fn flate2_decoder(bytes: &[u8]) -> impl std::io::Read + '_ {
    flate2::read::GzDecoder::new(bytes)
}

/// Colours published up to `published`: red every tenth day of a month, white every
/// seventh, blue otherwise.
struct Colours {
    published: chrono::NaiveDate,
}

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
        for day in from
            .iter_days()
            .take_while(|d| *d < to && *d <= self.published)
        {
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

/// Every point of `measurement`'s integer `field`, by its tags (in `tags`' order, joined
/// by `/`) and start instant in ms.
async fn read_series(
    url: &str,
    kind: Kind,
    measurement: &str,
    field: &str,
    tags: &[&str],
) -> BTreeMap<(String, i64), i64> {
    let http = reqwest::Client::new();
    let mut points = BTreeMap::new();
    let key = |tag: &dyn Fn(&str) -> String| {
        tags.iter()
            .map(|name| tag(name))
            .collect::<Vec<_>>()
            .join("/")
    };
    match kind {
        Kind::Victoria => {
            http.get(format!("{url}/internal/force_flush"))
                .send()
                .await
                .unwrap();
            let text = http
                .get(format!("{url}/api/v1/export"))
                .query(&[("match[]", format!("{measurement}_{field}"))])
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            for line in text.lines().filter(|l| !l.is_empty()) {
                let series: Value = serde_json::from_str(line).unwrap();
                let tag = |name: &str| series["metric"][name].as_str().unwrap().to_owned();
                let tags = key(&tag);
                let times = series["timestamps"].as_array().unwrap();
                let values = series["values"].as_array().unwrap();
                for (time, value) in times.iter().zip(values) {
                    let time = time.as_i64().unwrap();
                    let value = value.as_f64().unwrap() as i64;
                    assert!(
                        points.insert((tags.clone(), time), value).is_none(),
                        "two samples at {time} in {line}"
                    );
                }
            }
        }
        Kind::Influx => {
            let group = if tags.is_empty() {
                String::new()
            } else {
                format!(" GROUP BY {}", tags.join(", "))
            };
            let text = http
                .get(format!("{url}/query"))
                .query(&[
                    ("db", "linky"),
                    ("epoch", "ms"),
                    ("q", &format!("SELECT {field} FROM {measurement}{group}")),
                ])
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let answer: Value = serde_json::from_str(&text).unwrap();
            for series in answer["results"][0]["series"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let tag = |name: &str| series["tags"][name].as_str().unwrap().to_owned();
                let tags = key(&tag);
                for value in series["values"].as_array().unwrap() {
                    let time = value[0].as_i64().unwrap();
                    let value = value[1].as_i64().unwrap();
                    assert!(points.insert((tags.clone(), time), value).is_none());
                }
            }
        }
    }
    points
}

/// The start of a local day, in ms.
fn day_ms(date: chrono::NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0)
        .unwrap()
        .and_local_timezone(PARIS)
        .earliest()
        .unwrap()
        .timestamp_millis()
}

/// Tempo's six counters, the daily cost (an offer whose name needs escaping) and the
/// colours of today and tomorrow, synced into the memory sink and a real server at once,
/// read back exactly, twice without doubling.
async fn tempo_and_costs_as_memory(url: &str, kind: Kind, prefix: &str) {
    let memory = MemorySink::new();
    let server = LineProtocolSink::new(config(url, kind, prefix)).unwrap();
    let tee = Tee {
        memory: &memory,
        server: &server,
        countdown: std::sync::Mutex::new(None),
    };
    let session = bundled();
    let info = session.replay.clone().unwrap();
    let replay = ReplayServer::start(session).await.unwrap();
    let client = replay.client().unwrap();
    let today = client.clock().local_now(PARIS).date();
    let colours = Colours { published: today };
    let mut offer = linky_core::PriceBook::regulated()
        .offer("Tempo")
        .unwrap()
        .clone();
    offer.name = "Tempo, EDF = bleu".to_owned();
    let settings = SyncSettings::new(info.offpeak.parse().unwrap())
        .with_history(
            linky_core::HistorySettings::new(
                info.hours_days,
                info.days,
                Default::default(),
                Default::default(),
            )
            .0,
        )
        .with_costs(offer, 6);
    let state = MemoryState::new();
    for run in 0..2 {
        let report = SyncRun::new(&client, &tee, &state, client.clock())
            .settings(settings.clone())
            .colour_source(&colours)
            .spread_minutes(1)
            .retry_days(1)
            .run()
            .await;
        assert!(report.is_success(), "run {run}: {report:?}");
        // Tempo: every device's colour days, six points each.
        let mut tempo = BTreeMap::new();
        let mut costs = BTreeMap::new();
        for id in memory.device_ids() {
            let device = memory.device(&id).unwrap();
            let slug = id.parse::<DeviceId>().unwrap().slug();
            for (date, energies) in &device.colour_days {
                for ((colour, tariff), energy) in linky_core::TEMPO_CLASSES.iter().zip(energies) {
                    let class = match tariff {
                        linky_core::Tariff::Peak => "peak",
                        linky_core::Tariff::OffPeak => "offpeak",
                    };
                    let key = format!("{slug}/{}/{class}", colour.as_str());
                    tempo.insert((key, day_ms(*date)), energy.milliwatt_minutes());
                }
            }
            for (date, cost) in &device.cost_days {
                let key = format!("{slug}/Tempo, EDF = bleu");
                costs.insert((key, day_ms(*date)), cost.round_cents());
            }
        }
        assert!(tempo.len() >= 6 * 7, "{}", tempo.len());
        assert!(!costs.is_empty());
        // The merged device repeats nothing of its consumer's Tempo counters and costs.
        for id in memory.device_ids() {
            let device = memory.device(&id).unwrap();
            if id.parse::<DeviceId>().unwrap().is_merged() {
                assert!(
                    device.colour_days.is_empty() && device.cost_days.is_empty(),
                    "{id}"
                );
            }
        }
        let measurement = |what: &str| format!("{prefix}_{what}");
        assert_eq!(
            read_series(
                url,
                kind,
                &measurement("tempo"),
                "mwmin",
                &["device", "colour", "class"]
            )
            .await,
            tempo,
            "{kind:?} run {run}"
        );
        assert_eq!(
            read_series(
                url,
                kind,
                &measurement("cost"),
                "cents",
                &["device", "offer"]
            )
            .await,
            costs,
            "{kind:?} run {run}"
        );
        // Every colour the sync keeps (the history window and the season, today's; not
        // tomorrow's: not published yet), as the test source publishes them.
        let forecasts = memory.colour_forecasts();
        assert_eq!(forecasts.len(), run + 1);
        let forecast = &forecasts[run];
        assert_eq!(forecast.tomorrow_colour, None);
        let published = |date: chrono::NaiveDate| match chrono::Datelike::day(&date) {
            d if d % 10 == 0 => 3,
            d if d % 7 == 0 => 2,
            _ => 1,
        };
        let colours: BTreeMap<(String, i64), i64> = forecast
            .calendar
            .days()
            .map(|(date, colour)| {
                assert_eq!(colour.index() as i64 + 1, published(date), "{date}");
                ((String::new(), day_ms(date)), published(date))
            })
            .collect();
        for id in memory.device_ids() {
            for date in memory.device(&id).unwrap().colour_days.keys() {
                assert!(
                    colours.contains_key(&(String::new(), day_ms(*date))),
                    "{date}"
                );
            }
        }
        assert_eq!(
            forecast.today_colour.map(|c| c.index() as i64 + 1),
            Some(published(today))
        );
        assert_eq!(
            read_series(url, kind, &measurement("colour"), "colour", &[]).await,
            colours,
            "{kind:?} run {run}"
        );
    }
}

#[tokio::test]
async fn tempo_counters_costs_and_colours_land_in_victoria_metrics() {
    let Some((url, _own)) = shared_victoria() else {
        return;
    };
    tempo_and_costs_as_memory(&url, Kind::Victoria, "tempo1").await;
}

#[tokio::test]
async fn tempo_counters_costs_and_colours_land_in_influxdb() {
    if !available(Kind::Influx) {
        return;
    }
    let server = Server::start(Kind::Influx, "");
    tempo_and_costs_as_memory(&server.url, Kind::Influx, "tempo2").await;
}
