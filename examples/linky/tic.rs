//! `linky tic`: the meter's own output, live. Frames from a serial port (or a raw
//! capture replayed) are decoded; their values go to an MQTT broker with Home Assistant's
//! discovery; the hours their indexes make go to the configured output (Domoticz, Home
//! Assistant's statistics, a time-series database) through the `Sink` API, before Enedis
//! publishes them. Enedis' hours win: the next sync rewrites the hours it brings.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use linky_core::{
    ClassIndexes, Clock, DeviceId, Energy, HourComparison, HourRow, IndexHour, IndexHours,
    LiveReading, MeterEnergies, PARIS,
};
use linky_domoticz::{
    CancelToken, ColourHourRow, DeviceHandle, DeviceInfo, MqttConfig, MqttSink, Sink,
};
use linky_enedis::tic::{
    Frame, MeterFrame, ModeSetting, PortEvent, PortSettings, TicCapture, TicCounters, TicDecoder,
    TicReader,
};
use serde_json::{Value, json};

/// Where frames come from.
#[derive(Debug, Clone)]
pub enum TicSource {
    /// A serial port.
    Port(PortSettings),
    /// A raw capture, replayed at its pace (or at once with `fast`).
    Replay {
        /// The capture.
        capture: TicCapture,
        /// Without waiting.
        fast: bool,
    },
}

/// What `linky tic` does.
pub struct TicRun {
    /// The frames' source.
    pub source: TicSource,
    /// The mode read.
    pub mode: ModeSetting,
    /// Stop after the first frame (and give it back).
    pub once: bool,
    /// Save what the port gives to this file, as a raw capture, when stopping.
    pub record: Option<PathBuf>,
    /// The broker for live values.
    pub mqtt: Option<MqttConfig>,
    /// The output for the meter's hours, and the device they are written as (the PDL).
    pub output: Option<(Box<dyn Sink>, Option<DeviceId>)>,
    /// Where the meter's hours are kept for the comparison with Enedis' curve (`linky tic
    /// --compare`), and the device they are kept as when the meter does not say its PRM.
    pub journal: Option<(MeterHoursJournal, Option<DeviceId>)>,
}

/// How a run ended.
#[derive(Debug, Default)]
pub struct TicSummary {
    /// The first frame (with `once`).
    pub first: Option<MeterFrame>,
    /// Frames decoded.
    pub frames: u64,
    /// The decoder's counters.
    pub counters: TicCounters,
    /// Hours written to the output.
    pub hours_written: usize,
    /// Hours kept for the comparison with Enedis' curve.
    pub hours_kept: usize,
    /// Whether a signal stopped it.
    pub interrupted: bool,
}

