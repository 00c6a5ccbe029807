//! What a tool that embeds the linky crates writes for itself: a [`Sink`] that keeps each
//! device's rows in CSV files, and a [`ReadingSource`] that reads load-curve readings from
//! a CSV file (exported by another tool, say). The sync engine ties them together with no
//! Domoticz and no HTTP stack (`linky-domoticz` without its default feature).
//!
//! Files, per device (named by [`DeviceId::slug`]): `<slug>.days.csv` (one line a day,
//! rewritten in place when a day is written again) and `<slug>.hours.csv` (one line an
//! hour, keyed by the hour's instant), energies in Wh to the mWh.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use linky_core::{
    DashboardRow, DayRow, DeviceId, FetchRequest, Flow, HourRow, Measurement, MeterEnergies, Power,
    QualityReport, Reading, ReadingSource, SourceData, SourceError, UsagePointId,
};
use linky_domoticz::{DeviceHandle, Sink, SinkError};

/// A sink that writes CSV files into a folder.
#[derive(Debug)]
pub struct CsvSink {
    folder: PathBuf,
}

impl CsvSink {
    /// A sink writing into `folder` (created when missing).
    pub fn new(folder: impl Into<PathBuf>) -> CsvSink {
        CsvSink {
            folder: folder.into(),
        }
    }

    fn file(&self, device: &DeviceHandle, what: &str) -> PathBuf {
        self.folder.join(format!("{}.{what}.csv", device.key))
    }
}

fn unavailable(path: &Path, error: std::io::Error) -> SinkError {
    SinkError::Unavailable {
        sink: "csv",
        detail: format!("{}: {error}", path.display()),
    }
}

/// `header` and one line per key, keys in order: an upsert by key (the first column).
fn upsert(path: &Path, header: &str, lines: BTreeMap<String, String>) -> Result<(), SinkError> {
    let mut all: BTreeMap<String, String> = std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .skip(1)
        .filter_map(|line| Some((line.split_once(',')?.0.to_owned(), line.to_owned())))
        .collect();
    all.extend(lines);
    let mut text = format!("{header}\n");
    for line in all.values() {
        text.push_str(line);
        text.push('\n');
    }
    // Written beside, then renamed: a crash leaves the old file or the new one.
    let temporary = path.with_extension("csv.tmp");
    std::fs::write(&temporary, text).map_err(|e| unavailable(&temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| unavailable(path, e))
}

/// The four energies in Wh, to the mWh.
fn columns(energies: &MeterEnergies) -> String {
    let [u1, u2, r1, r2] = energies.in_order().map(|e| e.as_wh_f64());
    format!("{u1:.3},{u2:.3},{r1:.3},{r2:.3}")
}

const ENERGIES: &str =
    "consumption_peak_wh,consumption_offpeak_wh,production_peak_wh,production_offpeak_wh";

#[async_trait]
impl Sink for CsvSink {
    async fn ensure_device(&self, device_id: &DeviceId) -> Result<DeviceHandle, SinkError> {
        std::fs::create_dir_all(&self.folder).map_err(|e| unavailable(&self.folder, e))?;
        Ok(DeviceHandle {
            device_id: device_id.clone(),
            key: device_id.slug(),
        })
    }

    async fn write_hours(&self, device: &DeviceHandle, rows: &[HourRow]) -> Result<(), SinkError> {
        let lines = rows
            .iter()
            .map(|row| {
                let key = row.end_utc.format("%Y-%m-%dT%H:%M:%SZ").to_string();
                let line = format!("{key},{},{}", row.end, columns(&row.energies));
                (key, line)
            })
            .collect();
        let header = format!("end_utc,end_local,{ENERGIES}");
        upsert(&self.file(device, "hours"), &header, lines)
    }

    async fn write_days(&self, device: &DeviceHandle, rows: &[DayRow]) -> Result<(), SinkError> {
        let lines = rows
            .iter()
            .map(|row| {
                (
                    row.date.to_string(),
                    format!("{},{}", row.date, columns(&row.totals)),
                )
            })
            .collect();
        upsert(
            &self.file(device, "days"),
            &format!("date,{ENERGIES}"),
            lines,
        )
    }

    /// The dashboard's figures are for a live display: not kept in files.
    async fn write_dashboard(&self, _: &DeviceHandle, _: &DashboardRow) -> Result<(), SinkError> {
        Ok(())
    }

    async fn mark_timed_out(&self, _: &DeviceHandle) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Load-curve readings from a CSV file: `usage_point,flow,end,minutes,watts` a line
/// (`flow` is `consumption` or `production`, `end` the local end `YYYY-MM-DD HH:MM:SS`).
#[derive(Debug, Default)]
pub struct ReadingsFile {
    readings: BTreeMap<(UsagePointId, Flow), Vec<Reading>>,
}

impl ReadingsFile {
    /// Reads `text`; a line that cannot be read is an error naming it.
    pub fn parse(text: &str) -> Result<ReadingsFile, String> {
        let mut file = ReadingsFile::default();
        for (number, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            let bad = || format!("line {}: {line:?}", number + 1);
            let [usage_point, flow, end, minutes, watts] = fields[..] else {
                return Err(bad());
            };
            let flow = match flow {
                "consumption" => Flow::Consumption,
                "production" => Flow::Production,
                _ => return Err(bad()),
            };
            let reading = Reading {
                end: chrono::NaiveDateTime::parse_from_str(end, "%Y-%m-%d %H:%M:%S")
                    .map_err(|_| bad())?,
                length_minutes: minutes.parse().map_err(|_| bad())?,
                power: Power::from_watts(watts.parse().map_err(|_| bad())?),
            };
            let usage_point = usage_point.parse().map_err(|e| format!("{}: {e}", bad()))?;
            file.readings
                .entry((usage_point, flow))
                .or_default()
                .push(reading);
        }
        Ok(file)
    }
}

#[async_trait]
impl ReadingSource for ReadingsFile {
    async fn usage_points(&self) -> Result<Vec<UsagePointId>, SourceError> {
        let mut points: Vec<UsagePointId> =
            self.readings.keys().map(|(id, _)| id.clone()).collect();
        points.dedup();
        Ok(points)
    }

    async fn fetch(
        &self,
        usage_point: &UsagePointId,
        request: &FetchRequest,
    ) -> Result<SourceData, SourceError> {
        let Measurement::LoadCurve(flow) = request.measurement else {
            return Ok(SourceData::NoData { permanent: true });
        };
        let Some(all) = self.readings.get(&(usage_point.clone(), flow)) else {
            return Ok(SourceData::NoData { permanent: true });
        };
        let (start, end) = (request.start, request.end);
        let in_range = |r: &&Reading| {
            let day = (r.end - chrono::Duration::minutes(1)).date();
            start <= day && day < end
        };
        Ok(SourceData::Curve {
            readings: all.iter().filter(in_range).copied().collect(),
            report: QualityReport::default(),
        })
    }
}
