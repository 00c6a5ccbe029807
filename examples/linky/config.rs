//! The `linky` command's configuration file (TOML): the backend, usage points, schedule,
//! history and where to write. Every problem is reported with its line and column, unknown
//! keys included; secrets are never kept in the file itself but named: an environment
//! variable (`password_env = "DOMOTICZ_PASSWORD"`) or an owner-only file
//! (`password_file = "/etc/linky/domoticz-password"`).
//!
//! ```toml
//! backend = "proxy"                 # proxy, conso-api, myelectricaldata, data-connect, data-connect-v5
//! usage_points = ["12345678901234"] # the proxy finds them itself; the others need them
//! schedule = "22h00-6h00"           # the off-peak hours (see `linky explain`)
//! holiday_zone = "metropole"
//! production = true
//! state = "/var/lib/linky"          # tokens and readings (default: the user's data folder)
//!
//! [history]
//! days = 730                        # day rows kept in the sink (Enedis keeps two years)
//! hours_days = 7                    # hour rows kept in the sink
//!
//! [credentials]                     # conso-api and myelectricaldata: token; data-connect: client
//! token_env = "LINKY_TOKEN"
//! # client_id = "..."
//! # client_secret_file = "/etc/linky/client-secret"
//!
//! [domoticz]
//! url = "http://127.0.0.1:8080"
//! user = "admin"
//! password_env = "DOMOTICZ_PASSWORD"
//! ```

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use linky_core::{HolidayZone, OffPeakConfig};
use linky_domoticz::{
    DomoticzAuth, DomoticzConfig, HomeAssistantConfig, LineProtocolConfig, LineProtocolServer,
    MqttConfig, NameLanguage, Password,
};
use toml_edit::{Item, Table, Value};

/// The backends, by their names in the file and on the command line.
pub const BACKENDS: [&str; 5] = [
    "proxy",
    "conso-api",
    "myelectricaldata",
    "data-connect",
    "data-connect-v5",
];

/// A secret named by the configuration, read from where it says.
#[derive(Clone)]
pub struct Secret {
    value: String,
    /// Where it came from, for messages (never the value).
    pub origin: String,
}

impl Secret {
    /// The value.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// The value, as a sink's password.
    pub fn password(&self) -> Password {
        Password::new(self.value.clone())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret([redacted] from {})", self.origin)
    }
}

/// Where the sync writes.
#[derive(Debug, Clone, Default)]
pub enum Output {
    /// Nowhere but the screen: the day rows are printed.
    #[default]
    Print,
    /// A Domoticz.
    Domoticz(DomoticzConfig),
    /// A time-series database.
    Series(LineProtocolConfig),
    /// Home Assistant's long-term statistics (its Energy dashboard).
    HomeAssistant(HomeAssistantConfig),
}

/// A configuration, read and checked.
#[derive(Debug, Clone)]
pub struct Config {
    /// The backend's name (one of [`BACKENDS`]).
    pub backend: String,
    /// Another address for the backend (a test server, a mirror).
    pub base_url: Option<String>,
    /// The usage points (the proxy finds the consented ones itself).
    pub usage_points: Vec<String>,
    /// Tokens and readings; `None`: the user's data folder.
    pub state: Option<PathBuf>,
    /// The off-peak schedule, as written.
    pub schedule: String,
    /// The holidays' zone.
    pub holiday_zone: HolidayZone,
    /// Whether production is fetched.
    pub production: bool,
    /// Whether a usage point the schedule says nothing of takes its contract's off-peak
    /// hours (Enedis'), dated.
    pub contract_hours: bool,
    /// Whether the sync keeps Tempo's day colours (from RTE, else api-couleur-tempo.fr).
    pub tempo: bool,
    /// Price files read on top of the bundled regulated prices: the CRE's open-data CSV
    /// files (newer prices) or offers in the bundled format.
    pub prices: Vec<PathBuf>,
    /// The user's offer, among the bundled regulated ones (`Base`, `HP/HC`, `Tempo`) and
    /// those of `prices`, with their prices: each day's cost is written.
    pub offer: Option<linky_core::Offer>,
    /// The subscribed power, in kVA.
    pub kva: u32,
    /// Days of day rows.
    pub days: i64,
    /// Days of hour rows.
    pub hours_days: i64,
    /// The backend's API token (conso-api, myelectricaldata).
    pub token: Option<Secret>,
    /// The backend's client id (data-connect; the proxy has its own).
    pub client_id: Option<String>,
    /// The backend's client secret (data-connect).
    pub client_secret: Option<Secret>,
    /// Where to write.
    pub output: Output,
    /// An MQTT broker for `linky tic`'s live values (Home Assistant's discovery), beside
    /// the output.
    pub mqtt: Option<MqttConfig>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            backend: "proxy".to_owned(),
            base_url: None,
            usage_points: Vec::new(),
            state: None,
            schedule: String::new(),
            holiday_zone: HolidayZone::Metropole,
            production: true,
            contract_hours: true,
            tempo: false,
            prices: Vec::new(),
            offer: None,
            kva: 6,
            days: 730,
            hours_days: 7,
            token: None,
            client_id: None,
            client_secret: None,
            output: Output::Print,
            mqtt: None,
        }
    }
}

