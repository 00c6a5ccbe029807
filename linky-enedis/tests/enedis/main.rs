//! linky-enedis through its public API: the wire formats against real payloads, and the
//! client against a local server.

mod client;
mod colours;
mod sandbox;
mod session;
mod tic;
mod wire;
