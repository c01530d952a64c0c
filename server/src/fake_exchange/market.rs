//! Seeded price paths for the fake exchange.
//!
//! BTC follows a driftless random walk; ETH is `beta · BTC + alpha + u` with `u` an
//! Ornstein–Uhlenbeck spread, so the pair is cointegrated; other symbols walk freely.
//! Aggregate trade ids are consecutive per symbol, as on Binance.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::market::Trade;

/// One simulated symbol.
#[derive(Clone, Debug)]
pub struct SymbolSpec {
    pub symbol: String,
    pub start_price: f64,
    /// Per-trade relative volatility of the random walk.
    pub step_vol: f64,
    /// When set, the symbol is `beta · leader + alpha + OU noise` (cointegrated with it).
    pub follows: Option<Follow>,
    /// Quantity scale (typical trade size).
    pub qty_scale: f64,
    /// Price tick size: prices are rounded to it, as on the exchange.
    pub tick: f64,
}

#[derive(Clone, Debug)]
pub struct Follow {
    /// Index of the leader in the symbol list.
    pub leader: usize,
    pub beta: f64,
    pub alpha: f64,
    /// OU mean-reversion per trade (0..1) and noise scale of the spread.
    pub reversion: f64,
    pub noise: f64,
}

impl SymbolSpec {
    pub fn defaults() -> Vec<SymbolSpec> {
        vec![
            SymbolSpec {
                symbol: "BTCUSDT".into(),
                start_price: 62_000.0,
                step_vol: 2e-4,
                follows: None,
                qty_scale: 0.05,
                tick: 0.1,
            },
            SymbolSpec {
                symbol: "ETHUSDT".into(),
                start_price: 3_400.0,
                step_vol: 0.0,
                follows: Some(Follow { leader: 0, beta: 0.052, alpha: 176.0, reversion: 0.02, noise: 0.6 }),
                qty_scale: 0.8,
                tick: 0.01,
            },
            SymbolSpec {
                symbol: "SOLUSDT".into(),
                start_price: 140.0,
                step_vol: 4e-4,
                follows: None,
                qty_scale: 5.0,
                tick: 0.001,
            },
        ]
    }
}

impl SymbolSpec {
    /// The `serve --demo` universe, eight symbols worth screening: a cointegrated cluster
    /// (ETH, BNB and LTC each follow BTC with a mean-reverting spread, so every pair of the
    /// four is cointegrated) and four unrelated random walks (SOL, XRP, DOGE, ADA). The first
    /// three are [`SymbolSpec::defaults`], so the demo's BTC/ETH pair is the tests' one.
    pub fn demo_universe() -> Vec<SymbolSpec> {
        let walk = |symbol: &str, start_price: f64, step_vol: f64, qty_scale: f64, tick: f64| SymbolSpec {
            symbol: symbol.into(),
            start_price,
            step_vol,
            follows: None,
            qty_scale,
            tick,
        };
        let follower = |symbol: &str, start_price: f64, beta: f64, reversion: f64, noise: f64, qty_scale: f64| {
            SymbolSpec {
                symbol: symbol.into(),
                start_price,
                step_vol: 0.0,
                // The spread starts at 0: alpha puts the first price at `start_price`.
                follows: Some(Follow { leader: 0, beta, alpha: start_price - beta * 62_000.0, reversion, noise }),
                qty_scale,
                tick: 0.01,
            }
        };
        let mut specs = SymbolSpec::defaults();
        specs.extend([
            follower("BNBUSDT", 600.0, 0.0095, 0.03, 0.15, 1.0),
            follower("LTCUSDT", 85.0, 0.00125, 0.025, 0.03, 3.0),
            walk("XRPUSDT", 0.52, 3e-4, 500.0, 0.0001),
            walk("DOGEUSDT", 0.14, 5e-4, 3_000.0, 0.00001),
            walk("ADAUSDT", 0.45, 3.5e-4, 800.0, 0.0001),
        ]);
        specs
    }
}

/// Where every symbol's aggregate ids start unless told otherwise.
pub const FIRST_ID: u64 = 1_000_000;

/// The simulation state: current prices, OU spreads and next trade ids.
pub struct MarketSim {
    specs: Vec<SymbolSpec>,
    prices: Vec<f64>,
    spreads: Vec<f64>,
    next_ids: Vec<u64>,
    rng: StdRng,
    turn: usize,
    last_t_ms: i64,
}

impl MarketSim {
    pub fn new(specs: &[SymbolSpec], seed: u64, start_ms: i64) -> Self {
        Self {
            specs: specs.to_vec(),
            prices: specs.iter().map(|s| s.start_price).collect(),
            spreads: vec![0.0; specs.len()],
            next_ids: vec![FIRST_ID; specs.len()],
            rng: StdRng::seed_from_u64(seed),
            turn: 0,
            last_t_ms: start_ms,
        }
    }

    /// Starts the ids of the symbols named in `first_ids` (upper case) there instead of at
    /// [`FIRST_ID`].
    pub fn starting_at(mut self, first_ids: &std::collections::HashMap<String, u64>) -> Self {
        for (spec, next) in self.specs.iter().zip(&mut self.next_ids) {
            if let Some(&first) = first_ids.get(&spec.symbol) {
                *next = first;
            }
        }
        self
    }

