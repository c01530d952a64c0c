//! Webhook delivery: each event is POSTed as JSON with a timeout and a few retries, on its
//! own task, so a slow or dead endpoint never holds up evaluation or ingestion. At most
//! [`MAX_IN_FLIGHT`] deliveries run at once; beyond that new ones are dropped with a warning.

use std::sync::Arc;
use std::time::Duration;

use app::alerts::AlertEvent;
use tokio::sync::Semaphore;

const TIMEOUT: Duration = Duration::from_secs(5);
const ATTEMPTS: u32 = 3;
pub const MAX_IN_FLIGHT: usize = 32;

#[derive(Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
    slots: Arc<Semaphore>,
}

impl WebhookSender {
    pub fn new() -> Self {
        crate::tls::install_crypto_provider();
        let client = reqwest::Client::builder().timeout(TIMEOUT).build().unwrap_or_default();
        Self { client, slots: Arc::new(Semaphore::new(MAX_IN_FLIGHT)) }
    }

    /// Queues a delivery and returns at once.
    pub fn send(&self, url: String, event: AlertEvent) {
        let Ok(permit) = self.slots.clone().try_acquire_owned() else {
            tracing::warn!(%url, "too many webhook deliveries in flight; dropping one");
            return;
        };
        let client = self.client.clone();
        tokio::spawn(async move {
            let _permit = permit;
            for attempt in 1..=ATTEMPTS {
                match client.post(&url).json(&event).send().await {
                    Ok(response) if response.status().is_success() => return,
                    Ok(response) => tracing::warn!(%url, status = %response.status(), attempt, "webhook refused"),
                    Err(err) => tracing::warn!(%url, %err, attempt, "webhook failed"),
                }
                tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
            }
        });
    }
}

impl Default for WebhookSender {
    fn default() -> Self {
        Self::new()
    }
}
