//! The client against a local server (wiremock): every backend's URLs and
//! authentication, the error table, retries, token renewal, the device flow, faults.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::NaiveDate;
use linky_core::{Flow, RetryPolicy, UsagePointId};
use linky_enedis::{
    AccessToken, ApiToken, Backend, Client, ClientSecret, DeviceFlow, Error, ErrorCategory,
    Fetched, FileTokenStore, MemoryTokenStore, MeterSource, RefreshToken, TokenSet, TokenStore,
};
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn sample(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/enedis")
        .join(name);
    let bytes = std::fs::read(path).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    match value.get("content") {
        Some(content) => serde_json::to_vec(content).unwrap(),
        None => bytes,
    }
}

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn pdl(text: &str) -> UsagePointId {
    text.parse().unwrap()
}

const SANDBOX: &str = "22516914714270";

fn fast_retries() -> RetryPolicy {
    RetryPolicy::new(Duration::from_millis(10), Duration::from_millis(40), 3)
}

fn valid_tokens() -> TokenSet {
    TokenSet {
        access_token: AccessToken::new("access-1"),
        refresh_token: Some(RefreshToken::new("refresh-1")),
        expires_at: SystemTime::now() + Duration::from_secs(3600),
        usage_points: vec![SANDBOX.to_owned()],
    }
}

async fn proxy_client(
    server: &MockServer,
    tokens: Option<TokenSet>,
) -> (Client, Arc<MemoryTokenStore>) {
    let store = Arc::new(MemoryTokenStore::default());
    if let Some(tokens) = tokens {
        store.save(&tokens).unwrap();
    }
    let client = Client::builder(Backend::Proxy {
        base_url: server.uri(),
        client_id: "client-id".to_owned(),
    })
    .retry(fast_retries())
    .token_store(store.clone())
    .build()
    .unwrap();
    (client, store)
}

fn data_connect(server: &MockServer, v5: bool) -> Client {
    let usage_points = vec![SANDBOX.to_owned(), "99999999999991".to_owned()];
    let backend = if v5 {
        Backend::DataConnectV5 {
            base_url: server.uri(),
            client_id: "app".to_owned(),
            client_secret: ClientSecret::new("app-secret"),
            usage_points,
        }
    } else {
        Backend::DataConnect2026 {
            base_url: server.uri(),
            client_id: "app".to_owned(),
            client_secret: ClientSecret::new("app-secret"),
            usage_points,
        }
    };
    Client::builder(backend)
        .retry(fast_retries())
        .build()
        .unwrap()
}

async fn mount_client_credentials(server: &MockServer, token: &str, times: u64) {
    Mock::given(method("POST"))
        .and(path("/oauth2/v3/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("client_secret=app-secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": token, "token_type": "Bearer", "expires_in": 12600
        })))
        .expect(times)
        .mount(server)
        .await;
}

