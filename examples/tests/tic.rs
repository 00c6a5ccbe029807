//! The meter's own output end to end: the serial reader on pseudo-terminals streaming
//! frames at the real baud rate (noise, flipped bits, cut frames, EOT, the port closed and
//! reopened), the bundled captures, and `linky tic` as a person runs it: one frame as a
//! table or JSON, a capture replayed into Domoticz (the meter's hours) and MQTT.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use linky_domoticz::DomoticzEmulator;
use linky_enedis::tic::{
    MeterFrame, PortEvent, PortSettings, TicCapture, TicMode, TicReader,
    simulated::{self, SimulatedMeter, SimulatedOption},
};
use portable_pty::{PtySize, native_pty_system};

const LINKY: &str = env!("CARGO_BIN_EXE_linky");
static FOLDERS: AtomicUsize = AtomicUsize::new(0);

struct Folder(PathBuf);

impl Folder {
    fn new(name: &str) -> Folder {
        let path = std::env::temp_dir().join(format!(
            "linky-tic-{name}-{}-{}",
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

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/tic")
        .join(name)
}

#[test]
fn the_bundled_captures_are_the_generated_ones() {
    for (name, capture) in simulated::bundled_captures() {
        let text =
            std::fs::read_to_string(testdata(name)).unwrap_or_else(|_| panic!("{name} is bundled"));
        assert!(
            text == capture.to_text(),
            "{name} differs from the code: run `cargo run --example make_tic_captures`"
        );
    }
}

#[test]
fn one_frame_as_a_table_or_json_from_every_bundled_capture() {
    let home = Folder::new("once");
    for (name, _) in simulated::bundled_captures() {
        let path = testdata(name);
        let (code, out, err) = run(linky(&home)
            .args(["tic", "--fast", "--once", "--replay"])
            .arg(&path));
        assert_eq!(code, 0, "{name}: {err}");
        assert!(
            out.contains("meter           041876543210"),
            "{name}: {out}"
        );
        let (code, out, err) = run(linky(&home)
            .args(["--json", "tic", "--fast", "--once", "--replay"])
            .arg(&path));
        assert_eq!(code, 0, "{name}: {err}");
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(json["meter"], "041876543210");
        assert!(json["indexes_wh"].is_object(), "{name}: {out}");
        let expected_mode = if name.starts_with("historic") {
            "historic"
        } else {
            "standard"
        };
        assert_eq!(json["mode"], expected_mode);
    }
}

#[test]
fn a_noisy_capture_is_read_with_its_faults_counted() {
    let home = Folder::new("noisy");
    let (code, _, err) = run(linky(&home)
        .args(["tic", "--fast", "--replay"])
        .arg(testdata("standard-noisy.tic")));
    assert_eq!(code, 0, "{err}");
    // 12 frames: one cut, one interrupted by EOT, one with a flipped bit (one group
    // dropped), one with its parity bits set (read all the same).
    assert!(err.contains("10 frames"), "{err}");
    assert!(err.contains("1 bad checksums"), "{err}");
}

#[test]
fn bad_arguments_and_bad_captures_are_sentences() {
    let home = Folder::new("bad");
    let (code, _, err) = run(linky(&home).args(["tic"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--port"), "{err}");
    let broken = home.join("broken.tic");
    std::fs::write(&broken, "# linky tic capture 1\n0 02zz\n").unwrap();
    let (code, _, err) = run(linky(&home).args(["tic", "--replay"]).arg(&broken));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("line 2"), "{err}");
    let (code, _, err) = run(linky(&home)
        .args(["tic", "--replay"])
        .arg(home.join("missing.tic")));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot read"), "{err}");
    let (code, _, err) = run(linky(&home)
        .args(["tic", "--fast", "--once", "--pdl", "123", "--replay"])
        .arg(testdata("standard-base.tic")));
    assert_eq!(code, 2, "{err}");
}

/// A standard-mode HP/HC meter over two hours and ten minutes (a frame every 10 s),
/// replayed into a Domoticz stand-in: the meter's own hours, as the P1 meter's short log
/// takes them (running totals), before Enedis publishes them.
#[test]
fn a_replay_writes_the_meters_own_hours_to_domoticz() {
    let home = Folder::new("hours");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let domoticz = runtime.block_on(DomoticzEmulator::start("2025.1"));
    let mut meter = SimulatedMeter::new(TicMode::Standard, SimulatedOption::PeakOffPeak);
    // 20:59:50 local: peak hours until 22:00, then off-peak.
    let start = Utc.with_ymd_and_hms(2026, 1, 15, 19, 59, 50).unwrap();
    let capture = simulated::capture(&mut meter, start, 2 * 3600 + 600, 10, |_| (1_800, 0));
    let path = home.join("evening.tic");
    std::fs::write(&path, capture.to_text()).unwrap();
    let config = home.join("config.toml");
    std::fs::write(
        &config,
        format!("[domoticz]\nurl = \"{}\"\n", domoticz.uri()),
    )
    .unwrap();
    let (code, _, err) = run(linky(&home)
        .arg("--config")
        .arg(&config)
        .args(["tic", "--fast", "--pdl", "22516914714270", "--replay"])
        .arg(&path));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("2 hours written"), "{err}");
    let short_log = domoticz.with_state(|state| state.short_log.clone());
    let rows: Vec<(String, [i64; 4])> = short_log
        .into_iter()
        .map(|((_, at), counters)| (at, counters))
        .collect();
    // The hours ending 22:00 (peak) and 23:00 (off-peak), 1.8 kWh each, as counters.
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows[0].0.starts_with("2026-01-15 22:00"), "{rows:?}");
    assert_eq!(rows[0].1, [1_800, 0, 0, 0]);
    assert!(rows[1].0.starts_with("2026-01-15 23:00"), "{rows:?}");
    assert_eq!(rows[1].1, [1_800, 1_800, 0, 0]);
}

/// The meter's hours kept as `linky tic` reads, then compared hour by hour with Enedis'
/// curve once a sync has it (here: the state's curve written through the public
/// `StateStore` API, one half-hour 200 W above the meter's): `linky tic --compare` says
/// each hour and the totals, in a table or JSON; before Enedis has the hours, it says so.
#[test]
fn the_meters_hours_are_compared_with_enedis_curve_hour_by_hour() {
    use linky_domoticz::{StateDir, StateStore};
    let home = Folder::new("compare");
    let mut meter = SimulatedMeter::new(TicMode::Standard, SimulatedOption::PeakOffPeak);
    let start = Utc.with_ymd_and_hms(2026, 1, 15, 19, 59, 50).unwrap();
    let capture = simulated::capture(&mut meter, start, 2 * 3600 + 600, 10, |_| (1_800, 0));
    let path = home.join("evening.tic");
    std::fs::write(&path, capture.to_text()).unwrap();
    let state = home.join("state");
    let config = home.join("config.toml");
    std::fs::write(&config, format!("state = \"{}\"\n", state.display())).unwrap();
    let pdl = "22516914714270";
    let (code, _, err) = run(linky(&home)
        .arg("--config")
        .arg(&config)
        .args(["tic", "--fast", "--pdl", pdl, "--replay"])
        .arg(&path));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("2 kept for --compare"), "{err}");
    let compare = |json: bool| {
        let mut command = linky(&home);
        command.arg("--config").arg(&config);
        if json {
            command.arg("--json");
        }
        run(command.args(["tic", "--compare", "--pdl", pdl]))
    };
    // Enedis has not published yet.
    let (code, _, err) = compare(false);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("nothing to compare yet: 2 meter hours"),
        "{err}"
    );
    // The sync brings the curve: 1800 W all evening, but 2000 W from 22:30 to 23:00.
    let store = StateDir::open(&state).unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
    let readings: Vec<linky_core::Reading> = (1..=48)
        .map(|half| {
            let end = day.and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::minutes(30 * half);
            let watts = if end == day.and_hms_opt(23, 0, 0).unwrap() {
                2_000
            } else {
                1_800
            };
            linky_core::Reading {
                end,
                length_minutes: 30,
                power: linky_core::Power::from_watts(watts),
            }
        })
        .collect();
    store
        .store_curve(
            pdl,
            linky_core::Flow::Consumption,
            day,
            day.succ_opt().unwrap(),
            &readings,
        )
        .unwrap();
    let (code, out, err) = compare(false);
    assert_eq!(code, 0, "{err}");
    let line = |hour: &str| {
        out.lines()
            .find(|line| line.starts_with(hour))
            .unwrap_or_else(|| panic!("no {hour} in {out}"))
            .split_whitespace()
            .skip(2)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        line("2026-01-15 22:00"),
        ["1800.0", "1800.0", "+0.0"],
        "{out}"
    );
    assert_eq!(
        line("2026-01-15 23:00"),
        ["1800.0", "1900.0", "+100.0"],
        "{out}"
    );
    assert!(
        out.contains(
            "2 hours compared: the meter 3600.0 Wh, Enedis 3700.0 Wh, difference +100.0 Wh"
        ),
        "{out}"
    );
    let (code, out, err) = compare(true);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(json["hours"][1]["difference_wh"], 100.0, "{json}");
    assert_eq!(
        json["hours"][1]["end"], "2026-01-15T22:00:00+00:00",
        "{json}"
    );
    // Another usage point has no meter hours: a sentence, exit 1.
    let (code, _, err) = run(linky(&home).arg("--config").arg(&config).args([
        "tic",
        "--compare",
        "--pdl",
        "10284856584123",
    ]));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("no meter hours kept for 10284856584123"),
        "{err}"
    );
    // A line cut by a crash is skipped and said.
    let journal = state.join("meter-hours").join(format!("{pdl}.csv"));
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap();
    file.write_all(b"2026-01-16T00:00:00Z,1080").unwrap();
    let (code, _, err) = compare(false);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("1 line(s) of the meter's hours could not be read"),
        "{err}"
    );
}

