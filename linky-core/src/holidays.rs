//! French public holidays ("jours fériés"), by zone.
//!
//! The list is the one in force today, applied to every
//! year: the library classifies meter readings, which exist from 2010 on, and a rule that
//! changes with history (8 May was a working day from 1959 to 1981) would only make the
//! off-peak schedule harder to predict. The one dated rule kept is Saint-Martin's
//! 28 May from 2018. Easter is computed by the Gregorian computus, so every year
//! of the Gregorian calendar works; the tests cover 1900 to 2200.
//!
//! Each question costs a handful of integer operations ([`is_holiday`] is O(1), no
//! allocation), so the tariff splitter can ask for every minute of a year.

use chrono::{Datelike, NaiveDate};
use std::fmt;
use std::str::FromStr;

use crate::Error;

/// Where the holidays are those of: mainland France by default, or a zone with extra days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum HolidayZone {
    /// Mainland France ("Métropole"): the eleven national holidays.
    #[default]
    Metropole,
    /// Alsace and Moselle: adds Good Friday and 26 December.
    AlsaceMoselle,
    /// Guadeloupe: adds 27 May (abolition of slavery).
    Guadeloupe,
    /// Martinique: adds 22 May.
    Martinique,
    /// French Guiana (Guyane): adds 10 June.
    Guyane,
    /// La Réunion: adds 20 December.
    Reunion,
    /// Mayotte: adds 27 April.
    Mayotte,
    /// Saint-Martin: adds 28 May, from 2018.
    SaintMartin,
    /// Saint-Barthélemy: adds 9 October.
    SaintBarthelemy,
}

impl HolidayZone {
    /// Every zone, Metropole first.
    pub const ALL: [HolidayZone; 9] = [
        HolidayZone::Metropole,
        HolidayZone::AlsaceMoselle,
        HolidayZone::Guadeloupe,
        HolidayZone::Martinique,
        HolidayZone::Guyane,
        HolidayZone::Reunion,
        HolidayZone::Mayotte,
        HolidayZone::SaintMartin,
        HolidayZone::SaintBarthelemy,
    ];

    /// The setting's name: `metropole`, `alsace-moselle`, `guadeloupe`, `martinique`,
    /// `guyane`, `reunion`, `mayotte`, `saint-martin`, `saint-barthelemy`.
    pub const fn as_str(self) -> &'static str {
        match self {
            HolidayZone::Metropole => "metropole",
            HolidayZone::AlsaceMoselle => "alsace-moselle",
            HolidayZone::Guadeloupe => "guadeloupe",
            HolidayZone::Martinique => "martinique",
            HolidayZone::Guyane => "guyane",
            HolidayZone::Reunion => "reunion",
            HolidayZone::Mayotte => "mayotte",
            HolidayZone::SaintMartin => "saint-martin",
            HolidayZone::SaintBarthelemy => "saint-barthelemy",
        }
    }

    /// The zone's extra fixed day (abolition of slavery) as (month, day, first year).
    const fn abolition_day(self) -> Option<(u32, u32, i32)> {
        match self {
            HolidayZone::Metropole | HolidayZone::AlsaceMoselle => None,
            HolidayZone::Guadeloupe => Some((5, 27, i32::MIN)),
            HolidayZone::Martinique => Some((5, 22, i32::MIN)),
            HolidayZone::Guyane => Some((6, 10, i32::MIN)),
            HolidayZone::Reunion => Some((12, 20, i32::MIN)),
            HolidayZone::Mayotte => Some((4, 27, i32::MIN)),
            HolidayZone::SaintMartin => Some((5, 28, 2018)),
            HolidayZone::SaintBarthelemy => Some((10, 9, i32::MIN)),
        }
    }
}

impl fmt::Display for HolidayZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HolidayZone {
    type Err = Error;

