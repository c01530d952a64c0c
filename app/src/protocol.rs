//! What travels over the browser WebSocket (`/ws`).
//!
//! The browser subscribes to a view with a [`ClientMsg`]; the server answers with a
//! [`ServerMsg::Snapshot`] of recent bars, then pushes deltas (bars, coalesced prices,
//! feed status, alert events). Both ends share these types so a field renamed on one side
//! cannot silently break the other.

use serde::{Deserialize, Serialize};

pub use crate::analytics::resample::Bar;

/// State of the connection between the server and the exchange, as the UI shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FeedState {
    #[default]
    Connecting,
    Live,
    Backfilling,
    Down,
}

impl FeedState {
    pub fn label(&self) -> &'static str {
        match self {
            FeedState::Connecting => "connecting",
            FeedState::Live => "live",
            FeedState::Backfilling => "backfilling",
            FeedState::Down => "down",
        }
    }
}

/// Connection state plus the last error, if any.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct FeedStatus {
    pub state: FeedState,
    pub last_error: Option<String>,
    /// While [`FeedState::Backfilling`]: how far the gap fill has got.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<BackfillProgress>,
}

/// Progress of a REST backfill of one symbol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackfillProgress {
    pub symbol: String,
    /// Trades fetched so far.
    pub fetched: u64,
    /// Trades known to be missing (`None` while catching up to "now" after a reconnect).
    pub expected: Option<u64>,
}

/// Latest trade price of one symbol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LastPrice {
    pub symbol: String,
    /// Exchange trade time, epoch milliseconds.
    pub t_ms: i64,
    pub price: f64,
}

/// Bar intervals the live views offer.
pub const INTERVALS_MS: [i64; 3] = [1_000, 60_000, 300_000];

/// `1000` → `"1s"`, `60000` → `"1m"`, `300000` → `"5m"`.
pub fn interval_label(interval_ms: i64) -> String {
    if interval_ms % 60_000 == 0 {
        format!("{}m", interval_ms / 60_000)
    } else {
        format!("{}s", interval_ms / 1000)
    }
}

/// `"1s"` / `"1m"` / `"5m"` (or any `<n>s` / `<n>m`) → milliseconds.
pub fn parse_interval(label: &str) -> Option<i64> {
    let (digits, unit) = label.split_at(label.len().checked_sub(1)?);
    let n: i64 = digits.parse().ok().filter(|n| *n > 0)?;
    match unit {
        "s" => Some(n * 1000),
        "m" => Some(n * 60_000),
        _ => None,
    }
}

/// One message from a browser to the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// Show this pair at this bar interval: the server replies with a snapshot, then deltas.
    Subscribe { x: String, y: String, interval_ms: i64 },
}

/// One message from the server to a browser.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// First message after connecting: the ingested symbols and the default pair.
    Hello { symbols: Vec<String>, x_symbol: String, y_symbol: String },
    /// Exchange connection changed state.
    Status(FeedStatus),
    /// Recent bars of both legs of the subscribed view (sent on subscribe and on resync).
    Snapshot { x_symbol: String, y_symbol: String, interval_ms: i64, x_bars: Vec<Bar>, y_bars: Vec<Bar> },
    /// A bar of the subscribed view changed (`closed` = final) or a new one started.
    Bar { symbol: String, interval_ms: i64, bar: Bar, closed: bool },
    /// Latest prices, coalesced: at most one per push interval (100 ms).
    Prices { x: Option<LastPrice>, y: Option<LastPrice> },
    /// An alert rule fired or cleared.
    Alert(crate::alerts::AlertEvent),
    /// The server could not do what the client asked (unknown symbol, bad interval).
    Error { message: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_round_trip_with_a_type_tag() {
        let msg =
            ServerMsg::Prices { x: Some(LastPrice { symbol: "BTCUSDT".into(), t_ms: 1, price: 60000.5 }), y: None };
        let json = serde_json::to_string(&msg).expect("serialise");
        assert!(json.starts_with(r#"{"type":"prices""#), "{json}");
        let back: ServerMsg = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, msg);
    }

    #[test]
    fn status_serialises_state_in_snake_case() {
        let msg = ServerMsg::Status(FeedStatus {
            state: FeedState::Down,
            last_error: Some("refused".into()),
            progress: None,
        });
        let json = serde_json::to_string(&msg).expect("serialise");
        assert_eq!(json, r#"{"type":"status","state":"down","last_error":"refused"}"#);
    }

    #[test]
    fn client_subscribe_parses() {
        let msg: ClientMsg =
            serde_json::from_str(r#"{"type":"subscribe","x":"BTCUSDT","y":"ETHUSDT","interval_ms":60000}"#)
                .expect("parse");
        assert_eq!(msg, ClientMsg::Subscribe { x: "BTCUSDT".into(), y: "ETHUSDT".into(), interval_ms: 60_000 });
        assert!(serde_json::from_str::<ClientMsg>(r#"{"type":"drop_tables"}"#).is_err());
    }

    #[test]
    fn intervals_round_trip_through_labels() {
        for ms in INTERVALS_MS {
            assert_eq!(parse_interval(&interval_label(ms)), Some(ms));
        }
        assert_eq!(parse_interval("15s"), Some(15_000));
        for bad in ["", "m", "0s", "-1m", "1h", "xs"] {
            assert_eq!(parse_interval(bad), None, "{bad}");
        }
    }
}