/// A pseudo-terminal playing a TIC module: its slave reached through a link (as
/// `/dev/serial/by-id/...`), bytes written at the line's pace.
struct FakeModule {
    _master: Box<dyn portable_pty::MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    _slave: Box<dyn portable_pty::SlavePty + Send>,
}

impl FakeModule {
    fn plug(link: &Path) -> FakeModule {
        let pair = native_pty_system().openpty(PtySize::default()).unwrap();
        let name = pair.master.tty_name().expect("a pty name");
        let _ = std::fs::remove_file(link);
        std::os::unix::fs::symlink(&name, link).unwrap();
        let writer = pair.master.take_writer().unwrap();
        FakeModule {
            _master: pair.master,
            writer,
            _slave: pair.slave,
        }
    }

    /// Writes `bytes` as a line at `baud` (10 bits a character) would carry them.
    fn send(&mut self, bytes: &[u8], baud: u32) {
        let per_chunk = Duration::from_secs_f64(32.0 * 10.0 / f64::from(baud));
        for chunk in bytes.chunks(32) {
            self.writer.write_all(chunk).unwrap();
            self.writer.flush().unwrap();
            std::thread::sleep(per_chunk);
        }
    }
}

fn next_event(
    reader: &mut TicReader,
    runtime: &tokio::runtime::Runtime,
    within: Duration,
) -> Option<PortEvent> {
    runtime.block_on(async {
        tokio::time::timeout(within, reader.next())
            .await
            .ok()
            .flatten()
    })
}

