//! Sessions of the Enedis sandbox's fake customers (spec/enedis.md), through the
//! DomoticzLinky proxy, with data shaped like the real samples: for tests, demos and the
//! replay example. They are generated from fixed seeds, and bundled as files in
//! `testdata/sessions/` (a test checks that the files and this code agree).

use chrono::NaiveDate;
use linky_core::{Flow, Measurement, PlanLimits};
use serde_json::json;

use super::{Exchange, RecordedRequest, RecordedResponse, Session, SyntheticSession};
use crate::Backend;

/// The run's local time in every sandbox session: 15 November 2024, 09:30.
pub fn sandbox_now() -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(2024, 11, 15)
        .and_then(|d| d.and_hms_opt(9, 30, 0))
        .unwrap_or_default()
}

fn proxy() -> Backend {
    Backend::Proxy {
        base_url: String::new(),
        client_id: String::new(),
    }
}

fn synthetic(
    usage_point: &str,
    measurements: Vec<Measurement>,
    days: i64,
    seed: u64,
) -> SyntheticSession {
    SyntheticSession {
        backend: proxy(),
        usage_point: usage_point.to_owned(),
        measurements,
        limits: PlanLimits {
            now: sandbox_now(),
            days,
            activation_date: None,
        },
        seed,
    }
}

const CURVE: Measurement = Measurement::LoadCurve(Flow::Consumption);
const PRODUCTION: Measurement = Measurement::LoadCurve(Flow::Production);
const PEAKS: Measurement = Measurement::DailyMaxPower;

/// An error answer for the request of `exchange`.
fn error_answer(mut exchange: Exchange, status: u16, body: serde_json::Value) -> Exchange {
    exchange.response = RecordedResponse::json(status, body);
    exchange
}

fn named(mut session: Session, description: &str) -> Session {
    session.description = description.to_owned();
    session
}

/// Every bundled session: `(file name, session)`.
pub fn sandbox_sessions() -> Vec<(&'static str, Session)> {
    let mut sessions = Vec::new();

    // Client 0: complete data over 60 days.
    let client0 = synthetic("22516914714270", vec![CURVE, PEAKS], 60, 1);
    sessions.push((
        "client0-complete-60-days.json",
        named(
            client0.session(),
            "sandbox client 0: 60 days of consumption curve and daily peaks, complete",
        ),
    ));

    // Client 3: a consumption point and a production point under one consent; each
    // direction the meter lacks answers ADAM-ERR0069.
    let consumer = synthetic("12345678901234", vec![CURVE, PEAKS], 14, 3);
    let producer = synthetic("10284856584123", vec![PRODUCTION], 14, 4);
    let mut client3 = consumer.session();
    let no_direction = json!({"error": "ADAM-ERR0069", "error_description": "Le sens de la mesure ne correspond pas pour le PRM demandé"});
    let production_of_consumer = synthetic("12345678901234", vec![PRODUCTION], 14, 5);
    if let Some(first) = production_of_consumer.requests().first() {
        client3.exchanges.push(error_answer(
            production_of_consumer.exchange(first, &mut 1),
            400,
            no_direction.clone(),
        ));
    }
    let consumption_of_producer = synthetic("10284856584123", vec![CURVE], 14, 6);
    if let Some(first) = consumption_of_producer.requests().first() {
        client3.exchanges.push(error_answer(
            consumption_of_producer.exchange(first, &mut 1),
            400,
            no_direction,
        ));
    }
    client3.exchanges.extend(producer.session().exchanges);
    sessions.push(("client3-consumption-and-production.json", named(client3, "sandbox client 3: 12345678901234 consumes, 10284856584123 produces; the missing directions answer ADAM-ERR0069")));

    // Client 4: holes every Tuesday and Wednesday.
    let mut client4 = synthetic("42900589957123", vec![CURVE], 28, 7).session();
    for exchange in &mut client4.exchanges {
        if let Some(readings) = exchange
            .response
            .body
            .pointer_mut("/meter_reading/interval_reading")
            .and_then(|r| r.as_array_mut())
        {
            readings.retain(|reading| {
                let Some(end) = reading["date"]
                    .as_str()
                    .and_then(crate::parse_local_date_time)
                else {
                    return true;
                };
                let day = (end - chrono::Duration::minutes(1)).date();
                !matches!(
                    chrono::Datelike::weekday(&day),
                    chrono::Weekday::Tue | chrono::Weekday::Wed
                )
            });
        }
    }
    sessions.push((
        "client4-holes-tuesdays-wednesdays.json",
        named(
            client4,
            "sandbox client 4: consumption with no data on Tuesdays and Wednesdays",
        ),
    ));

    // Client 6: self-consumption, both directions on one meter.
    let client6 = synthetic("12655648759651", vec![CURVE, PRODUCTION, PEAKS], 14, 8);
    sessions.push((
        "client6-self-consumption.json",
        named(
            client6.session(),
            "sandbox client 6: consumption and production on one meter",
        ),
    ));

    // Client 8: consent revoked right after being given.
    let client8 = synthetic("26584978546985", vec![CURVE], 7, 9);
    let mut revoked = Session::new(
        "sandbox client 8: consent revoked (403 ADAM-DC-0008)",
        "proxy",
    );
    if let Some(first) = client8.requests().first() {
        revoked.exchanges.push(error_answer(client8.exchange(first, &mut 1), 403, json!({"error": "ADAM-DC-0008", "error_description": "No consent can be found for this customer and this usage point"})));
    }
    sessions.push(("client8-consent-revoked.json", revoked));

    // Client 0 again: a 429 in the middle of a backfill, honoured and retried.
    let mut quota = synthetic("22516914714270", vec![CURVE], 35, 10).session();
    if let Some(middle) = quota.exchanges.get(2).cloned() {
        let mut answer = error_answer(middle, 429, json!({"error": "too_many_requests"}));
        answer
            .response
            .headers
            .insert("retry-after".to_owned(), "0".to_owned());
        quota.exchanges.insert(2, answer);
    }
    sessions.push(("quota-429-mid-backfill.json", named(quota, "a 429 with Retry-After in the middle of a 35-day backfill, then the same request succeeds")));

    // A 500 then success.
    let mut flaky = synthetic("22516914714270", vec![PEAKS], 7, 11).session();
    if let Some(first) = flaky.exchanges.first().cloned() {
        flaky.exchanges.insert(0, error_answer(first, 500, json!({"error": "technical_error", "error_description": "Un problème a été rencontré lors du traitement."})));
    }
    sessions.push((
        "error-500-then-success.json",
        named(
            flaky,
            "a 500 technical_error, then the same request succeeds",
        ),
    ));

    // An expired token refreshed mid-run.
    let mut expired = synthetic("22516914714270", vec![CURVE], 21, 12).session();
    if let Some(second) = expired.exchanges.get(1).cloned() {
        expired.exchanges.insert(1, error_answer(second, 401, json!({"fault": {"code": 900901, "message": "Invalid Credentials", "description": "Invalid JWT token"}})));
        expired.exchanges.insert(2, Exchange {
            request: RecordedRequest { method: "POST".to_owned(), path: "/device/token".to_owned() },
            response: RecordedResponse::json(200, json!({"access_token": "[redacted]", "token_type": "Bearer", "expires_in": 12600})),
        });
    }
    sessions.push((
        "expired-token-refreshed.json",
        named(
            expired,
            "the access token expires mid-run: 401, one refresh, the request again",
        ),
    ));

    sessions
}
