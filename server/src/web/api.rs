//! JSON API behind the Upload page: data sets (`/api/datasets`) and batch analysis
//! (`/api/analyze`, the same report as `pairdesk analyze --json`).
//!
//! * `POST /api/datasets` — multipart: one or more file fields (any field with a file name),
//!   optional `symbol` (override for single-symbol formats) and `name` (one file only). Every
//!   file is parsed completely first; one rejected file rejects the request (422, nothing
//!   stored). Bodies over [`MAX_BODY`] get 413. Past `--max-datasets` an upload gets 409
//!   (`quota_exceeded`), past `--max-dataset-bytes` 507 (`storage_quota_exceeded`); deletes
//!   always work.
//! * `GET /api/datasets`, `DELETE /api/datasets/{id}`, `GET /api/datasets/{id}/bars?symbol=`.
//! * `POST /api/analyze` — JSON `{"x": {"dataset": id, "symbol": ..}, "y": {..}, "params": {..},
//!   "series": bool}`; or `{"legs": [{"dataset": id, "symbol": ..}, …]}` with 3–12 legs for a
//!   Johansen basket (the report of `pairdesk analyze A.csv B.csv C.csv --json`); or multipart with two files (`x`, `y`, or the first two files), optional
//!   `x_symbol`, `y_symbol`, `params` (JSON text) and `series`.
//!
//! Errors are `{"error": {"kind", "message", "line", "column", "file"}}`. CPU work (parsing,
//! analysis) runs on the blocking pool; no input can panic a handler. An analysis has a
//! deadline (`--analysis-timeout`, 504 `timeout` past it) and is cancelled when its client goes
//! away: the long loops of `app::analytics` check a [`Cancel`] token, so its slot frees within
//! moments either way.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use app::analytics::Cancel;
use app::dataset::{parse_ohlc_csv_with, CsvError, Dataset, ParseOptions};

use super::AppState;
use crate::analyze::{analyze_basket_legs, analyze_legs_with, pick_symbol, AnalyzeOptions, PairError};

/// Legs of a basket analysis (a Johansen basket needs three; statsmodels' tables stop at 12).
const MIN_BASKET_LEGS: usize = 3;
const MAX_BASKET_LEGS: usize = 12;
use crate::datasets::{DatasetError, DatasetStore};
use crate::store::Store;

/// Largest accepted request body (all files together).
pub const MAX_BODY: usize = 20 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/datasets", post(upload).get(list))
        .route("/api/datasets/{id}", axum::routing::delete(remove).get(one))
        .route("/api/datasets/{id}/bars", get(bars))
        .route("/api/analyze", post(analyze))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(refuse_declared_oversize))
}

/// Most bytes of an oversized body read (and dropped) before answering 413.
const DRAIN_CAP: u64 = 4 * MAX_BODY as u64;

/// A body whose declared length is over [`MAX_BODY`] is answered 413 at once, without
/// parsing a byte of it. It is read to its end first (up to [`DRAIN_CAP`]), because a
/// client still sending when the server answers and closes sees a reset instead of the
/// 413; past the cap the connection is simply closed.
async fn refuse_declared_oversize(req: Request, next: axum::middleware::Next) -> Response {
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > MAX_BODY as u64 => {
            if n <= DRAIN_CAP {
                use futures_util::StreamExt;
                let mut body = req.into_body().into_data_stream();
                while let Some(Ok(_)) = body.next().await {}
            }
            ApiError::too_large().into_response()
        }
        _ => next.run(req).await,
    }
}

/// An error answer: status plus the JSON `error` object.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

#[derive(Debug, Serialize)]
struct ErrorBody {
    kind: String,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, kind: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody { kind: kind.into(), message: message.into(), line: None, column: None, file: None },
        }
    }
    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", what)
    }
    /// The details go to the log, never to the client (they can name paths and internals).
    pub(super) fn internal(message: impl std::fmt::Display) -> Self {
        tracing::error!(%message, "api: internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; the server log has the details")
    }
    /// The disk is full: 507, the details logged (they name paths).
    pub(crate) fn storage_full(message: impl std::fmt::Display) -> Self {
        tracing::error!(%message, "api: the disk is full");
        Self::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "storage_full",
            "the server's disk is full, so the database takes no change (nothing was stored or deleted); free space on it and writing resumes by itself (data set deletes work meanwhile)",
        )
    }
    /// An analysis past `--analysis-timeout`: 504.
    fn timeout(deadline: std::time::Duration) -> Self {
        Self::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            format!(
                "the analysis took longer than the server's {} s limit (--analysis-timeout) and was stopped; ask for less work (shorter windows, fewer lags or bars)",
                deadline.as_secs_f64()
            ),
        )
    }
    fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request exceeds the {} MB limit", MAX_BODY / (1024 * 1024)),
        )
    }
    /// A rejected CSV file (422 with kind, line and column).
    fn csv(file: &str, e: CsvError) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: ErrorBody {
                kind: e.kind.as_str().into(),
                message: format!("{file}: {e}"),
                line: e.line,
                column: e.column,
                file: Some(file.into()),
            },
        }
    }
    /// A body that could not be read: too large (413) or malformed (400).
    fn body(status: StatusCode, message: impl std::fmt::Display) -> Self {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            Self::too_large()
        } else {
            Self::bad_request(message.to_string())
        }
    }
}

