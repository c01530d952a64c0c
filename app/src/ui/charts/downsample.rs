//! Min/max-per-pixel-column downsampling: keeps the visual envelope of a line exactly while
//! drawing at most ~4 points per column, so 100k points redraw within a frame.

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

#[cfg(test)]
mod tests {
    use super::*;

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
