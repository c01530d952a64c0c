//! Bars fetched from the exchange's REST klines (`pairdesk serve --history`), kept apart
//! from the live bars the pipeline derives from ticks, and the one rule that joins them.
//!
//! Layout (tree [`TREE`]): the same chunk keys and values as the live bars
//! ([`super::keys`]): 1m bars as fetched, 5m bars derived from them; plus, per symbol, the
//! fetched span ([`super::keys::fetched_span_key`]): the minutes `[from, to)` already asked of
//! the exchange. Minutes without trades have no bar but lie inside the span, so a restart
//! asks only for what is outside it.
//!
//! # Which bar wins
//!
//! Per bucket of the requested interval: a bucket that has a live bar is that live bar,
//! alone; a fetched bar shows only where no live bar exists. So the minute (and the 5m
//! bucket) in which the live stream starts is the live bar with only the trades ingested
//! live — never the fetched bar plus the live one — and a query returns history, then live
//! bars, without overlap. (At start the ingest begins a new symbol at that minute's first
//! trade, `ingest::history::seed_last_ids`, so there the live minute is whole; the 5m bucket
//! and a symbol added at runtime start with the trades since.) Intervals computed from ticks (e.g. 1h) follow the same rule: a bucket
//! with ticks is resampled from them, one without is aggregated from the stored 1m bars.
//! 1s bars have no history (klines start at one minute).

use app::analytics::resample::{bar_start, Bar};

use super::keys::{bar_chunk_key, chunk_start, decode_chunk_into, decode_span, encode_span, fetched_span_key};
use super::{read_bar_chunks, write_bar_chunks, BarRecord, Store, StoreError};

/// Name of the sled tree.
pub(super) const TREE: &str = "fetched_bars";
const MINUTE_MS: i64 = 60_000;
const FIVE_MINUTES_MS: i64 = 300_000;

impl Store {
    /// Stores fetched 1m bars of `symbol` (any order; a bar replaces a fetched one of the same
    /// minute), derives the 5m bars of every 5m bucket they touch from all fetched 1m bars
    /// of that bucket, and records that the minutes `[span.0, span.1)` have been fetched
    /// (joined to the recorded span when they touch it, replacing it otherwise).
    pub fn put_fetched_bars(&self, symbol: &str, bars: &[Bar], span: (i64, i64)) -> Result<(), StoreError> {
        self.check_writable()?;
        let _guard = self.lock();
        let minutes: Vec<BarRecord> = bars.iter().map(|bar| (symbol.to_string(), MINUTE_MS, *bar)).collect();
        write_bar_chunks(&self.fetched, &minutes)?;
        let mut buckets: Vec<i64> = bars.iter().map(|bar| bar_start(bar.t, FIVE_MINUTES_MS)).collect();
        buckets.sort_unstable();
        buckets.dedup();
        let mut derived = Vec::with_capacity(buckets.len());
        for bucket in buckets {
            let in_bucket = read_bar_chunks(&self.fetched, symbol, MINUTE_MS, bucket, bucket + FIVE_MINUTES_MS)?;
            derived.extend(
                coarsen(&in_bucket, FIVE_MINUTES_MS).into_iter().map(|b| (symbol.to_string(), FIVE_MINUTES_MS, b)),
            );
        }
        write_bar_chunks(&self.fetched, &derived)?;
        let joined = match self.fetched_span(symbol)? {
            Some((from, to)) if span.0 <= to && from <= span.1 => (from.min(span.0), to.max(span.1)),
            _ => span,
        };
        self.fetched.insert(fetched_span_key(symbol), &encode_span(joined))?;
        Ok(())
    }

    /// The minutes `[from, to)` of `symbol` already fetched, if any.
    pub fn fetched_span(&self, symbol: &str) -> Result<Option<(i64, i64)>, StoreError> {
        match self.fetched.get(fetched_span_key(symbol))? {
            None => Ok(None),
            Some(value) => {
                decode_span(&value).map(Some).ok_or_else(|| StoreError::Corrupt(format!("fetched span of {symbol}")))
            }
        }
    }

