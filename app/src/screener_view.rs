//! The screener's wire shape: what `GET /api/screener` answers and the Screener page shows.

use serde::{Deserialize, Serialize};

/// One symbol's liquidity over the screened window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScreenedSymbol {
    pub symbol: String,
    /// Mean volume per bar.
    pub volume_per_bar: f64,
    /// Mean trade count per bar.
    pub trades_per_bar: f64,
}

/// One pair: `y` regressed on `x` (indices into `symbols`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScreenedPair {
    pub x: usize,
    pub y: usize,
    pub beta: Option<f64>,
    pub corr: Option<f64>,
    /// Engle–Granger p-value.
    pub pvalue: Option<f64>,
    /// Benjamini–Hochberg q-value of `pvalue` over all pairs (rank table; absent in old answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qvalue: Option<f64>,
    /// Half-life of the OLS spread, bars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_life: Option<f64>,
    /// Hurst exponent of the spread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hurst: Option<f64>,
    /// KPSS p-value of the spread (a table bound at 0.01 / 0.10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kpss_pvalue: Option<f64>,
    /// Whether `kpss_pvalue` is a table bound (`at_most` 0.01, `at_least` 0.10) or `exact`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kpss_p_bound: Option<crate::analytics::kpss::PBound>,
    /// The smaller of the two symbols' volume per bar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liquidity: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScreenerReport {
    pub interval_ms: i64,
    /// Common bars every symbol had (the series are aligned on bar time).
    pub bars: usize,
    pub symbols: Vec<ScreenedSymbol>,
    pub pairs: Vec<ScreenedPair>,
    /// Why nothing could be screened, if so (e.g. too little history yet).
    pub note: Option<String>,
    /// The uploaded data sets screened (`?datasets=`); empty: the live symbols.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub datasets: Vec<u64>,
}

impl ScreenerReport {
    /// The screened pair of symbols `i`, `j` in either order.
    pub fn pair(&self, i: usize, j: usize) -> Option<&ScreenedPair> {
        self.pairs.iter().find(|p| (p.x == i && p.y == j) || (p.x == j && p.y == i))
    }
}
