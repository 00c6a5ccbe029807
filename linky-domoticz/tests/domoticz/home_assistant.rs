//! The Home Assistant sink against its stand-in (`HomeAssistantEmulator`): both metadata
//! forms, a connection closed in the middle of an import, a recorder slow to commit, a
//! wrong token, rows and sums as written. The real Home Assistant is tested in the
//! examples' tests.

use std::collections::BTreeMap;

use linky_core::PriceBook;
use linky_domoticz::{
    HomeAssistantConfig, HomeAssistantEmulator, HomeAssistantSink, Password, SinkError, SyncRun,
    SyncSettings,
};
use serde_json::Value;

use super::sync::{CONSUMER, Colours, FakeSource, PRODUCER, clock_at, now};

fn sink(emulator: &HomeAssistantEmulator) -> HomeAssistantSink {
    HomeAssistantSink::new(
        HomeAssistantConfig::new(emulator.url(), Password::new(emulator.token()))
            .with_rows_per_import(50),
    )
    .unwrap()
}

fn settings() -> SyncSettings {
    let offer = PriceBook::regulated().offer("Tempo").unwrap().clone();
    SyncSettings::new("22h-6h".parse().unwrap()).with_costs(offer, 6)
}

/// A run of the fake source (a consumer and a producer, a week) into `sink`.
async fn run(
    sink: &HomeAssistantSink,
    state: &linky_domoticz::MemoryState,
) -> linky_domoticz::SyncReport {
    let source = FakeSource::new(vec![CONSUMER], vec![PRODUCER]);
    let colours = Colours::until("2024-06-20");
    let clock = clock_at(now());
    SyncRun::new(&source, sink, state, &clock)
        .settings(settings())
        .colour_source(&colours)
        .run()
        .await
}

/// Every statistic's rows: continuous sums from the first (whose sum is its state).
fn check_sums(statistics: &BTreeMap<String, linky_domoticz::EmulatedStatistic>) {
    for (id, held) in statistics {
        let mut previous = 0.0;
        for (start, (state, sum)) in &held.rows {
            assert!(
                (sum - (previous + state)).abs() < 1e-6,
                "{id} at {start}: {previous} + {state} != {sum}"
            );
            previous = *sum;
        }
    }
}

/// The metadata each version takes: `has_mean` before 2025.11, `mean_type` and
/// `unit_class` from it (no deprecation warning either way); the statistics the devices
/// make, with readable names.
#[tokio::test]
async fn each_version_gets_the_metadata_it_takes() {
    for (version, newer) in [
        ("2025.4.4", false),
        ("2025.10.4", false),
        ("2025.11.0", true),
        ("2026.2.3", true),
    ] {
        let emulator = HomeAssistantEmulator::start(version).await;
        let sink = sink(&emulator);
        let report = run(&sink, &linky_domoticz::MemoryState::new()).await;
        assert!(
            report.is_success(),
            "{version}: {:?}",
            report.errors().next()
        );
        emulator.with_state(|state| {
            assert!(state.warnings.is_empty(), "{version}: {:?}", state.warnings);
            let ids: Vec<&String> = state.statistics.keys().collect();
            // Consumer: HP/HC, Tempo's six, the cost and its six classes; producer: HP/HC;
            // the merged device: four.
            assert_eq!(ids.len(), 2 + 6 + 7 + 2 + 4, "{ids:?}");
            let hp = &state.statistics[&format!("linky:{CONSUMER}_consumption_hp")];
            assert_eq!(hp.metadata.get("mean_type").is_some(), newer, "{version}");
            assert_eq!(hp.metadata.get("has_mean").is_some(), !newer, "{version}");
            assert_eq!(
                hp.metadata["name"],
                format!("Linky {CONSUMER} consommation, heures pleines")
            );
            let cost = &state.statistics[&format!("linky:{CONSUMER}_cost")];
            assert_eq!(cost.metadata["unit_of_measurement"], "EUR");
            if newer {
                assert_eq!(cost.metadata["unit_class"], Value::Null);
                assert_eq!(hp.metadata["unit_class"], "energy");
            }
            check_sums(&state.statistics);
        });
        // A second run imports nothing.
        let imported = sink.imported_rows();
        let state = linky_domoticz::MemoryState::new();
        let again = run(&sink, &state).await;
        assert!(again.is_success());
        assert_eq!(sink.imported_rows(), imported, "{version}");
    }
}

/// The connection closed in the middle of an import (the third command, and the next
/// one on the new connection): the run fails with a retry; the next completes every
/// series, sums continuous, nothing doubled; a recorder that commits late is waited for.
/// Closed once, the same run goes on on a new connection.
#[tokio::test]
async fn a_connection_closed_mid_import_and_a_slow_recorder() {
    let once = HomeAssistantEmulator::start("2025.4.4").await;
    once.with_state(|state| state.close_at_imports = vec![3]);
    let report = run(&sink(&once), &linky_domoticz::MemoryState::new()).await;
    assert!(report.is_success(), "{:?}", report.errors().next());
    let emulator = HomeAssistantEmulator::start("2025.4.4").await;
    emulator.with_state(|state| state.close_at_imports = vec![3, 4]);
    let state = linky_domoticz::MemoryState::new();
    let first = run(&sink(&emulator), &state).await;
    assert!(!first.is_success());
    assert!(
        first.errors().all(linky_domoticz::SyncError::is_retryable),
        "{:?}",
        first.errors().next()
    );
    let partial = emulator.with_state(|held| {
        held.close_at_imports.clear();
        held.commit_after_reads = 3;
        held.statistics
            .values()
            .map(|s| s.rows.len())
            .sum::<usize>()
    });
    let second = run(&sink(&emulator), &state).await;
    assert!(second.is_success(), "{:?}", second.errors().next());
    let reference = HomeAssistantEmulator::start("2025.4.4").await;
    let clean = run(&sink(&reference), &linky_domoticz::MemoryState::new()).await;
    assert!(clean.is_success());
    let rows = |emulator: &HomeAssistantEmulator| {
        emulator.with_state(|held| {
            held.statistics
                .iter()
                .map(|(id, s)| (id.clone(), s.rows.clone()))
                .collect::<BTreeMap<_, _>>()
        })
    };
    assert!(partial < rows(&reference).values().map(BTreeMap::len).sum::<usize>());
    assert_eq!(
        rows(&emulator),
        rows(&reference),
        "completed as a clean run"
    );
    emulator.with_state(|held| check_sums(&held.statistics));
}

/// A wrong token: a clear error at once, and nothing written.
#[tokio::test]
async fn a_wrong_token_writes_nothing() {
    let emulator = HomeAssistantEmulator::start("2025.4.4").await;
    let sink = HomeAssistantSink::new(HomeAssistantConfig::new(
        emulator.url(),
        Password::new("revoked"),
    ))
    .unwrap();
    let report = run(&sink, &linky_domoticz::MemoryState::new()).await;
    assert!(!report.is_success());
    let stopped = report.errors().any(|error| {
        matches!(
            error,
            linky_domoticz::SyncError::StoppedWriting(SinkError::Unauthorized { .. })
        )
    });
    assert!(stopped, "{:?}", report.errors().next());
    emulator.with_state(|state| {
        assert!(state.statistics.is_empty());
        assert_eq!(state.imports, 0);
    });
}
