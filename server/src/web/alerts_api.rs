//! `/api/alerts`: list, create/update and delete alert rules; list recent events.

use app::alerts::{AlertEvent, AlertRule};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;

use super::AppState;
use crate::alerts::AlertsHandle;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/alerts", get(list_rules).post(save_rule))
        .route("/api/alerts/{id}", delete(delete_rule))
        .route("/api/alerts/events", get(list_events))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": { "message": message.into() } }))).into_response()
}

async fn list_rules(State(alerts): State<AlertsHandle>) -> Response {
    match alerts.repo.rules() {
        Ok(rules) => Json(rules).into_response(),
        Err(err) => error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
    }
}

/// Creates a rule (empty `id`) or replaces the rule with that id.
async fn save_rule(
    State(alerts): State<AlertsHandle>,
    body: Result<Json<AlertRule>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(mut rule) = match body {
        Ok(body) => body,
        Err(rejection) => return error(StatusCode::UNPROCESSABLE_ENTITY, rejection.body_text()),
    };
    rule.name = rule.name.trim().to_string();
    rule.view.x = rule.view.x.to_ascii_uppercase();
    rule.view.y = rule.view.y.to_ascii_uppercase();
    if let Err(message) = rule.validate(&alerts.symbols.current()) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, message);
    }
    if rule.id.is_empty() {
        rule.id = new_id();
    } else if rule.id.len() > 64 || !rule.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "id: letters, digits, '-' and '_' only");
    }
    match alerts.upsert(rule).await {
        Ok(rule) => (StatusCode::OK, Json(rule)).into_response(),
        Err(err) => error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
    }
}

async fn delete_rule(State(alerts): State<AlertsHandle>, Path(id): Path<String>) -> Response {
    match alerts.delete(&id).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => error(StatusCode::NOT_FOUND, format!("no alert rule {id}")),
        Err(err) => error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
    }
}

#[derive(Deserialize)]
struct EventsQuery {
    limit: Option<usize>,
}

async fn list_events(State(alerts): State<AlertsHandle>, Query(query): Query<EventsQuery>) -> Response {
    let limit = query.limit.unwrap_or(100).min(1_000);
    match alerts.repo.recent_events(limit) {
        Ok(events) => Json::<Vec<AlertEvent>>(events).into_response(),
        Err(err) => error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
    }
}

fn new_id() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("r{:x}{:04x}", nanos, rand::random::<u16>())
}
