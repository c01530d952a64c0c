//! Best bid/ask per bar: the quote stream ([`crate::ingest::stream::BookTicker`]) resampled to
//! 1s/1m/5m **book bars** (last bid, last ask, time-weighted mean quoted spread in bps,
//! update count, `book_gap`) and stored in their own sled tree.
//!
//! Book data has no REST history, so nothing is ever invented: the time-weighted spread
//! only covers time during which a quote was known to be in force (from an update, or
//! carried from the bar before while the connection stayed up). After a disconnect (or at
//! start) the first bar is flagged `book_gap`, and the quote of the bar before it is not
//! carried across the hole.
//!
//! Tree `book_bars`: `SYMBOL \0 interval_ms(8, BE) open_time(8, BE, sign-flipped)` →
//! `bid, ask, spread_bps f64, updates u64, gap u8` (LE).

use std::collections::HashMap;

use app::analytics::resample::bar_start;
use tokio::sync::{mpsc, watch};

use crate::ingest::stream::SideEvent;
use crate::market::Quote;
use crate::shutdown::Shutdown;
use crate::store::keys::{symbol_prefix, time_bytes};
use crate::store::{Store, StoreError, STORED_INTERVALS_MS};

const VALUE_LEN: usize = 8 * 3 + 8 + 1;
/// Closed bars written per sled batch at most (the pipeline batches whatever is ready).
const WRITE_BATCH: usize = 4_096;

/// One bar of best bid/ask of one symbol.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BookBar {
    /// Bar open time, epoch milliseconds.
    pub t: i64,
    /// The last best bid and ask in the bar.
    pub bid: f64,
    pub ask: f64,
    /// Time-weighted mean of the quoted spread `(ask − bid) / mid`, in bps, over the part of
    /// the bar where a quote was known.
    pub spread_bps: f64,
    /// Book updates received in the bar.
    pub updates: u64,
    /// Quotes before this bar's first update are unknown (disconnect or start).
    pub gap: bool,
}

/// The bar being formed.
#[derive(Clone, Copy, Debug)]
struct Forming {
    bar: BookBar,
    /// Σ spread_bps × ms, and the ms covered.
    weighted: f64,
    covered_ms: i64,
    /// When the quote now in force began.
    last_t: i64,
    last_spread: f64,
}

impl Forming {
    fn close(mut self, until: i64) -> BookBar {
        let dt = until.saturating_sub(self.last_t).max(0);
        self.weighted += self.last_spread * dt as f64;
        self.covered_ms += dt;
        self.bar.spread_bps =
            if self.covered_ms > 0 { self.weighted / self.covered_ms as f64 } else { self.last_spread };
        self.bar
    }
}

/// Resamples one symbol's quotes to bars of one interval.
#[derive(Debug)]
pub struct BookBarBuilder {
    interval_ms: i64,
    forming: Option<Forming>,
    /// The next bar starts after a hole.
    gap: bool,
}

impl BookBarBuilder {
    pub fn new(interval_ms: i64) -> Self {
        Self { interval_ms, forming: None, gap: true }
    }

    /// Adds a quote; returns the bar it closed, if any.
    pub fn push(&mut self, quote: &Quote) -> Option<BookBar> {
        let start = bar_start(quote.t_ms, self.interval_ms);
        let spread = quote.spread_bps();
        match &mut self.forming {
            // Same bar (a transaction time older than the last is taken as the last).
            Some(f) if start <= f.bar.t => {
                let t = quote.t_ms.max(f.last_t);
                f.weighted += f.last_spread * (t - f.last_t) as f64;
                f.covered_ms += t - f.last_t;
                f.last_t = t;
                f.last_spread = spread;
                f.bar.bid = quote.bid;
                f.bar.ask = quote.ask;
                f.bar.updates += 1;
                None
            }
            _ => {
                let previous = self.forming.take();
                let closed = previous.map(|f| f.close(f.bar.t.saturating_add(self.interval_ms)));
                // The previous quote stays in force into this bar, unless there was a hole.
                let (weighted, covered_ms) = match previous {
                    Some(f) if !self.gap => (f.last_spread * (quote.t_ms - start) as f64, quote.t_ms - start),
                    _ => (0.0, 0),
                };
                self.forming = Some(Forming {
                    bar: BookBar {
                        t: start,
                        bid: quote.bid,
                        ask: quote.ask,
                        spread_bps: spread,
                        updates: 1,
                        gap: self.gap,
                    },
                    weighted,
                    covered_ms,
                    last_t: quote.t_ms,
                    last_spread: spread,
                });
                self.gap = false;
                closed
            }
        }
    }

    /// The connection was lost: the forming bar closes at its last update (nothing is
    /// extrapolated past it) and the next bar is flagged.
    pub fn hole(&mut self) -> Option<BookBar> {
        self.gap = true;
        self.forming.take().map(|f| f.close(f.last_t))
    }
}

