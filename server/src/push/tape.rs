//! The view's p-value tape on the server ([`app::analytics::tape`]): computed once per view
//! for every watcher — over the snapshot's bars when a page subscribes, then one point per bar
//! of the view that closes, from the bars the view feed keeps — and always in the `/ws` work
//! slots ([`super::work`]; a point is ~65 µs, a 500-point snapshot ~27 ms: BENCHMARKS.md "p-value tape").
//!
//! The tape window is the view's own ([`View::tape_window`], checked by `hub::validate`); the
//! tape is computed for views that ask for analytics (the Live page's).

use app::analytics::tape::{snapshot_tape, tape_of_bars, TapeUpdate};
use app::protocol::{Bar, ServerMsg};
use app::view::ViewBars;

use super::feed::View;
use crate::pipeline::BarUpdate;

fn message(view: &View, snapshot: bool, points: Vec<app::analytics::tape::TapePoint>) -> ServerMsg {
    ServerMsg::Tape(TapeUpdate {
        x_symbol: view.x.clone(),
        y_symbol: view.y.clone(),
        interval_ms: view.interval_ms,
        window: view.tape_window,
        snapshot,
        points,
    })
}

/// The whole tape over a snapshot's bars (the forming last bar excluded), for a view with
/// analytics. Blocking: call it where the snapshot is computed (the blocking pool).
pub(super) fn snapshot_msg(view: &View, x_bars: &[Bar], y_bars: &[Bar]) -> Option<ServerMsg> {
    view.analytics?;
    Some(message(view, true, snapshot_tape(x_bars, y_bars, view.interval_ms, view.tape_window)))
}

/// The tape point of a bar of the view that just closed (already applied to `bars`), computed
/// in the `/ws` work slots from the tail of the legs the point needs; None for other updates.
pub(super) async fn on_close(view: &View, bars: &ViewBars, update: &BarUpdate) -> Option<ServerMsg> {
    if !update.closed || update.interval_ms != view.interval_ms || (update.symbol != view.x && update.symbol != view.y)
    {
        return None;
    }
    // A window's bars plus the one before it (for the union fill): at most that many bars.
    let window = view.tape_window;
    let tail = |b: &[Bar]| b[b.len().saturating_sub(window + 2)..].to_vec();
    let (x, y, interval_ms, through) = (tail(&bars.x), tail(&bars.y), view.interval_ms, update.bar.t);
    let points = super::work::blocking(move || tape_of_bars(&x, &y, interval_ms, through, window, 1)).await?;
    (!points.is_empty()).then(|| message(view, false, points))
}
