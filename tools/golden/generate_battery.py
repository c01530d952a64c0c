#!/usr/bin/env python3
"""Golden cases of the statistics battery (issue 13) in app/tests/golden/battery/, computed with
the reference libraries pinned in requirements.txt (statsmodels 0.15.0, arch 8.0.0, numpy 2.4.6,
scipy 1.17.1, pandas 3.1.1).

    generate_battery.py --write [DIR]   write every case (default app/tests/golden/battery)
    generate_battery.py --check         recompute every case and compare with the committed files
                                        (exit 1 on any difference beyond 1e-12 relative)

Each case stores its inputs (aligned series, one per leg) and everything computed from them:

* johansen  statsmodels.tsa.vector_ar.vecm.coint_johansen(endog, det_order, k_ar_diff)
            for det_order in (-1, 0, 1) and k_ar_diff in (0, 1, 2): eig, evec, lr1 (trace),
            lr2 (max-eig), cvt, cvm (90/95/99 %).
* kpss      statsmodels.tsa.stattools.kpss(x, regression, nlags) for each leg and the basket
            spread, regression "c"/"ct", nlags "auto"/"legacy"/4: stat, pvalue, lags, crit, and
            p_bound ("at_least" when the p-value is the table's 0.10 end, "at_most" at 0.01).
* variance_ratio  arch.unitroot.VarianceRatio(y, lags=q, trend="c", debiased=True, robust=True,
            overlap=True) for q in (2, 4, 8, 16) (when feasible): vr, stat, pvalue.
* hurst     ArbitrageLab's get_hurst_exponent (the formula, written out below; ArbitrageLab is not
            on PyPI): lags 2..max_lags-1, tau = sqrt(np.std(x[lag:] - x[:-lag])),
            np.polyfit(log(lags), log(tau), 1), H = 2 * slope.
* tls       total least squares y = alpha + beta x via numpy SVD of the demeaned [x, y]:
            the first right singular vector v, beta = v[1] / v[0], alpha = mean(y) - beta mean(x).
* adf_legs  adfuller(leg) and adfuller(diff(leg)) with statsmodels' defaults (c, AIC).
* ols_spread (two legs only) kpss(c, auto), VarianceRatio (q = 2, 4, 8, 16) and Hurst
            (max_lags = min(100, n // 2)) of the OLS residual y - alpha - beta x, as the pair
            report (`pairdesk analyze --json`) computes them.
* screen    (3+ legs) screener v2 for every pair i < j (y = leg j on x = leg i): OLS beta/alpha,
            coint(y, x, trend="c", autolag="aic") stat and p-value, multipletests(p, "fdr_bh")
            q-values over the case's pairs, half-life, Hurst and kpss(c, auto) p-value of the OLS
            residual, np.corrcoef of simple returns.
* basket    coint_johansen(endog, 0, 1); weights = evec[:, 0]; spread = endog @ weights; its
            rolling z-score (pandas rolling(W), ddof 1), half-life (OLS of diff on lag with
            constant), adfuller (c, AIC), kpss (c, auto) and Hurst (max_lags = min(100, n // 2)).

A separate case `bh_qvalues.json` holds p-value vectors and
statsmodels.stats.multitest.multipletests(p, method="fdr_bh")[1].
"""

import argparse
import json
import math
import os
import sys
import warnings

import numpy as np
import pandas as pd
import scipy
import statsmodels
import statsmodels.api as sm
from statsmodels.stats.multitest import multipletests
from statsmodels.tsa.stattools import adfuller, coint, kpss
from statsmodels.tsa.vector_ar.vecm import coint_johansen

import arch
import arch.data.core_cpi
import arch.data.default
from arch.unitroot import VarianceRatio

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate import clean  # noqa: E402  (one JSON convention for both generators)

PINNED = {"statsmodels": "0.15.0", "pandas": "3.1.1", "scipy": "1.17.1", "numpy": "2.4.6", "arch": "8.0.0"}

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.normpath(os.path.join(HERE, "..", "..", "app", "tests", "golden"))
DEFAULT_OUT = os.path.join(GOLDEN, "battery")
T0 = 1709251200000


# ---------------------------------------------------------------------------------------------
# Reference computations


