//! Command-line flags (clap). Every flag explains itself in `--help`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Default Binance USDⓈ-M futures WebSocket base: the routed `/market` path, where
/// aggTrade streams live since Binance split its hosts by traffic type.
pub const BINANCE_WS_URL: &str = "wss://fstream.binance.com/market";
/// Default Binance USDⓈ-M futures REST base.
pub const BINANCE_REST_URL: &str = "https://fapi.binance.com";

#[derive(Parser, Debug)]
#[command(name = "pairdesk", version, about = "Real-time pairs-trading analytics for Binance USDⓈ-M futures")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the web dashboard and ingest live trades.
    Serve(ServeArgs),
    /// Run a local fake Binance exchange (WebSocket streams) for tests, benchmarks and demos.
    FakeExchange(FakeExchangeArgs),
    /// Analyse one pair from OHLC CSV files (Binance klines, generic OHLCV, Yahoo): hedge ratios,
    /// ADF, cointegration, half-life, z-score, backtest. Exit code 2 on unusable input.
    Analyze(crate::analyze::AnalyzeArgs),
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to serve the dashboard on. Loopback by default: pairdesk has no authentication.
    #[arg(long, default_value = "127.0.0.1:3000", env = "PAIRDESK_BIND")]
    pub bind: SocketAddr,
    /// Directory of the sled database (created if missing).
    #[arg(long, default_value = "./data", env = "PAIRDESK_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Symbols to ingest, comma-separated; the first two form the pair shown (x, then y).
    #[arg(long, value_delimiter = ',', default_value = "btcusdt,ethusdt")]
    pub symbols: Vec<String>,
    /// Binance futures WebSocket base URL; `/stream?streams=…` is appended.
    #[arg(long, default_value = BINANCE_WS_URL, env = "PAIRDESK_BINANCE_WS_URL")]
    pub binance_ws_url: String,
    /// Binance futures REST base URL (used to backfill gaps).
    #[arg(long, default_value = BINANCE_REST_URL, env = "PAIRDESK_BINANCE_REST_URL")]
    pub binance_rest_url: String,
    /// Start a fake exchange in-process and ingest from it instead of Binance (works offline).
    #[arg(long)]
    pub demo: bool,
    /// Directory holding the Trunk-built browser bundle (`pkg/frontend.js`, `pkg/frontend_bg.wasm`).
    #[arg(long, default_value = "target/site", env = "PAIRDESK_SITE_ROOT")]
    pub site_root: PathBuf,
}

#[derive(Args, Debug, Clone)]
pub struct FakeExchangeArgs {
    /// Address to listen on (loopback only makes sense: it is a test double).
    #[arg(long, default_value = "127.0.0.1:9443")]
    pub bind: SocketAddr,
    /// Trades per second per symbol.
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Seed of the price paths: the same seed gives the same trades.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}
