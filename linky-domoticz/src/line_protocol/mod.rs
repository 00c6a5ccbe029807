//! Time-series databases over the InfluxDB line protocol: InfluxDB 1.x (`/write`),
//! InfluxDB 2.x (`/api/v2/write`, a token) and VictoriaMetrics (`/write`). Written only
//! against the public [`Sink`] API.
//!
//! # Points
//!
//! | measurement | tags | fields | time |
//! |---|---|---|---|
//! | `<prefix>_energy` | `device`, `flow` (`consumption`, `production`), `class` (`peak`, `offpeak`), `period` (`hour`, `day`) | `wh` (float), `mwmin` (integer: exact milliwatt-minutes) | the start of the hour or of the local day |
//! | `<prefix>_max_power` | `device` | `va` (integer) | when the day's peak happened |
//! | `<prefix>_dashboard` | `device` | `u1_wh`, `u2_wh`, `r1_wh`, `r2_wh`, `cons_va` | the newest point written for the device |
//! | `<prefix>_tempo` | `device`, `colour` (`blue`, `white`, `red`), `class` (`peak`, `offpeak`) | `wh` (float), `mwmin` (integer) | the start of the local day |
//! | `<prefix>_cost` | `device`, `offer` | `eur` (float), `cents` (integer, rounded) | the start of the local day |
//! | `<prefix>_colour` | | `colour` (integer: 1 blue, 2 white, 3 red) | the start of the local day (every colour the sync keeps, at each run) |
//!
//! `device` is the device's slug (`22516914714270`, `22516914714270_10284856584123`).
//! Times are instants: the fall-back day's two hours starting at local 02:00 are two
//! points, the day starts at its local midnight. Writing the same rows again writes the
//! same points (same measurement, tags and time): InfluxDB overwrites them.
//!
//! VictoriaMetrics does not: a point written again with another value at the same time
//! is kept beside the old one, and which one a query shows changes with its background
//! merges (1.79, Debian's, measured: most of the changed hours of a schedule change
//! still showed the old value, a third write did not help). So for VictoriaMetrics the
//! sink reads the series it is about to write first (`/api/v1/export`), writes only the
//! points that are missing (`/api/v1/import`), and corrects a series holding another
//! value: it exports the whole series, deletes it (`/api/v1/admin/tsdb/delete_series`)
//! and imports it again with the new values (the points outside the rows kept as they
//! were). Then it reads back what it wrote: a value that still differs, or a point that
//! is missing (VictoriaMetrics answers OK to points older than its `-retentionPeriod`,
//! one month by default, and drops them), is [`SinkError::NotKept`] with what to do.
//! Run it with `-retentionPeriod=100y`; `-dedup.minScrapeInterval=1ms` is no longer
//! needed for exact values (nothing unchanged is written twice), but keeps a series
//! written by other tools deduplicated.
//!
//! Lines go in batches (5000 by default), gzip-compressed. A transient failure (a
//! connection that fails, a 5xx, a 429) is retried with the [`RetryPolicy`]; then it is
//! [`SinkError::Unavailable`]. A refused point is [`SinkError::Rejected`] with the
//! server's reason (and the point, when the server names it); a batch InfluxDB took in
//! part (a field type conflict) is [`SinkError::PartlyWritten`] with what it kept and
//! refused, once the other batches are written.
//!
//! InfluxDB 1.x: the database is created when it is missing (`SHOW DATABASES` first, which
//! a user with rights on an existing database may run: no admin rights needed then).

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use linky_core::{
    DashboardRow, DayRow, DeviceId, Energy, HourRow, MeterEnergies, PARIS, RetryPolicy,
};
use serde_json::Value;

use crate::{DeviceHandle, Password, Sink, SinkError, StoredDayMismatch};

mod victoria;

const SINK: &str = "line protocol";

