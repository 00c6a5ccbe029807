//! A Domoticz 2025.1 stand-in on 127.0.0.1, for tests of anything that writes to
//! Domoticz: the JSON API calls a P1 meter sync uses, with Domoticz's own pitfalls.
//!
//! What it does as Domoticz 2025.1 does (read from its source and recorded exchanges):
//! - keeps hardware, devices, options, the short and long logs and the live value;
//!   reads each number as an integer (`16530.5` is 16530, negatives are 0); answers OK
//!   to a dated write whose date it then drops (a date inside the spring-forward gap, a
//!   day listed in [`EmulatorState::drop_days`]); `used=false` deletes the device and its
//!   history; the old `type=` calls answer 404;
//! - **connections**: unless a request says `Connection: keep-alive`, the connection is
//!   closed right after the answer (from the I/O loop, a moment later: a request sent on
//!   it meanwhile is dropped), without a `Connection: close` header; with it, the answer
//!   says `Keep-Alive: max=20, timeout=20`, and the connection is closed after 20
//!   requests or 20 s idle (both settable), again without a word.
//!
//! And what a test needs: Basic/bearer or session (`logincheck`) authentication, a record
//! of every call, counts of connections, and a switch that takes it down (every request's
//! connection closed without an answer) and back up, its data kept.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeZone};
use linky_core::PARIS;

use crate::secret::decode_base64;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::secret::base64;

/// What the emulator holds, open to tests.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct EmulatorState {
    /// The query of every API call answered, in order.
    pub calls: Vec<String>,
    /// Hardware: (idx, name).
    pub hardware: Vec<(String, String)>,
    /// Devices: (idx, hardware idx, name).
    pub devices: Vec<(String, String, String)>,
    /// Device options as sent (base64).
    pub options: BTreeMap<String, String>,
    /// Short log: (idx, local date-time) -> U1, U2, R1, R2.
    pub short_log: BTreeMap<(String, String), [i64; 4]>,
    /// Long log: (idx, day) -> U1, U2, R1, R2.
    pub long_log: BTreeMap<(String, NaiveDate), [i64; 4]>,
    /// Live values: idx -> sValue.
    pub live: BTreeMap<String, String>,
    /// The session cookie value handed out by `logincheck`, while valid.
    pub session: Option<String>,
    /// Successful `logincheck` calls.
    pub logins: usize,
    /// Days dropped although the write is answered OK.
    pub drop_days: BTreeSet<NaiveDate>,
    /// TCP connections accepted.
    pub connections: usize,
    /// Requests whose connection was closed without an answer (down, or a request on a
    /// connection it had decided to close).
    pub unanswered: usize,
    /// While true, every request's connection is closed without an answer.
    pub down: bool,
    /// Goes down (as [`EmulatorState::down`]) once this many more calls are answered.
    pub down_after_calls: Option<usize>,
    /// Device types as created: idx -> (devicetype, devicesubtype); P1 meters are 250/1,
    /// Managed Counters 243/33.
    pub types: BTreeMap<String, (u32, u32)>,
    /// A Managed Counter's switch type and divider, as `setused` set them (`switchtype` is
    /// ignored without `name`, as Domoticz does).
    pub counter_settings: BTreeMap<String, (u32, u32)>,
    /// Managed Counters' day rows: (idx, day) -> (counter, value), integers as Domoticz
    /// parses them (`1.23` is 1).
    pub counter_log: BTreeMap<(String, NaiveDate), (i64, i64)>,
    /// Alert sensors (243/22): idx -> (level, text). Levels above 4 read back as 4; a
    /// device created with `AddDBLogEntry` keeps level 0 and logs nothing, as Domoticz
    /// does.
    pub alerts: BTreeMap<String, (u8, String)>,
    /// Alert and Text sensors' text log: (idx, text), a new entry only when the text
    /// changes.
    pub text_log: Vec<(String, String)>,
    /// Text sensors (243/19): idx -> text.
    pub texts: BTreeMap<String, String>,
    next_hardware: u32,
    next_device: u32,
}

/// How the emulator is set up.
#[derive(Debug, Clone)]
struct Settings {
    version: String,
    required_authorization: Option<String>,
    session_user: Option<(String, String)>,
    max_requests: usize,
    idle_timeout: Duration,
    close_delay: Duration,
}

/// A running Domoticz 2025.1 stand-in. Stops when dropped.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug)]
pub struct DomoticzEmulator {
    address: SocketAddr,
    /// What it holds.
    pub state: Arc<Mutex<EmulatorState>>,
    task: JoinHandle<()>,
}

/// Sets up a [`DomoticzEmulator`].
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    settings: Settings,
}

