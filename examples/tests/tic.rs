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
#[test]
fn a_historic_meter_at_1200_baud_is_detected() {
    let folder = Folder::new("pty-historic");
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
    module.send(&simulated::historic_peak_off_peak_example(), 1200);
    let mut detected = None;
    let mut frame = None;
    while frame.is_none() {
        match next_event(&mut reader, &runtime, Duration::from_secs(5)) {
            Some(PortEvent::ModeDetected(mode)) => detected = Some(mode),
            Some(PortEvent::Frame { frame: f, .. }) => frame = Some(f),
            Some(_) => {}
            None => panic!("no frame"),
        }
    }
    assert_eq!(detected, Some(TicMode::Historic));
    assert_eq!(frame.unwrap().groups.len(), 11);
    reader.stop();
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
