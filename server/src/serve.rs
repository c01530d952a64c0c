//! `pairdesk serve`: wires exchange → ingest → store → push → UI and runs until a signal.

use std::sync::Arc;

use anyhow::Context;
use app::protocol::FeedStatus;
use tokio::sync::{broadcast, mpsc, watch};

use crate::cli::ServeArgs;
use crate::ingest::backfill::RestClient;
use crate::ingest::client::{IngestCommand, IngestConfig, IngestCounters};
use crate::pipeline::{self, PairPrices};
use crate::push::PushHub;
use crate::side::SideFeeds;
use crate::store::{retention, Store};
use crate::symbols::Symbols;
use crate::web::{self, AppState};
use crate::{alerts, fake_exchange, ingest, shutdown};

/// glibc raises its mmap threshold each time a large block is freed, after which the large
/// temporary buffers of analyses (Theil–Sen slopes, ADF design matrices) come from the heap
/// arenas and are kept: RSS grew ~45 MB a minute under one analysis a second. A fixed
/// threshold (glibc's initial 128 KiB, which also turns the adjustment off) hands them back to
/// the kernel when freed (BENCHMARKS.md, "Soak").
fn keep_large_allocations_returnable() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter (glibc takes its own lock for it).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    keep_large_allocations_returnable();
    // Leptos' SSR spawns onto the ambient executor; tell it that is tokio.
    let _ = any_spawner::Executor::init_tokio();
    // rustls (ring) for every wss:// and https:// client, before any is built.
    crate::tls::install_crypto_provider();
    let demo_specs = fake_exchange::market::SymbolSpec::demo_universe();
    let wanted = match &args.symbols {
        Some(symbols) => symbols.clone(),
        None if args.demo => demo_specs.iter().map(|s| s.symbol.clone()).collect(),
        None => vec!["btcusdt".into(), "ethusdt".into()],
    };
    let symbols: Vec<String> = wanted.iter().map(|s| s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()).collect();
    if symbols.len() < 2 {
        anyhow::bail!("--symbols needs at least two symbols (the pair to show), got {wanted:?}");
    }
    let history_depth = ingest::history::parse_depth(&args.history).map_err(|e| anyhow::anyhow!("--history: {e}"))?;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create data dir {}", args.data_dir.display()))?;
    let store = Store::open_serving(&args.data_dir, args.min_free_space.0, args.db_cache.0)?;
    // Cluster mode: trades come from NATS JetStream, no exchange connection of our own; the
    // symbol set and the alert rules are shared there (`cluster::server`).
    let mut nats = match &args.nats {
        Some(url) => Some(crate::cluster::server::ServeCluster::connect(url).await?),
        None => None,
    };
    // An upload or delete a crash cut short leaves a file or summary that no data set owns.
    let dataset_recovery = store.clone();
    match tokio::task::spawn_blocking(move || crate::datasets::DatasetStore::open(&dataset_recovery)?.recover()).await {
        Ok(Ok(0)) => {}
        Ok(Ok(n)) => tracing::info!(n, "data sets: removed what an interrupted upload or delete left"),
        Ok(Err(err)) => tracing::warn!(%err, "data sets: cannot check for interrupted uploads or deletes"),
        Err(err) => tracing::warn!(%err, "data sets: the recovery task failed"),
    }
    if !args.site_root.join("pkg").join("frontend_bg.wasm").exists() {
        tracing::warn!(site_root = %args.site_root.display(), "browser bundle not found: the page will render but not hydrate (run `make build`)");
    }

    let (trigger, shutdown) = shutdown::channel();
    let mut tasks = tokio::task::JoinSet::new();

    let (ws_base, public_base, rest_base) = if args.demo {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("cannot bind the demo exchange")?;
        let addr = listener.local_addr()?;
        // A restart on the same data dir continues each symbol's ids after the stored ones:
        // ids starting over would all be dropped as duplicates while the feed looks live.
        let start_ids = store.last_ids()?.into_iter().map(|(symbol, id)| (symbol, id.saturating_add(1))).collect();
        let config = fake_exchange::FakeConfig {
            symbols: demo_specs,
            kline_history_ms: history_depth.unwrap_or(0),
            start_ids,
            ..fake_exchange::FakeConfig::demo()
        };
        let exchange = fake_exchange::FakeExchange::new(config);
        tasks.spawn(exchange.serve(listener, shutdown.clone()));
        tracing::info!(%addr, "demo: fake exchange started in-process");
        (format!("ws://{addr}/market"), format!("ws://{addr}/public"), format!("http://{addr}"))
    } else {
        (args.binance_ws_url.clone(), args.binance_public_ws_url.clone(), args.binance_rest_url.clone())
    };
    let mark_base = ws_base.clone();

    let pair = (symbols[0].to_ascii_uppercase(), symbols[1].to_ascii_uppercase());
    let (trade_tx, trade_rx) = mpsc::channel(65_536);
    let (status_tx, status_rx) = watch::channel(FeedStatus::default());
    let (prices_tx, _prices_rx) = watch::channel(PairPrices::default());
    // Every bar change (1s/1m/5m, all symbols) for the push layer: see `pipeline` docs.
    let (bars_tx, _) = broadcast::channel::<pipeline::BarUpdate>(pipeline::BAR_CHANNEL_CAPACITY);
    let counters = Arc::new(IngestCounters::default());
    let ingest_symbols = symbols.clone();
    let ingest_config = IngestConfig { ws_base, rest_base, symbols };
    let last_ids = store.last_ids()?;
    // Runtime symbol changes (`/api/symbols`) reach the ingest as (UN)SUBSCRIBE commands.
    let (ingest_commands, ingest_commands_rx) = mpsc::channel::<IngestCommand>(64);
    let checker = RestClient::new(&ingest_config.rest_base).context("cannot build the REST client")?;
    let funding_rest = checker.clone();
    let history_rest = checker.clone();
    let symbols = match &mut nats {
        Some(cluster) => cluster.symbols(&ingest_symbols, checker, &mut tasks, &shutdown).await?,
        None => Symbols::new(ingest_symbols, Some(ingest_commands), Some(checker)),
    };
    // With history, a symbol seen for the first time starts at the current minute's first
    // trade, so the minute live data starts in is whole (`ingest::history::seed_last_ids`).
    let seed = history_depth.map(|_| (history_rest.clone(), ingest_config.symbols.clone()));
    let mut last_ids = last_ids;
    let ingest_shutdown = shutdown.clone();
    let cluster = nats.is_some();
    if let Some(cluster) = &nats {
        cluster.consume(&store, trade_tx, status_tx, &mut tasks, &ingest_shutdown);
    } else {
        tasks.spawn(async move {
            if let Some((rest, symbols)) = seed {
                ingest::history::seed_last_ids(&rest, &symbols, &mut last_ids).await;
            }
            ingest::client::run(
                ingest_config,
                last_ids,
                trade_tx,
                status_tx,
                counters,
                ingest_commands_rx,
                ingest_shutdown,
            )
            .await
        });
    }
    // Best bid/ask on `/public` and mark price on `/market`: connections of their own, so
    // neither can stall the gapless trade path (see `ingest::stream`); in cluster mode the
    // ingest processes' events, from NATS.
    let side = match &nats {
        Some(cluster) => {
            crate::cluster::side::feeds(cluster.client(), &store, &symbols, funding_rest, &mut tasks, &shutdown)?
        }
        None => SideFeeds::start(&store, &symbols, public_base, mark_base, funding_rest, &mut tasks, &shutdown)?,
    };
    // 1m klines history (`--history`); browsers see its progress beside the ingest's status.
    let (history_tx, history_rx) = watch::channel(Vec::new());
    if let Some(depth_ms) = history_depth.filter(|_| !cluster) {
        let history =
            ingest::history::run(history_rest, store.clone(), symbols.clone(), depth_ms, history_tx, shutdown.clone());
        tasks.spawn(history);
    }
    let status_rx = ingest::history::status_with_history(status_rx, history_rx);
    let status_rx = crate::store::health::status_with_storage(status_rx, store.clone());
    let outputs = pipeline::Outputs { pair: pair.clone(), prices: prices_tx, bars: bars_tx.clone() };
    tasks.spawn(pipeline::run(trade_rx, store.clone(), outputs, shutdown.clone()));
    match retention::parse_age(&args.tick_retention) {
        Ok(Some(max_age)) => {
            tasks.spawn(retention::run(store.clone(), max_age, shutdown.clone()));
        }
        Ok(None) => {}
        Err(err) => anyhow::bail!("--tick-retention: {err}"),
    }

    let (alerts_tx, _) = broadcast::channel::<app::alerts::AlertEvent>(1_024);
    let webhooks = alerts::webhook::WebhookSender::new(&args.allow_webhook_host);
    let delivery = match &nats {
        Some(cluster) => cluster.delivery(),
        None => alerts::webhook::Delivery::Direct(webhooks.clone()),
    };
    let alerts = alerts::start(&store, &symbols, &pair, (&bars_tx, &alerts_tx), &mut tasks, &shutdown, delivery)?
        .with_max_rules(args.max_alert_rules);
    let alerts = match &mut nats {
        Some(cluster) => cluster.share_alerts(alerts, webhooks, &mut tasks, &shutdown).await?,
        None => alerts,
    };

    let hub = PushHub {
        symbols: symbols.clone(),
        pair,
        status: status_rx,
        bars: bars_tx.clone(),
        history: Arc::new(store.clone()),
        alerts: alerts_tx,
        shutdown: shutdown.clone(),
        feeds: Default::default(),
        side: Some(crate::push::SideData {
            book: crate::book::BookStore::open(&store)?,
            funding: crate::funding::FundingStore::open(&store)?,
            feeds: side.clone(),
        }),
    };
    let leptos_options = web::leptos_options(&args.site_root, args.bind);
    let listener =
        tokio::net::TcpListener::bind(args.bind).await.with_context(|| format!("cannot bind {}", args.bind))?;
    let guard = web::guard::RequestGuard::new(listener.local_addr()?, &args.allow_host);
    let dataset_limits = crate::datasets::Limits { max_count: args.max_datasets, max_bytes: args.max_dataset_bytes };
    let dataset_sharing = match &mut nats {
        Some(cluster) => cluster.share_datasets(&store, dataset_limits, &mut tasks, &shutdown).await?,
        None => crate::datasets::Sharing::Local,
    };
    let state = AppState {
        leptos_options,
        hub,
        store: store.clone(),
        alerts,
        symbols,
        side,
        dataset_limits,
        dataset_sharing,
        analysis_timeout: args.analysis_timeout.0,
        cluster: nats.as_ref().map(|cluster| cluster.health()),
    };
    let router = web::router(state, guard);
    tracing::info!("pairdesk listening on http://{}", listener.local_addr()?);

    let mut http_shutdown = shutdown.clone();
    // Bounded connections: a cap below the descriptor limit and timeouts for silent ones.
    let limits = web::conn::ConnectionLimits::from_system();
    tracing::debug!(max_connections = limits.max, "connection limits");
    let listener = web::conn::LimitedListener::new(listener, limits);
    let server = axum::serve(listener, router).with_graceful_shutdown(async move { http_shutdown.wait().await });
    tokio::select! {
        result = server => result.context("http server failed")?,
        () = shutdown::os_signal() => tracing::info!("shutdown requested"),
    }
    trigger.fire();
    // Give tasks (notably the final sled flush) a bounded time to finish.
    let _ =
        tokio::time::timeout(std::time::Duration::from_secs(5), async { while tasks.join_next().await.is_some() {} })
            .await;
    store.flush().await?;
    tracing::info!(ticks = store.tick_count(), "stopped cleanly");
    Ok(())
}