impl EmulatorBuilder {
    /// Every call must carry this `Authorization` header (else 401).
    pub fn required_authorization(mut self, value: impl Into<String>) -> EmulatorBuilder {
        self.settings.required_authorization = Some(value.into());
        self
    }

    /// Every call must carry the session cookie of a `logincheck` by `user`/`password`.
    pub fn session_user(
        mut self,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> EmulatorBuilder {
        self.settings.session_user = Some((user.into(), password.into()));
        self
    }

    /// Requests a kept-alive connection serves before it is closed (default 20).
    pub fn max_requests_per_connection(mut self, count: usize) -> EmulatorBuilder {
        self.settings.max_requests = count.max(1);
        self
    }

    /// How long a kept-alive connection may stay idle (default 20 s).
    pub fn idle_timeout(mut self, timeout: Duration) -> EmulatorBuilder {
        self.settings.idle_timeout = timeout;
        self
    }

    /// How long after an answer a connection it will not keep is closed (default
    /// 50 ms). Domoticz closes it from its I/O loop once the answer is written: a request
    /// that a pooling client sends on it in the meantime is never answered (the close
    /// with unread data even resets the connection). The delay makes that race, which a
    /// fast local server would almost always win, as certain as it is in the field.
    pub fn close_delay(mut self, delay: Duration) -> EmulatorBuilder {
        self.settings.close_delay = delay;
        self
    }

    /// Starts serving on 127.0.0.1 at a free port.
    ///
    /// # Errors
    ///
    /// The I/O error when no local port can be bound.
    pub async fn start(self) -> std::io::Result<DomoticzEmulator> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let state = Arc::new(Mutex::new(EmulatorState {
            next_hardware: 2,
            next_device: 1,
            ..EmulatorState::default()
        }));
        let settings = Arc::new(self.settings);
        let task = tokio::spawn(serve(listener, settings, state.clone()));
        Ok(DomoticzEmulator {
            address,
            state,
            task,
        })
    }
}

impl DomoticzEmulator {
    /// A Domoticz answering `getversion` with `version`, on a trusted network.
    pub fn builder(version: &str) -> EmulatorBuilder {
        EmulatorBuilder {
            settings: Settings {
                version: version.to_owned(),
                required_authorization: None,
                session_user: None,
                max_requests: 20,
                idle_timeout: Duration::from_secs(20),
                close_delay: Duration::from_millis(50),
            },
        }
    }

    /// Starts a Domoticz `version` with the defaults.
    ///
    /// # Panics
    ///
    /// When no local port can be bound (a test cannot go on).
    pub async fn start(version: &str) -> DomoticzEmulator {
        match DomoticzEmulator::builder(version).start().await {
            Ok(emulator) => emulator,
            Err(error) => panic!("cannot start the Domoticz emulator: {error}"),
        }
    }

    /// Its base URL, `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The query of every API call answered, in order.
    pub fn calls(&self) -> Vec<String> {
        self.with_state(|state| state.calls.clone())
    }

    /// The `udevice` sValues sent to device `idx`, in order.
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

    /// Runs `f` on the state.
    pub fn with_state<T>(&self, f: impl FnOnce(&mut EmulatorState) -> T) -> T {
        f(&mut lock(&self.state))
    }
}

impl Drop for DomoticzEmulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(listener: TcpListener, settings: Arc<Settings>, state: Arc<Mutex<EmulatorState>>) {
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        lock(&state).connections += 1;
        tokio::spawn(connection(stream, settings.clone(), state.clone()));
    }
}

/// The state, even after a panic elsewhere poisoned its lock.
fn lock(state: &Mutex<EmulatorState>) -> std::sync::MutexGuard<'_, EmulatorState> {
    match state.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// A request as the emulator needs it.
