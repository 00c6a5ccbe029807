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
#![deny(missing_docs)]

mod backfill;
mod classify;
mod client;
mod colours;
mod contract;
mod error;
mod secret;
mod session;
mod tokens;
mod wire;

pub use backfill::{BackfillReport, Payload, backfill};
pub use classify::Endpoint;
pub use client::{
    Backend, Client, ClientBuilder, DEFAULT_MAX_BODY_BYTES, DEFAULT_USER_AGENT, DeviceCode,
    DeviceFlow, Fetched, MeterSource, PollDecision, SystemClock, TokenStoreDebug, decide_poll,
    v5_path,
};
pub use colours::{
    ColourClient, ColourServer, colour_sessions, parse_colours, synthetic_tempo_calendar,
    tempo_season,
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
