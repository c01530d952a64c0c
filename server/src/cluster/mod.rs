//! Cluster mode on NATS JetStream (issue 14): `pairdesk ingest --nats URL` runs the
//! existing gapless ingest ([`crate::ingest::client`]) and publishes every trade to the stream
//! [`STREAM`] on `pairdesk.trades.<SYMBOL>` with `Nats-Msg-Id` = `<SYMBOL>:<agg_id>`
//! ([`publish`]), so redundant ingest processes store each trade once; `pairdesk serve --nats
//! URL` has no exchange connection and feeds the stream into the usual pipeline channel from
//! where its own sled stopped ([`consume`]). The payloads are [`wire`]'s small JSON encodings.
//!
//! Shared state lives in JetStream too: alert rules and the symbol set in key-value buckets
//! that every process follows ([`bucket`], [`rules`], [`symbols`]); fired alerts go to a
//! work-queue stream so one server of many sends each webhook ([`alert_events`]); ingest
//! processes announce themselves on heartbeat subjects ([`heartbeat`]). Best bid/ask and
//! mark prices travel on core NATS subjects ([`side`]); uploaded data sets are shared through
//! the object store ([`datasets`]).

pub mod alert_events;
pub mod bucket;
pub mod consume;
pub mod datasets;
pub mod heartbeat;
pub mod publish;
pub mod rules;
pub mod server;
pub mod side;
pub mod symbols;
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
/// Key-value bucket of the alert rules (key = rule id, value [`wire::encode_rule`]).
pub const RULES_BUCKET: &str = "PAIRDESK_RULES";
/// Key-value bucket of the ingested symbols (key = upper-case symbol).
pub const SYMBOLS_BUCKET: &str = "PAIRDESK_SYMBOLS";
/// Values kept per key in the buckets: the current one and a few before it, for an operator
/// looking at what changed (`nats kv history`).
const BUCKET_HISTORY: i64 = 5;
/// Work-queue stream of fired and cleared alerts whose rule has a webhook.
pub const ALERTS_STREAM: &str = "PAIRDESK_ALERTS";
/// Subjects of alert events: `pairdesk.alerts.<rule id>`.
pub const ALERT_SUBJECT_PREFIX: &str = "pairdesk.alerts.";
/// Every server publishes the events it evaluates; the stream keeps one per
/// `<rule id>:<bar start>:<fired|cleared>` seen within this window, which covers a server
/// that is this far behind another (a restart catching up).
pub const ALERT_DUPLICATE_WINDOW: Duration = Duration::from_secs(3600);
/// An event nobody delivered within this long (no server running) is dropped.
pub const ALERT_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// Subjects of best bid/ask updates: `pairdesk.book.<SYMBOL>` (core NATS, not stored).
pub const BOOK_SUBJECT_PREFIX: &str = "pairdesk.book.";
/// Subjects of mark prices: `pairdesk.mark.<SYMBOL>` (core NATS, not stored).
pub const MARK_SUBJECT_PREFIX: &str = "pairdesk.mark.";
/// Key-value bucket of the last webhook delivered per rule ([`wire::Delivered`]).
pub const ALERT_STATE_BUCKET: &str = "PAIRDESK_ALERT_STATE";
/// Subjects of ingest heartbeats: `pairdesk.heartbeat.<ingest id>` (core NATS, not stored).
pub const HEARTBEAT_SUBJECT_PREFIX: &str = "pairdesk.heartbeat.";

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
    #[error("cannot create or open the JetStream bucket or stream {name}: {detail}")]
    Shared { name: String, detail: String },
    #[error("the shared state in {name} did not answer: {detail}")]
    State { name: String, detail: String },
}

/// The subject of `rule_id`'s alert events.
pub fn alert_subject(rule_id: &str) -> String {
    format!("{ALERT_SUBJECT_PREFIX}{rule_id}")
}

/// The subject of ingest `id`'s heartbeats.
pub fn heartbeat_subject(id: &str) -> String {
    format!("{HEARTBEAT_SUBJECT_PREFIX}{id}")
}

/// Opens the key-value bucket `name`, creating it (file storage) if missing.
///
/// The bucket's stream is created here rather than by `create_key_value`, which first reads
/// the account's JetStream info in a form nats-server 2.9 does not send (its
/// `reserved_memory`/`reserved_storage` came in 2.10); the settings are the ones a KV bucket
/// has (the `KV_<name>` stream on `$KV.<name>.>`, one rollup-able value per key kept
/// [`BUCKET_HISTORY`] deep, no message deletes, direct gets), so any NATS tool sees a bucket.
pub async fn open_bucket(js: &jetstream::Context, name: &str) -> Result<jetstream::kv::Store, ClusterError> {
    let config = stream::Config {
        name: format!("KV_{name}"),
        subjects: vec![format!("$KV.{name}.>")],
        max_messages_per_subject: BUCKET_HISTORY,
        storage: stream::StorageType::File,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        num_replicas: 1,
        ..Default::default()
    };
    // Two processes starting at once may both create it: the same settings make that one stream.
    js.get_or_create_stream(config)
        .await
        .map_err(|e| ClusterError::Shared { name: name.to_string(), detail: e.to_string() })?;
    js.get_key_value(name).await.map_err(|e| ClusterError::Shared { name: name.to_string(), detail: e.to_string() })
}

/// Opens the alert events stream, creating it if missing.
pub async fn alerts_stream(js: &jetstream::Context) -> Result<stream::Stream, ClusterError> {
    let config = stream::Config {
        name: ALERTS_STREAM.to_string(),
        subjects: vec![format!("{ALERT_SUBJECT_PREFIX}>")],
        storage: stream::StorageType::File,
        retention: stream::RetentionPolicy::WorkQueue,
        duplicate_window: ALERT_DUPLICATE_WINDOW,
        max_age: ALERT_MAX_AGE,
        ..Default::default()
    };
    js.get_or_create_stream(config)
        .await
        .map_err(|e| ClusterError::Shared { name: ALERTS_STREAM.to_string(), detail: e.to_string() })
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
