//! Command-line flags (clap). Every flag explains itself in `--help`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Default Binance USDⓈ-M futures WebSocket base: the routed `/market` path, where
/// aggTrade streams live since Binance split its hosts by traffic type.
pub const BINANCE_WS_URL: &str = "wss://fstream.binance.com/market";
/// Default base of the routed `/public` path: best bid/ask (`@bookTicker`) lives there.
pub const BINANCE_PUBLIC_WS_URL: &str = "wss://fstream.binance.com/public";
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
    /// Cluster mode: ingest only, publishing every trade to NATS JetStream (`PAIRDESK_MARKET`).
    Ingest(crate::cluster::publish::IngestArgs),
    /// Run a local fake Binance exchange (WebSocket streams + REST) for tests, benchmarks and demos.
    FakeExchange(FakeExchangeArgs),
    /// Write stored ticks or bars as CSV (with a header) to stdout.
    Export(ExportArgs),
    /// Feed a recorded capture (NDJSON or Binance aggTrades/trades CSV) through the pipeline.
    Replay(ReplayArgs),
    /// Analyse one pair from OHLC CSV files (Binance klines, generic OHLCV, Yahoo): hedge ratios,
    /// ADF, cointegration, half-life, z-score, backtest. Exit code 2 on unusable input.
    Analyze(crate::analyze::AnalyzeArgs),
    /// Rank every pair of the symbols in OHLC CSV files: Engle–Granger p, Benjamini–Hochberg
    /// q over all pairs, half-life, Hurst, KPSS p, correlation, beta, liquidity.
    Screen(crate::analyze::screen::ScreenArgs),
    /// Backtest one pair from OHLC CSV files: causal hedge, next-bar fills, fees, slippage,
    /// bid/ask, funding, walk-forward, sweep. Exit code 2 on unusable input.
    Backtest(crate::analyze::backtest::BacktestArgs),
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to serve the dashboard on. Loopback by default: pairdesk has no authentication.
    #[arg(long, default_value = "127.0.0.1:3000", env = "PAIRDESK_BIND")]
    pub bind: SocketAddr,
    /// Extra names the dashboard may be reached by (`name` at the bound port, or `name:port`),
    /// comma-separated. Requests for any other Host are refused (DNS-rebinding defence); the
    /// loopback names and the bound IP are always allowed.
    #[arg(long, value_delimiter = ',', env = "PAIRDESK_ALLOW_HOST")]
    pub allow_host: Vec<String>,
    /// Webhook hosts that may resolve to loopback, private or link-local addresses
    /// (comma-separated). Others are refused there: a webhook must not reach the machine's
    /// or the LAN's internal services. Redirects are never followed.
    #[arg(long, value_delimiter = ',', env = "PAIRDESK_ALLOW_WEBHOOK_HOST")]
    pub allow_webhook_host: Vec<String>,
    /// Directory of the sled database (created if missing).
    #[arg(long, default_value = "./data", env = "PAIRDESK_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Symbols to ingest, comma-separated; the first two form the pair shown (x, then y).
    /// Default `btcusdt,ethusdt`; with `--demo`, every symbol of the demo exchange (eight).
    #[arg(long, value_delimiter = ',')]
    pub symbols: Option<Vec<String>>,
    /// Binance futures WebSocket base URL; `/stream?streams=…` is appended.
    #[arg(long, default_value = BINANCE_WS_URL, env = "PAIRDESK_BINANCE_WS_URL")]
    pub binance_ws_url: String,
    /// Binance futures WebSocket base of the routed `/public` path, where `@bookTicker`
    /// (best bid/ask) is served; `/stream?streams=…` is appended.
    #[arg(long, default_value = BINANCE_PUBLIC_WS_URL, env = "PAIRDESK_BINANCE_PUBLIC_WS_URL")]
    pub binance_public_ws_url: String,
    /// Binance futures REST base URL (used to backfill gaps).
    #[arg(long, default_value = BINANCE_REST_URL, env = "PAIRDESK_BINANCE_REST_URL")]
    pub binance_rest_url: String,
    /// Start a fake exchange in-process and ingest from it instead of Binance (works offline).
    #[arg(long, conflicts_with = "nats")]
    pub demo: bool,
    /// Cluster mode: read trades from NATS JetStream (`pairdesk ingest --nats` publishes them)
    /// instead of connecting to an exchange, e.g. `nats://127.0.0.1:4222`.
    #[arg(long, env = "PAIRDESK_NATS")]
    pub nats: Option<String>,
    /// Ticks older than this are deleted in the background (bars are kept): e.g. `7d`, `12h`, `0` = forever.
    #[arg(long, default_value = "30d", env = "PAIRDESK_TICK_RETENTION")]
    pub tick_retention: String,
    /// 1m klines history fetched at start (and for each symbol added) up to now, e.g. `7d`,
    /// `12h` (at most `366d`); `0` = off. A restart fetches only the minutes not yet stored.
    #[arg(long, default_value = "2d", env = "PAIRDESK_HISTORY")]
    pub history: String,
    /// Directory holding the Trunk-built browser bundle (`pkg/frontend.js`, `pkg/frontend_bg.wasm`).
    #[arg(long, default_value = "target/site", env = "PAIRDESK_SITE_ROOT")]
    pub site_root: PathBuf,
    /// Most alert rules stored (the Live slider's default rule counts); saving one more is
    /// refused with 409. Every rule is evaluated on each closed bar of its view.
    #[arg(long, default_value_t = 100, env = "PAIRDESK_MAX_ALERT_RULES")]
    pub max_alert_rules: usize,
    /// Most uploaded data sets stored; an upload past it is refused with 409.
    #[arg(long, default_value_t = 200, env = "PAIRDESK_MAX_DATASETS")]
    pub max_datasets: usize,
    /// Most bytes all stored data sets may take together (`512MiB`, `2GB`, `100000`); an
    /// upload past it is refused with 507.
    #[arg(long, default_value = "512MiB", env = "PAIRDESK_MAX_DATASET_BYTES")]
    pub max_dataset_bytes: ByteSize,
    /// Longest one `POST /api/analyze` or `GET /api/screener` may compute (`30s`, `500ms`,
    /// `2m`); past it the work is stopped and answered 504 `timeout`.
    #[arg(long, default_value = "30s", env = "PAIRDESK_ANALYSIS_TIMEOUT")]
    pub analysis_timeout: Timeout,
    /// Below this much free space in the data directory's filesystem the store takes no
    /// writes (ingest pauses, uploads and rule saves answer 507; deletes work) until space is
    /// back (`64MiB`, `1GiB`).
    #[arg(long, default_value = "64MiB", env = "PAIRDESK_MIN_FREE_SPACE")]
    pub min_free_space: ByteSize,
    /// sled's page cache: the database keeps up to about this much (more in practice, sled
    /// counts entries, not their allocations) of what it read or wrote in memory.
    #[arg(long, default_value = "64MiB", env = "PAIRDESK_DB_CACHE")]
    pub db_cache: ByteSize,
}

