#!/usr/bin/env python3
"""Regenerate the `expected` block of every golden case in app/tests/golden/ from its stored
`inputs` and `params`, with the reference libraries pinned in requirements.txt
(statsmodels 0.15.0 / pandas 3.1.1 / scipy 1.17.1 / numpy 2.4.6).

    generate.py --check            recompute everything, compare with the committed files
                                   within tolerances.json, report per case/field, exit 1 on mismatch
    generate.py --write DIR        write the regenerated case files (and fixtures/expected.json)
                                   to DIR, in the committed JSON format
    [--golden DIR]                 where the committed cases live (default app/tests/golden)
    [--case NAME ...]              restrict to some cases (file stem)

Every computation follows app/tests/golden/README.md ("Conventions"). Nothing here is read
from the `expected` blocks except in the comparison of --check.
"""

import argparse
import glob
import json
import math
import os
import sys
import warnings

import numpy as np
import pandas as pd
import scipy
import scipy.stats
import statsmodels
import statsmodels.api as sm
from statsmodels.robust.norms import HuberT
from statsmodels.tsa.stattools import adfuller, coint

PINNED = {"statsmodels": "0.15.0", "pandas": "3.1.1", "scipy": "1.17.1", "numpy": "2.4.6"}

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_GOLDEN = os.path.normpath(os.path.join(HERE, "..", "..", "app", "tests", "golden"))


# ---------------------------------------------------------------------------------------------
# JSON conventions: shortest round-trip repr (Python's float repr), NaN -> null, +-inf -> strings


def clean(v):
    """Convert numpy scalars / arrays to JSON-ready Python values."""
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [clean(x) for x in v]
    if isinstance(v, np.ndarray):
        return [clean(x) for x in v.tolist()]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return None
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f
    return v


def fl(v):
    """Optional float (NaN -> None)."""
    f = float(v)
    return None if math.isnan(f) else f


def series_list(s):
    return [fl(v) for v in np.asarray(s, dtype=float)]


# ---------------------------------------------------------------------------------------------
# Pair case


def ols_block(y, x):
    X = sm.add_constant(x)
    r = sm.OLS(y, X).fit()
    resid = np.asarray(r.resid)
    return r, {
        "alpha": r.params[0],
        "beta": r.params[1],
        "alpha_stderr": r.bse[0],
        "beta_stderr": r.bse[1],
        "alpha_tvalue": r.tvalues[0],
        "beta_tvalue": r.tvalues[1],
        "alpha_pvalue": r.pvalues[0],
        "beta_pvalue": r.pvalues[1],
        "r2": r.rsquared,
        "r2_adj": r.rsquared_adj,
        "ssr": r.ssr,
        "nobs": int(r.nobs),
        "df_resid": int(r.df_resid),
        "resid_std": math.sqrt(r.scale),
        "resid_std_ddof1": np.std(resid, ddof=1),
        "resid_std_ddof0": np.std(resid, ddof=0),
    }


def huber_block(y, x, p):
    X = sm.add_constant(x)
    m = sm.RLM(y, X, M=HuberT(t=p["t"]))
    r = m.fit(
        maxiter=p["maxiter"],
        tol=p["tol"],
        scale_est=p["scale_est"],
        cov=p["cov"],
        update_scale=p["update_scale"],
        conv=p["conv"],
    )
    return {
        "alpha": r.params[0],
        "beta": r.params[1],
        "alpha_stderr": r.bse[0],
        "beta_stderr": r.bse[1],
        "scale": r.scale,
        "iterations": int(r.fit_history["iteration"]),
    }


def theil_sen_block(y, x, p):
    res = scipy.stats.theilslopes(y, x, alpha=p["alpha"], method=p["method"])
    n = len(x)
    _, counts = np.unique(x, return_counts=True)
    n_slopes = n * (n - 1) // 2 - int(np.sum(counts * (counts - 1) // 2))
    return {
        "slope": res.slope,
        "intercept": res.intercept,
        "intercept_joint": np.median(y - res.slope * x),
        "low_slope": res.low_slope,
        "high_slope": res.high_slope,
        "n_slopes": n_slopes,
    }