/// Frames at 9600 baud with what real lines add, then the module unplugged and plugged
/// again: the reader reads every good frame, drops what is damaged, says the port was
/// lost, opens it again by its link, and goes on.
#[test]
fn the_serial_reader_on_a_pseudo_terminal_survives_noise_and_unplugging() {
    let folder = Folder::new("pty");
    let link = folder.join("ttyLINKY");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut module = FakeModule::plug(&link);
    let mut settings = PortSettings::new(&link);
    settings.reopen_after = Duration::from_millis(200);
    settings.record = true;
    let clock: Arc<dyn linky_core::Clock> = Arc::new(linky_enedis::SystemClock);
    let mut reader = TicReader::spawn(settings, clock);
    assert!(matches!(
        next_event(&mut reader, &runtime, Duration::from_secs(5)),
        Some(PortEvent::Opened { baud: 9600 })
    ));
    let mut meter = SimulatedMeter::new(TicMode::Standard, SimulatedOption::Tempo);
    let start = Utc.with_ymd_and_hms(2026, 1, 15, 9, 0, 0).unwrap();
    let mut frame_at =
        |second: i64| meter.frame(start + chrono::Duration::seconds(second), 2_000, 0);
    // Noise, a good frame, a flipped bit, a cut frame, EOT in the middle, parity bits.
    let mut stream = b"\x55\xaa noise \x0a\x0d".to_vec();
    stream.extend(frame_at(0));
    let mut flipped = frame_at(1);
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x02;
    stream.extend(flipped);
    stream.extend(&frame_at(2)[..300]);
    let mut interrupted = frame_at(3);
    interrupted.truncate(400);
    interrupted.push(0x04);
    stream.extend(interrupted);
    stream.extend(frame_at(4).iter().map(|b| b | 0x80));
    module.send(&stream, 9600);
    let mut frames = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while frames.len() < 3 && Instant::now() < deadline {
        if let Some(PortEvent::Frame { frame, .. }) =
            next_event(&mut reader, &runtime, Duration::from_secs(2))
        {
            frames.push(frame);
        }
    }
    let groups: Vec<usize> = frames.iter().map(|frame| frame.groups.len()).collect();
    assert_eq!(groups.len(), 3, "{groups:?}");
    assert_eq!(
        groups[1] + 1,
        groups[0],
        "the flipped bit costs one group: {groups:?}"
    );
    assert_eq!(groups[2], groups[0], "parity bits are masked");
    // Unplugged: the reader says so, and opens the link again once it points to a port.
    drop(module);
    let mut lost = false;
    while let Some(event) = next_event(&mut reader, &runtime, Duration::from_secs(5)) {
        if matches!(event, PortEvent::Lost { .. }) {
            lost = true;
            break;
        }
    }
    assert!(lost, "the reader noticed the unplugging");
    let mut module = FakeModule::plug(&link);
    let mut reopened = false;
    while let Some(event) = next_event(&mut reader, &runtime, Duration::from_secs(10)) {
        if matches!(event, PortEvent::Opened { .. }) {
            reopened = true;
            break;
        }
    }
    assert!(reopened, "opened again");
    module.send(&frame_at(5), 9600);
    let frame = loop {
        match next_event(&mut reader, &runtime, Duration::from_secs(5)) {
            Some(PortEvent::Frame { frame, .. }) => break frame,
            Some(_) => continue,
            None => panic!("no frame after plugging again"),
        }
    };
    let meter_frame = MeterFrame::from_frame(&frame);
    assert!(meter_frame.class_indexes().is_some());
    let counters = reader.counters();
    assert_eq!(counters.bad_checksums, 1, "{counters:?}");
    assert!(
        counters.interrupted_frames >= 1 && counters.cut_frames >= 1,
        "{counters:?}"
    );
    // The raw capture holds what came, parity bits included.
    let capture: TicCapture = reader.capture();
    assert!(capture.bytes().iter().any(|b| *b >= 0x80));
    reader.stop();
}

