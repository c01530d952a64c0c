//! The fake exchange's best bid/ask: `<symbol>@bookTicker` on the routed `/public` path only
//! (`/public/stream?streams=…` and `/public/ws/<stream>`), as Binance serves it since 2026.
//!
//! Quotes are derived from the trade history, so they sit around the simulated price: for
//! every trade, [`FakeConfig::book_updates_per_trade`] updates (update id `u = agg_id · m +
//! j`, increasing per symbol) with a quoted spread that varies over time (a slow sine around
//! one basis point per symbol). Frames are written here with their own encoder, field by
//! field as Binance documents them: this module must not use the ingest's wire types, so a
//! field typo cannot be written once and pass on both ends.
//!
//! Faults: `book_bad_prob` sends, before a real update, a crossed quote, a zero bid, a stale
//! (older `u`) update or garbage; `public_disconnect_every` drops `/public` connections
//! only; `public_down` refuses them all (the `/market` streams are unaffected).

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::SinkExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tokio::time::Instant;

use super::ws::{trades_after, StreamsQuery};
use super::FakeExchange;
use crate::market::Trade;

/// One quote the fake publishes.
#[derive(Clone, Debug, PartialEq)]
pub struct FakeQuote {
    pub symbol: String,
    pub update_id: u64,
    pub t_ms: i64,
    pub bid: f64,
    pub bid_qty: f64,
    pub ask: f64,
    pub ask_qty: f64,
}

/// The quoted spread of `symbol_index` at `t_ms`, in bps of the mid: 0.4–1.6 bps, period 2 min.
pub fn spread_bps(symbol_index: usize, t_ms: i64) -> f64 {
    let phase = symbol_index as f64 * 1.3;
    1.0 + 0.6 * (t_ms as f64 / 120_000.0 * std::f64::consts::TAU + phase).sin()
}

/// The `m` quotes that follow `trade` (its price is the mid).
pub fn quotes_for(trade: &Trade, symbol_index: usize, m: u64) -> impl Iterator<Item = FakeQuote> + '_ {
    let half = spread_bps(symbol_index, trade.t_ms) / 2.0 / 10_000.0;
    (0..m.max(1)).map(move |j| FakeQuote {
        symbol: trade.symbol.clone(),
        update_id: trade.agg_id * m.max(1) + j,
        t_ms: trade.t_ms,
        bid: trade.price * (1.0 - half),
        bid_qty: trade.qty * (1.0 + j as f64),
        ask: trade.price * (1.0 + half),
        ask_qty: trade.qty * (2.0 + j as f64),
    })
}

/// The bookTicker event exactly as Binance writes it (decimal strings, one-letter keys).
pub fn book_ticker_json(q: &FakeQuote) -> serde_json::Value {
    json!({
        "e": "bookTicker",
        "u": q.update_id,
        "E": q.t_ms + 1,
        "T": q.t_ms,
        "s": q.symbol,
        "b": format!("{:.8}", q.bid),
        "B": format!("{:.3}", q.bid_qty),
        "a": format!("{:.8}", q.ask),
        "A": format!("{:.3}", q.ask_qty),
    })
}

fn frame(q: &FakeQuote, combined: bool) -> String {
    let data = book_ticker_json(q);
    if combined {
        json!({"stream": format!("{}@bookTicker", q.symbol.to_ascii_lowercase()), "data": data}).to_string()
    } else {
        data.to_string()
    }
}

/// A bad book frame to send before `next` (kinds chosen uniformly).
fn bad_frame(rng: &mut StdRng, next: &FakeQuote) -> String {
    match rng.random_range(0..5u8) {
        0 => frame(&FakeQuote { bid: next.ask * 1.001, ..next.clone() }, true),
        1 => frame(&FakeQuote { bid: 0.0, ..next.clone() }, true),
        // Stale: an update id already sent (or older), as after a routing hiccup.
        2 => frame(
            &FakeQuote { update_id: next.update_id.saturating_sub(1 + rng.random_range(0..3)), ..next.clone() },
            true,
        ),
        3 => "{\"stream\":\"x@bookTicker\",\"data\":{\"e\":\"bookTicker\",\"u\":".to_string(),
        _ => frame(&FakeQuote { ask: f64::NAN, ..next.clone() }, true).replace("NaN", "nan"),
    }
}

pub async fn combined_stream(
    upgrade: WebSocketUpgrade,
    Query(query): Query<StreamsQuery>,
    State(exchange): State<FakeExchange>,
) -> Response {
    let streams = query.streams.unwrap_or_default();
    accept(upgrade, exchange, &streams, true)
}

pub async fn raw_stream(
    upgrade: WebSocketUpgrade,
    Path(stream): Path<String>,
    State(exchange): State<FakeExchange>,
) -> Response {
    accept(upgrade, exchange, &stream, false)
}

