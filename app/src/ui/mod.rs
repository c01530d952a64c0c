//! Leptos UI: the HTML shell the server renders and the components the browser hydrates.
//!
//! Data flows one way into the UI: the server pushes [`crate::protocol::ServerMsg`]s over
//! `/ws` (`socket`), they land in reactive state ([`state::LiveState`]), the analytics
//! engine derives the view's series in the browser, and components and charts read them.
//! The view (pair, interval, windows, thresholds) lives in the URL query ([`view`]), so the
//! server renders the same view the browser hydrates.

pub mod alerts;
pub mod backtest;
pub mod basket;
pub mod charts;
#[cfg(feature = "hydrate")]
pub mod download;
pub mod format;
#[cfg(feature = "hydrate")]
pub mod http;
pub mod live;
pub mod screener;
pub mod series;
#[cfg(feature = "hydrate")]
pub mod socket;
pub mod state;
pub mod symbols;
pub mod tape;
pub mod theme;
pub mod topbar;
pub mod upload;
#[cfg(feature = "hydrate")]
pub mod upload_xhr;
pub mod view;
pub mod widgets;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Title};

pub use live::LivePage;
use view::ViewQuery;

/// The server-rendered document. The browser hydrates only `<App/>` inside `<body>`.
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    use leptos::hydration::{AutoReload, HydrationScripts};
    use leptos_meta::MetaTags;
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="dark light"/>
                <script inner_html=theme::APPLY_SAVED_THEME></script>
                <link rel="stylesheet" href="/pkg/main.css"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The URL query of the page being rendered: the request's on the server, the address
/// bar's in the browser — the same string, so both render the same view.
pub(crate) fn current_query() -> String {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|parts| parts.uri.query().map(str::to_string))
            .unwrap_or_default()
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default()
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        String::new()
    }
}

/// The application root, identical on server and browser so hydration lines up. Pages are
/// real paths (`/`, `/backtest`, `/upload`, `/screener`) matched by `leptos_router`; the
/// view itself (pair, interval, windows, thresholds) stays in the query.
///
/// Links between pages are full page loads (`rel="external"`, see [`view::ViewQuery::href`]):
/// each page opens its own `/ws` subscription for its view, and a fresh load is one request
/// for an already cached bundle.
#[component]
pub fn App() -> impl IntoView {
    use leptos_router::components::{Route, Router, Routes};
    use leptos_router::path;
    provide_meta_context();
    let initial = move |page: view::Page| ViewQuery { page, ..ViewQuery::from_query(&current_query()) };
    view! {
        <Title text="pairdesk"/>
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/") view=move || view! { <LivePage initial=initial(view::Page::Live)/> }/>
                <Route path=path!("/backtest") view=move || view! { <LivePage initial=initial(view::Page::Backtest)/> }/>
                <Route path=path!("/upload") view=move || view! { <upload::UploadPage initial=initial(view::Page::Upload)/> }/>
                <Route path=path!("/screener") view=move || view! { <screener::ScreenerPage initial=initial(view::Page::Screener)/> }/>
            </Routes>
        </Router>
    }
}

/// Any other path: a page that says so and links home (the server answers it with 404).
#[component]
fn NotFound() -> impl IntoView {
    view! {
        <Title text="pairdesk · not found"/>
        <main class="not-found" data-testid="not-found">
            <h1>"Page not found"</h1>
            <p>"There is no page at this address. The pages are "
                <a href="/" rel="external">"Live"</a>", "
                <a href="/backtest" rel="external">"Backtest"</a>", "
                <a href="/upload" rel="external">"Upload"</a>" and "
                <a href="/screener" rel="external">"Screener"</a>"."</p>
            <p><a href="/" rel="external" data-testid="not-found-home">"Back to the Live page"</a></p>
        </main>
    }
}
