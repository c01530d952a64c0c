//! `pairdesk serve`: wires exchange → ingest → store → push → UI and runs until a signal.

use std::sync::Arc;

use anyhow::Context;
use app::protocol::FeedStatus;
use tokio::sync::{mpsc, watch};

use crate::cli::ServeArgs;
use crate::ingest::client::{IngestConfig, IngestCounters};
use crate::pipeline::{self, PairPrices};
use crate::store::Store;
use crate::web::{self, push::PushHub, AppState};
use crate::{fake_exchange, ingest, shutdown};

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    // Leptos' SSR spawns onto the ambient executor; tell it that is tokio.
    let _ = any_spawner::Executor::init_tokio();
    let symbols: Vec<String> =
        args.symbols.iter().map(|s| s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()).collect();
    if symbols.len() < 2 {
        anyhow::bail!("--symbols needs at least two symbols (the pair to show), got {:?}", args.symbols);
    }
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create data dir {}", args.data_dir.display()))?;
    let store = Store::open(&args.data_dir)?;
    if !args.site_root.join("pkg").join("frontend_bg.wasm").exists() {
        tracing::warn!(site_root = %args.site_root.display(), "browser bundle not found: the page will render but not hydrate (run `make build`)");
    }

    let (trigger, shutdown) = shutdown::channel();
    let mut tasks = tokio::task::JoinSet::new();

    let ws_base = if args.demo {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("cannot bind the demo exchange")?;
        let addr = listener.local_addr()?;
        let exchange = fake_exchange::FakeExchange::new(fake_exchange::FakeConfig::demo());
        tasks.spawn(exchange.serve(listener, shutdown.clone()));
        tracing::info!(%addr, "demo: fake exchange started in-process");
        format!("ws://{addr}/market")
    } else {
        args.binance_ws_url.clone()
    };

    let pair = (symbols[0].to_ascii_uppercase(), symbols[1].to_ascii_uppercase());
    let (trade_tx, trade_rx) = mpsc::channel(65_536);
    let (status_tx, status_rx) = watch::channel(FeedStatus::default());
    let (prices_tx, prices_rx) = watch::channel(PairPrices::default());
    let counters = Arc::new(IngestCounters::default());
    let ingest_config = IngestConfig { ws_base, symbols };
    tasks.spawn(ingest::client::run(ingest_config, trade_tx, status_tx, counters, shutdown.clone()));
    tasks.spawn(pipeline::run(trade_rx, store.clone(), pair.clone(), prices_tx, shutdown.clone()));

    let hub = PushHub { pair, status: status_rx, prices: prices_rx, shutdown: shutdown.clone() };
    let leptos_options = web::leptos_options(&args.site_root, args.bind);
    let router = web::router(AppState { leptos_options, hub, store: store.clone() });
    let listener =
        tokio::net::TcpListener::bind(args.bind).await.with_context(|| format!("cannot bind {}", args.bind))?;
    tracing::info!("pairdesk listening on http://{}", listener.local_addr()?);

    let mut http_shutdown = shutdown.clone();
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
