//! linky-domoticz through its public API: the sink against a local server that answers as
//! Domoticz 2025.1 does.

#[cfg(feature = "home-assistant")]
mod home_assistant;
mod sync;

#[path = "../../../testdata/examples/pipeline_loader.rs"]
mod pipeline_loader;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use linky_core::{DayRow, Energy, HourRow, MeterEnergies};
use linky_domoticz::DomoticzEmulator;
use linky_domoticz::{
    DomoticzAuth, DomoticzConfig, DomoticzSink, MemorySink, Password, Sink, SinkError,
};
use serde_json::Value;

fn sink(base_url: String) -> DomoticzSink {
    DomoticzSink::new(DomoticzConfig::new(base_url)).unwrap()
}

fn energies(u1: i64, u2: i64) -> MeterEnergies {
    MeterEnergies {
        consumption: [Energy::from_wh(u1), Energy::from_wh(u2)],
        production: [Energy::ZERO; 2],
    }
}

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

#[tokio::test]
async fn the_original_worked_examples_through_the_sink_give_its_svalues_to_the_wh() {
    let mut compared = 0;
    for (index, example) in pipeline_loader::examples().iter().enumerate() {
        let server = DomoticzEmulator::start("2025.1").await;
        let fake = &server;
        let sink = sink(server.uri());
        let expected = example["expected"].as_object().unwrap();
        for rows in pipeline_loader::run(example) {
            let device = sink.ensure_device(&rows.device).await.unwrap();
            sink.write_hours(&device, &rows.hours).await.unwrap();
            sink.write_days(&device, &rows.days).await.unwrap();
            if let Some(dashboard) = &rows.dashboard {
                sink.write_dashboard(&device, dashboard).await.unwrap();
            }
            let context = format!("example {index}, device {}", rows.device);
            let ours = fake.svalues(&device.key);
            let theirs: Vec<&str> = expected[&rows.device.to_string()]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert_eq!(ours.len(), theirs.len(), "{context}");
            let keyed = |svalues: Vec<&str>| -> BTreeMap<String, Vec<f64>> {
                svalues
                    .into_iter()
                    .map(|s| {
                        let (numbers, date) = pipeline_loader::fields(s);
                        (date.unwrap_or_else(|| "dashboard".to_owned()), numbers)
                    })
                    .collect()
            };
            let (ours, theirs) = (
                keyed(ours.iter().map(String::as_str).collect()),
                keyed(theirs),
            );
            assert_eq!(
                ours.keys().collect::<Vec<_>>(),
                theirs.keys().collect::<Vec<_>>(),
                "{context}"
            );
            for (key, numbers) in &theirs {
                for (a, b) in ours[key].iter().zip(numbers) {
                    // Whole Wh, rounded from the exact figure: within half a Wh.
                    assert!(
                        (a - b).abs() <= 0.5 + 1e-9,
                        "{context}, {key}: {:?} vs {numbers:?}",
                        ours[key]
                    );
                    assert_eq!(a.fract(), 0.0);
                }
                compared += 1;
            }
            // The dashboard row is written last.
            if rows.dashboard.is_some() {
                assert_eq!(
                    fake.svalues(&device.key).last().unwrap().split(';').count(),
                    6
                );
            }
            // What Domoticz stored is what was written.
            assert_eq!(sink.verify_days(&device, &rows.days).await.unwrap(), []);
        }
    }
    assert_eq!(compared, 1632);
}

/// Checks that every exchange named in `whats` of the recorded Domoticz session was sent
/// with exactly the recorded query.
fn assert_recorded_queries_sent(calls: &[String], whats: &[&str]) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/domoticz/domoticz-2025.1-session.json"
    );
    let recorded: Vec<Value> = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    for what in whats {
        let query = recorded.iter().find(|e| e["what"] == *what).unwrap()["request"]["query"]
            .as_str()
            .unwrap();
        assert!(
            calls.iter().any(|c| c == query),
            "{what}: {query} not in {calls:#?}"
        );
    }
}

