//! The `pairdesk` server as a library: the `pairdesk` binary (`main.rs`) is a thin CLI over
//! these modules, and the benchmarks (`benches/`) drive the same code in-process.

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
