//! From parsed data sets to one pair report: choosing each leg's symbol, optional resampling,
//! the inner join on bar timestamps, and the serialisable [`Analysis`] that both
//! `pairdesk analyze --json` and `POST /api/analyze` return.

use app::analytics::backtest::{run_basket_backtest, BasketBacktest, BasketBacktestParams};
use app::analytics::basket::{analyze_basket, BasketParams, BasketReport};
use app::analytics::battery::{pair_battery, PairBattery};
use app::analytics::report::Stage;
use app::analytics::report::{analyze_pair_with, PairReport};
use app::analytics::rolling::spread;
use app::analytics::{AnalyticsError, Cancel};
use app::dataset::{inner_join, inner_join_many, Bar, Dataset};
use serde::Serialize;

use super::options::AnalyzeOptions;
use super::timeframe::resample_bars;

/// Fewer aligned bars than this are refused outright (the regressions, ADF and half-life need
/// about this many; stages that need more, like a 60-bar z-score, report what they miss).
pub const MIN_OVERLAP: usize = 20;

/// Why a pair could not be analysed (the input files themselves were fine).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PairError {
    /// A leg's symbol is ambiguous or absent.
    #[error("{0}")]
    Symbol(String),
    /// The two legs share too few timestamps.
    #[error(
        "too little overlap: {x_symbol} ({x_rows} bars) and {y_symbol} ({y_rows} bars) share {common} timestamps{tf}; \
         at least {MIN_OVERLAP} are needed"
    )]
    Overlap { x_symbol: String, x_rows: usize, y_symbol: String, y_rows: usize, common: usize, tf: String },
    /// An option value is unusable.
    #[error("invalid option: {0}")]
    Options(String),
    /// The engine refused the input.
    #[error("analysis failed: {0}")]
    Analytics(String),
    /// The caller cancelled the analysis (deadline passed, client gone).
    #[error("the analysis was cancelled")]
    Cancelled,
}

/// One leg: where it came from, its symbol and its bars.
#[derive(Debug, Clone, Copy)]
pub struct Leg<'a> {
    /// File or dataset name (for messages and the report header).
    pub source: &'a str,
    pub symbol: &'a str,
    pub bars: &'a [Bar],
}

/// Choose the symbol of a leg in `ds`: the requested one, or the only one.
pub fn pick_symbol<'a>(
    source: &'a str,
    ds: &'a Dataset,
    requested: Option<&str>,
    hint: &str,
) -> Result<Leg<'a>, PairError> {
    let names: Vec<&str> = ds.symbol_names().collect();
    match requested.map(str::trim).filter(|s| !s.is_empty()) {
        Some(want) => ds
            .symbols
            .get_key_value(want)
            .map(|(symbol, bars)| Leg { source, symbol, bars })
            .ok_or_else(|| PairError::Symbol(format!("{source}: no symbol '{want}' (it has {})", names.join(", ")))),
        None => match ds.symbols.iter().next() {
            Some((symbol, bars)) if ds.symbols.len() == 1 => Ok(Leg { source, symbol, bars }),
            _ => Err(PairError::Symbol(format!(
                "{source} holds {} symbols ({}): choose one with {hint}",
                names.len(),
                names.join(", ")
            ))),
        },
    }
}

/// Both legs from one data set holding two symbols (x = first in sorted order, unless chosen).
pub fn pick_two<'a>(
    source: &'a str,
    ds: &'a Dataset,
    x: Option<&str>,
    y: Option<&str>,
) -> Result<(Leg<'a>, Leg<'a>), PairError> {
    let names: Vec<&str> = ds.symbol_names().collect();
    let (xs, ys) = match (x, y) {
        (Some(x), Some(y)) => (x.to_string(), y.to_string()),
        (None, None) if names.len() == 2 => (names[0].to_string(), names[1].to_string()),
        (Some(x), None) if names.len() == 2 && names.contains(&x) => {
            let other = names.iter().find(|n| **n != x).copied().unwrap_or(x);
            (x.to_string(), other.to_string())
        }
        (None, Some(y)) if names.len() == 2 && names.contains(&y) => {
            let other = names.iter().find(|n| **n != y).copied().unwrap_or(y);
            (other.to_string(), y.to_string())
        }
        _ => {
            return Err(PairError::Symbol(format!(
                "{source} holds {} symbol(s) ({}): a single file needs exactly two, or choose them with --x-symbol and --y-symbol",
                names.len(),
                names.join(", ")
            )))
        }
    };
    if xs == ys {
        return Err(PairError::Symbol(format!("both legs are {xs}: choose two different symbols")));
    }
    Ok((pick_symbol(source, ds, Some(&xs), "--x-symbol")?, pick_symbol(source, ds, Some(&ys), "--y-symbol")?))
}

