//! Domoticz over its JSON API: `GET /json.htm?type=command&param=...`.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use linky_core::{DashboardRow, DayRow, DeviceId, HourRow, PARIS};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::secret::{base64, percent_encode};
use crate::svalue::{dashboard_svalue, day_svalue, hour_svalue, validate_svalue};
use crate::{DeviceHandle, Password, Sink, SinkError, StoredDayMismatch};

const SINK: &str = "domoticz";

/// How to authenticate to Domoticz.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DomoticzAuth {
    /// None: the client is in Domoticz's trusted networks.
    None,
    /// HTTP Basic. Domoticz refuses it over plain HTTP unless "AllowPlainBasicAuth" is on,
    /// so over `http://` it is sent only when `allow_plain_http` says so.
    Basic {
        /// The user name.
        user: String,
        /// The password.
        password: Password,
        /// Send it over plain HTTP too (the user turned AllowPlainBasicAuth on).
        allow_plain_http: bool,
    },
    /// A session cookie from `param=logincheck` (the user name in base64, the password's
    /// MD5, as Domoticz's own web page sends them); renewed once when Domoticz answers 401.
    Session {
        /// The user name.
        user: String,
        /// The password.
        password: Password,
    },
    /// A bearer token from Domoticz's OAuth2 endpoint.
    Bearer {
        /// The token.
        token: Password,
    },
}

/// Where Domoticz is and how to talk to it: [`DomoticzConfig::new`], then the `with_`
/// methods.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DomoticzConfig {
    /// e.g. `http://127.0.0.1:8080`.
    pub base_url: String,
    /// The authentication.
    pub auth: DomoticzAuth,
    /// The dummy hardware's name (default `Linky`).
    pub hardware_name: String,
    /// Device names are this prefix and the device id (default `Linky `).
    pub device_name_prefix: String,
    /// How long one call may take (default 30 s).
    pub timeout: Duration,
    /// The time zone of the dates written (default Europe/Paris).
    pub time_zone: Tz,
    /// Whether a colour forecast goes to devices of its own: `Tempo aujourd'hui`, `Tempo
    /// demain` and `Tempo saison` (default no: a sink adds no device it was not asked
    /// for; the `linky` command asks).
    pub colour_devices: bool,
}

impl DomoticzConfig {
    /// The defaults for a Domoticz at `base_url` on a trusted network.
    pub fn new(base_url: impl Into<String>) -> DomoticzConfig {
        DomoticzConfig {
            base_url: base_url.into(),
            auth: DomoticzAuth::None,
            hardware_name: "Linky".to_owned(),
            device_name_prefix: "Linky ".to_owned(),
            timeout: Duration::from_secs(30),
            time_zone: PARIS,
            colour_devices: false,
        }
    }

    /// With (or without) the colour forecast's devices (see
    /// [`DomoticzConfig::colour_devices`]).
    pub fn with_colour_devices(mut self, colour_devices: bool) -> DomoticzConfig {
        self.colour_devices = colour_devices;
        self
    }

    /// With this authentication.
    pub fn with_auth(mut self, auth: DomoticzAuth) -> DomoticzConfig {
        self.auth = auth;
        self
    }

    /// With this dummy hardware's name.
    pub fn with_hardware_name(mut self, name: impl Into<String>) -> DomoticzConfig {
        self.hardware_name = name.into();
        self
    }

    /// With this prefix before device ids in device names.
    pub fn with_device_name_prefix(mut self, prefix: impl Into<String>) -> DomoticzConfig {
        self.device_name_prefix = prefix.into();
        self
    }

    /// With this timeout for one call.
    pub fn with_timeout(mut self, timeout: Duration) -> DomoticzConfig {
        self.timeout = timeout;
        self
    }

    /// With this time zone for the dates written.
    pub fn with_time_zone(mut self, time_zone: Tz) -> DomoticzConfig {
        self.time_zone = time_zone;
        self
    }
}

/// A Domoticz P1 meter sink.
#[derive(Debug)]
pub struct DomoticzSink {
    config: DomoticzConfig,
    /// Kept-alive connections, for calls that can be sent twice without harm.
    http: reqwest::Client,
    /// A new connection per call, for calls that create something (`addhardware`,
    /// `createdevice`): never sent on a connection Domoticz may just have closed.
    fresh: reqwest::Client,
    /// The `Authorization` header's value: a secret, never printed.
    authorization: Option<Password>,
    /// The dummy hardware's idx, once found or created.
    hardware: Mutex<Option<String>>,
    /// The version, once checked.
    version: Mutex<Option<String>>,
    /// The session cookie (`name=value`), with [`DomoticzAuth::Session`].
    session: Mutex<Option<String>>,
}

