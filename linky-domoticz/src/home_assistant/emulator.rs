//! A stand-in for Home Assistant's websocket API, on 127.0.0.1: the handshake, statistics
//! imports (with the metadata each version takes), reads by hour, metadata, the Energy
//! dashboard's preferences, and the faults the sink must survive (a recorder slow to
//! commit, a connection closed in the middle of an import). Public, like the Domoticz
//! emulator, so that other tools test against it too; the real thing is tested in the
//! workspace's own tests.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::MEAN_TYPE_SINCE;
use super::series::valid_statistic_id;
use super::socket::parse_version;

/// One statistic as the emulator holds it.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct EmulatedStatistic {
    /// The metadata of its last import.
    pub metadata: Value,
    /// Its rows by start (ms since the epoch): state and sum.
    pub rows: BTreeMap<i64, (f64, f64)>,
}

/// What the emulator holds and how it misbehaves (change it with
/// [`HomeAssistantEmulator::with_state`]).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct HomeAssistantEmulatorState {
    /// The version it announces (`2025.4.4`): it decides the metadata form accepted.
    pub version: String,
    /// The access token it accepts.
    pub token: String,
    /// The statistics, by id.
    pub statistics: BTreeMap<String, EmulatedStatistic>,
    /// The Energy dashboard's preferences, once saved.
    pub prefs: Option<Value>,
    /// What Home Assistant would log as deprecated (an import without `mean_type`...).
    pub warnings: Vec<String>,
    /// Import commands received.
    pub imports: usize,
    /// Rows imported (rewrites included).
    pub rows_imported: usize,
    /// A slow recorder: an import becomes readable only after this many reads.
    pub commit_after_reads: usize,
    /// Closes the connection, without answering or applying it, when one of these imports
    /// arrives (1 for the first).
    pub close_at_imports: Vec<usize>,
    /// Imports answered but not committed yet.
    pending: Vec<Pending>,
}

/// An import answered but not committed: reads left, id, metadata, rows (start, state,
/// sum).
type Pending = (usize, String, Value, Vec<(i64, f64, f64)>);

/// A Home Assistant stand-in on 127.0.0.1 (see the module documentation).
#[derive(Debug)]
pub struct HomeAssistantEmulator {
    address: std::net::SocketAddr,
    state: Arc<Mutex<HomeAssistantEmulatorState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HomeAssistantEmulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The largest frame Home Assistant reads (aiohttp's default): a larger one closes the
/// connection.
const MAX_FRAME: usize = 4 * 1024 * 1024;

impl HomeAssistantEmulator {
    /// Starts an emulator announcing `version`, accepting the token `emulated-token`.
    ///
    /// # Panics
    ///
    /// When no port of 127.0.0.1 can be bound (a test machine without loopback).
    pub async fn start(version: &str) -> HomeAssistantEmulator {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port on 127.0.0.1");
        let address = listener.local_addr().expect("a bound address");
        let state = Arc::new(Mutex::new(HomeAssistantEmulatorState {
            version: version.to_owned(),
            token: "emulated-token".to_owned(),
            ..HomeAssistantEmulatorState::default()
        }));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(connection(stream, shared.clone()));
            }
        });
        HomeAssistantEmulator {
            address,
            state,
            task,
        }
    }

    /// Its address, as a user writes it (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The token it accepts.
    pub fn token(&self) -> String {
        self.with_state(|state| state.token.clone())
    }

    /// Reads or changes what it holds.
    pub fn with_state<T>(&self, change: impl FnOnce(&mut HomeAssistantEmulatorState) -> T) -> T {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        change(&mut state)
    }
}

fn error(id: &Value, code: &str, message: &str) -> Value {
    json!({"id": id, "type": "result", "success": false,
           "error": {"code": code, "message": message}})
}

fn success(id: &Value, result: Value) -> Value {
    json!({"id": id, "type": "result", "success": true, "result": result})
}

