//! Small components every page shares: the methodology info link, labelled sliders, value
//! tiles and the pair pickers. They read the view and the live state; no page owns them.

use leptos::prelude::*;

use super::series::SeriesRef;
use super::state::LiveState;
use super::view::ViewQuery;

/// Link target for each metric's explanation.
pub const METHODOLOGY: &str = "/docs/methodology";

/// The small circled "i" after a metric or panel title: opens its methodology section.
/// (Drawn with CSS rather than the ⓘ glyph, which many system fonts lack.)
#[component]
pub fn InfoLink(anchor: &'static str) -> impl IntoView {
    view! {
        <a class="info" href=format!("{METHODOLOGY}#{anchor}") target="_blank" rel="noopener"
            aria-label="methodology" title="How this is computed (opens the methodology)">"i"</a>
    }
}

/// A leg picker: every live symbol and every uploaded data set's series, grouped; the
/// current choice is always an option (before the server listed anything, too).
#[component]
pub fn SymbolPicker(
    testid: &'static str,
    label: &'static str,
    view_q: RwSignal<ViewQuery>,
    is_x: bool,
) -> impl IntoView {
    let state = expect_context::<LiveState>();
    let current = move || view_q.with(|v| if is_x { v.x.clone() } else { v.y.clone() });
    let live_options = move || {
        let mut symbols = state.symbols.get();
        let cur = current();
        if SeriesRef::parse(&cur).is_some_and(|s| s.is_live()) && !symbols.contains(&cur) {
            symbols.insert(0, cur);
        }
        symbols.into_iter().map(|s| (s.clone(), format!("{s} (live)"))).collect::<Vec<_>>()
    };
    let upload_options = move || {
        state.datasets.with(|sets| {
            let mut options: Vec<(String, String)> =
                sets.iter().flat_map(|d| d.series()).map(|s| (s.key(), s.label(sets))).collect();
            let cur = current();
            if let Some(leg) = SeriesRef::parse(&cur).filter(|s| !s.is_live()) {
                if !options.iter().any(|(k, _)| *k == cur) {
                    options.insert(0, (cur, leg.label(sets)));
                }
            }
            options
        })
    };
    let option = move |(key, text): (String, String)| {
        let selected = key == current();
        view! { <option value=key selected=selected>{text}</option> }
    };
    view! {
        <label class="control" title=format!("Series of the {label} leg: a live symbol or an uploaded data set's")>
            <span class="control-label">{label}</span>
            <select data-testid=testid on:change=move |ev| {
                let key = event_target_value(&ev);
                if SeriesRef::parse(&key).is_some() {
                    view_q.update(|v| if is_x { v.x = key } else { v.y = key });
                }
            }>
                <optgroup label="live">{move || live_options().into_iter().map(option).collect_view()}</optgroup>
                {move || {
                    let uploads = upload_options();
                    (!uploads.is_empty()).then(|| view! {
                        <optgroup label="uploaded">{uploads.into_iter().map(option).collect_view()}</optgroup>
                    })
                }}
            </select>
        </label>
    }
}

/// A labelled range input whose value is shown beside it.
#[component]
pub fn Slider(
    label: &'static str,
    testid: &'static str,
    min: f64,
    max: f64,
    step: f64,
    decimals: usize,
    value: Signal<f64>,
    on_change: Callback<f64>,
    help: &'static str,
) -> impl IntoView {
    let value_testid = format!("{testid}-value");
    view! {
        <label class="slider" title=help>
            <span class="control-label">{label}</span>
            <input
                type="range"
                data-testid=testid
                min=min
                max=max
                step=step
                prop:value=move || value.get().to_string()
                on:input=move |ev| {
                    if let Ok(v) = event_target_value(&ev).parse::<f64>() {
                        on_change.run(v);
                    }
                }
            />
            <span class="slider-value num" data-testid=value_testid>{move || format!("{:.*}", decimals, value.get())}</span>
        </label>
    }
}

#[component]
pub fn Tile(
    label: Signal<String>,
    testid: &'static str,
    value: Signal<String>,
    help: &'static str,
    anchor: &'static str,
) -> impl IntoView {
    view! {
        <div class="tile" title=help>
            <div class="tile-label">{label}" "<InfoLink anchor=anchor/></div>
            <div class="tile-value num" data-testid=testid>{value}</div>
        </div>
    }
}