/// A historic meter at 1200 baud, read with the auto mode: the groups say their mode.
/// A module plugged at a fresh link, a reader opened on it, `bytes` sent at `baud`'s pace:
/// the mode the reader detected and the first frame it read (each event awaited at most
/// `wait`).
fn first_frame_from_a_module(
    name: &str,
    bytes: &[u8],
    baud: u32,
    wait: Duration,
) -> (Option<TicMode>, linky_enedis::tic::Frame) {
    let folder = Folder::new(name);
    let link = folder.join("ttyLINKY");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut module = FakeModule::plug(&link);
    let clock: Arc<dyn linky_core::Clock> = Arc::new(linky_enedis::SystemClock);
    let mut reader = TicReader::spawn(PortSettings::new(&link), clock);
    assert!(matches!(
        next_event(&mut reader, &runtime, Duration::from_secs(5)),
        Some(PortEvent::Opened { .. })
    ));
    module.send(bytes, baud);
    let mut detected = None;
    let frame = loop {
        match next_event(&mut reader, &runtime, wait) {
            Some(PortEvent::ModeDetected(mode)) => detected = Some(mode),
            Some(PortEvent::Frame { frame, .. }) => break frame,
            Some(_) => {}
            None => panic!("{name}: no frame"),
        }
    };
    reader.stop();
    (detected, frame)
}