struct Request {
    target: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One connection, as Domoticz 2025.1's web server handles it.
async fn connection(stream: TcpStream, settings: Arc<Settings>, state: Arc<Mutex<EmulatorState>>) {
    let mut reader = BufReader::new(stream);
    let mut served = 0;
    loop {
        let request = if served == 0 {
            read_request(&mut reader).await
        } else {
            // Idle too long: closed without a word.
            tokio::time::timeout(settings.idle_timeout, read_request(&mut reader))
                .await
                .ok()
                .flatten()
        };
        let Some(request) = request else { return };
        if lock(&state).down {
            lock(&state).unanswered += 1;
            return;
        }
        served += 1;
        let keep_alive = request
            .header("connection")
            .is_some_and(|value| value.eq_ignore_ascii_case("keep-alive"));
        let (status, mut headers, body) = respond(&settings, &state, &request);
        if keep_alive && status == 200 {
            headers.push(("Connection".to_owned(), "Keep-Alive".to_owned()));
            headers.push((
                "Keep-Alive".to_owned(),
                format!(
                    "max={}, timeout={}",
                    settings.max_requests,
                    settings.idle_timeout.as_secs()
                ),
            ));
        }
        if !write_response(reader.get_mut(), status, &headers, &body).await {
            return;
        }
        if !(keep_alive && status == 200 && served < settings.max_requests) {
            // Closed shortly after the answer, with no `Connection: close`: a request
            // that arrives meanwhile is dropped unanswered.
            if let Ok(Some(_)) =
                tokio::time::timeout(settings.close_delay, read_request(&mut reader)).await
            {
                lock(&state).unanswered += 1;
            }
            let _ = reader.get_mut().shutdown().await;
            return;
        }
    }
}

/// Reads a request head (and skips its body); `None` at the end of the connection.
async fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let _method = parts.next()?;
    let target = parts.next()?.to_owned();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).await.ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim().to_owned();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().unwrap_or(0);
            }
            headers.push((name.trim().to_owned(), value));
        }
    }
    let mut body = vec![0; length.min(1 << 20)];
    reader.read_exact(&mut body).await.ok()?;
    Some(Request { target, headers })
}

