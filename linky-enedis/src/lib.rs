//! Getting Linky data from Enedis and its gateways.
//!
//! This crate will hold the async clients of every backend (issue: linky-enedis client).
//! What it has today is pure and needs no network:
//!
//! - [`parse_load_curve`], [`parse_daily_energy`], [`parse_daily_max_power`]: the Enedis
//!   v5 body (wrapped or not) and the Data Connect 2026 body, into linky-core's types,
//!   with the usage point checked and the unit read from the payload;
//! - [`ApiError::classify`]: every error body of spec/enedis.md into one typed error with
//!   a category that says what to do ([`ErrorCategory`]);
//! - [`parse_contracts`]: subscribed power, Enedis' off-peak hours, activation date.
#![deny(missing_docs)]

mod classify;
mod contract;
mod error;
mod wire;

pub use classify::Endpoint;
pub use contract::{Contract, parse_contracts};
pub use error::{ApiError, Error, ErrorCategory};
pub use wire::{
    DailyEnergy, DailyMaxPower, DailySeries, LoadCurvePayload, UsagePointCheck, parse_daily_energy,
    parse_daily_max_power, parse_load_curve, parse_local_date, parse_local_date_time,
};

// The README's examples (which use linky-core and this crate) run as doctests here.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
struct ReadmeDoctests;
