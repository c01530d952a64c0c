//! The trading rules bar by bar: signals at the close of bar t, fills at the close of bar t+lag,
//! sizing, fees, funding, and the equity at every bar close. One position at a time; the rules
//! are those of `docs/methodology.md#backtest`.

use super::{BacktestParams, ExitReason, Funding, LegData, Market, Side, Trade};

/// Trades and equity of bars `lo..hi` (equity starts at 0 at `lo`).
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Round trips in order.
    pub trades: Vec<Trade>,
    /// Equity after each bar `lo..hi` (realised + open position at the closes).
    pub equity: Vec<f64>,
}

/// One round trip as the rules decide it from z alone, before any price: the signal bars of
/// its entry and exit (fills follow `lag` bars later), its side and why it closed. Shared by
/// the pair and the basket simulations, so both trade by exactly the same rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Decision {
    pub(crate) side: Side,
    pub(crate) entry: usize,
    pub(crate) entry_z: f64,
    pub(crate) exit: usize,
    pub(crate) exit_z: Option<f64>,
    pub(crate) reason: ExitReason,
}

/// Fill price of `leg` at bar `i`: buying pays the ask (else the close), selling receives the bid
/// (else the close), and slippage moves either against the trader.
fn fill_price(leg: &LegData<'_>, i: usize, buy: bool, slip: f64) -> f64 {
    let quote = leg.book.and_then(|b| b[i]);
    match (quote, buy) {
        (Some(q), true) => q.ask * (1.0 + slip),
        (Some(q), false) => q.bid * (1.0 - slip),
        (None, true) => leg.close[i] * (1.0 + slip),
        (None, false) => leg.close[i] * (1.0 - slip),
    }
}

/// Funding cash flow of a position of `qty` for the settlements in `(after, upto]` (ms):
/// `−qty × mark × rate` each, so a long pays a positive rate.
fn funding_between(f: &[Funding], qty: f64, after: i64, upto: i64) -> f64 {
    let from = f.partition_point(|s| s.t <= after);
    // `+ 0.0` turns the empty sum's −0.0 into 0.0, so "no funding" prints as 0.
    f[from..].iter().take_while(|s| s.t <= upto).map(|s| -qty * s.mark * s.rate).sum::<f64>() + 0.0
}

/// The exit a position of `side` entered at signal bar `entry` takes at signal bar `t`, if any
/// (signal, then stop, then max hold, then the end of the data).
fn exit_reason(
    side: Side,
    entry: usize,
    z: Option<f64>,
    t: usize,
    last_signal: usize,
    p: &BacktestParams,
) -> Option<ExitReason> {
    if let Some(z) = z {
        let (signal, stop) = match side {
            Side::ShortSpread => (z <= p.exit, p.stop_z.is_some_and(|s| z >= s)),
            Side::LongSpread => (z >= -p.exit, p.stop_z.is_some_and(|s| z <= -s)),
        };
        if signal {
            return Some(ExitReason::Signal);
        }
        if stop {
            return Some(ExitReason::Stop);
        }
    }
    if p.max_hold.is_some_and(|h| t - entry >= h) {
        return Some(ExitReason::MaxHold);
    }
    (t == last_signal).then_some(ExitReason::EndOfData)
}

/// The round trips of bars `lo..hi` under the rules of `p` on `z` (indexed like the market);
/// `tradable(t)` says whether bar t can size an entry (the pair needs its β). Signals are taken
/// at bars `lo..=hi-1-lag`; the last of them closes any open position (end_of_data) so that it
/// fills at the last bar; no entry is taken there.
pub(crate) fn decide(
    z: &[Option<f64>],
    tradable: impl Fn(usize) -> bool,
    lo: usize,
    hi: usize,
    p: &BacktestParams,
) -> Vec<Decision> {
    let lag = p.fill.lag();
    let mut out = Vec::new();
    if hi <= lo + lag {
        return out;
    }
    let last_signal = hi - 1 - lag;
    let mut open: Option<(Side, usize, f64)> = None;
    // After a stop, entries wait until |z| has been below entry once.
    let mut blocked = false;
    for (t, &zt) in z.iter().enumerate().take(last_signal + 1).skip(lo) {
        if let Some((side, entry, entry_z)) = open {
            if let Some(reason) = exit_reason(side, entry, zt, t, last_signal, p) {
                out.push(Decision { side, entry, entry_z, exit: t, exit_z: zt, reason });
                blocked = reason == ExitReason::Stop;
                open = None;
            }
            continue; // no new entry on the bar of an exit
        }
        if t == last_signal {
            break; // its fill would be the last bar, where everything is closed
        }
        let Some(zt) = zt.filter(|_| tradable(t)) else { continue };
        if blocked {
            blocked = zt.abs() >= p.entry;
            continue;
        }
        let side = if zt > p.entry {
            Side::ShortSpread
        } else if zt < -p.entry {
            Side::LongSpread
        } else {
            continue;
        };
        open = Some((side, t, zt));
    }
    out
}