/// The `book_bars` tree.
#[derive(Clone)]
pub struct BookStore {
    tree: sled::Tree,
}

fn key(symbol: &str, interval_ms: i64, t: i64) -> Vec<u8> {
    let mut key = symbol_prefix(symbol);
    key.extend_from_slice(&interval_ms.to_be_bytes());
    key.extend_from_slice(&time_bytes(t));
    key
}

fn encode(bar: &BookBar) -> Vec<u8> {
    let mut value = Vec::with_capacity(VALUE_LEN);
    for v in [bar.bid, bar.ask, bar.spread_bps] {
        value.extend_from_slice(&v.to_le_bytes());
    }
    value.extend_from_slice(&bar.updates.to_le_bytes());
    value.push(u8::from(bar.gap));
    value
}

fn decode(t: i64, value: &[u8]) -> Option<BookBar> {
    if value.len() != VALUE_LEN {
        return None;
    }
    let f = |i: usize| value[i * 8..i * 8 + 8].try_into().ok().map(f64::from_le_bytes);
    let updates = value[24..32].try_into().ok().map(u64::from_le_bytes)?;
    Some(BookBar { t, bid: f(0)?, ask: f(1)?, spread_bps: f(2)?, updates, gap: value[32] != 0 })
}

impl BookStore {
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        Ok(Self { tree: store.open_tree("book_bars")? })
    }

    /// Writes closed bars (replacing a stored bar of the same symbol, interval and time).
    pub fn put(&self, bars: &[(String, i64, BookBar)]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (symbol, interval_ms, bar) in bars {
            batch.insert(key(symbol, *interval_ms, bar.t), encode(bar));
        }
        Ok(self.tree.apply_batch(batch)?)
    }

    /// Bars of `symbol` at `interval_ms` opening in `[from_ms, to_ms)`, oldest first.
    pub fn bars(&self, symbol: &str, interval_ms: i64, from_ms: i64, to_ms: i64) -> Result<Vec<BookBar>, StoreError> {
        if !STORED_INTERVALS_MS.contains(&interval_ms) {
            return Err(StoreError::Query(format!(
                "book bars exist at 1s, 1m and 5m only, not {}",
                app::interval::interval_label(interval_ms)
            )));
        }
        if from_ms >= to_ms {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for entry in self.tree.range(key(symbol, interval_ms, from_ms)..key(symbol, interval_ms, to_ms)) {
            let (k, v) = entry?;
            let t_bytes: [u8; 8] = k[k.len() - 8..].try_into().map_err(|_| StoreError::Corrupt("book key".into()))?;
            let t = (u64::from_be_bytes(t_bytes) ^ (1 << 63)) as i64;
            out.push(decode(t, &v).ok_or_else(|| StoreError::Corrupt(format!("book bar of {symbol}")))?);
        }
        Ok(out)
    }
}

/// The latest quote of every symbol, for the live page's cost tile.
pub type QuoteBoard = HashMap<String, Quote>;

