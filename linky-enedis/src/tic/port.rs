//! The TIC serial reader: a port opened 7E1, read on a thread of its own, decoded,
//! reopened when the dongle comes back.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use linky_core::Clock;
use tokio::sync::mpsc;

use super::{Frame, ModeSetting, TicCapture, TicCounters, TicDecoder, TicMode};

/// How [`TicReader`] reads a port.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PortSettings {
    /// The port (`/dev/ttyUSB0`, or a stable symlink such as `/dev/serial/by-id/...`:
    /// it is opened again by this path after the dongle comes back).
    pub path: PathBuf,
    /// Which mode to read ([`ModeSetting::Auto`]: 9600 baud first, 1200 when nothing
    /// valid came for [`PortSettings::detect_after`]).
    pub mode: ModeSetting,
    /// How long without a valid group before trying the other speed (auto mode), or
    /// reporting silence (fixed mode).
    pub detect_after: Duration,
    /// The first wait before reopening a port that went away (doubling to
    /// [`PortSettings::reopen_at_most`]).
    pub reopen_after: Duration,
    /// The longest wait before reopening.
    pub reopen_at_most: Duration,
    /// Keep a raw capture of everything read (see [`TicReader::capture`]).
    pub record: bool,
}

impl PortSettings {
    /// Reading `path` in auto mode: speed switched after 10 s without a valid group,
    /// reopened after 1 s doubling to 30 s.
    pub fn new(path: impl Into<PathBuf>) -> PortSettings {
        PortSettings {
            path: path.into(),
            mode: ModeSetting::Auto,
            detect_after: Duration::from_secs(10),
            reopen_after: Duration::from_secs(1),
            reopen_at_most: Duration::from_secs(30),
            record: false,
        }
    }
}

/// What the reader says.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PortEvent {
    /// The port is open at this speed.
    Opened {
        /// The speed.
        baud: u32,
    },
    /// A checked frame, when its ETX was read.
    Frame {
        /// The frame.
        frame: Frame,
        /// When its last byte was read.
        received: chrono::DateTime<chrono::Utc>,
    },
    /// The mode of the stream, once detected (again after a change).
    ModeDetected(TicMode),
    /// Nothing valid for [`PortSettings::detect_after`] (auto mode: the speed changes).
    Silent {
        /// The speed that gave nothing.
        baud: u32,
    },
    /// The port went away or could not be opened; it is tried again after `retry_in`.
    Lost {
        /// Why.
        error: String,
        /// When it is tried again.
        retry_in: Duration,
    },
}

