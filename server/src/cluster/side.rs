//! Best bid/ask and mark prices over NATS. `pairdesk ingest` runs the two side streams an
//! embedded server runs ([`crate::ingest::stream`]: `@bookTicker` on `/public`,
//! `@markPrice@1s` on `/market`, validated there) and publishes every event on core NATS,
//! `pairdesk.book.<SYMBOL>` and `pairdesk.mark.<SYMBOL>` ([`super::wire`]'s encodings). A
//! `serve --nats` subscribes to both and hands the events to the same book-bar and funding
//! tasks an embedded server has ([`crate::side::SideFeeds::start_from`]), so `/api/health`,
//! the cost tile, `/api/export/book.csv` and the backtest's bid/ask and funding work as they
//! do embedded. Funding *settlements* are still read from the exchange's REST API by each
//! server (three a day per symbol), as the symbol checks are.
//!
//! Not JetStream: a quote is worth nothing replayed, and the book bars already treat a gap
//! (here, this server's NATS connection down) as the embedded ones treat a reconnect: the
//! time is unknown. Redundant ingest processes publish every event once each, so a server
//! takes a symbol's event only if its order key (the book update id, the mark's event time)
//! is above the last one taken — each ingest sends its events in order, so the first copy
//! of each arrives in order and every later copy is dropped (counted as `stale`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use app::protocol::{FeedState, FeedStatus};
use async_nats::connection::State;
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};

use super::wire::{self, WireError};
use crate::ingest::backfill::RestClient;
use crate::ingest::stream::{BookTicker, MarkPriceStream, SideCounters, SideEvent, SideStream};
use crate::market::{MarkPrice, Quote};
use crate::shutdown::Shutdown;
use crate::side::{SideFeeds, SideSources};
use crate::store::Store;
use crate::symbols::Symbols;

/// How often a server looks at its NATS connection's state (a change is a gap in the book).
const STATE_CHECK: Duration = Duration::from_millis(500);

/// A side stream as it travels over NATS.
pub trait SideWire: SideStream {
    /// Subjects are this and the upper-case symbol.
    const PREFIX: &'static str;
    fn encode(event: &Self::Event) -> Vec<u8>;
    fn decode(subject: &str, payload: &[u8]) -> Result<Self::Event, WireError>;
}

impl SideWire for BookTicker {
    const PREFIX: &'static str = super::BOOK_SUBJECT_PREFIX;
    fn encode(event: &Quote) -> Vec<u8> {
        wire::encode_quote(event)
    }
    fn decode(subject: &str, payload: &[u8]) -> Result<Quote, WireError> {
        wire::decode_quote(subject, payload)
    }
}

impl SideWire for MarkPriceStream {
    const PREFIX: &'static str = super::MARK_SUBJECT_PREFIX;
    fn encode(event: &MarkPrice) -> Vec<u8> {
        wire::encode_mark(event)
    }
    fn decode(subject: &str, payload: &[u8]) -> Result<MarkPrice, WireError> {
        wire::decode_mark(subject, payload)
    }
}

/// What an ingest process published of one side stream.
#[derive(Default, Debug)]
pub struct SidePublished {
    pub published: AtomicU64,
    /// Publishes the client refused (it was closed); the events are gone, as a quote
    /// missed during an exchange reconnect is.
    pub failed: AtomicU64,
}

/// `pairdesk ingest`: every event of one side stream onto its subject, until the stream ends.
pub async fn publish<S: SideWire>(
    client: async_nats::Client,
    mut events: mpsc::Receiver<SideEvent<S::Event>>,
    counters: Arc<SidePublished>,
) {
    while let Some(event) = events.recv().await {
        // The exchange connection's own gaps are not sent on: with redundant ingests another
        // process may well have the events, and a server sees its own gaps.
        let SideEvent::Event(event) = event else { continue };
        let subject = format!("{}{}", S::PREFIX, S::symbol(&event));
        match client.publish(subject, S::encode(&event).into()).await {
            Ok(()) => counters.published.fetch_add(1, Ordering::Relaxed),
            Err(err) => {
                tracing::debug!(%err, stream = S::NAME, "side event not published");
                counters.failed.fetch_add(1, Ordering::Relaxed)
            }
        };
    }
}

