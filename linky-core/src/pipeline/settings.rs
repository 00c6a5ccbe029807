//! The settings of a sync's output: history windows and the two dashboard displays.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A dashboard period, relative to yesterday `Y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// Yesterday: `Y 00:00 < t <= today 00:00`.
    Day,
    /// The current week: after Monday 00:00 of `Y`'s week.
    CurrentWeek,
    /// The seven days before the current week.
    LastWeek,
    /// The current month: after the 1st of `Y`'s month, 00:00.
    CurrentMonth,
    /// The month before the current one.
    LastMonth,
    /// The current year: after 1 January of `Y`'s year, 00:00.
    Year,
}

impl Period {
    const NAMES: [(Period, &'static str); 6] = [
        (Period::Day, "day"),
        (Period::CurrentWeek, "cweek"),
        (Period::LastWeek, "lweek"),
        (Period::CurrentMonth, "cmonth"),
        (Period::LastMonth, "lmonth"),
        (Period::Year, "year"),
    ];

    /// The original plugin's name: `day`, `cweek`, `lweek`, `cmonth`, `lmonth`, `year`.
    pub fn as_str(self) -> &'static str {
        Period::NAMES
            .iter()
            .find(|(period, _)| *period == self)
            .map_or("day", |(_, name)| name)
    }

    fn from_name(name: &str) -> Option<Period> {
        Period::NAMES
            .iter()
            .find(|(_, known)| *known == name)
            .map(|(period, _)| *period)
    }

    /// The days of history the period needs (7 for the current week, 14 last week, 32
    /// current month, 63 last month, 366 year; 2 for yesterday).
    pub const fn days_needed(self) -> u16 {
        match self {
            Period::Day => 2,
            Period::CurrentWeek => 7,
            Period::LastWeek => 14,
            Period::CurrentMonth => 32,
            Period::LastMonth => 63,
            Period::Year => 366,
        }
    }
}

/// What the secondary display shows of each energy series over a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Statistic {
    /// The sum.
    Value,
    /// The largest hour.
    Max,
    /// The mean per hour with data.
    Mean,
}

/// The main display (`peak_<period>`): the largest daily maximum power of the period.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MainDisplay {
    /// The period.
    pub period: Period,
}

impl Default for MainDisplay {
    /// `peak_day`.
    fn default() -> MainDisplay {
        MainDisplay {
            period: Period::Day,
        }
    }
}

/// The secondary display (`value_day`, `max_cweek`, `mean_lmonth`...): a statistic of the
/// four energy series over a period.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecondaryDisplay {
    /// The statistic.
    pub statistic: Statistic,
    /// The period.
    pub period: Period,
}

impl Default for SecondaryDisplay {
    /// `value_day`.
    fn default() -> SecondaryDisplay {
        SecondaryDisplay {
            statistic: Statistic::Value,
            period: Period::Day,
        }
    }
}

fn unknown_display(text: &str) -> Error {
    Error::UnknownDisplay {
        text: text.chars().take(40).collect(),
    }
}

impl FromStr for MainDisplay {
    type Err = Error;

    /// Reads `peak_day`, `peak_cweek`, `peak_lweek`, `peak_cmonth`, `peak_lmonth`,
    /// `peak_year`.
    fn from_str(text: &str) -> Result<MainDisplay, Error> {
        text.trim()
            .strip_prefix("peak_")
            .and_then(Period::from_name)
            .map(|period| MainDisplay { period })
            .ok_or_else(|| unknown_display(text))
    }
}

impl FromStr for SecondaryDisplay {
    type Err = Error;

    /// Reads `value_`, `max_` or `mean_` followed by a period name.
    fn from_str(text: &str) -> Result<SecondaryDisplay, Error> {
        let (statistic, period) = text
            .trim()
            .split_once('_')
            .ok_or_else(|| unknown_display(text))?;
        let statistic = match statistic {
            "value" => Statistic::Value,
            "max" => Statistic::Max,
            "mean" => Statistic::Mean,
            _ => return Err(unknown_display(text)),
        };
        let period = Period::from_name(period).ok_or_else(|| unknown_display(text))?;
        Ok(SecondaryDisplay { statistic, period })
    }
}

impl fmt::Display for MainDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "peak_{}", self.period.as_str())
    }
}

impl fmt::Display for SecondaryDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let statistic = match self.statistic {
            Statistic::Value => "value",
            Statistic::Max => "max",
            Statistic::Mean => "mean",
        };
        write!(f, "{statistic}_{}", self.period.as_str())
    }
}

