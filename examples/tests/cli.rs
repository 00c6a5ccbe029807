//! The `linky` command as a person runs it: the built binary, its help and exit codes, its
//! configuration checks, its screen in a pseudo-terminal (bars, summary), its daemon
//! stopped by signals, and against a simulated Enedis (the fault suite's) the exit codes
//! that cron and systemd act on.

#[allow(dead_code)]
#[path = "faults/enedis.rs"]
mod enedis;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use enedis::{CONSUMER, Enedis, Fault, PRODUCER, Rule, When};
use linky_enedis::{AccessToken, FileTokenStore, RefreshToken, TokenSet, TokenStore};
use tokio::io::AsyncBufReadExt;

const LINKY: &str = env!("CARGO_BIN_EXE_linky");
/// The runs' local time (a clock that moves only on waits).
const NOW: &str = "2024-06-20 12:00";

static FOLDERS: AtomicUsize = AtomicUsize::new(0);

/// A fresh folder, removed when dropped.
struct Folder(PathBuf);

impl Folder {
    fn new(name: &str) -> Folder {
        let path = std::env::temp_dir().join(format!(
            "linky-cli-{name}-{}-{}",
            std::process::id(),
            FOLDERS.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::remove_dir_all(&path).ok();
        std::fs::create_dir_all(&path).unwrap();
        Folder(path)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// The command, with a home of its own (no user configuration is read), in English.
fn linky(home: &Folder) -> Command {
    let mut command = Command::new(LINKY);
    command
        .env("HOME", &home.0)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("LANG", "C")
        .env_remove("LC_ALL")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    command
}

fn run(command: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

#[test]
fn every_subcommand_has_help_and_version() {
    let home = Folder::new("help");
    for subcommand in [
        "sync",
        "replay",
        "record",
        "explain",
        "chart",
        "config",
        "config check",
        "completions",
    ] {
        let words: Vec<&str> = subcommand.split(' ').collect();
        let (code, out, _) = run(linky(&home).args(&words).arg("--help"));
        assert_eq!(code, 0, "{subcommand} --help");
        assert!(out.contains(&format!("Usage: linky {subcommand}")), "{out}");
        let (code, out, _) = run(linky(&home).args(&words).arg("--version"));
        assert_eq!(code, 0, "{subcommand} --version");
        let name = subcommand.replace(' ', "-");
        assert_eq!(
            out.trim(),
            format!("linky-{name} {}", env!("CARGO_PKG_VERSION"))
        );
    }
    let (code, out, _) = run(linky(&home).arg("--help"));
    assert_eq!(code, 0);
    for line in [
        "3    consent needed",
        "4    retry later",
        "2    usage error",
    ] {
        assert!(out.contains(line), "{out}");
    }
    let (code, out, _) = run(linky(&home).arg("--version"));
    assert_eq!(
        (code, out.trim()),
        (0, concat!("linky ", env!("CARGO_PKG_VERSION")))
    );
    // Usage errors are 2, with the reason.
    let (code, _, err) = run(linky(&home).args(["sync", "--frobnicate"]));
    assert_eq!(code, 2);
    assert!(err.contains("--frobnicate"), "{err}");
    let (code, _, err) = run(linky(&home).args(["sync", "--backend", "enedis"]));
    assert_eq!(code, 2);
    assert!(err.contains("possible values: proxy"), "{err}");
    // Completions for the shells.
    let (code, out, _) = run(linky(&home).args(["completions", "bash"]));
    assert_eq!(code, 0);
    assert!(
        out.contains("_linky()") && out.contains("--daemon"),
        "{out}"
    );
    let (code, out, _) = run(linky(&home).args(["completions", "zsh"]));
    assert_eq!(code, 0);
    assert!(out.starts_with("#compdef linky"), "{out}");
}

#[test]
fn config_check_reports_every_problem_of_a_broken_file() {
    let home = Folder::new("config");
    let path = home.join("broken.toml");
    std::fs::write(
        &path,
        "backend = \"proxy\"\nshedule = \"22h-6h\"\n[domoticz]\nurl = \"http://127.0.0.1:8080\"\n\
         password = \"hunter2\"\n[history]\ndays = \"many\"\n",
    )
    .unwrap();
    let (code, out, err) = run(linky(&home).args(["config", "check"]).arg(&path));
    assert_eq!(code, 2, "{out}{err}");
    let shown = path.display().to_string();
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines[0].starts_with(&format!("{shown}:2:1: unknown key `shedule`")),
        "{err}"
    );
    assert!(
        lines[1].starts_with(&format!("{shown}:5:1: `password` is a secret")),
        "{err}"
    );
    assert!(
        lines[2].starts_with(&format!("{shown}:7:8: `days` must be a whole number")),
        "{err}"
    );
    assert_eq!(lines[3], format!("3 problems in {shown}"));
    assert!(!err.contains("hunter2"));
    // Broken TOML: where it breaks.
    std::fs::write(&path, "backend = \"proxy\"\n[domoticz\nurl = 1\n").unwrap();
    let (code, _, err) = run(linky(&home).args(["config", "check"]).arg(&path));
    assert_eq!(code, 2);
    assert!(err.starts_with(&format!("{shown}:2:")), "{err}");
    // A run with a broken file stops before anything: a usage error.
    let (code, _, err) = run(linky(&home).arg("--config").arg(&path).arg("sync"));
    assert_eq!(code, 2, "{err}");
    // A missing file given by name is a problem too.
    let (code, _, err) = run(linky(&home).args(["config", "check", "/nonexistent/linky.toml"]));
    assert_eq!(code, 2);
    assert!(err.contains("cannot read the file"), "{err}");
    // The example it prints reads, and the default path is in the config folder.
    let (code, example, _) = run(linky(&home).args(["config", "example"]));
    assert_eq!(code, 0);
    std::fs::create_dir_all(home.join("config/linky")).unwrap();
    std::fs::write(home.join("config/linky/config.toml"), example).unwrap();
    let (code, out, err) = run(linky(&home).args(["config", "check"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("config/linky/config.toml: ok"), "{out}");
    assert!(out.contains("schedule: 22h00-6h00"), "{out}");
    let (_, out, _) = run(linky(&home).args(["config", "path"]));
    assert!(out.trim().ends_with("config/linky/config.toml"), "{out}");
    assert!(!err.contains("warning"), "{err}");
    // An offer at a power it has no price for: refused, with the powers there are and the
    // way to load others (issue 19).
    std::fs::write(&path, "offer = \"Tempo\"\nkva = 7\n").unwrap();
    let (code, _, err) = run(linky(&home).args(["config", "check"]).arg(&path));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "{shown}:2:7: no price for 7 kVA: the offer \"Tempo\" has 6, 9 kVA"
        )) && err.contains("load the CRE's price file"),
        "{err}"
    );
    // Without an offer the sync needs no price: a warning for `linky costs`.
    std::fs::write(&path, "kva = 7\n").unwrap();
    let (code, _, err) = run(linky(&home).args(["config", "check"]).arg(&path));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: no price for 7 kVA (`kva`): the prices have 6, 9 kVA"),
        "{err}"
    );
    // More days than Enedis keeps: said by the check, before a run says it.
    std::fs::write(&path, "[history]\ndays = 1000\nhours_days = 9\n").unwrap();
    let (code, _, err) = run(linky(&home).args(["config", "check"]).arg(&path));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: [history] days set to 730 instead of 1000"),
        "{err}"
    );
    assert!(
        err.contains("warning: [history] hours_days set to 7 instead of 9"),
        "{err}"
    );
}

#[test]
fn explain_prints_the_timetable_or_the_error_under_its_word() {
    let home = Folder::new("explain");
    let (code, out, _) = run(linky(&home).args(["explain", "22h30-6h30 sa 0h-24h"]));
    assert_eq!(code, 0);
    assert!(
        out.starts_with("canonical: 22:30-06:30 sat 00:00-24:00\n"),
        "{out}"
    );
    assert!(out.contains("  sat  00:00-24:00 (all day)"), "{out}");
    // A schedule that changes over time: each period's timetable, with when.
    let (code, out, _) =
        run(linky(&home).args(["explain", "22h-6h du 01/11/2025 23h-7h été 2h-7h 12h-15h"]));
    assert_eq!(code, 0);
    assert!(
        out.starts_with(
            "canonical: 22:00-06:00 from 2025-11-01 23:00-07:00 summer 02:00-07:00 12:00-15:00\n"
        ),
        "{out}"
    );
    for header in [
        "\notherwise:\nconsumption of any other PDL",
        "\nfrom 2025-11-01:\n",
        "\nfrom 2025-11-01, in summer (1 April - 31 October):\n",
        "  mon  00:00-07:00 23:00-24:00",
        "  mon  02:00-07:00 12:00-15:00",
    ] {
        assert!(out.contains(header), "{header:?} in\n{out}");
    }
    let (code, _, err) = run(linky(&home).args(["explain", "22h30-6h30 lundo 1h-2h"]));
    assert_eq!(code, 2);
    assert_eq!(
        err.lines().take(2).collect::<Vec<_>>(),
        ["22h30-6h30 lundo 1h-2h", "           ^^^^^"],
        "{err}"
    );
}

/// `explain` takes Enedis' own wording, warns of days with more than 12 h off-peak, and
/// checks `--pdl` as `sync` does (issue 19).
#[test]
fn explain_reads_enedis_wording_and_warns_of_long_off_peak_days() {
    let home = Folder::new("explain-enedis");
    let (code, out, err) = run(linky(&home).args(["explain", "HC (22H00-6H00)"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("read as Enedis' wording: 22:00-06:00\ncanonical: 22:00-06:00\n"),
        "{out}"
    );
    assert!(!out.contains("warning"), "{out}");
    let (code, out, _) = run(linky(&home).args(["explain", "HC (1H50-7H50;12h50-14:50)"]));
    assert_eq!(code, 0);
    assert!(
        out.contains("canonical: 01:50-07:50 12:50-14:50\n"),
        "{out}"
    );
    let (code, _, err) = run(linky(&home).args(["explain", "HC (22H00-6H00"]));
    assert_eq!(code, 2);
    assert!(err.contains("cannot be read"), "{err}");
    // Peak hours typed as off-peak: 14 h a day.
    let (code, out, _) = run(linky(&home).args(["explain", "8h-22h"]));
    assert_eq!(code, 0);
    assert!(
        out.contains("warning: Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday have 14h00 off-peak, more than 12 h a day"),
        "{out}"
    );
    let (code, out, _) = run(linky(&home).args(["explain", "22h-6h sa 0h-24h"]));
    assert_eq!(code, 0);
    assert!(
        out.contains("warning: Saturday has 24h00 off-peak") && !out.contains("Monday,"),
        "{out}"
    );
    let (code, _, err) = run(linky(&home).args(["explain", "--pdl", "123", "22h-6h"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("--pdl 123: ") && err.contains("14 digits"),
        "{err}"
    );
}

/// Runs the command in a pseudo-terminal of 120 columns: everything it wrote (escape
/// sequences included), the screen it leaves, and its exit code.
fn in_terminal(home: &Folder, arguments: &[&str]) -> (String, String, u32) {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 60,
            cols: 120,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut command = CommandBuilder::new(LINKY);
    command.args(arguments);
    command.env("HOME", &home.0);
    command.env("XDG_CONFIG_HOME", home.join("config"));
    command.env("XDG_DATA_HOME", home.join("data"));
    command.env("LANG", "C");
    command.env("TERM", "xterm-256color");
    command.cwd(&home.0);
    let mut child = pair.slave.spawn_command(command).unwrap();
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().unwrap();
    let collector = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut buffer = [0_u8; 8192];
        while let Ok(n) = reader.read(&mut buffer) {
            if n == 0 {
                break;
            }
            bytes.extend_from_slice(&buffer[..n]);
        }
        bytes
    });
    let status = child.wait().unwrap();
    drop(pair.master);
    let bytes = collector.join().unwrap();
    let mut screen = vt100::Parser::new(60, 120, 10_000);
    screen.process(&bytes);
    let mut all = String::from_utf8_lossy(&bytes).into_owned();
    all.retain(|c| c != '\r');
    (all, screen.screen().contents(), status.exit_code())
}

#[test]
fn a_replay_in_a_terminal_draws_bars_then_a_summary_table() {
    let home = Folder::new("terminal");
    let (written, screen, code) = in_terminal(&home, &["replay", "--two-years", "7"]);
    assert_eq!(code, 0, "{written}");
    // Bars were drawn while it ran: "requests done/planned [===>   ]".
    let bars: Vec<&str> = written
        .split('\x1b')
        .filter(|part| part.contains(" requests ") && part.contains("=>"))
        .collect();
    assert!(bars.len() > 2, "no bar drawn:\n{written}");
    // Drawn as the run goes: the requests done only grow (that they reach the plan is
    // the reporter's own test: drawing is rate-limited, the last state may not be drawn).
    let done: Vec<u64> = bars
        .iter()
        .filter_map(|bar| {
            bar.split(" requests ")
                .nth(1)?
                .split('/')
                .next()?
                .parse()
                .ok()
        })
        .collect();
    assert!(done.windows(2).all(|pair| pair[0] <= pair[1]), "{done:?}");
    assert!(done.last() > done.first(), "{done:?}");
    // They are gone at the end; the summary table stays on the screen.
    assert!(!screen.contains("=>"), "{screen}");
    for expected in [
        "device                           days  hours  dashboard",
        "12345678901234 / 10284856584123   730",
        "215 requests answered; success",
        "outcome: success (recorded: success)",
    ] {
        assert!(
            screen.contains(expected),
            "{expected:?} not on the screen:\n{screen}"
        );
    }
    // Not a terminal: plain lines, no escape sequences, the same table.
    let (code, out, _) = run(linky(&home).args(["replay", "--two-years", "7"]));
    assert_eq!(code, 0);
    assert!(!out.contains('\x1b'));
    assert!(out.contains("  12345678901234: consumption 2024-"), "{out}");
    assert!(out.contains("215 requests answered; success"), "{out}");
    // Two years are a summary and the last week per device, not 2 190 rows, unless asked.
    assert!(
        out.contains("  730 day rows from 2022-11-16 to 2024-11-14: HP "),
        "{out}"
    );
    assert!(
        out.contains("(2169 earlier day rows not shown: --all-rows prints them)"),
        "{out}"
    );
    assert!(!out.contains("\n  2022-11-16  "), "{out}");
    let (code, out, _) = run(linky(&home).args(["replay", "--two-years", "7", "--all-rows"]));
    assert_eq!(code, 0);
    assert_eq!(out.matches("\n  2022-11-16  ").count(), 3, "{out}");
    assert!(!out.contains("not shown"), "{out}");
    // --json: one event per line, each an object, the last the report.
    let (code, out, _) = run(linky(&home).args(["--json", "replay"]));
    assert_eq!(code, 0);
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
        .collect();
    assert_eq!(events[0]["event"], "planned");
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "retrying" && e["rate_limited"] == true)
    );
    let last = events.last().unwrap();
    assert_eq!(
        (&last["event"], &last["success"]),
        (&"finished".into(), &true.into())
    );
    // --quiet: nothing.
    let (code, out, _) = run(linky(&home).args(["--quiet", "replay"]));
    assert_eq!((code, out.as_str()), (0, ""));
}

#[test]
fn a_replay_that_differs_from_its_recording_fails() {
    let home = Folder::new("mismatch");
    let session =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/sessions/replay-main.json");
    let mut text = std::fs::read_to_string(&session).unwrap();
    text = text.replace("\"outcome\":\"success\"", "\"outcome\":\"failure\"");
    let altered = home.join("altered.json");
    std::fs::write(&altered, text).unwrap();
    let (code, out, _) = run(linky(&home).args(["replay", "--session"]).arg(&altered));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("outcome: success (recorded: failure)"),
        "{out}"
    );
    let (code, _, err) = run(linky(&home).args(["replay", "--session", "/nonexistent.json"]));
    assert_eq!(code, 2);
    assert!(err.contains("cannot read /nonexistent.json"), "{err}");
}