def kalman_block(y, x, p):
    """The recursion of README "Kalman" (pykalman's filter with initial_state_covariance = P0)."""
    delta, Ve = float(p["delta"]), float(p["Ve"])
    Vw = delta / (1.0 - delta)
    theta = np.array(p["theta0"], dtype=float)
    P0 = np.array(p["P0"], dtype=float)
    n = len(y)
    out = {k: np.empty(n) for k in ("beta", "alpha", "e", "Q", "yhat", "spread")}
    P = None
    for t in range(n):
        R = P0.copy() if t == 0 else P + Vw * np.eye(2)
        F = np.array([x[t], 1.0])
        yhat = F @ theta
        e = y[t] - yhat
        Q = F @ R @ F + Ve
        K = R @ F / Q
        theta = theta + K * e
        P = R - np.outer(K, F @ R)
        out["beta"][t], out["alpha"][t] = theta[0], theta[1]
        out["e"][t], out["Q"][t], out["yhat"][t] = e, Q, yhat
        out["spread"][t] = y[t] - theta[0] * x[t] - theta[1]
    return {k: v.tolist() for k, v in out.items()}


def adf_block(s, p):
    autolag = p["autolag"]
    r = adfuller(
        s,
        maxlag=p["maxlag"],
        regression=p["regression"],
        autolag=autolag,
        regresults=True,
        result_object=True,
    )
    rs = r.resstore
    out = {
        "stat": r.statistic,
        "pvalue": r.pvalue,
        "usedlag": int(r.lags),
        "nobs": int(r.nobs),
        "maxlag": int(rs.maxlag),
        "crit": {k: float(v) for k, v in r.critical_values.items()},
        "icbest": None if r.icbest is None else float(r.icbest),
        "regression": p["regression"],
        "autolag": autolag,
    }
    if autolag:
        al = rs.autolag_results
        keys = sorted(al)  # column index = startlag + lag
        aics = [float(al[k].aic) for k in keys]
        out["aic_by_lag"] = aics
        srt = sorted(aics)
        out["aic_margin"] = srt[1] - srt[0] if len(srt) > 1 else None
    return out, r


def coint_block(y, x, p):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = coint(y, x, trend=p["trend"], method=p["method"], autolag=p["autolag"], maxlag=p["maxlag"])
    stat, pvalue, crit = c[0], c[1], c[2]
    # the first-stage regression exactly as coint builds it (constant appended, not prepended)
    from statsmodels.tsa.tsatools import add_trend

    res_co = sm.OLS(y, add_trend(x[:, None], trend=p["trend"], prepend=False)).fit()
    sqrteps = math.sqrt(np.finfo(np.double).eps)
    collinear = not (res_co.rsquared < 1 - 100 * sqrteps)
    # coint's collinear branch is the only way it returns -inf
    assert collinear == (stat == -np.inf), (collinear, stat)
    # Reported r2 = that of the README's OLS (constant prepended, `ols.r2`). The committed files
    # carry exactly that value; coint's own first stage (constant appended) can differ by ~1e-15.
    r2_first = sm.OLS(y, sm.add_constant(x)).fit().rsquared
    assert collinear == (not (r2_first < 1 - 100 * sqrteps))
    out = {
        "stat": stat,
        "pvalue": pvalue,
        "crit": {"1%": crit[0], "5%": crit[1], "10%": crit[2]},
        "collinear": collinear,
        "r2_first_stage": r2_first,
        "crit_nobs": len(y) - 1,
    }
    if not collinear:
        # the residual ADF coint runs internally (regression "n"), re-run to read lag / nobs
        al = p["autolag"]
        ra = adfuller(
            np.asarray(res_co.resid),
            maxlag=p["maxlag"],
            autolag=al,
            regression="n",
            store=True,
            result_object=True,
        )
        assert ra.statistic == stat, (ra.statistic, stat)
        out["resid_adf_usedlag"] = int(ra.lags)
        out["resid_adf_nobs"] = int(ra.nobs)
        out["resid_adf_maxlag"] = int(ra.resstore.maxlag)
    return out


def half_life_block(s):
    ds = np.diff(s)
    lag = s[:-1]
    r = sm.OLS(ds, sm.add_constant(lag)).fit()
    b = float(r.params[1])
    return {
        "slope": b,
        "intercept": float(r.params[0]),
        "half_life": (-math.log(2.0) / b) if b < 0 else None,
        "nobs": int(r.nobs),
    }