/// One point: a measurement's fields at a time, with its tags (names unescaped).
#[derive(Debug, Clone)]
struct Point {
    measurement: String,
    tags: Vec<(&'static str, String)>,
    fields: Vec<(&'static str, Field)>,
    /// Nanoseconds since the epoch.
    time: i64,
}

/// A field's value: a float (`wh`, `eur`) or an integer (`mwmin`, `va`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Field {
    Float(f64),
    Integer(i64),
}

impl Point {
    /// The point as a line of the line protocol.
    fn line(&self) -> String {
        let mut line = escape_measurement(&self.measurement);
        for (name, value) in &self.tags {
            line.push(',');
            line.push_str(name);
            line.push('=');
            line.push_str(&escape_tag(value));
        }
        for (index, (name, value)) in self.fields.iter().enumerate() {
            line.push(if index == 0 { ' ' } else { ',' });
            line.push_str(name);
            line.push('=');
            match value {
                Field::Float(value) => line.push_str(&value.to_string()),
                Field::Integer(value) => {
                    line.push_str(&value.to_string());
                    line.push('i');
                }
            }
        }
        line.push(' ');
        line.push_str(&self.time.to_string());
        line
    }
}

/// Which server, and how it names where points go.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LineProtocolServer {
    /// InfluxDB 1.x: a database (created if missing), optionally a user.
    InfluxV1 {
        /// The database.
        database: String,
        /// A user and password (sent as HTTP Basic), when authentication is on.
        credentials: Option<(String, Password)>,
    },
    /// InfluxDB 2.x: an organization, a bucket, a token. Its read-back needs a v1
    /// mapping of the bucket, so days are not verified.
    InfluxV2 {
        /// The organization.
        org: String,
        /// The bucket.
        bucket: String,
        /// The API token.
        token: Password,
    },
    /// VictoriaMetrics (single node).
    VictoriaMetrics,
}

/// Where the database is and how to write to it: [`LineProtocolConfig::new`], then the
/// `with_` methods.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LineProtocolConfig {
    /// e.g. `http://127.0.0.1:8428`.
    pub base_url: String,
    /// The server and its names.
    pub server: LineProtocolServer,
    /// The start of every measurement's name (default `linky`).
    pub measurement_prefix: String,
    /// Lines per request (default 5000).
    pub batch_lines: usize,
    /// How long one request may take (default 30 s).
    pub timeout: Duration,
    /// Retries of transient failures (default: 3 attempts from 1 s).
    pub retry: RetryPolicy,
    /// The time zone of the day rows' dates (default Europe/Paris).
    pub time_zone: Tz,
}

impl LineProtocolConfig {
    /// The defaults for `server` at `base_url`.
    pub fn new(base_url: impl Into<String>, server: LineProtocolServer) -> LineProtocolConfig {
        LineProtocolConfig {
            base_url: base_url.into(),
            server,
            measurement_prefix: "linky".to_owned(),
            batch_lines: 5000,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::new(Duration::from_secs(1), Duration::from_secs(10), 3),
            time_zone: PARIS,
        }
    }

    /// With this start of the measurements' names.
    pub fn with_measurement_prefix(mut self, prefix: impl Into<String>) -> LineProtocolConfig {
        self.measurement_prefix = prefix.into();
        self
    }

    /// With this many lines a request (at least 1).
    pub fn with_batch_lines(mut self, lines: usize) -> LineProtocolConfig {
        self.batch_lines = lines.max(1);
        self
    }

    /// With this timeout for one request.
    pub fn with_timeout(mut self, timeout: Duration) -> LineProtocolConfig {
        self.timeout = timeout;
        self
    }

    /// With these retries of transient failures.
    pub fn with_retry(mut self, retry: RetryPolicy) -> LineProtocolConfig {
        self.retry = retry;
        self
    }
}

