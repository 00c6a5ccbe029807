//! The sync run: for each usage point, plan what is missing, fetch it from any
//! [`ReadingSource`], keep it in the [`StateDir`] as it arrives, split and aggregate it
//! with linky-core, write it through any [`Sink`], merge devices, and report.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use linky_core::{
    CallingHours, CompiledSchedule, DeviceData, DeviceRows, Flow, HistorySettings, HolidayZone,
    LoadCurve, MainDisplay, Measurement, OffPeakConfig, PARIS, PlanLimits, ReadingSource,
    RunOutcome, RunSettings, SecondaryDisplay, SourceData, SourceErrorKind, UsagePointId,
    device_rows, history_after_run, history_window, merged_devices, next_run, plan_fetches,
};

use crate::state::{StateDir, StoredKind, SyncMeta};
use crate::{Sink, SinkError};

/// What a sync is told to do.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// The off-peak schedule.
    pub offpeak: OffPeakConfig,
    /// Whose public holidays count.
    pub holiday_zone: HolidayZone,
    /// Validated history settings.
    pub history: HistorySettings,
    /// The main dashboard display.
    pub main: MainDisplay,
    /// The secondary dashboard display.
    pub secondary: SecondaryDisplay,
    /// When calls are allowed.
    pub calling_hours: CallingHours,
    /// Whether to fetch production too.
    pub production: bool,
}

impl Default for SyncSettings {
    fn default() -> SyncSettings {
        SyncSettings {
            offpeak: OffPeakConfig::default(),
            holiday_zone: HolidayZone::Metropole,
            history: HistorySettings::default(),
            main: MainDisplay::default(),
            secondary: SecondaryDisplay::default(),
            calling_hours: CallingHours::default(),
            production: true,
        }
    }
}

/// What happened to one device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceReport {
    /// The device id.
    pub device: String,
    /// Day rows written.
    pub days_written: usize,
    /// Hour rows written.
    pub hours_written: usize,
    /// Whether the dashboard row was written.
    pub dashboard_written: bool,
    /// Data-quality anomalies found in its readings.
    pub anomalies: usize,
    /// What went wrong.
    pub errors: Vec<String>,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncReport {
    /// Per device (PDLs, then merged devices).
    pub devices: Vec<DeviceReport>,
    /// Requests answered by the source in this run.
    pub requests: usize,
    /// Whether the run was a full-history grab.
    pub full_grab: bool,
    /// Errors not tied to one device.
    pub errors: Vec<String>,
    /// When to run next (local time).
    pub next_run: NaiveDateTime,
}

impl SyncReport {
    /// Whether nothing went wrong.
    pub fn is_success(&self) -> bool {
        self.errors.is_empty() && self.devices.iter().all(|d| d.errors.is_empty())
    }
}

