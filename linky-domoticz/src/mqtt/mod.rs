//! MQTT with Home Assistant's discovery: the meter's live values and the sync's day data.
//!
//! [`MqttSink`] keeps one connection to a broker (rumqttc's event loop in a task of its
//! own) and publishes:
//!
//! - **discovery configs**, retained, QoS 1, on
//!   `<discovery prefix>/<sensor|binary_sensor>/linky_<id>/<key>/config`: one per entity,
//!   with a device block, a `unique_id` and `object_id` (`linky_<id>_<key>`) and a
//!   `default_entity_id` (`sensor.linky_<id>_<key>`), so that every Home Assistant from
//!   2025.4 to today gives the same entity ids; they never change (a user's Energy
//!   dashboard history hangs on them);
//! - **live values** ([`MqttSink::publish_live`], from a [`LiveReading`]), one state topic
//!   per entity, `<base>/<id>/<key>`, retained: energy indexes per class in kWh
//!   (`total_increasing`, published only from a complete set of indexes and never below
//!   the last one published: Home Assistant takes a lower value for a meter reset),
//!   apparent power in VA, currents, voltages, the tariff running, Tempo's colours today
//!   and tomorrow, overpower as a binary sensor. Powers go out when they change, at most
//!   once per [`MqttConfig::power_interval`]; indexes every
//!   [`MqttConfig::index_interval`];
//! - **the sync's day data** (as a [`Sink`]): the last day's energy per class and its
//!   cost, and Tempo's colours and season counts, as informative sensors without a state
//!   class, dated by an attribute: a day's energy known the next morning must not be
//!   taken for a live counter (Home Assistant would book it on the day it arrives). Dated
//!   energy for the Energy dashboard is the statistics sink's job.
//! - **availability**: `<base>/<availability id>/status`, `online` when connected and
//!   `offline` as the last will (retained, QoS 1) and on [`MqttSink::shutdown`].
//!
//! A lost broker is reconnected with backoff (1 s doubling to 30 s); on every connection
//! and whenever Home Assistant announces itself (`<discovery prefix>/status` = `online`),
//! the configs, the availability and the last value of every state are published again,
//! so a broker restarted without persistence loses nothing a user would see. Publishing
//! never waits for the broker: a reading is not held up by a broker that is down.

mod discovery;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use linky_core::{
    ClassIndexes, DashboardRow, DayColour, DayRow, DeviceId, Energy, HourRow, LiveReading, Money,
};
use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, LastWill, MqttOptions, Packet, QoS,
};
use serde_json::json;
use tokio::sync::watch;

use crate::{
    ColourForecast, CostDayRow, DeviceHandle, DeviceInfo, NameLanguage, Password, Sink, SinkError,
};
use discovery::{Entity, Topics, class_name, topic_id, words};

const SINK: &str = "mqtt";

/// Where and how [`MqttSink`] publishes.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MqttConfig {
    /// The broker's host.
    pub host: String,
    /// The broker's port (1883).
    pub port: u16,
    /// User name and password, when the broker asks for them.
    pub credentials: Option<(String, Password)>,
    /// Home Assistant's discovery prefix (`homeassistant`, as it is by default).
    pub discovery_prefix: String,
    /// The first part of state topics (`linky`).
    pub base_topic: String,
    /// The id of the availability topic `<base>/<id>/status`, which every entity this
    /// client publishes points to (a live reader uses its meter's address).
    pub availability_id: String,
    /// The MQTT client id: one per process and meter (a second connection with the same
    /// id makes the broker drop the first).
    pub client_id: String,
    /// The language of entity names.
    pub language: NameLanguage,
    /// The shortest time between two publications of a changing power, current or
    /// voltage (1 s).
    pub power_interval: Duration,
    /// The time between two publications of the indexes (30 s).
    pub index_interval: Duration,
}

impl MqttConfig {
    /// A broker at `host:port`, with the defaults: prefix `homeassistant`, base `linky`,
    /// availability id and client id `linky`, French names, powers at most once a second,
    /// indexes every 30 s.
    pub fn new(host: impl Into<String>, port: u16) -> MqttConfig {
        MqttConfig {
            host: host.into(),
            port,
            credentials: None,
            discovery_prefix: "homeassistant".to_owned(),
            base_topic: "linky".to_owned(),
            availability_id: "linky".to_owned(),
            client_id: "linky".to_owned(),
            language: NameLanguage::French,
            power_interval: Duration::from_secs(1),
            index_interval: Duration::from_secs(30),
        }
    }

