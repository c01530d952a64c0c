//! History on first start (`pairdesk serve --history 7d`): for every ingested symbol, at
//! start and whenever one is added at runtime, the closed 1m klines of `[now − depth, now)`
//! that are not stored yet come from
//! `GET /fapi/v1/klines?symbol=&interval=1m&startTime=&endTime=&limit=1500` and are stored
//! as fetched bars ([`Store::put_fetched_bars`]; how they join the live bars is the store's
//! rule: the live bar wins every minute it has).
//!
//! What is missing is planned from the span of minutes already fetched and the newest live
//! bar, so a restart asks only for the minutes since (and, if `--history` grew, the older
//! ones). Pages are fixed windows of 1 500 minutes (`startTime`/`endTime`), never "until a
//! short page", so minutes without trades cannot end the walk early. Every request goes
//! through the shared [`RestClient`] and [`retrying`] (429/418 waited out for their
//! `Retry-After`). Each row is validated ([`parse_kline`]); refused rows are counted by
//! kind and skipped, rows without trades are not bars (the live side has none for such a
//! minute either).
//!
//! After the window is fetched, short top-ups follow each minute until the live stream has
//! a bar at the join, so a slow first connection leaves no minute between history and live.
//! And a symbol seen for the first time starts its live data at the first trade of the
//! current minute ([`seed_last_ids`]), so the minute the live stream starts in is complete.
//! Progress per symbol goes to the status bar ([`HistoryProgress`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use app::analytics::resample::{bar_start, Bar};
use app::interval::{parse_interval, IntervalError};
use app::protocol::{FeedStatus, HistoryProgress};
use tokio::sync::{watch, Semaphore};

use super::backfill::{retrying, RestClient, RestError};
use super::binance_rest::{parse_kline, RestAggTrade};
use crate::market::now_ms;
use crate::shutdown::Shutdown;
use crate::store::{Store, StoreError};
use crate::symbols::Symbols;

