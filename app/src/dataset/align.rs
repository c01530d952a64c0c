//! Aligning two legs on bar timestamps.

use super::types::Bar;

/// Inner join of two legs on identical `t_ms`: returns the common timestamps and the closes of
/// `x` and `y` at those timestamps (rows where either leg is missing are dropped).
///
/// Both inputs must be sorted by strictly increasing `t_ms`, as [`super::parse_ohlc_csv`]
/// guarantees.
pub fn inner_join(x: &[Bar], y: &[Bar]) -> (Vec<i64>, Vec<f64>, Vec<f64>) {
    let cap = x.len().min(y.len());
    let mut t = Vec::with_capacity(cap);
    let mut xs = Vec::with_capacity(cap);
    let mut ys = Vec::with_capacity(cap);
    let (mut i, mut j) = (0, 0);
    while let (Some(a), Some(b)) = (x.get(i), y.get(j)) {
        match a.t_ms.cmp(&b.t_ms) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                t.push(a.t_ms);
                xs.push(a.close);
                ys.push(b.close);
                i += 1;
                j += 1;
            }
        }
    }
    (t, xs, ys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(t_ms: i64, close: f64) -> Bar {
        Bar { t_ms, open: close, high: close, low: close, close, volume: 0.0, count: None }
    }

    #[test]
    fn joins_on_common_timestamps_only() {
        let x = [bar(1, 10.0), bar(2, 20.0), bar(4, 40.0), bar(5, 50.0)];
        let y = [bar(0, 0.5), bar(2, 2.0), bar(3, 3.0), bar(5, 5.0), bar(6, 6.0)];
        let (t, xs, ys) = inner_join(&x, &y);
        assert_eq!(t, vec![2, 5]);
        assert_eq!(xs, vec![20.0, 50.0]);
        assert_eq!(ys, vec![2.0, 5.0]);
    }

    #[test]
    fn empty_and_identical_grids() {
        let x = [bar(1, 1.0), bar(2, 2.0)];
        assert_eq!(inner_join(&x, &[]), (vec![], vec![], vec![]));
        assert_eq!(inner_join(&[], &x), (vec![], vec![], vec![]));
        let (t, xs, ys) = inner_join(&x, &x);
        assert_eq!((t, xs, ys), (vec![1, 2], vec![1.0, 2.0], vec![1.0, 2.0]));
    }
}
