#!/usr/bin/env python3
"""Independent reference implementation of the basket backtest, in numpy / pandas.

The `backtest` key of `pairdesk analyze A.csv B.csv C.csv … --json`, written from
docs/methodology.md (#basket-backtest, #johansen, #backtest) only, not from the Rust code, so
that `server/tests/backtest_cli.rs` can compare the two on the same files: the training
weights, every trade, the equity curve and every metric.

The Johansen weights follow statsmodels' route (a general `numpy.linalg.eig` of
Skk⁻¹ S_k0 S00⁻¹ S0k, vectors rescaled to v' Skk v = 1, first weight positive), not the
Cholesky route of the Rust engine. The trading rules, the metrics and the file reader are
those of `backtest_ref.py` (the pair reference) where they are the same text.

Usage:
    basket_backtest_ref.py A.csv B.csv C.csv … [--z-window 60] [--entry 2] [--exit 0]
        [--fee-bps 4] [--slippage-bps 0] [--notional 10000] [--basket-train N]
        [--basket-walk-forward TRAIN,TEST]
Prints one JSON object: lookahead, train, weights, first_bar, metrics, trades, equity (and folds).
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from backtest_ref import metrics, read_closes, rolling_z  # noqa: E402


def johansen_weights(levels):
    """First eigenvector of coint_johansen(levels, det_order=0, k_ar_diff=1)."""
    y = levels - levels.mean(axis=0)  # det_order 0: demeaned levels
    dy = np.diff(y, axis=0)
    lagged = dy[:-1] - dy[:-1].mean(axis=0)  # one lagged difference, demeaned
    d0 = dy[1:] - dy[1:].mean(axis=0)  # the differences it explains
    lk = y[1:-1] - y[1:-1].mean(axis=0)  # levels y[1 .. n - k_ar_diff]

    def resid(a, b):
        return a - b @ np.linalg.lstsq(b, a, rcond=None)[0]

    r0, rk = resid(d0, lagged), resid(lk, lagged)
    n = r0.shape[0]
    s00, s0k, skk = r0.T @ r0 / n, r0.T @ rk / n, rk.T @ rk / n
    vals, vecs = np.linalg.eig(np.linalg.inv(skk) @ s0k.T @ np.linalg.inv(s00) @ s0k)
    v = vecs[:, int(np.argmax(vals.real))].real
    v = v / math.sqrt(v @ skk @ v)
    return v if v[0] > 0 else -v


def simulate(t, closes, w, z, lo, hi, a):
    """Trades and per-bar equity of bars lo..hi-1 holding weights w (methodology rules)."""
    k = closes.shape[1]
    slip, fee, lag = a.slippage_bps / 1e4, a.fee_bps / 1e4, 1

    def px(leg, i, buy):
        return closes[i, leg] * (1 + slip) if buy else closes[i, leg] * (1 - slip)

    # No stop or max hold here: `analyze` runs the basket with neither.
    trades, pos = [], None
    last_signal = hi - 1 - lag
    for i in range(lo, last_signal + 1):
        zi = z[i]
        has_z = not math.isnan(zi)
        if pos is not None:
            reason = None
            short = pos["side"] == "short_spread"
            if has_z and ((short and zi <= a.exit) or (not short and zi >= -a.exit)):
                reason = "signal"
            if reason is None and i == last_signal:
                reason = "end_of_data"
            if reason is not None:
                f = i + lag
                exit_px = [px(j, f, pos["qty"][j] < 0) for j in range(k)]
                gross = sum(q * (b - e) for q, e, b in zip(pos["qty"], pos["entry_px"], exit_px))
                fees = pos["entry_fees"] + fee * sum(abs(q) * p for q, p in zip(pos["qty"], exit_px))
                trades.append(dict(pos, exit_index=i, exit_fill_index=f, exit_z=zi if has_z else None,
                                   exit_px=exit_px, gross_pnl=gross, fees=fees, pnl=gross - fees, reason=reason))
                pos = None
            continue
        if i == last_signal or not has_z:
            continue
        if zi > a.entry:
            sign = -1.0
        elif zi < -a.entry:
            sign = 1.0
        else:
            continue
        f = i + lag
        # Long the spread buys the legs of positive weight; gross notional sizes the units.
        entry_px = [px(j, f, sign * w[j] > 0) for j in range(k)]
        units = a.notional / sum(abs(w[j]) * entry_px[j] for j in range(k))
        qty = [sign * units * w[j] for j in range(k)]
        pos = dict(entry_index=i, entry_fill_index=f, side="long_spread" if sign > 0 else "short_spread",
                   entry_z=zi, units=units, qty=qty, entry_px=entry_px,
                   entry_fees=fee * sum(abs(q) * p for q, p in zip(qty, entry_px)))
    equity, realised = [], 0.0
    for i in range(lo, hi):
        value = realised
        for tr in trades:
            if tr["exit_fill_index"] == i:
                realised += tr["pnl"]
                value = realised
            elif tr["entry_fill_index"] <= i < tr["exit_fill_index"]:
                value = realised + sum(q * (closes[i, j] - tr["entry_px"][j])
                                       for j, q in enumerate(tr["qty"])) - tr["entry_fees"]
        equity.append(value)
    for tr in trades:
        tr.pop("entry_fees")
        tr["entry_t"], tr["exit_t"] = int(t[tr["entry_fill_index"]]), int(t[tr["exit_fill_index"]])
    return trades, equity


def run(t, closes, a, bar_ms):
    n = closes.shape[0]
    if a.basket_walk_forward:
        # Fold k: weights and the spread's mean / std (ddof 1) on [k*TEST, k*TEST + TRAIN),
        # z = (spread - mean) / std on the next TEST bars.
        train, test = a.basket_walk_forward
        z = np.full(n, np.nan)
        equity, trades, folds, lo, w = [0.0] * train, [], [], train, None
        while lo + 2 <= n:
            start, hi = lo - train, min(lo + test, n)
            w = johansen_weights(closes[start:lo])
            spread = closes @ w
            mu, sd = spread[start:lo].mean(), spread[start:lo].std(ddof=1)
            z[lo:hi] = (spread[lo:hi] - mu) / sd
            ft, fe = simulate(t, closes, w, z, lo, hi, a)
            offset = equity[-1]
            folds.append({"train_start": start, "train_end": lo, "test_end": hi, "weights": list(w),
                          "spread_mean": mu, "spread_std": sd, "metrics": metrics(ft, fe, a, bar_ms)})
            equity += [e + offset for e in fe]
            trades += ft
            lo = hi
        equity += [equity[-1]] * (n - len(equity))
        return {"lookahead": False, "train": train, "weights": list(w), "first_bar": train,
                "metrics": metrics(trades, equity[train:], a, bar_ms), "trades": trades, "equity": equity,
                "folds": folds}
    train = a.basket_train if a.basket_train is not None else n // 2
    w = johansen_weights(closes[:train])
    z = rolling_z(pd.Series(closes @ w), a.z_window).to_numpy()
    first = next((i for i in range(train, n) if not math.isnan(z[i])), n)
    trades, equity = simulate(t, closes, w, z, first, n, a)
    return {"lookahead": False, "train": train, "weights": list(w), "first_bar": first,
            "metrics": metrics(trades, equity, a, bar_ms), "trades": trades, "equity": [0.0] * first + equity}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("files", nargs="+")
    p.add_argument("--z-window", type=int, default=60)
    p.add_argument("--entry", type=float, default=2.0)
    p.add_argument("--exit", type=float, default=0.0)
    p.add_argument("--fee-bps", type=float, default=4.0)
    p.add_argument("--slippage-bps", type=float, default=0.0)
    p.add_argument("--notional", type=float, default=10_000.0)
    p.add_argument("--basket-train", type=int)
    p.add_argument("--basket-walk-forward", type=lambda s: tuple(int(v) for v in s.split(",")))
    a = p.parse_args()
    legs = [read_closes(f).rename(str(i)) for i, f in enumerate(a.files)]
    both = pd.concat(legs, axis=1, join="inner").sort_index()
    t = both.index.to_numpy()
    bar_ms = int(round(float(np.median(np.diff(t)))))
    json.dump(run(t, both.to_numpy(dtype=float), a, bar_ms), sys.stdout, indent=1, default=float)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
