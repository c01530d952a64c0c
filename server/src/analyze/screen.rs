//! `pairdesk screen FILES… [--json]`: every pair of the symbols in the files (each file one
//! symbol, or a generic OHLCV file with several), aligned on the bar times all of them have,
//! ranked by screener v2 (`app::analytics::screener::rank_pairs`, the same function as
//! `/api/screener`): Engle–Granger p-value, its Benjamini–Hochberg q-value over all pairs,
//! half-life, Hurst, KPSS p-value, return correlation, OLS β, and liquidity (the smaller
//! leg's mean volume per bar). Rows are sorted by q-value (then p-value); pairs whose tests
//! failed come last with their `error`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use app::analytics::screener::{rank_pairs, PairRank};
use app::dataset::{inner_join_many, Bar};
use clap::Args;
use serde::Serialize;

use super::pair::MIN_OVERLAP;
use super::summary::opt;
use super::timeframe::{resample_bars, Timeframe};
use super::{emit, fail, load, EXIT_INPUT};

/// Flags of `pairdesk screen`.
#[derive(Args, Debug, Clone)]
pub struct ScreenArgs {
    /// CSV files (Binance klines, generic OHLCV, Yahoo); every symbol in them is screened.
    #[arg(required = true, num_args = 1.., value_name = "CSV")]
    pub files: Vec<PathBuf>,
    /// Print one JSON object (`meta`, `pairs`) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Resample every symbol to this bar interval first (e.g. 5m, 1h, 1d).
    #[arg(long)]
    pub timeframe: Option<Timeframe>,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Table only: show this many rows (all with --json).
    #[arg(long, default_value_t = 30)]
    pub top: usize,
    #[command(flatten)]
    pub filter: ScreenFilter,
}

/// Row filters (all optional; a row lacking the filtered value is dropped by that filter).
/// BH q-values are computed over every pair before filtering.
#[derive(Args, Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScreenFilter {
    /// Keep pairs with BH q-value below this.
    #[arg(long)]
    pub max_q: Option<f64>,
    /// Keep pairs with a half-life of at least this many bars.
    #[arg(long)]
    pub min_half_life: Option<f64>,
    /// Keep pairs with a half-life of at most this many bars.
    #[arg(long)]
    pub max_half_life: Option<f64>,
    /// Keep pairs with a Hurst exponent below this (e.g. 0.5: mean-reverting).
    #[arg(long)]
    pub max_hurst: Option<f64>,
    /// Keep pairs whose liquidity (smaller leg's mean volume per bar) is at least this.
    #[arg(long)]
    pub min_volume: Option<f64>,
}

impl ScreenFilter {
    /// Whether `r` passes every filter that is set.
    pub fn keep(&self, r: &PairRank) -> bool {
        let below = |v: Option<f64>, lim: Option<f64>| lim.is_none_or(|l| v.is_some_and(|v| v < l));
        let at_least = |v: Option<f64>, lim: Option<f64>| lim.is_none_or(|l| v.is_some_and(|v| v >= l));
        let at_most = |v: Option<f64>, lim: Option<f64>| lim.is_none_or(|l| v.is_some_and(|v| v <= l));
        below(r.qvalue, self.max_q)
            && at_least(r.half_life, self.min_half_life)
            && at_most(r.half_life, self.max_half_life)
            && below(r.hurst, self.max_hurst)
            && at_least(r.liquidity, self.min_volume)
    }
}

/// One screened symbol.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScreenSymbol {
    pub source: String,
    pub symbol: String,
    /// Bars in the file (after resampling).
    pub rows: usize,
    /// Mean volume per aligned bar.
    pub volume_per_bar: f64,
}

/// Header of the answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScreenMeta {
    pub symbols: Vec<ScreenSymbol>,
    /// Bars every symbol has (the aligned sample).
    pub bars: usize,
    pub first_t: i64,
    pub last_t: i64,
    /// Pairs tested (`n (n - 1) / 2`; the q-values are over all of them).
    pub n_pairs: usize,
    /// Pairs left after the filters (the rows of `pairs`).
    pub n_shown: usize,
    /// The filters applied.
    pub filter: ScreenFilter,
}

/// One ranked pair: `y_symbol` regressed on `x_symbol`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScreenRow {
    pub x_symbol: String,
    pub y_symbol: String,
    #[serde(flatten)]
    pub rank: PairRank,
}

/// `pairdesk screen --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScreenOutput {
    pub meta: ScreenMeta,
    pub pairs: Vec<ScreenRow>,
}

