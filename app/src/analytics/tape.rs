//! The p-value tape: for each bar, the stationarity of the pair over the `window` bars ending
//! there — the Engle–Granger p-value (`coint(y, x)`, AIC), the ADF p-value of the window's OLS
//! spread (`adfuller(resid, regression="c", autolag="AIC")`) and that spread's half-life, each
//! from its own module, on the window alone (the hedge is refitted per window).
//!
//! The live server computes it once per view and tape window: the snapshot carries the tape
//! over the loaded bars (at most [`TAPE_POINTS`] points, the forming last bar excluded), then
//! one point per closed bar ([`TapeUpdate`]); the page folds them in with [`apply_tape`]. The
//! window comes from outside (the page's URL, its subscribe message): [`check_tape_window`]
//! is the one bound both ends apply.

use serde::{Deserialize, Serialize};

use super::adf::{adfuller, AdfOptions, Autolag};
use super::align::{align_bars, AlignRule};
use super::coint::coint_from_residuals;
use super::half_life::half_life;
use super::ols::ols_with_resid;
use super::resample::Bar;

/// Bars per tape window, by default.
pub const TAPE_WINDOW: usize = 240;
/// Shortest and longest tape window (bars). Below 30 the ADF lag search has almost nothing to
/// fit; a point's cost grows with the window and its lag search, so 1,000 bars is ~7× a
/// 240-bar point (352 µs vs 50 µs) and its snapshot over a 1m view ~0.1 s (BENCHMARKS.md) —
/// what one subscribe may cost, at the socket's subscribe rate, one at a time per socket.
pub const TAPE_WINDOW_RANGE: (usize, usize) = (30, 1_000);
/// The windows the Live page offers.
pub const TAPE_WINDOW_CHOICES: [usize; 5] = [60, 120, 240, 480, 960];
/// Most points a tape holds (the snapshot computes at most this many).
pub const TAPE_POINTS: usize = 500;

/// `window` if it is a tape window [`TAPE_WINDOW_RANGE`] allows, else why not (the limits named).
pub fn check_tape_window(window: usize) -> Result<usize, String> {
    let (lo, hi) = TAPE_WINDOW_RANGE;
    if (lo..=hi).contains(&window) {
        Ok(window)
    } else {
        Err(format!("tape window must be {lo}–{hi} bars, got {window}"))
    }
}

/// The tape at one bar: the window of `window` aligned bars ending at `t`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TapePoint {
    /// Open time of the window's last bar (ms).
    pub t: i64,
    /// Engle–Granger p-value (None if the fit or test failed).
    pub eg_p: Option<f64>,
    /// ADF ("c", AIC) p-value of the window's OLS spread.
    pub adf_p: Option<f64>,
    /// Half-life of the window's OLS spread, bars (None: no mean reversion).
    pub half_life: Option<f64>,
}

/// The tape point of one window of closes (`x`, `y` the same length).
pub fn tape_point(t: i64, x: &[f64], y: &[f64]) -> TapePoint {
    let mut point = TapePoint { t, eg_p: None, adf_p: None, half_life: None };
    let Ok((fit, resid)) = ols_with_resid(x, y) else { return point };
    point.eg_p = coint_from_residuals(&resid, fit.r2, Some(Autolag::Aic), None).ok().map(|c| c.pvalue);
    point.adf_p = adfuller(&resid, &AdfOptions::default()).ok().map(|a| a.pvalue);
    point.half_life = half_life(&resid).ok().and_then(|h| h.half_life);
    point
}

/// The tape over aligned rows `t`/`x`/`y`: a point for each of the last `max_points` rows
/// that end a full window.
pub fn tape_points(t: &[i64], x: &[f64], y: &[f64], window: usize, max_points: usize) -> Vec<TapePoint> {
    let n = t.len().min(x.len()).min(y.len());
    if window == 0 || n < window {
        return Vec::new();
    }
    let first_end = (window - 1).max(n.saturating_sub(max_points));
    (first_end..n).map(|e| tape_point(t[e], &x[e + 1 - window..=e], &y[e + 1 - window..=e])).collect()
}

/// The tape of two legs' bars (aligned on the interval's grid, union rule, as the view is)
/// through bar time `through_ms` inclusive: at most `max_points` points.
pub fn tape_of_bars(
    x_bars: &[Bar],
    y_bars: &[Bar],
    interval_ms: i64,
    through_ms: i64,
    window: usize,
    max_points: usize,
) -> Vec<TapePoint> {
    // Only the rows the points need (plus room for the union fill) are aligned.
    let from = through_ms.saturating_sub(interval_ms.saturating_mul((window + max_points) as i64 + 1));
    let tail = |bars: &[Bar]| {
        let start = bars.partition_point(|b| b.t < from).saturating_sub(1);
        let end = bars.partition_point(|b| b.t <= through_ms);
        bars[start..end.max(start)].to_vec()
    };
    let Ok(aligned) = align_bars(&tail(x_bars), &tail(y_bars), interval_ms, AlignRule::Union) else {
        return Vec::new();
    };
    let n = aligned.t.partition_point(|&t| t <= through_ms);
    tape_points(&aligned.t[..n], &aligned.x[..n], &aligned.y[..n], window, max_points)
}

