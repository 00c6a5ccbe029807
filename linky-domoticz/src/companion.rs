//! A sink beside the main one: everything the sync writes goes to both, and the
//! companion's failures never stop or fail the sync.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use linky_core::{DashboardRow, DayRow, DeviceId, HourRow};

use crate::{
    ColourDayRow, ColourForecast, ColourHourRow, CostDayRow, CostHourRow, DeviceHandle, DeviceInfo,
    Sink, SinkError, StoredDayMismatch,
};

/// Writes to a main sink and, beside it, to a companion (an MQTT broker beside Domoticz
/// or Home Assistant's statistics). The main sink decides: its answers are the sync's,
/// it says whether all hours are kept, it verifies the days. The companion gets every
/// write too; what it refuses is logged and kept in [`WithCompanion::companion_failures`],
/// never stopping the sync (a broker down must not hold up the history).
///
/// ```
/// use linky_domoticz::{MemorySink, Sink, WithCompanion};
/// # tokio_test_block(async {
/// let (main, beside) = (MemorySink::new(), MemorySink::new());
/// let both = WithCompanion::new(&main, &beside);
/// let device = "22516914714270".parse().unwrap();
/// let handle = both.ensure_device(&device).await.unwrap();
/// both.write_days(&handle, &[]).await.unwrap();
/// assert!(both.companion_failures().is_empty());
/// # });
/// # fn tokio_test_block(future: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(future)
/// # }
/// ```
pub struct WithCompanion<'a> {
    main: &'a dyn Sink,
    companion: &'a dyn Sink,
    handles: Mutex<HashMap<DeviceId, DeviceHandle>>,
    failures: Mutex<Vec<SinkError>>,
}

impl std::fmt::Debug for WithCompanion<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WithCompanion")
            .field("failures", &self.companion_failures().len())
            .finish_non_exhaustive()
    }
}

impl<'a> WithCompanion<'a> {
    /// `main`, with `companion` beside it.
    pub fn new(main: &'a dyn Sink, companion: &'a dyn Sink) -> WithCompanion<'a> {
        WithCompanion {
            main,
            companion,
            handles: Mutex::new(HashMap::new()),
            failures: Mutex::new(Vec::new()),
        }
    }

    /// What the companion refused so far.
    pub fn companion_failures(&self) -> Vec<SinkError> {
        self.failures.lock().map(|f| f.clone()).unwrap_or_default()
    }

    fn failed(&self, what: &str, error: SinkError) {
        tracing::warn!(%error, what, "the companion sink refused a write");
        if let Ok(mut failures) = self.failures.lock() {
            failures.push(error);
        }
    }

    /// The companion's handle of `device`'s device (ensured on first use).
    async fn companion_handle(&self, device: &DeviceHandle) -> Option<DeviceHandle> {
        let known = self
            .handles
            .lock()
            .ok()
            .and_then(|handles| handles.get(&device.device_id).cloned());
        if known.is_some() {
            return known;
        }
        match self.companion.ensure_device(&device.device_id).await {
            Ok(handle) => {
                if let Ok(mut handles) = self.handles.lock() {
                    handles.insert(device.device_id.clone(), handle.clone());
                }
                Some(handle)
            }
            Err(error) => {
                self.failed("ensure_device", error);
                None
            }
        }
    }
}

/// Calls the companion with its own handle of the device; its error is kept, not given.
macro_rules! beside {
    ($self:ident, $device:ident, $what:literal, |$handle:ident| $call:expr) => {
        if let Some($handle) = $self.companion_handle($device).await {
            let $handle = &$handle;
            if let Err(error) = $call.await {
                $self.failed($what, error);
            }
        }
    };
}

#[async_trait]
impl Sink for WithCompanion<'_> {
    async fn ensure_device(&self, device_id: &DeviceId) -> Result<DeviceHandle, SinkError> {
        let handle = self.main.ensure_device(device_id).await?;
        self.companion_handle(&handle).await;
        Ok(handle)
    }

    async fn write_hours(&self, device: &DeviceHandle, rows: &[HourRow]) -> Result<(), SinkError> {
        let result = self.main.write_hours(device, rows).await;
        beside!(self, device, "write_hours", |handle| self
            .companion
            .write_hours(handle, rows));
        result
    }

    async fn write_days(&self, device: &DeviceHandle, rows: &[DayRow]) -> Result<(), SinkError> {
        let result = self.main.write_days(device, rows).await;
        beside!(self, device, "write_days", |handle| self
            .companion
            .write_days(handle, rows));
        result
    }

    async fn write_dashboard(
        &self,
        device: &DeviceHandle,
        row: &DashboardRow,
    ) -> Result<(), SinkError> {
        let result = self.main.write_dashboard(device, row).await;
        beside!(self, device, "write_dashboard", |handle| self
            .companion
            .write_dashboard(handle, row));
        result
    }

    async fn mark_timed_out(&self, device: &DeviceHandle) -> Result<(), SinkError> {
        let result = self.main.mark_timed_out(device).await;
        beside!(self, device, "mark_timed_out", |handle| self
            .companion
            .mark_timed_out(handle));
        result
    }

    fn keeps_all_hours(&self) -> bool {
        self.main.keeps_all_hours()
    }

    async fn write_colour_days(
        &self,
        device: &DeviceHandle,
        rows: &[ColourDayRow],
    ) -> Result<(), SinkError> {
        let result = self.main.write_colour_days(device, rows).await;
        beside!(self, device, "write_colour_days", |handle| self
            .companion
            .write_colour_days(handle, rows));
        result
    }

    async fn describe_device(
        &self,
        device: &DeviceHandle,
        info: &DeviceInfo,
    ) -> Result<(), SinkError> {
        let result = self.main.describe_device(device, info).await;
        beside!(self, device, "describe_device", |handle| self
            .companion
            .describe_device(handle, info));
        result
    }

    async fn write_colour_hours(
        &self,
        device: &DeviceHandle,
        rows: &[ColourHourRow],
    ) -> Result<(), SinkError> {
        let result = self.main.write_colour_hours(device, rows).await;
        beside!(self, device, "write_colour_hours", |handle| self
            .companion
            .write_colour_hours(handle, rows));
        result
    }

    async fn write_cost_hours(
        &self,
        device: &DeviceHandle,
        rows: &[CostHourRow],
    ) -> Result<(), SinkError> {
        let result = self.main.write_cost_hours(device, rows).await;
        beside!(self, device, "write_cost_hours", |handle| self
            .companion
            .write_cost_hours(handle, rows));
        result
    }

    async fn write_cost_days(
        &self,
        device: &DeviceHandle,
        rows: &[CostDayRow],
    ) -> Result<(), SinkError> {
        let result = self.main.write_cost_days(device, rows).await;
        beside!(self, device, "write_cost_days", |handle| self
            .companion
            .write_cost_days(handle, rows));
        result
    }

    async fn write_colour_forecast(&self, forecast: &ColourForecast) -> Result<(), SinkError> {
        let result = self.main.write_colour_forecast(forecast).await;
        if let Err(error) = self.companion.write_colour_forecast(forecast).await {
            self.failed("write_colour_forecast", error);
        }
        result
    }

    async fn verify_days(
        &self,
        device: &DeviceHandle,
        rows: &[DayRow],
    ) -> Result<Vec<StoredDayMismatch>, SinkError> {
        self.main.verify_days(device, rows).await
    }
}
