//! On-disk encodings of the store's keys and values (schema version
//! [`super::SCHEMA_VERSION`]). Keys sort byte-wise in the order scans need:
//!
//! - tick: `SYMBOL \0 time(8, BE, sign-flipped) agg_id(8, BE)` → `price f64 LE, qty f64 LE, maker u8`
//! - bar: `SYMBOL \0 interval_ms(8, BE) open_time(8, BE, sign-flipped)` → `o h l c v f64 LE, count u64 LE`
//! - meta: `last_id \0 SYMBOL` → `agg_id(8, BE)`
//!
//! So one symbol's ticks in a time range (in trade-id order) and one symbol's bars of one
//! interval in a time range are each a single range scan.

use app::analytics::resample::Bar;

use crate::market::Trade;

/// Time as 8 bytes that sort like the signed value.
fn time_bytes(t_ms: i64) -> [u8; 8] {
    ((t_ms as u64) ^ (1 << 63)).to_be_bytes()
}

fn time_from(bytes: [u8; 8]) -> i64 {
    (u64::from_be_bytes(bytes) ^ (1 << 63)) as i64
}

/// `SYMBOL \0`: the prefix of every tick and bar key of a symbol.
pub fn symbol_prefix(symbol: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(symbol.len() + 17);
    key.extend_from_slice(symbol.as_bytes());
    key.push(0);
    key
}

pub fn tick_key(symbol: &str, t_ms: i64, agg_id: u64) -> Vec<u8> {
    let mut key = symbol_prefix(symbol);
    key.extend_from_slice(&time_bytes(t_ms));
    key.extend_from_slice(&agg_id.to_be_bytes());
    key
}

/// `(time, agg_id)` of a tick key, whatever its symbol.
pub fn decode_tick_key(key: &[u8]) -> Option<(i64, u64)> {
    let tail = key.len().checked_sub(16).map(|start| &key[start..])?;
    let t = time_from(tail[..8].try_into().ok()?);
    let id = u64::from_be_bytes(tail[8..].try_into().ok()?);
    Some((t, id))
}

pub fn encode_tick(trade: &Trade) -> [u8; 17] {
    let mut value = [0u8; 17];
    value[..8].copy_from_slice(&trade.price.to_le_bytes());
    value[8..16].copy_from_slice(&trade.qty.to_le_bytes());
    value[16] = u8::from(trade.buyer_is_maker);
    value
}

/// Rebuilds a trade from its key and value; `None` for a corrupt entry.
pub fn decode_tick(symbol: &str, key: &[u8], value: &[u8]) -> Option<Trade> {
    let (t_ms, agg_id) = decode_tick_key(key)?;
    if value.len() != 17 {
        return None;
    }
    Some(Trade {
        symbol: symbol.to_string(),
        agg_id,
        t_ms,
        price: f64::from_le_bytes(value[..8].try_into().ok()?),
        qty: f64::from_le_bytes(value[8..16].try_into().ok()?),
        buyer_is_maker: value[16] != 0,
    })
}

pub fn bar_key(symbol: &str, interval_ms: i64, t_ms: i64) -> Vec<u8> {
    let mut key = symbol_prefix(symbol);
    key.extend_from_slice(&(interval_ms as u64).to_be_bytes());
    key.extend_from_slice(&time_bytes(t_ms));
    key
}

pub fn encode_bar(bar: &Bar) -> [u8; 48] {
    let mut value = [0u8; 48];
    for (i, v) in [bar.open, bar.high, bar.low, bar.close, bar.volume].into_iter().enumerate() {
        value[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
    }
    value[40..].copy_from_slice(&bar.count.to_le_bytes());
    value
}

pub fn decode_bar(key: &[u8], value: &[u8]) -> Option<Bar> {
    let start = key.len().checked_sub(8)?;
    let t = time_from(key[start..].try_into().ok()?);
    if value.len() != 48 {
        return None;
    }
    let f = |i: usize| value[i * 8..i * 8 + 8].try_into().ok().map(f64::from_le_bytes);
    Some(Bar {
        t,
        open: f(0)?,
        high: f(1)?,
        low: f(2)?,
        close: f(3)?,
        volume: f(4)?,
        count: u64::from_le_bytes(value[40..].try_into().ok()?),
    })
}

pub const LAST_ID_PREFIX: &[u8] = b"last_id\0";

pub fn last_id_key(symbol: &str) -> Vec<u8> {
    let mut key = LAST_ID_PREFIX.to_vec();
    key.extend_from_slice(symbol.as_bytes());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_keys_sort_by_symbol_then_time_then_id_and_decode() {
        let mut keys = vec![
            tick_key("ETHUSDT", 5, 1),
            tick_key("BTCUSDT", 10, 3),
            tick_key("BTCUSDT", -1, 1),
            tick_key("BTCUSDT", 10, 2),
        ];
        keys.sort();
        assert_eq!(
            keys,
            vec![
                tick_key("BTCUSDT", -1, 1),
                tick_key("BTCUSDT", 10, 2),
                tick_key("BTCUSDT", 10, 3),
                tick_key("ETHUSDT", 5, 1)
            ]
        );
        assert_eq!(decode_tick_key(&tick_key("BTCUSDT", -7, 99)), Some((-7, 99)));
        assert_eq!(decode_tick_key(b"short"), None);
    }

    #[test]
    fn a_symbol_prefix_never_matches_a_longer_symbol() {
        // `BTC\0…` vs `BTCUSDT\0…`: the separator keeps prefixes apart.
        assert!(!tick_key("BTCUSDT", 1, 1).starts_with(&symbol_prefix("BTC")));
    }

    #[test]
    fn bars_and_ticks_round_trip() {
        let bar = Bar { t: 60_000, open: 1.5, high: 2.0, low: 1.0, close: 1.25, volume: 7.5, count: 9 };
        let key = bar_key("BTCUSDT", 60_000, bar.t);
        assert_eq!(decode_bar(&key, &encode_bar(&bar)), Some(bar));
        assert!(bar_key("BTCUSDT", 1_000, 5) < bar_key("BTCUSDT", 60_000, -5), "interval sorts before time");
        let trade = Trade { symbol: "X".into(), agg_id: 3, t_ms: 4, price: 5.5, qty: 0.25, buyer_is_maker: true };
        assert_eq!(decode_tick("X", &tick_key("X", 4, 3), &encode_tick(&trade)), Some(trade));
        assert_eq!(decode_tick("X", &tick_key("X", 4, 3), &[1, 2]), None);
    }
}
