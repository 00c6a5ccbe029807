//! Home Assistant's long-term statistics, for its Energy dashboard (feature
//! `home-assistant`): [`HomeAssistantSink`] imports every hour of a device's energy, per
//! tariff class (and Tempo's six classes, and costs at their dated prices), as external
//! statistics through Home Assistant's websocket API.
//!
//! # Statistics
//!
//! | statistic id | what | unit |
//! |---|---|---|
//! | `linky:<device>_consumption_hp`, `linky:<device>_consumption_hc` | each hour's consumption in peak / off-peak hours (`linky:<device>_consumption` with a single tariff) | Wh |
//! | `linky:<device>_production_hp`, `..._hc` (or `..._production`) | the same for production | Wh |
//! | `linky:<device>_tempo_<blue\|white\|red>_<hp\|hc>` | Tempo's six classes (a colour source) | Wh |
//! | `linky:<device>_cost` | the hour's energy at its dated prices, and the day's subscription in its first hour (an offer) | EUR |
//! | `linky:<device>_cost_<class>` | one per energy series of the offer's classes (`cost_consumption_hp`, `cost_tempo_red_hc`...), to pair each with its cost in the Energy dashboard | EUR |
//!
//! `<device>` is the [`DeviceId`] slug (`22516914714270`, a merged device
//! `22516914714270_10284856584123`); names are readable in French or English
//! ([`NameLanguage`]). Rows are Home Assistant's: `start` on the UTC hour (the fall-back
//! day has 25, the spring-forward day 23), `state` the hour's energy (Wh, three decimals:
//! whole mWh) or cost (EUR, six decimals), `sum` the running total.
//!
//! # Runs
//!
//! A run reads what Home Assistant holds over the hours it writes and the sum of the last
//! row before them, continues that sum (never restarting at 0, never purging), and imports
//! from the first hour that differs to the last: a second run imports nothing; a changed
//! hour (a late correction, another schedule, another price) is rewritten with every later
//! sum, so the series stays continuous. An hour without energy (or cost) gets no row unless
//! one was written there before: the same for Home Assistant, and far fewer rows for its
//! recorder (an hour lies in one of Tempo's six classes). Imports go in commands of at most
//! [`HomeAssistantConfig::rows_per_import`] rows (a frame holds at most 4 MiB). Home
//! Assistant answers an import before its recorder writes it: the sink then reads the last
//! row of each series back until it is there (at most [`HomeAssistantConfig::commit_wait`]).
//!
//! # Versions
//!
//! Home Assistant 2025.11 added `mean_type` and `unit_class` to the metadata
//! (`recorder/import_statistics`' schema in its 2025.10.4 and 2025.11.0 releases:
//! before, `has_mean` is required and the new keys are refused; from 2025.11 they are
//! accepted and their absence is deprecated). The sink sends the form the version it is
//! connected to announces.

/// Runs `$body` with `$socket`, the sink's connection (opened, and authenticated, when
/// there is none). A connection kept from an earlier call may have been closed meanwhile
/// (Home Assistant closes one that did not answer its pings while the sync fetched): when
/// the body fails on it, it runs once more on a new one (every command is an upsert or a
/// read: running it again is safe). A connection that failed is dropped.
macro_rules! on_socket {
    ($sink:expr, $socket:ident => $body:expr) => {{
        let mut guard = $sink.socket.lock().await;
        let mut fresh = false;
        loop {
            if guard.is_none() {
                *guard = Some(Socket::connect(&$sink.config.url, &$sink.config.token).await?);
                fresh = true;
            }
            let result = match guard.as_mut() {
                Some($socket) => $body,
                None => Err(SinkError::Unavailable {
                    sink: SINK,
                    detail: "no connection".to_owned(),
                }),
            };
            if !matches!(result, Err(SinkError::Unavailable { .. })) {
                break result;
            }
            if let Some(socket) = guard.take() {
                socket.close().await;
            }
            if fresh {
                break result;
            }
        }
    }};
}

mod dashboard;
mod emulator;
mod series;
mod socket;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use linky_core::{DashboardRow, DayRow, DeviceId, HourRow};
use serde_json::{Value, json};

use crate::NameLanguage;
use crate::{
    ColourHourRow, CostHourRow, DeviceHandle, DeviceInfo, Password, Sink, SinkError,
    StoredDayMismatch,
};
pub use dashboard::EnergyDashboardChange;
pub use emulator::{EmulatedStatistic, HomeAssistantEmulator, HomeAssistantEmulatorState};
pub use series::SOURCE;
use series::{Series, StoredRow};
use socket::Socket;

