//! The side feeds, wired: best bid/ask (`@bookTicker` on `/public`) → book bars, and mark
//! price (`@markPrice@1s` on `/market`) → funding sync, each on its own connection
//! ([`crate::ingest::stream`]) or, in cluster mode, from the ingest processes over NATS
//! ([`crate::cluster::side`]); and what `/api/health` and the status bar read of them.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use app::protocol::FeedStatus;
use serde_json::json;
use tokio::sync::{mpsc, watch};

use crate::book::BookStore;
use crate::funding::FundingStore;
use crate::ingest::backfill::RestClient;
use crate::ingest::stream::{self, BookTicker, MarkPriceStream, SideCounters, SideEvent};
use crate::market::{MarkPrice, Quote};
use crate::shutdown;
use crate::store::Store;
use crate::symbols::Symbols;

/// The best bid/ask and mark-price feeds: their connections' states and latest values.
#[derive(Clone)]
pub struct SideFeeds {
    pub book_status: watch::Receiver<FeedStatus>,
    pub mark_status: watch::Receiver<FeedStatus>,
    pub quotes: watch::Receiver<crate::book::QuoteBoard>,
    pub marks: watch::Receiver<crate::funding::MarkBoard>,
    pub book_counters: Arc<SideCounters>,
    pub mark_counters: Arc<SideCounters>,
}

/// The sending ends of a server's side feeds: whoever produces the events (the exchange's own
/// connections, or NATS in cluster mode) sends them, their connection state and counters here.
pub struct SideSources {
    pub book: mpsc::Sender<SideEvent<Quote>>,
    pub book_status: watch::Sender<FeedStatus>,
    pub book_counters: Arc<SideCounters>,
    pub mark: mpsc::Sender<SideEvent<MarkPrice>>,
    pub mark_status: watch::Sender<FeedStatus>,
    pub mark_counters: Arc<SideCounters>,
}

impl SideFeeds {
    /// Spawns both side streams on their own exchange connections and their consumers (book
    /// bars; funding sync).
    pub fn start(
        store: &Store,
        symbols: &Symbols,
        public_base: String,
        mark_base: String,
        rest: RestClient,
        tasks: &mut tokio::task::JoinSet<()>,
        shutdown: &shutdown::Shutdown,
    ) -> anyhow::Result<SideFeeds> {
        let (book_symbols, mark_symbols) = (symbols.subscribe(), symbols.subscribe());
        Self::start_from(store, symbols, rest, tasks, shutdown, |sources, tasks| {
            let SideSources { book, book_status, book_counters, mark, mark_status, mark_counters } = sources;
            tasks.spawn(stream::run::<BookTicker>(
                public_base,
                book_symbols,
                book,
                book_status,
                book_counters,
                shutdown.clone(),
            ));
            tasks.spawn(stream::run::<MarkPriceStream>(
                mark_base,
                mark_symbols,
                mark,
                mark_status,
                mark_counters,
                shutdown.clone(),
            ));
        })
    }

    /// The consumers (book bars; funding sync, which reads settlements from `rest`) of
    /// events that `sources` spawns the producers of.
    pub fn start_from(
        store: &Store,
        symbols: &Symbols,
        rest: RestClient,
        tasks: &mut tokio::task::JoinSet<()>,
        shutdown: &shutdown::Shutdown,
        sources: impl FnOnce(SideSources, &mut tokio::task::JoinSet<()>),
    ) -> anyhow::Result<SideFeeds> {
        let (book_status_tx, book_status) = watch::channel(FeedStatus::default());
        let (mark_status_tx, mark_status) = watch::channel(FeedStatus::default());
        let (quotes_tx, quotes) = watch::channel(crate::book::QuoteBoard::default());
        let (marks_tx, marks) = watch::channel(crate::funding::MarkBoard::default());
        let book_counters = Arc::new(SideCounters::default());
        let mark_counters = Arc::new(SideCounters::default());
        let (book_tx, book_rx) = mpsc::channel(65_536);
        let (mark_tx, mark_rx) = mpsc::channel(4_096);
        tasks.spawn(crate::book::run(book_rx, BookStore::open(store)?, quotes_tx, shutdown.clone()));
        tasks.spawn(crate::funding::run(
            mark_rx,
            symbols.subscribe(),
            FundingStore::open(store)?,
            rest,
            marks_tx,
            shutdown.clone(),
        ));
        let feeds = SideFeeds {
            book_status,
            mark_status,
            quotes,
            marks,
            book_counters: book_counters.clone(),
            mark_counters: mark_counters.clone(),
        };
        let senders = SideSources {
            book: book_tx,
            book_status: book_status_tx,
            book_counters,
            mark: mark_tx,
            mark_status: mark_status_tx,
            mark_counters,
        };
        sources(senders, tasks);
        Ok(feeds)
    }
}

fn counters_json(c: &SideCounters) -> serde_json::Value {
    let n = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    json!({
        "events": n(&c.events),
        "malformed": n(&c.malformed),
        "unknown_events": n(&c.unknown_events),
        "invalid_values": n(&c.invalid_values),
        "crossed": n(&c.crossed),
        "stale": n(&c.stale),
        "unknown_symbols": n(&c.unknown_symbols),
        "reconnects": n(&c.reconnects),
        "rejected_requests": n(&c.rejected_requests),
    })
}

impl SideFeeds {
    /// State, last error and counters of both connections (for `/api/health`).
    pub fn health(&self) -> serde_json::Value {
        let one = |status: &watch::Receiver<FeedStatus>, counters: &SideCounters| {
            let status = status.borrow().clone();
            json!({"state": status.state.label(), "last_error": status.last_error, "counters": counters_json(counters)})
        };
        json!({
            "book": one(&self.book_status, &self.book_counters),
            "mark": one(&self.mark_status, &self.mark_counters),
        })
    }
}
