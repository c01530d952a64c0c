//! The per-view feed: one task per distinct view being watched follows the bar broadcast,
//! coalesces forming bars and prices to one push per [`PUSH_INTERVAL`], computes the view's
//! analytics on exactly the bars a page holds, serialises each message once and fans the
//! frames out to every watcher; plus the snapshot a new watcher starts from.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use app::protocol::{Bar, FeedStatus, LastPrice, ServerMsg};
use app::view::{analytics_values, live_bars, ViewAnalytics, ViewBars};
use axum::extract::ws::Utf8Bytes;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use super::hub::{BarHistory, Feeds, PushHub};
use crate::pipeline::BarUpdate;
use crate::shutdown::Shutdown;

/// Forming bars, prices and analytics are pushed at most this often per view.
pub const PUSH_INTERVAL: Duration = Duration::from_millis(100);
/// Frames a view feed buffers per watcher; a watcher further behind gets a fresh snapshot.
pub(super) const FEED_CAPACITY: usize = 1_024;
/// The finest interval: its forming bar's close is the symbol's last trade price.
const TICK_INTERVAL_MS: i64 = 1_000;
/// Funding settlements before the first bar are sent too, so the rate in force is known.
const FUNDING_LOOKBACK_MS: i64 = 86_400_000;

/// What one client is subscribed to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct View {
    pub(super) x: String,
    pub(super) y: String,
    pub(super) interval_ms: i64,
    /// The analytics to compute and push with the prices, if asked for.
    pub(super) analytics: Option<ViewAnalytics>,
    /// Bars per p-value tape window (the tape comes with the analytics). Part of the feed's
    /// key: each distinct (view, tape window) has one feed that computes its tape once.
    pub(super) tape_window: usize,
}

impl View {
    /// Same pair and interval: the same bars (only the analytics may differ).
    pub(super) fn same_bars(&self, other: &View) -> bool {
        self.x == other.x && self.y == other.y && self.interval_ms == other.interval_ms
    }
}

/// Deltas waiting for the next push.
#[derive(Default)]
pub(super) struct Pending {
    forming: HashMap<String, Bar>,
    prices: HashMap<String, LastPrice>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.forming.is_empty() && self.prices.is_empty()
    }
}

/// Computes one view's deltas once — coalescing, serialising — for all its watchers.
pub(super) struct ViewFeed {
    pub(super) view: View,
    pub(super) out: broadcast::Sender<Utf8Bytes>,
    pub(super) feeds: Arc<Feeds>,
    pub(super) history: Arc<dyn BarHistory>,
    /// The feed status, for the klines history of the view's symbols (`--history`).
    pub(super) status: watch::Receiver<FeedStatus>,
}

/// How many of `view`'s symbols have their klines history fetched.
fn history_done(status: &FeedStatus, view: &View) -> usize {
    status.history.iter().filter(|h| h.done && (h.symbol == view.x || h.symbol == view.y)).count()
}

/// Both legs' bars as a watching page holds them (snapshot, then every update), for a
/// view whose analytics the feed computes.
struct Legs {
    bars: ViewBars,
    /// A bar changed since the analytics were last pushed.
    changed: bool,
}

