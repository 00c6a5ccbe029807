//! The live sync behind `linky sync` and `linky record`: a real backend (or any server at
//! its address), consent through the device flow, the state folder, and where the
//! configuration says to write.

use std::path::PathBuf;
use std::sync::Arc;

use linky_core::{Clock, HistorySettings};
use linky_domoticz::{
    CancelToken, DomoticzSink, LineProtocolSink, MemorySink, Sink, StateDir, SyncEvent, SyncReport,
    SyncRun, SyncSettings,
};
use linky_enedis::{
    ApiToken, Backend, Client, ClientSecret, DeviceFlow, FileTokenStore, Recorder, TokenStore,
};

use crate::config::{Config, Output};

const PROXY_URL: &str = "https://enedis.domoticz.russandol.pro";
const PROXY_CLIENT_ID: &str = "d198fd52-61c0-4b77-8725-06a1ef90da9f";

/// One live run: the configuration and what this run adds to it.
#[derive(Debug, Clone)]
pub struct LiveRun {
    /// The configuration (file and command line).
    pub config: Config,
    /// The state folder: tokens and readings.
    pub state: PathBuf,
    /// Saves what went over the wire to this file, secrets redacted.
    pub record: Option<PathBuf>,
    /// Also replaces the usage points in the recorded session.
    pub hide_usage_points: bool,
    /// Whether a person is there to consent (a terminal); else consent is an exit code.
    pub interactive: bool,
    /// The language of the day tables printed when the output is the screen.
    pub language: crate::lang::Language,
}

/// Why a live run could not start.
#[derive(Debug)]
pub enum LiveError {
    /// Consent is needed: nobody is there to give it, or it was refused, or the code
    /// expired first. The message says what to do.
    ConsentNeeded(String),
    /// Stopped by the cancel token (a signal) before the run started, during the consent
    /// wait say.
    Interrupted,
    /// The backend cannot be reached (its host and the cause in the message): a retry.
    Unreachable(String),
    /// Anything else.
    Failed(String),
}

impl std::fmt::Display for LiveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LiveError::ConsentNeeded(message)
            | LiveError::Unreachable(message)
            | LiveError::Failed(message) => f.write_str(message),
            LiveError::Interrupted => f.write_str("interrupted before the run started"),
        }
    }
}

/// A device-flow error as the person at the terminal needs it: a refusal or an expired
/// code is consent to give again (with how), a gateway out of reach is a retry.
fn consent_error(error: linky_enedis::Error) -> LiveError {
    let refused = error
        .api()
        .and_then(linky_enedis::ApiError::code)
        .is_some_and(|code| code.eq_ignore_ascii_case("access_denied"));
    if refused {
        return LiveError::ConsentNeeded(
            "consent refused on the Enedis page: run `linky sync` again in a terminal and \
             accept the sharing of your data to go on"
                .to_owned(),
        );
    }
    if matches!(error, linky_enedis::Error::NoConsent { .. }) || error.is_consent_lost() {
        return LiveError::ConsentNeeded(format!(
            "no consent: {}; run `linky sync` again in a terminal and enter the new code \
             within its time",
            match &error {
                linky_enedis::Error::NoConsent { detail } => detail.clone(),
                other => other.to_string(),
            }
        ));
    }
    if error.is_transient() {
        return LiveError::Unreachable(error.to_string());
    }
    failed(error)
}

fn failed(error: impl std::fmt::Display) -> LiveError {
    LiveError::Failed(error.to_string())
}