def johansen_block(endog, det_order, k_ar_diff):
    r = coint_johansen(endog, det_order, k_ar_diff)
    return {
        "det_order": det_order,
        "k_ar_diff": k_ar_diff,
        "nobs": int(r.rkt.shape[0]),
        "eig": r.eig,
        "evec": r.evec,  # row i = series i, column j = eigenvector j
        "lr1": r.lr1,
        "lr2": r.lr2,
        "cvt": r.cvt,
        "cvm": r.cvm,
    }


def kpss_block(x, regression, nlags):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = kpss(x, regression=regression, nlags=nlags, result_object=True)
    pvals = (0.10, 0.01)
    bound = None
    if r.pvalue == pvals[0]:
        bound = "at_least"
    elif r.pvalue == pvals[1]:
        bound = "at_most"
    return {
        "regression": regression,
        "nlags": nlags,
        "stat": r.statistic,
        "pvalue": r.pvalue,
        "p_bound": bound,
        "lags": int(r.lags),
        "crit": dict(r.critical_values),
    }


def vr_block(y, q):
    vr = VarianceRatio(np.asarray(y, dtype=float), lags=q, trend="c", debiased=True, robust=True, overlap=True)
    return {"lags": q, "vr": float(vr.vr), "stat": float(vr.stat), "pvalue": float(vr.pvalue)}


def hurst(x, max_lags):
    # ArbitrageLab arbitragelab/cointegration_approach/utils.py get_hurst_exponent, verbatim.
    lags = range(2, max_lags)
    tau = [np.sqrt(np.std(np.subtract(x[lag:], x[:-lag]))) for lag in lags]
    poly = np.polyfit(np.log(lags), np.log(tau), 1)
    return poly[0] * 2.0


def hurst_block(x, max_lags):
    return {"max_lags": max_lags, "hurst": hurst(np.asarray(x, dtype=float), max_lags)}


def tls_block(x, y):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    a = np.column_stack([x - x.mean(), y - y.mean()])
    _, s, vt = np.linalg.svd(a, full_matrices=False)
    beta = vt[0, 1] / vt[0, 0]
    return {"beta": beta, "alpha": y.mean() - beta * x.mean(), "singular_values": s}


def adf_block(x):
    r = adfuller(x, regression="c", autolag="AIC", result_object=False)
    return {"stat": r[0], "pvalue": r[1], "usedlag": int(r[2]), "nobs": int(r[3])}


def half_life_block(s):
    r = sm.OLS(np.diff(s), sm.add_constant(s[:-1])).fit()
    b = r.params[1]
    return {"slope": b, "intercept": r.params[0], "half_life": (-math.log(2) / b) if b < 0 else None}


