//! The statistics a device's rows make, without I/O: their ids and names, each hour's
//! value in exact integer units, and the rows a run must import given what Home Assistant
//! holds (the stored sum continued, a changed hour rewritten with every later sum).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use linky_core::{DeviceId, Energy, Money};

use crate::{ColourHourRow, CostClasses, CostHourRow, DeviceInfo, NameLanguage};

/// The `source` of every statistic the sink writes (the part before `:` of their ids).
pub const SOURCE: &str = "linky";

/// What a statistic counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unit {
    /// Energy, written in Wh with three decimals (whole mWh).
    Energy,
    /// Money, written in EUR with six decimals (whole micro-euros).
    Money,
}

impl Unit {
    /// The unit of measurement Home Assistant is told.
    pub(super) fn symbol(self) -> &'static str {
        match self {
            Unit::Energy => "Wh",
            Unit::Money => "EUR",
        }
    }

    /// Home Assistant's unit class (newer metadata form).
    pub(super) fn class(self) -> Option<&'static str> {
        match self {
            Unit::Energy => Some("energy"),
            Unit::Money => None,
        }
    }

    /// Integer units in one unit of measurement.
    pub(super) fn scale(self) -> f64 {
        match self {
            Unit::Energy => 1_000.0,
            Unit::Money => 1_000_000.0,
        }
    }

    /// A value as written (a number of the unit of measurement).
    pub(super) fn value(self, units: i64) -> f64 {
        units as f64 / self.scale()
    }

    /// A value read back, in integer units.
    pub(super) fn units(self, value: f64) -> i64 {
        (value * self.scale()).round() as i64
    }
}

/// An energy in whole mWh (rounded, halves away from zero).
pub(super) fn milliwatt_hours(energy: Energy) -> i64 {
    let minutes = energy.milliwatt_minutes();
    let rounded = (minutes.abs() + 30) / 60;
    if minutes < 0 { -rounded } else { rounded }
}

/// An amount in whole micro-euros (rounded, halves away from zero).
pub(super) fn micro_euros(money: Money) -> i64 {
    let per_micro = linky_core::MONEY_UNITS_PER_EURO / 1_000_000;
    let units = money.units();
    let rounded = (units.abs() + per_micro / 2) / per_micro;
    (if units < 0 { -rounded } else { rounded }) as i64
}

/// One statistic and its hourly values (by the hour's start, in ms since the epoch).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Series {
    /// `linky:<device slug>_<what>`.
    pub(super) id: String,
    /// Its readable name.
    pub(super) name: String,
    pub(super) unit: Unit,
    pub(super) hours: BTreeMap<i64, i64>,
}

/// The statistic id of `device`'s series `what` (`consumption_hp`, `cost`...).
pub(super) fn statistic_id(device: &DeviceId, what: &str) -> String {
    format!("{SOURCE}:{}_{what}", device.slug())
}

/// Whether `id` is a valid external statistic id (`source:object`, each half of
/// `[a-z0-9_]`, no `_` at either end of a half, no `__`).
pub(super) fn valid_statistic_id(id: &str) -> bool {
    let Some((source, object)) = id.split_once(':') else {
        return false;
    };
    [source, object].iter().all(|half| {
        !half.is_empty()
            && half
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !half.starts_with('_')
            && !half.ends_with('_')
            && !half.contains("__")
    })
}

/// The words of a series' name.
fn words(what: &str, language: NameLanguage) -> String {
    let french = language == NameLanguage::French;
    let mut parts: Vec<&str> = Vec::new();
    for word in what.split('_') {
        parts.push(match (word, french) {
            ("consumption", true) => "consommation",
            ("consumption", false) => "consumption",
            ("production", _) => "production",
            ("hp", true) => "heures pleines",
            ("hp", false) => "peak hours",
            ("hc", true) => "heures creuses",
            ("hc", false) => "off-peak hours",
            ("tempo", _) => "Tempo",
            ("blue", true) => "bleu",
            ("white", true) => "blanc",
            ("red", true) => "rouge",
            ("blue", false) => "blue",
            ("white", false) => "white",
            ("red", false) => "red",
            ("cost", true) => "coût",
            ("cost", false) => "cost",
            (other, _) => other,
        });
    }
    // "consommation, heures pleines"; "Tempo bleu, heures creuses"; "coût, consommation".
    let mut text = String::new();
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            let before_class = part.contains("heures") || part.contains("hours");
            let after_cost = parts[index - 1] == "coût" || parts[index - 1] == "cost";
            text.push_str(if before_class || after_cost {
                ", "
            } else {
                " "
            });
        }
        text.push_str(part);
    }
    text
}

