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