    /// Reads `mqtt://host[:port]` (the port defaults to 1883).
    ///
    /// # Errors
    ///
    /// [`SinkError::Config`] for another scheme (TLS is not built in) or a bad port.
    pub fn from_url(url: &str) -> Result<MqttConfig, SinkError> {
        let rest = url
            .strip_prefix("mqtt://")
            .ok_or_else(|| SinkError::Config {
                detail: format!(
                    "MQTT url {url:?}: expected mqtt://host[:port] (TLS is not built in)"
                ),
            })?;
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse().map_err(|_| SinkError::Config {
                    detail: format!("MQTT url {url:?}: port {port:?} is not a number"),
                })?,
            ),
            None => (rest, 1883),
        };
        if host.is_empty() {
            return Err(SinkError::Config {
                detail: format!("MQTT url {url:?} names no host"),
            });
        }
        Ok(MqttConfig::new(host, port))
    }

    /// With a user name and password.
    pub fn with_credentials(mut self, user: impl Into<String>, password: Password) -> MqttConfig {
        self.credentials = Some((user.into(), password));
        self
    }

    /// With the availability and client ids made of `id` (`linky-<id>` for the client).
    pub fn for_meter(mut self, id: &str) -> MqttConfig {
        self.availability_id = topic_id(id);
        self.client_id = format!("linky-{}", topic_id(id));
        self
    }

    fn availability_topic(&self) -> String {
        format!(
            "{}/{}/status",
            self.base_topic,
            topic_id(&self.availability_id)
        )
    }

    fn topics(&self, device: &str) -> Topics {
        Topics {
            discovery_prefix: self.discovery_prefix.clone(),
            base: self.base_topic.clone(),
            device: topic_id(device),
            availability: self.availability_topic(),
        }
    }
}

/// What has been published, to publish again after a reconnection or Home Assistant's
/// announcement: configs first, then states.
#[derive(Debug, Default)]
struct Published {
    configs: BTreeMap<String, String>,
    states: BTreeMap<String, (String, QoS)>,
    /// Per live state topic: the last value sent and when (meter time).
    live: HashMap<String, (String, DateTime<Utc>)>,
    /// Per index topic: the last index published, Wh.
    indexes: HashMap<String, u64>,
    /// Entities whose config was published, by config topic.
    announced: HashMap<String, ()>,
    /// Devices' descriptions from the sync.
    devices: HashMap<String, DeviceInfo>,
}

/// Whether the connection is up, and what refused it, for [`MqttSink::connect`].
#[derive(Debug, Clone, PartialEq)]
enum Link {
    Connecting,
    Up,
    Down(String),
    Refused(String),
}

