//! Fetch planning and the calling policy through the public API.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use linky_core::{Flow, Measurement, PlanLimits, plan_fetches};
use proptest::prelude::*;

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
}

fn spans(measurement: Measurement, held: &BTreeSet<NaiveDate>, limits: &PlanLimits) -> Vec<String> {
    plan_fetches(measurement, held, limits)
        .iter()
        .map(|r| format!("{}..{}", r.start, r.end))
        .collect()
}

const CURVE: Measurement = Measurement::LoadCurve(Flow::Consumption);

#[test]
fn today_is_not_asked_for_before_one_in_the_morning() {
    let held = BTreeSet::new();
    let early = PlanLimits::new(at("2024-06-20 00:40"), 3);
    assert_eq!(spans(CURVE, &held, &early), ["2024-06-17..2024-06-19"]);
    let later = PlanLimits::new(at("2024-06-20 01:00"), 3);
    assert_eq!(spans(CURVE, &held, &later), ["2024-06-17..2024-06-20"]);
}

#[test]
fn only_the_missing_days_are_asked_for() {
    let mut held: BTreeSet<NaiveDate> = date("2024-06-01").iter_days().take(19).collect();
    held.remove(&date("2024-06-05"));
    held.remove(&date("2024-06-06"));
    held.remove(&date("2024-06-15"));
    let limits = PlanLimits::new(at("2024-06-20 09:00"), 20);
    assert_eq!(
        spans(CURVE, &held, &limits),
        [
            "2024-06-15..2024-06-16",
            "2024-06-05..2024-06-07",
            "2024-05-31..2024-06-01"
        ]
    );
}

#[test]
fn nothing_before_the_activation_date_or_the_history_limit() {
    let held = BTreeSet::new();
    let limits =
        PlanLimits::new(at("2024-06-20 09:00"), 30).with_activation_date(Some(date("2024-06-16")));
    assert_eq!(spans(CURVE, &held, &limits), ["2024-06-16..2024-06-20"]);
    let deep = PlanLimits::new(at("2024-06-20 09:00"), 5000);
    let curve = plan_fetches(CURVE, &held, &deep);
    assert_eq!(
        curve.last().unwrap().start,
        date("2024-06-20") - Duration::days(730)
    );
    assert_eq!(curve.len(), 105); // ceil(730 / 7)
    let daily = plan_fetches(Measurement::DailyEnergy(Flow::Consumption), &held, &deep);
    assert_eq!(daily.len(), 3); // 1095 days in chunks of 365
    assert_eq!(
        daily.last().unwrap().start,
        date("2024-06-20") - Duration::days(1095)
    );
}

proptest! {
    #[test]
    fn a_plan_covers_exactly_the_missing_days_with_the_fewest_requests(
        held_offsets in prop::collection::btree_set(0i64..800, 0..400),
        days in 0i64..800,
        hour in 0u32..24,
        daily in any::<bool>(),
        activation in prop::option::of(0i64..800),
    ) {
        let today = date("2024-06-20");
        let held: BTreeSet<NaiveDate> = held_offsets.iter().map(|o| today - Duration::days(*o)).collect();
        let limits = PlanLimits::new(today.and_hms_opt(hour, 0, 0).unwrap(), days).with_activation_date(activation.map(|o| today - Duration::days(o)));
        let measurement = if daily { Measurement::DailyMaxPower } else { CURVE };
        let plan = plan_fetches(measurement, &held, &limits);
        let end = if hour < 1 { today - Duration::days(1) } else { today };
        let mut start = (today - Duration::days(days)).max(today - Duration::days(measurement.history_limit_days()));
        if let Some(activation) = limits.activation_date { start = start.max(activation); }
        let missing: Vec<NaiveDate> = start.iter_days().take_while(|d| *d < end).filter(|d| !held.contains(d)).collect();
        let mut asked: Vec<NaiveDate> = plan.iter().flat_map(|r| r.days()).collect();
        asked.sort_unstable();
        prop_assert_eq!(&asked, &missing, "every missing day once, nothing else");
        // Newest first, each within the size limit, none ending after `end`.
        for pair in plan.windows(2) {
            prop_assert!(pair[0].start >= pair[1].end);
        }
        for request in &plan {
            let length = (request.end - request.start).num_days();
            prop_assert!(length >= 1 && length <= measurement.max_days_per_request());
            prop_assert!(request.end <= end);
        }
        // The fewest requests: each run of consecutive missing days takes ceil(len / max).
        let mut runs = Vec::new();
        for day in &missing {
            match runs.last_mut() {
                Some((_, last, length)) if *last + Duration::days(1) == *day => { *last = *day; *length += 1; }
                _ => runs.push((*day, *day, 1i64)),
            }
        }
        let fewest: i64 = runs.iter().map(|(_, _, length)| (length + measurement.max_days_per_request() - 1) / measurement.max_days_per_request()).sum();
        prop_assert_eq!(plan.len() as i64, fewest);
    }
}

#[test]
fn calling_hours_and_next_runs() {
    use linky_core::{CallingHours, RunOutcome, next_run};
    let hours = CallingHours::default();
    assert!(!hours.allows(at("2024-06-20 07:59")));
    assert!(hours.allows(at("2024-06-20 08:00")));
    assert!(hours.allows(at("2024-06-20 21:59")));
    assert!(!hours.allows(at("2024-06-20 22:00")));
    assert_eq!(
        next_run(at("2024-06-20 09:12"), RunOutcome::Success, hours, 42),
        at("2024-06-21 08:42")
    );
    assert_eq!(
        next_run(at("2024-06-20 20:59"), RunOutcome::Failure, hours, 42),
        at("2024-06-20 21:59")
    );
    assert_eq!(
        next_run(at("2024-06-20 21:00"), RunOutcome::Failure, hours, 42),
        at("2024-06-21 08:42")
    );
    assert_eq!(
        next_run(at("2024-06-20 03:00"), RunOutcome::Failure, hours, 42),
        at("2024-06-20 08:42")
    );
}

#[test]
fn the_history_policy_of_the_original() {
    use linky_core::{HistoryState, history_after_run, history_window};
    let now = at("2024-06-20 09:00");
    let days = 365;
    // First run, or the setting changed: the whole history.
    assert_eq!(
        history_window(days, &HistoryState::default(), now),
        (365, true)
    );
    let after_full = history_after_run(&HistoryState::default(), days, true, true, now, 3);
    assert_eq!(after_full.next_full_grab, Some(now + Duration::days(182)));
    // The next day: the short history.
    let tomorrow = now + Duration::days(1);
    assert_eq!(history_window(days, &after_full, tomorrow), (35, false));
    assert_eq!(
        history_window(400, &after_full, tomorrow),
        (400, true),
        "setting changed"
    );
    // Every days/2 days, the whole history again.
    assert_eq!(
        history_window(days, &after_full, now + Duration::days(182)),
        (365, true)
    );
    // After being offline longer than `days`.
    let offline = HistoryState {
        next_full_grab: Some(now + Duration::days(1000)),
        ..after_full
    };
    assert_eq!(
        history_window(days, &offline, now + Duration::days(366)),
        (365, true)
    );
    // A failed full grab is retried 1 to 7 days later; the last success stays.
    let failed = history_after_run(&HistoryState::default(), days, true, false, now, 9);
    assert_eq!(failed.next_full_grab, Some(now + Duration::days(7)));
    assert_eq!(failed.last_success, None);
    // Short settings never need a full grab.
    assert_eq!(history_window(7, &HistoryState::default(), now), (7, false));
}
