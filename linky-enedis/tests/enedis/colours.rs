//! Day colours from RTE and api-couleur-tempo.fr: the bundled recorded sessions replayed
//! offline through the real clients, the fallback from one to the other, the client's
//! discipline (retries on the clock, a long Retry-After returned, a size cap), recording.

use std::sync::Arc;
use std::time::Duration;

use chrono::{Datelike, NaiveDate, TimeZone, Weekday};
use linky_core::{Clock, ColourSource, DayColour, FallbackColours, ManualClock, RetryPolicy};
use linky_enedis::{
    ColourClient, ColourServer, Error, Recorder, ReplayServer, Session, colour_sessions,
    synthetic_tempo_calendar,
};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn folder() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/sessions/colours")
}

fn session(name: &str) -> Session {
    Session::from_json(&std::fs::read(folder().join(name)).unwrap()).unwrap()
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        chrono::Utc.with_ymd_and_hms(2025, 2, 22, 12, 0, 0).unwrap(),
    ))
}

fn client(server: ColourServer, clock: &Arc<ManualClock>) -> ColourClient {
    ColourClient::new(server)
        .unwrap()
        .clock(clock.clone())
        .retry(RetryPolicy::new(
            Duration::from_secs(5),
            Duration::from_secs(60),
            3,
        ))
}

#[test]
fn the_bundled_colour_sessions_match_the_code() {
    for (name, made) in colour_sessions() {
        assert_eq!(
            session(name),
            made,
            "{name}: run `cargo run --example make_sessions`"
        );
    }
}

/// What both publishers say: the season so far, by the rules.
fn expected() -> linky_core::ColourCalendar {
    synthetic_tempo_calendar(date("2024-09-01"), date("2025-02-23"), 2025)
}

#[tokio::test]
async fn each_publisher_answers_in_its_own_format_and_nothing_is_guessed() {
    let season = (date("2024-09-01"), date("2025-03-01"));
    for (name, rte) in [
        ("rte-season-2024-2025.json", true),
        ("couleur-tempo-season-2024-2025.json", false),
    ] {
        let server = ReplayServer::start(session(name)).await.unwrap();
        let base_url = server.base_url();
        let publisher = if rte {
            ColourServer::RtePublic { base_url }
        } else {
            ColourServer::CouleurTempo { base_url }
        };
        let clock = clock();
        let colours = client(publisher, &clock)
            .colours(season.0, season.1)
            .await
            .unwrap();
        server.finish().unwrap();
        assert_eq!(colours, expected(), "{name}");
        // Up to the 22nd only: the 23rd (code 0, or no key) and later are unknown.
        assert_eq!(colours.colour(date("2025-02-23")), None);
        assert_eq!(colours.missing(season.0, season.1).len(), 6);
        // The rules hold: 22 red and 43 white at most, no red at the weekend, Sundays blue.
        let counts = colours.season_counts(date("2025-02-22"));
        assert!(counts[2] <= 22 && counts[1] <= 43, "{counts:?}");
        for (day, colour) in colours.days() {
            if day.weekday() == Weekday::Sun {
                assert_eq!(colour, DayColour::Blue, "{day}");
            }
            if colour == DayColour::Red {
                assert!(
                    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun),
                    "{day}"
                );
                assert!(matches!(day.month(), 11 | 12 | 1 | 2 | 3), "{day}");
            }
        }
    }
}

#[tokio::test]
async fn when_rte_is_down_the_cache_answers() {
    let server = ReplayServer::start(session("rte-down-couleur-tempo-answers.json"))
        .await
        .unwrap();
    let clock = clock();
    let rte = client(
        ColourServer::RtePublic {
            base_url: server.base_url(),
        },
        &clock,
    );
    let cache = client(
        ColourServer::CouleurTempo {
            base_url: server.base_url(),
        },
        &clock,
    );
    let started = clock.now();
    let sources = FallbackColours::new(vec![&rte, &cache]);
    let colours = sources
        .colours(date("2024-12-01"), date("2025-01-01"))
        .await
        .unwrap();
    // Every exchange asked, in order: three refused RTE calls, then the cache.
    server.finish().unwrap();
    assert_eq!(colours.len(), 31);
    assert_eq!(colours, {
        let mut december = linky_core::ColourCalendar::new();
        for (day, colour) in expected().days() {
            if day.month() == 12 {
                december.set(day, colour);
            }
        }
        december
    });
    // The retries waited on the clock (instantly here), as the server asked.
    assert!(clock.now() - started >= chrono::Duration::seconds(2));
    // Alone, RTE's failure is a typed, transient error.
    let server = ReplayServer::start(session("rte-down-couleur-tempo-answers.json"))
        .await
        .unwrap();
    let rte = client(
        ColourServer::RtePublic {
            base_url: server.base_url(),
        },
        &clock,
    );
    let error = rte.season(date("2024-12-01")).await.unwrap_err();
    assert_eq!(
        error.category(),
        linky_enedis::ErrorCategory::Transient,
        "{error}"
    );
}

