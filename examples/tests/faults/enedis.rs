//! A simulated Enedis behind the DomoticzLinky proxy, on 127.0.0.1: it answers any
//! planned request from a ground truth (a consumer and a producer), with the access token
//! and its renewal, and injects faults by rule: statuses with or without Retry-After,
//! stalls, resets, truncated or foreign or oversized bodies, expired tokens, lost consent,
//! and altered readings (duplicates, out of order, holes).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{Duration as Span, NaiveDate, NaiveDateTime, TimeZone, Timelike};
use linky_core::{ApparentPower, Flow, Measurement, PARIS, Power, PowerPeak, Reading};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

pub const CONSUMER: &str = "22516914714270";
pub const PRODUCER: &str = "10284856584123";

/// The ground truth: what the meters measured.
pub mod truth {
    use super::*;

    fn mix(mut x: u64) -> u64 {
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^ (x >> 33)
    }

    /// The average power of the half-hour ending at Unix minute `end`, in mW.
    pub fn milliwatts(flow: Flow, end_minute: i64) -> i64 {
        let hour = chrono::DateTime::from_timestamp(end_minute * 60, 0)
            .unwrap_or_default()
            .with_timezone(&PARIS)
            .hour();
        let noise = (mix(end_minute as u64 ^ flow as u64) % 1_000_000) as i64;
        match flow {
            Flow::Consumption => {
                let evening = if (18..22).contains(&hour) {
                    1_500_000
                } else {
                    0
                };
                250_000 + noise + evening
            }
            Flow::Production if (8..19).contains(&hour) => noise * 3 + 7,
            Flow::Production => 0,
        }
    }

    /// The readings of `flow` over the local days `[start, end)`, as Enedis sends them.
    pub fn readings(flow: Flow, start: NaiveDate, end: NaiveDate) -> Vec<Reading> {
        let midnight = |d: NaiveDate| {
            PARIS
                .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
                .earliest()
                .unwrap()
        };
        let (first, last) = (midnight(start), midnight(end));
        let mut readings = Vec::new();
        let mut at = first + Span::minutes(30);
        while at <= last {
            readings.push(Reading {
                end: at.naive_local(),
                length_minutes: 30,
                power: Power::from_milliwatts(milliwatts(flow, at.timestamp() / 60)),
            });
            at += Span::minutes(30);
        }
        readings
    }

    /// The consumer's daily maximum powers over `[start, end)`.
    pub fn peaks(start: NaiveDate, end: NaiveDate) -> Vec<PowerPeak> {
        start
            .iter_days()
            .take_while(|d| *d < end)
            .map(|day| {
                let seed = mix(chrono::Datelike::num_days_from_ce(&day) as u64);
                PowerPeak {
                    at: day
                        .and_hms_opt((seed % 24) as u32, (seed / 24 % 60) as u32, 0)
                        .unwrap(),
                    power: ApparentPower::from_va(1500 + (seed % 6000) as i64),
                }
            })
            .collect()
    }
}

/// Which requests a rule applies to.
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub enum When {
    /// The n-th data request of the server's life (0-based).
    Nth(usize),
    /// Every data request from the n-th on.
    From(usize),
    /// Requests of this measurement.
    Measurement(Measurement),
    /// Requests whose range holds this day.
    Covers(NaiveDate),
    /// Both.
    And(Box<When>, Box<When>),
    /// Any request.
    Any,
}

/// What a rule does instead of (or to) the answer.
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub enum Fault {
    /// An error status, its Retry-After and body.
    Status {
        status: u16,
        /// The header's value as sent: seconds, an HTTP-date, anything.
        retry_after: Option<String>,
        body: String,
    },
    /// No answer for this long (the client's timeout is shorter).
    StallBeforeHeaders(Duration),
    /// The head and half the body, then nothing for this long.
    StallMidBody(Duration),
    /// The head and half the body, then the connection closes.
    ResetMidBody,
    /// A 200 whose JSON stops halfway (its length says so).
    Truncated,
    /// The body of the other usage point.
    OtherUsagePoint,
    /// A 200 with a body of this many bytes.
    Oversized(usize),
    /// The access token expires now: this and later requests with it get a 401.
    ExpireToken,
    /// The consent is revoked: the token is refused and so is its renewal.
    LoseConsent,
    /// The readings come with changes.
    Alter(Alteration),
}

/// Changes to a load curve's readings.
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub enum Alteration {
    /// Every tenth reading twice.
    Duplicates,
    /// Every day's readings reversed.
    OutOfOrder,
    /// On `day`, the reading ending at 10:00 is missing and the one at 10:30 comes twice.
    HoleAndDuplicate(NaiveDate),
    /// On `day`, the readings ending 12:30 to 15:00 are missing.
    Hole(NaiveDate),
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub when: When,
    pub fault: Fault,
    /// How many more times it applies.
    pub times: usize,
}

