//! What travels over the browser WebSocket (`/ws`): the messages only. What a view is and
//! how both ends compute it from the same bars is [`crate::view`].
//!
//! The browser subscribes to a view with a [`ClientMsg`]; the server answers with a
//! [`ServerMsg::Snapshot`] of recent bars (and the view's analytics, when asked), then
//! pushes deltas (bars, coalesced prices and analytics, feed status, alert events). Both ends share these types so a field renamed on one side
//! cannot silently break the other.

use serde::{Deserialize, Serialize};

pub use crate::analytics::execution::BookQuote;
pub use crate::analytics::resample::Bar;
pub use crate::interval::{interval_label, parse_interval, INTERVALS_MS};
pub use crate::view::{AnalyticsValues, ViewAnalytics};

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
    /// The klines history fetch of each symbol (`pairdesk serve --history`), in the order
    /// the symbols were added; empty when history is off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryProgress>,
    /// Why the server's database cannot write (e.g. the disk is full), while it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_error: Option<String>,
}

/// Progress of the klines history fetch of one symbol, in minutes of the window asked for
/// (minutes without trades count too, so `fetched == expected` when done).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryProgress {
    pub symbol: String,
    /// Minutes fetched so far.
    pub fetched: u64,
    /// Minutes missing when the fetch started.
    pub expected: u64,
    /// Finished (successfully, or given up with `error`).
    pub done: bool,
    /// Why the fetch gave up (the exchange refused, or kept failing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
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

/// One leg's latest best bid/ask and mark price, as the live page's cost tile uses them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LegQuote {
    pub symbol: String,
    /// Quote time, epoch ms.
    pub t_ms: i64,
    pub bid: f64,
    pub ask: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark: Option<f64>,
    /// The funding rate of the next settlement, as estimated now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funding_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_funding_ms: Option<i64>,
}

/// One message from a browser to the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// Show this pair at this bar interval: the server replies with a snapshot, then deltas.
    /// With `analytics`, the server also computes that view's last values (hedge ratio,
    /// spread, z, correlation) and pushes them with the prices. Re-sending the same pair and
    /// interval with other analytics only switches those (no new snapshot). A view with
    /// analytics also gets its p-value tape over `tape_window` bars (absent:
    /// [`crate::analytics::tape::TAPE_WINDOW`]; bounded by
    /// [`crate::analytics::tape::TAPE_WINDOW_RANGE`]); another window on the same bars brings
    /// only that tape.
    Subscribe {
        x: String,
        y: String,
        interval_ms: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        analytics: Option<ViewAnalytics>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tape_window: Option<usize>,
    },
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
    /// The subscribed view's analytics as of its latest bars (snapshot, then with the prices).
    Analytics(AnalyticsValues),
    /// Best bid/ask per bar of both legs of the subscribed view (last quote of each bar, from
    /// the server's book bars) and each leg's funding settlements `(time, rate)`; sent after
    /// the snapshot. Empty lists when the server has no book data (yet).
    Book {
        x_symbol: String,
        y_symbol: String,
        interval_ms: i64,
        x: Vec<BookQuote>,
        y: Vec<BookQuote>,
        x_funding: Vec<(i64, f64)>,
        y_funding: Vec<(i64, f64)>,
    },
    /// Latest quotes, mark prices and funding of both legs and the state of the book and
    /// mark connections, at most once a second.
    Quotes { x: Option<LegQuote>, y: Option<LegQuote>, book: FeedState, mark: FeedState },
    /// An alert rule fired or cleared.
    Alert(crate::alerts::AlertEvent),
    /// The view's p-value tape (rolling Engle–Granger / ADF p-values and half-life): the whole
    /// tape after the snapshot, then the point of each bar that closes.
    Tape(crate::analytics::tape::TapeUpdate),
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
            history: Vec::new(),
            storage_error: None,
        });
        let json = serde_json::to_string(&msg).expect("serialise");
        assert_eq!(json, r#"{"type":"status","state":"down","last_error":"refused"}"#);
        let full = FeedStatus { storage_error: Some("disk full".into()), ..FeedStatus::default() };
        let json = serde_json::to_string(&full).expect("serialise");
        assert!(json.ends_with(r#","storage_error":"disk full"}"#), "{json}");
        assert_eq!(serde_json::from_str::<FeedStatus>(&json).expect("parse"), full);
    }

    #[test]
    fn history_progress_is_optional_on_the_wire() {
        // What a server without history (or an older one) sends still parses.
        let old: FeedStatus = serde_json::from_str(r#"{"state":"live","last_error":null}"#).expect("parse");
        assert!(old.history.is_empty());
        let status = FeedStatus {
            history: vec![HistoryProgress {
                symbol: "BTCUSDT".into(),
                fetched: 1_500,
                expected: 10_080,
                done: false,
                error: None,
            }],
            ..FeedStatus::default()
        };
        let json = serde_json::to_string(&status).expect("serialise");
        assert!(
            json.contains(r#""history":[{"symbol":"BTCUSDT","fetched":1500,"expected":10080,"done":false}]"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<FeedStatus>(&json).expect("parse"), status);
    }

    #[test]
    fn client_subscribe_parses() {
        let msg: ClientMsg =
            serde_json::from_str(r#"{"type":"subscribe","x":"BTCUSDT","y":"ETHUSDT","interval_ms":60000}"#)
                .expect("parse");
        let plain = ClientMsg::Subscribe {
            x: "BTCUSDT".into(),
            y: "ETHUSDT".into(),
            interval_ms: 60_000,
            analytics: None,
            tape_window: None,
        };
        assert_eq!(msg, plain, "a subscribe without a tape window still parses");
        let with_tape: ClientMsg = serde_json::from_str(
            r#"{"type":"subscribe","x":"BTCUSDT","y":"ETHUSDT","interval_ms":60000,"tape_window":480}"#,
        )
        .expect("parse");
        assert!(matches!(with_tape, ClientMsg::Subscribe { tape_window: Some(480), .. }), "{with_tape:?}");
        assert!(!serde_json::to_string(&plain).expect("serialise").contains("tape_window"));
        assert!(serde_json::from_str::<ClientMsg>(r#"{"type":"drop_tables"}"#).is_err());
    }

    #[test]
    fn live_intervals_round_trip_through_labels() {
        for ms in INTERVALS_MS {
            assert_eq!(parse_interval(&interval_label(ms)), Ok(ms));
        }
    }
}