#[tokio::test]
async fn a_long_retry_after_is_returned_and_a_huge_answer_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/joursTempo"))
        .and(query_param("periode", "2024-2025"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "7200"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/cms/open_data/v1/tempo"))
        .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(4096)))
        .mount(&server)
        .await;
    let clock = clock();
    let started = clock.now();
    let cache = client(
        ColourServer::CouleurTempo {
            base_url: server.uri(),
        },
        &clock,
    );
    let error = cache.season(date("2025-01-10")).await.unwrap_err();
    assert_eq!(
        error.retry_after(),
        Some(Duration::from_secs(7200)),
        "{error}"
    );
    assert!(
        clock.now() - started < chrono::Duration::seconds(10),
        "not slept"
    );
    let rte = client(
        ColourServer::RtePublic {
            base_url: server.uri(),
        },
        &clock,
    )
    .max_body_bytes(1024);
    let error = rte.season(date("2025-01-10")).await.unwrap_err();
    assert!(
        matches!(error, Error::BodyTooLarge { limit: 1024, .. }),
        "{error}"
    );
    // A body of another shape is malformed, not an empty calendar.
    let shape = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"days":[]}"#))
        .mount(&shape)
        .await;
    let rte = client(
        ColourServer::RtePublic {
            base_url: shape.uri(),
        },
        &clock,
    );
    assert!(matches!(
        rte.season(date("2025-01-10")).await,
        Err(Error::Malformed { .. })
    ));
}

#[tokio::test]
async fn a_colour_client_records_its_session_and_the_session_replays() {
    let served = session("couleur-tempo-season-2024-2025.json");
    let live = ReplayServer::start(served.clone()).await.unwrap();
    let recorder = Arc::new(Recorder::new());
    let clock = clock();
    let recorded_client = client(
        ColourServer::CouleurTempo {
            base_url: live.base_url(),
        },
        &clock,
    )
    .recorder(recorder.clone());
    let first = recorded_client.season(date("2025-01-01")).await.unwrap();
    live.finish().unwrap();
    let recorded = recorder.session("recorded", "api-couleur-tempo");
    assert_eq!(recorded.exchanges, served.exchanges);
    let replay = ReplayServer::start(recorded).await.unwrap();
    let again = client(
        ColourServer::CouleurTempo {
            base_url: replay.base_url(),
        },
        &clock,
    )
    .season(date("2025-01-01"))
    .await
    .unwrap();
    replay.finish().unwrap();
    assert_eq!(first, again);
}

/// RTE's `<date>-fallback: "true"` marks a colour given in a degraded mode: the client
/// keeps the colour and says it is degraded (the sync keeps it provisional), issue 18.
#[tokio::test]
async fn a_colour_rte_gives_in_degraded_mode_is_marked_so() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"values":{"2025-02-21":"WHITE","2025-02-21-fallback":"false","2025-02-22":"BLUE","2025-02-22-fallback":"true"}}"#,
        ))
        .mount(&server)
        .await;
    let colours = client(
        ColourServer::RtePublic {
            base_url: server.uri(),
        },
        &clock(),
    )
    .colours(date("2025-02-21"), date("2025-02-23"))
    .await
    .unwrap();
    assert_eq!(colours.colour(date("2025-02-22")), Some(DayColour::Blue));
    assert!(colours.is_degraded(date("2025-02-22")));
    assert!(!colours.is_degraded(date("2025-02-21")));
}