async fn write_response(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> bool {
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Error",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    // One write: a head and a body written apart wait for the client's delayed ACK.
    let mut message = head.into_bytes();
    message.extend_from_slice(body);
    stream.write_all(&message).await.is_ok()
}

type Answer = (u16, Vec<(String, String)>, Vec<u8>);

fn ok(mut body: Value) -> Answer {
    body["status"] = json!("OK");
    (200, Vec::new(), body.to_string().into_bytes())
}

fn err() -> Answer {
    (
        200,
        Vec::new(),
        json!({"status": "ERR"}).to_string().into_bytes(),
    )
}

fn status_only(status: u16) -> Answer {
    (status, Vec::new(), Vec::new())
}

/// Domoticz reads each number as an integer: "16530.5" is 16530, negatives are 0.
fn integer(text: &str) -> Option<i64> {
    let value: f64 = text.parse().ok()?;
    Some((value.trunc() as i64).max(0))
}

/// Decodes a query component (`%XX` and `+`).
/// Adds `text` to the text log of device `idx` when it differs from the last one there
/// (Domoticz logs no unchanged text).
fn log_text(state: &mut EmulatorState, idx: &str, text: &str) {
    let changed = state
        .text_log
        .iter()
        .rev()
        .find(|(i, _)| i == idx)
        .is_none_or(|(_, last)| last != text);
    if changed {
        state.text_log.push((idx.to_owned(), text.to_owned()));
    }
}

fn decode(text: &str) -> String {
    let hex = |byte: u8| (byte as char).to_digit(16);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%' && index + 2 < bytes.len())
            .then(|| Some(hex(bytes[index + 1])? * 16 + hex(bytes[index + 2])?))
            .flatten();
        match (escaped, bytes[index]) {
            (Some(byte), _) => {
                out.push(byte as u8);
                index += 3;
                continue;
            }
            (None, b'+') => out.push(b' '),
            (None, other) => out.push(other),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The answer to one request, as Domoticz 2025.1 gives it.
fn respond(settings: &Settings, state: &Mutex<EmulatorState>, request: &Request) -> Answer {
    if let Some(required) = &settings.required_authorization
        && request.header("authorization") != Some(required.as_str())
    {
        return status_only(401);
    }
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((request.target.as_str(), ""));
    if path != "/json.htm" {
        return status_only(404);
    }
    let params: BTreeMap<String, String> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (decode(name), decode(value)))
        .collect();
    let mut state = lock(state);
    if let Some((user, password)) = &settings.session_user {
        if params.get("param").map(String::as_str) == Some("logincheck") {
            use md5::{Digest, Md5};
            let expected_user = base64(user.as_bytes());
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
                let (status, mut headers, body) = ok(json!({"title": "logincheck", "user": user}));
                headers.push(("Set-Cookie".to_owned(), format!("DMZSID={token}; HttpOnly")));
                return (status, headers, body);
            }
            return status_only(401);
        }
        let expected = state.session.as_ref().map(|t| format!("DMZSID={t}"));
        if expected.is_none() || request.header("cookie") != expected.as_deref() {
            return status_only(401);
        }
    }
    state.calls.push(query.to_owned());
    if let Some(left) = state.down_after_calls.as_mut() {
        *left = left.saturating_sub(1);
        if *left == 0 {
            state.down = true;
            state.down_after_calls = None;
        }
    }
    if params.get("type").map(String::as_str) != Some("command") {
        return status_only(404);
    }
    let param = |name: &str| params.get(name).cloned().unwrap_or_default();
    match param("param").as_str() {
        "getversion" => ok(json!({"version": settings.version, "title": "GetVersion"})),
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
                .map(|(idx, _, name)| {
                    if let Some((level, text)) = state.alerts.get(idx) {
                        return json!({"idx": idx, "Name": name, "Data": text, "Level": level});
                    }
                    if let Some(text) = state.texts.get(idx) {
                        return json!({"idx": idx, "Name": name, "Data": text});
                    }
                    let data = state
                        .live
                        .get(idx)
                        .cloned()
                        .unwrap_or("0;0;0;0;0;0".to_owned());
                    json!({"idx": idx, "Name": name, "Data": data})
                })
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
            let kind = (
                param("devicetype").parse().unwrap_or(0),
                param("devicesubtype").parse().unwrap_or(0),
            );
            state.types.insert(idx.clone(), kind);
            ok(json!({"idx": idx}))
        }
        "setused" => {
            let idx = param("idx");
            if param("used") == "false" {
                // What Domoticz does: the device and its history are gone.
                state.devices.retain(|(i, _, _)| *i != idx);
                state.long_log.retain(|(i, _), _| *i != idx);
            } else {
                if !param("name").is_empty() && !param("switchtype").is_empty() {
                    let divider = param("addjvalue2").parse().unwrap_or(1);
                    let switchtype = param("switchtype").parse().unwrap_or(0);
                    state
                        .counter_settings
                        .insert(idx.clone(), (switchtype, divider));
                }
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
            if state.types.get(&idx) == Some(&(243, 19)) {
                // A Text sensor: the sValue is the text, stored verbatim.
                log_text(&mut state, &idx, &svalue);
                state.texts.insert(idx, svalue);
                return ok(json!({"title": "Update Device"}));
            }
            if state.types.get(&idx) == Some(&(243, 22)) {
                let logged = state
                    .options
                    .get(&idx)
                    .and_then(|options| decode_base64(options))
                    .is_some_and(|options| options.contains("AddDBLogEntry:true"));
                if logged {
                    // Measured: the level stays 0 and nothing reaches the text log.
                    state.alerts.insert(idx, (0, svalue));
                    return ok(json!({"title": "Update Device"}));
                }
                let level = integer(&param("nvalue")).unwrap_or(0).clamp(0, 4) as u8;
                log_text(&mut state, &idx, &svalue);
                state.alerts.insert(idx, (level, svalue));
                return ok(json!({"title": "Update Device"}));
            }
            if state.types.get(&idx) == Some(&(243, 33)) {
                // A Managed Counter: "C;V;YYYY-MM-DD" is a day row, "C;V" the live value;
                // numbers read as stoll does (the integer prefix); a bad date is answered
                // OK and stored nowhere.
                let stoll = |text: &str| -> Option<i64> {
                    let text = text.trim();
                    let end = text
                        .char_indices()
                        .find(|(i, c)| !(c.is_ascii_digit() || (*i == 0 && *c == '-')))
                        .map_or(text.len(), |(i, _)| i);
                    text[..end].parse().ok()
                };
                let (Some(counter), Some(value)) = (
                    fields.first().and_then(|f| stoll(f)),
                    fields.get(1).and_then(|f| stoll(f)),
                ) else {
                    return err();
                };
                match fields.len() {
                    2 => {
                        state.live.insert(idx, svalue.clone());
                    }
                    3 => {
                        if let Ok(day) = NaiveDate::parse_from_str(fields[2], "%Y-%m-%d")
                            && fields[2].len() == 10
                        {
                            state.counter_log.insert((idx, day), (counter, value));
                        }
                    }
                    _ => return err(),
                }
                return ok(json!({"title": "Update Device"}));
            }
            let Some(numbers) = fields
                .iter()
                .take(4)
                .map(|f| integer(f))
                .collect::<Option<Vec<i64>>>()
            else {
                return err();
            };
            if numbers.len() < 4 {
                return err();
            }
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
                    } else if let Ok(at) = NaiveDateTime::parse_from_str(date, "%Y-%m-%d %H:%M:%S")
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
                .filter(|((i, day), _)| *i == idx && day.month() == month && day.year() == year)
                .map(|((_, day), v)| {
                    json!({"d": day.to_string(), "v1": kwh(v[0]), "v2": kwh(v[1]), "r1": kwh(v[2]), "r2": kwh(v[3])})
                })
                .collect();
            ok(json!({"result": result, "title": "Graph counter month"}))
        }
        _ => err(),
    }
}
