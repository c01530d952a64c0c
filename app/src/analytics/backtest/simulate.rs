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

/// A position between its entry and its exit signal.
#[derive(Debug, Clone, Copy)]
struct Open {
    side: Side,
    entry_index: usize,
    fill: usize,
    entry_z: f64,
    beta: f64,
    qty_x: f64,
    qty_y: f64,
    px_x: f64,
    px_y: f64,
    fees: f64,
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

/// The exit a position takes at signal bar `t`, if any (signal, then stop, then max hold, then
/// the end of the data).
fn exit_reason(o: &Open, z: Option<f64>, t: usize, last_signal: usize, p: &BacktestParams) -> Option<ExitReason> {
    if let Some(z) = z {
        let (signal, stop) = match o.side {
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
    if p.max_hold.is_some_and(|h| t - o.entry_index >= h) {
        return Some(ExitReason::MaxHold);
    }
    (t == last_signal).then_some(ExitReason::EndOfData)
}

/// Simulate bars `lo..hi` of `m` with per-bar hedge `beta` and z-score `z` (indexed like `m`).
/// Signals are taken at bars `lo..=hi-1-lag`; the last of them closes any open position
/// (end_of_data) so that it fills at the last bar; no entry is taken there.
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
    if hi > lo + lag {
        let last_signal = hi - 1 - lag;
        let mut open: Option<Open> = None;
        // After a stop, entries wait until |z| has been below entry once.
        let mut blocked = false;
        for t in lo..=last_signal {
            if let Some(o) = open {
                if let Some(reason) = exit_reason(&o, z[t], t, last_signal, p) {
                    let f = t + lag;
                    let ex = fill_price(&m.x, f, o.qty_x < 0.0, slip);
                    let ey = fill_price(&m.y, f, o.qty_y < 0.0, slip);
                    let gross = o.qty_x * (ex - o.px_x) + o.qty_y * (ey - o.px_y);
                    let fees = o.fees + fee * (o.qty_x.abs() * ex + o.qty_y.abs() * ey);
                    let (t0, t1) = (fill_time(o.fill), fill_time(f));
                    let funding =
                        funding_between(m.x.funding, o.qty_x, t0, t1) + funding_between(m.y.funding, o.qty_y, t0, t1);
                    trades.push(Trade {
                        entry_index: o.entry_index,
                        entry_fill_index: o.fill,
                        exit_index: t,
                        exit_fill_index: f,
                        entry_t: m.t[o.fill],
                        exit_t: m.t[f],
                        side: o.side,
                        entry_z: o.entry_z,
                        exit_z: z[t],
                        beta: o.beta,
                        qty_x: o.qty_x,
                        qty_y: o.qty_y,
                        entry_px_x: o.px_x,
                        entry_px_y: o.px_y,
                        exit_px_x: ex,
                        exit_px_y: ey,
                        gross_pnl: gross,
                        fees,
                        funding,
                        pnl: gross - fees + funding,
                        reason,
                    });
                    entry_fees.push(o.fees);
                    blocked = reason == ExitReason::Stop;
                    open = None;
                }
                continue; // no new entry on the bar of an exit
            }
            if t == last_signal {
                break; // its fill would be the last bar, where everything is closed
            }
            let (Some(zt), Some(b)) = (z[t], beta[t]) else { continue };
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
            let f = t + lag;
            let px_y = fill_price(&m.y, f, side == Side::LongSpread, slip);
            let qty_y = side.sign() * p.notional / px_y;
            let qty_x = -b * qty_y;
            let px_x = fill_price(&m.x, f, qty_x > 0.0, slip);
            let fees = fee * (qty_x.abs() * px_x + qty_y.abs() * px_y);
            open = Some(Open { side, entry_index: t, fill: f, entry_z: zt, beta: b, qty_x, qty_y, px_x, px_y, fees });
        }
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
