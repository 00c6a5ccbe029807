//! Recorded sessions: record, redact, replay through the real client, and the backfills
//! and faults that replays make testable.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::NaiveDate;
use linky_core::{Flow, Measurement, PlanLimits, RetryPolicy, UsagePointId};
use linky_enedis::{
    AccessToken, Backend, Client, ClientSecret, Error, Fault, MemoryTokenStore, MeterSource,
    Payload, RecordedResponse, Recorder, RefreshToken, ReplayServer, Session, SyntheticSession,
    TokenSet, TokenStore, backfill,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn pdl(text: &str) -> UsagePointId {
    text.parse().unwrap()
}

const SANDBOX: &str = "22516914714270";

fn retries(attempts: u32) -> RetryPolicy {
    RetryPolicy::new(
        Duration::from_millis(5),
        Duration::from_millis(20),
        attempts,
    )
}

fn proxy(base_url: String, attempts: u32) -> Client {
    let store = Arc::new(MemoryTokenStore::default());
    store
        .save(&TokenSet {
            access_token: AccessToken::new("a"),
            refresh_token: Some(RefreshToken::new("r")),
            expires_at: SystemTime::now() + Duration::from_secs(3600),
            usage_points: vec![SANDBOX.to_owned()],
        })
        .unwrap();
    // A replayed server has no quota: lift the 5 requests/s limit to keep the test short.
    Client::builder(Backend::Proxy {
        base_url,
        client_id: "c".to_owned(),
    })
    .max_per_second(10_000)
    .retry(retries(attempts))
    .token_store(store)
    .build()
    .unwrap()
}

fn data_connect(base_url: String, usage_point: &str) -> Client {
    Client::builder(Backend::DataConnectV5 {
        base_url,
        client_id: "app".to_owned(),
        client_secret: ClientSecret::new("very-secret"),
        usage_points: vec![usage_point.to_owned()],
    })
    .retry(retries(2))
    .build()
    .unwrap()
}

#[tokio::test]
async fn a_recorded_session_is_redacted_and_replays_through_the_client() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/v3/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "live-token", "token_type": "Bearer", "expires_in": 12600
        })))
        .mount(&server)
        .await;
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/enedis/saniho_max_power_data_16.json"
    ))
    .unwrap();
    let body = String::from_utf8(body)
        .unwrap()
        .replace("20000000000000", SANDBOX);
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(body))
        .mount(&server)
        .await;
    let recorder = Arc::new(Recorder::hiding_usage_points());
    let client = Client::builder(Backend::DataConnectV5 {
        base_url: server.uri(),
        client_id: "app".to_owned(),
        client_secret: ClientSecret::new("very-secret"),
        usage_points: vec![SANDBOX.to_owned()],
    })
    .recorder(recorder.clone())
    .build()
    .unwrap();
    let live = client
        .daily_max_power(&pdl(SANDBOX), date("2022-03-23"), date("2022-03-24"))
        .await
        .unwrap()
        .data()
        .unwrap();

    let session = recorder.session("max power of one day", client.backend().name());
    let json = session.to_json();
    for secret in ["live-token", "very-secret", SANDBOX] {
        assert!(!json.contains(secret), "{secret} leaked into {json}");
    }
    assert!(json.contains("[redacted]"));
    assert_eq!(session.exchanges.len(), 2);
    assert!(
        session.exchanges[1]
            .request
            .path
            .contains("usage_point_id=00000000000001")
    );

    // Replay: the same readings, for the placeholder usage point.
    let replay = ReplayServer::start(Session::from_json(json.as_bytes()).unwrap())
        .await
        .unwrap();
    let replayed_client = data_connect(replay.base_url(), "00000000000001");
    let replayed = replayed_client
        .daily_max_power(
            &pdl("00000000000001"),
            date("2022-03-23"),
            date("2022-03-24"),
        )
        .await
        .unwrap()
        .data()
        .unwrap();
    assert_eq!(replayed.values, live.values);
    replay.finish().unwrap();
}