// ---- against a simulated Enedis ----

/// A configuration for the simulated Enedis, the state folder with a consent given.
fn configured(home: &Folder, enedis: &Enedis, days: i64, consent: bool) -> PathBuf {
    let state = home.join("state");
    std::fs::create_dir_all(&state).unwrap();
    if consent {
        let now = chrono::NaiveDateTime::parse_from_str(NOW, "%Y-%m-%d %H:%M").unwrap();
        let now = now.and_local_timezone(linky_core::PARIS).unwrap().to_utc();
        FileTokenStore::new(state.join("tokens.json"))
            .save(&TokenSet {
                access_token: AccessToken::new("access-0"),
                refresh_token: Some(RefreshToken::new("refresh")),
                expires_at: SystemTime::from(now) + Duration::from_secs(12_600),
                usage_points: vec![CONSUMER.to_owned(), PRODUCER.to_owned()],
            })
            .unwrap();
    }
    let config = home.join("linky.toml");
    std::fs::write(
        &config,
        format!(
            "backend = \"proxy\"\nbase_url = \"{}\"\nschedule = \"22h00-6h00\"\n\
             state = \"{}\"\n[history]\ndays = {days}\nhours_days = 2\n",
            enedis.url(),
            state.display()
        ),
    )
    .unwrap();
    config
}

