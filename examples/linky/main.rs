//! `linky`: gets Linky meter data from Enedis, splits it into peak and off-peak energy and
//! writes it into Domoticz (or a time-series database), once or as a daemon.
//!
//! ```text
//! cargo install --locked --path examples --bin linky
//! linky --help
//! ```

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use linky_core::{Clock, Flow, HolidayZone, PARIS, UsagePointId};
use linky_domoticz::{CancelToken, MemoryState, StateDir, StopReason, SyncEvent, SyncReport};
use linky_examples::chart::{self, Language};
use linky_examples::config::{self, Config, Output};
use linky_examples::progress::{Mode, Reporter};
use linky_examples::{LiveError, LiveRun, Target};

/// The language the command speaks, set once from `--lang` or the locale.
static LANGUAGE: std::sync::OnceLock<Language> = std::sync::OnceLock::new();

/// The command's language.
fn lang() -> Language {
    LANGUAGE.get().copied().unwrap_or(Language::English)
}

/// `french` or `english`, as the command speaks.
fn tr<'a>(french: &'a str, english: &'a str) -> &'a str {
    lang().pick(french, english)
}

/// An error for a person on standard error: `error: ...`, `erreur : ...` in French.
macro_rules! print_error {
    ($($arg:tt)*) => {
        eprintln!("{}{}", tr("erreur\u{a0}: ", "error: "), format_args!($($arg)*))
    };
}

const EXIT_CODES: &str = "\
Exit codes:
  0    success (a daemon stopped by SIGINT or SIGTERM, too)
  1    failure: an error that trying again will not mend (see the messages)
  2    usage error: bad arguments or configuration file, or an output refusing its
       credentials
  3    consent needed: give (or give again) your consent to Enedis, in a terminal
  4    retry later: a quota or an outage; what was fetched is kept
  130  interrupted (SIGINT or SIGTERM during a one-shot run, or a second signal);
       what was fetched is kept";

/// Linky smart-meter data from Enedis into Domoticz, peak and off-peak hours split exactly.
#[derive(Debug, Parser)]
#[command(name = "linky", version, propagate_version = true, after_help = EXIT_CODES)]
struct Cli {
    /// The configuration file [default: linky/config.toml in your config folder]
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// JSON for other programs: the sync's, record's and replay's events one object per
    /// line; colours, status and tic (--once, --compare) as one object
    #[arg(long, global = true, conflicts_with = "quiet")]
    json: bool,
    /// Print nothing but errors
    #[arg(long, short, global = true)]
    quiet: bool,
    /// The language of tables, summaries, charts and errors: fr or en [default: from
    /// LC_ALL or LANG]
    #[arg(long, global = true, value_enum)]
    lang: Option<Lang>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fetch what is missing, split it, write it; with --daemon, again at each next run
    #[command(after_help = EXIT_CODES)]
    Sync(SyncArgs),
    /// Replay a recorded session: a whole sync, offline, no account needed
    #[command(after_help = EXIT_CODES)]
    Replay(ReplayArgs),
    /// Run one sync and record what went over the wire (secrets redacted) for a bug report
    #[command(after_help = EXIT_CODES)]
    Record(RecordArgs),
    /// Explain an off-peak schedule: its canonical form and weekly timetable
    Explain(ExplainArgs),
    /// Draw the daily peak/off-peak energy and the profile of a week (SVG or PNG)
    Chart(ChartArgs),
    /// What each offer (Base, HP/HC, Tempo, yours) would have cost for your consumption
    Costs(CostsArgs),
    /// Tempo: today's and tomorrow's colours, and the season's red and white days used
    Colours(ColoursArgs),
    /// What the state folder holds per usage point (days, holes), the last and next run,
    /// the consent's state and the outputs
    Status(StatusArgs),
    /// Read the meter's own output (TIC) live: values to MQTT, hours to the output
    #[command(after_help = EXIT_CODES)]
    Tic(TicArgs),
    /// Home Assistant: add the statistics the sync writes to its Energy dashboard
    #[command(name = "home-assistant")]
    HomeAssistant {
        #[command(subcommand)]
        command: HomeAssistantCommand,
    },
    /// Check or locate the configuration file
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
enum HomeAssistantCommand {
    /// Add the devices' statistics to the Energy dashboard (consumption per class with its
    /// cost, production as return), keeping every source already there
    Dashboard {
        /// A device: a PDL, or a merged device `C_P` [default: every meter Home
        /// Assistant holds statistics of]
        #[arg(long = "device", value_name = "DEVICE")]
        devices: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Read the configuration and report every problem with its line and column
    Check {
        /// The file [default: --config, or linky/config.toml in your config folder]
        path: Option<PathBuf>,
    },
    /// Print where the configuration file is looked for
    Path,
    /// Print an annotated configuration to start from
    Example,
}

/// What a sync run takes besides the configuration file (given here, it wins).
#[derive(Debug, Clone, Args)]
struct RunArgs {
    /// The state folder: tokens and readings [default: the configuration's, or linky in
    /// your data folder]
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// The backend
    #[arg(long, value_parser = config::BACKENDS)]
    backend: Option<String>,
    /// Another address for the backend (a mirror, a test server)
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// A usage point (PDL, 14 digits); repeat for more
    #[arg(long = "pdl", value_name = "PDL")]
    usage_points: Vec<String>,
    /// The off-peak schedule (see `linky explain`)
    #[arg(long, value_name = "SCHEDULE")]
    schedule: Option<String>,
    /// Days of day rows (1 to 36499, as in the configuration)
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..36_500))]
    days: Option<i64>,
    /// Days of hour rows (0 to 36499, as in the configuration)
    #[arg(long, value_parser = clap::value_parser!(i64).range(0..36_500))]
    hours_days: Option<i64>,
    /// Run at this local time on a clock that moves only on waits (tests, reproducing a
    /// run; a daemon's sleeps then pass at once)
    #[arg(long, value_name = "YYYY-MM-DD HH:MM", value_parser = parse_now)]
    now: Option<chrono::NaiveDateTime>,
}

#[derive(Debug, Args)]
struct SyncArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Run again and again: sleep until the next run the schedule computes (calling
    /// hours, spread minute, retries); SIGINT or SIGTERM stops cleanly
    #[arg(long)]
    daemon: bool,
}

#[derive(Debug, Args)]
struct RecordArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Where to save the session
    #[arg(long, short, value_name = "FILE")]
    output: PathBuf,
    /// Replace your usage points in the session too
    #[arg(long)]
    hide_usage_points: bool,
}

#[derive(Debug, Args)]
struct ReplayArgs {
    /// The session [default: the bundled main session]
    #[arg(long, value_name = "FILE", conflicts_with = "two_years")]
    session: Option<PathBuf>,
    /// Generate and replay a two-year backfill from this seed
    #[arg(long, value_name = "SEED")]
    two_years: Option<u64>,
    /// Keep the state in this folder [default: in memory]
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// Also draw the replayed data (.svg or .png); repeat for both
    #[arg(long, value_name = "FILE", value_parser = chart::parse_output)]
    chart: Vec<PathBuf>,
    /// Show the usage points in full in the chart's title (else their last four digits)
    #[arg(long)]
    show_pdl: bool,
    /// Write to the configuration's Domoticz or database instead of memory
    #[arg(long)]
    to_config_output: bool,
    /// Print every day row (a device with more than 62 days prints a summary and its
    /// last week otherwise)
    #[arg(long)]
    all_rows: bool,
}

#[derive(Debug, Args)]
struct ExplainArgs {
    /// The schedule, e.g. "22h30-6h30" or "2h00-7h00 13h00-16h00 we 0h-24h"
    schedule: String,
    /// Only this usage point's timetable
    #[arg(long, value_name = "PDL")]
    pdl: Option<String>,
    /// The production's timetable
    #[arg(long)]
    production: bool,
    /// The holidays' zone
    #[arg(long, default_value = "metropole")]
    zone: String,
}

