//! The browser's WebSocket to the server (`/ws`): subscribes to the wanted view, parses
//! pushed messages into [`LiveState`], and reconnects (re-subscribing, which brings a fresh
//! snapshot) when the server goes away.

use std::cell::RefCell;

use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, WebSocket};

use super::state::LiveState;
use crate::protocol::{ClientMsg, ServerMsg, ViewAnalytics};

const RECONNECT_DELAY_MS: i32 = 1_000;

thread_local! {
    /// The open socket, if any (wasm is single-threaded).
    static SOCKET: RefCell<Option<WebSocket>> = const { RefCell::new(None) };
}

/// Opens the socket (and keeps reopening it) for the lifetime of the page, and keeps the
/// server subscribed to `wanted` = (x symbol, y symbol, interval ms) with `analytics` and a
/// p-value tape of `tape_window` bars; with `None` (a view of uploaded series) the socket
/// still brings status, symbols and alerts.
pub fn connect(
    state: LiveState,
    wanted: Signal<Option<(String, String, i64)>>,
    analytics: Signal<ViewAnalytics>,
    tape_window: Signal<usize>,
) {
    let Some(window) = web_sys::window() else { return };
    let location = window.location();
    let (Ok(protocol), Ok(host)) = (location.protocol(), location.host()) else { return };
    let scheme = if protocol == "https:" { "wss" } else { "ws" };
    open(format!("{scheme}://{host}/ws"), state);
    Effect::new(move |_| {
        let Some((x, y, interval_ms)) = wanted.get() else { return };
        let analytics = Some(analytics.get());
        let tape_window = Some(tape_window.get());
        if state.socket_open.get() {
            send(&ClientMsg::Subscribe { x, y, interval_ms, analytics, tape_window });
        }
    });
}

fn send(msg: &ClientMsg) {
    let Ok(text) = serde_json::to_string(msg) else { return };
    SOCKET.with(|socket| {
        if let Some(socket) = socket.borrow().as_ref() {
            let _ = socket.send_with_str(&text);
        }
    });
}

fn open(url: String, state: LiveState) {
    let socket = match WebSocket::new(&url) {
        Ok(socket) => socket,
        Err(_) => return schedule_reconnect(url, state),
    };
    let on_open = Closure::<dyn FnMut()>::new(move || state.socket_open.set(true));
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let Some(text) = event.data().as_string() else { return };
        match serde_json::from_str::<ServerMsg>(&text) {
            Ok(msg) => state.apply(msg),
            Err(err) => leptos::logging::warn!("ignoring malformed server message: {err}"),
        }
    });
    let reconnect_url = url.clone();
    let on_close = Closure::<dyn FnMut()>::new(move || {
        SOCKET.with(|s| s.borrow_mut().take());
        state.socket_open.set(false);
        schedule_reconnect(reconnect_url.clone(), state);
    });
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    SOCKET.with(|s| *s.borrow_mut() = Some(socket));
    // These live as long as the socket, which lives as long as the page.
    on_open.forget();
    on_message.forget();
    on_close.forget();
}

fn schedule_reconnect(url: String, state: LiveState) {
    let Some(window) = web_sys::window() else { return };
    let retry = Closure::once_into_js(move || open(url, state));
    let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(retry.unchecked_ref(), RECONNECT_DELAY_MS);
}