impl Rule {
    pub fn new(when: When, fault: Fault, times: usize) -> Rule {
        Rule { when, fault, times }
    }
}

/// What the server holds and counts.
#[derive(Debug, Default)]
pub struct State {
    pub rules: Vec<Rule>,
    /// Data requests received (answered or not).
    pub data_requests: usize,
    /// Token requests received.
    pub token_requests: usize,
    /// The access token accepted now.
    pub token: String,
    generation: u32,
    /// The consent is revoked until a test says the user consented again.
    pub revoked: bool,
    /// What the user does on the consent page of the device flow.
    pub consent: Consent,
    /// Device-flow polls received (`/device/token` with a device code).
    pub consent_polls: usize,
    /// The data request at which the process "is killed": it is never answered, and
    /// `killed` is told.
    pub kill_at: Option<usize>,
    pub killed: Arc<tokio::sync::Notify>,
}

/// What the user does on the device flow's consent page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(dead_code)] // the fault suite consents; the command's tests refuse and wait
pub enum Consent {
    /// Consents: the first poll gets tokens.
    #[default]
    Given,
    /// Never comes: every poll is `authorization_pending`.
    Pending,
    /// Refuses: `access_denied`.
    Refused,
}

pub struct Enedis {
    address: std::net::SocketAddr,
    pub state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Enedis {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Enedis {
    pub async fn start(rules: Vec<Rule>) -> Enedis {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            rules,
            token: "access-0".to_owned(),
            ..State::default()
        }));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(connection(stream, shared.clone()));
            }
        });
        Enedis {
            address,
            state,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn data_requests(&self) -> usize {
        self.state.lock().unwrap().data_requests
    }

    /// The user consents again: a new token is accepted.
    pub fn consent_again(&self) -> String {
        let mut state = self.state.lock().unwrap();
        state.revoked = false;
        state.generation += 1;
        state.token = format!("access-{}", state.generation);
        state.token.clone()
    }
}

struct Request {
    method: String,
    target: String,
    authorization: Option<String>,
    body: String,
}

async fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut authorization = None;
    let mut length = 0;
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
            if name.eq_ignore_ascii_case("authorization") {
                authorization = Some(value.trim().to_owned());
            } else if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    Some(Request {
        method,
        target,
        authorization,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// What to send back.
enum Answer {
    Full {
        status: u16,
        retry_after: Option<String>,
        body: Vec<u8>,
    },
    /// Head announcing the whole body, half of it, then a pause or a close.
    Half {
        body: Vec<u8>,
        then_wait: Option<Duration>,
    },
    Stall(Duration),
    Hang,
}

async fn connection(stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader).await {
        let answer = answer(&state, &request);
        let stream = reader.get_mut();
        match answer {
            Answer::Full {
                status,
                retry_after,
                body,
            } => {
                let mut head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
                    body.len()
                );
                if let Some(value) = retry_after {
                    head.push_str(&format!("retry-after: {value}\r\n"));
                }
                head.push_str("\r\n");
                let mut message = head.into_bytes();
                message.extend_from_slice(&body);
                if stream.write_all(&message).await.is_err() {
                    return;
                }
            }
            Answer::Half { body, then_wait } => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                let mut message = head.into_bytes();
                message.extend_from_slice(&body[..body.len() / 2]);
                let _ = stream.write_all(&message).await;
                if let Some(wait) = then_wait {
                    tokio::time::sleep(wait).await;
                }
                let _ = stream.shutdown().await;
                return;
            }
            Answer::Stall(wait) => {
                tokio::time::sleep(wait).await;
                return;
            }
            Answer::Hang => {
                std::future::pending::<()>().await;
            }
        }
    }
}

fn json_error(status: u16, body: &str) -> Answer {
    Answer::Full {
        status,
        retry_after: None,
        body: body.as_bytes().to_vec(),
    }
}

fn matches(
    when: &When,
    number: usize,
    measurement: Measurement,
    start: NaiveDate,
    end: NaiveDate,
) -> bool {
    match when {
        When::Nth(n) => number == *n,
        When::From(n) => number >= *n,
        When::Measurement(m) => *m == measurement,
        When::Covers(day) => start <= *day && *day < end,
        When::And(a, b) => {
            matches(a, number, measurement, start, end)
                && matches(b, number, measurement, start, end)
        }
        When::Any => true,
    }
}