/// One problem of a configuration file, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// Every problem of a configuration file.
#[derive(Debug, Clone)]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// Its problems, in the order of the file.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, problem) in self.problems.iter().enumerate() {
            if n > 0 {
                writeln!(f)?;
            }
            write!(
                f,
                "{}:{}:{}: {}",
                self.path.display(),
                problem.line,
                problem.column,
                problem.message
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// An annotated configuration to start from (`linky config example`).
pub const EXAMPLE: &str = r#"# linky's configuration: `linky config check` reads it and reports every problem.
backend = "proxy"                  # proxy, conso-api, myelectricaldata, data-connect, data-connect-v5
# usage_points = ["12345678901234"] # the proxy finds the consented ones itself
schedule = "22h00-6h00"            # off-peak hours (`linky explain "22h00-6h00"`)
contract_hours = true              # a PDL the schedule says nothing of: Enedis' hours, dated
tempo = false                      # keep Tempo's day colours (RTE, else api-couleur-tempo.fr)
# offer = "Tempo"                  # write each day's cost with this offer (Base, HP/HC, Tempo)
# prices = ["~/Option_Tempo.csv"]  # newer prices (the CRE's open-data files) or your offers
kva = 6                            # the subscribed power
holiday_zone = "metropole"
production = true
# state = "/var/lib/linky"         # tokens and readings [default: linky in your data folder]

[history]
days = 730                         # days of day rows (Enedis keeps two years of curves)
hours_days = 7                     # days of hour rows

# Secrets are named, never written here: KEY_env (an environment variable) or KEY_file
# (a file only you can read: chmod 600).
# [credentials]                    # conso-api, myelectricaldata: token; data-connect: client
# token_env = "LINKY_TOKEN"
# client_id = "..."
# client_secret_file = "/etc/linky/client-secret"

[domoticz]
url = "http://127.0.0.1:8080"
# user = "admin"
# password_env = "DOMOTICZ_PASSWORD"

# Or Home Assistant's long-term statistics (its Energy dashboard) instead of [domoticz]:
# [home_assistant]
# url = "http://127.0.0.1:8123"
# token_env = "HA_TOKEN"           # a long-lived access token (your profile, Security)
# language = "fr"                  # the statistics' names: fr or en

# Or a time-series database instead of [domoticz]:
# [victoria]
# url = "http://127.0.0.1:8428"
# [influx]
# url = "http://127.0.0.1:8086"
# database = "linky"               # InfluxDB 1.x; for 2.x: token_env, org, bucket

# Beside any of them, an MQTT broker for `linky tic` (the meter's live values, with Home
# Assistant's discovery):
# [mqtt]
# url = "mqtt://127.0.0.1:1883"
# user = "linky"                   # with password_env or password_file
# password_env = "MQTT_PASSWORD"
# discovery_prefix = "homeassistant"
# base_topic = "linky"
# language = "fr"
"#;

/// A configuration as a person checks it: every setting, secrets shown by their origin.
pub fn describe(config: &Config) -> String {
    let mut lines = vec![
        format!("backend: {}", config.backend),
        format!(
            "usage points: {}",
            if config.usage_points.is_empty() {
                "those the backend lists".to_owned()
            } else {
                config.usage_points.join(", ")
            }
        ),
        format!(
            "schedule: {}",
            if config.schedule.is_empty() {
                "none (a single tariff)"
            } else {
                &config.schedule
            }
        ),
        format!("holidays: {}", config.holiday_zone),
        format!(
            "contract hours: {}",
            if config.contract_hours {
                "Enedis' hours for a PDL the schedule says nothing of"
            } else {
                "no"
            }
        ),
        format!(
            "production: {}",
            if config.production { "yes" } else { "no" }
        ),
        format!(
            "history: {} days of day rows, {} of hour rows",
            config.days, config.hours_days
        ),
        format!(
            "state: {}",
            config
                .state
                .clone()
                .or_else(default_state)
                .map_or("(none)".to_owned(), |p| p.display().to_string())
        ),
    ];
    for (name, secret) in [
        ("token", &config.token),
        ("client secret", &config.client_secret),
    ] {
        if let Some(secret) = secret {
            lines.push(format!("{name}: from {}", secret.origin));
        }
    }
    lines.push(match &config.output {
        Output::Print => "output: printed".to_owned(),
        Output::Domoticz(domoticz) => format!("output: Domoticz at {}", domoticz.base_url),
        Output::Series(series) => format!("output: a time-series database at {}", series.base_url),
        Output::HomeAssistant(home_assistant) => format!(
            "output: Home Assistant's statistics at {}",
            home_assistant.url
        ),
    });
    if let Some(mqtt) = &config.mqtt {
        lines.push(format!(
            "mqtt: {}:{} (discovery prefix {}, topics {}/...){}",
            mqtt.host,
            mqtt.port,
            mqtt.discovery_prefix,
            mqtt.base_topic,
            if mqtt.credentials.is_some() {
                ", with a login"
            } else {
                ""
            }
        ));
    }
    lines.join("\n")
}

/// The subscribed powers (kVA) `offers` have prices for, in order.
pub fn priced_powers<'a>(offers: impl IntoIterator<Item = &'a linky_core::Offer>) -> Vec<u32> {
    let mut powers: Vec<u32> = offers
        .into_iter()
        .flat_map(|offer| offer.periods.iter().map(|period| period.kva))
        .collect();
    powers.sort_unstable();
    powers.dedup();
    powers
}