#[tokio::test]
async fn the_proxy_serves_v5_paths_with_the_consent_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(
            "/data/proxy/metering_data_clc/v5/consumption_load_curve",
        ))
        .and(query_param("start", "2021-09-14"))
        .and(query_param("end", "2021-09-15"))
        .and(query_param("usage_point_id", SANDBOX))
        .and(header("authorization", "Bearer access-1"))
        .and(header("user-agent", linky_enedis::DEFAULT_USER_AGENT))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_bytes(sample("sandbox-infodavide_consumption_load_curve.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = proxy_client(&server, Some(valid_tokens())).await;
    assert_eq!(client.usage_points().await.unwrap(), [pdl(SANDBOX)]);
    let fetched = client
        .load_curve(
            &pdl(SANDBOX),
            Flow::Consumption,
            date("2021-09-14"),
            date("2021-09-15"),
        )
        .await
        .unwrap();
    let payload = fetched.data().unwrap();
    assert_eq!(payload.readings.len(), 48);
}

#[tokio::test]
async fn data_connect_v5_gets_a_client_credentials_token_once() {
    let server = MockServer::start().await;
    mount_client_credentials(&server, "dc-token", 1).await;
    Mock::given(method("GET"))
        .and(path("/metering_data_dcmp/v5/daily_consumption_max_power"))
        .and(query_param("usage_point_id", SANDBOX))
        .and(header("authorization", "Bearer dc-token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_bytes(sample("sandbox-infodavide_max_daily_consumed_power.json")),
        )
        .expect(2)
        .mount(&server)
        .await;
    let client = data_connect(&server, true);
    for _ in 0..2 {
        let series = client
            .daily_max_power(&pdl(SANDBOX), date("2021-09-14"), date("2021-09-22"))
            .await
            .unwrap()
            .data()
            .unwrap();
        assert_eq!(series.values.len(), 8);
    }
}

#[tokio::test]
async fn data_connect_2026_uses_its_own_paths_and_parameters() {
    let server = MockServer::start().await;
    mount_client_credentials(&server, "t2026", 1).await;
    Mock::given(method("GET"))
        .and(path("/mesure_synchrone_auto/v2/consommation_quotidienne"))
        .and(query_param("pointId", "99999999999991"))
        .and(query_param("dateDebut", "2026-09-29"))
        .and(query_param("dateFin", "2026-10-01"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_bytes(sample("med-new_2026_mesure_consommation_quotidienne.json")),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(
            "/mesure_synchrone_auto/v2/puissance_conso_max_quotidienne",
        ))
        .and(query_param("mesuresPas", "P1D"))
        .and(query_param("grandeurPhysique", "PMA"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(sample(
            "med-new_2026_mesure_puissance_conso_max_quotidienne.json",
        )))
        .mount(&server)
        .await;
    let client = data_connect(&server, false);
    let usage_point = pdl("99999999999991");
    let daily = client
        .daily_energy(
            &usage_point,
            Flow::Consumption,
            date("2026-09-29"),
            date("2026-10-01"),
        )
        .await
        .unwrap()
        .data()
        .unwrap();
    assert_eq!(daily.values.len(), 2);
    let peaks = client
        .daily_max_power(&usage_point, date("2026-09-29"), date("2026-10-01"))
        .await
        .unwrap()
        .data()
        .unwrap();
    assert_eq!(peaks.values[1].power.va(), 6510);
}

#[tokio::test]
async fn the_conso_api_and_myelectricaldata_use_their_tokens_and_urls() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/daily_consumption"))
        .and(query_param("prm", SANDBOX))
        .and(header("authorization", "Bearer conso-token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_bytes(
                serde_json::to_vec(
                    &serde_json::from_slice::<serde_json::Value>(&sample(
                        "sandbox-infodavide_daily_consumption.json",
                    ))
                    .unwrap()["meter_reading"],
                )
                .unwrap(),
            ),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/daily_consumption/{SANDBOX}/start/2021-09-14/end/2021-09-22/"
        )))
        .and(header("authorization", "med-token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_bytes(sample("sandbox-infodavide_daily_consumption.json")),
        )
        .mount(&server)
        .await;
    let conso = conso_api(&server).build().unwrap();
    let med = Client::builder(Backend::MyElectricalData {
        base_url: server.uri(),
        token: ApiToken::new("med-token"),
        usage_points: vec![SANDBOX.to_owned()],
        use_cache: false,
    })
    .build()
    .unwrap();
    for client in [conso, med] {
        let series = sandbox_week(&client).await.unwrap().data().unwrap();
        assert_eq!(series.values.len(), 8, "{}", client.backend().name());
        assert!(!format!("{client:?}").contains("token\""), "{client:?}");
        assert!(
            !format!("{client:?}").contains("med-token")
                && !format!("{client:?}").contains("conso-token")
        );
    }
}

/// A Conso API client of the sandbox usage point, at `server`, to finish building.
fn conso_api(server: &MockServer) -> linky_enedis::ClientBuilder {
    Client::builder(Backend::ConsoApi {
        base_url: server.uri(),
        token: ApiToken::new("conso-token"),
        usage_points: vec![SANDBOX.to_owned()],
    })
}

/// The sandbox week of daily consumption most tests ask for.
async fn sandbox_week(
    client: &Client,
) -> Result<Fetched<linky_enedis::DailySeries<linky_enedis::DailyEnergy>>, Error> {
    client
        .daily_energy(
            &pdl(SANDBOX),
            Flow::Consumption,
            date("2021-09-14"),
            date("2021-09-22"),
        )
        .await
}

async fn answer(status: u16, body: &str) -> (MockServer, Client) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(status).set_body_string(body))
        .mount(&server)
        .await;
    let (client, _) = proxy_client(&server, Some(valid_tokens())).await;
    (server, client)
}

