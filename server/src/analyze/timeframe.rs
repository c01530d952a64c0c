//! `--timeframe`: a bar interval such as `30s`, `1m`, `5m`, `1h`, `1d`, and resampling of
//! uploaded bars to it (epoch-aligned buckets; the bar keeps the first open, the high, the low,
//! the **last close**, the volume sum; labelled with the bucket start).

use std::fmt;
use std::str::FromStr;

use app::dataset::Bar;
use app::interval::{interval_label, parse_interval};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A whole number of seconds (at least 1 s, at most 366 days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeframe {
    ms: i64,
}

impl Timeframe {
    /// The interval in milliseconds.
    pub fn ms(self) -> i64 {
        self.ms
    }
}

impl FromStr for Timeframe {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ms = parse_interval(s).map_err(|e| format!("invalid timeframe: {e}"))?;
        Ok(Timeframe { ms })
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&interval_label(self.ms))
    }
}

impl Serialize for Timeframe {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timeframe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Resample bars (sorted by strictly increasing `t_ms`) into `tf` buckets. Empty buckets are
/// omitted (never forward-filled). Bars already at `tf` or coarser come back unchanged
/// apart from their label.
pub fn resample_bars(bars: &[Bar], tf: Timeframe) -> Vec<Bar> {
    let mut out: Vec<Bar> = Vec::new();
    for b in bars {
        let start = app::analytics::resample::bar_start(b.t_ms, tf.ms());
        match out.last_mut() {
            Some(last) if last.t_ms == start => {
                last.high = last.high.max(b.high);
                last.low = last.low.min(b.low);
                last.close = b.close;
                last.volume += b.volume;
                last.count = match (last.count, b.count) {
                    (Some(a), Some(c)) => Some(a.saturating_add(c)),
                    _ => None,
                };
            }
            _ => out.push(Bar { t_ms: start, ..*b }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(t_ms: i64, close: f64) -> Bar {
        Bar { t_ms, open: close, high: close + 1.0, low: close - 1.0, close, volume: 1.0, count: Some(2) }
    }

    #[test]
    fn parses_and_prints() {
        for (s, ms) in
            [("1s", 1_000), ("30s", 30_000), ("1m", 60_000), ("5m", 300_000), ("1h", 3_600_000), ("1d", 86_400_000)]
        {
            let tf: Timeframe = s.parse().unwrap();
            assert_eq!(tf.ms(), ms);
            assert_eq!(tf.to_string(), s);
        }
        for bad in ["", "m", "5", "0m", "1w", "-1m", "99999999999999999d"] {
            assert!(bad.parse::<Timeframe>().is_err(), "{bad}");
        }
    }

    #[test]
    fn keeps_the_last_close_per_bucket() {
        let bars: Vec<Bar> = (0..10).map(|i| bar(i * 60_000, 100.0 + i as f64)).collect();
        let out = resample_bars(&bars, "5m".parse().unwrap());
        assert_eq!(out.len(), 2);
        assert_eq!((out[0].t_ms, out[0].open, out[0].close, out[0].high, out[0].low), (0, 100.0, 104.0, 105.0, 99.0));
        assert_eq!((out[1].t_ms, out[1].close, out[1].volume, out[1].count), (300_000, 109.0, 5.0, Some(10)));
    }
}