def basket_block(endog, names, zwin):
    n = endog.shape[0]
    jo = coint_johansen(endog, 0, 1)
    w = jo.evec[:, 0]
    spread = endog @ w
    s = pd.Series(spread)
    z = (s - s.rolling(zwin).mean()) / s.rolling(zwin).std(ddof=1)
    hl = min(100, n // 2)
    return {
        "det_order": 0,
        "k_ar_diff": 1,
        "weights": w,
        "spread": spread,
        "zscore_window": zwin,
        "z": [None if math.isnan(v) else float(v) for v in z],
        "half_life": half_life_block(spread),
        "adf": adf_block(spread),
        "kpss": kpss_block(spread, "c", "auto"),
        "hurst": hurst_block(spread, hl),
        "legs": names,
    }


def screen_block(endog):
    # Screener v2 (rank_pairs) for every pair i < j: y = leg j on x = leg i.
    rows = []
    for i in range(endog.shape[1]):
        for j in range(i + 1, endog.shape[1]):
            x, y = endog[:, i], endog[:, j]
            r = sm.OLS(y, sm.add_constant(x)).fit()
            s = np.asarray(r.resid)
            stat, p, _ = coint(y, x, trend="c", autolag="aic")
            hl = half_life_block(s)
            rx, ry = x[1:] / x[:-1] - 1, y[1:] / y[:-1] - 1
            rows.append({
                "x": i, "y": j, "beta": r.params[1], "alpha": r.params[0], "stat": stat, "pvalue": p,
                "half_life": hl["half_life"], "hurst": hurst(s, min(100, len(s) // 2)),
                "kpss_pvalue": kpss_block(s, "c", "auto")["pvalue"], "corr": np.corrcoef(rx, ry)[0, 1],
            })
    q = multipletests(np.array([r["pvalue"] for r in rows]), method="fdr_bh")[1]
    for r, v in zip(rows, q):
        r["qvalue"] = v
    return rows


def battery(name, description, legs, t=None, zwin=60):
    names = list(legs.keys())
    endog = np.column_stack([np.asarray(legs[k], dtype=float) for k in names])
    n, k = endog.shape
    exp = {"johansen": [], "kpss": [], "variance_ratio": [], "hurst": [], "tls": [], "adf_legs": []}
    for det in (-1, 0, 1):
        for kd in (0, 1, 2):
            exp["johansen"].append(johansen_block(endog, det, kd))
    series = {nm: endog[:, i] for i, nm in enumerate(names)}
    b = basket_block(endog, names, zwin)
    series_all = dict(series)
    series_all["basket_spread"] = np.asarray(b["spread"])
    for nm, x in series_all.items():
        for reg in ("c", "ct"):
            for nl in ("auto", "legacy", 4):
                if isinstance(nl, int) and nl >= n:
                    continue
                exp["kpss"].append({"series": nm, **kpss_block(x, reg, nl)})
        for q in (2, 4, 8, 16):
            if n >= q + 2:
                exp["variance_ratio"].append({"series": nm, **vr_block(x, q)})
        for ml in sorted({min(100, n // 2), 20}):
            if n >= ml + 1 and ml >= 4:
                exp["hurst"].append({"series": nm, **hurst_block(x, ml)})
    for i in range(k):
        for j in range(i + 1, k):
            exp["tls"].append({"x": names[i], "y": names[j], **tls_block(endog[:, i], endog[:, j])})
    if k == 2:
        # The pair report's battery runs on the OLS residual y - alpha - beta x (legs in order x, y).
        r = sm.OLS(endog[:, 1], sm.add_constant(endog[:, 0])).fit()
        s = np.asarray(r.resid)
        exp["ols_spread"] = {
            "alpha": r.params[0],
            "beta": r.params[1],
            "kpss": kpss_block(s, "c", "auto"),
            "variance_ratio": [vr_block(s, q) for q in (2, 4, 8, 16)],
            "hurst": hurst_block(s, min(100, n // 2)),
        }
    if k >= 3:
        exp["screen"] = screen_block(endog)
    for nm, x in series.items():
        exp["adf_legs"].append({"series": nm, "levels": adf_block(x), "diff": adf_block(np.diff(x))})
    exp["basket"] = b
    if t is None:
        t = [T0 + 60000 * i for i in range(n)]
    return {
        "name": name,
        "kind": "battery",
        "description": description,
        "inputs": {"t": [int(v) for v in t], "legs": names, "series": {nm: endog[:, i] for i, nm in enumerate(names)}},
        "params": {
            "johansen": {"det_order": [-1, 0, 1], "k_ar_diff": [0, 1, 2]},
            "kpss": {"regression": ["c", "ct"], "nlags": ["auto", "legacy", 4]},
            "variance_ratio": {"lags": [2, 4, 8, 16], "trend": "c", "debiased": True, "robust": True, "overlap": True},
            "basket": {"det_order": 0, "k_ar_diff": 1, "zscore_window": zwin},
        },
        "expected": exp,
    }


# ---------------------------------------------------------------------------------------------
# Inputs


def synthetic_cases():
    out = []
    # 3 legs sharing 2 stochastic trends: cointegration rank 1.
    rng = np.random.default_rng(1301)
    n = 500
    w1 = np.cumsum(rng.normal(0, 1.0, n))
    w2 = np.cumsum(rng.normal(0, 1.0, n))
    u = np.zeros(n)
    e = rng.normal(0, 0.5, n)
    for i in range(1, n):
        u[i] = 0.7 * u[i - 1] + e[i]
    a = 100 + w1 + rng.normal(0, 0.3, n)
    b = 80 + 0.8 * w1 + 0.5 * w2 + rng.normal(0, 0.3, n)
    c = 60 + w2 + u
    out.append(battery("basket3_synthetic_n500", "SYNTHETIC (seed 1301): 3 legs on 2 common random-walk trends "
                       "(rank 1), one leg with an AR(1) phi=0.7 disturbance.", {"A": a, "B": b, "C": c}))
    # 4 legs sharing 2 trends: rank 2.
    rng = np.random.default_rng(1302)
    n = 1000
    w1 = np.cumsum(rng.normal(0, 1.0, n))
    w2 = np.cumsum(rng.normal(0, 1.0, n))
    legs = {
        "P": 200 + w1 + rng.normal(0, 0.5, n),
        "Q": 150 + 0.6 * w1 + rng.normal(0, 0.5, n),
        "R": 120 + w2 + rng.normal(0, 0.5, n),
        "S": 90 + 0.4 * w1 + 0.9 * w2 + rng.normal(0, 0.5, n),
    }
    out.append(battery("basket4_synthetic_n1000", "SYNTHETIC (seed 1302): 4 legs on 2 common random-walk trends "
                       "(rank 2) with white noise.", legs))
    # Short sample: 3 legs, n = 40.
    rng = np.random.default_rng(1303)
    n = 40
    w = np.cumsum(rng.normal(0, 1.0, n))
    legs = {"A": 50 + w + rng.normal(0, 0.4, n), "B": 30 + 0.5 * w + rng.normal(0, 0.4, n),
            "C": 20 + np.cumsum(rng.normal(0, 1.0, n))}
    out.append(battery("basket3_short_n40", "SYNTHETIC (seed 1303): short sample n=40, 3 legs (two share a trend, "
                       "one independent walk).", legs, zwin=10))
    # Near unit root: the spread is AR(1) with phi = 0.99.
    rng = np.random.default_rng(1304)
    n = 800
    x = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    e = rng.normal(0, 0.5, n)
    u = np.zeros(n)
    for i in range(1, n):
        u[i] = 0.99 * u[i - 1] + e[i]
    out.append(battery("pair_near_unit_root_n800", "SYNTHETIC (seed 1304): y = 5 + 1.5 x + u, u AR(1) phi=0.99 "
                       "(near unit root).", {"x": x, "y": 5 + 1.5 * x + u}))
    # Deterministic trend: trend-stationary legs.
    rng = np.random.default_rng(1305)
    n = 600
    tt = np.arange(n)
    e1 = np.zeros(n)
    e2 = np.zeros(n)
    z1 = rng.normal(0, 1.0, n)
    z2 = rng.normal(0, 1.0, n)
    for i in range(1, n):
        e1[i] = 0.5 * e1[i - 1] + z1[i]
        e2[i] = 0.6 * e2[i - 1] + z2[i]
    w = np.cumsum(rng.normal(0, 0.5, n))
    legs = {"A": 10 + 0.05 * tt + e1, "B": 20 + 0.02 * tt + w, "C": 5 + 0.03 * tt + 0.5 * w + e2}
    out.append(battery("basket3_trend_n600", "SYNTHETIC (seed 1305): legs with linear trends (one trend-stationary, "
                       "two sharing a random walk), for det_order 1 and KPSS 'ct'.", legs))
    return out


def load_case(name):
    with open(os.path.join(GOLDEN, name + ".json")) as fh:
        return json.load(fh)


def real_cases():
    out = []
    for name, desc in (
        ("fixture_binance_btc_eth_1m", "REAL: BTCUSDT (x) and ETHUSDT (y) 1m closes of the committed fixtures"),
        ("real_yahoo_gspc_ixic_2016_2017", "REAL: S&P 500 (x) and NASDAQ Composite (y) daily Adj Close 2016-2017"),
        ("real_crude_wti_brent_monthly", "REAL: monthly WTI (x) and Brent (y), 1987-05..2020-01"),
    ):
        c = load_case(name)
        p = c["params"]
        legs = {p["x_symbol"]: np.asarray(c["inputs"]["x"]), p["y_symbol"]: np.asarray(c["inputs"]["y"])}
        out.append(battery("pair_" + name, desc + f" (inputs of app/tests/golden/{name}.json).", legs,
                           t=c["inputs"]["t"]))
    # 3 legs: Moody's AAA and BAA yields and US core CPI (monthly; arch 8.0.0 bundled data).
    d = arch.data.default.load()
    cpi = arch.data.core_cpi.load()
    j = d.join(cpi, how="inner").dropna()
    t = [int(pd.Timestamp(v).tz_localize("UTC").timestamp() * 1000) for v in j.index]
    out.append(battery("basket3_real_aaa_baa_cpi", "REAL: monthly Moody's AAA and BAA corporate bond yields and US "
                       "core CPI (CPILFESL), inner-joined, 1957-01..2018-11 (arch 8.0.0 arch.data.default and "
                       "arch.data.core_cpi, from FRED).",
                       {"AAA": j["AAA"].to_numpy(), "BAA": j["BAA"].to_numpy(), "CPI": j["CPILFESL"].to_numpy()}, t=t))
    # 4 legs: WTI and Brent (committed case inputs) with AAA and BAA yields, inner-joined on the month.
    c = load_case("real_crude_wti_brent_monthly")
    crude = pd.DataFrame({"WTI": c["inputs"]["x"], "BRENT": c["inputs"]["y"]},
                         index=pd.to_datetime(c["inputs"]["t"], unit="ms", utc=True).tz_localize(None))
    crude.index = crude.index.to_period("M").to_timestamp()
    j = crude.join(d, how="inner").dropna()
    t = [int(pd.Timestamp(v).tz_localize("UTC").timestamp() * 1000) for v in j.index]
    out.append(battery("basket4_real_crude_yields", "REAL: monthly WTI and Brent (inputs of "
                       "real_crude_wti_brent_monthly.json) with Moody's AAA and BAA yields (arch 8.0.0 "
                       "arch.data.default), inner-joined on the month.",
                       {"WTI": j["WTI"].to_numpy(), "BRENT": j["BRENT"].to_numpy(), "AAA": j["AAA"].to_numpy(),
                        "BAA": j["BAA"].to_numpy()}, t=t))
    return out


def bh_case():
    rng = np.random.default_rng(1306)
    vectors = {
        "uniform_50": rng.uniform(size=50),
        "mixed_200": np.concatenate([rng.uniform(0, 1e-3, 20), rng.uniform(size=180)]),
        "ties_and_ones": np.array([0.01, 0.01, 0.04, 0.04, 0.04, 1.0, 1.0, 0.5, 0.0, 0.2]),
        "single": np.array([0.03]),
        "large_1000": rng.beta(0.5, 1.0, 1000),
    }
    cases = []
    for k, p in vectors.items():
        rej, q, _, _ = multipletests(p, alpha=0.05, method="fdr_bh")
        cases.append({"name": k, "p": p, "q": q, "reject_05": rej})
    return {
        "name": "bh_qvalues",
        "kind": "bh",
        "description": "statsmodels.stats.multitest.multipletests(p, alpha=0.05, method='fdr_bh'): "
        "[1] (q-values) and [0] (rejections at 5 %). Seed 1306.",
        "inputs": {},
        "params": {"alpha": 0.05, "method": "fdr_bh"},
        "expected": {"vectors": cases},
    }


def all_cases():
    return synthetic_cases() + real_cases() + [bh_case()]


def dumps(case):
    return json.dumps(clean(case), indent=1, ensure_ascii=True) + "\n"


def compare(a, b, path, errs):
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            errs.append(f"{path}: keys differ {sorted(set(a) ^ set(b))}")
        for k in set(a) & set(b):
            compare(a[k], b[k], f"{path}.{k}", errs)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            errs.append(f"{path}: lengths {len(a)} vs {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            compare(x, y, f"{path}[{i}]", errs)
    elif isinstance(a, float) and isinstance(b, float):
        if abs(a - b) > 1e-12 * max(1.0, abs(b)):
            errs.append(f"{path}: {a} vs {b}")
    elif a != b:
        errs.append(f"{path}: {a!r} vs {b!r}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--write", nargs="?", const=DEFAULT_OUT, metavar="DIR")
    g.add_argument("--check", action="store_true")
    args = ap.parse_args()
    versions = {"statsmodels": statsmodels.__version__, "pandas": pd.__version__, "scipy": scipy.__version__,
                "numpy": np.__version__, "arch": arch.__version__}
    if versions != PINNED:
        print(f"warning: versions {versions} differ from the pinned {PINNED}", file=sys.stderr)
    cases = all_cases()
    if args.write:
        os.makedirs(args.write, exist_ok=True)
        for c in cases:
            with open(os.path.join(args.write, c["name"] + ".json"), "w") as fh:
                fh.write(dumps(c))
            print(f"wrote {c['name']}")
        return 0
    bad = 0
    for c in cases:
        path = os.path.join(DEFAULT_OUT, c["name"] + ".json")
        with open(path) as fh:
            committed = json.load(fh)
        errs = []
        compare(json.loads(dumps(c)), committed, c["name"], errs)
        print(f"{c['name']}: {'ok' if not errs else f'{len(errs)} differences'}")
        for e in errs[:10]:
            print("   ", e)
        bad += bool(errs)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
