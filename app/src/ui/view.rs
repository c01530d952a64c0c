//! The view a page shows — pair, interval, windows, thresholds, hedge method — and its
//! URL query form, so a view is shareable and the server renders the same view the browser
//! hydrates.

use super::series::SeriesRef;
use crate::analytics::live_view::HedgeMethod;
use crate::analytics::tape::{TAPE_WINDOW, TAPE_WINDOW_RANGE};
use crate::protocol::{interval_label, parse_interval, INTERVALS_MS};

/// Which page of the dashboard is shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Page {
    #[default]
    Live,
    Backtest,
    Upload,
    Screener,
}

impl Page {
    pub const ALL: [Page; 4] = [Page::Live, Page::Backtest, Page::Upload, Page::Screener];

    pub fn as_str(self) -> &'static str {
        match self {
            Page::Live => "live",
            Page::Backtest => "backtest",
            Page::Upload => "upload",
            Page::Screener => "screener",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Page::Live => "Live",
            Page::Backtest => "Backtest",
            Page::Upload => "Upload",
            Page::Screener => "Screener",
        }
    }

    pub fn parse(s: &str) -> Option<Page> {
        Page::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The page's path (its route).
    pub fn path(self) -> &'static str {
        match self {
            Page::Live => "/",
            Page::Backtest => "/backtest",
            Page::Upload => "/upload",
            Page::Screener => "/screener",
        }
    }
}

/// Where an old `?page=NAME&…` link now lives: the page's path with the rest of the query,
/// or `None` when the query names no page (or one that does not exist, which is ignored).
pub fn legacy_page_redirect(query: &str) -> Option<String> {
    let mut page = None;
    let mut rest = Vec::new();
    for pair in query.trim_start_matches('?').split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("page", name)) => page = page.or(Some(Page::parse(name))),
            _ => rest.push(pair),
        }
    }
    let page = page?.unwrap_or_default();
    Some(if rest.is_empty() { page.path().to_string() } else { format!("{}?{}", page.path(), rest.join("&")) })
}

/// How the legs are charted: both rebased to % change on one chart, or each as candles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LegsChart {
    #[default]
    Percent,
    Candles,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ViewQuery {
    /// The page showing the view; from the path, never from the query.
    pub page: Page,
    /// The legs as [`SeriesRef`] keys: `BTCUSDT` (live) or `3:SOLUSDT` (uploaded).
    pub x: String,
    pub y: String,
    pub interval_ms: i64,
    /// Hedge-regression and z-score window, in bars.
    pub window: usize,
    /// Correlation window, in returns.
    pub corr_window: usize,
    pub z_entry: f64,
    pub z_exit: f64,
    pub hedge: HedgeMethod,
    /// `legs=candles`: an OHLC chart with volume per leg instead of the % overlay.
    pub legs_chart: LegsChart,
    /// `log=1`: logarithmic price axes (candles, ratio).
    pub log_scale: bool,
    /// `ratio=1`: the price ratio y/x as a chart of its own.
    pub show_ratio: bool,
    /// `tape=480`: bars per p-value tape window (live views), within
    /// [`crate::analytics::tape::TAPE_WINDOW_RANGE`].
    pub tape_window: usize,
    /// `basket=BTCUSDT,ETHUSDT,3:SOLUSDT`: the legs ticked for the Live page's basket, as
    /// [`SeriesRef`] keys in the order ticked (at most [`super::basket::MAX_BASKET_LEGS`]).
    pub basket: Vec<String>,
}

pub const WINDOW_RANGE: (usize, usize) = (10, 500);
pub const Z_ENTRY_RANGE: (f64, f64) = (0.5, 4.0);
pub const Z_EXIT_RANGE: (f64, f64) = (0.0, 2.0);

impl Default for ViewQuery {
    fn default() -> Self {
        ViewQuery {
            page: Page::Live,
            x: "BTCUSDT".into(),
            y: "ETHUSDT".into(),
            interval_ms: 1_000,
            window: 60,
            corr_window: 30,
            z_entry: 2.0,
            z_exit: 0.0,
            hedge: HedgeMethod::RollingOls,
            legs_chart: LegsChart::Percent,
            log_scale: false,
            show_ratio: false,
            tape_window: TAPE_WINDOW,
            basket: Vec::new(),
        }
    }
}