/// `"512 MiB"` → `("512", "MiB")`: the leading digits and the trimmed rest.
fn number_and_unit(text: &str) -> (&str, &str) {
    let text = text.trim();
    let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    (digits, unit.trim())
}

/// A positive duration: a number with `ms`, `s` or `m` (`s` when no unit), at most 1 hour.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timeout(pub std::time::Duration);

impl std::str::FromStr for Timeout {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (digits, unit) = number_and_unit(s);
        let millis: u64 = match unit {
            "ms" => 1,
            "s" | "" => 1_000,
            "m" => 60_000,
            _ => return Err(format!("`{s}`: unknown unit (use ms, s or m, e.g. 30s)")),
        };
        match digits.parse::<u64>().ok().and_then(|n| n.checked_mul(millis)) {
            Some(ms) if ms > 0 && ms <= 3_600_000 => Ok(Timeout(std::time::Duration::from_millis(ms))),
            _ => Err(format!("`{s}` is not a duration from 1ms to 60m such as 30s")),
        }
    }
}

/// A size in bytes: a number with an optional unit, `KB`/`MB`/`GB` (powers of 1000) or
/// `KiB`/`MiB`/`GiB` (powers of 1024); `B` or nothing = bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ByteSize(pub u64);

impl std::str::FromStr for ByteSize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (digits, unit) = number_and_unit(s);
        let scale: u64 = match unit.to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kb" | "k" => 1_000,
            "mb" | "m" => 1_000_000,
            "gb" | "g" => 1_000_000_000,
            "kib" => 1 << 10,
            "mib" => 1 << 20,
            "gib" => 1 << 30,
            _ => return Err(format!("`{s}`: unknown unit (use B, KB, MB, GB, KiB, MiB or GiB)")),
        };
        digits
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(scale))
            .map(ByteSize)
            .ok_or_else(|| format!("`{s}` is not a size such as 512MiB"))
    }
}