def backtest_block(t, s, z, p):
    """The one-unit spread backtest of README "Backtest" (the schema of these golden files)."""
    E, X = float(p["entry_z"]), float(p["exit_z"])
    n = len(s)
    pos = 0
    e_i = None
    realized = 0.0
    trades, equity, position = [], [], []
    margins = []

    def close(i, reason):
        nonlocal pos, realized, e_i
        pnl = (s[e_i] - s[i]) if pos < 0 else (s[i] - s[e_i])
        trades.append(
            {
                "entry_index": e_i,
                "exit_index": i,
                "side": "short_spread" if pos < 0 else "long_spread",
                "entry_t": int(t[e_i]),
                "exit_t": int(t[i]),
                "entry_spread": float(s[e_i]),
                "exit_spread": float(s[i]),
                "entry_z": fl(z[e_i]),
                "exit_z": fl(z[i]),
                "pnl": float(pnl),
                "exit_reason": reason,
            }
        )
        realized += pnl
        pos, e_i = 0, None

    for i in range(n):
        zi = z[i]
        valid = not math.isnan(zi)
        if pos != 0 and valid:
            if pos < 0:
                margins.append(abs(zi - X))
                if zi <= X:
                    close(i, "signal")
            else:
                margins.append(abs(zi + X))
                if zi >= -X:
                    close(i, "signal")
        elif pos == 0 and valid:
            margins.append(abs(zi - E))
            if zi > E:
                pos, e_i = -1, i
            else:
                margins.append(abs(zi + E))
                if zi < -E:
                    pos, e_i = 1, i
        if i == n - 1 and pos != 0:
            close(i, "end_of_data")
        eq = realized + (pos * (s[i] - s[e_i]) if pos != 0 else 0.0)
        equity.append(float(eq))
        position.append(pos)

    def mdd(values):
        peak, worst = 0.0, 0.0
        for v in values:
            peak = max(peak, v)
            worst = max(worst, peak - v)
        return worst

    cum = np.cumsum([tr["pnl"] for tr in trades]).tolist() if trades else []
    total = 0.0
    for tr in trades:
        total += tr["pnl"]
    return {
        "trades": trades,
        "n_trades": len(trades),
        "total_pnl": total,
        "max_drawdown": mdd(equity),
        "max_drawdown_realized": mdd(cum),
        "equity": equity,
        "position": position,
        "decision_margin_min": min(margins) if margins else None,
        "wins": sum(1 for tr in trades if tr["pnl"] > 0),
    }


def pair_expected(case):
    inp, prm = case["inputs"], case["params"]
    t = np.asarray(inp["t"], dtype=np.int64)
    x = np.asarray(inp["x"], dtype=float)
    y = np.asarray(inp["y"], dtype=float)
    exp = {}
    r, exp["ols"] = ols_block(y, x)
    _, exp["ols_log"] = ols_block(np.log(y), np.log(x))
    exp["huber"] = huber_block(y, x, prm["huber"])
    exp["theil_sen"] = theil_sen_block(y, x, prm["theil_sen"])
    exp["kalman"] = kalman_block(y, x, prm["kalman"])
    alpha, beta = float(r.params[0]), float(r.params[1])
    spread = y - beta * x - alpha
    exp["spread_with_alpha"] = spread.tolist()
    exp["spread_no_alpha"] = (y - beta * x).tolist()

    W = int(prm["zscore_window"])
    ss = pd.Series(spread)
    mean = ss.rolling(W).mean()
    sd1 = ss.rolling(W).std(ddof=1)
    sd0 = ss.rolling(W).std(ddof=0)
    z1 = (ss - mean) / sd1
    z0 = (ss - mean) / sd0
    exp["zscore"] = {
        "window": W,
        "of": "spread_with_alpha",
        "mean": series_list(mean),
        "std_ddof1": series_list(sd1),
        "z_ddof1": series_list(z1),
        "std_ddof0": series_list(sd0),
        "z_ddof0": series_list(z0),
    }
    rx = pd.Series(x).pct_change()
    ry = pd.Series(y).pct_change()
    exp["returns_x"] = series_list(rx)
    exp["returns_y"] = series_list(ry)
    CW = int(prm["corr_window"])
    exp["rolling_corr"] = {"window": CW, "values": series_list(rx.rolling(CW).corr(ry))}

    for key in ("adf", "adf_fixed", "adf_ct"):
        exp[key], _ = adf_block(spread, prm[key])
    exp["coint"] = coint_block(y, x, prm["coint"])
    exp["half_life"] = half_life_block(spread)
    assert prm["backtest"]["z"] == "zscore.z_ddof1" and prm["backtest"]["spread"] == "spread_with_alpha"
    assert prm["backtest"]["units"] == 1
    exp["backtest"] = backtest_block(t, spread, z1.to_numpy(dtype=float), prm["backtest"])
    return exp