async fn sync_once(home: &Folder, config: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut command = tokio::process::Command::new(LINKY);
    command
        .env("HOME", &home.0)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("LANG", "C")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .arg("--config")
        .arg(config)
        .args(["sync", "--now", NOW])
        .args(extra);
    let output = command.output().await.unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_ends_with_the_exit_code_cron_and_systemd_act_on() {
    // Success: 0, the summary table.
    let home = Folder::new("exit-success");
    let enedis = Enedis::start(Vec::new()).await;
    let config = configured(&home, &enedis, 14, true);
    let (code, out, err) = sync_once(&home, &config, &[]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("device "), "{out}");
    assert!(out.contains("success\nnext run: 2024-06-21 "), "{out}");
    let clean = enedis.data_requests();

    // A quota whose Retry-After is beyond the retry policy: 4, retry later.
    let home = Folder::new("exit-quota");
    let quota = Fault::Status {
        status: 429,
        retry_after: Some("7200".to_owned()),
        body: r#"{"error":"too_many_requests"}"#.to_owned(),
    };
    let enedis = Enedis::start(vec![Rule::new(When::Nth(1), quota, 1)]).await;
    let config = configured(&home, &enedis, 14, true);
    let (code, out, err) = sync_once(&home, &config, &[]).await;
    assert_eq!(code, 4, "{out}{err}");
    assert!(
        out.contains("stopped: retry later, not before 2024-06-20 14:"),
        "{out}"
    );
    // What was fetched is kept: the next run asks only for the rest, and succeeds; in
    // all, one request more than a clean run (the refused one).
    let (code, out, err) = sync_once(&home, &config, &[]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(enedis.data_requests(), clean + 1, "{out}");

    // Consent revoked: 3.
    let home = Folder::new("exit-consent");
    let enedis = Enedis::start(vec![Rule::new(When::Nth(2), Fault::LoseConsent, 1)]).await;
    let config = configured(&home, &enedis, 14, true);
    let (code, out, err) = sync_once(&home, &config, &[]).await;
    assert_eq!(code, 3, "{out}{err}");
    // No consent yet and nobody at a terminal to give it: 3 at once, nothing asked.
    let home = Folder::new("exit-no-consent");
    let enedis = Enedis::start(Vec::new()).await;
    let config = configured(&home, &enedis, 14, false);
    let (code, _, err) = sync_once(&home, &config, &[]).await;
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("run `linky sync` once in a terminal"), "{err}");
    assert_eq!(enedis.data_requests(), 0);

    // Another usage point's body, every time: 1, a failure to look at.
    let home = Folder::new("exit-failure");
    let enedis = Enedis::start(vec![Rule::new(When::Any, Fault::OtherUsagePoint, 1000)]).await;
    let config = configured(&home, &enedis, 14, true);
    let (code, out, err) = sync_once(&home, &config, &["--json"]).await;
    assert_eq!(code, 1, "{out}{err}");
    let last: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(last["success"], false);
}

/// Right after a first sync, with a configuration that names no usage point: `linky
/// chart` and `linky costs` take the usage points the state holds and its last days with
/// data; a period without data says where the data lies (issue 19).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_sync_chart_and_costs_work_without_flags() {
    let home = Folder::new("after-sync");
    let enedis = Enedis::start(Vec::new()).await;
    let config = configured(&home, &enedis, 14, true);
    let (code, out, err) = sync_once(&home, &config, &[]).await;
    assert_eq!(code, 0, "{out}{err}");
    // The day rows printed say which off-peak hours split them.
    assert!(
        format!("{out}{err}").contains("off-peak hours: 22h00-6h00 (the configuration)\n"),
        "{out}{err}"
    );
    let chart = home.join("chart.svg");
    let (code, out, err) = run(linky(&home)
        .arg("--config")
        .arg(&config)
        .args(["chart", "-o"])
        .arg(&chart));
    assert_eq!(code, 0, "{out}{err}");
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(
        err.contains("chart of 14 days written") || out.contains("chart of 14 days written"),
        "{out}{err}"
    );
    assert!(svg.starts_with("<svg"), "{svg}");
    let (code, out, err) = run(linky(&home).arg("--config").arg(&config).arg("costs"));
    assert_eq!(code, 0, "{out}{err}");
    // The 14 days the sync fetched (the period ends at the last day with data).
    assert!(out.contains("to 2024-06-19: 14 days compared"), "{out}");
    // A period without data: where the data lies.
    for command in ["chart", "costs"] {
        let mut arguments = vec![command, "--from", "2020-01-01", "--to", "2020-01-31"];
        if command == "chart" {
            arguments.extend(["-o", "/tmp/never.svg"]);
        }
        let (code, out, err) = run(linky(&home).arg("--config").arg(&config).args(&arguments));
        assert_eq!(code, 1, "{command}: {out}{err}");
        assert!(
            err.contains("error: no data from 2020-01-01 to 2020-01-31: ")
                && err.contains(
                    " holds 10284856584123, 22516914714270 from 2024-06-06 to 2024-06-19"
                ),
            "{command}: {err}"
        );
    }
    // An empty state folder: run a sync first.
    let empty = Folder::new("empty-state");
    let config = empty.join("linky.toml");
    std::fs::write(
        &config,
        format!("state = \"{}\"\n", empty.join("state").display()),
    )
    .unwrap();
    let (code, _, err) = run(linky(&empty).arg("--config").arg(&config).arg("costs"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("holds no readings yet: run `linky sync` first"),
        "{err}"
    );
}

/// `linky status` after a sync: per usage point and flow the days held, first and last,
/// holes; the last run and the next; the consent's state, never a secret; the outputs;
/// and the same in JSON (issue 19).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_says_what_the_state_holds_and_never_a_secret() {
    use linky_domoticz::StateStore;
    let home = Folder::new("status");
    let enedis = Enedis::start(Vec::new()).await;
    let config = configured(&home, &enedis, 14, true);
    let (code, out, err) = sync_once(&home, &config, &[]).await;
    assert_eq!(code, 0, "{out}{err}");
    // A day the sync fetched but found empty: a hole.
    let state = linky_domoticz::StateDir::open(home.join("state")).unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2024, 6, 10).unwrap();
    state
        .store_curve(
            CONSUMER,
            linky_core::Flow::Consumption,
            day,
            day.succ_opt().unwrap(),
            &[],
        )
        .unwrap();
    let (code, out, err) = run(linky(&home).arg("--config").arg(&config).arg("status"));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("usage point {CONSUMER}")), "{out}");
    assert!(
        out.contains("consumption  13 days from 2024-06-06 to 2024-06-19, 1 hole: 2024-06-10"),
        "{out}"
    );
    assert!(
        out.contains("last run: 2024-06-20 12:00 (success, "),
        "{out}"
    );
    assert!(out.contains("next run: 2024-06-21 "), "{out}");
    assert!(
        out.contains("consent: given for 2 usage points; access token "),
        "{out}"
    );
    assert!(out.contains("a refresh token kept"), "{out}");
    assert!(out.contains("output: printed"), "{out}");
    assert!(
        !out.contains("access-0") && !out.contains("refresh\""),
        "no secret: {out}"
    );
    let (code, out, err) = run(linky(&home)
        .arg("--config")
        .arg(&config)
        .args(["--json", "status"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("access-0"), "no secret: {out}");
    let json: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let consumer = json["usage_points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|point| point["usage_point"] == CONSUMER)
        .unwrap();
    assert_eq!(consumer["held"]["consumption"]["days"], 13, "{json}");
    assert_eq!(
        consumer["held"]["consumption"]["holes"][0],
        serde_json::json!(["2024-06-10", "2024-06-10"])
    );
    assert_eq!(json["last_run"]["outcome"], "success", "{json}");
    // A state folder that does not exist: say so.
    let (code, _, err) = run(linky(&home).args(["status", "--state", "/nonexistent/linky"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("does not exist: run `linky sync`"), "{err}");
}

/// `--json` only where it does something: elsewhere a usage error that says where it
/// does (issue 19).
#[test]
fn json_is_refused_where_it_does_nothing() {
    let home = Folder::new("json-refused");
    for arguments in [
        &["--json", "explain", "22h-6h"][..],
        &["--json", "config", "example"],
        &["--json", "completions", "bash"],
        &["--json", "costs", "--session", "/nonexistent.json"],
    ] {
        let (code, out, err) = run(linky(&home).args(arguments));
        assert_eq!(code, 2, "{arguments:?}: {out}{err}");
        assert!(
            err.contains("--json: `linky ") && err.contains("prints no JSON (sync, record"),
            "{arguments:?}: {err}"
        );
        assert!(out.is_empty(), "{arguments:?}: {out}");
    }
}

/// A Domoticz that cannot be reached is one error, with its address (issue 19).
#[test]
fn an_unreachable_domoticz_is_said_once_with_its_address() {
    let home = Folder::new("domoticz-down");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = home.join("linky.toml");
    std::fs::write(
        &config,
        format!("[domoticz]\nurl = \"http://127.0.0.1:{port}\"\n"),
    )
    .unwrap();
    let (code, out, err) = run(linky(&home)
        .arg("--config")
        .arg(&config)
        .args(["replay", "--to-config-output"]));
    assert_eq!(code, 1, "{out}{err}");
    let errors: Vec<&str> = out
        .lines()
        .filter(|line| line.starts_with("error:"))
        .collect();
    assert_eq!(
        errors,
        [format!(
            "error: stopped writing: domoticz unavailable: getversion at http://127.0.0.1:{port}: could not connect"
        )],
        "{out}"
    );
}

/// Runs `linky sync --daemon`, its output lines sent as they come.
struct Daemon {
    child: tokio::process::Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
}

impl Daemon {
    fn start(home: &Folder, config: &Path) -> Daemon {
        let mut child = tokio::process::Command::new(LINKY)
            .env("HOME", &home.0)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("LANG", "C")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .arg("--config")
            .arg(config)
            .args(["sync", "--daemon", "--now", NOW])
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = tokio::io::BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Daemon {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (10 s at most) for a line holding `text`.
    async fn wait_for(&mut self, text: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !self.seen.iter().any(|line| line.contains(text)) {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) => self.seen.push(line),
                _ => panic!("no {text:?} in:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Sends SIGTERM; the exit code, within 5 s.
    async fn terminate(mut self) -> (i32, String) {
        let pid = self.child.id().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let code = tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .expect("the daemon did not stop within 5 s")
            .unwrap()
            .code()
            .unwrap_or(-1);
        while let Ok(Some(line)) =
            tokio::time::timeout(Duration::from_millis(500), self.lines.recv()).await
        {
            self.seen.push(line);
        }
        (code, self.seen.join("\n"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_runs_again_at_each_next_run_and_stops_cleanly_on_sigterm() {
    let home = Folder::new("daemon");
    // The fourth request hangs: SIGTERM arrives while it is under way.
    let stall = Fault::StallBeforeHeaders(Duration::from_secs(300));
    let enedis = Enedis::start(vec![Rule::new(When::Nth(3), stall, 1)]).await;
    let config = configured(&home, &enedis, 30, true);
    let mut daemon = Daemon::start(&home, &config);
    daemon.wait_for("run 1 at 2024-06-20 12:00").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while enedis.data_requests() < 4 {
        assert!(tokio::time::Instant::now() < deadline, "{:?}", daemon.seen);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (code, out) = daemon.terminate().await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("stopped: cancelled"), "{out}");
    assert!(
        out.contains("stopped by a signal; what was fetched is kept"),
        "{out}"
    );
    assert_eq!(enedis.data_requests(), 4);

    // Restarted: the three answers kept are not asked again; the run finishes, sleeps
    // until the next run the core computes (the next morning, calling hours), runs again.
    let mut daemon = Daemon::start(&home, &config);
    daemon.wait_for("next run at 2024-06-21 08:").await;
    daemon.wait_for("run 2 at 2024-06-21 08:").await;
    daemon.wait_for("run 3 at 2024-06-22 08:").await;
    let (code, out) = daemon.terminate().await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("stopped by a signal"), "{out}");
    // Nothing fetched twice: the restarted first run asked exactly what a clean first run
    // asks, less the three answers the stopped one had stored.
    let first_run = out.split("run 2 at").next().unwrap();
    let asked = |text: &str| -> usize {
        ["consumption", "production", "peaks"]
            .iter()
            .map(|kind| text.matches(&format!(": {kind} 20")).count())
            .sum()
    };
    let clean = Folder::new("daemon-clean");
    let enedis = Enedis::start(Vec::new()).await;
    let config = configured(&clean, &enedis, 30, true);
    let (code, out, err) = sync_once(&clean, &config, &[]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(asked(&out), enedis.data_requests());
    assert_eq!(asked(first_run) + 3, asked(&out), "{first_run}\n---\n{out}");
}

// ---- charts ----

fn main_session_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/sessions/replay-main.json")
}

/// The SVG's rectangles of a fill colour, and its texts.
fn svg_parts(
    path: &Path,
) -> (
    std::collections::HashMap<String, usize>,
    Vec<String>,
    String,
) {
    let text = std::fs::read_to_string(path).unwrap();
    let document = roxmltree::Document::parse(&text).expect("a well-formed SVG");
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let size = format!(
        "{}x{}",
        root.attribute("width").unwrap(),
        root.attribute("height").unwrap()
    );
    let mut fills = std::collections::HashMap::new();
    let mut texts = Vec::new();
    for node in document.descendants() {
        match node.tag_name().name() {
            "rect" => {
                *fills
                    .entry(node.attribute("fill").unwrap_or("").to_owned())
                    .or_default() += 1
            }
            "text" => texts.push(node.text().unwrap_or("").trim().to_owned()),
            _ => {}
        }
    }
    (fills, texts, size)
}

/// One element of an SVG, as a chart test reads it.
#[derive(Debug, Clone)]
struct SvgNode {
    tag: String,
    x: f64,
    y: f64,
    width: f64,
    height: f64,
    fill: String,
    font_size: f64,
    text: String,
}

fn svg_nodes(path: &Path) -> Vec<SvgNode> {
    let text = std::fs::read_to_string(path).unwrap();
    let document = roxmltree::Document::parse(&text).expect("a well-formed SVG");
    let number = |node: &roxmltree::Node, name: &str| {
        node.attribute(name)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    document
        .descendants()
        .filter(|node| matches!(node.tag_name().name(), "rect" | "text"))
        .map(|node| SvgNode {
            tag: node.tag_name().name().to_owned(),
            x: number(&node, "x"),
            y: number(&node, "y"),
            width: number(&node, "width"),
            height: number(&node, "height"),
            fill: node.attribute("fill").unwrap_or("").to_owned(),
            font_size: number(&node, "font-size"),
            text: node.text().unwrap_or("").trim().to_owned(),
        })
        .collect()
}

/// A text's box, estimated (a character is at most 0.62 em wide in DejaVu Sans on average
/// over words).
fn text_box(node: &SvgNode) -> (f64, f64, f64, f64) {
    let width = node.text.chars().count() as f64 * node.font_size * 0.62;
    let left = match node.tag.as_str() {
        _ if node.x == 0.0 => 0.0,
        _ => node.x - width / 2.0,
    };
    (
        left,
        node.y - node.font_size,
        left + width,
        node.y + node.font_size,
    )
}

/// Checks what makes a chart readable at any span: the date labels (the texts on the
/// first x axis' row) never overlap, and no bar lies under a legend's text.
fn assert_readable(nodes: &[SvgNode], legend_colours: &[&str]) {
    // The date labels: centred texts at the bar chart's axis row (the row holding the
    // most texts in the upper part, under the bars).
    let mut rows: std::collections::BTreeMap<i64, Vec<&SvgNode>> = Default::default();
    for node in nodes.iter().filter(|n| n.tag == "text" && n.y < 480.0) {
        rows.entry(node.y as i64).or_default().push(node);
    }
    let (_, labels) = rows.iter().max_by_key(|(_, row)| row.len()).expect("texts");
    let mut labels = labels.clone();
    labels.sort_by(|a, b| a.x.total_cmp(&b.x));
    for pair in labels.windows(2) {
        let (a, b) = (text_box(pair[0]), text_box(pair[1]));
        assert!(
            a.2 <= b.0,
            "labels overlap: {:?} and {:?}",
            pair[0].text,
            pair[1].text
        );
    }
    // The legend's texts and the bars: no bar under a legend text.
    let legend: Vec<&SvgNode> = nodes
        .iter()
        .filter(|n| n.tag == "text" && n.text.ends_with("kWh"))
        .collect();
    assert!(!legend.is_empty(), "a legend with totals");
    let bars = nodes.iter().filter(|n| {
        n.tag == "rect"
            && legend_colours.contains(&n.fill.as_str())
            && !(n.width <= 15.0 && n.height <= 15.0)
    });
    for bar in bars {
        for text in &legend {
            let (left, top, right, bottom) = text_box(text);
            let (left, right) = (left.max(text.x), right.max(text.x + 1.0));
            let apart = bar.x + bar.width <= left
                || right <= bar.x
                || bar.y + bar.height <= top
                || bottom <= bar.y;
            assert!(
                apart,
                "the legend's {:?} covers a bar at {bar:?}",
                text.text
            );
        }
    }
}

#[test]
fn a_chart_of_a_session_in_svg_and_png_shows_its_series_and_labels() {
    let home = Folder::new("chart");
    let (svg, png) = (home.join("week.svg"), home.join("week.png"));
    let (code, out, err) = run(linky(&home)
        .args(["chart", "--lang", "fr", "--session"])
        .arg(main_session_file())
        .arg("-o")
        .arg(&svg)
        .arg("-o")
        .arg(&png));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("graphique de 7 jours écrit dans"), "{out}");
    let (fills, texts, size) = svg_parts(&svg);
    assert_eq!(size, "1200x800");
    // A week of bars: off-peak every day (blue), peak on the four working days (orange:
    // the weekend and the 11th of November, a holiday, are off-peak all day in this
    // schedule), production every day (green); plus one legend mark each.
    assert_eq!(fills.get("#3182BD"), Some(&(7 + 1)), "{fills:?}");
    assert_eq!(fills.get("#D95F0E"), Some(&(4 + 1)), "{fills:?}");
    assert_eq!(fills.get("#31A354"), Some(&(7 + 1)), "{fills:?}");
    // Shaded: Saturday the 9th, Sunday the 10th and the 11th (Armistice), and the legend.
    assert_eq!(fills.get("#EEECE4"), Some(&(3 + 1)), "{fills:?}");
    for label in [
        "Consommation",
        "Production",
        "kWh par jour",
        "kW moyens",
        "8 nov.",
        "14 nov.",
        "lun.",
        "dim.",
        "Profil moyen d'une semaine",
        "week-ends et jours fériés",
        "5,0",
    ] {
        assert!(
            texts.iter().any(|t| t == label),
            "{label:?} not in {texts:?}"
        );
    }
    // The totals per class in French, the schedule that split the days and where it
    // comes from, the usage points masked.
    for start in [
        "Heures creuses\u{a0}: ",
        "Heures pleines\u{a0}: ",
        "Production\u{a0}: ",
    ] {
        let total = texts
            .iter()
            .find(|t| t.starts_with(start) && t.ends_with(" kWh"))
            .unwrap_or_else(|| panic!("{start:?} not in {texts:?}"));
        assert!(total.contains(','), "a decimal comma: {total}");
    }
    let peak = |texts: &[String], start: &str| -> f64 {
        let text = texts.iter().find(|t| t.starts_with(start)).unwrap();
        text[start.len()..text.len() - 4]
            .replace('\u{a0}', "")
            .replace(',', ".")
            .parse()
            .unwrap()
    };
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("Heures creuses\u{a0}: 22h00-6h00")
                && t.ends_with("(la session)")),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("Énergie par jour — PDL …1234 + PDL …4123 (8 nov. 2024")),
        "{texts:?}"
    );
    assert!(
        !texts.iter().any(|t| t.contains("12345678901234")),
        "the PDL is masked: {texts:?}"
    );
    assert_readable(&svg_nodes(&svg), &["#3182BD", "#D95F0E", "#31A354"]);
    // The PNG: the same size, drawn (text and the series' colours), not blank.
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), (1200, 800));
    let channels = info.line_size / info.width as usize;
    let colours: Vec<&[u8]> = pixels[..info.buffer_size()].chunks(channels).collect();
    let white = colours.iter().filter(|c| c[..3] == [255, 255, 255]).count();
    let share = 1.0 - white as f64 / colours.len() as f64;
    assert!((0.1..0.9).contains(&share), "{share}");
    for series in [
        [0x31, 0x82, 0xbd],
        [0xd9, 0x5f, 0x0e],
        [0x31, 0xa3, 0x54],
        [0xee, 0xec, 0xe4],
    ] {
        assert!(colours.iter().any(|c| c[..3] == series), "{series:?}");
    }
    let distinct: std::collections::HashSet<&[u8]> = colours.iter().copied().collect();
    assert!(
        distinct.len() > 20,
        "text is drawn anti-aliased: {}",
        distinct.len()
    );

    // In English, the usage points in full on request.
    let (code, _, err) = run(linky(&home)
        .args(["chart", "--lang", "en", "--show-pdl", "--session"])
        .arg(main_session_file())
        .arg("-o")
        .arg(&svg));
    assert_eq!(code, 0, "{err}");
    let (_, english, _) = svg_parts(&svg);
    for label in [
        "Nov 8",
        "Mon",
        "Sun",
        "average kW",
        "kWh per day",
        "weekends and holidays",
    ] {
        assert!(
            english.iter().any(|t| t == label),
            "{label:?} not in {english:?}"
        );
    }
    assert!(
        english
            .iter()
            .any(|t| t.starts_with("Energy per day — PDL 12345678901234 + PDL 10284856584123")),
        "{english:?}"
    );
    // The same totals, written the English way.
    assert_eq!(peak(&texts, "Heures pleines\u{a0}: "), {
        let text = english
            .iter()
            .find(|t| t.starts_with("Peak hours: "))
            .unwrap();
        text["Peak hours: ".len()..text.len() - 4]
            .parse::<f64>()
            .unwrap()
    });
    // Bad requests: another format, a period without data.
    let (code, _, err) = run(linky(&home)
        .args(["chart", "--session"])
        .arg(main_session_file())
        .args(["-o", "chart.gif"]));
    assert_eq!(code, 2, "a usage error");
    assert!(err.contains("a chart is written as .svg or .png"), "{err}");
    let (code, _, err) = run(linky(&home)
        .args([
            "chart",
            "--from",
            "2020-01-01",
            "--to",
            "2020-01-31",
            "--session",
        ])
        .arg(main_session_file()));
    assert_eq!(code, 1);
    assert!(err.contains("nothing to draw"), "{err}");
}

#[test]
fn a_replay_keeps_its_state_for_a_chart_of_any_period_and_draws_its_own() {
    let home = Folder::new("chart-state");
    let state = home.join("state");
    let own = home.join("replay.svg");
    let (code, out, err) = run(linky(&home)
        .args(["replay", "--lang", "en", "--two-years", "3", "--state"])
        .arg(&state)
        .arg("--chart")
        .arg(&own));
    assert_eq!(code, 0, "{out}{err}");
    // Two years: a bar a month (25 months touched), labels thinned, none overlapping.
    let nodes = svg_nodes(&own);
    let (fills, texts, _) = svg_parts(&own);
    assert_eq!(fills.get("#3182BD"), Some(&(25 + 1)), "{fills:?}");
    assert!(
        texts.iter().any(|t| t.starts_with("Energy per month — ")),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t == "kWh per month"), "{texts:?}");
    let months = texts
        .iter()
        .filter(|t| t.len() == 6 && t.as_bytes()[3] == b' ' && t[4..].parse::<u32>().is_ok())
        .count();
    assert!(
        (6..=13).contains(&months),
        "month labels, thinned: {texts:?}"
    );
    assert_readable(&nodes, &["#3182BD", "#D95F0E", "#31A354"]);
    // No shading at that span; totals in the thousands grouped.
    assert_eq!(fills.get("#EEECE4"), None, "{fills:?}");
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("Off-peak hours: ") && t.ends_with(" kWh") && t.contains(',')),
        "{texts:?}"
    );

    // Five months of it: a bar a week, Monday first; the first week cut to the period.
    let weeks = home.join("weeks.svg");
    let (code, out, err) = run(linky(&home)
        .args(["chart", "--lang", "fr", "--pdl", "12345678901234"])
        .args(["--from", "01/01/2024", "--to", "2024-05-31", "--state"])
        .arg(&state)
        .arg("-o")
        .arg(&weeks));
    assert_eq!(code, 0, "{out}{err}");
    let (fills, texts, _) = svg_parts(&weeks);
    assert!(
        texts.iter().any(|t| t.starts_with("Énergie par semaine")),
        "{texts:?}"
    );
    // 2024-01-01 is a Monday: 21 whole weeks and a last one of five days.
    assert_eq!(fills.get("#D95F0E"), Some(&(22 + 1)), "{fills:?}");
    assert_readable(&svg_nodes(&weeks), &["#3182BD", "#D95F0E"]);

    // A month of it, from the state folder: day labels in English, thinned.
    let month = home.join("month.svg");
    let (code, out, err) = run(linky(&home)
        .args([
            "chart",
            "--lang",
            "en",
            "--pdl",
            "12345678901234",
            "--from",
            "2024-03-01",
        ])
        .args([
            "--to",
            "2024-03-31",
            "--schedule",
            linky_examples::MAIN_OFFPEAK,
            "--state",
        ])
        .arg(&state)
        .arg("-o")
        .arg(&month));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("chart of 31 days"), "{out}");
    let (fills, texts, _) = svg_parts(&month);
    assert_eq!(fills.get("#3182BD"), Some(&(31 + 1)), "{fills:?}");
    // The consumer alone: no production bars.
    assert_eq!(fills.get("#31A354"), None, "{fills:?}");
    assert!(texts.iter().any(|t| t == "Mar 1"), "{texts:?}");
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("Off-peak hours: ") && t.ends_with("(--schedule)")),
        "{texts:?}"
    );
    assert_readable(&svg_nodes(&month), &["#3182BD", "#D95F0E"]);
}

