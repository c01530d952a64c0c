//! The request guard: the one layer every request passes before a handler sees it.
//!
//! pairdesk has no accounts; what keeps a web page on another origin from driving it is this
//! layer (probed in issue 11):
//! * **Host** must name the bound address (`127.0.0.1:PORT`, `localhost:PORT`, `[::1]:PORT`,
//!   the bound IP, or a host given with `--allow-host`). A DNS-rebinding page reaches the
//!   server under its own name and is refused here.
//! * **Origin**, on every request that changes something (any method but GET/HEAD/OPTIONS)
//!   and on the `/ws` upgrade, must be absent (curl, the CLI) or the page's own origin
//!   (`http://` + an allowed Host). Browsers always send it on cross-origin requests.
//! * **Bodies** must say `application/json` or `multipart/form-data`: a `text/plain` POST, the
//!   one a page can send cross-site without a preflight, is refused (415).
//!
//! Refusals are JSON `{"error": {"kind", "message"}}`, like every API error.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// The hosts (`name:port`, lower case) requests may be addressed to.
#[derive(Clone, Debug)]
pub struct RequestGuard {
    allowed: Arc<Vec<String>>,
}

impl RequestGuard {
    /// The loopback names at the bound port, the bound IP itself, and `extra` (`--allow-host`
    /// values: `name` means `name` at the bound port, `name:port` that port only).
    pub fn new(bound: SocketAddr, extra: &[String]) -> RequestGuard {
        let port = bound.port();
        let mut allowed = vec![format!("127.0.0.1:{port}"), format!("localhost:{port}"), format!("[::1]:{port}")];
        if !bound.ip().is_unspecified() {
            allowed.push(host_port(bound.ip(), port));
        }
        for host in extra {
            let host = host.trim().to_ascii_lowercase();
            if host.is_empty() {
                continue;
            }
            if split_port(&host).is_some() {
                allowed.push(host);
            } else {
                allowed.push(format!("{host}:{port}"));
            }
        }
        allowed.dedup();
        RequestGuard { allowed: Arc::new(allowed) }
    }

    /// The normalised `name:port` of a Host header value, if it is one of ours.
    fn allowed_host(&self, host: &str) -> Option<String> {
        let host = host.trim().to_ascii_lowercase();
        // No port in the Host header means the scheme's default.
        let host = if split_port(&host).is_some() { host } else { format!("{host}:80") };
        self.allowed.contains(&host).then_some(host)
    }

    /// Why this request is refused, if it is.
    fn check(&self, method: &Method, path: &str, headers: &HeaderMap) -> Result<(), Refusal> {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .ok_or(Refusal::Host("the request has no Host header".into()))?;
        let host = self.allowed_host(host).ok_or_else(|| {
            Refusal::Host(format!(
                "Host `{}` is not this server (allowed: {}; add names with --allow-host)",
                shorten(host),
                self.allowed.join(", ")
            ))
        })?;
        let changes_state = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        if changes_state || path == "/ws" {
            if let Some(origin) = headers.get(header::ORIGIN) {
                let origin = origin.to_str().unwrap_or("").trim().to_ascii_lowercase();
                let same = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
                let same = same.map(|o| o.trim_end_matches('/'));
                let same = same.and_then(|o| self.allowed_host(o)).is_some_and(|o| o == host);
                if !same {
                    return Err(Refusal::Origin(format!(
                        "cross-origin request from `{}` refused: only pages served by this server may do this",
                        shorten(&origin)
                    )));
                }
            }
        }
        if changes_state && has_body(headers) {
            let kind = headers.get(header::CONTENT_TYPE).and_then(|c| c.to_str().ok()).unwrap_or("");
            let essence = kind.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            if essence != "application/json" && essence != "multipart/form-data" {
                return Err(Refusal::ContentType(format!(
                    "a request body must be application/json or multipart/form-data, not `{}`",
                    shorten(if kind.is_empty() { "(none)" } else { kind })
                )));
            }
        }
        Ok(())
    }
}

/// Why the guard refused a request.
#[derive(Debug)]
enum Refusal {
    Host(String),
    Origin(String),
    ContentType(String),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, kind, message) = match self {
            Refusal::Host(m) => (StatusCode::FORBIDDEN, "forbidden_host", m),
            Refusal::Origin(m) => (StatusCode::FORBIDDEN, "forbidden_origin", m),
            Refusal::ContentType(m) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", m),
        };
        (status, Json(json!({ "error": { "kind": kind, "message": message } }))).into_response()
    }
}