    /// The next trade, round-robin over symbols, never earlier than the previous one.
    pub fn next_trade(&mut self, t_ms: i64) -> Trade {
        let i = self.turn % self.specs.len();
        self.turn += 1;
        let z = self.standard_normal();
        let spec = &self.specs[i];
        let price = match &spec.follows {
            None => self.prices[i] * (1.0 + spec.step_vol * z),
            Some(f) => {
                self.spreads[i] = (1.0 - f.reversion) * self.spreads[i] + f.noise * z;
                f.beta * self.prices[f.leader] + f.alpha + self.spreads[i]
            }
        };
        let price = ((price / spec.tick).round() * spec.tick).max(spec.tick);
        self.prices[i] = price;
        let qty = (spec.qty_scale * (0.1 + self.rng.random::<f64>() * 1.9) * 1000.0).round() / 1000.0;
        let id = self.next_ids[i];
        self.next_ids[i] += 1;
        self.last_t_ms = self.last_t_ms.max(t_ms);
        Trade {
            symbol: self.specs[i].symbol.clone(),
            agg_id: id,
            t_ms: self.last_t_ms,
            price: round_to_decimals(price, spec_decimals(self.specs[i].tick)),
            qty: qty.max(0.001),
            buyer_is_maker: self.rng.random::<bool>(),
        }
    }

    /// Box–Muller: one standard normal draw.
    fn standard_normal(&mut self) -> f64 {
        let u1: f64 = self.rng.random::<f64>().max(f64::MIN_POSITIVE);
        let u2: f64 = self.rng.random();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

pub(crate) fn spec_decimals(tick: f64) -> i32 {
    (-tick.log10()).ceil().max(0.0) as i32
}

pub(crate) fn round_to_decimals(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_trades_and_ids_are_consecutive_per_symbol() {
        let specs = SymbolSpec::defaults();
        let mut a = MarketSim::new(&specs, 42, 0);
        let mut b = MarketSim::new(&specs, 42, 0);
        let trades_a: Vec<Trade> = (0..300).map(|i| a.next_trade(i)).collect();
        let trades_b: Vec<Trade> = (0..300).map(|i| b.next_trade(i)).collect();
        assert_eq!(trades_a, trades_b);
        for symbol in ["BTCUSDT", "ETHUSDT", "SOLUSDT"] {
            let ids: Vec<u64> = trades_a.iter().filter(|t| t.symbol == symbol).map(|t| t.agg_id).collect();
            assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{symbol} ids not consecutive");
            assert!(trades_a.iter().all(|t| t.price > 0.0 && t.qty > 0.0));
        }
    }

    #[test]
    fn ids_start_where_told() {
        let specs = SymbolSpec::defaults();
        let first = std::collections::HashMap::from([("ETHUSDT".to_string(), 7_000_123)]);
        let mut sim = MarketSim::new(&specs, 42, 0).starting_at(&first);
        let trades: Vec<Trade> = (0..6).map(|i| sim.next_trade(i)).collect();
        let ids = |symbol: &str| trades.iter().filter(|t| t.symbol == symbol).map(|t| t.agg_id).collect::<Vec<_>>();
        assert_eq!(ids("ETHUSDT"), vec![7_000_123, 7_000_124]);
        assert_eq!(ids("BTCUSDT"), vec![FIRST_ID, FIRST_ID + 1]);
    }

    #[test]
    fn the_demo_universe_has_a_cointegrated_cluster_and_free_walks() {
        let specs = SymbolSpec::demo_universe();
        assert_eq!(specs.len(), 8);
        assert_eq!(specs[..3].iter().map(|s| &s.symbol).collect::<Vec<_>>(), ["BTCUSDT", "ETHUSDT", "SOLUSDT"]);
        let followers: Vec<&str> = specs.iter().filter(|s| s.follows.is_some()).map(|s| s.symbol.as_str()).collect();
        assert_eq!(followers, ["ETHUSDT", "BNBUSDT", "LTCUSDT"]);
        assert!(specs.iter().all(|s| s.follows.as_ref().is_none_or(|f| f.leader == 0)), "all follow BTC");
        // Followers start at their price: BTC's start price times beta plus alpha.
        let mut sim = MarketSim::new(&specs, 3, 0);
        let first: Vec<Trade> = (0..8).map(|i| sim.next_trade(i)).collect();
        for (trade, spec) in first.iter().zip(&specs) {
            assert_eq!(trade.symbol, spec.symbol);
            assert!((trade.price / spec.start_price - 1.0).abs() < 0.01, "{} starts at {}", spec.symbol, trade.price);
        }
    }

    #[test]
    fn eth_stays_near_its_cointegrating_relation_with_btc() {
        let specs = SymbolSpec::defaults();
        let mut sim = MarketSim::new(&specs, 1, 0);
        let mut btc = 0.0;
        let mut worst: f64 = 0.0;
        for i in 0..30_000 {
            let t = sim.next_trade(i);
            match t.symbol.as_str() {
                "BTCUSDT" => btc = t.price,
                "ETHUSDT" if btc > 0.0 => worst = worst.max((t.price - (0.052 * btc + 176.0)).abs()),
                _ => {}
            }
        }
        // OU with reversion 0.02 and noise 0.6 has stationary sd ≈ 3; 30 sd never happens.
        assert!(worst < 30.0, "spread wandered to {worst}");
    }
}