#[test]
fn a_tempo_chart_stacks_the_six_classes_by_day_colour() {
    let home = Folder::new("chart-tempo");
    // The main session's week: blue, then white on the 12th, red on the 13th.
    let colours = home.join("colours.txt");
    let mut lines = String::new();
    for day in 7..=14 {
        let colour = match day {
            12 => "white",
            13 => "red",
            _ => "blue",
        };
        lines.push_str(&format!("2024-11-{day:02};{colour}\n"));
    }
    std::fs::write(&colours, lines).unwrap();
    let svg = home.join("tempo.svg");
    let (code, out, err) = run(linky(&home)
        .args([
            "chart",
            "--lang",
            "fr",
            "--schedule",
            "22:00-06:00",
            "--colours",
        ])
        .arg(&colours)
        .arg("--session")
        .arg(main_session_file())
        .arg("-o")
        .arg(&svg));
    assert_eq!(code, 0, "{out}{err}");
    let (fills, texts, _) = svg_parts(&svg);
    // Blue peak on the five blue days (and a swatch); white and red peak once each.
    assert_eq!(fills.get("#1D4E89"), Some(&(5 + 1)), "{fills:?}");
    assert_eq!(fills.get("#808080"), Some(&(1 + 1)), "{fills:?}");
    assert_eq!(fills.get("#B2182B"), Some(&(1 + 1)), "{fills:?}");
    // Red off-peak: the 13th's evening and the 14th's night.
    assert_eq!(fills.get("#F4A582"), Some(&(2 + 1)), "{fills:?}");
    for start in ["Bleu HP\u{a0}: ", "Blanc HC\u{a0}: ", "Rouge HP\u{a0}: "] {
        assert!(
            texts.iter().any(|t| t.starts_with(start)),
            "{start:?} not in {texts:?}"
        );
    }
    // The plain classes are gone: every day had its colours.
    assert_eq!(fills.get("#D95F0E"), None, "{fills:?}");
    assert_readable(
        &svg_nodes(&svg),
        &[
            "#1D4E89", "#8FB8E6", "#808080", "#C8C8C8", "#B2182B", "#F4A582",
        ],
    );
}