impl std::fmt::Display for ByteSize {
    /// In the largest unit that divides the size exactly (`512 MiB`, `2 GB`, `1234 bytes`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0;
        for (scale, unit) in [
            (1u64 << 30, "GiB"),
            (1_000_000_000, "GB"),
            (1 << 20, "MiB"),
            (1_000_000, "MB"),
            (1 << 10, "KiB"),
            (1_000, "KB"),
        ] {
            if n >= scale && n.is_multiple_of(scale) {
                return write!(f, "{} {unit}", n / scale);
            }
        }
        write!(f, "{n} bytes")
    }
}

#[derive(Args, Debug, Clone)]
pub struct FakeExchangeArgs {
    /// Address to listen on (loopback only makes sense: it is a test double).
    #[arg(long, default_value = "127.0.0.1:9443")]
    pub bind: SocketAddr,
    /// Trades per second per symbol, or `max` (as fast as the client drains the socket).
    #[arg(long, default_value = "20")]
    pub rate: Rate,
    /// Seed of the price paths: the same seed gives the same trades.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Stop generating after this many trades (all symbols together).
    #[arg(long)]
    pub max_trades: Option<u64>,
    /// Trades kept in memory per symbol (REST answers and lagging clients).
    #[arg(long, default_value_t = 500_000)]
    pub history_limit: usize,
    /// Best bid/ask updates sent on `/public` per trade (bookTicker load).
    #[arg(long, default_value_t = 1)]
    pub book_updates_per_trade: u64,
    /// Fault: drop every stream connection abruptly after this many seconds.
    #[arg(long)]
    pub disconnect_every: Option<f64>,
    /// Fault: drop every stream connection abruptly after sending this many trades.
    #[arg(long)]
    pub disconnect_after_trades: Option<u64>,
    /// Fault: probability per trade of a garbage/malformed/oversized frame before it.
    #[arg(long, default_value_t = 0.0)]
    pub garbage_prob: f64,
    /// Fault: probability per trade of sending it twice.
    #[arg(long, default_value_t = 0.0)]
    pub duplicate_prob: f64,
    /// Fault: stall every stream connection this often (seconds)…
    #[arg(long)]
    pub stall_every: Option<f64>,
    /// …for this long (seconds).
    #[arg(long, default_value_t = 0.0)]
    pub stall_for: f64,
    /// Fault: probability that a REST request is answered 429 with Retry-After.
    #[arg(long, default_value_t = 0.0)]
    pub rest_429_prob: f64,
    /// Retry-After seconds sent with injected 429s.
    #[arg(long, default_value_t = 1)]
    pub retry_after: u64,
    /// How far back REST klines go before the simulation starts (a seeded 1m path that ends at
    /// the first live price), e.g. `7d`; `0` = none.
    #[arg(long, default_value = "2d")]
    pub history: String,
    /// Funding interval in milliseconds of even symbols (odd ones settle twice as often);
    /// default 8 h. Tests use seconds so settlements happen while they run.
    #[arg(long)]
    pub funding_interval_ms: Option<i64>,
    /// Fault: probability, per book update, of first sending a bad one (crossed, zero,
    /// stale update id, truncated, NaN).
    #[arg(long, default_value_t = 0.0)]
    pub book_bad_prob: f64,
    /// Fault: drop every `/public` (book) connection abruptly after this many seconds.
    #[arg(long)]
    pub public_disconnect_every: Option<f64>,
    /// Fault: refuse every `/public` connection (`/market` keeps working).
    #[arg(long)]
    pub public_down: bool,
}

