#!/usr/bin/env python3
"""Independent reference implementation of `pairdesk backtest`, in pandas.

Written from the text of issue 10 and docs/methodology.md#backtest only (not from the Rust
code), so that `server/tests/backtest_cli.rs` can compare the two on the same files: every
metric, every trade, the equity curve, the walk-forward folds and sweep cells.

Usage mirrors the CLI:
    backtest_ref.py X.csv Y.csv [--interval 1m] [--hedge rolling_ols|kalman|static|rolling_tls]
        [--hedge-window N] [--train N] [--z-window 60] [--entry 2] [--exit 0] [--stop-z S]
        [--max-hold H] [--fill next|same] [--fee-bps 4] [--slippage-bps 0] [--notional 10000]
        [--kalman-delta 1e-4] [--kalman-ve 1e-3] [--walk-forward TRAIN,TEST]
        [--sweep entry=1.0:3.5:0.25,window=30,60] [--funding-x F] [--funding-y F]
        [--book-x F] [--book-y F]
Prints one JSON object: lookahead, first_bar, metrics, trades, equity (and folds / sweep).

Inputs: Binance kline CSVs (with or without header; open time in ms or us), funding files
(`fundingTime,fundingRate,markPrice[,symbol]`, `calc_time,funding_interval_hours,
last_funding_rate`, or `symbol,funding_time_ms,funding_rate,mark_price`) and book files
(`time,bid,ask`).
"""

import argparse
import json
import math
import sys

import numpy as np
import pandas as pd

# ---------------------------------------------------------------------------------------------
# Reading


def epoch_ms(v):
    """Epoch integer to ms by magnitude (ns >= 1e18, us >= 1e15, else ms)."""
    v = int(v)
    if v >= 10**18:
        return v // 1_000_000
    if v >= 10**15:
        return v // 1_000
    return v


def read_closes(path):
    """Bar open time (ms) -> close, from a Binance kline CSV with or without a header."""
    raw = pd.read_csv(path, header=None, dtype=str, skip_blank_lines=True)
    if not raw.iloc[0, 0].strip().isdigit():
        raw = raw.iloc[1:]
    t = [epoch_ms(v) for v in raw[0]]
    return pd.Series(raw[4].astype(float).to_numpy(), index=pd.Index(t, dtype="int64"))