impl ViewFeed {
    pub(super) async fn run(self, mut bars: broadcast::Receiver<BarUpdate>, mut shutdown: Shutdown) {
        let mut pending = Pending::default();
        let mut legs = self.load_legs().await;
        let mut last_push = Instant::now() - PUSH_INTERVAL;
        let mut status = self.status.clone();
        let mut status_open = true;
        let mut history = history_done(&status.borrow_and_update(), &self.view);
        loop {
            // Coalesced deltas (and analytics) wait for the end of the current push interval.
            let waiting = !pending.is_empty() || legs.as_ref().is_some_and(|l| l.changed);
            let push_due = waiting.then_some(last_push + PUSH_INTERVAL);
            let frames = tokio::select! {
                update = bars.recv() => match update {
                    Ok(update) => {
                        self.follow(&mut legs, &update);
                        let tape = match legs.as_ref() {
                            Some(l) => super::tape::on_close(&self.view, &l.bars, &update).await,
                            None => None,
                        };
                        let mut out = on_bar(&self.view, &mut pending, update);
                        out.extend(tape);
                        let waiting = !pending.is_empty() || legs.as_ref().is_some_and(|l| l.changed);
                        if waiting && last_push.elapsed() >= PUSH_INTERVAL {
                            out.extend(self.flush(&mut pending, &mut legs).await);
                            last_push = Instant::now();
                        }
                        encode(&out)
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "view feed lagged: watchers resync");
                        pending = Pending::default();
                        legs = self.load_legs().await;
                        vec![Utf8Bytes::from_static("")]
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                // A page opened before a leg's history arrived shows it once it has: resync.
                changed = status.changed(), if status_open => {
                    let done = if changed.is_ok() { history_done(&status.borrow_and_update(), &self.view) } else { history };
                    status_open = changed.is_ok();
                    if done == history {
                        Vec::new()
                    } else {
                        history = done;
                        pending = Pending::default();
                        legs = self.load_legs().await;
                        vec![Utf8Bytes::from_static("")]
                    }
                }
                () = tokio::time::sleep_until(push_due.unwrap_or_else(Instant::now)), if push_due.is_some() => {
                    last_push = Instant::now();
                    encode(&self.flush(&mut pending, &mut legs).await)
                }
                () = shutdown.wait() => break,
            };
            for frame in frames {
                // No receiver right now is fine: the watcher check below decides.
                let _ = self.out.send(frame);
            }
            if self.out.receiver_count() == 0 && self.retire() {
                return;
            }
        }
        self.retire();
    }

    /// The legs' recent bars, as a snapshot carries them, when the view computes analytics
    /// (store reads, in the `/ws` work slots).
    async fn load_legs(&self) -> Option<Legs> {
        self.view.analytics?;
        let (history, view) = (self.history.clone(), self.view.clone());
        let limit = live_bars(view.interval_ms);
        super::work::blocking(move || {
            let x = history.recent_bars(&view.x, view.interval_ms, limit);
            let y = history.recent_bars(&view.y, view.interval_ms, limit);
            Legs { bars: ViewBars { x, y }, changed: false }
        })
        .await
    }

    /// Applies a bar update to the legs exactly as a page applies the pushed bar.
    fn follow(&self, legs: &mut Option<Legs>, update: &BarUpdate) {
        let Some(legs) = legs else { return };
        if update.interval_ms != self.view.interval_ms {
            return;
        }
        if legs.bars.apply(&self.view.x, &self.view.y, &update.symbol, update.bar, update.interval_ms) {
            legs.changed = true;
        }
    }

    /// The coalesced deltas, then the analytics if a bar changed: computed once here for
    /// every watcher, in the `/ws` work slots ([`super::work`]) — a Theil–Sen view is ~16 ms
    /// a push, which must not run on the async workers.
    async fn flush(&self, pending: &mut Pending, legs: &mut Option<Legs>) -> Vec<ServerMsg> {
        let mut out = flush(&self.view, pending);
        if let Some(legs) = legs.as_mut().filter(|l| l.changed) {
            legs.changed = false;
            let (view, x, y) = (self.view.clone(), legs.bars.x.clone(), legs.bars.y.clone());
            out.extend(super::work::blocking(move || analytics_msg(&view, &x, &y)).await.flatten());
        }
        out
    }

    /// Removes this feed if nobody watches it (checked under the lock new watchers take).
    fn retire(&self) -> bool {
        let mut feeds = self.feeds.lock();
        if self.out.receiver_count() > 0 {
            return false;
        }
        feeds.remove(&self.view);
        true
    }
}

/// Serialises messages once; a message that cannot be serialised is dropped (logged).
pub(super) fn encode(msgs: &[ServerMsg]) -> Vec<Utf8Bytes> {
    msgs.iter()
        .filter_map(|msg| match serde_json::to_string(msg) {
            Ok(text) => Some(Utf8Bytes::from(text)),
            Err(err) => {
                tracing::error!(%err, "cannot serialise a push message");
                None
            }
        })
        .collect()
}

/// The recent bars of both legs, as a snapshot carries them.
pub(super) fn recent_bars(hub: &PushHub, view: &View) -> (Vec<Bar>, Vec<Bar>) {
    let limit = live_bars(view.interval_ms);
    (
        hub.history.recent_bars(&view.x, view.interval_ms, limit),
        hub.history.recent_bars(&view.y, view.interval_ms, limit),
    )
}

/// The view's analytics on these bars, if the view asks for them and both legs have bars.
pub(super) fn analytics_msg(view: &View, x_bars: &[Bar], y_bars: &[Bar]) -> Option<ServerMsg> {
    let values = analytics_values(x_bars, y_bars, view.interval_ms, view.analytics?)?;
    Some(ServerMsg::Analytics(values))
}

/// Per-bar quotes and funding of both legs over the bars a snapshot carries.
pub(super) fn book_msg(hub: &PushHub, view: &View, from_ms: i64) -> Option<ServerMsg> {
    let side = hub.side.as_ref()?;
    let quotes = |symbol: &str| -> Vec<app::protocol::BookQuote> {
        match side.book.bars(symbol, view.interval_ms, from_ms, i64::MAX) {
            Ok(bars) => bars.iter().map(|b| app::protocol::BookQuote { t: b.t, bid: b.bid, ask: b.ask }).collect(),
            Err(err) => {
                tracing::error!(%err, symbol, "cannot read book bars for a snapshot");
                Vec::new()
            }
        }
    };
    let funding = |symbol: &str| -> Vec<(i64, f64)> {
        match side.funding.settlements(symbol, from_ms.saturating_sub(FUNDING_LOOKBACK_MS), i64::MAX) {
            Ok(list) => list.iter().map(|s| (s.t_ms, s.rate)).collect(),
            Err(err) => {
                tracing::error!(%err, symbol, "cannot read funding for a snapshot");
                Vec::new()
            }
        }
    };
    Some(ServerMsg::Book {
        x_symbol: view.x.clone(),
        y_symbol: view.y.clone(),
        interval_ms: view.interval_ms,
        x: quotes(&view.x),
        y: quotes(&view.y),
        x_funding: funding(&view.x),
        y_funding: funding(&view.y),
    })
}

/// The latest quotes and marks of both legs, and the side connections' states.
pub(super) fn quotes_msg(hub: &PushHub, view: &View) -> Option<ServerMsg> {
    let feeds = &hub.side.as_ref()?.feeds;
    let leg = |symbol: &str| {
        let quote = feeds.quotes.borrow().get(symbol).cloned()?;
        let mark = feeds.marks.borrow().get(symbol).cloned();
        Some(app::protocol::LegQuote {
            symbol: symbol.to_string(),
            t_ms: quote.t_ms,
            bid: quote.bid,
            ask: quote.ask,
            mark: mark.as_ref().map(|m| m.mark),
            funding_rate: mark.as_ref().map(|m| m.funding_rate),
            next_funding_ms: mark.as_ref().map(|m| m.next_funding_ms),
        })
    };
    Some(ServerMsg::Quotes {
        x: leg(&view.x),
        y: leg(&view.y),
        book: feeds.book_status.borrow().state.clone(),
        mark: feeds.mark_status.borrow().state.clone(),
    })
}

pub(super) fn snapshot(hub: &PushHub, view: &View) -> Vec<ServerMsg> {
    let (x_bars, y_bars) = recent_bars(hub, view);
    let first = x_bars.first().map(|b| b.t).into_iter().chain(y_bars.first().map(|b| b.t)).min();
    let book = first.and_then(|from| book_msg(hub, view, from));
    let analytics = analytics_msg(view, &x_bars, &y_bars);
    let tape = super::tape::snapshot_msg(view, &x_bars, &y_bars);
    let last = |symbol: &str, bars: &[Bar]| {
        bars.last().map(|b| LastPrice { symbol: symbol.to_string(), t_ms: b.t, price: b.close })
    };
    let prices = ServerMsg::Prices { x: last(&view.x, &x_bars), y: last(&view.y, &y_bars) };
    vec![
        ServerMsg::Snapshot {
            x_symbol: view.x.clone(),
            y_symbol: view.y.clone(),
            interval_ms: view.interval_ms,
            x_bars,
            y_bars,
        },
        prices,
    ]
    .into_iter()
    .chain(tape)
    .chain(analytics)
    .chain(book)
    .collect()
}

/// Closed bars of the view go out at once; forming bars and prices wait for the tick.
fn on_bar(view: &View, pending: &mut Pending, update: BarUpdate) -> Vec<ServerMsg> {
    if update.symbol != view.x && update.symbol != view.y {
        return vec![];
    }
    if update.interval_ms == TICK_INTERVAL_MS {
        let price = LastPrice { symbol: update.symbol.clone(), t_ms: update.trade_ms, price: update.bar.close };
        pending.prices.insert(update.symbol.clone(), price);
    }
    if update.interval_ms != view.interval_ms {
        return vec![];
    }
    if update.closed {
        // The closed bar supersedes a pending forming version of itself.
        if pending.forming.get(&update.symbol).is_some_and(|b| b.t <= update.bar.t) {
            pending.forming.remove(&update.symbol);
        }
        return vec![ServerMsg::Bar {
            symbol: update.symbol,
            interval_ms: update.interval_ms,
            bar: update.bar,
            closed: true,
        }];
    }
    pending.forming.insert(update.symbol, update.bar);
    vec![]
}

fn flush(view: &View, pending: &mut Pending) -> Vec<ServerMsg> {
    let mut out: Vec<ServerMsg> = pending
        .forming
        .drain()
        .map(|(symbol, bar)| ServerMsg::Bar { symbol, interval_ms: view.interval_ms, bar, closed: false })
        .collect();
    if !pending.prices.is_empty() {
        out.push(ServerMsg::Prices { x: pending.prices.remove(&view.x), y: pending.prices.remove(&view.y) });
        pending.prices.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::analytics::tape::TAPE_WINDOW;

    fn bar(t: i64, close: f64) -> Bar {
        Bar { t, open: close, high: close, low: close, close, volume: 1.0, count: 1 }
    }

    /// The BTC/ETH view at `interval_ms` with the default tape window.
    fn btc_eth(interval_ms: i64, analytics: Option<ViewAnalytics>) -> View {
        View { x: "BTCUSDT".into(), y: "ETHUSDT".into(), interval_ms, analytics, tape_window: TAPE_WINDOW }
    }

    fn update(symbol: &str, interval_ms: i64, bar: Bar, closed: bool) -> BarUpdate {
        BarUpdate { symbol: symbol.into(), interval_ms, bar, closed, trade_ms: bar.t + 1 }
    }

    #[test]
    fn forming_bars_and_prices_are_coalesced_closed_bars_are_not() {
        let view = btc_eth(1_000, None);
        let mut pending = Pending::default();
        for i in 0..50 {
            assert!(on_bar(&view, &mut pending, update("BTCUSDT", 1_000, bar(0, 100.0 + i as f64), false)).is_empty());
        }
        assert!(on_bar(&view, &mut pending, update("SOLUSDT", 1_000, bar(0, 1.0), false)).is_empty());
        let out = flush(&view, &mut pending);
        assert_eq!(out.len(), 2, "one forming bar + one prices message: {out:?}");
        assert!(out.contains(&ServerMsg::Bar {
            symbol: "BTCUSDT".into(),
            interval_ms: 1_000,
            bar: bar(0, 149.0),
            closed: false
        }));
        assert!(flush(&view, &mut pending).is_empty(), "nothing new, nothing sent");
        let closed = on_bar(&view, &mut pending, update("ETHUSDT", 1_000, bar(0, 5.0), true));
        assert_eq!(closed.len(), 1);
    }

    #[test]
    fn other_intervals_only_feed_prices() {
        let view = btc_eth(60_000, None);
        let mut pending = Pending::default();
        assert!(on_bar(&view, &mut pending, update("BTCUSDT", 1_000, bar(0, 7.0), true)).is_empty());
        let out = flush(&view, &mut pending);
        assert_eq!(
            out,
            vec![ServerMsg::Prices { x: Some(LastPrice { symbol: "BTCUSDT".into(), t_ms: 1, price: 7.0 }), y: None }]
        );
    }

    /// History holding `x` and `y` bars for BTCUSDT and ETHUSDT.
    struct FixedHistory(Vec<Bar>, Vec<Bar>);

    impl BarHistory for FixedHistory {
        fn recent_bars(&self, symbol: &str, _: i64, limit: usize) -> Vec<Bar> {
            let bars = if symbol == "BTCUSDT" { &self.0 } else { &self.1 };
            bars[bars.len().saturating_sub(limit)..].to_vec()
        }
    }

    /// A hub over `history`; keep the returned trigger alive (dropping it shuts the feeds down).
    fn hub(history: FixedHistory) -> (PushHub, broadcast::Sender<BarUpdate>, crate::shutdown::Trigger) {
        let (bars, _) = broadcast::channel(64);
        let (_status_tx, status) = watch::channel(FeedStatus::default());
        let (alerts, _) = broadcast::channel(4);
        let (trigger, shutdown) = crate::shutdown::channel();
        let hub = PushHub {
            symbols: crate::symbols::Symbols::fixed(&["BTCUSDT".into(), "ETHUSDT".into()]),
            pair: ("BTCUSDT".into(), "ETHUSDT".into()),
            status,
            bars: bars.clone(),
            history: Arc::new(history),
            alerts,
            shutdown,
            feeds: Default::default(),
            side: None,
        };
        (hub, bars, trigger)
    }

    #[tokio::test]
    async fn watchers_resync_when_a_legs_klines_history_is_done() {
        let (hub, _bars, _trigger) = hub(FixedHistory(Vec::new(), Vec::new()));
        let (status_tx, status) = watch::channel(FeedStatus::default());
        let hub = PushHub { status, ..hub };
        let view = btc_eth(60_000, None);
        let mut feed = hub.feed(&view);
        tokio::task::yield_now().await;
        let progress = |symbol: &str, done: bool| app::protocol::HistoryProgress {
            symbol: symbol.into(),
            fetched: 10,
            expected: 10,
            done,
            error: None,
        };
        // Progress, and another symbol's history: nothing to resync.
        status_tx.send_modify(|s| s.history = vec![progress("BTCUSDT", false), progress("SOLUSDT", true)]);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(feed.try_recv().is_err(), "no frame before a leg's history is done");
        status_tx.send_modify(|s| s.history[0].done = true);
        let frame = tokio::time::timeout(Duration::from_secs(2), feed.recv()).await.expect("in time").expect("frame");
        assert!(frame.as_str().is_empty(), "the resync signal, got {}", frame.as_str());
    }

    #[tokio::test]
    async fn watchers_of_one_view_share_one_feed_which_ends_with_the_last_watcher() {
        let (hub, bars, _trigger) = hub(FixedHistory(Vec::new(), Vec::new()));
        let view = btc_eth(1_000, None);
        let (mut a, mut b) = (hub.feed(&view), hub.feed(&view));
        let other = hub.feed(&View { interval_ms: 60_000, ..view.clone() });
        assert_eq!(hub.feeds.len(), 2, "two distinct views, two feeds");
        tokio::task::yield_now().await;
        bars.send(update("BTCUSDT", 1_000, bar(0, 5.0), true)).expect("send");
        let (frame_a, frame_b) = (a.recv().await.expect("a"), b.recv().await.expect("b"));
        assert_eq!(frame_a, frame_b, "serialised once, the same frame for both");
        assert!(frame_a.as_str().contains(r#""type":"bar""#), "{}", frame_a.as_str());
        drop((a, b, other));
        // The next update finds no watchers and retires both feeds.
        bars.send(update("ETHUSDT", 1_000, bar(0, 6.0), false)).expect("send");
        for _ in 0..100 {
            if hub.feeds.is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("feeds still running without watchers: {}", hub.feeds.len());
    }

    #[tokio::test]
    async fn a_view_with_analytics_gets_them_in_the_snapshot_and_after_each_bar() {
        let xb: Vec<Bar> = (0..60).map(|i| bar(i * 1_000, 100.0 + (i as f64 * 0.7).sin())).collect();
        let yb: Vec<Bar> = xb.iter().map(|b| bar(b.t, 2.0 * b.close + (b.t as f64 * 0.003).cos())).collect();
        let (hub, bars, _trigger) = hub(FixedHistory(xb.clone(), yb.clone()));
        let analytics =
            ViewAnalytics { window: 10, corr_window: 10, hedge: app::analytics::live_view::HedgeMethod::Ols };
        let view = btc_eth(1_000, Some(analytics));
        let first = snapshot(&hub, &view);
        let expected = analytics_values(&xb, &yb, 1_000, analytics).expect("values");
        assert_eq!(first.last(), Some(&ServerMsg::Analytics(expected)));

        let mut feed = hub.feed(&view);
        tokio::task::yield_now().await;
        let next = bar(60_000, 99.0);
        bars.send(update("BTCUSDT", 1_000, next, false)).expect("send");
        bars.send(update("ETHUSDT", 1_000, bar(60_000, 201.0), false)).expect("send");
        let (mut xb, mut yb) = (xb, yb);
        xb.push(next);
        yb.push(bar(60_000, 201.0));
        let want = analytics_values(&xb, &yb, 1_000, analytics).expect("values");
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let frame =
                tokio::time::timeout_at(deadline, feed.recv()).await.expect("analytics in time").expect("frame");
            // The first push may reflect the x update alone (sent at once); the next one both.
            if let Ok(ServerMsg::Analytics(values)) = serde_json::from_str::<ServerMsg>(frame.as_str()) {
                if values == want {
                    assert!(values.z.is_some());
                    return;
                }
            }
        }
    }

    /// `n` 1s bars of a pseudo-random walk x and y = 2x + noise (cointegrated, never collinear).
    fn cointegrated_bars(n: i64) -> (Vec<Bar>, Vec<Bar>) {
        let noise = |i: i64| ((i.wrapping_mul(2_654_435_761) >> 7) % 1_000) as f64 / 1_000.0 - 0.5;
        let mut level = 100.0;
        let xb: Vec<Bar> = (0..n)
            .map(|i| {
                level += noise(i);
                bar(i * 1_000, level)
            })
            .collect();
        let yb: Vec<Bar> = xb.iter().map(|b| bar(b.t, 2.0 * b.close + noise(b.t / 1_000 + 77))).collect();
        (xb, yb)
    }

    /// A hub over `n` cointegrated bars of both legs, and the analytics its tape views ask for.
    fn tape_hub(
        n: i64,
    ) -> (PushHub, broadcast::Sender<BarUpdate>, crate::shutdown::Trigger, Vec<Bar>, Vec<Bar>, ViewAnalytics) {
        let (xb, yb) = cointegrated_bars(n);
        let (hub, bars, trigger) = hub(FixedHistory(xb.clone(), yb.clone()));
        let analytics =
            ViewAnalytics { window: 20, corr_window: 10, hedge: app::analytics::live_view::HedgeMethod::RollingOls };
        (hub, bars, trigger, xb, yb, analytics)
    }

    fn tapes(msgs: &[ServerMsg]) -> Vec<app::analytics::tape::TapeUpdate> {
        msgs.iter().filter_map(|m| if let ServerMsg::Tape(t) = m { Some(t.clone()) } else { None }).collect()
    }

    /// The next tape message of a feed (within 2 s).
    async fn next_tape(feed: &mut broadcast::Receiver<Utf8Bytes>) -> app::analytics::tape::TapeUpdate {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let frame = tokio::time::timeout_at(deadline, feed.recv()).await.expect("tape in time").expect("frame");
            if let Ok(ServerMsg::Tape(t)) = serde_json::from_str::<ServerMsg>(frame.as_str()) {
                return t;
            }
        }
    }

    #[test]
    fn a_subscribe_s_tape_window_is_bounded_where_it_enters() {
        let (hub, _bars, _trigger) = hub(FixedHistory(Vec::new(), Vec::new()));
        let check = |w: Option<usize>| {
            super::super::hub::validate(&hub, "btcusdt".into(), "ethusdt".into(), 1_000, None, w).map(|v| v.tape_window)
        };
        assert_eq!(check(None), Ok(TAPE_WINDOW), "absent: the default window");
        assert_eq!(check(Some(480)), Ok(480));
        for bad in [0, 29, 1_001, usize::MAX] {
            let err = check(Some(bad)).expect_err("out of range");
            assert!(err.contains("tape window must be 30–1000 bars"), "{err}");
        }
    }

    #[tokio::test]
    async fn two_tape_windows_are_two_feeds_each_with_the_tape_of_its_window() {
        use app::analytics::tape::{snapshot_tape, tape_of_bars};
        let n = 400i64;
        let (hub, bars, _trigger, xb, yb, analytics) = tape_hub(n);
        let view = |w: usize| {
            super::super::hub::validate(&hub, "BTCUSDT".into(), "ETHUSDT".into(), 1_000, Some(analytics), Some(w))
                .expect("valid")
        };
        let (short, long) = (view(60), view(120));
        let (first_short, first_long) = (tapes(&snapshot(&hub, &short)), tapes(&snapshot(&hub, &long)));
        assert_eq!((first_short.len(), first_long.len()), (1, 1), "one tape per snapshot");
        assert_eq!((first_short[0].window, first_long[0].window), (60, 120));
        assert_eq!(first_short[0].points, snapshot_tape(&xb, &yb, 1_000, 60));
        assert_eq!(first_long[0].points, snapshot_tape(&xb, &yb, 1_000, 120));
        // 399 closed rows: 340 full 60-bar windows, 280 of 120 bars; and other p-values.
        assert_eq!((first_short[0].points.len(), first_long[0].points.len()), (340, 280));
        let last = |t: &app::analytics::tape::TapeUpdate| t.points.last().copied().expect("a point");
        assert_eq!(last(&first_short[0]).t, last(&first_long[0]).t);
        assert_ne!(last(&first_short[0]).eg_p, last(&first_long[0]).eg_p, "the windows test different bars");

        let (mut feed_short, mut feed_long) = (hub.feed(&short), hub.feed(&long));
        assert_eq!(hub.feeds.len(), 2, "one feed per (view, tape window)");
        tokio::task::yield_now().await;
        let (nx, ny) = (bar(n * 1_000, 104.0), bar(n * 1_000, 208.5));
        bars.send(update("BTCUSDT", 1_000, nx, true)).expect("send");
        bars.send(update("ETHUSDT", 1_000, ny, true)).expect("send");
        let (mut xs, mut ys) = (xb, yb);
        xs.push(nx);
        ys.push(ny);
        for (feed, w) in [(&mut feed_short, 60), (&mut feed_long, 120)] {
            let _x_closed = next_tape(feed).await;
            let both_closed = next_tape(feed).await;
            assert_eq!(both_closed.window, w);
            assert_eq!(both_closed.points, tape_of_bars(&xs, &ys, 1_000, n * 1_000, w, 1), "window {w}");
        }
    }

    #[tokio::test]
    async fn the_p_value_tape_comes_with_the_snapshot_and_a_point_per_closed_bar() {
        use app::analytics::tape::{snapshot_tape, tape_of_bars};
        let n = 300i64;
        let (hub, bars, _trigger, xb, yb, analytics) = tape_hub(n);
        let view = btc_eth(1_000, Some(analytics));
        let first = tapes(&snapshot(&hub, &view));
        assert_eq!(first.len(), 1, "one tape in the snapshot");
        assert!(first[0].snapshot && first[0].window == TAPE_WINDOW);
        // Every bar but the forming last one ends a window: 299 rows → 60 full 240-bar windows.
        assert_eq!(first[0].points.len(), 60);
        assert_eq!(first[0].points, snapshot_tape(&xb, &yb, 1_000, TAPE_WINDOW));
        assert!(first[0].points.iter().all(|p| p.eg_p.is_some() && p.adf_p.is_some()));
        let plain = View { analytics: None, ..view.clone() };
        assert!(tapes(&snapshot(&hub, &plain)).is_empty(), "a view without analytics has no tape");

        let mut feed = hub.feed(&view);
        tokio::task::yield_now().await;
        // A forming bar adds no point; the closed bars of both legs at the next time do.
        let (nx, ny) = (bar(n * 1_000, 104.0), bar(n * 1_000, 208.5));
        bars.send(update("BTCUSDT", 1_000, nx, false)).expect("send");
        bars.send(update("BTCUSDT", 1_000, nx, true)).expect("send");
        bars.send(update("ETHUSDT", 1_000, ny, true)).expect("send");
        let (mut xs, mut ys) = (xb, yb);
        xs.push(nx);
        ys.push(ny);
        let want = tape_of_bars(&xs, &ys, 1_000, n * 1_000, TAPE_WINDOW, 1);
        assert_eq!(want.len(), 1);
        let mut points = Vec::new();
        for _ in 0..2 {
            let t = next_tape(&mut feed).await;
            assert!(!t.snapshot && t.points.len() == 1);
            points.push(t.points[0]);
        }
        assert_eq!(points.iter().map(|p| p.t).collect::<Vec<_>>(), [n * 1_000, n * 1_000], "one per closed bar");
        assert_eq!(points[1], want[0], "the second, with both legs closed, is the tape of all bars");
    }
}