/// A series' readable name: `Linky <device> <words>`.
pub(super) fn name(device: &DeviceId, what: &str, language: NameLanguage) -> String {
    format!("Linky {device} {}", words(what, language))
}

/// The classes of a flow's hourly series: two (peak, off-peak) or one (both summed).
fn flow_series(flow: &str, two_tariffs: bool) -> Vec<(String, [bool; 2])> {
    if two_tariffs {
        vec![
            (format!("{flow}_hp"), [true, false]),
            (format!("{flow}_hc"), [false, true]),
        ]
    } else {
        vec![(flow.to_owned(), [true, true])]
    }
}

fn start_ms(end_utc: DateTime<Utc>) -> i64 {
    end_utc.timestamp_millis() - 3_600_000
}

fn new_series(device: &DeviceId, what: &str, unit: Unit, language: NameLanguage) -> Series {
    Series {
        id: statistic_id(device, what),
        name: name(device, what, language),
        unit,
        hours: BTreeMap::new(),
    }
}

/// The energy series of `rows`: per flow the device shows, its classes.
pub(super) fn energy_series(
    device: &DeviceId,
    info: &DeviceInfo,
    rows: &[linky_core::HourRow],
    language: NameLanguage,
) -> Vec<Series> {
    let mut all = Vec::new();
    for (flow, shown) in [
        ("consumption", info.consumption),
        ("production", info.production),
    ] {
        if !shown {
            continue;
        }
        for (what, classes) in flow_series(flow, info.two_tariffs) {
            let mut series = new_series(device, &what, Unit::Energy, language);
            for row in rows {
                let pair = if flow == "consumption" {
                    row.energies.consumption
                } else {
                    row.energies.production
                };
                let energy: Energy = pair
                    .iter()
                    .zip(classes)
                    .filter(|(_, taken)| *taken)
                    .map(|(energy, _)| *energy)
                    .sum();
                series
                    .hours
                    .insert(start_ms(row.end_utc), milliwatt_hours(energy));
            }
            all.push(series);
        }
    }
    all
}

/// Tempo's six classes, in [`linky_core::TEMPO_CLASSES`] order, as series names.
pub(super) const TEMPO_SERIES: [&str; 6] = [
    "tempo_blue_hp",
    "tempo_blue_hc",
    "tempo_white_hp",
    "tempo_white_hc",
    "tempo_red_hp",
    "tempo_red_hc",
];

/// The six Tempo series of `rows` (every class has a row in every hour with data).
pub(super) fn tempo_series(
    device: &DeviceId,
    rows: &[ColourHourRow],
    language: NameLanguage,
) -> Vec<Series> {
    TEMPO_SERIES
        .iter()
        .enumerate()
        .map(|(class, what)| {
            let mut series = new_series(device, what, Unit::Energy, language);
            for row in rows {
                series
                    .hours
                    .insert(start_ms(row.end_utc), milliwatt_hours(row.energies[class]));
            }
            series
        })
        .collect()
}

/// The cost series of `rows`: the total (subscription included) and one per class, named
/// after the energy series it pairs with.
pub(super) fn cost_series(
    device: &DeviceId,
    info: &DeviceInfo,
    rows: &[CostHourRow],
    language: NameLanguage,
) -> Vec<Series> {
    let Some((_, classes)) = &info.costs else {
        return Vec::new();
    };
    let mut total = new_series(device, "cost", Unit::Money, language);
    for row in rows {
        total
            .hours
            .insert(start_ms(row.end_utc), micro_euros(row.total()));
    }
    let per_class: Vec<(String, Vec<usize>)> = match classes {
        CostClasses::Tempo => TEMPO_SERIES
            .iter()
            .enumerate()
            .map(|(class, what)| (format!("cost_{what}"), vec![class]))
            .collect(),
        _ => {
            if info.two_tariffs {
                vec![
                    ("cost_consumption_hp".to_owned(), vec![0]),
                    ("cost_consumption_hc".to_owned(), vec![1]),
                ]
            } else {
                vec![("cost_consumption".to_owned(), vec![0, 1])]
            }
        }
    };
    let mut all = vec![total];
    for (what, taken) in per_class {
        let mut series = new_series(device, &what, Unit::Money, language);
        for row in rows {
            let money: Money = taken
                .iter()
                .filter_map(|class| row.classes.get(*class).copied())
                .sum();
            series
                .hours
                .insert(start_ms(row.end_utc), micro_euros(money));
        }
        all.push(series);
    }
    all
}