#[tokio::test]
async fn provisioning_matches_the_recorded_exchange_and_finds_the_device_again() {
    let server = DomoticzEmulator::start("2025.1").await;
    let fake = &server;
    let sink = sink(server.uri());
    let first = sink
        .ensure_device(&device_id("12345678901234"))
        .await
        .unwrap();
    assert_eq!(first.key, "1");
    let again = sink
        .ensure_device(&device_id("12345678901234"))
        .await
        .unwrap();
    assert_eq!(again, first);
    let calls = fake.calls();
    assert_recorded_queries_sent(
        &calls,
        &[
            "version",
            "create dummy hardware",
            "create P1 meter",
            "set options (setused used=true)",
        ],
    );
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.contains("param=createdevice"))
            .count(),
        1
    );
    assert!(
        calls.iter().all(|c| !c.contains("used=false")),
        "never used=false"
    );
}

fn device_id(text: &str) -> linky_core::DeviceId {
    text.parse().unwrap()
}

/// An hour row ending at local `end` (Paris, the first such instant).
fn hour_row(end: chrono::NaiveDateTime, energies: MeterEnergies) -> HourRow {
    use chrono::TimeZone;
    HourRow {
        end_utc: linky_core::PARIS
            .from_local_datetime(&end)
            .earliest()
            .unwrap()
            .with_timezone(&chrono::Utc),
        end,
        energies,
    }
}

#[tokio::test]
async fn dated_writes_match_the_recorded_exchange() {
    let server = DomoticzEmulator::start("2025.1").await;
    let fake = &server;
    let sink = sink(server.uri());
    let device = sink
        .ensure_device(&device_id("12345678901234"))
        .await
        .unwrap();
    let day = DayRow {
        date: date("2024-01-14"),
        totals: energies(5230, 3100),
        hours_with_data: 24,
        peak: None,
    };
    sink.write_days(&device, &[day]).await.unwrap();
    // Each hour's own energies: the sink sends their running totals (10400, 7900 at 02:00).
    let hours = [
        hour_row(
            date("2024-01-16").and_hms_opt(1, 0, 0).unwrap(),
            energies(10000, 7000),
        ),
        hour_row(
            date("2024-01-16").and_hms_opt(2, 0, 0).unwrap(),
            energies(400, 900),
        ),
    ];
    sink.write_hours(&device, &hours).await.unwrap();
    let calls = fake.calls();
    assert_recorded_queries_sent(
        &calls,
        &[
            "day row (long log)",
            "hour row (short log) 01:00",
            "hour row (short log) 02:00",
        ],
    );
}

#[tokio::test]
async fn a_day_dropped_by_domoticz_is_reported_by_the_read_back() {
    let server = DomoticzEmulator::start("2025.1").await;
    let fake = &server;
    fake.state
        .lock()
        .unwrap()
        .drop_days
        .insert(date("2024-01-15"));
    let sink = sink(server.uri());
    let device = sink
        .ensure_device(&device_id("12345678901234"))
        .await
        .unwrap();
    let rows = [
        DayRow {
            date: date("2024-01-14"),
            totals: energies(5230, 3100),
            hours_with_data: 24,
            peak: None,
        },
        DayRow {
            date: date("2024-01-15"),
            totals: energies(6000, 2000),
            hours_with_data: 24,
            peak: None,
        },
    ];
    sink.write_days(&device, &rows).await.unwrap();
    let mismatches = sink.verify_days(&device, &rows).await.unwrap();
    assert_eq!(mismatches.len(), 1);
    assert_eq!(mismatches[0].date, date("2024-01-15"));
    assert_eq!(mismatches[0].stored_wh, None);
    assert_eq!(mismatches[0].written_wh, [6000, 2000, 0, 0]);
}

#[tokio::test]
async fn broken_and_old_versions_are_refused_clearly() {
    for (version, message) in [
        (
            "2023.2",
            "unsupported domoticz: Domoticz 2023.2 refuses undated updates",
        ),
        (
            "2022.1",
            "unsupported domoticz: Domoticz 2022.1 is older than 2023.2",
        ),
    ] {
        let server = DomoticzEmulator::start(version).await;
        let error = sink(server.uri())
            .ensure_device(&device_id("12345678901234"))
            .await
            .unwrap_err();
        assert!(error.to_string().starts_with(message), "{error}");
        assert!(!error.is_retryable());
    }
}

