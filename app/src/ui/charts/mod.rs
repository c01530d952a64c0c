//! Charts drawn with plotters into `<canvas>` elements.
//!
//! The component renders an empty canvas on the server; after hydration an effect redraws
//! it whenever its data or a threshold changes. The pixel row of the z-entry line is
//! published as `data-entry-px` so tests (and curious users) can see the line move.

#[cfg(feature = "hydrate")]
mod draw;

use leptos::prelude::*;

/// Which picture a chart shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChartKind {
    /// Both legs rebased to % change since the first point.
    Prices,
    /// Rolling z-score of the spread with ± entry and exit lines.
    ZScore,
}

#[component]
pub fn Chart(
    kind: ChartKind,
    testid: &'static str,
    title: &'static str,
    z_entry: RwSignal<f64>,
    z_exit: RwSignal<f64>,
) -> impl IntoView {
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let entry_px = RwSignal::new(None::<i32>);

    #[cfg(feature = "hydrate")]
    {
        let state = expect_context::<super::state::LiveState>();
        Effect::new(move |_| {
            let entry = z_entry.get();
            let exit = z_exit.get();
            let Some(canvas) = canvas_ref.get() else { return };
            let drawn = state.points.with(|points| draw::draw(&canvas, kind, points, entry, exit));
            match drawn {
                Ok(px) => entry_px.set(px),
                Err(err) => leptos::logging::warn!("chart {testid}: {err}"),
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (kind, z_entry, z_exit);

    view! {
        <figure class="chart">
            <figcaption>{title}</figcaption>
            <canvas
                node_ref=canvas_ref
                data-testid=testid
                data-entry-px=move || entry_px.get().map(|px| px.to_string())
                width="900"
                height="260"
            ></canvas>
        </figure>
    }
}
