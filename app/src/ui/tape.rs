//! The Live page's p-value tape: the rolling Engle–Granger and ADF p-values of the view's last
//! W bars at every bar (`chart-pvalues`, with the 0.05 level) and the rolling half-life
//! (`chart-half-life`), as the server computes them once per view and tape window and pushes
//! them as bars close; tiles show the last p-values and flag a crossing of 0.05 at the last
//! bar. W is the page's (`tape-window`, `tape=` in the URL; default
//! [`TAPE_WINDOW`](crate::analytics::tape::TAPE_WINDOW)).

use leptos::prelude::*;

use super::charts::{Chart, ChartData, ChartLevel, ChartLine, TimeRange, ENTRY, LEG_X, LEG_Y, SERIES};
use super::format::fmt_opt;
use super::state::LiveState;
use super::view::ViewQuery;
use super::widgets::Tile;
use crate::analytics::tape::{crossed, TapePoint, TapeUpdate, TAPE_WINDOW_CHOICES};

/// The significance level the tape marks and flags.
pub const TAPE_LEVEL: f64 = 0.05;

fn line(label: &str, color: super::charts::Rgb, tape: &[TapePoint], v: fn(&TapePoint) -> Option<f64>) -> ChartLine {
    ChartLine { label: label.into(), color, points: tape.iter().filter_map(|p| Some((p.t as f64, v(p)?))).collect() }
}

/// What the page shows while there is no tape, if so.
fn waiting(tape: Option<&TapeUpdate>) -> Option<String> {
    match tape {
        None => Some("p-value tape: waiting for the server (live views only)".into()),
        Some(t) if t.points.is_empty() => Some(format!("p-value tape: needs {} closed bars", t.window)),
        Some(_) => None,
    }
}

pub fn pvalue_chart_data(tape: Option<&TapeUpdate>) -> ChartData {
    let points = tape.map_or(&[][..], |t| &t.points);
    ChartData {
        lines: vec![line("EG p", LEG_Y, points, |p| p.eg_p), line("ADF p", LEG_X, points, |p| p.adf_p)],
        levels: vec![ChartLevel { label: "0.05".into(), color: ENTRY, value: TAPE_LEVEL }],
        y_range: Some((0.0, 1.0)),
        waiting: waiting(tape),
        ..ChartData::default()
    }
}

pub fn half_life_chart_data(tape: Option<&TapeUpdate>) -> ChartData {
    let points = tape.map_or(&[][..], |t| &t.points);
    ChartData {
        lines: vec![line("half-life", SERIES, points, |p| p.half_life)],
        waiting: waiting(tape),
        ..ChartData::default()
    }
}

/// A tile's text: the last p-value, with the crossing of 0.05 at the last bar if there was one.
pub fn tape_tile_text(points: &[TapePoint], p: fn(&TapePoint) -> Option<f64>) -> String {
    let last = fmt_opt(points.last().and_then(p), 4);
    match crossed(points, TAPE_LEVEL, p) {
        Some(true) => format!("{last} ↓ crossed below 0.05"),
        Some(false) => format!("{last} ↑ crossed above 0.05"),
        None => last,
    }
}

/// The windows the picker lists: the usual choices, plus the URL's own if it is another.
pub fn tape_window_options(current: usize) -> Vec<usize> {
    let mut options = TAPE_WINDOW_CHOICES.to_vec();
    if !options.contains(&current) {
        options.push(current);
        options.sort_unstable();
    }
    options
}