impl ViewQuery {
    /// Both legs (a key that no longer parses, which `from_query` never produces, is live).
    pub fn legs(&self) -> (SeriesRef, SeriesRef) {
        let leg = |key: &str| SeriesRef::parse(key).unwrap_or_else(|| SeriesRef::Live(key.to_string()));
        (leg(&self.x), leg(&self.y))
    }

    /// Whether both legs are live symbols (the view the server pushes).
    pub fn is_live(&self) -> bool {
        let (x, y) = self.legs();
        x.is_live() && y.is_live()
    }

    /// The analytic part of the view, as the server is asked to compute it.
    pub fn analytics(&self) -> crate::view::ViewAnalytics {
        crate::view::ViewAnalytics { window: self.window, corr_window: self.corr_window, hedge: self.hedge }
    }

    /// The view as the server knows it (what an alert rule made here watches).
    pub fn spec(&self) -> crate::view::ViewSpec {
        crate::view::ViewSpec {
            x: self.x.clone(),
            y: self.y.clone(),
            interval_ms: self.interval_ms,
            analytics: self.analytics(),
        }
    }

    /// Parses `?x=BTCUSDT&y=ETHUSDT&interval=1m&window=60&…`; anything missing or invalid
    /// keeps its default, numbers are clamped to the sliders' ranges.
    pub fn from_query(query: &str) -> ViewQuery {
        let mut view = ViewQuery::default();
        for pair in query.trim_start_matches('?').split('&') {
            let Some((key, value)) = pair.split_once('=') else { continue };
            match key {
                "x" => view.x = SeriesRef::parse(value).map_or(view.x, |s| s.key()),
                "y" => view.y = SeriesRef::parse(value).map_or(view.y, |s| s.key()),
                "interval" => {
                    // Only the intervals a live view offers; anything else keeps the default.
                    if let Some(ms) = parse_interval(value).ok().filter(|ms| INTERVALS_MS.contains(ms)) {
                        view.interval_ms = ms;
                    }
                }
                "window" => {
                    if let Ok(w) = value.parse::<usize>() {
                        view.window = w.clamp(WINDOW_RANGE.0, WINDOW_RANGE.1);
                    }
                }
                "corr" => {
                    if let Ok(w) = value.parse::<usize>() {
                        view.corr_window = w.clamp(WINDOW_RANGE.0, WINDOW_RANGE.1);
                    }
                }
                "entry" => {
                    if let Some(v) = value.parse::<f64>().ok().filter(|v| v.is_finite()) {
                        view.z_entry = v.clamp(Z_ENTRY_RANGE.0, Z_ENTRY_RANGE.1);
                    }
                }
                "exit" => {
                    if let Some(v) = value.parse::<f64>().ok().filter(|v| v.is_finite()) {
                        view.z_exit = v.clamp(Z_EXIT_RANGE.0, Z_EXIT_RANGE.1);
                    }
                }
                "hedge" => view.hedge = HedgeMethod::parse(value).unwrap_or(view.hedge),
                "legs" => match value {
                    "candles" => view.legs_chart = LegsChart::Candles,
                    "pct" => view.legs_chart = LegsChart::Percent,
                    _ => {}
                },
                "tape" => {
                    // The server refuses a window outside the range; the URL clamps to it.
                    if let Ok(w) = value.parse::<usize>() {
                        view.tape_window = w.clamp(TAPE_WINDOW_RANGE.0, TAPE_WINDOW_RANGE.1);
                    }
                }
                "basket" => {
                    // Keys that parse, each once, at most the cap; anything else is dropped.
                    view.basket.clear();
                    for key in value.split(',').filter_map(SeriesRef::parse).map(|s| s.key()) {
                        if !view.basket.contains(&key) && view.basket.len() < super::basket::MAX_BASKET_LEGS {
                            view.basket.push(key);
                        }
                    }
                }
                "log" => view.log_scale = value == "1",
                "ratio" => view.show_ratio = value == "1",
                _ => {}
            }
        }
        view
    }

    /// The link to this view on its page: a full page load (`rel="external"` on the anchor),
    /// see [`super::App`].
    pub fn href(&self) -> String {
        format!("{}?{}", self.page.path(), self.to_query())
    }

    pub fn to_query(&self) -> String {
        format!(
            "x={}&y={}&interval={}&window={}&corr={}&entry={:.1}&exit={:.1}&hedge={}",
            self.x,
            self.y,
            interval_label(self.interval_ms),
            self.window,
            self.corr_window,
            self.z_entry,
            self.z_exit,
            self.hedge.as_str()
        ) + &self.chart_options_query()
    }

