//! Sessions of the Enedis sandbox's fake customers, through the
//! DomoticzLinky proxy, with data shaped like the real samples: for tests, demos and the
//! replay example. They are generated from fixed seeds, and bundled as files in
//! `testdata/sessions/` (a test checks that the files and this code agree).

use chrono::NaiveDate;
use linky_core::{Flow, Measurement, PlanLimits};
use serde_json::json;

use super::{
    Exchange, Outcome, RecordedRequest, RecordedResponse, ReplayInfo, Session, SyntheticSession,
};
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
        limits: PlanLimits::new(sandbox_now(), days),
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

/// A meter of a generated session: its usage point and the directions it measures.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meter<'a> {
    /// The usage point.
    pub usage_point: &'a str,
    /// Whether it measures consumption (and so has daily peaks).
    pub consumes: bool,
    /// Whether it measures production.
    pub produces: bool,
}

impl<'a> Meter<'a> {
    /// A consuming meter.
    pub fn consumer(usage_point: &'a str) -> Meter<'a> {
        Meter {
            usage_point,
            consumes: true,
            produces: false,
        }
    }

    /// A producing meter.
    pub fn producer(usage_point: &'a str) -> Meter<'a> {
        Meter {
            usage_point,
            consumes: false,
            produces: true,
        }
    }
}

/// A session shaped as a sync of a fresh state asks, at [`sandbox_now`], with the default
/// displays and `days` of history (production asked for when `production`): for each
/// meter in order, its consumption curve, its daily peaks and its production curve, each
/// newest first; a direction a meter lacks answers `ADAM-ERR0069` once. Values are drawn
/// from `seed`; the session's [`ReplayInfo`] says all that, and a success.
pub fn sync_session(
    description: &str,
    meters: &[Meter<'_>],
    days: i64,
    production: bool,
    seed: u64,
) -> Session {
    generate_sync_session(description, meters, days, production, seed, false)
}

/// [`sync_session`] with each body kept as its JSON text (served as is): a large
/// generated session (two years) then costs its bytes, not a JSON tree per reading.
pub fn sync_session_compact(
    description: &str,
    meters: &[Meter<'_>],
    days: i64,
    production: bool,
    seed: u64,
) -> Session {
    generate_sync_session(description, meters, days, production, seed, true)
}

fn generate_sync_session(
    description: &str,
    meters: &[Meter<'_>],
    days: i64,
    production: bool,
    seed: u64,
    compact: bool,
) -> Session {
    let history = linky_core::HistorySettings::new(
        0,
        days,
        linky_core::MainDisplay::default(),
        linky_core::SecondaryDisplay::default(),
    )
    .0;
    let window = i64::from(history.days());
    let peak_days = window.max(i64::from(history.peak_days()));
    let mut session = Session::new(description, "proxy");
    let mut random = seed;
    for meter in meters {
        let mut steps = vec![
            (CURVE, meter.consumes, window),
            (PEAKS, meter.consumes, peak_days),
        ];
        if production {
            steps.push((PRODUCTION, meter.produces, window));
        }
        for (measurement, has_it, days) in steps {
            let generator = synthetic(meter.usage_point, vec![measurement], days, random);
            random += 1;
            if has_it {
                for request in generator.requests() {
                    let mut exchange = generator.exchange(&request, &mut random);
                    if compact {
                        let text = exchange.response.body.to_string();
                        exchange.response.body = serde_json::Value::String(text);
                    }
                    session.exchanges.push(exchange);
                }
            } else if let Some(first) = generator.requests().first() {
                let refusal = generator.exchange(first, &mut random);
                session.exchanges.push(error_answer(refusal, 400, json!({"error": "ADAM-ERR0069", "error_description": "Le sens de la mesure ne correspond pas pour le PRM demandé"})));
            }
        }
    }
    let mut info = ReplayInfo::new(
        sandbox_now(),
        meters.iter().map(|m| m.usage_point.to_owned()).collect(),
        window,
        Outcome::Success,
    );
    info.production = production;
    session.replay = Some(info);
    session
}

/// The exchange's position whose path holds `part`.
fn position_of(session: &Session, part: &str) -> usize {
    session
        .exchanges
        .iter()
        .position(|e| e.request.path.contains(part))
        .unwrap_or(0)
}

/// Every bundled session: `(file name, session)`. Each is what a sync with its recorded
/// [`ReplayInfo`] asks, in order, so that it replays as a sync.
pub fn sandbox_sessions() -> Vec<(&'static str, Session)> {
    let mut sessions = Vec::new();
    let consumer = |id| [Meter::consumer(id)];

    // Client 0: complete data over 60 days.
    sessions.push((
        "client0-complete-60-days.json",
        sync_session(
            "sandbox client 0: 60 days of consumption curve and daily peaks, complete",
            &consumer("22516914714270"),
            60,
            false,
            1,
        ),
    ));

    // Client 0 again, its daily energies over a year.
    let daily = synthetic(
        "22516914714270",
        vec![Measurement::DailyEnergy(Flow::Consumption)],
        365,
        13,
    );
    let mut energies = named(
        daily.session(),
        "sandbox client 0: a year of daily consumption, in Wh",
    );
    let mut info = ReplayInfo::new(
        sandbox_now(),
        vec!["22516914714270".to_owned()],
        365,
        Outcome::Success,
    );
    info.production = false;
    info.daily_energy = true;
    energies.replay = Some(info);
    sessions.push(("client0-daily-energies.json", energies));

    // Client 3: a consumption point and a production point under one consent; each
    // direction the meter lacks answers ADAM-ERR0069.
    sessions.push((
        "client3-consumption-and-production.json",
        sync_session(
            "sandbox client 3: 12345678901234 consumes, 10284856584123 produces; the missing directions answer ADAM-ERR0069",
            &[
                Meter::consumer("12345678901234"),
                Meter::producer("10284856584123"),
            ],
            14,
            true,
            3,
        ),
    ));

    // Client 4: holes every Tuesday and Wednesday.
    let mut client4 = sync_session(
        "sandbox client 4: consumption with no data on Tuesdays and Wednesdays",
        &consumer("42900589957123"),
        28,
        false,
        7,
    );
    for exchange in &mut client4.exchanges {
        if let Some(readings) = exchange
            .response
            .body
            .pointer_mut("/meter_reading/interval_reading")
            .and_then(|r| r.as_array_mut())
            && exchange.request.path.contains("load_curve")
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
    sessions.push(("client4-holes-tuesdays-wednesdays.json", client4));

    // Client 6: self-consumption, both directions on one meter.
    sessions.push((
        "client6-self-consumption.json",
        sync_session(
            "sandbox client 6: consumption and production on one meter",
            &[Meter {
                usage_point: "12655648759651",
                consumes: true,
                produces: true,
            }],
            14,
            true,
            8,
        ),
    ));

    // Client 8: consent revoked right after being given.
    let mut revoked = sync_session(
        "sandbox client 8: consent revoked (403 ADAM-DC-0008)",
        &consumer("26584978546985"),
        7,
        false,
        9,
    );
    revoked.exchanges.truncate(1);
    revoked.exchanges[0].response = RecordedResponse::json(
        403,
        json!({"error": "ADAM-DC-0008", "error_description": "No consent can be found for this customer and this usage point"}),
    );
    if let Some(info) = revoked.replay.as_mut() {
        info.outcome = Outcome::ConsentLost;
    }
    sessions.push(("client8-consent-revoked.json", revoked));

    // Client 0 again: a 429 in the middle of a backfill, honoured and retried.
    let mut quota = sync_session(
        "a 429 with Retry-After in the middle of a 35-day backfill, then the same request succeeds",
        &consumer("22516914714270"),
        35,
        false,
        10,
    );
    let mut answer = error_answer(
        quota.exchanges[2].clone(),
        429,
        json!({"error": "too_many_requests"}),
    );
    answer
        .response
        .headers
        .insert("retry-after".to_owned(), "0".to_owned());
    quota.exchanges.insert(2, answer);
    sessions.push(("quota-429-mid-backfill.json", quota));

    // A 500 then success.
    let mut flaky = sync_session(
        "a 500 technical_error on the daily peaks, then the same request succeeds",
        &consumer("22516914714270"),
        7,
        false,
        11,
    );
    let peaks = position_of(&flaky, "daily_consumption_max_power");
    let failed = error_answer(
        flaky.exchanges[peaks].clone(),
        500,
        json!({"error": "technical_error", "error_description": "Un problème a été rencontré lors du traitement."}),
    );
    flaky.exchanges.insert(peaks, failed);
    sessions.push(("error-500-then-success.json", flaky));

    // An expired token refreshed mid-run.
    let mut expired = sync_session(
        "the access token expires mid-run: 401, one refresh, the request again",
        &consumer("22516914714270"),
        21,
        false,
        12,
    );
    let refused = error_answer(
        expired.exchanges[1].clone(),
        401,
        json!({"fault": {"code": 900901, "message": "Invalid Credentials", "description": "Invalid JWT token"}}),
    );
    expired.exchanges.insert(1, refused);
    expired.exchanges.insert(
        2,
        Exchange {
            request: RecordedRequest {
                method: "POST".to_owned(),
                path: "/device/token".to_owned(),
            },
            response: RecordedResponse::json(
                200,
                json!({"access_token": "[redacted]", "token_type": "Bearer", "expires_in": 12600}),
            ),
        },
    );
    sessions.push(("expired-token-refreshed.json", expired));

    sessions
}