/// Publishes to an MQTT broker for Home Assistant's discovery (see the module docs).
#[derive(Debug, Clone)]
pub struct MqttSink {
    config: Arc<MqttConfig>,
    client: AsyncClient,
    published: Arc<Mutex<Published>>,
    link: watch::Receiver<Link>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl MqttSink {
    /// Connects to the broker and waits for it to accept (at most 10 s).
    ///
    /// # Errors
    ///
    /// [`SinkError::Unauthorized`] when the broker refuses the credentials (or asks for
    /// some), [`SinkError::Unavailable`] when it cannot be reached.
    pub async fn connect(config: MqttConfig) -> Result<MqttSink, SinkError> {
        let mut options =
            MqttOptions::new(config.client_id.clone(), config.host.clone(), config.port);
        options.set_keep_alive(Duration::from_secs(30));
        options.set_clean_session(true);
        options.set_max_packet_size(256 * 1024, 256 * 1024);
        options.set_last_will(LastWill::new(
            config.availability_topic(),
            "offline",
            QoS::AtLeastOnce,
            true,
        ));
        if let Some((user, password)) = &config.credentials {
            options.set_credentials(user.clone(), password.expose());
        }
        let (client, mut events) = AsyncClient::new(options, 4096);
        let published = Arc::new(Mutex::new(Published::default()));
        let (link_tx, link) = watch::channel(Link::Connecting);
        let config = Arc::new(config);
        let task = {
            let client = client.clone();
            let published = published.clone();
            let config = config.clone();
            tokio::spawn(async move {
                let mut pause = Duration::from_secs(1);
                loop {
                    match events.poll().await {
                        Ok(Event::Incoming(Packet::ConnAck(_))) => {
                            pause = Duration::from_secs(1);
                            tracing::info!(host = %config.host, port = config.port, "mqtt connected");
                            let birth = format!("{}/status", config.discovery_prefix);
                            let _ = client.try_subscribe(birth, QoS::AtLeastOnce);
                            // What was published before, again, before the link is said to
                            // be up: a value published once the caller sees it up is not
                            // sent twice.
                            republish(&client, &config, &published);
                            let _ = link_tx.send(Link::Up);
                        }
                        Ok(Event::Incoming(Packet::Publish(message))) => {
                            let birth = format!("{}/status", config.discovery_prefix);
                            if message.topic == birth && message.payload.as_ref() == b"online" {
                                tracing::info!(
                                    "home assistant announced itself: configs and states again"
                                );
                                republish(&client, &config, &published);
                            }
                        }
                        Ok(_) => {}
                        Err(error) => {
                            let refused = refusal(&error);
                            let detail = format!("{}:{}: {error}", config.host, config.port);
                            let _ = link_tx.send(match refused {
                                true => Link::Refused(detail.clone()),
                                false => Link::Down(detail.clone()),
                            });
                            if matches!(error, ConnectionError::RequestsDone) {
                                return;
                            }
                            tracing::warn!(%detail, retry_in = ?pause, "mqtt connection lost");
                            tokio::time::sleep(pause).await;
                            pause = (pause * 2).min(Duration::from_secs(30));
                        }
                    }
                }
            })
        };
        let sink = MqttSink {
            config,
            client,
            published,
            link,
            task: Arc::new(task),
        };
        let mut link = sink.link.clone();
        let verdict = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let state = link.borrow_and_update().clone();
                match state {
                    Link::Up | Link::Refused(_) | Link::Down(_) => return state,
                    Link::Connecting => {
                        if link.changed().await.is_err() {
                            return Link::Down("the connection task ended".to_owned());
                        }
                    }
                }
            }
        })
        .await;
        match verdict {
            Ok(Link::Up) => Ok(sink),
            Ok(Link::Refused(detail)) => {
                sink.task.abort();
                Err(SinkError::Unauthorized { sink: SINK, detail })
            }
            Ok(Link::Down(detail)) => {
                sink.task.abort();
                Err(SinkError::Unavailable { sink: SINK, detail })
            }
            Ok(Link::Connecting) | Err(_) => {
                sink.task.abort();
                Err(SinkError::Unavailable {
                    sink: SINK,
                    detail: format!(
                        "{}:{}: no answer in 10 s",
                        sink.config.host, sink.config.port
                    ),
                })
            }
        }
    }

    /// Whether the broker connection is up now.
    pub fn is_connected(&self) -> bool {
        *self.link.borrow() == Link::Up
    }

    /// Says `offline` on the availability topic and disconnects (the last will is for a
    /// process that dies without saying it).
    pub async fn shutdown(&self) {
        let _ = self
            .client
            .publish(
                self.config.availability_topic(),
                QoS::AtLeastOnce,
                true,
                "offline",
            )
            .await;
        self.disconnect().await;
    }

    /// Disconnects cleanly, leaving the availability as it is (`online`, retained): what a
    /// one-shot sync does, whose day values stay valid after it exits (a process that
    /// dies instead leaves its last will, `offline`).
    pub async fn disconnect(&self) {
        let _ = self.client.disconnect().await;
        // Give the event loop the time to send what is queued, then the disconnection.
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            let mut link = self.link.clone();
            while *link.borrow_and_update() == Link::Up {
                if link.changed().await.is_err() {
                    break;
                }
            }
        })
        .await;
        self.task.abort();
    }

    /// The configuration.
    pub fn config(&self) -> &MqttConfig {
        &self.config
    }

    fn send(&self, topic: String, payload: String, qos: QoS, retain: bool) {
        if let Err(error) = self.client.try_publish(topic.clone(), qos, retain, payload) {
            // Kept in the cache: published again once the connection is back.
            tracing::debug!(%topic, %error, "mqtt publish queued for the next connection");
        }
    }

    /// Publishes `entities`' configs for `device` when not yet published.
    fn announce(&self, topics: &Topics, device_name: &str, model: &str, entities: &[Entity]) {
        for entity in entities {
            let topic = topics.config(entity);
            let payload = topics
                .config_payload(entity, device_name, model)
                .to_string();
            let fresh = {
                let Ok(mut published) = self.published.lock() else {
                    return;
                };
                published.configs.insert(topic.clone(), payload.clone());
                published.announced.insert(topic.clone(), ()).is_none()
            };
            if fresh {
                self.send(topic, payload, QoS::AtLeastOnce, true);
            }
        }
    }

    /// Publishes a retained state and remembers it.
    fn state(&self, topic: String, payload: String, qos: QoS) {
        if let Ok(mut published) = self.published.lock() {
            published
                .states
                .insert(topic.clone(), (payload.clone(), qos));
        }
        self.send(topic, payload, qos, true);
    }

    /// Publishes what a live reading of the meter says (see the module docs): the
    /// entities' configs the first time they have a value, then each value when due.
    ///
    /// # Errors
    ///
    /// None today: a broker that is down is caught up with when it is back. The result
    /// leaves room for a sink that refuses.
    pub fn publish_live(&self, reading: &LiveReading) -> Result<(), SinkError> {
        let language = self.config.language;
        let topics = self.config.topics(&reading.meter);
        let name = format!("Linky {}", reading.meter);
        let mut due: Vec<(Entity, String, bool)> = Vec::new();
        // Indexes: a complete set, never below the last published.
        if let Some(indexes) = &reading.indexes {
            for (key, value) in indexes.keys().iter().zip(indexes.values()) {
                let entity = Entity::index(
                    format!("index_{key}"),
                    format!(
                        "{} {}",
                        words(language, "Index", "Index"),
                        class_name(language, key)
                    ),
                );
                due.push((entity, kwh(*value), true));
            }
        }
        if let Some(total) = reading.total {
            due.push((
                Entity::index("index_total", words(language, "Index total", "Total index")),
                kwh(total),
                true,
            ));
        }
        if let Some(injected) = reading.injected {
            due.push((
                Entity::index(
                    "index_injected",
                    words(language, "Index injection", "Injected index"),
                ),
                kwh(injected),
                true,
            ));
        }
        let mut measure = |key: &str,
                           french: &str,
                           english: &str,
                           class: &'static str,
                           unit: &'static str,
                           value: Option<String>| {
            if let Some(value) = value {
                due.push((
                    Entity::measurement(key, words(language, french, english), class, unit),
                    value,
                    false,
                ));
            }
        };
        measure(
            "apparent_power",
            "Puissance apparente",
            "Apparent power",
            "apparent_power",
            "VA",
            reading.apparent_power.map(|v| v.to_string()),
        );
        measure(
            "injected_power",
            "Puissance injectée",
            "Injected power",
            "apparent_power",
            "VA",
            reading.injected_power.map(|v| v.to_string()),
        );
        for phase in 0..3 {
            let suffix = if reading.currents[1].is_some() || reading.voltages[1].is_some() {
                format!(" L{}", phase + 1)
            } else {
                String::new()
            };
            measure(
                &format!("current_l{}", phase + 1),
                &format!("Intensité{suffix}"),
                &format!("Current{suffix}"),
                "current",
                "A",
                reading.currents[phase].map(|v| v.to_string()),
            );
            measure(
                &format!("voltage_l{}", phase + 1),
                &format!("Tension{suffix}"),
                &format!("Voltage{suffix}"),
                "voltage",
                "V",
                reading.voltages[phase].map(|v| v.to_string()),
            );
        }
        if let Some(label) = &reading.tariff_label {
            due.push((
                Entity::text(
                    "tariff",
                    words(language, "Tarif en cours", "Current tariff"),
                ),
                label.clone(),
                false,
            ));
        }
        let tempo = matches!(reading.indexes, Some(ClassIndexes::Tempo(_)))
            || reading.tempo_today.is_some();
        if tempo {
            due.push((
                Entity::colour(
                    "tempo_today",
                    words(language, "Couleur Tempo du jour", "Tempo colour today"),
                ),
                colour_word(reading.tempo_today),
                false,
            ));
            due.push((
                Entity::colour(
                    "tempo_tomorrow",
                    words(language, "Couleur Tempo de demain", "Tempo colour tomorrow"),
                ),
                colour_word(reading.tempo_tomorrow),
                false,
            ));
        }
        due.push((
            Entity::problem(
                "overpower",
                words(language, "Dépassement de puissance", "Overpower"),
            ),
            if reading.overpower { "ON" } else { "OFF" }.to_owned(),
            false,
        ));
        let entities: Vec<Entity> = due.iter().map(|(entity, _, _)| entity.clone()).collect();
        self.announce(&topics, &name, "Linky (TIC)", &entities);
        for (entity, value, is_index) in due {
            let topic = topics.state(&entity.key);
            let send = {
                let Ok(mut published) = self.published.lock() else {
                    return Ok(());
                };
                let last = published.live.get(&topic).cloned();
                let interval = if is_index {
                    self.config.index_interval
                } else {
                    self.config.power_interval
                };
                let interval =
                    chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::MAX);
                let due_now = match &last {
                    None => true,
                    Some((_, at)) if reading.at < *at => false,
                    Some((last_value, at)) => {
                        let waited = reading.at - *at >= interval;
                        if is_index {
                            waited
                        } else {
                            waited && *last_value != value
                        }
                    }
                };
                let monotone = !is_index || {
                    let wh = wh_of(&value);
                    match published.indexes.get(&topic) {
                        Some(&last) if wh < last => false,
                        _ => {
                            published.indexes.insert(topic.clone(), wh);
                            true
                        }
                    }
                };
                if due_now && monotone {
                    published
                        .live
                        .insert(topic.clone(), (value.clone(), reading.at));
                    true
                } else {
                    false
                }
            };
            if send {
                let qos = if is_index {
                    QoS::AtLeastOnce
                } else {
                    QoS::AtMostOnce
                };
                self.state(topic, value, qos);
            }
        }
        Ok(())
    }

    fn day_entities(&self, device: &DeviceHandle) -> (Topics, String) {
        let topics = self.config.topics(&device.key);
        (topics, format!("Linky {}", device.device_id))
    }
}

