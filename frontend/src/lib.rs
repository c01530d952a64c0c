//! Browser entry point: hydrates the page the server already rendered.
//!
//! Everything lives in `app`; this crate only exists so Trunk has a cdylib to build.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::prelude::wasm_bindgen;

/// Called by Leptos' `<HydrationScripts/>` once `frontend_bg.wasm` is loaded.
#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::ui::App);
}