/// The tape of the bars a snapshot carries: every bar but the last aligned one (still forming).
pub fn snapshot_tape(x_bars: &[Bar], y_bars: &[Bar], interval_ms: i64, window: usize) -> Vec<TapePoint> {
    let last = x_bars.last().map(|b| b.t).max(y_bars.last().map(|b| b.t));
    match last {
        Some(last) => tape_of_bars(x_bars, y_bars, interval_ms, last - 1, window, TAPE_POINTS),
        None => Vec::new(),
    }
}

/// A tape message: the whole tape of a view (`snapshot`) or new points of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TapeUpdate {
    pub x_symbol: String,
    pub y_symbol: String,
    pub interval_ms: i64,
    pub window: usize,
    /// The points replace the tape (else they are added or replace the point of their time).
    pub snapshot: bool,
    pub points: Vec<TapePoint>,
}

/// Folds `update` into `tape`: a snapshot replaces it; other points replace the point with
/// the same time or are appended in time order, the oldest dropped beyond [`TAPE_POINTS`].
pub fn apply_tape(tape: &mut Vec<TapePoint>, update: &TapeUpdate) {
    if update.snapshot {
        tape.clone_from(&update.points);
    } else {
        for &p in &update.points {
            match tape.binary_search_by_key(&p.t, |q| q.t) {
                Ok(i) => tape[i] = p,
                Err(i) => tape.insert(i, p),
            }
        }
    }
    if tape.len() > TAPE_POINTS {
        tape.drain(..tape.len() - TAPE_POINTS);
    }
}

/// Folds a pushed tape message into the page's tape of one view: a snapshot (of any view)
/// replaces it, new points of the same view are applied, points of another view are ignored.
pub fn fold_tape(current: &mut Option<TapeUpdate>, update: TapeUpdate) {
    let same_view = |c: &TapeUpdate| {
        (&c.x_symbol, &c.y_symbol, c.interval_ms, c.window)
            == (&update.x_symbol, &update.y_symbol, update.interval_ms, update.window)
    };
    match current {
        Some(c) if !update.snapshot && same_view(c) => apply_tape(&mut c.points, &update),
        _ if update.snapshot => *current = Some(TapeUpdate { snapshot: true, ..update }),
        _ => {}
    }
}