/// A leg as described in the report header.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LegInfo {
    pub source: String,
    pub symbol: String,
    /// Bars in the leg (after resampling).
    pub rows: usize,
}

/// What was analysed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalysisMeta {
    /// Independent leg.
    pub x: LegInfo,
    /// Dependent leg (`y = alpha + beta x`).
    pub y: LegInfo,
    /// First and last common timestamp (ms).
    pub first_t: i64,
    pub last_t: i64,
    /// The options used.
    pub options: AnalyzeOptions,
}

/// The report of `pairdesk analyze --json` / `POST /api/analyze`: `meta` plus the golden
/// top-level keys (`ols`, `ols_log`, `huber`, `theil_sen`, `kalman`, `spread_with_alpha`,
/// `zscore`, `rolling_corr`, `adf`, `coint`, `half_life`, `backtest`) and the battery's
/// (`johansen`, `kpss`, `variance_ratio`, `hurst`, `adf_legs` = `[x, y]`, `tls`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    pub meta: AnalysisMeta,
    #[serde(flatten)]
    pub report: PairReport,
    #[serde(flatten)]
    pub battery: PairBattery,
}

/// Resample (with `opts.timeframe`), inner-join on timestamps and analyse `y` on `x`.
pub fn analyze_legs(x: Leg<'_>, y: Leg<'_>, opts: &AnalyzeOptions, series: bool) -> Result<Analysis, PairError> {
    analyze_legs_with(x, y, opts, series, &Cancel::never())
}

/// [`analyze_legs`], stopping with [`PairError::Cancelled`] soon after `cancel` is raised.
pub fn analyze_legs_with(
    x: Leg<'_>,
    y: Leg<'_>,
    opts: &AnalyzeOptions,
    series: bool,
    cancel: &Cancel,
) -> Result<Analysis, PairError> {
    opts.validate().map_err(PairError::Options)?;
    let (xb, yb) = match opts.timeframe {
        Some(tf) => (resample_bars(x.bars, tf), resample_bars(y.bars, tf)),
        None => (x.bars.to_vec(), y.bars.to_vec()),
    };
    let (t, xs, ys) = inner_join(&xb, &yb);
    if t.len() < MIN_OVERLAP {
        return Err(PairError::Overlap {
            x_symbol: x.symbol.to_string(),
            x_rows: xb.len(),
            y_symbol: y.symbol.to_string(),
            y_rows: yb.len(),
            common: t.len(),
            tf: opts.timeframe.map(|tf| format!(" at {tf}")).unwrap_or_default(),
        });
    }
    opts.validate_for_rows(t.len()).map_err(PairError::Options)?;
    let engine_error = |e| match e {
        AnalyticsError::Cancelled => PairError::Cancelled,
        e => PairError::Analytics(e.to_string()),
    };
    let params = opts.pair_params(series);
    let report = analyze_pair_with(&t, &xs, &ys, &params, cancel).map_err(engine_error)?;
    let resid = report.ols.ok().map(|o| spread(&xs, &ys, o.alpha, o.beta)).unwrap_or_default();
    let battery = pair_battery(&xs, &ys, &resid, cancel).map_err(engine_error)?;
    Ok(Analysis {
        battery,
        meta: AnalysisMeta {
            x: LegInfo { source: x.source.to_string(), symbol: x.symbol.to_string(), rows: xb.len() },
            y: LegInfo { source: y.source.to_string(), symbol: y.symbol.to_string(), rows: yb.len() },
            first_t: t.first().copied().unwrap_or_default(),
            last_t: t.last().copied().unwrap_or_default(),
            options: opts.clone(),
        },
        report,
    })
}

