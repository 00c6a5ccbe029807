//! The off-peak schedule language: the "Heures creuses" line of text,
//! parsed into a typed configuration, printed back in a canonical form, explained as a
//! weekly timetable, and looked up minute by minute, plainly or through a compiled form.
//!
//! Hours may change over time: `from DATE` / `until DATE` open a dated part, `summer` /
//! `winter` (`été` / `hiver`) a season, each a whole schedule of its own; each local day
//! uses the schedule in force on it (see [`OffPeakConfig`] for the rule).
//!
//! ```
//! use chrono::NaiveDate;
//! use linky_core::{CompiledSchedule, Flow, HolidayZone, OffPeakConfig, Tariff};
//! let config: OffPeakConfig = "22h-6h du 01/11/2025 23h-7h été 2h-7h 12h-15h".parse().unwrap();
//! assert_eq!(
//!     config.to_string(),
//!     "22:00-06:00 from 2025-11-01 23:00-07:00 summer 02:00-07:00 12:00-15:00"
//! );
//! let schedule = CompiledSchedule::new(&config, "22516914714270", Flow::Consumption, HolidayZone::Metropole);
//! let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
//! // 22:30 is off-peak before the change, peak after it; noon is off-peak in summer 2026.
//! assert_eq!(schedule.tariff_at(day(2025, 10, 31), 22 * 60 + 30).0, Tariff::OffPeak);
//! assert_eq!(schedule.tariff_at(day(2025, 11, 3), 22 * 60 + 30).0, Tariff::Peak);
//! assert_eq!(schedule.tariff_at(day(2026, 3, 31), 12 * 60).0, Tariff::Peak);
//! assert_eq!(schedule.tariff_at(day(2026, 4, 1), 12 * 60).0, Tariff::OffPeak);
//! ```

//!
//! # Ends of the day and empty ranges
//!
//! `24h00` and `23h59` as an END mean the end of the day (users write `00h00-23h59` for
//! "the whole day"): `0h-23h59` and `0h-24h` are the whole day. As a begin, a time is what
//! it says (`23h59-6h` begins at 23:59). A range written with the same begin and end holds
//! no minute, whatever the time: `22h-22h` is empty, and so is `23:59-23h59` (neither the
//! day's last minute nor the whole day); both print as `00:00-00:00`.
//!
//! ```
//! use linky_core::OffPeakConfig;
//! let whole: OffPeakConfig = "0h-23h59".parse().unwrap();
//! assert_eq!(whole.to_string(), "00:00-24:00");
//! let late: OffPeakConfig = "23h59-6h".parse().unwrap();
//! assert_eq!(late.to_string(), "23:59-06:00");
//! for empty in ["23:59-23h59", "22h-22h"] {
//!     assert_eq!(empty.parse::<OffPeakConfig>().unwrap().to_string(), "00:00-00:00");
//! }
//! ```

mod compiled;
mod enedis;
mod error;
mod explain;
mod grammar;
mod model;

use std::str::FromStr;

pub use compiled::{CompiledSchedule, DayKind};
pub use enedis::{ContractHoursError, parse_contract_hours};
pub use error::{ScheduleError, ScheduleErrorKind};
pub use explain::Timetable;
pub use model::{
    DatedPart, END_OF_DAY, MERGED_DEVICE_SEPARATOR, OffPeakConfig, Part, Season, Section,
    TimeRange, pdl_for_flow,
};

impl FromStr for OffPeakConfig {
    type Err = ScheduleError;

    /// Parses the off-peak text. The empty text is valid: no off-peak at all.
    ///
    /// # Errors
    ///
    /// A [`ScheduleError`] naming the first offending word, its column and what was
    /// expected. Parsing takes time linear in the text's length, whatever the text.
    fn from_str(text: &str) -> Result<OffPeakConfig, ScheduleError> {
        grammar::parse(text)
    }
}