/// A query value as Domoticz is sent it: `;` and `:` (its svalue and options
/// separators) as they are, the rest percent-encoded.
fn encode(value: &str) -> String {
    percent_encode(value, b";:")
}

/// How long a kept-alive connection may wait in the pool: less than the 20 s after which
/// Domoticz closes an idle one (without saying so).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(15);

/// The largest answer read from Domoticz (a month graph is a few kB).
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// Calls that create something: sending one twice would create two.
fn creates_something(params: &[(&str, String)]) -> bool {
    params.first().is_some_and(|(name, value)| {
        *name == "param" && matches!(value.as_str(), "addhardware" | "createdevice")
    })
}

/// Whether a request failed on a connection that closed before any byte of the answer
/// came (a kept-alive connection Domoticz had closed meanwhile): not a refused
/// connection, not a timeout.
fn closed_before_answer(error: &reqwest::Error) -> bool {
    error.is_request() && !error.is_connect() && !error.is_timeout()
}

/// The options that make a P1 meter take dated history (`AddDBLogEntry`) and keep
/// Domoticz from adding rows of its own (`DisableLogAutoUpdate`).
const DEVICE_OPTIONS: &str = "AddDBLogEntry:true;DisableLogAutoUpdate:true";

impl DomoticzSink {
    /// A sink for `config`.
    ///
    /// # Errors
    ///
    /// [`SinkError::Config`] for a base URL that is not http(s), or Basic authentication
    /// over plain HTTP without `allow_plain_http`.
    ///
    /// ```
    /// use linky_domoticz::{DomoticzConfig, DomoticzSink};
    /// let sink = DomoticzSink::new(DomoticzConfig::new("http://127.0.0.1:8080"));
    /// assert!(sink.is_ok()); // nothing is asked of Domoticz before the first write
    /// assert!(DomoticzSink::new(DomoticzConfig::new("ftp://127.0.0.1")).is_err());
    /// ```
    pub fn new(config: DomoticzConfig) -> Result<DomoticzSink, SinkError> {
        let base = config.base_url.trim_end_matches('/');
        let plain = base.starts_with("http://");
        if !plain && !base.starts_with("https://") {
            return Err(SinkError::Config {
                detail: format!("domoticz url {base:?} is not http(s)"),
            });
        }
        let authorization: Option<Password> = match &config.auth {
            DomoticzAuth::None => None,
            DomoticzAuth::Basic {
                user,
                password,
                allow_plain_http,
            } => {
                if plain && !allow_plain_http {
                    return Err(SinkError::Config {
                        detail: "basic authentication over plain http is refused by Domoticz unless \
                                 AllowPlainBasicAuth is on: use https, or say plain basic is allowed"
                            .to_owned(),
                    });
                }
                Some(Password::new(format!(
                    "Basic {}",
                    base64(format!("{user}:{}", password.expose()).as_bytes())
                )))
            }
            DomoticzAuth::Bearer { token } => {
                Some(Password::new(format!("Bearer {}", token.expose())))
            }
            DomoticzAuth::Session { .. } => None,
        };
        let client = |max_idle: usize| {
            reqwest::Client::builder()
                .timeout(config.timeout)
                .pool_idle_timeout(POOL_IDLE_TIMEOUT)
                .pool_max_idle_per_host(max_idle)
                .build()
                .map_err(|error| SinkError::Config {
                    detail: format!("cannot build the http client: {error}"),
                })
        };
        let (http, fresh) = (client(1)?, client(0)?);
        Ok(DomoticzSink {
            config,
            http,
            fresh,
            authorization,
            hardware: Mutex::new(None),
            version: Mutex::new(None),
            session: Mutex::new(None),
        })
    }

    /// One JSON API call; `params` after `type=command`. Answers with `"status": "OK"`.
    /// With a session, logs in first, and once more if Domoticz forgot the session.
    async fn call(&self, params: &[(&str, String)]) -> Result<Value, SinkError> {
        let DomoticzAuth::Session { .. } = &self.config.auth else {
            return self.call_once(params, None).await;
        };
        let mut cookie = self.session.lock().await;
        if cookie.is_none() {
            *cookie = Some(self.login().await?);
        }
        match self.call_once(params, cookie.as_deref()).await {
            Err(SinkError::Unauthorized { .. }) => {
                *cookie = Some(self.login().await?);
                self.call_once(params, cookie.as_deref()).await
            }
            other => other,
        }
    }

