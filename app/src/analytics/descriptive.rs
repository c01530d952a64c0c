//! Small descriptive statistics (mean, median, std, two-pass sums) shared by the other stages.

/// Arithmetic mean (plain left-to-right sum / n). `NaN` for an empty slice.
pub fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Standard deviation with `ddof` (two-pass: mean first, then centred squares). `NaN` when
/// `v.len() <= ddof`.
pub fn std(v: &[f64], ddof: usize) -> f64 {
    if v.len() <= ddof {
        return f64::NAN;
    }
    let m = mean(v);
    let ss: f64 = v.iter().map(|a| (a - m) * (a - m)).sum();
    (ss / (v.len() - ddof) as f64).sqrt()
}

/// Median like `numpy.median` (mean of the two middle values for an even count). `None` for an
/// empty slice or when it contains NaN.
pub fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() || v.iter().any(|a| a.is_nan()) {
        return None;
    }
    let mut w = v.to_vec();
    Some(median_in_place(&mut w))
}

/// Median of a non-empty NaN-free buffer, reordering it (selection, O(n)).
pub(crate) fn median_in_place(w: &mut [f64]) -> f64 {
    let n = w.len();
    let mid = n / 2;
    let (left, m, _) = w.select_nth_unstable_by(mid, f64::total_cmp);
    let m = *m;
    if n % 2 == 1 {
        m
    } else {
        let lo = left.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo + m) / 2.0
    }
}

/// Centred cross-moments of two equally long slices: `(mean_x, mean_y, sxx, sxy, syy)` with
/// `sxx = sum((x - mean_x)^2)` etc. (two-pass).
pub fn centred_moments(x: &[f64], y: &[f64]) -> (f64, f64, f64, f64, f64) {
    let mx = mean(x);
    let my = mean(y);
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let dx = a - mx;
        let dy = b - my;
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    (mx, my, sxx, sxy, syy)
}
