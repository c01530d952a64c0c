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
//!
//! A restarted server's rules start fresh, so an alert that is still active fires again from
//! it, on a later bar (another message id). Before sending, the delivering server therefore
//! claims the event in [`super::ALERT_STATE_BUCKET`], which holds the last transition sent
//! per rule (compare-and-set on the key's revision, so two servers cannot both claim): only a
//! change of state on a later bar of the same rule version is sent ([`is_transition`]); a
//! repeat of the state already sent is acknowledged and counted (`repeats`), not sent.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use app::alerts::{AlertEvent, AlertEventKind};
use async_nats::jetstream::consumer::{pull, AckPolicy};
use async_nats::jetstream::kv;
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
    /// Events repeating the state last sent for their rule (a restarted server's): not sent.
    pub repeats: AtomicU64,
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
            "repeats": n(&self.repeats),
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

/// Whether `event` of the rule version saved at `from_ms` is to be sent, given the last
/// transition sent for the rule: yes for a rule (version) never sent, a change of state on a
/// later bar, or the very event sent last (redelivered after its sender died); no for a
/// repeat of the state already sent or an older bar.
pub fn is_transition(last: Option<&wire::Delivered>, from_ms: i64, event: &AlertEvent) -> bool {
    match last {
        None => true,
        Some(last) if last.from_ms != from_ms => true,
        Some(last) if last.t_ms == event.t_ms && last.kind == event.kind => true,
        Some(last) => event.t_ms > last.t_ms && event.kind != last.kind,
    }
}

/// Claims `event` for sending: true if it [`is_transition`] and this server recorded it as
/// the last one sent for its rule before anyone else changed that.
async fn claim(state: &kv::Store, event: &AlertEvent, from_ms: i64) -> Result<bool, String> {
    for _ in 0..5 {
        let entry = state.entry(event.rule_id.as_str()).await.map_err(|e| e.to_string())?;
        let (last, revision) = match entry {
            Some(entry) if entry.operation == kv::Operation::Put => {
                (wire::decode_delivered(&entry.value).ok(), entry.revision)
            }
            Some(entry) => (None, entry.revision),
            None => (None, 0),
        };
        if !is_transition(last.as_ref(), from_ms, event) {
            return Ok(false);
        }
        let sent = wire::Delivered { from_ms, kind: event.kind, t_ms: event.t_ms };
        match state.update(event.rule_id.as_str(), wire::encode_delivered(&sent).into(), revision).await {
            Ok(_) => return Ok(true),
            // Another server recorded one meanwhile: decide again on what it recorded.
            Err(err) if err.kind() == kv::UpdateErrorKind::WrongLastRevision => continue,
            Err(err) => return Err(err.to_string()),
        }
    }
    Err("the rule's delivery state kept changing".into())
}

/// This server's share of the work queue: until shutdown, takes events from
/// [`WEBHOOK_CONSUMER`] and POSTs each to its rule's webhook (at most [`MAX_IN_FLIGHT`] at
/// once; the queue waits meanwhile).
pub async fn deliver_webhooks(
    stream: Stream,
    state: kv::Store,
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
                let (url, from_ms) = {
                    let rules = rules.borrow();
                    let url = rules.rules.iter().find(|r| r.id == event.rule_id).map(|r| r.webhook.clone());
                    (url, rules.not_before.get(&event.rule_id).copied().unwrap_or(0))
                };
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
                match claim(&state, &event, from_ms).await {
                    Ok(true) => {}
                    Ok(false) => {
                        counters.repeats.fetch_add(1, Ordering::Relaxed);
                        let _ = message.ack().await;
                        continue;
                    }
                    Err(err) => {
                        tracing::warn!(%err, "cannot claim an alert event; offered again later");
                        let _ = message.ack_with(AckKind::Nak(Some(UNKNOWN_RULE_DELAY))).await;
                        continue;
                    }
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use app::alerts::{AlertMetric, Comparison};

    fn event(kind: AlertEventKind, t_ms: i64) -> AlertEvent {
        AlertEvent {
            rule_id: "r".into(),
            rule_name: "r".into(),
            kind,
            metric: AlertMetric::Price,
            comparison: Comparison::Above,
            threshold: 0.0,
            value: 1.0,
            t_ms,
        }
    }

    #[test]
    fn only_changes_of_state_are_sent_once_per_rule_version() {
        use AlertEventKind::{Cleared, Fired};
        let sent = |kind, t_ms| wire::Delivered { from_ms: 100, kind, t_ms };
        let cases = [
            (None, event(Fired, 1000), true, "never sent"),
            (Some(sent(Fired, 1000)), event(Fired, 5000), false, "a restarted server's repeat"),
            (Some(sent(Fired, 1000)), event(Cleared, 5000), true, "cleared after fired"),
            (Some(sent(Fired, 1000)), event(Fired, 1000), true, "the same event redelivered"),
            (Some(sent(Cleared, 5000)), event(Fired, 3000), false, "an older bar"),
            (Some(wire::Delivered { from_ms: 50, ..sent(Fired, 1000) }), event(Fired, 5000), true, "an edited rule"),
        ];
        for (last, event, expected, what) in cases {
            assert_eq!(is_transition(last.as_ref(), 100, &event), expected, "{what}");
        }
    }
}
