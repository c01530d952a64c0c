//! The fake exchange's memory: every generated trade, in one global sequence (what the
//! streams deliver, in order) and per symbol (what REST answers from), both bounded.
//!
//! Streaming clients read the global sequence with their own cursor, so a fast client
//! gets everything and a client that falls behind the bound is cut off, as on Binance.
//! Per symbol, ids are consecutive, so a `fromId` lookup is an index computation.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::market::Trade;

/// A stream cursor fell behind the retained history.
#[derive(Debug, PartialEq)]
pub struct Lagged;

/// Shared, bounded trade history. All methods are cheap and never block on I/O.
pub struct History {
    inner: Mutex<Inner>,
    /// Woken whenever trades are appended.
    pub appended: Notify,
    /// Highest sequence number any client has sent (drives "as fast as the socket drains").
    delivered: AtomicU64,
    /// Woken whenever a client delivers trades or connects.
    pub drained: Notify,
}

struct Inner {
    /// Sequence number of `log[0]`.
    base_seq: u64,
    log: VecDeque<Arc<Trade>>,
    per_symbol: HashMap<String, VecDeque<Arc<Trade>>>,
    per_symbol_limit: usize,
    global_limit: usize,
}

impl History {
    pub fn new(symbols: &[String], per_symbol_limit: usize) -> Self {
        let per_symbol_limit = per_symbol_limit.max(1);
        Self {
            inner: Mutex::new(Inner {
                base_seq: 0,
                log: VecDeque::new(),
                per_symbol: symbols.iter().map(|s| (s.clone(), VecDeque::new())).collect(),
                per_symbol_limit,
                global_limit: per_symbol_limit.saturating_mul(symbols.len().max(1)),
            }),
            appended: Notify::new(),
            delivered: AtomicU64::new(0),
            drained: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the deques half-updated in a way
        // that matters to a test double; keep serving.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends trades (in generation order) and wakes the streams.
    pub fn append(&self, trades: Vec<Trade>) {
        {
            let mut inner = self.lock();
            for trade in trades {
                let trade = Arc::new(trade);
                let limit = inner.per_symbol_limit;
                if let Some(list) = inner.per_symbol.get_mut(&trade.symbol) {
                    if list.len() >= limit {
                        list.pop_front();
                    }
                    list.push_back(trade.clone());
                }
                if inner.log.len() >= inner.global_limit {
                    inner.log.pop_front();
                    inner.base_seq += 1;
                }
                inner.log.push_back(trade);
            }
        }
        self.appended.notify_waiters();
    }

    /// Sequence number the next appended trade will get.
    pub fn end_seq(&self) -> u64 {
        let inner = self.lock();
        inner.base_seq + inner.log.len() as u64
    }

    /// Up to `max` trades from sequence number `seq` on.
    pub fn read_from(&self, seq: u64, max: usize) -> Result<Vec<Arc<Trade>>, Lagged> {
        let inner = self.lock();
        if seq < inner.base_seq {
            return Err(Lagged);
        }
        let start = (seq - inner.base_seq) as usize;
        Ok(inner.log.iter().skip(start).take(max).cloned().collect())
    }

    /// Records that a client has sent everything before `seq`.
    pub fn mark_delivered(&self, seq: u64) {
        self.delivered.fetch_max(seq, Ordering::Relaxed);
        self.drained.notify_waiters();
    }

    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// Every retained trade id of `symbol`, oldest first (the tests' ground truth).
    pub fn ids(&self, symbol: &str) -> Vec<u64> {
        let inner = self.lock();
        inner.per_symbol.get(symbol).map(|l| l.iter().map(|t| t.agg_id).collect()).unwrap_or_default()
    }

    pub fn has_symbol(&self, symbol: &str) -> bool {
        self.lock().per_symbol.contains_key(symbol)
    }

    /// Trades of `symbol` matching `filter`, in id order: from `from_id` if given, else
    /// from the first trade at or after `start_ms`, else the newest `limit`.
    pub fn query(&self, symbol: &str, filter: &TradeFilter) -> Vec<Trade> {
        let inner = self.lock();
        let Some(list) = inner.per_symbol.get(symbol) else { return Vec::new() };
        let start = match (filter.from_id, filter.start_ms) {
            (Some(id), _) => match list.front() {
                Some(first) if id > first.agg_id => (id - first.agg_id) as usize,
                _ => 0,
            },
            (None, Some(t)) => list.partition_point(|trade| trade.t_ms < t),
            (None, None) => match filter.end_ms {
                Some(end) => list.partition_point(|trade| trade.t_ms <= end).saturating_sub(filter.limit),
                None => list.len().saturating_sub(filter.limit),
            },
        };
        list.iter()
            .skip(start)
            .filter(|t| filter.start_ms.is_none_or(|s| t.t_ms >= s))
            .take_while(|t| filter.end_ms.is_none_or(|e| t.t_ms <= e))
            .take(filter.limit)
            .map(|t| t.as_ref().clone())
            .collect()
    }

    /// Every retained trade of `symbol` with `start_ms <= t <= end_ms`.
    pub fn in_time_range(&self, symbol: &str, start_ms: i64, end_ms: i64) -> Vec<Trade> {
        let inner = self.lock();
        let Some(list) = inner.per_symbol.get(symbol) else { return Vec::new() };
        let start = list.partition_point(|t| t.t_ms < start_ms);
        list.iter().skip(start).take_while(|t| t.t_ms <= end_ms).map(|t| t.as_ref().clone()).collect()
    }

    /// Price of the newest retained trade of `symbol`.
    pub fn last_price(&self, symbol: &str) -> Option<f64> {
        self.lock().per_symbol.get(symbol).and_then(|q| q.back()).map(|t| t.price)
    }

    /// Time of the newest retained trade of `symbol`.
    pub fn last_time(&self, symbol: &str) -> Option<i64> {
        self.lock().per_symbol.get(symbol).and_then(|l| l.back()).map(|t| t.t_ms)
    }
}

/// What an aggTrades request selects.
#[derive(Clone, Debug, Default)]
pub struct TradeFilter {
    pub from_id: Option<u64>,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub limit: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade(symbol: &str, agg_id: u64, t_ms: i64) -> Trade {
        Trade { symbol: symbol.into(), agg_id, t_ms, price: 1.0, qty: 1.0, buyer_is_maker: false }
    }

    #[test]
    fn bounded_per_symbol_and_cursors_lag_out() {
        let history = History::new(&["A".into(), "B".into()], 3);
        history.append((0..5).map(|i| trade("A", 10 + i, i as i64)).collect());
        assert_eq!(history.ids("A"), vec![12, 13, 14]);
        assert_eq!(history.end_seq(), 5);
        assert!(history.read_from(0, 10).is_ok(), "global bound is 3 x 2 symbols");
        history.append((0..3).map(|i| trade("B", i, i as i64)).collect());
        assert_eq!(history.read_from(0, 10), Err(Lagged));
        assert_eq!(history.read_from(7, 10).map(|v| v.len()), Ok(1));
    }

    #[test]
    fn queries_by_id_time_and_newest() {
        let history = History::new(&["A".into()], 100);
        history.append((0..10).map(|i| trade("A", 100 + i, 1_000 + 10 * i as i64)).collect());
        let ids = |f: TradeFilter| history.query("A", &f).iter().map(|t| t.agg_id).collect::<Vec<_>>();
        assert_eq!(ids(TradeFilter { from_id: Some(105), limit: 2, ..Default::default() }), vec![105, 106]);
        assert_eq!(ids(TradeFilter { from_id: Some(1), limit: 2, ..Default::default() }), vec![100, 101]);
        assert_eq!(ids(TradeFilter { from_id: Some(500), limit: 2, ..Default::default() }), Vec::<u64>::new());
        assert_eq!(
            ids(TradeFilter { start_ms: Some(1_015), end_ms: Some(1_040), limit: 500, ..Default::default() }),
            vec![102, 103, 104]
        );
        assert_eq!(ids(TradeFilter { limit: 3, ..Default::default() }), vec![107, 108, 109]);
        assert!(history.query("B", &TradeFilter { limit: 3, ..Default::default() }).is_empty());
    }
}
