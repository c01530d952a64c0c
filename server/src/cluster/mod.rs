//! Cluster mode on NATS JetStream (issue 14, partial): `pairdesk ingest --nats URL` runs the
//! existing gapless ingest ([`crate::ingest::client`]) and publishes every trade to the stream
//! [`STREAM`] on `pairdesk.trades.<SYMBOL>` with `Nats-Msg-Id` = `<SYMBOL>:<agg_id>`
//! ([`publish`]), so redundant ingest processes store each trade once; `pairdesk serve --nats
//! URL` has no exchange connection and feeds the stream into the usual pipeline channel from
//! where its own sled stopped ([`consume`]). The payload is [`wire`]'s small JSON encoding.
//!
//! Not done yet: shared alert rules (KV), work-queue webhooks, data sets in the object store,
//! book/funding over NATS, consumer lag in `/api/health`.

pub mod consume;
pub mod publish;
pub mod wire;

use std::time::Duration;

use async_nats::jetstream::{self, stream};

/// The JetStream stream holding every symbol's trades.
pub const STREAM: &str = "PAIRDESK_MARKET";
/// Subjects of trades: `pairdesk.trades.<SYMBOL>` (upper case).
pub const TRADE_SUBJECT_PREFIX: &str = "pairdesk.trades.";
/// All trade subjects.
pub const TRADE_SUBJECTS: &str = "pairdesk.trades.>";
/// The stream drops a message whose `Nats-Msg-Id` it stored less than this long ago: longer
/// than an ingest's restart plus its REST catch-up, so a redundant process's repeats vanish.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// Trades older than this leave the stream (servers keep their own ticks in sled).
pub const MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long connecting to NATS may take before `ingest`/`serve` give up at start.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What can go wrong talking to NATS.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot connect to NATS at {url}: {source}")]
    Connect { url: String, source: async_nats::ConnectError },
    #[error("cannot create or open the JetStream stream {STREAM} at {url}: {detail}")]
    Stream { url: String, detail: String },
    #[error("cannot read the last trade of {symbol} from {STREAM}: {detail}")]
    LastTrade { symbol: String, detail: String },
    #[error("cannot create a consumer on {STREAM}: {detail}")]
    Consumer { detail: String },
}

/// The subject of `symbol`'s trades.
pub fn trade_subject(symbol: &str) -> String {
    format!("{TRADE_SUBJECT_PREFIX}{}", symbol.to_ascii_uppercase())
}

/// The message id that deduplicates one trade in the stream.
pub fn msg_id(symbol: &str, agg_id: u64) -> String {
    format!("{}:{agg_id}", symbol.to_ascii_uppercase())
}

/// Connects (failing at once, naming `url`, if NATS is not there) and reconnects forever
/// afterwards; returns the JetStream context with the stream created if missing.
pub async fn connect(url: &str) -> Result<(async_nats::Client, jetstream::Context, stream::Stream), ClusterError> {
    let client = async_nats::ConnectOptions::new()
        .connection_timeout(CONNECT_TIMEOUT)
        .max_reconnects(None)
        .connect(url)
        .await
        .map_err(|source| ClusterError::Connect { url: url.to_string(), source })?;
    let js = jetstream::new(client.clone());
    let config = stream::Config {
        name: STREAM.to_string(),
        subjects: vec![TRADE_SUBJECTS.to_string()],
        storage: stream::StorageType::File,
        duplicate_window: DUPLICATE_WINDOW,
        max_age: MAX_AGE,
        ..Default::default()
    };
    let stream = js
        .get_or_create_stream(config)
        .await
        .map_err(|e| ClusterError::Stream { url: url.to_string(), detail: e.to_string() })?;
    Ok((client, js, stream))
}

/// The best bid/ask and mark-price feeds of a `serve --nats`: not carried over NATS yet, so
/// they report `down` with the reason (their senders live until shutdown, so nobody waiting
/// on a change spins on a closed channel).
pub fn idle_side_feeds(
    tasks: &mut tokio::task::JoinSet<()>,
    shutdown: &crate::shutdown::Shutdown,
) -> crate::side::SideFeeds {
    use app::protocol::{FeedState, FeedStatus};
    use tokio::sync::watch;
    let idle = FeedStatus {
        state: FeedState::Down,
        last_error: Some("cluster mode: not carried over NATS yet".into()),
        ..Default::default()
    };
    let (book_tx, book_status) = watch::channel(idle.clone());
    let (mark_tx, mark_status) = watch::channel(idle);
    let (quotes_tx, quotes) = watch::channel(crate::book::QuoteBoard::default());
    let (marks_tx, marks) = watch::channel(crate::funding::MarkBoard::default());
    let mut shutdown = shutdown.clone();
    tasks.spawn(async move {
        shutdown.wait().await;
        drop((book_tx, mark_tx, quotes_tx, marks_tx));
    });
    crate::side::SideFeeds {
        book_status,
        mark_status,
        quotes,
        marks,
        book_counters: Default::default(),
        mark_counters: Default::default(),
    }
}