/// A sink writing InfluxDB line protocol (see the module documentation).
#[derive(Debug)]
pub struct LineProtocolSink {
    config: LineProtocolConfig,
    http: reqwest::Client,
    write_url: String,
    /// The `Authorization` header's value: a secret, never printed.
    authorization: Option<Password>,
    /// The newest point written per device (nanoseconds), to stamp its dashboard.
    newest: Mutex<HashMap<String, i64>>,
    /// Whether the InfluxDB 1.x database was created.
    database_ready: tokio::sync::Mutex<bool>,
}

/// Escapes a measurement name (commas and spaces).
fn escape_measurement(name: &str) -> String {
    name.replace(',', "\\,").replace(' ', "\\ ")
}

/// Escapes a tag value (commas, equals signs and spaces).
fn escape_tag(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace(',', "\\,")
        .replace('=', "\\=")
        .replace(' ', "\\ ")
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    crate::secret::percent_encode(value, b"")
}

/// `bytes` gzip-compressed (fast: the batches are text that compresses well anyway).
fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes)?;
    encoder.finish()
}

fn nanos(instant: DateTime<Utc>) -> i64 {
    instant.timestamp() * 1_000_000_000
}

impl LineProtocolSink {
    /// A sink for `config`.
    ///
    /// # Errors
    ///
    /// [`SinkError::Config`] for a base URL that is not http(s).
    pub fn new(config: LineProtocolConfig) -> Result<LineProtocolSink, SinkError> {
        let base = config.base_url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(SinkError::Config {
                detail: format!("line protocol url {base:?} is not http(s)"),
            });
        }
        let (write_url, authorization): (String, Option<String>) = match &config.server {
            LineProtocolServer::InfluxV1 {
                database,
                credentials,
            } => (
                format!("{base}/write?db={}&precision=ns", encode(database)),
                credentials.as_ref().map(|(user, password)| {
                    format!(
                        "Basic {}",
                        crate::secret::base64(format!("{user}:{}", password.expose()).as_bytes())
                    )
                }),
            ),
            LineProtocolServer::InfluxV2 { org, bucket, token } => (
                format!(
                    "{base}/api/v2/write?org={}&bucket={}&precision=ns",
                    encode(org),
                    encode(bucket)
                ),
                Some(format!("Token {}", token.expose())),
            ),
            LineProtocolServer::VictoriaMetrics => (format!("{base}/write"), None),
        };
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|error| SinkError::Config {
                detail: format!("cannot build the http client: {error}"),
            })?;
        Ok(LineProtocolSink {
            config,
            http,
            write_url,
            authorization: authorization.map(Password::new),
            newest: Mutex::new(HashMap::new()),
            database_ready: tokio::sync::Mutex::new(false),
        })
    }

    /// A measurement's name (unescaped: [`Point::line`] escapes it).
    fn measurement(&self, what: &str) -> String {
        format!("{}_{what}", self.config.measurement_prefix)
    }

    fn base(&self) -> &str {
        self.config.base_url.trim_end_matches('/')
    }

    /// The instant a local day starts.
    fn day_start(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        date.and_hms_opt(0, 0, 0)?
            .and_local_timezone(self.config.time_zone)
            .earliest()
            .map(|start| start.with_timezone(&Utc))
    }

    /// The four energy points of one bucket.
    fn energy_points(
        &self,
        points: &mut Vec<Point>,
        device: &DeviceHandle,
        period: &'static str,
        energies: &MeterEnergies,
        time: i64,
    ) {
        let measurement = self.measurement("energy");
        for (flow, pair) in [
            ("consumption", energies.consumption),
            ("production", energies.production),
        ] {
            for (class, energy) in [("peak", pair[0]), ("offpeak", pair[1])] {
                points.push(Point {
                    measurement: measurement.clone(),
                    tags: vec![
                        ("device", device.key.clone()),
                        ("flow", flow.to_owned()),
                        ("class", class.to_owned()),
                        ("period", period.to_owned()),
                    ],
                    fields: vec![
                        ("wh", Field::Float(energy.as_wh_f64())),
                        ("mwmin", Field::Integer(energy.milliwatt_minutes())),
                    ],
                    time,
                });
            }
        }
    }

    /// Writes `points`: as lines for InfluxDB, checked against what VictoriaMetrics holds
    /// (see the module documentation).
    async fn write_points(&self, points: &[Point]) -> Result<(), SinkError> {
        if points.is_empty() {
            return Ok(());
        }
        match self.config.server {
            LineProtocolServer::VictoriaMetrics => self.victoria_write(points).await,
            _ => {
                let lines: Vec<String> = points.iter().map(Point::line).collect();
                self.send(&lines).await
            }
        }
    }

    fn remember(&self, device: &DeviceHandle, time: i64) {
        if let Ok(mut newest) = self.newest.lock() {
            let entry = newest.entry(device.key.clone()).or_insert(time);
            *entry = (*entry).max(time);
        }
    }

    /// Sends `lines` in batches. A batch InfluxDB takes in part does not stop the others:
    /// what it kept and refused is said once they are all sent.
    async fn send(&self, lines: &[String]) -> Result<(), SinkError> {
        self.ensure_database().await?;
        let (mut kept, mut refused, mut reason) = (0, 0, None);
        for batch in lines.chunks(self.config.batch_lines) {
            let mut text = batch.join("\n");
            text.push('\n');
            let body = gzip(text.as_bytes()).map_err(|error| SinkError::Unexpected {
                sink: SINK,
                detail: format!("cannot compress a batch: {error}"),
            })?;
            match self
                .post_with_retries(&self.write_url, "text/plain; charset=utf-8", body, batch)
                .await
            {
                Ok(()) => kept += batch.len(),
                Err(SinkError::PartlyWritten {
                    kept: batch_kept,
                    refused: batch_refused,
                    detail,
                    ..
                }) => {
                    kept += batch_kept;
                    refused += batch_refused;
                    reason.get_or_insert(detail);
                }
                Err(error) => return Err(error),
            }
        }
        match reason {
            Some(detail) => Err(SinkError::PartlyWritten {
                sink: SINK,
                kept,
                refused,
                detail,
            }),
            None => Ok(()),
        }
    }

    /// Posts a gzip-compressed `body` to `url` (the lines of `batch`, for messages),
    /// retrying transient failures.
    async fn post_with_retries(
        &self,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
        batch: &[String],
    ) -> Result<(), SinkError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let request = self
                .http
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .header(reqwest::header::CONTENT_ENCODING, "gzip")
                .body(body.clone());
            let failure = match self.authorized(request).send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    if (200..300).contains(&status) {
                        return Ok(());
                    }
                    let text = response.text().await.unwrap_or_default();
                    match status {
                        401 | 403 => {
                            return Err(SinkError::Unauthorized {
                                sink: SINK,
                                detail: format!("write answered {status}"),
                            });
                        }
                        429 | 500..=599 => format!("write answered {status}"),
                        _ => return Err(refused(status, &text, batch)),
                    }
                }
                Err(error) if error.is_timeout() => "write timed out".to_owned(),
                Err(error) if error.is_connect() => "could not connect".to_owned(),
                Err(_) => "the connection failed".to_owned(),
            };
            match self.config.retry.delay(attempt, None, 0.5) {
                Some(delay) => {
                    tracing::warn!(attempt, failure, "line protocol write failed: retrying");
                    tokio::time::sleep(delay).await;
                }
                None => {
                    return Err(SinkError::Unavailable {
                        sink: SINK,
                        detail: failure,
                    });
                }
            }
        }
    }

    /// `request` with the `Authorization` header, when there is one.
    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.authorization {
            Some(authorization) => {
                request.header(reqwest::header::AUTHORIZATION, authorization.expose())
            }
            None => request,
        }
    }

    /// Makes sure the InfluxDB 1.x database exists, once: `SHOW DATABASES` (which a user
    /// with rights on the database may run) says whether it does; only a missing one is
    /// created, which takes admin rights.
    async fn ensure_database(&self) -> Result<(), SinkError> {
        let LineProtocolServer::InfluxV1 {
            database,
            credentials,
        } = &self.config.server
        else {
            return Ok(());
        };
        let mut ready = self.database_ready.lock().await;
        if *ready {
            return Ok(());
        }
        let listed = self
            .query(&[("q", "SHOW DATABASES")], reqwest::Method::GET)
            .await?;
        let exists = listed["results"][0]["series"][0]["values"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|row| row[0].as_str() == Some(database.as_str()));
        if !exists {
            let query = format!("CREATE DATABASE \"{}\"", database.replace('"', "\\\""));
            let url = format!("{}/query?q={}", self.base(), encode(&query));
            let response = self
                .authorized(self.http.post(&url))
                .send()
                .await
                .map_err(|_| SinkError::Unavailable {
                    sink: SINK,
                    detail: "CREATE DATABASE could not be sent".to_owned(),
                })?;
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            match status {
                200..=299 => {}
                403 => {
                    let user = credentials
                        .as_ref()
                        .map_or("the user".to_owned(), |(user, _)| format!("user {user:?}"));
                    return Err(SinkError::Config {
                        detail: format!(
                            "influxdb database {database:?} does not exist and {user} may not create it ({}): \
                             an admin creates it (CREATE DATABASE \"{database}\") and grants the user ALL on it, \
                             or the configuration names an existing database",
                            server_reason(&text)
                        ),
                    });
                }
                401 => {
                    return Err(SinkError::Unauthorized {
                        sink: SINK,
                        detail: format!("CREATE DATABASE answered 401 ({})", server_reason(&text)),
                    });
                }
                500..=599 => {
                    return Err(SinkError::Unavailable {
                        sink: SINK,
                        detail: format!("CREATE DATABASE answered {status}"),
                    });
                }
                _ => {
                    return Err(SinkError::Unexpected {
                        sink: SINK,
                        detail: format!(
                            "CREATE DATABASE answered {status}: {}",
                            server_reason(&text)
                        ),
                    });
                }
            }
        }
        *ready = true;
        Ok(())
    }

    /// An InfluxDB 1.x `/query`.
    async fn query(
        &self,
        params: &[(&str, &str)],
        method: reqwest::Method,
    ) -> Result<Value, SinkError> {
        let mut url = format!("{}/query?", self.base());
        for (index, (name, value)) in params.iter().enumerate() {
            if index > 0 {
                url.push('&');
            }
            url.push_str(&format!("{name}={}", encode(value)));
        }
        self.get_json(method, &url).await
    }

    async fn get_json(&self, method: reqwest::Method, url: &str) -> Result<Value, SinkError> {
        let response = self
            .authorized(self.http.request(method, url))
            .send()
            .await
            .map_err(|_| SinkError::Unavailable {
                sink: SINK,
                detail: "a query could not be sent".to_owned(),
            })?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        match status {
            200..=299 => Ok(serde_json::from_str(&text).unwrap_or(Value::String(text))),
            401 | 403 => Err(SinkError::Unauthorized {
                sink: SINK,
                detail: format!("a query answered {status} ({})", server_reason(&text)),
            }),
            500..=599 => Err(SinkError::Unavailable {
                sink: SINK,
                detail: format!("a query answered {status}"),
            }),
            _ => Err(SinkError::Unexpected {
                sink: SINK,
                detail: format!(
                    "a query answered {status}: {}",
                    text.chars().take(300).collect::<String>()
                ),
            }),
        }
    }

    /// The day totals the server holds for `device` over `[from, to]`, as milliwatt-minutes
    /// by day: U1, U2, R1, R2.
    async fn stored_days(
        &self,
        device: &DeviceHandle,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Option<BTreeMap<NaiveDate, [i64; 4]>>, SinkError> {
        let (Some(start), Some(end)) = (
            self.day_start(from),
            to.succ_opt().and_then(|d| self.day_start(d)),
        ) else {
            return Ok(Some(BTreeMap::new()));
        };
        // (flow, class, time in ms, value)
        let mut samples: Vec<(String, String, i64, i64)> = Vec::new();
        match &self.config.server {
            LineProtocolServer::InfluxV2 { .. } => return Ok(None),
            LineProtocolServer::VictoriaMetrics => {
                // Recent points become searchable after a flush.
                let _ = self
                    .http
                    .get(format!("{}/internal/force_flush", self.base()))
                    .send()
                    .await;
                let selector = format!(
                    "{}{{device=\"{}\",period=\"day\"}}",
                    self.measurement("energy_mwmin"),
                    device.key
                );
                let url = format!(
                    "{}/api/v1/export?match[]={}&start={}&end={}",
                    self.base(),
                    encode(&selector),
                    start.timestamp(),
                    end.timestamp() - 1
                );
                let text = match self.get_json(reqwest::Method::GET, &url).await? {
                    Value::String(text) => text,
                    single => single.to_string(),
                };
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    let series: Value = serde_json::from_str(line).unwrap_or(Value::Null);
                    let tag = |name: &str| {
                        series["metric"][name]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned()
                    };
                    let (flow, class) = (tag("flow"), tag("class"));
                    let values = series["values"].as_array().cloned().unwrap_or_default();
                    let times = series["timestamps"].as_array().cloned().unwrap_or_default();
                    for (value, time) in values.iter().zip(&times) {
                        samples.push((
                            flow.clone(),
                            class.clone(),
                            time.as_i64().unwrap_or_default(),
                            value.as_f64().unwrap_or(f64::NAN) as i64,
                        ));
                    }
                }
            }
            LineProtocolServer::InfluxV1 { database, .. } => {
                let query = format!(
                    "SELECT mwmin FROM \"{}\" WHERE device = '{}' AND period = 'day' AND time >= {}ms AND time < {}ms GROUP BY flow, class",
                    self.measurement("energy"),
                    device.key,
                    start.timestamp_millis(),
                    end.timestamp_millis()
                );
                let answer = self
                    .query(
                        &[
                            ("db", database.as_str()),
                            ("q", query.as_str()),
                            ("epoch", "ms"),
                        ],
                        reqwest::Method::GET,
                    )
                    .await?;
                for series in answer["results"][0]["series"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    let tag =
                        |name: &str| series["tags"][name].as_str().unwrap_or_default().to_owned();
                    let (flow, class) = (tag("flow"), tag("class"));
                    for value in series["values"].as_array().into_iter().flatten() {
                        samples.push((
                            flow.clone(),
                            class.clone(),
                            value[0].as_i64().unwrap_or_default(),
                            value[1].as_i64().unwrap_or_default(),
                        ));
                    }
                }
            }
        }
        let mut days: BTreeMap<NaiveDate, [i64; 4]> = BTreeMap::new();
        for (flow, class, millis, value) in samples {
            let Some(date) = DateTime::from_timestamp_millis(millis)
                .map(|t| t.with_timezone(&self.config.time_zone).date_naive())
            else {
                continue;
            };
            let index = match (flow.as_str(), class.as_str()) {
                ("consumption", "peak") => 0,
                ("consumption", "offpeak") => 1,
                ("production", "peak") => 2,
                ("production", "offpeak") => 3,
                _ => continue,
            };
            days.entry(date).or_default()[index] = value;
        }
        Ok(Some(days))
    }
}

