//! The Energy dashboard's preferences: a device's statistics added as grid consumption
//! (each with its cost) and grid return, every source the user already has kept.

use serde_json::{Value, json};

use super::series::{self, TEMPO_SERIES};
use super::{HomeAssistantSink, SINK, Socket};
use crate::SinkError;
use linky_core::DeviceId;

/// What [`HomeAssistantSink::add_to_energy_dashboard`] changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct EnergyDashboardChange {
    /// Statistics added as grid consumption, with the cost statistic paired with each.
    pub consumption: Vec<(String, Option<String>)>,
    /// Statistics added as grid return.
    pub production: Vec<String>,
    /// The device's statistics the dashboard had already (left as they were).
    pub already: Vec<String>,
}

impl EnergyDashboardChange {
    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.consumption.is_empty() && self.production.is_empty()
    }
}

/// The device's consumption series to show (Tempo's when it has them, else its peak and
/// off-peak or single series) and its production series, among `known`.
fn chosen(device: &DeviceId, known: &[String]) -> (Vec<String>, Vec<String>) {
    let has = |what: &str| known.contains(&series::statistic_id(device, what));
    let pick = |candidates: &[&str]| -> Vec<String> {
        candidates
            .iter()
            .filter(|what| has(what))
            .map(|what| series::statistic_id(device, what))
            .collect()
    };
    let consumption = if TEMPO_SERIES.iter().any(|what| has(what)) {
        pick(&TEMPO_SERIES)
    } else if has("consumption_hp") || has("consumption_hc") {
        pick(&["consumption_hp", "consumption_hc"])
    } else {
        pick(&["consumption"])
    };
    let production = if has("production_hp") || has("production_hc") {
        pick(&["production_hp", "production_hc"])
    } else {
        pick(&["production"])
    };
    (consumption, production)
}

impl HomeAssistantSink {
    /// The devices whose statistics (of this sink's source) Home Assistant holds, meters
    /// first.
    ///
    /// # Errors
    ///
    /// As a write.
    pub async fn devices(&self) -> Result<Vec<DeviceId>, SinkError> {
        on_socket!(self, socket => held_devices(socket).await)
    }

    /// Adds `device`'s statistics (those Home Assistant holds) to the Energy dashboard: its
    /// consumption per class as grid consumption, each with its cost statistic when there
    /// is one (Tempo's six classes when they are there, else peak and off-peak), its
    /// production as grid return. Every source already configured is kept as it is;
    /// statistics already there are not added twice.
    ///
    /// # Errors
    ///
    /// As a write; [`SinkError::Rejected`] when Home Assistant refuses the preferences.
    pub async fn add_to_energy_dashboard(
        &self,
        device: &DeviceId,
    ) -> Result<EnergyDashboardChange, SinkError> {
        on_socket!(self, socket => add_device(socket, device).await)
    }
}

/// The ids of every statistic of this sink's source Home Assistant holds.
async fn held_ids(socket: &mut Socket) -> Result<Vec<String>, SinkError> {
    let listed = socket
        .command(json!({"type": "recorder/list_statistic_ids", "statistic_type": "sum"}))
        .await?;
    Ok(listed
        .as_array()
        .into_iter()
        .flatten()
        .filter(|entry| entry["source"] == series::SOURCE)
        .filter_map(|entry| entry["statistic_id"].as_str().map(str::to_owned))
        .collect())
}

/// The devices of [`held_ids`].
async fn held_devices(socket: &mut Socket) -> Result<Vec<DeviceId>, SinkError> {
    let mut devices: Vec<DeviceId> = held_ids(socket)
        .await?
        .iter()
        .filter_map(|id| {
            let object = id.strip_prefix(&format!("{}:", series::SOURCE))?;
            // `<slug>_<what>`: the slug is one or two runs of 14 digits.
            let digits: Vec<&str> = object
                .split('_')
                .take_while(|part| part.len() == 14 && part.bytes().all(|b| b.is_ascii_digit()))
                .collect();
            digits.join("_").parse::<DeviceId>().ok()
        })
        .collect();
    devices.sort_by_key(|device| (device.is_merged(), device.to_string()));
    devices.dedup();
    Ok(devices)
}

