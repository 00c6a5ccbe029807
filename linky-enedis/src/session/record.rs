//! Recording what a client sends and receives, redacted.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::Value;

use super::{Exchange, RecordedRequest, RecordedResponse, ReplayInfo, Session};

/// Fields whose values are secrets, in bodies and forms.
const SECRET_FIELDS: [&str; 5] = [
    "access_token",
    "refresh_token",
    "client_secret",
    "device_code",
    "id_token",
];

/// Collects a client's exchanges into a [`Session`]. Attach it with
/// [`crate::ClientBuilder::recorder`].
#[derive(Debug, Default)]
pub struct Recorder {
    exchanges: Mutex<Vec<Exchange>>,
    /// Real usage point -> placeholder, when PDLs are hidden.
    placeholders: Option<Mutex<BTreeMap<String, String>>>,
}

impl Recorder {
    /// A recorder that keeps usage points as they are.
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// A recorder that replaces every usage point by a placeholder of 14 digits
    /// (`00000000000001`, `00000000000002`...), so that a session can be shared and still
    /// replays.
    pub fn hiding_usage_points() -> Recorder {
        Recorder {
            exchanges: Mutex::new(Vec::new()),
            placeholders: Some(Mutex::new(BTreeMap::new())),
        }
    }

    pub(crate) fn record(
        &self,
        method: &str,
        path: &str,
        status: u16,
        headers: BTreeMap<String, String>,
        body: &[u8],
    ) {
        let mut body = serde_json::from_slice::<Value>(body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
        redact(&mut body);
        let mut exchange = Exchange {
            request: RecordedRequest {
                method: method.to_owned(),
                path: path.to_owned(),
            },
            response: RecordedResponse {
                status,
                headers,
                body,
                fault: None,
            },
        };
        if let Some(placeholders) = &self.placeholders
            && let Ok(mut map) = placeholders.lock()
        {
            hide_usage_points(&mut exchange, &mut map);
        }
        if let Ok(mut exchanges) = self.exchanges.lock() {
            exchanges.push(exchange);
        }
    }

    /// How `usage_point` appears in the recorded session: itself, or its placeholder when
    /// usage points are hidden (one is given if it has none yet).
    pub fn shown_as(&self, usage_point: &str) -> String {
        match &self.placeholders {
            Some(placeholders) => placeholders
                .lock()
                .map(|mut map| {
                    let next = map.len() + 1;
                    map.entry(usage_point.to_owned())
                        .or_insert_with(|| format!("{next:014}"))
                        .clone()
                })
                .unwrap_or_default(),
            None => usage_point.to_owned(),
        }
    }

    /// The session recorded so far.
    pub fn session(&self, description: &str, backend: &str) -> Session {
        let mut session = Session::new(description, backend);
        session.exchanges = self.exchanges.lock().map(|e| e.clone()).unwrap_or_default();
        session
    }

    /// The session recorded so far, with what a replay needs (`info`, written with the
    /// real usage points): when usage points are hidden, every one of them in `info` (its
    /// list, its schedule's PDL sections, any text) and in `description` is replaced by the
    /// placeholder the exchanges use, so that the replay splits as the real run did.
    pub fn session_with_replay(
        &self,
        description: &str,
        backend: &str,
        info: ReplayInfo,
    ) -> Session {
        let mut session = self.session(&self.hide_in(description), backend);
        let hidden = serde_json::to_string(&info)
            .ok()
            .map(|text| self.hide_in(&text))
            .and_then(|text| serde_json::from_str(&text).ok());
        session.replay = Some(hidden.unwrap_or(info));
        session
    }

    /// `text` with every usage point (a run of exactly 14 digits) replaced by its
    /// placeholder, when usage points are hidden; else as it is.
    pub fn hide_in(&self, text: &str) -> String {
        match &self.placeholders {
            Some(placeholders) => match placeholders.lock() {
                Ok(mut map) => replace_usage_points(text, &mut map),
                Err(_) => text.to_owned(),
            },
            None => text.to_owned(),
        }
    }
}

/// Replaces secret values anywhere in a JSON document.
fn redact(value: &mut Value) {
    match value {
        Value::Object(object) => {
            for (key, field) in object.iter_mut() {
                if SECRET_FIELDS.contains(&key.as_str()) {
                    *field = Value::String("[redacted]".to_owned());
                } else {
                    redact(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// Replaces every run of exactly 14 digits (a PDL) by its placeholder.
fn hide_usage_points(exchange: &mut Exchange, map: &mut BTreeMap<String, String>) {
    exchange.request.path = replace_usage_points(&exchange.request.path, map);
    let body = serde_json::to_string(&exchange.response.body).unwrap_or_default();
    exchange.response.body =
        serde_json::from_str(&replace_usage_points(&body, map)).unwrap_or(Value::Null);
}

/// `text` with every run of exactly 14 digits replaced by its placeholder (a new one for
/// a usage point not seen yet).
fn replace_usage_points(text: &str, map: &mut BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        let run = bytes[index..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if run == 14 {
            let real = &text[index..index + 14];
            let next = map.len() + 1;
            let placeholder = map
                .entry(real.to_owned())
                .or_insert_with(|| format!("{next:014}"));
            out.push_str(placeholder);
            index += 14;
        } else if run > 0 {
            out.push_str(&text[index..index + run]);
            index += run;
        } else {
            let character = text[index..].chars().next().unwrap_or(' ');
            out.push(character);
            index += character.len_utf8();
        }
    }
    out
}
