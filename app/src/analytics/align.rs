//! Aligning two symbols' bar closes on a common time axis: the union rule (union of non-empty bar
//! starts, forward-filled), the grid rule (every interval, forward-filled) and the inner join.

use super::error::{AnalyticsError, Result};
use super::resample::Bar;
use serde::{Deserialize, Serialize};

/// How two bar series are put on one time axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum AlignRule {
    /// Rows = union of both symbols' non-empty bar starts; each column forward-filled; leading
    /// rows where either symbol has no bar yet are dropped.
    #[default]
    Union,
    /// Every interval from the first union row to the last non-empty bar of either symbol,
    /// forward-filled (gaps of both symbols are filled too).
    Grid,
}

/// Two aligned close series (golden field names); `*_filled` flags forward-filled values.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct AlignedPair {
    /// Row times (bar starts, ms).
    pub t: Vec<i64>,
    /// x closes.
    pub x: Vec<f64>,
    /// y closes.
    pub y: Vec<f64>,
    /// x carried forward from an earlier bar.
    pub x_filled: Vec<bool>,
    /// y carried forward from an earlier bar.
    pub y_filled: Vec<bool>,
}

fn check_sorted(what: &str, t: &[i64]) -> Result<()> {
    if t.windows(2).all(|w| w[0] < w[1]) {
        Ok(())
    } else {
        Err(AnalyticsError::InvalidInput(format!("{what}: bar times must be strictly increasing")))
    }
}

/// Align two close series given as `(t, close)` with strictly increasing times.
pub fn align_closes(
    xt: &[i64],
    xc: &[f64],
    yt: &[i64],
    yc: &[f64],
    interval_ms: i64,
    rule: AlignRule,
) -> Result<AlignedPair> {
    super::error::check_same_len("align x", xt.len(), xc.len())?;
    super::error::check_same_len("align y", yt.len(), yc.len())?;
    check_sorted("align x", xt)?;
    check_sorted("align y", yt)?;
    if rule == AlignRule::Grid && interval_ms <= 0 {
        return Err(AnalyticsError::InvalidParameter("grid alignment needs a positive interval".into()));
    }
    let mut out = AlignedPair::default();
    let (mut i, mut j) = (0usize, 0usize);
    let mut last_x: Option<f64> = None;
    let mut last_y: Option<f64> = None;
    let emit =
        |out: &mut AlignedPair, t: i64, x: Option<f64>, y: Option<f64>, lx: &mut Option<f64>, ly: &mut Option<f64>| {
            if let Some(v) = x {
                *lx = Some(v);
            }
            if let Some(v) = y {
                *ly = Some(v);
            }
            if let (Some(a), Some(b)) = (*lx, *ly) {
                out.t.push(t);
                out.x.push(a);
                out.y.push(b);
                out.x_filled.push(x.is_none());
                out.y_filled.push(y.is_none());
            }
        };
    match rule {
        AlignRule::Union => {
            while i < xt.len() || j < yt.len() {
                let t = match (xt.get(i), yt.get(j)) {
                    (Some(a), Some(b)) => *a.min(b),
                    (Some(a), None) => *a,
                    (None, Some(b)) => *b,
                    (None, None) => break,
                };
                let x = (xt.get(i) == Some(&t)).then(|| xc[i]);
                let y = (yt.get(j) == Some(&t)).then(|| yc[j]);
                i += usize::from(x.is_some());
                j += usize::from(y.is_some());
                emit(&mut out, t, x, y, &mut last_x, &mut last_y);
            }
        }
        AlignRule::Grid => {
            let (Some(&fx), Some(&fy)) = (xt.first(), yt.first()) else {
                return Ok(out);
            };
            let start = fx.max(fy);
            let end = match (xt.last(), yt.last()) {
                (Some(a), Some(b)) => *a.max(b),
                _ => return Ok(out),
            };
            // Seed the forward-fill state with everything before the first row.
            while i < xt.len() && xt[i] < start {
                last_x = Some(xc[i]);
                i += 1;
            }
            while j < yt.len() && yt[j] < start {
                last_y = Some(yc[j]);
                j += 1;
            }
            let mut t = start;
            while t <= end {
                let x = (xt.get(i) == Some(&t)).then(|| xc[i]);
                let y = (yt.get(j) == Some(&t)).then(|| yc[j]);
                i += usize::from(x.is_some());
                j += usize::from(y.is_some());
                emit(&mut out, t, x, y, &mut last_x, &mut last_y);
                // Bars off the grid (not a multiple of the interval from `start`) are skipped.
                while i < xt.len() && xt[i] <= t {
                    i += 1;
                }
                while j < yt.len() && yt[j] <= t {
                    j += 1;
                }
                t += interval_ms;
            }
        }
    }
    Ok(out)
}

/// Align two symbols' bars by close price.
pub fn align_bars(xb: &[Bar], yb: &[Bar], interval_ms: i64, rule: AlignRule) -> Result<AlignedPair> {
    let xt: Vec<i64> = xb.iter().map(|b| b.t).collect();
    let xc: Vec<f64> = xb.iter().map(|b| b.close).collect();
    let yt: Vec<i64> = yb.iter().map(|b| b.t).collect();
    let yc: Vec<f64> = yb.iter().map(|b| b.close).collect();
    align_closes(&xt, &xc, &yt, &yc, interval_ms, rule)
}

/// [`inner_join`] as an [`AlignedPair`] (nothing filled): how two uploaded series are
/// aligned, as `pairdesk analyze` aligns two files.
pub fn inner_join_pair(xb: &[Bar], yb: &[Bar]) -> Result<AlignedPair> {
    let (t, x, y) = inner_join(xb, yb)?;
    Ok(AlignedPair { x_filled: vec![false; t.len()], y_filled: vec![false; t.len()], t, x, y })
}

/// Inner join of two bar series on the bar open time: `(t, x close, y close)` for the times
/// present in both (inputs must be strictly increasing in time).
pub fn inner_join(xb: &[Bar], yb: &[Bar]) -> Result<(Vec<i64>, Vec<f64>, Vec<f64>)> {
    let xt: Vec<i64> = xb.iter().map(|b| b.t).collect();
    let yt: Vec<i64> = yb.iter().map(|b| b.t).collect();
    check_sorted("inner_join x", &xt)?;
    check_sorted("inner_join y", &yt)?;
    let (mut i, mut j) = (0, 0);
    let (mut t, mut x, mut y) = (Vec::new(), Vec::new(), Vec::new());
    while i < xb.len() && j < yb.len() {
        match xb[i].t.cmp(&yb[j].t) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                t.push(xb[i].t);
                x.push(xb[i].close);
                y.push(yb[j].close);
                i += 1;
                j += 1;
            }
        }
    }
    Ok((t, x, y))
}