/// The default configuration file: `linky/config.toml` in the user's config folder.
pub fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|folder| folder.join("linky").join("config.toml"))
}

/// The default state folder: `linky` in the user's data folder.
pub fn default_state() -> Option<PathBuf> {
    dirs::data_dir().map(|folder| folder.join("linky"))
}

/// Reads and checks the file at `path`.
///
/// # Errors
///
/// Every problem found, with its line and column (a file that cannot be read is one
/// problem at 1:1).
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError {
        path: path.to_owned(),
        problems: vec![Problem {
            line: 1,
            column: 1,
            message: format!("cannot read the file: {error}"),
        }],
    })?;
    parse(&text, &|name| std::env::var(name).ok()).map_err(|problems| ConfigError {
        path: path.to_owned(),
        problems,
    })
}

/// Reads and checks a configuration's text; `env` answers environment variables.
///
/// # Errors
///
/// Every problem found, in the order of the text.
pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, Vec<Problem>> {
    let document = match toml_edit::Document::parse(text) {
        Ok(document) => document,
        Err(error) => {
            let at = error.span().map_or(0, |span| span.start);
            return Err(vec![problem(text, at, error.message().trim().to_owned())]);
        }
    };
    let mut reader = Reader {
        text,
        env,
        problems: Vec::new(),
    };
    let config = reader.config(document.as_table());
    let mut problems = reader.problems;
    problems.sort_by_key(|p| (p.line, p.column));
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(problems)
    }
}

fn problem(text: &str, at: usize, message: String) -> Problem {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    let column = before[line_start..].chars().count() + 1;
    Problem {
        line,
        column,
        message,
    }
}

struct Reader<'a> {
    text: &'a str,
    env: &'a dyn Fn(&str) -> Option<String>,
    problems: Vec<Problem>,
}

/// The keys a table may hold; `secret` keys are given as `KEY_env` or `KEY_file`.
struct Keys {
    plain: &'static [&'static str],
    secrets: &'static [&'static str],
    tables: &'static [&'static str],
}

impl Keys {
    fn allows(&self, key: &str) -> bool {
        self.plain.contains(&key)
            || self.tables.contains(&key)
            || self.secrets.iter().any(|secret| {
                key.strip_prefix(secret)
                    .is_some_and(|rest| rest == "_env" || rest == "_file")
            })
    }

    fn expected(&self) -> String {
        let mut names: Vec<String> = self.plain.iter().map(|k| (*k).to_owned()).collect();
        for secret in self.secrets {
            names.push(format!("{secret}_env"));
            names.push(format!("{secret}_file"));
        }
        names.extend(self.tables.iter().map(|t| format!("[{t}]")));
        names.join(", ")
    }
}

const TOP: Keys = Keys {
    plain: &[
        "backend",
        "base_url",
        "usage_points",
        "state",
        "schedule",
        "holiday_zone",
        "production",
        "contract_hours",
        "tempo",
        "offer",
        "prices",
        "kva",
    ],
    secrets: &[],
    tables: &[
        "history",
        "credentials",
        "domoticz",
        "victoria",
        "influx",
        "home_assistant",
        "mqtt",
    ],
};
const HISTORY: Keys = Keys {
    plain: &["days", "hours_days"],
    secrets: &[],
    tables: &[],
};
const CREDENTIALS: Keys = Keys {
    plain: &["client_id"],
    secrets: &["token", "client_secret"],
    tables: &[],
};
const DOMOTICZ: Keys = Keys {
    plain: &["url", "user", "allow_plain_basic"],
    secrets: &["password", "bearer"],
    tables: &[],
};
const VICTORIA: Keys = Keys {
    plain: &["url"],
    secrets: &[],
    tables: &[],
};
const HOME_ASSISTANT: Keys = Keys {
    plain: &["url", "language"],
    secrets: &["token"],
    tables: &[],
};
const MQTT: Keys = Keys {
    plain: &["url", "user", "discovery_prefix", "base_topic", "language"],
    secrets: &["password"],
    tables: &[],
};
const INFLUX: Keys = Keys {
    plain: &["url", "database", "user", "org", "bucket"],
    secrets: &["password", "token"],
    tables: &[],
};