// ---- costs ----

#[test]
fn costs_compare_the_offers_of_a_session_with_colours_and_an_offer_of_ones_own() {
    let home = Folder::new("costs");
    let colours = home.join("colours.txt");
    let mut lines = String::from("# the week of the main session, and the night before it\n");
    for day in 7..=14 {
        let colour = match day {
            12 => "rouge",
            13 => "white",
            _ => "blue",
        };
        lines.push_str(&format!("2024-11-{day:02};{colour}\n"));
    }
    std::fs::write(&colours, lines).unwrap();
    let mine = home.join("mine.csv");
    std::fs::write(
        &mine,
        "Cheap;base;2024-01-01;6;1.00/month;0.0100;a test offer\n",
    )
    .unwrap();
    let (code, out, err) = run(linky(&home)
        .args(["costs", "--session"])
        .arg(main_session_file())
        .arg("--colours")
        .arg(&colours)
        .arg("--prices")
        .arg(&mine));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("6 kVA, 2024-11-08 to 2024-11-14: 7 days compared\n"),
        "{out}"
    );
    // Four offers, cheapest first: one's own (1 c/kWh), then the regulated ones.
    let offers: Vec<&str> = out
        .lines()
        .skip(3)
        .take_while(|line| !line.is_empty())
        .map(|line| line.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(offers[0], "Cheap", "{out}");
    assert_eq!(offers.len(), 4, "{out}");
    assert!(offers.contains(&"Tempo") && offers.contains(&"HP/HC") && offers.contains(&"Base"));
    assert!(!out.contains("not costed"), "{out}");
    // The example's library call gives the same table (`cargo run --example costs` prints
    // it).
    let book = linky_examples::costs::price_book(&[mine.as_path()]).unwrap();
    let calendar =
        linky_examples::costs::read_colours(&std::fs::read_to_string(&colours).unwrap()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let table = runtime
        .block_on(linky_examples::session_costs(
            linky_examples::main_session(),
            6,
            Some(calendar),
            &book,
        ))
        .unwrap();
    assert_eq!(table, out);
    // Bad files: where the mistake is.
    std::fs::write(&colours, "2024-11-07;blue\n2024-11-08;green\n").unwrap();
    let (code, _, err) = run(linky(&home)
        .args(["costs", "--session"])
        .arg(main_session_file())
        .arg("--colours")
        .arg(&colours));
    assert_eq!(code, 2);
    assert!(
        err.contains("line 2, column 12: unknown colour \"green\""),
        "{err}"
    );
    std::fs::write(&mine, "Cheap;base;2024-01-01;6;1.00/month;0,01x;\n").unwrap();
    let (code, _, err) = run(linky(&home)
        .args(["costs", "--session"])
        .arg(main_session_file())
        .arg("--prices")
        .arg(&mine));
    assert_eq!(code, 2);
    assert!(
        err.contains("mine.csv: line 1, column 36: \"0,01x\" is not an amount"),
        "{err}"
    );
}

/// The CRE's own open-data file, given on the command line or in the configuration,
/// updates the bundled regulated prices: a (made-up) cheap Base row from 2024-11-01 makes
/// Base the cheapest offer of the session's week.
#[test]
fn costs_take_newer_regulated_prices_from_the_cres_open_data_file() {
    let home = Folder::new("costs-cre");
    let cre = home.join("Option_Base.csv");
    std::fs::write(
        &cre,
        "\u{feff}DATE_DEBUT;DATE_FIN;P_SOUSCRITE;PART_FIXE_HT;PART_FIXE_TTC;PART_VARIABLE_HT;PART_VARIABLE_TTC\r\n\
         01/11/2024;;6;1,00;1,20;0,0001;0,0001\r\n",
    )
    .unwrap();
    let first_offer = |out: &str| {
        out.lines()
            .nth(3)
            .and_then(|line| line.split_whitespace().next())
            .unwrap_or_default()
            .to_owned()
    };
    let (code, out, err) = run(linky(&home)
        .args(["costs", "--session"])
        .arg(main_session_file()));
    assert_eq!(code, 0, "{out}{err}");
    assert_ne!(first_offer(&out), "Base", "{out}");
    let (code, out, err) = run(linky(&home)
        .args(["costs", "--session"])
        .arg(main_session_file())
        .arg("--prices")
        .arg(&cre));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(first_offer(&out), "Base", "{out}");
    // The same through the configuration.
    std::fs::create_dir_all(home.join("config/linky")).unwrap();
    std::fs::write(
        home.join("config/linky/config.toml"),
        format!("prices = [{:?}]\n", cre.display().to_string()),
    )
    .unwrap();
    let (code, from_config, err) = run(linky(&home)
        .args(["costs", "--session"])
        .arg(main_session_file()));
    assert_eq!(code, 0, "{from_config}{err}");
    assert_eq!(from_config, out);
    // A broken file in the configuration: a usage error naming it.
    std::fs::write(
        &cre,
        "DATE_DEBUT;P_SOUSCRITE;PART_FIXE_TTC;PART_VARIABLE_TTC\n01/11/2024;6;1,20;zero\n",
    )
    .unwrap();
    let (code, _, err) = run(linky(&home)
        .args(["costs", "--session"])
        .arg(main_session_file()));
    assert_eq!(code, 2);
    assert!(
        err.contains("line 2, column 19: \"zero\" is not an amount"),
        "{err}"
    );
}

#[test]
fn costs_of_a_state_folder_use_the_colours_the_sync_kept() {
    use linky_domoticz::StateStore;
    let home = Folder::new("costs-state");
    let state = home.join("state");
    let (code, out, err) = run(linky(&home).arg("replay").arg("--state").arg(&state));
    assert_eq!(code, 0, "{out}{err}");
    let period = [
        "--pdl",
        "12345678901234",
        "--from",
        "2024-11-08",
        "--to",
        "2024-11-14",
    ];
    // No colours yet: Tempo is not costed.
    let (code, out, _) = run(linky(&home)
        .arg("costs")
        .args(period)
        .arg("--state")
        .arg(&state));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Tempo: not costed"), "{out}");
    // The colours a sync with `tempo = true` keeps in its state.
    let folder = linky_domoticz::StateDir::open(&state).unwrap();
    let mut meta = folder.load_meta().unwrap();
    for day in 7..=14 {
        let date = chrono::NaiveDate::from_ymd_opt(2024, 11, day).unwrap();
        meta.colours.set(date, linky_core::DayColour::White);
    }
    folder.save_meta(&meta).unwrap();
    let (code, out, _) = run(linky(&home)
        .arg("costs")
        .args(period)
        .arg("--state")
        .arg(&state));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("7 days compared"), "{out}");
    assert!(out.lines().any(|line| line.starts_with("Tempo ")), "{out}");
}

// ---- colours ----

