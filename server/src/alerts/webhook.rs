//! Webhook delivery: each event is POSTed as JSON with a timeout and a few retries, on its
//! own task, so a slow or dead endpoint never holds up evaluation or ingestion. At most
//! [`MAX_IN_FLIGHT`] deliveries run at once; beyond that new ones are dropped with a warning.
//!
//! A webhook URL comes from whoever can reach the API, so delivery must not become a way
//! into the machine's other services (SSRF): redirects are never followed, and the host is
//! resolved first and refused if any of its addresses is loopback, private, link-local,
//! shared (CGNAT), unique-local, multicast or unspecified — unless `--allow-webhook-host`
//! names it. The POST then goes to exactly the address that was checked (no second lookup
//! a rebinding DNS server could answer differently).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use app::alerts::AlertEvent;
use tokio::sync::Semaphore;

const TIMEOUT: Duration = Duration::from_secs(5);
const ATTEMPTS: u32 = 3;
pub const MAX_IN_FLIGHT: usize = 32;

#[derive(Clone)]
pub struct WebhookSender {
    /// Host names (lower case) that may be private or local (`--allow-webhook-host`).
    allowed: Arc<Vec<String>>,
    slots: Arc<Semaphore>,
}

/// Why a webhook target is refused.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum TargetError {
    #[error("webhook URL `{0}` is not an http(s) URL with a host")]
    Url(String),
    #[error("cannot resolve webhook host {0}")]
    Resolve(String),
    #[error("webhook host {host} resolves to {addr}, a loopback/private/link-local address (allow it with --allow-webhook-host {host})")]
    Private { host: String, addr: IpAddr },
}

/// Whether `ip` is one an outside caller must not make us reach.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link local
                || v6.to_ipv4_mapped().is_some_and(|v4| is_internal(IpAddr::V4(v4)))
        }
    }
}

impl WebhookSender {
    pub fn new(allowed: &[String]) -> Self {
        crate::tls::install_crypto_provider();
        let allowed = allowed.iter().map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()).collect();
        Self { allowed: Arc::new(allowed), slots: Arc::new(Semaphore::new(MAX_IN_FLIGHT)) }
    }

    /// Resolves `url`'s host and checks every address; returns the host and the address to use.
    pub async fn target(&self, url: &str) -> Result<(String, SocketAddr), TargetError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| TargetError::Url(url.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(TargetError::Url(url.to_string()));
        }
        let host = parsed.host_str().ok_or_else(|| TargetError::Url(url.to_string()))?.to_ascii_lowercase();
        let port = parsed.port_or_known_default().unwrap_or(80);
        let bare = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare.as_str(), port))
            .await
            .map_err(|_| TargetError::Resolve(host.clone()))?
            .collect();
        let first = *addrs.first().ok_or_else(|| TargetError::Resolve(host.clone()))?;
        if !self.allowed.iter().any(|a| *a == host || *a == bare) {
            if let Some(bad) = addrs.iter().find(|a| is_internal(a.ip())) {
                return Err(TargetError::Private { host, addr: bad.ip() });
            }
        }
        Ok((bare, first))
    }

    /// Queues a delivery and returns at once.
    pub fn send(&self, url: String, event: AlertEvent) {
        let Ok(permit) = self.slots.clone().try_acquire_owned() else {
            tracing::warn!(%url, "too many webhook deliveries in flight; dropping one");
            return;
        };
        let sender = self.clone();
        tokio::spawn(async move {
            let _permit = permit;
            sender.deliver(&url, &event).await;
        });
    }

    /// POSTs `event` to `url` (checked first), trying [`ATTEMPTS`] times; whether it was taken.
    pub async fn deliver(&self, url: &str, event: &AlertEvent) -> bool {
        let (host, addr) = match self.target(url).await {
            Ok(target) => target,
            Err(err) => {
                tracing::warn!(%url, %err, "webhook not delivered");
                return false;
            }
        };
        // Pinned to the checked address; redirects would lead anywhere, so none.
        let client = match reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .resolve(&host, addr)
            .build()
        {
            Ok(client) => client,
            Err(err) => {
                tracing::warn!(%url, %err, "webhook client");
                return false;
            }
        };
        for attempt in 1..=ATTEMPTS {
            match client.post(url).json(event).send().await {
                Ok(response) if response.status().is_success() => return true,
                Ok(response) => tracing::warn!(%url, status = %response.status(), attempt, "webhook refused"),
                Err(err) => tracing::warn!(%url, %err, attempt, "webhook failed"),
            }
            tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
        }
        false
    }
}

/// Where a fired rule's webhook goes: straight out from this server (embedded mode), or to
/// the cluster's alert stream, where every server's copy of the same event collapses into
/// one and a single server delivers it ([`crate::cluster::alert_events`]).
#[derive(Clone)]
pub enum Delivery {
    Direct(WebhookSender),
    Cluster(Box<crate::cluster::alert_events::EventPublisher>),
}

impl Delivery {
    /// Hands `event` of a rule with webhook `url` on; returns at once.
    pub fn deliver(&self, url: &str, event: &AlertEvent) {
        match self {
            Delivery::Direct(sender) => sender.send(url.to_string(), event.clone()),
            // The delivering server takes the URL from its own copy of the rule.
            Delivery::Cluster(publisher) => publisher.publish(event),
        }
    }
}

impl Default for WebhookSender {
    fn default() -> Self {
        Self::new(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_internal(internal.parse().expect("ip")), "{internal}");
        }
        for public in ["8.8.8.8", "1.1.1.1", "100.128.0.1", "2606:4700::1111"] {
            assert!(!is_internal(public.parse().expect("ip")), "{public}");
        }
    }

    #[tokio::test]
    async fn local_targets_are_refused_unless_allowed() {
        let strict = WebhookSender::new(&[]);
        for url in
            ["http://127.0.0.1:9/hook", "http://localhost:9/hook", "http://[::1]:9/x", "http://169.254.169.254/latest"]
        {
            assert!(matches!(strict.target(url).await, Err(TargetError::Private { .. })), "{url}");
        }
        assert!(matches!(strict.target("file:///etc/passwd").await, Err(TargetError::Url(_))));
        let allowing = WebhookSender::new(&["localhost".into()]);
        let (host, addr) = allowing.target("http://localhost:9/hook").await.expect("allowed");
        assert_eq!((host.as_str(), addr.port()), ("localhost", 9));
        assert!(addr.ip().is_loopback());
    }
}
