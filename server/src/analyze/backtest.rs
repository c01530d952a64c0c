//! `pairdesk backtest X.csv Y.csv`: the backtest of `app::analytics::backtest` on two OHLC files
//! (read, resampled and inner-joined exactly as `pairdesk analyze` does), optionally with each
//! leg's funding settlements and bid/ask, as a summary or as JSON (`params`, `metrics`, `trades`,
//! `equity`, `folds`, `lookahead`; with `--sweep`, `params`, `lookahead` and `sweep`).
//!
//! Side files are matched to the bars like this: a book row belongs to the bar with the same
//! open time (the quote at that bar's close, as `pairdesk export book` labels it); bars without
//! one fill at the close ± slippage. A funding settlement without a mark price (the public
//! archive's `calc_time,funding_interval_hours,last_funding_rate`) is marked at the close of the
//! last bar that closed at or before the settlement (bar open + bar length ≤ settlement time);
//! settlements before the first such bar are dropped (no position can be open then).
//!
//! Exit codes as `analyze`: 0 success, 2 unusable input (a bad file — with its line and column —,
//! unknown symbol, too little overlap, a parameter the data cannot support), 1 anything else.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use app::analytics::backtest::{
    run_backtest, sweep, BacktestParams, Fill, Hedge, LegData, Market, SweepSpec, WalkForward,
};
use app::analytics::kalman::KalmanParams;
use app::dataset::{book_per_bar, funding_with_marks, inner_join, parse_book_csv, parse_funding_csv};
use clap::{Args, ValueEnum};
use serde::Serialize;

use super::pair::{pick_symbol, pick_two, Leg, PairError};
use super::summary::{num as summary_num, opt};
use super::timeframe::{resample_bars, Timeframe};
use super::{fail, load, EXIT_INPUT};

/// `--hedge`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum HedgeArg {
    /// OLS over the trailing hedge window, refitted every bar.
    RollingOls,
    /// Kalman-filtered hedge (the state after each bar).
    Kalman,
    /// OLS on the first --train bars; trading starts after them.
    Static,
    /// Total least squares (orthogonal) over the trailing hedge window, refitted every bar.
    RollingTls,
}

/// `--fill`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FillArg {
    /// The next bar's close (honest).
    Next,
    /// The signal bar's own close (look-ahead; flagged in the output).
    Same,
}

/// Flags of `pairdesk backtest` (methodology: docs/methodology.md#backtest).
#[derive(Args, Debug, Clone)]
pub struct BacktestArgs {
    /// The x (independent) leg's CSV file, then the y (dependent) leg's; one generic OHLCV file
    /// holding exactly two symbols gives both.
    #[arg(required = true, num_args = 1..=2, value_name = "CSV")]
    pub files: Vec<PathBuf>,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Symbol of the x leg, when its file holds several.
    #[arg(long)]
    pub x_symbol: Option<String>,
    /// Symbol of the y leg, when its file holds several.
    #[arg(long)]
    pub y_symbol: Option<String>,
    /// Bar interval (e.g. 1m, 5m, 1h): bars are resampled to it (last close per bucket) and it
    /// annualises the Sharpe. Default: the files' own bars, length = median spacing.
    #[arg(long)]
    pub interval: Option<Timeframe>,
    /// Hedge estimated with bars up to t only.
    #[arg(long, value_enum, default_value_t = HedgeArg::RollingOls)]
    pub hedge: HedgeArg,
    /// Rolling OLS window in bars (default: the z window).
    #[arg(long)]
    pub hedge_window: Option<usize>,
    /// Static hedge: fit on the first N bars; trading starts at bar N.
    #[arg(long)]
    pub train: Option<usize>,
    /// Spreads in the rolling z mean / std (ddof 1).
    #[arg(long, default_value_t = 60)]
    pub z_window: usize,
    /// Enter short when z > entry, long when z < −entry.
    #[arg(long, default_value_t = 2.0)]
    pub entry: f64,
    /// Exit a short when z ≤ exit, a long when z ≥ −exit.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub exit: f64,
    /// Stop a short when z ≥ S, a long when z ≤ −S (S > entry).
    #[arg(long)]
    pub stop_z: Option<f64>,
    /// Close a position after this many bars.
    #[arg(long)]
    pub max_hold: Option<usize>,
    /// Fill at the next bar's close or (look-ahead) the signal bar's.
    #[arg(long, value_enum, default_value_t = FillArg::Next)]
    pub fill: FillArg,
    /// Fee per leg per fill, basis points of the filled notional (4 = Binance taker).
    #[arg(long, default_value_t = 4.0)]
    pub fee_bps: f64,
    /// Adverse price move per fill, basis points (on top of bid/ask when known).
    #[arg(long, default_value_t = 0.0)]
    pub slippage_bps: f64,
    /// Quote-currency notional of the y leg at entry.
    #[arg(long, default_value_t = 10_000.0)]
    pub notional: f64,
    /// Kalman transition noise delta (0 < delta < 1), for --hedge kalman.
    #[arg(long, default_value_t = 1e-4)]
    pub kalman_delta: f64,
    /// Kalman observation noise variance, for --hedge kalman.
    #[arg(long, default_value_t = 1e-3)]
    pub kalman_ve: f64,
    /// Walk-forward folds `TRAIN,TEST` (bars): static hedge and z mean/std fitted on TRAIN,
    /// traded on TEST; replaces --hedge.
    #[arg(long, value_name = "TRAIN,TEST")]
    pub walk_forward: Option<String>,
    /// Parameter sweep, e.g. `entry=1.0:3.5:0.25,window=30,60,120,240` (ranges `a:b:step` or lists).
    #[arg(long, value_name = "SPEC")]
    pub sweep: Option<String>,
    /// Funding settlements of the x leg (Binance REST `fundingTime,fundingRate,markPrice` or the
    /// archive's `calc_time,funding_interval_hours,last_funding_rate`).
    #[arg(long, value_name = "CSV")]
    pub funding_x: Option<PathBuf>,
    /// Funding settlements of the y leg (same formats).
    #[arg(long, value_name = "CSV")]
    pub funding_y: Option<PathBuf>,
    /// Bid/ask of the x leg per bar: `time,bid,ask`.
    #[arg(long, value_name = "CSV")]
    pub book_x: Option<PathBuf>,
    /// Bid/ask of the y leg per bar: `time,bid,ask`.
    #[arg(long, value_name = "CSV")]
    pub book_y: Option<PathBuf>,
}