    /// Logs in with `param=logincheck` and returns the session cookie.
    async fn login(&self) -> Result<String, SinkError> {
        use md5::{Digest, Md5};
        let DomoticzAuth::Session { user, password } = &self.config.auth else {
            return Err(SinkError::Config {
                detail: "no session credentials".to_owned(),
            });
        };
        let digest = Md5::digest(password.expose().as_bytes());
        let password_md5: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        let url = format!(
            "{}/json.htm?type=command&param=logincheck&username={}&password={}&rememberme=false",
            self.config.base_url.trim_end_matches('/'),
            encode(&base64(user.as_bytes())),
            password_md5
        );
        let at = shown_url(&self.config.base_url);
        let refused = |detail: &str| SinkError::Unauthorized {
            sink: SINK,
            detail: format!("logincheck at {at} for {user:?}: {detail}"),
        };
        let response = self
            .send(&url, &[], true)
            .await
            .map_err(|_| SinkError::Unavailable {
                sink: SINK,
                detail: format!("logincheck at {at}: could not connect"),
            })?;
        let cookie = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|value| value.split(';').next())
            .find(|pair| pair.contains('=') && !pair.ends_with('='))
            .map(str::to_owned);
        let status = response.status().as_u16();
        let bytes = read_answer(response).await.unwrap_or_default();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status != 200 || body.get("status").and_then(Value::as_str) != Some("OK") {
            return Err(refused("refused"));
        }
        cookie.ok_or_else(|| refused("no session cookie in the answer"))
    }

    async fn call_once(
        &self,
        params: &[(&str, String)],
        cookie: Option<&str>,
    ) -> Result<Value, SinkError> {
        let mut query = String::from("type=command");
        for (name, value) in params {
            query.push('&');
            query.push_str(name);
            query.push('=');
            query.push_str(&encode(value));
        }
        let url = format!(
            "{}/json.htm?{query}",
            self.config.base_url.trim_end_matches('/')
        );
        let what = format!(
            "{} at {}",
            params.first().map_or("", |(_, v)| v.as_str()),
            shown_url(&self.config.base_url)
        );
        let mut headers = Vec::new();
        if let Some(authorization) = &self.authorization {
            headers.push((reqwest::header::AUTHORIZATION, authorization.expose()));
        }
        if let Some(cookie) = cookie {
            headers.push((reqwest::header::COOKIE, cookie));
        }
        let response = self
            .send(&url, &headers, !creates_something(params))
            .await
            .map_err(|error| SinkError::Unavailable {
                sink: SINK,
                detail: format!(
                    "{what}: {}",
                    if error.is_timeout() {
                        "timed out"
                    } else if error.is_connect() {
                        "could not connect"
                    } else {
                        "the connection failed"
                    }
                ),
            })?;
        let status = response.status().as_u16();
        let body = read_answer(response).await.map_err(|error| match error {
            AnswerError::TooLarge => SinkError::Unexpected {
                sink: SINK,
                detail: format!("{what}: an answer over {MAX_ANSWER_BYTES} bytes"),
            },
            AnswerError::CutOff => SinkError::Unavailable {
                sink: SINK,
                detail: format!("{what}: the answer was cut off"),
            },
        })?;
        match status {
            200 => {}
            401 | 403 => {
                let hint = match self.config.auth {
                    DomoticzAuth::None => {
                        "Domoticz asks for a login: add this machine to its trusted networks \
                         (Setup > Settings > Security > Trusted Networks), or give [domoticz] \
                         user and password_env"
                    }
                    _ => "check the user and password (and the user's rights in Domoticz)",
                };
                return Err(SinkError::Unauthorized {
                    sink: SINK,
                    detail: format!("{what} answered {status}: {hint}"),
                });
            }
            404 => {
                return Err(SinkError::Unsupported {
                    sink: SINK,
                    detail: format!("{what} answered 404: is this Domoticz 2023.2 or newer?"),
                });
            }
            500..=599 => {
                return Err(SinkError::Unavailable {
                    sink: SINK,
                    detail: format!("{what} answered {status}"),
                });
            }
            other => {
                return Err(SinkError::Unexpected {
                    sink: SINK,
                    detail: format!("{what} answered {other}"),
                });
            }
        }
        let value: Value =
            serde_json::from_slice(&body).map_err(|error| SinkError::Unexpected {
                sink: SINK,
                detail: format!("{what}: {error}"),
            })?;
        if value.get("status").and_then(Value::as_str) != Some("OK") {
            return Err(SinkError::Rejected {
                sink: SINK,
                what: describe(params),
            });
        }
        Ok(value)
    }

    /// Sends a GET with `Connection: keep-alive` (without it Domoticz closes the
    /// connection after each answer, and a pooled connection fails on the next call).
    /// An `idempotent` call goes on a kept-alive connection and is sent once more when
    /// that connection turns out closed before any byte of the answer; any other call
    /// goes on a new connection and is never sent twice.
    async fn send(
        &self,
        url: &str,
        headers: &[(reqwest::header::HeaderName, &str)],
        idempotent: bool,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let client = if idempotent { &self.http } else { &self.fresh };
        let request = || {
            headers.iter().fold(
                client
                    .get(url)
                    .header(reqwest::header::CONNECTION, "keep-alive"),
                |request, (name, value)| request.header(name, *value),
            )
        };
        match request().send().await {
            Err(error) if idempotent && closed_before_answer(&error) => {
                tracing::debug!("domoticz closed a kept-alive connection: sending again");
                request().send().await
            }
            other => other,
        }
    }

    /// Checks the version once: 2023.2 stable is broken for dated history, and versions
    /// before it lack the `type=command` calls.
    pub async fn check_version(&self) -> Result<String, SinkError> {
        let mut known = self.version.lock().await;
        if let Some(version) = known.as_ref() {
            return Ok(version.clone());
        }
        let answer = self.call(&[("param", "getversion".to_owned())]).await?;
        let version = answer
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let (year, minor) = parse_version(&version).ok_or_else(|| SinkError::Unexpected {
            sink: SINK,
            detail: format!("unreadable version {version:?}"),
        })?;
        if (year, minor) == (2023, 2) {
            return Err(SinkError::Unsupported {
                sink: SINK,
                detail: "Domoticz 2023.2 refuses undated updates and corrupts the live value of \
                         P1 meters written with dates; upgrade to 2024.1 or newer"
                    .to_owned(),
            });
        }
        if (year, minor) < (2023, 2) {
            return Err(SinkError::Unsupported {
                sink: SINK,
                detail: format!(
                    "Domoticz {version} is older than 2023.2; upgrade to 2024.1 or newer"
                ),
            });
        }
        *known = Some(version.clone());
        Ok(version)
    }

    async fn hardware_idx(&self) -> Result<String, SinkError> {
        let mut known = self.hardware.lock().await;
        if let Some(idx) = known.as_ref() {
            return Ok(idx.clone());
        }
        let list = self.call(&[("param", "gethardware".to_owned())]).await?;
        let found = list
            .get("result")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|hw| {
                hw.get("Name").and_then(Value::as_str) == Some(self.config.hardware_name.as_str())
                    && hw.get("Type").and_then(Value::as_i64) == Some(15)
            })
            .and_then(|hw| text(hw.get("idx")));
        let idx = match found {
            Some(idx) => idx,
            None => {
                let created = self
                    .call(&[
                        ("param", "addhardware".to_owned()),
                        ("htype", "15".to_owned()),
                        ("name", self.config.hardware_name.clone()),
                        ("enabled", "true".to_owned()),
                        ("datatimeout", "0".to_owned()),
                    ])
                    .await?;
                text(created.get("idx")).ok_or_else(|| SinkError::Unexpected {
                    sink: SINK,
                    detail: "addhardware answered without an idx".to_owned(),
                })?
            }
        };
        *known = Some(idx.clone());
        Ok(idx)
    }

    async fn send_svalue(&self, device: &DeviceHandle, svalue: String) -> Result<(), SinkError> {
        validate_svalue(&svalue, self.config.time_zone)?;
        self.udevice(&device.key, svalue).await
    }

    /// The day totals Domoticz holds for the months of `rows`, compared with them.
    async fn read_back_days(
        &self,
        device: &DeviceHandle,
        rows: &[DayRow],
    ) -> Result<Vec<StoredDayMismatch>, SinkError> {
        let months: std::collections::BTreeSet<(i32, u32)> = rows
            .iter()
            .map(|r| (r.date.year(), r.date.month()))
            .collect();
        let mut stored: BTreeMap<NaiveDate, [i64; 4]> = BTreeMap::new();
        for (year, month) in months {
            let graph = self
                .call(&[
                    ("param", "graph".to_owned()),
                    ("sensor", "counter".to_owned()),
                    ("idx", device.key.clone()),
                    ("range", "month".to_owned()),
                    ("actmonth", month.to_string()),
                    ("actyear", year.to_string()),
                ])
                .await?;
            for entry in graph
                .get("result")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(date) = entry
                    .get("d")
                    .and_then(Value::as_str)
                    .and_then(|d| d.parse().ok())
                else {
                    continue;
                };
                let kwh = |key: &str| -> i64 {
                    entry
                        .get(key)
                        .and_then(Value::as_str)
                        .and_then(|v| v.parse::<f64>().ok())
                        .map_or(0, |v| (v * 1000.0).round() as i64)
                };
                stored.insert(date, [kwh("v1"), kwh("v2"), kwh("r1"), kwh("r2")]);
            }
        }
        Ok(rows
            .iter()
            .filter_map(|row| {
                let written = row.totals.in_order().map(|e| e.round_wh().max(0));
                let held = stored.get(&row.date).copied();
                (held != Some(written)).then_some(StoredDayMismatch {
                    date: row.date,
                    written_wh: written,
                    stored_wh: held,
                })
            })
            .collect())
    }
}

