//! [`RollingPairEngine`]: the live engine. Push one aligned bar `(t, x, y)`; in O(1) amortised time
//! and without heap allocation (ring buffers allocated once in [`RollingPairEngine::new`]) it
//! updates the rolling OLS hedge, the newest bar's spread, the rolling mean / std / z of that
//! spread and the rolling correlation of simple returns.
//!
//! Numerics: window moments are kept with Welford add/remove updates and re-anchored (recomputed
//! two-pass from the ring buffers) every `max(windows)` pushes, so rounding drift is bounded by
//! one window's worth of updates at any price level and series length.
//!
//! **Batch equivalent** (what the engine equals within the golden tolerances):
//! * `alpha`, `beta`: [`rolling_ols`](super::rolling::rolling_ols)`(x, y, hedge_window)`;
//! * `spread`: [`rolling_hedge_spread`](super::rolling::rolling_hedge_spread)`(x, y, hedge_window)`
//!   — each bar's spread with the hedge fitted on the window ending at that bar;
//! * `spread_mean`, `spread_std`, `z`: [`rolling_zscore_opt`](super::rolling::rolling_zscore_opt)
//!   of that spread series with `z_window` (`mean`, `std_ddof1`, `z_ddof1`);
//! * `corr`: [`rolling_corr_returns`](super::rolling::rolling_corr_returns)`(x, y, corr_window)`.

use super::error::{AnalyticsError, Result};
use super::rolling::hedge_from_moments;
use serde::Serialize;

/// Fixed-capacity ring buffer of `f64` (allocated once).
#[derive(Debug, Clone)]
struct Ring {
    buf: Vec<f64>,
    head: usize,
    len: usize,
}

impl Ring {
    fn new(cap: usize) -> Ring {
        Ring { buf: vec![0.0; cap], head: 0, len: 0 }
    }
    fn cap(&self) -> usize {
        self.buf.len()
    }
    /// Append; returns the evicted oldest value when full.
    fn push(&mut self, v: f64) -> Option<f64> {
        let cap = self.cap();
        if self.len < cap {
            let idx = (self.head + self.len) % cap;
            self.buf[idx] = v;
            self.len += 1;
            None
        } else {
            let old = self.buf[self.head];
            self.buf[self.head] = v;
            self.head = (self.head + 1) % cap;
            Some(old)
        }
    }
    fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }
    fn get(&self, i: usize) -> f64 {
        self.buf[(self.head + i) % self.cap()]
    }
}

/// Welford moments of a window of pairs `(a, b)`.
#[derive(Debug, Clone, Copy, Default)]
struct Moments {
    n: usize,
    ma: f64,
    mb: f64,
    caa: f64,
    cab: f64,
    cbb: f64,
}

impl Moments {
    fn add(&mut self, a: f64, b: f64) {
        self.n += 1;
        let nf = self.n as f64;
        let da = a - self.ma;
        let db = b - self.mb;
        self.ma += da / nf;
        self.mb += db / nf;
        let da2 = a - self.ma;
        let db2 = b - self.mb;
        self.caa += da * da2;
        self.cab += da * db2;
        self.cbb += db * db2;
    }
    fn remove(&mut self, a: f64, b: f64) {
        if self.n <= 1 {
            *self = Moments::default();
            return;
        }
        let nf = (self.n - 1) as f64;
        // Means without (a, b); the update is the exact inverse of `add`.
        let ma_old = self.ma - (a - self.ma) / nf;
        let mb_old = self.mb - (b - self.mb) / nf;
        self.caa -= (a - ma_old) * (a - self.ma);
        self.cab -= (a - ma_old) * (b - self.mb);
        self.cbb -= (b - mb_old) * (b - self.mb);
        self.ma = ma_old;
        self.mb = mb_old;
        self.n -= 1;
        self.caa = self.caa.max(0.0);
        self.cbb = self.cbb.max(0.0);
    }
    /// Two-pass recomputation from ring buffers (re-anchoring).
    fn recompute(a: &Ring, b: &Ring) -> Moments {
        let n = a.len;
        if n == 0 {
            return Moments::default();
        }
        let nf = n as f64;
        let (mut sa, mut sb) = (0.0, 0.0);
        for i in 0..n {
            sa += a.get(i);
            sb += b.get(i);
        }
        let (ma, mb) = (sa / nf, sb / nf);
        let (mut caa, mut cab, mut cbb) = (0.0, 0.0, 0.0);
        for i in 0..n {
            let da = a.get(i) - ma;
            let db = b.get(i) - mb;
            caa += da * da;
            cab += da * db;
            cbb += db * db;
        }
        Moments { n, ma, mb, caa, cab, cbb }
    }
}

