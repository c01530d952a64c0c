//! The fake exchange's klines: `GET /fapi/v1/klines` with Binance's parameters, limits
//! (default 500, at most 1 500) and error bodies, answering from two sources that join
//! without a jump:
//!
//! - [`KlineHistory`]: a seeded synthetic 1m path going back at least
//!   [`super::FakeConfig::kline_history_ms`] before the simulation started, generated
//!   **backwards** from the prices the live simulation starts at (BTC a random walk, ETH
//!   `beta · BTC + alpha +` an Ornstein–Uhlenbeck spread that ends at 0, as live), so the
//!   last historical close is the first live price;
//! - the live trade history, resampled with the shared bar builder (minutes since the start).
//!
//! Rows are encoded here with `serde_json::json!`, field by field, never with the ingest's
//! wire types, so a field typo cannot be written once and pass on both ends.

use std::collections::HashMap;

use app::analytics::resample::{bar_start, BarBuilder, Tick};
use axum::extract::{Query, State};
use axum::response::Response;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::market::{round_to_decimals, spec_decimals, SymbolSpec};
use super::rest::{bad_request, limit, number, respond, symbol, Reject};
use super::FakeExchange;
use crate::market::{now_ms, Trade};

pub const KLINES_DEFAULT_LIMIT: usize = 500;
pub const KLINES_MAX_LIMIT: usize = 1_500;
const MINUTE_MS: i64 = 60_000;
/// The per-minute volatility of a synthetic path is the per-trade one times this (as if
/// about one trade a second moved the price).
const MINUTE_VOL_FACTOR: f64 = 8.0;

/// One kline as the fake knows it (before encoding).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Kline {
    t: i64,
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: f64,
    quote_volume: f64,
    trades: u64,
    taker_base: f64,
    taker_quote: f64,
}

impl Kline {
    /// Folds a later kline of the same bucket into this one.
    fn absorb(&mut self, later: &Kline) {
        self.high = self.high.max(later.high);
        self.low = self.low.min(later.low);
        self.close = later.close;
        self.volume += later.volume;
        self.quote_volume += later.quote_volume;
        self.trades += later.trades;
        self.taker_base += later.taker_base;
        self.taker_quote += later.taker_quote;
    }

    /// Binance's row: `[openTime,"open","high","low","close","volume",closeTime,
    /// "quoteVolume",trades,"takerBuyBase","takerBuyQuote","ignore"]`.
    fn encode(&self, interval_ms: i64) -> Value {
        let text = |v: f64| format!("{v}");
        json!([
            self.t,
            text(self.open),
            text(self.high),
            text(self.low),
            text(self.close),
            text(round_to_decimals(self.volume, 3)),
            self.t + interval_ms - 1,
            text(round_to_decimals(self.quote_volume, 4)),
            self.trades,
            text(round_to_decimals(self.taker_base, 3)),
            text(round_to_decimals(self.taker_quote, 4)),
            "0"
        ])
    }
}

/// The synthetic minutes before the live simulation: per symbol, the close of every minute
/// in `[first_ms, live_ms)`; the rest of each bar is derived from a hash of its minute.
pub struct KlineHistory {
    first_ms: i64,
    /// Open time of the minute the live simulation starts in (first minute not synthetic).
    live_ms: i64,
    seed: u64,
    specs: Vec<SymbolSpec>,
    closes: Vec<Vec<f64>>,
}