/// What a basket was built from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BasketMeta {
    /// The legs, in the order of the weights.
    pub legs: Vec<LegInfo>,
    /// First and last common timestamp (ms).
    pub first_t: i64,
    pub last_t: i64,
    /// Aligned bars.
    pub rows: usize,
    /// The options used (`z_window`, `adf_*`, `timeframe` apply).
    pub options: AnalyzeOptions,
}

/// `pairdesk analyze A.csv B.csv C.csv … --json` (3–12 legs): `meta` plus the basket's keys
/// (`johansen`, `weights`, `spread`, `zscore`, `half_life`, `adf`, `kpss`, `variance_ratio`,
/// `hurst`, `adf_legs`) and `backtest` (weights fitted on the first `basket_train` bars;
/// `equity` only with series).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BasketAnalysis {
    pub meta: BasketMeta,
    #[serde(flatten)]
    pub basket: BasketReport,
    pub backtest: Stage<BasketBacktest>,
}

/// The basket backtest's parameters from the analysis options (z window, thresholds, fees,
/// slippage, training bars or walk-forward folds; options already validated).
pub fn basket_backtest_params(opts: &AnalyzeOptions) -> BasketBacktestParams {
    BasketBacktestParams {
        train: opts.basket_train,
        walk_forward: opts.basket_walk_forward().ok().flatten(),
        z_window: opts.z_window,
        entry: opts.entry,
        exit: opts.exit,
        fee_bps: opts.fee_bps,
        slippage_bps: opts.slippage_bps,
        ..BasketBacktestParams::default()
    }
}

/// Resample, inner-join all legs on their common timestamps and analyse the Johansen basket.
pub fn analyze_basket_legs(legs: &[Leg<'_>], opts: &AnalyzeOptions, series: bool) -> Result<BasketAnalysis, PairError> {
    opts.validate().map_err(PairError::Options)?;
    let bars: Vec<Vec<Bar>> = legs
        .iter()
        .map(|l| match opts.timeframe {
            Some(tf) => resample_bars(l.bars, tf),
            None => l.bars.to_vec(),
        })
        .collect();
    let refs: Vec<&[Bar]> = bars.iter().map(Vec::as_slice).collect();
    let (t, closes, _) = inner_join_many(&refs);
    if t.len() < MIN_OVERLAP {
        let rows: Vec<String> = legs.iter().zip(&bars).map(|(l, b)| format!("{} {}", l.symbol, b.len())).collect();
        return Err(PairError::Analytics(format!(
            "too little overlap: the {} legs ({} bars) share {} timestamps{}; at least {MIN_OVERLAP} are needed",
            legs.len(),
            rows.join(", "),
            t.len(),
            opts.timeframe.map(|tf| format!(" at {tf}")).unwrap_or_default(),
        )));
    }
    opts.validate_for_rows(t.len()).map_err(PairError::Options)?;
    let pp = opts.pair_params(series);
    let params = BasketParams { z_window: pp.z_window, adf: pp.adf, include_series: series, ..BasketParams::default() };
    let cols: Vec<&[f64]> = closes.iter().map(Vec::as_slice).collect();
    let basket = analyze_basket(&cols, &params).map_err(|e| PairError::Analytics(e.to_string()))?;
    let backtest = match run_basket_backtest(&t, &cols, &basket_backtest_params(opts)) {
        Ok(bt) if !series => Stage::Ok(BasketBacktest { equity: Vec::new(), ..bt }),
        other => other.into(),
    };
    Ok(BasketAnalysis {
        backtest,
        meta: BasketMeta {
            legs: legs
                .iter()
                .zip(&bars)
                .map(|(l, b)| LegInfo { source: l.source.to_string(), symbol: l.symbol.to_string(), rows: b.len() })
                .collect(),
            first_t: t.first().copied().unwrap_or_default(),
            last_t: t.last().copied().unwrap_or_default(),
            rows: t.len(),
            options: opts.clone(),
        },
        basket,
    })
}