/// What an ingest process published of both side streams.
#[derive(Default, Debug)]
pub struct SidePublishers {
    pub book: Arc<SidePublished>,
    pub mark: Arc<SidePublished>,
}

/// `pairdesk ingest`: both side streams on their exchange connections (`public_base` for the
/// book, `mark_base` for mark prices) for the shared symbol set, published as they come.
pub fn publish_streams(
    client: &async_nats::Client,
    public_base: String,
    mark_base: String,
    symbols: &watch::Sender<Vec<String>>,
    tasks: &mut tokio::task::JoinSet<()>,
    shutdown: &Shutdown,
) -> SidePublishers {
    let counters = SidePublishers::default();
    // The ingest's own view of the streams' state and counters stays in its log.
    let (book_tx, book_rx) = mpsc::channel(65_536);
    let (mark_tx, mark_rx) = mpsc::channel(4_096);
    let (book_status, _) = watch::channel(FeedStatus::default());
    let (mark_status, _) = watch::channel(FeedStatus::default());
    tasks.spawn(crate::ingest::stream::run::<BookTicker>(
        public_base,
        symbols.subscribe(),
        book_tx,
        book_status,
        Arc::default(),
        shutdown.clone(),
    ));
    tasks.spawn(crate::ingest::stream::run::<MarkPriceStream>(
        mark_base,
        symbols.subscribe(),
        mark_tx,
        mark_status,
        Arc::default(),
        shutdown.clone(),
    ));
    tasks.spawn(publish::<BookTicker>(client.clone(), book_rx, counters.book.clone()));
    tasks.spawn(publish::<MarkPriceStream>(client.clone(), mark_rx, counters.mark.clone()));
    counters
}

/// `serve --nats`: one side stream from its subjects into `events`, with the embedded
/// stream's status and counters (live while this server's NATS connection is up).
pub async fn follow<S: SideWire>(
    client: async_nats::Client,
    symbols: watch::Receiver<Vec<String>>,
    events: mpsc::Sender<SideEvent<S::Event>>,
    status: watch::Sender<FeedStatus>,
    counters: Arc<SideCounters>,
    mut shutdown: Shutdown,
) {
    let down = |error: String| FeedStatus { state: FeedState::Down, last_error: Some(error), ..Default::default() };
    let mut subscriber = loop {
        match client.subscribe(format!("{}>", S::PREFIX)).await {
            Ok(subscriber) => break subscriber,
            Err(err) => {
                status.send_replace(down(format!("cannot subscribe on NATS: {err}")));
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    () = shutdown.wait() => return,
                }
            }
        }
    };
    let mut last_keys: HashMap<String, u64> = HashMap::new();
    let mut connected = false;
    let mut check = tokio::time::interval(STATE_CHECK);
    loop {
        tokio::select! {
            message = subscriber.next() => {
                let Some(message) = message else {
                    status.send_replace(down("the NATS subscription ended".into()));
                    return;
                };
                let Some(event) = take::<S>(&message.subject, &message.payload, &symbols, &mut last_keys, &counters)
                else {
                    continue;
                };
                if events.send(SideEvent::Event(event)).await.is_err() {
                    return;
                }
            }
            _ = check.tick() => {
                let now = client.connection_state() == State::Connected;
                if now == connected {
                    continue;
                }
                connected = now;
                let (event, state) = if now {
                    (SideEvent::Connected, FeedStatus { state: FeedState::Live, ..Default::default() })
                } else {
                    counters.reconnects.fetch_add(1, Ordering::Relaxed);
                    (SideEvent::Disconnected, down("the NATS connection is down".into()))
                };
                status.send_replace(state);
                if events.send(event).await.is_err() {
                    return;
                }
            }
            () = shutdown.wait() => return,
        }
    }
}

