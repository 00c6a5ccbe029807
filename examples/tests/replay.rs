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