/// Consumes the quote stream until it ends or shutdown: builds and stores book bars,
/// publishes the latest quotes.
pub async fn run(
    mut events: mpsc::Receiver<SideEvent<Quote>>,
    store: BookStore,
    latest: watch::Sender<QuoteBoard>,
    mut shutdown: Shutdown,
) {
    let mut builders: HashMap<String, Vec<(i64, BookBarBuilder)>> = HashMap::new();
    let mut closed: Vec<(String, i64, BookBar)> = Vec::new();
    let mut buffer = Vec::with_capacity(WRITE_BATCH);
    loop {
        let received = tokio::select! {
            n = events.recv_many(&mut buffer, WRITE_BATCH) => n,
            () = shutdown.wait() => 0,
        };
        if received == 0 {
            break;
        }
        let mut fresh: Vec<Quote> = Vec::new();
        for event in buffer.drain(..) {
            match event {
                SideEvent::Event(quote) => {
                    let symbol_builders = builders
                        .entry(quote.symbol.clone())
                        .or_insert_with(|| STORED_INTERVALS_MS.iter().map(|&i| (i, BookBarBuilder::new(i))).collect());
                    for (interval, builder) in symbol_builders.iter_mut() {
                        if let Some(bar) = builder.push(&quote) {
                            closed.push((quote.symbol.clone(), *interval, bar));
                        }
                    }
                    fresh.push(quote);
                }
                SideEvent::Connected | SideEvent::Disconnected => {
                    for (symbol, symbol_builders) in builders.iter_mut() {
                        for (interval, builder) in symbol_builders.iter_mut() {
                            if let Some(bar) = builder.hole() {
                                closed.push((symbol.clone(), *interval, bar));
                            }
                        }
                    }
                }
            }
        }
        if !fresh.is_empty() {
            latest.send_modify(|board| {
                for quote in fresh {
                    board.insert(quote.symbol.clone(), quote);
                }
            });
        }
        if !closed.is_empty() {
            if let Err(err) = store.put(&closed) {
                tracing::error!(%err, "cannot store book bars");
            }
            closed.clear();
        }
    }
    // What is forming is flushed as it stands: a restart starts with a gap anyway.
    for (symbol, symbol_builders) in builders.iter_mut() {
        for (interval, builder) in symbol_builders.iter_mut() {
            if let Some(bar) = builder.hole() {
                closed.push((symbol.clone(), *interval, bar));
            }
        }
    }
    if let Err(err) = store.put(&closed) {
        tracing::error!(%err, "cannot store the last book bars");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(t_ms: i64, bid: f64, ask: f64) -> Quote {
        Quote { symbol: "BTCUSDT".into(), update_id: t_ms as u64, t_ms, bid, bid_qty: 1.0, ask, ask_qty: 1.0 }
    }

    /// Spread in bps of a quote around 100: (ask − bid) / 100 × 10,000 when mid = 100.
    fn bps(bid: f64, ask: f64) -> f64 {
        (ask - bid) / ((ask + bid) / 2.0) * 10_000.0
    }

    #[test]
    fn time_weighted_spread_counts_only_time_a_quote_was_known() {
        let mut b = BookBarBuilder::new(1_000);
        // Bar [0, 1000): quote A (10 bps) at 200, quote B (20 bps) at 700.
        assert_eq!(b.push(&q(200, 99.95, 100.05)), None);
        assert_eq!(b.push(&q(700, 99.9, 100.1)), None);
        // Bar [1000, 2000) opens at 1500 with C (10 bps): the first bar closes.
        let first = b.push(&q(1_500, 99.95, 100.05)).expect("closed");
        // Known from 200 (the start, after the initial gap): A for 500 ms, B for 300 ms.
        let expected = (bps(99.95, 100.05) * 500.0 + bps(99.9, 100.1) * 300.0) / 800.0;
        assert!((first.spread_bps - expected).abs() < 1e-9, "{first:?} vs {expected}");
        assert_eq!((first.t, first.bid, first.ask, first.updates, first.gap), (0, 99.9, 100.1, 2, true));
        // The second bar carries B from 1000 to 1500, then C to 2000; it is not a gap bar.
        let second = b.push(&q(2_000, 99.9, 100.1)).expect("closed");
        let expected = (bps(99.9, 100.1) * 500.0 + bps(99.95, 100.05) * 500.0) / 1_000.0;
        assert!((second.spread_bps - expected).abs() < 1e-9);
        assert_eq!((second.t, second.updates, second.gap), (1_000, 1, false));
    }

    #[test]
    fn a_hole_ends_the_bar_at_its_last_update_and_flags_the_next() {
        let mut b = BookBarBuilder::new(60_000);
        b.push(&q(1_000, 99.95, 100.05));
        b.push(&q(11_000, 99.9, 100.1));
        let cut = b.hole().expect("forming bar");
        // Covered 1,000..11,000 with A only; B's instant adds no time.
        assert!((cut.spread_bps - bps(99.95, 100.05)).abs() < 1e-9, "{cut:?}");
        assert_eq!(cut.updates, 2);
        assert_eq!(b.hole(), None, "nothing is forming after a hole");
        // After the hole: the new bar says so, and B is not carried into it.
        b.push(&q(70_000, 99.99, 100.01));
        let next = b.push(&q(120_000, 99.99, 100.01)).expect("closed");
        assert!(next.gap);
        assert!((next.spread_bps - bps(99.99, 100.01)).abs() < 1e-9);
    }

    #[test]
    fn book_bars_round_trip_through_the_store_in_time_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let book = BookStore::open(&store).expect("book");
        let bar = |t: i64| BookBar { t, bid: 1.0, ask: 1.5, spread_bps: 4000.0, updates: 3, gap: t < 0 };
        let rows: Vec<(String, i64, BookBar)> =
            [120_000, -60_000, 0, 60_000].iter().map(|&t| ("BTCUSDT".to_string(), 60_000, bar(t))).collect();
        book.put(&rows).expect("put");
        book.put(&[("ETHUSDT".into(), 60_000, bar(0)), ("BTCUSDT".into(), 1_000, bar(0))]).expect("put");
        let got = book.bars("BTCUSDT", 60_000, -60_000, 120_000).expect("bars");
        assert_eq!(got, vec![bar(-60_000), bar(0), bar(60_000)]);
        assert!(book.bars("BTCUSDT", 3_600_000, 0, 1).is_err());
    }
}
