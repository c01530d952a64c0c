//! What a spread costs to trade at the quotes: the executable spread band and the quoted
//! round-trip cost, from each leg's best bid/ask. Pure; shared by the server and the browser.
//!
//! With hedge β > 0 the spread `y − β·x − α` you can **sell** is `bid_y − β·ask_x − α` (sell y
//! at its bid, buy β x at its ask) and the one you can **buy** is `ask_y − β·bid_x − α`; with
//! β < 0 the x leg is bought when y is bought, so the x sides swap: sell `bid_y − β·bid_x − α`,
//! buy `ask_y − β·ask_x − α`. The band `[sell, buy]` always contains the close spread when
//! the closes lie inside the quotes.

use serde::{Deserialize, Serialize};

/// Best bid and ask of one leg at one bar (its last quote in the bar).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BookQuote {
    /// Bar open time, epoch ms.
    pub t: i64,
    pub bid: f64,
    pub ask: f64,
}

/// `(sell, buy)`: the spread one can sell and buy at these quotes with hedge `beta`, `alpha`.
pub fn executable_spread(x: &BookQuote, y: &BookQuote, beta: f64, alpha: f64) -> (f64, f64) {
    if beta >= 0.0 {
        (y.bid - beta * x.ask - alpha, y.ask - beta * x.bid - alpha)
    } else {
        (y.bid - beta * x.bid - alpha, y.ask - beta * x.ask - alpha)
    }
}

/// Quoted cost of entering and exiting one spread unit (one y, β x) at these quotes —
/// both legs' bid–ask spreads, `(ask_y − bid_y) + |β|·(ask_x − bid_x)` — in bps of the y
/// leg's mid price. `None` unless both quotes are usable (positive, bid < ask).
pub fn round_trip_cost_bps(x: &BookQuote, y: &BookQuote, beta: f64) -> Option<f64> {
    let usable = |q: &BookQuote| q.bid > 0.0 && q.bid < q.ask && q.ask.is_finite();
    if !(usable(x) && usable(y) && beta.is_finite()) {
        return None;
    }
    let mid_y = (y.bid + y.ask) / 2.0;
    Some(((y.ask - y.bid) + beta.abs() * (x.ask - x.bid)) / mid_y * 10_000.0)
}

/// The quote in force at `t` in `book` (sorted by time): the last one at or before `t`.
pub fn quote_at(book: &[BookQuote], t: i64) -> Option<BookQuote> {
    let i = book.partition_point(|q| q.t <= t);
    i.checked_sub(1).map(|i| book[i])
}

/// The value in force at `t` in `(time, value)` pairs sorted by time (e.g. funding rates).
pub fn value_at(series: &[(i64, f64)], t: i64) -> Option<f64> {
    let i = series.partition_point(|(s, _)| *s <= t);
    i.checked_sub(1).map(|i| series[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const X: BookQuote = BookQuote { t: 0, bid: 99.0, ask: 101.0 };
    const Y: BookQuote = BookQuote { t: 0, bid: 49.5, ask: 50.5 };

    #[test]
    fn the_band_uses_the_side_each_leg_trades_at() {
        // β = 0.5: sell = 49.5 − 0.5·101 − 1 = −2.0; buy = 50.5 − 0.5·99 − 1 = 0.0.
        assert_eq!(executable_spread(&X, &Y, 0.5, 1.0), (-2.0, 0.0));
        // β = −0.5: sell = 49.5 + 0.5·99 − 1 = 98.0; buy = 50.5 + 0.5·101 − 1 = 100.0.
        assert_eq!(executable_spread(&X, &Y, -0.5, 1.0), (98.0, 100.0));
        for beta in [-2.0, -0.5, 0.0, 0.5, 2.0] {
            let (sell, buy) = executable_spread(&X, &Y, beta, 0.0);
            let mid = 50.0 - beta * 100.0;
            assert!(sell <= mid && mid <= buy, "β {beta}: {sell} ≤ {mid} ≤ {buy}");
            // The band is as wide as the round trip costs.
            let width = (buy - sell) / 50.0 * 10_000.0;
            let cost = round_trip_cost_bps(&X, &Y, beta).expect("usable");
            assert!((width - cost).abs() < 1e-9, "β {beta}: {width} vs {cost}");
        }
    }

    #[test]
    fn cost_is_both_spreads_in_bps_of_y() {
        // (1.0 + 2·2.0) / 50 · 10,000 = 1,000 bps.
        assert_eq!(round_trip_cost_bps(&X, &Y, 2.0), Some(1_000.0));
        let crossed = BookQuote { bid: 101.0, ask: 99.0, ..X };
        assert_eq!(round_trip_cost_bps(&crossed, &Y, 1.0), None);
        assert_eq!(round_trip_cost_bps(&X, &Y, f64::NAN), None);
    }

    #[test]
    fn as_of_lookups_take_the_last_value_at_or_before() {
        let book = [BookQuote { t: 10, ..X }, BookQuote { t: 20, ..Y }];
        assert_eq!(quote_at(&book, 5), None);
        assert_eq!(quote_at(&book, 10), Some(book[0]));
        assert_eq!(quote_at(&book, 19), Some(book[0]));
        assert_eq!(quote_at(&book, 25), Some(book[1]));
        let rates = [(0, 0.0001), (8, -0.0002)];
        assert_eq!(value_at(&rates, -1), None);
        assert_eq!(value_at(&rates, 7), Some(0.0001));
        assert_eq!(value_at(&rates, 8), Some(-0.0002));
    }
}