/// `TRAIN,TEST`.
pub(crate) fn parse_walk_forward(s: &str) -> Result<WalkForward, String> {
    let bad = || format!("--walk-forward {s}: expected TRAIN,TEST in bars, e.g. 2000,500");
    let (a, b) = s.split_once(',').ok_or_else(bad)?;
    Ok(WalkForward { train: a.trim().parse().map_err(|_| bad())?, test: b.trim().parse().map_err(|_| bad())? })
}

/// A list of numbers, or one `start:stop:step` range.
fn parse_values(key: &str, values: &[&str]) -> Result<Vec<f64>, String> {
    let bad = |v: &str| format!("--sweep {key}: '{v}' is not a number or a start:stop:step range");
    if let [one] = values {
        let parts: Vec<&str> = one.split(':').collect();
        if parts.len() == 3 {
            let n: Vec<f64> = parts.iter().map(|p| p.trim().parse().map_err(|_| bad(one))).collect::<Result<_, _>>()?;
            return SweepSpec::range(n[0], n[1], n[2]).map_err(|e| format!("--sweep {key}: {e}"));
        }
    }
    values.iter().map(|v| v.trim().parse::<f64>().map_err(|_| bad(v))).collect()
}

/// `entry=1.0:3.5:0.25,window=30,60,120,240` → the grid (a missing key keeps the single value of
/// the other flags).
fn parse_sweep(s: &str, p: &BacktestParams) -> Result<SweepSpec, String> {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for token in s.split(',') {
        match token.split_once('=') {
            Some((k, v)) => groups.push((k.trim(), vec![v])),
            None => match groups.last_mut() {
                Some((_, vs)) => vs.push(token),
                None => return Err(format!("--sweep {s}: expected key=values, e.g. entry=1.0:3.5:0.25,window=30,60")),
            },
        }
    }
    let mut spec = SweepSpec { entries: vec![p.entry], windows: vec![p.z_window] };
    for (key, values) in groups {
        let v = parse_values(key, &values)?;
        match key {
            "entry" => spec.entries = v,
            "window" => {
                spec.windows = v
                    .iter()
                    .map(|w| {
                        (w.fract() == 0.0 && *w >= 1.0 && *w <= usize::MAX as f64)
                            .then_some(*w as usize)
                            .ok_or_else(|| format!("--sweep window: {w} is not a whole number of bars"))
                    })
                    .collect::<Result<_, _>>()?
            }
            other => return Err(format!("--sweep: unknown key '{other}' (entry, window)")),
        }
    }
    Ok(spec)
}

