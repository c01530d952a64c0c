//! Reactive state of the live page, fed by pushed server messages.

use leptos::prelude::*;

use super::view::ViewQuery;
use crate::protocol::{apply_bar, Bar, BookQuote, FeedState, FeedStatus, LastPrice, LegQuote, ServerMsg};

/// How many alert events the page lists.
pub const MAX_ALERT_EVENTS: usize = 100;

/// Everything the live page shows that arrives from the server.
#[derive(Clone, Copy)]
pub struct LiveState {
    /// Symbols the server ingests (for the pair pickers).
    pub symbols: RwSignal<Vec<String>>,
    pub status: RwSignal<FeedStatus>,
    /// Whether the browser's own socket to the server is open.
    pub socket_open: RwSignal<bool>,
    pub last_x: RwSignal<Option<LastPrice>>,
    pub last_y: RwSignal<Option<LastPrice>>,
    /// Bars of the subscribed view: (x symbol, y symbol, interval) they belong to.
    pub bars_view: RwSignal<Option<(String, String, i64)>>,
    pub bars_x: RwSignal<Vec<Bar>>,
    pub bars_y: RwSignal<Vec<Bar>>,
    /// The server's last values of the subscribed view's analytics.
    pub analytics: RwSignal<Option<crate::protocol::AnalyticsValues>>,
    /// Alert events pushed since the page opened (plus the recent ones loaded at start), newest first.
    pub alerts: RwSignal<Vec<crate::alerts::AlertEvent>>,
    /// Best bid/ask per bar of both legs (book bars, then the live quotes' bar).
    pub book: RwSignal<LegBooks>,
    /// The latest quotes of both legs and the book/mark connections' states.
    pub quotes: RwSignal<Option<LiveQuotes>>,
}

/// The last `Quotes` message: both legs' latest quotes and the side connections' states.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveQuotes {
    pub x: Option<LegQuote>,
    pub y: Option<LegQuote>,
    pub book: FeedState,
    pub mark: FeedState,
}

/// Per-bar quotes and funding settlements of the view's two legs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LegBooks {
    pub x: Vec<BookQuote>,
    pub y: Vec<BookQuote>,
    pub x_funding: Vec<(i64, f64)>,
    pub y_funding: Vec<(i64, f64)>,
}

/// Makes `quote` the last quote of its bar in `book` (a new bar is appended).
fn apply_quote(book: &mut Vec<BookQuote>, quote: &LegQuote, interval_ms: i64) {
    let t = crate::analytics::resample::bar_start(quote.t_ms, interval_ms.max(1));
    let entry = BookQuote { t, bid: quote.bid, ask: quote.ask };
    match book.last_mut() {
        Some(last) if last.t == t => *last = entry,
        Some(last) if last.t > t => {}
        _ => book.push(entry),
    }
}

impl LiveState {
    pub fn new() -> Self {
        Self {
            symbols: RwSignal::new(Vec::new()),
            status: RwSignal::new(FeedStatus::default()),
            socket_open: RwSignal::new(false),
            last_x: RwSignal::new(None),
            last_y: RwSignal::new(None),
            bars_view: RwSignal::new(None),
            bars_x: RwSignal::new(Vec::new()),
            bars_y: RwSignal::new(Vec::new()),
            alerts: RwSignal::new(Vec::new()),
            analytics: RwSignal::new(None),
            book: RwSignal::new(LegBooks::default()),
            quotes: RwSignal::new(None),
        }
    }

    /// Folds one pushed message into the state.
    pub fn apply(&self, msg: ServerMsg) {
        match msg {
            ServerMsg::Hello { symbols, .. } => self.symbols.set(symbols),
            ServerMsg::Status(status) => self.status.set(status),
            ServerMsg::Analytics(values) => self.analytics.set(Some(values)),
            ServerMsg::Prices { x, y } => {
                if x.is_some() {
                    self.last_x.set(x);
                }
                if y.is_some() {
                    self.last_y.set(y);
                }
            }
            ServerMsg::Snapshot { x_symbol, y_symbol, interval_ms, x_bars, y_bars } => {
                self.book.set(LegBooks::default());
                self.bars_x.set(x_bars);
                self.bars_y.set(y_bars);
                self.bars_view.set(Some((x_symbol, y_symbol, interval_ms)));
            }
            ServerMsg::Bar { symbol, interval_ms, bar, .. } => {
                let Some((x, y, view_interval)) = self.bars_view.get_untracked() else { return };
                if interval_ms != view_interval {
                    return;
                }
                if symbol == x {
                    self.bars_x.update(|bars| apply_bar(bars, bar, interval_ms));
                }
                if symbol == y {
                    self.bars_y.update(|bars| apply_bar(bars, bar, interval_ms));
                }
            }
            ServerMsg::Book { x_symbol, y_symbol, interval_ms, x, y, x_funding, y_funding } => {
                if self.bars_view.get_untracked() == Some((x_symbol, y_symbol, interval_ms)) {
                    self.book.set(LegBooks { x, y, x_funding, y_funding });
                }
            }
            ServerMsg::Quotes { x, y, book, mark } => {
                if let Some((xs, ys, interval_ms)) = self.bars_view.get_untracked() {
                    self.book.update(|b| {
                        if let Some(q) = x.as_ref().filter(|q| q.symbol == xs) {
                            apply_quote(&mut b.x, q, interval_ms);
                        }
                        if let Some(q) = y.as_ref().filter(|q| q.symbol == ys) {
                            apply_quote(&mut b.y, q, interval_ms);
                        }
                    });
                }
                self.quotes.set(Some(LiveQuotes { x, y, book, mark }));
            }
            ServerMsg::Alert(event) => self.alerts.update(|events| {
                events.insert(0, event);
                events.truncate(MAX_ALERT_EVENTS);
            }),
            ServerMsg::Error { message } => leptos::logging::warn!("server: {message}"),
        }
    }
}

impl Default for LiveState {
    fn default() -> Self {
        Self::new()
    }
}

/// Creates the page's live state and (in the browser) its `/ws` connection, subscribed to
/// the view's pair and interval; every page shows the connection status.
pub fn connect_live(view_q: RwSignal<ViewQuery>) -> LiveState {
    let state = LiveState::new();
    provide_context(state);
    #[cfg(feature = "hydrate")]
    {
        let wanted = Signal::derive(move || view_q.with(|v| (v.x.clone(), v.y.clone(), v.interval_ms)));
        let analytics = Signal::derive(move || view_q.with(ViewQuery::analytics));
        super::socket::connect(state, wanted, analytics);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = view_q;
    state
}
