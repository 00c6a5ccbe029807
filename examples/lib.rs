//! Unpublished package holding the runnable examples (see `replay.rs`).
