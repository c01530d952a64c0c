//! Ingest heartbeats: every `pairdesk ingest` publishes [`wire::Heartbeat`] on
//! `pairdesk.heartbeat.<id>` every [`EVERY`] (core NATS, nothing stored), and every `serve
//! --nats` keeps the last one of each process, so `/api/health` lists the ingest processes
//! seen within [`SEEN_RECENTLY`] with their symbols and last acknowledged ids.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::protocol::FeedStatus;
use futures_util::StreamExt;
use tokio::sync::watch;

use super::publish::PublishCounters;
use super::{heartbeat_subject, wire, HEARTBEAT_SUBJECT_PREFIX};
use crate::shutdown::Shutdown;

/// How often an ingest process says it is alive.
pub const EVERY: Duration = Duration::from_secs(2);
/// An ingest heard from within this long is listed as seen recently.
pub const SEEN_RECENTLY: Duration = Duration::from_secs(15);
/// A process not heard from for this long is forgotten.
const FORGET: Duration = Duration::from_secs(600);
/// Most ingest processes remembered (a bound on what anyone publishing heartbeats can make
/// a server hold).
const MAX_INGESTS: usize = 1_000;

/// A heartbeat subject token naming this process: `<host>-<pid>` unless given, with anything
/// that cannot be in a subject token replaced.
pub fn ingest_id(given: Option<&str>) -> String {
    let default = || {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_else(|_| "ingest".into());
        format!("{}-{}", host.trim(), std::process::id())
    };
    let raw = given.map(str::to_string).unwrap_or_else(default);
    let id: String =
        raw.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).take(64).collect();
    if id.is_empty() {
        "ingest".into()
    } else {
        id
    }
}

/// An ingest process's heartbeat task, until shutdown.
pub async fn beat(
    client: async_nats::Client,
    id: String,
    symbols: watch::Receiver<Vec<String>>,
    status: watch::Receiver<FeedStatus>,
    published: Arc<PublishCounters>,
    mut shutdown: Shutdown,
) {
    let subject = heartbeat_subject(&id);
    let mut every = tokio::time::interval(EVERY);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = shutdown.wait() => return,
        }
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let beat = wire::Heartbeat {
            v: wire::VERSION,
            id: id.clone(),
            t_ms: crate::market::now_ms(),
            symbols: symbols.borrow().clone(),
            last_ids: published.last_ids.lock().map(|ids| ids.clone()).unwrap_or_default(),
            exchange: status.borrow().state.label().to_string(),
            stored: n(&published.stored),
            duplicates: n(&published.duplicates),
            retried: n(&published.retried),
        };
        // NATS away: this beat is lost, the next one says the same and more.
        if let Err(err) = client.publish(subject.clone(), wire::encode_heartbeat(&beat).into()).await {
            tracing::debug!(%err, "heartbeat not sent");
        }
    }
}

/// The ingest processes a server has heard from.
#[derive(Clone, Default)]
pub struct Ingests {
    seen: Arc<Mutex<HashMap<String, (Instant, wire::Heartbeat)>>>,
    /// Messages on the heartbeat subjects that are not heartbeats.
    malformed: Arc<AtomicU64>,
}

impl Ingests {
    fn record(&self, beat: wire::Heartbeat, now: Instant) {
        let Ok(mut seen) = self.seen.lock() else { return };
        seen.retain(|_, (at, _)| now.duration_since(*at) < FORGET);
        if seen.len() < MAX_INGESTS || seen.contains_key(&beat.id) {
            seen.insert(beat.id.clone(), (now, beat));
        }
    }

    /// The processes seen within [`SEEN_RECENTLY`], by id, for `/api/health`.
    pub fn json(&self) -> serde_json::Value {
        let now = Instant::now();
        let mut recent: Vec<serde_json::Value> = self
            .seen
            .lock()
            .map(|seen| {
                seen.values()
                    .filter(|(at, _)| now.duration_since(*at) < SEEN_RECENTLY)
                    .map(|(at, beat)| {
                        serde_json::json!({
                            "id": beat.id,
                            "seen_ms_ago": now.duration_since(*at).as_millis() as u64,
                            "symbols": beat.symbols,
                            "last_ids": beat.last_ids,
                            "exchange": beat.exchange,
                            "stored": beat.stored,
                            "duplicates": beat.duplicates,
                            "retried": beat.retried,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        recent.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        serde_json::json!({ "recent": recent, "malformed": self.malformed.load(Ordering::Relaxed) })
    }
}

/// A server's heartbeat listener, until shutdown (the subscription survives reconnects).
pub async fn listen(client: async_nats::Client, ingests: Ingests, mut shutdown: Shutdown) {
    loop {
        match client.subscribe(format!("{HEARTBEAT_SUBJECT_PREFIX}>")).await {
            Ok(mut beats) => loop {
                let message = tokio::select! {
                    message = beats.next() => message,
                    () = shutdown.wait() => return,
                };
                let Some(message) = message else { break };
                match wire::decode_heartbeat(message.subject.as_str(), &message.payload) {
                    Ok(beat) => ingests.record(beat, Instant::now()),
                    Err(err) => {
                        ingests.malformed.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(%err, subject = %message.subject, "skipped a message that is not a heartbeat");
                    }
                }
            },
            Err(err) => tracing::warn!(%err, "cannot subscribe to ingest heartbeats"),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            () = shutdown.wait() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_subject_tokens() {
        assert_eq!(ingest_id(Some("eu-1")), "eu-1");
        assert_eq!(ingest_id(Some("a.b *>")), "a-b---");
        assert_eq!(ingest_id(Some("")), "ingest");
        assert!(ingest_id(None).chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn only_recent_ingests_are_listed() {
        let ingests = Ingests::default();
        let beat = |id: &str| wire::Heartbeat {
            v: wire::VERSION,
            id: id.into(),
            t_ms: 0,
            symbols: vec!["BTCUSDT".into()],
            last_ids: Default::default(),
            exchange: "live".into(),
            stored: 0,
            duplicates: 0,
            retried: 0,
        };
        let now = Instant::now();
        ingests.record(beat("old"), now - SEEN_RECENTLY - Duration::from_secs(1));
        ingests.record(beat("new"), now);
        let listed = ingests.json();
        let ids: Vec<&str> =
            listed["recent"].as_array().expect("list").iter().filter_map(|b| b["id"].as_str()).collect();
        assert_eq!(ids, ["new"]);
    }
}