impl BacktestArgs {
    /// The engine parameters of these flags.
    pub fn params(&self) -> Result<BacktestParams, String> {
        Ok(BacktestParams {
            hedge: match self.hedge {
                HedgeArg::RollingOls => Hedge::RollingOls,
                HedgeArg::Kalman => Hedge::Kalman,
                HedgeArg::Static => Hedge::Static,
                HedgeArg::RollingTls => Hedge::RollingTls,
            },
            hedge_window: self.hedge_window,
            train: self.train,
            z_window: self.z_window,
            entry: self.entry,
            exit: self.exit,
            stop_z: self.stop_z,
            max_hold: self.max_hold,
            fill: match self.fill {
                FillArg::Next => Fill::Next,
                FillArg::Same => Fill::Same,
            },
            fee_bps: self.fee_bps,
            slippage_bps: self.slippage_bps,
            notional: self.notional,
            kalman: KalmanParams { delta: self.kalman_delta, Ve: self.kalman_ve, ..KalmanParams::default() },
            bar_seconds: self.interval.map(|tf| tf.ms() as f64 / 1000.0),
            walk_forward: self.walk_forward.as_deref().map(parse_walk_forward).transpose()?,
        })
    }
}

/// Read a side file with `parse`; the error names the file, line and column.
fn side_file<T>(path: &Path, parse: fn(&[u8]) -> Result<Vec<T>, app::dataset::CsvError>) -> Result<Vec<T>, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("{shown}: cannot read the file: {e}"))?;
    parse(&bytes).map_err(|e| format!("{shown}: {e}"))
}

/// The output of `--sweep`.
#[derive(Serialize)]
struct SweepOutput {
    params: BacktestParams,
    lookahead: bool,
    sweep: app::analytics::backtest::SweepResult,
}

/// Run the subcommand.
pub fn run(args: &BacktestArgs) -> ExitCode {
    match output(args) {
        Ok(text) => {
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(text.as_bytes()).and_then(|_| stdout.flush()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => fail(1, &format!("cannot write the result: {e}")),
            }
        }
        Err((code, msg)) => fail(code, &msg),
    }
}