#[tokio::test]
async fn a_request_the_session_does_not_expect_fails_loudly_with_a_diff() {
    let mut session = Session::new("one day", "proxy");
    let synthetic = synthetic(Measurement::DailyMaxPower, 5);
    let request = synthetic.requests()[0];
    session.exchanges.push(synthetic.exchange(&request, &mut 7));
    let replay = ReplayServer::start(session).await.unwrap();
    let client = proxy(replay.base_url(), 1);
    let error = client
        .daily_max_power(&pdl(SANDBOX), date("2020-01-01"), date("2020-01-02"))
        .await
        .unwrap_err();
    // Refused at once, with the diff in the answer: not a transient error, not retried.
    assert!(!error.is_transient(), "{error}");
    assert!(error.to_string().contains("replay_mismatch"), "{error}");
    assert_eq!(replay.served(), 0);
    let failure = replay.finish().unwrap_err().to_string();
    assert!(failure.contains("request 0 differs:\n  expected GET /data/proxy/metering_data_dcmp/v5/daily_consumption_max_power?start="), "{failure}");
    assert!(failure.contains("actual   GET /data/proxy/metering_data_dcmp/v5/daily_consumption_max_power?start=2020-01-01&end=2020-01-02"), "{failure}");
    assert!(failure.contains("exchange 0 never requested"), "{failure}");
}

fn synthetic(measurement: Measurement, days: i64) -> SyntheticSession {
    SyntheticSession::new(
        Backend::Proxy {
            base_url: String::new(),
            client_id: String::new(),
        },
        SANDBOX,
        vec![measurement],
        PlanLimits::new(date("2024-11-15").and_hms_opt(9, 30, 0).unwrap(), days),
        2024,
    )
}

/// Runs a backfill against `session`, storing the days each answer covers.
async fn run_backfill(
    session: Session,
    held: &BTreeSet<NaiveDate>,
    attempts: u32,
) -> (linky_enedis::BackfillReport, BTreeSet<NaiveDate>, usize) {
    let generator = synthetic(Measurement::LoadCurve(Flow::Consumption), 730);
    let replay = ReplayServer::start(session).await.unwrap();
    let client = proxy(replay.base_url(), attempts);
    let mut stored = BTreeSet::new();
    let report = backfill(
        &client,
        &pdl(SANDBOX),
        Measurement::LoadCurve(Flow::Consumption),
        held,
        &generator.limits,
        |request, payload| {
            let Payload::LoadCurve(curve) = payload else {
                panic!("not a curve")
            };
            assert_eq!(curve.period, Some((request.start, request.end)));
            stored.extend(request.days());
        },
    )
    .await;
    let served = replay.served();
    if report.stopped_by.is_none() {
        replay.finish().unwrap();
    }
    (report, stored, served)
}

#[tokio::test]
async fn a_two_year_backfill_with_a_429_in_the_middle_completes_with_the_fewest_requests() {
    let generator = synthetic(Measurement::LoadCurve(Flow::Consumption), 730);
    let minimum = generator.requests().len();
    assert_eq!(minimum, 105);
    let mut session = generator.session();
    let mut quota = session.exchanges[50].clone();
    quota.response = RecordedResponse::json(429, serde_json::json!({"error": "too many requests"}));
    quota
        .response
        .headers
        .insert("retry-after".to_owned(), "0".to_owned());
    session.exchanges.insert(50, quota);

    let (report, stored, served) = run_backfill(session, &BTreeSet::new(), 3).await;
    assert!(report.is_complete(), "{:?}", report.stopped_by);
    assert_eq!(stored.len(), 730, "every day present");
    assert_eq!(report.completed.len(), minimum, "no duplicate request");
    assert_eq!(
        served,
        minimum + 1,
        "the planner's minimum, plus the one retry"
    );
}

#[tokio::test]
async fn a_quota_hit_mid_backfill_keeps_what_was_fetched_and_the_next_run_fetches_the_rest() {
    let generator = synthetic(Measurement::LoadCurve(Flow::Consumption), 730);
    let session = generator.session();
    // First run: the quota is exhausted at the 51st request (three 429s, three attempts).
    let mut first = Session::new("first run", "proxy");
    first.exchanges = session.exchanges[..50].to_vec();
    for _ in 0..3 {
        let mut quota = session.exchanges[50].clone();
        quota.response = RecordedResponse::json(429, serde_json::json!({"error": "quota"}));
        first.exchanges.push(quota);
    }
    let (report, stored_first, _) = run_backfill(first, &BTreeSet::new(), 3).await;
    assert!(
        report
            .stopped_by
            .as_ref()
            .is_some_and(Error::is_rate_limited),
        "{:?}",
        report.stopped_by
    );
    assert_eq!(report.completed.len(), 50);
    assert_eq!(stored_first.len(), 350);
    // Next run: only what is missing, newest first.
    let mut second = Session::new("next run", "proxy");
    second.exchanges = session.exchanges[50..].to_vec();
    let (report, stored_second, _) = run_backfill(second, &stored_first, 3).await;
    assert!(report.is_complete(), "{:?}", report.stopped_by);
    assert!(
        stored_first.is_disjoint(&stored_second),
        "nothing fetched twice"
    );
    assert_eq!(stored_first.len() + stored_second.len(), 730);
    assert_eq!(50 + report.completed.len(), generator.requests().len());
}