/// The server's reason in an error answer: its JSON `error`, or the text's start.
fn server_reason(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|value| value["error"].as_str().map(str::to_owned))
        .unwrap_or_else(|| text.trim().chars().take(300).collect())
}

/// A write the server refused: its reason, and the point when it names one. A "partial
/// write" (InfluxDB kept the batch but `dropped=N` of its points) says what was kept.
fn refused(status: u16, text: &str, batch: &[String]) -> SinkError {
    let reason = server_reason(text);
    if let Some(dropped) = reason
        .strip_prefix("partial write")
        .and_then(|rest| rest.rsplit_once("dropped="))
        .and_then(|(_, count)| count.trim().parse::<usize>().ok())
    {
        let dropped = dropped.min(batch.len());
        return SinkError::PartlyWritten {
            sink: SINK,
            kept: batch.len() - dropped,
            refused: dropped,
            detail: format!("{status}: {reason}"),
        };
    }
    // InfluxDB quotes a line it cannot parse: "unable to parse 'LINE': why".
    let point = reason
        .split_once("unable to parse '")
        .and_then(|(_, rest)| rest.split_once("': "))
        .map(|(line, _)| line.to_owned());
    let what = match point {
        Some(line) => format!("the point {line:?} ({status}: {reason})"),
        None => format!(
            "{} point(s) of a batch starting with {:?} ({status}: {reason})",
            batch.len(),
            batch.first().map(String::as_str).unwrap_or_default()
        ),
    };
    SinkError::Rejected { sink: SINK, what }
}