    /// Open time of the newest live 1m bar of `symbol`.
    pub fn newest_live_minute(&self, symbol: &str) -> Result<Option<i64>, StoreError> {
        let range = bar_chunk_key(symbol, MINUTE_MS, i64::MIN)..bar_chunk_key(symbol, MINUTE_MS, i64::MAX);
        let Some((_, value)) = self.bars.range(range).next_back().transpose()? else { return Ok(None) };
        let mut bars = Vec::new();
        decode_chunk_into(&value, &mut bars).ok_or_else(|| StoreError::Corrupt(format!("bar chunk of {symbol}")))?;
        Ok(bars.last().map(|b| b.t))
    }

    /// Open time of the oldest live 1m bar of `symbol` opening at or after `t_ms`.
    pub fn first_live_minute_since(&self, symbol: &str, t_ms: i64) -> Result<Option<i64>, StoreError> {
        let range =
            bar_chunk_key(symbol, MINUTE_MS, chunk_start(MINUTE_MS, t_ms))..bar_chunk_key(symbol, MINUTE_MS, i64::MAX);
        for entry in self.bars.range(range) {
            let (_, value) = entry?;
            let mut bars = Vec::new();
            decode_chunk_into(&value, &mut bars)
                .ok_or_else(|| StoreError::Corrupt(format!("bar chunk of {symbol}")))?;
            if let Some(bar) = bars.iter().find(|b| b.t >= t_ms) {
                return Ok(Some(bar.t));
            }
        }
        Ok(None)
    }

    /// `live` (bars of a stored interval) with fetched bars filling the buckets it lacks.
    pub(super) fn with_history(
        &self,
        symbol: &str,
        interval_ms: i64,
        from_ms: i64,
        to_ms: i64,
        live: Vec<Bar>,
    ) -> Result<Vec<Bar>, StoreError> {
        if interval_ms != MINUTE_MS && interval_ms != FIVE_MINUTES_MS {
            return Ok(live);
        }
        let fetched = read_bar_chunks(&self.fetched, symbol, interval_ms, from_ms, to_ms)?;
        Ok(prefer_live(fetched, live))
    }

    /// `from_ticks` (bars of an interval resampled from ticks) with the buckets it lacks
    /// aggregated from the stored 1m bars, when the interval is whole minutes and `symbol`
    /// has history (without history the answer is exactly the tick resampling).
    pub(super) fn with_history_resampled(
        &self,
        symbol: &str,
        interval_ms: i64,
        from_ms: i64,
        to_ms: i64,
        from_ticks: Vec<Bar>,
    ) -> Result<Vec<Bar>, StoreError> {
        if interval_ms % MINUTE_MS != 0 || self.fetched_span(symbol)?.is_none() {
            return Ok(from_ticks);
        }
        let minutes = self.bars(symbol, MINUTE_MS, bar_start(from_ms, interval_ms), to_ms)?;
        let mut coarse = coarsen(&minutes, interval_ms);
        coarse.retain(|b| b.t >= from_ms && b.t < to_ms);
        Ok(prefer_live(coarse, from_ticks))
    }
}

/// Both lists sorted by open time, merged; where both have a bar of one open time, `live`'s.
fn prefer_live(fetched: Vec<Bar>, live: Vec<Bar>) -> Vec<Bar> {
    if fetched.is_empty() {
        return live;
    }
    let mut out = Vec::with_capacity(fetched.len() + live.len());
    let mut live = live.into_iter().peekable();
    for bar in fetched {
        while let Some(next) = live.next_if(|l| l.t <= bar.t) {
            out.push(next);
        }
        if out.last().is_none_or(|last| last.t != bar.t) {
            out.push(bar);
        }
    }
    out.extend(live);
    out
}