#[tokio::test]
async fn faults_give_typed_errors() {
    let generator = synthetic(Measurement::DailyMaxPower, 5);
    let request = generator.requests()[0];
    for (fault, expected) in [
        (
            Fault::Reset,
            "failed: the answer was cut off (end of file before message length reached)",
        ),
        (Fault::Stall { stall_ms: 2_000 }, "failed: timed out"),
    ] {
        let mut exchange = generator.exchange(&request, &mut 11);
        exchange.response.fault = Some(fault);
        let mut session = Session::new("fault", "proxy");
        session.exchanges.push(exchange);
        let replay = ReplayServer::start(session).await.unwrap();
        let store = Arc::new(MemoryTokenStore::default());
        store
            .save(&TokenSet {
                access_token: AccessToken::new("a"),
                refresh_token: None,
                expires_at: SystemTime::now() + Duration::from_secs(3600),
                usage_points: vec![SANDBOX.to_owned()],
            })
            .unwrap();
        let client = Client::builder(Backend::Proxy {
            base_url: replay.base_url(),
            client_id: "c".to_owned(),
        })
        .timeout(Duration::from_millis(300))
        .retry(retries(1))
        .token_store(store)
        .build()
        .unwrap();
        let error = client
            .daily_max_power(&pdl(SANDBOX), request.start, request.end)
            .await
            .unwrap_err();
        // The host is named (the replay server's port), then what happened and why.
        let host = replay.base_url().trim_start_matches("http://").to_owned();
        assert_eq!(
            error.to_string(),
            format!("proxy request to {host} {expected}")
        );
        assert!(error.is_transient());
    }
}

#[test]
fn a_session_file_must_say_its_format() {
    let error = Session::from_json(br#"{"format": "har", "exchanges": []}"#).unwrap_err();
    assert_eq!(
        error.to_string(),
        "malformed session body: format \"har\", expected \"linky-session/1\""
    );
    assert!(Session::from_json(b"[]").is_err());
}

/// A two-year backfill's answers, in the order `backfill` hands them over (newest week
/// first), make one curve with no false anomaly, whether added one by one or concatenated,
/// and it is the curve of the same answers oldest first (issue 18: 34 944 "out of order"
/// anomalies on perfect data before).
#[tokio::test]
async fn a_backfills_answers_newest_first_make_one_clean_curve() {
    let generator = synthetic(Measurement::LoadCurve(Flow::Consumption), 730);
    let replay = ReplayServer::start(generator.session()).await.unwrap();
    let client = proxy(replay.base_url(), 1);
    let mut payloads = Vec::new();
    let report = backfill(
        &client,
        &pdl(SANDBOX),
        Measurement::LoadCurve(Flow::Consumption),
        &BTreeSet::new(),
        &generator.limits,
        |_, payload| {
            let Payload::LoadCurve(curve) = payload else {
                panic!("not a curve")
            };
            payloads.push(curve);
        },
    )
    .await;
    assert!(report.is_complete(), "{:?}", report.stopped_by);
    replay.finish().unwrap();
    assert_eq!(payloads.len(), 105);
    assert!(
        payloads[0].period.unwrap().0 > payloads[1].period.unwrap().0,
        "newest first"
    );
    let (from, to) = (
        payloads[104].period.unwrap().0,
        payloads[0].period.unwrap().1,
    );
    let builder = linky_core::LoadCurve::builder(linky_core::PARIS).expected_period(from, to);
    // Added one by one, as they come.
    let mut chunks = builder.clone().chunks();
    for payload in &payloads {
        payload.add_to(&mut chunks);
    }
    let (curve, anomalies) = chunks.build();
    let holes_in_the_data = anomalies.holes().count();
    assert_eq!(
        anomalies.anomalies().len(),
        holes_in_the_data,
        "only the generator's own holes: {anomalies}"
    );
    // Concatenated, newest first and oldest first: the same curve, the same report.
    let newest_first: Vec<linky_core::Reading> =
        payloads.iter().flat_map(|p| p.readings.clone()).collect();
    let oldest_first: Vec<linky_core::Reading> = payloads
        .iter()
        .rev()
        .flat_map(|p| p.readings.clone())
        .collect();
    let (curve_newest, report_newest) = builder.build(&newest_first);
    let (curve_oldest, report_oldest) = builder.build(&oldest_first);
    assert_eq!(curve_newest, curve);
    assert_eq!(curve_oldest, curve);
    assert_eq!(report_newest.anomalies().len(), holes_in_the_data);
    assert_eq!(report_oldest.anomalies().len(), holes_in_the_data);
}
