//! On-disk encodings of the store's keys and values (schema version
//! [`super::SCHEMA_VERSION`]). Keys sort byte-wise in the order scans need.
//!
//! Ticks are stored in **blocks** of up to [`TICKS_PER_BLOCK`] consecutive trades of one
//! symbol, not one key per tick: sled's cost (CPU, memory and disk) is per key, and a
//! pairs terminal ingests hundreds of thousands of trades a second.
//!
//! - tick block: `SYMBOL \0 time(8, BE, sign-flipped) agg_id(8, BE)` of the block's first
//!   trade → `count u32 LE`, then per trade `agg_id u64, time i64, price f64, qty f64` (LE)
//!   and `maker u8`. Within a block trades are in id order and times never decrease.
//! - tick metadata, in the same tree so a block and the bookkeeping it implies are written
//!   in one atomic sled batch: `\0 last_id \0 SYMBOL` → `agg_id(8, BE)` and
//!   `\0 count \0 SYMBOL` → `ticks stored (8, BE)`. A leading `\0` never starts a symbol.
//! - bar chunk: `SYMBOL \0 interval_ms(8, BE) chunk_start(8, BE, sign-flipped)` → up to
//!   [`BARS_PER_CHUNK`] bars of that interval opening in
//!   `[chunk_start, chunk_start + BARS_PER_CHUNK · interval)`, each
//!   `open_time i64, o h l c v f64, count u64` (LE), in time order.
//!
//! - fetched history (tree `fetched_bars`, [`super::fetched`]): bar chunks as above, and
//!   `\0span\0 SYMBOL` → `from i64, to i64` (BE), the minutes already fetched.
//!
//! So one symbol's ticks in a time range and one symbol's bars of one interval in a time
//! range are each a single range scan (plus the block that starts just before it).

use app::analytics::resample::Bar;

use crate::market::Trade;

/// Trades per full tick block: 128 × 33 B ≈ 4 KiB keeps a sled leaf (≤ 17 entries) well
/// under sled's 128 KiB blob threshold.
pub const TICKS_PER_BLOCK: usize = 128;
/// Bars per chunk: 64 × 56 B ≈ 3.5 KiB, same reasoning.
pub const BARS_PER_CHUNK: i64 = 64;

const TICK_LEN: usize = 33;
const BAR_LEN: usize = 56;

/// Time as 8 bytes that sort like the signed value.
pub fn time_bytes(t_ms: i64) -> [u8; 8] {
    ((t_ms as u64) ^ (1 << 63)).to_be_bytes()
}

/// `SYMBOL \0`: the prefix of every tick block and bar chunk key of a symbol.
pub fn symbol_prefix(symbol: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(symbol.len() + 17);
    key.extend_from_slice(symbol.as_bytes());
    key.push(0);
    key
}

/// Key of the block whose first trade is `(t_ms, agg_id)`; also the bound of time scans.
pub fn tick_key(symbol: &str, t_ms: i64, agg_id: u64) -> Vec<u8> {
    let mut key = symbol_prefix(symbol);
    key.extend_from_slice(&time_bytes(t_ms));
    key.extend_from_slice(&agg_id.to_be_bytes());
    key
}

/// Encodes one block: trades of one symbol in id order.
pub fn encode_block<'a>(trades: impl ExactSizeIterator<Item = &'a Trade>) -> Vec<u8> {
    let mut value = Vec::with_capacity(4 + trades.len() * TICK_LEN);
    value.extend_from_slice(&(trades.len() as u32).to_le_bytes());
    for trade in trades {
        value.extend_from_slice(&trade.agg_id.to_le_bytes());
        value.extend_from_slice(&trade.t_ms.to_le_bytes());
        value.extend_from_slice(&trade.price.to_le_bytes());
        value.extend_from_slice(&trade.qty.to_le_bytes());
        value.push(u8::from(trade.buyer_is_maker));
    }
    value
}

/// Number of trades in an encoded block; `None` if corrupt.
pub fn block_len(value: &[u8]) -> Option<usize> {
    let count = u32::from_le_bytes(value.get(..4)?.try_into().ok()?) as usize;
    (value.len() == 4 + count * TICK_LEN).then_some(count)
}

/// Decodes a block of `symbol`; `None` if corrupt.
pub fn decode_block(symbol: &str, value: &[u8]) -> Option<Vec<Trade>> {
    let count = block_len(value)?;
    let mut trades = Vec::with_capacity(count);
    for record in value[4..].chunks_exact(TICK_LEN) {
        let word = |i: usize| -> [u8; 8] { record[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]) };
        trades.push(Trade {
            symbol: symbol.to_string(),
            agg_id: u64::from_le_bytes(word(0)),
            t_ms: i64::from_le_bytes(word(1)),
            price: f64::from_le_bytes(word(2)),
            qty: f64::from_le_bytes(word(3)),
            buyer_is_maker: record[32] != 0,
        });
    }
    Some(trades)
}

/// Key prefix of the last stored aggregate id of every symbol.
pub const LAST_ID_PREFIX: &[u8] = b"\0last_id\0";
const COUNT_PREFIX: &[u8] = b"\0count\0";

pub fn last_id_key(symbol: &str) -> Vec<u8> {
    [LAST_ID_PREFIX, symbol.as_bytes()].concat()
}

/// Key of the number of stored ticks of `symbol`.
pub fn count_key(symbol: &str) -> Vec<u8> {
    [COUNT_PREFIX, symbol.as_bytes()].concat()
}

/// Key prefix of every tick-count key.
pub fn count_prefix() -> &'static [u8] {
    COUNT_PREFIX
}

