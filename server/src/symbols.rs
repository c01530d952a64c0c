//! The set of ingested symbols, changeable while the server runs: the HTTP API adds or
//! removes one, the ingest (UN)SUBSCRIBEs on its open connection, and the push layer,
//! the screener and alert validation read the current set.
//!
//! A symbol is checked with the exchange before it is added (one `aggTrades` request of
//! one row), so a typo is refused with Binance's own message instead of silently
//! subscribing to a stream that never sends anything. Changes last until the server
//! stops; `--symbols` sets the list a server starts with.
//!
//! In cluster mode a change goes to the cluster's symbols bucket instead, which this set,
//! every other server's and every ingest process follow ([`crate::cluster::symbols`]).

use std::sync::Arc;

use tokio::sync::{mpsc, watch, Mutex};

use crate::ingest::backfill::{RestClient, RestError};
use crate::ingest::client::IngestCommand;

/// Longest symbol accepted (Binance's longest USDⓈ-M names, e.g. `1000000BOBUSDT_250627`, are ~21).
const MAX_SYMBOL_LEN: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SymbolError {
    #[error("`{0}` is not a symbol: letters, digits and `_` only, 2–32 characters (e.g. SOLUSDT)")]
    Invalid(String),
    #[error("{0} is already ingested")]
    AlreadyIngested(String),
    #[error("{0} is not ingested")]
    NotIngested(String),
    #[error("the exchange does not know {symbol}: {message}")]
    Unknown { symbol: String, message: String },
    #[error("cannot check {symbol} with the exchange ({reason}); try again when it is reachable")]
    ExchangeUnreachable { symbol: String, reason: String },
    #[error("at least two symbols must stay ingested (a pair needs two legs)")]
    LastPair,
    #[error("the ingest has stopped; restart the server")]
    IngestStopped,
    #[error("the cluster's symbol set did not take the change: {0}")]
    Shared(String),
}

/// Shared handle to the ingested symbols (upper case). Cheap to clone.
#[derive(Clone)]
pub struct Symbols {
    inner: Arc<Inner>,
}

struct Inner {
    current: Arc<watch::Sender<Vec<String>>>,
    changes: Changes,
    rest: Option<RestClient>,
    /// One change at a time, so two concurrent adds of one symbol cannot both pass the check.
    changing: Mutex<()>,
}

/// Where a change goes.
enum Changes {
    /// This server's own exchange connection, as (UN)SUBSCRIBE commands; None: a fixed set.
    Ingest(Option<mpsc::Sender<IngestCommand>>),
    /// The cluster's bucket; `current` follows it.
    Shared(Box<crate::cluster::symbols::SharedSymbols>),
}

impl Symbols {
    /// `ingest` receives (UN)SUBSCRIBE commands; `rest` checks new symbols. Without them
    /// the set is fixed (tests, replay).
    pub fn new(initial: Vec<String>, ingest: Option<mpsc::Sender<IngestCommand>>, rest: Option<RestClient>) -> Self {
        let initial = initial.into_iter().map(|s| s.to_ascii_uppercase()).collect();
        let (current, _) = watch::channel(initial);
        let changes = Changes::Ingest(ingest);
        Self { inner: Arc::new(Inner { current: Arc::new(current), changes, rest, changing: Mutex::new(()) }) }
    }

    /// A set that follows the cluster's bucket through `current` (which the bucket's follower
    /// keeps) and changes by writing to it; `rest` checks new symbols.
    pub fn shared(
        current: Arc<watch::Sender<Vec<String>>>,
        shared: crate::cluster::symbols::SharedSymbols,
        rest: RestClient,
    ) -> Self {
        let changes = Changes::Shared(Box::new(shared));
        Self { inner: Arc::new(Inner { current, changes, rest: Some(rest), changing: Mutex::new(()) }) }
    }

    /// A fixed set (tests and tools).
    pub fn fixed(symbols: &[String]) -> Self {
        Self::new(symbols.to_vec(), None, None)
    }

    pub fn current(&self) -> Vec<String> {
        self.inner.current.borrow().clone()
    }

    pub fn contains(&self, symbol: &str) -> bool {
        self.inner.current.borrow().iter().any(|s| s == symbol)
    }

    /// Notified on every change.
    pub fn subscribe(&self) -> watch::Receiver<Vec<String>> {
        self.inner.current.subscribe()
    }