fn accept(upgrade: WebSocketUpgrade, exchange: FakeExchange, streams: &str, combined: bool) -> Response {
    if exchange.config().faults.public_down {
        return (StatusCode::SERVICE_UNAVAILABLE, "public routes down (fault)").into_response();
    }
    let wanted: Vec<String> = streams.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect();
    upgrade.on_upgrade(move |socket| serve_client(socket, exchange, wanted, combined))
}

/// Which symbols (upper case) a set of `/public` streams asks quotes for; other streams
/// (aggTrade, markPrice) get nothing here, as on Binance's routed paths.
fn book_symbols(streams: &[String]) -> Vec<String> {
    streams.iter().filter_map(|s| s.strip_suffix("@bookTicker")).map(|s| s.to_ascii_uppercase()).collect()
}

async fn serve_client(mut socket: WebSocket, exchange: FakeExchange, mut streams: Vec<String>, combined: bool) {
    let history = exchange.history();
    let mut cursor = history.end_seq();
    let connection = exchange.client_connected();
    let config = exchange.config().clone();
    let faults = config.faults.clone();
    let mut rng = StdRng::seed_from_u64(config.seed ^ 0xB00C ^ connection.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let far = Instant::now() + Duration::from_secs(86_400 * 365);
    let drop_at = faults.public_disconnect_every.map_or(far, |d| Instant::now() + d);
    let mut symbols = book_symbols(&streams);
    let m = config.book_updates_per_trade.max(1);
    loop {
        tokio::select! {
            biased;
            incoming = socket.recv() => {
                let text = match incoming {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                };
                let call: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                let params: Vec<String> = call["params"].as_array().into_iter().flatten()
                    .filter_map(|p| p.as_str().map(str::to_string)).collect();
                let reply = match call["method"].as_str() {
                    Some("SUBSCRIBE") => {
                        streams.extend(params);
                        json!({"result": null, "id": call["id"]})
                    }
                    Some("UNSUBSCRIBE") => {
                        streams.retain(|s| !params.contains(s));
                        json!({"result": null, "id": call["id"]})
                    }
                    _ => json!({"error": {"code": 2, "msg": "Invalid request"}, "id": call["id"]}),
                };
                symbols = book_symbols(&streams);
                if socket.send(Message::Text(reply.to_string().into())).await.is_err() { return; }
            }
            () = tokio::time::sleep_until(drop_at) => return,
            () = trades_after(history, cursor) => {
                let Ok(batch) = history.read_from(cursor, 512) else { return };
                cursor += batch.len() as u64;
                for trade in &batch {
                    let Some(index) = symbols.iter().position(|s| *s == trade.symbol) else { continue };
                    let symbol_index = config.symbols.iter().position(|s| s.symbol == trade.symbol).unwrap_or(index);
                    for quote in quotes_for(trade, symbol_index, m) {
                        if faults.book_bad_prob > 0.0 && rng.random::<f64>() < faults.book_bad_prob {
                            let bad = bad_frame(&mut rng, &quote);
                            if socket.feed(Message::Text(bad.into())).await.is_err() { return; }
                        }
                        if socket.feed(Message::Text(frame(&quote, combined).into())).await.is_err() { return; }
                    }
                }
                if socket.flush().await.is_err() { return; }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_sit_around_the_trade_with_increasing_ids_and_a_varying_spread() {
        let trade =
            Trade { symbol: "BTCUSDT".into(), agg_id: 5, t_ms: 30_000, price: 100.0, qty: 1.0, buyer_is_maker: false };
        let quotes: Vec<FakeQuote> = quotes_for(&trade, 0, 3).collect();
        assert_eq!(quotes.iter().map(|q| q.update_id).collect::<Vec<_>>(), [15, 16, 17]);
        for q in &quotes {
            assert!(q.bid < 100.0 && q.ask > 100.0 && q.ask - q.bid > 0.0);
            let bps = (q.ask - q.bid) / 100.0 * 10_000.0;
            assert!((bps - spread_bps(0, 30_000)).abs() < 1e-9);
        }
        let spreads: Vec<f64> = (0..12).map(|i| spread_bps(0, i * 10_000)).collect();
        assert!(spreads.iter().cloned().fold(f64::MIN, f64::max) > 1.4);
        assert!(spreads.iter().cloned().fold(f64::MAX, f64::min) < 0.6);
        let text = frame(&quotes[0], true);
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v["stream"], "btcusdt@bookTicker");
        for key in ["e", "u", "E", "T", "s", "b", "B", "a", "A"] {
            assert!(!v["data"][key].is_null(), "{key} missing in {text}");
        }
        assert!(v["data"]["b"].is_string() && v["data"]["u"].is_u64());
    }
}
