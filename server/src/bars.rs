//! Live bars: every stored tick is resampled incrementally into 1s, 1m and 5m bars with
//! the shared [`BarBuilder`] (the one resampling implementation), per symbol.
//!
//! After a restart the first tick of a symbol resumes its bars exactly: the builders are
//! seeded with the stored ticks that precede it inside its bar, so a bar that straddles a
//! crash or a restart is recomputed, never half-counted or counted twice.

use std::collections::HashMap;

use app::analytics::resample::{bar_start, Bar, BarBuilder, Tick};

use crate::market::Trade;
use crate::store::{BarRecord, Store, StoreError, STORED_INTERVALS_MS};

/// One bar change, as published to the push layer.
#[derive(Clone, Debug, PartialEq)]
pub struct BarUpdate {
    /// Upper-case symbol, e.g. `BTCUSDT`.
    pub symbol: String,
    /// One of [`STORED_INTERVALS_MS`] (1 000, 60 000, 300 000).
    pub interval_ms: i64,
    pub bar: Bar,
    /// `true`: the bar is final (a later tick opened the next one). `false`: the bar still
    /// under construction, as it stands after the latest batch (sent again as it grows).
    pub closed: bool,
    /// Exchange time (ms) of the newest trade of the symbol behind this update: the
    /// push layer's "last price" time, and what push latency is measured from.
    pub trade_ms: i64,
}

/// The bars under construction of every symbol seen since start.
#[derive(Default)]
pub struct LiveBars {
    builders: HashMap<String, Vec<BarBuilder>>,
}

/// What one batch changed: bars to persist and updates to publish.
#[derive(Default)]
pub struct BatchBars {
    pub records: Vec<BarRecord>,
    pub updates: Vec<BarUpdate>,
}

impl LiveBars {
    /// Pushes a batch of new trades (each symbol's in id order) into the builders. Bars
    /// closed by the batch come first, then the current bar of every touched
    /// (symbol, interval) once.
    pub fn apply(&mut self, store: &Store, trades: &[Trade]) -> Result<BatchBars, StoreError> {
        let mut out = BatchBars::default();
        // Touched symbols with the time of their newest trade in the batch.
        let mut touched: Vec<(&str, i64)> = Vec::new();
        for trade in trades {
            if !self.builders.contains_key(&trade.symbol) {
                let seeded = seed(store, trade)?;
                self.builders.insert(trade.symbol.clone(), seeded);
            }
            let Some(builders) = self.builders.get_mut(&trade.symbol) else { continue };
            match touched.iter_mut().find(|(symbol, _)| *symbol == trade.symbol) {
                Some((_, newest)) => *newest = (*newest).max(trade.t_ms),
                None => touched.push((&trade.symbol, trade.t_ms)),
            }
            let tick = Tick { t: trade.t_ms, price: trade.price, qty: trade.qty };
            for builder in builders.iter_mut() {
                match builder.push(tick) {
                    Ok(update) => {
                        if let Some(bar) = update.closed {
                            out.records.push((trade.symbol.clone(), builder.interval_ms(), bar));
                            out.updates.push(BarUpdate {
                                symbol: trade.symbol.clone(),
                                interval_ms: builder.interval_ms(),
                                bar,
                                closed: true,
                                trade_ms: trade.t_ms,
                            });
                        }
                    }
                    Err(err) => tracing::debug!(%err, symbol = %trade.symbol, "tick not resampled"),
                }
            }
        }
        for (symbol, trade_ms) in touched {
            for builder in self.builders.get(symbol).into_iter().flatten() {
                if let Some(bar) = builder.current() {
                    out.records.push((symbol.to_string(), builder.interval_ms(), bar));
                    out.updates.push(BarUpdate {
                        symbol: symbol.to_string(),
                        interval_ms: builder.interval_ms(),
                        bar,
                        closed: false,
                        trade_ms,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// Builders for `first`'s symbol holding the stored ticks that precede `first` in its bars.
fn seed(store: &Store, first: &Trade) -> Result<Vec<BarBuilder>, StoreError> {
    let mut builders = Vec::with_capacity(STORED_INTERVALS_MS.len());
    for interval in STORED_INTERVALS_MS {
        let mut builder = BarBuilder::new(interval).map_err(|e| StoreError::Query(e.to_string()))?;
        for trade in store.ticks_before(&first.symbol, bar_start(first.t_ms, interval), first.t_ms, first.agg_id)? {
            let _ = builder.push(Tick { t: trade.t_ms, price: trade.price, qty: trade.qty });
        }
        builders.push(builder);
    }
    Ok(builders)
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::analytics::resample::resample_ticks;

    fn trade(agg_id: u64, t_ms: i64, price: f64) -> Trade {
        Trade { symbol: "BTCUSDT".into(), agg_id, t_ms, price, qty: 0.5, buyer_is_maker: false }
    }

    #[test]
    fn bars_resume_exactly_across_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let trades: Vec<Trade> = (0..400).map(|i| trade(i, 250 * i as i64 + 7, 100.0 + (i % 13) as f64)).collect();
        let (before, after) = trades.split_at(123);
        let mut live = LiveBars::default();
        let out = live.apply(&store, before).expect("apply");
        store.write(before, &out.records).expect("write");
        // "Restart": fresh builders, seeded from the store.
        let mut live = LiveBars::default();
        for chunk in after.chunks(50) {
            let out = live.apply(&store, chunk).expect("apply");
            store.write(chunk, &out.records).expect("write");
        }
        let ticks: Vec<Tick> = trades.iter().map(|t| Tick { t: t.t_ms, price: t.price, qty: t.qty }).collect();
        for interval in STORED_INTERVALS_MS {
            let expected = resample_ticks(&ticks, interval).expect("resample");
            assert_eq!(store.bars("BTCUSDT", interval, i64::MIN, i64::MAX).expect("bars"), expected, "{interval}");
        }
    }

    #[test]
    fn publishes_closed_bars_then_the_current_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let mut live = LiveBars::default();
        let out = live.apply(&store, &[trade(1, 100, 1.0), trade(2, 1_100, 2.0)]).expect("apply");
        let one_s: Vec<(i64, bool)> =
            out.updates.iter().filter(|u| u.interval_ms == 1_000).map(|u| (u.bar.t, u.closed)).collect();
        assert_eq!(one_s, vec![(0, true), (1_000, false)]);
        assert_eq!(out.updates.iter().filter(|u| !u.closed).count(), 3);
    }
}
