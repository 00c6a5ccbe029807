//! What Home Assistant's MQTT discovery needs to make entities, without I/O: each
//! entity's key, name, classes and unit, its config payload and its topics.

use serde_json::{Value, json};

use crate::NameLanguage;

/// The kind of an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Component {
    Sensor,
    BinarySensor,
}

impl Component {
    fn as_str(self) -> &'static str {
        match self {
            Component::Sensor => "sensor",
            Component::BinarySensor => "binary_sensor",
        }
    }
}

/// The colours an enum entity of Tempo takes.
pub(super) const COLOUR_OPTIONS: [&str; 4] = ["blue", "white", "red", "unknown"];

/// One entity: what its config says.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Entity {
    pub component: Component,
    /// Stable forever: unique ids, entity ids and topics are made of it.
    pub key: String,
    pub name: String,
    pub device_class: Option<&'static str>,
    pub state_class: Option<&'static str>,
    pub unit: Option<&'static str>,
    pub options: Option<&'static [&'static str]>,
    /// Whether a JSON attributes topic goes with it (`<state topic>/attributes`).
    pub attributes: bool,
}

impl Entity {
    fn new(key: impl Into<String>, name: impl Into<String>) -> Entity {
        Entity {
            component: Component::Sensor,
            key: key.into(),
            name: name.into(),
            device_class: None,
            state_class: None,
            unit: None,
            options: None,
            attributes: false,
        }
    }

    /// An energy index the Energy dashboard can take: kWh, `total_increasing`.
    pub fn index(key: impl Into<String>, name: impl Into<String>) -> Entity {
        Entity {
            device_class: Some("energy"),
            state_class: Some("total_increasing"),
            unit: Some("kWh"),
            ..Entity::new(key, name)
        }
    }

    /// A day's energy, known a day late: informative, no state class (it must not be
    /// taken as a live counter: Home Assistant would book it on the day it arrives).
    pub fn day_energy(key: impl Into<String>, name: impl Into<String>) -> Entity {
        Entity {
            device_class: Some("energy"),
            unit: Some("kWh"),
            attributes: true,
            ..Entity::new(key, name)
        }
    }

    /// A day's cost, known a day late (informative).
    pub fn day_cost(key: impl Into<String>, name: impl Into<String>) -> Entity {
        Entity {
            device_class: Some("monetary"),
            unit: Some("EUR"),
            attributes: true,
            ..Entity::new(key, name)
        }
    }

    /// A measurement with a device class and unit (power in VA, current, voltage).
    pub fn measurement(
        key: impl Into<String>,
        name: impl Into<String>,
        device_class: &'static str,
        unit: &'static str,
    ) -> Entity {
        Entity {
            device_class: Some(device_class),
            state_class: Some("measurement"),
            unit: Some(unit),
            ..Entity::new(key, name)
        }
    }

    /// A Tempo colour: an enum of [`COLOUR_OPTIONS`].
    pub fn colour(key: impl Into<String>, name: impl Into<String>) -> Entity {
        Entity {
            device_class: Some("enum"),
            options: Some(&COLOUR_OPTIONS),
            ..Entity::new(key, name)
        }
    }

    /// A count of days (Tempo's season).
    pub fn days(key: impl Into<String>, name: impl Into<String>) -> Entity {
        Entity {
            unit: Some("d"),
            ..Entity::new(key, name)
        }
    }

    /// Plain text.
    pub fn text(key: impl Into<String>, name: impl Into<String>) -> Entity {
        Entity::new(key, name)
    }

    /// A problem flag (`ON`/`OFF`).
    pub fn problem(key: impl Into<String>, name: impl Into<String>) -> Entity {
        Entity {
            component: Component::BinarySensor,
            device_class: Some("problem"),
            ..Entity::new(key, name)
        }
    }
}

/// Where a device's entities live, and what they say of the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Topics {
    pub discovery_prefix: String,
    pub base: String,
    /// The device's id in topics and ids (`[A-Za-z0-9_-]`).
    pub device: String,
    /// The availability topic of the client.
    pub availability: String,
}

impl Topics {
    /// `linky_<device>`: the node id, the device identifier, the prefix of unique ids.
    pub fn node(&self) -> String {
        format!("linky_{}", self.device)
    }

    pub fn config(&self, entity: &Entity) -> String {
        format!(
            "{}/{}/{}/{}/config",
            self.discovery_prefix,
            entity.component.as_str(),
            self.node(),
            entity.key
        )
    }

    pub fn state(&self, key: &str) -> String {
        format!("{}/{}/{}", self.base, self.device, key)
    }

    pub fn attributes(&self, key: &str) -> String {
        format!("{}/attributes", self.state(key))
    }

    /// The discovery payload of `entity`, for a device named `device_name`.
    pub fn config_payload(&self, entity: &Entity, device_name: &str, model: &str) -> Value {
        let unique = format!("{}_{}", self.node(), entity.key);
        let mut config = json!({
            "name": entity.name,
            "unique_id": unique,
            "object_id": unique,
            "default_entity_id": format!("{}.{unique}", entity.component.as_str()),
            "state_topic": self.state(&entity.key),
            "availability_topic": self.availability,
            "device": {
                "identifiers": [self.node()],
                "name": device_name,
                "manufacturer": "Enedis",
                "model": model,
                "serial_number": self.device,
            },
            "origin": {
                "name": "linky-domoticz",
                "sw_version": env!("CARGO_PKG_VERSION"),
            },
        });
        let fields = [
            ("device_class", entity.device_class),
            ("state_class", entity.state_class),
            ("unit_of_measurement", entity.unit),
        ];
        for (field, value) in fields {
            if let Some(value) = value {
                config[field] = json!(value);
            }
        }
        if let Some(options) = entity.options {
            config["options"] = json!(options);
        }
        if entity.attributes {
            config["json_attributes_topic"] = json!(self.attributes(&entity.key));
        }
        if entity.component == Component::BinarySensor {
            config["payload_on"] = json!("ON");
            config["payload_off"] = json!("OFF");
        }
        config
    }
}

/// A topic-safe id: ASCII letters, digits, `_` and `-`; anything else becomes `_`.
pub(super) fn topic_id(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Words in the language asked.
pub(super) fn words(language: NameLanguage, french: &str, english: &str) -> String {
    match language {
        NameLanguage::French => french.to_owned(),
        _ => english.to_owned(),
    }
}

/// The name of a class of indexes (`hp`, `blue_hc`...).
pub(super) fn class_name(language: NameLanguage, key: &str) -> String {
    let (colour, tariff) = match key.split_once('_') {
        Some((colour, tariff)) => (Some(colour), tariff),
        None => (None, key),
    };
    let tariff = match tariff {
        "hp" => words(language, "heures pleines", "peak hours"),
        "hc" => words(language, "heures creuses", "off-peak hours"),
        _ => words(language, "base", "base"),
    };
    match colour {
        Some(colour) => {
            let colour = match colour {
                "blue" => words(language, "bleu", "blue"),
                "white" => words(language, "blanc", "white"),
                _ => words(language, "rouge", "red"),
            };
            format!("{} {colour}, {tariff}", words(language, "Tempo", "Tempo"))
        }
        None => tariff,
    }
}
