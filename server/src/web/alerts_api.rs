//! `/api/alerts`: list, create/update and delete alert rules; list recent events.
//!
//! Errors are `{"error": {"kind", "message"}}`: `invalid_rule` (422), `not_found` (404),
//! `quota_exceeded` (409, past `--max-alert-rules`; deletes always work), `storage_full`
//! (507), `cluster_unavailable` (503, `serve --nats` when NATS does not answer) and `internal`
//! (500, details only in the server log).

use app::alerts::{AlertEvent, AlertRule};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;

use super::AppState;
use crate::alerts::repo::RepoError;
use crate::alerts::AlertsHandle;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/alerts", get(list_rules).post(save_rule))
        .route("/api/alerts/{id}", delete(delete_rule))
        .route("/api/alerts/events", get(list_events))
}

fn error(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": { "kind": kind, "message": message.into() } }))).into_response()
}

fn invalid(message: impl Into<String>) -> Response {
    error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_rule", message)
}

/// A repo failure: the quota is the client's to fix; anything else is logged, not shown.
fn repo_error(err: RepoError) -> Response {
    match err {
        RepoError::TooMany { .. } | RepoError::TooManyTheilSen { .. } => {
            error(StatusCode::CONFLICT, "quota_exceeded", err.to_string())
        }
        RepoError::Cluster(err) => {
            tracing::error!(%err, "alerts api: the cluster's rules bucket did not take the change");
            let message = "the cluster's shared rules (NATS) did not take the change; try again when NATS is reachable";
            error(StatusCode::SERVICE_UNAVAILABLE, "cluster_unavailable", message)
        }
        err if err.is_storage_full() => {
            tracing::error!(%err, "alerts api: the disk is full");
            let message = "the server's disk is full, so the database takes no change (nothing was stored or deleted); free space on it and writing resumes by itself (data set deletes work meanwhile)";
            error(StatusCode::INSUFFICIENT_STORAGE, "storage_full", message)
        }
        err => {
            tracing::error!(%err, "alerts api: internal error");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; the server log has the details")
        }
    }
}

async fn list_rules(State(alerts): State<AlertsHandle>) -> Response {
    match alerts.repo.rules() {
        Ok(rules) => Json(rules).into_response(),
        Err(err) => repo_error(err),
    }
}

/// Creates a rule (empty `id`) or replaces the rule with that id.
async fn save_rule(
    State(alerts): State<AlertsHandle>,
    body: Result<Json<AlertRule>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(mut rule) = match body {
        Ok(body) => body,
        Err(rejection) => return invalid(rejection.body_text()),
    };
    rule.name = rule.name.trim().to_string();
    rule.view.x = rule.view.x.to_ascii_uppercase();
    rule.view.y = rule.view.y.to_ascii_uppercase();
    if let Err(message) = rule.validate(&alerts.symbols.current()) {
        return invalid(message);
    }
    if rule.id.is_empty() {
        rule.id = new_id();
    } else if rule.id.len() > 64 || !rule.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return invalid("id: letters, digits, '-' and '_' only");
    }
    match alerts.upsert(rule).await {
        Ok(rule) => (StatusCode::OK, Json(rule)).into_response(),
        Err(err) => repo_error(err),
    }
}

async fn delete_rule(State(alerts): State<AlertsHandle>, Path(id): Path<String>) -> Response {
    match alerts.delete(&id).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => error(StatusCode::NOT_FOUND, "not_found", format!("no alert rule {id}")),
        Err(err) => repo_error(err),
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
        Err(err) => repo_error(err),
    }
}

fn new_id() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("r{:x}{:04x}", nanos, rand::random::<u16>())
}