async fn connection(stream: tokio::net::TcpStream, state: Arc<Mutex<HomeAssistantEmulatorState>>) {
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME))
        .max_frame_size(Some(MAX_FRAME));
    let Ok(mut socket) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await
    else {
        return;
    };
    let lock = || {
        state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    let version = lock().version.clone();
    let hello = json!({"type": "auth_required", "ha_version": version});
    if socket.send(Message::text(hello.to_string())).await.is_err() {
        return;
    }
    let Some(Ok(Message::Text(auth))) = socket.next().await else {
        return;
    };
    let auth: Value = serde_json::from_str(&auth).unwrap_or_default();
    let token = lock().token.clone();
    if auth["type"] != "auth" || auth["access_token"] != token.as_str() {
        let invalid =
            json!({"type": "auth_invalid", "message": "Invalid access token or password"});
        let _ = socket.send(Message::text(invalid.to_string())).await;
        let _ = socket.close(None).await;
        return;
    }
    let ok = json!({"type": "auth_ok", "ha_version": version});
    if socket.send(Message::text(ok.to_string())).await.is_err() {
        return;
    }
    let mut last_id = 0;
    while let Some(Ok(frame)) = socket.next().await {
        let Message::Text(text) = frame else {
            continue;
        };
        let command: Value = serde_json::from_str(&text).unwrap_or_default();
        let id = command["id"].clone();
        let answer = match id.as_u64() {
            Some(number) if number > last_id => {
                last_id = number;
                let reply = answer(&mut lock(), &command);
                match reply {
                    Some(answer) => answer,
                    None => {
                        let _ = socket.close(None).await;
                        return;
                    }
                }
            }
            _ => error(&id, "id_reuse", "Identifier values have to increase."),
        };
        if socket
            .send(Message::text(answer.to_string()))
            .await
            .is_err()
        {
            return;
        }
    }
}

/// The answer to one command, or `None` to close the connection without one.
fn answer(state: &mut HomeAssistantEmulatorState, command: &Value) -> Option<Value> {
    let id = &command["id"];
    Some(match command["type"].as_str().unwrap_or_default() {
        "ping" => json!({"id": id, "type": "pong"}),
        "recorder/import_statistics" => {
            state.imports += 1;
            if state.close_at_imports.contains(&state.imports) {
                return None;
            }
            match import(state, command) {
                Ok(()) => success(id, Value::Null),
                Err((code, message)) => error(id, code, &message),
            }
        }
        "recorder/statistics_during_period" => {
            // A slow recorder commits as it is read.
            for pending in &mut state.pending {
                pending.0 = pending.0.saturating_sub(1);
            }
            let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut state.pending)
                .into_iter()
                .partition(|p| p.0 == 0);
            state.pending = waiting;
            for (_, statistic, metadata, rows) in ready {
                commit(state, &statistic, metadata, rows);
            }
            match during_period(state, command) {
                Ok(result) => success(id, result),
                Err(message) => error(id, "invalid_format", &message),
            }
        }
        "recorder/get_statistics_metadata" | "recorder/list_statistic_ids" => {
            let wanted: Option<Vec<&str>> = command["statistic_ids"]
                .as_array()
                .map(|ids| ids.iter().filter_map(Value::as_str).collect());
            let listed: Vec<Value> = state
                .statistics
                .iter()
                .filter(|(statistic, _)| {
                    wanted
                        .as_ref()
                        .is_none_or(|ids| ids.contains(&statistic.as_str()))
                })
                .map(|(statistic, held)| {
                    let unit = &held.metadata["unit_of_measurement"];
                    json!({
                        "statistic_id": statistic,
                        "source": held.metadata["source"],
                        "name": held.metadata["name"],
                        "statistics_unit_of_measurement": unit,
                        "display_unit_of_measurement": unit,
                        "has_sum": true,
                        "has_mean": false,
                        "mean_type": 0,
                        "unit_class": if unit == "Wh" { json!("energy") } else { Value::Null },
                    })
                })
                .collect();
            success(id, Value::Array(listed))
        }
        "recorder/clear_statistics" => {
            for statistic in command["statistic_ids"].as_array().into_iter().flatten() {
                if let Some(statistic) = statistic.as_str() {
                    state.statistics.remove(statistic);
                }
            }
            success(id, Value::Null)
        }
        "recorder/info" => success(
            id,
            json!({"backlog": state.pending.len(), "max_backlog": 65000,
                   "migration_in_progress": false, "recording": true, "thread_running": true}),
        ),
        "energy/get_prefs" => match &state.prefs {
            Some(prefs) => success(id, prefs.clone()),
            None => error(id, "not_found", "No prefs"),
        },
        "energy/save_prefs" => {
            let entries_complete = command["energy_sources"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|source| source["flow_from"].as_array().cloned().unwrap_or_default())
                .all(|entry| {
                    entry.get("entity_energy_price").is_some()
                        && entry.get("number_energy_price").is_some()
                });
            if !entries_complete {
                return Some(error(id, "unknown_error", "Unknown error"));
            }
            let mut prefs = state
                .prefs
                .clone()
                .unwrap_or_else(|| json!({"energy_sources": [], "device_consumption": []}));
            for key in ["energy_sources", "device_consumption"] {
                if let Some(value) = command.get(key) {
                    prefs[key] = value.clone();
                }
            }
            state.prefs = Some(prefs.clone());
            success(id, prefs)
        }
        _ => error(id, "unknown_command", "Unknown command."),
    })
}

