//! A sink in memory: for tests and dry runs. It keeps what a Domoticz would keep (one
//! row per date, the last write wins) and counts every write.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{NaiveDate, NaiveDateTime};
use linky_core::{DashboardRow, DayRow, HourRow, MeterEnergies};

use crate::{DeviceHandle, Sink, SinkError};

/// What one device received.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryDevice {
    /// Hour rows by their local end (the last write of a date wins).
    pub hours: BTreeMap<NaiveDateTime, MeterEnergies>,
    /// Day rows by date.
    pub days: BTreeMap<NaiveDate, MeterEnergies>,
    /// The last dashboard row.
    pub dashboard: Option<DashboardRow>,
    /// Whether the device was last marked timed out.
    pub timed_out: bool,
    /// How many rows were written in all (rewrites included).
    pub writes: usize,
}

/// A sink that records everything.
#[derive(Debug, Default)]
pub struct MemorySink {
    devices: Mutex<BTreeMap<String, MemoryDevice>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> MemorySink {
        MemorySink::default()
    }

    /// What `device_id` received so far.
    pub fn device(&self, device_id: &str) -> Option<MemoryDevice> {
        self.devices.lock().ok()?.get(device_id).cloned()
    }

    /// Every device id, sorted.
    pub fn device_ids(&self) -> Vec<String> {
        self.devices
            .lock()
            .map(|d| d.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn with_device<T>(
        &self,
        device: &DeviceHandle,
        change: impl FnOnce(&mut MemoryDevice) -> T,
    ) -> Result<T, SinkError> {
        let mut devices = self.devices.lock().map_err(|_| SinkError::Unavailable {
            sink: "memory",
            detail: "poisoned lock".to_owned(),
        })?;
        let entry = devices
            .get_mut(&device.device_id)
            .ok_or_else(|| SinkError::Rejected {
                sink: "memory",
                what: format!("a write to unknown device {}", device.device_id),
            })?;
        Ok(change(entry))
    }
}

#[async_trait]
impl Sink for MemorySink {
    async fn ensure_device(&self, device_id: &str) -> Result<DeviceHandle, SinkError> {
        if let Ok(mut devices) = self.devices.lock() {
            devices.entry(device_id.to_owned()).or_default();
        }
        Ok(DeviceHandle {
            device_id: device_id.to_owned(),
            key: device_id.to_owned(),
        })
    }

    async fn write_hours(&self, device: &DeviceHandle, rows: &[HourRow]) -> Result<(), SinkError> {
        self.with_device(device, |entry| {
            for row in rows {
                entry.hours.insert(row.end, row.cumulative);
                entry.writes += 1;
            }
        })
    }

    async fn write_days(&self, device: &DeviceHandle, rows: &[DayRow]) -> Result<(), SinkError> {
        self.with_device(device, |entry| {
            for row in rows {
                entry.days.insert(row.date, row.totals);
                entry.writes += 1;
            }
        })
    }

    async fn write_dashboard(
        &self,
        device: &DeviceHandle,
        row: &DashboardRow,
    ) -> Result<(), SinkError> {
        self.with_device(device, |entry| {
            entry.dashboard = Some(*row);
            entry.timed_out = false;
            entry.writes += 1;
        })
    }

    async fn mark_timed_out(&self, device: &DeviceHandle) -> Result<(), SinkError> {
        self.with_device(device, |entry| entry.timed_out = true)
    }
}

impl fmt::Display for MemorySink {
    /// Per device: the day rows as a table (date, HP kWh, HC kWh, production kWh) and the
    /// dashboard values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Ok(devices) = self.devices.lock() else {
            return Ok(());
        };
        for (device_id, device) in devices.iter() {
            writeln!(f, "device {device_id}")?;
            writeln!(
                f,
                "  {:<10}  {:>10}  {:>10}  {:>14}",
                "date", "HP kWh", "HC kWh", "production kWh"
            )?;
            for (date, totals) in &device.days {
                let [u1, u2, r1, r2] = totals.in_order().map(|e| e.as_kwh());
                writeln!(f, "  {date}  {u1:>10.3}  {u2:>10.3}  {:>14.3}", r1 + r2)?;
            }
            match &device.dashboard {
                Some(row) => writeln!(
                    f,
                    "  dashboard: U1 {:.3} kWh, U2 {:.3} kWh, R1 {:.3} kWh, R2 {:.3} kWh, peak {} VA",
                    row.u1_wh / 1000.0,
                    row.u2_wh / 1000.0,
                    row.r1_wh / 1000.0,
                    row.r2_wh / 1000.0,
                    row.cons_va
                )?,
                None => writeln!(f, "  dashboard: not written (missing data for the period)")?,
            }
            if !device.hours.is_empty() {
                writeln!(f, "  hour rows: {}", device.hours.len())?;
            }
        }
        Ok(())
    }
}