impl From<DatasetError> for ApiError {
    fn from(e: DatasetError) -> Self {
        match e {
            DatasetError::TooMany { .. } => ApiError::new(StatusCode::CONFLICT, "quota_exceeded", e.to_string()),
            DatasetError::TooLarge { .. } => {
                ApiError::new(StatusCode::INSUFFICIENT_STORAGE, "storage_quota_exceeded", e.to_string())
            }
            e if e.is_storage_full() => ApiError::storage_full(e),
            e => ApiError::internal(e),
        }
    }
}

impl From<PairError> for ApiError {
    fn from(e: PairError) -> Self {
        let (status, kind) = match &e {
            PairError::Symbol(_) => (StatusCode::UNPROCESSABLE_ENTITY, "symbol"),
            PairError::Overlap { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "insufficient_overlap"),
            PairError::Options(_) => (StatusCode::BAD_REQUEST, "invalid_params"),
            PairError::Analytics(_) => (StatusCode::UNPROCESSABLE_ENTITY, "analysis_failed"),
            // Only a client that has gone could see it (a deadline answers `timeout` first).
            PairError::Cancelled => (StatusCode::SERVICE_UNAVAILABLE, "cancelled"),
        };
        ApiError::new(status, kind, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.body }))).into_response()
    }
}

pub(super) type ApiResult<T> = Result<T, ApiError>;

/// CPU work (parsing, analysis) of this many requests at a time, on the blocking pool: the
/// async workers that answer everything else never run it, and a flood of requests queues
/// here instead of starting unbounded threads.
const CONCURRENT_WORK: usize = 2;
/// A request that cannot start its work within this long is answered 503.
const WORK_QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

fn work_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(CONCURRENT_WORK))
}

/// One of the [`CONCURRENT_WORK`] slots, waiting at most [`WORK_QUEUE_WAIT`] (503 `busy`).
async fn work_slot() -> ApiResult<tokio::sync::SemaphorePermit<'static>> {
    tokio::time::timeout(WORK_QUEUE_WAIT, work_permits().acquire())
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                format!("the server is busy with {CONCURRENT_WORK} other analyses; try again"),
            )
        })?
        .map_err(ApiError::internal)
}

/// Runs `f` on the blocking pool in a work slot. The slot is held by the blocking task, so it
/// is free only once the work has really stopped (not when the client leaves).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> ApiResult<T> + Send + 'static) -> ApiResult<T> {
    let permit = work_slot().await?;
    tokio::task::spawn_blocking(move || {
        let _slot = permit;
        f()
    })
    .await
    .map_err(ApiError::internal)?
}

/// Raises the token when dropped: axum drops a handler's future when its client disconnects.
struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// [`blocking`] for an analysis: `f` gets a token that is raised when `deadline` passes since
/// the work started (the answer is then 504 `timeout`) or when the client goes away; the
/// analytics stop at their next check and the slot frees.
pub(super) async fn analysis<T: Send + 'static>(
    deadline: std::time::Duration,
    f: impl FnOnce(&Cancel) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let cancel = Cancel::new();
    let _cancel_when_dropped = CancelOnDrop(cancel.clone());
    let permit = work_slot().await?;
    let token = cancel.clone();
    let task = tokio::task::spawn_blocking(move || {
        let _slot = permit;
        f(&token)
    });
    match tokio::time::timeout(deadline, task).await {
        Ok(joined) => joined.map_err(ApiError::internal)?,
        Err(_) => {
            cancel.cancel();
            tracing::warn!(?deadline, "api: an analysis ran past its deadline and was cancelled");
            Err(ApiError::timeout(deadline))
        }
    }
}

fn open(store: &Store) -> ApiResult<DatasetStore> {
    Ok(DatasetStore::open(store)?)
}

