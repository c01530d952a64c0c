//! The Live page: connection status, last prices of both legs, the z-score thresholds and
//! the charts that move as trades are pushed.

use leptos::prelude::*;

use super::charts::{Chart, ChartKind};
use super::state::LiveState;
use crate::protocol::FeedState;

/// Default z-score entry threshold (|z| above it opens a position).
pub const DEFAULT_Z_ENTRY: f64 = 2.0;
/// Default z-score exit threshold.
pub const DEFAULT_Z_EXIT: f64 = 0.0;

/// Formats a price with precision that suits its magnitude, e.g. 62030.60 or 0.4312.
pub fn format_price(price: f64) -> String {
    if price >= 100.0 {
        format!("{price:.2}")
    } else {
        format!("{price:.4}")
    }
}

#[component]
pub fn LivePage() -> impl IntoView {
    let state = LiveState::new("BTCUSDT", "ETHUSDT");
    provide_context(state);
    let z_entry = RwSignal::new(DEFAULT_Z_ENTRY);
    let z_exit = RwSignal::new(DEFAULT_Z_EXIT);

    #[cfg(feature = "hydrate")]
    super::socket::connect(state);

    let status_text = move || {
        if !state.socket_open.get() {
            return "server: connecting…".to_string();
        }
        let status = state.status.get();
        match (&status.state, &status.last_error) {
            (FeedState::Live, _) => "exchange: live".to_string(),
            (state, Some(err)) => format!("exchange: {} — {err}", state.label()),
            (state, None) => format!("exchange: {}", state.label()),
        }
    };
    let status_class = move || {
        if !state.socket_open.get() {
            return "status status-connecting";
        }
        match state.status.get().state {
            FeedState::Live => "status status-live",
            FeedState::Down => "status status-down",
            FeedState::Connecting | FeedState::Backfilling => "status status-connecting",
        }
    };
    let price_text = |signal: RwSignal<Option<crate::protocol::LastPrice>>| {
        move || signal.get().map(|p| format_price(p.price)).unwrap_or_else(|| "—".to_string())
    };

    view! {
        <header class="topbar">
            <h1>"pairdesk"</h1>
            <span class="pair">{move || state.y_symbol.get()}" / "{move || state.x_symbol.get()}</span>
            <span data-testid="connection-status" class=status_class>{status_text}</span>
        </header>
        <main class="live">
            <section class="tiles">
                <div class="tile">
                    <div class="tile-label">{move || state.x_symbol.get()}" (x)"</div>
                    <div class="tile-value num" data-testid="last-price-x">{price_text(state.last_x)}</div>
                </div>
                <div class="tile">
                    <div class="tile-label">{move || state.y_symbol.get()}" (y)"</div>
                    <div class="tile-value num" data-testid="last-price-y">{price_text(state.last_y)}</div>
                </div>
            </section>
            <section class="controls">
                <Slider label="z entry" testid="z-entry" min=0.5 max=4.0 step=0.1 value=z_entry
                    help="Open a position when |z| rises above this level."/>
                <Slider label="z exit" testid="z-exit" min=0.0 max=2.0 step=0.1 value=z_exit
                    help="Close the position when z crosses back through ± this level."/>
            </section>
            <section class="charts">
                <Chart kind=ChartKind::Prices testid="chart-prices" title="Both legs, rebased to % change"
                    z_entry=z_entry z_exit=z_exit/>
                <Chart kind=ChartKind::ZScore testid="chart-zscore" title="Spread z-score with entry/exit lines"
                    z_entry=z_entry z_exit=z_exit/>
            </section>
        </main>
    }
}

/// A labelled range input whose value is shown beside it.
#[component]
fn Slider(
    label: &'static str,
    testid: &'static str,
    min: f64,
    max: f64,
    step: f64,
    value: RwSignal<f64>,
    help: &'static str,
) -> impl IntoView {
    let value_testid = format!("{testid}-value");
    view! {
        <label class="slider" title=help>
            <span class="slider-label">{label}</span>
            <input
                type="range"
                data-testid=testid
                min=min
                max=max
                step=step
                prop:value=move || value.get().to_string()
                on:input=move |ev| {
                    if let Ok(v) = event_target_value(&ev).parse::<f64>() {
                        value.set(v);
                    }
                }
            />
            <span class="slider-value num" data-testid=value_testid>{move || format!("{:.1}", value.get())}</span>
        </label>
    }
}