/// Most rows one klines request returns (Binance's maximum; the page size here).
pub const KLINES_MAX_LIMIT: usize = 1_500;
const MINUTE_MS: i64 = 60_000;
/// Symbols fetched at once: enough to hide round trips, few enough that 10 symbols' pages
/// (weight 10 each above 1 000 rows) stay far below Binance's 2 400 per minute.
const PARALLEL_SYMBOLS: usize = 3;
/// Top-ups after the main fetch, one a minute, before giving the join up to the live stream.
const TOP_UP_ROUNDS: u32 = 10;
/// Wait after a minute boundary before asking for the minute just closed.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// How long [`seed_last_ids`] may delay the ingest's start.
const SEED_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("klines request failed: {0}")]
    Rest(#[from] RestError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `--history`: `0` turns history off (`None`); anything else is an interval such as `2d`
/// or `12h` (the shared parser, so the same text means the same time everywhere).
pub fn parse_depth(text: &str) -> Result<Option<i64>, IntervalError> {
    if text.trim() == "0" {
        return Ok(None);
    }
    parse_interval(text).map(Some)
}

/// What one symbol's fetch did.
#[derive(Debug, Default, PartialEq)]
pub struct FetchReport {
    /// Minutes asked for (windows planned).
    pub minutes: u64,
    /// Bars stored.
    pub bars: u64,
    /// Rows without trades (not bars).
    pub empty: u64,
    /// Refused rows by kind ([`super::binance_rest::KlineError::kind`]).
    pub refused: BTreeMap<&'static str, u64>,
    /// Requests sent (pages).
    pub requests: u64,
}

/// The minute ranges `[from, to)` still to fetch for `want`, given the span already fetched
/// and the newest live minute: the part of `want` before the span, and the part after both.
/// A span that neither overlaps nor touches `want` is ignored (all of `want` is fetched).
pub fn plan(want: (i64, i64), span: Option<(i64, i64)>, newest_live: Option<i64>) -> Vec<(i64, i64)> {
    let (start, end) = want;
    if start >= end {
        return Vec::new();
    }
    let Some((from, to)) = span.filter(|&(from, to)| from <= end && start <= to) else {
        return vec![want];
    };
    let mut ranges = Vec::new();
    if start < from {
        ranges.push((start, from));
    }
    // Live minutes after the span are live data, and the newest one may still be forming.
    let tail = newest_live.map_or(to, |live| to.max(live.saturating_add(MINUTE_MS)));
    if tail < end {
        ranges.push((tail.max(start), end));
    }
    ranges
}

/// `range` cut into request windows of at most [`KLINES_MAX_LIMIT`] minutes.
fn windows((from, to): (i64, i64)) -> impl Iterator<Item = (i64, i64)> {
    let step = MINUTE_MS * KLINES_MAX_LIMIT as i64;
    (0..)
        .map(move |i| from.saturating_add(step.saturating_mul(i)))
        .take_while(move |&s| s < to)
        .map(move |s| (s, s.saturating_add(step).min(to)))
}

/// One page: the valid bars with trades of `symbol` opening in `[from, to)`.
async fn fetch_window(
    client: &RestClient,
    symbol: &str,
    (from, to): (i64, i64),
    report: &mut FetchReport,
) -> Result<Vec<Bar>, RestError> {
    let query = [
        ("symbol", symbol.to_string()),
        ("interval", "1m".to_string()),
        ("startTime", from.to_string()),
        ("endTime", (to - 1).to_string()),
        ("limit", KLINES_MAX_LIMIT.to_string()),
    ];
    let rows: Vec<serde_json::Value> = retrying(symbol, || client.get_json("/fapi/v1/klines", &query)).await?;
    report.requests += 1;
    let mut bars = Vec::with_capacity(rows.len());
    for row in &rows {
        match parse_kline(row, MINUTE_MS) {
            Ok(bar) if bar.t < from || bar.t >= to => {}
            Ok(bar) if bar.count == 0 => report.empty += 1,
            Ok(bar) => bars.push(bar),
            Err(err) => {
                tracing::debug!(symbol, %err, "kline refused");
                *report.refused.entry(err.kind()).or_default() += 1;
            }
        }
    }
    Ok(bars)
}

/// Fetches and stores the missing closed minutes of `symbol` in `[now − depth_ms, now)`,
/// reporting `(fetched, expected)` minutes after every page.
pub async fn fetch_missing(
    client: &RestClient,
    store: &Store,
    symbol: &str,
    depth_ms: i64,
    mut progress: impl FnMut(u64, u64),
) -> Result<FetchReport, HistoryError> {
    let end = bar_start(now_ms(), MINUTE_MS);
    let want = (bar_start(end.saturating_sub(depth_ms), MINUTE_MS), end);
    let ranges = plan(want, store.fetched_span(symbol)?, store.newest_live_minute(symbol)?);
    let expected: u64 = ranges.iter().map(|(from, to)| ((to - from) / MINUTE_MS) as u64).sum();
    let mut report = FetchReport { minutes: expected, ..FetchReport::default() };
    let mut fetched = 0;
    progress(0, expected);
    for window in ranges.into_iter().flat_map(windows) {
        let bars = fetch_window(client, symbol, window, &mut report).await?;
        report.bars += bars.len() as u64;
        let (store, symbol) = (store.clone(), symbol.to_string());
        tokio::task::spawn_blocking(move || store.put_fetched_bars(&symbol, &bars, window))
            .await
            .map_err(|e| StoreError::Query(format!("store task failed: {e}")))??;
        fetched += ((window.1 - window.0) / MINUTE_MS) as u64;
        progress(fetched, expected);
    }
    Ok(report)
}

/// Whether the live stream has a bar at the last fetched minute or the first unfetched one:
/// from there on, live data (gapless by construction) takes over.
fn joined(store: &Store, symbol: &str) -> Result<bool, StoreError> {
    let Some((_, to)) = store.fetched_span(symbol)? else { return Ok(true) };
    Ok(store.first_live_minute_since(symbol, to - MINUTE_MS)?.is_some_and(|first| first <= to))
}

/// For symbols with no stored trade: the aggregate id just before the current minute's first
/// trade, so the ingest's catch-up starts at that trade and the minute the live stream starts
/// in holds all its trades (not only those after the connection). With history on, that
/// minute's live bar is then the exchange's kline, and the history before it is fetched.
/// Bounded: one request per symbol, all within [`SEED_TIMEOUT`]; a symbol that cannot be
/// seeded starts at its first streamed trade, as without history.
pub async fn seed_last_ids(client: &RestClient, symbols: &[String], last_ids: &mut HashMap<String, u64>) {
    let minute = bar_start(now_ms(), MINUTE_MS);
    let fresh: Vec<String> =
        symbols.iter().map(|s| s.to_ascii_uppercase()).filter(|s| !last_ids.contains_key(s)).collect();
    let first_ids = fresh.iter().map(|symbol| async move {
        let query = [
            ("symbol", symbol.clone()),
            ("startTime", minute.to_string()),
            ("endTime", (minute + MINUTE_MS - 1).to_string()),
            ("limit", "1".to_string()),
        ];
        let rows: Result<Vec<RestAggTrade>, RestError> =
            retrying(symbol, || client.get_json("/fapi/v1/aggTrades", &query)).await;
        (symbol.clone(), rows)
    });
    let Ok(answers) = tokio::time::timeout(SEED_TIMEOUT, futures_util::future::join_all(first_ids)).await else {
        tracing::warn!("no first trade ids of the current minute in time; the first live minute may be partial");
        return;
    };
    for (symbol, rows) in answers {
        match rows.map(|rows| rows.first().map(|row| row.agg_id)) {
            Ok(Some(first)) if first > 0 => {
                last_ids.insert(symbol, first - 1);
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(%symbol, %err, "cannot find the current minute's first trade"),
        }
    }
}

/// Sleeps until [`CLOSE_GRACE`] after the next minute boundary.
async fn next_minute() {
    let now = now_ms();
    let wait = bar_start(now, MINUTE_MS) + MINUTE_MS - now;
    tokio::time::sleep(Duration::from_millis(wait.max(0) as u64) + CLOSE_GRACE).await;
}

/// One symbol: the main fetch (holding one of the shared permits), then the top-ups.
async fn fetch_symbol(
    client: RestClient,
    store: Store,
    symbol: String,
    depth_ms: i64,
    permits: Arc<Semaphore>,
    progress: watch::Sender<Vec<HistoryProgress>>,
) {
    let publish = |fetched: u64, expected: u64, done: bool, error: Option<String>| {
        let entry = HistoryProgress { symbol: symbol.clone(), fetched, expected, done, error };
        progress.send_modify(|list| match list.iter_mut().find(|p| p.symbol == entry.symbol) {
            Some(existing) => *existing = entry,
            None => list.push(entry),
        });
    };
    let main = {
        let Ok(_permit) = permits.acquire().await else { return };
        fetch_missing(&client, &store, &symbol, depth_ms, |fetched, expected| publish(fetched, expected, false, None))
            .await
    };
    match main {
        Ok(report) => {
            tracing::info!(%symbol, minutes = report.minutes, bars = report.bars, empty = report.empty, refused = ?report.refused, requests = report.requests, "history fetched");
            publish(report.minutes, report.minutes, true, None);
        }
        Err(err) => {
            tracing::error!(%symbol, %err, "history fetch failed");
            let expected = progress.borrow().iter().find(|p| p.symbol == symbol).map_or(0, |p| p.expected);
            publish(0, expected, true, Some(err.to_string()));
            return;
        }
    }
    for _ in 0..TOP_UP_ROUNDS {
        match joined(&store, &symbol) {
            Ok(true) => return,
            Ok(false) => {}
            Err(err) => {
                tracing::warn!(%symbol, %err, "cannot check the history join");
                return;
            }
        }
        next_minute().await;
        if let Err(err) = fetch_missing(&client, &store, &symbol, depth_ms, |_, _| {}).await {
            tracing::warn!(%symbol, %err, "history top-up failed");
        }
    }
    tracing::info!(%symbol, "no live bar at the end of the history yet; the live stream takes over from its first bar");
}

/// Runs until shutdown: fetches the history of every current symbol and of each one added
/// later (again after a removal and re-add: only what is missing).
pub async fn run(
    client: RestClient,
    store: Store,
    symbols: Symbols,
    depth_ms: i64,
    progress: watch::Sender<Vec<HistoryProgress>>,
    mut shutdown: Shutdown,
) {
    let permits = Arc::new(Semaphore::new(PARALLEL_SYMBOLS));
    let mut current = symbols.subscribe();
    let mut started: HashSet<String> = HashSet::new();
    // Dropping the set on return aborts fetches still running.
    let mut jobs = tokio::task::JoinSet::new();
    loop {
        let now: Vec<String> = current.borrow_and_update().clone();
        started.retain(|s| now.contains(s));
        // A removed symbol leaves the status bar (its bars stay in the store).
        progress.send_if_modified(|list| {
            let before = list.len();
            list.retain(|p| now.contains(&p.symbol));
            list.len() != before
        });
        for symbol in now {
            if started.insert(symbol.clone()) {
                let job =
                    fetch_symbol(client.clone(), store.clone(), symbol, depth_ms, permits.clone(), progress.clone());
                jobs.spawn(job);
            }
        }
        tokio::select! {
            changed = current.changed() => if changed.is_err() { return },
            Some(_) = jobs.join_next(), if !jobs.is_empty() => {},
            () = shutdown.wait() => return,
        }
    }
}

/// The feed status browsers see: the ingest's, with the history progress beside it. Spawns
/// the task that joins the two into the returned receiver. It ends with the ingest's sender
/// (as the ingest's own receiver would) or when nobody listens; a history that ends (or is
/// off) leaves its last progress in place.
pub fn status_with_history(
    mut ingest: watch::Receiver<FeedStatus>,
    mut history: watch::Receiver<Vec<HistoryProgress>>,
) -> watch::Receiver<FeedStatus> {
    let joined = |ingest: &watch::Receiver<FeedStatus>, history: &watch::Receiver<Vec<HistoryProgress>>| FeedStatus {
        history: history.borrow().clone(),
        ..ingest.borrow().clone()
    };
    let (tx, rx) = watch::channel(joined(&ingest, &history));
    tokio::spawn(async move {
        let mut history_open = true;
        loop {
            tokio::select! {
                changed = ingest.changed() => if changed.is_err() { return },
                changed = history.changed(), if history_open => if changed.is_err() {
                    history_open = false;
                    continue;
                },
                () = tx.closed() => return,
            }
            tx.send_replace(joined(&ingest, &history));
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_exchange::{FakeConfig, FakeExchange, Faults};

    const M: i64 = MINUTE_MS;

    #[test]
    fn depth_is_the_shared_interval_or_zero() {
        assert_eq!(parse_depth("0"), Ok(None));
        assert_eq!(parse_depth("2d"), Ok(Some(2 * 86_400_000)));
        assert_eq!(parse_depth(" 12h "), Ok(Some(12 * 3_600_000)));
        assert!(parse_depth("7w").is_err());
        assert!(parse_depth("367d").is_err());
        assert!(parse_depth("-1d").is_err());
    }

    #[test]
    fn plans_only_what_is_missing() {
        let want = (100 * M, 200 * M);
        assert_eq!(plan(want, None, None), vec![want], "nothing stored: everything");
        assert_eq!(plan(want, Some((100 * M, 190 * M)), None), vec![(190 * M, 200 * M)], "restart: the tail");
        assert_eq!(plan(want, Some((100 * M, 190 * M)), Some(195 * M)), vec![(196 * M, 200 * M)], "live ran meanwhile");
        assert_eq!(plan(want, Some((100 * M, 190 * M)), Some(50 * M)), vec![(190 * M, 200 * M)], "old live bars");
        assert_eq!(plan(want, Some((150 * M, 200 * M)), None), vec![(100 * M, 150 * M)], "--history grew");
        assert_eq!(plan(want, Some((150 * M, 170 * M)), None), vec![(100 * M, 150 * M), (170 * M, 200 * M)]);
        assert_eq!(plan(want, Some((10 * M, 20 * M)), None), vec![want], "a disjoint old span");
        assert_eq!(plan(want, Some((100 * M, 200 * M)), Some(250 * M)), Vec::<(i64, i64)>::new());
        assert_eq!(plan((5, 5), None, None), Vec::<(i64, i64)>::new());
    }

    #[test]
    fn windows_cover_a_range_exactly_in_pages_of_1500_minutes() {
        let got: Vec<(i64, i64)> = windows((0, 3_001 * M)).collect();
        assert_eq!(got, vec![(0, 1_500 * M), (1_500 * M, 3_000 * M), (3_000 * M, 3_001 * M)]);
        assert_eq!(windows((7, 7)).count(), 0);
    }

    async fn exchange(faults: Faults, history_ms: i64) -> (FakeExchange, String, crate::shutdown::Trigger) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let exchange = FakeExchange::new(FakeConfig { faults, kline_history_ms: history_ms, ..FakeConfig::demo() });
        let (trigger, shutdown) = crate::shutdown::channel();
        tokio::spawn(exchange.clone().serve(listener, shutdown));
        (exchange, format!("http://{addr}"), trigger)
    }

    #[tokio::test]
    async fn fetches_the_window_through_429s_and_a_second_run_asks_for_nothing_old() {
        let day = 86_400_000;
        let faults = Faults { rest_429_prob: 0.3, retry_after_s: 0, ..Faults::default() };
        let (_exchange, base, _stop) = exchange(faults, 2 * day).await;
        let client = RestClient::new(&base).expect("client");
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let mut seen = Vec::new();
        let report = fetch_missing(&client, &store, "ETHUSDT", day, |f, e| seen.push((f, e))).await.expect("fetch");
        assert_eq!(report.minutes, 1_440);
        assert_eq!(report.requests, 1, "1 440 minutes are one window");
        assert!(report.refused.is_empty(), "{:?}", report.refused);
        assert_eq!(seen.last(), Some(&(1_440, 1_440)));
        let bars = store.bars("ETHUSDT", M, i64::MIN, i64::MAX).expect("bars");
        assert_eq!(bars.len() as u64, report.bars);
        assert!(report.bars >= 1_438, "the fake trades every minute: {}", report.bars);
        let end = bar_start(now_ms(), M);
        assert!(bars.iter().all(|b| b.t < end && b.t >= end - day - M), "only closed minutes of the window");
        assert!(bars.windows(2).all(|w| w[1].t - w[0].t == M), "no minute missing or twice");
        let five = store.bars("ETHUSDT", 300_000, i64::MIN, i64::MAX).expect("5m");
        assert_eq!(five.iter().map(|b| b.count).sum::<u64>(), bars.iter().map(|b| b.count).sum::<u64>());
        // Again: only the minutes that closed meanwhile (none or one).
        let again = fetch_missing(&client, &store, "ETHUSDT", day, |_, _| {}).await.expect("again");
        assert!(again.minutes <= 1, "asked for {} minutes again", again.minutes);
        // Longer history: only the older part.
        let longer = fetch_missing(&client, &store, "ETHUSDT", day + 90 * M, |_, _| {}).await.expect("longer");
        assert!((90..=91).contains(&longer.minutes), "{}", longer.minutes);
    }

    #[tokio::test]
    async fn fetches_every_symbol_at_start_and_each_one_added_later() {
        let (_exchange, base, _stop) = exchange(Faults::default(), 86_400_000).await;
        let client = RestClient::new(&base).expect("client");
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let (ingest_tx, mut ingest_rx) = tokio::sync::mpsc::channel(4);
        let symbols = Symbols::new(vec!["btcusdt".into(), "ethusdt".into()], Some(ingest_tx), Some(client.clone()));
        let (progress_tx, mut progress) = watch::channel(Vec::new());
        let (_trigger, shutdown) = crate::shutdown::channel();
        tokio::spawn(run(client, store.clone(), symbols.clone(), 3 * 3_600_000, progress_tx, shutdown));
        let done = |list: &[HistoryProgress], symbol: &str| list.iter().any(|p| p.symbol == symbol && p.done);
        let wait_for = |symbol: &'static str, progress: &mut watch::Receiver<Vec<HistoryProgress>>| {
            let mut progress = progress.clone();
            async move {
                tokio::time::timeout(Duration::from_secs(20), progress.wait_for(|list| done(list, symbol)))
                    .await
                    .expect("in time")
                    .expect("open")
                    .clone()
            }
        };
        wait_for("ETHUSDT", &mut progress).await;
        wait_for("BTCUSDT", &mut progress).await;
        assert!(store.bars("SOLUSDT", M, i64::MIN, i64::MAX).expect("bars").is_empty(), "not ingested yet");
        symbols.add("solusdt").await.expect("add");
        assert!(ingest_rx.recv().await.is_some(), "the ingest was told");
        let after = wait_for("SOLUSDT", &mut progress).await;
        let mut names: Vec<&str> = after.iter().map(|p| p.symbol.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["BTCUSDT", "ETHUSDT", "SOLUSDT"], "one entry per symbol");
        let sol = store.bars("SOLUSDT", M, i64::MIN, i64::MAX).expect("bars");
        assert!(sol.len() >= 178, "three hours of SOLUSDT: {}", sol.len());
        // Removed: out of the status bar.
        symbols.remove("ethusdt").await.expect("remove");
        let mut progress = progress.clone();
        let left = tokio::time::timeout(Duration::from_secs(5), progress.wait_for(|list| list.len() == 2))
            .await
            .expect("in time")
            .expect("open")
            .clone();
        assert!(left.iter().all(|p| p.symbol != "ETHUSDT"), "{left:?}");
    }

    #[tokio::test]
    async fn fresh_symbols_start_at_the_current_minutes_first_trade() {
        let (exchange, base, _stop) =
            exchange(Faults { rest_429_prob: 0.3, retry_after_s: 0, ..Faults::default() }, 0).await;
        let client = RestClient::new(&base).expect("client");
        // Trades of the minute so far (the fake stamps them now); wait out a boundary first.
        if now_ms().rem_euclid(M) > 55_000 {
            tokio::time::sleep(Duration::from_millis((M - now_ms().rem_euclid(M) + 100) as u64)).await;
        }
        exchange.push_trades(30);
        let first_eth = exchange.trade_ids("ETHUSDT")[0];
        let mut last_ids = HashMap::from([("BTCUSDT".to_string(), 7)]);
        let symbols = ["btcusdt".to_string(), "ethusdt".to_string(), "nopeusdt".to_string()];
        seed_last_ids(&client, &symbols, &mut last_ids).await;
        assert_eq!(last_ids.get("BTCUSDT"), Some(&7), "a stored symbol keeps its last id");
        assert_eq!(last_ids.get("ETHUSDT"), Some(&(first_eth - 1)), "the catch-up starts at the minute's first trade");
        assert_eq!(last_ids.get("NOPEUSDT"), None, "refused: starts at its first streamed trade");
    }

    #[tokio::test]
    async fn an_unknown_symbol_is_an_exchange_refusal() {
        let (_exchange, base, _stop) = exchange(Faults::default(), 86_400_000).await;
        let client = RestClient::new(&base).expect("client");
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let err = fetch_missing(&client, &store, "NOPEUSDT", 3_600_000, |_, _| {}).await;
        assert!(matches!(err, Err(HistoryError::Rest(RestError::Api { code: -1121, .. }))), "{err:?}");
    }

    #[tokio::test]
    async fn browsers_see_the_ingest_status_with_the_history_beside_it() {
        let (ingest_tx, ingest_rx) = watch::channel(FeedStatus::default());
        let (history_tx, history_rx) = watch::channel(Vec::new());
        let mut joined = status_with_history(ingest_rx, history_rx);
        let entry = HistoryProgress { symbol: "BTCUSDT".into(), fetched: 5, expected: 9, done: false, error: None };
        history_tx.send_replace(vec![entry.clone()]);
        joined.changed().await.expect("changed");
        assert_eq!(joined.borrow_and_update().history, vec![entry.clone()]);
        ingest_tx.send_replace(FeedStatus { state: app::protocol::FeedState::Live, ..FeedStatus::default() });
        joined.changed().await.expect("changed");
        let status = joined.borrow_and_update().clone();
        assert_eq!(
            (status.state, status.history),
            (app::protocol::FeedState::Live, vec![entry.clone()]),
            "the ingest's send_replace keeps the history"
        );
        // History over (or off): the status keeps flowing.
        drop(history_tx);
        ingest_tx.send_replace(FeedStatus { state: app::protocol::FeedState::Down, ..FeedStatus::default() });
        joined.changed().await.expect("still open");
        assert_eq!(joined.borrow_and_update().state, app::protocol::FeedState::Down);
        drop(ingest_tx);
        assert!(joined.changed().await.is_err(), "ends with the ingest");
    }
}
