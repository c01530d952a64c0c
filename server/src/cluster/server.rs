//! What a `pairdesk serve --nats` runs beside the embedded server's parts, in one place, so
//! `serve` only picks the cluster's or its own at each edge: trades from the stream instead of
//! an exchange ([`super::consume`]), the symbol set and the alert rules from the shared
//! buckets ([`super::symbols`], [`super::rules`]), webhooks through the work queue
//! ([`super::alert_events`]), and the ingest heartbeats for `/api/health`.

use std::sync::Arc;

use app::protocol::FeedStatus;
use async_nats::jetstream;
use tokio::sync::{mpsc, watch};

use super::alert_events::{AlertCounters, EventPublisher};
use super::bucket::Bucket;
use super::consume::{ClusterHealth, ConsumeCounters};
use super::heartbeat::Ingests;
use super::ClusterError;
use crate::alerts::webhook::{Delivery, WebhookSender};
use crate::alerts::AlertsHandle;
use crate::ingest::backfill::RestClient;
use crate::market::Trade;
use crate::shutdown::Shutdown;
use crate::store::Store;
use crate::symbols::Symbols;

type Tasks = tokio::task::JoinSet<()>;

/// A server's NATS connection and what it shares through it.
pub struct ServeCluster {
    url: String,
    client: async_nats::Client,
    js: jetstream::Context,
    stream: jetstream::stream::Stream,
    alerts_stream: jetstream::stream::Stream,
    counters: Arc<ConsumeCounters>,
    alerts: Arc<AlertCounters>,
    ingests: Ingests,
    buckets: Vec<Bucket>,
    datasets: Arc<super::datasets::DatasetCounters>,
}

impl ServeCluster {
    /// Connects (a clear error naming `url` if NATS is not there) and opens the trade and
    /// alert streams.
    pub async fn connect(url: &str) -> Result<Self, ClusterError> {
        let (client, js, stream) = super::connect(url).await?;
        let alerts_stream = super::alerts_stream(&js).await?;
        Ok(ServeCluster {
            url: url.to_string(),
            client,
            js,
            stream,
            alerts_stream,
            counters: Default::default(),
            alerts: Default::default(),
            ingests: Ingests::default(),
            buckets: Vec::new(),
            datasets: Default::default(),
        })
    }

    /// The shared symbol set (seeded with `seed` if never written); `rest` checks additions.
    pub async fn symbols(
        &mut self,
        seed: &[String],
        rest: RestClient,
        tasks: &mut Tasks,
        shutdown: &Shutdown,
    ) -> Result<Symbols, ClusterError> {
        let current = Arc::new(watch::channel(Vec::new()).0);
        let shared = super::symbols::follow(&self.js, seed, current.clone(), tasks, shutdown).await?;
        self.buckets.push(shared.bucket.clone());
        Ok(Symbols::shared(current, shared, rest))
    }

    /// Trades from the stream into the pipeline's channel, and the ingest heartbeats.
    pub fn consume(
        &self,
        store: &Store,
        trades: mpsc::Sender<Trade>,
        status: watch::Sender<FeedStatus>,
        tasks: &mut Tasks,
        shutdown: &Shutdown,
    ) {
        let (stream, counters) = (self.stream.clone(), self.counters.clone());
        tasks.spawn(super::consume::run(stream, store.clone(), trades, status, counters, shutdown.clone()));
        tasks.spawn(super::heartbeat::listen(self.client.clone(), self.ingests.clone(), shutdown.clone()));
    }

    /// Where the engine hands webhooks: the alert stream.
    pub fn delivery(&self) -> Delivery {
        Delivery::Cluster(Box::new(EventPublisher::new(self.js.clone(), self.alerts.clone())))
    }

    /// Moves `alerts`' rules into the shared bucket, and takes this server's share of the
    /// webhook work queue (sent with `webhooks`).
    pub async fn share_alerts(
        &mut self,
        alerts: AlertsHandle,
        webhooks: WebhookSender,
        tasks: &mut Tasks,
        shutdown: &Shutdown,
    ) -> Result<AlertsHandle, ClusterError> {
        let alerts = super::rules::share(&self.js, alerts, tasks, shutdown).await?;
        if let crate::alerts::RuleStorage::Shared(shared) = &alerts.storage {
            self.buckets.push(shared.bucket.clone());
        }
        let state = super::open_bucket(&self.js, super::ALERT_STATE_BUCKET).await?;
        let deliver = super::alert_events::deliver_webhooks(
            self.alerts_stream.clone(),
            state,
            alerts.rules.subscribe(),
            webhooks,
            self.alerts.clone(),
            shutdown.clone(),
        );
        tasks.spawn(deliver);
        Ok(alerts)
    }

    /// The NATS connection (the side feeds subscribe on it: [`super::side::feeds`]).
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// What `/api/health` shows.
    pub fn health(&self) -> ClusterHealth {
        ClusterHealth {
            url: self.url.clone(),
            client: self.client.clone(),
            stream: self.stream.clone(),
            counters: self.counters.clone(),
            buckets: self.buckets.clone(),
            alerts: self.alerts.clone(),
            ingests: self.ingests.clone(),
            datasets: self.datasets.clone(),
        }
    }

    /// Uploaded data sets shared through the object store (imported here as they come).
    pub async fn share_datasets(
        &mut self,
        store: &Store,
        limits: crate::datasets::Limits,
        tasks: &mut Tasks,
        shutdown: &Shutdown,
    ) -> Result<crate::datasets::Sharing, ClusterError> {
        let shared = super::datasets::SharedDatasets::open(&self.js, store, limits, tasks, shutdown).await?;
        self.datasets = shared.counters.clone();
        Ok(crate::datasets::Sharing::Shared(Box::new(shared)))
    }
}