/// Runs `run` until the source ends, a signal (`cancel`), or the first frame with
/// `once`. `say` gets what a person should read (opened, lost, written...).
///
/// # Errors
///
/// A sentence for what cannot go on: the broker refusing the login, the output refusing
/// the hours, a capture that cannot be saved.
pub async fn run_tic(
    run: TicRun,
    clock: Arc<dyn Clock>,
    cancel: CancelToken,
    say: &mut (dyn FnMut(&str) + Send),
) -> Result<TicSummary, String> {
    // Connected at the first frame: the client and its availability are the meter's.
    let mut mqtt: Option<MqttSink> = None;
    let mqtt_config = if run.once { None } else { run.mqtt.clone() };
    let mut writer = run.output.map(|(sink, device)| HourWriter {
        sink,
        device,
        handle: None,
        warned: false,
        held: Vec::new(),
    });
    let mut hours = IndexHours::new(PARIS);
    let mut summary = TicSummary::default();
    let mut handle_frame = async |frame: Frame,
                                  received: DateTime<Utc>,
                                  summary: &mut TicSummary,
                                  say: &mut (dyn FnMut(&str) + Send)|
           -> Result<bool, String> {
        summary.frames += 1;
        let meter = MeterFrame::from_frame(&frame);
        if run.once {
            summary.first = Some(meter);
            return Ok(true);
        }
        let Some(reading) = meter.live_reading(received) else {
            return Ok(false);
        };
        if mqtt.is_none()
            && let Some(config) = &mqtt_config
        {
            let sink = MqttSink::connect(config.clone().for_meter(&reading.meter))
                .await
                .map_err(|error| format!("MQTT: {error}"))?;
            say(&format!(
                "MQTT: connected to {}:{} for meter {}",
                config.host, config.port, reading.meter
            ));
            mqtt = Some(sink);
        }
        if let Some(mqtt) = &mqtt
            && let Err(error) = mqtt.publish_live(&reading)
        {
            say(&format!("MQTT: {error}"));
        }
        let given = hours.push(&reading);
        for anomaly in hours.take_anomalies() {
            say(&format!("indexes ignored: {anomaly:?}"));
        }
        if let Some((journal, configured)) = &run.journal
            && !given.is_empty()
        {
            let device = configured.clone().or_else(|| {
                reading
                    .usage_point
                    .as_ref()
                    .and_then(|prm| prm.parse::<DeviceId>().ok())
            });
            if let Some(device) = device {
                let rows: Vec<HourRow> = given.iter().map(IndexHour::hour_row).collect();
                match journal.append(&device, &rows) {
                    Ok(()) => summary.hours_kept += rows.len(),
                    Err(error) => say(&format!("the meter's hours cannot be kept: {error}")),
                }
            }
        }
        if let Some(writer) = writer.as_mut() {
            summary.hours_written += writer.write(&reading, &given, say).await?;
        }
        Ok(false)
    };
    match run.source {
        TicSource::Port(mut settings) => {
            settings.mode = run.mode;
            settings.record = run.record.is_some();
            let mut reader = TicReader::spawn(settings.clone(), clock.clone());
            loop {
                let event = tokio::select! {
                    event = reader.next() => event,
                    () = cancel.cancelled() => {
                        summary.interrupted = true;
                        break;
                    }
                };
                let Some(event) = event else { break };
                match event {
                    PortEvent::Opened { baud } => {
                        say(&format!("{} open at {baud} baud", settings.path.display()));
                    }
                    PortEvent::ModeDetected(mode) => say(&format!("TIC in {mode} mode")),
                    PortEvent::Silent { baud } => {
                        say(&format!(
                            "nothing valid at {baud} baud: trying the other speed"
                        ));
                    }
                    PortEvent::Lost { error, retry_in } => {
                        say(&format!(
                            "{error}; opened again in {} s",
                            retry_in.as_secs().max(1)
                        ));
                    }
                    PortEvent::Frame { frame, received } => {
                        let first_is_enough =
                            handle_frame(frame, received, &mut summary, say).await?;
                        if first_is_enough {
                            break;
                        }
                    }
                    _ => {}
                }
            }
            summary.counters = reader.counters();
            let capture = reader.capture();
            reader.stop();
            if let Some(path) = &run.record {
                std::fs::write(path, capture.to_text()).map_err(|error| {
                    format!("cannot save the capture to {}: {error}", path.display())
                })?;
                say(&format!(
                    "capture saved to {} ({} reads)",
                    path.display(),
                    capture.chunks.len()
                ));
            }
        }
        TicSource::Replay { capture, fast } => {
            let mut decoder = TicDecoder::with_mode(run.mode);
            let start = clock.now();
            let mut elapsed_ms = 0;
            'chunks: for chunk in &capture.chunks {
                if !fast && chunk.at_ms > elapsed_ms {
                    let wait = Duration::from_millis(chunk.at_ms - elapsed_ms);
                    tokio::select! {
                        () = clock.sleep(wait) => {}
                        () = cancel.cancelled() => {
                            summary.interrupted = true;
                            break 'chunks;
                        }
                    }
                    elapsed_ms = chunk.at_ms;
                }
                if cancel.is_cancelled() {
                    summary.interrupted = true;
                    break;
                }
                let received = start + chrono::Duration::milliseconds(chunk.at_ms as i64);
                for frame in decoder.push(&chunk.bytes) {
                    if handle_frame(frame, received, &mut summary, say).await? {
                        break 'chunks;
                    }
                }
            }
            summary.counters = *decoder.counters();
        }
    }
    if let Some(mqtt) = &mqtt {
        mqtt.shutdown().await;
    }
    Ok(summary)
}

/// Writes the meter's hours to the output: every hour it holds (the last week), each
/// time one is added, so that a sink whose hour log holds counters (a Domoticz P1 meter)
/// gets running totals that go on from one hour to the next, and the others rewrite the
/// same values (their writes are idempotent).
struct HourWriter {
    sink: Box<dyn Sink>,
    device: Option<DeviceId>,
    handle: Option<DeviceHandle>,
    warned: bool,
    held: Vec<IndexHour>,
}

/// The hours a writer holds and writes again: a week.
const HOURS_HELD: usize = 7 * 24;

