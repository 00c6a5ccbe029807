//! The main job's output for the bundled session, checked against a snapshot; every
//! bundled session replayed with its recorded outcome; the bundled sessions checked
//! against the code that makes them; a generated two-year backfill; the main job into a
//! Domoticz that handles connections as 2025.1 does.

use linky_enedis::{Outcome, Session};
use linky_examples::{Target, main_session, replay_job, two_year_session};

const SNAPSHOT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/snapshots/replay.txt"
);

fn sessions_folder() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/sessions")
}

fn bundled() -> Session {
    let path = sessions_folder().join("replay-main.json");
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
    let mut out = Vec::new();
    let replayed = replay_job(bundled(), Target::Memory, None, &mut out)
        .await
        .unwrap();
    assert!(replayed.as_recorded);
    let report = replayed.report.unwrap();
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

/// Every bundled session carries what replaying it needs, and replays exactly (every
/// exchange, in order, nothing else) with the outcome it recorded: what
/// `cargo run --release --example replay -- --session FILE` does (`.ci/run` runs that
/// command for each file too).
#[tokio::test]
async fn every_bundled_session_replays_with_its_recorded_outcome() {
    let mut outcomes = Vec::new();
    for entry in std::fs::read_dir(sessions_folder()).unwrap() {
        let path = entry.unwrap().path();
        // Syncs only: the colour publishers' sessions live in a folder of their own.
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let session = Session::from_json(&std::fs::read(&path).unwrap()).unwrap();
        let recorded = session.replay.as_ref().map(|info| info.outcome);
        assert!(recorded.is_some(), "{}: no replay info", path.display());
        let mut out = Vec::new();
        let replayed = replay_job(session, Target::Memory, None, &mut out)
            .await
            .unwrap();
        let printed = String::from_utf8_lossy(&out);
        assert!(
            replayed.as_recorded,
            "{}: {:?}\n{printed}",
            path.display(),
            replayed.outcome
        );
        // A mismatch would have been answered at once, never retried.
        assert!(!printed.contains("replay_mismatch"), "{printed}");
        outcomes.push((path.file_name().unwrap().to_owned(), replayed.outcome));
    }
    assert_eq!(outcomes.len(), 10);
    assert!(outcomes.iter().any(|(_, o)| *o == Outcome::ConsentLost));
}

/// A request the session does not hold is refused at once with the diff: the client does
/// not retry it (it used to be answered 599, a transient error retried for a minute).
#[tokio::test]
async fn a_request_the_session_does_not_hold_fails_at_once() {
    let mut session = bundled();
    session.exchanges.remove(3);
    let started = std::time::Instant::now();
    let mut out = Vec::new();
    let replayed = replay_job(session, Target::Memory, None, &mut out)
        .await
        .unwrap();
    assert!(!replayed.as_recorded);
    let printed = String::from_utf8_lossy(&out);
    assert!(printed.contains("replay_mismatch"), "{printed}");
    assert!(printed.contains("differs"), "{printed}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

/// A two-year backfill of a consumer and a producer, generated from a seed: every day of
/// the three devices written, and the replay exact.
#[tokio::test]
async fn a_generated_two_year_backfill_replays() {
    let mut out = Vec::new();
    let replayed = replay_job(two_year_session(5), Target::Memory, None, &mut out)
        .await
        .unwrap();
    assert!(replayed.as_recorded, "{}", String::from_utf8_lossy(&out));
    // No quota error in this session: none said (the main session's is, in the snapshot).
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains(" exchanges replayed\n"), "{text}");
    assert!(!text.contains("quota"), "{text}");
    let report = replayed.report.unwrap();
    assert_eq!(report.requests, 215);
    assert!(
        report.devices.iter().all(|d| d.days_written == 730),
        "{report:?}"
    );
}

/// The main job into a Domoticz that handles connections as 2025.1 does (closed after
/// each answer unless kept alive, 20 calls a connection): it goes through provisioning
/// and every write, and Domoticz holds the same day totals as the in-memory run.
#[tokio::test]
async fn the_replay_into_a_domoticz_2025_1_holds_every_day() {
    use linky_domoticz::{DomoticzConfig, DomoticzEmulator};
    let domoticz = DomoticzEmulator::start("2025.1").await;
    let mut out = Vec::new();
    let replayed = replay_job(
        bundled(),
        Target::Domoticz(DomoticzConfig::new(domoticz.uri())),
        None,
        &mut out,
    )
    .await
    .unwrap();
    assert!(replayed.as_recorded);
    let report = replayed.report.unwrap();
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
