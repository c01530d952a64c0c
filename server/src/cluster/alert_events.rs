//! Alert webhooks once per cluster, not once per server. Every `serve --nats` evaluates every
//! rule (so each shows its events and pushes them to its pages), and each publishes the
//! events of rules with a webhook to [`ALERTS_STREAM`] on `pairdesk.alerts.<rule id>` with
//! `Nats-Msg-Id` = `<rule id>:<bar start>:<fired|cleared>` ([`event_id`]): servers evaluate
//! a shared rule from the same bar on the same bars, so their copies of one event carry one
//! id and the stream keeps the first ([`super::ALERT_DUPLICATE_WINDOW`]).
//!
//! The stream is a work queue read by one durable pull consumer, [`WEBHOOK_CONSUMER`], that
//! all servers share: each event goes to one of them, which POSTs it to the webhook of its
//! copy of the rule (a message never names a URL, so nothing on the subject can make a
//! server reach an address no rule names) and acknowledges it after the attempts. A server
//! that dies mid-delivery leaves the event unacknowledged; another gets it after
//! [`ACK_WAIT`] (at least once, not exactly once, across crashes).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use app::alerts::{AlertEvent, AlertEventKind};
use async_nats::jetstream::consumer::{pull, AckPolicy};
use async_nats::jetstream::message::AckKind;
use async_nats::jetstream::{self, stream::Stream};
use async_nats::HeaderMap;
use futures_util::StreamExt;
use tokio::sync::{watch, Semaphore};

use super::{alert_subject, wire, ALERTS_STREAM};
use crate::alerts::webhook::{WebhookSender, MAX_IN_FLIGHT};
use crate::alerts::ActiveRules;
use crate::shutdown::Shutdown;

/// The durable consumer every server pulls webhooks from.
pub const WEBHOOK_CONSUMER: &str = "pairdesk-webhooks";
/// Longer than a delivery's attempts take (3 × 5 s timeouts and the pauses between).
pub const ACK_WAIT: Duration = Duration::from_secs(60);
/// Deliveries of one event before the consumer gives up on it.
const MAX_DELIVER: i64 = 5;
/// Publish attempts of one event while NATS does not acknowledge.
const PUBLISH_ATTEMPTS: u32 = 5;
/// Wait before an event whose rule this server does not know is offered again (to another
/// server, or to this one once its copy of the rules has caught up).
const UNKNOWN_RULE_DELAY: Duration = Duration::from_secs(1);

/// What this server published and delivered, for `/api/health`.
#[derive(Default, Debug)]
pub struct AlertCounters {
    /// Events the stream stored from this server.
    pub published: AtomicU64,
    /// Events the stream already had (another server published them first).
    pub duplicates: AtomicU64,
    /// Events given up after [`PUBLISH_ATTEMPTS`].
    pub publish_failed: AtomicU64,
    /// Webhooks this server delivered (2xx).
    pub delivered: AtomicU64,
    /// Webhooks that failed every attempt.
    pub failed: AtomicU64,
    /// Messages on the alert subjects that are not events (counted and dropped).
    pub malformed: AtomicU64,
    /// Events of a rule this server does not hold (offered again later).
    pub unknown_rule: AtomicU64,
    /// Consumer (re)creations after an error.
    pub restarts: AtomicU64,
}

impl AlertCounters {
    pub fn json(&self) -> serde_json::Value {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        serde_json::json!({
            "stream": ALERTS_STREAM,
            "published": n(&self.published),
            "duplicates": n(&self.duplicates),
            "publish_failed": n(&self.publish_failed),
            "webhooks_delivered": n(&self.delivered),
            "webhooks_failed": n(&self.failed),
            "malformed": n(&self.malformed),
            "unknown_rule": n(&self.unknown_rule),
            "restarts": n(&self.restarts),
        })
    }
}

/// The message id that makes every server's copy of one event one message.
pub fn event_id(event: &AlertEvent) -> String {
    let state = match event.kind {
        AlertEventKind::Fired => "fired",
        AlertEventKind::Cleared => "cleared",
    };
    format!("{}:{}:{state}", event.rule_id, event.t_ms)
}

/// Publishes the events of rules with a webhook ([`crate::alerts::webhook::Delivery::Cluster`]).
#[derive(Clone)]
pub struct EventPublisher {
    js: jetstream::Context,
    pub counters: Arc<AlertCounters>,
}

