//! Small JSON-over-fetch helpers for the browser (the `/api` endpoints).

use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

/// Error text the API put in `{"error": {"message": ...}}`, or the HTTP status.
async fn error_text(response: &Response) -> String {
    let status = response.status();
    let body = match response.text() {
        Ok(promise) => JsFuture::from(promise).await.ok().and_then(|v| v.as_string()).unwrap_or_default(),
        Err(_) => String::new(),
    };
    serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.pointer("/error/message").and_then(|m| m.as_str()).map(str::to_string))
        .unwrap_or_else(|| format!("HTTP {status}"))
}

/// Sends a request; the answer's text (`None` for 204), or the API's error text.
async fn fetch_text(method: &str, url: &str, body: Option<&impl Serialize>) -> Result<Option<String>, String> {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        let json = serde_json::to_string(body).map_err(|e| e.to_string())?;
        init.set_body(&JsValue::from_str(&json));
    }
    let request = Request::new_with_str_and_init(url, &init).map_err(|_| "bad request".to_string())?;
    if body.is_some() {
        let _ = request.headers().set("content-type", "application/json");
    }
    let window = web_sys::window().ok_or("no window")?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|_| "the server is unreachable".to_string())?
        .dyn_into()
        .map_err(|_| "not a response".to_string())?;
    if !response.ok() {
        return Err(error_text(&response).await);
    }
    if response.status() == 204 {
        return Ok(None);
    }
    let text = JsFuture::from(response.text().map_err(|_| "no body".to_string())?)
        .await
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    Ok(Some(text))
}

/// Sends a request and decodes a JSON answer (`()` for empty answers is fine via `Option`).
pub async fn request<T: DeserializeOwned>(
    method: &str,
    url: &str,
    body: Option<&impl Serialize>,
) -> Result<Option<T>, String> {
    match fetch_text(method, url, body).await? {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text).map(Some).map_err(|e| format!("unexpected answer: {e}")),
    }
}

/// `GET url` as text (e.g. a CSV export); empty for 204.
pub async fn get_text(url: &str) -> Result<String, String> {
    Ok(fetch_text("GET", url, None::<&()>).await?.unwrap_or_default())
}
