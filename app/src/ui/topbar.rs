//! The top bar of every page: the navigation (each link keeps the current view), the server
//! connection, the exchange feed, book and mark streams, storage and history status.

use leptos::prelude::*;

use super::state::LiveState;
use super::view::{Page, ViewQuery};
use crate::protocol::FeedState;

/// Connection status and navigation, always visible. Links keep the current view.
#[component]
pub fn StatusBar(view_q: RwSignal<ViewQuery>) -> impl IntoView {
    let state = use_context::<LiveState>();
    let status_text = move || {
        let Some(state) = state else { return "".to_string() };
        if !state.socket_open.get() {
            return "server: connecting…".to_string();
        }
        let status = state.status.get();
        let feed = match (&status.state, &status.last_error) {
            (FeedState::Live, _) => "exchange: live".to_string(),
            (s, Some(err)) => format!("exchange: {} — {err}", s.label()),
            (s, None) => format!("exchange: {}", s.label()),
        };
        match &status.storage_error {
            Some(err) => format!("{feed} · storage: {err}"),
            None => feed,
        }
    };
    let status_class = move || {
        let Some(state) = state else { return "status" };
        if !state.socket_open.get() {
            return "status status-connecting";
        }
        if state.status.get().storage_error.is_some() {
            return "status status-down";
        }
        match state.status.get().state {
            FeedState::Live => "status status-live",
            FeedState::Down => "status status-down",
            FeedState::Connecting | FeedState::Backfilling => "status status-connecting",
        }
    };
    // The klines history fetch (`--history`): symbols done, and the progress of the others.
    let history_text = move || {
        let status = state?.status.get();
        let text = super::format::history_summary(&status.history)?;
        let title = status
            .history
            .iter()
            .map(|p| match &p.error {
                Some(err) => format!("{}: {err}", p.symbol),
                None => format!("{}: {}/{} minutes", p.symbol, p.fetched, p.expected),
            })
            .collect::<Vec<_>>()
            .join("\n");
        Some((text, title))
    };
    // The book (/public) and mark (/market) connections, each with its own state.
    let side_text = move |mark: bool| {
        let quotes = state?.quotes.get()?;
        let (name, s) = if mark { ("mark", quotes.mark) } else { ("book", quotes.book) };
        Some(format!("{name}: {}", s.label()))
    };
    view! {
        <header class="topbar">
            <h1>"pairdesk"</h1>
            <nav>
                {Page::ALL.into_iter().map(|page| {
                    let href = move || view_q.with(|v| ViewQuery { page, ..v.clone() }.href());
                    let current = view_q.with_untracked(|v| v.page == page);
                    view! { <a href=href rel="external" class:current=current aria-current=current.then_some("page")>{page.label()}</a> }
                }).collect_view()}
            </nav>
            <span data-testid="connection-status" class=status_class aria-live="polite">{status_text}</span>
            <span data-testid="book-status" class="status side-status">{move || side_text(false)}</span>
            <span data-testid="mark-status" class="status side-status">{move || side_text(true)}</span>
            {move || history_text().map(|(text, title)| view! {
                <span data-testid="history-status" class="status history-status" title=title>{text}</span>
            })}
            <super::theme::ThemeToggle/>
        </header>
    }
}
