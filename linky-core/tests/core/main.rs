//! linky-core's integration tests, one binary: the time model and the off-peak schedule
//! language, through the public API.

mod dashboard;
mod live;
mod offpeak;
mod pipeline;
mod plan;
mod prices;
mod split;
mod tempo;
mod time_model;
