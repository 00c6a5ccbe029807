//! A sink in memory: for tests and dry runs. It keeps what a Domoticz would keep (one
//! row per date, the last write wins) and counts every write.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use linky_core::{DashboardRow, DayRow, DeviceId, HourRow, MeterEnergies};

use crate::{DeviceHandle, Sink, SinkError};

/// What one device received.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct MemoryDevice {
    /// Each hour's energies by the instant it ends (the fall-back day's two hours
    /// labelled 02:00-03:00 are two entries; a rewrite replaces).
    pub hours: BTreeMap<DateTime<Utc>, MeterEnergies>,
    /// Day rows by date.
    pub days: BTreeMap<NaiveDate, MeterEnergies>,
    /// The last dashboard row.
    pub dashboard: Option<DashboardRow>,
    /// Whether the device was last marked timed out.
    pub timed_out: bool,
    /// How many rows were written in all (rewrites included).
    pub writes: usize,
    /// Tempo day rows by date (six classes).
    pub colour_days: BTreeMap<NaiveDate, [linky_core::Energy; 6]>,
    /// Daily costs by date.
    pub cost_days: BTreeMap<NaiveDate, linky_core::Money>,
    /// Tempo hour rows by the instant they end (a sink that keeps all hours gets them).
    pub colour_hours: BTreeMap<DateTime<Utc>, [linky_core::Energy; 6]>,
    /// Hourly costs by the instant they end.
    pub cost_hours: BTreeMap<DateTime<Utc>, crate::CostHourRow>,
    /// What the sync last said the device shows.
    pub info: Option<crate::DeviceInfo>,
}

/// A sink that records everything.
#[derive(Debug, Default)]
pub struct MemorySink {
    devices: Mutex<BTreeMap<String, MemoryDevice>>,
    forecasts: Mutex<Vec<crate::ColourForecast>>,
}

impl MemorySink {
    /// An empty sink.
    ///
    /// ```
    /// use linky_core::{DayRow, MeterEnergies};
    /// use linky_domoticz::{MemorySink, Sink};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let sink = MemorySink::new();
    /// let device = sink.ensure_device(&"22516914714270".parse().unwrap()).await.unwrap();
    /// let date = chrono::NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
    /// let row = DayRow { date, totals: MeterEnergies::default(), hours_with_data: 24, peak: None };
    /// sink.write_days(&device, &[row.clone()]).await.unwrap();
    /// sink.write_days(&device, &[row]).await.unwrap(); // the same day again: replaced
    /// assert_eq!(sink.device("22516914714270").unwrap().days.len(), 1);
    /// # });
    /// ```
    pub fn new() -> MemorySink {
        MemorySink::default()
    }

    /// What `device_id` received so far.
    pub fn device(&self, device_id: &str) -> Option<MemoryDevice> {
        self.devices.lock().ok()?.get(device_id).cloned()
    }

    /// Every colour forecast written, oldest first.
    pub fn colour_forecasts(&self) -> Vec<crate::ColourForecast> {
        self.forecasts.lock().map(|f| f.clone()).unwrap_or_default()
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
        let mut devices = self.devices.lock().map_err(poisoned)?;
        let entry = devices
            .get_mut(&device.key)
            .ok_or_else(|| SinkError::Rejected {
                sink: "memory",
                what: format!("a write to unknown device {}", device.device_id),
            })?;
        Ok(change(entry))
    }
}

/// A lock a panicking writer left behind, as a sink error.
fn poisoned<T>(_: T) -> SinkError {
    SinkError::Unavailable {
        sink: "memory",
        detail: "poisoned lock".to_owned(),
    }
}

#[async_trait]
impl Sink for MemorySink {
    async fn ensure_device(&self, device_id: &DeviceId) -> Result<DeviceHandle, SinkError> {
        let key = device_id.to_string();
        if let Ok(mut devices) = self.devices.lock() {
            devices.entry(key.clone()).or_default();
        }
        Ok(DeviceHandle {
            device_id: device_id.clone(),
            key,
        })
    }

    async fn write_hours(&self, device: &DeviceHandle, rows: &[HourRow]) -> Result<(), SinkError> {
        self.with_device(device, |entry| {
            for row in rows {
                entry.hours.insert(row.end_utc, row.energies);
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

    async fn write_colour_days(
        &self,
        device: &DeviceHandle,
        rows: &[crate::ColourDayRow],
    ) -> Result<(), SinkError> {
        self.with_device(device, |entry| {
            for row in rows {
                entry.colour_days.insert(row.date, row.energies);
                entry.writes += 1;
            }
        })
    }

    async fn describe_device(
        &self,
        device: &DeviceHandle,
        info: &crate::DeviceInfo,
    ) -> Result<(), SinkError> {
        self.with_device(device, |entry| entry.info = Some(info.clone()))
    }

    async fn write_colour_hours(
        &self,
        device: &DeviceHandle,
        rows: &[crate::ColourHourRow],
    ) -> Result<(), SinkError> {
        self.with_device(device, |entry| {
            for row in rows {
                entry.colour_hours.insert(row.end_utc, row.energies);
                entry.writes += 1;
            }
        })
    }

    async fn write_cost_hours(
        &self,
        device: &DeviceHandle,
        rows: &[crate::CostHourRow],
    ) -> Result<(), SinkError> {
        self.with_device(device, |entry| {
            for row in rows {
                entry.cost_hours.insert(row.end_utc, row.clone());
                entry.writes += 1;
            }
        })
    }

    async fn write_cost_days(
        &self,
        device: &DeviceHandle,
        rows: &[crate::CostDayRow],
    ) -> Result<(), SinkError> {
        self.with_device(device, |entry| {
            for row in rows {
                entry.cost_days.insert(row.date, row.cost);
                entry.writes += 1;
            }
        })
    }

    async fn write_colour_forecast(
        &self,
        forecast: &crate::ColourForecast,
    ) -> Result<(), SinkError> {
        self.forecasts
            .lock()
            .map_err(poisoned)?
            .push(forecast.clone());
        Ok(())
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
                let [u1, u2, r1, r2] = totals.in_order().map(|e| e.as_kwh_f64());
                writeln!(f, "  {date}  {u1:>10.3}  {u2:>10.3}  {:>14.3}", r1 + r2)?;
            }
            match &device.dashboard {
                Some(row) => writeln!(
                    f,
                    "  dashboard: U1 {:.3} kWh, U2 {:.3} kWh, R1 {:.3} kWh, R2 {:.3} kWh, peak {} VA",
                    row.u1.as_kwh_f64(),
                    row.u2.as_kwh_f64(),
                    row.r1.as_kwh_f64(),
                    row.r2.as_kwh_f64(),
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
