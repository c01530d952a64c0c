//! Per-pixel-column downsampling, so 100k points or candles redraw within a frame: lines keep
//! their exact visual envelope (each column's first, min, max and last point), candles merge
//! into one OHLC candle per column (first open, highest high, lowest low, last close, summed
//! volume) — what the chart would show if its bars were a column wide.

use super::Candle;

/// Reduces `points` (sorted by x) to at most about `4 × columns` points over `[x_lo, x_hi]`,
/// keeping each column's first, min, max and last point in x order.
pub fn min_max_columns(points: &[(f64, f64)], x_lo: f64, x_hi: f64, columns: usize) -> Vec<(f64, f64)> {
    let columns = columns.max(1);
    if points.len() <= 4 * columns || x_hi <= x_lo {
        return points.to_vec();
    }
    let width = (x_hi - x_lo) / columns as f64;
    let mut out = Vec::with_capacity(4 * columns + 2);
    let mut i = 0;
    while i < points.len() {
        let column = ((points[i].0 - x_lo) / width).floor();
        let start = i;
        let (mut min_i, mut max_i) = (i, i);
        while i < points.len() && ((points[i].0 - x_lo) / width).floor() == column {
            if points[i].1 < points[min_i].1 {
                min_i = i;
            }
            if points[i].1 > points[max_i].1 {
                max_i = i;
            }
            i += 1;
        }
        let mut keep = [start, min_i, max_i, i - 1];
        keep.sort_unstable();
        let mut last = usize::MAX;
        for k in keep {
            if k != last {
                out.push(points[k]);
                last = k;
            }
        }
    }
    out
}

/// Merges the candles inside `[t_lo, t_hi]` (sorted by time) into at most `columns` candles,
/// one per pixel column; with no more candles than columns they pass through unchanged.
pub fn ohlc_columns(candles: &[Candle], t_lo: f64, t_hi: f64, columns: usize) -> Vec<Candle> {
    let lo = candles.partition_point(|c| c.t < t_lo);
    let hi = candles.partition_point(|c| c.t <= t_hi);
    let inside = &candles[lo..hi.max(lo)];
    let columns = columns.max(1);
    if inside.len() <= columns || t_hi <= t_lo {
        return inside.to_vec();
    }
    let width = (t_hi - t_lo) / columns as f64;
    let column_of = |c: &Candle| ((c.t - t_lo) / width).floor();
    let mut out: Vec<Candle> = Vec::with_capacity(columns + 1);
    let mut current = f64::NAN;
    for c in inside {
        let column = column_of(c);
        match out.last_mut() {
            Some(last) if column == current => {
                last.high = last.high.max(c.high);
                last.low = last.low.min(c.low);
                last.close = c.close;
                last.volume += c.volume;
            }
            _ => {
                out.push(*c);
                current = column;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candle(t: f64, open: f64, high: f64, low: f64, close: f64) -> Candle {
        Candle { t, open, high, low, close, volume: 1.0 }
    }

    #[test]
    fn candles_merge_per_column_keeping_open_close_and_extremes() {
        let candles: Vec<Candle> = (0..100_000)
            .map(|i| {
                let mid = 100.0 + ((i * 7919) % 1000) as f64 / 100.0;
                candle(i as f64, mid, mid + 0.5, mid - 0.5, mid + 0.1)
            })
            .collect();
        let merged = ohlc_columns(&candles, 0.0, 100_000.0, 800);
        assert!(merged.len() <= 801, "{}", merged.len());
        assert_eq!(merged[0].open, candles[0].open);
        assert_eq!(merged.last().map(|c| c.close), candles.last().map(|c| c.close));
        let high = merged.iter().map(|c| c.high).fold(f64::MIN, f64::max);
        let low = merged.iter().map(|c| c.low).fold(f64::MAX, f64::min);
        assert_eq!((low, high), (99.5, 110.49));
        assert_eq!(merged.iter().map(|c| c.volume).sum::<f64>(), 100_000.0, "volume is kept");
        // Each merged candle spans its column: its open is the first candle's of the column.
        let width = 100_000.0 / 800.0;
        for m in &merged {
            let first = candles.iter().find(|c| (c.t / width).floor() == (m.t / width).floor()).expect("column");
            assert_eq!((m.t, m.open), (first.t, first.open));
        }
    }

    #[test]
    fn candles_outside_the_range_are_cut_and_few_pass_through() {
        let candles: Vec<Candle> = (0..10).map(|i| candle(i as f64 * 10.0, 1.0, 2.0, 0.5, 1.5)).collect();
        let cut = ohlc_columns(&candles, 20.0, 50.0, 800);
        assert_eq!(cut.iter().map(|c| c.t).collect::<Vec<_>>(), [20.0, 30.0, 40.0, 50.0]);
        assert_eq!(ohlc_columns(&candles, 0.0, 90.0, 800), candles);
        assert!(ohlc_columns(&candles, 100.0, 200.0, 800).is_empty());
    }

    #[test]
    fn keeps_extremes_and_bounds_the_point_count() {
        let points: Vec<(f64, f64)> = (0..100_000).map(|i| (i as f64, ((i * 7919) % 1000) as f64)).collect();
        let reduced = min_max_columns(&points, 0.0, 100_000.0, 800);
        assert!(reduced.len() <= 4 * 800 + 4, "{}", reduced.len());
        let max = reduced.iter().map(|p| p.1).fold(f64::MIN, f64::max);
        let min = reduced.iter().map(|p| p.1).fold(f64::MAX, f64::min);
        assert_eq!((min, max), (0.0, 999.0));
        assert!(reduced.windows(2).all(|w| w[0].0 <= w[1].0), "x order kept");
        assert_eq!(reduced.first(), points.first());
        assert_eq!(reduced.last(), points.last());
    }

    #[test]
    fn small_inputs_pass_through() {
        let points = vec![(0.0, 1.0), (1.0, 2.0)];
        assert_eq!(min_max_columns(&points, 0.0, 1.0, 800), points);
    }
}