#[tokio::test]
async fn no_data_answers_are_results() {
    for (status, body, permanent) in [
        (404, r#"{"error":"no_data_found"}"#, false),
        (
            400,
            r#"{"error":"ADAM-ERR0123","error_description":"before activation"}"#,
            false,
        ),
        (400, r#"{"error":"ADAM-ERR0069"}"#, true),
        (400, r#"{"error":"ADAM-ERR0125"}"#, false),
        (400, r#"{"error":"ADAM-ERR0075"}"#, false),
    ] {
        let (_server, client) = answer(status, body).await;
        let fetched = client
            .load_curve(
                &pdl(SANDBOX),
                Flow::Production,
                date("2024-01-01"),
                date("2024-01-08"),
            )
            .await
            .unwrap();
        match fetched {
            Fetched::NoData { permanent: got, .. } => assert_eq!(got, permanent, "{body}"),
            other => panic!("{body}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn stopping_errors_are_typed() {
    for (status, body, category) in [
        (
            403,
            r#"{"error":"ADAM-DC-0008","error_description":"No consent"}"#,
            ErrorCategory::ConsentLost,
        ),
        (
            400,
            r#"{"error":"Invalid_request","error_description":"Start date should be before end date."}"#,
            ErrorCategory::CallerBug,
        ),
        (418, r#"{"error":"teapot"}"#, ErrorCategory::Unexpected),
    ] {
        let (server, client) = answer(status, body).await;
        let error = client
            .daily_energy(
                &pdl(SANDBOX),
                Flow::Consumption,
                date("2024-01-01"),
                date("2024-01-08"),
            )
            .await
            .unwrap_err();
        assert_eq!(error.category(), category, "{error}");
        // Stopping errors are not retried.
        assert_eq!(server.received_requests().await.unwrap().len(), 1, "{body}");
    }
}

#[tokio::test]
async fn transient_errors_are_retried_then_succeed_or_give_up() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_bytes(sample("sandbox-infodavide_daily_consumption.json")),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    let (client, _) = proxy_client(&server, Some(valid_tokens())).await;
    let series = sandbox_week(&client).await.unwrap();
    assert!(series.data().is_some());
    assert_eq!(server.received_requests().await.unwrap().len(), 2);

    let (server, client) = answer(500, r#"{"error":"technical_error"}"#).await;
    let error = sandbox_week(&client).await.unwrap_err();
    assert!(error.is_transient(), "{error}");
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        3,
        "max_attempts"
    );
}

#[tokio::test]
async fn an_expired_token_is_renewed_once_and_the_request_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/device/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=refresh-1"))
        .and(body_string_contains(format!("usage_points_id={SANDBOX}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "access-2", "token_type": "Bearer", "expires_in": 12600
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer access-1"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_bytes(sample("sandbox-infodavide_expired_authentication.json")),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer access-2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_bytes(sample("sandbox-infodavide_daily_consumption.json")),
        )
        .mount(&server)
        .await;
    let (client, store) = proxy_client(&server, Some(valid_tokens())).await;
    let series = sandbox_week(&client).await.unwrap();
    assert!(series.data().is_some());
    // The new access token is stored with the same refresh token and usage points.
    let stored = store.load().unwrap().unwrap();
    assert_eq!(stored.access_token.expose(), "access-2");
    assert_eq!(stored.refresh_token.unwrap().expose(), "refresh-1");
    assert_eq!(stored.usage_points, [SANDBOX]);
}

#[tokio::test]
async fn a_refused_refresh_is_a_lost_consent_and_clears_the_tokens() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/device/token"))
        .respond_with(ResponseTemplate::new(400).set_body_string(r#"{"error":"invalid_grant"}"#))
        .mount(&server)
        .await;
    let mut expired = valid_tokens();
    expired.expires_at = SystemTime::now() + Duration::from_secs(60);
    let (client, store) = proxy_client(&server, Some(expired)).await;
    let error = sandbox_week(&client).await.unwrap_err();
    assert!(error.is_consent_lost(), "{error}");
    assert!(store.load().unwrap().is_none());
    // No data request went out with a token about to expire.
    let requests = server.received_requests().await.unwrap();
    assert!(requests.iter().all(|r| r.method.as_str() == "POST"));
}

#[tokio::test]
async fn a_response_for_another_usage_point_or_malformed_json_is_an_error() {
    let (_server, client) = answer(
        200,
        &String::from_utf8(sample("sandbox-infodavide_daily_consumption.json")).unwrap(),
    )
    .await;
    let error = client
        .daily_energy(
            &pdl("12345678901234"),
            Flow::Consumption,
            date("2021-09-14"),
            date("2021-09-22"),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::UsagePointMismatch { .. }), "{error}");
    let (_server, client) = answer(
        200,
        r#"{"meter_reading": {"interval_reading": [{"value": "1""#,
    )
    .await;
    let error = sandbox_week(&client).await.unwrap_err();
    assert!(matches!(error, Error::Malformed { .. }), "{error}");
}

#[tokio::test]
async fn a_stalled_server_times_out_and_a_closed_port_refuses() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let store = Arc::new(MemoryTokenStore::default());
    store.save(&valid_tokens()).unwrap();
    let client = Client::builder(Backend::Proxy {
        base_url: server.uri(),
        client_id: "c".to_owned(),
    })
    .timeout(Duration::from_millis(300))
    .retry(RetryPolicy::new(
        Duration::from_millis(10),
        Duration::from_millis(40),
        1,
    ))
    .token_store(store.clone())
    .build()
    .unwrap();
    let error = sandbox_week(&client).await.unwrap_err();
    assert!(
        matches!(error, Error::Transport { timeout: true, .. }),
        "{error}"
    );
    assert!(error.is_transient());

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let closed = Client::builder(Backend::Proxy {
        base_url: format!("http://127.0.0.1:{port}"),
        client_id: "c".to_owned(),
    })
    .retry(RetryPolicy::new(
        Duration::from_millis(10),
        Duration::from_millis(40),
        1,
    ))
    .token_store(store)
    .build()
    .unwrap();
    let error = sandbox_week(&closed).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("proxy request to 127.0.0.1:{port} failed: could not connect (connection refused)")
    );
}

#[tokio::test]
async fn requests_are_spaced() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let store = Arc::new(MemoryTokenStore::default());
    store.save(&valid_tokens()).unwrap();
    let client = Client::builder(Backend::Proxy {
        base_url: server.uri(),
        client_id: "c".to_owned(),
    })
    .min_spacing(Duration::from_millis(150))
    .token_store(store)
    .build()
    .unwrap();
    let began = std::time::Instant::now();
    for _ in 0..3 {
        client
            .daily_max_power(&pdl(SANDBOX), date("2021-09-14"), date("2021-09-22"))
            .await
            .unwrap();
    }
    assert!(began.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn the_device_flow_end_to_end() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/device/code"))
        .and(body_string_contains("client_id=client-id"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "device_code": "dev-code", "user_code": "ABCD-EFGH",
            "verification_uri": format!("{}/device", server.uri()), "expires_in": 60, "interval": 1
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/device/token"))
        .and(body_string_contains("device_code=dev-code"))
        .respond_with(
            ResponseTemplate::new(400).set_body_string(r#"{"error":"authorization_pending"}"#),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    // Polling too fast: the next poll waits 5 s more (RFC 8628).
    Mock::given(method("POST"))
        .and(path("/device/token"))
        .respond_with(ResponseTemplate::new(400).set_body_string(r#"{"error":"slow_down"}"#))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/device/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "a", "refresh_token": "r", "token_type": "Bearer", "expires_in": 12600,
            "usage_points_id": "22516914714270,12345678901234"
        })))
        .with_priority(3)
        .mount(&server)
        .await;
    let (client, store) = proxy_client(&server, None).await;
    assert!(client.usage_points().await.unwrap_err().is_consent_lost());
    let flow = DeviceFlow::new(client.clone()).unwrap();
    let code = flow.request_code().await.unwrap();
    assert_eq!(code.user_code, "ABCD-EFGH");
    assert_eq!(
        code.verification_url,
        format!("{}/device?code=ABCD-EFGH", server.uri())
    );
    assert!(!format!("{code:?}").contains("dev-code"));
    let began = std::time::Instant::now();
    let tokens = flow.wait_for_consent(&code).await.unwrap();
    assert!(
        began.elapsed() >= Duration::from_secs(8),
        "1 s, 1 s, then 1 + 5 s"
    );
    assert_eq!(tokens.usage_points, ["22516914714270", "12345678901234"]);
    assert_eq!(
        store
            .load()
            .unwrap()
            .unwrap()
            .refresh_token
            .unwrap()
            .expose(),
        "r"
    );
    assert_eq!(client.usage_points().await.unwrap().len(), 2);
}

#[tokio::test]
async fn the_device_flow_stops_on_refusal() {
    let (error, _) = device_flow_answered(r#"{"error":"access_denied"}"#, 60).await;
    assert!(error.is_consent_lost(), "{error}");
}

/// Runs a device flow whose every poll is answered 400 with `token_error`, with codes
/// valid `expires_in` seconds: the error it ends with, and the token store.
async fn device_flow_answered(
    token_error: &str,
    expires_in: u64,
) -> (Error, Arc<MemoryTokenStore>) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/device/code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "device_code": "d", "user_code": "U", "expires_in": expires_in, "interval": 1
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/device/token"))
        .respond_with(ResponseTemplate::new(400).set_body_string(token_error))
        .mount(&server)
        .await;
    let (client, store) = proxy_client(&server, None).await;
    let flow = DeviceFlow::new(client).unwrap();
    let code = flow.request_code().await.unwrap();
    (flow.wait_for_consent(&code).await.unwrap_err(), store)
}

#[test]
fn polling_decisions_are_a_function_of_the_last_answer() {
    use linky_enedis::{ApiError, Endpoint, PollDecision, decide_poll};
    let interval = Duration::from_secs(5);
    let api = |body: &str| {
        Err(Error::Api(ApiError::classify(
            Endpoint::Token,
            400,
            None,
            None,
            body.as_bytes(),
        )))
    };
    assert_eq!(
        decide_poll(interval, api(r#"{"error":"authorization_pending"}"#)),
        PollDecision::Wait(interval)
    );
    assert_eq!(
        decide_poll(interval, api(r#"{"error":"slow_down"}"#)),
        PollDecision::Wait(Duration::from_secs(10))
    );
    assert!(
        matches!(decide_poll(interval, api(r#"{"error":"expired_token"}"#)), PollDecision::Stop(e) if e.is_consent_lost())
    );
    assert!(matches!(
        decide_poll(interval, api(r#"{"error":"access_denied"}"#)),
        PollDecision::Stop(_)
    ));
    let tokens = valid_tokens();
    assert_eq!(
        decide_poll(interval, Ok(tokens.clone())),
        PollDecision::Done(tokens)
    );
}

#[test]
fn the_token_file_is_written_atomically_and_owner_only() {
    let folder = std::env::temp_dir().join(format!("linky-tokens-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let store = FileTokenStore::new(folder.join("tokens.json"));
    assert!(store.load().unwrap().is_none());
    store.save(&valid_tokens()).unwrap();
    let loaded = store.load().unwrap().unwrap();
    assert_eq!(loaded.access_token.expose(), "access-1");
    assert_eq!(loaded.usage_points, [SANDBOX]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(store.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Only the token file is left: no temporary file.
    let names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["tokens.json"]);
    // A corrupt file is a clear error that quotes no secret.
    std::fs::write(store.path(), "{\"access_token\": \"secret-value\", ").unwrap();
    let error = store.load().unwrap_err().to_string();
    assert!(
        error.starts_with("token store: corrupt token file"),
        "{error}"
    );
    assert!(!error.contains("secret-value"));
    store.clear().unwrap();
    assert!(store.load().unwrap().is_none());
    std::fs::remove_dir_all(&folder).ok();
}

#[tokio::test]
async fn the_device_flow_times_out_when_the_user_never_consents() {
    let (error, store) = device_flow_answered(r#"{"error":"authorization_pending"}"#, 2).await;
    assert_eq!(
        error.to_string(),
        "no consent: the user did not consent before the code expired"
    );
    assert!(store.load().unwrap().is_none());
}

#[test]
fn a_crash_mid_write_leaves_the_previous_tokens() {
    let folder = std::env::temp_dir().join(format!("linky-crash-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let store = FileTokenStore::new(folder.join("tokens.json"));
    store.save(&valid_tokens()).unwrap();
    // A crash after writing half of the temporary file, before the rename.
    let temporary = folder.join(format!(".tokens.json.{}.tmp", std::process::id() + 1));
    std::fs::write(&temporary, "{\"access_token\": \"acc").unwrap();
    assert_eq!(
        store.load().unwrap().unwrap().access_token.expose(),
        "access-1"
    );
    // The next save goes through and leaves the stale file alone.
    let mut newer = valid_tokens();
    newer.access_token = AccessToken::new("access-2");
    store.save(&newer).unwrap();
    assert_eq!(
        store.load().unwrap().unwrap().access_token.expose(),
        "access-2"
    );
    std::fs::remove_dir_all(&folder).ok();
}

#[tokio::test]
async fn myelectricaldata_quota_is_a_rate_limit() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(409)
                .set_body_string(r#"{"detail":"Vous avez dépassé votre quota journalier (50)"}"#),
        )
        .mount(&server)
        .await;
    let client = Client::builder(Backend::MyElectricalData {
        base_url: server.uri(),
        token: ApiToken::new("t"),
        usage_points: vec![SANDBOX.to_owned()],
        use_cache: true,
    })
    .retry(RetryPolicy::new(
        Duration::from_millis(10),
        Duration::from_millis(40),
        1,
    ))
    .build()
    .unwrap();
    let error = client
        .daily_energy(
            &pdl(SANDBOX),
            Flow::Consumption,
            date("2024-01-01"),
            date("2024-01-08"),
        )
        .await
        .unwrap_err();
    assert!(error.is_rate_limited() && error.is_transient(), "{error}");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests[0].url.path(),
        format!("/daily_consumption/{SANDBOX}/start/2024-01-01/end/2024-01-08/cache/")
    );
}

/// An answer larger than the limit is refused with a typed error, whether its length is
/// announced (refused before reading) or not (refused as soon as the bytes read pass it).
#[tokio::test]
async fn an_oversized_answer_is_refused_with_a_typed_error() {
    let server = MockServer::start().await;
    let huge = vec![b' '; linky_enedis::DEFAULT_MAX_BODY_BYTES + 1];
    Mock::given(path(
        "/data/proxy/metering_data_clc/v5/consumption_load_curve",
    ))
    .respond_with(ResponseTemplate::new(200).set_body_bytes(huge))
    .mount(&server)
    .await;
    let (client, _) = proxy_client(&server, Some(valid_tokens())).await;
    let error = client
        .load_curve(
            &pdl(SANDBOX),
            Flow::Consumption,
            date("2024-06-01"),
            date("2024-06-02"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::BodyTooLarge { limit, received, .. }
            if limit == linky_enedis::DEFAULT_MAX_BODY_BYTES && received == limit as u64 + 1),
        "{error:?}"
    );
    assert_eq!(error.category(), ErrorCategory::Unexpected);
    assert_eq!(
        error.to_string(),
        "proxy answer too large: over the limit of 8388608 bytes (8388609 announced or read)"
    );
    // Refused at once: no retry of an answer that will not get smaller.
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    // A chunked answer, no length announced, with a small limit.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 4096];
        let _ = stream.read(&mut request).await;
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            .await;
        for _ in 0..100 {
            if stream.write_all(b"400\r\n").await.is_err()
                || stream.write_all(&[b' '; 0x400]).await.is_err()
                || stream.write_all(b"\r\n").await.is_err()
            {
                return;
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n").await;
    });
    let store = Arc::new(MemoryTokenStore::default());
    store.save(&valid_tokens()).unwrap();
    let client = Client::builder(Backend::Proxy {
        base_url: format!("http://{address}"),
        client_id: "client-id".to_owned(),
    })
    .max_body_bytes(10_000)
    .token_store(store)
    .build()
    .unwrap();
    let error = client
        .load_curve(
            &pdl(SANDBOX),
            Flow::Consumption,
            date("2024-06-01"),
            date("2024-06-02"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::BodyTooLarge { limit: 10_000, received, .. } if received > 10_000 && received <= 10_000 + 0x400),
        "{error:?}"
    );
}

fn manual_clock() -> Arc<linky_core::ManualClock> {
    use chrono::TimeZone;
    Arc::new(linky_core::ManualClock::new(
        chrono::Utc.with_ymd_and_hms(2024, 6, 20, 8, 0, 0).unwrap(),
    ))
}

/// Token expiry asks the client's clock, not the wall clock: a test moves time past the
/// refresh margin and the next request renews the token first.
#[tokio::test]
async fn token_expiry_follows_the_clients_clock() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/device/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "access-2", "token_type": "Bearer", "expires_in": 3600
        })))
        .expect(1)
        .mount(&server)
        .await;
    for token in ["access-1", "access-2"] {
        Mock::given(method("GET"))
            .and(header("authorization", format!("Bearer {token}").as_str()))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_bytes(sample("sandbox-infodavide_daily_consumption.json")),
            )
            .mount(&server)
            .await;
    }
    let clock = manual_clock();
    let store = Arc::new(MemoryTokenStore::default());
    let mut tokens = valid_tokens();
    tokens.expires_at =
        SystemTime::from(linky_core::Clock::now(clock.as_ref())) + Duration::from_secs(3600);
    store.save(&tokens).unwrap();
    let client = Client::builder(Backend::Proxy {
        base_url: server.uri(),
        client_id: "client-id".to_owned(),
    })
    .clock(clock.clone())
    .token_store(store.clone())
    .build()
    .unwrap();
    let sandbox = pdl(SANDBOX);
    let fetch = || {
        client.daily_energy(
            &sandbox,
            Flow::Consumption,
            date("2021-09-14"),
            date("2021-09-22"),
        )
    };
    fetch().await.unwrap();
    // 51 minutes later the token expires within the 10-minute margin: renewed first.
    clock.advance(Duration::from_secs(51 * 60));
    fetch().await.unwrap();
    let authorizations: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "GET")
        .map(|r| r.headers["authorization"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(authorizations, ["Bearer access-1", "Bearer access-2"]);
    // The new token's expiry is counted from the client's clock too.
    let renewed = store.load().unwrap().unwrap();
    assert_eq!(
        renewed.expires_at,
        SystemTime::from(linky_core::Clock::now(clock.as_ref())) + Duration::from_secs(3600)
    );
}

/// A Retry-After longer than the retry policy's longest delay is not slept through: the
/// error comes back at once with the wait, for the caller to come back later. A short one
/// is waited for exactly, on the client's clock.
#[tokio::test]
async fn a_retry_after_above_the_policy_is_returned_not_slept() {
    for (retry_after, expected_requests, expected_wait) in [("3600", 1, 0), ("2", 2, 2)] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(429)
                    .insert_header("retry-after", retry_after)
                    .set_body_string(r#"{"error":"too_many_requests"}"#),
            )
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_bytes(sample("sandbox-infodavide_daily_consumption.json")),
            )
            .mount(&server)
            .await;
        let clock = manual_clock();
        let started = linky_core::Clock::now(clock.as_ref());
        let client = conso_api(&server)
            .clock(clock.clone())
            .jitter_seed(7)
            .build()
            .unwrap();
        let result = sandbox_week(&client).await;
        let requests = server.received_requests().await.unwrap().len();
        let waited = (linky_core::Clock::now(clock.as_ref()) - started).num_seconds();
        assert_eq!((requests, waited), (expected_requests, expected_wait));
        match retry_after {
            "3600" => {
                let error = result.unwrap_err();
                assert!(error.is_rate_limited(), "{error}");
                assert_eq!(error.retry_after(), Some(Duration::from_secs(3600)));
                // Through the sync's trait, the wait travels with the error.
                let request = linky_core::FetchRequest {
                    measurement: linky_core::Measurement::DailyEnergy(Flow::Consumption),
                    start: date("2021-09-14"),
                    end: date("2021-09-22"),
                };
                server.reset().await;
                Mock::given(method("GET"))
                    .respond_with(
                        ResponseTemplate::new(429)
                            .insert_header("retry-after", "3600")
                            .set_body_string(r#"{"error":"too_many_requests"}"#),
                    )
                    .mount(&server)
                    .await;
                let source_error =
                    linky_core::ReadingSource::fetch(&client, &pdl(SANDBOX), &request)
                        .await
                        .unwrap_err();
                assert_eq!(source_error.kind, linky_core::SourceErrorKind::Transient);
                assert_eq!(source_error.retry_after, Some(Duration::from_secs(3600)));
            }
            _ => assert!(result.is_ok()),
        }
    }
}

/// A Retry-After given as an HTTP-date is read against the client's clock; one far in the
/// future or absurdly large is capped at a day, never an overflow (issue 18).
#[tokio::test]
async fn a_retry_after_date_is_read_on_the_clock_and_capped() {
    let clock = manual_clock();
    let now = linky_core::Clock::now(clock.as_ref());
    let in_two_hours = (now + chrono::Duration::hours(2))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let day = linky_core::RETRY_AFTER_CEILING;
    for (retry_after, expected) in [
        (in_two_hours.as_str(), Duration::from_secs(7200)),
        ("Fri, 31 Dec 9999 23:59:59 GMT", day),
        ("10000000000000", day),
        ("184467440737095516150", day),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(429)
                    .insert_header("retry-after", retry_after)
                    .set_body_string(r#"{"error":"too_many_requests"}"#),
            )
            .mount(&server)
            .await;
        let client = conso_api(&server)
            .clock(clock.clone())
            .jitter_seed(7)
            .build()
            .unwrap();
        let error = sandbox_week(&client).await.unwrap_err();
        assert_eq!(error.retry_after(), Some(expected), "{retry_after}");
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }
}

/// With the same seed and clock, the retries of two clients wait the same delays.
#[tokio::test]
async fn retries_are_deterministic_with_a_seed_and_a_manual_clock() {
    let mut waits = Vec::new();
    for _ in 0..2 {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(503).set_body_string("<html>busy</html>"))
            .mount(&server)
            .await;
        let clock = manual_clock();
        let started = linky_core::Clock::now(clock.as_ref());
        let client = conso_api(&server)
            .clock(clock.clone())
            .jitter_seed(42)
            .build()
            .unwrap();
        let error = sandbox_week(&client).await.unwrap_err();
        assert!(error.is_transient());
        // The default policy: 5 attempts, four waits between 2.5 s and 40 s in all.
        assert_eq!(server.received_requests().await.unwrap().len(), 5);
        waits.push((linky_core::Clock::now(clock.as_ref()) - started).num_milliseconds());
    }
    assert_eq!(waits[0], waits[1]);
    assert!((37_500..=75_000).contains(&waits[0]), "{waits:?}");
}

#[tokio::test]
async fn the_contract_gives_the_off_peak_hours_and_since_when() {
    use linky_core::ReadingSource;
    let server = MockServer::start().await;
    // The proxy forwards v5's contracts path, like the measurements.
    let body = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata/enedis/saniho_contract_data_2.json"),
    )
    .unwrap()
    .replace("20000000000000", SANDBOX);
    Mock::given(method("GET"))
        .and(path("/data/proxy/customers_upc/v5/usage_points/contracts"))
        .and(query_param("usage_point_id", SANDBOX))
        .and(header("authorization", "Bearer access-1"))
        .respond_with(ResponseTemplate::new(200).set_body_string(body))
        .expect(2)
        .mount(&server)
        .await;
    let (client, _) = proxy_client(&server, Some(valid_tokens())).await;
    let contract = client.contract(&pdl(SANDBOX)).await.unwrap().unwrap();
    assert_eq!(contract.subscribed_power_kva, Some(6));
    assert_eq!(contract.last_tariff_change, Some(date("2021-11-18")));
    let hours = client.contract_hours(&pdl(SANDBOX)).await.unwrap().unwrap();
    assert_eq!(hours.text, "HC (0H54-6H54;11H54-13H54)");
    assert_eq!(hours.since, Some(date("2021-11-18")));
}

#[tokio::test]
async fn data_connect_2026_reads_the_hours_from_comptage_auto_and_the_conso_api_has_none() {
    use linky_core::ReadingSource;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/v3/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "app-token", "token_type": "Bearer", "expires_in": 12600
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/comptage_auto/v1/{SANDBOX}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "relais": {"plageHeuresCreuses": "HC (1H50-7H50;12H50-14H50)"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::builder(Backend::DataConnect2026 {
        base_url: server.uri(),
        client_id: "app".to_owned(),
        client_secret: ClientSecret::new("secret"),
        usage_points: vec![SANDBOX.to_owned()],
    })
    .max_per_second(1000)
    .build()
    .unwrap();
    let hours = client.contract_hours(&pdl(SANDBOX)).await;
    let hours = hours.unwrap().unwrap();
    assert_eq!(hours.text, "HC (1H50-7H50;12H50-14H50)");
    assert_eq!(hours.since, None);
    // No documented contract endpoint: nothing asked, nothing told.
    let conso = Client::builder(Backend::ConsoApi {
        base_url: server.uri(),
        token: ApiToken::new("t"),
        usage_points: vec![SANDBOX.to_owned()],
    })
    .build()
    .unwrap();
    assert_eq!(conso.contract_hours(&pdl(SANDBOX)).await.unwrap(), None);
}
