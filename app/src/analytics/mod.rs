//! Pairs-trading analytics engine: pure Rust (no I/O), native and wasm32.
//!
//! Every statistic reproduces the statsmodels / pandas / scipy reference documented in
//! `app/tests/golden/README.md` (checked by `app/tests/golden.rs`). One file per concept:
//!
//! * [`error`](mod@error): the error type shared by every stage.
//! * [`cancel`](mod@cancel): the cooperative cancellation token the long loops check.
//! * [`descriptive`](mod@descriptive): mean, median, sample std and other small helpers.
//! * [`linalg`](mod@linalg): Householder QR least squares for the multi-regressor fits (ADF).
//! * [`ols`](mod@ols): `y = alpha + beta x` with the statsmodels summary fields; [`ols_log`].
//! * [`huber`](mod@huber): statsmodels `RLM(HuberT(1.345))` IRLS.
//! * [`theil_sen`](mod@theil_sen): scipy `theilslopes`.
//! * [`kalman`](mod@kalman): random-walk dynamic hedge ratio.
//! * [`rolling`](mod@rolling): spreads, rolling mean / std / z-score, returns, rolling correlation, rolling OLS.
//! * [`mackinnon`](mod@mackinnon): MacKinnon p-values and critical values.
//! * [`adf`](mod@adf): augmented Dickey–Fuller with lag selection.
//! * [`coint`](mod@coint): Engle–Granger cointegration test.
//! * [`johansen`](mod@johansen): statsmodels `coint_johansen` (trace / max-eigenvalue, weights).
//! * [`kpss`](mod@kpss): statsmodels `kpss` (stationarity null; p-value bounds flagged).
//! * [`variance_ratio`](mod@variance_ratio): arch `VarianceRatio` (robust, debiased, overlapping).
//! * [`hurst`](mod@hurst): ArbitrageLab's Hurst exponent.
//! * [`tls`](mod@tls): total least squares (orthogonal) hedge ratio.
//! * [`multitest`](mod@multitest): Benjamini–Hochberg q-values (`multipletests(method="fdr_bh")`).
//! * [`adf_legs`](mod@adf_legs): ADF of each leg in levels and first differences.
//! * [`battery`](mod@battery): a pair's battery (Johansen, KPSS, VR, Hurst, ADF per leg, TLS).
//! * [`basket`](mod@basket): 2–12 legs: Johansen weights, basket spread and its statistics.
//! * [`half_life`](mod@half_life): mean-reversion half-life of a spread.
//! * [`backtest`](mod@backtest): the causal pairs backtest (fills, costs, funding, walk-forward, sweep).
//! * [`execution`](mod@execution): the executable spread band and quoted round-trip cost from bid/ask.
//! * [`price_stats`](mod@price_stats): per-symbol window statistics from bars.
//! * [`resample`](mod@resample): ticks to OHLCV bars (batch and incremental).
//! * [`align`](mod@align): aligning two symbols' bars (union / grid rules, inner join).
//! * [`report`](mod@report): every stage for one pair, with parameters ([`PairParams`]) and a serialisable [`PairReport`].
//! * [`live_view`](mod@live_view): the series one dashboard view shows, for any hedge method.
//! * [`screener`](mod@screener): OLS + ADF / Engle–Granger + return correlation for all pairs of N series.
//! * [`tape`](mod@tape): the live p-value tape (rolling Engle–Granger / ADF p-values, half-life).
//! * [`incremental`](mod@incremental): [`RollingPairEngine`], the allocation-free live engine.
//! * [`serde_util`](mod@serde_util): serialisation helpers (non-finite floats).

pub mod adf;
pub mod adf_legs;
pub mod align;
pub mod backtest;
pub mod basket;
pub mod battery;
pub mod cancel;
pub mod coint;
pub mod descriptive;
pub mod error;
pub mod execution;
pub mod half_life;
pub mod huber;
pub mod hurst;
pub mod incremental;
pub mod johansen;
pub mod kalman;
pub mod kpss;
pub mod linalg;
pub mod live_view;
pub mod mackinnon;
pub mod multitest;
pub mod ols;
pub mod price_stats;
pub mod report;
pub mod resample;
pub mod rolling;
pub mod screener;
pub mod serde_util;
pub mod tape;
pub mod theil_sen;
pub mod tls;
pub mod variance_ratio;

pub use adf::{adfuller, AdfOptions, AdfResult, Autolag, CritValues, Regression};
pub use align::{align_bars, inner_join, AlignRule, AlignedPair};
pub use backtest::{run_backtest, BacktestParams, BacktestResult, Market, Side, Trade};
pub use cancel::Cancel;
pub use coint::{coint, CointResult};
pub use error::AnalyticsError;
pub use half_life::{half_life, HalfLife};
pub use huber::{huber_rlm, HuberOptions, HuberResult};
pub use incremental::{EngineSnapshot, RollingPairEngine};
pub use kalman::{kalman_filter, KalmanFilter, KalmanOutput, KalmanParams};
pub use ols::{ols, ols_log, OlsResult};
pub use price_stats::{price_stats, PriceStats};
pub use report::{analyze_pair, PairParams, PairReport};
pub use resample::{resample_ticks, Bar, BarBuilder, BarUpdate, Tick};
pub use rolling::{rolling_corr, rolling_zscore, simple_returns, spread, ZScore};
pub use screener::{screen_pairs, PairScreen, ScreenOptions, ScreenTest};
pub use theil_sen::{theil_sen, TheilSenResult};
