//! What a sync is told to do.

use linky_core::{
    CallingHours, HistorySettings, HolidayZone, MainDisplay, OffPeakConfig, SecondaryDisplay,
};
// The docs' links name the run's other types.
#[allow(unused_imports)]
use super::*;

/// What a sync is told to do: [`SyncSettings::new`] or the default, then the `with_`
/// methods.
///
/// ```
/// use linky_domoticz::SyncSettings;
/// let settings = SyncSettings::new("22h00-6h00".parse().unwrap()).with_production(false);
/// assert!(settings.offpeak.has_two_tariffs("22516914714270"));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SyncSettings {
    /// The off-peak schedule.
    pub offpeak: OffPeakConfig,
    /// Whose public holidays count.
    pub holiday_zone: HolidayZone,
    /// Validated history settings.
    pub history: HistorySettings,
    /// The main dashboard display.
    pub main: MainDisplay,
    /// The secondary dashboard display.
    pub secondary: SecondaryDisplay,
    /// When calls are allowed.
    pub calling_hours: CallingHours,
    /// Whether to fetch production too.
    pub production: bool,
    /// Whether a usage point without a section in `offpeak` takes the off-peak hours of
    /// its contract (asked at most once a week, kept with their dates in the state).
    pub contract_hours: bool,
    /// The user's offer and subscribed power (kVA): each device's daily cost is written.
    pub costs: Option<(linky_core::Offer, u32)>,
}

impl SyncSettings {
    /// The settings a recorded run had (its schedule, history windows and whether it
    /// asked for production), to replay it as it ran.
    ///
    /// ```
    /// # #[cfg(feature = "replay")] {
    /// let mut info = linky_enedis::ReplayInfo::new(
    ///     chrono::NaiveDate::from_ymd_opt(2024, 11, 15).unwrap().and_hms_opt(9, 30, 0).unwrap(),
    ///     vec!["22516914714270".to_owned()],
    ///     7,
    ///     linky_enedis::Outcome::Success,
    /// );
    /// info.offpeak = "22h00-6h00".to_owned();
    /// let settings = linky_domoticz::SyncSettings::from_replay(&info).unwrap();
    /// assert_eq!(settings.history.days(), 7);
    /// assert!(settings.production);
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// The session's schedule's mistake.
    #[cfg(feature = "replay")]
    pub fn from_replay(
        info: &linky_enedis::ReplayInfo,
    ) -> Result<SyncSettings, linky_core::ScheduleError> {
        Ok(SyncSettings::new(info.schedule()?)
            .with_history(info.history())
            .with_production(info.production))
    }

    /// The defaults with `offpeak` as the schedule.
    pub fn new(offpeak: OffPeakConfig) -> SyncSettings {
        SyncSettings {
            offpeak,
            ..SyncSettings::default()
        }
    }

    /// With `offpeak` as the schedule.
    pub fn with_offpeak(mut self, offpeak: OffPeakConfig) -> SyncSettings {
        self.offpeak = offpeak;
        self
    }

    /// With `zone`'s public holidays.
    pub fn with_holiday_zone(mut self, zone: HolidayZone) -> SyncSettings {
        self.holiday_zone = zone;
        self
    }

    /// With `history` (validated by [`HistorySettings::new`], given the displays).
    pub fn with_history(mut self, history: HistorySettings) -> SyncSettings {
        self.history = history;
        self
    }

    /// With these displays; the history is validated again for them (its warnings are
    /// dropped: validate with [`HistorySettings::new`] to show them).
    pub fn with_displays(mut self, main: MainDisplay, secondary: SecondaryDisplay) -> SyncSettings {
        self.main = main;
        self.secondary = secondary;
        self.history = HistorySettings::new(
            i64::from(self.history.hours_days()),
            i64::from(self.history.days()),
            main,
            secondary,
        )
        .0;
        self
    }

    /// With these calling hours.
    pub fn with_calling_hours(mut self, hours: CallingHours) -> SyncSettings {
        self.calling_hours = hours;
        self
    }

    /// Whether to fetch production too.
    pub fn with_production(mut self, production: bool) -> SyncSettings {
        self.production = production;
        self
    }

    /// Whether a usage point for which `offpeak` says nothing takes the off-peak hours
    /// Enedis has on record for it (its contract; the user's schedule always wins). The
    /// contract is asked at most once every [`CONTRACT_CHECK_DAYS`] days; each text is
    /// kept in the state with the day it holds from (the contract's last tariff change),
    /// so that a change splits the days after it by the new hours and leaves the days
    /// before it alone. A text that cannot be read is a warning (a [`SyncEvent`] and a
    /// note of the device's report), never a silent single tariff. Off by default: one
    /// more request per usage point and week.
    pub fn with_contract_hours(mut self, contract_hours: bool) -> SyncSettings {
        self.contract_hours = contract_hours;
        self
    }

    /// With the user's `offer` at `kva`: each device's day rows come with their cost
    /// ([`crate::CostDayRow`], subscription included, exact), written through
    /// [`Sink::write_cost_days`]. A Tempo offer is costed on the days whose colours the
    /// run knows (see [`SyncRun::colour_source`]); a day without a price is skipped.
    pub fn with_costs(mut self, offer: linky_core::Offer, kva: u32) -> SyncSettings {
        self.costs = Some((offer, kva));
        self
    }
}

impl Default for SyncSettings {
    fn default() -> SyncSettings {
        SyncSettings {
            offpeak: OffPeakConfig::default(),
            holiday_zone: HolidayZone::Metropole,
            history: HistorySettings::default(),
            main: MainDisplay::default(),
            secondary: SecondaryDisplay::default(),
            calling_hours: CallingHours::default(),
            production: true,
            contract_hours: false,
            costs: None,
        }
    }
}
