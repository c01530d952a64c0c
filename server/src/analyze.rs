//! `pairdesk analyze X.csv [Y.csv]`: batch analysis of one pair from OHLC CSV files (Binance
//! klines, generic long OHLCV, Yahoo), printed as a summary or as the JSON report;
//! `pairdesk analyze A.csv B.csv C.csv …` (3–12 files): the Johansen basket of the legs.
//!
//! Submodules: [`backtest`] (`pairdesk backtest`, which reads its files the same way), [`options`] (flags = API params), [`timeframe`] (resampling), [`pair`] (symbol
//! choice, join, report) and [`summary`] (human output). Exit codes: 0 success, 2 unusable
//! input (bad file, unknown symbol, too little overlap, bad option), 1 anything else.

pub mod backtest;
pub mod options;
pub mod pair;
pub mod screen;
pub mod summary;
pub mod timeframe;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use app::dataset::{parse_ohlc_csv, Dataset};
use clap::Args;

pub use options::AnalyzeOptions;
pub use pair::{
    analyze_basket_legs, analyze_legs, analyze_legs_with, pick_symbol, pick_two, Analysis, BasketAnalysis, PairError,
};

/// Flags of `pairdesk analyze`.
#[derive(Args, Debug, Clone)]
pub struct AnalyzeArgs {
    /// The x (independent) leg's CSV file, then the y (dependent) leg's. A single file holding
    /// exactly two symbols (generic OHLCV) gives both legs: x = first symbol in sorted order.
    /// Three to twelve files (one symbol each) make a basket: Johansen weights, the basket
    /// spread and its z-score, half-life, ADF, KPSS, variance ratio and Hurst.
    #[arg(required = true, num_args = 1..=12, value_name = "CSV")]
    pub files: Vec<PathBuf>,
    /// Print the report as one JSON object (golden key names) instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// With --json: include the per-bar arrays (spread, z-score, correlation, Kalman, equity).
    #[arg(long)]
    pub series: bool,
    /// Symbol of the x leg, when its file holds several.
    #[arg(long)]
    pub x_symbol: Option<String>,
    /// Symbol of the y leg, when its file holds several.
    #[arg(long)]
    pub y_symbol: Option<String>,
    #[command(flatten)]
    pub options: AnalyzeOptions,
}

/// Exit code for unusable input.
pub(crate) const EXIT_INPUT: u8 = 2;

pub(crate) fn fail(code: u8, msg: &str) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(code)
}

/// Read and parse one file; the error is the one-line message (file, line, column).
pub(crate) fn load(path: &std::path::Path) -> Result<Dataset, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("{shown}: cannot read the file: {e}"))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| shown.to_string());
    parse_ohlc_csv(&bytes, &name).map_err(|e| format!("{shown}: {e}"))
}

/// Run the subcommand.
pub fn run(args: &AnalyzeArgs) -> ExitCode {
    let mut sets = Vec::with_capacity(args.files.len());
    for path in &args.files {
        match load(path) {
            Ok(ds) => sets.push((path.display().to_string(), ds)),
            Err(msg) => return fail(EXIT_INPUT, &msg),
        }
    }
    if sets.len() >= 3 {
        let mut legs = Vec::with_capacity(sets.len());
        for (name, ds) in &sets {
            match pick_symbol(name, ds, None, "one file per leg (a basket takes the only symbol of each file)") {
                Ok(l) => legs.push(l),
                Err(e) => return fail(EXIT_INPUT, &e.to_string()),
            }
        }
        let analysis = match analyze_basket_legs(&legs, &args.options, args.json && args.series) {
            Ok(a) => a,
            Err(e) => return fail(EXIT_INPUT, &e.to_string()),
        };
        return emit(args.json, &analysis, summary::render_basket);
    }
    let legs = match sets.as_slice() {
        [(name, ds)] => pick_two(name, ds, args.x_symbol.as_deref(), args.y_symbol.as_deref()),
        [(xn, xd), (yn, yd)] => pick_symbol(xn, xd, args.x_symbol.as_deref(), "--x-symbol")
            .and_then(|x| Ok((x, pick_symbol(yn, yd, args.y_symbol.as_deref(), "--y-symbol")?))),
        _ => return fail(EXIT_INPUT, "give one file with two symbols, or two to twelve files"),
    };
    let analysis = match legs.and_then(|(x, y)| analyze_legs(x, y, &args.options, args.json && args.series)) {
        Ok(a) => a,
        Err(e) => return fail(EXIT_INPUT, &e.to_string()),
    };
    emit(args.json, &analysis, summary::render)
}

/// Print `value` as pretty JSON or as its summary; a closed pipe is not an error.
pub(crate) fn emit<T: serde::Serialize>(json: bool, value: &T, render: fn(&T) -> String) -> ExitCode {
    let out = if json {
        match serde_json::to_string_pretty(value) {
            Ok(s) => s + "\n",
            Err(e) => return fail(1, &format!("cannot serialise the report: {e}")),
        }
    } else {
        render(value)
    };
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(out.as_bytes()).and_then(|_| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => fail(1, &format!("cannot write the report: {e}")),
    }
}