/// Rolling mean, sample std (ddof 1) and z-score of the last `W` values of one series: Welford
/// add/remove over a ring buffer, re-anchored two-pass when the owner says so. The engine's
/// spread z-score, and [`rolling_z_linear`] for any complete series.
#[derive(Debug, Clone)]
struct RollingZ {
    ring: Ring,
    m: Moments,
    /// How many of the newest values are equal to the newest.
    run: usize,
    last: f64,
}

impl RollingZ {
    fn new(window: usize) -> RollingZ {
        RollingZ { ring: Ring::new(window), m: Moments::default(), run: 0, last: f64::NAN }
    }

    /// Append `v`; once the window is full, `(mean, std, z)` of the newest value (z `None` for a
    /// zero-variance window).
    fn push(&mut self, v: f64, reanchor: bool) -> Option<(f64, f64, Option<f64>)> {
        self.run = if v == self.last { self.run + 1 } else { 1 };
        self.last = v;
        if let Some(old) = self.ring.push(v) {
            self.m.remove(old, 0.0);
        }
        self.m.add(v, 0.0);
        if reanchor {
            self.m = Moments::recompute(&self.ring, &self.ring);
        }
        let m = &self.m;
        (m.n == self.ring.cap()).then(|| {
            let sd = (m.caa / (m.n - 1) as f64).sqrt();
            // A constant window has zero variance and no z; add/remove rounding would leave
            // a tiny variance behind, so constancy is tracked exactly instead.
            let flat = self.run >= m.n;
            let z = (v - m.ma) / sd;
            (m.ma, sd, (z.is_finite() && !flat).then_some(z))
        })
    }

    fn clear(&mut self) {
        self.ring.clear();
        self.m = Moments::default();
        self.run = 0;
        self.last = f64::NAN;
    }

    fn len(&self) -> usize {
        self.ring.len
    }
}

/// z-score of every point of `s` over its trailing `window` points (ddof 1), in O(n): the same
/// values as [`rolling_zscore`](super::rolling::rolling_zscore)'s `z_ddof1` within rounding, for
/// windows so long that the two-pass batch (O(n·W)) would be slow; a constant window has no z
/// (the batch may return rounding noise there). `window` must be ≥ 2.
pub(crate) fn rolling_z_linear(s: &[f64], window: usize) -> Vec<Option<f64>> {
    let mut z = RollingZ::new(window.max(2));
    s.iter().enumerate().map(|(i, v)| z.push(*v, (i + 1) % window.max(2) == 0).and_then(|r| r.2)).collect()
}

/// State after the latest bar. `(have, need)` counters say how far each statistic is from ready.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EngineSnapshot {
    /// Time of the latest bar (ms).
    pub t: i64,
    /// Latest x.
    pub x: f64,
    /// Latest y.
    pub y: f64,
    /// Bars pushed so far.
    pub bars: u64,
    /// Rolling hedge intercept.
    pub alpha: Option<f64>,
    /// Rolling hedge ratio.
    pub beta: Option<f64>,
    /// `y - beta x - alpha` of the latest bar with the current hedge.
    pub spread: Option<f64>,
    /// Rolling mean of the live spread over the z window.
    pub spread_mean: Option<f64>,
    /// Rolling sample std (ddof 1) of the live spread over the z window.
    pub spread_std: Option<f64>,
    /// `(spread - spread_mean) / spread_std`.
    pub z: Option<f64>,
    /// Rolling Pearson correlation of simple returns over the corr window.
    pub corr: Option<f64>,
    /// Bars in the hedge window / hedge window.
    pub hedge_ready: (usize, usize),
    /// Consecutive live spreads in the z window / z window.
    pub z_ready: (usize, usize),
    /// Returns in the corr window / corr window.
    pub corr_ready: (usize, usize),
    /// More bars needed before `z` is available (0 when ready).
    pub z_bars_needed: usize,
}