/// A TIC serial port read on a thread of its own (serial reads block), its frames
/// decoded and sent to [`TicReader::next`]. 7 data bits, even parity, one stop bit; every
/// byte is masked with 0x7F anyway, so a port (or a pseudo-terminal) that keeps 8 bits
/// reads the same. When the port goes away (a dongle unplugged: a read error, or end of
/// file) it is closed and opened again, by its path, with backoff, and the frame in
/// progress is dropped.
#[derive(Debug)]
pub struct TicReader {
    events: mpsc::UnboundedReceiver<PortEvent>,
    stop: Arc<AtomicBool>,
    counters: Arc<std::sync::Mutex<TicCounters>>,
    capture: Arc<std::sync::Mutex<TicCapture>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TicReader {
    /// Starts reading `settings.path`; frames are timed by `clock` (their reception).
    /// The port's own waits (speed changes, reopening) are wall time: they wait on a real
    /// device.
    pub fn spawn(settings: PortSettings, clock: Arc<dyn Clock>) -> TicReader {
        let (sender, events) = mpsc::unbounded_channel();
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(std::sync::Mutex::new(TicCounters::default()));
        let capture = Arc::new(std::sync::Mutex::new(TicCapture::new()));
        let thread = {
            let stop = stop.clone();
            let counters = counters.clone();
            let capture = capture.clone();
            std::thread::Builder::new()
                .name("linky-tic-reader".to_owned())
                .spawn(move || {
                    read_loop(
                        &settings,
                        clock.as_ref(),
                        &sender,
                        &stop,
                        &counters,
                        &capture,
                    )
                })
                .ok()
        };
        TicReader {
            events,
            stop,
            counters,
            capture,
            thread,
        }
    }

    /// The next event; `None` once stopped.
    pub async fn next(&mut self) -> Option<PortEvent> {
        self.events.recv().await
    }

    /// The decoder's counters so far.
    pub fn counters(&self) -> TicCounters {
        self.counters.lock().map(|c| *c).unwrap_or_default()
    }

    /// The raw capture so far (empty unless [`PortSettings::record`]).
    pub fn capture(&self) -> TicCapture {
        self.capture.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Stops reading (within a read timeout, 100 ms).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for TicReader {
    fn drop(&mut self) {
        self.stop();
    }
}

fn read_loop(
    settings: &PortSettings,
    clock: &dyn Clock,
    sender: &mpsc::UnboundedSender<PortEvent>,
    stop: &AtomicBool,
    counters: &std::sync::Mutex<TicCounters>,
    capture: &std::sync::Mutex<TicCapture>,
) {
    let mut decoder = TicDecoder::with_mode(settings.mode);
    let started = Instant::now();
    let mut baud = match settings.mode {
        ModeSetting::Fixed(mode) => mode.baud_rate(),
        ModeSetting::Auto => TicMode::Standard.baud_rate(),
    };
    let mut pause = settings.reopen_after;
    let mut detected: Option<TicMode> = None;
    let mut buffer = [0u8; 512];
    while !stop.load(Ordering::SeqCst) {
        let opened = serialport::new(settings.path.to_string_lossy(), baud)
            .data_bits(serialport::DataBits::Seven)
            .parity(serialport::Parity::Even)
            .stop_bits(serialport::StopBits::One)
            .flow_control(serialport::FlowControl::None)
            .timeout(Duration::from_millis(100))
            .open();
        let mut port = match opened {
            Ok(port) => port,
            Err(error) => {
                if sender
                    .send(PortEvent::Lost {
                        error: format!("{}: {error}", settings.path.display()),
                        retry_in: pause,
                    })
                    .is_err()
                {
                    return;
                }
                sleep_unless_stopped(pause, stop);
                pause = (pause * 2).min(settings.reopen_at_most);
                continue;
            }
        };
        let _ = sender.send(PortEvent::Opened { baud });
        decoder.reset();
        let mut last_good = Instant::now();
        let mut groups_seen = decoder.counters().groups;
        let lost = loop {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            match port.read(&mut buffer) {
                Ok(0) => break "end of file".to_owned(),
                Ok(count) => {
                    let bytes = &buffer[..count];
                    let received = clock.now();
                    if settings.record
                        && let Ok(mut capture) = capture.lock()
                    {
                        capture.record(started.elapsed().as_millis() as u64, bytes);
                    }
                    for frame in decoder.push(bytes) {
                        if sender.send(PortEvent::Frame { frame, received }).is_err() {
                            return;
                        }
                    }
                    if let Ok(mut shared) = counters.lock() {
                        *shared = *decoder.counters();
                    }
                    if decoder.detected_mode() != detected
                        && let Some(mode) = decoder.detected_mode()
                    {
                        detected = Some(mode);
                        let _ = sender.send(PortEvent::ModeDetected(mode));
                    }
                }
                Err(error) if error.kind() == std::io::ErrorKind::TimedOut => {}
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => break error.to_string(),
            }
            if decoder.counters().groups != groups_seen {
                groups_seen = decoder.counters().groups;
                last_good = Instant::now();
                pause = settings.reopen_after;
            } else if last_good.elapsed() >= settings.detect_after {
                let _ = sender.send(PortEvent::Silent { baud });
                if settings.mode == ModeSetting::Auto {
                    // The other speed: reopen at it.
                    baud = if baud == TicMode::Standard.baud_rate() {
                        TicMode::Historic.baud_rate()
                    } else {
                        TicMode::Standard.baud_rate()
                    };
                    break String::new();
                }
                last_good = Instant::now();
            }
        };
        drop(port);
        if !lost.is_empty() {
            let _ = sender.send(PortEvent::Lost {
                error: format!("{}: {lost}", settings.path.display()),
                retry_in: pause,
            });
            sleep_unless_stopped(pause, stop);
            pause = (pause * 2).min(settings.reopen_at_most);
        }
    }
}

fn sleep_unless_stopped(pause: Duration, stop: &AtomicBool) {
    let until = Instant::now() + pause;
    while Instant::now() < until && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(20).min(until - Instant::now()));
    }
}