/// The tape's window picker, charts and tiles, for the live view the page holds.
#[component]
pub fn PValueTape(range: TimeRange, view_q: RwSignal<ViewQuery>) -> impl IntoView {
    let state = expect_context::<LiveState>();
    let window = Memo::new(move |_| view_q.with(|v| v.tape_window));
    // The pushed tape, if it is the tape of the bars the page holds at the window it asked for
    // (right after a change of window, the old one is not shown as the new one).
    let tape = Memo::new(move |_| {
        let view = state.bars_view.get();
        let w = window.get();
        state
            .tape
            .get()
            .filter(|t| t.window == w && view == Some((t.x_symbol.clone(), t.y_symbol.clone(), t.interval_ms)))
    });
    let pvalues = Signal::derive(move || tape.with(|t| pvalue_chart_data(t.as_ref())));
    let half_lives = Signal::derive(move || tape.with(|t| half_life_chart_data(t.as_ref())));
    let text = move |p: fn(&TapePoint) -> Option<f64>| {
        Signal::derive(move || tape.with(|t| t.as_ref().map_or_else(|| "—".into(), |t| tape_tile_text(&t.points, p))))
    };
    let flagged = move || {
        tape.with(|t| {
            t.as_ref().is_some_and(|t| {
                crossed(&t.points, TAPE_LEVEL, |p| p.eg_p).is_some()
                    || crossed(&t.points, TAPE_LEVEL, |p| p.adf_p).is_some()
            })
        })
    };
    view! {
        <div class="tape" class:tape-crossed=flagged data-testid="tape">
            <section class="tiles" aria-label="p-value tape">
                <label class="control" title="Bars in each window of the p-value tape (the server computes the tape for this window)">
                    <span class="control-label">"tape window"</span>
                    <select data-testid="tape-window" on:change=move |ev| {
                        if let Ok(w) = event_target_value(&ev).parse::<usize>() {
                            view_q.update(|v| v.tape_window = w);
                        }
                    }>
                        // The URL's window is known at render and every later one is a choice:
                        // a fixed list (no reactive children inside the select to hydrate).
                        {tape_window_options(window.get_untracked()).into_iter().map(|w| view! {
                            <option value=w.to_string() selected=move || window.get() == w>{format!("{w} bars")}</option>
                        }).collect_view()}
                    </select>
                </label>
                <Tile label=Signal::derive(move || format!("EG p ({} bars)", window.get())) testid="tape-eg-p" value=text(|p| p.eg_p)
                    help="Engle–Granger p-value of the last window; flagged when it crossed 0.05 at the last closed bar" anchor="p-value-tape"/>
                <Tile label=Signal::derive(move || format!("ADF p ({} bars)", window.get())) testid="tape-adf-p" value=text(|p| p.adf_p)
                    help="ADF p-value of the last window's OLS spread; flagged when it crossed 0.05 at the last closed bar" anchor="p-value-tape"/>
                <Tile label=Signal::derive(|| "half-life (bars)".to_string()) testid="tape-half-life" value=text(|p| p.half_life)
                    help="Half-life of mean reversion of the last window's OLS spread, in bars" anchor="p-value-tape"/>
            </section>
            <Chart testid="chart-pvalues" title="p-value tape: rolling Engle–Granger and ADF p-values" data=pvalues range=range
                help="At every closed bar, the tests on the last tape-window bars (hedge refitted per window); red line = 0.05"/>
            <Chart testid="chart-half-life" title="Rolling half-life of the spread (bars)" data=half_lives range=range
                help="Half-life of the last tape-window bars' OLS spread at every closed bar; gaps = no mean reversion"/>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::tape::TAPE_WINDOW;

    fn tape(p: &[f64]) -> Vec<TapePoint> {
        p.iter()
            .enumerate()
            .map(|(i, &v)| TapePoint { t: i as i64 * 1_000, eg_p: Some(v), adf_p: Some(0.5), half_life: Some(12.0) })
            .collect()
    }

    #[test]
    fn tiles_flag_a_crossing_of_the_level_at_the_last_bar() {
        assert_eq!(tape_tile_text(&tape(&[0.2, 0.03]), |p| p.eg_p), "0.0300 ↓ crossed below 0.05");
        assert_eq!(tape_tile_text(&tape(&[0.03, 0.2]), |p| p.eg_p), "0.2000 ↑ crossed above 0.05");
        assert_eq!(tape_tile_text(&tape(&[0.03, 0.02]), |p| p.eg_p), "0.0200");
        assert_eq!(tape_tile_text(&[], |p| p.eg_p), "—");
    }

    #[test]
    fn the_picker_lists_the_choices_and_a_window_from_the_url() {
        assert_eq!(tape_window_options(TAPE_WINDOW), TAPE_WINDOW_CHOICES.to_vec());
        assert_eq!(tape_window_options(300), vec![60, 120, 240, 300, 480, 960]);
    }

    #[test]
    fn charts_draw_both_p_values_against_the_level() {
        let update = TapeUpdate {
            x_symbol: "X".into(),
            y_symbol: "Y".into(),
            interval_ms: 1_000,
            window: TAPE_WINDOW,
            snapshot: true,
            points: tape(&[0.2, 0.1, 0.04]),
        };
        let data = pvalue_chart_data(Some(&update));
        assert_eq!(data.lines.iter().map(|l| l.label.as_str()).collect::<Vec<_>>(), ["EG p", "ADF p"]);
        assert_eq!(data.lines[0].points, vec![(0.0, 0.2), (1_000.0, 0.1), (2_000.0, 0.04)]);
        assert_eq!(data.levels[0].value, 0.05);
        assert!(data.waiting.is_none());
        assert!(pvalue_chart_data(None).waiting.is_some());
        let empty = TapeUpdate { points: Vec::new(), ..update.clone() };
        assert!(half_life_chart_data(Some(&empty)).waiting.is_some_and(|w| w.contains("240")));
        assert_eq!(half_life_chart_data(Some(&update)).lines[0].points.len(), 3);
    }
}