/// Bars sorted by open time aggregated into `interval_ms` buckets (epoch-aligned): first
/// open, highest high, lowest low, last close, summed volume and count.
fn coarsen(bars: &[Bar], interval_ms: i64) -> Vec<Bar> {
    let mut out: Vec<Bar> = Vec::new();
    for bar in bars {
        let start = bar_start(bar.t, interval_ms);
        match out.last_mut() {
            Some(last) if last.t == start => {
                last.high = last.high.max(bar.high);
                last.low = last.low.min(bar.low);
                last.close = bar.close;
                last.volume += bar.volume;
                last.count = last.count.saturating_add(bar.count);
            }
            _ => out.push(Bar { t: start, ..*bar }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::Trade;

    fn bar(t: i64, close: f64, count: u64) -> Bar {
        Bar { t, open: close - 1.0, high: close + 2.0, low: close - 2.0, close, volume: count as f64, count }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        (dir, store)
    }

    fn trade(agg_id: u64, t_ms: i64, price: f64) -> Trade {
        Trade { symbol: "BTCUSDT".into(), agg_id, t_ms, price, qty: 1.0, buyer_is_maker: false }
    }

    #[test]
    fn prefer_live_merges_without_overlap() {
        let fetched = vec![bar(0, 1.0, 1), bar(60_000, 2.0, 1), bar(120_000, 3.0, 1), bar(240_000, 5.0, 1)];
        let live = vec![bar(120_000, 30.0, 7), bar(180_000, 40.0, 7), bar(300_000, 60.0, 7)];
        let merged = prefer_live(fetched, live);
        let got: Vec<(i64, u64)> = merged.iter().map(|b| (b.t, b.count)).collect();
        assert_eq!(got, vec![(0, 1), (60_000, 1), (120_000, 7), (180_000, 7), (240_000, 1), (300_000, 7)]);
        assert!(prefer_live(Vec::new(), vec![bar(5, 1.0, 1)]).len() == 1);
        assert_eq!(prefer_live(vec![bar(5, 1.0, 1)], Vec::new()).len(), 1);
    }

    #[test]
    fn fetched_minutes_derive_five_minute_bars_across_pages_and_spans_join() {
        let (_dir, store) = store();
        let minutes: Vec<Bar> = (0..12).map(|i| bar(i * MINUTE_MS, 100.0 + i as f64, 1 + i as u64)).collect();
        // Two pages that split the 5m bucket [300 000, 600 000).
        store.put_fetched_bars("BTCUSDT", &minutes[..7], (0, 7 * MINUTE_MS)).expect("page 1");
        store.put_fetched_bars("BTCUSDT", &minutes[7..], (7 * MINUTE_MS, 12 * MINUTE_MS)).expect("page 2");
        assert_eq!(store.fetched_span("BTCUSDT").expect("span"), Some((0, 12 * MINUTE_MS)));
        assert_eq!(store.bars("BTCUSDT", MINUTE_MS, i64::MIN, i64::MAX).expect("1m"), minutes);
        let five = store.bars("BTCUSDT", FIVE_MINUTES_MS, i64::MIN, i64::MAX).expect("5m");
        assert_eq!(
            five.iter().map(|b| (b.t, b.count)).collect::<Vec<_>>(),
            vec![(0, 15), (300_000, 40), (600_000, 23)]
        );
        assert_eq!((five[1].open, five[1].close, five[1].high, five[1].low), (104.0, 109.0, 111.0, 103.0));
        // A disjoint span replaces the recorded one (the fetch plans from the newest).
        store.put_fetched_bars("BTCUSDT", &[], (100 * MINUTE_MS, 110 * MINUTE_MS)).expect("disjoint");
        assert_eq!(store.fetched_span("BTCUSDT").expect("span"), Some((100 * MINUTE_MS, 110 * MINUTE_MS)));
        assert_eq!(store.fetched_span("ETHUSDT").expect("span"), None);
        // 1s has no history.
        assert!(store.bars("BTCUSDT", 1_000, i64::MIN, i64::MAX).expect("1s").is_empty());
    }

    #[test]
    fn the_live_bar_wins_the_minute_in_which_live_data_starts() {
        let (_dir, store) = store();
        // History 00:00–00:09 (10 trades a minute); the live stream starts at 00:07:30.
        let fetched: Vec<Bar> = (0..10).map(|i| bar(i * MINUTE_MS, 100.0, 10)).collect();
        store.put_fetched_bars("BTCUSDT", &fetched, (0, 10 * MINUTE_MS)).expect("fetched");
        let trades: Vec<Trade> = (0..6).map(|i| trade(i, 450_000 + i as i64 * 30_000, 200.0 + i as f64)).collect();
        store.append_trades(&trades).expect("ticks");
        store.rebuild_bars("BTCUSDT").expect("live bars");
        let one_m = store.bars("BTCUSDT", MINUTE_MS, i64::MIN, i64::MAX).expect("1m");
        let got: Vec<(i64, u64)> = one_m.iter().map(|b| (b.t / MINUTE_MS, b.count)).collect();
        // Minute 7 holds the one live trade at 07:30 — not 10 + 1; 8 and 9 are live only.
        assert_eq!(
            got,
            vec![(0, 10), (1, 10), (2, 10), (3, 10), (4, 10), (5, 10), (6, 10), (7, 1), (8, 2), (9, 2), (10, 1)]
        );
        assert!(one_m.windows(2).all(|w| w[0].t < w[1].t), "strictly increasing, no overlap");
        assert_eq!(one_m[7].open, 200.0, "the live bar, not the fetched one");
        let five = store.bars("BTCUSDT", FIVE_MINUTES_MS, i64::MIN, i64::MAX).expect("5m");
        assert_eq!(five.iter().map(|b| (b.t, b.count)).collect::<Vec<_>>(), vec![(0, 50), (300_000, 5), (600_000, 1)]);
        // 1h from ticks: the one bucket has ticks, so it is the live resampling alone.
        let hour = store.bars("BTCUSDT", 3_600_000, i64::MIN, i64::MAX).expect("1h");
        assert_eq!(hour.iter().map(|b| b.count).collect::<Vec<_>>(), vec![6]);
        // 2m: buckets without ticks come from the 1m bars, the rest from ticks.
        let two = store.bars("BTCUSDT", 120_000, 0, 12 * MINUTE_MS).expect("2m");
        let got: Vec<(i64, u64)> = two.iter().map(|b| (b.t / MINUTE_MS, b.count)).collect();
        assert_eq!(got, vec![(0, 20), (2, 20), (4, 20), (6, 1), (8, 4), (10, 1)]);
        assert_eq!(store.first_live_minute_since("BTCUSDT", 0).expect("first"), Some(7 * MINUTE_MS));
        assert_eq!(store.first_live_minute_since("BTCUSDT", 8 * MINUTE_MS + 1).expect("first"), Some(9 * MINUTE_MS));
        assert_eq!(store.first_live_minute_since("BTCUSDT", 11 * MINUTE_MS).expect("first"), None);
        assert_eq!(store.newest_live_minute("BTCUSDT").expect("newest"), Some(10 * MINUTE_MS));
        assert_eq!(store.newest_live_minute("ETHUSDT").expect("newest"), None);
    }

    #[test]
    fn without_history_resampled_bars_are_the_tick_resampling() {
        let (_dir, store) = store();
        let trades: Vec<Trade> = (0..20).map(|i| trade(i, i as i64 * 50_000, 10.0 + i as f64)).collect();
        store.append_trades(&trades).expect("ticks");
        let hour = store.bars("BTCUSDT", 3_600_000, i64::MIN, i64::MAX).expect("1h");
        assert_eq!(hour.iter().map(|b| b.count).sum::<u64>(), 20);
        assert_eq!(store.fetched_span("BTCUSDT").expect("span"), None);
    }
}
