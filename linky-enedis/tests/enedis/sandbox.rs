//! The bundled sandbox sessions: the files match the code that makes them, and each
//! replays through the real client with the outcome its customer is known for.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::NaiveDate;
use linky_core::{Flow, Measurement, PARIS, PlanLimits, RetryPolicy, UsagePointId};
use linky_enedis::{
    AccessToken, Backend, BackfillReport, Client, MemoryTokenStore, Payload, RefreshToken,
    ReplayServer, Session, TokenSet, TokenStore, backfill, sandbox_now, sandbox_sessions,
};

fn bundled(name: &str) -> Session {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/sessions")
        .join(name);
    Session::from_json(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn the_bundled_files_match_the_code() {
    for (name, session) in sandbox_sessions() {
        assert_eq!(
            bundled(name),
            session,
            "{name}: run `cargo run --example make_sessions`"
        );
    }
}

const CURVE: Measurement = Measurement::LoadCurve(Flow::Consumption);
const PRODUCTION: Measurement = Measurement::LoadCurve(Flow::Production);
const PEAKS: Measurement = Measurement::DailyMaxPower;

struct Replayed {
    reports: Vec<BackfillReport>,
    payloads: Vec<(String, Payload)>,
    served: usize,
    store: Arc<MemoryTokenStore>,
}

/// The backfills a sync makes for `name`, from its replay info: per usage point, the
/// consumption curve, the daily peaks and (when asked for) the production curve.
fn sync_steps(name: &str) -> Vec<(String, Measurement, i64)> {
    let info = bundled(name).replay.expect("replay info");
    let history = linky_core::HistorySettings::new(
        info.hours_days,
        info.days,
        Default::default(),
        Default::default(),
    )
    .0;
    let days = i64::from(history.days());
    let peak_days = days.max(i64::from(history.peak_days()));
    let mut steps = Vec::new();
    for usage_point in &info.usage_points {
        steps.push((usage_point.clone(), CURVE, days));
        steps.push((usage_point.clone(), PEAKS, peak_days));
        if info.production {
            steps.push((usage_point.clone(), PRODUCTION, days));
        }
    }
    steps
}

/// Replays `name` through the backfills a sync makes for it, in order.
async fn replay_as_a_sync(name: &str) -> Replayed {
    let steps = sync_steps(name);
    let usage_points: Vec<&str> = steps.iter().map(|(id, _, _)| id.as_str()).collect();
    let steps: Vec<(&str, Measurement, i64)> = steps
        .iter()
        .map(|(id, measurement, days)| (id.as_str(), *measurement, *days))
        .collect();
    replay(name, &usage_points, &steps).await
}

/// Replays `name` through backfills of `steps` (usage point, measurement, days), in order.
async fn replay(name: &str, usage_points: &[&str], steps: &[(&str, Measurement, i64)]) -> Replayed {
    let server = ReplayServer::start(bundled(name)).await.unwrap();
    let store = Arc::new(MemoryTokenStore::default());
    store
        .save(&TokenSet {
            access_token: AccessToken::new("a"),
            refresh_token: Some(RefreshToken::new("r")),
            expires_at: SystemTime::now() + Duration::from_secs(3600),
            usage_points: usage_points.iter().map(|p| p.to_string()).collect(),
        })
        .unwrap();
    let client = Client::builder(Backend::Proxy {
        base_url: server.base_url(),
        client_id: "c".to_owned(),
    })
    .max_per_second(10_000)
    .retry(RetryPolicy::new(
        Duration::from_millis(5),
        Duration::from_millis(10),
        3,
    ))
    .token_store(store.clone())
    .build()
    .unwrap();
    let mut reports = Vec::new();
    let mut payloads = Vec::new();
    for &(usage_point, measurement, days) in steps {
        let id: UsagePointId = usage_point.parse().unwrap();
        let limits = PlanLimits::new(sandbox_now(), days);
        let report = backfill(
            &client,
            &id,
            measurement,
            &BTreeSet::new(),
            &limits,
            |_, payload| {
                payloads.push((usage_point.to_owned(), payload));
            },
        )
        .await;
        let stop = report.stopped_by.is_some();
        reports.push(report);
        if stop {
            break;
        }
    }
    let served = server.served();
    if reports.iter().all(|r| r.stopped_by.is_none()) {
        server.finish().unwrap();
    }
    Replayed {
        reports,
        payloads,
        served,
        store,
    }
}

fn days_with_data(payloads: &[(String, Payload)], usage_point: &str) -> BTreeSet<NaiveDate> {
    payloads
        .iter()
        .filter(|(id, _)| id == usage_point)
        .filter_map(|(_, payload)| match payload {
            Payload::LoadCurve(curve) => Some(
                curve
                    .build_curve(PARIS)
                    .0
                    .days()
                    .into_iter()
                    .map(|d| d.date)
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .flatten()
        .collect()
}

#[tokio::test]
async fn client0_has_60_complete_days() {
    let replayed = replay_as_a_sync("client0-complete-60-days.json").await;
    assert!(replayed.reports.iter().all(BackfillReport::is_complete));
    assert_eq!(
        days_with_data(&replayed.payloads, "22516914714270").len(),
        60
    );
    let peaks: usize = replayed
        .payloads
        .iter()
        .map(|(_, p)| match p {
            Payload::DailyMaxPower(series) => series.values.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(peaks, 60);
}

#[tokio::test]
async fn client3_answers_err0069_for_the_missing_directions() {
    let replayed = replay_as_a_sync("client3-consumption-and-production.json").await;
    assert!(replayed.reports.iter().all(BackfillReport::is_complete));
    let permanent: Vec<&str> = replayed
        .payloads
        .iter()
        .filter(|(_, p)| {
            matches!(
                p,
                Payload::NoData {
                    permanent: true,
                    ..
                }
            )
        })
        .map(|(id, _)| id.as_str())
        .collect();
    // The consumer's production; the producer's consumption and peaks.
    assert_eq!(
        permanent,
        ["12345678901234", "10284856584123", "10284856584123"]
    );
    assert_eq!(
        days_with_data(&replayed.payloads, "10284856584123").len(),
        14
    );
}

#[tokio::test]
async fn client4_has_holes_on_tuesdays_and_wednesdays() {
    let replayed = replay_as_a_sync("client4-holes-tuesdays-wednesdays.json").await;
    let days = days_with_data(&replayed.payloads, "42900589957123");
    assert_eq!(days.len(), 20);
    assert!(days.iter().all(|d| !matches!(
        chrono::Datelike::weekday(d),
        chrono::Weekday::Tue | chrono::Weekday::Wed
    )));
    let holes: i64 = replayed
        .payloads
        .iter()
        .map(|(_, p)| match p {
            Payload::LoadCurve(curve) => curve.build_curve(PARIS).1.missing_minutes(),
            _ => 0,
        })
        .sum();
    assert_eq!(holes, 8 * 24 * 60);
}

#[tokio::test]
async fn client6_consumes_and_produces() {
    let replayed = replay_as_a_sync("client6-self-consumption.json").await;
    assert!(replayed.reports.iter().all(BackfillReport::is_complete));
    assert_eq!(replayed.payloads.len(), 5);
}

#[tokio::test]
async fn client8_lost_its_consent() {
    let replayed = replay_as_a_sync("client8-consent-revoked.json").await;
    let error = replayed.reports[0].stopped_by.as_ref().unwrap();
    assert!(error.is_consent_lost(), "{error}");
}

#[tokio::test]
async fn quota_errors_500s_and_expired_tokens_are_recovered() {
    let quota = replay_as_a_sync("quota-429-mid-backfill.json").await;
    assert!(quota.reports.iter().all(BackfillReport::is_complete));
    // Five curve requests, the 429 before the third, the peaks.
    assert_eq!((quota.reports[0].completed.len(), quota.served), (5, 7));
    let flaky = replay_as_a_sync("error-500-then-success.json").await;
    assert!(flaky.reports.iter().all(BackfillReport::is_complete));
    // The curve, the 500, the peaks again.
    assert_eq!(flaky.served, 3);
    let expired = replay_as_a_sync("expired-token-refreshed.json").await;
    assert!(expired.reports.iter().all(BackfillReport::is_complete));
    // Three curve requests, the 401, the token, the peaks.
    assert_eq!(expired.served, 6);
    assert_eq!(
        expired.store.load().unwrap().unwrap().access_token.expose(),
        "[redacted]"
    );
    assert_eq!(
        days_with_data(&expired.payloads, "22516914714270").len(),
        21
    );
}
