//! Number formatting for the UI: sensible precision, a dash for "not yet available".

/// A price with precision that suits its magnitude, e.g. `62030.60` or `0.4312`.
pub fn fmt_price(price: f64) -> String {
    if !price.is_finite() {
        "—".into()
    } else if price.abs() >= 100.0 {
        format!("{price:.2}")
    } else {
        format!("{price:.4}")
    }
}

pub fn fmt_num(v: f64, decimals: usize) -> String {
    if v.is_finite() {
        // A value that rounds to zero shows as 0, never as "-0.0000".
        let text = format!("{v:.decimals$}");
        if text.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') {
            return format!("{:.decimals$}", 0.0);
        }
        text
    } else if v.is_nan() {
        "—".into()
    } else if v > 0.0 {
        "∞".into()
    } else {
        "−∞".into()
    }
}

pub fn fmt_opt(v: Option<f64>, decimals: usize) -> String {
    v.map(|v| fmt_num(v, decimals)).unwrap_or_else(|| "—".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(fmt_price(62030.6), "62030.60");
        assert_eq!(fmt_price(0.43125), "0.4313");
        assert_eq!(fmt_num(f64::NEG_INFINITY, 2), "−∞");
        assert_eq!(fmt_opt(None, 2), "—");
        assert_eq!(fmt_num(-0.00001, 4), "0.0000");
        assert_eq!(fmt_num(-1.5, 1), "-1.5");
    }
}
