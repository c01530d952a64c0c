//! The stored form of a data set's bars: a version byte, then per symbol its columns.
//!
//! ```text
//! version 1:
//!   u8 1 | u8 format (0 binance_kline, 1 generic_ohlcv, 2 yahoo) | varint symbols
//!   per symbol: varint name length | name (UTF-8) | varint rows
//!     times:   i64 LE first, then zigzag varint deltas (one minute: 3 bytes)
//!     open, high, low, close, volume: rows × f64 LE each (bit-exact)
//!     counts:  u8 0 = none | 1 = all present: rows × varint
//!              | 2 = some: a bitmap of (rows + 7) / 8 bytes, then a varint per present one
//! ```
//!
//! About 2.5× smaller than the JSON it replaces and lossless (floats keep their bits). Entries
//! written before it are JSON objects, whose first byte `{` is no version: [`decode`] still
//! reads them, so an old database needs no migration.

use std::collections::BTreeMap;

use app::dataset::{Bar, Dataset, Format};

const VERSION: u8 = 1;
const FORMATS: [Format; 3] = [Format::BinanceKline, Format::GenericOhlcv, Format::Yahoo];

/// The bars of `ds` in the current version.
pub fn encode(ds: &Dataset) -> Vec<u8> {
    let rows: usize = ds.symbols.values().map(Vec::len).sum();
    let mut out = Vec::with_capacity(16 + rows * 45);
    out.push(VERSION);
    out.push(FORMATS.iter().position(|f| *f == ds.format).unwrap_or(0) as u8);
    put_varint(&mut out, ds.symbols.len() as u64);
    for (symbol, bars) in &ds.symbols {
        put_varint(&mut out, symbol.len() as u64);
        out.extend_from_slice(symbol.as_bytes());
        put_varint(&mut out, bars.len() as u64);
        let mut previous = None;
        for bar in bars {
            match previous {
                None => out.extend_from_slice(&bar.t_ms.to_le_bytes()),
                Some(p) => put_varint(&mut out, zigzag(bar.t_ms.wrapping_sub(p))),
            }
            previous = Some(bar.t_ms);
        }
        for column in [|b: &Bar| b.open, |b: &Bar| b.high, |b: &Bar| b.low, |b: &Bar| b.close, |b: &Bar| b.volume] {
            for bar in bars {
                out.extend_from_slice(&column(bar).to_le_bytes());
            }
        }
        let present = bars.iter().filter(|b| b.count.is_some()).count();
        if present == 0 {
            out.push(0);
        } else if present == bars.len() {
            out.push(1);
        } else {
            out.push(2);
            let mut bitmap = vec![0u8; bars.len().div_ceil(8)];
            for (i, bar) in bars.iter().enumerate() {
                if bar.count.is_some() {
                    bitmap[i / 8] |= 1 << (i % 8);
                }
            }
            out.extend_from_slice(&bitmap);
        }
        for count in bars.iter().filter_map(|b| b.count) {
            put_varint(&mut out, count);
        }
    }
    out
}