    /// Reads a zone name as printed by `Display`, case-insensitively; accents, spaces and
    /// underscores are tolerated (`Alsace Moselle`, `la réunion`, `métropole`).
    fn from_str(text: &str) -> Result<HolidayZone, Error> {
        let folded: String = text
            .trim()
            .to_lowercase()
            .chars()
            .map(|c| match c {
                'é' | 'è' | 'ê' => 'e',
                ' ' | '_' => '-',
                other => other,
            })
            .collect();
        let folded = folded.strip_prefix("la-").unwrap_or(&folded);
        HolidayZone::ALL
            .into_iter()
            .find(|zone| zone.as_str() == folded)
            .ok_or_else(|| Error::UnknownHolidayZone {
                text: text.chars().take(40).collect(),
            })
    }
}

/// One public holiday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Holiday {
    /// 1 January.
    NewYear,
    /// Good Friday (Alsace-Moselle), Easter - 2 days.
    GoodFriday,
    /// Easter Monday, Easter + 1 day.
    EasterMonday,
    /// 1 May.
    LabourDay,
    /// 8 May.
    VictoryInEurope,
    /// Ascension, Easter + 39 days.
    Ascension,
    /// Whit Monday, Easter + 50 days.
    WhitMonday,
    /// 14 July.
    BastilleDay,
    /// 15 August.
    Assumption,
    /// 1 November.
    AllSaints,
    /// 11 November.
    Armistice,
    /// 25 December.
    Christmas,
    /// 26 December (Alsace-Moselle).
    SaintStephen,
    /// The abolition of slavery (overseas zones, each its own date).
    AbolitionOfSlavery,
}

impl Holiday {
    /// The French name, as on a calendar.
    pub const fn french_name(self) -> &'static str {
        match self {
            Holiday::NewYear => "Jour de l'an",
            Holiday::GoodFriday => "Vendredi saint",
            Holiday::EasterMonday => "Lundi de Pâques",
            Holiday::LabourDay => "Fête du Travail",
            Holiday::VictoryInEurope => "Victoire 1945",
            Holiday::Ascension => "Ascension",
            Holiday::WhitMonday => "Lundi de Pentecôte",
            Holiday::BastilleDay => "Fête nationale",
            Holiday::Assumption => "Assomption",
            Holiday::AllSaints => "Toussaint",
            Holiday::Armistice => "Armistice 1918",
            Holiday::Christmas => "Noël",
            Holiday::SaintStephen => "Saint-Étienne",
            Holiday::AbolitionOfSlavery => "Abolition de l'esclavage",
        }
    }
}

/// Easter Sunday of `year` in the Gregorian calendar (anonymous Gregorian algorithm,
/// "Meeus/Jones/Butcher"), or `None` for a year chrono cannot represent.
///
/// ```
/// use chrono::NaiveDate;
/// assert_eq!(linky_core::easter_sunday(2024), NaiveDate::from_ymd_opt(2024, 3, 31));
/// ```
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let (month, day) = easter_month_day(year);
    NaiveDate::from_ymd_opt(year, month, day)
}

/// The computus itself, on plain integers (Euclidean remainders keep it valid for any
/// year, although only the Gregorian era makes sense).
const fn easter_month_day(year: i32) -> (u32, u32) {
    let y = year as i64;
    let a = y.rem_euclid(19);
    let b = y.div_euclid(100);
    let c = y.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c.div_euclid(4);
    let k = c.rem_euclid(4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l).div_euclid(451);
    let month = (h + l - 7 * m + 114).div_euclid(31);
    let day = (h + l - 7 * m + 114).rem_euclid(31) + 1;
    (month as u32, day as u32)
}

