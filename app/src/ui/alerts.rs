//! The alert panel: events as they fire and clear (pushed over `/ws`, shown as a list and a
//! toast), the rules with a form to add one for the current view, and the default rule that
//! follows the z-entry slider. Rules live on the server, which evaluates them on every bar
//! whether or not a page is open.

use leptos::prelude::*;

use super::format::fmt_num;
use super::state::LiveState;
use super::view::ViewQuery;
use super::widgets::InfoLink;
use crate::alerts::{AlertEvent, AlertEventKind, AlertMetric, AlertRule, Comparison};

/// The rule a view's z-entry slider stands for.
pub fn slider_rule(view: &ViewQuery) -> AlertRule {
    AlertRule {
        id: "default".into(),
        name: "z entry (Live slider)".into(),
        metric: AlertMetric::Zscore,
        comparison: Comparison::AbsAbove,
        threshold: view.z_entry,
        hysteresis: (view.z_entry - view.z_exit).clamp(0.0, 0.5),
        view: view.spec(),
        webhook: None,
    }
}

pub fn describe(event: &AlertEvent) -> String {
    let verb = match event.kind {
        AlertEventKind::Fired => "fired",
        AlertEventKind::Cleared => "cleared",
    };
    format!(
        "{} {} {}: {} {} {} (value {})",
        super::charts::clock_label(event.t_ms as f64),
        event.rule_name,
        verb,
        event.metric.as_str(),
        event.comparison.symbol(),
        fmt_num(event.threshold, 3),
        fmt_num(event.value, 4)
    )
}

#[component]
pub fn AlertPanel(view_q: RwSignal<ViewQuery>) -> impl IntoView {
    let state = expect_context::<LiveState>();
    let rules = RwSignal::new(Vec::<AlertRule>::new());
    let form_error = RwSignal::new(None::<String>);
    let metric = RwSignal::new(AlertMetric::Zscore);
    let comparison = RwSignal::new(Comparison::AbsAbove);
    let threshold = RwSignal::new(String::from("2.5"));
    let webhook = RwSignal::new(String::new());
    let toast = RwSignal::new(None::<String>);

    #[cfg(feature = "hydrate")]
    {
        use leptos::task::spawn_local;
        let reload = move || {
            spawn_local(async move {
                if let Ok(Some(list)) = super::http::request::<Vec<AlertRule>>("GET", "/api/alerts", None::<&()>).await
                {
                    rules.set(list);
                }
            })
        };
        reload();
        spawn_local(async move {
            if let Ok(Some(events)) =
                super::http::request::<Vec<AlertEvent>>("GET", "/api/alerts/events?limit=50", None::<&()>).await
            {
                state.alerts.update(|list| {
                    for e in events {
                        if !list.contains(&e) {
                            list.push(e);
                        }
                    }
                });
            }
        });
        // The slider is the default rule: keep it in step (not on the first run, which is
        // just the page loading its view).
        Effect::new(move |previous: Option<()>| {
            let rule = view_q.with(slider_rule);
            if previous.is_some() {
                spawn_local(async move {
                    if super::http::request::<AlertRule>("POST", "/api/alerts", Some(&rule)).await.is_ok() {
                        reload();
                    }
                });
            }
        });
        // A toast for each new event, for five seconds.
        Effect::new(move |seen: Option<usize>| {
            let events = state.alerts.get();
            let count = events.len();
            if let (Some(seen), Some(newest)) = (seen, events.first()) {
                if count > seen {
                    toast.set(Some(describe(newest)));
                    set_timeout(move || toast.set(None), std::time::Duration::from_secs(5));
                }
            }
            count
        });
    }

    let add = move |_| {
        let Ok(level) = threshold.get_untracked().trim().parse::<f64>() else {
            form_error.set(Some("threshold: enter a number".into()));
            return;
        };
        let hook = webhook.get_untracked().trim().to_string();
        let rule = AlertRule {
            id: String::new(),
            name: format!("{} {} {}", metric.get_untracked().as_str(), comparison.get_untracked().symbol(), level),
            metric: metric.get_untracked(),
            comparison: comparison.get_untracked(),
            threshold: level,
            hysteresis: 0.0,
            view: view_q.with_untracked(ViewQuery::spec),
            webhook: (!hook.is_empty()).then_some(hook),
        };
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match super::http::request::<AlertRule>("POST", "/api/alerts", Some(&rule)).await {
                Ok(Some(saved)) => {
                    form_error.set(None);
                    rules.update(|r| r.push(saved));
                }
                Ok(None) => {}
                Err(e) => form_error.set(Some(e)),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = rule;
    };
    let remove = move |id: String| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let url = format!("/api/alerts/{id}");
            if super::http::request::<()>("DELETE", &url, None::<&()>).await.is_ok() {
                rules.update(|r| r.retain(|rule| rule.id != id));
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = id;
    };

    view! {
        <section class="panel alerts" aria-label="Alerts">
            <h2>"Alerts "<InfoLink anchor="alerts"/></h2>
            <ul class="alert-rules">
                <For each=move || rules.get() key=|r| (r.id.clone(), r.threshold.to_bits()) let:rule>
                    {
                        let id = rule.id.clone();
                        view! {
                            <li>
                                <span class="num">{format!("{} {}/{} {} {} {}", rule.name, rule.view.y, rule.view.x, rule.metric.as_str(), rule.comparison.symbol(), fmt_num(rule.threshold, 2))}</span>
                                <button class="small" title="Delete this rule" on:click=move |_| remove(id.clone())>"×"</button>
                            </li>
                        }
                    }
                </For>
            </ul>
            <div class="alert-form">
                <select aria-label="metric" data-testid="alert-metric" on:change=move |ev| if let Some(m) = AlertMetric::parse(&event_target_value(&ev)) { metric.set(m) }>
                    {AlertMetric::ALL.into_iter().map(|m| view! { <option value=m.as_str()>{m.as_str()}</option> }).collect_view()}
                </select>
                <select aria-label="comparison" data-testid="alert-comparison" on:change=move |ev| if let Some(c) = Comparison::parse(&event_target_value(&ev)) { comparison.set(c) }>
                    {Comparison::ALL.into_iter().map(|c| view! { <option value=c.as_str() selected=c == Comparison::AbsAbove>{c.symbol()}</option> }).collect_view()}
                </select>
                <input aria-label="threshold" data-testid="alert-threshold" size="6" prop:value=move || threshold.get() on:input=move |ev| threshold.set(event_target_value(&ev))/>
                <input aria-label="webhook URL (optional)" placeholder="webhook URL (optional)" prop:value=move || webhook.get() on:input=move |ev| webhook.set(event_target_value(&ev))/>
                <button data-testid="alert-add" on:click=add>"Add rule"</button>
            </div>
            {move || form_error.get().map(|e| view! { <p class="error">{e}</p> })}
            <ul class="alert-events num" data-testid="alerts-list" aria-live="polite">
                <For each=move || state.alerts.get() key=|e| (e.rule_id.clone(), e.t_ms, e.kind == AlertEventKind::Fired) let:event>
                    <li data-testid="alert-event" class=if event.kind == AlertEventKind::Fired { "fired" } else { "cleared" }>{describe(&event)}</li>
                </For>
            </ul>
            {move || toast.get().map(|t| view! { <div class="toast" role="status">{t}</div> })}
        </section>
    }
}
