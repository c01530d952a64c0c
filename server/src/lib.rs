//! The `pairdesk` server as a library: the `pairdesk` binary (`main.rs`) is a thin CLI over
//! these modules, and the benchmarks (`benches/`) drive the same code in-process.

// The Live page's view type is deep; builds without Leptos' `erase_components` cfg (the
// fuzz build sets its own RUSTFLAGS) need more than the default 128 to compute its layout.
#![recursion_limit = "256"]

pub mod alerts;
pub mod analyze;
pub mod bars;
pub mod book;
pub mod cli;
pub mod cluster;
pub mod datasets;
pub mod export;
pub mod fake_exchange;
pub mod funding;
pub mod ingest;
pub mod market;
pub mod pipeline;
pub mod push;
pub mod replay;
pub mod serve;
pub mod shutdown;
pub mod side;
pub mod store;
pub mod symbols;
pub mod tls;
pub mod web;
