//! Serialisation helpers: non-finite floats as the strings `"inf"` / `"-inf"` / `null`.

use serde::Serializer;

/// Serialise an `f64`, writing `+inf` / `-inf` as the strings `"inf"` / `"-inf"` and NaN as `null`
/// (JSON has no non-finite numbers; this is the golden-file convention for `coint.stat`).
pub fn f64_nonfinite_as_string<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else if v.is_nan() {
        s.serialize_none()
    } else if *v > 0.0 {
        s.serialize_str("inf")
    } else {
        s.serialize_str("-inf")
    }
}

/// Convert NaN to `None`, anything else to `Some`.
pub fn finite_or_none(v: f64) -> Option<f64> {
    if v.is_nan() {
        None
    } else {
        Some(v)
    }
}