def parse_time(v):
    s = str(v).strip()
    if s.isdigit():
        return epoch_ms(s)
    return int(pd.Timestamp(s).tz_localize("UTC").value // 10**6) if pd.Timestamp(s).tzinfo is None \
        else int(pd.Timestamp(s).value // 10**6)


def pick(df, names):
    lower = {c.lower(): c for c in df.columns}
    for n in names:
        if n.lower() in lower:
            return lower[n.lower()]
    return None


def read_funding(path):
    """[(time_ms, rate, mark or None)] in file order."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    tc = pick(df, ["fundingTime", "calc_time", "funding_time_ms", "time"])
    rc = pick(df, ["fundingRate", "last_funding_rate", "funding_rate"])
    mc = pick(df, ["markPrice", "mark_price"])
    out = []
    for _, row in df.iterrows():
        mark = row[mc].strip() if mc is not None else ""
        out.append((parse_time(row[tc]), float(row[rc]), float(mark) if mark else None))
    return out


def read_book(path):
    df = pd.read_csv(path, dtype=str)
    tc = pick(df, ["time", "time_ms", "timestamp"])
    return {parse_time(r[tc]): (float(r["bid"]), float(r["ask"])) for _, r in df.iterrows()}


# ---------------------------------------------------------------------------------------------
# Hedge and z as known at each bar


def rolling_z(spread, w):
    """(s - rolling mean) / rolling std (ddof 1) over the last w spreads (NaN until w exist)."""
    mean = spread.rolling(w, min_periods=w).mean()
    std = spread.rolling(w, min_periods=w).std(ddof=1)
    z = (spread - mean) / std
    return z.where(np.isfinite(z))


def ols_line(x, y):
    """alpha, beta of y = alpha + beta x (centred sums)."""
    xm, ym = x.mean(), y.mean()
    beta = ((x - xm) * (y - ym)).sum() / ((x - xm) ** 2).sum()
    return ym - beta * xm, beta


def signals(x, y, a):
    """beta_t and z_t per bar (NaN when undefined) and the first bar trading may start at."""
    w = a.z_window
    if a.hedge == "rolling_ols":
        wh = a.hedge_window or w
        # Shift both legs first: rolling cov/var of BTC-sized prices lose digits otherwise.
        xc, yc = x - x.iloc[0], y - y.iloc[0]
        beta = xc.rolling(wh, min_periods=wh).cov(yc) / xc.rolling(wh, min_periods=wh).var()
        alpha = y.rolling(wh, min_periods=wh).mean() - beta * x.rolling(wh, min_periods=wh).mean()
        beta = beta.where(np.isfinite(beta))
        spread = y - beta * x - alpha
        return beta, rolling_z(spread, w), 0
    if a.hedge == "rolling_tls":
        # Orthogonal regression on each trailing window: the first principal axis of the
        # window's covariance matrix, beta = (d + sqrt(d^2 + 4 sxy^2)) / (2 sxy), d = syy - sxx
        # (numpy's symmetric eigensolver per window, not the closed form the engine uses).
        wh = a.hedge_window or w
        xs, ys = x.to_numpy(), y.to_numpy()
        beta = np.full(len(xs), np.nan)
        alpha = np.full(len(xs), np.nan)
        for t in range(wh - 1, len(xs)):
            xw, yw = xs[t + 1 - wh : t + 1], ys[t + 1 - wh : t + 1]
            c = np.cov(np.vstack([xw - xw.mean(), yw - yw.mean()]))
            vals, vecs = np.linalg.eigh(c)
            v = vecs[:, np.argmax(vals)]
            if v[0] != 0:
                beta[t] = v[1] / v[0]
                alpha[t] = yw.mean() - beta[t] * xw.mean()
        beta = pd.Series(beta, index=x.index)
        spread = y - beta * x - pd.Series(alpha, index=x.index)
        return beta, rolling_z(spread, w), 0
    if a.hedge == "kalman":
        vw = a.kalman_delta / (1 - a.kalman_delta)
        theta = np.zeros(2)
        p = np.eye(2)
        betas, spreads = [], []
        for i, (xi, yi) in enumerate(zip(x.to_numpy(), y.to_numpy())):
            r = p if i == 0 else p + vw * np.eye(2)
            f = np.array([xi, 1.0])
            e = yi - f @ theta
            q = f @ r @ f + a.kalman_ve
            k = r @ f / q
            theta = theta + k * e
            p = r - np.outer(k, f @ r)
            betas.append(theta[0])
            spreads.append(yi - theta[0] * xi - theta[1])
        spread = pd.Series(spreads, index=x.index)
        return pd.Series(betas, index=x.index), rolling_z(spread, w), 0
    n = a.train
    alpha, b = ols_line(x.iloc[:n], y.iloc[:n])
    spread = y - b * x - alpha
    return pd.Series(b, index=x.index), rolling_z(spread, w), n


# ---------------------------------------------------------------------------------------------
# Trading


class Leg:
    def __init__(self, close, book, funding):
        self.close = close  # numpy array
        self.book = book  # list of (bid, ask) or None per bar
        self.funding = funding  # list of (t, rate, mark)

    def price(self, i, buy, slip):
        q = self.book[i]
        if q is None:
            ref = self.close[i]
            return ref * (1 + slip) if buy else ref * (1 - slip)
        return q[1] * (1 + slip) if buy else q[0] * (1 - slip)

    def funding_cash(self, qty, after, upto):
        return sum(-qty * mark * rate for (t, rate, mark) in self.funding if after < t <= upto)


def simulate(t, lx, ly, beta, z, lo, hi, a, bar_ms):
    """Trades and per-bar equity of bars lo..hi-1 (methodology rules)."""
    lag = 1 if a.fill == "next" else 0
    slip, fee = a.slippage_bps / 1e4, a.fee_bps / 1e4
    close_time = lambda i: t[i] + bar_ms  # noqa: E731  (a fill happens at its bar's close)
    trades = []
    pos = None
    blocked = False
    last_signal = hi - 1 - lag
    for i in range(lo, last_signal + 1):
        zi = z[i]
        has_z = not math.isnan(zi)
        if pos is not None:
            reason = None
            if has_z:
                short = pos["side"] == "short_spread"
                if (short and zi <= a.exit) or (not short and zi >= -a.exit):
                    reason = "signal"
                elif a.stop_z is not None and ((short and zi >= a.stop_z) or (not short and zi <= -a.stop_z)):
                    reason = "stop"
            if reason is None and a.max_hold is not None and i - pos["entry_index"] >= a.max_hold:
                reason = "max_hold"
            if reason is None and i == last_signal:
                reason = "end_of_data"
            if reason is not None:
                f = i + lag
                qx, qy = pos["qty_x"], pos["qty_y"]
                ex, ey = lx.price(f, qx < 0, slip), ly.price(f, qy < 0, slip)
                exit_fees = fee * (abs(qx) * ex + abs(qy) * ey)
                gross = qx * (ex - pos["entry_px_x"]) + qy * (ey - pos["entry_px_y"])
                t0, t1 = close_time(pos["entry_fill_index"]), close_time(f)
                funding = lx.funding_cash(qx, t0, t1) + ly.funding_cash(qy, t0, t1)
                fees = pos["entry_fees"] + exit_fees
                trades.append(dict(pos, exit_index=i, exit_fill_index=f, exit_z=zi if has_z else None,
                                   exit_px_x=ex, exit_px_y=ey, gross_pnl=gross, fees=fees, funding=funding,
                                   pnl=gross - fees + funding, reason=reason))
                blocked = reason == "stop"
                pos = None
            continue
        if i == last_signal or not has_z or math.isnan(beta[i]):
            continue
        if blocked:
            if abs(zi) < a.entry:
                blocked = False
            continue
        if zi > a.entry:
            side = -1.0
        elif zi < -a.entry:
            side = 1.0
        else:
            continue
        f = i + lag
        py = ly.price(f, side > 0, slip)
        qy = side * a.notional / py
        qx = -beta[i] * qy
        px = lx.price(f, qx > 0, slip)
        pos = dict(entry_index=i, entry_fill_index=f, side="long_spread" if side > 0 else "short_spread",
                   entry_z=zi, beta=beta[i], qty_x=qx, qty_y=qy, entry_px_x=px, entry_px_y=py,
                   entry_fees=fee * (abs(qx) * px + abs(qy) * py))
    # Equity at each close: realised + open legs at the closes - entry fees + funding so far.
    equity = []
    realised = 0.0
    for i in range(lo, hi):
        value = realised
        for tr in trades:
            if tr["exit_fill_index"] == i:
                realised += tr["pnl"]
                value = realised
            elif tr["entry_fill_index"] <= i < tr["exit_fill_index"]:
                t0 = close_time(tr["entry_fill_index"])
                value = (realised + tr["qty_x"] * (lx.close[i] - tr["entry_px_x"])
                         + tr["qty_y"] * (ly.close[i] - tr["entry_px_y"]) - tr["entry_fees"]
                         + lx.funding_cash(tr["qty_x"], t0, close_time(i))
                         + ly.funding_cash(tr["qty_y"], t0, close_time(i)))
        equity.append(value)
    for tr in trades:
        tr.pop("entry_fees")
        tr["entry_t"], tr["exit_t"] = int(t[tr["entry_fill_index"]]), int(t[tr["exit_fill_index"]])
    return trades, equity


def traded_notional(tr):
    """Quote value of a trade's fills, every leg, entry and exit (a pair's two legs, or a
    basket's `qty` / `entry_px` / `exit_px` lists)."""
    if "qty" in tr:
        return sum(abs(q) * (a + b) for q, a, b in zip(tr["qty"], tr["entry_px"], tr["exit_px"]))
    return (abs(tr["qty_x"]) * (tr["entry_px_x"] + tr["exit_px_x"])
            + abs(tr["qty_y"]) * (tr["entry_px_y"] + tr["exit_px_y"]))


def metrics(trades, equity, a, bar_ms):
    """The methodology's metrics of `trades` (pair or basket; a basket has no funding)."""

    pnl = pd.Series([tr["pnl"] for tr in trades], dtype=float)
    hold = pd.Series([tr["exit_fill_index"] - tr["entry_fill_index"] for tr in trades], dtype=float)
    eq = pd.Series(equity, dtype=float)
    changes = eq.diff()
    if len(eq):
        changes.iloc[0] = eq.iloc[0]
    per_year = 365 * 86_400 / (bar_ms / 1000)
    sd = changes.std(ddof=1) if len(changes) > 1 else float("nan")
    peak = eq.cummax().clip(lower=0.0)
    losses = -pnl[pnl < 0].sum()
    turnover = sum(traded_notional(tr) for tr in trades)
    n = len(trades)
    return {
        "n_trades": n,
        "wins": int((pnl > 0).sum()),
        "win_rate": float((pnl > 0).mean()) if n else None,
        "gross_pnl": sum(tr["gross_pnl"] for tr in trades),
        "fees": sum(tr["fees"] for tr in trades),
        "funding": sum(tr.get("funding", 0.0) for tr in trades),
        "total_pnl": float(pnl.sum()),
        "max_drawdown": float((peak - eq).max()) if len(eq) else 0.0,
        "sharpe": float(changes.mean() / sd * math.sqrt(per_year)) if sd > 0 else None,
        "return_on_notional": float(pnl.sum()) / a.notional,
        "exposure": float(hold.sum() / len(eq)) if len(eq) else None,
        "mean_holding_bars": float(hold.mean()) if n else None,
        "median_holding_bars": float(hold.median()) if n else None,
        "profit_factor": float(pnl[pnl > 0].sum() / losses) if losses > 0 else None,
        "turnover": turnover,
        "bars": len(eq),
        "bars_per_year": per_year,
    }


def run(t, lx, ly, x, y, a, bar_ms):
    n = len(t)
    if a.walk_forward:
        train, test = a.walk_forward
        beta = np.full(n, np.nan)
        z = np.full(n, np.nan)
        equity, trades, folds = [0.0] * train, [], []
        lo = train
        while lo + 2 <= n:
            start, hi = lo - train, min(lo + test, n)
            alpha, b = ols_line(x.iloc[start:lo], y.iloc[start:lo])
            spread = y - b * x - alpha
            mu, sd = spread.iloc[start:lo].mean(), spread.iloc[start:lo].std(ddof=1)
            beta[lo:hi] = b
            z[lo:hi] = ((spread - mu) / sd).to_numpy()[lo:hi]
            ft, fe = simulate(t, lx, ly, beta, z, lo, hi, a, bar_ms)
            offset = equity[-1] if equity else 0.0
            folds.append({"train_start": start, "train_end": lo, "test_end": hi, "alpha": alpha, "beta": b,
                          "spread_mean": mu, "spread_std": sd, "metrics": metrics(ft, fe, a, bar_ms)})
            equity += [e + offset for e in fe]
            trades += ft
            lo = hi
        equity += [equity[-1]] * (n - len(equity))
        return {"first_bar": train, "metrics": metrics(trades, equity[train:], a, bar_ms), "trades": trades,
                "equity": equity, "folds": folds}
    beta_s, z_s, start = signals(x, y, a)
    beta, z = beta_s.to_numpy(), z_s.to_numpy()
    first = next((i for i in range(start, n) if not (math.isnan(z[i]) or math.isnan(beta[i]))), n)
    trades, eq = simulate(t, lx, ly, beta, z, first, n, a, bar_ms)
    equity = [0.0] * first + eq
    return {"first_bar": first, "metrics": metrics(trades, eq, a, bar_ms), "trades": trades, "equity": equity}


# ---------------------------------------------------------------------------------------------
# Command line


def interval_ms(s):
    units = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
    return int(s[:-1]) * units[s[-1]]


def values(spec):
    if len(spec) == 1 and spec[0].count(":") == 2:
        a, b, step = (float(v) for v in spec[0].split(":"))
        count = int(math.floor((b - a) / step + 1e-9)) + 1
        return [a + i * step for i in range(count)]
    return [float(v) for v in spec]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("x")
    p.add_argument("y")
    p.add_argument("--interval")
    p.add_argument("--hedge", default="rolling_ols", choices=["rolling_ols", "kalman", "static", "rolling_tls"])
    p.add_argument("--hedge-window", type=int)
    p.add_argument("--train", type=int)
    p.add_argument("--z-window", type=int, default=60)
    p.add_argument("--entry", type=float, default=2.0)
    p.add_argument("--exit", type=float, default=0.0)
    p.add_argument("--stop-z", type=float)
    p.add_argument("--max-hold", type=int)
    p.add_argument("--fill", default="next", choices=["next", "same"])
    p.add_argument("--fee-bps", type=float, default=4.0)
    p.add_argument("--slippage-bps", type=float, default=0.0)
    p.add_argument("--notional", type=float, default=10_000.0)
    p.add_argument("--kalman-delta", type=float, default=1e-4)
    p.add_argument("--kalman-ve", type=float, default=1e-3)
    p.add_argument("--walk-forward", type=lambda s: tuple(int(v) for v in s.split(",")))
    p.add_argument("--sweep")
    for leg in ("x", "y"):
        p.add_argument(f"--funding-{leg}")
        p.add_argument(f"--book-{leg}")
    a = p.parse_args()

    x, y = read_closes(a.x), read_closes(a.y)
    if a.interval:
        ms = interval_ms(a.interval)
        x = x.groupby(x.index // ms * ms).last()
        y = y.groupby(y.index // ms * ms).last()
    both = pd.concat([x.rename("x"), y.rename("y")], axis=1, join="inner").sort_index()
    x, y = both["x"], both["y"]
    t = both.index.to_numpy()
    bar_ms = interval_ms(a.interval) if a.interval else int(round(float(np.median(np.diff(t)))))
    legs = []
    for leg, close in (("x", x), ("y", y)):
        book_file, funding_file = getattr(a, f"book_{leg}"), getattr(a, f"funding_{leg}")
        book = read_book(book_file) if book_file else {}
        funding = []
        for (ts, rate, mark) in read_funding(funding_file) if funding_file else []:
            if mark is None:
                closed = [i for i in range(len(t)) if t[i] + bar_ms <= ts]
                if not closed:
                    continue
                mark = close.iloc[closed[-1]]
            funding.append((ts, rate, mark))
        legs.append(Leg(close.to_numpy(), [book.get(int(ti)) for ti in t], funding))

    out = {"lookahead": a.fill == "same"}
    if a.sweep:
        groups, key = {}, None
        for token in a.sweep.split(","):
            if "=" in token:
                key, v = token.split("=", 1)
                groups[key] = [v]
            else:
                groups[key].append(token)
        entries = values(groups.get("entry", [str(a.entry)]))
        windows = [int(w) for w in values(groups.get("window", [str(a.z_window)]))]
        rows = []
        for w in windows:
            cells = []
            for e in entries:
                a.entry, a.z_window = e, w
                m = run(t, legs[0], legs[1], x, y, a, bar_ms)["metrics"]
                cells.append({"entry": e, "sharpe": m["sharpe"], "total_pnl": m["total_pnl"],
                              "n_trades": m["n_trades"]})
            rows.append({"window": w, "cells": cells})
        out["sweep"] = {"entries": entries, "rows": rows}
    else:
        out.update(run(t, legs[0], legs[1], x, y, a, bar_ms))
    json.dump(out, sys.stdout, indent=1, default=float)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