/// Allocation-free rolling pair statistics for live data (see the module docs for the batch
/// functions it reproduces).
#[derive(Debug, Clone)]
pub struct RollingPairEngine {
    hedge_w: usize,
    z_w: usize,
    corr_w: usize,
    reanchor_every: usize,
    since_anchor: usize,
    xs: Ring,
    ys: Ring,
    hedge: Moments,
    spreads: RollingZ,
    rxs: Ring,
    rys: Ring,
    corr: Moments,
    prev: Option<(i64, f64, f64)>,
    bars: u64,
    last: Option<EngineSnapshot>,
}

impl RollingPairEngine {
    /// New engine; windows must be >= 2.
    pub fn new(hedge_window: usize, z_window: usize, corr_window: usize) -> Result<RollingPairEngine> {
        if hedge_window < 2 || z_window < 2 || corr_window < 2 {
            return Err(AnalyticsError::InvalidParameter("engine windows must be >= 2".into()));
        }
        Ok(RollingPairEngine {
            hedge_w: hedge_window,
            z_w: z_window,
            corr_w: corr_window,
            reanchor_every: hedge_window.max(z_window).max(corr_window),
            since_anchor: 0,
            xs: Ring::new(hedge_window),
            ys: Ring::new(hedge_window),
            hedge: Moments::default(),
            spreads: RollingZ::new(z_window),
            rxs: Ring::new(corr_window),
            rys: Ring::new(corr_window),
            corr: Moments::default(),
            prev: None,
            bars: 0,
            last: None,
        })
    }

    /// Windows `(hedge, z, corr)`.
    pub fn windows(&self) -> (usize, usize, usize) {
        (self.hedge_w, self.z_w, self.corr_w)
    }

    /// Latest snapshot (None before the first bar).
    pub fn snapshot(&self) -> Option<EngineSnapshot> {
        self.last
    }

    /// Forget all bars (keeps the allocations).
    pub fn reset(&mut self) {
        self.spreads.clear();
        for r in [&mut self.xs, &mut self.ys, &mut self.rxs, &mut self.rys] {
            r.clear();
        }
        self.hedge = Moments::default();
        self.corr = Moments::default();
        self.prev = None;
        self.bars = 0;
        self.since_anchor = 0;
        self.last = None;
    }