/// The backend a configuration names.
///
/// # Errors
///
/// A message when its credentials are missing.
pub fn backend(config: &Config) -> Result<Backend, String> {
    let base = |default: &str| {
        config
            .base_url
            .clone()
            .unwrap_or_else(|| default.to_owned())
    };
    let token = || {
        config
            .token
            .as_ref()
            .map(|token| ApiToken::new(token.expose()))
            .ok_or(format!("the backend {} needs a token", config.backend))
    };
    let credentials = || -> Result<(String, ClientSecret), String> {
        match (&config.client_id, &config.client_secret) {
            (Some(id), Some(secret)) => Ok((id.clone(), ClientSecret::new(secret.expose()))),
            _ => Err(format!(
                "the backend {} needs a client id and secret",
                config.backend
            )),
        }
    };
    let usage_points = config.usage_points.clone();
    Ok(match config.backend.as_str() {
        "proxy" => Backend::Proxy {
            base_url: base(PROXY_URL),
            client_id: config
                .client_id
                .clone()
                .unwrap_or(PROXY_CLIENT_ID.to_owned()),
        },
        "conso-api" => Backend::ConsoApi {
            base_url: base("https://conso.boris.sh"),
            token: token()?,
            usage_points,
        },
        "myelectricaldata" => Backend::MyElectricalData {
            base_url: base("https://www.myelectricaldata.fr"),
            token: token()?,
            usage_points,
            use_cache: true,
        },
        "data-connect" => {
            let (client_id, client_secret) = credentials()?;
            Backend::DataConnect2026 {
                base_url: base("https://gw.ext.prod.api.enedis.fr"),
                client_id,
                client_secret,
                usage_points,
            }
        }
        "data-connect-v5" => {
            let (client_id, client_secret) = credentials()?;
            Backend::DataConnectV5 {
                base_url: base("https://gw.ext.prod.api.enedis.fr"),
                client_id,
                client_secret,
                usage_points,
            }
        }
        other => return Err(format!("unknown backend {other:?}")),
    })
}

/// The sync settings a configuration gives, with the warnings of its history settings.
///
/// # Errors
///
/// A message when the schedule does not read.
pub fn sync_settings(config: &Config) -> Result<(SyncSettings, Vec<String>), String> {
    let (history, warnings) = HistorySettings::new(
        config.hours_days,
        config.days,
        Default::default(),
        Default::default(),
    );
    let offpeak = config
        .schedule
        .parse()
        .map_err(|e: linky_core::ScheduleError| format!("schedule: {e}"))?;
    let mut settings = SyncSettings::new(offpeak)
        .with_history(history)
        .with_holiday_zone(config.holiday_zone)
        .with_production(config.production)
        .with_contract_hours(config.contract_hours);
    if let Some(offer) = &config.offer {
        settings = settings.with_costs(offer.clone(), config.kva);
    }
    Ok((settings, warnings.iter().map(ToString::to_string).collect()))
}

/// The sink the configuration writes to; `None` when it prints (a memory sink then).
pub fn output_sink(config: &Config) -> Result<Option<Box<dyn Sink>>, LiveError> {
    Ok(match &config.output {
        Output::Print => None,
        Output::Domoticz(domoticz_config) => Some(Box::new(
            DomoticzSink::new(domoticz_config.clone()).map_err(failed)?,
        )),
        Output::Series(series_config) => Some(Box::new(
            LineProtocolSink::new(series_config.clone()).map_err(failed)?,
        )),
        Output::HomeAssistant(home_assistant) => Some(Box::new(
            linky_domoticz::HomeAssistantSink::new(home_assistant.clone()).map_err(failed)?,
        )),
    })
}

/// Tempo's colour clients when the configuration asks for them: RTE's public data, else
/// the api-couleur-tempo.fr cache.
fn colour_clients(
    config: &Config,
    clock: &Arc<dyn Clock>,
) -> Result<Option<(linky_enedis::ColourClient, linky_enedis::ColourClient)>, LiveError> {
    if !config.tempo {
        return Ok(None);
    }
    let make = |server| {
        linky_enedis::ColourClient::new(server)
            .map(|client| client.clock(clock.clone()))
            .map_err(failed)
    };
    Ok(Some((
        make(linky_enedis::ColourServer::rte())?,
        make(linky_enedis::ColourServer::couleur_tempo())?,
    )))
}