# ---------------------------------------------------------------------------------------------
# Resample case


def to_ms(index):
    return ((index - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(1, "ms")).astype(np.int64)


def bars(ticks, rule):
    df = pd.DataFrame(
        {"price": np.asarray(ticks["price"], dtype=float), "qty": np.asarray(ticks["qty"], dtype=float)},
        index=pd.to_datetime(np.asarray(ticks["t"], dtype=np.int64), unit="ms", utc=True),
    )
    df = df.sort_index(kind="stable")  # ties keep input order
    rs = df.resample(rule, label="left", closed="left")
    o = rs["price"].ohlc()
    o["volume"] = rs["qty"].sum()
    o["count"] = rs["price"].count()
    o = o[o["count"] > 0]  # empty bars are omitted
    return o


def bars_json(o):
    return {
        "t": to_ms(o.index).tolist(),
        "open": o["open"].tolist(),
        "high": o["high"].tolist(),
        "low": o["low"].tolist(),
        "close": o["close"].tolist(),
        "volume": o["volume"].tolist(),
        "count": [int(c) for c in o["count"]],
    }


def aligned(bx, by, grid, rule):
    cx, cy = bx["close"].rename("x"), by["close"].rename("y")
    df = pd.concat([cx, cy], axis=1, join="outer", sort=True)
    # leading rows where either symbol has no bar yet are dropped (after forward fill)
    filled = df.ffill()
    start = filled.dropna().index.min()
    if grid:
        end = df.index.max()  # last non-empty bar of either symbol
        idx = pd.date_range(start, end, freq=rule)
        raw = df.reindex(idx)
    else:
        raw = df[df.index >= start]
    x_f = raw["x"].isna()
    y_f = raw["y"].isna()
    val = df.reindex(df.index.union(raw.index)).ffill().reindex(raw.index)
    return {
        "t": to_ms(raw.index).tolist(),
        "x": val["x"].tolist(),
        "y": val["y"].tolist(),
        "x_filled": [bool(v) for v in x_f],
        "y_filled": [bool(v) for v in y_f],
    }


def resample_expected(case):
    prm = case["params"]
    ticks = case["inputs"]["ticks"]
    assert prm["label"] == "left" and prm["closed"] == "left" and prm["empty_bars"] == "omitted"
    rules = {"1s": "1s", "1m": "1min"}
    exp = {}
    b = {}
    for name, ms in prm["intervals_ms"].items():
        rule = rules[name]
        assert pd.Timedelta(rule) == pd.Timedelta(ms, "ms")
        b[name] = {sym: bars(ticks[sym], rule) for sym in ticks}
    for name in prm["intervals_ms"]:
        exp["bars_" + name] = {sym: bars_json(o) for sym, o in b[name].items()}
    for name in prm["intervals_ms"]:
        bx, by = b[name][prm["x_symbol"]], b[name][prm["y_symbol"]]
        exp["aligned_" + name] = aligned(bx, by, False, rules[name])
        exp["aligned_" + name + "_grid"] = aligned(bx, by, True, rules[name])
    return exp


# ---------------------------------------------------------------------------------------------
# CSV fixtures (fixtures/expected.json): the numeric facts of accepted files are derivable with
# pandas; the rejection kinds/lines are derived by a small validator written from the README's
# rules (the free-text "note" fields are hand-written and copied).

BINANCE_COLS = [
    "open_time", "open", "high", "low", "close", "volume", "close_time",
    "quote_volume", "count", "taker_buy_volume", "taker_buy_quote_volume", "ignore",
]
PRICE_COLS = ("open", "high", "low", "close")


UNIT = "__timestamp_unit__"


class Reject(Exception):
    def __init__(self, kind, line=None, column=None):
        super().__init__(kind)
        self.kind, self.line, self.column = kind, line, column


def read_fixture(path):
    """Returns (format, header, {symbol: DataFrame(t_ms, close)}) or raises Reject."""
    raw = open(path, "rb").read()
    if len(raw) == 0:
        raise Reject("empty_file")
    text = raw.decode("utf-8-sig")
    lines = text.splitlines()
    first = lines[0]
    if ";" in first and "," not in first:
        raise Reject("unsupported_delimiter")
    head = [c.strip() for c in first.split(",")]
    low = [c.lower() for c in head]
    fname = os.path.basename(path)
    if low[0] == "date" and "adj close" in low:
        fmt, header, cols = "yahoo", True, head
    elif low[0] == "timestamp" or "symbol" in low:
        fmt, header, cols = "generic_ohlcv", True, low
        for need in ("timestamp", "symbol", "open", "high", "low", "close", "volume"):
            if need not in cols:
                raise Reject("missing_column", column=need)
    elif low[0] == "open_time":
        fmt, header, cols = "binance_kline", True, BINANCE_COLS
    else:
        fmt, header, cols = "binance_kline", False, BINANCE_COLS
    body = lines[1:] if header else lines
    first_line = 2 if header else 1
    if not body:
        raise Reject("no_data_rows")
    df = pd.read_csv(
        path, header=None, skiprows=1 if header else 0, names=cols, dtype=str,
        encoding="utf-8-sig", keep_default_na=False,
    )
    price_cols = ["Open", "High", "Low", "Close", "Adj Close"] if fmt == "yahoo" else list(PRICE_COLS)
    for i in range(len(df)):
        for c in price_cols:
            try:
                v = float(df[c].iat[i])
            except ValueError:
                raise Reject("parse_error", line=first_line + i, column=c)
            if not math.isfinite(v) or v <= 0:
                raise Reject("invalid_value", line=first_line + i, column=c)
    if fmt == "yahoo":
        t = pd.to_datetime(df["Date"], format="%Y-%m-%d", utc=True)
        # yahoo_GSPC_2016_2017.csv -> ^GSPC (the symbol is not in the file)
        out = {"^" + fname.split("_")[1]:
               pd.DataFrame({"t": to_ms(pd.DatetimeIndex(t)), "close": df["Adj Close"].astype(float)})}
    elif fmt == "generic_ohlcv":
        t = pd.to_datetime(df["timestamp"], utc=True)
        d = pd.DataFrame({"t": to_ms(pd.DatetimeIndex(t)), "close": df["close"].astype(float),
                          "symbol": df["symbol"], "line": np.arange(len(df)) + first_line})
        out = {}
        for sym, g in d.groupby("symbol", sort=False):
            check_times(g["t"].to_numpy(), g["line"].to_numpy())
            out[sym] = g[["t", "close"]].reset_index(drop=True)
    else:
        ot = df["open_time"].astype(np.int64).to_numpy()
        fmt_unit = "us" if ot.max() >= 10**15 else "ms"
        ot = np.where(ot >= 10**15, ot // 1000, ot)
        check_times(ot, np.arange(len(df)) + first_line)
        sym = [p for p in fname.replace(".csv", "").split("_") if p.endswith("USDT")]
        out = {sym[0] if sym else fname: pd.DataFrame({"t": ot, "close": df["close"].astype(float)})}
        out[UNIT] = fmt_unit
    if fmt == "yahoo":
        for d in out.values():
            check_times(d["t"].to_numpy(), np.arange(len(d)) + first_line)
    return fmt, header, out


def check_times(t, lines):
    d = np.diff(t)
    bad = np.nonzero(d <= 0)[0]
    if len(bad):
        i = bad[0] + 1
        raise Reject("duplicate_timestamp" if d[bad[0]] == 0 else "unsorted_timestamps", line=int(lines[i]))


def fixtures_expected(golden_dir, committed):
    """Recompute the derivable fields of fixtures/expected.json; other fields are copied."""
    fx = os.path.join(golden_dir, "fixtures")
    out = {}
    for fname, ref in committed.items():
        e = dict(ref)  # notes / descriptive strings are hand-written: copied
        try:
            fmt, header, syms = read_fixture(os.path.join(fx, fname))
            e["action"] = "accept"
            e["format"] = fmt
            if "header" in ref:
                e["header"] = header
            unit = syms.pop(UNIT, None)
            if unit is not None:
                e["timestamp_unit"] = unit
            e["symbols"] = {
                s: {
                    "rows": int(len(d)),
                    "first_t_ms": int(d["t"].iloc[0]),
                    "last_t_ms": int(d["t"].iloc[-1]),
                    "first_close": float(d["close"].iloc[0]),
                    "last_close": float(d["close"].iloc[-1]),
                }
                for s, d in syms.items()
            }
            for k in ("error_kind", "line", "column"):
                e.pop(k, None)
        except Reject as r:
            e = {"action": "reject", "error_kind": r.kind}
            if "note" in ref:
                e["note"] = ref["note"]
            if r.line is not None:
                e["line"] = r.line
            if r.column is not None:
                e["column"] = r.column
        out[fname] = e
    return out


# ---------------------------------------------------------------------------------------------
# Inputs. `expected` is always recomputed from the *stored* inputs. Independently, --check verifies
# the inputs that can be rebuilt: the seeded synthetic pairs (generator inferred from the case
# descriptions + seeds, see README.md: it reproduces them bit for bit) and the pairs read from the
# CSV fixtures. Not rebuilt: real_crude_wti_brent_monthly (needs arch 8.0.0's bundled data, not
# pinned here) and the resample ticks (synthetic, generator/seed not documented).

T0_MS = 1709251200000  # 2024-03-01 00:00 UTC, 1-minute bars
SYNTHETIC = {
    # name: (seed, n, model of y); x = 100 exp(cumsum N(0, 0.01)) always, drawn first
    "synthetic_coint_n500": (20240301, 500, ("ar1", 0.95)),
    "synthetic_coint_n5000": (20240302, 5000, ("ar2", 1.2, -0.3)),
    "independent_random_walks_n1000": (20240303, 1000, ("gbm", 40.0, 0.012)),
    "near_perfect_linear_n400": (20240304, 400, ("linear", 10.0, 2.5, 1e-3)),
    "short_n30": (20240305, 30, ("ar1", 0.6)),
    "short_n21_maxlag_cap": (20240307, 21, ("ar1", 0.5)),
}


def synthetic_inputs(name):
    seed, n, model = SYNTHETIC[name]
    rng = np.random.default_rng(seed)
    x = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    kind = model[0]
    if kind in ("ar1", "ar2"):
        e = rng.normal(0, 0.5, n)  # sd(e) = 0.5
        u = np.empty(n)
        if kind == "ar1":
            phi = model[1]
            u[0] = e[0] / np.sqrt(1 - phi**2)  # stationary start
            for t in range(1, n):
                u[t] = phi * u[t - 1] + e[t]
        else:
            p1, p2 = model[1], model[2]
            u[0] = e[0] * np.sqrt(20)  # start scale inferred from the data (not in the description)
            u[1] = p1 * u[0] + e[1]
            for t in range(2, n):
                u[t] = p1 * u[t - 1] + p2 * u[t - 2] + e[t]
        y = 5 + 1.5 * x + u
    elif kind == "gbm":
        y = model[1] * np.exp(np.cumsum(rng.normal(0, model[2], n)))
    elif kind == "linear":
        y = model[1] + model[2] * x + rng.normal(0, model[3], n)
    t = T0_MS + 60000 * np.arange(n, dtype=np.int64)
    return {"t": t.tolist(), "x": x.tolist(), "y": y.tolist()}


FIXTURE_PAIRS = {
    "fixture_binance_btc_eth_1m": ("binance_um_BTCUSDT_1m_header.csv", "binance_um_ETHUSDT_1m_noheader.csv"),
    "real_yahoo_gspc_ixic_2016_2017": ("yahoo_GSPC_2016_2017.csv", "yahoo_IXIC_2016_2017.csv"),
}


def fixture_inputs(golden_dir, name):
    """Close (Adj Close for Yahoo) of the two fixture files, inner join on the timestamp."""
    fx, fy = FIXTURE_PAIRS[name]
    legs = []
    for f in (fx, fy):
        _, _, syms = read_fixture(os.path.join(golden_dir, "fixtures", f))
        syms.pop(UNIT, None)
        (d,) = syms.values()
        legs.append(d.set_index("t")["close"])
    j = pd.concat(legs, axis=1, join="inner", keys=["x", "y"]).sort_index()
    return {"t": [int(v) for v in j.index], "x": j["x"].tolist(), "y": j["y"].tolist()}


def rebuilt_inputs(golden_dir, name):
    if name in SYNTHETIC:
        return synthetic_inputs(name), "seeded generator (numpy default_rng)"
    if name in FIXTURE_PAIRS:
        return fixture_inputs(golden_dir, name), "the CSV fixtures"
    return None, None


# ---------------------------------------------------------------------------------------------
# Comparison


def tolerance_key(path):
    """Tolerance class (key of tolerances.json) for a field path, or None for exact match."""
    top = path[0]
    leaf = path[-1] if isinstance(path[-1], str) else path[-2]
    if top in ("ols", "ols_log"):
        if leaf in ("alpha", "beta"):
            return "ols.params"
        if leaf in ("r2", "r2_adj"):
            return "ols.r2"
        if leaf.endswith("pvalue"):
            return "ols.pvalues"
        return "ols.stderr_t"
    if top == "huber":
        return "huber.params"
    if top == "theil_sen":
        return "theil_sen"
    if top == "kalman":
        return "kalman"
    if top in ("spread_with_alpha", "spread_no_alpha"):
        return "spread"
    if top == "zscore":
        return "zscore"
    if top in ("returns_x", "returns_y"):
        return "returns"
    if top == "rolling_corr":
        return "rolling_corr"
    if top in ("adf", "adf_fixed", "adf_ct", "coint"):
        if leaf == "pvalue":
            return "adf.pvalue"
        if "crit" in path:
            return "adf.crit"
        if leaf == "r2_first_stage":
            return "ols.r2"
        return "adf.stat"
    if top == "half_life":
        return "half_life"
    if top == "backtest":
        if leaf in ("entry_z", "exit_z", "decision_margin_min"):
            return "zscore"
        return "backtest.pnl"
    if top.startswith("bars_") or top.startswith("aligned_"):
        return "resample" if leaf == "volume" else None
    if top in ("fixtures", "inputs"):
        return None
    raise KeyError(path)


def compare(exp, got, path, tols, errs, stats):
    """Recursive comparison; appends (path, message) to errs."""
    p = "/".join(str(k) for k in path)
    if isinstance(exp, dict):
        if not isinstance(got, dict):
            errs.append((p, f"expected an object, got {type(got).__name__}"))
            return
        for k in exp:
            if k not in got:
                errs.append((p + "/" + k, "missing in the regenerated output"))
            else:
                compare(exp[k], got[k], path + [k], tols, errs, stats)
        for k in got:
            if k not in exp:
                errs.append((p + "/" + k, "not in the committed file"))
        return
    if isinstance(exp, list):
        if not isinstance(got, list) or len(got) != len(exp):
            errs.append((p, f"length {len(exp)} vs {len(got) if isinstance(got, list) else got!r}"))
            return
        for i, (a, b) in enumerate(zip(exp, got)):
            compare(a, b, path + [i], tols, errs, stats)
        return
    if exp is None or got is None:
        if exp is not got:
            errs.append((p, f"{exp!r} vs {got!r} (null must be null)"))
        return
    if isinstance(exp, bool) or isinstance(got, bool) or isinstance(exp, str) or isinstance(got, str):
        if exp != got or type(exp) is not type(got):
            errs.append((p, f"{exp!r} vs {got!r}"))
        return
    if isinstance(exp, int) and isinstance(got, int):
        if exp != got:
            errs.append((p, f"integer {exp} vs {got}"))
        return
    if isinstance(exp, int) != isinstance(got, int):
        errs.append((p, f"type: {exp!r} vs {got!r} (integer fields must stay integers)"))
        return
    key = tolerance_key(path)
    rtol, atol = (0.0, 0.0) if key is None else (tols[key]["rtol"], tols[key]["atol"])
    d = abs(got - exp)
    bound = atol + rtol * abs(exp)
    s = stats.setdefault(key or "exact", [0.0, 0.0, 0])
    s[0] = max(s[0], d)
    s[1] = max(s[1], d / abs(exp) if exp != 0 else (0.0 if d == 0 else math.inf))
    s[2] += d == 0
    if not d <= bound:
        errs.append((p, f"{exp!r} vs {got!r}: |diff| {d:.3g} > {bound:.3g} ({key or 'exact'})"))


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--check", action="store_true")
    g.add_argument("--write", metavar="DIR")
    ap.add_argument("--golden", default=DEFAULT_GOLDEN)
    ap.add_argument("--case", nargs="*")
    ap.add_argument("--verbose", action="store_true", help="print the largest diffs per tolerance class")
    a = ap.parse_args()

    versions = {"statsmodels": statsmodels.__version__, "pandas": pd.__version__,
                "scipy": scipy.__version__, "numpy": np.__version__}
    if versions != PINNED:
        print(f"WARNING: versions {versions} differ from the pinned {PINNED}", file=sys.stderr)

    tols = json.load(open(os.path.join(a.golden, "tolerances.json")))
    # "returns themselves rtol 1e-12" (README table, rolling correlation row)
    tols = dict(tols, returns={"rtol": 1e-12, "atol": 0.0})

    files = sorted(f for f in glob.glob(os.path.join(a.golden, "*.json"))
                   if os.path.basename(f) != "tolerances.json")
    if a.case:
        files = [f for f in files if os.path.basename(f)[:-5] in a.case]
    failed = 0
    for f in files:
        name = os.path.basename(f)
        case = json.load(open(f, encoding="utf-8"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            exp = pair_expected(case) if case["kind"] == "pair" else resample_expected(case)
        exp = clean(exp)
        if a.write:
            os.makedirs(a.write, exist_ok=True)
            new = dict(case)
            new["expected"] = exp
            with open(os.path.join(a.write, name), "w", encoding="utf-8") as fh:
                fh.write(json.dumps(new, indent=1, ensure_ascii=True) + "\n")
            print(f"wrote {os.path.join(a.write, name)}")
        else:
            errs, stats = [], {}
            compare(case["expected"], exp, [], tols, errs, stats)
            report(name, errs, stats, a.verbose)
            failed += bool(errs)
            inp, how = rebuilt_inputs(a.golden, name[:-5])
            if inp is None:
                print("     inputs: stored only (not rebuilt, see tools/golden/README.md)")
            else:
                ierrs = []
                compare(case["inputs"], inp, ["inputs"], tols, ierrs, {})
                if ierrs:
                    failed += 1
                    print(f"FAIL {name} inputs rebuilt from {how}: {len(ierrs)} value(s) differ;"
                          f" first: {ierrs[0][0]}: {ierrs[0][1]}")
                else:
                    print(f"     inputs: rebuilt bit-exactly from {how}")

    if not a.case:
        fxp = os.path.join(a.golden, "fixtures", "expected.json")
        committed = json.load(open(fxp, encoding="utf-8"))
        got = clean(fixtures_expected(a.golden, committed))
        if a.write:
            os.makedirs(os.path.join(a.write, "fixtures"), exist_ok=True)
            with open(os.path.join(a.write, "fixtures", "expected.json"), "w", encoding="utf-8") as fh:
                fh.write(json.dumps(got, indent=1, ensure_ascii=True) + "\n")
            print(f"wrote {os.path.join(a.write, 'fixtures', 'expected.json')}")
        else:
            errs, stats = [], {}
            compare(committed, got, ["fixtures"], tols, errs, stats)
            report("fixtures/expected.json", errs, stats, a.verbose)
            failed += bool(errs)
    if a.check:
        print("ALL OK" if not failed else f"{failed} file(s) with mismatches")
        return 1 if failed else 0
    return 0


def report(name, errs, stats, verbose):
    if not errs:
        print(f"OK   {name}")
    else:
        print(f"FAIL {name}: {len(errs)} mismatching value(s)")
        by_field = {}
        for p, m in errs:
            field = "/".join(s for s in p.split("/") if not s.isdigit())
            by_field.setdefault(field, []).append((p, m))
        for field, lst in by_field.items():
            print(f"     {field}: {len(lst)} value(s); first: {lst[0][0]}: {lst[0][1]}")
    if verbose:
        for k, (da, dr, nz) in sorted(stats.items()):
            print(f"       {k:22s} max abs {da:.3g}  max rel {dr:.3g}  ({nz} bit-identical)")


if __name__ == "__main__":
    sys.exit(main())
