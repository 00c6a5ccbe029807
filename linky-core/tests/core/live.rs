//! Hour rows from a meter's own indexes, and the comparison with Enedis' hours.

use chrono::{DateTime, Duration, TimeZone, Utc};
use linky_core::{
    ClassIndexes, Energy, HourRow, IndexAnomaly, IndexHours, LiveReading, MeterEnergies, PARIS,
    compare_hours,
};
use proptest::prelude::*;

fn reading(at: DateTime<Utc>, peak: u64, off_peak: u64) -> LiveReading {
    let mut reading = LiveReading::new("041876543210", at);
    reading.indexes = Some(ClassIndexes::Tariffs([peak, off_peak]));
    reading
}

/// What a reader sees: readings every few seconds with the reader off now and then,
/// and now and then a garbled reading (an index far below or far above the truth).
fn readings() -> impl Strategy<Value = Vec<(i64, u64, u64, u8)>> {
    prop::collection::vec(
        (
            prop_oneof![8 => 1i64..5, 1 => 100i64..20_000],
            0u64..6,
            0u64..3,
            0u8..40,
        ),
        1..3_000,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Never a negative hour, never an hour longer or shorter than an hour, an hour is
    /// given only between readings close to its bounds, and every given hour's energy is
    /// exactly the indexes' growth over it.
    #[test]
    fn hours_from_indexes_never_go_backwards(steps in readings()) {
        let start = Utc.with_ymd_and_hms(2025, 10, 25, 22, 0, 0).unwrap();
        let mut hours = IndexHours::new(PARIS);
        let (mut at, mut peak, mut off_peak) = (start, 1_000_000u64, 2_000_000u64);
        let mut truth = std::collections::BTreeMap::new();
        let mut given = Vec::new();
        for (gap, grow_peak, grow_off, garble) in steps {
            at += Duration::seconds(gap);
            peak += grow_peak;
            off_peak += grow_off;
            if garble >= 2 {
                truth.insert(at, (peak, off_peak));
            }
            let sent = match garble {
                0 => reading(at, 0, 0),
                1 => reading(at, peak + 50_000_000, off_peak),
                _ => reading(at, peak, off_peak),
            };
            given.extend(hours.push(&sent));
        }
        let mut previous_end = None;
        for hour in &given {
            let row: HourRow = hour.hour_row();
            prop_assert!(row.energies.consumption.iter().all(|e| *e >= Energy::ZERO));
            prop_assert_eq!(row.end_utc.timestamp() % 3600, 0);
            prop_assert!(previous_end.is_none_or(|end| end < row.end_utc));
            previous_end = Some(row.end_utc);
            // The first good readings at or after its start and its end, close to them,
            // and exactly their growth.
            let begin = row.end_utc - Duration::hours(1);
            let (&open_at, &(open_peak, open_off)) = truth.range(begin..).next().unwrap();
            let (&close_at, &(close_peak, close_off)) = truth.range(row.end_utc..).next().unwrap();
            prop_assert!(open_at - begin <= IndexHours::BOUNDARY_TOLERANCE);
            prop_assert!(close_at - row.end_utc <= IndexHours::BOUNDARY_TOLERANCE);
            prop_assert_eq!(
                row.energies.consumption,
                [Energy::from_wh((close_peak - open_peak) as i64), Energy::from_wh((close_off - open_off) as i64)]
            );
        }
        let expected = |anomaly: &IndexAnomaly| {
            // (A garbled first reading cannot be told from a good one: the good ones
            // after it take over once they agree.)
            matches!(anomaly, IndexAnomaly::WentBack { .. } | IndexAnomaly::Implausible { .. } | IndexAnomaly::Rebased { .. })
        };
        prop_assert!(hours.anomalies().iter().all(expected), "{:?}", hours.anomalies());
    }
}

#[test]
fn a_garbled_zero_is_ignored_not_a_reset() {
    let start = Utc.with_ymd_and_hms(2026, 1, 15, 9, 59, 0).unwrap();
    let mut hours = IndexHours::new(PARIS);
    let mut given = Vec::new();
    for second in (0..=3_700).step_by(2) {
        let at = start + Duration::seconds(second);
        let peak = 1_000_000 + second as u64 / 4;
        let sent = if second == 1_800 {
            reading(at, 0, 0)
        } else {
            reading(at, peak, 500)
        };
        given.extend(hours.push(&sent));
    }
    assert_eq!(given.len(), 1);
    assert_eq!(
        given[0].hour_row().energies.consumption[0].as_wh_f64(),
        900.0
    );
    assert!(matches!(hours.anomalies(), [IndexAnomaly::WentBack { .. }]));
}

#[test]
fn a_new_meter_is_taken_after_readings_agree() {
    let start = Utc.with_ymd_and_hms(2026, 1, 15, 9, 0, 0).unwrap();
    let mut hours = IndexHours::new(PARIS);
    let mut given = Vec::new();
    for second in (0..=3 * 3600).step_by(2) {
        let at = start + Duration::seconds(second);
        // At 10:30 the indexes start again from 0 (a meter replaced).
        let value = if second < 5_400 {
            1_000_000 + second as u64
        } else {
            second as u64 - 5_400
        };
        given.extend(hours.push(&reading(at, value, 0)));
    }
    let ends: Vec<u32> = given
        .iter()
        .map(|h| chrono::Timelike::hour(&h.end_utc))
        .collect();
    // 10:00 is given; 11:00 holds the change and is not; 12:00 is.
    assert_eq!(ends, [10, 12]);
    assert!(
        hours
            .anomalies()
            .iter()
            .any(|a| matches!(a, IndexAnomaly::Rebased { .. }))
    );
}

#[test]
fn enedis_hours_are_compared_with_the_meters() {
    let end = Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).unwrap();
    let row = |end_utc: DateTime<Utc>, wh| HourRow {
        end_utc,
        end: end_utc.naive_utc(),
        energies: MeterEnergies {
            consumption: [Energy::from_wh(wh), Energy::ZERO],
            production: [Energy::ZERO; 2],
        },
    };
    let meter = [row(end, 1_000), row(end + Duration::hours(1), 900)];
    let enedis = [
        row(end + Duration::hours(1), 905),
        row(end + Duration::hours(2), 10),
    ];
    let compared = compare_hours(&meter, &enedis);
    assert_eq!(compared.len(), 1);
    assert_eq!(compared[0].drawn_difference_wh(), 5.0);
}
