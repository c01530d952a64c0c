//! Aligning two legs (or N) on bar timestamps.

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

/// Inner join of N legs on identical `t_ms` (each sorted by strictly increasing `t_ms`): the
/// timestamps every leg has, and each leg's closes and volumes there (`closes[k][i]`).
pub fn inner_join_many(legs: &[&[Bar]]) -> (Vec<i64>, Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let Some((first, rest)) = legs.split_first() else {
        return (Vec::new(), Vec::new(), Vec::new());
    };
    let mut pos = vec![0usize; rest.len()];
    let mut rows: Vec<Vec<usize>> = Vec::new();
    'outer: for (i0, b) in first.iter().enumerate() {
        let mut row = Vec::with_capacity(legs.len());
        row.push(i0);
        for (k, leg) in rest.iter().enumerate() {
            let p = &mut pos[k];
            while leg.get(*p).is_some_and(|c| c.t_ms < b.t_ms) {
                *p += 1;
            }
            match leg.get(*p) {
                Some(c) if c.t_ms == b.t_ms => row.push(*p),
                Some(_) => continue 'outer,
                None => break 'outer,
            }
        }
        rows.push(row);
    }
    let t = rows.iter().map(|r| first[r[0]].t_ms).collect();
    let pick = |f: fn(&Bar) -> f64| -> Vec<Vec<f64>> {
        legs.iter().enumerate().map(|(k, leg)| rows.iter().map(|r| f(&leg[r[k]])).collect()).collect()
    };
    (t, pick(|b| b.close), pick(|b| b.volume))
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

    #[test]
    fn many_legs_keep_only_common_timestamps() {
        let bar = |t: i64, c: f64| Bar { t_ms: t, open: c, high: c, low: c, close: c, volume: c * 2.0, count: None };
        let a = [bar(1, 1.0), bar(2, 2.0), bar(3, 3.0), bar(5, 5.0)];
        let b = [bar(2, 20.0), bar(3, 30.0), bar(4, 40.0), bar(5, 50.0)];
        let c = [bar(0, 0.5), bar(3, 300.0), bar(5, 500.0), bar(6, 600.0)];
        let (t, closes, vols) = inner_join_many(&[&a, &b, &c]);
        assert_eq!(t, vec![3, 5]);
        assert_eq!(closes, vec![vec![3.0, 5.0], vec![30.0, 50.0], vec![300.0, 500.0]]);
        assert_eq!(vols[1], vec![60.0, 100.0]);
        let (t2, x, y) = inner_join(&a, &b);
        let (t3, both, _) = inner_join_many(&[&a, &b]);
        assert_eq!((t2, vec![x, y]), (t3, both));
        assert!(inner_join_many(&[]).0.is_empty());
    }
}