impl Reader<'_> {
    fn at(&mut self, span: Option<Range<usize>>, message: String) {
        let at = span.map_or(0, |span| span.start);
        self.problems.push(problem(self.text, at, message));
    }

    /// Checks a table's keys: unknown ones, and secrets written in the file.
    fn keys(&mut self, table: &Table, keys: &Keys, name: &str) {
        for (key, _) in table.iter() {
            let span = table.key(key).and_then(toml_edit::Key::span);
            if keys.secrets.contains(&key) {
                self.at(
                    span,
                    format!(
                        "`{key}` is a secret and is not kept in this file: name an \
                         environment variable with `{key}_env` or an owner-only file with \
                         `{key}_file`"
                    ),
                );
            } else if !keys.allows(key) {
                self.at(
                    span,
                    format!(
                        "unknown key `{key}` in {name} (expected one of: {})",
                        keys.expected()
                    ),
                );
            }
        }
    }

    fn string(&mut self, table: &Table, key: &str) -> Option<(String, Option<Range<usize>>)> {
        let item = table.get(key)?;
        match item.as_str() {
            Some(text) => Some((text.to_owned(), item.span())),
            None => {
                self.at(item.span(), format!("`{key}` must be a string"));
                None
            }
        }
    }

    fn boolean(&mut self, table: &Table, key: &str) -> Option<bool> {
        let item = table.get(key)?;
        match item.as_bool() {
            Some(value) => Some(value),
            None => {
                self.at(item.span(), format!("`{key}` must be true or false"));
                None
            }
        }
    }

    fn integer(&mut self, table: &Table, key: &str, range: Range<i64>) -> Option<i64> {
        let item = table.get(key)?;
        match item.as_integer() {
            Some(value) if range.contains(&value) => Some(value),
            _ => {
                self.at(
                    item.span(),
                    format!(
                        "`{key}` must be a whole number from {} to {}",
                        range.start,
                        range.end - 1
                    ),
                );
                None
            }
        }
    }

    fn table<'t>(&mut self, parent: &'t Table, key: &str, keys: &Keys) -> Option<&'t Table> {
        let item = parent.get(key)?;
        match item {
            Item::Table(table) => {
                self.keys(table, keys, &format!("[{key}]"));
                Some(table)
            }
            _ => {
                self.at(item.span(), format!("`{key}` must be a table: [{key}]"));
                None
            }
        }
    }

    /// A secret named by `KEY_env` or `KEY_file` (not both).
    fn secret(&mut self, table: &Table, key: &str) -> Option<Secret> {
        let env_key = format!("{key}_env");
        let file_key = format!("{key}_file");
        let from_env = self.string(table, &env_key);
        let from_file = self.string(table, &file_key);
        match (from_env, from_file) {
            (Some(_), Some((_, span))) => {
                self.at(span, format!("give `{env_key}` or `{file_key}`, not both"));
                None
            }
            (Some((name, span)), None) => match (self.env)(&name) {
                Some(value) if !value.is_empty() => Some(Secret {
                    value,
                    origin: format!("the environment variable {name}"),
                }),
                _ => {
                    self.at(
                        span,
                        format!("the environment variable {name} (`{env_key}`) is not set"),
                    );
                    None
                }
            },
            (None, Some((path, span))) => match read_secret_file(Path::new(&path)) {
                Ok(value) => Some(Secret {
                    value,
                    origin: format!("the file {path}"),
                }),
                Err(message) => {
                    self.at(span, format!("`{file_key}`: {message}"));
                    None
                }
            },
            (None, None) => None,
        }
    }

    fn config(&mut self, top: &Table) -> Config {
        let mut config = Config::default();
        self.keys(top, &TOP, "the file");
        if let Some((backend, span)) = self.string(top, "backend") {
            if BACKENDS.contains(&backend.as_str()) {
                config.backend = backend;
            } else {
                self.at(
                    span,
                    format!(
                        "unknown backend {backend:?} (expected one of: {})",
                        BACKENDS.join(", ")
                    ),
                );
            }
        }
        config.base_url = self.string(top, "base_url").map(|(url, _)| url);
        if let Some(item) = top.get("usage_points") {
            self.usage_points(item, &mut config.usage_points);
        }
        config.state = self
            .string(top, "state")
            .map(|(path, _)| expand_home(&path));
        if let Some((schedule, span)) = self.string(top, "schedule") {
            match schedule.parse::<OffPeakConfig>() {
                Ok(_) => config.schedule = schedule,
                Err(error) => {
                    // The schedule's own column, inside the string (after its quote).
                    let start = span.map_or(0, |span| span.start + 1);
                    let offset: usize = schedule
                        .chars()
                        .take(error.column().saturating_sub(1))
                        .map(char::len_utf8)
                        .sum();
                    self.at(
                        Some(start + offset..start + offset),
                        format!("schedule: {error}"),
                    );
                }
            }
        }
        if let Some((zone, span)) = self.string(top, "holiday_zone") {
            match zone.parse() {
                Ok(zone) => config.holiday_zone = zone,
                Err(error) => self.at(span, format!("holiday_zone: {error}")),
            }
        }
        if let Some(production) = self.boolean(top, "production") {
            config.production = production;
        }
        if let Some(contract_hours) = self.boolean(top, "contract_hours") {
            config.contract_hours = contract_hours;
        }
        if let Some(tempo) = self.boolean(top, "tempo") {
            config.tempo = tempo;
        }
        if let Some(kva) = self.integer(top, "kva", 1..37) {
            config.kva = kva as u32;
        }
        let mut book = linky_core::PriceBook::regulated();
        if let Some(item) = top.get("prices") {
            self.prices(item, &mut config.prices, &mut book);
        }
        if let Some((name, span)) = self.string(top, "offer") {
            match book.offer(&name) {
                Some(offer) => config.offer = Some(offer.clone()),
                None => {
                    let names: Vec<&str> = book.offers.iter().map(|o| o.name.as_str()).collect();
                    self.at(
                        span,
                        format!(
                            "unknown offer {name:?} (expected one of: {})",
                            names.join(", ")
                        ),
                    );
                }
            }
        }
        // An offer priced at a power it has no price for: the run's costs could never be
        // computed (without an offer, `linky config check` warns instead: the sync does
        // not need prices).
        if let Some(item) = top.get("kva")
            && item.as_integer() == Some(i64::from(config.kva))
            && config.offer.is_some()
        {
            let powers = priced_powers(config.offer.iter());
            if !powers.contains(&config.kva) {
                let powers: Vec<String> = powers.iter().map(ToString::to_string).collect();
                let whose = match &config.offer {
                    Some(offer) => format!("the offer {:?} has", offer.name),
                    None => "the prices have".to_owned(),
                };
                self.at(
                    item.span(),
                    format!(
                        "no price for {} kVA: {whose} {} kVA; for another power, load the CRE's price file (`prices = [\"file.csv\"]`, from data.gouv.fr)",
                        config.kva,
                        powers.join(", ")
                    ),
                );
            }
        }
        if let Some(history) = self.table(top, "history", &HISTORY) {
            if let Some(days) = self.integer(history, "days", 1..36_500) {
                config.days = days;
            }
            if let Some(days) = self.integer(history, "hours_days", 0..36_500) {
                config.hours_days = days;
            }
        }
        if let Some(credentials) = self.table(top, "credentials", &CREDENTIALS) {
            config.token = self.secret(credentials, "token");
            config.client_id = self.string(credentials, "client_id").map(|(id, _)| id);
            config.client_secret = self.secret(credentials, "client_secret");
        }
        self.check_credentials(top, &config);
        config.output = self.output(top);
        config.mqtt = self.mqtt(top);
        config
    }

    fn usage_points(&mut self, item: &Item, into: &mut Vec<String>) {
        let Some(array) = item.as_array() else {
            self.at(
                item.span(),
                "`usage_points` must be a list of 14-digit PDLs: [\"12345678901234\"]".to_owned(),
            );
            return;
        };
        for value in array {
            match value {
                Value::String(text) if text.value().parse::<linky_core::UsagePointId>().is_ok() => {
                    into.push(text.value().clone());
                }
                other => {
                    let span = other.span();
                    let shown = span
                        .clone()
                        .and_then(|span| self.text.get(span))
                        .unwrap_or("this value")
                        .to_owned();
                    self.at(span, format!("{shown} is not a usage point (14 digits)"));
                }
            }
        }
    }

    /// The price files of `prices` (a list of paths), each read on top of `book`; a file
    /// that cannot be read or holds a mistake is reported where it is named.
    fn prices(&mut self, item: &Item, into: &mut Vec<PathBuf>, book: &mut linky_core::PriceBook) {
        let Some(array) = item.as_array() else {
            self.at(
                item.span(),
                "`prices` must be a list of price files: [\"~/Option_Tempo.csv\"]".to_owned(),
            );
            return;
        };
        for value in array {
            let Value::String(text) = value else {
                self.at(value.span(), "a price file is a path, in quotes".to_owned());
                continue;
            };
            let path = expand_home(text.value());
            let read = std::fs::read_to_string(&path)
                .map_err(|error| error.to_string())
                .and_then(|text| {
                    linky_core::PriceBook::read(&text).map_err(|error| error.to_string())
                });
            match read {
                Ok(offers) => {
                    book.extend(offers);
                    into.push(path);
                }
                Err(message) => {
                    self.at(
                        value.span(),
                        format!("prices: {}: {message}", path.display()),
                    );
                }
            }
        }
    }

    /// What each backend needs, said where the backend is named.
    fn check_credentials(&mut self, top: &Table, config: &Config) {
        let span = top.get("backend").and_then(Item::span);
        let needs = match config.backend.as_str() {
            "conso-api" | "myelectricaldata" if config.token.is_none() => {
                "a token: `token_env` or `token_file` in [credentials]"
            }
            "data-connect" | "data-connect-v5"
                if config.client_id.is_none() || config.client_secret.is_none() =>
            {
                "`client_id` and `client_secret_env` or `client_secret_file` in [credentials]"
            }
            _ => return,
        };
        // A credential named but unreadable is reported already, where it is named.
        let already = self
            .problems
            .iter()
            .any(|p| p.message.contains("`token_") || p.message.contains("`client_secret_"));
        if !already {
            self.at(
                span,
                format!("the backend {} needs {needs}", config.backend),
            );
        }
    }

    fn output(&mut self, top: &Table) -> Output {
        let domoticz = self.table(top, "domoticz", &DOMOTICZ);
        let victoria = self.table(top, "victoria", &VICTORIA);
        let influx = self.table(top, "influx", &INFLUX);
        let home_assistant = self.table(top, "home_assistant", &HOME_ASSISTANT);
        let chosen = [
            ("domoticz", domoticz),
            ("victoria", victoria),
            ("influx", influx),
            ("home_assistant", home_assistant),
        ];
        let given: Vec<&str> = chosen
            .iter()
            .filter(|(_, t)| t.is_some())
            .map(|(n, _)| *n)
            .collect();
        if given.len() > 1 {
            let span = top.get(given[1]).and_then(Item::span);
            self.at(
                span,
                format!(
                    "write to one place: [{}] and [{}] are both given",
                    given[0], given[1]
                ),
            );
        }
        if let Some(table) = domoticz {
            let url = self.url(table, "domoticz");
            let user = self.string(table, "user").map(|(user, _)| user);
            let password = self.secret(table, "password");
            let bearer = self.secret(table, "bearer");
            let plain = self.boolean(table, "allow_plain_basic").unwrap_or(false);
            if user.is_some() != password.is_some() && bearer.is_none() {
                let span = table.get("user").and_then(Item::span).or(table.span());
                self.at(
                    span,
                    "a Domoticz login needs both `user` and `password_env` (or `password_file`)"
                        .to_owned(),
                );
            }
            let Some(url) = url else {
                return Output::Print;
            };
            let https = url.starts_with("https://");
            // The command shows the colour forecast in Domoticz when tempo = true.
            let mut config = DomoticzConfig::new(url).with_colour_devices(true);
            config.auth = match (user, password, bearer) {
                (Some(user), Some(password), _) if https || plain => DomoticzAuth::Basic {
                    user,
                    password: password.password(),
                    allow_plain_http: plain,
                },
                (Some(user), Some(password), _) => DomoticzAuth::Session {
                    user,
                    password: password.password(),
                },
                (_, _, Some(token)) => DomoticzAuth::Bearer {
                    token: token.password(),
                },
                _ => DomoticzAuth::None,
            };
            return Output::Domoticz(config);
        }
        if let Some(table) = victoria {
            return match self.url(table, "victoria") {
                Some(url) => Output::Series(LineProtocolConfig::new(
                    url,
                    LineProtocolServer::VictoriaMetrics,
                )),
                None => Output::Print,
            };
        }
        if let Some(table) = home_assistant {
            let url = self.url(table, "home_assistant");
            let token = self.secret(table, "token");
            let language = match self.string(table, "language") {
                None => NameLanguage::French,
                Some((word, span)) => self.language(&word, span, "home_assistant"),
            };
            let has_token_key = table.contains_key("token_env") || table.contains_key("token_file");
            if token.is_none() && !has_token_key {
                self.at(
                    table.span(),
                    "[home_assistant] needs a long-lived access token: `token_env` or `token_file`"
                        .to_owned(),
                );
            }
            return match (url, token) {
                (Some(url), Some(token)) => Output::HomeAssistant(
                    HomeAssistantConfig::new(url, token.password()).with_language(language),
                ),
                _ => Output::Print,
            };
        }
        if let Some(table) = influx {
            let url = self.url(table, "influx");
            let database = self.string(table, "database").map(|(d, _)| d);
            let user = self.string(table, "user").map(|(u, _)| u);
            let password = self.secret(table, "password");
            let token = self.secret(table, "token");
            let org = self.string(table, "org").map(|(o, _)| o);
            let bucket = self.string(table, "bucket").map(|(b, _)| b);
            let server = match token {
                Some(token) => {
                    if org.is_none() || bucket.is_none() {
                        self.at(
                            table.span(),
                            "InfluxDB 2.x (a token) needs `org` and `bucket`".to_owned(),
                        );
                    }
                    LineProtocolServer::InfluxV2 {
                        org: org.unwrap_or_default(),
                        bucket: bucket.unwrap_or_default(),
                        token: token.password(),
                    }
                }
                None => LineProtocolServer::InfluxV1 {
                    database: database.unwrap_or_else(|| "linky".to_owned()),
                    credentials: user.zip(password.map(|p| p.password())),
                },
            };
            return match url {
                Some(url) => Output::Series(LineProtocolConfig::new(url, server)),
                None => Output::Print,
            };
        }
        Output::Print
    }

    /// `[mqtt]`: a broker for live values, beside the output.
    fn mqtt(&mut self, top: &Table) -> Option<MqttConfig> {
        let table = self.table(top, "mqtt", &MQTT)?;
        let mut config = match self.string(table, "url") {
            Some((url, span)) => match MqttConfig::from_url(&url) {
                Ok(config) => config,
                Err(error) => {
                    self.at(span, format!("[mqtt] {error}"));
                    return None;
                }
            },
            None => {
                self.at(
                    table.span(),
                    "[mqtt] needs `url` (mqtt://host:port)".to_owned(),
                );
                return None;
            }
        };
        let user = self.string(table, "user").map(|(user, _)| user);
        let password = self.secret(table, "password");
        match (user, password) {
            (Some(user), Some(password)) => {
                config = config.with_credentials(user, password.password());
            }
            (None, None) => {}
            _ => {
                let span = table.get("user").and_then(Item::span).or(table.span());
                self.at(
                    span,
                    "an MQTT login needs both `user` and `password_env` (or `password_file`)"
                        .to_owned(),
                );
            }
        }
        if let Some((prefix, _)) = self.string(table, "discovery_prefix") {
            config.discovery_prefix = prefix;
        }
        if let Some((base, _)) = self.string(table, "base_topic") {
            config.base_topic = base;
        }
        if let Some((word, span)) = self.string(table, "language") {
            config.language = self.language(&word, span, "mqtt");
        }
        Some(config)
    }

    fn language(
        &mut self,
        word: &str,
        span: Option<std::ops::Range<usize>>,
        section: &str,
    ) -> NameLanguage {
        match word {
            "fr" | "french" | "français" => NameLanguage::French,
            "en" | "english" => NameLanguage::English,
            other => {
                self.at(
                    span,
                    format!("[{section}] language {other:?}: expected fr or en"),
                );
                NameLanguage::French
            }
        }
    }

    fn url(&mut self, table: &Table, name: &str) -> Option<String> {
        match self.string(table, "url") {
            Some((url, _)) if url.starts_with("http://") || url.starts_with("https://") => {
                Some(url)
            }
            Some((url, span)) => {
                self.at(
                    span,
                    format!("[{name}] url {url:?} must start with http:// or https://"),
                );
                None
            }
            None => {
                self.at(table.span(), format!("[{name}] needs a `url`"));
                None
            }
        }
    }
}

