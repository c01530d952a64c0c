//! Ticks to OHLCV bars for any whole-millisecond interval (pandas `resample(rule, label="left",
//! closed="left")`): bar start `floor(t / interval) * interval` (epoch-aligned), a tick exactly on
//! a boundary opens the bar starting there, empty bars are omitted. The batch function
//! [`resample_ticks`] is a loop over the incremental [`BarBuilder`].

use super::error::{AnalyticsError, Result};
use serde::{Deserialize, Serialize};

/// One trade.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// Time, unix milliseconds.
    pub t: i64,
    /// Trade price.
    pub price: f64,
    /// Trade quantity.
    pub qty: f64,
}

/// One OHLCV bar (golden field names).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    /// Bar start (open time), unix milliseconds.
    pub t: i64,
    /// First tick's price (input order).
    pub open: f64,
    /// Highest price.
    pub high: f64,
    /// Lowest price.
    pub low: f64,
    /// Last tick's price (input order).
    pub close: f64,
    /// Sum of quantities.
    pub volume: f64,
    /// Number of ticks.
    pub count: u64,
}

/// What a [`BarBuilder::push`] produced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BarUpdate {
    /// The previous bar, if this tick started a new bar (it is final).
    pub closed: Option<Bar>,
    /// The bar the tick went into, as it stands now (not final).
    pub current: Bar,
}

/// Incremental bar builder for ticks arriving in time order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BarBuilder {
    interval_ms: i64,
    current: Option<Bar>,
}

/// Bar start of time `t`: `floor(t / interval) * interval`, saturating at `i64::MIN` (an
/// open range start such as `from = i64::MIN` has no representable bar start below it).
/// `interval_ms` must be positive.
pub fn bar_start(t: i64, interval_ms: i64) -> i64 {
    t.saturating_sub(t.rem_euclid(interval_ms))
}

impl BarBuilder {
    /// New builder; errors unless `interval_ms > 0`.
    pub fn new(interval_ms: i64) -> Result<BarBuilder> {
        if interval_ms <= 0 {
            return Err(AnalyticsError::InvalidParameter(format!(
                "bar interval must be positive, got {interval_ms} ms"
            )));
        }
        Ok(BarBuilder { interval_ms, current: None })
    }

    /// Interval in milliseconds.
    pub fn interval_ms(&self) -> i64 {
        self.interval_ms
    }

    /// The bar under construction, if any.
    pub fn current(&self) -> Option<Bar> {
        self.current
    }

    /// Add a tick. Errors (and ignores the tick) if it belongs to a bar before the current one or
    /// has a non-finite price / quantity.
    pub fn push(&mut self, tick: Tick) -> Result<BarUpdate> {
        if !tick.price.is_finite() || !tick.qty.is_finite() {
            return Err(AnalyticsError::InvalidInput(format!("tick at {} is not finite", tick.t)));
        }
        let start = bar_start(tick.t, self.interval_ms);
        let fresh = Bar {
            t: start,
            open: tick.price,
            high: tick.price,
            low: tick.price,
            close: tick.price,
            volume: tick.qty,
            count: 1,
        };
        let (closed, current) = match self.current {
            None => (None, fresh),
            Some(b) if start == b.t => {
                let mut b = b;
                b.high = b.high.max(tick.price);
                b.low = b.low.min(tick.price);
                b.close = tick.price;
                b.volume += tick.qty;
                b.count += 1;
                (None, b)
            }
            Some(b) if start > b.t => (Some(b), fresh),
            Some(b) => {
                return Err(AnalyticsError::InvalidInput(format!(
                    "tick at {} belongs to bar {start} before the current bar {}",
                    tick.t, b.t
                )))
            }
        };
        self.current = Some(current);
        Ok(BarUpdate { closed, current })
    }

    /// Close and return the bar under construction (end of stream).
    pub fn finish(&mut self) -> Option<Bar> {
        self.current.take()
    }
}

/// Resample ticks (any order; ties in time keep their input order) into non-empty bars.
pub fn resample_ticks(ticks: &[Tick], interval_ms: i64) -> Result<Vec<Bar>> {
    let mut b = BarBuilder::new(interval_ms)?;
    let mut sorted = ticks.to_vec();
    sorted.sort_by_key(|t| t.t); // stable: ties keep input order
    let mut out = Vec::new();
    for tk in sorted {
        if let Some(c) = b.push(tk)?.closed {
            out.push(c);
        }
    }
    out.extend(b.finish());
    Ok(out)
}
