#![doc = include_str!("../README.md")]
//!
//! # The crate
//!
//! Getting Linky data from Enedis and its gateways.
//!
//! - [`Client`] (one per [`Backend`]: the DomoticzLinky proxy, Data Connect 2026 and v5,
//!   the Conso API, MyElectricalData) behind the [`MeterSource`] trait: rate limiting,
//!   retries with backoff, one token renewal on an expired token, "no data" as a result;
//! - [`DeviceFlow`]: the proxy's consent (RFC 8628), its polling decision a pure function
//!   ([`decide_poll`]); [`TokenStore`] with an atomic, owner-only [`FileTokenStore`];
//!   secrets ([`AccessToken`]...) never print.
//!
//! And, pure, needing no network:
//!
//! - [`parse_load_curve`], [`parse_daily_energy`], [`parse_daily_max_power`]: the Enedis
//!   v5 body (wrapped or not) and the Data Connect 2026 body, into linky-core's types,
//!   with the usage point checked and the unit read from the payload;
//! - [`ApiError::classify`]: every error body of Enedis and its gateways into one typed error with
//!   a category that says what to do ([`ErrorCategory`]);
//! - [`parse_contracts`]: subscribed power, Enedis' off-peak hours, activation date.
//!
//! The clients need the default feature `client` (reqwest with rustls); without it, the
//! crate is what needs no HTTP stack: the parsers above, errors, tokens and their stores,
//! routes, recorded sessions and the replay server.
#![deny(missing_docs)]
// docs.rs (nightly, `--cfg docsrs`) marks each item behind a feature with that feature.
#![cfg_attr(docsrs, feature(doc_cfg))]
// Without the clients, some helpers they share are unused.
#![cfg_attr(not(feature = "client"), allow(dead_code, unused_imports))]

mod backfill;
mod classify;
mod client;
mod colours;
mod contract;
mod error;
mod secret;
mod session;
pub mod tic;
mod tokens;
mod wire;

pub use backfill::{BackfillReport, Payload, backfill};
pub use classify::{Endpoint, retry_after_wait};
pub use client::{
    Backend, DEFAULT_MAX_BODY_BYTES, DEFAULT_USER_AGENT, DeviceCode, Fetched, MeterSource,
    PollDecision, SystemClock, TokenStoreDebug, decide_poll, v5_path,
};
#[cfg(feature = "client")]
pub use client::{Client, ClientBuilder, DeviceFlow};
#[cfg(feature = "client")]
pub use colours::ColourClient;
pub use colours::{
    ColourServer, colour_sessions, parse_colours, synthetic_tempo_calendar, tempo_season,
};
pub use contract::{Contract, parse_contracts};
pub use error::{ApiError, Error, ErrorCategory};
pub use secret::{AccessToken, ApiToken, ClientSecret, RefreshToken};
pub use session::{
    Exchange, Fault, Meter, Outcome, RecordedRequest, RecordedResponse, Recorder, ReplayError,
    ReplayInfo, ReplayServer, SESSION_FORMAT, Session, SyntheticSession, sandbox_now,
    sandbox_sessions, sync_session, sync_session_compact,
};
pub use tokens::{FileTokenStore, MemoryTokenStore, REFRESH_MARGIN, TokenSet, TokenStore};

/// Re-exported: the identifiers, readings and errors this crate's API speaks.
pub use linky_core;
pub use wire::{
    DailyEnergy, DailyMaxPower, DailySeries, LoadCurvePayload, UsagePointCheck, parse_daily_energy,
    parse_daily_max_power, parse_load_curve, parse_local_date, parse_local_date_time,
};

/// What the crate does without its `client` feature (`.ci/run` runs these with
/// `--no-default-features`): a body read into readings, a colour season read, a recorded
/// session read back, none of it needing an HTTP stack.
#[cfg(test)]
mod without_the_client {
    use linky_core::{Flow, UsagePointId};

    #[test]
    fn a_load_curve_body_reads_into_readings() {
        let body = br#"{"meter_reading": {"usage_point_id": "22516914714270",
            "start": "2024-06-01", "end": "2024-06-02", "reading_type": {"unit": "kW"},
            "interval_reading": [
                {"value": "0.540", "date": "2024-06-01 00:30:00", "interval_length": "PT30M"},
                {"value": "1.5", "date": "2024-06-01 01:00:00", "interval_length": "PT30M"}]}}"#;
        let pdl: UsagePointId = "22516914714270".parse().unwrap();
        let payload = crate::parse_load_curve(
            body,
            Flow::Consumption,
            crate::UsagePointCheck::Expect(&pdl),
        )
        .unwrap();
        let watts: Vec<f64> = payload
            .readings
            .iter()
            .map(|r| r.power.as_watts_f64())
            .collect();
        assert_eq!(watts, [540.0, 1500.0]);
        let other: UsagePointId = "11111111111111".parse().unwrap();
        assert!(matches!(
            crate::parse_load_curve(
                body,
                Flow::Consumption,
                crate::UsagePointCheck::Expect(&other)
            ),
            Err(crate::Error::UsagePointMismatch { .. })
        ));
    }

    #[test]
    fn colours_and_sessions_read_without_a_client() {
        let server = crate::ColourServer::couleur_tempo();
        let body = br#"[{"dateJour":"2025-02-03","codeJour":3,"periode":"2024-2025"},
                        {"dateJour":"2025-02-04","codeJour":0,"periode":"2024-2025"}]"#;
        let calendar = crate::parse_colours(&server, body).unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2025, 2, 3).unwrap();
        assert_eq!(calendar.colour(day), Some(linky_core::DayColour::Red));
        assert_eq!(calendar.len(), 1, "a day not published yet is left out");
        for (name, session) in crate::colour_sessions() {
            let again = crate::Session::from_json(session.to_json().as_bytes()).unwrap();
            assert_eq!(again.to_json(), session.to_json(), "{name}");
        }
    }
}
