//! `GET /api/screener?datasets=…` against a real `pairdesk serve` (no exchange): the series of
//! uploaded data sets, inner-joined on their common bar times, ranked with the same numbers as
//! statsmodels' `coint` in the golden case; bad lists, unknown data sets and too many series
//! answer 422.

mod support;

use serde_json::Value;
use support::{golden_dir, upload_form};

/// `pairdesk serve --demo` (its fake exchange is in-process) without a bundle.
struct Api {
    server: support::Server,
    client: reqwest::Client,
}

impl Api {
    async fn start() -> Api {
        Api {
            server: support::Server::start_api_only(&["--demo", "--history", "0"]).await,
            client: reqwest::Client::new(),
        }
    }

    async fn upload(&self, (content_type, body): (String, Vec<u8>)) -> u64 {
        let resp = self
            .client
            .post(format!("{}/api/datasets", self.server.base_url))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("upload");
        assert_eq!(resp.status().as_u16(), 201);
        let body: Value = resp.json().await.expect("json");
        body["datasets"][0]["id"].as_u64().expect("id")
    }

    async fn screener(&self, query: &str) -> (u16, Value) {
        let resp =
            self.client.get(format!("{}/api/screener?{query}", self.server.base_url)).send().await.expect("screener");
        (resp.status().as_u16(), resp.json().await.expect("json"))
    }
}

/// A generic CSV (`timestamp,symbol,…`) of `symbols` random-walk series of `rows` minutes.
fn generic_csv(symbols: usize, rows: usize) -> Vec<u8> {
    let mut csv = String::from("timestamp,symbol,open,high,low,close,volume\n");
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut price = vec![100.0f64; symbols];
    for t in 0..rows {
        for (s, p) in price.iter_mut().enumerate() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *p *= 1.0 + ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.01;
            csv.push_str(&format!("{},S{s:02},{p},{p},{p},{p},1\n", 1_700_000_000_000i64 + t as i64 * 60_000));
        }
    }
    csv.into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_screener_ranks_the_series_of_uploaded_data_sets() {
    let api = Api::start().await;
    let btc = api.upload(upload_form("binance_um_BTCUSDT_1m_header.csv")).await;
    let eth = api.upload(upload_form("binance_um_ETHUSDT_1m_noheader.csv")).await;
    let (status, report) = api.screener(&format!("datasets={btc},{eth}")).await;
    assert_eq!(status, 200, "{report}");
    let names: Vec<&str> =
        report["symbols"].as_array().expect("symbols").iter().map(|s| s["symbol"].as_str().unwrap()).collect();
    assert_eq!(names, [format!("{btc}:BTCUSDT"), format!("{eth}:ETHUSDT")], "Live's series keys");
    assert_eq!(report["bars"], 1000, "both files cover the same 1,000 minutes");
    assert_eq!(report["datasets"], serde_json::json!([btc, eth]));
    // One pair, y = ETH on x = BTC: statsmodels' coint(eth, btc) of the golden case.
    let golden: Value = serde_json::from_str(
        &std::fs::read_to_string(golden_dir().join("fixture_binance_btc_eth_1m.json")).expect("golden case"),
    )
    .expect("golden json");
    let pairs = report["pairs"].as_array().expect("pairs");
    assert_eq!(pairs.len(), 1);
    let pair = &pairs[0];
    assert_eq!((pair["x"].as_u64(), pair["y"].as_u64()), (Some(0), Some(1)));
    let close = |got: &Value, want: &Value, tol: f64, what: &str| {
        let (got, want) = (got.as_f64().expect(what), want.as_f64().expect(what));
        assert!((got - want).abs() <= tol * want.abs().max(1e-300), "{what}: {got} vs statsmodels {want}");
    };
    close(&pair["pvalue"], &golden["expected"]["coint"]["pvalue"], 1e-6, "EG p-value");
    close(&pair["beta"], &golden["expected"]["ols"]["beta"], 1e-9, "β");
    close(&pair["half_life"], &golden["expected"]["half_life"]["half_life"], 1e-9, "half-life");
    // One pair: its BH q-value is its p-value.
    close(&pair["qvalue"], &pair["pvalue"], 1e-12, "q of one test");
    assert!(pair["kpss_p_bound"].is_string() && pair["hurst"].is_f64(), "{pair}");

    // A data set of many series: every pair of its series, on the same times.
    let many = api.upload(support::multipart_file("many.csv", &generic_csv(5, 60))).await;
    let (status, report) = api.screener(&format!("datasets={many}&bars=40")).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["pairs"].as_array().map(Vec::len), Some(10), "5 series → 10 pairs");
    assert_eq!(report["bars"], 40, "the latest 40 common bars");
    // Data sets without common times: screened, with the reason nothing could be ranked.
    let (status, report) = api.screener(&format!("datasets={btc},{many}")).await;
    assert_eq!(status, 200, "{report}");
    assert!(report["note"].as_str().is_some_and(|n| n.contains("common bars")), "{report}");

    // Refusals, each saying why.
    let too_many = api.upload(support::multipart_file("wide.csv", &generic_csv(51, 31))).await;
    for (query, why) in [
        ("datasets=".to_string(), "at least one"),
        ("datasets=1,abc".to_string(), "'abc'"),
        ("datasets=987654".to_string(), "no data set 987654"),
        (format!("datasets={btc}"), "two or more"),
        (format!("datasets={too_many}"), "more than 50 series"),
    ] {
        let (status, body) = api.screener(&query).await;
        assert_eq!(status, 422, "{query}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(why), "{query}: {message}");
    }
}