/// A trade rate: a positive number per second, or `max`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate(pub f64);

impl std::str::FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("max") {
            return Ok(Rate(f64::INFINITY));
        }
        match s.parse::<f64>() {
            Ok(r) if r.is_finite() && r > 0.0 => Ok(Rate(r)),
            _ => Err(format!("`{s}` is not a positive rate or `max`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ByteSize, Timeout};

    #[test]
    fn byte_sizes_parse_with_units_and_print_back() {
        for (text, bytes, shown) in [
            ("512MiB", 512 << 20, "512 MiB"),
            ("2GB", 2_000_000_000, "2 GB"),
            ("100000", 100_000, "100 KB"),
            ("1234 b", 1234, "1234 bytes"),
            ("1KiB", 1024, "1 KiB"),
        ] {
            let size: ByteSize = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!((size.0, size.to_string().as_str()), (bytes, shown), "{text}");
        }
        for bad in ["", "MB", "12 parsecs", "-1MB", "99999999999999999999GB"] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn timeouts_parse_with_units_and_refuse_zero_and_huge() {
        for (text, ms) in [("30s", 30_000), ("500ms", 500), ("2m", 120_000), ("7", 7_000)] {
            let timeout: Timeout = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(timeout.0.as_millis(), ms, "{text}");
        }
        for bad in ["", "0s", "s", "1h", "61m", "-1s", "99999999999999999999m"] {
            assert!(bad.parse::<Timeout>().is_err(), "{bad:?} parsed");
        }
    }
}

/// What `pairdesk export` writes.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum ExportKind {
    /// symbol, agg_id, time_ms, price, qty, buyer_is_maker
    Ticks,
    /// time_ms, open, high, low, close, volume, count
    Bars,
    /// Best bid/ask bars (1s, 1m, 5m): time_ms, bid, ask, spread_bps, updates, book_gap
    Book,
    /// Funding settlements: symbol, funding_time_ms, funding_rate, mark_price
    Funding,
}

#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    pub kind: ExportKind,
    /// Symbol, e.g. BTCUSDT (case-insensitive).
    #[arg(long)]
    pub symbol: String,
    /// Bar interval for `bars`: 1s, 1m, 5m (stored) or any `<n>s|m|h` (computed from ticks).
    #[arg(long, default_value = "1m")]
    pub interval: String,
    /// Start (inclusive): epoch milliseconds or ISO-8601 (`2026-03-01`, `2026-03-01T12:00:00Z`).
    #[arg(long)]
    pub from: Option<String>,
    /// End (exclusive): epoch milliseconds or ISO-8601.
    #[arg(long)]
    pub to: Option<String>,
    /// Directory of the sled database.
    #[arg(long, default_value = "./data", env = "PAIRDESK_DATA_DIR")]
    pub data_dir: PathBuf,
}

#[derive(Args, Debug, Clone)]
pub struct ReplayArgs {
    /// NDJSON (`{"symbol","ts","price","size"}` per line) or Binance aggTrades/trades CSV.
    pub file: PathBuf,
    /// Pace: `max` (as fast as possible) or a multiple of real time such as `10x`.
    #[arg(long, default_value = "max")]
    pub speed: String,
    /// Symbol of a CSV dump (default: the file name's prefix, e.g. `BTCUSDT-aggTrades-…`).
    #[arg(long)]
    pub symbol: Option<String>,
    /// Directory of the sled database.
    #[arg(long, default_value = "./data", env = "PAIRDESK_DATA_DIR")]
    pub data_dir: PathBuf,
}