/// A `serve --nats`'s side feeds: both streams from NATS into the embedded consumers.
pub fn feeds(
    client: &async_nats::Client,
    store: &Store,
    symbols: &Symbols,
    rest: RestClient,
    tasks: &mut tokio::task::JoinSet<()>,
    shutdown: &Shutdown,
) -> anyhow::Result<SideFeeds> {
    SideFeeds::start_from(store, symbols, rest, tasks, shutdown, |sources, tasks| {
        let SideSources { book, book_status, book_counters, mark, mark_status, mark_counters } = sources;
        let follow_book = follow::<BookTicker>(
            client.clone(),
            symbols.subscribe(),
            book,
            book_status,
            book_counters,
            shutdown.clone(),
        );
        tasks.spawn(follow_book);
        let follow_mark = follow::<MarkPriceStream>(
            client.clone(),
            symbols.subscribe(),
            mark,
            mark_status,
            mark_counters,
            shutdown.clone(),
        );
        tasks.spawn(follow_mark);
    })
}

/// The event in a message, if it is valid, of a symbol this server has, and newer than the
/// last one taken of that symbol; otherwise counted and None.
fn take<S: SideWire>(
    subject: &str,
    payload: &[u8],
    symbols: &watch::Receiver<Vec<String>>,
    last_keys: &mut HashMap<String, u64>,
    counters: &SideCounters,
) -> Option<S::Event> {
    let count = |counter: &AtomicU64| {
        counter.fetch_add(1, Ordering::Relaxed);
        None
    };
    let event = match S::decode(subject, payload) {
        Ok(event) => event,
        Err(WireError::Invalid(_)) => return count(&counters.invalid_values),
        Err(_) => return count(&counters.malformed),
    };
    let symbol = S::symbol(&event);
    if !symbols.borrow().iter().any(|s| s == symbol) {
        return count(&counters.unknown_symbols);
    }
    let key = S::order_key(&event);
    match last_keys.get_mut(symbol) {
        Some(last) if key <= *last => return count(&counters.stale),
        Some(last) => *last = key,
        None => {
            last_keys.insert(symbol.to_string(), key);
        }
    }
    counters.events.fetch_add(1, Ordering::Relaxed);
    Some(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote(update_id: u64) -> Quote {
        Quote {
            symbol: "BTCUSDT".into(),
            update_id,
            t_ms: 1_700_000_000_000 + update_id as i64,
            bid: 100.0,
            bid_qty: 1.0,
            ask: 100.1,
            ask_qty: 2.0,
        }
    }

    #[test]
    fn two_ingests_copies_are_taken_once_in_order_and_foreign_messages_counted() {
        let (_tx, symbols) = watch::channel(vec!["BTCUSDT".to_string()]);
        let counters = SideCounters::default();
        let mut last = HashMap::new();
        let subject = "pairdesk.book.BTCUSDT";
        let mut taken = Vec::new();
        // Ingest A is ahead of B: each sends 1..=5 in order, interleaved as they arrive.
        for id in [1, 2, 1, 3, 2, 4, 3, 5, 4, 5] {
            if let Some(q) =
                take::<BookTicker>(subject, &wire::encode_quote(&quote(id)), &symbols, &mut last, &counters)
            {
                taken.push(q.update_id);
            }
        }
        assert_eq!(taken, [1, 2, 3, 4, 5]);
        assert_eq!(counters.stale.load(Ordering::Relaxed), 5);
        let eth = Quote { symbol: "ETHUSDT".into(), ..quote(9) };
        for (subject, payload) in [
            ("pairdesk.book.ETHUSDT", wire::encode_quote(&eth)),
            (subject, b"not json".to_vec()),
            ("pairdesk.book.ETHUSDT", wire::encode_quote(&quote(9))),
            (subject, wire::encode_quote(&Quote { bid: 101.0, ..quote(10) })),
        ] {
            assert!(take::<BookTicker>(subject, &payload, &symbols, &mut last, &counters).is_none());
        }
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        assert_eq!(
            (n(&counters.unknown_symbols), n(&counters.malformed), n(&counters.invalid_values), n(&counters.events)),
            (1, 2, 1, 5)
        );
    }
}