impl HourWriter {
    async fn write(
        &mut self,
        reading: &LiveReading,
        given: &[IndexHour],
        say: &mut (dyn FnMut(&str) + Send),
    ) -> Result<usize, String> {
        if given.is_empty() {
            return Ok(0);
        }
        let device = match (&self.device, &reading.usage_point) {
            (Some(device), _) => device.clone(),
            (None, Some(prm)) => match prm.parse::<DeviceId>() {
                Ok(device) => device,
                Err(_) => {
                    return Ok(self.warn(
                        say,
                        &format!("the meter's PRM {prm:?} is not a usage point"),
                    ));
                }
            },
            (None, None) => {
                return Ok(self.warn(
                    say,
                    "hours not written: the meter does not say its PDL (historic mode): give --pdl",
                ));
            }
        };
        let handle = match &self.handle {
            Some(handle) => handle.clone(),
            None => {
                let handle =
                    self.sink.ensure_device(&device).await.map_err(|error| {
                        format!("the output refuses the device {device}: {error}")
                    })?;
                let tempo = matches!(reading.indexes, Some(ClassIndexes::Tempo(_)));
                let two_tariffs = !matches!(reading.indexes, Some(ClassIndexes::Base(_)));
                let mut info = DeviceInfo::new(two_tariffs, true, reading.injected.is_some());
                info.tempo = tempo;
                self.sink
                    .describe_device(&handle, &info)
                    .await
                    .map_err(|error| format!("the output: {error}"))?;
                self.handle = Some(handle.clone());
                handle
            }
        };
        self.held.extend(given.iter().cloned());
        let excess = self.held.len().saturating_sub(HOURS_HELD);
        self.held.drain(..excess);
        let rows: Vec<_> = self.held.iter().map(IndexHour::hour_row).collect();
        let outcome = self.sink.write_hours(&handle, &rows).await;
        if let Err(error) = outcome {
            if error.is_retryable() {
                // The next hours come anyway; Enedis' sync fills what was missed.
                say(&format!(
                    "the output is unavailable, hours kept for Enedis' sync: {error}"
                ));
                return Ok(0);
            }
            return Err(format!("the output refuses the meter's hours: {error}"));
        }
        let colour_rows: Vec<ColourHourRow> = self
            .held
            .iter()
            .filter_map(|hour| match hour.drawn {
                linky_core::ClassEnergies::Tempo(energies) => {
                    Some(ColourHourRow::new(hour.end_utc, hour.end, energies))
                }
                _ => None,
            })
            .collect();
        if !colour_rows.is_empty() {
            self.sink
                .write_colour_hours(&handle, &colour_rows)
                .await
                .map_err(|error| format!("the output refuses the Tempo hours: {error}"))?;
        }
        for hour in given {
            say(&format!(
                "hour ending {}: {:.0} Wh drawn (the meter's own indexes)",
                hour.end.format("%Y-%m-%d %H:%M"),
                hour.drawn
                    .values()
                    .iter()
                    .map(|e| e.as_wh_f64())
                    .sum::<f64>()
            ));
        }
        Ok(given.len())
    }

    fn warn(&mut self, say: &mut (dyn FnMut(&str) + Send), message: &str) -> usize {
        if !self.warned {
            say(message);
            self.warned = true;
        }
        0
    }
}