#[tokio::test]
async fn authentication_errors_and_outages_are_told_apart() {
    let server = DomoticzEmulator::builder("2025.1")
        .required_authorization("Basic YWRtaW46ZG9tb3RpY3o=")
        .start()
        .await
        .unwrap();
    let error = sink(server.uri())
        .ensure_device(&device_id("11111111111111"))
        .await
        .unwrap_err();
    assert!(matches!(error, SinkError::Unauthorized { .. }), "{error}");
    assert!(!error.is_retryable());
    // Where, and what to do: the trusted networks, or a login (issue 19).
    let text = error.to_string();
    assert!(
        text.contains(&format!(
            "getversion at {}",
            server.uri().trim_end_matches('/')
        )) && text.contains("answered 401")
            && text.contains("trusted networks"),
        "{text}"
    );
    // Basic over plain http only when the user says Domoticz allows it.
    let basic = |allow_plain_http| DomoticzAuth::Basic {
        user: "admin".to_owned(),
        password: Password::new("domoticz"),
        allow_plain_http,
    };
    let refused =
        DomoticzSink::new(DomoticzConfig::new(server.uri()).with_auth(basic(false))).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("basic authentication over plain http"),
        "{refused}"
    );
    let allowed =
        DomoticzSink::new(DomoticzConfig::new(server.uri()).with_auth(basic(true))).unwrap();
    allowed
        .ensure_device(&device_id("11111111111111"))
        .await
        .unwrap();
    assert!(
        !format!("{allowed:?}").contains("domoticz\""),
        "the password never prints"
    );
    // Nor the header made of it, nor a bearer token.
    assert!(!format!("{allowed:?}").contains("YWRtaW46ZG9tb3RpY3o="));
    let bearer = DomoticzSink::new(DomoticzConfig::new(server.uri()).with_auth(
        DomoticzAuth::Bearer {
            token: Password::new("bearer-secret"),
        },
    ))
    .unwrap();
    assert!(!format!("{bearer:?}").contains("bearer-secret"));
    // Down: retry later.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let error = sink(format!("http://127.0.0.1:{port}"))
        .ensure_device(&device_id("11111111111111"))
        .await
        .unwrap_err();
    assert!(error.is_retryable(), "{error}");
}

#[tokio::test]
async fn a_time_in_the_spring_forward_gap_is_never_sent() {
    let server = DomoticzEmulator::start("2025.1").await;
    let fake = &server;
    let sink = sink(server.uri());
    let device = sink
        .ensure_device(&device_id("11111111111111"))
        .await
        .unwrap();
    let row = HourRow {
        end_utc: chrono::DateTime::from_timestamp(1_711_848_600, 0).unwrap(),
        end: date("2024-03-31").and_hms_opt(2, 30, 0).unwrap(),
        energies: energies(1, 1),
    };
    let error = sink.write_hours(&device, &[row]).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid row: 2024-03-31 02:30:00 does not exist in Europe/Paris (spring-forward gap)"
    );
    assert!(fake.svalues(&device.key).is_empty());
}

#[tokio::test]
async fn the_memory_sink_keeps_one_row_per_date_and_prints_tables() {
    let sink = MemorySink::new();
    let device = sink
        .ensure_device(&device_id("12345678901234"))
        .await
        .unwrap();
    let row = DayRow {
        date: date("2024-01-14"),
        totals: energies(5230, 3100),
        hours_with_data: 24,
        peak: None,
    };
    sink.write_days(&device, &[row, row]).await.unwrap();
    let stored = sink.device("12345678901234").unwrap();
    assert_eq!((stored.days.len(), stored.writes), (1, 2));
    let printed = sink.to_string();
    assert!(
        printed.contains("2024-01-14       5.230       3.100           0.000"),
        "{printed}"
    );
    assert!(printed.contains("dashboard: not written"), "{printed}");
}

