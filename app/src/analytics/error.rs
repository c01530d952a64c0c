//! The error type shared by every analytics stage (no panics on user data).

use std::fmt;

/// Why a statistic could not be computed.
#[derive(Debug, Clone, PartialEq)]
pub enum AnalyticsError {
    /// Fewer observations than the computation needs.
    TooShort {
        /// What was being computed.
        what: &'static str,
        /// Observations available.
        have: usize,
        /// Observations needed.
        need: usize,
    },
    /// Inputs of different lengths.
    LengthMismatch {
        /// What was being computed.
        what: &'static str,
        /// Length of the first input.
        left: usize,
        /// Length of the second input.
        right: usize,
    },
    /// An input value that the computation cannot use (NaN, non-positive price, ...).
    InvalidInput(String),
    /// A parameter outside its valid range.
    InvalidParameter(String),
    /// A regressor matrix without full column rank (e.g. constant x).
    Singular(&'static str),
    /// The caller cancelled the computation ([`Cancel`](super::cancel::Cancel)).
    Cancelled,
}

impl fmt::Display for AnalyticsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnalyticsError::TooShort { what, have, need } => {
                write!(f, "{what}: series too short ({have} observations, need at least {need})")
            }
            AnalyticsError::LengthMismatch { what, left, right } => {
                write!(f, "{what}: inputs have different lengths ({left} vs {right})")
            }
            AnalyticsError::InvalidInput(m) => write!(f, "invalid input: {m}"),
            AnalyticsError::InvalidParameter(m) => write!(f, "invalid parameter: {m}"),
            AnalyticsError::Singular(what) => {
                write!(f, "{what}: regressors are collinear or constant (singular design)")
            }
            AnalyticsError::Cancelled => write!(f, "cancelled"),
        }
    }
}

impl std::error::Error for AnalyticsError {}

/// Result alias used throughout the analytics module.
pub type Result<T> = std::result::Result<T, AnalyticsError>;

/// Error unless both slices have the same length.
pub(crate) fn check_same_len(what: &'static str, a: usize, b: usize) -> Result<()> {
    if a == b {
        Ok(())
    } else {
        Err(AnalyticsError::LengthMismatch { what, left: a, right: b })
    }
}

/// Error unless `have >= need`.
pub(crate) fn check_min_len(what: &'static str, have: usize, need: usize) -> Result<()> {
    if have >= need {
        Ok(())
    } else {
        Err(AnalyticsError::TooShort { what, have, need })
    }
}
