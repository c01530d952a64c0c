//! Pushes live state to browsers over `/ws`.
//!
//! A browser subscribes to a view (pair + interval, optionally with its analytics: windows
//! and hedge method) with [`app::protocol::ClientMsg::Subscribe`]; it gets a snapshot of
//! recent bars (and the analytics), then deltas: closed bars at once, the forming bar, the
//! last prices and the analytics coalesced to at most one message per [`feed::PUSH_INTERVAL`]
//! (sent at once when the previous one is older than that, so a quiet market is not
//! delayed), alert events and feed-status changes.
//!
//! * [`client`]: one browser's socket — its subscribe budget, keep-alive pings, and the
//!   frames of the feed it watches.
//! * [`feed`]: the per-view engine. The per-update work is done once per distinct view, not
//!   per client: a feed follows the bar broadcast for its view, coalesces, computes the
//!   analytics on the same bars a page holds, serialises each message once and fans the
//!   frames out. A client that falls behind its feed (or a feed behind the bar broadcast)
//!   gets a fresh snapshot instead of a backlog, so no queue grows without bound.
//! * [`tape`]: the view's p-value tape (rolling EG / ADF p-values, half-life), once per view.
//! * [`hub`]: what the push layer reads the latest state from, and the registry of feeds.

pub mod client;
pub mod feed;
pub mod hub;
pub mod tape;
mod work;

pub use client::ws_handler;
pub use hub::{BarHistory, Feeds, PushHub, SideData};