#[test]
fn svalues_are_validated_as_domoticz_reads_them() {
    use linky_domoticz::validate_svalue;
    let paris = linky_core::PARIS;
    assert!(validate_svalue("1;2;0;0;0;0;2024-01-14", paris).is_ok());
    assert!(validate_svalue("1;2;0;0;0;0;2024-01-16 01:00:00", paris).is_ok());
    assert!(validate_svalue("1;2;0;0;0;0", paris).is_ok());
    for bad in [
        "1;1;0;0;0;0;2024-13-40",
        "1;1;0;0;0;0;2024-01-18T01:00:00",
        "1;1;0;0;0;0;2024-03-31 02:30:00",
        "abc;1;0;0;0;0;2024-01-20",
        "1;2;3",
    ] {
        assert!(validate_svalue(bad, paris).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn a_session_cookie_from_logincheck_and_a_new_one_when_it_expires() {
    let server = DomoticzEmulator::builder("2025.1")
        .session_user("admin", "domoticz")
        .start()
        .await
        .unwrap();
    let fake = &server;
    let config = DomoticzConfig::new(server.uri()).with_auth(DomoticzAuth::Session {
        user: "admin".to_owned(),
        password: Password::new("domoticz"),
    });
    let sink = DomoticzSink::new(config).unwrap();
    let device = sink
        .ensure_device(&device_id("12345678901234"))
        .await
        .unwrap();
    assert_eq!(fake.state.lock().unwrap().logins, 1);
    // Domoticz restarts and forgets its sessions: one new login, then the write goes on.
    fake.state.lock().unwrap().session = None;
    let row = DayRow {
        date: date("2024-01-14"),
        totals: energies(5230, 3100),
        hours_with_data: 24,
        peak: None,
    };
    fake.state.lock().unwrap().session = Some("expired".to_owned());
    sink.write_days(&device, &[row]).await.unwrap();
    assert_eq!(fake.state.lock().unwrap().logins, 2);
    assert_eq!(fake.svalues(&device.key), ["5230;3100;0;0;0;0;2024-01-14"]);
    // Wrong credentials: refused clearly, not retried forever.
    let wrong = DomoticzSink::new(DomoticzConfig::new(server.uri()).with_auth(
        DomoticzAuth::Session {
            user: "admin".to_owned(),
            password: Password::new("nope"),
        },
    ))
    .unwrap();
    let error = wrong
        .ensure_device(&device_id("11111111111111"))
        .await
        .unwrap_err();
    assert!(matches!(error, SinkError::Unauthorized { .. }), "{error}");
    assert!(!error.to_string().contains("nope"));
}

/// Domoticz 2025.1 closes a connection after each answer unless the request says
/// `Connection: keep-alive`, without a `Connection: close` header: a pooling client's
/// second call fails (what `replay --domoticz` met in the field). The sink says
/// keep-alive, and sends a call again when Domoticz closed a kept-alive connection under
/// it (after 20 calls, or idle): a long sync goes through, on few connections.
#[tokio::test]
async fn connections_closed_as_domoticz_2025_1_does_do_not_fail_the_sink() {
    let server = DomoticzEmulator::start("2025.1").await;
    // An ordinary pooling client, without the header: its second call fails.
    let plain = reqwest::Client::new();
    let version = format!("{}/json.htm?type=command&param=getversion", server.uri());
    assert!(plain.get(&version).send().await.is_ok());
    let second = plain.get(&version).send().await;
    assert!(second.is_err(), "{second:?}");

    let sink = sink(server.uri());
    let device = sink
        .ensure_device(&device_id("12345678901234"))
        .await
        .unwrap();
    let rows: Vec<DayRow> = (1..=28)
        .map(|day| DayRow {
            date: chrono::NaiveDate::from_ymd_opt(2024, 2, day).unwrap(),
            totals: MeterEnergies {
                consumption: [Energy::from_wh(1000 + i64::from(day)), Energy::from_wh(500)],
                production: [Energy::ZERO; 2],
            },
            hours_with_data: 24,
            peak: None,
        })
        .collect();
    for _ in 0..3 {
        sink.write_days(&device, &rows).await.unwrap();
    }
    assert!(sink.verify_days(&device, &rows).await.unwrap().is_empty());
    let (connections, unanswered, calls) =
        server.with_state(|s| (s.connections, s.unanswered, s.calls.len()));
    // The plain client's one answered call; the sink's six provisioning calls, 84
    // writes and one read-back, 20 calls a connection.
    assert_eq!(calls, 1 + 6 + 84 + 1);
    // The plain client's two, one per 20 calls, and one for each call that creates
    // something (never sent on a kept-alive connection).
    assert!(
        connections <= 2 + calls.div_ceil(20) + 2,
        "{connections} connections"
    );
    // The plain client's second call, and each 21st call of a connection (sent again).
    assert!(unanswered >= 4, "{unanswered} unanswered");

    // Idle longer than Domoticz keeps a connection: the next call still goes through.
    let idle = DomoticzEmulator::builder("2025.1")
        .idle_timeout(std::time::Duration::from_millis(100))
        .close_delay(std::time::Duration::from_secs(5))
        .start()
        .await
        .unwrap();
    let sink = self::sink(idle.uri());
    let device = sink
        .ensure_device(&device_id("12345678901234"))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    sink.write_days(&device, &rows[..1]).await.unwrap();
    assert_eq!(idle.with_state(|s| s.long_log.len()), 1);
}
