//! pairdesk's shared crate.
//!
//! * [`alerts`]: alert rules and their fire/clear state machine.
//! * [`analytics`]: the pairs-trading statistics (pure Rust, no I/O), used by the server,
//!   the CLI and — compiled to wasm — the browser.
//! * [`dataset`]: reading the OHLC CSV files users upload or pass to `pairdesk analyze`.
//! * [`interval`]: the one parser and printer of bar intervals (`1s`, `5m`, `1h`).
//! * [`protocol`]: the messages the server pushes to the browser over `/ws`.
//! * [`view`]: what a view is (pair, interval, analytics), the bars it holds and the one
//!   computation of its values, shared by the page, the push feed and the alert engine.
//! * [`ui`]: the Leptos components, rendered on the server (`ssr`) and hydrated in the
//!   browser (`hydrate`).

#![recursion_limit = "256"]

pub mod alerts;
pub mod analytics;
pub mod dataset;
pub mod interval;
pub mod protocol;
pub mod screener_view;
pub mod ui;
pub mod view;
