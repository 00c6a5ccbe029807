//! From load curves to device rows: hour and day rows, the dashboard, merged devices and
//! the history settings.

mod dashboard;
mod merge;
mod rows;
mod settings;

pub use dashboard::{DashboardRow, period_bounds};
pub use merge::{merge_device, merged_devices, merged_pairs, year_totals};
pub use rows::{
    DayRow, DeviceData, DeviceDataBuilder, DeviceHour, DeviceRows, HourRow, MIN_HOURS_FOR_A_DAY,
    MeterEnergies, PowerPeak, RunSettings, device_rows,
};
pub use settings::{
    HistorySettings, MainDisplay, Period, SecondaryDisplay, SettingWarning, Statistic,
};