/// Whether a connection error is the broker refusing the client (credentials).
fn refusal(error: &ConnectionError) -> bool {
    matches!(
        error,
        ConnectionError::ConnectionRefused(
            ConnectReturnCode::NotAuthorized | ConnectReturnCode::BadUserNamePassword
        )
    )
}

/// Everything again: configs, availability, states.
fn republish(client: &AsyncClient, config: &MqttConfig, published: &Mutex<Published>) {
    let Ok(published) = published.lock() else {
        return;
    };
    for (topic, payload) in &published.configs {
        let _ = client.try_publish(topic.clone(), QoS::AtLeastOnce, true, payload.clone());
    }
    let _ = client.try_publish(
        config.availability_topic(),
        QoS::AtLeastOnce,
        true,
        "online",
    );
    for (topic, (payload, qos)) in &published.states {
        let _ = client.try_publish(topic.clone(), *qos, true, payload.clone());
    }
}

/// Wh as kWh with three decimals (exact).
fn kwh(wh: u64) -> String {
    format!("{}.{:03}", wh / 1000, wh % 1000)
}

/// The Wh of a kWh text written by [`kwh`].
fn wh_of(text: &str) -> u64 {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    whole.parse::<u64>().unwrap_or(0) * 1000 + fraction.parse::<u64>().unwrap_or(0)
}