/// One row as Home Assistant stores it: the hour's value and the running sum, in integer
/// units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct StoredRow {
    pub(super) state: i64,
    pub(super) sum: i64,
}

/// The rows to import for `hours` (by start), continuing `base` (the sum of the last row
/// before the first hour), given what is `stored` over the same hours: from the first hour
/// whose value or sum differs (or is missing) to the last, with their sums; nothing when
/// every hour is already there.
///
/// An hour without energy (or cost) gets no row unless one is stored there (then it is
/// rewritten to 0): Home Assistant computes an hour's change from the closest earlier
/// row, so a missing row and a row of 0 mean the same, and its recorder writes about
/// 1 500 rows a second, row by row; most of Tempo's and the costs' class rows are 0 (an
/// hour lies in one class).
pub(super) fn rows_to_import(
    hours: &BTreeMap<i64, i64>,
    base: i64,
    stored: &BTreeMap<i64, StoredRow>,
) -> Vec<(i64, StoredRow)> {
    let mut sum = base;
    let mut rows = Vec::with_capacity(hours.len());
    let mut first_difference = None;
    for (start, state) in hours {
        sum += state;
        let row = StoredRow { state: *state, sum };
        let held = stored.get(start);
        if *state == 0 && held.is_none() {
            continue;
        }
        if first_difference.is_none() && held != Some(&row) {
            first_difference = Some(rows.len());
        }
        rows.push((*start, row));
    }
    match first_difference {
        Some(from) => rows.split_off(from),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_names_and_units() {
        let meter: DeviceId = "22516914714270".parse().unwrap();
        let merged: DeviceId = "22516914714270 / 10284856584123".parse().unwrap();
        assert_eq!(
            statistic_id(&meter, "consumption_hp"),
            "linky:22516914714270_consumption_hp"
        );
        assert!(valid_statistic_id(&statistic_id(&merged, "tempo_red_hc")));
        assert!(!valid_statistic_id("linky:a__b"));
        assert!(!valid_statistic_id("linky:HP"));
        assert!(!valid_statistic_id("linky:_x"));
        assert_eq!(
            name(&meter, "consumption_hp", NameLanguage::French),
            "Linky 22516914714270 consommation, heures pleines"
        );
        assert_eq!(
            name(&merged, "tempo_white_hc", NameLanguage::English),
            "Linky 22516914714270 / 10284856584123 Tempo white, off-peak hours"
        );
        assert_eq!(
            name(&meter, "cost_consumption_hc", NameLanguage::French),
            "Linky 22516914714270 coût, consommation, heures creuses"
        );
        assert_eq!(
            name(&meter, "cost", NameLanguage::English),
            "Linky 22516914714270 cost"
        );
        assert_eq!(milliwatt_hours(Energy::from_milliwatt_minutes(90)), 2);
        assert_eq!(milliwatt_hours(Energy::from_milliwatt_minutes(89)), 1);
        assert_eq!(micro_euros(Money::from_cents(123)), 1_230_000);
        assert_eq!(Unit::Energy.value(1_234_567), 1234.567);
        assert_eq!(Unit::Money.units(0.000_001), 1);
    }

    #[test]
    fn a_run_imports_from_the_first_hour_that_differs() {
        let hours: BTreeMap<i64, i64> = [(0, 100), (1, 200), (2, 300)].into();
        let row = |state, sum| StoredRow { state, sum };
        // Nothing stored: every hour, continuing the base.
        let all = rows_to_import(&hours, 1000, &BTreeMap::new());
        assert_eq!(
            all,
            [
                (0, row(100, 1100)),
                (1, row(200, 1300)),
                (2, row(300, 1600))
            ]
        );
        // All there: nothing.
        let stored: BTreeMap<i64, StoredRow> = all.iter().copied().collect();
        assert!(rows_to_import(&hours, 1000, &stored).is_empty());
        // The second hour changed: it and every later sum.
        let changed: BTreeMap<i64, i64> = [(0, 100), (1, 250), (2, 300)].into();
        assert_eq!(
            rows_to_import(&changed, 1000, &stored),
            [(1, row(250, 1350)), (2, row(300, 1650))]
        );
        // An hour without energy gets no row, unless one is stored there.
        let sparse: BTreeMap<i64, i64> = [(0, 100), (1, 0), (2, 300)].into();
        assert_eq!(
            rows_to_import(&sparse, 0, &BTreeMap::new()),
            [(0, row(100, 100)), (2, row(300, 400))]
        );
        assert_eq!(
            rows_to_import(&sparse, 1000, &stored),
            [(1, row(0, 1100)), (2, row(300, 1400))]
        );
    }
}