    /// Checks `raw` with the exchange, subscribes to it and adds it. Returns the new set.
    pub async fn add(&self, raw: &str) -> Result<Vec<String>, SymbolError> {
        let symbol = normalise(raw)?;
        let _one_change = self.inner.changing.lock().await;
        if self.contains(&symbol) {
            return Err(SymbolError::AlreadyIngested(symbol));
        }
        let (Changes::Ingest(Some(_)) | Changes::Shared(_), Some(rest)) = (&self.inner.changes, &self.inner.rest)
        else {
            return Err(SymbolError::IngestStopped);
        };
        match rest.agg_trades(&symbol, 0, 1).await {
            Ok(_) => {}
            Err(RestError::Api { code, msg }) => {
                return Err(SymbolError::Unknown { symbol, message: format!("{msg} (code {code})") })
            }
            Err(err) => return Err(SymbolError::ExchangeUnreachable { symbol, reason: err.to_string() }),
        }
        match &self.inner.changes {
            Changes::Ingest(Some(ingest)) => {
                ingest
                    .send(IngestCommand::Subscribe(vec![symbol.to_ascii_lowercase()]))
                    .await
                    .map_err(|_| SymbolError::IngestStopped)?;
                self.inner.current.send_modify(|set| set.push(symbol));
            }
            Changes::Ingest(None) => return Err(SymbolError::IngestStopped),
            Changes::Shared(shared) => shared.add(&symbol).await.map_err(|e| SymbolError::Shared(e.to_string()))?,
        }
        Ok(self.current())
    }

    /// Unsubscribes from `raw` and removes it (its stored ticks and bars stay). Returns the new set.
    pub async fn remove(&self, raw: &str) -> Result<Vec<String>, SymbolError> {
        let symbol = normalise(raw)?;
        let _one_change = self.inner.changing.lock().await;
        if !self.contains(&symbol) {
            return Err(SymbolError::NotIngested(symbol));
        }
        if self.inner.current.borrow().len() <= 2 {
            return Err(SymbolError::LastPair);
        }
        match &self.inner.changes {
            Changes::Ingest(Some(ingest)) => {
                ingest
                    .send(IngestCommand::Unsubscribe(vec![symbol.to_ascii_lowercase()]))
                    .await
                    .map_err(|_| SymbolError::IngestStopped)?;
                self.inner.current.send_modify(|set| set.retain(|s| *s != symbol));
            }
            Changes::Ingest(None) => return Err(SymbolError::IngestStopped),
            Changes::Shared(shared) => shared.remove(&symbol).await.map_err(|e| SymbolError::Shared(e.to_string()))?,
        }
        Ok(self.current())
    }
}

/// Upper-case symbol, or why `raw` cannot be one.
pub(crate) fn normalise(raw: &str) -> Result<String, SymbolError> {
    let symbol = raw.trim().to_ascii_uppercase();
    let valid =
        (2..=MAX_SYMBOL_LEN).contains(&symbol.len()) && symbol.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if valid {
        Ok(symbol)
    } else {
        Err(SymbolError::Invalid(raw.chars().take(40).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_rejects_symbols() {
        assert_eq!(normalise(" solusdt "), Ok("SOLUSDT".into()));
        assert_eq!(normalise("btcusdt_250627"), Ok("BTCUSDT_250627".into()));
        for bad in ["", "x", "btc/usdt", "eth usdt", "<script>", &"a".repeat(33)] {
            assert!(matches!(normalise(bad), Err(SymbolError::Invalid(_))), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_fixed_set_refuses_changes_but_keeps_the_pair_rule() {
        let symbols = Symbols::fixed(&["btcusdt".into(), "ethusdt".into()]);
        assert_eq!(symbols.current(), vec!["BTCUSDT", "ETHUSDT"]);
        assert!(symbols.contains("ETHUSDT"));
        assert_eq!(symbols.add("ETHUSDT").await, Err(SymbolError::AlreadyIngested("ETHUSDT".into())));
        assert_eq!(symbols.add("SOLUSDT").await, Err(SymbolError::IngestStopped));
        assert_eq!(symbols.remove("ETHUSDT").await, Err(SymbolError::LastPair));
        assert_eq!(symbols.remove("XRPUSDT").await, Err(SymbolError::NotIngested("XRPUSDT".into())));
    }
}