/// [`HomeAssistantSink::add_to_energy_dashboard`] on `socket`.
async fn add_device(
    socket: &mut Socket,
    device: &DeviceId,
) -> Result<EnergyDashboardChange, SinkError> {
    let known = held_ids(socket).await?;
    let (consumption, production) = chosen(device, &known);
    if consumption.is_empty() && production.is_empty() {
        return Err(SinkError::Rejected {
            sink: SINK,
            what: format!(
                "the Energy dashboard for {device}: home assistant holds none of its statistics yet (run a sync first)"
            ),
        });
    }
    let prefs = match socket.command(json!({"type": "energy/get_prefs"})).await {
        Ok(prefs) => prefs,
        // A fresh Home Assistant has no preferences yet.
        Err(SinkError::Rejected { what, .. }) if what.contains("not_found") => {
            json!({"energy_sources": []})
        }
        Err(error) => return Err(error),
    };
    let mut sources: Vec<Value> = prefs["energy_sources"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let present = |key: &str, id: &str, sources: &[Value]| {
        sources.iter().any(|source| {
            ["flow_from", "flow_to"].iter().any(|flow| {
                source[*flow]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|entry| entry[key] == id)
            })
        })
    };
    let grid = match sources.iter().position(|source| source["type"] == "grid") {
        Some(index) => index,
        None => {
            sources.push(json!({
                "type": "grid",
                "flow_from": [],
                "flow_to": [],
                "cost_adjustment_day": 0,
            }));
            sources.len() - 1
        }
    };
    let mut change = EnergyDashboardChange::default();
    for id in consumption {
        if present("stat_energy_from", &id, &sources) {
            change.already.push(id);
            continue;
        }
        let what = id
            .rsplit_once(&format!("{}_", device.slug()))
            .map(|(_, w)| w);
        let cost = what
            .map(|what| series::statistic_id(device, &format!("cost_{what}")))
            .filter(|cost| known.contains(cost));
        push(
            &mut sources[grid],
            "flow_from",
            json!({
                "stat_energy_from": id,
                "stat_cost": cost,
                "entity_energy_price": null,
                "number_energy_price": null,
            }),
        );
        change.consumption.push((id, cost));
    }
    for id in production {
        if present("stat_energy_to", &id, &sources) {
            change.already.push(id);
            continue;
        }
        push(
            &mut sources[grid],
            "flow_to",
            json!({
                "stat_energy_to": id,
                "stat_compensation": null,
                "entity_energy_price": null,
                "number_energy_price": null,
            }),
        );
        change.production.push(id);
    }
    if !change.is_empty() {
        // `save_prefs` replaces each key it is given: only the sources, merged.
        socket
            .command(json!({"type": "energy/save_prefs", "energy_sources": sources}))
            .await?;
    }
    Ok(change)
}

fn push(source: &mut Value, flow: &str, entry: Value) {
    match source[flow].as_array_mut() {
        Some(entries) => entries.push(entry),
        None => source[flow] = json!([entry]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tempo_first_then_peak_and_off_peak() {
        let device: DeviceId = "22516914714270".parse().unwrap();
        let id = |what: &str| series::statistic_id(&device, what);
        let known = vec![id("consumption_hp"), id("consumption_hc"), id("production")];
        assert_eq!(
            chosen(&device, &known),
            (
                vec![id("consumption_hp"), id("consumption_hc")],
                vec![id("production")]
            )
        );
        let mut with_tempo = known.clone();
        with_tempo.extend(TEMPO_SERIES.iter().map(|what| id(what)));
        assert_eq!(chosen(&device, &with_tempo).0.len(), 6);
    }
}