/// A colour refresh between two runs (`linky sync --daemon` at the run's
/// `next_colour_check`): today's and tomorrow's colours asked when not known for good,
/// kept in the state and written where the configuration says. Enedis is not asked.
///
/// # Errors
///
/// [`LiveError::Failed`] for a setup that fails (state folder, backend, sink).
pub async fn live_refresh_colours(
    run: &LiveRun,
    clock: Arc<dyn Clock>,
    cancel: CancelToken,
) -> Result<linky_domoticz::ColourRefresh, LiveError> {
    let config = &run.config;
    let state = StateDir::open(&run.state).map_err(failed)?;
    // The readings' client is only the sync's source: built, never asked here.
    let client = Client::builder(backend(config).map_err(LiveError::Failed)?)
        .clock(clock.clone())
        .build()
        .map_err(failed)?;
    let memory = MemorySink::new();
    let own_sink = output_sink(config)?;
    let sink: &dyn Sink = own_sink.as_deref().unwrap_or(&memory);
    let colour_clients = colour_clients(config, &clock)?;
    let fallback = colour_clients
        .as_ref()
        .map(|(rte, cache)| linky_core::FallbackColours::new(vec![rte, cache]));
    let mut sync = SyncRun::new(&client, sink, &state, clock.as_ref()).cancel_token(cancel);
    if let Some(fallback) = &fallback {
        sync = sync.colour_source(fallback);
    }
    Ok(sync.refresh_colours().await)
}

/// What a live sync did.
#[derive(Debug)]
pub struct LiveOutcome {
    /// The sync's report.
    pub report: SyncReport,
    /// The day tables, when the configuration writes nowhere else (printed).
    pub tables: Option<String>,
}

