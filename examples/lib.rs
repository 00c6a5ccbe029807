//! Unpublished package holding the runnable examples (see `replay.rs`, `offpeak.rs`,
//! `make_sessions.rs`).

// The README's examples use every crate of the workspace: they run as doctests here, the
// one package that depends on all of them.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
struct ReadmeDoctests;