impl EventPublisher {
    pub fn new(js: jetstream::Context, counters: Arc<AlertCounters>) -> Self {
        EventPublisher { js, counters }
    }

    /// Publishes `event` on a task of its own (the engine never waits for NATS), trying
    /// again while NATS does not acknowledge.
    pub fn publish(&self, event: &AlertEvent) {
        let (js, counters) = (self.js.clone(), self.counters.clone());
        let (subject, id, payload) = (alert_subject(&event.rule_id), event_id(event), wire::encode_alert(event));
        tokio::spawn(async move {
            for attempt in 1..=PUBLISH_ATTEMPTS {
                let mut headers = HeaderMap::new();
                headers.insert("Nats-Msg-Id", id.as_str());
                let acked = match js.publish_with_headers(subject.clone(), headers, payload.clone().into()).await {
                    Ok(ack) => ack.await.map_err(|e| e.to_string()),
                    Err(err) => Err(err.to_string()),
                };
                match acked {
                    Ok(ack) if ack.duplicate => {
                        counters.duplicates.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    Ok(_) => {
                        counters.published.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    Err(err) => tracing::warn!(%err, %id, attempt, "alert event not acknowledged"),
                }
                tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
            }
            counters.publish_failed.fetch_add(1, Ordering::Relaxed);
            tracing::error!(%id, "alert event given up: its webhook is not sent");
        });
    }
}

/// This server's share of the work queue: until shutdown, takes events from
/// [`WEBHOOK_CONSUMER`] and POSTs each to its rule's webhook (at most [`MAX_IN_FLIGHT`] at
/// once; the queue waits meanwhile).
pub async fn deliver_webhooks(
    stream: Stream,
    rules: watch::Receiver<ActiveRules>,
    sender: WebhookSender,
    counters: Arc<AlertCounters>,
    mut shutdown: Shutdown,
) {
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    loop {
        let config = pull::Config {
            durable_name: Some(WEBHOOK_CONSUMER.to_string()),
            ack_policy: AckPolicy::Explicit,
            ack_wait: ACK_WAIT,
            max_deliver: MAX_DELIVER,
            ..Default::default()
        };
        let messages = match stream.get_or_create_consumer(WEBHOOK_CONSUMER, config).await {
            Ok(consumer) => consumer.messages().await.map_err(|e| e.to_string()),
            Err(err) => Err(err.to_string()),
        };
        let error = match messages {
            Ok(mut messages) => loop {
                let next = tokio::select! {
                    next = messages.next() => next,
                    () = shutdown.wait() => return,
                };
                let message = match next {
                    Some(Ok(message)) => message,
                    Some(Err(err)) => break err.to_string(),
                    None => break "the consumer ended".to_string(),
                };
                let event = match wire::decode_alert(message.subject.as_str(), &message.payload) {
                    Ok(event) => event,
                    Err(err) => {
                        counters.malformed.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(%err, subject = %message.subject, "dropped a message that is not an alert event");
                        let _ = message.ack().await;
                        continue;
                    }
                };
                let url = rules.borrow().rules.iter().find(|r| r.id == event.rule_id).map(|r| r.webhook.clone());
                let url = match url {
                    Some(Some(url)) => url,
                    // The rule lost its webhook since: nothing to send.
                    Some(None) => {
                        let _ = message.ack().await;
                        continue;
                    }
                    None => {
                        counters.unknown_rule.fetch_add(1, Ordering::Relaxed);
                        let _ = message.ack_with(AckKind::Nak(Some(UNKNOWN_RULE_DELAY))).await;
                        continue;
                    }
                };
                let permit = tokio::select! {
                    permit = slots.clone().acquire_owned() => match permit { Ok(p) => p, Err(_) => return },
                    () = shutdown.wait() => return,
                };
                let (sender, counters) = (sender.clone(), counters.clone());
                tokio::spawn(async move {
                    let _permit = permit;
                    if sender.deliver(&url, &event).await {
                        counters.delivered.fetch_add(1, Ordering::Relaxed);
                    } else {
                        counters.failed.fetch_add(1, Ordering::Relaxed);
                    }
                    // Delivered or given up after the attempts: either way it is done.
                    if let Err(err) = message.ack().await {
                        tracing::warn!(%err, "cannot acknowledge a delivered alert event");
                    }
                });
            },
            Err(err) => err,
        };
        counters.restarts.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(%error, "webhook consumer failed; recreating it");
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
            () = shutdown.wait() => return,
        }
    }
}