#[derive(Debug, Args)]
struct ChartArgs {
    /// Draw a recorded session's data (replayed offline)
    #[arg(long, value_name = "FILE", conflicts_with = "state")]
    session: Option<PathBuf>,
    /// Draw what the sync holds in this state folder [default: the configuration's]
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// Usage points to draw [default: the configuration's, or the session's]
    #[arg(long = "pdl", value_name = "PDL")]
    usage_points: Vec<String>,
    /// First day, YYYY-MM-DD or DD/MM/YYYY [default: 31 days before the last]
    #[arg(long, value_name = "DAY", value_parser = parse_day)]
    from: Option<chrono::NaiveDate>,
    /// Last day, included [default: yesterday, or the session's last day]
    #[arg(long, value_name = "DAY", value_parser = parse_day)]
    to: Option<chrono::NaiveDate>,
    /// Output files (.svg or .png); repeat for more [default: linky.svg and linky.png]
    #[arg(long, short, value_name = "FILE", value_parser = chart::parse_output)]
    output: Vec<PathBuf>,
    /// Show the usage points in full in the title (else their last four digits)
    #[arg(long)]
    show_pdl: bool,
    /// Tempo's day colours (YYYY-MM-DD;blue|white|red a line) [default: those the sync
    /// kept, if any]: the bars then show the six Tempo classes
    #[arg(long, value_name = "FILE")]
    colours: Option<PathBuf>,
    /// The off-peak schedule that splits the days [default: the configuration's, or the
    /// session's]
    #[arg(long, value_name = "SCHEDULE")]
    schedule: Option<String>,
}

