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

/// The status bar's line about the klines history (`pairdesk serve --history`): how many
/// symbols are done, the percentage of each still fetching (at most three), and which
/// failed; `None` when history is off.
pub fn history_summary(progress: &[crate::protocol::HistoryProgress]) -> Option<String> {
    if progress.is_empty() {
        return None;
    }
    let done = progress.iter().filter(|p| p.done && p.error.is_none()).count();
    let mut parts = vec![format!("history {done}/{}", progress.len())];
    for p in progress.iter().filter(|p| !p.done).take(3) {
        let percent = (p.fetched.min(p.expected) * 100).checked_div(p.expected).unwrap_or(100);
        parts.push(format!("{} {percent}%", p.symbol));
    }
    parts.extend(progress.iter().filter(|p| p.error.is_some()).map(|p| format!("{} failed", p.symbol)));
    Some(parts.join(" · "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::HistoryProgress;

    #[test]
    fn history_summary_says_what_is_done_fetching_and_failed() {
        let entry = |symbol: &str, fetched, expected, done, error: Option<&str>| HistoryProgress {
            symbol: symbol.into(),
            fetched,
            expected,
            done,
            error: error.map(String::from),
        };
        assert_eq!(history_summary(&[]), None);
        let progress = [
            entry("BTCUSDT", 10_080, 10_080, true, None),
            entry("ETHUSDT", 4_500, 10_080, false, None),
            entry("SOLUSDT", 0, 0, false, None),
            entry("XRPUSDT", 0, 10_080, true, Some("exchange error -1121: Invalid symbol.")),
        ];
        assert_eq!(
            history_summary(&progress).as_deref(),
            Some("history 1/4 · ETHUSDT 44% · SOLUSDT 100% · XRPUSDT failed")
        );
        assert_eq!(history_summary(&progress[..1]).as_deref(), Some("history 1/1"));
    }

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