/// Runs one sync at local time `now`. `spread_minutes` (0-59) and `retry_days` (1-7) are
/// the random parts of the schedule, drawn by the caller; `progress` hears what happens.
pub async fn run_sync(
    source: &dyn ReadingSource,
    sink: &dyn Sink,
    state: &StateDir,
    settings: &SyncSettings,
    now: NaiveDateTime,
    (spread_minutes, retry_days): (u32, i64),
    progress: &mut (dyn FnMut(&str) + Send),
) -> SyncReport {
    let mut errors = Vec::new();
    let mut meta = state.load_meta().unwrap_or_else(|error| {
        errors.push(error.to_string());
        SyncMeta::default()
    });
    let days = i64::from(settings.history.days).max(i64::from(settings.history.hours_days));
    let (window, full_grab) = history_window(days, &meta.history(), now);
    let mut report = SyncReport {
        devices: Vec::new(),
        requests: 0,
        full_grab,
        errors,
        next_run: now,
    };
    if !settings.calling_hours.allows(now) {
        report
            .errors
            .push("outside calling hours: nothing fetched".to_owned());
    }
    let usage_points = match source.usage_points().await {
        Ok(points) => points,
        Err(error) => {
            report.errors.push(format!("usage points: {error}"));
            Vec::new()
        }
    };
    let today = now.date();
    let run = RunSettings {
        today,
        history: settings.history,
        main: settings.main,
        secondary: settings.secondary,
    };
    let mut devices = Vec::new();
    let mut stop_fetching = false;
    for usage_point in &usage_points {
        let mut device_report = DeviceReport {
            device: usage_point.to_string(),
            ..DeviceReport::default()
        };
        if settings.calling_hours.allows(now) && !stop_fetching {
            let (answered, stop) = fetch_missing(
                source,
                state,
                settings,
                &mut meta,
                usage_point,
                now,
                window,
                &mut device_report,
                progress,
            )
            .await;
            report.requests += answered;
            stop_fetching = stop;
        }
        devices.push(device_data(
            state,
            settings,
            usage_point,
            today,
            window.max(days),
            &mut device_report,
        ));
        report.devices.push(device_report);
    }
    let merged = merged_devices(&devices, &run);
    for data in &merged {
        report.devices.push(DeviceReport {
            device: data.device.clone(),
            ..DeviceReport::default()
        });
    }
    devices.extend(merged);
    for (data, device_report) in devices.iter().zip(report.devices.iter_mut()) {
        let rows = device_rows(data, &run);
        progress(&format!(
            "{}: writing {} day rows, {} hour rows",
            rows.device,
            rows.days.len(),
            rows.hours.len()
        ));
        if let Err(error) = write_rows(sink, &rows, device_report).await {
            device_report.errors.push(format!("sink: {error}"));
            if error.is_retryable() || matches!(error, SinkError::Unauthorized { .. }) {
                // The sink is down or refuses us: the others would fail the same way.
                report.errors.push(format!("stopped writing: {error}"));
                break;
            }
        }
    }
    let success = report.is_success();
    meta.set_history(history_after_run(
        &meta.history(),
        days,
        full_grab,
        success,
        now,
        retry_days,
    ));
    if let Err(error) = state.save_meta(&meta) {
        report.errors.push(error.to_string());
    }
    let outcome = if report.is_success() {
        RunOutcome::Success
    } else {
        RunOutcome::Failure
    };
    report.next_run = next_run(now, outcome, settings.calling_hours, spread_minutes);
    report
}

fn measurements(settings: &SyncSettings) -> Vec<(Measurement, StoredKind)> {
    let mut list = vec![
        (
            Measurement::LoadCurve(Flow::Consumption),
            StoredKind::Curve(Flow::Consumption),
        ),
        (Measurement::DailyMaxPower, StoredKind::Peaks),
    ];
    if settings.production {
        list.push((
            Measurement::LoadCurve(Flow::Production),
            StoredKind::Curve(Flow::Production),
        ));
    }
    list
}

