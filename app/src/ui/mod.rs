//! Leptos UI: the HTML shell the server renders and the components the browser hydrates.
//!
//! Data flows one way into the UI: the server pushes [`crate::protocol::ServerMsg`]s over
//! `/ws` ([`socket`]), they land in reactive state ([`state::LiveState`]), and components
//! and charts read that state. Nothing here talks back to the exchange.

pub mod charts;
pub mod live;
#[cfg(feature = "hydrate")]
pub mod socket;
pub mod state;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Title};

pub use live::LivePage;

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

/// The application root, identical on server and browser so hydration lines up.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="pairdesk"/>
        <LivePage/>
    }
}