#[test]
fn a_historic_meter_at_1200_baud_is_detected() {
    let (detected, frame) = first_frame_from_a_module(
        "pty-historic",
        &simulated::historic_peak_off_peak_example(),
        1200,
        Duration::from_secs(5),
    );
    assert_eq!(detected, Some(TicMode::Historic));
    assert_eq!(frame.groups.len(), 11);
}

/// Three-phase meters (and, in standard mode, a producer) streamed through a
/// pseudo-terminal at their line's pace, each mode detected: every phase's current, the
/// injected index and power come out typed.
#[test]
fn three_phase_and_producer_meters_through_a_pseudo_terminal() {
    for (mode, baud) in [(TicMode::Standard, 9600), (TicMode::Historic, 1200)] {
        let mut meter = SimulatedMeter::new(mode, SimulatedOption::PeakOffPeak);
        meter.three_phase = true;
        meter.producer = mode == TicMode::Standard;
        let at = Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap();
        let mut bytes = meter.frame(at, 6_900, 1_500);
        bytes.extend(meter.frame(at + chrono::Duration::seconds(2), 6_900, 1_500));
        let (detected, frame) =
            first_frame_from_a_module("pty-three-phase", &bytes, baud, Duration::from_secs(10));
        assert_eq!(detected, Some(mode));
        let meter_frame = MeterFrame::from_frame(&frame);
        assert!(meter_frame.errors.is_empty(), "{mode:?}: {meter_frame:?}");
        assert!(
            meter_frame.currents.iter().all(Option::is_some),
            "{mode:?}: every phase's current: {meter_frame:?}"
        );
        if mode == TicMode::Standard {
            assert!(meter_frame.indexes.injected.is_some(), "{meter_frame:?}");
            assert!(meter_frame.injected_power.is_some(), "{meter_frame:?}");
            assert!(
                meter_frame.voltages.iter().all(Option::is_some),
                "{meter_frame:?}"
            );
        }
    }
}

/// `linky tic --port` as a daemon: frames read from a module, SIGTERM stops it cleanly
/// (exit 0), and `--record` saves what the port gave as a capture that replays.
#[test]
fn the_daemon_stops_on_a_signal_and_saves_its_capture() {
    let home = Folder::new("daemon");
    let link = home.join("ttyLINKY");
    let mut module = FakeModule::plug(&link);
    let record = home.join("recorded.tic");
    let child = linky(&home)
        .args(["tic", "--port"])
        .arg(&link)
        .arg("--record")
        .arg(&record)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Give it the time to open the port, then two frames.
    std::thread::sleep(Duration::from_millis(800));
    let mut meter = SimulatedMeter::new(TicMode::Historic, SimulatedOption::Base);
    let start = Utc.with_ymd_and_hms(2026, 1, 15, 9, 0, 0).unwrap();
    for second in 0..2 {
        module.send(
            &meter.frame(start + chrono::Duration::seconds(second * 2), 900, 0),
            9600,
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(err.contains("open at 9600 baud"), "{err}");
    assert!(
        err.contains("2 frames") && err.contains("stopped by a signal"),
        "{err}"
    );
    let (code, out, err) = run(linky(&home)
        .args(["tic", "--fast", "--once", "--replay"])
        .arg(&record));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("index base"), "{out}");
}