enum AnswerError {
    TooLarge,
    CutOff,
}

/// A P1 Smart Meter (electricity, two tariffs each way).
const P1_METER: (&str, &str) = ("250", "1");
/// A Managed Counter: dated day rows of a value and a counter.
const MANAGED_COUNTER: (&str, &str) = ("243", "33");
/// A cost counter's options: its rows logged as written, shown in euros.
const COST_OPTIONS: &str =
    "AddDBLogEntry:true;DisableLogAutoUpdate:true;ValueQuantity:Coût;ValueUnits:€";

/// An Alert sensor: a level (0 grey, 1 green, 2 yellow, 3 orange, 4 red) and a text.
const ALERT: (&str, &str) = ("243", "22");
/// A Text sensor: its sValue is the text shown.
const TEXT: (&str, &str) = ("243", "19");

/// The Tempo season's counts as a person reads them: `rouge 5/22, blanc 12/43 (saison
/// 2025-2026)`, and the days the counts miss.
fn season_text(forecast: &crate::ColourForecast) -> String {
    use chrono::Datelike;
    let first_year = linky_core::tempo_season_start(forecast.today).year();
    let [_, white, red] = forecast.season_used;
    let mut text = format!(
        "rouge {red}/{}, blanc {white}/{} (saison {first_year}-{})",
        linky_core::TEMPO_RED_DAYS,
        linky_core::TEMPO_WHITE_DAYS,
        first_year + 1
    );
    if forecast.season_unknown > 0 {
        text.push_str(&format!(", {} jour(s) inconnu(s)", forecast.season_unknown));
    }
    text
}

