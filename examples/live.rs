//! The live sync shared by `sync.rs` and `replay.rs --record`.

use std::path::PathBuf;
use std::sync::Arc;

use linky_core::HistorySettings;
use linky_domoticz::{
    DomoticzSink, LineProtocolSink, MemorySink, Sink, StateDir, SyncRun, SyncSettings,
};
use linky_enedis::{
    ApiToken, Backend, Client, ClientSecret, DeviceFlow, FileTokenStore, Recorder, TokenStore,
};

const PROXY_URL: &str = "https://enedis.domoticz.russandol.pro";
const PROXY_CLIENT_ID: &str = "d198fd52-61c0-4b77-8725-06a1ef90da9f";

#[derive(Default)]
struct Options {
    state: Option<PathBuf>,
    domoticz: Option<String>,
    user: Option<String>,
    password: Option<String>,
    bearer: Option<String>,
    allow_plain_basic: bool,
    offpeak: String,
    days: i64,
    hours_days: i64,
    backend: String,
    token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    usage_points: Vec<String>,
    base_url: Option<String>,
    record: Option<PathBuf>,
    hide_usage_points: bool,
    series: crate::SeriesOptions,
    now: Option<chrono::NaiveDateTime>,
}

fn options(arguments: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        days: 7,
        hours_days: 7,
        backend: "proxy".to_owned(),
        ..Options::default()
    };
    let mut arguments = arguments;
    while let Some(argument) = arguments.next() {
        let mut value = || {
            arguments
                .next()
                .ok_or(format!("{argument} needs a value (see the file's header)"))
        };
        if options.series.take(&argument, &mut value)? {
            continue;
        }
        match argument.as_str() {
            "--state" => options.state = Some(PathBuf::from(value()?)),
            "--domoticz" => options.domoticz = Some(value()?),
            "--user" => options.user = Some(value()?),
            "--password" => options.password = Some(value()?),
            "--bearer" => options.bearer = Some(value()?),
            "--allow-plain-basic" => options.allow_plain_basic = true,
            "--offpeak" => options.offpeak = value()?,
            "--days" => options.days = value()?.parse().map_err(|e| format!("--days: {e}"))?,
            "--hours-days" => {
                options.hours_days = value()?.parse().map_err(|e| format!("--hours-days: {e}"))?
            }
            "--backend" => options.backend = value()?,
            "--token" => options.token = Some(value()?),
            "--client-id" => options.client_id = Some(value()?),
            "--client-secret" => options.client_secret = Some(value()?),
            "--pdl" => options.usage_points.push(value()?),
            "--base-url" => options.base_url = Some(value()?),
            "--record" => options.record = Some(PathBuf::from(value()?)),
            "--hide-usage-points" => options.hide_usage_points = true,
            "--now" => {
                options.now = Some(
                    chrono::NaiveDateTime::parse_from_str(&value()?, "%Y-%m-%d %H:%M")
                        .map_err(|e| format!("--now \"YYYY-MM-DD HH:MM\": {e}"))?,
                )
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?} (see the header of examples/sync.rs)"
                ));
            }
        }
    }
    Ok(options)
}

