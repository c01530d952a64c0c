#!/usr/bin/env python3
"""The Python reference stack doing what `rank_pairs` (pairdesk's screener v2) does, for the
timing beside `cargo bench -p app --bench analytics -- battery`: for each pair (x < y) of the
close series in a CSV (one column per symbol, no header), statsmodels
`coint(y, x, trend="c", autolag="AIC")` (OLS + ADF on the residuals with AIC), the half-life
(`OLS(diff(s), add_constant(s[:-1]))`), ArbitrageLab's Hurst (max_lags = min(100, n // 2)),
`kpss(s, "c", "auto")`, return correlation; then `multipletests(p, method="fdr_bh")` over all
pairs. Pinned versions: tools/golden/requirements.txt.

    screener_v2.py DATA.csv [--pairs N] [--blas-threads 1] [--johansen LEGS.csv] [--kpss SERIES.csv]

--johansen / --kpss also time `coint_johansen(legs, 0, 1)` and `kpss(s, "c", "auto")` (median
of 7 runs) on the bench's Johansen and KPSS inputs.

With --pairs N only the first N pairs (row-major order) are computed and timed, and the time
for all pairs is extrapolated linearly (printed as such). Prints one JSON line.
"""

import argparse
import itertools
import json
import os
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--pairs", type=int, default=0)
    ap.add_argument("--blas-threads", type=int, default=1)
    ap.add_argument("--johansen")
    ap.add_argument("--kpss")
    a = ap.parse_args()
    for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[v] = str(a.blas_threads)
    import warnings

    import numpy as np
    import statsmodels.api as sm
    from statsmodels.stats.multitest import multipletests
    from statsmodels.tsa.stattools import coint, kpss

    warnings.simplefilter("ignore")
    data = np.loadtxt(a.data, delimiter=",")
    k = data.shape[1]
    pairs = list(itertools.combinations(range(k), 2))
    total = len(pairs)
    if a.pairs:
        pairs = pairs[: a.pairs]

    def hurst(x, max_lags):
        lags = range(2, max_lags)
        tau = [np.sqrt(np.std(np.subtract(x[lag:], x[:-lag]))) for lag in lags]
        return np.polyfit(np.log(lags), np.log(tau), 1)[0] * 2.0

    t0 = time.perf_counter()
    pv = []
    for i, j in pairs:
        x, y = data[:, i], data[:, j]
        r = sm.OLS(y, sm.add_constant(x)).fit()
        s = np.asarray(r.resid)
        _, p, _ = coint(y, x, trend="c", autolag="AIC")
        h = sm.OLS(np.diff(s), sm.add_constant(s[:-1])).fit().params[1]
        hu = hurst(s, min(100, len(s) // 2))
        kp = kpss(s, regression="c", nlags="auto", result_object=True).pvalue
        rx, ry = x[1:] / x[:-1] - 1, y[1:] / y[:-1] - 1
        c = np.corrcoef(rx, ry)[0, 1]
        pv.append(p)
        del h, hu, kp, c
    q = multipletests(np.asarray(pv), method="fdr_bh")[1]
    dt = time.perf_counter() - t0
    out = {
        "symbols": k, "bars": data.shape[0], "pairs_timed": len(pairs), "pairs_total": total,
        "seconds": dt, "seconds_all_pairs_extrapolated": dt * total / len(pairs), "q_min": float(q.min()),
    }

    def median_time(f, reps=7):
        ts = []
        for _ in range(reps):
            t = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t)
        return sorted(ts)[reps // 2]

    if a.johansen:
        from statsmodels.tsa.vector_ar.vecm import coint_johansen

        legs = np.loadtxt(a.johansen, delimiter=",")
        out["johansen_seconds"] = median_time(lambda: coint_johansen(legs, 0, 1))
        out["johansen_shape"] = list(legs.shape)
    if a.kpss:
        sp = np.loadtxt(a.kpss, delimiter=",")
        out["kpss_seconds"] = median_time(lambda: kpss(sp, regression="c", nlags="auto", result_object=True))
        out["kpss_n"] = len(sp)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
