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
    let record = folder.join("session.json");
    let arguments = [
        "--state",
        folder.to_str().unwrap(),
        "--backend",
        "conso-api",
        "--token",
        "my-secret-token",
        "--pdl",
        "22516914714270",
        "--base-url",
        &server.uri(),
        "--record",
        record.to_str().unwrap(),
        "--hide-usage-points",
        "--now",
        "2024-06-20 12:00",
    ]
    .map(str::to_owned);
    let succeeded = linky_examples::live_sync(arguments.into_iter())
        .await
        .unwrap();
    let text = std::fs::read_to_string(&record).unwrap();
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