/// A frame as a table a person reads (`linky tic --once`).
pub fn frame_table(meter: &MeterFrame) -> String {
    let mut lines: Vec<(String, String)> = Vec::new();
    let mut add = |name: &str, value: String| lines.push((name.to_owned(), value));
    add("mode", meter.mode.to_string());
    if let Some(id) = &meter.meter_id {
        add("meter", id.clone());
    }
    if let Some(prm) = &meter.usage_point {
        add("usage point", prm.clone());
    }
    if let Some(time) = &meter.time {
        add(
            "meter clock",
            format!(
                "{}{}",
                time.local.format("%Y-%m-%d %H:%M:%S"),
                if time.degraded { " (degraded)" } else { "" }
            ),
        );
    }
    if let Some(option) = &meter.option {
        add("option", option.to_string());
    }
    if let Some(period) = &meter.period {
        add("period", period.to_string());
    }
    if let Some(indexes) = meter.class_indexes() {
        for (key, value) in indexes.keys().iter().zip(indexes.values()) {
            add(&format!("index {key}"), format!("{value} Wh"));
        }
    }
    if let Some(total) = meter.indexes.total {
        add("index total", format!("{total} Wh"));
    }
    if let Some(injected) = meter.indexes.injected {
        add("index injected", format!("{injected} Wh"));
    }
    if let Some(power) = meter.apparent_power {
        add("apparent power", format!("{power} VA"));
    }
    for (phase, current) in meter.currents.iter().enumerate() {
        if let Some(current) = current {
            add(&format!("current L{}", phase + 1), format!("{current} A"));
        }
    }
    for (phase, voltage) in meter.voltages.iter().enumerate() {
        if let Some(voltage) = voltage {
            add(&format!("voltage L{}", phase + 1), format!("{voltage} V"));
        }
    }
    if let Some(colour) = meter.tempo_today() {
        add("Tempo today", colour.to_string());
    }
    if let Some(colour) = meter.tempo_tomorrow() {
        add("Tempo tomorrow", colour.to_string());
    }
    add(
        "overpower",
        if meter.overpower() { "yes" } else { "no" }.to_owned(),
    );
    if let Some(status) = meter.status {
        add(
            "STGE",
            format!(
                "{:08X} (cut-off {:?}, supplier index {})",
                status.0,
                status.cut_off(),
                status.supplier_index()
            ),
        );
    }
    for error in &meter.errors {
        add(
            &format!("unreadable {}", error.label),
            format!("{:?}: expected {}", error.data, error.expected),
        );
    }
    let width = lines.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    lines
        .iter()
        .map(|(name, value)| format!("{name:width$}  {value}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A frame as JSON (`linky tic --once --json`).
pub fn frame_json(meter: &MeterFrame) -> Value {
    let indexes = meter.class_indexes().map(|indexes| {
        indexes
            .keys()
            .iter()
            .zip(indexes.values())
            .map(|(key, value)| ((*key).to_owned(), json!(value)))
            .collect::<serde_json::Map<String, Value>>()
    });
    json!({
        "mode": meter.mode.to_string(),
        "meter": meter.meter_id,
        "usage_point": meter.usage_point,
        "meter_clock": meter.time.map(|t| t.local.format("%Y-%m-%dT%H:%M:%S").to_string()),
        "clock_degraded": meter.time.map(|t| t.degraded),
        "option": meter.option.as_ref().map(ToString::to_string),
        "period": meter.period.map(|p| p.to_string()),
        "indexes_wh": indexes,
        "total_wh": meter.indexes.total,
        "injected_wh": meter.indexes.injected,
        "apparent_power_va": meter.apparent_power,
        "currents_a": meter.currents,
        "voltages_v": meter.voltages,
        "tempo_today": meter.tempo_today().map(|c| c.to_string()),
        "tempo_tomorrow": meter.tempo_tomorrow().map(|c| c.to_string()),
        "overpower": meter.overpower(),
        "status": meter.status.map(|s| format!("{:08X}", s.0)),
        "errors": meter.errors.iter().map(|e| json!({"label": e.label, "data": e.data, "expected": e.expected})).collect::<Vec<_>>(),
    })
}

/// The meter's hours kept for the comparison with Enedis' curve, one CSV file per device
/// in a folder (`<state>/meter-hours/<device>.csv`): the hour's end (UTC, RFC 3339) and
/// its energies in milliwatt-minutes (drawn peak, drawn off-peak, injected peak, injected
/// off-peak), exact. Appended as hours end; when an hour comes twice, the last one read
/// counts; a line cut by a crash is skipped.
#[derive(Debug, Clone)]
pub struct MeterHoursJournal {
    folder: PathBuf,
}

impl MeterHoursJournal {
    /// The journal in `state`'s `meter-hours` folder.
    pub fn in_state(state: &std::path::Path) -> MeterHoursJournal {
        MeterHoursJournal {
            folder: state.join("meter-hours"),
        }
    }

    /// The file of `device`'s hours.
    pub fn path(&self, device: &DeviceId) -> PathBuf {
        self.folder.join(format!("{}.csv", device.slug()))
    }

    /// Appends `rows` to `device`'s file (each line in one write).
    ///
    /// # Errors
    ///
    /// The folder or the file cannot be written: a sentence naming it.
    pub fn append(&self, device: &DeviceId, rows: &[HourRow]) -> Result<(), String> {
        use std::io::Write;
        std::fs::create_dir_all(&self.folder)
            .map_err(|error| format!("{}: {error}", self.folder.display()))?;
        let path = self.path(device);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        let mut text = String::new();
        for row in rows {
            let [c0, c1] = row.energies.consumption.map(Energy::milliwatt_minutes);
            let [p0, p1] = row.energies.production.map(Energy::milliwatt_minutes);
            text.push_str(&format!(
                "{},{c0},{c1},{p0},{p1}\n",
                row.end_utc.format("%Y-%m-%dT%H:%M:%SZ")
            ));
        }
        file.write_all(text.as_bytes())
            .map_err(|error| format!("{}: {error}", path.display()))
    }

    /// `device`'s hours, in time order, and how many lines could not be read.
    ///
    /// # Errors
    ///
    /// The file cannot be read (none kept yet for this device included): a sentence.
    pub fn read(&self, device: &DeviceId) -> Result<(Vec<HourRow>, usize), String> {
        let path = self.path(device);
        let text = std::fs::read_to_string(&path).map_err(|error| {
            if error.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "no meter hours kept for {device} ({} does not exist): `linky tic` keeps \
                     them as it reads the meter",
                    path.display()
                )
            } else {
                format!("{}: {error}", path.display())
            }
        })?;
        let mut hours = std::collections::BTreeMap::new();
        let mut unreadable = 0;
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            match parse_journal_line(line) {
                Some(row) => {
                    hours.insert(row.end_utc, row);
                }
                None => unreadable += 1,
            }
        }
        Ok((hours.into_values().collect(), unreadable))
    }
}

