#![doc = include_str!("../README.md")]
//!
//! # The crate
//!
//! Writing Linky data into home-automation systems, Domoticz first.
//!
//! - [`Sink`]: the small, object-safe trait every target implements (ensure a device,
//!   write typed hour rows, day rows and the dashboard value, mark a device timed out),
//!   with typed errors that tell "retry later" ([`SinkError::is_retryable`]) from "this
//!   will never work";
//! - [`MemorySink`]: records everything, prints the day tables (tests, dry runs);
//! - [`DomoticzSink`]: a Domoticz P1 meter over the JSON API: version check, device
//!   provisioning, dated writes in whole Wh with dates checked before sending,
//!   authentication, and a read-back to verify what was stored;
//! - [`DomoticzEmulator`]: a Domoticz 2025.1 stand-in on 127.0.0.1 for tests, with its
//!   pitfalls (writes answered OK then dropped, connections closed after each answer
//!   unless kept alive);
//! - [`hour_svalue`], [`day_svalue`], [`dashboard_svalue`], [`validate_svalue`]: the
//!   sValue strings.
#![deny(missing_docs)]
// docs.rs (nightly, `--cfg docsrs`) marks each item behind a feature with that feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod companion;
#[cfg(feature = "domoticz")]
mod domoticz;
mod emulator;
mod error;
#[cfg(feature = "home-assistant")]
mod home_assistant;
#[cfg(feature = "line-protocol")]
mod line_protocol;
mod memory;
#[cfg(feature = "mqtt")]
mod mqtt;
mod secret;
mod sink;
mod state;
mod svalue;
mod sync;

pub use companion::WithCompanion;
#[cfg(feature = "domoticz")]
pub use domoticz::{DomoticzAuth, DomoticzConfig, DomoticzSink};
pub use emulator::{DomoticzEmulator, EmulatorBuilder, EmulatorState};
pub use error::{SinkError, SinkSource};
#[cfg(feature = "home-assistant")]
pub use home_assistant::{
    EmulatedStatistic, EnergyDashboardChange, HomeAssistantConfig, HomeAssistantEmulator,
    HomeAssistantEmulatorState, HomeAssistantSink, MEAN_TYPE_SINCE, SOURCE,
};
#[cfg(feature = "line-protocol")]
pub use line_protocol::{LineProtocolConfig, LineProtocolServer, LineProtocolSink};
pub use memory::{MemoryDevice, MemorySink};
#[cfg(feature = "mqtt")]
pub use mqtt::{MqttConfig, MqttSink};
pub use secret::Password;
pub use sink::{
    ColourDayRow, ColourForecast, ColourHourRow, CostClasses, CostDayRow, CostHourRow,
    DeviceHandle, DeviceInfo, NameLanguage, Sink, StoredDayMismatch,
};
pub use state::{
    ContractHoursEntry, ContractHoursHistory, MemoryState, StateDir, StateError, StateStore,
    StoredDays, StoredKind, StoredValue, SyncMeta,
};
pub use svalue::{dashboard_svalue, day_svalue, hour_svalue, validate_svalue};

/// Re-exported for implementers of [`Sink`] and [`StateStore`]:
/// `#[linky_domoticz::async_trait]`.
pub use async_trait::async_trait;
/// Re-exported: the rows, device ids and sources this crate's API speaks.
pub use linky_core;
pub use sync::{
    CONTRACT_CHECK_DAYS, CancelToken, ColourRefresh, DeviceReport, StopReason, SyncError,
    SyncEvent, SyncReport, SyncRun, SyncSettings,
};
