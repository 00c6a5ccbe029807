//! The main job: a whole sync against a recorded session, no network or account needed.
//!
//! ```text
//! cargo run --release --example replay [-- --session FILE | --two-years SEED]
//!     [--domoticz URL [--user NAME --password SECRET [--allow-plain-basic]]
//!     [--bearer TOKEN]] [--victoria URL | --influx URL [--influx-db NAME]
//!     [--influx-user U --influx-password P] [--influx-token T --influx-org O
//!     --influx-bucket B]] [--state DIR]
//! ```
//!
//! By default it replays `testdata/sessions/replay-main.json` (sandbox client 3: a
//! consumer and a producer, hence a merged device, and a quota error recovered) on
//! 127.0.0.1 through the real client, syncs it into an in-memory sink, and prints the
//! progress, then per device the day rows and the dashboard values. A session carries
//! the time, settings and usage points of its run and how it ended: the replay uses them,
//! and exits with 0 when it replays the session exactly with the recorded outcome, 1
//! otherwise. `--two-years SEED` generates and replays a two-year backfill of a consumer
//! and a producer. `--domoticz` writes to a real Domoticz instead, `--victoria` or
//! `--influx` to a time-series database (every hour and day); `--state DIR` keeps
//! the state in a folder (in memory by default). The `linky` command replays too (`linky
//! replay`, with progress bars and charts), and records a live session for a bug report
//! (`linky record`).

use std::path::PathBuf;
use std::process::ExitCode;

use linky_domoticz::DomoticzConfig;
use linky_enedis::Session;
use linky_examples::{Target, replay_job};

const USAGE: &str = "usage: replay [--session FILE | --two-years SEED] [--domoticz URL [--user NAME --password SECRET [--allow-plain-basic]] [--bearer TOKEN]] [--victoria URL | --influx URL [--influx-db NAME] [--influx-user U --influx-password P] [--influx-token T --influx-org O --influx-bucket B]] [--state DIR]";

struct Options {
    session: PathBuf,
    two_years: Option<u64>,
    domoticz: Option<DomoticzConfig>,
    series: Option<linky_domoticz::LineProtocolConfig>,
    state: Option<PathBuf>,
}

fn options() -> Result<Options, String> {
    let mut session = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/sessions/replay-main.json"
    ));
    let (mut url, mut user, mut password, mut bearer, mut plain, mut state) =
        (None, None, None, None, false, None);
    let mut two_years = None;
    let mut series = linky_examples::SeriesOptions::default();
    let mut arguments = std::env::args().skip(1);
    while let Some(argument) = arguments.next() {
        let mut value = || {
            arguments
                .next()
                .ok_or(format!("{argument} needs a value\n{USAGE}"))
        };
        if series.take(&argument, &mut value)? {
            continue;
        }
        match argument.as_str() {
            "--session" => session = PathBuf::from(value()?),
            "--two-years" => {
                two_years = Some(
                    value()?
                        .parse()
                        .map_err(|e| format!("--two-years: {e}\n{USAGE}"))?,
                )
            }
            "--domoticz" => url = Some(value()?),
            "--user" => user = Some(value()?),
            "--password" => password = Some(value()?),
            "--bearer" => bearer = Some(value()?),
            "--state" => state = Some(PathBuf::from(value()?)),
            "--allow-plain-basic" => plain = true,
            _ => return Err(USAGE.to_owned()),
        }
    }
    let domoticz =
        url.map(|url| linky_examples::domoticz_config(url, user, password, bearer, plain));
    Ok(Options {
        session,
        two_years,
        series: series.config()?,
        domoticz,
        state,
    })
}

fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let (name, session) = match options.two_years {
        Some(seed) => (
            format!("a generated two-year backfill (seed {seed})"),
            Ok(linky_examples::two_year_session(seed)),
        ),
        None => (
            options.session.display().to_string(),
            std::fs::read(&options.session)
                .map_err(|e| e.to_string())
                .and_then(|bytes| Session::from_json(&bytes).map_err(|e| e.to_string())),
        ),
    };
    let session = match session {
        Ok(session) => session,
        Err(error) => {
            eprintln!("cannot read {name}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let target = match (options.domoticz, options.series) {
        (Some(domoticz), _) => Target::Domoticz(domoticz),
        (None, Some(series)) => Target::LineProtocol(series),
        (None, None) => Target::Memory,
    };
    println!("replaying {name} ({} exchanges)", session.exchanges.len());
    let job = async {
        let mut out = std::io::stdout();
        replay_job(session, target, options.state.as_deref(), &mut out)
            .await
            .map(|replayed| replayed.as_recorded)
    };
    linky_examples::run_main(job)
}