/// A file field of a multipart body.
struct Upload {
    field: String,
    file_name: String,
    bytes: Bytes,
}

/// All fields of a multipart body: files and text fields (in order).
#[derive(Default)]
struct Form {
    files: Vec<Upload>,
    text: Vec<(String, String)>,
}

impl Form {
    fn text(&self, name: &str) -> Option<&str> {
        self.text.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }
}

const TEXT_FIELD_LIMIT: usize = 64 * 1024;

async fn read_form(mut multipart: Multipart) -> ApiResult<Form> {
    let mut form = Form::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(ApiError::body(e.status(), format!("malformed multipart body: {e}"))),
        };
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        let bytes =
            field.bytes().await.map_err(|e| ApiError::body(e.status(), format!("cannot read field '{name}': {e}")))?;
        match file_name {
            Some(file_name) => form.files.push(Upload { field: name, file_name, bytes }),
            None if bytes.len() > TEXT_FIELD_LIMIT => {
                return Err(ApiError::bad_request(format!("field '{name}' is too long")))
            }
            None => form.text.push((name, String::from_utf8_lossy(&bytes).into_owned())),
        }
    }
    Ok(form)
}

async fn multipart_of(req: Request, state: &AppState) -> ApiResult<Multipart> {
    Multipart::from_request(req, state).await.map_err(|e| ApiError::body(e.status(), e.body_text()))
}

/// Display name of an uploaded file: its base name, never empty.
fn display_name(file_name: &str) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name).trim();
    if base.is_empty() {
        "upload.csv".to_string()
    } else {
        base.chars().take(200).collect()
    }
}

fn parse_upload(up: &Upload, symbol: Option<&str>) -> ApiResult<Dataset> {
    let name = display_name(&up.file_name);
    let options = symbol.map(ParseOptions::with_symbol).unwrap_or_default();
    parse_ohlc_csv_with(&up.bytes, &name, &options).map_err(|e| ApiError::csv(&name, e))
}

async fn upload(State(state): State<AppState>, req: Request) -> ApiResult<Response> {
    let form = read_form(multipart_of(req, &state).await?).await?;
    if form.files.is_empty() {
        return Err(ApiError::bad_request("no file in the upload (send multipart/form-data with a file field)"));
    }
    let (store, limits) = (state.store.clone(), state.dataset_limits);
    let summaries = blocking(move || {
        let symbol = form.text("symbol");
        let name = form.text("name");
        if name.is_some() && form.files.len() > 1 {
            return Err(ApiError::bad_request("'name' can only be given with a single file"));
        }
        let mut parsed = Vec::with_capacity(form.files.len());
        for up in &form.files {
            let ds = parse_upload(up, symbol)?;
            parsed.push((name.map(str::to_string).unwrap_or_else(|| display_name(&up.file_name)), ds));
        }
        Ok(open(&store)?.insert_all(&parsed, limits)?)
    })
    .await?;
    state.dataset_sharing.uploaded(&summaries).await;
    Ok((StatusCode::CREATED, Json(json!({ "datasets": summaries }))).into_response())
}

async fn list(State(state): State<AppState>) -> ApiResult<Response> {
    let store = state.store.clone();
    let all = blocking(move || Ok(open(&store)?.list()?)).await?;
    Ok(Json(json!({ "datasets": all })).into_response())
}

fn parse_id(id: &str) -> ApiResult<u64> {
    id.parse().map_err(|_| ApiError::not_found(format!("no data set '{id}'")))
}

async fn one(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let store = state.store.clone();
    let summary = blocking(move || Ok(open(&store)?.summary(id)?)).await?;
    summary.map(|s| Json(s).into_response()).ok_or_else(|| ApiError::not_found(format!("no data set {id}")))
}

async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let store = state.store.clone();
    if blocking(move || Ok(open(&store)?.delete(id)?)).await? {
        state.dataset_sharing.deleted(id).await;
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found(format!("no data set {id}")))
    }
}

#[derive(Debug, Deserialize)]
struct BarsQuery {
    symbol: Option<String>,
}

fn load(store: &Store, id: u64) -> ApiResult<(String, Dataset)> {
    let ds = open(store)?;
    let name = ds.summary(id)?.map(|s| s.name);
    match (name, ds.get(id)?) {
        (Some(name), Some(data)) => Ok((name, data)),
        _ => Err(ApiError::not_found(format!("no data set {id}"))),
    }
}