/// One live sync: consent through the device flow when needed (its address and code go to
/// `say` at once: a person must read them while the run waits), then a run on `clock`,
/// its events to `progress`, stopped by `cancel`. The rows go where the configuration
/// says (or into the outcome's tables).
///
/// # Errors
///
/// [`LiveError::ConsentNeeded`] when the proxy has no tokens and nobody can consent here;
/// [`LiveError::Failed`] for a setup that fails (state folder, backend, sink).
pub async fn live_sync(
    run: &LiveRun,
    clock: Arc<dyn Clock>,
    cancel: CancelToken,
    progress: &mut (dyn FnMut(&SyncEvent) + Send),
    say: &mut (dyn FnMut(&str) + Send),
) -> Result<LiveOutcome, LiveError> {
    let config = &run.config;
    let state = StateDir::open(&run.state).map_err(failed)?;
    let tokens = Arc::new(FileTokenStore::new(run.state.join("tokens.json")));
    let recorder = run.record.as_ref().map(|_| {
        Arc::new(if run.hide_usage_points {
            Recorder::hiding_usage_points()
        } else {
            Recorder::new()
        })
    });
    let mut builder = Client::builder(backend(config).map_err(LiveError::Failed)?)
        .token_store(tokens.clone())
        .clock(clock.clone());
    if let Some(recorder) = &recorder {
        builder = builder.recorder(recorder.clone());
    }
    let client = builder.build().map_err(failed)?;
    if matches!(client.backend(), Backend::Proxy { .. }) && tokens.load().map_err(failed)?.is_none()
    {
        if !run.interactive {
            return Err(LiveError::ConsentNeeded(
                "no consent yet: run `linky sync` once in a terminal to give it".to_owned(),
            ));
        }
        // A signal stops the flow at once: the code's wait may last minutes.
        let flow = DeviceFlow::new(client.clone()).map_err(failed)?;
        let code = tokio::select! {
            code = flow.request_code() => code.map_err(consent_error)?,
            () = cancel.cancelled() => return Err(LiveError::Interrupted),
        };
        say(&format!(
            "To share your Linky data, open {} and enter the code {}.",
            code.verification_url, code.user_code
        ));
        say("Waiting for your consent... (Ctrl-C to stop)");
        tokio::select! {
            given = flow.wait_for_consent(&code) => {
                given.map_err(consent_error)?;
            }
            () = cancel.cancelled() => return Err(LiveError::Interrupted),
        }
        say("Consent given.");
    }
    let (settings, warnings) = sync_settings(config).map_err(LiveError::Failed)?;
    for warning in warnings {
        say(&format!("warning: {warning}"));
    }
    let memory = MemorySink::new();
    let own_sink = output_sink(config)?;
    let main: &dyn Sink = own_sink.as_deref().unwrap_or(&memory);
    // The day data also to MQTT, beside the output, when the configuration has a broker:
    // a broker that cannot be reached is said, and the sync goes on without it.
    let mqtt = match &config.mqtt {
        Some(mqtt) => {
            let mut mqtt = mqtt.clone();
            mqtt.availability_id = "sync".to_owned();
            mqtt.client_id = "linky-sync".to_owned();
            match linky_domoticz::MqttSink::connect(mqtt).await {
                Ok(sink) => Some(sink),
                Err(error) => {
                    say(&format!(
                        "warning: MQTT: {error}; the sync goes on without it"
                    ));
                    None
                }
            }
        }
        None => None,
    };
    let companion = mqtt
        .as_ref()
        .map(|mqtt| linky_domoticz::WithCompanion::new(main, mqtt));
    let sink: &dyn Sink = match &companion {
        Some(companion) => companion,
        None => main,
    };
    let started = clock.local_now(linky_core::PARIS);
    let usage_points: Vec<String> = linky_core::ReadingSource::usage_points(&client)
        .await
        .map(|points| points.iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    let colour_clients = colour_clients(config, &clock)?;
    let fallback = colour_clients
        .as_ref()
        .map(|(rte, cache)| linky_core::FallbackColours::new(vec![rte, cache]));
    let mut sync = SyncRun::new(&client, sink, &state, clock.as_ref())
        .settings(settings.clone())
        .cancel_token(cancel);
    if let Some(fallback) = &fallback {
        sync = sync.colour_source(fallback);
    }
    let report = sync.progress(progress).run().await;
    // What `linky status` says of the last run.
    if let Err(error) = crate::status::LastRun::of(&report, started).save(&run.state) {
        say(&format!(
            "warning: the last run's summary cannot be kept: {error}"
        ));
    }
    if let Some(companion) = &companion {
        for failure in companion.companion_failures() {
            say(&format!("warning: MQTT: {failure}"));
        }
    }
    if let Some(mqtt) = &mqtt {
        mqtt.disconnect().await;
    }
    let tables = matches!(config.output, Output::Print).then(|| {
        let label = if config.schedule.trim().is_empty() && config.contract_hours {
            run.language
                .pick(
                    "celles du contrat, d'après Enedis",
                    "the contract's, from Enedis",
                )
                .to_owned()
        } else {
            crate::schedule_label(
                run.language,
                &config.schedule,
                run.language.pick("la configuration", "the configuration"),
            )
        };
        format!(
            "{}\n{}",
            crate::schedule_line(run.language, &label),
            crate::day_tables_in(&memory, crate::RowsShown::All, run.language)
        )
    });
    if let (Some(path), Some(recorder)) = (&run.record, &recorder) {
        // What a replay needs: the run's time, usage points and settings, its outcome;
        // with every usage point in it hidden as the exchanges hide them (the schedule's
        // PDL sections too, so that the replay splits as the run did).
        let mut info = linky_enedis::ReplayInfo::new(
            started,
            usage_points.clone(),
            i64::from(settings.history.days()),
            crate::outcome_of(&report),
        );
        info.offpeak = config.schedule.clone();
        info.hours_days = i64::from(settings.history.hours_days());
        info.production = settings.production;
        let session =
            recorder.session_with_replay("recorded by linky record", client.backend().name(), info);
        std::fs::write(path, session.to_json())
            .map_err(|e| LiveError::Failed(format!("{}: {e}", path.display())))?;
        say(&format!("session recorded in {}", path.display()));
    }
    Ok(LiveOutcome { report, tables })
}