#[async_trait]
impl Sink for LineProtocolSink {
    async fn ensure_device(&self, device_id: &DeviceId) -> Result<DeviceHandle, SinkError> {
        self.ensure_database().await?;
        Ok(DeviceHandle {
            device_id: device_id.clone(),
            key: device_id.slug(),
        })
    }

    async fn write_hours(&self, device: &DeviceHandle, rows: &[HourRow]) -> Result<(), SinkError> {
        let mut points = Vec::with_capacity(rows.len() * 4);
        for row in rows {
            let start = nanos(row.end_utc) - 3_600_000_000_000;
            self.energy_points(&mut points, device, "hour", &row.energies, start);
            self.remember(device, start);
        }
        self.write_points(&points).await
    }

    async fn write_days(&self, device: &DeviceHandle, rows: &[DayRow]) -> Result<(), SinkError> {
        let mut points = Vec::with_capacity(rows.len() * 5);
        let max_power = self.measurement("max_power");
        for row in rows {
            let Some(start) = self.day_start(row.date) else {
                continue;
            };
            self.energy_points(&mut points, device, "day", &row.totals, nanos(start));
            self.remember(device, nanos(start));
            if let Some(peak) = row.peak
                && let Some(at) = peak.at.and_local_timezone(self.config.time_zone).earliest()
            {
                points.push(Point {
                    measurement: max_power.clone(),
                    tags: vec![("device", device.key.clone())],
                    fields: vec![("va", Field::Integer(peak.power.va()))],
                    time: nanos(at.with_timezone(&Utc)),
                });
            }
        }
        self.write_points(&points).await
    }