    /// The chart options, only where they differ from the defaults (short URLs).
    fn chart_options_query(&self) -> String {
        let mut out = String::new();
        if self.legs_chart == LegsChart::Candles {
            out.push_str("&legs=candles");
        }
        if self.log_scale {
            out.push_str("&log=1");
        }
        if self.show_ratio {
            out.push_str("&ratio=1");
        }
        if self.tape_window != TAPE_WINDOW {
            out.push_str(&format!("&tape={}", self.tape_window));
        }
        if !self.basket.is_empty() {
            out.push_str(&format!("&basket={}", self.basket.join(",")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_round_trips() {
        let view = ViewQuery {
            page: Page::Backtest,
            x: "SOLUSDT".into(),
            y: "ETHUSDT".into(),
            interval_ms: 300_000,
            window: 120,
            corr_window: 45,
            z_entry: 2.5,
            z_exit: 0.3,
            hedge: HedgeMethod::Kalman,
            legs_chart: LegsChart::Candles,
            log_scale: true,
            show_ratio: true,
            tape_window: 480,
            basket: vec!["BTCUSDT".into(), "3:SOLUSDT".into(), "ETHUSDT".into()],
        };
        assert_eq!(ViewQuery { page: Page::Backtest, ..ViewQuery::from_query(&view.to_query()) }, view);
        assert!(view.href().starts_with("/backtest?x=SOLUSDT&"), "{}", view.href());
        assert!(view.to_query().ends_with("&tape=480&basket=BTCUSDT,3:SOLUSDT,ETHUSDT"), "{}", view.to_query());
        assert!(!ViewQuery::default().to_query().contains("tape="), "the default window is not spelled out");
        let upload = ViewQuery { x: "3:SOLUSDT".into(), y: "4:^GSPC".into(), ..ViewQuery::default() };
        assert_eq!(ViewQuery::from_query(&upload.to_query()), upload);
        assert!(!upload.is_live() && ViewQuery::default().is_live());
    }

    #[test]
    fn old_page_links_map_to_paths() {
        assert_eq!(legacy_page_redirect("page=upload").as_deref(), Some("/upload"));
        assert_eq!(legacy_page_redirect("?x=A&page=screener&y=B").as_deref(), Some("/screener?x=A&y=B"));
        assert_eq!(legacy_page_redirect("page=live&x=A").as_deref(), Some("/?x=A"));
        // An unknown page name still drops `page` and lands on Live.
        assert_eq!(legacy_page_redirect("page=nope&window=9").as_deref(), Some("/?window=9"));
        assert_eq!(legacy_page_redirect("x=A&y=B"), None);
        assert_eq!(legacy_page_redirect(""), None);
    }

    #[test]
    fn bad_values_fall_back_or_clamp() {
        let view = ViewQuery::from_query("?x=<script>&window=100000&entry=NaN&exit=9&interval=1h&hedge=magic&junk");
        assert_eq!(view.x, "BTCUSDT");
        assert_eq!(view.window, WINDOW_RANGE.1);
        assert_eq!(view.z_entry, 2.0);
        assert_eq!(view.z_exit, Z_EXIT_RANGE.1);
        assert_eq!(view.interval_ms, 1_000);
        assert_eq!(view.hedge, HedgeMethod::RollingOls);
        assert_eq!(view.tape_window, TAPE_WINDOW);
        assert_eq!(ViewQuery::from_query("tape=5").tape_window, TAPE_WINDOW_RANGE.0);
        assert_eq!(ViewQuery::from_query("tape=99999999").tape_window, TAPE_WINDOW_RANGE.1);
        assert_eq!(ViewQuery::from_query("tape=-3&tape=x").tape_window, TAPE_WINDOW);
        assert_eq!(ViewQuery::from_query("tape=120").tape_window, 120);
        // Basket legs: parsed keys, each once, at most twelve, in order.
        let legs = ViewQuery::from_query("basket=btcusdt,<b>,3:SOLUSDT,BTCUSDT,,x:Y").basket;
        assert_eq!(legs, ["BTCUSDT", "3:SOLUSDT"]);
        let many: Vec<String> = (0..20).map(|i| format!("S{i}USDT")).collect();
        assert_eq!(ViewQuery::from_query(&format!("basket={}", many.join(","))).basket, many[..12]);
    }
}