fn backend(options: &Options) -> Result<Backend, String> {
    let base = |default: &str| {
        options
            .base_url
            .clone()
            .unwrap_or_else(|| default.to_owned())
    };
    let token = || {
        options
            .token
            .clone()
            .map(ApiToken::new)
            .ok_or("this backend needs --token".to_owned())
    };
    let credentials = || -> Result<(String, ClientSecret), String> {
        Ok((
            options
                .client_id
                .clone()
                .ok_or("this backend needs --client-id")?,
            ClientSecret::new(
                options
                    .client_secret
                    .clone()
                    .ok_or("this backend needs --client-secret")?,
            ),
        ))
    };
    let usage_points = options.usage_points.clone();
    Ok(match options.backend.as_str() {
        "proxy" => Backend::Proxy {
            base_url: base(PROXY_URL),
            client_id: options
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

/// A sync against a real backend, configured by command-line `arguments` (see
/// `examples/sync.rs`): consent through the device flow when needed, the state folder,
/// Domoticz or printed tables, and `--record FILE` to save the session. Returns whether
/// the run succeeded.
///
/// # Errors
///
/// A message for bad arguments or a failed setup.
pub async fn live_sync(arguments: impl Iterator<Item = String>) -> Result<bool, String> {
    let options = options(arguments)?;
    let state_folder = options
        .state
        .clone()
        .ok_or("--state DIR is needed: tokens and readings are kept there")?;
    let state = StateDir::open(&state_folder).map_err(|e| e.to_string())?;
    let tokens = Arc::new(FileTokenStore::new(state_folder.join("tokens.json")));
    let recorder = options.record.as_ref().map(|_| {
        Arc::new(if options.hide_usage_points {
            Recorder::hiding_usage_points()
        } else {
            Recorder::new()
        })
    });
    // The real clock, or with `--now` (tests, reproducing a run) one that shows that local
    // time and moves only on waits: the client and the sync ask the same one.
    let clock: Arc<dyn linky_core::Clock> = match options.now {
        Some(now) => Arc::new(linky_core::ManualClock::new(
            now.and_local_timezone(linky_core::PARIS)
                .earliest()
                .ok_or("--now: that time does not exist in Paris")?
                .with_timezone(&chrono::Utc),
        )),
        None => Arc::new(linky_enedis::SystemClock),
    };
    let mut builder = Client::builder(backend(&options)?)
        .token_store(tokens.clone())
        .clock(clock.clone());
    if let Some(recorder) = &recorder {
        builder = builder.recorder(recorder.clone());
    }
    let client = builder.build().map_err(|e| e.to_string())?;
    if matches!(client.backend(), Backend::Proxy { .. })
        && tokens.load().map_err(|e| e.to_string())?.is_none()
    {
        let flow = DeviceFlow::new(client.clone()).map_err(|e| e.to_string())?;
        let code = flow.request_code().await.map_err(|e| e.to_string())?;
        println!(
            "To share your Linky data, open {} and enter the code {}.",
            code.verification_url, code.user_code
        );
        println!("Waiting for your consent...");
        flow.wait_for_consent(&code)
            .await
            .map_err(|e| e.to_string())?;
        println!("Consent given.");
    }
    let main = Default::default();
    let secondary = Default::default();
    let (history, warnings) =
        HistorySettings::new(options.hours_days, options.days, main, secondary);
    for warning in warnings {
        println!("warning: {warning}");
    }
    let mut settings = SyncSettings::new(
        options
            .offpeak
            .parse()
            .map_err(|e: linky_core::ScheduleError| format!("--offpeak: {e}"))?,
    )
    .with_history(history);
    (settings.main, settings.secondary) = (main, secondary);
    let memory = MemorySink::new();
    let domoticz;
    let series;
    let series_config = options.series.config()?;
    let sink: &dyn Sink = match &options.domoticz {
        None => match series_config {
            Some(config) => {
                series = LineProtocolSink::new(config).map_err(|e| e.to_string())?;
                &series
            }
            None => &memory,
        },
        Some(url) => {
            let config = crate::domoticz_config(
                url.clone(),
                options.user.clone(),
                options.password.clone(),
                options.bearer.clone(),
                options.allow_plain_basic,
            );
            domoticz = DomoticzSink::new(config).map_err(|e| e.to_string())?;
            &domoticz
        }
    };
    // The real clock, the same one the client asks; the sync draws its spread from it.
    let started = clock.local_now(linky_core::PARIS);
    let usage_points: Vec<String> = linky_core::ReadingSource::usage_points(&client)
        .await
        .map(|points| points.iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    let mut progress = |event: &linky_domoticz::SyncEvent| println!("  {event}");
    let report = SyncRun::new(&client, sink, &state, clock.as_ref())
        .settings(settings.clone())
        .progress(&mut progress)
        .run()
        .await;
    if options.domoticz.is_none() {
        print!("{memory}");
    }
    crate::print_devices(&mut std::io::stdout(), &report);
    println!("next run: {}", report.next_run);
    if let (Some(path), Some(recorder)) = (&options.record, &recorder) {
        let mut session = recorder.session("recorded by examples/sync.rs", client.backend().name());
        // What a replay needs: the run's time, usage points and settings, its outcome.
        let mut info = linky_enedis::ReplayInfo::new(
            started,
            usage_points.iter().map(|p| recorder.shown_as(p)).collect(),
            i64::from(settings.history.days()),
            crate::outcome_of(&report),
        );
        info.offpeak = options.offpeak.clone();
        info.hours_days = i64::from(settings.history.hours_days());
        info.production = settings.production;
        session.replay = Some(info);
        std::fs::write(path, session.to_json()).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("session recorded in {}", path.display());
    }
    Ok(report.is_success())
}