    /// Push one aligned bar. Errors (state unchanged) on non-finite / non-positive prices or a
    /// time not after the previous bar's.
    pub fn push(&mut self, t: i64, x: f64, y: f64) -> Result<EngineSnapshot> {
        if !(x.is_finite() && y.is_finite() && x > 0.0 && y > 0.0) {
            return Err(AnalyticsError::InvalidInput(format!("engine: prices must be finite and > 0 (x={x}, y={y})")));
        }
        if let Some((pt, _, _)) = self.prev {
            if t <= pt {
                return Err(AnalyticsError::InvalidInput(format!(
                    "engine: bar time {t} is not after the previous bar {pt}"
                )));
            }
        }
        self.bars += 1;
        self.since_anchor += 1;
        let reanchor = self.since_anchor >= self.reanchor_every;
        if reanchor {
            self.since_anchor = 0;
        }

        // Hedge window.
        let ex = self.xs.push(x);
        let ey = self.ys.push(y);
        if let (Some(a), Some(b)) = (ex, ey) {
            self.hedge.remove(a, b);
        }
        self.hedge.add(x, y);
        if reanchor {
            self.hedge = Moments::recompute(&self.xs, &self.ys);
        }
        let h = &self.hedge;
        let hedge = if h.n == self.hedge_w { hedge_from_moments(h.n, h.ma, h.mb, h.caa, h.cab) } else { None };
        let spread = hedge.map(|hh| (y - hh.mean_y) - hh.beta * (x - hh.mean_x));

        // Spread z-score over the trailing run of available spreads.
        let (mut spread_mean, mut spread_std, mut z) = (None, None, None);
        match spread {
            Some(s) => {
                if let Some((mean, sd, zz)) = self.spreads.push(s, reanchor) {
                    spread_mean = Some(mean);
                    spread_std = Some(sd);
                    z = zz;
                }
            }
            None => self.spreads.clear(),
        }

        // Returns correlation.
        if let Some((_, px, py)) = self.prev {
            let rx = x / px - 1.0;
            let ry = y / py - 1.0;
            let ea = self.rxs.push(rx);
            let eb = self.rys.push(ry);
            if let (Some(a), Some(b)) = (ea, eb) {
                self.corr.remove(a, b);
            }
            self.corr.add(rx, ry);
            if reanchor {
                self.corr = Moments::recompute(&self.rxs, &self.rys);
            }
        }
        let c = &self.corr;
        let corr = if c.n == self.corr_w {
            let r = c.cab / (c.caa * c.cbb).sqrt();
            r.is_finite().then_some(r)
        } else {
            None
        };
        self.prev = Some((t, x, y));

        let hedge_have = self.xs.len;
        let z_have = self.spreads.len();
        let z_bars_needed = if z_have >= self.z_w {
            0
        } else if hedge.is_some() {
            self.z_w - z_have
        } else {
            (self.hedge_w - hedge_have.min(self.hedge_w)) + self.z_w
        };
        let snap = EngineSnapshot {
            t,
            x,
            y,
            bars: self.bars,
            alpha: hedge.map(|h| h.alpha),
            beta: hedge.map(|h| h.beta),
            spread,
            spread_mean,
            spread_std,
            z,
            corr,
            hedge_ready: (hedge_have, self.hedge_w),
            z_ready: (z_have, self.z_w),
            corr_ready: (self.rxs.len, self.corr_w),
            z_bars_needed,
        };
        self.last = Some(snap);
        Ok(snap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::rolling::rolling_zscore;

    /// The O(n) z of any series equals the two-pass batch z (ddof 1), warm-up included, on a long
    /// drifting series where add/remove rounding would show; constant windows have none.
    #[test]
    fn linear_rolling_z_is_the_batch_z() {
        let mut v = 0.0f64;
        let mut s: Vec<f64> = (0..20_000u64)
            .map(|i| {
                v += ((i.wrapping_mul(2_654_435_761) % 1000) as f64 / 1000.0 - 0.5) * 3.0;
                1_000.0 + v
            })
            .collect();
        s[5_000..5_100].fill(7.0); // a flat stretch: zero variance, no z
        for w in [2usize, 3, 60, 777, 20_000] {
            let batch = rolling_zscore(&s, w, "s").expect("batch").z_ddof1;
            let fast = rolling_z_linear(&s, w);
            assert_eq!(fast.len(), batch.len());
            for (i, (a, b)) in fast.iter().zip(&batch).enumerate() {
                if i + 1 >= w && s[i + 1 - w..=i].iter().all(|x| *x == s[i]) {
                    assert_eq!(*a, None, "w={w} i={i}: a constant window has no z");
                    continue;
                }
                match (a, b) {
                    (Some(a), Some(b)) => assert!((a - b).abs() <= 1e-7 * (1.0 + b.abs()), "w={w} i={i}: {a} vs {b}"),
                    (None, None) => {}
                    other => panic!("w={w} i={i}: {other:?}"),
                }
            }
        }
    }
}
