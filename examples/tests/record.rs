//! Recording a live sync for a bug report: the session file holds what went over the wire,
//! with the token redacted and the usage point hidden.

use linky_enedis::Session;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_recorded_live_sync_hides_secrets_and_usage_points() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_string(
            r#"{"error":"no_data_found","error_description":"no data for 22516914714270"}"#,
        ))
        .mount(&server)
        .await;
    let folder = std::env::temp_dir().join(format!("linky-record-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let record = folder.join("session.json");
    // `linky record`, configured as a user would: the token named, never written.
    let config = folder.join("linky.toml");
    std::fs::write(
        &config,
        format!(
            "backend = \"conso-api\"\nbase_url = \"{}\"\nusage_points = [\"22516914714270\"]\n\
             [credentials]\ntoken_env = \"LINKY_RECORD_TEST_TOKEN\"\n",
            server.uri()
        ),
    )
    .unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_linky"))
        .env("LINKY_RECORD_TEST_TOKEN", "my-secret-token")
        .env_remove("RUST_LOG")
        .arg("--config")
        .arg(&config)
        .args([
            "record",
            "--hide-usage-points",
            "--now",
            "2024-06-20 12:00",
            "--state",
        ])
        .arg(folder.join("state"))
        .arg("--output")
        .arg(&record)
        .output()
        .await
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    let succeeded = output.status.success();
    assert!(printed.contains("session recorded in"), "{printed}");
    assert!(!printed.contains("my-secret-token"), "{printed}");
    let text = std::fs::read_to_string(&record).unwrap();
    // The session replays offline as it was recorded.
    let replayed = std::process::Command::new(env!("CARGO_BIN_EXE_linky"))
        .args(["replay", "--session"])
        .arg(&record)
        .output()
        .unwrap();
    assert!(
        replayed.status.success(),
        "{}",
        String::from_utf8_lossy(&replayed.stdout)
    );
    std::fs::remove_dir_all(&folder).ok();
    let session = Session::from_json(text.as_bytes()).unwrap();
    assert!(!text.contains("my-secret-token"));
    assert!(!text.contains("22516914714270"), "{text}");
    // At noon (the run's own time, not the wall clock's), every exchange is recorded with
    // the placeholder, and the session says how to replay it.
    assert!(succeeded);
    assert!(!session.exchanges.is_empty());
    assert!(
        session
            .exchanges
            .iter()
            .all(|e| e.request.path.contains("prm=00000000000001"))
    );
    let info = session.replay.unwrap();
    assert_eq!(info.now.to_string(), "2024-06-20 12:00:00");
    assert_eq!(info.usage_points, ["00000000000001"]);
}
