//! The sink trait: where a device's rows go.

use async_trait::async_trait;
use chrono::NaiveDate;
use linky_core::{DashboardRow, DayRow, DeviceId, HourRow};

use crate::SinkError;

/// A device in a sink: its id (a PDL or `C / P`) and the sink's own key for it (a
/// Domoticz idx).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeviceHandle {
    /// The device: a PDL, or a merged `C / P`.
    pub device_id: DeviceId,
    /// The sink's key for the device.
    pub key: String,
}

/// A day whose stored totals differ from what was written.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDayMismatch {
    /// The day.
    pub date: NaiveDate,
    /// What was written, in Wh: U1, U2, R1, R2.
    pub written_wh: [i64; 4],
    /// What the sink holds, in Wh (absent when the day is missing).
    pub stored_wh: Option<[i64; 4]>,
}

/// Where rows are written. Object-safe: a sync holds a `&dyn Sink`.
///
/// Rows are typed and exact ([`HourRow`] holds cumulative energies, [`DayRow`] a day's
/// totals, [`DashboardRow`] the live value); each sink turns them into its own form.
/// Writes are upserts by date, so writing the same rows again changes nothing.
#[async_trait]
pub trait Sink: Send + Sync {
    /// Finds or creates the device for `device_id`.
    async fn ensure_device(&self, device_id: &DeviceId) -> Result<DeviceHandle, SinkError>;

    /// Writes hour rows (each hour's own energies, in time order; a sink whose log holds
    /// counters takes [`HourRow::running_totals`]).
    async fn write_hours(&self, device: &DeviceHandle, rows: &[HourRow]) -> Result<(), SinkError>;

    /// Writes day rows (each day's totals).
    async fn write_days(&self, device: &DeviceHandle, rows: &[DayRow]) -> Result<(), SinkError>;

    /// Writes the dashboard (live) value, after the history.
    async fn write_dashboard(
        &self,
        device: &DeviceHandle,
        row: &DashboardRow,
    ) -> Result<(), SinkError>;

    /// Marks the device as not updated (its data is stale).
    async fn mark_timed_out(&self, device: &DeviceHandle) -> Result<(), SinkError>;

    /// Whether the sink keeps hourly history as long as daily history (a time-series
    /// database does): the sync then writes hour rows over the whole history, not only
    /// the last [`linky_core::HistorySettings::hours_days`] (a Domoticz short log keeps a
    /// week at most). The default says no.
    fn keeps_all_hours(&self) -> bool {
        false
    }

    /// Reads back the day rows the sink holds and reports those that differ from `rows`
    /// (a sink that may drop writes silently, as Domoticz does, implements it; the default
    /// trusts the writes).
    async fn verify_days(
        &self,
        _device: &DeviceHandle,
        _rows: &[DayRow],
    ) -> Result<Vec<StoredDayMismatch>, SinkError> {
        Ok(Vec::new())
    }
}
