//! Tempo: six classes by day colour, the colour day from 06:00 to 06:00, days that wait
//! for a colour; hand-computed cases on both DST days and exactness properties.

use chrono::{NaiveDate, NaiveDateTime};
use linky_core::{
    ColourCalendar, DayColour, IntervalLength, LoadCurve, PARIS, Reading, SingleTariff,
    TEMPO_CLASSES, split_by_colour,
};
use proptest::prelude::*;

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn calendar(days: &[(&str, DayColour)]) -> ColourCalendar {
    let mut calendar = ColourCalendar::new();
    for (day, colour) in days {
        calendar.set(date(day), *colour);
    }
    calendar
}

/// A constant 1 kW over the given local days, PT30M.
fn curve(days: &[&str]) -> LoadCurve {
    let readings: Vec<Reading> = days
        .iter()
        .flat_map(|day| {
            super::time_model::readings_of_day(date(day), IntervalLength::PT30M, |_| 1000)
        })
        .collect();
    LoadCurve::builder(PARIS).build(&readings).0
}

/// Each kept day's six classes in kWh.
fn by_day(curve: &LoadCurve, calendar: &ColourCalendar) -> Vec<(String, [f64; 6])> {
    split_by_colour(curve, calendar)
        .split
        .days()
        .iter()
        .map(|day| {
            (
                day.date.to_string(),
                day.energy.map(|e| e.as_wh_f64() / 1000.0),
            )
        })
        .collect()
}

#[test]
fn the_colour_day_runs_from_six_to_six_on_both_dst_days() {
    use DayColour::{Blue, Red, White};
    // Spring forward (23 h): 00:00-06:00 has five real hours, in the Saturday's colour.
    let spring = calendar(&[("2025-03-29", White), ("2025-03-30", Blue)]);
    assert_eq!(
        by_day(&curve(&["2025-03-30"]), &spring),
        [("2025-03-30".to_owned(), [16.0, 2.0, 0.0, 5.0, 0.0, 0.0])]
    );
    // Fall back (25 h): seven real hours before 06:00.
    let fall = calendar(&[("2025-10-25", White), ("2025-10-26", Blue)]);
    assert_eq!(
        by_day(&curve(&["2025-10-26"]), &fall),
        [("2025-10-26".to_owned(), [16.0, 2.0, 0.0, 7.0, 0.0, 0.0])]
    );
    // A red Tuesday after a white Monday, then a blue Wednesday: each night in the colour
    // of the day that started the morning before.
    let week = calendar(&[
        ("2025-01-13", White),
        ("2025-01-14", Red),
        ("2025-01-15", Blue),
    ]);
    assert_eq!(
        by_day(&curve(&["2025-01-14", "2025-01-15"]), &week),
        [
            ("2025-01-14".to_owned(), [0.0, 0.0, 0.0, 6.0, 16.0, 2.0]),
            ("2025-01-15".to_owned(), [16.0, 2.0, 0.0, 0.0, 0.0, 6.0]),
        ]
    );
}

#[test]
fn a_day_whose_colour_is_unknown_waits_and_nothing_is_invented() {
    use DayColour::{Blue, Red};
    let days = ["2025-01-14", "2025-01-15", "2025-01-16"];
    // The 15th is not published: the 15th (its day) and the 16th (its night) wait.
    let known = calendar(&[
        ("2025-01-13", Blue),
        ("2025-01-14", Red),
        ("2025-01-16", Blue),
    ]);
    let split = split_by_colour(&curve(&days), &known);
    assert_eq!(split.waiting, [date("2025-01-15"), date("2025-01-16")]);
    let kept: Vec<String> = split
        .split
        .days()
        .iter()
        .map(|d| d.date.to_string())
        .collect();
    assert_eq!(kept, ["2025-01-14"]);
    // Published later: the same days split in full, the kept one unchanged.
    let mut later = known.clone();
    later.set(date("2025-01-15"), Red);
    let full = by_day(&curve(&days), &later);
    assert_eq!(full.len(), 3);
    assert_eq!(full[0], by_day(&curve(&days), &known)[0]);
    assert_eq!(full[2].1, [16.0, 2.0, 0.0, 0.0, 0.0, 6.0]);
    assert_eq!(
        later.missing(date("2025-01-13"), date("2025-01-18")),
        [date("2025-01-17")]
    );
}

#[test]
fn the_calendar_counts_a_seasons_days_and_keeps_itself() {
    use DayColour::{Blue, Red, White};
    let kept = calendar(&[
        ("2024-08-31", Red), // the season before
        ("2024-09-01", Blue),
        ("2024-12-02", White),
        ("2025-01-14", Red),
        ("2025-01-15", Red),
    ]);
    assert_eq!(kept.season_counts(date("2025-01-14")), [1, 1, 1]);
    assert_eq!(kept.season_counts(date("2025-08-31")), [1, 1, 2]);
    assert_eq!(TEMPO_CLASSES.len(), 6);
}

fn colour() -> impl Strategy<Value = Option<DayColour>> {
    prop_oneof![
        Just(None),
        Just(Some(DayColour::Blue)),
        Just(Some(DayColour::White)),
        Just(Some(DayColour::Red)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// On every kept day the six classes add up to the day's energy exactly, and every
    /// day is either kept or waiting, never both.
    #[test]
    fn six_classes_add_up_to_the_curve_exactly(
        readings in super::split::readings_near_dst(),
        colours in prop::collection::vec(colour(), 40),
    ) {
        let curve = LoadCurve::builder(PARIS).build(&readings).0;
        let first: NaiveDateTime = "2024-03-25T00:00:00".parse().unwrap();
        let mut calendar = ColourCalendar::new();
        for (n, colour) in colours.iter().enumerate() {
            for base in [first.date(), date("2024-10-20"), date("2024-07-08")] {
                if let Some(colour) = colour {
                    calendar.set(base + chrono::Duration::days(n as i64), *colour);
                }
            }
        }
        let all = curve.split(&SingleTariff).days();
        let split = split_by_colour(&curve, &calendar);
        let kept = split.split.days();
        prop_assert_eq!(kept.len() + split.waiting.len(), all.len());
        for day in &kept {
            let whole = all.iter().find(|d| d.date == day.date).unwrap();
            prop_assert_eq!(day.total(), whole.total(), "{}", day.date);
            prop_assert!(!split.waiting.contains(&day.date));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    /// Re-colouring a curve already split (by the hour) gives exactly the direct split.
    #[test]
    fn recolouring_a_split_curve_is_the_direct_split(
        readings in super::split::readings_near_dst(),
        colours in prop::collection::vec(colour(), 40),
    ) {
        let curve = LoadCurve::builder(PARIS).build(&readings).0;
        let mut calendar = ColourCalendar::new();
        for (n, colour) in colours.iter().enumerate() {
            for base in [date("2024-03-25"), date("2024-10-20"), date("2024-07-08")] {
                if let Some(colour) = colour {
                    calendar.set(base + chrono::Duration::days(n as i64), *colour);
                }
            }
        }
        let direct = split_by_colour(&curve, &calendar);
        let two = curve.split(&SingleTariff);
        let again = linky_core::recolour(&two, &calendar);
        prop_assert_eq!(again.waiting, direct.waiting);
        prop_assert_eq!(again.split.days(), direct.split.days());
        prop_assert_eq!(again.split.hours(), direct.split.hours());
    }
}