/// A secret file's first line; the file must be the user's own and unreadable by others.
fn read_secret_file(path: &Path) -> Result<String, String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let metadata =
            std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mode = metadata.mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "{} can be read by others (mode {mode:o}): `chmod 600 {}`",
                path.display(),
                path.display()
            ));
        }
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let value = text.lines().next().unwrap_or("").trim().to_owned();
    if value.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(value)
}

/// `~/...` in a path, as a shell would read it.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), dirs::home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn problems(text: &str) -> Vec<String> {
        match parse(text, &no_env) {
            Ok(_) => Vec::new(),
            Err(problems) => problems
                .iter()
                .map(|p| format!("{}:{}: {}", p.line, p.column, p.message))
                .collect(),
        }
    }

    #[test]
    fn a_complete_file_reads() {
        let env = |name: &str| (name == "DZ_PASSWORD").then(|| "s3cret".to_owned());
        let text = "backend = \"proxy\"\nusage_points = [\"12345678901234\"]\n\
                    schedule = \"22h00-6h00\"\nholiday_zone = \"alsace-moselle\"\n\
                    production = false\n[history]\ndays = 30\nhours_days = 2\n\
                    [domoticz]\nurl = \"https://dz.example\"\nuser = \"admin\"\n\
                    password_env = \"DZ_PASSWORD\"\n";
        let config = parse(text, &env).unwrap();
        assert_eq!(config.usage_points, ["12345678901234"]);
        assert_eq!((config.days, config.hours_days), (30, 2));
        assert_eq!(config.holiday_zone, HolidayZone::AlsaceMoselle);
        assert!(!config.production);
        let Output::Domoticz(domoticz) = &config.output else {
            panic!("{config:?}")
        };
        assert!(matches!(domoticz.auth, DomoticzAuth::Basic { .. }));
        // The command shows the colour forecast's devices (with tempo = true).
        assert!(domoticz.colour_devices);
        // The password is read, never printed.
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[test]
    fn every_problem_is_reported_with_its_line_and_column() {
        let text = "backnd = \"proxy\"\nschedule = \"22h00-6h00 lundo 1h-2h\"\n\
                    usage_points = [\"123\"]\n[history]\ndays = -1\nweeks = 2\n\
                    [domoticz]\nurl = \"127.0.0.1:8080\"\npassword = \"hunter2\"\n";
        let found = problems(text);
        assert_eq!(
            found,
            [
                "1:1: unknown key `backnd` in the file (expected one of: backend, base_url, \
                 usage_points, state, schedule, holiday_zone, production, contract_hours, \
                 tempo, offer, prices, kva, [history], [credentials], [domoticz], [victoria], [influx], [home_assistant], [mqtt])",
                "2:24: schedule: unknown word \"lundo\" at column 12: expected a day, a time \
                 range, P or a PDL",
                "3:17: \"123\" is not a usage point (14 digits)",
                "5:8: `days` must be a whole number from 1 to 36499",
                "6:1: unknown key `weeks` in [history] (expected one of: days, hours_days)",
                "8:7: [domoticz] url \"127.0.0.1:8080\" must start with http:// or https://",
                "9:1: `password` is a secret and is not kept in this file: name an environment \
                 variable with `password_env` or an owner-only file with `password_file`",
            ],
            "{found:#?}"
        );
        // The secret written in the file is not repeated in the report.
        assert!(!found.concat().contains("hunter2"));
    }

    #[test]
    fn an_offer_is_one_of_the_bundled_ones() {
        let config = parse("offer = \"tempo\"\nkva = 9\n", &no_env).unwrap();
        assert_eq!(config.offer.map(|o| o.name), Some("Tempo".to_owned()));
        assert_eq!(config.kva, 9);
        assert_eq!(
            problems("offer = \"Zen Flex\"\nkva = 40\n"),
            [
                "1:9: unknown offer \"Zen Flex\" (expected one of: Base, HP/HC, Tempo)",
                "2:7: `kva` must be a whole number from 1 to 36",
            ]
        );
    }

    #[test]
    fn price_files_add_offers_and_newer_prices_and_name_their_mistakes() {
        let folder = std::env::temp_dir().join(format!("linky-prices-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap();
        let mine = folder.join("mine.csv");
        std::fs::write(&mine, "Mine;base;2026-01-01;6;15.00/month;0.2000;\n").unwrap();
        let cre = folder.join("Option_Base.csv");
        std::fs::write(
            &cre,
            "DATE_DEBUT;DATE_FIN;P_SOUSCRITE;PART_FIXE_HT;PART_FIXE_TTC;PART_VARIABLE_HT;PART_VARIABLE_TTC\r\n\
             01/09/2026;;6;130,00;190,00;0,1300;0,2100\r\n",
        )
        .unwrap();
        let broken = folder.join("broken.csv");
        std::fs::write(&broken, "Mine;base;2026-02-30;6;15.00/month;0.2000;\n").unwrap();
        let text = format!(
            "prices = [{:?}, {:?}]\noffer = \"mine\"\n",
            mine.display().to_string(),
            cre.display().to_string()
        );
        let config = parse(&text, &no_env).unwrap();
        assert_eq!(config.prices, [mine.clone(), cre.clone()]);
        assert_eq!(config.offer.map(|o| o.name), Some("Mine".to_owned()));
        // The regulated Base now has the newer row.
        let text = format!(
            "prices = [{:?}]\noffer = \"Base\"\n",
            cre.display().to_string()
        );
        let base = parse(&text, &no_env).unwrap().offer.unwrap();
        let september = chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
        assert_eq!(
            base.period_on(september, 6).unwrap().prices[0].to_string(),
            "0.21000"
        );
        // A mistake inside a file is named with the file's line and column, at its path.
        let missing = folder.join("missing.csv");
        let text = format!(
            "prices = [{:?}, {:?}]\noffer = \"Mine\"\n",
            broken.display().to_string(),
            missing.display().to_string()
        );
        let found = problems(&text);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(
            found[0].starts_with(&format!(
                "1:11: prices: {}: line 1, column 11: \"2026-02-30\"",
                broken.display()
            )),
            "{found:?}"
        );
        assert!(
            found[1].contains(&format!("prices: {}: ", missing.display())),
            "{found:?}"
        );
        // The offer is unknown: its file did not read.
        assert!(
            found[2].starts_with("2:9: unknown offer \"Mine\""),
            "{found:?}"
        );
        assert_eq!(
            problems("prices = \"a.csv\"\n"),
            ["1:10: `prices` must be a list of price files: [\"~/Option_Tempo.csv\"]"]
        );
        std::fs::remove_dir_all(folder).ok();
    }

    #[test]
    fn the_example_reads() {
        let config = parse(EXAMPLE, &no_env).unwrap();
        assert_eq!(config.schedule, "22h00-6h00");
        assert!(describe(&config).contains("output: Domoticz at http://127.0.0.1:8080"));
    }

    #[test]
    fn broken_toml_is_one_problem_where_it_breaks() {
        let found = problems("backend = \"proxy\"\nschedule = 22h00\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("2:12: "), "{found:?}");
    }

    #[test]
    fn a_missing_variable_and_a_shared_secret_file_are_problems() {
        let folder = std::env::temp_dir().join(format!("linky-config-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap();
        let shared = folder.join("shared");
        std::fs::write(&shared, "secret\n").unwrap();
        let owned = folder.join("owned");
        std::fs::write(&owned, "tok3n\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o644)).unwrap();
            std::fs::set_permissions(&owned, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let text = format!(
            "backend = \"conso-api\"\n[credentials]\ntoken_file = \"{}\"\n\
             [domoticz]\nurl = \"http://dz\"\nbearer_env = \"NOT_SET_HERE\"\n",
            shared.display()
        );
        let found = problems(&text);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found[0].starts_with("3:14: `token_file`: "), "{found:?}");
        assert!(
            found[0].contains("can be read by others (mode 644)"),
            "{found:?}"
        );
        assert!(found[1].starts_with("6:14: the environment variable NOT_SET_HERE"));
        let text = format!(
            "backend = \"conso-api\"\n[credentials]\ntoken_file = \"{}\"\n",
            owned.display()
        );
        let config = parse(&text, &no_env).unwrap();
        assert_eq!(config.token.unwrap().expose(), "tok3n");
        std::fs::remove_dir_all(&folder).ok();
    }

    #[test]
    fn a_backend_without_its_credentials_is_a_problem() {
        let found = problems("backend = \"myelectricaldata\"\n");
        assert_eq!(
            found,
            [
                "1:11: the backend myelectricaldata needs a token: `token_env` or `token_file` \
              in [credentials]"
            ]
        );
        let found = problems(
            "backend = \"enedis\"\n[domoticz]\nurl = \"http://a\"\n[victoria]\nurl = \"http://b\"\n",
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("1:11: unknown backend \"enedis\""));
        assert!(found[1].contains("write to one place"), "{found:?}");
    }
}