/// Screen every pair of `legs` (`(source, symbol, bars)`), sorted by q-value.
pub fn screen_legs(
    legs: &[(String, String, Vec<Bar>)],
    threads: usize,
    filter: &ScreenFilter,
) -> Result<ScreenOutput, String> {
    if legs.len() < 2 {
        return Err(format!("screen needs at least two symbols, got {}", legs.len()));
    }
    let refs: Vec<&[Bar]> = legs.iter().map(|l| l.2.as_slice()).collect();
    let (t, closes, volumes) = inner_join_many(&refs);
    if t.len() < MIN_OVERLAP {
        return Err(format!(
            "too little overlap: the {} symbols share {} bar times; at least {MIN_OVERLAP} are needed",
            legs.len(),
            t.len()
        ));
    }
    let volume: Vec<f64> = volumes.iter().map(|v| v.iter().sum::<f64>() / v.len() as f64).collect();
    let series: Vec<&[f64]> = closes.iter().map(Vec::as_slice).collect();
    let ranks = rank_pairs(&series, Some(&volume), threads).map_err(|e| e.to_string())?;
    let n_pairs = ranks.len();
    let mut pairs: Vec<ScreenRow> = ranks
        .into_iter()
        .filter(|r| filter.keep(r))
        .map(|rank| ScreenRow {
            x_symbol: legs[rank.screen.x].1.clone(),
            y_symbol: legs[rank.screen.y].1.clone(),
            rank,
        })
        .collect();
    let key = |r: &ScreenRow| (r.rank.qvalue.unwrap_or(f64::INFINITY), r.rank.screen.pvalue.unwrap_or(f64::INFINITY));
    pairs.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        ka.0.total_cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
    });
    let symbols = legs
        .iter()
        .zip(&volume)
        .map(|(l, v)| ScreenSymbol { source: l.0.clone(), symbol: l.1.clone(), rows: l.2.len(), volume_per_bar: *v })
        .collect();
    Ok(ScreenOutput {
        meta: ScreenMeta {
            symbols,
            bars: t.len(),
            first_t: t.first().copied().unwrap_or_default(),
            last_t: t.last().copied().unwrap_or_default(),
            n_pairs,
            n_shown: pairs.len(),
            filter: filter.clone(),
        },
        pairs,
    })
}

fn render(out: &ScreenOutput, top: usize) -> String {
    let mut s = String::new();
    let m = &out.meta;
    let _ = writeln!(
        s,
        "pairdesk screen — {} symbols, {} pairs ({} after filters), {} aligned bars",
        m.symbols.len(),
        m.n_pairs,
        m.n_shown,
        m.bars
    );
    let _ = writeln!(
        s,
        "  {:<12} {:<12} {:>10} {:>10} {:>10} {:>8} {:>10} {:>8} {:>12} {:>12}",
        "y", "x", "EG p", "BH q", "half-life", "Hurst", "KPSS p", "corr", "beta", "liquidity"
    );
    for r in out.pairs.iter().take(top) {
        let k = &r.rank;
        let _ = writeln!(
            s,
            "  {:<12} {:<12} {:>10} {:>10} {:>10} {:>8} {:>10} {:>8} {:>12} {:>12}",
            r.y_symbol,
            r.x_symbol,
            opt(k.screen.pvalue),
            opt(k.qvalue),
            opt(k.half_life),
            opt(k.hurst),
            opt(k.kpss_pvalue),
            opt(k.screen.corr),
            opt(k.screen.beta),
            opt(k.liquidity),
        );
    }
    if out.pairs.len() > top {
        let _ = writeln!(s, "  … {} more (--top N, or --json for all)", out.pairs.len() - top);
    }
    s
}

/// Run the subcommand.
pub fn run(args: &ScreenArgs) -> ExitCode {
    let mut legs = Vec::new();
    for path in &args.files {
        let ds = match load(path) {
            Ok(ds) => ds,
            Err(msg) => return fail(EXIT_INPUT, &msg),
        };
        for (symbol, bars) in &ds.symbols {
            let bars = match args.timeframe {
                Some(tf) => resample_bars(bars, tf),
                None => bars.clone(),
            };
            legs.push((path.display().to_string(), symbol.clone(), bars));
        }
    }
    match screen_legs(&legs, args.threads, &args.filter) {
        Ok(out) => {
            let top = args.top;
            if args.json {
                emit(true, &out, |_| String::new())
            } else {
                print!("{}", render(&out, top));
                ExitCode::SUCCESS
            }
        }
        Err(msg) => fail(EXIT_INPUT, &msg),
    }
}