/// Reads an 8-byte big-endian counter or id value.
pub fn decode_u64(value: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(value).ok().map(u64::from_be_bytes)
}

/// Open time of the chunk holding the bar of `interval_ms` opening at `t_ms`.
pub fn chunk_start(interval_ms: i64, t_ms: i64) -> i64 {
    let span = interval_ms.saturating_mul(BARS_PER_CHUNK).max(1);
    t_ms.div_euclid(span).saturating_mul(span)
}

/// Key of the chunk of `symbol`'s `interval_ms` bars that starts at `chunk_start_ms`
/// (any time works as a scan bound).
pub fn bar_chunk_key(symbol: &str, interval_ms: i64, chunk_start_ms: i64) -> Vec<u8> {
    let mut key = symbol_prefix(symbol);
    key.extend_from_slice(&(interval_ms as u64).to_be_bytes());
    key.extend_from_slice(&time_bytes(chunk_start_ms));
    key
}

/// Encodes a chunk: bars in time order.
pub fn encode_chunk<'a>(bars: impl ExactSizeIterator<Item = &'a Bar>) -> Vec<u8> {
    let mut value = Vec::with_capacity(bars.len() * BAR_LEN);
    for bar in bars {
        value.extend_from_slice(&bar.t.to_le_bytes());
        for v in [bar.open, bar.high, bar.low, bar.close, bar.volume] {
            value.extend_from_slice(&v.to_le_bytes());
        }
        value.extend_from_slice(&bar.count.to_le_bytes());
    }
    value
}

/// Decodes a chunk, appending its bars to `out`; `None` if corrupt.
pub fn decode_chunk_into(value: &[u8], out: &mut Vec<Bar>) -> Option<()> {
    if !value.len().is_multiple_of(BAR_LEN) {
        return None;
    }
    for record in value.chunks_exact(BAR_LEN) {
        let word = |i: usize| -> [u8; 8] { record[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]) };
        out.push(Bar {
            t: i64::from_le_bytes(word(0)),
            open: f64::from_le_bytes(word(1)),
            high: f64::from_le_bytes(word(2)),
            low: f64::from_le_bytes(word(3)),
            close: f64::from_le_bytes(word(4)),
            volume: f64::from_le_bytes(word(5)),
            count: u64::from_le_bytes(word(6)),
        });
    }
    Some(())
}

/// Key of the fetched span of `symbol` (in the `fetched_bars` tree; a leading `\0` never
/// starts a symbol, so it sorts apart from the chunks).
pub fn fetched_span_key(symbol: &str) -> Vec<u8> {
    [b"\0span\0".as_slice(), symbol.as_bytes()].concat()
}

/// A fetched span `[from, to)`: two `i64` (BE).
pub fn encode_span((from, to): (i64, i64)) -> [u8; 16] {
    let mut value = [0; 16];
    value[..8].copy_from_slice(&from.to_be_bytes());
    value[8..].copy_from_slice(&to.to_be_bytes());
    value
}

/// Decodes a fetched span; `None` if corrupt.
pub fn decode_span(value: &[u8]) -> Option<(i64, i64)> {
    let from = i64::from_be_bytes(value.get(..8)?.try_into().ok()?);
    let to = i64::from_be_bytes(value.get(8..)?.try_into().ok()?);
    Some((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade(agg_id: u64, t_ms: i64) -> Trade {
        Trade { symbol: "X".into(), agg_id, t_ms, price: 5.5, qty: 0.25, buyer_is_maker: agg_id.is_multiple_of(2) }
    }

    #[test]
    fn tick_keys_sort_by_symbol_then_time_then_id() {
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
        // Metadata keys sort before every symbol and never share a symbol's prefix.
        assert!(last_id_key("ZZZ") < tick_key("0", i64::MIN, 0));
        assert!(!count_key("BTCUSDT").starts_with(&symbol_prefix("BTCUSDT")));
    }

    #[test]
    fn a_symbol_prefix_never_matches_a_longer_symbol() {
        // `BTC\0…` vs `BTCUSDT\0…`: the separator keeps prefixes apart.
        assert!(!tick_key("BTCUSDT", 1, 1).starts_with(&symbol_prefix("BTC")));
    }

    #[test]
    fn blocks_round_trip_and_reject_corruption() {
        let trades: Vec<Trade> = (0..5).map(|i| trade(10 + i, -3 + i as i64)).collect();
        let value = encode_block(trades.iter());
        assert_eq!(block_len(&value), Some(5));
        assert_eq!(decode_block("X", &value), Some(trades));
        assert_eq!(decode_block("X", &value[..value.len() - 1]), None);
        assert_eq!(decode_block("X", &[1, 2]), None);
    }

    #[test]
    fn chunks_round_trip_and_cover_aligned_spans() {
        let bars: Vec<Bar> = (0..3)
            .map(|i| Bar {
                t: 60_000 * i,
                open: 1.5,
                high: 2.0,
                low: 1.0,
                close: 1.25,
                volume: 7.5,
                count: 9 + i as u64,
            })
            .collect();
        let mut out = Vec::new();
        assert_eq!(decode_chunk_into(&encode_chunk(bars.iter()), &mut out), Some(()));
        assert_eq!(out, bars);
        assert_eq!(decode_chunk_into(&[0; 55], &mut out), None);
        assert_eq!(chunk_start(1_000, 63_999), 0);
        assert_eq!(chunk_start(1_000, 64_000), 64_000);
        assert_eq!(chunk_start(1_000, -1), -64_000);
        assert!(bar_chunk_key("BTCUSDT", 1_000, 5) < bar_chunk_key("BTCUSDT", 60_000, -5), "interval sorts first");
    }
}