    async fn write_dashboard(
        &self,
        device: &DeviceHandle,
        row: &DashboardRow,
    ) -> Result<(), SinkError> {
        let newest = self
            .newest
            .lock()
            .ok()
            .and_then(|newest| newest.get(&device.key).copied());
        let Some(time) = newest else {
            return Ok(());
        };
        let wh = |energy: Energy| Field::Float(energy.as_wh_f64());
        let point = Point {
            measurement: self.measurement("dashboard"),
            tags: vec![("device", device.key.clone())],
            fields: vec![
                ("u1_wh", wh(row.u1)),
                ("u2_wh", wh(row.u2)),
                ("r1_wh", wh(row.r1)),
                ("r2_wh", wh(row.r2)),
                ("cons_va", Field::Integer(row.cons_va)),
            ],
            time,
        };
        self.write_points(&[point]).await
    }

    /// Tempo's six classes of each day, one point per colour and class.
    async fn write_colour_days(
        &self,
        device: &DeviceHandle,
        rows: &[crate::ColourDayRow],
    ) -> Result<(), SinkError> {
        let measurement = self.measurement("tempo");
        let mut points = Vec::with_capacity(rows.len() * 6);
        for row in rows {
            let Some(start) = self.day_start(row.date) else {
                continue;
            };
            for ((colour, tariff), energy) in linky_core::TEMPO_CLASSES.iter().zip(row.energies) {
                let class = match tariff {
                    linky_core::Tariff::Peak => "peak",
                    linky_core::Tariff::OffPeak => "offpeak",
                };
                points.push(Point {
                    measurement: measurement.clone(),
                    tags: vec![
                        ("device", device.key.clone()),
                        ("colour", colour.as_str().to_owned()),
                        ("class", class.to_owned()),
                    ],
                    fields: vec![
                        ("wh", Field::Float(energy.as_wh_f64())),
                        ("mwmin", Field::Integer(energy.milliwatt_minutes())),
                    ],
                    time: nanos(start),
                });
            }
        }
        self.write_points(&points).await
    }