const SINK: &str = "home assistant";

/// The first version whose `recorder/import_statistics` takes `mean_type` and
/// `unit_class` (year, month).
pub const MEAN_TYPE_SINCE: (u32, u32) = (2025, 11);

/// Where Home Assistant is and how to write to it: [`HomeAssistantConfig::new`], then the
/// `with_` methods.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HomeAssistantConfig {
    /// `http://127.0.0.1:8123` (or `https://...`, or the websocket's own address).
    pub url: String,
    /// A long-lived access token of an administrator (imports need one); never printed.
    pub token: Password,
    /// The language of the statistics' names (default French).
    pub language: NameLanguage,
    /// Rows per import command (default 4000: well under a frame's 4 MiB).
    pub rows_per_import: usize,
    /// How long to wait for the recorder to hold what was imported (default 5 minutes).
    pub commit_wait: Duration,
}

impl HomeAssistantConfig {
    /// The defaults for Home Assistant at `url` with `token`.
    pub fn new(url: impl Into<String>, token: Password) -> HomeAssistantConfig {
        HomeAssistantConfig {
            url: url.into(),
            token,
            language: NameLanguage::French,
            rows_per_import: 4000,
            commit_wait: Duration::from_secs(300),
        }
    }

    /// With names in `language`.
    pub fn with_language(mut self, language: NameLanguage) -> HomeAssistantConfig {
        self.language = language;
        self
    }

    /// With at most `rows` rows per import command (at least 1).
    pub fn with_rows_per_import(mut self, rows: usize) -> HomeAssistantConfig {
        self.rows_per_import = rows.max(1);
        self
    }

    /// Waiting at most `wait` for the recorder to hold an import.
    pub fn with_commit_wait(mut self, wait: Duration) -> HomeAssistantConfig {
        self.commit_wait = wait;
        self
    }
}

/// A sink of Home Assistant long-term statistics (see the module documentation).
///
/// ```no_run
/// # async fn run() -> Result<(), linky_domoticz::SinkError> {
/// use linky_domoticz::{HomeAssistantConfig, HomeAssistantSink, Password};
/// let token = Password::new(std::env::var("HA_TOKEN").unwrap_or_default());
/// let sink = HomeAssistantSink::new(HomeAssistantConfig::new("http://127.0.0.1:8123", token))?;
/// println!("Home Assistant {}", sink.version().await?);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct HomeAssistantSink {
    config: HomeAssistantConfig,
    socket: tokio::sync::Mutex<Option<Socket>>,
    /// What each device shows, by its key, as the sync said.
    devices: std::sync::Mutex<HashMap<String, DeviceInfo>>,
    /// Rows imported since the sink was made.
    imported: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// An instant as Home Assistant reads it: RFC 3339 in UTC.