/// `linky colours` reads the colours a sync kept: the day's and the next day's (said
/// provisional when learned before 11:30 the day before), the season's red and white days
/// used and left, the days it lacks; as text and as JSON.
#[test]
fn colours_show_the_day_the_next_one_and_the_seasons_days_left() {
    use linky_core::DayColour;
    use linky_domoticz::StateStore;
    let home = Folder::new("colours");
    let state = home.join("state");
    let dir = linky_domoticz::StateDir::open(&state).unwrap();
    let mut meta = linky_domoticz::SyncMeta::default();
    // The 2024-2025 season up to 2025-01-15: every fifth weekday of December red (4),
    // every Saturday white, the rest blue; 2024-10-01 unknown; the 16th white, provisional.
    let first = chrono::NaiveDate::from_ymd_opt(2024, 9, 1).unwrap();
    let last = chrono::NaiveDate::from_ymd_opt(2025, 1, 15).unwrap();
    for day in first.iter_days().take_while(|d| *d <= last) {
        use chrono::Datelike;
        let colour =
            if day.month() == 12 && day.day() % 5 == 0 && day.weekday().number_from_monday() <= 5 {
                DayColour::Red
            } else if day.weekday() == chrono::Weekday::Sat {
                DayColour::White
            } else {
                DayColour::Blue
            };
        if day != chrono::NaiveDate::from_ymd_opt(2024, 10, 1).unwrap() {
            meta.colours.set(day, colour);
        }
    }
    let next = chrono::NaiveDate::from_ymd_opt(2025, 1, 16).unwrap();
    meta.colours.set(next, DayColour::White);
    meta.provisional_colours.insert(next);
    dir.save_meta(&meta).unwrap();
    let counts = meta.colours.season_counts(last);
    let (code, out, err) = run(linky(&home)
        .args(["colours", "--date", "2025-01-15", "--state"])
        .arg(&state));
    assert_eq!(code, 0, "{out}{err}");
    let [blue, white, red] = counts;
    assert_eq!(blue + white + red, (last - first).num_days() as u32);
    assert!(
        out.starts_with(
            "Tempo on 2025-01-15: blue; on 2025-01-16: white (learned before 11:30: may still change)\n\
             season 2024-2025 (1 September to 31 August), up to 2025-01-15:\n"
        ),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "  red    {red:>3} of 22 used, {} left\n",
            22 - red
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "  white  {white:>3} of 43 used, {} left\n",
            43 - white
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("  blue   {blue:>3} of 300\n")),
        "{out}"
    );
    assert!(
        out.contains("  1 day(s) of the season without a kept colour"),
        "{out}"
    );
    // The same as JSON.
    let (code, out, _) = run(linky(&home)
        .args(["--json", "colours", "--date", "2025-01-15", "--state"])
        .arg(&state));
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["colour"], "blue");
    assert_eq!(json["next_colour"], "white");
    assert_eq!(json["next_provisional"], true);
    assert_eq!(json["season"], "2024-2025");
    assert_eq!(json["red_used"], red);
    assert_eq!(json["red_left"], 22 - red);
    assert_eq!(json["white_left"], 43 - white);
    assert_eq!(json["unknown_days"], 1);
    // A day the state knows nothing of.
    let (code, out, _) = run(linky(&home)
        .args(["colours", "--date", "2026-03-02", "--state"])
        .arg(&state));
    assert_eq!(code, 0);
    assert!(
        out.starts_with(
            "Tempo on 2026-03-02: unknown; on 2026-03-03: unknown (RTE publishes it around 11:00)\n"
        ),
        "{out}"
    );
}

/// Bad input on the command line is a usage error (2) or a failure (1) with a sentence,
/// never a panic (101): reversed and empty periods name both days; dates beyond four-digit
/// years, sizes out of range, unwritable paths and wrong PDLs are refused (issue 18).
#[test]
fn bad_arguments_are_sentences_never_panics() {
    let home = Folder::new("bad-arguments");
    let session = main_session_file();
    let session = session.to_str().unwrap();
    let state = home.join("state");
    let state = state.to_str().unwrap();
    let missing_folder = home.join("missing/chart.svg");
    let missing_folder = missing_folder.to_str().unwrap();
    let checks: &[(&[&str], i32, &str)] = &[
        (
            &[
                "chart",
                "--session",
                session,
                "--from",
                "2024-11-10",
                "--to",
                "2024-11-01",
            ],
            2,
            "--from 2024-11-10 is after --to 2024-11-01",
        ),
        (
            &[
                "costs",
                "--session",
                session,
                "--from",
                "2024-11-10",
                "--to",
                "2024-11-01",
            ],
            2,
            "--from 2024-11-10 is after --to 2024-11-01",
        ),
        (
            &[
                "chart",
                "--state",
                state,
                "--pdl",
                "22516914714270",
                "--from",
                "10/11/2024",
                "--to",
                "01/11/2024",
            ],
            2,
            "--from 2024-11-10 is after --to 2024-11-01",
        ),
        (
            &[
                "costs",
                "--state",
                state,
                "--pdl",
                "22516914714270",
                "--from",
                "2030-01-01",
                "--to",
                "2029-12-31",
            ],
            2,
            "--from 2030-01-01 is after --to 2029-12-31",
        ),
        (
            &["chart", "--session", session, "--to", "+262143-12-31"],
            2,
            "four-digit year",
        ),
        (
            &["chart", "--session", session, "--from=-0001-01-01"],
            2,
            "is not a day",
        ),
        (
            &[
                "chart",
                "--session",
                session,
                "--to",
                "9999-12-31",
                "-o",
                "x.svg",
            ],
            1,
            "nothing to draw",
        ),
        (
            &["colours", "--state", state, "--date", "31/02/2024"],
            2,
            "is not a day",
        ),
        (
            &["sync", "--now", "+99999-01-01 10:00"],
            2,
            "four-digit year",
        ),
        (&["sync", "--days", "0"], 2, "0 is not in 1..36500"),
        (&["sync", "--days", "99999999999999999999"], 2, "--days"),
        (&["sync", "--hours-days=-1"], 2, "--hours-days"),
        (&["sync", "--pdl", "123"], 2, "expected exactly 14 digits"),
        (
            &["chart", "--session", session, "--pdl", "2251691471427x"],
            2,
            "2251691471427x",
        ),
        (&["costs", "--session", session, "--kva=-3"], 2, "--kva"),
        (
            &["chart", "--session", session, "-o", "chart.jpg"],
            2,
            "a chart is written as .svg or .png",
        ),
        (
            &["replay", "--chart", "week.gif"],
            2,
            "a chart is written as .svg or .png",
        ),
        (
            &["chart", "--session", session, "-o", missing_folder],
            1,
            "does not exist",
        ),
        (&["chart", "--session", "/"], 2, "cannot read /"),
        (
            &["replay", "--session", "/dev/null"],
            2,
            "malformed session",
        ),
    ];
    for (arguments, expected, phrase) in checks {
        let (code, _, err) = run(linky(&home).current_dir(&home.0).args(*arguments));
        assert!(!err.contains("panicked"), "{arguments:?}: {err}");
        assert_eq!(code, *expected, "{arguments:?}: {err}");
        assert!(err.contains(phrase), "{arguments:?}: {err}");
    }
}

// ---- consent and unreachable gateways (issue 18) ----