    /// Each day's cost, in euros and in whole cents.
    async fn write_cost_days(
        &self,
        device: &DeviceHandle,
        rows: &[crate::CostDayRow],
    ) -> Result<(), SinkError> {
        let measurement = self.measurement("cost");
        let points: Vec<Point> = rows
            .iter()
            .filter_map(|row| {
                let start = self.day_start(row.date)?;
                Some(Point {
                    measurement: measurement.clone(),
                    tags: vec![("device", device.key.clone()), ("offer", row.offer.clone())],
                    fields: vec![
                        ("eur", Field::Float(row.cost.as_euros())),
                        ("cents", Field::Integer(row.cost.round_cents())),
                    ],
                    time: nanos(start),
                })
            })
            .collect();
        self.write_points(&points).await
    }

    /// Every colour the sync keeps (`forecast.calendar`: its history window, today's and
    /// tomorrow's when known), each at its day's start: rewriting the same points at each
    /// run, the series holds every day's colour.
    async fn write_colour_forecast(
        &self,
        forecast: &crate::ColourForecast,
    ) -> Result<(), SinkError> {
        let measurement = self.measurement("colour");
        let points: Vec<Point> = forecast
            .calendar
            .days()
            .filter_map(|(date, colour)| {
                let start = self.day_start(date)?;
                Some(Point {
                    measurement: measurement.clone(),
                    tags: Vec::new(),
                    fields: vec![("colour", Field::Integer(colour.index() as i64 + 1))],
                    time: nanos(start),
                })
            })
            .collect();
        self.write_points(&points).await
    }

