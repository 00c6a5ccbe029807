//! A local server that answers as Domoticz 2025.1 does (spec/domoticz.md and the recorded
//! exchanges in testdata/domoticz): it keeps hardware, devices and both logs, reads
//! numbers as integers, and answers OK to dated writes it then drops.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use linky_core::PARIS;
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[derive(Debug, Default)]
pub struct State {
    pub calls: Vec<String>,
    pub hardware: Vec<(String, String)>,
    pub devices: Vec<(String, String, String)>, // (idx, hardware idx, name)
    pub options: BTreeMap<String, String>,
    pub short_log: BTreeMap<(String, String), [i64; 4]>,
    pub long_log: BTreeMap<(String, NaiveDate), [i64; 4]>,
    pub live: BTreeMap<String, String>,
    pub next_hardware: u32,
    /// The session cookie value handed out by `logincheck`, if any is valid.
    pub session: Option<String>,
    pub logins: usize,
    pub next_device: u32,
    /// Days this fake drops although it answers OK (to test verification).
    pub drop_days: BTreeSet<NaiveDate>,
}

#[derive(Clone)]
pub struct FakeDomoticz {
    pub version: String,
    pub required_authorization: Option<String>,
    /// A user and password that must log in with `logincheck` (session cookies).
    pub session_user: Option<(String, String)>,
    pub state: Arc<Mutex<State>>,
}

impl FakeDomoticz {
    pub async fn start(version: &str) -> (MockServer, FakeDomoticz) {
        Self::start_with_auth(version, None).await
    }

    pub async fn start_with_auth(
        version: &str,
        required_authorization: Option<&str>,
    ) -> (MockServer, FakeDomoticz) {
        Self::serve(version, required_authorization.map(str::to_owned), None).await
    }

    /// A Domoticz whose API needs a session from `logincheck` by `user`/`password`.
    pub async fn start_with_session(
        version: &str,
        user: &str,
        password: &str,
    ) -> (MockServer, FakeDomoticz) {
        Self::serve(version, None, Some((user.to_owned(), password.to_owned()))).await
    }

    async fn serve(
        version: &str,
        required_authorization: Option<String>,
        session_user: Option<(String, String)>,
    ) -> (MockServer, FakeDomoticz) {
        let server = MockServer::start().await;
        let fake = FakeDomoticz {
            version: version.to_owned(),
            required_authorization,
            session_user,
            state: Arc::new(Mutex::new(State {
                next_hardware: 2,
                next_device: 1,
                ..State::default()
            })),
        };
        Mock::given(wiremock::matchers::path("/json.htm"))
            .respond_with(fake.clone())
            .mount(&server)
            .await;
        (server, fake)
    }

    pub fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap().calls.clone()
    }

    /// The udevice sValues sent to `idx`, in order.
    pub fn svalues(&self, idx: &str) -> Vec<String> {
        self.calls()
            .iter()
            .filter(|q| q.contains("param=udevice") && q.contains(&format!("&idx={idx}&")))
            .map(|q| {
                q.split("svalue=")
                    .nth(1)
                    .unwrap_or_default()
                    .replace("%20", " ")
            })
            .collect()
    }
}

