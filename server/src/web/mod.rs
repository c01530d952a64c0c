//! HTTP surface: the server-rendered dashboard, the browser bundle, and `/ws`.

pub mod alerts_api;
pub mod api;
pub mod conn;
pub mod docs;
pub mod guard;
pub mod pages;
pub mod screener_api;
pub mod symbols_api;

use std::path::Path;

use axum::routing::get;
use axum::Router;
use leptos::prelude::LeptosOptions;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;

use crate::push::{self, PushHub};

/// Shared state of every request handler.
#[derive(Clone, axum::extract::FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub hub: PushHub,
    pub store: crate::store::Store,
    pub alerts: crate::alerts::AlertsHandle,
    pub symbols: crate::symbols::Symbols,
    pub side: crate::side::SideFeeds,
    /// `--max-datasets` and `--max-dataset-bytes`.
    pub dataset_limits: crate::datasets::Limits,
    /// `--analysis-timeout`: how long one `POST /api/analyze` or `GET /api/screener` may compute.
    pub analysis_timeout: std::time::Duration,
    /// Where uploads and deletes also go (`serve --nats`: the cluster's object store).
    pub dataset_sharing: crate::datasets::Sharing,
    /// `serve --nats`: the NATS connection and consumer (`/api/health` shows them).
    pub cluster: Option<crate::cluster::consume::ClusterHealth>,
}

pub fn leptos_options(site_root: &Path, addr: std::net::SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("frontend")
        .site_root(site_root.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build()
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    tracing::error!("a request handler panicked");
    let body =
        serde_json::json!({"error": {"kind": "internal", "message": "internal error; the server log has the details"}});
    (axum::http::StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
}

/// `GET /api/health`: the trade feed's state, each side stream's state and counters, and the
/// database's (`storage`: `ok`, `full` or `failing`, with the error); with `--nats`, the NATS
/// connection and how far the consumer is behind the stream (`nats`).
async fn health(axum::extract::State(state): axum::extract::State<AppState>) -> axum::Json<serde_json::Value> {
    let trades = state.hub.status.borrow().clone();
    let mut body = state.side.health();
    body["trades"] = serde_json::json!({"state": trades.state.label(), "last_error": trades.last_error});
    if let Some(cluster) = &state.cluster {
        body["nats"] = cluster.json().await;
    }
    // A flush probes the disk: sled reports a failed write on every later one.
    let _ = state.store.flush().await;
    let space = state.store.space();
    let state_label = match state.store.storage_error() {
        None => "ok",
        Some(err) if err.starts_with("disk full") => "full",
        Some(_) => "failing",
    };
    body["storage"] = serde_json::json!({
        "state": state_label,
        "last_error": state.store.storage_error(),
        "writes": if state.store.check_writable().is_ok() { "ok" } else { "paused" },
        "read_only_start": space.started_read_only(),
        "free_bytes": space.free(),
        "min_free_bytes": space.min_free,
    });
    axum::Json(body)
}

/// Every route, behind the [`guard`] (Host, Origin, body type) and gzip.
pub fn router(state: AppState, guard: guard::RequestGuard) -> Router {
    let pkg_dir = Path::new(state.leptos_options.site_root.as_ref()).join(state.leptos_options.site_pkg_dir.as_ref());
    let options = state.leptos_options.clone();
    let render = leptos_axum::render_app_to_stream(move || app::ui::shell(options.clone()));
    let page = pages::page_handler(render.clone());
    Router::new()
        .route("/", get(page.clone()))
        .route("/backtest", get(page.clone()))
        .route("/upload", get(page.clone()))
        .route("/screener", get(page))
        .route("/ws", get(push::ws_handler))
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/health", get(health))
        .route("/docs/methodology", get(docs::methodology))
        .route("/api/export/ticks.csv", get(crate::export::ticks_csv))
        .route("/api/export/bars.csv", get(crate::export::bars_csv))
        .route("/api/export/book.csv", get(crate::export::book_csv))
        .route("/api/export/funding.csv", get(crate::export::funding_csv))
        .nest_service("/pkg", ServeDir::new(pkg_dir))
        .merge(api::routes())
        .merge(alerts_api::routes())
        .merge(screener_api::routes())
        .merge(symbols_api::routes())
        .fallback(pages::not_found_handler(render))
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(guard, guard::guard))
        // Last resort only: a handler that panics answers a JSON 500 instead of dropping
        // the connection. No test relies on it; every input is validated before it.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_response))
        // gzip for clients that ask: the wasm bundle shrinks ~2.5×, JSON and CSV more.
        .layer(CompressionLayer::new())
}
