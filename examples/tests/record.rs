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
    // Outside calling hours (22:00-08:00 in Paris) the run asks nothing; else every
    // exchange is recorded with the placeholder.
    if !session.exchanges.is_empty() {
        assert!(succeeded);
        assert!(
            session
                .exchanges
                .iter()
                .all(|e| e.request.path.contains("prm=00000000000001"))
        );
    }
}
