//! Reactive state of the live page, fed by pushed server messages.

use leptos::prelude::*;

use super::series::DatasetInfo;
use super::view::ViewQuery;
use crate::protocol::{Bar, BookQuote, FeedState, FeedStatus, LastPrice, LegQuote, ServerMsg};
use crate::view::apply_bar;

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
    /// Uploaded data sets (for the pair pickers), listed once when the page opens.
    pub datasets: RwSignal<Vec<DatasetInfo>>,
    /// Why the view's bars cannot be shown (an uploaded leg that failed to load, a live leg
    /// paired with an uploaded one).
    pub leg_error: RwSignal<Option<String>>,
    /// The view's p-value tape as the server pushes it (`ServerMsg::Tape`).
    pub tape: RwSignal<Option<crate::analytics::tape::TapeUpdate>>,
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
            datasets: RwSignal::new(Vec::new()),
            leg_error: RwSignal::new(None),
            tape: RwSignal::new(None),
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
            ServerMsg::Tape(update) => self.tape.update(|t| crate::analytics::tape::fold_tape(t, update)),
            ServerMsg::Error { message } => leptos::logging::warn!("server: {message}"),
        }
    }
}

impl Default for LiveState {
    fn default() -> Self {
        Self::new()
    }
}

/// Creates the page's live state and, in the browser, feeds it: the `/ws` connection (status,
/// symbols, alerts; and the view's bars when both legs are live), the data set list, and the
/// bars of uploaded legs. Only the view's identity (legs, interval), its analytic
/// parameters and its tape window are memoised into the subscription, so a z slider never
/// re-subscribes.
pub fn connect_live(view_q: RwSignal<ViewQuery>) -> LiveState {
    let state = LiveState::new();
    provide_context(state);
    #[cfg(feature = "hydrate")]
    {
        let wanted =
            Memo::new(move |_| view_q.with(|v| v.is_live().then(|| (v.x.clone(), v.y.clone(), v.interval_ms))));
        let analytics = Memo::new(move |_| view_q.with(ViewQuery::analytics));
        let tape_window = Memo::new(move |_| view_q.with(|v| v.tape_window));
        super::socket::connect(state, wanted.into(), analytics.into(), tape_window.into());
        load_datasets(state);
        let legs = Memo::new(move |_| view_q.with(|v| (!v.is_live()).then(|| v.legs())));
        Effect::new(move |_| {
            if let Some((x, y)) = legs.get() {
                load_upload_legs(state, x, y);
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = view_q;
    state
}

/// Lists the uploaded data sets into `state.datasets`.
#[cfg(feature = "hydrate")]
pub fn load_datasets(state: LiveState) {
    leptos::task::spawn_local(async move {
        let list = super::http::request::<super::series::DatasetList>("GET", "/api/datasets", None::<&()>).await;
        if let Ok(Some(list)) = list {
            state.datasets.set(list.datasets);
        }
    });
}

/// The bars of an uploaded series (`GET /api/datasets/{id}/bars?symbol=`), as charts take them.
#[cfg(feature = "hydrate")]
pub(crate) async fn fetch_upload_bars(leg: &super::series::SeriesRef) -> Result<Vec<Bar>, String> {
    Ok(fetch_upload_dataset_bars(leg).await?.into_iter().map(Bar::from).collect())
}

/// The bars of an uploaded series as the data set holds them (times, OHLCV, counts).
#[cfg(feature = "hydrate")]
pub(crate) async fn fetch_upload_dataset_bars(
    leg: &super::series::SeriesRef,
) -> Result<Vec<crate::dataset::Bar>, String> {
    #[derive(serde::Deserialize)]
    struct Bars {
        bars: Vec<crate::dataset::Bar>,
    }
    let url = leg.bars_url().ok_or_else(|| format!("{} is not an uploaded series", leg.key()))?;
    match super::http::request::<Bars>("GET", &url, None::<&()>).await? {
        Some(b) => Ok(b.bars),
        None => Err("empty answer".to_string()),
    }
}

/// Loads the bars of a view with uploaded legs; both must be uploaded (a live leg's bars and
/// an upload's rarely share a time, and the live one would move under a fixed one).
#[cfg(feature = "hydrate")]
fn load_upload_legs(state: LiveState, x: super::series::SeriesRef, y: super::series::SeriesRef) {
    state.bars_x.set(Vec::new());
    state.bars_y.set(Vec::new());
    state.bars_view.set(None);
    if x.is_live() || y.is_live() {
        state.leg_error.set(Some(
            "a live symbol and an uploaded series cannot be paired: pick two live symbols or two uploaded series"
                .into(),
        ));
        return;
    }
    state.leg_error.set(None);
    leptos::task::spawn_local(async move {
        match (fetch_upload_bars(&x).await, fetch_upload_bars(&y).await) {
            (Ok(xb), Ok(yb)) => {
                state.bars_x.set(xb);
                state.bars_y.set(yb);
                state.bars_view.set(Some((x.key(), y.key(), 0)));
            }
            (Err(err), _) | (_, Err(err)) => {
                state.leg_error.set(Some(format!("cannot load the uploaded series: {err}")))
            }
        }
    });
}
