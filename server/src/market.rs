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

/// The best bid and ask of one symbol at one moment, validated (finite, positive, bid < ask).
#[derive(Clone, Debug, PartialEq)]
pub struct Quote {
    /// Upper-case symbol.
    pub symbol: String,
    /// The exchange's order-book update id: increasing per symbol; an older one is stale.
    pub update_id: u64,
    /// Transaction time, epoch milliseconds.
    pub t_ms: i64,
    pub bid: f64,
    pub bid_qty: f64,
    pub ask: f64,
    pub ask_qty: f64,
}

impl Quote {
    /// Quoted spread in basis points of the mid price.
    pub fn spread_bps(&self) -> f64 {
        (self.ask - self.bid) / ((self.ask + self.bid) / 2.0) * 10_000.0
    }
}

/// One mark-price update of one symbol (Binance pushes one per second).
#[derive(Clone, Debug, PartialEq)]
pub struct MarkPrice {
    pub symbol: String,
    /// Event time, epoch milliseconds.
    pub t_ms: i64,
    pub mark: f64,
    pub index: f64,
    /// The funding rate the next settlement will use, as estimated now.
    pub funding_rate: f64,
    /// When the next settlement happens, epoch milliseconds.
    pub next_funding_ms: i64,
}

/// One funding settlement of one symbol: holders of a long position pay `rate × mark ×
/// quantity` to shorts (receive it when the rate is negative).
#[derive(Clone, Debug, PartialEq)]
pub struct FundingSettlement {
    pub symbol: String,
    /// Settlement time, epoch milliseconds, as the exchange reports it.
    pub t_ms: i64,
    pub rate: f64,
    pub mark: f64,
}
