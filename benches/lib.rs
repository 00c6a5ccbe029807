//! Unpublished package holding the workspace benchmarks (see `core.rs`).
