//! Benjamini–Hochberg false-discovery-rate q-values: reproduces statsmodels 0.15.0
//! `statsmodels.stats.multitest.multipletests(p, method="fdr_bh")[1]` — sort the p-values,
//! `q_(i) = p_(i) / (i / m)`, running minimum from the largest down, capped at 1, back in the
//! input order.

use super::error::{AnalyticsError, Result};

/// BH q-values of `p` (each in `[0, 1]`), in the input order.
///
/// Errors: a p-value that is NaN or outside `[0, 1]`. An empty input gives an empty output.
pub fn bh_qvalues(p: &[f64]) -> Result<Vec<f64>> {
    if let Some(bad) = p.iter().find(|v| !(0.0..=1.0).contains(*v)) {
        return Err(AnalyticsError::InvalidInput(format!("bh: p-value {bad} outside [0, 1]")));
    }
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut q = vec![0.0; m];
    let mut running = f64::INFINITY;
    for (rank, &i) in order.iter().enumerate().rev() {
        let ecdf = (rank + 1) as f64 / m as f64;
        running = running.min(p[i] / ecdf);
        q[i] = running.min(1.0);
    }
    Ok(q)
}

/// [`bh_qvalues`] over the p-values that exist: `None` entries (tests that failed) are not
/// counted among the hypotheses and stay `None`.
pub(crate) fn bh_qvalues_opt(p: &[Option<f64>]) -> Result<Vec<Option<f64>>> {
    let present: Vec<f64> = p.iter().flatten().copied().collect();
    let mut q = bh_qvalues(&present)?.into_iter();
    Ok(p.iter().map(|v| v.and_then(|_| q.next())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_cases() {
        assert_eq!(bh_qvalues(&[]).unwrap(), Vec::<f64>::new());
        assert_eq!(bh_qvalues(&[0.03]).unwrap(), vec![0.03]);
        let q = bh_qvalues(&[0.01, 0.04, 0.03]).unwrap();
        for (g, e) in q.iter().zip([0.03, 0.04, 0.04]) {
            assert!((g - e).abs() < 1e-15, "{q:?}");
        }
        assert!(bh_qvalues(&[0.1, f64::NAN]).is_err());
        assert!(bh_qvalues(&[1.5]).is_err());
        let o = bh_qvalues_opt(&[Some(0.01), None, Some(0.04), Some(0.03)]).unwrap();
        assert_eq!(o[1], None);
        assert_eq!(o.iter().flatten().copied().collect::<Vec<_>>(), q);
    }
}