/// A stored value: the current version, or the JSON of entries written before it.
pub fn decode(bytes: &[u8]) -> Result<Dataset, String> {
    match bytes.first() {
        Some(b'{') => serde_json::from_slice(bytes).map_err(|e| format!("JSON entry: {e}")),
        Some(&VERSION) => Reader { bytes, at: 1 }.dataset(),
        Some(v) => Err(format!("unknown encoding version {v}")),
        None => Err("empty entry".into()),
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A bounds-checked cursor: a truncated or corrupt entry is an error, never a panic.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.at.checked_add(n).filter(|&end| end <= self.bytes.len()).ok_or("truncated entry")?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn array8(&mut self) -> Result<[u8; 8], String> {
        Ok(<[u8; 8]>::try_from(self.take(8)?).unwrap_or_default())
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("overlong varint".into())
    }

    /// A length that cannot exceed what is left of the entry (`min_bytes` per item).
    fn len(&mut self, min_bytes: usize) -> Result<usize, String> {
        let n = usize::try_from(self.varint()?).map_err(|_| "length overflow")?;
        if n.saturating_mul(min_bytes) > self.bytes.len() - self.at {
            return Err("length beyond the entry".into());
        }
        Ok(n)
    }

    fn dataset(mut self) -> Result<Dataset, String> {
        let format = *FORMATS.get(usize::from(self.u8()?)).ok_or("unknown format")?;
        let mut symbols = BTreeMap::new();
        for _ in 0..self.len(2)? {
            let name_len = self.len(1)?;
            let name = String::from_utf8(self.take(name_len)?.to_vec()).map_err(|_| "symbol is not UTF-8")?;
            // Every row has at least 5 floats.
            let rows = self.len(40)?;
            let mut bars = Vec::with_capacity(rows);
            let mut t = 0i64;
            for i in 0..rows {
                t = if i == 0 { i64::from_le_bytes(self.array8()?) } else { t.wrapping_add(unzigzag(self.varint()?)) };
                bars.push(Bar { t_ms: t, open: 0.0, high: 0.0, low: 0.0, close: 0.0, volume: 0.0, count: None });
            }
            for field in 0..5 {
                for bar in &mut bars {
                    let v = f64::from_le_bytes(self.array8()?);
                    *[&mut bar.open, &mut bar.high, &mut bar.low, &mut bar.close, &mut bar.volume][field] = v;
                }
            }
            let present: Vec<bool> = match self.u8()? {
                0 => vec![false; rows],
                1 => vec![true; rows],
                2 => {
                    let bitmap = self.take(rows.div_ceil(8))?;
                    (0..rows).map(|i| bitmap[i / 8] & (1 << (i % 8)) != 0).collect()
                }
                other => return Err(format!("unknown count mode {other}")),
            };
            for (bar, present) in bars.iter_mut().zip(present) {
                if present {
                    bar.count = Some(self.varint()?);
                }
            }
            symbols.insert(name, bars);
        }
        if self.at != self.bytes.len() {
            return Err("trailing bytes".into());
        }
        Ok(Dataset { format, symbols })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(t_ms: i64, close: f64, count: Option<u64>) -> Bar {
        Bar { t_ms, open: close - 0.5, high: close + 1.0, low: close - 1.0, close, volume: 0.1 + close / 3.0, count }
    }

    fn sample() -> Dataset {
        let mut symbols = BTreeMap::new();
        symbols.insert(
            "BTCUSDT".to_string(),
            (0..50).map(|i| bar(1_700_000_000_000 + i * 60_000, 1e4 + i as f64, Some(i as u64 * 300))).collect(),
        );
        // Irregular times (a gap, a negative epoch), mixed counts, extreme values.
        symbols.insert(
            "ÉTH".to_string(),
            vec![bar(-86_400_000, 0.1, None), bar(5, f64::MAX, Some(u64::MAX)), bar(i64::MAX, f64::MIN_POSITIVE, None)],
        );
        symbols.insert("NOCOUNT".to_string(), vec![bar(0, 1.0, None)]);
        Dataset { format: Format::GenericOhlcv, symbols }
    }

    #[test]
    fn round_trips_bit_exactly_and_reads_the_old_json() {
        let ds = sample();
        let bytes = encode(&ds);
        assert_eq!(bytes[0], VERSION);
        assert_eq!(decode(&bytes).unwrap(), ds);
        let json = serde_json::to_vec(&ds).unwrap();
        assert_eq!(decode(&json).unwrap(), ds, "entries written before the binary encoding stay readable");
        assert!(bytes.len() * 2 < json.len(), "{} vs JSON {}", bytes.len(), json.len());
        let empty = Dataset { format: Format::Yahoo, symbols: BTreeMap::new() };
        assert_eq!(decode(&encode(&empty)).unwrap(), empty);
    }

    /// The golden fixtures: stored bytes per encoding beside the CSV (the figures of
    /// BENCHMARKS.md: `cargo test -p server --lib codec -- --nocapture`).
    #[test]
    fn fixtures_store_in_less_than_half_their_json_and_less_than_their_csv() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/tests/golden/fixtures");
        let (mut csv_total, mut json_total, mut binary_total) = (0, 0, 0);
        for name in [
            "binance_um_BTCUSDT_1m_header.csv",
            "binance_um_ETHUSDT_1m_noheader.csv",
            "generic_ohlcv_iso8601.csv",
            "yahoo_GSPC_2016_2017.csv",
            "yahoo_IXIC_2016_2017.csv",
            "ok_binance_um_BTCUSDT_1m_crlf_bom_no_trailing_newline.csv",
        ] {
            let csv = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            let ds = app::dataset::parse_ohlc_csv(&csv, name).unwrap_or_else(|e| panic!("{name}: {e}"));
            let (json, binary) = (serde_json::to_vec(&ds).unwrap(), encode(&ds));
            assert_eq!(decode(&binary).unwrap(), ds, "{name}");
            println!("{name}: csv {} json {} binary {} bytes", csv.len(), json.len(), binary.len());
            assert!(binary.len() * 2 < json.len() && binary.len() < csv.len(), "{name}: {} bytes", binary.len());
            (csv_total, json_total, binary_total) =
                (csv_total + csv.len(), json_total + json.len(), binary_total + binary.len());
        }
        println!("all: csv {csv_total} json {json_total} binary {binary_total} bytes");
    }

    #[test]
    fn truncated_or_corrupt_entries_are_errors_not_panics() {
        let bytes = encode(&sample());
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_err(), "truncated to {len} bytes decoded");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_err());
        for (at, value) in [(0, 9u8), (1, 7), (2, 0xff)] {
            let mut bad = bytes.clone();
            bad[at] = value;
            assert!(decode(&bad).is_err(), "byte {at} = {value} decoded");
        }
        // A huge declared row count is refused before anything is allocated.
        let mut huge = vec![VERSION, 0, 1, 1, b'A'];
        put_varint(&mut huge, u64::MAX >> 1);
        assert!(decode(&huge).is_err());
    }
}