/// The command in a pseudo-terminal that the test types into while it runs.
struct Terminal {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn std::io::Write + Send>,
    output: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Terminal {
    fn start(home: &Folder, arguments: &[&str]) -> Terminal {
        use portable_pty::{CommandBuilder, PtySize, native_pty_system};
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 40,
                cols: 160,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut command = CommandBuilder::new(LINKY);
        command.args(arguments);
        command.env("HOME", &home.0);
        command.env("XDG_CONFIG_HOME", home.join("config"));
        command.env("XDG_DATA_HOME", home.join("data"));
        command.env("LANG", "C");
        command.env("TERM", "xterm-256color");
        command.cwd(&home.0);
        let child = pair.slave.spawn_command(command).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let output = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = output.clone();
        std::thread::spawn(move || {
            let mut buffer = [0_u8; 4096];
            while let Ok(n) = reader.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buffer[..n]);
            }
        });
        Terminal {
            child,
            writer,
            output,
            _master: pair.master,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).replace('\r', "")
    }

    /// Waits (10 s at most) until the screen shows `text`.
    fn wait_for(&self, text: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !self.text().contains(text) {
            assert!(
                std::time::Instant::now() < deadline,
                "no {text:?} in:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types `keys` as a person would (Ctrl-C is `\x03`).
    fn type_keys(&mut self, keys: &[u8]) {
        use std::io::Write;
        self.writer.write_all(keys).unwrap();
        self.writer.flush().unwrap();
    }

    /// The exit code, within `within`.
    fn exit_code(&mut self, within: Duration) -> u32 {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The last lines, read by the collector after the process ended.
                std::thread::sleep(Duration::from_millis(100));
                return status.exit_code();
            }
            if std::time::Instant::now() > deadline {
                self.child.kill().ok();
                panic!("still running after {within:?}:\n{}", self.text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A configuration of the proxy at `url`, without consent yet.
fn proxy_at(home: &Folder, url: &str) -> PathBuf {
    let state = home.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let config = home.join("linky.toml");
    std::fs::write(
        &config,
        format!(
            "backend = \"proxy\"\nbase_url = \"{url}\"\nschedule = \"22h00-6h00\"\n\
             state = \"{}\"\n[history]\ndays = 14\nhours_days = 2\n",
            state.display()
        ),
    )
    .unwrap();
    config
}

/// During "Waiting for your consent...", Ctrl-C stops at once: 130 for a one-shot run,
/// 0 for a daemon. A refused consent and an expired code end with 3 and what to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consent_wait_stops_on_ctrl_c_and_a_refusal_exits_3() {
    let enedis = Enedis::start(Vec::new()).await;
    enedis.state.lock().unwrap().consent = enedis::Consent::Pending;
    for (daemon, expected) in [(false, 130), (true, 0)] {
        let home = Folder::new("consent-interrupted");
        let config = proxy_at(&home, &enedis.url());
        let config = config.to_str().unwrap();
        let mut arguments = vec!["--config", config, "sync"];
        if daemon {
            arguments.push("--daemon");
        }
        let mut terminal = Terminal::start(&home, &arguments);
        terminal.wait_for("Waiting for your consent");
        terminal.wait_for("WDJB-MJHT");
        let started = std::time::Instant::now();
        terminal.type_keys(b"\x03");
        let code = terminal.exit_code(Duration::from_secs(5));
        assert_eq!(code, expected, "daemon {daemon}:\n{}", terminal.text());
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        if !daemon {
            assert!(
                terminal.text().contains("interrupted"),
                "{}",
                terminal.text()
            );
        }
    }
    // Refused on the consent page: 3, and what to do.
    enedis.state.lock().unwrap().consent = enedis::Consent::Refused;
    let home = Folder::new("consent-refused");
    let config = proxy_at(&home, &enedis.url());
    let mut terminal = Terminal::start(&home, &["--config", config.to_str().unwrap(), "sync"]);
    let code = terminal.exit_code(Duration::from_secs(10));
    let text = terminal.text();
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("consent refused"), "{text}");
    assert!(
        text.contains("run `linky sync` again in a terminal"),
        "{text}"
    );
    assert!(!text.contains("enedis answered 400"), "{text}");
    // Never given before the code expires (on a clock that moves on waits): 3.
    enedis.state.lock().unwrap().consent = enedis::Consent::Pending;
    let home = Folder::new("consent-expired");
    let config = proxy_at(&home, &enedis.url());
    let mut terminal = Terminal::start(
        &home,
        &["--config", config.to_str().unwrap(), "sync", "--now", NOW],
    );
    let code = terminal.exit_code(Duration::from_secs(20));
    let text = terminal.text();
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("expired"), "{text}");
    assert!(text.contains("enter the new code"), "{text}");
    // Given: the run goes on with the usage points the proxy lists.
    enedis.state.lock().unwrap().consent = enedis::Consent::Given;
    let home = Folder::new("consent-given");
    let config = proxy_at(&home, &enedis.url());
    let mut terminal = Terminal::start(
        &home,
        &["--config", config.to_str().unwrap(), "sync", "--now", NOW],
    );
    let code = terminal.exit_code(Duration::from_secs(20));
    assert_eq!(code, 0, "{}", terminal.text());
    assert!(
        terminal.text().contains("Consent given."),
        "{}",
        terminal.text()
    );
}

/// A gateway out of reach is a retry on every backend: exit 4 with its host and the
/// cause, and a daemon goes on to its next run (issue 18).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_gateway_is_a_retry_naming_its_host_on_every_backend() {
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let url = format!("http://{address}");
    for backend in config_backends() {
        let home = Folder::new("unreachable");
        let state = home.join("state");
        std::fs::create_dir_all(&state).unwrap();
        let now = chrono::NaiveDateTime::parse_from_str(NOW, "%Y-%m-%d %H:%M").unwrap();
        let now = now.and_local_timezone(linky_core::PARIS).unwrap().to_utc();
        FileTokenStore::new(state.join("tokens.json"))
            .save(&TokenSet {
                access_token: AccessToken::new("access-0"),
                refresh_token: Some(RefreshToken::new("refresh")),
                expires_at: SystemTime::from(now) + Duration::from_secs(12_600),
                usage_points: vec![CONSUMER.to_owned()],
            })
            .unwrap();
        let config = home.join("linky.toml");
        std::fs::write(
            &config,
            format!(
                "backend = \"{backend}\"\nbase_url = \"{url}\"\nusage_points = [\"{CONSUMER}\"]\n\
                 state = \"{}\"\n[credentials]\ntoken_env = \"LINKY_TEST_TOKEN\"\n\
                 client_id = \"id\"\nclient_secret_env = \"LINKY_TEST_SECRET\"\n",
                state.display()
            ),
        )
        .unwrap();
        let (code, out, err) = run(linky(&home)
            .env("LINKY_TEST_TOKEN", "token")
            .env("LINKY_TEST_SECRET", "secret")
            .arg("--config")
            .arg(&config)
            .args(["sync", "--now", NOW]));
        let said = format!("{out}{err}");
        assert_eq!(code, 4, "{backend}: {said}");
        assert!(said.contains(&address.to_string()), "{backend}: {said}");
        assert!(said.contains("connection refused"), "{backend}: {said}");
    }
    // The proxy without consent yet, in a terminal: the device flow's first call fails.
    let home = Folder::new("unreachable-consent");
    let config = proxy_at(&home, &url);
    let config = config.to_str().unwrap();
    let mut terminal = Terminal::start(&home, &["--config", config, "sync", "--now", NOW]);
    let code = terminal.exit_code(Duration::from_secs(10));
    let text = terminal.text();
    assert_eq!(code, 4, "{text}");
    assert!(text.contains(&address.to_string()), "{text}");
    assert!(text.contains("connection refused"), "{text}");
    // The daemon does not stop: it tries again at the next run.
    let mut terminal = Terminal::start(
        &home,
        &["--config", config, "sync", "--daemon", "--now", NOW],
    );
    terminal.wait_for("run 2 at 2024-06-20 13:00");
    terminal.type_keys(b"\x03");
    assert_eq!(
        terminal.exit_code(Duration::from_secs(5)),
        0,
        "{}",
        terminal.text()
    );
}

fn config_backends() -> [&'static str; 5] {
    [
        "proxy",
        "conso-api",
        "myelectricaldata",
        "data-connect",
        "data-connect-v5",
    ]
}

/// `linky record --hide-usage-points` hides every usage point of the session, the ones in
/// the schedule's PDL sections included, consistently: the real PDLs appear nowhere in the
/// file, and the replay splits each day as the recorded run did (issue 18: the schedule
/// kept the real PDL, so the replay split by the default section).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_session_hides_every_usage_point_and_replays_the_same_split() {
    let home = Folder::new("record-hidden");
    let enedis = Enedis::start(Vec::new()).await;
    let config = configured(&home, &enedis, 7, true);
    // A schedule whose PDL section gives the consumer other hours than the default.
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "schedule = \"22h00-6h00\"",
        &format!("schedule = \"22h00-6h00 {CONSUMER} 1h00-7h00 12h00-14h00\""),
    );
    std::fs::write(&config, text).unwrap();
    let session = home.join("session.json");
    let output = tokio::process::Command::new(LINKY)
        .env("HOME", &home.0)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("LANG", "C")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .arg("--config")
        .arg(&config)
        .args(["record", "--now", NOW, "--hide-usage-points", "--output"])
        .arg(&session)
        .output()
        .await
        .unwrap();
    let recorded = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{recorded}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&session).unwrap();
    for real in [CONSUMER, PRODUCER] {
        assert!(!text.contains(real), "{real} in the session");
    }
    let info = linky_enedis::Session::from_json(text.as_bytes())
        .unwrap()
        .replay
        .unwrap();
    assert!(info.offpeak.contains("1h00-7h00"), "{}", info.offpeak);
    assert!(
        info.usage_points
            .iter()
            .all(|p| p.starts_with("0000000000000"))
    );
    // The replay prints the same day rows as the run, under the placeholders.
    let (code, replayed, err) = run(linky(&home).args(["replay", "--session"]).arg(&session));
    assert_eq!(code, 0, "{replayed}{err}");
    // Each device's day lines, by device (the placeholders sort otherwise).
    let day_lines = |text: &str| -> std::collections::BTreeSet<String> {
        let mut device = String::new();
        let mut lines = std::collections::BTreeSet::new();
        for line in text.lines() {
            if let Some(name) = line.strip_prefix("device ") {
                device = name.to_owned();
            } else if line.trim_start().starts_with("2024-06-") {
                lines.insert(format!("{device}: {}", line.trim()));
            }
        }
        lines
    };
    let mut hidden = recorded.clone();
    for (real, placeholder) in info
        .usage_points
        .iter()
        .map(|p| p.as_str())
        .zip([CONSUMER, PRODUCER])
        .map(|(placeholder, real)| (real, placeholder))
    {
        hidden = hidden.replace(real, placeholder);
    }
    assert!(!day_lines(&recorded).is_empty(), "{recorded}");
    assert_eq!(
        day_lines(&replayed),
        day_lines(&hidden),
        "{replayed}\n---\n{hidden}"
    );
}

// ---- Home Assistant (issue 22), against its stand-in ----

/// A `[home_assistant]` section is checked with lines and columns; `replay
/// --to-config-output` and `sync` write its statistics; `linky home-assistant dashboard`
/// adds them to the Energy dashboard; a wrong token is exit 2, nothing written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_assistant_from_the_configuration() {
    use linky_domoticz::HomeAssistantEmulator;
    let home = Folder::new("home-assistant");
    let emulator = HomeAssistantEmulator::start("2025.4.4").await;
    // Problems, each where it is.
    let broken = home.join("broken.toml");
    std::fs::write(
        &broken,
        "[home_assistant]\nurl = \"127.0.0.1:8123\"\nlanguage = \"de\"\n",
    )
    .unwrap();
    let (code, _, err) = run(linky(&home).args(["config", "check"]).arg(&broken));
    assert_eq!(code, 2, "{err}");
    for expected in [
        "2:7: [home_assistant] url \"127.0.0.1:8123\" must start with http:// or https://",
        "3:12: [home_assistant] language \"de\": expected fr or en",
        "[home_assistant] needs a long-lived access token",
    ] {
        assert!(err.contains(expected), "{expected:?} in {err}");
    }
    let config = home.join("linky.toml");
    let write_config = |token_variable: &str| {
        std::fs::write(
            &config,
            format!(
                "[home_assistant]\nurl = \"{}\"\ntoken_env = \"{token_variable}\"\nlanguage = \"en\"\n",
                emulator.url()
            ),
        )
        .unwrap();
    };
    write_config("LINKY_TEST_HA_TOKEN");
    let (code, out, err) = run(linky(&home)
        .env("LINKY_TEST_HA_TOKEN", emulator.token())
        .args(["config", "check"])
        .arg(&config));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("output: Home Assistant's statistics at"),
        "{out}"
    );
    // The main session's replay into it.
    let replay = tokio::process::Command::new(LINKY)
        .env("HOME", &home.0)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("LINKY_TEST_HA_TOKEN", emulator.token())
        .env("LANG", "C")
        .args(["--quiet", "--config"])
        .arg(&config)
        .args(["replay", "--to-config-output"])
        .output()
        .await
        .unwrap();
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    let names = emulator.with_state(|state| {
        state
            .statistics
            .values()
            .map(|s| s.metadata["name"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    });
    assert!(names.len() >= 8, "{names:?}");
    assert!(
        names.iter().any(|n| n.ends_with("consumption, peak hours")),
        "{names:?}"
    );
    // The Energy dashboard: the meters' statistics (not the merged device's).
    let dashboard = tokio::process::Command::new(LINKY)
        .env("HOME", &home.0)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("LINKY_TEST_HA_TOKEN", emulator.token())
        .env("LANG", "C")
        .arg("--config")
        .arg(&config)
        .args(["home-assistant", "dashboard"])
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&dashboard.stdout).into_owned();
    assert!(
        dashboard.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&dashboard.stderr)
    );
    assert!(said.contains("grid consumption linky:"), "{said}");
    assert!(said.contains("return to grid linky:"), "{said}");
    let prefs = emulator.with_state(|state| state.prefs.clone()).unwrap();
    let grid = &prefs["energy_sources"][0];
    assert_eq!(grid["type"], "grid", "{prefs}");
    assert!(!grid["flow_from"].as_array().unwrap().is_empty(), "{prefs}");
    // A wrong token: exit 2, nothing written.
    let other = HomeAssistantEmulator::start("2025.4.4").await;
    std::fs::write(
        &config,
        format!(
            "[home_assistant]\nurl = \"{}\"\ntoken_env = \"LINKY_TEST_HA_TOKEN\"\n",
            other.url()
        ),
    )
    .unwrap();
    let enedis = Enedis::start(Vec::new()).await;
    let synced = configured(&home, &enedis, 14, true);
    let mut text = std::fs::read_to_string(&synced).unwrap();
    text.push_str(&format!(
        "[home_assistant]\nurl = \"{}\"\ntoken_env = \"LINKY_TEST_HA_TOKEN\"\n",
        other.url()
    ));
    std::fs::write(&synced, text).unwrap();
    let wrong = tokio::process::Command::new(LINKY)
        .env("HOME", &home.0)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("LINKY_TEST_HA_TOKEN", "revoked")
        .env("LANG", "C")
        .stdin(Stdio::null())
        .arg("--config")
        .arg(&synced)
        .args(["sync", "--now", NOW])
        .output()
        .await
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&wrong.stdout),
        String::from_utf8_lossy(&wrong.stderr)
    );
    assert_eq!(wrong.status.code(), Some(2), "{said}");
    assert!(said.contains("refused the credentials"), "{said}");
    assert!(other.with_state(|state| state.statistics.is_empty()));
}