fn parse_journal_line(line: &str) -> Option<HourRow> {
    let mut fields = line.split(',');
    let end_utc = DateTime::parse_from_rfc3339(fields.next()?)
        .ok()?
        .with_timezone(&Utc);
    let mut energy = || {
        fields
            .next()?
            .trim()
            .parse::<i64>()
            .ok()
            .map(Energy::from_milliwatt_minutes)
    };
    let energies = MeterEnergies {
        consumption: [energy()?, energy()?],
        production: [energy()?, energy()?],
    };
    if fields.next().is_some() {
        return None;
    }
    Some(HourRow {
        end_utc,
        end: end_utc.with_timezone(&PARIS).naive_local(),
        energies,
    })
}

/// Enedis' hours of `pdl`'s consumption over the local days `[from, to)`, from a sync's
/// state: each complete hour of its load curve, its energy as drawn (unsplit: the meter's
/// classes are its own, the comparison is of the totals).
pub fn enedis_hours(
    state: &dyn linky_domoticz::StateStore,
    pdl: &str,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Vec<HourRow> {
    let (readings, _) = state.curve_readings(pdl, linky_core::Flow::Consumption, from, to);
    let curve = linky_core::LoadCurve::builder(PARIS).build(&readings).0;
    curve
        .hours()
        .into_iter()
        .filter(|hour| hour.minutes == 60)
        .map(|hour| HourRow {
            end_utc: hour.end.with_timezone(&Utc),
            end: hour.end.naive_local(),
            energies: MeterEnergies {
                consumption: [hour.energy, Energy::ZERO],
                production: [Energy::ZERO, Energy::ZERO],
            },
        })
        .collect()
}

/// The comparison as a table: each hour both hold (local end, the meter's Wh drawn,
/// Enedis', the difference), then the totals.
pub fn reconciliation_table(compared: &[HourComparison]) -> String {
    let drawn = |energies: &MeterEnergies| {
        energies
            .consumption
            .iter()
            .copied()
            .sum::<Energy>()
            .as_wh_f64()
    };
    let mut lines = vec![format!(
        "{:<16}  {:>10}  {:>10}  {:>10}",
        "hour ending", "meter Wh", "Enedis Wh", "difference"
    )];
    let (mut meter, mut enedis) = (0.0, 0.0);
    for hour in compared {
        meter += drawn(&hour.meter);
        enedis += drawn(&hour.enedis);
        lines.push(format!(
            "{:<16}  {:>10.1}  {:>10.1}  {:>+10.1}",
            hour.end_utc.with_timezone(&PARIS).format("%Y-%m-%d %H:%M"),
            drawn(&hour.meter),
            drawn(&hour.enedis),
            hour.drawn_difference_wh()
        ));
    }
    lines.push(format!(
        "{} hours compared: the meter {:.1} Wh, Enedis {:.1} Wh, difference {:+.1} Wh",
        compared.len(),
        meter,
        enedis,
        enedis - meter
    ));
    lines.join("\n")
}