/// A day colour as an Alert sensor's level and text: blue green (1), white yellow (2), red
/// red (4), unknown grey (0).
fn colour_alert(colour: Option<linky_core::DayColour>) -> (u8, &'static str) {
    use linky_core::DayColour;
    match colour {
        Some(DayColour::Blue) => (1, "BLEU"),
        Some(DayColour::White) => (2, "BLANC"),
        Some(DayColour::Red) => (4, "ROUGE"),
        None => (0, "INCONNU"),
    }
}

/// A device the sink needs on its hardware: its name, type (device type and subtype),
/// and the `setused` parameters before and after its name.
struct Wanted<'a> {
    name: String,
    kind: (&'a str, &'a str),
    before: Vec<(&'a str, String)>,
    after: Vec<(&'a str, String)>,
}

impl DomoticzSink {
    /// The idx of each `wanted` device (in order), found with one `getdevices` call, and
    /// those missing created and set used.
    async fn ensure_named(&self, wanted: &[Wanted<'_>]) -> Result<Vec<String>, SinkError> {
        self.check_version().await?;
        let hardware = self.hardware_idx().await?;
        let devices = self
            .call(&[
                ("param", "getdevices".to_owned()),
                ("filter", "all".to_owned()),
                ("used", "true".to_owned()),
                ("hwidx", hardware.clone()),
            ])
            .await?;
        let existing: Vec<(String, String)> = devices
            .get("result")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|device| {
                let name = device.get("Name").and_then(Value::as_str)?;
                Some((name.to_owned(), text(device.get("idx"))?))
            })
            .collect();
        let mut found = Vec::with_capacity(wanted.len());
        for device in wanted {
            if let Some((_, idx)) = existing.iter().find(|(name, _)| *name == device.name) {
                found.push(idx.clone());
                continue;
            }
            let created = self
                .call(&[
                    ("param", "createdevice".to_owned()),
                    ("idx", hardware.clone()),
                    ("sensorname", device.name.clone()),
                    ("devicetype", device.kind.0.to_owned()),
                    ("devicesubtype", device.kind.1.to_owned()),
                ])
                .await?;
            let idx = text(created.get("idx")).ok_or_else(|| SinkError::Unexpected {
                sink: SINK,
                detail: "createdevice answered without an idx".to_owned(),
            })?;
            // Never used=false: it deletes the device and its history. `name` goes with
            // the settings: Domoticz ignores a switch type without it.
            let mut params = vec![
                ("param", "setused".to_owned()),
                ("idx", idx.clone()),
                ("used", "true".to_owned()),
            ];
            params.extend(device.before.iter().cloned());
            params.push(("name", device.name.clone()));
            params.extend(device.after.iter().cloned());
            self.call(&params).await?;
            found.push(idx);
        }
        Ok(found)
    }

    /// The idx of one wanted device (see [`DomoticzSink::ensure_named`]).
    async fn ensure_one(&self, wanted: Wanted<'_>) -> Result<String, SinkError> {
        self.ensure_named(std::slice::from_ref(&wanted))
            .await?
            .pop()
            .ok_or_else(|| SinkError::Unexpected {
                sink: SINK,
                detail: format!("no device {}", wanted.name),
            })
    }

    /// One `udevice` call: `svalue` written to the device `key`.
    async fn udevice(&self, key: &str, svalue: String) -> Result<(), SinkError> {
        self.udevice_with(key, 0, svalue).await
    }

    /// One `udevice` call with an nValue (an Alert device's level).
    async fn udevice_with(&self, key: &str, nvalue: u8, svalue: String) -> Result<(), SinkError> {
        self.call(&[
            ("param", "udevice".to_owned()),
            ("idx", key.to_owned()),
            ("nvalue", nvalue.to_string()),
            ("svalue", svalue),
        ])
        .await
        .map(|_| ())
    }
}

/// Reads an answer's body, up to [`MAX_ANSWER_BYTES`].
async fn read_answer(mut response: reqwest::Response) -> Result<Vec<u8>, AnswerError> {
    if response
        .content_length()
        .is_some_and(|length| length > MAX_ANSWER_BYTES as u64)
    {
        return Err(AnswerError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|_| AnswerError::CutOff)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(AnswerError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn parse_version(version: &str) -> Option<(u32, u32)> {
    let mut parts = version
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// A call's description for errors: its parameters, none of them secret.
fn describe(params: &[(&str, String)]) -> String {
    params
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[async_trait]
impl Sink for DomoticzSink {
    async fn ensure_device(&self, device_id: &DeviceId) -> Result<DeviceHandle, SinkError> {
        let wanted = Wanted {
            name: format!("{}{device_id}", self.config.device_name_prefix),
            kind: P1_METER,
            before: vec![("options", base64(DEVICE_OPTIONS.as_bytes()))],
            after: vec![("description", format!("Compteur Linky {device_id}"))],
        };
        let idx = self.ensure_one(wanted).await?;
        Ok(DeviceHandle {
            device_id: device_id.clone(),
            key: idx,
        })
    }

    /// Tempo's six counters in three P1 meters, one per colour (a P1 meter holds two
    /// tariffs: usage 1 = peak, usage 2 = off-peak; the return counters stay 0), named
    /// after the device with `Tempo bleu`, `Tempo blanc`, `Tempo rouge`: day rows in Wh,
    /// dated, kept in Domoticz's long log and graphs.
    async fn write_colour_days(
        &self,
        device: &DeviceHandle,
        rows: &[crate::ColourDayRow],
    ) -> Result<(), SinkError> {
        const COLOURS: [&str; 3] = ["bleu", "blanc", "rouge"];
        let wanted: Vec<Wanted<'_>> = COLOURS
            .iter()
            .map(|word| Wanted {
                name: format!(
                    "{}{} Tempo {word}",
                    self.config.device_name_prefix, device.device_id
                ),
                kind: P1_METER,
                before: vec![("options", base64(DEVICE_OPTIONS.as_bytes()))],
                after: vec![("description", format!("Tempo {word} {}", device.device_id))],
            })
            .collect();
        // The three meters found (or created) with one device listing.
        let meters = self.ensure_named(&wanted).await?;
        for (colour, idx) in meters.iter().enumerate() {
            let pair = |row: &crate::ColourDayRow| {
                [row.energies[colour * 2], row.energies[colour * 2 + 1]]
            };
            for row in rows {
                let [peak, off_peak] = pair(row);
                let svalue = format!(
                    "{};{};0;0;0;0;{}",
                    peak.round_wh(),
                    off_peak.round_wh(),
                    row.date.format("%Y-%m-%d")
                );
                validate_svalue(&svalue, self.config.time_zone)?;
                self.udevice(idx, svalue).await?;
            }
            // Day rows never set the live value (the tile showed "0 Watt, Today: 0.000
            // kWh"): an undated write gives it the last day of this colour, its peak and
            // off-peak Wh and its mean power, as the main meter shows its last figures.
            let last = rows.iter().rev().find(|row| {
                pair(row)
                    .iter()
                    .any(|energy| *energy != linky_core::Energy::ZERO)
            });
            if let Some(row) = last {
                self.udevice(
                    idx,
                    colour_live_svalue(row.date, pair(row), self.config.time_zone),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Each day's cost in a Managed Counter (243/33, switch type Counter, divider 100):
    /// day rows `0;<cents>;YYYY-MM-DD` (the first field 0 everywhere, so that Domoticz's
    /// month and year totals add the days up), shown in euros.
    async fn write_cost_days(
        &self,
        device: &DeviceHandle,
        rows: &[crate::CostDayRow],
    ) -> Result<(), SinkError> {
        let wanted = Wanted {
            name: format!(
                "{}{} coût",
                self.config.device_name_prefix, device.device_id
            ),
            kind: MANAGED_COUNTER,
            before: Vec::new(),
            after: vec![
                ("switchtype", "3".to_owned()),
                ("addjvalue2", "100".to_owned()),
                ("options", base64(COST_OPTIONS.as_bytes())),
                (
                    "description",
                    format!("Coût journalier {}", device.device_id),
                ),
            ],
        };
        let counter = self.ensure_one(wanted).await?;
        for row in rows {
            // Whole numbers and a date written by chrono: the form Domoticz stores (a
            // managed counter's row is not a P1's, so it is not checked as one).
            let svalue = format!(
                "0;{};{}",
                row.cost.round_cents(),
                row.date.format("%Y-%m-%d")
            );
            self.udevice(&counter, svalue).await?;
        }
        // The live value (day rows never set it): the last day's cost, which Domoticz
        // shows in euros on the tile.
        if let Some(row) = rows.iter().max_by_key(|row| row.date) {
            self.udevice(&counter, format!("0;{}", row.cost.round_cents()))
                .await?;
        }
        Ok(())
    }

    /// Today's and tomorrow's colours in two Alert sensors (243/22), `Tempo aujourd'hui`
    /// and `Tempo demain` (after the name prefix, belonging to no meter): level 1 blue, 2
    /// white, 4 red, 0 unknown, and the colour's word as text (`BLEU`, `BLANC`, `ROUGE`,
    /// `INCONNU`), for scripts to test. Created without `AddDBLogEntry` (with it, Domoticz
    /// keeps the level at 0); their history is Domoticz's text log. The season's red and
    /// white days used go to a Text sensor (243/19), `Tempo saison`:
    /// `rouge 5/22, blanc 12/43 (saison 2025-2026)`. Only with
    /// [`DomoticzConfig::with_colour_devices`].
    async fn write_colour_forecast(
        &self,
        forecast: &crate::ColourForecast,
    ) -> Result<(), SinkError> {
        if !self.config.colour_devices {
            return Ok(());
        }
        let prefix = &self.config.device_name_prefix;
        let wanted: Vec<Wanted<'_>> = [
            ("Tempo aujourd'hui", ALERT, "Couleur Tempo du jour"),
            ("Tempo demain", ALERT, "Couleur Tempo du lendemain"),
            (
                "Tempo saison",
                TEXT,
                "Jours rouges et blancs de la saison Tempo",
            ),
        ]
        .into_iter()
        .map(|(name, kind, description)| Wanted {
            name: format!("{prefix}{name}"),
            kind,
            before: Vec::new(),
            after: vec![("description", description.to_owned())],
        })
        .collect();
        // One listing finds (or creates) the three devices.
        let devices = self.ensure_named(&wanted).await?;
        let [today, tomorrow, season] = devices.as_slice() else {
            return Err(SinkError::Unexpected {
                sink: SINK,
                detail: "the Tempo devices were not all found".to_owned(),
            });
        };
        for (idx, colour) in [today, tomorrow]
            .into_iter()
            .zip([forecast.today_colour, forecast.tomorrow_colour])
        {
            let (level, word) = colour_alert(colour);
            self.udevice_with(idx, level, word.to_owned()).await?;
        }
        self.udevice(season, season_text(forecast)).await?;
        Ok(())
    }

    async fn write_hours(&self, device: &DeviceHandle, rows: &[HourRow]) -> Result<(), SinkError> {
        // Domoticz keys rows by their date string: on the fall-back day two hours share a
        // label; the later (cumulative, so complete) one is the one to keep.
        let mut by_label: BTreeMap<String, String> = BTreeMap::new();
        for (row, cumulative) in rows.iter().zip(HourRow::running_totals(rows)) {
            let svalue = hour_svalue(row, &cumulative, self.config.time_zone)?;
            by_label.insert(row.end.format("%Y-%m-%d %H:%M:%S").to_string(), svalue);
        }
        for svalue in by_label.into_values() {
            self.send_svalue(device, svalue).await?;
        }
        Ok(())
    }

    async fn write_days(&self, device: &DeviceHandle, rows: &[DayRow]) -> Result<(), SinkError> {
        for row in rows {
            self.send_svalue(device, day_svalue(row)).await?;
        }
        Ok(())
    }

    async fn write_dashboard(
        &self,
        device: &DeviceHandle,
        row: &DashboardRow,
    ) -> Result<(), SinkError> {
        self.send_svalue(device, dashboard_svalue(row)).await
    }

    /// Reads back the month graphs (Domoticz answers OK even when it drops a write).
    async fn verify_days(
        &self,
        device: &DeviceHandle,
        rows: &[DayRow],
    ) -> Result<Vec<StoredDayMismatch>, SinkError> {
        self.read_back_days(device, rows).await
    }

    /// Domoticz's JSON API has no call that sets a device's timed-out flag (the original
    /// plugin set it through Domoticz's Python framework). Nothing is sent; the stale
    /// device keeps its last value and date, which Domoticz shows.
    async fn mark_timed_out(&self, device: &DeviceHandle) -> Result<(), SinkError> {
        tracing::info!(device = %device.device_id, "domoticz cannot mark a device timed out through its json api");
        Ok(())
    }
}

/// A colour meter's live value: the day's peak and off-peak Wh, and its mean power in W
/// over the day's hours (23, 24 or 25).
fn colour_live_svalue(
    date: NaiveDate,
    [peak, off_peak]: [linky_core::Energy; 2],
    time_zone: Tz,
) -> String {
    let hours = i64::from(linky_core::hours_in_day(date, time_zone).max(1));
    let watts = (peak + off_peak).round_wh().max(0) / hours;
    format!(
        "{};{};0;0;{watts};0",
        peak.round_wh().max(0),
        off_peak.round_wh().max(0)
    )
}

/// `base` as errors show it: without a user or password it might hold.
fn shown_url(base: &str) -> String {
    match reqwest::Url::parse(base) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.as_str().trim_end_matches('/').to_owned()
        }
        Err(_) => "the configured address".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_colour_meter_shows_its_last_day_and_mean_power() {
        let day = NaiveDate::from_ymd_opt(2024, 10, 27).unwrap();
        let energies = [
            linky_core::Energy::from_wh(15_000),
            linky_core::Energy::from_wh(10_000),
        ];
        assert_eq!(
            colour_live_svalue(day, energies, linky_core::PARIS),
            "15000;10000;0;0;1000;0"
        );
    }

    #[test]
    fn base64_and_encoding_match_what_domoticz_received() {
        assert_eq!(
            encode(&base64(DEVICE_OPTIONS.as_bytes())),
            "QWRkREJMb2dFbnRyeTp0cnVlO0Rpc2FibGVMb2dBdXRvVXBkYXRlOnRydWU%3D"
        );
        assert_eq!(base64(b"admin:domoticz"), "YWRtaW46ZG9tb3RpY3o=");
        assert_eq!(encode("Linky 12345678901234"), "Linky%2012345678901234");
        assert_eq!(
            encode("1;2;0;0;0;0;2024-01-16 01:00:00"),
            "1;2;0;0;0;0;2024-01-16%2001:00:00"
        );
    }

    #[test]
    fn addresses_in_errors_hold_no_login() {
        assert_eq!(
            shown_url("http://admin:hunter2@192.168.1.5:8080/"),
            "http://192.168.1.5:8080"
        );
        assert_eq!(shown_url("not a url"), "the configured address");
    }

    #[test]
    fn versions() {
        assert_eq!(parse_version("2025.1"), Some((2025, 1)));
        assert_eq!(parse_version("2023.2 (build 15457)"), Some((2023, 2)));
        assert_eq!(parse_version("beta"), None);
    }
}