fn iso(millis: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(millis)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

const HOUR_MS: i64 = 3_600_000;
/// How far back the last sum before a run's hours is looked for first (a month).
const BASE_WINDOW_MS: i64 = 31 * 24 * HOUR_MS;

impl HomeAssistantSink {
    /// A sink for `config` (nothing is connected until the first write).
    ///
    /// # Errors
    ///
    /// [`SinkError::Config`] for a URL that is not http(s) or ws(s).
    pub fn new(config: HomeAssistantConfig) -> Result<HomeAssistantSink, SinkError> {
        socket::websocket_url(&config.url)?;
        Ok(HomeAssistantSink {
            config,
            socket: tokio::sync::Mutex::new(None),
            devices: std::sync::Mutex::new(HashMap::new()),
            imported: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// How many rows the sink imported since it was made (a run that changed nothing
    /// imports none).
    pub fn imported_rows(&self) -> usize {
        self.imported.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The version Home Assistant announces (connecting if needed).
    ///
    /// # Errors
    ///
    /// As a connection: [`SinkError::Unavailable`], [`SinkError::Unauthorized`].
    pub async fn version(&self) -> Result<String, SinkError> {
        on_socket!(self, socket => Ok::<String, SinkError>(socket.version.clone()))
    }

    fn info(&self, device: &DeviceHandle) -> DeviceInfo {
        self.devices
            .lock()
            .ok()
            .and_then(|devices| devices.get(&device.key).cloned())
            .unwrap_or_else(|| DeviceInfo::new(true, true, false))
    }

    /// The metadata of `series` in the form `version` takes.
    fn metadata(series: &Series, version: &str) -> Value {
        let newer = socket::parse_version(version).is_some_and(|v| v >= MEAN_TYPE_SINCE);
        let mut metadata = json!({
            "has_sum": true,
            "name": series.name,
            "source": series::SOURCE,
            "statistic_id": series.id,
            "unit_of_measurement": series.unit.symbol(),
        });
        if newer {
            metadata["mean_type"] = json!(0);
            metadata["unit_class"] = json!(series.unit.class());
        } else {
            metadata["has_mean"] = json!(false);
        }
        metadata
    }

    /// Brings every series of `all` to its values (see the module documentation).
    async fn write_series(&self, all: Vec<Series>) -> Result<(), SinkError> {
        let all: Vec<Series> = all.into_iter().filter(|s| !s.hours.is_empty()).collect();
        if all.is_empty() {
            return Ok(());
        }
        if let Some(bad) = all.iter().find(|s| !series::valid_statistic_id(&s.id)) {
            return Err(SinkError::Config {
                detail: format!("{:?} is not a valid statistic id", bad.id),
            });
        }
        on_socket!(self, socket => self.write_series_on(socket, &all).await)
    }
    /// [`HomeAssistantSink::write_series`] on `socket`.
    async fn write_series_on(&self, socket: &mut Socket, all: &[Series]) -> Result<(), SinkError> {
        let rows_per_import = self.config.rows_per_import;
        let commit_wait = self.config.commit_wait;
        let units = stored_units(socket, all).await?;
        for series in all {
            if let Some(Some(unit)) = units.get(&series.id)
                && unit != series.unit.symbol()
            {
                return Err(SinkError::Config {
                    detail: format!(
                        "home assistant already has the statistic {} in {unit}, and the sink writes it in {}: \
                             remove it (Developer tools, Statistics) or change its unit there, then run again",
                        series.id,
                        series.unit.symbol()
                    ),
                });
            }
        }
        let mut written: Vec<(&Series, i64, StoredRow)> = Vec::new();
        for series in all {
            let known = units.contains_key(&series.id);
            let rows = rows_for(socket, series, known).await?;
            let Some(&(last_start, last_row)) = rows.last() else {
                if !known {
                    // No row yet (no energy of that class so far): the series is created
                    // all the same, for the Energy dashboard to pair it.
                    socket
                        .command(json!({
                            "type": "recorder/import_statistics",
                            "metadata": HomeAssistantSink::metadata(series, &socket.version),
                            "stats": [],
                        }))
                        .await?;
                }
                continue;
            };
            tracing::info!(
                statistic = %series.id,
                rows = rows.len(),
                from = %iso(rows[0].0),
                "importing"
            );
            let metadata = HomeAssistantSink::metadata(series, &socket.version);
            for chunk in rows.chunks(rows_per_import) {
                let stats: Vec<Value> = chunk
                    .iter()
                    .map(|(start, row)| {
                        json!({
                            "start": iso(*start),
                            "state": series.unit.value(row.state),
                            "sum": series.unit.value(row.sum),
                        })
                    })
                    .collect();
                socket
                    .command(json!({
                        "type": "recorder/import_statistics",
                        "metadata": metadata,
                        "stats": stats,
                    }))
                    .await?;
                self.imported
                    .fetch_add(chunk.len(), std::sync::atomic::Ordering::SeqCst);
            }
            written.push((series, last_start, last_row));
        }
        // Home Assistant answers before its recorder writes: wait until the last row
        // of each series written is there.
        let deadline = tokio::time::Instant::now() + commit_wait;
        let mut pause = Duration::from_millis(100);
        for (series, last_start, last_row) in written {
            loop {
                let held = read_rows(socket, series, last_start, last_start + HOUR_MS).await?;
                if held.get(&last_start) == Some(&last_row) {
                    break;
                }
                if tokio::time::Instant::now() > deadline {
                    return Err(SinkError::Unavailable {
                        sink: SINK,
                        detail: format!(
                            "the recorder did not hold {} within {} s of its import",
                            series.id,
                            commit_wait.as_secs()
                        ),
                    });
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
        }
        Ok(())
    }
}

/// The rows of each of `all` over `[from, to)`, by id.
async fn read_all(
    socket: &mut Socket,
    all: &[Series],
    from: i64,
    to: i64,
) -> Result<Vec<(String, BTreeMap<i64, StoredRow>)>, SinkError> {
    let mut held = Vec::new();
    for series in all {
        held.push((
            series.id.clone(),
            read_rows(socket, series, from, to).await?,
        ));
    }
    Ok(held)
}

/// The unit each of `all` is stored in, for those Home Assistant knows.
async fn stored_units(
    socket: &mut Socket,
    all: &[Series],
) -> Result<HashMap<String, Option<String>>, SinkError> {
    let ids: Vec<&str> = all.iter().map(|s| s.id.as_str()).collect();
    let answer = socket
        .command(json!({"type": "recorder/get_statistics_metadata", "statistic_ids": ids}))
        .await?;
    Ok(answer
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let id = entry["statistic_id"].as_str()?.to_owned();
            let unit = entry["statistics_unit_of_measurement"]
                .as_str()
                .map(str::to_owned);
            Some((id, unit))
        })
        .collect())
}

/// The rows `series` holds over `[from, to)` (hour starts in ms).
async fn read_rows(
    socket: &mut Socket,
    series: &Series,
    from: i64,
    to: i64,
) -> Result<BTreeMap<i64, StoredRow>, SinkError> {
    let answer = socket
        .command(json!({
            "type": "recorder/statistics_during_period",
            "start_time": iso(from),
            "end_time": iso(to),
            "statistic_ids": [series.id],
            "period": "hour",
            "types": ["state", "sum"],
        }))
        .await?;
    Ok(answer[series.id.as_str()]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|row| {
            let start = row["start"].as_i64()?;
            Some((
                start,
                StoredRow {
                    state: series.unit.units(row["state"].as_f64().unwrap_or(f64::NAN)),
                    sum: series.unit.units(row["sum"].as_f64().unwrap_or(f64::NAN)),
                },
            ))
        })
        .collect())
}

/// What a run imports for `series`: the stored rows over its hours and the sum before
/// them read, the rows from the first difference on.
async fn rows_for(
    socket: &mut Socket,
    series: &Series,
    known: bool,
) -> Result<Vec<(i64, StoredRow)>, SinkError> {
    let (Some(&first), Some(&last)) = (series.hours.keys().next(), series.hours.keys().last())
    else {
        return Ok(Vec::new());
    };
    let mut base = None;
    let mut stored = BTreeMap::new();
    if known {
        let held = read_rows(socket, series, first - BASE_WINDOW_MS, last + HOUR_MS).await?;
        base = held.range(..first).next_back().map(|(_, row)| row.sum);
        stored = held
            .into_iter()
            .filter(|(start, _)| *start >= first)
            .collect();
        if base.is_none() {
            // A gap longer than a month before these hours: the last sum further back.
            let earlier = read_rows(socket, series, 0, first - BASE_WINDOW_MS).await?;
            base = earlier.values().next_back().map(|row| row.sum);
        }
    }
    Ok(series::rows_to_import(
        &series.hours,
        base.unwrap_or(0),
        &stored,
    ))
}

#[async_trait]
impl Sink for HomeAssistantSink {
    async fn ensure_device(&self, device_id: &DeviceId) -> Result<DeviceHandle, SinkError> {
        // Connecting now says at once when the address or the token is wrong.
        self.version().await?;
        Ok(DeviceHandle {
            device_id: device_id.clone(),
            key: device_id.slug(),
        })
    }

    async fn describe_device(
        &self,
        device: &DeviceHandle,
        info: &DeviceInfo,
    ) -> Result<(), SinkError> {
        if let Ok(mut devices) = self.devices.lock() {
            devices.insert(device.key.clone(), info.clone());
        }
        Ok(())
    }

    async fn write_hours(&self, device: &DeviceHandle, rows: &[HourRow]) -> Result<(), SinkError> {
        let info = self.info(device);
        self.write_series(series::energy_series(
            &device.device_id,
            &info,
            rows,
            self.config.language,
        ))
        .await
    }

    /// Days are Home Assistant's own sums of the hours: nothing to write.
    async fn write_days(&self, _device: &DeviceHandle, _rows: &[DayRow]) -> Result<(), SinkError> {
        Ok(())
    }

    /// No live value: statistics are history.
    async fn write_dashboard(
        &self,
        _device: &DeviceHandle,
        _row: &DashboardRow,
    ) -> Result<(), SinkError> {
        Ok(())
    }

    async fn mark_timed_out(&self, _device: &DeviceHandle) -> Result<(), SinkError> {
        Ok(())
    }

    fn keeps_all_hours(&self) -> bool {
        true
    }

    async fn write_colour_hours(
        &self,
        device: &DeviceHandle,
        rows: &[ColourHourRow],
    ) -> Result<(), SinkError> {
        self.write_series(series::tempo_series(
            &device.device_id,
            rows,
            self.config.language,
        ))
        .await
    }

    async fn write_cost_hours(
        &self,
        device: &DeviceHandle,
        rows: &[CostHourRow],
    ) -> Result<(), SinkError> {
        let info = self.info(device);
        self.write_series(series::cost_series(
            &device.device_id,
            &info,
            rows,
            self.config.language,
        ))
        .await
    }

    /// Reads the energy series' hours back over the days of `rows` and compares each
    /// day's sum with the day (to the rounding of its hours, 1 mWh an hour).
    async fn verify_days(
        &self,
        device: &DeviceHandle,
        rows: &[DayRow],
    ) -> Result<Vec<StoredDayMismatch>, SinkError> {
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            return Ok(Vec::new());
        };
        let info = self.info(device);
        let day_start = |date: chrono::NaiveDate| {
            date.and_hms_opt(0, 0, 0)
                .and_then(|midnight| midnight.and_local_timezone(linky_core::PARIS).earliest())
                .map(|start| start.timestamp_millis())
        };
        let (Some(from), Some(to)) = (
            day_start(first.date),
            last.date.succ_opt().and_then(day_start),
        ) else {
            return Ok(Vec::new());
        };
        let all = series::energy_series(&device.device_id, &info, &[], self.config.language);
        let held = on_socket!(self, socket => read_all(socket, &all, from, to).await)?;
        // Each day's stored mWh, per statistic.
        let mut by_day: BTreeMap<(String, chrono::NaiveDate), i64> = BTreeMap::new();
        for (id, rows) in &held {
            for (start, row) in rows {
                let Some(date) = DateTime::<Utc>::from_timestamp_millis(*start)
                    .map(|at| at.with_timezone(&linky_core::PARIS).date_naive())
                else {
                    continue;
                };
                *by_day.entry((id.clone(), date)).or_default() += row.state;
            }
        }
        let id = |what: &str| series::statistic_id(&device.device_id, what);
        let mut mismatches = Vec::new();
        for row in rows {
            let exact = row.totals.in_order().map(series::milliwatt_hours);
            let hours = i64::from(linky_core::hours_in_day(row.date, linky_core::PARIS));
            // An hour without energy has no row: a series without a row that day held 0.
            let stored = |what: &str| by_day.get(&(id(what), row.date)).copied().unwrap_or(0);
            let day_held = all
                .iter()
                .any(|series| by_day.contains_key(&(series.id.clone(), row.date)));
            let mut held = [0; 4];
            let mut expected = exact;
            for (flow, offset, shown) in [
                ("consumption", 0, info.consumption),
                ("production", 2, info.production),
            ] {
                if !shown {
                    expected[offset] = 0;
                    expected[offset + 1] = 0;
                    continue;
                }
                if info.two_tariffs {
                    held[offset] = stored(&format!("{flow}_hp"));
                    held[offset + 1] = stored(&format!("{flow}_hc"));
                } else {
                    held[offset] = stored(flow);
                    expected[offset] += expected[offset + 1];
                    expected[offset + 1] = 0;
                }
            }
            let matches = held
                .iter()
                .zip(expected)
                .all(|(held, expected)| (held - expected).abs() <= hours);
            if !matches {
                let wh = |mwh: i64| (mwh + 500).div_euclid(1000);
                mismatches.push(StoredDayMismatch {
                    date: row.date,
                    written_wh: expected.map(wh),
                    stored_wh: day_held.then(|| held.map(wh)),
                });
            }
        }
        Ok(mismatches)
    }
}

#[cfg(test)]
mod tests {
    use super::series::Unit;
    use super::*;

    #[test]
    fn metadata_takes_the_form_of_the_version() {
        let series = Series {
            id: "linky:1_cost".to_owned(),
            name: "Linky 1 cost".to_owned(),
            unit: Unit::Money,
            hours: BTreeMap::new(),
        };
        let old = HomeAssistantSink::metadata(&series, "2025.4.4");
        assert_eq!(old["has_mean"], false);
        assert!(old.get("mean_type").is_none() && old.get("unit_class").is_none());
        let new = HomeAssistantSink::metadata(&series, "2025.11.0");
        assert_eq!(
            (new["mean_type"].clone(), new["unit_class"].clone()),
            (json!(0), Value::Null)
        );
        assert!(new.get("has_mean").is_none());
        assert_eq!(
            HomeAssistantSink::metadata(&series, "2025.10.4")["has_mean"],
            false
        );
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
    }
}
