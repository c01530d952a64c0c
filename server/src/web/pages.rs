//! The dashboard's pages as HTTP routes: each page path renders the Leptos app (which picks
//! the page by its path, `app::ui::App`), an old `?page=NAME` link is redirected to its path,
//! and any other path gets the app's HTML "not found" page with status 404 (JSON for
//! `/api/…`, whose clients read JSON).

use std::future::Future;
use std::pin::Pin;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

type Render = Pin<Box<dyn Future<Output = Response> + Send>>;

/// A page route: `?page=NAME` links (the first version's) answer 308 to the page's path with
/// the rest of the query; everything else is rendered.
pub fn page_handler<R>(render: R) -> impl Fn(Request<Body>) -> Render + Clone + Send + Sync + 'static
where
    R: Fn(Request<Body>) -> Render + Clone + Send + Sync + 'static,
{
    move |req: Request<Body>| {
        let render = render.clone();
        Box::pin(async move {
            if let Some(to) = req.uri().query().and_then(app::ui::view::legacy_page_redirect) {
                return Redirect::permanent(&to).into_response();
            }
            render(req).await
        })
    }
}

/// Every path no route matches.
pub fn not_found_handler<R>(render: R) -> impl Fn(Request<Body>) -> Render + Clone + Send + Sync + 'static
where
    R: Fn(Request<Body>) -> Render + Clone + Send + Sync + 'static,
{
    move |req: Request<Body>| {
        let render = render.clone();
        Box::pin(async move {
            let path = req.uri().path();
            if path == "/api" || path.starts_with("/api/") {
                let body = serde_json::json!({"error": {"kind": "not_found", "message": format!("no API endpoint at {path}")}});
                return (StatusCode::NOT_FOUND, axum::Json(body)).into_response();
            }
            if req.method() != axum::http::Method::GET && req.method() != axum::http::Method::HEAD {
                return (StatusCode::NOT_FOUND, "not found\n").into_response();
            }
            // The app's router renders its "not found" page for this path; the status says so.
            let mut response = render(req).await;
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
        })
    }
}