/// Whether the last p-value crossed `level` at the last point: `Some(true)` when it went
/// below (cointegration now accepted at that level), `Some(false)` above, None otherwise.
pub fn crossed(tape: &[TapePoint], level: f64, p: impl Fn(&TapePoint) -> Option<f64>) -> Option<bool> {
    let [.., before, last] = tape else { return None };
    let (a, b) = (p(before)?, p(last)?);
    match (a < level, b < level) {
        (false, true) => Some(true),
        (true, false) => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::coint::coint;

    fn walk(seed: u64, n: usize) -> Vec<f64> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut v = 100.0;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                v += ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.8;
                v
            })
            .collect()
    }

    fn bars(t0: i64, closes: &[f64]) -> Vec<Bar> {
        closes
            .iter()
            .enumerate()
            .map(|(i, &c)| Bar { t: t0 + i as i64 * 1_000, open: c, high: c, low: c, close: c, volume: 1.0, count: 1 })
            .collect()
    }

    #[test]
    fn each_point_is_the_tests_on_its_window() {
        let x = walk(1, 400);
        let noise = walk(2, 400);
        let y: Vec<f64> = x.iter().zip(&noise).map(|(a, e)| 2.0 * a + (e - 100.0) * 0.05 + 3.0).collect();
        let t: Vec<i64> = (0..400).map(|i| i * 1_000).collect();
        let tape = tape_points(&t, &x, &y, 100, 50);
        assert_eq!(tape.len(), 50);
        assert_eq!(tape.last().map(|p| p.t), Some(399_000));
        let (lo, hi) = (399 - 99, 400);
        let direct = coint(&y[lo..hi], &x[lo..hi], Some(Autolag::Aic), None).unwrap();
        assert_eq!(tape.last().unwrap().eg_p, Some(direct.pvalue));
        let resid = ols_with_resid(&x[lo..hi], &y[lo..hi]).unwrap().1;
        assert_eq!(tape.last().unwrap().adf_p, Some(adfuller(&resid, &AdfOptions::default()).unwrap().pvalue));
        assert_eq!(tape.last().unwrap().half_life, half_life(&resid).unwrap().half_life);
        // Fewer rows than max_points: one point per full window.
        assert_eq!(tape_points(&t[..120], &x[..120], &y[..120], 100, 500).len(), 21);
        assert!(tape_points(&t[..50], &x[..50], &y[..50], 100, 500).is_empty());
    }

    #[test]
    fn snapshot_then_closed_bars_equal_the_tape_of_all_bars() {
        let x = walk(3, 700);
        let y: Vec<f64> = walk(4, 700).iter().zip(&x).map(|(e, a)| a * 0.5 + e * 0.1).collect();
        let (xb, yb) = (bars(0, &x), bars(0, &y));
        // The snapshot excludes the forming last bar and holds at most TAPE_POINTS points.
        let mut tape = snapshot_tape(&xb[..650], &yb[..650], 1_000, 120);
        assert_eq!(tape.len(), TAPE_POINTS);
        assert_eq!(tape.last().map(|p| p.t), Some(648_000));
        // Then each bar that closes adds its point (twice for the same bar: replaced).
        for close in 649..700 {
            let p = tape_of_bars(&xb, &yb, 1_000, close as i64 * 1_000, 120, 1);
            for _ in 0..2 {
                let update = TapeUpdate {
                    x_symbol: "X".into(),
                    y_symbol: "Y".into(),
                    interval_ms: 1_000,
                    window: 120,
                    snapshot: false,
                    points: p.clone(),
                };
                apply_tape(&mut tape, &update);
            }
        }
        let t: Vec<i64> = xb.iter().map(|b| b.t).collect();
        assert_eq!(tape, tape_points(&t, &x, &y, 120, TAPE_POINTS));
    }

    #[test]
    fn a_page_keeps_the_tape_of_its_view() {
        let p = |t| TapePoint { t, eg_p: Some(0.5), adf_p: None, half_life: None };
        let msg = |x: &str, snapshot, points| TapeUpdate {
            x_symbol: x.into(),
            y_symbol: "Y".into(),
            interval_ms: 1_000,
            window: 240,
            snapshot,
            points,
        };
        let mut tape = None;
        fold_tape(&mut tape, msg("X", false, vec![p(1)]));
        assert_eq!(tape, None, "points before a snapshot are ignored");
        fold_tape(&mut tape, msg("X", true, vec![p(1), p(2)]));
        fold_tape(&mut tape, msg("X", false, vec![p(3)]));
        fold_tape(&mut tape, msg("Z", false, vec![p(4)]));
        assert_eq!(tape.as_ref().map(|t| t.points.len()), Some(3), "another view's point is ignored");
        fold_tape(&mut tape, msg("Z", true, vec![p(9)]));
        assert_eq!(tape.map(|t| (t.x_symbol, t.points)), Some(("Z".to_string(), vec![p(9)])));
    }

    #[test]
    fn tape_windows_are_bounded_with_the_limits_in_the_message() {
        let (lo, hi) = TAPE_WINDOW_RANGE;
        assert_eq!(check_tape_window(lo), Ok(lo));
        assert_eq!(check_tape_window(hi), Ok(hi));
        assert_eq!(check_tape_window(TAPE_WINDOW), Ok(TAPE_WINDOW));
        for bad in [0, lo - 1, hi + 1, usize::MAX] {
            let err = check_tape_window(bad).unwrap_err();
            assert!(err.contains("30–1000") && err.contains(&bad.to_string()), "{err}");
        }
        assert!(TAPE_WINDOW_CHOICES.iter().all(|w| check_tape_window(*w).is_ok()));
        assert!(TAPE_WINDOW_CHOICES.contains(&TAPE_WINDOW), "the default is offered");
    }

    #[test]
    fn crossings_of_the_level_are_flagged() {
        let p = |t, v: f64| TapePoint { t, eg_p: Some(v), adf_p: None, half_life: None };
        assert_eq!(crossed(&[p(0, 0.2), p(1, 0.04)], 0.05, |q| q.eg_p), Some(true));
        assert_eq!(crossed(&[p(0, 0.01), p(1, 0.3)], 0.05, |q| q.eg_p), Some(false));
        assert_eq!(crossed(&[p(0, 0.01), p(1, 0.02)], 0.05, |q| q.eg_p), None);
        assert_eq!(crossed(&[p(1, 0.02)], 0.05, |q| q.eg_p), None);
        assert_eq!(crossed(&[p(0, 0.2), p(1, 0.04)], 0.05, |q| q.adf_p), None);
    }
}
