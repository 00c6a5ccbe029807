//! The sink trait: where a device's rows go.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use linky_core::{DashboardRow, DayColour, DayRow, DeviceId, Energy, HourRow, Money};

use crate::SinkError;

/// A device in a sink: its id (a PDL or `C / P`) and the sink's own key for it (a
/// Domoticz idx).
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeviceHandle {
    /// The device: a PDL, or a merged `C / P`.
    pub device_id: DeviceId,
    /// The sink's key for the device.
    pub key: String,
}

impl DeviceHandle {
    /// The handle of `device_id`, under the sink's own `key` for it (an idx, a table's
    /// row id, a series name).
    ///
    /// ```
    /// use linky_core::DeviceId;
    /// use linky_domoticz::DeviceHandle;
    /// let device: DeviceId = "22516914714270".parse().unwrap();
    /// let handle = DeviceHandle::new(device.clone(), "linky_22516914714270");
    /// assert_eq!(handle.device_id, device);
    /// ```
    pub fn new(device_id: DeviceId, key: impl Into<String>) -> DeviceHandle {
        DeviceHandle {
            device_id,
            key: key.into(),
        }
    }
}

/// A day whose stored totals differ from what was written.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDayMismatch {
    /// The day.
    pub date: NaiveDate,
    /// What was written, in Wh: U1, U2, R1, R2.
    pub written_wh: [i64; 4],
    /// What the sink holds, in Wh (absent when the day is missing).
    pub stored_wh: Option<[i64; 4]>,
}

/// A day's consumption in Tempo's six classes ([`linky_core::TEMPO_CLASSES`] order: blue
/// peak, blue off-peak, white peak, white off-peak, red peak, red off-peak).
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColourDayRow {
    /// The local day.
    pub date: NaiveDate,
    /// The energy of each class.
    pub energies: [Energy; 6],
}

/// An hour's consumption in Tempo's six classes (the [`linky_core::TEMPO_CLASSES`] order):
/// each hour lies in one class (colour days run from 06:00, off-peak from 22:00), so the
/// hour's energy is in one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ColourHourRow {
    /// The hour's end, as an instant.
    pub end_utc: DateTime<Utc>,
    /// The hour's end, in local time.
    pub end: NaiveDateTime,
    /// The energy of each class.
    pub energies: [Energy; 6],
}

impl ColourHourRow {
    /// The hour ending at `end_utc` (`end` local) with each class's energy.
    pub fn new(end_utc: DateTime<Utc>, end: NaiveDateTime, energies: [Energy; 6]) -> ColourHourRow {
        ColourHourRow {
            end_utc,
            end,
            energies,
        }
    }
}

/// What an hour cost with the user's offer: the energy of each class at its price that
/// day, in the order of the energy series it pairs with ([`DeviceInfo::costs`]),
/// and the day's subscription in the first hour of each local day (zero in the others).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CostHourRow {
    /// The hour's end, as an instant.
    pub end_utc: DateTime<Utc>,
    /// The hour's end, in local time.
    pub end: NaiveDateTime,
    /// The energy's cost per class.
    pub classes: Vec<Money>,
    /// The subscription's share, in the day's first hour.
    pub subscription: Money,
}

impl CostHourRow {
    /// Energy of every class and subscription.
    pub fn total(&self) -> Money {
        self.classes.iter().copied().sum::<Money>() + self.subscription
    }
}

/// Which classes a device's hourly costs are split into (see [`CostHourRow`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CostClasses {
    /// The consumption's peak and off-peak hours of the user's schedule (a Base or HP/HC
    /// offer), or its one class when the schedule has a single tariff.
    PeakOffPeak,
    /// Tempo's six classes.
    Tempo,
}

/// What a device shows, told to the sink before its rows: which series it will get.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceInfo {
    /// Whether its schedule has two tariffs (else every hour is in the first class).
    pub two_tariffs: bool,
    /// Whether it shows consumption.
    pub consumption: bool,
    /// Whether it shows production.
    pub production: bool,
    /// Whether it gets Tempo rows ([`Sink::write_colour_hours`]).
    pub tempo: bool,
    /// The offer its costs are computed with, and their classes, when it gets costs.
    pub costs: Option<(String, CostClasses)>,
}

impl DeviceInfo {
    /// A device showing `consumption` and/or `production`, with two tariffs or one, no
    /// Tempo, no costs.
    pub fn new(two_tariffs: bool, consumption: bool, production: bool) -> DeviceInfo {
        DeviceInfo {
            two_tariffs,
            consumption,
            production,
            tempo: false,
            costs: None,
        }
    }

    /// With Tempo rows.
    pub fn with_tempo(mut self, tempo: bool) -> DeviceInfo {
        self.tempo = tempo;
        self
    }

    /// With costs of `offer`, split into `classes`.
    pub fn with_costs(mut self, offer: impl Into<String>, classes: CostClasses) -> DeviceInfo {
        self.costs = Some((offer.into(), classes));
        self
    }
}

/// What a day cost with the user's offer, subscription included.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostDayRow {
    /// The local day.
    pub date: NaiveDate,
    /// Its cost.
    pub cost: Money,
    /// The offer it was costed with.
    pub offer: String,
}

