#![doc = include_str!("../README.md")]
//!
//! # The crate
//!
//! Pure logic for French Linky smart-meter data.
//!
//! linky-core turns what Enedis measures into what people want to see, without any I/O:
//! no network, no files, no clock. "Now", the time zone and the holiday zone are always
//! parameters, so everything here is deterministic and testable.
//!
//! - [`UsagePointId`], [`Flow`], [`Tariff`]: the identifiers every layer shares;
//! - [`Energy`], [`Power`], [`ApparentPower`]: quantities kept apart by type, energies
//!   exact to the milliwatt-minute;
//! - [`LoadCurve`]: readings stamped in local time placed on the real time line, DST
//!   included, with a [`QualityReport`] of everything that did not fit;
//! - [`HourBucket`], [`DayBucket`]: hours and 23/24/25-hour days;
//! - [`holiday_on`], [`is_holiday`]: French public holidays by [`HolidayZone`];
//! - [`OffPeakConfig`]: the off-peak schedule language, its canonical form, its weekly
//!   [`Timetable`], and the [`CompiledSchedule`] that answers "which tariff, until when";
//! - [`Clock`]: time as a run sees it (a trait; [`ManualClock`] for tests), so that
//!   every decision that depends on time can be driven by a test.
#![deny(missing_docs)]
// docs.rs (nightly, `--cfg docsrs`) marks each item behind a feature with that feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod buckets;
mod clock;
mod colours;
mod curve;
mod error;
mod holidays;
mod ids;
mod live;
mod offpeak;
mod pipeline;
mod plan;
mod prices;
mod source;
mod split;
mod units;

pub use buckets::{DayBucket, HourBucket, days_of_hours, hours_in_day};
pub use clock::{Clock, ManualClock};
pub use colours::{
    ColourCalendar, ColourFileError, ColourSource, ColourSplit, DayColour, FallbackColours,
    TEMPO_CLASSES, TEMPO_RED_DAYS, TEMPO_WHITE_DAYS, TempoClassifier, UnknownColour, colour_day,
    colour_final_at, recolour, split_by_colour, tempo_class, tempo_season_start,
};
pub use curve::{
    Anomaly, AnomalyKind, CurveChunks, Interval, IntervalLength, LoadCurve, LoadCurveBuilder,
    MAX_PLAUSIBLE_POWER, PARIS, QualityReport, Reading, parse_duration_minutes,
};
pub use error::Error;
pub use holidays::{Holiday, HolidayZone, easter_sunday, holiday_on, holidays_in_year, is_holiday};
pub use ids::{DeviceId, Flow, Tariff, UsagePointId};
pub use live::{
    ClassEnergies, ClassIndexes, HourComparison, IndexAnomaly, IndexHour, IndexHours, LiveReading,
    class_tariff, compare_hours,
};
/// The off-peak schedule, as parsed: the name the docs use for [`OffPeakConfig`] (one
/// concept, three types by stage: a [`Schedule`] is written and parsed, a
/// [`CompiledSchedule`] answers for one device and flow, a [`ScheduleError`] says where the
/// text is wrong).
pub type Schedule = OffPeakConfig;
pub use offpeak::{
    CompiledSchedule, ContractHoursError, DatedPart, DayKind, END_OF_DAY, MERGED_DEVICE_SEPARATOR,
    OffPeakConfig, Part, ScheduleError, ScheduleErrorKind, Season, Section, TimeRange, Timetable,
    parse_contract_hours, pdl_for_flow,
};
pub use pipeline::{
    DashboardRow, DayRow, DeviceData, DeviceDataBuilder, DeviceHour, DeviceRows, HistorySettings,
    HourRow, MIN_HOURS_FOR_A_DAY, MainDisplay, MeterEnergies, Period, PowerPeak, RunSettings,
    SecondaryDisplay, SettingWarning, Statistic, device_rows, merge_device, merged_devices,
    merged_pairs, period_bounds, year_totals,
};
pub use plan::{
    CallingHours, EARLIEST_HOUR_FOR_TODAY, FetchRequest, HistoryState, Measurement, PlanLimits,
    RETRY_AFTER_CEILING, RetryPolicy, RunOutcome, SHORT_HISTORY_DAYS, history_after_run,
    history_window, next_run, plan_fetches, retry_not_before, shift_days, shift_days_time,
};
pub use prices::{
    CompareSettings, Comparison, DayCost, EnergyPrice, LeftOut, MONEY_UNITS_PER_EURO, Money, Offer,
    OfferCost, OfferKind, PeriodCost, PriceBook, PriceFileError, PricePeriod, Subscription,
    YearMonth, compare_offers, costs_by_month, costs_by_year,
};
pub use source::{
    ContractHours, ReadingSource, SourceData, SourceError, SourceErrorKind, SourceEvent,
};
pub use split::{
    SingleTariff, SplitCurve, SplitDay, SplitHour, SplitInterval, SplitMonth, TariffClassifier,
    tariff_class,
};
pub use units::{ApparentPower, Energy, Power};

/// Re-exported so that callers name the same time-zone type as linky-core.
pub use chrono_tz::Tz;

/// Re-exported: the public API speaks chrono's types (`NaiveDate`, `NaiveDateTime`,
/// `DateTime<Utc>`); `linky_core::chrono` is the very version it was built with.
pub use chrono;

/// Re-exported for implementers of [`ReadingSource`] and [`Clock`], whose async methods
/// are written with it: `#[linky_core::async_trait]`.
pub use async_trait::async_trait;
