//! The main job's output for the bundled session, checked against a snapshot; the bundled
//! main session checked against the code that makes it.

use linky_enedis::Session;
use linky_examples::{Target, main_session, replay_job};

const SNAPSHOT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/snapshots/replay.txt"
);

fn bundled() -> Session {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/sessions/replay-main.json"
    );
    Session::from_json(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn the_bundled_main_session_matches_the_code() {
    assert_eq!(
        bundled(),
        main_session(),
        "run `cargo run --example make_sessions`"
    );
}

#[tokio::test]
async fn the_replay_prints_the_snapshot() {
    let state = std::env::temp_dir().join(format!("linky-replay-test-{}", std::process::id()));
    let mut out = Vec::new();
    let report = replay_job(bundled(), Target::Memory, &state, &mut out)
        .await
        .unwrap();
    std::fs::remove_dir_all(&state).ok();
    assert!(report.is_success(), "{report:?}");
    let printed = String::from_utf8(out).unwrap();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(SNAPSHOT, &printed).unwrap();
    }
    let expected = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    assert_eq!(
        printed, expected,
        "set UPDATE_SNAPSHOTS=1 to accept a new output"
    );
    // Every device of the session, the merged one included, with a week of days.
    for device in [
        "12345678901234",
        "10284856584123",
        "12345678901234 / 10284856584123",
    ] {
        assert!(
            printed.contains(&format!("{device}: 7 day rows")),
            "{device}"
        );
    }
}

/// The main job into a Domoticz that handles connections as 2025.1 does (closed after
/// each answer unless kept alive, 20 calls a connection): it goes through provisioning
/// and every write, and Domoticz holds the same day totals as the in-memory run.
#[tokio::test]
async fn the_replay_into_a_domoticz_2025_1_holds_every_day() {
    use linky_domoticz::{DomoticzConfig, DomoticzEmulator};
    let domoticz = DomoticzEmulator::start("2025.1").await;
    let state = std::env::temp_dir().join(format!("linky-replay-dz-{}", std::process::id()));
    let mut out = Vec::new();
    let report = replay_job(
        bundled(),
        Target::Domoticz(DomoticzConfig::new(domoticz.uri())),
        &state,
        &mut out,
    )
    .await
    .unwrap();
    std::fs::remove_dir_all(&state).ok();
    assert!(report.is_success(), "{report:?}");
    let (devices, days, unanswered) =
        domoticz.with_state(|s| (s.devices.len(), s.long_log.len(), s.unanswered));
    assert_eq!(devices, 3);
    assert_eq!(days, 3 * 7);
    assert!(
        unanswered > 0,
        "the emulator closed kept-alive connections under the sink"
    );
    for device in &report.devices {
        assert_eq!(device.days_written, 7, "{device:?}");
        assert!(device.errors.is_empty(), "{device:?}");
    }
}
