//! What travels over the browser WebSocket (`/ws`).
//!
//! The server pushes [`ServerMsg`]s; the browser answers with nothing yet (views and
//! subscriptions come with the dashboard). Both ends share these types so a field renamed
//! on one side cannot silently break the other.

use serde::{Deserialize, Serialize};

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
}

/// Latest trade price of one symbol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LastPrice {
    pub symbol: String,
    /// Exchange trade time, epoch milliseconds.
    pub t_ms: i64,
    pub price: f64,
}

/// One message from the server to a browser.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// First message after connecting: which two symbols the page shows.
    Hello { x_symbol: String, y_symbol: String },
    /// Exchange connection changed state.
    Status(FeedStatus),
    /// Latest prices, coalesced: at most one per push interval (100 ms).
    Prices { x: Option<LastPrice>, y: Option<LastPrice> },
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
        let msg = ServerMsg::Status(FeedStatus { state: FeedState::Down, last_error: Some("refused".into()) });
        let json = serde_json::to_string(&msg).expect("serialise");
        assert_eq!(json, r#"{"type":"status","state":"down","last_error":"refused"}"#);
    }
}