/// Today's and tomorrow's day colours (Tempo) as the sync knows them when it runs: what a
/// home automation acts on (heating down on a red day). Tomorrow's colour is published
/// around 11:00 the day before; until then it is `None`, never guessed.
///
/// Plain data, kept open on purpose: its fields are what it is, and a sink's tests build it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColourForecast {
    /// Today's colour day (local date): from 06:00 to 06:00 the next day, as the colour's
    /// tariff runs, so the day before's date from midnight to 06:00
    /// ([`linky_core::colour_day`]).
    pub today: NaiveDate,
    /// Today's colour, if known.
    pub today_colour: Option<DayColour>,
    /// Tomorrow's colour, if published.
    pub tomorrow_colour: Option<DayColour>,
    /// The days of each colour (blue, white, red) the Tempo season (from 1 September) has
    /// used up to today included, as far as the colours kept tell: a season has 22 red
    /// and 43 white days.
    pub season_used: [u32; 3],
    /// The season's days up to today whose colour is not kept (the counts miss them).
    pub season_unknown: u32,
    /// Every colour the sync keeps (its history window, tomorrow's when published), for a
    /// sink that keeps a dated series of them.
    pub calendar: linky_core::ColourCalendar,
}

/// Where rows are written. Object-safe: a sync holds a `&dyn Sink`.
///
/// Rows are typed and exact ([`HourRow`] holds cumulative energies, [`DayRow`] a day's
/// totals, [`DashboardRow`] the live value); each sink turns them into its own form.
/// Writes are upserts by date, so writing the same rows again changes nothing: a sync
/// re-sends the days of its window at every run, and after a crash.
///
/// **Writing one.** The trait is declared with [`async_trait`](linky_core::async_trait),
/// so rustdoc shows each method as returning `Pin<Box<dyn Future ...>>`; write them as
/// `async fn` under `#[linky_core::async_trait]`. Five methods are required; the others
/// have defaults that ignore what a sink does not show (Tempo, costs, forecasts) or trust
/// the writes (`verify_days`). Which [`SinkError`] to return is said on that type.
///
/// ```
/// use std::collections::BTreeMap;
/// use std::sync::Mutex;
/// use linky_core::{DashboardRow, DayRow, DeviceId, HourRow, MeterEnergies};
/// use linky_domoticz::{DeviceHandle, Sink, SinkError};
///
/// /// Each device's day totals (U1, U2, R1, R2, exact), by date: an upsert.
/// #[derive(Default)]
/// struct Totals(Mutex<BTreeMap<(String, chrono::NaiveDate), MeterEnergies>>);
///
/// #[linky_core::async_trait]
/// impl Sink for Totals {
///     async fn ensure_device(&self, device_id: &DeviceId) -> Result<DeviceHandle, SinkError> {
///         Ok(DeviceHandle::new(device_id.clone(), device_id.to_string()))
///     }
///     async fn write_hours(&self, _: &DeviceHandle, _: &[HourRow]) -> Result<(), SinkError> {
///         Ok(()) // days only
///     }
///     async fn write_days(&self, device: &DeviceHandle, rows: &[DayRow]) -> Result<(), SinkError> {
///         let mut totals = self.0.lock().map_err(|e| SinkError::other("totals", e.to_string()))?;
///         for row in rows {
///             // The same day written again replaces it.
///             totals.insert((device.key.clone(), row.date), row.totals);
///         }
///         Ok(())
///     }
///     async fn write_dashboard(&self, _: &DeviceHandle, _: &DashboardRow) -> Result<(), SinkError> {
///         Ok(())
///     }
///     async fn mark_timed_out(&self, _: &DeviceHandle) -> Result<(), SinkError> {
///         Ok(())
///     }
/// }
/// # let _ = Totals::default();
/// ```
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

    /// Writes a device's Tempo day rows (a sync with a colour source sends them for the
    /// days whose colours are known). The default ignores them: a sink that shows
    /// Tempo's counters implements it.
    async fn write_colour_days(
        &self,
        _device: &DeviceHandle,
        _rows: &[ColourDayRow],
    ) -> Result<(), SinkError> {
        Ok(())
    }

    /// Tells the sink what `device` shows before its rows are written (at every run). The
    /// default ignores it; a sink whose series depend on it (one per tariff class, Tempo,
    /// costs) keeps it.
    async fn describe_device(
        &self,
        _device: &DeviceHandle,
        _info: &DeviceInfo,
    ) -> Result<(), SinkError> {
        Ok(())
    }

    /// Writes a device's Tempo hours (a sync with a colour source sends them for the hours
    /// of its hour rows whose colours are known, to a sink that keeps all hours). The
    /// default ignores them.
    async fn write_colour_hours(
        &self,
        _device: &DeviceHandle,
        _rows: &[ColourHourRow],
    ) -> Result<(), SinkError> {
        Ok(())
    }

    /// Writes a device's hourly costs (a sync with an offer sends them for the hours of
    /// its hour rows, to a sink that keeps all hours). The default ignores them.
    async fn write_cost_hours(
        &self,
        _device: &DeviceHandle,
        _rows: &[CostHourRow],
    ) -> Result<(), SinkError> {
        Ok(())
    }

    /// Writes a device's daily costs (a sync with an offer sends them). The default
    /// ignores them.
    async fn write_cost_days(
        &self,
        _device: &DeviceHandle,
        _rows: &[CostDayRow],
    ) -> Result<(), SinkError> {
        Ok(())
    }

    /// Writes today's and tomorrow's colours (a sync with a colour source sends them at
    /// every run, after the devices' rows; they belong to no device). The default ignores
    /// them.
    async fn write_colour_forecast(&self, _forecast: &ColourForecast) -> Result<(), SinkError> {
        Ok(())
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

/// The language of the names a sink gives what it creates in a home automation
/// (statistics, entities).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum NameLanguage {
    /// `Linky 22516914714270 consommation, heures pleines`.
    #[default]
    French,
    /// `Linky 22516914714270 consumption, peak hours`.
    English,
}
