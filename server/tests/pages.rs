//! The dashboard's routes as a browser's first request sees them (server-rendered HTML):
//! each page at its own path, old `?page=` links redirected there with the view kept, and
//! unknown paths answered 404 with an HTML page linking home (JSON under `/api/`).

mod support;

use support::Server;

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

async fn get(base: &str, path: &str) -> (u16, Option<String>, String) {
    let resp = client().get(format!("{base}{path}")).send().await.expect("request");
    let status = resp.status().as_u16();
    let location = resp.headers().get("location").map(|v| v.to_str().expect("ascii location").to_string());
    (status, location, resp.text().await.expect("body"))
}

#[tokio::test]
async fn every_page_has_its_path_old_links_redirect_and_unknown_paths_are_404() {
    let server = Server::start_api_only(&["--demo", "--history", "0"]).await;
    let base = &server.base_url;

    // Each page renders its own controls at its own path, with the view from the query.
    for (path, marker) in [
        ("/", "data-testid=\"chart-spread\""),
        ("/backtest", "data-testid=\"backtest-equity\""),
        ("/upload", "data-testid=\"upload-file\""),
        ("/screener", "data-testid=\"heatmap\""),
    ] {
        let (status, _, body) = get(base, &format!("{path}?x=ETHUSDT&y=BTCUSDT&window=90")).await;
        assert_eq!(status, 200, "{path}");
        assert!(body.contains(marker), "{path} lacks {marker}");
        assert!(!body.contains("data-testid=\"not-found\""), "{path} rendered as not found");
        // The navigation links are real paths carrying the view, never `?page=`.
        assert!(body.contains("href=\"/upload?x=ETHUSDT&amp;y=BTCUSDT"), "{path}: nav links keep the view");
        assert!(!body.contains("page="), "{path} still links with ?page=");
    }
    let (_, _, live) = get(base, "/?x=ETHUSDT&y=BTCUSDT&window=90").await;
    assert!(live.contains("value=\"90\"") || live.contains(">90<"), "window from the query is rendered");

    // The first version's links land on the same page, with the rest of the view kept.
    let (status, location, _) = get(base, "/?page=upload&x=SOLUSDT&window=80").await;
    assert_eq!(status, 308);
    assert_eq!(location.as_deref(), Some("/upload?x=SOLUSDT&window=80"));
    let (status, location, _) = get(base, "/?page=screener").await;
    assert_eq!((status, location.as_deref()), (308, Some("/screener")));

    // Unknown paths: 404 with a real page that links home.
    for path in ["/nope", "/upload/extra", "/live", "/index.html"] {
        let (status, _, body) = get(base, path).await;
        assert_eq!(status, 404, "{path}");
        assert!(body.contains("<!DOCTYPE html>") || body.contains("<!doctype html>"), "{path}: an HTML page");
        assert!(body.contains("data-testid=\"not-found\""), "{path}: the not-found page");
        assert!(body.contains("data-testid=\"not-found-home\""), "{path}: a link home");
    }
    let resp = client().get(format!("{base}/api/nope")).send().await.expect("request");
    assert_eq!(resp.status().as_u16(), 404);
    let body: serde_json::Value = resp.json().await.expect("a JSON error under /api/");
    assert_eq!(body["error"]["kind"], "not_found");
    assert!(body["error"]["message"].as_str().expect("message").contains("/api/nope"));
    // A non-GET to an unknown path is a plain 404, not a rendered page.
    let resp = client().post(format!("{base}/nope")).send().await.expect("request");
    assert_eq!(resp.status().as_u16(), 404);
}
