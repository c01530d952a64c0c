//! The symbol editor of the Live page: the ingested symbols with a remove button each and a
//! field to add one. The server checks a new symbol with the exchange and then announces
//! the new list to every open page over `/ws` (so the pickers update everywhere).

use leptos::prelude::*;

use super::state::LiveState;

#[derive(serde::Serialize)]
struct AddSymbol {
    symbol: String,
}

#[derive(serde::Deserialize)]
struct SymbolList {
    symbols: Vec<String>,
}

#[component]
pub fn SymbolEditor() -> impl IntoView {
    let state = expect_context::<LiveState>();
    let draft = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let apply = move |result: Result<Option<SymbolList>, String>| {
        busy.set(false);
        match result {
            Ok(Some(list)) => {
                error.set(None);
                state.symbols.set(list.symbols);
            }
            Ok(None) => error.set(None),
            Err(e) => error.set(Some(e)),
        }
    };
    let add = move || {
        let symbol = draft.get_untracked().trim().to_string();
        if symbol.is_empty() || busy.get_untracked() {
            return;
        }
        busy.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let result = super::http::request::<SymbolList>("POST", "/api/symbols", Some(&AddSymbol { symbol })).await;
            if result.is_ok() {
                draft.set(String::new());
            }
            apply(result);
        });
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (AddSymbol { symbol }, apply);
        }
    };
    let remove = move |symbol: String| {
        busy.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let url = format!("/api/symbols/{symbol}");
            apply(super::http::request::<SymbolList>("DELETE", &url, None::<&()>).await);
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = symbol;
    };

    view! {
        <details class="control symbols" data-testid="symbols">
            <summary title="Add or remove ingested symbols">{move || format!("symbols ({})", state.symbols.with(Vec::len))}</summary>
            <div class="symbols-popover">
                <ul data-testid="symbol-list">
                    <For each=move || state.symbols.get() key=|s| s.clone() let:symbol>
                        {
                            let name = symbol.clone();
                            view! {
                                <li>
                                    <span class="num">{symbol.clone()}</span>
                                    <button class="small" data-testid="symbol-remove" data-symbol=symbol.clone()
                                        title=format!("Stop ingesting {symbol} (stored data stays)")
                                        disabled=move || busy.get()
                                        on:click=move |_| remove(name.clone())>"×"</button>
                                </li>
                            }
                        }
                    </For>
                </ul>
                <form on:submit=move |ev| { ev.prevent_default(); add(); }>
                    <input data-testid="symbol-add" aria-label="symbol to add" placeholder="e.g. SOLUSDT" size="12"
                        prop:value=move || draft.get() on:input=move |ev| draft.set(event_target_value(&ev))/>
                    <button type="submit" data-testid="symbol-add-submit" disabled=move || busy.get()>"Add"</button>
                </form>
                {move || error.get().map(|e| view! { <p class="error" data-testid="symbol-error" role="alert">{e}</p> })}
            </div>
        </details>
    }
}