#[test]
fn costs_show_the_kwh_of_each_class_and_name_a_missing_tempo_day_in_french_or_english() {
    let home = Folder::new("costs-classes");
    // The main session's week with the 10th's colour missing: the 10th cannot be costed
    // (its own colour), nor the 11th (its night takes the 10th's colour).
    let colours = home.join("colours.txt");
    let mut lines = String::new();
    for day in (7..=14).filter(|day| *day != 10) {
        lines.push_str(&format!("2024-11-{day:02};blue\n"));
    }
    std::fs::write(&colours, lines).unwrap();
    let (code, out, err) = run(linky(&home)
        .args(["costs", "--schedule", "22:00-06:00", "--colours"])
        .arg(&colours)
        .arg("--session")
        .arg(main_session_file()));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("5 days compared"), "{out}");
    assert!(
        out.contains("\noff-peak hours: 22:00-06:00 (--schedule)\n"),
        "{out}"
    );
    assert!(
        out.contains("left out: 1 day (the Tempo colour of 2024-11-10 is not known)\n"),
        "{out}"
    );
    assert!(
        out.contains("left out: 1 day (the Tempo colour of 2024-11-10 is not known: the next day's night, to 06:00, takes the day before's colour)\n"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "the colours known ({}) run from 2024-11-07 to 2024-11-14",
            colours.display()
        )),
        "{out}"
    );
    // Per class: the kWh beside the euros; Base's kWh are HP/HC's two classes summed and
    // Tempo's six.
    let class_rows: Vec<Vec<String>> = out
        .lines()
        .skip_while(|line| !line.starts_with("offer          class"))
        .skip(1)
        .take_while(|line| !line.is_empty())
        .map(|line| {
            line.split("  ")
                .map(str::trim)
                .filter(|cell| !cell.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .collect();
    assert_eq!(class_rows.len(), 1 + 2 + 6, "{out}");
    let kwh = |row: &Vec<String>| -> f64 { row[row.len() - 2].parse().unwrap() };
    let base = class_rows.iter().find(|row| row[0] == "Base").unwrap();
    let hphc = class_rows.iter().position(|row| row[0] == "HP/HC").unwrap();
    let tempo = class_rows.iter().position(|row| row[0] == "Tempo").unwrap();
    let hphc_sum = kwh(&class_rows[hphc]) + kwh(&class_rows[hphc + 1]);
    assert!((kwh(base) - hphc_sum).abs() < 0.11, "{out}");
    let tempo_sum: f64 = class_rows[tempo..tempo + 6].iter().map(kwh).sum();
    assert!((kwh(base) - tempo_sum).abs() < 0.31, "{out}");
    assert!(
        class_rows
            .iter()
            .all(|row| row.last().unwrap().ends_with(" €")),
        "{out}"
    );

    // In French: the same table, French words, days and numbers.
    let (code, french, err) = run(linky(&home)
        .args([
            "costs",
            "--lang",
            "fr",
            "--schedule",
            "22:00-06:00",
            "--colours",
        ])
        .arg(&colours)
        .arg("--session")
        .arg(main_session_file()));
    assert_eq!(code, 0, "{french}{err}");
    assert!(
        french.starts_with("6 kVA, du 08/11/2024 au 14/11/2024\u{a0}: 5 jours comparés\n"),
        "{french}"
    );
    assert!(
        french.contains("\nheures creuses\u{a0}: 22:00-06:00 (--schedule)\n"),
        "{french}"
    );
    assert!(
        french.contains("écarté : 1 jour (la couleur Tempo du 10/11/2024 n'est pas connue)"),
        "{french}"
    );
    assert!(french.contains("offre          classe"), "{french}");
    assert!(french.contains("bleu HP"), "{french}");
    let base_fr = french
        .lines()
        .find(|line| line.starts_with("Base           Base"))
        .unwrap();
    assert!(
        base_fr.contains(',') && base_fr.ends_with(" €"),
        "{base_fr}"
    );
    // LC_ALL in French is enough.
    let (_, from_locale, _) = run(linky(&home)
        .env("LC_ALL", "fr_FR.UTF-8")
        .args(["costs", "--schedule", "22:00-06:00", "--colours"])
        .arg(&colours)
        .arg("--session")
        .arg(main_session_file()));
    assert_eq!(from_locale, french);
}

#[test]
fn a_session_without_a_schedule_is_charted_with_the_configurations() {
    let home = Folder::new("chart-config-schedule");
    let session = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/sessions/client0-complete-60-days.json");
    let svg = home.join("c.svg");
    // No schedule anywhere: every hour is a peak hour, and the chart says so.
    let (code, out, err) = run(linky(&home)
        .args(["chart", "--session"])
        .arg(&session)
        .arg("-o")
        .arg(&svg));
    assert_eq!(code, 0, "{out}{err}");
    let (fills, texts, _) = svg_parts(&svg);
    assert!(
        texts.contains(&"Off-peak hours: none: every hour counts as a peak hour".to_owned()),
        "{texts:?}"
    );
    assert_eq!(fills.get("#3182BD"), None, "no off-peak bar: {fills:?}");
    // The configuration's schedule, when the session has none.
    std::fs::create_dir_all(home.join("config/linky")).unwrap();
    std::fs::write(
        home.join("config/linky/config.toml"),
        "schedule = \"22:00-06:00\"\n",
    )
    .unwrap();
    let (code, out, err) = run(linky(&home)
        .args(["chart", "--session"])
        .arg(&session)
        .arg("-o")
        .arg(&svg));
    assert_eq!(code, 0, "{out}{err}");
    let (fills, texts, _) = svg_parts(&svg);
    assert!(
        texts.contains(&"Off-peak hours: 22:00-06:00 (the configuration)".to_owned()),
        "{texts:?}"
    );
    assert_eq!(fills.get("#3182BD"), Some(&(60 + 1)), "{fills:?}");
    // And the comparison says the same.
    let (code, out, err) = run(linky(&home).args(["costs", "--session"]).arg(&session));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("\noff-peak hours: 22:00-06:00 (the configuration)\n"),
        "{out}"
    );
}

#[test]
fn the_command_speaks_french_with_a_french_locale_or_lang_fr() {
    let home = Folder::new("french");
    let state = home.join("state");
    let french = |home: &Folder| {
        let mut command = linky(home);
        command.env("LC_ALL", "fr_FR.UTF-8");
        command
    };
    // The replay: tables, closing lines and summary.
    let (code, out, err) = run(french(&home).args(["replay", "--state"]).arg(&state));
    assert_eq!(code, 0, "{out}{err}");
    for said in [
        "appareil 12345678901234\n",
        "  2024-11-08      12,851       3,575           0,000\n",
        "tableau de bord\u{a0}: U1 12,547 kWh",
        "échanges rejoués (dont une erreur de quota, retentée par le client)",
        "résultat : succès (enregistré : succès)\n",
        "6 requêtes traitées ; succès\n",
        "prochaine exécution\u{a0}: 2024-11-16 08:17:00\n",
    ] {
        assert!(out.contains(said), "{said:?} not in\n{out}");
    }
    // The same replay in English with LANG=C, and --lang en over a French locale.
    let (_, english, _) = run(linky(&home).arg("replay"));
    let (_, forced, _) = run(french(&home).args(["--lang", "en", "replay"]));
    assert_eq!(english, forced);
    assert!(
        english.contains("6 requests answered; success\n"),
        "{english}"
    );
    // explain, status, colours.
    let (code, out, _) = run(french(&home).args(["explain", "22:00-06:00 sa 0h-24h di 0h-24h"]));
    assert_eq!(code, 0);
    for said in [
        "forme canonique\u{a0}: 22:00-06:00",
        "consommation de tout autre PDL : la section par défaut, sa partie consommation\n",
        "  lun.  00:00-06:00 22:00-24:00\n",
        "  sam.  00:00-24:00 (toute la journée)\n",
        "  fériés  comme leur jour de semaine\n",
        "attention : samedi, dimanche ont 24h00 d'heures creuses",
    ] {
        assert!(out.contains(said), "{said:?} not in\n{out}");
    }
    let (code, out, _) = run(french(&home).args(["status", "--state"]).arg(&state));
    assert_eq!(code, 0, "{out}");
    for said in [
        "point de livraison 12345678901234\n",
        "  consommation 7 jours du 2024-11-08 au 2024-11-14, aucun trou\n",
        "aucune (Enedis : le compteur n'a pas ces données)",
        "consentement\u{a0}: aucun jeton gardé",
    ] {
        assert!(out.contains(said), "{said:?} not in\n{out}");
    }
    let (code, out, _) = run(french(&home)
        .args(["colours", "--date", "2024-11-10", "--state"])
        .arg(&state));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("Tempo le 2024-11-10 : inconnue ; le 2024-11-11 : inconnue"),
        "{out}"
    );
    assert!(
        out.contains("saison 2024-2025 (1er septembre au 31 août)"),
        "{out}"
    );
    // The common errors.
    let (code, _, err) = run(french(&home)
        .args([
            "chart",
            "--from",
            "2030-01-01",
            "--to",
            "2030-01-31",
            "--state",
        ])
        .arg(&state));
    assert_eq!(code, 1);
    assert!(
        err.starts_with("erreur\u{a0}: aucune donnée du 2030-01-01 au 2030-01-31"),
        "{err}"
    );
    let (code, _, err) = run(french(&home)
        .args([
            "costs",
            "--from",
            "2024-11-14",
            "--to",
            "2024-11-01",
            "--state",
        ])
        .arg(&state));
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "erreur\u{a0}: la période est vide : --from 2024-11-14 est après --to 2024-11-01"
        ),
        "{err}"
    );
    let empty = home.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (code, _, err) = run(french(&home).args(["chart", "--state"]).arg(&empty));
    assert_eq!(code, 2);
    assert!(
        err.contains("ne contient encore aucun relevé : lancez d'abord `linky sync`"),
        "{err}"
    );
    // --help stays English.
    let (_, help, _) = run(french(&home).args(["chart", "--help"]));
    assert!(help.contains("Usage: linky chart"), "{help}");
}

/// A consent that lists no usage point (the proxy's token answer had none): the run
/// cannot go on without consent, and says so with exit 3, as a lost consent does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consent_that_lists_no_usage_point_exits_3() {
    let home = Folder::new("exit-no-usage-point");
    let enedis = Enedis::start(Vec::new()).await;
    let config = configured(&home, &enedis, 14, false);
    let now = chrono::NaiveDateTime::parse_from_str(NOW, "%Y-%m-%d %H:%M").unwrap();
    let now = now.and_local_timezone(linky_core::PARIS).unwrap().to_utc();
    FileTokenStore::new(home.join("state").join("tokens.json"))
        .save(&TokenSet {
            access_token: AccessToken::new("access-0"),
            refresh_token: Some(RefreshToken::new("refresh")),
            expires_at: SystemTime::from(now) + Duration::from_secs(12_600),
            usage_points: Vec::new(),
        })
        .unwrap();
    let (code, out, err) = sync_once(&home, &config, &[]).await;
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        format!("{out}{err}").contains("lists no usage point yet"),
        "{out}{err}"
    );
    assert_eq!(enedis.data_requests(), 0);
}
