//! The push layer's view of the server: where bars, status, symbols, alerts and the book
//! side come from ([`PushHub`]), and the registry of running view feeds ([`Feeds`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use app::alerts::AlertEvent;
use app::analytics::tape::{check_tape_window, TAPE_WINDOW};
use app::protocol::{Bar, FeedStatus, ServerMsg, ViewAnalytics, INTERVALS_MS};
use axum::extract::ws::Utf8Bytes;
use tokio::sync::{broadcast, watch};

use super::feed::{View, ViewFeed, FEED_CAPACITY};
use crate::pipeline::BarUpdate;
use crate::shutdown::Shutdown;

/// Where snapshots come from (the store, in production).
pub trait BarHistory: Send + Sync {
    /// The latest `limit` bars of `symbol` at `interval_ms`, oldest first.
    fn recent_bars(&self, symbol: &str, interval_ms: i64, limit: usize) -> Vec<Bar>;
}

/// The store answers snapshots itself ([`crate::store::Store::recent_bars`]).
impl BarHistory for crate::store::Store {
    fn recent_bars(&self, symbol: &str, interval_ms: i64, limit: usize) -> Vec<Bar> {
        crate::store::Store::recent_bars(self, symbol, interval_ms, limit)
    }
}

/// Where the push layer reads the latest state from.
#[derive(Clone)]
pub struct PushHub {
    /// Ingested symbols (changeable at runtime).
    pub symbols: crate::symbols::Symbols,
    pub pair: (String, String),
    pub status: watch::Receiver<FeedStatus>,
    pub bars: broadcast::Sender<BarUpdate>,
    pub history: Arc<dyn BarHistory>,
    pub alerts: broadcast::Sender<AlertEvent>,
    pub shutdown: Shutdown,
    /// One feed per distinct view, shared by every client watching it.
    pub feeds: Arc<Feeds>,
    /// Book bars, funding and the side streams, when the server ingests them.
    pub side: Option<SideData>,
}

/// What the push layer reads of the book and funding side.
#[derive(Clone)]
pub struct SideData {
    pub book: crate::book::BookStore,
    pub funding: crate::funding::FundingStore,
    pub feeds: crate::side::SideFeeds,
}

/// The shared feeds, one per distinct view being watched.
#[derive(Default)]
pub struct Feeds(Mutex<HashMap<View, broadcast::Sender<Utf8Bytes>>>);

impl Feeds {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<View, broadcast::Sender<Utf8Bytes>>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Views with a running feed.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl PushHub {
    /// Joins the feed of `view`, starting it if nobody watches that view yet.
    pub(super) fn feed(&self, view: &View) -> broadcast::Receiver<Utf8Bytes> {
        let mut feeds = self.feeds.lock();
        if let Some(sender) = feeds.get(view) {
            return sender.subscribe();
        }
        let (sender, receiver) = broadcast::channel(FEED_CAPACITY);
        feeds.insert(view.clone(), sender.clone());
        let feed = ViewFeed {
            view: view.clone(),
            out: sender,
            feeds: self.feeds.clone(),
            history: self.history.clone(),
            status: self.status.clone(),
        };
        tokio::spawn(feed.run(self.bars.subscribe(), self.shutdown.clone()));
        receiver
    }
}

/// The symbol list (sent on connect and again whenever it changes).
pub(super) fn hello(hub: &PushHub, symbols: Vec<String>) -> ServerMsg {
    ServerMsg::Hello { symbols, x_symbol: hub.pair.0.clone(), y_symbol: hub.pair.1.clone() }
}

/// The view a subscribe asks for, or why it cannot be served: every parameter of a subscribe
/// is checked here, with the limits in the message.
pub(super) fn validate(
    hub: &PushHub,
    x: String,
    y: String,
    interval_ms: i64,
    analytics: Option<ViewAnalytics>,
    tape_window: Option<usize>,
) -> Result<View, String> {
    let (x, y) = (x.to_ascii_uppercase(), y.to_ascii_uppercase());
    for symbol in [&x, &y] {
        if !hub.symbols.contains(symbol) {
            return Err(format!("unknown symbol {symbol}: this server ingests {}", hub.symbols.current().join(", ")));
        }
    }
    if !INTERVALS_MS.contains(&interval_ms) {
        return Err(format!("unsupported interval {interval_ms} ms (use 1s, 1m or 5m)"));
    }
    if let Some(a) = analytics {
        if a.window < 2 || a.corr_window < 2 || a.window > 5_000 || a.corr_window > 5_000 {
            return Err(format!("analytics windows must be 2–5000 bars, got {} and {}", a.window, a.corr_window));
        }
    }
    let tape_window = check_tape_window(tape_window.unwrap_or(TAPE_WINDOW))?;
    Ok(View { x, y, interval_ms, analytics, tape_window })
}