/// An instant with an offset, as Home Assistant reads `start`: ms since the epoch.
fn instant(value: &Value) -> Result<i64, String> {
    let text = value.as_str().ok_or("Invalid datetime specified")?;
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|at| at.timestamp_millis())
        .map_err(|_| {
            if chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").is_ok() {
                "Naive timestamp: no or invalid timezone info provided".to_owned()
            } else {
                "Invalid datetime specified".to_owned()
            }
        })
}

type Refusal = (&'static str, String);

fn import(state: &mut HomeAssistantEmulatorState, command: &Value) -> Result<(), Refusal> {
    let metadata = &command["metadata"];
    let newer = parse_version(&state.version).is_some_and(|v| v >= MEAN_TYPE_SINCE);
    let invalid = |message: &str| ("invalid_format", message.to_owned());
    if newer {
        for key in ["mean_type", "unit_class"] {
            if metadata.get(key).is_none() {
                state.warnings.push(format!(
                    "WS command recorder/import_statistics called without specifying {key} in metadata, \
                     this is deprecated and will stop working in HA Core 2026.11"
                ));
            }
        }
        if metadata["unit_class"] == "energy"
            && !matches!(
                metadata["unit_of_measurement"].as_str(),
                Some("Wh" | "kWh" | "MWh")
            )
        {
            return Err((
                "home_assistant_error",
                format!(
                    "Unsupported unit_of_measurement '{}' for unit_class 'energy'",
                    metadata["unit_of_measurement"]
                ),
            ));
        }
    } else {
        for key in ["mean_type", "unit_class"] {
            if metadata.get(key).is_some() {
                return Err(invalid(&format!(
                    "extra keys not allowed @ data['metadata']['{key}']"
                )));
            }
        }
        if metadata.get("has_mean").is_none() {
            return Err(invalid(
                "required key not provided @ data['metadata']['has_mean']",
            ));
        }
    }
    let statistic = metadata["statistic_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if !valid_statistic_id(&statistic) {
        return Err((
            "home_assistant_error",
            format!("Invalid statistic_id {statistic}"),
        ));
    }
    if statistic.split(':').next() != metadata["source"].as_str() {
        return Err((
            "home_assistant_error",
            format!("Invalid source {}", metadata["source"]),
        ));
    }
    let mut rows = Vec::new();
    for row in command["stats"].as_array().into_iter().flatten() {
        let start = instant(&row["start"]).map_err(|message| invalid(&message))?;
        if start.rem_euclid(3_600_000) != 0 {
            return Err((
                "home_assistant_error",
                "Invalid timestamp: timestamps must be from the top of the hour (minutes and seconds = 0)"
                    .to_owned(),
            ));
        }
        let number = |key: &str| -> Result<f64, Refusal> {
            row[key].as_f64().ok_or_else(|| {
                invalid(&format!(
                    "expected float for dictionary value @ data['stats'][0]['{key}']"
                ))
            })
        };
        rows.push((start, number("state")?, number("sum")?));
    }
    state.rows_imported += rows.len();
    if state.commit_after_reads > 0 {
        state
            .pending
            .push((state.commit_after_reads, statistic, metadata.clone(), rows));
    } else {
        commit(state, &statistic, metadata.clone(), rows);
    }
    Ok(())
}

fn commit(
    state: &mut HomeAssistantEmulatorState,
    statistic: &str,
    metadata: Value,
    rows: Vec<(i64, f64, f64)>,
) {
    let held = state.statistics.entry(statistic.to_owned()).or_default();
    // Every import overwrites the metadata; rows are upserted by start.
    held.metadata = metadata;
    for (start, value, sum) in rows {
        held.rows.insert(start, (value, sum));
    }
}

fn during_period(state: &HomeAssistantEmulatorState, command: &Value) -> Result<Value, String> {
    if command["period"] != "hour" {
        return Err("the emulator reads by hour only".to_owned());
    }
    let from = instant(&command["start_time"])?;
    let to = match command.get("end_time") {
        Some(end) => instant(end)?,
        None => i64::MAX,
    };
    let mut result = serde_json::Map::new();
    for statistic in command["statistic_ids"].as_array().into_iter().flatten() {
        let Some(held) = statistic.as_str().and_then(|s| state.statistics.get(s)) else {
            continue;
        };
        let mut previous = held
            .rows
            .range(..from)
            .next_back()
            .map_or(0.0, |(_, (_, sum))| *sum);
        let rows: Vec<Value> = held
            .rows
            .range(from..to)
            .map(|(start, (value, sum))| {
                let change = sum - previous;
                previous = *sum;
                json!({"start": start, "end": start + 3_600_000, "state": value, "sum": sum, "change": change})
            })
            .collect();
        if !rows.is_empty() {
            result.insert(
                statistic.as_str().unwrap_or_default().to_owned(),
                Value::Array(rows),
            );
        }
    }
    Ok(Value::Object(result))
}
