//! Light/dark theme: follows the system setting until the user picks one with the top-bar
//! switch; the choice is kept in `localStorage` and applied by a tiny script in the page
//! head before the first paint (so a reload never flashes the other theme).

use leptos::prelude::*;

#[cfg(feature = "hydrate")]
const STORAGE_KEY: &str = "pairdesk-theme";

/// Fired on `window` after the theme changed (charts redraw with the new colours).
pub const THEME_CHANGED_EVENT: &str = "pairdesk-theme";

/// Runs in `<head>` before the body renders: applies a saved choice.
pub const APPLY_SAVED_THEME: &str =
    "try{var t=localStorage.getItem('pairdesk-theme');if(t==='dark'||t==='light')document.documentElement.dataset.theme=t}catch(e){}";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Theme {
    System,
    Dark,
    Light,
}

impl Theme {
    fn next(self) -> Self {
        match self {
            Theme::System => Theme::Dark,
            Theme::Dark => Theme::Light,
            Theme::Light => Theme::System,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Dark => "dark",
            Theme::Light => "light",
        }
    }
}

#[component]
pub fn ThemeToggle() -> impl IntoView {
    // SSR cannot know the saved choice: render "system", then read it once hydrated.
    let theme = RwSignal::new(Theme::System);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let saved = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
        theme.set(match saved.as_deref() {
            Some("dark") => Theme::Dark,
            Some("light") => Theme::Light,
            _ => Theme::System,
        });
    });
    let cycle = move |_| {
        let next = theme.get_untracked().next();
        theme.set(next);
        #[cfg(feature = "hydrate")]
        apply(next);
    };
    view! {
        <button class="theme-toggle small" data-testid="theme-toggle" on:click=cycle
            title="Theme: follow the system, dark, or light (remembered in this browser)">
            {move || format!("theme: {}", theme.get().as_str())}
        </button>
    }
}

#[cfg(feature = "hydrate")]
fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

#[cfg(feature = "hydrate")]
fn apply(theme: Theme) {
    let window = web_sys::window();
    let root = window.as_ref().and_then(|w| w.document()).and_then(|d| d.document_element());
    let store = storage();
    match theme {
        Theme::System => {
            if let Some(root) = root {
                let _ = root.remove_attribute("data-theme");
            }
            if let Some(store) = store {
                let _ = store.remove_item(STORAGE_KEY);
            }
        }
        Theme::Dark | Theme::Light => {
            if let Some(root) = root {
                let _ = root.set_attribute("data-theme", theme.as_str());
            }
            if let Some(store) = store {
                let _ = store.set_item(STORAGE_KEY, theme.as_str());
            }
        }
    }
    if let (Some(window), Ok(event)) = (window, web_sys::Event::new(THEME_CHANGED_EVENT)) {
        let _ = window.dispatch_event(&event);
    }
}