fn answer(state: &Mutex<State>, request: &Request) -> Answer {
    let mut state = state.lock().unwrap();
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((&request.target, ""));
    if request.method == "POST" && path == "/device/code" {
        return json_error(
            200,
            r#"{"device_code": "device-code-1", "user_code": "WDJB-MJHT", "verification_uri": "http://127.0.0.1/device", "expires_in": 600, "interval": 1}"#,
        );
    }
    if request.method == "POST"
        && path == "/device/token"
        && request.body.contains("grant_type=urn")
    {
        state.consent_polls += 1;
        match state.consent {
            Consent::Pending => {
                return json_error(400, r#"{"error": "authorization_pending"}"#);
            }
            Consent::Refused => {
                return json_error(
                    400,
                    r#"{"error": "access_denied", "error_description": "the user refused"}"#,
                );
            }
            Consent::Given => {
                state.generation += 1;
                state.token = format!("access-{}", state.generation);
                let body = format!(
                    r#"{{"access_token": "{}", "refresh_token": "refresh", "token_type": "Bearer", "expires_in": 12600, "usage_points_id": "{CONSUMER},{PRODUCER}"}}"#,
                    state.token
                );
                return json_error(200, &body);
            }
        }
    }
    if request.method == "POST" && path == "/device/token" {
        state.token_requests += 1;
        if state.revoked {
            return json_error(
                400,
                r#"{"error": "invalid_grant", "error_description": "refresh token revoked"}"#,
            );
        }
        state.generation += 1;
        state.token = format!("access-{}", state.generation);
        let body = format!(
            r#"{{"access_token": "{}", "token_type": "Bearer", "expires_in": 12600}}"#,
            state.token
        );
        return json_error(200, &body);
    }
    let Some(kind) = path.strip_prefix("/data/proxy/") else {
        return json_error(404, r#"{"error": "not_found"}"#);
    };
    let measurements = [
        Measurement::LoadCurve(Flow::Consumption),
        Measurement::LoadCurve(Flow::Production),
        Measurement::DailyEnergy(Flow::Consumption),
        Measurement::DailyEnergy(Flow::Production),
        Measurement::DailyMaxPower,
    ];
    let Some(measurement) = measurements
        .into_iter()
        .find(|m| linky_enedis::v5_path(*m) == kind)
    else {
        return json_error(404, r#"{"error": "not_found"}"#);
    };
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
            .unwrap_or_default()
            .to_owned()
    };
    let (Ok(start), Ok(end)) = (
        param("start").parse::<NaiveDate>(),
        param("end").parse::<NaiveDate>(),
    ) else {
        return json_error(
            400,
            r#"{"error": "ADAM-ERR0003", "error_description": "bad dates"}"#,
        );
    };
    let usage_point = param("usage_point_id");
    let number = state.data_requests;
    state.data_requests += 1;
    if state.kill_at == Some(number) {
        state.kill_at = None;
        state.killed.notify_one();
        return Answer::Hang;
    }

    let mut alterations = Vec::new();
    let mut fault = None;
    for rule in state.rules.iter_mut() {
        if rule.times > 0 && matches(&rule.when, number, measurement, start, end) {
            match &rule.fault {
                Fault::Alter(alteration) => {
                    rule.times -= 1;
                    alterations.push(alteration.clone());
                }
                other if fault.is_none() => {
                    rule.times -= 1;
                    fault = Some(other.clone());
                }
                _ => {}
            }
        }
    }
    match &fault {
        Some(Fault::ExpireToken) => {
            state.generation += 1;
            state.token = format!("expired-{}", state.generation);
        }
        Some(Fault::LoseConsent) => {
            state.revoked = true;
            state.token = "revoked".to_owned();
        }
        _ => {}
    }
    if request.authorization.as_deref() != Some(&format!("Bearer {}", state.token)) {
        return json_error(
            401,
            r#"{"fault": {"code": 900901, "message": "Invalid Credentials", "description": "Invalid JWT token"}}"#,
        );
    }
    let body = || body(measurement, &usage_point, start, end, &alterations);
    match fault {
        None | Some(Fault::ExpireToken) | Some(Fault::LoseConsent) | Some(Fault::Alter(_)) => {
            match body() {
                Some(body) => Answer::Full {
                    status: 200,
                    retry_after: None,
                    body,
                },
                None => json_error(
                    400,
                    r#"{"error": "ADAM-ERR0069", "error_description": "Le sens de la mesure ne correspond pas pour le PRM demandé"}"#,
                ),
            }
        }
        Some(Fault::Status {
            status,
            retry_after,
            body,
        }) => Answer::Full {
            status,
            retry_after,
            body: body.into_bytes(),
        },
        Some(Fault::StallBeforeHeaders(wait)) => Answer::Stall(wait),
        Some(Fault::StallMidBody(wait)) => Answer::Half {
            body: body().unwrap_or_default(),
            then_wait: Some(wait),
        },
        Some(Fault::ResetMidBody) => Answer::Half {
            body: body().unwrap_or_default(),
            then_wait: None,
        },
        Some(Fault::Truncated) => {
            let mut whole = body().unwrap_or_default();
            whole.truncate(whole.len() / 2);
            Answer::Full {
                status: 200,
                retry_after: None,
                body: whole,
            }
        }
        Some(Fault::OtherUsagePoint) => {
            let other = if usage_point == CONSUMER {
                PRODUCER
            } else {
                CONSUMER
            };
            let flows = [Flow::Consumption, Flow::Production];
            let body = flows
                .iter()
                .find_map(|&flow| {
                    let measurement = match measurement {
                        Measurement::LoadCurve(_) => Measurement::LoadCurve(flow),
                        other => other,
                    };
                    self::body(measurement, other, start, end, &[])
                })
                .unwrap_or_else(|| format!(r#"{{"meter_reading": {{"usage_point_id": "{other}", "interval_reading": []}}}}"#).into_bytes());
            Answer::Full {
                status: 200,
                retry_after: None,
                body,
            }
        }
        Some(Fault::Oversized(bytes)) => Answer::Full {
            status: 200,
            retry_after: None,
            body: vec![b' '; bytes],
        },
    }
}

/// The v5 body answering `measurement` for `usage_point` over `[start, end)`, or `None`
/// when the meter has no such direction.
fn body(
    measurement: Measurement,
    usage_point: &str,
    start: NaiveDate,
    end: NaiveDate,
    alterations: &[Alteration],
) -> Option<Vec<u8>> {
    let (unit, values): (&str, Vec<(NaiveDateTime, i64, bool)>) = match (measurement, usage_point) {
        (Measurement::LoadCurve(Flow::Consumption), CONSUMER)
        | (Measurement::LoadCurve(Flow::Production), PRODUCER) => {
            let Measurement::LoadCurve(flow) = measurement else {
                return None;
            };
            let mut readings: Vec<(NaiveDateTime, i64, bool)> = truth::readings(flow, start, end)
                .into_iter()
                .map(|r| (r.end, r.power.milliwatts(), true))
                .collect();
            for alteration in alterations {
                alter(&mut readings, alteration);
            }
            ("W", readings)
        }
        (Measurement::DailyMaxPower, CONSUMER) => (
            "VA",
            truth::peaks(start, end)
                .into_iter()
                .map(|p| (p.at, p.power.va() * 1000, false))
                .collect(),
        ),
        _ => return None,
    };
    let mut out = format!(
        r#"{{"meter_reading": {{"usage_point_id": "{usage_point}", "start": "{start}", "end": "{end}", "quality": "BRUT", "reading_type": {{"unit": "{unit}", "measurement_kind": "power", "aggregate": "average"}}, "interval_reading": ["#
    );
    for (index, (at, milli, curve)) in values.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        let value = format!("{}.{:03}", milli / 1000, milli % 1000);
        if *curve {
            out.push_str(&format!(
                r#"{{"value": "{value}", "date": "{}", "interval_length": "PT30M", "measure_type": "B"}}"#,
                at.format("%Y-%m-%d %H:%M:%S")
            ));
        } else {
            out.push_str(&format!(
                r#"{{"value": "{}", "date": "{}"}}"#,
                milli / 1000,
                at.format("%Y-%m-%d %H:%M:%S")
            ));
        }
    }
    out.push_str("]}}");
    Some(out.into_bytes())
}

fn alter(readings: &mut Vec<(NaiveDateTime, i64, bool)>, alteration: &Alteration) {
    match alteration {
        Alteration::Duplicates => {
            let mut with = Vec::with_capacity(readings.len() * 11 / 10);
            for (index, reading) in readings.iter().enumerate() {
                with.push(*reading);
                if index % 10 == 3 {
                    with.push(*reading);
                }
            }
            *readings = with;
        }
        Alteration::OutOfOrder => {
            // Each day's readings reversed: the fall-back day's repeated hour included.
            let mut by_day: Vec<Vec<(NaiveDateTime, i64, bool)>> = Vec::new();
            for reading in readings.iter() {
                let day = (reading.0 - Span::minutes(1)).date();
                match by_day.last_mut() {
                    Some(list) if (list[0].0 - Span::minutes(1)).date() == day => {
                        list.push(*reading)
                    }
                    _ => by_day.push(vec![*reading]),
                }
            }
            by_day.reverse();
            *readings = by_day.into_iter().flatten().collect();
        }
        Alteration::HoleAndDuplicate(day) => {
            let missing = day.and_hms_opt(10, 0, 0).unwrap();
            if let Some(position) = readings.iter().position(|r| r.0 == missing) {
                readings[position] = readings[position + 1];
            }
        }
        Alteration::Hole(day) => {
            let from = day.and_hms_opt(12, 30, 0).unwrap();
            let to = day.and_hms_opt(15, 0, 0).unwrap();
            readings.retain(|r| !(from <= r.0 && r.0 <= to));
        }
    }
}