/// The middleware (`axum::middleware::from_fn_with_state`).
pub async fn guard(State(guard): State<RequestGuard>, request: Request, next: Next) -> Response {
    match guard.check(request.method(), request.uri().path(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refusal) => {
            tracing::debug!(?refusal, path = request.uri().path(), "request refused by the guard");
            let mut response = refusal.into_response();
            // The body is never read: hyper closes such a connection after answering, so say
            // so, or a client reusing it races the close (reqwest then sees IncompleteMessage).
            if has_body(request.headers()) {
                response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
            }
            response
        }
    }
}

fn has_body(headers: &HeaderMap) -> bool {
    let length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    length.is_some_and(|n| n > 0) || headers.contains_key(header::TRANSFER_ENCODING)
}

/// `host:port` as a Host header writes it (IPv6 in brackets).
fn host_port(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

/// The port of `host:port` / `[v6]:port`, if there is one.
fn split_port(host: &str) -> Option<u16> {
    let (name, port) = host.rsplit_once(':')?;
    if name.starts_with('[') && !name.ends_with(']') {
        return None; // a bare IPv6 literal's own colons
    }
    port.parse().ok()
}

/// Refusal messages quote headers; a hostile one is not echoed whole.
fn shorten(text: &str) -> String {
    text.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(name.clone(), HeaderValue::from_str(value).expect("header"));
        }
        h
    }

    fn guard() -> RequestGuard {
        RequestGuard::new("127.0.0.1:3000".parse().expect("addr"), &["desk.lan".into(), "box:8443".into()])
    }

    #[test]
    fn hosts_must_name_the_bound_address() {
        let g = guard();
        for ok in ["127.0.0.1:3000", "localhost:3000", "LOCALHOST:3000", "[::1]:3000", "desk.lan:3000", "box:8443"] {
            assert!(g.check(&Method::GET, "/", &headers(&[(header::HOST, ok)])).is_ok(), "{ok}");
        }
        for bad in ["evil.example", "evil.example:3000", "localhost:3001", "127.0.0.1", "box:3000", "[::1]"] {
            let refused = g.check(&Method::GET, "/", &headers(&[(header::HOST, bad)]));
            assert!(matches!(refused, Err(Refusal::Host(_))), "{bad}");
        }
        assert!(matches!(g.check(&Method::GET, "/", &HeaderMap::new()), Err(Refusal::Host(_))));
    }

    #[test]
    fn state_changes_and_the_socket_need_our_own_origin() {
        let g = guard();
        let host = (header::HOST, "localhost:3000");
        let json = (header::CONTENT_TYPE, "application/json");
        let len = (header::CONTENT_LENGTH, "2");
        assert!(g.check(&Method::POST, "/api/alerts", &headers(&[host.clone(), json.clone(), len.clone()])).is_ok());
        let same = (header::ORIGIN, "http://localhost:3000");
        assert!(g.check(&Method::POST, "/api/alerts", &headers(&[host.clone(), same.clone()])).is_ok());
        assert!(g.check(&Method::GET, "/ws", &headers(&[host.clone(), same])).is_ok());
        for origin in ["http://evil.example", "null", "http://127.0.0.1:3000", "http://localhost:3001", "file://"] {
            let o = (header::ORIGIN, origin);
            for (method, path) in
                [(Method::POST, "/api/analyze"), (Method::DELETE, "/api/symbols/X"), (Method::GET, "/ws")]
            {
                let refused = g.check(&method, path, &headers(&[host.clone(), o.clone()]));
                assert!(matches!(refused, Err(Refusal::Origin(_))), "{origin} {method} {path}");
            }
            // Reading a page is fine from anywhere that may name us.
            assert!(g.check(&Method::GET, "/", &headers(&[host.clone(), o])).is_ok());
        }
    }

    #[test]
    fn bodies_must_be_json_or_multipart() {
        let g = guard();
        let host = (header::HOST, "127.0.0.1:3000");
        let len = (header::CONTENT_LENGTH, "10");
        for ok in ["application/json", "application/json; charset=utf-8", "multipart/form-data; boundary=x"] {
            let h = headers(&[host.clone(), len.clone(), (header::CONTENT_TYPE, ok)]);
            assert!(g.check(&Method::POST, "/api/analyze", &h).is_ok(), "{ok}");
        }
        for bad in ["text/plain", "application/x-www-form-urlencoded", "text/plain; a=application/json"] {
            let h = headers(&[host.clone(), len.clone(), (header::CONTENT_TYPE, bad)]);
            assert!(matches!(g.check(&Method::POST, "/api/analyze", &h), Err(Refusal::ContentType(_))), "{bad}");
        }
        let untyped = headers(&[host.clone(), len]);
        assert!(matches!(g.check(&Method::POST, "/api/analyze", &untyped), Err(Refusal::ContentType(_))));
        // A DELETE has no body to type.
        assert!(g.check(&Method::DELETE, "/api/datasets/1", &headers(&[host])).is_ok());
    }
}