/// An energy in kWh with three decimals (to the Wh, rounded).
fn energy_kwh(energy: Energy) -> String {
    let wh = energy.round_wh();
    let sign = if wh < 0 { "-" } else { "" };
    format!("{sign}{}", kwh(wh.unsigned_abs()))
}

fn colour_word(colour: Option<DayColour>) -> String {
    match colour {
        Some(DayColour::Blue) => "blue",
        Some(DayColour::White) => "white",
        Some(DayColour::Red) => "red",
        None => "unknown",
    }
    .to_owned()
}

fn money_text(money: Money) -> String {
    format!("{:.2}", money.as_euros())
}

#[async_trait]
impl Sink for MqttSink {
    async fn ensure_device(&self, device_id: &DeviceId) -> Result<DeviceHandle, SinkError> {
        Ok(DeviceHandle {
            device_id: device_id.clone(),
            key: device_id.slug(),
        })
    }

    /// Hours are not published: MQTT keeps no history (the statistics sink does).
    async fn write_hours(
        &self,
        _device: &DeviceHandle,
        _rows: &[HourRow],
    ) -> Result<(), SinkError> {
        Ok(())
    }

    /// The last day's energies, as informative sensors dated by an attribute.
    async fn write_days(&self, device: &DeviceHandle, rows: &[DayRow]) -> Result<(), SinkError> {
        let Some(day) = rows.iter().max_by_key(|row| row.date) else {
            return Ok(());
        };
        let language = self.config.language;
        let info = self
            .published
            .lock()
            .ok()
            .and_then(|published| published.devices.get(&device.key).cloned())
            .unwrap_or_else(|| DeviceInfo::new(true, true, false));
        let (topics, name) = self.day_entities(device);
        let day_word = words(
            language,
            "Consommation de la veille",
            "Yesterday's consumption",
        );
        let mut values: Vec<(Entity, String)> = Vec::new();
        if info.consumption {
            if info.two_tariffs {
                for (index, key) in ["hp", "hc"].iter().enumerate() {
                    values.push((
                        Entity::day_energy(
                            format!("day_consumption_{key}"),
                            format!("{day_word}, {}", class_name(language, key)),
                        ),
                        energy_kwh(day.totals.consumption[index]),
                    ));
                }
            } else {
                values.push((
                    Entity::day_energy("day_consumption", day_word.clone()),
                    energy_kwh(day.totals.consumption[0] + day.totals.consumption[1]),
                ));
            }
        }
        if info.production {
            values.push((
                Entity::day_energy(
                    "day_production",
                    words(
                        language,
                        "Production de la veille",
                        "Yesterday's production",
                    ),
                ),
                energy_kwh(day.totals.production[0] + day.totals.production[1]),
            ));
        }
        let entities: Vec<Entity> = values.iter().map(|(entity, _)| entity.clone()).collect();
        self.announce(&topics, &name, "Linky (Enedis)", &entities);
        let attributes = json!({"date": day.date.to_string()}).to_string();
        for (entity, value) in values {
            self.state(
                topics.attributes(&entity.key),
                attributes.clone(),
                QoS::AtLeastOnce,
            );
            self.state(topics.state(&entity.key), value, QoS::AtLeastOnce);
        }
        Ok(())
    }