#[derive(Debug, Args)]
struct StatusArgs {
    /// The state folder [default: the configuration's]
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ColoursArgs {
    /// The state folder whose kept colours are shown [default: the configuration's]
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// The day to show, YYYY-MM-DD or DD/MM/YYYY [default: today]
    #[arg(long, value_name = "DAY", value_parser = parse_day)]
    date: Option<chrono::NaiveDate>,
    /// Ask RTE (else api-couleur-tempo.fr) for today's and tomorrow's colours first, keep
    /// them, and write them where the configuration says
    #[arg(long, conflicts_with = "date")]
    refresh: bool,
}

#[derive(Debug, Args)]
struct CostsArgs {
    /// Price a recorded session's consumption (replayed offline)
    #[arg(long, value_name = "FILE", conflicts_with = "state")]
    session: Option<PathBuf>,
    /// Price what the sync holds in this state folder [default: the configuration's]
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// Usage points whose consumption is priced [default: the configuration's]
    #[arg(long = "pdl", value_name = "PDL")]
    usage_points: Vec<String>,
    /// First day, YYYY-MM-DD or DD/MM/YYYY [default: a year before the last]
    #[arg(long, value_name = "DAY", value_parser = parse_day)]
    from: Option<chrono::NaiveDate>,
    /// Last day, included [default: yesterday]
    #[arg(long, value_name = "DAY", value_parser = parse_day)]
    to: Option<chrono::NaiveDate>,
    /// The subscribed power, in kVA [default: the configuration's, 6]
    #[arg(long)]
    kva: Option<u32>,
    /// Price files on top of the bundled prices and the configuration's: the CRE's
    /// open-data CSV files (Option_Base.csv, Option_HPHC.csv, Option_Tempo.csv) or your
    /// offers in the bundled format; repeat for more
    #[arg(long, value_name = "FILE")]
    prices: Vec<PathBuf>,
    /// Tempo's day colours (YYYY-MM-DD;blue|white|red a line) [default: those the sync
    /// kept, if any]
    #[arg(long, value_name = "FILE")]
    colours: Option<PathBuf>,
    /// The off-peak schedule for HP/HC offers [default: the session's, else the
    /// configuration's, else the contract's hours the sync kept]
    #[arg(long, value_name = "SCHEDULE")]
    schedule: Option<String>,
}

#[derive(Debug, Args)]
struct TicArgs {
    /// The serial port of the TIC module (/dev/ttyUSB0, or a /dev/serial/by-id/ link that
    /// survives unplugging)
    #[arg(long, value_name = "PATH", required_unless_present_any = ["replay", "compare"])]
    port: Option<PathBuf>,
    /// The TIC mode: auto (9600 baud first, then 1200), historic (1200) or standard (9600)
    #[arg(long, value_enum, default_value = "auto")]
    mode: TicModeArg,
    /// Save what the port gives, as a raw capture, when stopping
    #[arg(long, value_name = "FILE", conflicts_with = "replay")]
    record: Option<PathBuf>,
    /// Read a raw capture instead of a port (at its pace)
    #[arg(long, value_name = "FILE", conflicts_with = "port")]
    replay: Option<PathBuf>,
    /// With --replay: without waiting
    #[arg(long, requires = "replay")]
    fast: bool,
    /// Print the first frame (a table, or JSON with --json) and stop
    #[arg(long)]
    once: bool,
    /// The usage point the meter's hours are written as [default: the configuration's
    /// only one, or the meter's PRM]
    #[arg(long = "pdl", value_name = "PDL")]
    usage_point: Option<String>,
    /// Do not write the meter's hours to the output (live values only)
    #[arg(long)]
    no_hours: bool,
    /// Compare the meter's hours kept in the data folder with Enedis' curve the sync
    /// fetched, hour by hour (reads no port)
    #[arg(long, conflicts_with_all = ["port", "replay", "once", "record"])]
    compare: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TicModeArg {
    Auto,
    Historic,
    Standard,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Lang {
    Fr,
    En,
}

fn language(lang: Option<Lang>) -> Language {
    match lang {
        Some(Lang::Fr) => Language::French,
        Some(Lang::En) => Language::English,
        None => Language::from_environment(),
    }
}

fn parse_now(text: &str) -> Result<chrono::NaiveDateTime, String> {
    let (day, time) = text
        .trim()
        .split_once(' ')
        .ok_or("expected \"YYYY-MM-DD HH:MM\"")?;
    let time = chrono::NaiveTime::parse_from_str(time.trim(), "%H:%M")
        .map_err(|e| format!("expected \"YYYY-MM-DD HH:MM\": {e}"))?;
    Ok(parse_day(day)?.and_time(time))
}

/// A day as the command takes it: `YYYY-MM-DD`, or `DD/MM/YYYY` as schedules write dates,
/// with a four-digit year (so that no day arithmetic leaves the calendar).
fn parse_day(text: &str) -> Result<chrono::NaiveDate, String> {
    let text = text.trim();
    let format = if text.contains('/') {
        "%d/%m/%Y"
    } else {
        "%Y-%m-%d"
    };
    let year_digits = match format {
        "%d/%m/%Y" => text.rsplit('/').next(),
        _ => text.split('-').next(),
    }
    .map_or(0, str::len);
    if year_digits != 4 {
        return Err(format!(
            "\"{text}\" is not a day: expected YYYY-MM-DD or DD/MM/YYYY, with a four-digit year"
        ));
    }
    chrono::NaiveDate::parse_from_str(text, format).map_err(|error| {
        format!("\"{text}\" is not a day ({error}): expected YYYY-MM-DD or DD/MM/YYYY")
    })
}

/// The days a chart or a comparison covers, as `[first, end)`: `--from` and `--to` (both
/// included) over the defaults (`default_end`, the day after the last, and `span` days
/// before it). A reversed or empty period is a usage error that names both days.
fn period(
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
    default_end: chrono::NaiveDate,
    span: i64,
) -> Result<(chrono::NaiveDate, chrono::NaiveDate), Exit> {
    let last = to.unwrap_or_else(|| linky_core::shift_days(default_end, -1));
    let first = from.unwrap_or_else(|| linky_core::shift_days(last, 1 - span.max(1)));
    let Some(end) = last.succ_opt() else {
        print_error!(
            "--to {last}: {}",
            tr("aucun jour ne le suit", "no day follows it")
        );
        return Err(Exit::Usage);
    };
    if first > last {
        let (from_word, to_word) = match (from.is_some(), to.is_some()) {
            (true, true) => ("--from", "--to"),
            (true, false) => ("--from", tr("le dernier jour", "the last day")),
            _ => (tr("le premier jour", "the first day"), "--to"),
        };
        match lang() {
            Language::French => print_error!(
                "la période est vide : {from_word} {first} est après {to_word} {last} ; donnez un premier jour au plus tard le dernier"
            ),
            Language::English => print_error!(
                "the period is empty: {from_word} {first} is after {to_word} {last}; give a first day on or before the last"
            ),
        }
        return Err(Exit::Usage);
    }
    Ok((first, end))
}

/// The exit codes, documented in `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    Success = 0,
    Failure = 1,
    Usage = 2,
    Consent = 3,
    RetryLater = 4,
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

/// How a sync's report ends the program.
fn exit_of(report: &SyncReport) -> Exit {
    // An output that refuses its credentials, or cannot work as configured: the
    // configuration is to be fixed.
    let misconfigured = report.errors().any(|error| {
        matches!(
            error,
            linky_domoticz::SyncError::StoppedWriting(
                linky_domoticz::SinkError::Unauthorized { .. }
                    | linky_domoticz::SinkError::Config { .. }
            )
        )
    });
    match report.stopped {
        _ if report.is_success() => Exit::Success,
        _ if misconfigured => Exit::Usage,
        Some(StopReason::ConsentLost) => Exit::Consent,
        Some(StopReason::Cancelled) => Exit::Interrupted,
        Some(StopReason::RetryLater { .. } | StopReason::Deadline) => Exit::RetryLater,
        _ if report.errors().all(linky_domoticz::SyncError::is_retryable) => Exit::RetryLater,
        _ => Exit::Failure,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    LANGUAGE.get_or_init(|| language(cli.lang));
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let mode = if cli.json {
        Mode::Json
    } else if cli.quiet {
        Mode::Quiet
    } else if std::io::stderr().is_terminal() {
        Mode::Bars
    } else {
        Mode::Lines
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            print_error!("cannot start the runtime: {error}");
            return Exit::Failure.into();
        }
    };
    runtime.block_on(run(cli, mode)).into()
}

async fn run(cli: Cli, mode: Mode) -> Exit {
    // `--json` where it does something only: a person who asks for JSON and gets text
    // would parse the wrong thing.
    let without_json = match &cli.command {
        Command::Explain(_) => Some("explain"),
        Command::Config { .. } => Some("config"),
        Command::Completions { .. } => Some("completions"),
        Command::Costs(_) => Some("costs"),
        Command::HomeAssistant { .. } => Some("home-assistant"),
        _ => None,
    };
    if let (true, Some(name)) = (cli.json, without_json) {
        print_error!(
            "--json: `linky {name}` prints no JSON (sync, record, replay, chart, colours, status and tic do)"
        );
        return Exit::Usage;
    }
    match &cli.command {
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(*shell, &mut command, "linky", &mut std::io::stdout());
            Exit::Success
        }
        Command::Explain(args) => explain(args),
        Command::Config { command } => config_command(&cli, command),
        Command::Sync(args) => match load_config(&cli) {
            Ok(config) => sync(config, &args.run, args.daemon, None, mode).await,
            Err(exit) => exit,
        },
        Command::Record(args) => match load_config(&cli) {
            Ok(config) => {
                let record = Some((args.output.clone(), args.hide_usage_points));
                sync(config, &args.run, false, record, mode).await
            }
            Err(exit) => exit,
        },
        Command::Replay(args) => replay(&cli, args, mode).await,
        Command::Chart(args) => chart_command(&cli, args, mode).await,
        Command::Costs(args) => costs_command(&cli, args).await,
        Command::Colours(args) => colours_command(&cli, args).await,
        Command::Status(args) => status_command(&cli, args),
        Command::HomeAssistant { command } => home_assistant_command(&cli, command).await,
        Command::Tic(args) => tic_command(&cli, args).await,
    }
}

async fn tic_command(cli: &Cli, args: &TicArgs) -> Exit {
    use linky_enedis::tic::{ModeSetting, PortSettings, TicCapture, TicMode};
    use linky_examples::tic::{
        MeterHoursJournal, TicRun, TicSource, frame_json, frame_table, run_tic,
    };
    let config = match load_config(cli) {
        Ok(config) => config,
        Err(exit) => return exit,
    };
    if args.compare {
        return tic_compare(cli, args, &config);
    }
    let mode = match args.mode {
        TicModeArg::Auto => ModeSetting::Auto,
        TicModeArg::Historic => ModeSetting::Fixed(TicMode::Historic),
        TicModeArg::Standard => ModeSetting::Fixed(TicMode::Standard),
    };
    let source = match (&args.port, &args.replay) {
        (_, Some(path)) => {
            let text = match std::fs::read_to_string(path) {
                Ok(text) => text,
                Err(error) => {
                    print_error!("cannot read {}: {error}", path.display());
                    return Exit::Usage;
                }
            };
            match TicCapture::parse(&text) {
                Ok(capture) => TicSource::Replay {
                    capture,
                    fast: args.fast,
                },
                Err(error) => {
                    print_error!("{}: {error}", path.display());
                    return Exit::Usage;
                }
            }
        }
        (Some(port), None) => TicSource::Port(PortSettings::new(port)),
        (None, None) => {
            print_error!("give --port PATH or --replay FILE");
            return Exit::Usage;
        }
    };
    let device = match tic_usage_point(args, &config) {
        Some(pdl) => match pdl.parse::<linky_core::DeviceId>() {
            Ok(device) => Some(device),
            Err(error) => {
                print_error!("--pdl {pdl}: {error}");
                return Exit::Usage;
            }
        },
        None => None,
    };
    let output = if args.once || args.no_hours {
        None
    } else {
        match linky_examples::output_sink(&config) {
            Ok(sink) => sink.map(|sink| (sink, device.clone())),
            Err(error) => {
                print_error!("{error}");
                return Exit::Usage;
            }
        }
    };
    let mqtt = config.mqtt.clone();
    // The meter's hours are kept in the data folder for `--compare`, when there is one.
    let journal = if args.once {
        None
    } else {
        state_folder(None, &config)
            .ok()
            .map(|state| (MeterHoursJournal::in_state(&state), device.clone()))
    };
    let run = TicRun {
        source,
        mode,
        once: args.once,
        record: args.record.clone(),
        mqtt,
        output,
        journal,
    };
    let cancel = CancelToken::new();
    let signalled = on_signals(cancel.clone());
    let clock: Arc<dyn Clock> = Arc::new(linky_enedis::SystemClock);
    let mut say = |line: &str| {
        if !cli.quiet {
            eprintln!("{line}");
        }
    };
    match run_tic(run, clock, cancel, &mut say).await {
        Ok(summary) => {
            if args.once {
                return match &summary.first {
                    Some(frame) if cli.json => {
                        println!("{}", frame_json(frame));
                        Exit::Success
                    }
                    Some(frame) => {
                        println!("{}", frame_table(frame));
                        Exit::Success
                    }
                    None if summary.interrupted => Exit::Interrupted,
                    None => {
                        print_error!(
                            "no complete frame ({} bad groups, {} stray bytes)",
                            summary.counters.bad_groups(),
                            summary.counters.stray_bytes
                        );
                        Exit::Failure
                    }
                };
            }
            let counters = summary.counters;
            say(&format!(
                "{} frames, {} groups kept, {} dropped ({} bad checksums), {} hours written, {} kept for --compare{}",
                summary.frames,
                counters.groups,
                counters.bad_groups(),
                counters.bad_checksums,
                summary.hours_written,
                summary.hours_kept,
                if signalled.load(Ordering::SeqCst) {
                    "; stopped by a signal"
                } else {
                    ""
                }
            ));
            Exit::Success
        }
        Err(message) => {
            print_error!("{message}");
            if message.starts_with("MQTT") && message.contains("refused") {
                Exit::Usage
            } else {
                Exit::Failure
            }
        }
    }
}

/// `linky status`: what the state folder holds, the runs, the consent, the outputs.
fn status_command(cli: &Cli, args: &StatusArgs) -> Exit {
    let config = match load_config(cli) {
        Ok(config) => config,
        Err(exit) => return exit,
    };
    let folder = match state_folder(args.state.as_deref(), &config) {
        Ok(folder) => folder,
        Err(message) => {
            print_error!("{message}");
            return Exit::Usage;
        }
    };
    if !folder.is_dir() {
        print_error!(
            "{} does not exist: run `linky sync` once in a terminal",
            folder.display()
        );
        return Exit::Failure;
    }
    let outputs = config::describe(&config)
        .lines()
        .filter(|line| line.starts_with("output:") || line.starts_with("mqtt:"))
        .map(str::to_owned)
        .collect();
    let status = linky_examples::status::status(&folder, &config.usage_points, outputs);
    let now = linky_enedis::SystemClock.now();
    if cli.json {
        println!("{}", status.json(now));
    } else {
        println!("{}", status.text(now, lang()));
    }
    Exit::Success
}

/// The usage point `linky tic` writes and compares the meter's hours as: `--pdl`, else
/// the configuration's only one.
fn tic_usage_point<'a>(args: &'a TicArgs, config: &'a Config) -> Option<&'a String> {
    args.usage_point
        .as_ref()
        .or(match config.usage_points.as_slice() {
            [only] => Some(only),
            _ => None,
        })
}

/// `linky tic --compare`: the meter's hours kept in the data folder against Enedis' curve
/// in the sync's state, hour by hour.
fn tic_compare(cli: &Cli, args: &TicArgs, config: &Config) -> Exit {
    use linky_examples::tic::{MeterHoursJournal, enedis_hours, reconciliation_table};
    let pdl = match tic_usage_point(args, config) {
        Some(pdl) => pdl,
        None => {
            print_error!(
                "{}",
                tr(
                    "quel point de livraison ? donnez --pdl",
                    "which usage point? give --pdl"
                )
            );
            return Exit::Usage;
        }
    };
    let device = match pdl.parse::<linky_core::DeviceId>() {
        Ok(device @ linky_core::DeviceId::Meter(_)) => device,
        Ok(_) => {
            print_error!("--pdl {pdl}: one usage point, not a merged device");
            return Exit::Usage;
        }
        Err(error) => {
            print_error!("--pdl {pdl}: {error}");
            return Exit::Usage;
        }
    };
    let state = match state_folder(None, config) {
        Ok(state) => state,
        Err(error) => {
            print_error!("{error}");
            return Exit::Usage;
        }
    };
    let (meter, unreadable) = match MeterHoursJournal::in_state(&state).read(&device) {
        Ok(found) => found,
        Err(error) => {
            print_error!("{error}");
            return Exit::Failure;
        }
    };
    if unreadable > 0 {
        eprintln!("warning: {unreadable} line(s) of the meter's hours could not be read");
    }
    let (Some(first), Some(last)) = (meter.first(), meter.last()) else {
        match lang() {
            Language::French => print_error!("aucune heure du compteur gardée pour {pdl}"),
            Language::English => print_error!("no meter hours kept for {pdl} yet"),
        }
        return Exit::Failure;
    };
    let store = match linky_domoticz::StateDir::open(&state) {
        Ok(store) => store,
        Err(error) => {
            print_error!("{}: {error}", state.display());
            return Exit::Failure;
        }
    };
    let from = first.end.date().pred_opt().unwrap_or(first.end.date());
    let to = last.end.date().succ_opt().unwrap_or(last.end.date());
    let enedis = enedis_hours(&store, pdl, from, to);
    let compared = linky_core::compare_hours(&meter, &enedis);
    if compared.is_empty() {
        eprintln!(
            "nothing to compare yet: {} meter hours from {} to {}, and Enedis' curve has none of              them (run `linky sync` once Enedis publishes them, the next day)",
            meter.len(),
            first.end.format("%Y-%m-%d %H:%M"),
            last.end.format("%Y-%m-%d %H:%M")
        );
        return Exit::Failure;
    }
    if cli.json {
        let hours: Vec<serde_json::Value> = compared
            .iter()
            .map(|hour| {
                serde_json::json!({
                    "end": hour.end_utc.to_rfc3339(),
                    "meter_wh": hour.meter_drawn_wh(),
                    "enedis_wh": hour.enedis_drawn_wh(),
                    "difference_wh": hour.drawn_difference_wh(),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({ "usage_point": pdl, "hours": hours })
        );
    } else {
        println!("{}", reconciliation_table(&compared));
    }
    Exit::Success
}

/// The configuration: `--config PATH` (which must be there), else the default file when
/// there is one, else the defaults.
fn load_config(cli: &Cli) -> Result<Config, Exit> {
    let path = match &cli.config {
        Some(path) => path.clone(),
        None => match config::default_path() {
            Some(path) if path.exists() => path,
            _ => return Ok(Config::default()),
        },
    };
    config::load(&path).map_err(|error| {
        eprintln!("{error}");
        Exit::Usage
    })
}

fn config_command(cli: &Cli, command: &ConfigCommand) -> Exit {
    match command {
        ConfigCommand::Path => {
            match cli.config.clone().or_else(config::default_path) {
                Some(path) => println!("{}", path.display()),
                None => println!("no config folder on this system: use --config PATH"),
            }
            Exit::Success
        }
        ConfigCommand::Example => {
            print!("{}", config::EXAMPLE);
            Exit::Success
        }
        ConfigCommand::Check { path } => {
            let Some(path) = path
                .clone()
                .or_else(|| cli.config.clone())
                .or_else(config::default_path)
            else {
                eprintln!("no config folder on this system: give the file's path");
                return Exit::Usage;
            };
            match config::load(&path) {
                Ok(config) => {
                    if !cli.quiet {
                        println!("{}: ok", path.display());
                        println!("{}", config::describe(&config));
                    }
                    // A power no price is known for: `linky costs` cannot price it.
                    if config.offer.is_none() {
                        let paths: Vec<&Path> =
                            config.prices.iter().map(PathBuf::as_path).collect();
                        if let Ok(book) = linky_examples::costs::price_book(&paths) {
                            let powers = config::priced_powers(&book.offers);
                            if !powers.contains(&config.kva) {
                                let powers: Vec<String> =
                                    powers.iter().map(ToString::to_string).collect();
                                eprintln!(
                                    "warning: no price for {} kVA (`kva`): the prices have {} kVA; `linky costs` needs the CRE's price file for another power (`prices = [\"file.csv\"]`, from data.gouv.fr)",
                                    config.kva,
                                    powers.join(", ")
                                );
                            }
                        }
                    }
                    // What a run would change: said before the run says it.
                    if let Ok((_, warnings)) = linky_examples::sync_settings(&config) {
                        for warning in warnings {
                            eprintln!(
                                "warning: [history] {warning} (Enedis keeps load curves about two years: 730 days; hour rows: 7 days at most)"
                            );
                        }
                    }
                    Exit::Success
                }
                Err(error) => {
                    eprintln!("{error}");
                    let count = error.problems.len();
                    eprintln!(
                        "{count} problem{} in {}",
                        if count == 1 { "" } else { "s" },
                        path.display()
                    );
                    Exit::Usage
                }
            }
        }
    }
}

fn explain(args: &ExplainArgs) -> Exit {
    let zone: HolidayZone = match args.zone.parse() {
        Ok(zone) => zone,
        Err(error) => {
            print_error!("--zone: {error}");
            return Exit::Usage;
        }
    };
    if let Some(pdl) = &args.pdl
        && let Err(error) = pdl.parse::<UsagePointId>()
    {
        print_error!("--pdl {pdl}: {error}");
        return Exit::Usage;
    }
    let flow = if args.production {
        Flow::Production
    } else {
        Flow::Consumption
    };
    match linky_examples::explain(&args.schedule, args.pdl.as_deref(), flow, zone, lang()) {
        Ok(text) => {
            print!("{text}");
            Exit::Success
        }
        Err(message) => {
            eprintln!("{message}");
            Exit::Usage
        }
    }
}

/// The command line's run settings over the configuration's.
fn apply(mut config: Config, args: &RunArgs) -> Result<Config, String> {
    if let Some(backend) = &args.backend {
        config.backend.clone_from(backend);
    }
    if args.base_url.is_some() {
        config.base_url.clone_from(&args.base_url);
    }
    if !args.usage_points.is_empty() {
        for pdl in &args.usage_points {
            pdl.parse::<UsagePointId>()
                .map_err(|e| format!("--pdl {pdl}: {e}"))?;
        }
        config.usage_points.clone_from(&args.usage_points);
    }
    if let Some(schedule) = &args.schedule {
        schedule
            .parse::<linky_core::OffPeakConfig>()
            .map_err(|e| format!("--schedule: {e}"))?;
        config.schedule.clone_from(schedule);
    }
    if let Some(days) = args.days {
        config.days = days;
    }
    if let Some(days) = args.hours_days {
        config.hours_days = days;
    }
    Ok(config)
}

fn state_folder(explicit: Option<&Path>, config: &Config) -> Result<PathBuf, String> {
    explicit
        .map(Path::to_path_buf)
        .or_else(|| config.state.clone())
        .or_else(config::default_state)
        .ok_or_else(|| "no data folder on this system: give --state DIR".to_owned())
}

fn clock_at(now: Option<chrono::NaiveDateTime>) -> Result<Arc<dyn Clock>, String> {
    Ok(match now {
        Some(now) => Arc::new(linky_core::ManualClock::new(
            now.and_local_timezone(PARIS)
                .earliest()
                .ok_or("--now: that time does not exist in Paris")?
                .to_utc(),
        )),
        None => Arc::new(linky_enedis::SystemClock),
    })
}

/// Cancels `token` on SIGINT or SIGTERM, and says that it did. A second signal (a person
/// pressing Ctrl-C again while the run winds down) ends the process at once with 130:
/// what was fetched is already kept, each answer is stored before the next request.
fn on_signals(token: CancelToken) -> Arc<AtomicBool> {
    let signalled = Arc::new(AtomicBool::new(false));
    let flag = signalled.clone();
    tokio::spawn(async move {
        #[cfg(unix)]
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        for signals in 0.. {
            let terminated = async {
                #[cfg(unix)]
                if let Some(signal) = terminate.as_mut() {
                    signal.recv().await;
                    return;
                }
                std::future::pending::<()>().await;
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = terminated => {}
            }
            if signals > 0 {
                eprintln!("stopped at once by a second signal");
                std::process::exit(Exit::Interrupted as i32);
            }
            flag.store(true, Ordering::SeqCst);
            token.cancel();
        }
    });
    signalled
}

async fn sync(
    config: Config,
    args: &RunArgs,
    daemon: bool,
    record: Option<(PathBuf, bool)>,
    mode: Mode,
) -> Exit {
    let setup = || -> Result<(LiveRun, Arc<dyn Clock>), String> {
        let config = apply(config.clone(), args)?;
        let state = state_folder(args.state.as_deref(), &config)?;
        let (record, hide_usage_points) = match &record {
            Some((path, hide)) => (Some(path.clone()), *hide),
            None => (None, false),
        };
        let run = LiveRun {
            config,
            state,
            record,
            hide_usage_points,
            interactive: std::io::stdin().is_terminal(),
            language: lang(),
        };
        Ok((run, clock_at(args.now)?))
    };
    let (run, clock) = match setup() {
        Ok(setup) => setup,
        Err(message) => {
            print_error!("{message}");
            return Exit::Usage;
        }
    };
    let cancel = CancelToken::new();
    let signalled = on_signals(cancel.clone());
    let mut reporter = Reporter::new(mode).with_language(lang());
    let mut round = 1_u32;
    loop {
        if daemon {
            reporter.say(&format!(
                "run {round} at {}",
                clock.local_now(PARIS).format("%Y-%m-%d %H:%M")
            ));
        }
        let result = {
            let mut progress = |event: &SyncEvent| reporter.event(event);
            // Consent prompts and warnings: at once, on standard error (a person reads
            // the address and code while the run waits), whatever the output mode.
            let mut say = |line: &str| eprintln!("{line}");
            linky_examples::live_sync(&run, clock.clone(), cancel.clone(), &mut progress, &mut say)
                .await
        };
        reporter.finish();
        let report = match result {
            Ok(outcome) => {
                if let Some(tables) = outcome.tables {
                    reporter.say(tables.trim_end());
                }
                outcome.report
            }
            Err(LiveError::ConsentNeeded(message)) => {
                print_error!("{message}");
                return Exit::Consent;
            }
            Err(LiveError::Interrupted) => {
                if daemon {
                    reporter.say("stopped by a signal");
                    return Exit::Success;
                }
                eprintln!("interrupted: nothing was fetched; run `linky sync` again to go on");
                return Exit::Interrupted;
            }
            Err(LiveError::Unreachable(message)) => {
                print_error!("{message}");
                // What trying again may mend, as a failed run: the one-shot run says
                // "retry later", the daemon tries again at the next run a failure gets.
                if !daemon {
                    return Exit::RetryLater;
                }
                let next_run = linky_core::next_run(
                    clock.local_now(PARIS),
                    linky_core::RunOutcome::Failure,
                    linky_core::CallingHours::default(),
                    0,
                );
                let wait = sleep_for(next_run, clock.as_ref());
                reporter.say(&format!(
                    "next run at {} (in {})",
                    next_run.format("%Y-%m-%d %H:%M"),
                    linky_examples::progress::human_wait(wait)
                ));
                tokio::select! {
                    () = clock.sleep(wait) => {}
                    () = cancel.cancelled() => {
                        reporter.say("stopped by a signal while sleeping");
                        return Exit::Success;
                    }
                }
                round += 1;
                continue;
            }
            Err(LiveError::Failed(message)) => {
                print_error!("{message}");
                return Exit::Failure;
            }
        };
        reporter.summary(&report);
        let exit = exit_of(&report);
        if !daemon {
            return exit;
        }
        if signalled.load(Ordering::SeqCst) || cancel.is_cancelled() {
            reporter.say("stopped by a signal; what was fetched is kept");
            return Exit::Success;
        }
        if exit == Exit::Consent {
            return exit;
        }
        // Sleep until the next run the core computed (after a Retry-After, not before it);
        // before it, wake to ask for tomorrow's colour while it is not known for good.
        let mut colour_check = report.next_colour_check;
        loop {
            let (wake, refresh) = next_wake(report.next_run, colour_check);
            let wait = sleep_for(wake, clock.as_ref());
            if refresh {
                reporter.say(&format!(
                    "tomorrow's colour asked at {} (in {}); next run at {}",
                    wake.format("%Y-%m-%d %H:%M"),
                    linky_examples::progress::human_wait(wait),
                    report.next_run.format("%Y-%m-%d %H:%M"),
                ));
            } else {
                reporter.say(&format!(
                    "next run at {} (in {})",
                    report.next_run.format("%Y-%m-%d %H:%M"),
                    linky_examples::progress::human_wait(wait)
                ));
            }
            tokio::select! {
                () = clock.sleep(wait) => {}
                () = cancel.cancelled() => {
                    reporter.say("stopped by a signal while sleeping");
                    return Exit::Success;
                }
            }
            if !refresh {
                break;
            }
            match linky_examples::live_refresh_colours(&run, clock.clone(), cancel.clone()).await {
                Ok(refreshed) => {
                    reporter.refreshed(&refreshed);
                    colour_check = refreshed.next_check;
                }
                Err(error) => {
                    reporter.say(&format!("colour refresh: {error}"));
                    colour_check = None;
                }
            }
        }
        round += 1;
    }
}

/// What the daemon does next: a colour refresh (`true`) when one is due before the next
/// run, else the run.
fn next_wake(
    next_run: chrono::NaiveDateTime,
    colour_check: Option<chrono::NaiveDateTime>,
) -> (chrono::NaiveDateTime, bool) {
    match colour_check {
        Some(check) if check < next_run => (check, true),
        _ => (next_run, false),
    }
}

/// How long to sleep until local time `wake` (a minute at least).
fn sleep_for(wake: chrono::NaiveDateTime, clock: &dyn Clock) -> std::time::Duration {
    let at = wake
        .and_local_timezone(PARIS)
        .earliest()
        .map(|at| at.to_utc())
        .unwrap_or_else(|| clock.now() + chrono::Duration::hours(1));
    (at - clock.now())
        .to_std()
        .unwrap_or_default()
        .max(std::time::Duration::from_secs(60))
}

fn read_session(args: &ReplayArgs) -> Result<(String, linky_enedis::Session), String> {
    if let Some(seed) = args.two_years {
        return Ok((
            format!("a generated two-year backfill (seed {seed})"),
            linky_examples::two_year_session(seed),
        ));
    }
    match &args.session {
        None => Ok((
            tr("la session principale fournie", "the bundled main session").to_owned(),
            linky_examples::main_session(),
        )),
        Some(path) => read_session_file(path).map(|s| (path.display().to_string(), s)),
    }
}

fn read_session_file(path: &Path) -> Result<linky_enedis::Session, String> {
    std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| linky_enedis::Session::from_json(&bytes).map_err(|e| e.to_string()))
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}

async fn replay(cli: &Cli, args: &ReplayArgs, mode: Mode) -> Exit {
    let (name, session) = match read_session(args) {
        Ok(session) => session,
        Err(message) => {
            print_error!("{message}");
            return Exit::Usage;
        }
    };
    let target = if args.to_config_output {
        match load_config(cli) {
            Ok(config) => match config.output {
                Output::Domoticz(domoticz) => Target::Domoticz(domoticz),
                Output::Series(series) => Target::LineProtocol(series),
                Output::HomeAssistant(home_assistant) => Target::HomeAssistant(home_assistant),
                Output::Print => Target::Memory,
            },
            Err(exit) => return exit,
        }
    } else {
        Target::Memory
    };
    let info = session.replay.clone();
    let state: Box<dyn linky_domoticz::StateStore> = match &args.state {
        Some(folder) => match StateDir::open(folder) {
            Ok(state) => Box::new(state),
            Err(error) => {
                print_error!("{error}");
                return Exit::Failure;
            }
        },
        None => Box::new(MemoryState::new()),
    };
    let mut reporter = Reporter::new(mode).with_language(lang());
    reporter.say(&match lang() {
        Language::French => format!("rejeu de {name} ({} échanges)", session.exchanges.len()),
        Language::English => format!("replaying {name} ({} exchanges)", session.exchanges.len()),
    });
    let mut out: Vec<u8> = Vec::new();
    let replayed = {
        let mut progress = |event: &SyncEvent| reporter.event(event);
        linky_examples::replay_showing(
            session,
            target,
            state.as_ref(),
            &mut out,
            Some(&mut progress),
            if args.all_rows {
                linky_examples::RowsShown::All
            } else {
                linky_examples::RowsShown::Auto
            },
            lang(),
        )
        .await
    };
    reporter.finish();
    let replayed = match replayed {
        Ok(replayed) => replayed,
        Err(message) => {
            print_error!("{message}");
            return Exit::Failure;
        }
    };
    if !matches!(mode, Mode::Json | Mode::Quiet) {
        print!("{}", String::from_utf8_lossy(&out));
    }
    if let Some(report) = &replayed.report {
        reporter.summary(report);
    }
    if !args.chart.is_empty() {
        let Some(info) = info else {
            print_error!(
                "--chart: {}",
                tr(
                    "la session ne dit pas ses points de livraison",
                    "the session does not say its usage points"
                )
            );
            return Exit::Failure;
        };
        let to = info.now.date();
        let from = to - chrono::Duration::days(info.days.max(1));
        let request = ChartRequest {
            usage_points: &info.usage_points,
            schedule: Schedules {
                given: None,
                session: Some(&info.offpeak),
                config: "",
            },
            from,
            to,
            outputs: &args.chart,
            options: chart::ChartOptions {
                show_pdl: args.show_pdl,
                ..chart::ChartOptions::new(lang())
            },
            colours: None,
        };
        let exit = draw(state.as_ref(), request, &reporter);
        if exit != Exit::Success {
            return exit;
        }
    }
    if replayed.as_recorded {
        Exit::Success
    } else {
        Exit::Failure
    }
}

/// A chart to draw: whose, over which days, split how, into which files.
struct ChartRequest<'a> {
    usage_points: &'a [String],
    /// `--schedule`, else the session's schedule (empty when it has none).
    schedule: Schedules<'a>,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    outputs: &'a [PathBuf],
    options: chart::ChartOptions,
    /// A colour file's calendar (else the colours the state kept, if any).
    colours: Option<linky_core::ColourCalendar>,
}

fn draw(
    state: &dyn linky_domoticz::StateStore,
    request: ChartRequest<'_>,
    reporter: &Reporter,
) -> Exit {
    let points = match parse_usage_points(request.usage_points) {
        Ok(points) => points,
        Err(exit) => return exit,
    };
    let meta = state.load_meta().unwrap_or_default();
    let first = points.first().map(UsagePointId::as_str).unwrap_or_default();
    let (schedule, label) = match request
        .schedule
        .resolve(&meta, first, request.options.language)
    {
        Ok(chosen) => chosen,
        Err(exit) => return exit,
    };
    let colours = request
        .colours
        .or_else(|| Some(meta.colours).filter(|colours| !colours.is_empty()));
    let source = chart::ChartSource {
        usage_points: &points,
        schedule: &schedule,
        schedule_label: label,
        zone: request.options.zone,
        colours: colours.as_ref(),
    };
    let data = chart::chart_data(state, &source, request.from, request.to);
    for output in request.outputs {
        if let Err(message) = chart::write_chart(&data, &request.options, output) {
            print_error!("{message}");
            return Exit::Failure;
        }
        reporter.say(&match lang() {
            Language::French => format!(
                "graphique de {} jours écrit dans {}",
                data.days.len(),
                output.display()
            ),
            Language::English => format!(
                "chart of {} days written to {}",
                data.days.len(),
                output.display()
            ),
        });
    }
    Exit::Success
}

/// Where the off-peak hours that split the days come from, first found first: the
/// command line's `--schedule`, the session's, the configuration's; then, for a usage
/// point none of them speaks of, the contract's hours the sync kept.
#[derive(Debug, Clone, Copy)]
struct Schedules<'a> {
    given: Option<&'a str>,
    session: Option<&'a str>,
    config: &'a str,
}

impl Schedules<'_> {
    /// The schedule, and a line that says which it is and where it comes from.
    fn resolve(
        &self,
        meta: &linky_domoticz::SyncMeta,
        pdl: &str,
        language: Language,
    ) -> Result<(linky_core::OffPeakConfig, String), Exit> {
        let (text, origin) = if let Some(given) = self.given {
            (given, "--schedule")
        } else if let Some(session) = self.session.filter(|text| !text.trim().is_empty()) {
            (session, language.pick("la session", "the session"))
        } else {
            (
                self.config,
                language.pick("la configuration", "the configuration"),
            )
        };
        let schedule: linky_core::OffPeakConfig = text.parse().map_err(|error| {
            print_error!("schedule ({origin}): {error}");
            Exit::Usage
        })?;
        if schedule.has_two_tariffs(pdl) {
            let label = linky_examples::schedule_label(language, text, origin);
            return Ok((schedule, label));
        }
        if let Some(history) = meta.contract_hours.get(pdl)
            && let Some(last) = history.entries.last()
        {
            let (with_contract, _) = history.schedule(&schedule, pdl);
            if with_contract.has_two_tariffs(pdl) {
                return Ok((
                    with_contract,
                    format!(
                        "{} ({})",
                        last.text,
                        language.pick("contrat, d'après Enedis", "the contract's, from Enedis")
                    ),
                ));
            }
        }
        Ok((
            schedule,
            linky_examples::no_off_peak_hours(language).to_owned(),
        ))
    }
}

/// The usage points as written, read; a usage error (after saying which) when one is not.
fn parse_usage_points(pdls: &[String]) -> Result<Vec<UsagePointId>, Exit> {
    pdls.iter()
        .map(|pdl| {
            pdl.parse::<UsagePointId>().map_err(|error| {
                print_error!("{pdl}: {error}");
                Exit::Usage
            })
        })
        .collect()
}

/// The state folder given, or the configuration's, opened; the exit code when it cannot
/// be (after saying why).
/// The first and last days with data.
type DaySpan = (chrono::NaiveDate, chrono::NaiveDate);

/// The usage points a command shows from a state folder: the command line's, else the
/// configuration's, else those the folder holds readings of; and the first and last days
/// with data among them. `None` (after saying why) when there are none.
fn state_defaults(
    state: &StateDir,
    given: &[String],
    config: &Config,
) -> Option<(Vec<String>, Option<DaySpan>)> {
    let usage_points = if !given.is_empty() {
        given.to_vec()
    } else if !config.usage_points.is_empty() {
        config.usage_points.clone()
    } else {
        state.usage_points()
    };
    if usage_points.is_empty() {
        match lang() {
            Language::French => print_error!(
                "{} ne contient encore aucun relevé : lancez d'abord `linky sync`, ou donnez --pdl",
                state.root().display()
            ),
            Language::English => print_error!(
                "{} holds no readings yet: run `linky sync` first, or give --pdl",
                state.root().display()
            ),
        }
        return None;
    }
    let mut span: Option<DaySpan> = None;
    for pdl in &usage_points {
        for flow in [linky_core::Flow::Consumption, linky_core::Flow::Production] {
            let (days, _) = state.days_with_data(pdl, linky_domoticz::StoredKind::Curve(flow));
            if let (Some(first), Some(last)) = (days.first(), days.last()) {
                span = Some(match span {
                    Some((from, to)) => (from.min(*first), to.max(*last)),
                    None => (*first, *last),
                });
            }
        }
    }
    Some((usage_points, span))
}

/// Whether `[from, to)` holds data of `usage_points` in `state`; if not, says where the
/// data lies (exit 1).
fn data_in_period(
    state: &StateDir,
    usage_points: &[String],
    span: Option<DaySpan>,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<(), Exit> {
    let last_day = to.pred_opt().unwrap_or(to);
    match span {
        None => {
            match lang() {
                Language::French => print_error!(
                    "{} ne contient aucun relevé de {} : lancez d'abord `linky sync`",
                    state.root().display(),
                    usage_points.join(", ")
                ),
                Language::English => print_error!(
                    "{} holds no readings of {}: run `linky sync` first",
                    state.root().display(),
                    usage_points.join(", ")
                ),
            }
            Err(Exit::Failure)
        }
        Some((first, last)) if last < from || first >= to => {
            match lang() {
                Language::French => print_error!(
                    "aucune donnée du {from} au {last_day} : {} contient {} du {first} au {last}",
                    state.root().display(),
                    usage_points.join(", ")
                ),
                Language::English => print_error!(
                    "no data from {from} to {last_day}: {} holds {} from {first} to {last}",
                    state.root().display(),
                    usage_points.join(", ")
                ),
            }
            Err(Exit::Failure)
        }
        Some(_) => Ok(()),
    }
}

fn open_state(explicit: Option<&Path>, config: &Config) -> Result<StateDir, Exit> {
    let folder = state_folder(explicit, config).map_err(|message| {
        print_error!("{message}");
        Exit::Usage
    })?;
    StateDir::open(&folder).map_err(|error| {
        print_error!("{error}");
        Exit::Failure
    })
}

async fn chart_command(cli: &Cli, args: &ChartArgs, mode: Mode) -> Exit {
    let config = match load_config(cli) {
        Ok(config) => config,
        Err(exit) => return exit,
    };
    let reporter = Reporter::new(if mode == Mode::Bars {
        Mode::Lines
    } else {
        mode
    });
    let outputs = if args.output.is_empty() {
        vec![PathBuf::from("linky.svg"), PathBuf::from("linky.png")]
    } else {
        args.output.clone()
    };
    let options = chart::ChartOptions {
        show_pdl: args.show_pdl,
        zone: config.holiday_zone,
        ..chart::ChartOptions::new(lang())
    };
    let colours = match &args.colours {
        None => None,
        Some(path) => match read_colour_file(path) {
            Ok(colours) => Some(colours),
            Err(exit) => return exit,
        },
    };
    if let Some(path) = &args.session {
        let session = match read_session_file(path) {
            Ok(session) => session,
            Err(message) => {
                print_error!("{message}");
                return Exit::Usage;
            }
        };
        if session.replay.is_none() {
            print_error!(
                "{}: the session does not say its usage points",
                path.display()
            );
            return Exit::Usage;
        }
        let (state, info) = match linky_examples::replay_quietly(session).await {
            Ok(replayed) => replayed,
            Err(message) => {
                print_error!("{message}");
                return Exit::Failure;
            }
        };
        let (from, to) = match period(args.from, args.to, info.now.date(), info.days) {
            Ok(period) => period,
            Err(exit) => return exit,
        };
        let usage_points = if args.usage_points.is_empty() {
            info.usage_points.clone()
        } else {
            args.usage_points.clone()
        };
        let request = ChartRequest {
            usage_points: &usage_points,
            schedule: Schedules {
                given: args.schedule.as_deref(),
                session: Some(&info.offpeak),
                config: &config.schedule,
            },
            from,
            to,
            outputs: &outputs,
            options,
            colours,
        };
        return draw(&state, request, &reporter);
    }
    let state = match open_state(args.state.as_deref(), &config) {
        Ok(state) => state,
        Err(exit) => return exit,
    };
    let Some((usage_points, span)) = state_defaults(&state, &args.usage_points, &config) else {
        return Exit::Usage;
    };
    // The last 31 days with data, unless told.
    let today = linky_enedis::SystemClock.local_now(PARIS).date();
    let default_end = span.and_then(|(_, last)| last.succ_opt()).unwrap_or(today);
    let (from, to) = match period(args.from, args.to, default_end, 31) {
        Ok(period) => period,
        Err(exit) => return exit,
    };
    if let Err(exit) = data_in_period(&state, &usage_points, span, from, to) {
        return exit;
    }
    let request = ChartRequest {
        usage_points: &usage_points,
        schedule: Schedules {
            given: args.schedule.as_deref(),
            session: None,
            config: &config.schedule,
        },
        from,
        to,
        outputs: &outputs,
        options,
        colours,
    };
    draw(&state, request, &reporter)
}

/// A colour file read; a usage error (after saying where it is wrong) when it cannot be.
fn read_colour_file(path: &Path) -> Result<linky_core::ColourCalendar, Exit> {
    std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|text| linky_examples::costs::read_colours(&text))
        .map_err(|message| {
            print_error!("{}: {message}", path.display());
            Exit::Usage
        })
}

async fn home_assistant_command(cli: &Cli, command: &HomeAssistantCommand) -> Exit {
    let HomeAssistantCommand::Dashboard { devices } = command;
    let config = match load_config(cli) {
        Ok(config) => config,
        Err(exit) => return exit,
    };
    let Output::HomeAssistant(home_assistant) = config.output else {
        print_error!(
            "the configuration writes nowhere in Home Assistant: add a [home_assistant] section (`linky config example`)"
        );
        return Exit::Usage;
    };
    let sink = match linky_domoticz::HomeAssistantSink::new(home_assistant) {
        Ok(sink) => sink,
        Err(error) => {
            print_error!("{error}");
            return Exit::Usage;
        }
    };
    let sink_exit = |error: &linky_domoticz::SinkError| match error {
        linky_domoticz::SinkError::Unauthorized { .. }
        | linky_domoticz::SinkError::Config { .. } => Exit::Usage,
        error if error.is_retryable() => Exit::RetryLater,
        _ => Exit::Failure,
    };
    let mut chosen = Vec::new();
    for device in devices {
        match device.parse::<linky_core::DeviceId>() {
            Ok(device) => chosen.push(device),
            Err(error) => {
                print_error!("--device {device}: {error}");
                return Exit::Usage;
            }
        }
    }
    if chosen.is_empty() {
        chosen = match sink.devices().await {
            Ok(held) => held.into_iter().filter(|d| !d.is_merged()).collect(),
            Err(error) => {
                print_error!("{error}");
                return sink_exit(&error);
            }
        };
        if chosen.is_empty() {
            print_error!("Home Assistant holds no statistics of linky yet: run `linky sync` first");
            return Exit::Failure;
        }
    }
    for device in &chosen {
        match sink.add_to_energy_dashboard(device).await {
            Ok(change) => {
                if cli.quiet {
                    continue;
                }
                for (energy, cost) in &change.consumption {
                    match cost {
                        Some(cost) => println!("{device}: grid consumption {energy}, cost {cost}"),
                        None => println!("{device}: grid consumption {energy}"),
                    }
                }
                for energy in &change.production {
                    println!("{device}: return to grid {energy}");
                }
                if change.is_empty() {
                    println!("{device}: already in the Energy dashboard");
                }
            }
            Err(error) => {
                print_error!("{device}: {error}");
                return sink_exit(&error);
            }
        }
    }
    Exit::Success
}

async fn colours_command(cli: &Cli, args: &ColoursArgs) -> Exit {
    let mut config = match load_config(cli) {
        Ok(config) => config,
        Err(exit) => return exit,
    };
    let state = match state_folder(args.state.as_deref(), &config) {
        Ok(state) => state,
        Err(message) => {
            print_error!("{message}");
            return Exit::Usage;
        }
    };
    let clock: Arc<dyn Clock> = Arc::new(linky_enedis::SystemClock);
    if args.refresh {
        config.tempo = true;
        let run = LiveRun {
            config,
            state: state.clone(),
            record: None,
            hide_usage_points: false,
            interactive: false,
            language: lang(),
        };
        match linky_examples::live_refresh_colours(&run, clock.clone(), CancelToken::new()).await {
            Ok(refresh) => {
                for error in refresh.errors.iter().chain(&refresh.notes) {
                    print_error!("{error}");
                }
                if !refresh.errors.is_empty() {
                    return Exit::Failure;
                }
            }
            Err(error) => {
                print_error!("{error}");
                return Exit::Failure;
            }
        }
    }
    let meta = match linky_domoticz::StateDir::open(&state).and_then(|dir| {
        use linky_domoticz::StateStore;
        dir.load_meta()
    }) {
        Ok(meta) => meta,
        Err(error) => {
            print_error!("{}: {error}", state.display());
            return Exit::Failure;
        }
    };
    // Today is the colour day: until 06:00, the day before's colour still runs.
    let date = args
        .date
        .unwrap_or_else(|| linky_core::colour_day(clock.local_now(PARIS)));
    let status = linky_examples::progress::TempoStatus::new(&meta, date);
    if cli.json {
        println!("{}", status.json());
    } else if !cli.quiet {
        print!("{}", status.text(lang()));
    }
    Exit::Success
}

async fn costs_command(cli: &Cli, args: &CostsArgs) -> Exit {
    use linky_domoticz::StateStore;
    use linky_examples::costs;
    let config = match load_config(cli) {
        Ok(config) => config,
        Err(exit) => return exit,
    };
    // The configuration's price files, then the command line's.
    let paths: Vec<&Path> = config
        .prices
        .iter()
        .chain(&args.prices)
        .map(PathBuf::as_path)
        .collect();
    let book = match costs::price_book(&paths) {
        Ok(book) => book,
        Err(message) => {
            print_error!("{message}");
            return Exit::Usage;
        }
    };
    let colours = match &args.colours {
        None => None,
        Some(path) => match read_colour_file(path) {
            Ok(colours) => Some((
                colours,
                costs::ColourOrigin::File(path.display().to_string()),
            )),
            Err(exit) => return exit,
        },
    };
    // What is priced: a session replayed into memory (its usage points, schedule and
    // days by default), or a state folder (the configuration's, a year before today).
    let (state, default_points, default_schedule, default_end, default_span): (
        Box<dyn StateStore>,
        Vec<String>,
        Option<String>,
        chrono::NaiveDate,
        i64,
    ) = if let Some(path) = &args.session {
        let session = match read_session_file(path) {
            Ok(session) => session,
            Err(message) => {
                print_error!("{message}");
                return Exit::Usage;
            }
        };
        match linky_examples::replay_quietly(session).await {
            Ok((state, info)) => (
                Box::new(state),
                info.usage_points.clone(),
                Some(info.offpeak.clone()),
                info.now.date(),
                info.days,
            ),
            Err(message) => {
                print_error!("{}: {message}", path.display());
                return Exit::Failure;
            }
        }
    } else {
        let state = match open_state(args.state.as_deref(), &config) {
            Ok(state) => state,
            Err(exit) => return exit,
        };
        let Some((usage_points, span)) = state_defaults(&state, &args.usage_points, &config) else {
            return Exit::Usage;
        };
        // The last year with data, unless told.
        let default_end = span
            .and_then(|(_, last)| last.succ_opt())
            .unwrap_or_else(|| linky_enedis::SystemClock.local_now(PARIS).date());
        if let Ok((from, to)) = period(args.from, args.to, default_end, 365)
            && let Err(exit) = data_in_period(&state, &usage_points, span, from, to)
        {
            return exit;
        }
        (Box::new(state), usage_points, None, default_end, 365)
    };
    let pdls = if args.usage_points.is_empty() {
        default_points
    } else {
        args.usage_points.clone()
    };
    let usage_points = match parse_usage_points(&pdls) {
        Ok(points) => points,
        Err(exit) => return exit,
    };
    let Some(first) = usage_points.first().cloned() else {
        print_error!("which usage points? give --pdl or `usage_points` in the configuration");
        return Exit::Usage;
    };
    let (from, to) = match period(args.from, args.to, default_end, default_span) {
        Ok(period) => period,
        Err(exit) => return exit,
    };
    let language = lang();
    // What the sync learned, read once: the contract hours of a usage point the schedule
    // says nothing of, and (without a colour file) the colours it kept (`tempo = true`).
    let meta = state.load_meta().unwrap_or_default();
    let schedules = Schedules {
        given: args.schedule.as_deref(),
        session: default_schedule.as_deref(),
        config: &config.schedule,
    };
    let (schedule, schedule_label) = match schedules.resolve(&meta, first.as_str(), language) {
        Ok(chosen) => chosen,
        Err(exit) => return exit,
    };
    let colours = colours.or_else(|| {
        Some((meta.colours, costs::ColourOrigin::Kept)).filter(|(colours, _)| !colours.is_empty())
    });
    let (colours, colour_origin) = match colours {
        Some((colours, origin)) => (Some(colours), Some(origin)),
        None => (None, None),
    };
    let curve = costs::consumption_curve(state.as_ref(), &usage_points, from, to);
    let options = costs::CostOptions {
        from,
        to,
        kva: args.kva.unwrap_or(config.kva),
        schedule,
        schedule_label,
        usage_point: first.to_string(),
        colours,
        colour_origin,
        language,
    };
    let comparison = costs::compare(&curve, &book, &options);
    print!("{}", costs::table(&comparison, &options, &book));
    Exit::Success
}

#[cfg(test)]
mod tests {
    use super::next_wake;

    fn at(text: &str) -> chrono::NaiveDateTime {
        chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn a_colour_check_before_the_next_run_comes_first() {
        let next_run = at("2024-06-21 08:17");
        assert_eq!(
            next_wake(next_run, Some(at("2024-06-20 11:37"))),
            (at("2024-06-20 11:37"), true)
        );
        assert_eq!(next_wake(next_run, None), (next_run, false));
        // A check due after the run: the run asks for the colours itself.
        assert_eq!(
            next_wake(next_run, Some(at("2024-06-21 11:37"))),
            (next_run, false)
        );
    }
}
