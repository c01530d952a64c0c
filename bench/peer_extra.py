"""Python timings for the two issue-3 benchmarks that ../shared/baseline/peer.py does not cover.

* ``theil_sen_5000``: ``scipy.stats.theilslopes(y, x, alpha=0.95)`` on 5,000 points (exact,
  all 12.5 M pairwise slopes — what pairdesk's ``theil_sen`` computes).
* ``update_per_bar``: what a Python dashboard does when one new bar arrives and it refreshes the
  rolling set the way such dashboards do: OLS hedge over the last 60 bars
  (``statsmodels.OLS(y, add_constant(x)).fit()``), spread, z-score of the last 60 spreads
  (pandas rolling mean/std), correlation of the last 30 simple returns. Timed per bar over
  ``--bars`` consecutive bars (the minimum-cost way a peer would write it, no full-history
  recompute) — pairdesk's ``RollingPairEngine::push`` does the same work in O(1).

Same synthetic data shape as ``app/benches/analytics.rs`` (x ~ 60,000 random walk,
y = 0.055 x + 100 + AR(1) noise). Run with the baseline venv:

    /tmp/peer-venv/bin/python bench/peer_extra.py --reps 3 --blas-threads 1
"""

import argparse
import json
import time

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats


def pair(n, seed=7):
    rng = np.random.default_rng(seed)
    x = 60_000.0 * np.cumprod(1.0 + 0.002 * (rng.random(n) - 0.5))
    u = np.zeros(n)
    e = 4.0 * (rng.random(n) - 0.5)
    for i in range(1, n):
        u[i] = 0.9 * u[i - 1] + e[i]
    return x, 0.055 * x + 100.0 + u


def timed(fn, reps):
    runs = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return {"min_s": min(runs), "median_s": float(np.median(runs)), "runs_s": runs}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--bars", type=int, default=2_000)
    ap.add_argument("--blas-threads", type=int, default=None)
    args = ap.parse_args()
    if args.blas_threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.blas_threads)

    out = {}
    x, y = pair(5_000)
    out["theil_sen_5000"] = timed(lambda: stats.theilslopes(y, x, alpha=0.95), args.reps)

    xs, ys = pair(args.bars + 61)
    xs, ys = pd.Series(xs), pd.Series(ys)

    def refresh_all():
        for end in range(61, 61 + args.bars):
            wx, wy = xs.iloc[end - 60 : end], ys.iloc[end - 60 : end]
            fit = sm.OLS(wy.values, sm.add_constant(wx.values)).fit()
            alpha, beta = fit.params
            spread = wy - beta * wx - alpha
            z = (spread - spread.rolling(60).mean()) / spread.rolling(60).std()
            _ = z.iloc[-1]
            rx, ry = xs.iloc[end - 31 : end].pct_change(), ys.iloc[end - 31 : end].pct_change()
            _ = rx.corr(ry)

    r = timed(refresh_all, args.reps)
    out["update_per_bar"] = {k: (v / args.bars if k != "runs_s" else [t / args.bars for t in v]) for k, v in r.items()}
    out["update_per_bar"]["bars"] = args.bars
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