    /// Not published: the dashboard's figures are the Domoticz device's.
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

    async fn describe_device(
        &self,
        device: &DeviceHandle,
        info: &DeviceInfo,
    ) -> Result<(), SinkError> {
        if let Ok(mut published) = self.published.lock() {
            published.devices.insert(device.key.clone(), info.clone());
        }
        Ok(())
    }

    /// The last day's cost, dated, with its offer.
    async fn write_cost_days(
        &self,
        device: &DeviceHandle,
        rows: &[CostDayRow],
    ) -> Result<(), SinkError> {
        let Some(day) = rows.iter().max_by_key(|row| row.date) else {
            return Ok(());
        };
        let (topics, name) = self.day_entities(device);
        let entity = Entity::day_cost(
            "day_cost",
            words(
                self.config.language,
                "Coût de la veille",
                "Yesterday's cost",
            ),
        );
        self.announce(
            &topics,
            &name,
            "Linky (Enedis)",
            std::slice::from_ref(&entity),
        );
        let attributes = json!({"date": day.date.to_string(), "offer": day.offer}).to_string();
        self.state(topics.attributes(&entity.key), attributes, QoS::AtLeastOnce);
        self.state(
            topics.state(&entity.key),
            money_text(day.cost),
            QoS::AtLeastOnce,
        );
        Ok(())
    }

    /// Today's and tomorrow's colours and the season's counts, on a device of their own
    /// (`linky_tempo`).
    async fn write_colour_forecast(&self, forecast: &ColourForecast) -> Result<(), SinkError> {
        let language = self.config.language;
        let topics = self.config.topics("tempo");
        let name = "Linky Tempo";
        let values = [
            (
                Entity::colour(
                    "tempo_today",
                    words(language, "Couleur Tempo du jour", "Tempo colour today"),
                ),
                colour_word(forecast.today_colour),
            ),
            (
                Entity::colour(
                    "tempo_tomorrow",
                    words(language, "Couleur Tempo de demain", "Tempo colour tomorrow"),
                ),
                colour_word(forecast.tomorrow_colour),
            ),
            (
                Entity::days(
                    "tempo_blue_days",
                    words(
                        language,
                        "Jours bleus de la saison",
                        "Blue days this season",
                    ),
                ),
                forecast.season_used[0].to_string(),
            ),
            (
                Entity::days(
                    "tempo_white_days",
                    words(
                        language,
                        "Jours blancs de la saison",
                        "White days this season",
                    ),
                ),
                forecast.season_used[1].to_string(),
            ),
            (
                Entity::days(
                    "tempo_red_days",
                    words(
                        language,
                        "Jours rouges de la saison",
                        "Red days this season",
                    ),
                ),
                forecast.season_used[2].to_string(),
            ),
        ];
        let entities: Vec<Entity> = values.iter().map(|(entity, _)| entity.clone()).collect();
        self.announce(&topics, name, "Tempo (RTE)", &entities);
        for (entity, value) in values {
            self.state(topics.state(&entity.key), value, QoS::AtLeastOnce);
        }
        Ok(())
    }
}
