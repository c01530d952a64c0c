//! `/api/symbols`: list the ingested symbols, add one (checked with the exchange first),
//! remove one. The Live page's symbol editor and scripts use it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;

use super::AppState;
use crate::symbols::{SymbolError, Symbols};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/symbols", get(list).post(add)).route("/api/symbols/{symbol}", delete(remove))
}

#[derive(Deserialize)]
struct AddSymbol {
    symbol: String,
}

async fn list(State(symbols): State<Symbols>) -> Response {
    Json(serde_json::json!({ "symbols": symbols.current() })).into_response()
}

async fn add(
    State(symbols): State<Symbols>,
    body: Result<Json<AddSymbol>, axum::extract::rejection::JsonRejection>,
) -> Response {
    match body {
        Ok(Json(body)) => answer(symbols.add(&body.symbol).await),
        Err(rejection) => error(StatusCode::UNPROCESSABLE_ENTITY, rejection.body_text()),
    }
}

async fn remove(State(symbols): State<Symbols>, Path(symbol): Path<String>) -> Response {
    answer(symbols.remove(&symbol).await)
}

fn answer(result: Result<Vec<String>, SymbolError>) -> Response {
    match result {
        Ok(symbols) => Json(serde_json::json!({ "symbols": symbols })).into_response(),
        Err(err) => {
            let status = match err {
                SymbolError::Invalid(_) | SymbolError::Unknown { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                SymbolError::AlreadyIngested(_) | SymbolError::LastPair => StatusCode::CONFLICT,
                SymbolError::NotIngested(_) => StatusCode::NOT_FOUND,
                SymbolError::ExchangeUnreachable { .. } => StatusCode::BAD_GATEWAY,
                SymbolError::IngestStopped | SymbolError::Shared(_) => StatusCode::SERVICE_UNAVAILABLE,
            };
            error(status, err.to_string())
        }
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": { "message": message.into() } }))).into_response()
}