/// Fetches what the window misses for one usage point, storing each answer before the
/// next request. Returns the number of answered requests, and whether to stop asking the
/// source for anything else in this run (a transient error or quota: spare the quota,
/// retry at the next run; or consent lost).
#[allow(clippy::too_many_arguments)]
async fn fetch_missing(
    source: &dyn ReadingSource,
    state: &StateDir,
    settings: &SyncSettings,
    meta: &mut SyncMeta,
    usage_point: &UsagePointId,
    now: NaiveDateTime,
    window: i64,
    device_report: &mut DeviceReport,
    progress: &mut (dyn FnMut(&str) + Send),
) -> (usize, bool) {
    let pdl = usage_point.as_str();
    let mut answered = 0;
    for (measurement, kind) in measurements(settings) {
        let no_data_key = format!("{pdl}/{}", kind.as_str());
        if meta.no_data.contains(&no_data_key) {
            continue;
        }
        let days = if kind == StoredKind::Peaks {
            window.max(i64::from(settings.history.peak_days))
        } else {
            window
        };
        let today = now.date();
        let (held, warnings) = state.held_days(pdl, kind, today - Duration::days(days), today);
        device_report
            .errors
            .extend(warnings.iter().map(ToString::to_string));
        let limits = PlanLimits {
            now,
            days,
            activation_date: None,
        };
        for request in plan_fetches(measurement, &held, &limits) {
            progress(&format!(
                "{pdl}: {} {}..{}",
                kind.as_str(),
                request.start,
                request.end
            ));
            let answer = match source.fetch(usage_point, &request).await {
                Ok(answer) => answer,
                Err(error) => {
                    device_report
                        .errors
                        .push(format!("{}: {error}", kind.as_str()));
                    progress(&format!("{pdl}: stopped: {error}"));
                    if matches!(
                        error.kind,
                        SourceErrorKind::ConsentLost | SourceErrorKind::Transient
                    ) {
                        return (answered, true);
                    }
                    break;
                }
            };
            answered += 1;
            let stored = match answer {
                SourceData::Curve { readings, report } => {
                    device_report.anomalies += report.anomalies().len();
                    let flow = match kind {
                        StoredKind::Curve(flow) => flow,
                        StoredKind::Peaks => Flow::Consumption,
                    };
                    state.store_curve(pdl, flow, request.start, request.end, &readings)
                }
                SourceData::Peaks(peaks) => {
                    state.store_peaks(pdl, request.start, request.end, &peaks)
                }
                SourceData::DailyEnergy(_) => Ok(()),
                SourceData::NoData { permanent: true } => {
                    meta.no_data.insert(no_data_key.clone());
                    progress(&format!("{pdl}: no {} on this meter", kind.as_str()));
                    break;
                }
                SourceData::NoData { permanent: false } => Ok(()),
            };
            if let Err(error) = stored {
                device_report.errors.push(error.to_string());
                break;
            }
        }
    }
    (answered, false)
}

/// Builds a usage point's data from the state over the window.
fn device_data(
    state: &StateDir,
    settings: &SyncSettings,
    usage_point: &UsagePointId,
    today: NaiveDate,
    days: i64,
    device_report: &mut DeviceReport,
) -> DeviceData {
    let pdl = usage_point.as_str();
    let from = today - Duration::days(days);
    let mut split = |flow: Flow| {
        let (readings, warnings) = state.curve_readings(pdl, flow, from, today);
        device_report
            .errors
            .extend(warnings.iter().map(ToString::to_string));
        if readings.is_empty() {
            return None;
        }
        let (curve, report) = LoadCurve::builder(PARIS)
            .expected_period(from, today)
            .build(&readings);
        device_report.anomalies += report
            .anomalies()
            .iter()
            .filter(|a| a.kind.drops_reading())
            .count();
        let schedule = CompiledSchedule::new(&settings.offpeak, pdl, flow, settings.holiday_zone);
        Some(curve.split(&schedule))
    };
    let consumption = split(Flow::Consumption);
    let production = split(Flow::Production);
    let peak_days = i64::from(settings.history.peak_days).max(days);
    let (peaks, warnings) = state.peaks(pdl, today - Duration::days(peak_days), today);
    device_report
        .errors
        .extend(warnings.iter().map(ToString::to_string));
    DeviceData {
        device: pdl.to_owned(),
        consumption,
        production,
        peaks,
        two_tariffs: settings.offpeak.has_two_tariffs(pdl),
    }
}

async fn write_rows(
    sink: &dyn Sink,
    rows: &DeviceRows,
    report: &mut DeviceReport,
) -> Result<(), SinkError> {
    if rows.days.is_empty() && rows.hours.is_empty() && rows.dashboard.is_none() {
        return Ok(());
    }
    let device = sink.ensure_device(&rows.device).await?;
    sink.write_hours(&device, &rows.hours).await?;
    report.hours_written = rows.hours.len();
    sink.write_days(&device, &rows.days).await?;
    report.days_written = rows.days.len();
    if let Some(dashboard) = &rows.dashboard {
        sink.write_dashboard(&device, dashboard).await?;
        report.dashboard_written = true;
    }
    let mismatches = sink.verify_days(&device, &rows.days).await?;
    if !mismatches.is_empty() {
        let dates: Vec<String> = mismatches.iter().map(|m| m.date.to_string()).collect();
        report.errors.push(format!(
            "the sink holds other totals than written for {}: they will be written again next run",
            dates.join(", ")
        ));
    }
    Ok(())
}
