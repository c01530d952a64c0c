//! Domain types of market data: what the rest of the server knows, whatever the source.

/// One aggregate trade of one symbol, validated (finite, positive price and quantity).
#[derive(Clone, Debug, PartialEq)]
pub struct Trade {
    /// Upper-case symbol, e.g. `BTCUSDT`.
    pub symbol: String,
    /// Aggregate trade id: consecutive per symbol on Binance.
    pub agg_id: u64,
    /// Trade time, epoch milliseconds.
    pub t_ms: i64,
    pub price: f64,
    pub qty: f64,
    pub buyer_is_maker: bool,
}

/// Wall-clock time, epoch milliseconds (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
