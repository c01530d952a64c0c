//! `/docs/methodology`: the methodology (docs/methodology.md, compiled in) as an HTML page,
//! so every ⓘ link in the dashboard works offline and its anchors land on the right section.

use std::sync::OnceLock;

use axum::response::Html;

const METHODOLOGY_MD: &str = include_str!("../../../docs/methodology.md");

fn render() -> String {
    let mut options = pulldown_cmark::Options::empty();
    options.insert(pulldown_cmark::Options::ENABLE_TABLES);
    let parser = pulldown_cmark::Parser::new_ext(METHODOLOGY_MD, options);
    let mut body = String::with_capacity(METHODOLOGY_MD.len() * 2);
    pulldown_cmark::html::push_html(&mut body, parser);
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>pairdesk methodology</title>\
         <link rel=\"stylesheet\" href=\"/pkg/main.css\"></head><body><main class=\"doc\">\
         <p><a href=\"/\">← back to the dashboard</a></p>{body}</main></body></html>"
    )
}

pub async fn methodology() -> Html<&'static str> {
    static PAGE: OnceLock<String> = OnceLock::new();
    Html(PAGE.get_or_init(render).as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_anchors_the_ui_links_to() {
        let page = render();
        for anchor in [
            "ols",
            "zscore",
            "adf",
            "coint",
            "rolling-correlation",
            "price-statistics",
            "backtest",
            "alerts",
            "uploads",
            "prices",
            "p-value-tape",
            "johansen",
            "basket-backtest",
        ] {
            assert!(page.contains(&format!("id=\"{anchor}\"")), "missing anchor {anchor}");
        }
        assert!(page.contains("<table>"), "tables are rendered");
    }
}
