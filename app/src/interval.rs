//! Bar intervals as people write them (`1s`, `30s`, `1m`, `5m`, `1h`, `1d`): the one parser and
//! printer, shared by the query-string view parser, the export API, the CLI flags and the
//! browser. Intervals come from outside (URLs, flags, uploads), so parsing is total: checked
//! arithmetic, bounded to [`MIN_INTERVAL_MS`, `MAX_INTERVAL_MS`], and never a byte-index split
//! inside a multi-byte character.

use thiserror::Error;

/// The shortest interval: one second (trades carry millisecond times, but no view or export
/// is finer than a second).
pub const MIN_INTERVAL_MS: i64 = 1_000;
/// The longest interval: 366 days (a calendar year of bars is one bar).
pub const MAX_INTERVAL_MS: i64 = 366 * 86_400_000;

/// Why a text is not an interval.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum IntervalError {
    /// Not `<whole number><unit>` with a unit of s, m, h or d.
    #[error("`{0}` is not an interval: expected a whole number and a unit s, m, h or d (e.g. 1s, 1m, 5m, 1h)")]
    Syntax(String),
    /// Well formed but shorter than 1s or longer than 366d.
    #[error("interval `{0}` is out of range: it must be between 1s and 366d")]
    Range(String),
}

/// Bar intervals the live views offer.
pub const INTERVALS_MS: [i64; 3] = [1_000, 60_000, 300_000];

/// `"1s"` → 1 000, `"5m"` → 300 000, `"1h"` → 3 600 000, `"1d"` → 86 400 000 (surrounding
/// whitespace ignored; `min` and `sec` are accepted for `m` and `s`).
pub fn parse_interval(text: &str) -> Result<i64, IntervalError> {
    let text = text.trim();
    let syntax = || IntervalError::Syntax(shorten(text));
    // `find` returns a char boundary, so the split never lands inside a UTF-8 sequence.
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(syntax)?;
    let (digits, unit) = text.split_at(split);
    let unit_ms: i64 = match unit {
        "s" | "sec" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(syntax()),
    };
    if digits.is_empty() {
        return Err(syntax());
    }
    // Too many digits for an i64 is out of range, not a syntax error.
    let range = || IntervalError::Range(shorten(text));
    let n: i64 = digits.parse().map_err(|_| range())?;
    let ms = n.checked_mul(unit_ms).ok_or_else(range)?;
    if !(MIN_INTERVAL_MS..=MAX_INTERVAL_MS).contains(&ms) {
        return Err(range());
    }
    Ok(ms)
}

/// Milliseconds → the shortest label in the largest whole unit: `60000` → `"1m"`,
/// `3600000` → `"1h"`, `90000` → `"90s"`.
pub fn interval_label(interval_ms: i64) -> String {
    const UNITS: [(i64, &str); 4] = [(86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1_000, "s")];
    for (unit_ms, unit) in UNITS {
        if interval_ms != 0 && interval_ms % unit_ms == 0 {
            return format!("{}{unit}", interval_ms / unit_ms);
        }
    }
    format!("{interval_ms}ms")
}

/// Error messages quote the input; a hostile 1 MB query string is not echoed whole.
fn shorten(text: &str) -> String {
    const MAX_CHARS: usize = 32;
    if text.chars().count() <= MAX_CHARS {
        text.to_string()
    } else {
        let head: String = text.chars().take(MAX_CHARS).collect();
        format!("{head}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_units_and_round_trips_through_labels() {
        for (text, ms) in [
            ("1s", 1_000),
            ("15s", 15_000),
            ("1m", 60_000),
            ("5m", 300_000),
            ("1h", 3_600_000),
            ("4h", 14_400_000),
            ("1d", 86_400_000),
            ("366d", MAX_INTERVAL_MS),
        ] {
            assert_eq!(parse_interval(text), Ok(ms), "{text}");
            assert_eq!(interval_label(ms), text);
        }
        assert_eq!(parse_interval(" 2min "), Ok(120_000));
        assert_eq!(parse_interval("90sec"), Ok(90_000));
        assert_eq!(interval_label(90_000), "90s");
    }

    #[test]
    fn rejects_malformed_text_as_syntax() {
        for bad in ["", "m", "5", "1w", "-1m", "+1m", "1.5m", "1é", "é", "1 m", "1mm", "m1"] {
            assert!(matches!(parse_interval(bad), Err(IntervalError::Syntax(_))), "{bad}");
        }
    }

    #[test]
    fn rejects_overflow_and_out_of_range_without_panicking() {
        for bad in ["0s", "0m", "367d", "9223372036854775807s", "576460752303423488m", "99999999999999999999999d"] {
            assert!(matches!(parse_interval(bad), Err(IntervalError::Range(_))), "{bad}");
        }
    }

    #[test]
    fn error_messages_quote_at_most_32_characters() {
        let long = format!("{}x", "9".repeat(10_000));
        let msg = parse_interval(&long).unwrap_err().to_string();
        assert!(msg.len() < 200, "{msg}");
    }
}