async fn bars(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<BarsQuery>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let store = state.store.clone();
    blocking(move || {
        let (name, data) = load(&store, id)?;
        let leg = pick_symbol(&name, &data, q.symbol.as_deref(), "?symbol=")?;
        Ok(Json(json!({ "id": id, "name": name, "symbol": leg.symbol, "bars": leg.bars })).into_response())
    })
    .await
}

/// One leg of a JSON analyze request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LegRef {
    dataset: u64,
    #[serde(default)]
    symbol: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalyzeRequest {
    #[serde(default)]
    x: Option<LegRef>,
    #[serde(default)]
    y: Option<LegRef>,
    /// A basket's legs (3–12), instead of `x` and `y`.
    #[serde(default)]
    legs: Option<Vec<LegRef>>,
    #[serde(default)]
    params: AnalyzeOptions,
    #[serde(default)]
    series: bool,
}

fn is_multipart(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"))
}

fn report_response(analysis: &crate::analyze::Analysis) -> ApiResult<Response> {
    // Serialise here: the report may hold non-finite floats only where serde_util maps them.
    let body = serde_json::to_vec(analysis).map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn analyze(State(state): State<AppState>, req: Request) -> ApiResult<Response> {
    if is_multipart(&req) {
        let form = read_form(multipart_of(req, &state).await?).await?;
        return analysis(state.analysis_timeout, move |cancel| analyze_files(form, cancel)).await;
    }
    let body = Bytes::from_request(req, &state).await.map_err(|e| ApiError::body(e.status(), e.body_text()))?;
    let request: AnalyzeRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_params", format!("invalid analyze request: {e}"))
    })?;
    let store = state.store.clone();
    match (request.x, request.y, request.legs) {
        (Some(x), Some(y), None) => {
            analysis(state.analysis_timeout, move |cancel| {
                let (xn, xd) = load(&store, x.dataset)?;
                let (yn, yd) = load(&store, y.dataset)?;
                let x = pick_symbol(&xn, &xd, x.symbol.as_deref(), "x.symbol")?;
                let y = pick_symbol(&yn, &yd, y.symbol.as_deref(), "y.symbol")?;
                report_response(&analyze_legs_with(x, y, &request.params, request.series, cancel)?)
            })
            .await
        }
        (None, None, Some(legs)) if (MIN_BASKET_LEGS..=MAX_BASKET_LEGS).contains(&legs.len()) => {
            let (params, series) = (request.params, request.series);
            analysis(state.analysis_timeout, move |_cancel| {
                let loaded =
                    legs.iter().map(|leg| load(&store, leg.dataset)).collect::<Result<Vec<(String, Dataset)>, _>>()?;
                let picked = loaded
                    .iter()
                    .zip(&legs)
                    .enumerate()
                    .map(|(i, ((name, data), leg))| {
                        pick_symbol(name, data, leg.symbol.as_deref(), &format!("legs[{i}].symbol"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let basket = analyze_basket_legs(&picked, &params, series)?;
                let body = serde_json::to_vec(&basket).map_err(ApiError::internal)?;
                Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
            })
            .await
        }
        (None, None, Some(legs)) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_params",
            format!(
                "a basket takes {MIN_BASKET_LEGS} to {MAX_BASKET_LEGS} legs, got {} (two series: send \"x\" and \"y\")",
                legs.len()
            ),
        )),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_params",
            "invalid analyze request: send \"x\" and \"y\" (a pair) or \"legs\" (a basket of 3–12), not both",
        )),
    }
}

fn analyze_files(form: Form, cancel: &Cancel) -> ApiResult<Response> {
    let by_field = |f: &str| form.files.iter().find(|u| u.field == f);
    let (xu, yu) = match (by_field("x"), by_field("y")) {
        (Some(x), Some(y)) => (x, y),
        _ => match form.files.as_slice() {
            [x, y] => (x, y),
            _ => return Err(ApiError::bad_request("send exactly two files (fields 'x' and 'y')")),
        },
    };
    let params: AnalyzeOptions = match form.text("params") {
        Some(p) => serde_json::from_str(p)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_params", format!("invalid params: {e}")))?,
        None => AnalyzeOptions::default(),
    };
    let series = matches!(form.text("series"), Some("true" | "1" | "on"));
    let (xd, yd) = (parse_upload(xu, None)?, parse_upload(yu, None)?);
    let (xn, yn) = (display_name(&xu.file_name), display_name(&yu.file_name));
    let x = pick_symbol(&xn, &xd, form.text("x_symbol"), "x_symbol")?;
    let y = pick_symbol(&yn, &yd, form.text("y_symbol"), "y_symbol")?;
    report_response(&analyze_legs_with(x, y, &params, series, cancel)?)
}