    /// Nothing to mark: a time series simply stops.
    async fn mark_timed_out(&self, _device: &DeviceHandle) -> Result<(), SinkError> {
        Ok(())
    }

    fn keeps_all_hours(&self) -> bool {
        true
    }

    /// Reads the days back through the server's own query API (InfluxDB 1.x `/query`,
    /// VictoriaMetrics `/api/v1/export`) and compares them to the milliwatt-minute:
    /// VictoriaMetrics answers OK to points outside its retention and drops them. An
    /// InfluxDB 2.x bucket is not read back.
    async fn verify_days(
        &self,
        device: &DeviceHandle,
        rows: &[DayRow],
    ) -> Result<Vec<StoredDayMismatch>, SinkError> {
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            return Ok(Vec::new());
        };
        let Some(stored) = self.stored_days(device, first.date, last.date).await? else {
            return Ok(Vec::new());
        };
        Ok(rows
            .iter()
            .filter_map(|row| {
                let written = row.totals.in_order().map(Energy::milliwatt_minutes);
                let held = stored.get(&row.date).copied();
                (held != Some(written)).then_some(StoredDayMismatch {
                    date: row.date,
                    written_wh: row.totals.in_order().map(Energy::round_wh),
                    stored_wh: held
                        .map(|mwmin| mwmin.map(|v| Energy::from_milliwatt_minutes(v).round_wh())),
                })
            })
            .collect())
    }
}
