//! The one time parser of uploaded files: epoch integers (ms, or µs/ns told apart by
//! magnitude), RFC 3339 / ISO-8601 with an offset or `Z`, naive date-times (UTC) and dates;
//! and the ISO form error messages quote times in.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// Epoch integer → ms, by magnitude: >= 1e18 ns, >= 1e15 µs, else ms.
pub(crate) fn epoch_to_ms(v: i64) -> i64 {
    if v >= 1_000_000_000_000_000_000 {
        v / 1_000_000
    } else if v >= 1_000_000_000_000_000 {
        v / 1_000
    } else {
        v
    }
}

/// Parse a timestamp into epoch ms (UTC): RFC 3339 / ISO-8601 with 'Z' or an offset, a naive
/// date-time (taken as UTC), a date `YYYY-MM-DD` (00:00 UTC), or an epoch integer (ms, or µs/ns
/// detected by magnitude).
pub(crate) fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().ok().map(epoch_to_ms);
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.timestamp_millis());
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(d) = DateTime::parse_from_str(s, fmt) {
            return Some(d.timestamp_millis());
        }
    }
    let naive = s.strip_suffix(['Z', 'z']).unwrap_or(s);
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(naive, fmt) {
            return Some(d.and_utc().timestamp_millis());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp_millis())
}

pub(crate) fn fmt_ms(t_ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(t_ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| t_ms.to_string())
}