/// How much history a sync writes and fetches, validated by [`HistorySettings::new`]
/// (its fields cannot be set otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistorySettings {
    hours_days: u16,
    days: u16,
    peak_days: u16,
    hours_by_day: bool,
}

/// A setting that was out of range or too small, and what it became.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SettingWarning {
    /// The setting's name.
    pub setting: &'static str,
    /// The value given.
    pub given: i64,
    /// The value used.
    pub used: i64,
    /// Why.
    pub reason: &'static str,
}

impl fmt::Display for SettingWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} set to {} instead of {}: {}",
            self.setting, self.used, self.given, self.reason
        )
    }
}

impl HistorySettings {
    /// Days of hourly history to write (0 to 7; 0 writes no hour rows; as many as
    /// [`HistorySettings::days`] after [`HistorySettings::covering_all_hours`]).
    pub const fn hours_days(&self) -> u16 {
        self.hours_days
    }

    /// The same settings, with hour rows over the whole history: for a sink that keeps
    /// hourly history as long as daily history (a time-series database), where Domoticz
    /// keeps a week at most. The hour rows then follow the day rows exactly: each day's
    /// hours, from the one ending at its 01:00 to the one ending at the next 00:00, so that
    /// the newest day's hours add up to its day row (the original's window, which
    /// Domoticz keeps, stops before the hour ending at today 00:00).
    ///
    /// ```
    /// use linky_core::HistorySettings;
    /// let settings = HistorySettings::default().covering_all_hours();
    /// assert_eq!(settings.hours_days(), settings.days());
    /// assert!(settings.hours_by_day());
    /// assert!(!HistorySettings::default().hours_by_day());
    /// ```
    pub const fn covering_all_hours(mut self) -> HistorySettings {
        self.hours_days = self.days;
        self.hours_by_day = true;
        self
    }

    /// Whether hour rows are the day rows' own hours (see
    /// [`HistorySettings::covering_all_hours`]): ending in `(first day 00:00, today
    /// 00:00]`, rather than the original's `[first day 00:00, today 00:00)`.
    pub const fn hours_by_day(&self) -> bool {
        self.hours_by_day
    }

    /// Days of history for the day rows (2 to 730), raised to cover the secondary
    /// display's period.
    pub const fn days(&self) -> u16 {
        self.days
    }

    /// Days of daily maximum power the main display needs.
    pub const fn peak_days(&self) -> u16 {
        self.peak_days
    }

    /// The defaults of the original: 7 days of hours, 7 days of history.
    pub const DEFAULT_HOURS_DAYS: i64 = 7;
    /// See [`HistorySettings::DEFAULT_HOURS_DAYS`].
    pub const DEFAULT_DAYS: i64 = 7;

    /// Validates the settings: out-of-range values are clamped (hours 0 to 7, days 2 to
    /// 730), `days` is raised to cover the secondary display's period, and every change
    /// comes back as a warning the caller can show.
    ///
    /// ```
    /// use linky_core::{HistorySettings, MainDisplay, SecondaryDisplay};
    /// let (settings, warnings) = HistorySettings::new(9, 10, MainDisplay::default(), "value_lmonth".parse().unwrap());
    /// assert_eq!((settings.hours_days(), settings.days()), (7, 63));
    /// assert_eq!(warnings.len(), 2);
    /// ```
    pub fn new(
        hours_days: i64,
        days: i64,
        main: MainDisplay,
        secondary: SecondaryDisplay,
    ) -> (HistorySettings, Vec<SettingWarning>) {
        let mut warnings = Vec::new();
        let mut clamp = |setting, given: i64, low: i64, high: i64| {
            let used = given.clamp(low, high);
            if used != given {
                warnings.push(SettingWarning {
                    setting,
                    given,
                    used,
                    reason: "out of range",
                });
            }
            used
        };
        let hours_days = clamp("hours_days", hours_days, 0, 7);
        let clamped_days = clamp("days", days, 2, 730);
        let needed = i64::from(secondary.period.days_needed());
        let days = if clamped_days < needed {
            warnings.push(SettingWarning {
                setting: "days",
                given: clamped_days,
                used: needed,
                reason: "raised to cover the secondary display's period",
            });
            needed
        } else {
            clamped_days
        };
        (
            HistorySettings {
                hours_days: hours_days as u16,
                days: days as u16,
                peak_days: main.period.days_needed(),
                hours_by_day: false,
            },
            warnings,
        )
    }
}

impl Default for HistorySettings {
    fn default() -> HistorySettings {
        HistorySettings::new(
            HistorySettings::DEFAULT_HOURS_DAYS,
            HistorySettings::DEFAULT_DAYS,
            MainDisplay::default(),
            SecondaryDisplay::default(),
        )
        .0
    }
}