/// Simulate bars `lo..hi` of `m` with per-bar hedge `beta` and z-score `z` (indexed like `m`),
/// by the rules of [`decide`].
pub fn simulate(
    m: &Market<'_>,
    beta: &[Option<f64>],
    z: &[Option<f64>],
    lo: usize,
    hi: usize,
    p: &BacktestParams,
    bar_ms: i64,
) -> Run {
    let lag = p.fill.lag();
    let slip = p.slippage_bps / 1e4;
    let fee = p.fee_bps / 1e4;
    let fill_time = |i: usize| m.t[i] + bar_ms; // a fill happens at its bar's close
    let mut trades = Vec::new();
    let mut entry_fees = Vec::new();
    for d in decide(z, |t| beta[t].is_some(), lo, hi, p) {
        // Entry: sized at the fill from the signal bar's hedge.
        let b = beta[d.entry].unwrap_or_default();
        let fill = d.entry + lag;
        let px_y = fill_price(&m.y, fill, d.side == Side::LongSpread, slip);
        let qty_y = d.side.sign() * p.notional / px_y;
        let qty_x = -b * qty_y;
        let px_x = fill_price(&m.x, fill, qty_x > 0.0, slip);
        let open_fees = fee * (qty_x.abs() * px_x + qty_y.abs() * px_y);
        // Exit.
        let f = d.exit + lag;
        let ex = fill_price(&m.x, f, qty_x < 0.0, slip);
        let ey = fill_price(&m.y, f, qty_y < 0.0, slip);
        let gross = qty_x * (ex - px_x) + qty_y * (ey - px_y);
        let fees = open_fees + fee * (qty_x.abs() * ex + qty_y.abs() * ey);
        let (t0, t1) = (fill_time(fill), fill_time(f));
        let funding = funding_between(m.x.funding, qty_x, t0, t1) + funding_between(m.y.funding, qty_y, t0, t1);
        trades.push(Trade {
            entry_index: d.entry,
            entry_fill_index: fill,
            exit_index: d.exit,
            exit_fill_index: f,
            entry_t: m.t[fill],
            exit_t: m.t[f],
            side: d.side,
            entry_z: d.entry_z,
            exit_z: d.exit_z,
            beta: b,
            qty_x,
            qty_y,
            entry_px_x: px_x,
            entry_px_y: px_y,
            exit_px_x: ex,
            exit_px_y: ey,
            gross_pnl: gross,
            fees,
            funding,
            pnl: gross - fees + funding,
            reason: d.reason,
        });
        entry_fees.push(open_fees);
    }
    let equity = equity_curve(m, &trades, &entry_fees, lo, hi, bar_ms);
    Run { trades, equity }
}

/// Equity at each bar close of `lo..hi`: realised pnl of closed trades plus the open trade at
/// the closes, net of its entry fees and of the funding settled up to that close.
fn equity_curve(m: &Market<'_>, trades: &[Trade], entry_fees: &[f64], lo: usize, hi: usize, bar_ms: i64) -> Vec<f64> {
    let mut out = Vec::with_capacity(hi.saturating_sub(lo));
    let mut realised = 0.0;
    let mut k = 0;
    for i in lo..hi {
        while k < trades.len() && trades[k].exit_fill_index <= i {
            realised += trades[k].pnl;
            k += 1;
        }
        let open = match trades.get(k) {
            Some(tr) if tr.entry_fill_index <= i => {
                let t0 = m.t[tr.entry_fill_index] + bar_ms;
                let upto = m.t[i] + bar_ms;
                tr.qty_x * (m.x.close[i] - tr.entry_px_x) + tr.qty_y * (m.y.close[i] - tr.entry_px_y) - entry_fees[k]
                    + funding_between(m.x.funding, tr.qty_x, t0, upto)
                    + funding_between(m.y.funding, tr.qty_y, t0, upto)
            }
            _ => 0.0,
        };
        out.push(realised + open);
    }
    out
}