/// The holiday falling on `date` in `zone`, if any.
///
/// ```
/// use chrono::NaiveDate;
/// use linky_core::{holiday_on, Holiday, HolidayZone};
/// let good_friday = NaiveDate::from_ymd_opt(2024, 3, 29).unwrap();
/// assert_eq!(holiday_on(good_friday, HolidayZone::Metropole), None);
/// assert_eq!(holiday_on(good_friday, HolidayZone::AlsaceMoselle), Some(Holiday::GoodFriday));
/// ```
pub fn holiday_on(date: NaiveDate, zone: HolidayZone) -> Option<Holiday> {
    let (month, day) = (date.month(), date.day());
    let fixed = match (month, day) {
        (1, 1) => Some(Holiday::NewYear),
        (5, 1) => Some(Holiday::LabourDay),
        (5, 8) => Some(Holiday::VictoryInEurope),
        (7, 14) => Some(Holiday::BastilleDay),
        (8, 15) => Some(Holiday::Assumption),
        (11, 1) => Some(Holiday::AllSaints),
        (11, 11) => Some(Holiday::Armistice),
        (12, 25) => Some(Holiday::Christmas),
        (12, 26) if zone == HolidayZone::AlsaceMoselle => Some(Holiday::SaintStephen),
        _ => None,
    };
    if fixed.is_some() {
        return fixed;
    }
    if let Some((abolition_month, abolition_day, from_year)) = zone.abolition_day()
        && (month, day) == (abolition_month, abolition_day)
        && date.year() >= from_year
    {
        return Some(Holiday::AbolitionOfSlavery);
    }
    // Every Easter-based holiday lies between 20 March (Good Friday at the earliest) and
    // 14 June (Whit Monday at the latest): skip the computus for the rest of the year.
    if !(3..=6).contains(&month) {
        return None;
    }
    let (easter_month, easter_day) = easter_month_day(date.year());
    let easter = NaiveDate::from_ymd_opt(date.year(), easter_month, easter_day)?;
    match date.signed_duration_since(easter).num_days() {
        -2 if zone == HolidayZone::AlsaceMoselle => Some(Holiday::GoodFriday),
        1 => Some(Holiday::EasterMonday),
        39 => Some(Holiday::Ascension),
        50 => Some(Holiday::WhitMonday),
        _ => None,
    }
}

/// Whether `date` is a public holiday in `zone`. O(1), no allocation.
pub fn is_holiday(date: NaiveDate, zone: HolidayZone) -> bool {
    holiday_on(date, zone).is_some()
}

/// Every holiday of `year` in `zone`, in date order. Two holidays can fall on the same
/// day (Ascension on 1 or 8 May): that day is listed once, under its fixed-date name.
pub fn holidays_in_year(year: i32, zone: HolidayZone) -> Vec<(NaiveDate, Holiday)> {
    let Some(first) = NaiveDate::from_ymd_opt(year, 1, 1) else {
        return Vec::new();
    };
    first
        .iter_days()
        .take_while(|date| date.year() == year)
        .filter_map(|date| holiday_on(date, zone).map(|holiday| (date, holiday)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn ascension_on_labour_day_keeps_the_fixed_name() {
        // Easter 2008 was 23 March: Ascension on 1 May.
        assert_eq!(easter_sunday(2008), Some(date("2008-03-23")));
        assert_eq!(
            holiday_on(date("2008-05-01"), HolidayZone::Metropole),
            Some(Holiday::LabourDay)
        );
        assert_eq!(holidays_in_year(2008, HolidayZone::Metropole).len(), 10);
    }

    #[test]
    fn saint_martin_gained_its_day_in_2018() {
        assert!(!is_holiday(date("2017-05-28"), HolidayZone::SaintMartin));
        assert!(is_holiday(date("2018-05-28"), HolidayZone::SaintMartin));
        assert!(!is_holiday(date("2018-05-28"), HolidayZone::Metropole));
    }

    #[test]
    fn zones_parse_from_their_names() {
        for zone in HolidayZone::ALL {
            assert_eq!(zone.as_str().parse::<HolidayZone>().unwrap(), zone);
        }
        assert_eq!(
            "Alsace Moselle".parse::<HolidayZone>().unwrap(),
            HolidayZone::AlsaceMoselle
        );
        assert_eq!(
            "La Réunion".parse::<HolidayZone>().unwrap(),
            HolidayZone::Reunion
        );
        assert_eq!(
            "Métropole".parse::<HolidayZone>().unwrap(),
            HolidayZone::Metropole
        );
        assert_eq!(
            "corse".parse::<HolidayZone>().unwrap_err().to_string(),
            "unknown holiday zone \"corse\": expected metropole, alsace-moselle, guadeloupe, \
             martinique, guyane, reunion, mayotte, saint-martin or saint-barthelemy"
        );
    }
}