/// Everything but the writing: the text to print, or an exit code with its message.
fn output(args: &BacktestArgs) -> Result<String, (u8, String)> {
    let input = |m: String| (EXIT_INPUT, m);
    let params = args.params().map_err(|e| input(format!("invalid option: {e}")))?;
    let mut sets = Vec::with_capacity(args.files.len());
    for path in &args.files {
        sets.push((path.display().to_string(), load(path).map_err(input)?));
    }
    let legs = match sets.as_slice() {
        [(name, ds)] => pick_two(name, ds, args.x_symbol.as_deref(), args.y_symbol.as_deref()),
        [(xn, xd), (yn, yd)] => pick_symbol(xn, xd, args.x_symbol.as_deref(), "--x-symbol")
            .and_then(|x| Ok((x, pick_symbol(yn, yd, args.y_symbol.as_deref(), "--y-symbol")?))),
        _ => return Err(input("give one file with two symbols, or two files".into())),
    };
    let (x, y): (Leg<'_>, Leg<'_>) = legs.map_err(|e| input(e.to_string()))?;
    let (xb, yb) = match args.interval {
        Some(tf) => (resample_bars(x.bars, tf), resample_bars(y.bars, tf)),
        None => (x.bars.to_vec(), y.bars.to_vec()),
    };
    let (t, xs, ys) = inner_join(&xb, &yb);
    if t.len() < 2 {
        return Err(input(
            PairError::Overlap {
                x_symbol: x.symbol.to_string(),
                x_rows: xb.len(),
                y_symbol: y.symbol.to_string(),
                y_rows: yb.len(),
                common: t.len(),
                tf: args.interval.map(|tf| format!(" at {tf}")).unwrap_or_default(),
            }
            .to_string()
            .replace(&format!("at least {} are needed", super::pair::MIN_OVERLAP), "at least 2 are needed"),
        ));
    }
    let read_book = |p: &Option<PathBuf>| p.as_deref().map(|p| side_file(p, parse_book_csv)).transpose();
    let read_funding = |p: &Option<PathBuf>| p.as_deref().map(|p| side_file(p, parse_funding_csv)).transpose();
    let (book_x, book_y) = (read_book(&args.book_x).map_err(input)?, read_book(&args.book_y).map_err(input)?);
    let (fund_x, fund_y) =
        (read_funding(&args.funding_x).map_err(input)?, read_funding(&args.funding_y).map_err(input)?);
    let closes = Market::closes(&t, &xs, &ys);
    let bar_ms = closes.bar_ms(params.bar_seconds).unwrap_or(1); // t has >= 2 bars here
    let bx = book_x.map(|rows| book_per_bar(&t, &rows));
    let by = book_y.map(|rows| book_per_bar(&t, &rows));
    let fx = fund_x.map(|rows| funding_with_marks(&t, &xs, bar_ms, &rows)).unwrap_or_default();
    let fy = fund_y.map(|rows| funding_with_marks(&t, &ys, bar_ms, &rows)).unwrap_or_default();
    let market = Market {
        t: &t,
        x: LegData { close: &xs, book: bx.as_deref(), funding: &fx },
        y: LegData { close: &ys, book: by.as_deref(), funding: &fy },
    };
    let engine = |e: app::analytics::AnalyticsError| input(format!("backtest: {e}"));
    let lookahead = params.fill == Fill::Same;
    if let Some(spec) = &args.sweep {
        let spec = parse_sweep(spec, &params).map_err(|e| input(format!("invalid option: {e}")))?;
        let grid = sweep(&market, &params, &spec).map_err(engine)?;
        if args.json {
            return json(&SweepOutput { params, lookahead, sweep: grid });
        }
        let mut out = format!("Sweep of {} × {} ({} bars); sharpe / total pnl\n", x.symbol, y.symbol, t.len());
        for row in &grid.rows {
            out.push_str(&format!("window {:>5}:", row.window));
            match &row.error {
                Some(e) => out.push_str(&format!(" {e}")),
                None => {
                    for c in &row.cells {
                        let sharpe = c.sharpe.map_or_else(|| "n/a".into(), |s| format!("{s:.2}"));
                        out.push_str(&format!("  {:.2}: {sharpe} / {:.2}", c.entry, c.total_pnl));
                    }
                }
            }
            out.push('\n');
        }
        return Ok(out);
    }
    let result = run_backtest(&market, &params).map_err(engine)?;
    if args.json {
        return json(&result);
    }
    let m = &result.metrics;
    let mut out = format!(
        "Backtest of y = {} on x = {} ({} bars, {} hedge{})\n",
        y.symbol,
        x.symbol,
        t.len(),
        if params.walk_forward.is_some() { "walk-forward static" } else { params.hedge.as_str() },
        if lookahead { ", LOOK-AHEAD: same-bar fills" } else { "" }
    );
    for (k, v) in [
        ("trades", m.n_trades.to_string()),
        ("win rate", opt(m.win_rate)),
        ("gross pnl", summary_num(m.gross_pnl)),
        ("fees", summary_num(m.fees)),
        ("funding", summary_num(m.funding)),
        ("total pnl", summary_num(m.total_pnl)),
        ("max drawdown", summary_num(m.max_drawdown)),
        ("sharpe", opt(m.sharpe)),
        ("exposure", opt(m.exposure)),
        ("turnover", summary_num(m.turnover)),
    ] {
        out.push_str(&format!("  {k:<14} {v}\n"));
    }
    Ok(out)
}

fn json<T: Serialize>(v: &T) -> Result<String, (u8, String)> {
    serde_json::to_string_pretty(v).map(|s| s + "\n").map_err(|e| (1, format!("cannot serialise the result: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_and_walk_forward_specs() {
        let p = BacktestParams::default();
        let s = parse_sweep("entry=1.0:3.5:0.25,window=30,60,120,240", &p).expect("spec");
        assert_eq!(s.entries.len(), 11);
        assert_eq!(s.windows, vec![30, 60, 120, 240]);
        let s = parse_sweep("window=20:40:10", &p).expect("range of windows");
        assert_eq!((s.entries, s.windows), (vec![2.0], vec![20, 30, 40]));
        assert!(parse_sweep("entry=a", &p).is_err());
        assert!(parse_sweep("window=2.5", &p).is_err());
        assert!(parse_sweep("zwindow=3", &p).is_err());
        assert!(parse_sweep("30,60", &p).is_err());
        assert_eq!(parse_walk_forward("2000, 500"), Ok(WalkForward { train: 2000, test: 500 }));
        assert!(parse_walk_forward("2000").is_err());
    }
}
