//! What a view's leg can be: a live symbol the server ingests, or one symbol of an uploaded
//! data set. One key form for both, used in the URL (`x=BTCUSDT`, `x=3:SOLUSDT`), in the
//! pair pickers and in the Upload page's links, so any series opens in the same views.

use serde::Deserialize;

/// One leg of a view.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SeriesRef {
    /// A symbol the server ingests (its bars are pushed over `/ws`).
    Live(String),
    /// Symbol `symbol` of uploaded data set `dataset` (its bars come from
    /// `GET /api/datasets/{dataset}/bars?symbol=`).
    Upload { dataset: u64, symbol: String },
}

/// Symbols as exchanges and uploads name them: letters, digits and `^ . - _` (Yahoo's `^GSPC`,
/// `BRK-B`), at most 20.
fn is_symbol(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 20
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '^' || c == '.' || c == '-' || c == '_')
}

impl SeriesRef {
    /// `BTCUSDT` (live, upper-cased) or `ID:SYMBOL` (uploaded); anything else is `None`.
    pub fn parse(key: &str) -> Option<SeriesRef> {
        match key.split_once(':') {
            None => is_symbol(key).then(|| SeriesRef::Live(key.to_ascii_uppercase())),
            Some((id, symbol)) => {
                let dataset = id.parse::<u64>().ok().filter(|_| id.bytes().all(|b| b.is_ascii_digit()))?;
                is_symbol(symbol).then(|| SeriesRef::Upload { dataset, symbol: symbol.to_string() })
            }
        }
    }

    /// The key [`SeriesRef::parse`] reads back.
    pub fn key(&self) -> String {
        match self {
            SeriesRef::Live(symbol) => symbol.clone(),
            SeriesRef::Upload { dataset, symbol } => format!("{dataset}:{symbol}"),
        }
    }

    pub fn symbol(&self) -> &str {
        match self {
            SeriesRef::Live(symbol) | SeriesRef::Upload { symbol, .. } => symbol,
        }
    }

    pub fn is_live(&self) -> bool {
        matches!(self, SeriesRef::Live(_))
    }

    /// How pickers and titles name it: `BTCUSDT (live)`, `SOLUSDT · my_file.csv`.
    pub fn label(&self, datasets: &[DatasetInfo]) -> String {
        match self {
            SeriesRef::Live(symbol) => format!("{symbol} (live)"),
            SeriesRef::Upload { dataset, symbol } => match datasets.iter().find(|d| d.id == *dataset) {
                Some(d) => format!("{symbol} · {}", d.name),
                None => format!("{symbol} · data set {dataset}"),
            },
        }
    }

    /// The bars endpoint of an uploaded series.
    pub fn bars_url(&self) -> Option<String> {
        match self {
            SeriesRef::Live(_) => None,
            SeriesRef::Upload { dataset, symbol } => Some(format!("/api/datasets/{dataset}/bars?symbol={symbol}")),
        }
    }
}

/// One stored data set, as `GET /api/datasets` lists it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct DatasetInfo {
    pub id: u64,
    pub name: String,
    pub symbols: Vec<SymbolInfo>,
    pub rows: usize,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SymbolInfo {
    pub symbol: String,
    pub rows: usize,
    pub first_t: i64,
    pub last_t: i64,
}

#[derive(Deserialize)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub(crate) struct DatasetList {
    pub datasets: Vec<DatasetInfo>,
}

impl DatasetInfo {
    /// Every series of this data set.
    pub fn series(&self) -> impl Iterator<Item = SeriesRef> + '_ {
        self.symbols.iter().map(|s| SeriesRef::Upload { dataset: self.id, symbol: s.symbol.clone() })
    }
}

/// The pair a data set opens as on Live: its first two series, or (one series only) this one
/// as y against the first series of the newest other data set, as x; `None` if there is none.
pub fn default_pair(datasets: &[DatasetInfo], id: u64) -> Option<(SeriesRef, SeriesRef)> {
    let this = datasets.iter().find(|d| d.id == id)?;
    let mut own = this.series();
    let first = own.next()?;
    if let Some(second) = own.next() {
        return Some((first, second));
    }
    let other = datasets.iter().rev().filter(|d| d.id != id).find_map(|d| d.series().next())?;
    Some((other, first))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: u64, name: &str, symbols: &[&str]) -> DatasetInfo {
        DatasetInfo {
            id,
            name: name.into(),
            rows: 10,
            symbols: symbols
                .iter()
                .map(|s| SymbolInfo { symbol: (*s).into(), rows: 10, first_t: 0, last_t: 9 })
                .collect(),
        }
    }

    #[test]
    fn keys_round_trip_and_bad_ones_are_refused() {
        for key in ["BTCUSDT", "3:SOLUSDT", "12:^GSPC", "7:BRK-B"] {
            assert_eq!(SeriesRef::parse(key).map(|s| s.key()).as_deref(), Some(key));
        }
        assert_eq!(SeriesRef::parse("btcusdt"), Some(SeriesRef::Live("BTCUSDT".into())));
        for bad in
            ["", ":", "3:", ":X", "x:BTC", "-3:BTC", "+3:BTC", "3:<b>", "<script>", "1:2:3", "99999999999999999999:X"]
        {
            assert_eq!(SeriesRef::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn labels_name_the_source() {
        let sets = [info(3, "sol.csv", &["SOLUSDT"])];
        assert_eq!(SeriesRef::parse("BTCUSDT").expect("live").label(&sets), "BTCUSDT (live)");
        assert_eq!(SeriesRef::parse("3:SOLUSDT").expect("upload").label(&sets), "SOLUSDT · sol.csv");
        assert_eq!(SeriesRef::parse("4:X").expect("upload").label(&sets), "X · data set 4");
    }

    #[test]
    fn a_data_set_opens_as_its_own_pair_or_against_the_newest_other() {
        let sets =
            [info(1, "btc.csv", &["BTCUSDT"]), info(2, "two.csv", &["A", "B"]), info(3, "eth.csv", &["ETHUSDT"])];
        let key = |p: Option<(SeriesRef, SeriesRef)>| p.map(|(x, y)| (x.key(), y.key()));
        assert_eq!(key(default_pair(&sets, 2)), Some(("2:A".into(), "2:B".into())));
        assert_eq!(key(default_pair(&sets, 1)), Some(("3:ETHUSDT".into(), "1:BTCUSDT".into())));
        assert_eq!(key(default_pair(&sets, 3)), Some(("2:A".into(), "3:ETHUSDT".into())));
        assert_eq!(default_pair(&sets[..1], 1), None);
        assert_eq!(default_pair(&sets, 9), None);
    }
}