fn base64_of(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let value = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for position in 0..4 {
            out.push(if position <= chunk.len() {
                ALPHABET[(value >> (18 - 6 * position) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

fn ok(mut body: Value) -> ResponseTemplate {
    body["status"] = json!("OK");
    ResponseTemplate::new(200).set_body_json(body)
}

fn err() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"status": "ERR"}))
}

/// Domoticz reads each number as an integer: "16530.5" is 16530, negatives are 0.
fn integer(text: &str) -> Option<i64> {
    let value: f64 = text.parse().ok()?;
    Some((value.trunc() as i64).max(0))
}

impl Respond for FakeDomoticz {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if let Some(required) = &self.required_authorization {
            let given = request
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok());
            if given != Some(required.as_str()) {
                return ResponseTemplate::new(401);
            }
        }
        let query = request.url.query().unwrap_or_default().to_owned();
        let params: BTreeMap<String, String> = request
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let mut state = self.state.lock().unwrap();
        if let Some((user, password)) = &self.session_user {
            if params.get("param").map(String::as_str) == Some("logincheck") {
                use md5::{Digest, Md5};
                let expected_user = base64_of(user.as_bytes());
                let expected_password: String = Md5::digest(password.as_bytes())
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                if params.get("username") == Some(&expected_user)
                    && params.get("password") == Some(&expected_password)
                {
                    state.logins += 1;
                    let token = format!("session{}", state.logins);
                    state.session = Some(token.clone());
                    return ok(json!({"title": "logincheck", "user": user}))
                        .insert_header("set-cookie", format!("DMZSID={token}; HttpOnly").as_str());
                }
                return ResponseTemplate::new(401);
            }
            let cookie = request
                .headers
                .get("cookie")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if state.session.is_none()
                || cookie != state.session.as_ref().map(|t| format!("DMZSID={t}"))
            {
                return ResponseTemplate::new(401);
            }
        }
        state.calls.push(query);
        if params.get("type").map(String::as_str) != Some("command") {
            return ResponseTemplate::new(404);
        }
        let param = |name: &str| params.get(name).cloned().unwrap_or_default();
        match param("param").as_str() {
            "getversion" => ok(json!({"version": self.version, "title": "GetVersion"})),
            "gethardware" => {
                let result: Vec<Value> = state
                    .hardware
                    .iter()
                    .map(|(idx, name)| json!({"idx": idx, "Name": name, "Type": 15}))
                    .collect();
                ok(json!({"result": result}))
            }
            "addhardware" => {
                let idx = state.next_hardware.to_string();
                state.next_hardware += 1;
                state.hardware.push((idx.clone(), param("name")));
                ok(json!({"idx": idx}))
            }
            "getdevices" => {
                let hardware = param("hwidx");
                let result: Vec<Value> = state
                    .devices
                    .iter()
                    .filter(|(_, hw, _)| *hw == hardware)
                    .map(|(idx, _, name)| json!({"idx": idx, "Name": name, "Data": state.live.get(idx).cloned().unwrap_or("0;0;0;0;0;0".to_owned())}))
                    .collect();
                ok(json!({"result": result}))
            }
            "createdevice" => {
                let idx = state.next_device.to_string();
                state.next_device += 1;
                let hardware = param("idx");
                state
                    .devices
                    .push((idx.clone(), hardware, param("sensorname")));
                ok(json!({"idx": idx}))
            }
            "setused" => {
                let idx = param("idx");
                if param("used") == "false" {
                    // What Domoticz does: the device and its history are gone.
                    state.devices.retain(|(i, _, _)| *i != idx);
                    state.long_log.retain(|(i, _), _| *i != idx);
                } else {
                    state.options.insert(idx, param("options"));
                }
                ok(json!({}))
            }
            "udevice" => {
                let idx = param("idx");
                if !state.devices.iter().any(|(i, _, _)| *i == idx) {
                    return err();
                }
                let svalue = param("svalue");
                let fields: Vec<&str> = svalue.split(';').collect();
                let Some(numbers) = fields
                    .iter()
                    .take(4)
                    .map(|f| integer(f))
                    .collect::<Option<Vec<i64>>>()
                else {
                    return err();
                };
                let values = [numbers[0], numbers[1], numbers[2], numbers[3]];
                match fields.len() {
                    6 => {
                        state.live.insert(idx, svalue.clone());
                    }
                    7 | 11 => {
                        let date = fields[fields.len() - 1];
                        if date.len() == 10 {
                            if let Ok(day) = NaiveDate::parse_from_str(date, "%Y-%m-%d")
                                && !state.drop_days.contains(&day)
                            {
                                state.long_log.insert((idx, day), values);
                            }
                        } else if let Ok(at) =
                            NaiveDateTime::parse_from_str(date, "%Y-%m-%d %H:%M:%S")
                            && PARIS.from_local_datetime(&at).earliest().is_some()
                        {
                            state.short_log.insert((idx, date.to_owned()), values);
                        }
                    }
                    _ => return err(),
                }
                ok(json!({"title": "Update Device"}))
            }
            "graph" => {
                let idx = param("idx");
                let (month, year): (u32, i32) = (
                    param("actmonth").parse().unwrap_or(1),
                    param("actyear").parse().unwrap_or(2024),
                );
                let kwh = |wh: i64| format!("{:.3}", wh as f64 / 1000.0);
                let result: Vec<Value> = state
                    .long_log
                    .iter()
                    .filter(|((i, day), _)| *i == idx && chrono::Datelike::month(day) == month && chrono::Datelike::year(day) == year)
                    .map(|((_, day), v)| json!({"d": day.to_string(), "v1": kwh(v[0]), "v2": kwh(v[1]), "r1": kwh(v[2]), "r2": kwh(v[3])}))
                    .collect();
                ok(json!({"result": result, "title": "Graph counter month"}))
            }
            _ => err(),
        }
    }
}