impl KlineHistory {
    /// At least `depth_ms` of minutes before `start_ms`, ending at the specs' start prices.
    pub fn generate(specs: &[SymbolSpec], seed: u64, start_ms: i64, depth_ms: i64) -> Self {
        let live_ms = bar_start(start_ms, MINUTE_MS);
        let minutes = (depth_ms.max(0) as u64).div_ceil(MINUTE_MS as u64) as usize;
        let mut rng = StdRng::seed_from_u64(seed ^ 0x6b6c_696e_6573);
        let mut normal = move || {
            let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
            let u2: f64 = rng.random();
            (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
        };
        let mut closes: Vec<Vec<f64>> = vec![Vec::new(); specs.len()];
        // Leaders first (followers are built on them), each walked back from its start price.
        for (i, spec) in specs.iter().enumerate().filter(|(_, s)| s.follows.is_none()) {
            let vol = spec.step_vol * MINUTE_VOL_FACTOR;
            let mut path = vec![spec.start_price; minutes];
            for k in (0..minutes.saturating_sub(1)).rev() {
                path[k] = (path[k + 1] * (-vol * normal()).exp()).max(spec.tick);
            }
            closes[i] = path;
        }
        for (i, spec) in specs.iter().enumerate() {
            let Some(follow) = &spec.follows else { continue };
            let leader = closes.get(follow.leader).cloned().unwrap_or_else(|| vec![spec.start_price; minutes]);
            let mut path = vec![0.0; minutes];
            // The live spread starts at 0; an AR(1) run backwards is the same process.
            let mut spread = 0.0;
            for k in (0..minutes).rev() {
                path[k] = (follow.beta * leader[k] + follow.alpha + spread).max(spec.tick);
                spread = (1.0 - follow.reversion) * spread + follow.noise * normal();
            }
            closes[i] = path;
        }
        for (path, spec) in closes.iter_mut().zip(specs) {
            let decimals = spec_decimals(spec.tick);
            for close in path.iter_mut() {
                *close = round_to_decimals(((*close / spec.tick).round() * spec.tick).max(spec.tick), decimals);
            }
        }
        let first_ms = live_ms - MINUTE_MS * minutes as i64;
        Self { first_ms, live_ms, seed, specs: specs.to_vec(), closes }
    }

    /// Open time of the oldest synthetic minute.
    pub fn first_ms(&self) -> i64 {
        self.first_ms
    }

    /// Open time of the first minute that is not synthetic (the live simulation's).
    pub fn live_ms(&self) -> i64 {
        self.live_ms
    }

    /// Close of the newest synthetic minute of symbol number `index`.
    pub fn last_close(&self, index: usize) -> Option<f64> {
        self.closes.get(index).and_then(|path| path.last().copied())
    }

    /// A uniform draw in [0, 1) fixed by (seed, symbol, minute, salt).
    fn unit(&self, index: usize, minute: usize, salt: u64) -> f64 {
        let mut z = self.seed ^ (index as u64).rotate_left(48) ^ (minute as u64).rotate_left(8) ^ salt;
        // splitmix64
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The synthetic 1m kline of symbol `index` opening at `t` (inside the history).
    fn minute(&self, index: usize, t: i64) -> Option<Kline> {
        let path = self.closes.get(index)?;
        let spec = self.specs.get(index)?;
        let k = usize::try_from((t - self.first_ms).div_euclid(MINUTE_MS)).ok()?;
        let close = *path.get(k)?;
        let open = if k == 0 { close } else { path[k - 1] };
        let decimals = spec_decimals(spec.tick);
        let wiggle = spec.step_vol.max(1e-4) * MINUTE_VOL_FACTOR * 0.5;
        let high = round_to_decimals(
            (open.max(close) * (1.0 + wiggle * self.unit(index, k, 1)) / spec.tick).ceil() * spec.tick,
            decimals,
        );
        let low = round_to_decimals(
            ((open.min(close) * (1.0 - wiggle * self.unit(index, k, 2)) / spec.tick).floor() * spec.tick)
                .max(spec.tick),
            decimals,
        );
        let trades = 20 + (self.unit(index, k, 3) * 100.0) as u64;
        let volume = spec.qty_scale * trades as f64 * (0.5 + self.unit(index, k, 4));
        let taker = volume * self.unit(index, k, 5);
        let mid = (open + close) / 2.0;
        Some(Kline {
            t,
            open,
            high: high.max(open.max(close)),
            low: low.min(open.min(close)),
            close,
            volume,
            quote_volume: volume * mid,
            trades,
            taker_base: taker,
            taker_quote: taker * mid,
        })
    }

    /// Synthetic klines of symbol `index` at `interval_ms` opening in `[lo, hi]`.
    fn klines(&self, index: usize, interval_ms: i64, lo: i64, hi: i64) -> Vec<Kline> {
        let from = lo.max(self.first_ms);
        let to = hi.saturating_add(interval_ms).min(self.live_ms);
        let mut out: Vec<Kline> = Vec::new();
        let mut t = bar_start(from, MINUTE_MS);
        while t < to {
            if let Some(mut minute) = self.minute(index, t) {
                let bucket = bar_start(t, interval_ms);
                match out.last_mut() {
                    Some(last) if last.t == bucket => last.absorb(&minute),
                    _ => {
                        minute.t = bucket;
                        out.push(minute);
                    }
                }
            }
            t += MINUTE_MS;
        }
        out
    }
}

/// Binance kline interval names → milliseconds.
fn interval_ms(name: &str) -> Option<i64> {
    Some(match name {
        "1m" => MINUTE_MS,
        "3m" => 3 * MINUTE_MS,
        "5m" => 5 * MINUTE_MS,
        "15m" => 15 * MINUTE_MS,
        "30m" => 30 * MINUTE_MS,
        "1h" => 60 * MINUTE_MS,
        "2h" => 120 * MINUTE_MS,
        "4h" => 240 * MINUTE_MS,
        "6h" => 360 * MINUTE_MS,
        "8h" => 480 * MINUTE_MS,
        "12h" => 720 * MINUTE_MS,
        "1d" => 1_440 * MINUTE_MS,
        _ => return None,
    })
}

/// `GET /fapi/v1/klines?symbol=&interval=&startTime=&endTime=&limit=`.
pub async fn klines(State(exchange): State<FakeExchange>, Query(params): Query<HashMap<String, String>>) -> Response {
    respond(&exchange, || answer(&exchange, &params))
}

/// Selects by open time like Binance: from `startTime` on (the first `limit`), else the
/// newest `limit` up to `endTime` (default now); the bar still forming is included.
fn answer(exchange: &FakeExchange, params: &HashMap<String, String>) -> Result<Vec<Value>, Reject> {
    let symbol = symbol(exchange, params)?;
    let interval = match params.get("interval").filter(|i| !i.is_empty()) {
        None => {
            return Err(bad_request(
                -1102,
                "Mandatory parameter 'interval' was not sent, was empty/null, or malformed.",
            ))
        }
        Some(name) => interval_ms(name).ok_or_else(|| bad_request(-1120, "Invalid interval."))?,
    };
    let limit = limit(params, KLINES_DEFAULT_LIMIT, KLINES_MAX_LIMIT)?;
    let start: Option<i64> = number(params, "startTime")?;
    let end: Option<i64> = number(params, "endTime")?;
    if let (Some(s), Some(e)) = (start, end) {
        if s > e {
            return Err(bad_request(-1023, "Start time is greater than end time."));
        }
    }
    let span = interval * (limit as i64 - 1);
    let mut hi = bar_start(end.unwrap_or_else(now_ms), interval);
    let lo = match start {
        Some(s) => bar_start(s.saturating_add(interval - 1), interval),
        None => hi.saturating_sub(span),
    };
    hi = hi.min(lo.saturating_add(span));
    let index = exchange.config().symbols.iter().position(|s| s.symbol == symbol);
    let mut rows = index.map(|i| exchange.kline_history().klines(i, interval, lo, hi)).unwrap_or_default();
    let live_from = lo.max(exchange.kline_history().live_ms());
    let trades = exchange.history().in_time_range(&symbol, live_from, hi.saturating_add(interval - 1));
    for kline in from_trades(&trades, interval) {
        match rows.last_mut() {
            // The bucket the simulation started in: synthetic minutes, then live trades.
            Some(last) if last.t == kline.t => last.absorb(&kline),
            _ => rows.push(kline),
        }
    }
    rows.retain(|k| k.t >= lo && k.t <= hi);
    if start.is_some() {
        rows.truncate(limit);
    } else if rows.len() > limit {
        rows.drain(..rows.len() - limit);
    }
    Ok(rows.iter().map(|k| k.encode(interval)).collect())
}

/// Klines of live trades (in time order) with the shared resampler, plus the quote and
/// taker-buy volumes it does not track.
fn from_trades(trades: &[Trade], interval: i64) -> Vec<Kline> {
    let Ok(mut builder) = BarBuilder::new(interval) else { return Vec::new() };
    let mut out = Vec::new();
    // Quote volume, taker-buy base and quote volume of the bar under construction.
    let mut extra = (0.0, 0.0, 0.0);
    let kline = |b: app::analytics::resample::Bar, (quote, taker, taker_quote): (f64, f64, f64)| Kline {
        t: b.t,
        open: b.open,
        high: b.high,
        low: b.low,
        close: b.close,
        volume: b.volume,
        quote_volume: quote,
        trades: b.count,
        taker_base: taker,
        taker_quote,
    };
    for trade in trades {
        let Ok(update) = builder.push(Tick { t: trade.t_ms, price: trade.price, qty: trade.qty }) else { continue };
        if let Some(closed) = update.closed {
            out.push(kline(closed, extra));
            extra = (0.0, 0.0, 0.0);
        }
        extra.0 += trade.price * trade.qty;
        if !trade.buyer_is_maker {
            extra.1 += trade.qty;
            extra.2 += trade.price * trade.qty;
        }
    }
    out.extend(builder.finish().map(|b| kline(b, extra)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_exchange::FakeConfig;
    use crate::ingest::binance_rest::parse_kline;
    use axum::body::to_bytes;
    use axum::http::StatusCode;

    const DAY: i64 = 86_400_000;

    async fn get(exchange: &FakeExchange, query: &str) -> (StatusCode, Value) {
        let params: HashMap<String, String> =
            query.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.into(), v.into())).collect();
        let response = klines(State(exchange.clone()), Query(params)).await;
        let status = response.status();
        let body = to_bytes(response.into_body(), usize::MAX).await.expect("body");
        (status, serde_json::from_slice(&body).expect("json"))
    }

    fn rows(value: &Value) -> &Vec<Value> {
        value.as_array().expect("an array of rows")
    }

    #[test]
    fn history_goes_back_far_enough_and_ends_at_the_live_start_prices() {
        let specs = SymbolSpec::defaults();
        let start = 1_700_000_012_345;
        let history = KlineHistory::generate(&specs, 7, start, 7 * DAY);
        assert!(start - history.first_ms() >= 7 * DAY);
        assert_eq!(history.live_ms(), bar_start(start, MINUTE_MS));
        assert_eq!(history.last_close(0), Some(62_000.0), "BTC ends where the live walk starts");
        assert_eq!(history.last_close(1), Some(3_400.0), "ETH = 0.052 · 62 000 + 176 with the spread at 0");
        assert_eq!(history.last_close(2), Some(140.0));
        // Seeded: the same seed gives the same path, another seed another one.
        let again = KlineHistory::generate(&specs, 7, start, 7 * DAY);
        let other = KlineHistory::generate(&specs, 8, start, 7 * DAY);
        assert_eq!(again.closes, history.closes);
        assert_ne!(other.closes[0][0], history.closes[0][0]);
        // ETH stays cointegrated with BTC over the whole week.
        let worst = history.closes[0]
            .iter()
            .zip(&history.closes[1])
            .map(|(btc, eth)| (eth - (0.052 * btc + 176.0)).abs())
            .fold(0.0, f64::max);
        assert!(worst < 30.0, "spread wandered to {worst}");
    }

    #[tokio::test]
    async fn every_row_is_a_valid_binance_kline_and_pages_join_exactly() {
        let exchange = FakeExchange::new(FakeConfig { kline_history_ms: DAY, ..FakeConfig::demo() });
        let first = exchange.kline_history().first_ms();
        let live = exchange.kline_history().live_ms();
        let mut next = first;
        let mut seen = Vec::new();
        while next < live {
            let (status, page) =
                get(&exchange, &format!("symbol=btcusdt&interval=1m&startTime={next}&limit=1500")).await;
            assert_eq!(status, StatusCode::OK);
            let page = rows(&page);
            assert!(!page.is_empty() && page.len() <= 1_500);
            for row in page {
                let bar = parse_kline(row, MINUTE_MS).unwrap_or_else(|e| panic!("the ingest refuses {row}: {e}"));
                assert!(bar.count > 0 && bar.volume > 0.0);
                seen.push(bar);
            }
            next = seen.last().map(|b| b.t + MINUTE_MS).unwrap_or(live);
        }
        assert_eq!(seen.len() as i64, (live - first) / MINUTE_MS, "every minute once");
        assert!(seen.windows(2).all(|w| w[1].t == w[0].t + MINUTE_MS && w[1].open == w[0].close));
        assert_eq!(seen.last().map(|b| b.close), Some(62_000.0));
        // 5m klines are the 1m ones aggregated.
        let (_, five) = get(&exchange, &format!("symbol=BTCUSDT&interval=5m&startTime={first}&limit=3")).await;
        let five: Vec<_> = rows(&five).iter().map(|r| parse_kline(r, 300_000).expect("valid 5m")).collect();
        let trades: u64 = seen.iter().filter(|b| b.t >= five[0].t && b.t < five[0].t + 300_000).map(|b| b.count).sum();
        assert_eq!((five.len(), five[0].count), (3, trades));
    }

    #[tokio::test]
    async fn limits_and_errors_are_binances() {
        let exchange = FakeExchange::new(FakeConfig { kline_history_ms: 3 * DAY, ..FakeConfig::demo() });
        let live = exchange.kline_history().live_ms();
        let (status, default) = get(&exchange, &format!("symbol=ETHUSDT&interval=1m&endTime={}", live - 1)).await;
        assert_eq!((status, rows(&default).len()), (StatusCode::OK, 500));
        assert_eq!(rows(&default).last().and_then(|r| r[0].as_i64()), Some(live - MINUTE_MS), "newest up to endTime");
        let (_, most) = get(&exchange, &format!("symbol=ETHUSDT&interval=1m&endTime={}&limit=1500", live - 1)).await;
        assert_eq!(rows(&most).len(), 1_500);
        let (_, window) = get(
            &exchange,
            &format!(
                "symbol=ETHUSDT&interval=1m&startTime={}&endTime={}&limit=1500",
                live - 10 * MINUTE_MS,
                live - 5 * MINUTE_MS
            ),
        )
        .await;
        assert_eq!(rows(&window).len(), 6, "open times in [startTime, endTime]");
        let cases = [
            ("interval=1m".to_string(), -1102),
            ("symbol=NOPEUSDT&interval=1m".to_string(), -1121),
            ("symbol=ETHUSDT".to_string(), -1102),
            ("symbol=ETHUSDT&interval=7m".to_string(), -1120),
            ("symbol=ETHUSDT&interval=1m&limit=1501".to_string(), -1130),
            ("symbol=ETHUSDT&interval=1m&limit=0".to_string(), -1130),
            ("symbol=ETHUSDT&interval=1m&startTime=abc".to_string(), -1100),
            ("symbol=ETHUSDT&interval=1m&startTime=10&endTime=5".to_string(), -1023),
        ];
        for (query, code) in cases {
            let (status, body) = get(&exchange, &query).await;
            assert_eq!((status, body["code"].as_i64()), (StatusCode::BAD_REQUEST, Some(code)), "{query}: {body}");
        }
    }

    #[tokio::test]
    async fn live_trades_continue_the_history_and_are_counted_once() {
        let exchange = FakeExchange::new(FakeConfig { kline_history_ms: DAY, ..FakeConfig::demo() });
        exchange.push_trades(900);
        let live = exchange.kline_history().live_ms();
        let (status, page) = get(&exchange, &format!("symbol=ETHUSDT&interval=1m&startTime={live}&limit=1500")).await;
        assert_eq!(status, StatusCode::OK);
        let bars: Vec<_> = rows(&page).iter().map(|r| parse_kline(r, MINUTE_MS).expect("valid")).collect();
        assert_eq!(bars.iter().map(|b| b.count).sum::<u64>(), 300, "each of ETH's 300 trades once");
        let last_close = exchange.kline_history().last_close(1).expect("ETH");
        assert!((bars[0].open - last_close).abs() < 20.0, "no jump: {} after {last_close}", bars[0].open);
    }
}
