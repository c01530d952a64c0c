//! What cluster-mode processes write to NATS, and the checks on reading it back: everything
//! on these subjects and buckets may come from anyone who can reach the NATS server, so each
//! decoder validates and the callers count and skip what it refuses.
//!
//! * A trade on `pairdesk.trades.<SYMBOL>`: one small JSON object,
//!   `{"v":1,"s":"BTCUSDT","a":123,"t":1700000000000,"p":42000.5,"q":0.01,"m":false}`
//!   (symbol, aggregate id, trade time in ms, price, quantity, buyer is maker). Prices and
//!   quantities are JSON numbers written with Rust's shortest round-trip form, so a decoded
//!   trade equals the published one bit for bit.
//! * An alert rule in the `PAIRDESK_RULES` bucket (key = rule id):
//!   `{"v":1,"from_ms":1700000000000,"rule":{…}}`, the rule as `/api/alerts` takes it and
//!   the time it takes effect (a second after it was saved).
//! * A symbol in the `PAIRDESK_SYMBOLS` bucket (key = the upper-case symbol): `{"v":1,"added_ms":…}`.
//! * A fired or cleared alert on `pairdesk.alerts.<rule id>`: `{"v":1,"event":{…}}`, the event
//!   as the page and the webhook get it.
//! * The last webhook sent per rule, in the `PAIRDESK_ALERT_STATE` bucket: see [`Delivered`].
//! * An ingest heartbeat on `pairdesk.heartbeat.<ingest id>`: see [`Heartbeat`].
//! * A best bid/ask on `pairdesk.book.<SYMBOL>`:
//!   `{"v":1,"s":"BTCUSDT","u":400900217,"t":1700000000000,"b":42000.1,"B":3.2,"a":42000.2,"A":1.5}`
//!   (symbol, the exchange's book update id, transaction time, bid, bid quantity, ask, ask
//!   quantity), validated as the exchange's bookTicker is (positive, bid below ask).
//! * A mark price on `pairdesk.mark.<SYMBOL>`:
//!   `{"v":1,"s":"BTCUSDT","t":…,"p":42001.0,"i":41999.5,"r":0.0001,"n":1700006400000}`
//!   (symbol, event time, mark, index, estimated funding rate, next funding time).

use serde::{Deserialize, Serialize};

use app::alerts::{AlertEvent, AlertRule};

use crate::market::{MarkPrice, Quote, Trade};

/// The version this server writes and reads.
pub const VERSION: u32 = 1;

/// Why a message on a trade subject was not a trade.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WireError {
    #[error("not a pairdesk trade: {0}")]
    Malformed(String),
    #[error("unknown wire version {0}")]
    Version(u32),
    #[error("invalid trade values: {0}")]
    Invalid(String),
    #[error("subject {subject} does not carry {symbol}")]
    Subject { subject: String, symbol: String },
}

#[derive(Serialize, Deserialize)]
struct WireTrade<'a> {
    v: u32,
    s: std::borrow::Cow<'a, str>,
    a: u64,
    t: i64,
    p: f64,
    q: f64,
    m: bool,
}

/// The payload of `trade`.
pub fn encode(trade: &Trade) -> Vec<u8> {
    let wire = WireTrade {
        v: VERSION,
        s: std::borrow::Cow::Borrowed(&trade.symbol),
        a: trade.agg_id,
        t: trade.t_ms,
        p: trade.price,
        q: trade.qty,
        m: trade.buyer_is_maker,
    };
    // Serialising a struct of plain fields cannot fail.
    serde_json::to_vec(&wire).unwrap_or_default()
}

/// The trade in `payload`, validated like the exchange's (upper-case symbol, finite positive
/// price and quantity).
pub fn decode(payload: &[u8]) -> Result<Trade, WireError> {
    let wire: WireTrade = serde_json::from_slice(payload).map_err(|e| WireError::Malformed(e.to_string()))?;
    if wire.v != VERSION {
        return Err(WireError::Version(wire.v));
    }
    let symbol = checked_symbol(wire.s.into_owned())?;
    if !(wire.p.is_finite() && wire.p > 0.0 && wire.q.is_finite() && wire.q > 0.0) {
        return Err(WireError::Invalid(format!("price {} quantity {}", wire.p, wire.q)));
    }
    Ok(Trade { symbol, agg_id: wire.a, t_ms: wire.t, price: wire.p, qty: wire.q, buyer_is_maker: wire.m })
}

/// An upper-case exchange symbol (letters and digits, at most 32), as every subject names one.
fn checked_symbol(symbol: String) -> Result<String, WireError> {
    if symbol.is_empty() || symbol.len() > 32 || !symbol.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
        return Err(WireError::Invalid(format!("symbol {symbol:?}")));
    }
    Ok(symbol)
}

/// [`decode`], and the trade's symbol must be the one its subject names.
pub fn decode_on(subject: &str, payload: &[u8]) -> Result<Trade, WireError> {
    let trade = decode(payload)?;
    if subject != super::trade_subject(&trade.symbol) {
        return Err(WireError::Subject { subject: subject.to_string(), symbol: trade.symbol });
    }
    Ok(trade)
}

#[derive(Serialize, Deserialize)]
struct WireQuote<'a> {
    v: u32,
    s: std::borrow::Cow<'a, str>,
    u: u64,
    t: i64,
    b: f64,
    #[serde(rename = "B")]
    bq: f64,
    a: f64,
    #[serde(rename = "A")]
    aq: f64,
}

/// The payload of a best bid/ask.
pub fn encode_quote(quote: &Quote) -> Vec<u8> {
    let wire = WireQuote {
        v: VERSION,
        s: std::borrow::Cow::Borrowed(&quote.symbol),
        u: quote.update_id,
        t: quote.t_ms,
        b: quote.bid,
        bq: quote.bid_qty,
        a: quote.ask,
        aq: quote.ask_qty,
    };
    serde_json::to_vec(&wire).unwrap_or_default()
}

/// The best bid/ask on `subject`, validated as the exchange's bookTicker is: a symbol the
/// subject names, finite positive prices and quantities, bid below ask.
pub fn decode_quote(subject: &str, payload: &[u8]) -> Result<Quote, WireError> {
    let wire: WireQuote = serde_json::from_slice(payload).map_err(|e| WireError::Malformed(e.to_string()))?;
    if wire.v != VERSION {
        return Err(WireError::Version(wire.v));
    }
    let symbol = on_subject(subject, super::BOOK_SUBJECT_PREFIX, checked_symbol(wire.s.into_owned())?)?;
    let positive = [wire.b, wire.bq, wire.a, wire.aq].iter().all(|v| v.is_finite() && *v > 0.0);
    if !positive || wire.b >= wire.a {
        return Err(WireError::Invalid(format!("bid {} × {} ask {} × {}", wire.b, wire.bq, wire.a, wire.aq)));
    }
    Ok(Quote { symbol, update_id: wire.u, t_ms: wire.t, bid: wire.b, bid_qty: wire.bq, ask: wire.a, ask_qty: wire.aq })
}

#[derive(Serialize, Deserialize)]
struct WireMark<'a> {
    v: u32,
    s: std::borrow::Cow<'a, str>,
    t: i64,
    p: f64,
    i: f64,
    r: f64,
    n: i64,
}

/// The payload of a mark price.
pub fn encode_mark(mark: &MarkPrice) -> Vec<u8> {
    let wire = WireMark {
        v: VERSION,
        s: std::borrow::Cow::Borrowed(&mark.symbol),
        t: mark.t_ms,
        p: mark.mark,
        i: mark.index,
        r: mark.funding_rate,
        n: mark.next_funding_ms,
    };
    serde_json::to_vec(&wire).unwrap_or_default()
}

/// The mark price on `subject`, validated as the exchange's markPrice is: a symbol the
/// subject names, positive mark and index, a finite funding rate.
pub fn decode_mark(subject: &str, payload: &[u8]) -> Result<MarkPrice, WireError> {
    let wire: WireMark = serde_json::from_slice(payload).map_err(|e| WireError::Malformed(e.to_string()))?;
    if wire.v != VERSION {
        return Err(WireError::Version(wire.v));
    }
    let symbol = on_subject(subject, super::MARK_SUBJECT_PREFIX, checked_symbol(wire.s.into_owned())?)?;
    if !(wire.p.is_finite() && wire.p > 0.0 && wire.i.is_finite() && wire.i > 0.0 && wire.r.is_finite()) {
        return Err(WireError::Invalid(format!("mark {} index {} rate {}", wire.p, wire.i, wire.r)));
    }
    Ok(MarkPrice { symbol, t_ms: wire.t, mark: wire.p, index: wire.i, funding_rate: wire.r, next_funding_ms: wire.n })
}

/// `symbol`, if `subject` is `prefix` + it.
fn on_subject(subject: &str, prefix: &str, symbol: String) -> Result<String, WireError> {
    if subject.strip_prefix(prefix) == Some(symbol.as_str()) {
        Ok(symbol)
    } else {
        Err(WireError::Subject { subject: subject.to_string(), symbol })
    }
}

/// Why a stored rule, symbol, alert event or heartbeat was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EntryError {
    #[error("malformed: {0}")]
    Malformed(String),
    #[error("unknown wire version {0}")]
    Version(u32),
    #[error("invalid: {0}")]
    Invalid(String),
}

fn parse<'a, T: Deserialize<'a>>(payload: &'a [u8]) -> Result<T, EntryError> {
    serde_json::from_slice(payload).map_err(|e| EntryError::Malformed(e.to_string()))
}

fn check_version(v: u32) -> Result<(), EntryError> {
    if v == VERSION {
        Ok(())
    } else {
        Err(EntryError::Version(v))
    }
}

#[derive(Serialize, Deserialize)]
struct WireRule {
    v: u32,
    from_ms: i64,
    rule: AlertRule,
}

/// A rule as the `PAIRDESK_RULES` bucket holds it, with the time it takes effect: every
/// server evaluates it from the first bar starting at or after `from_ms`, so they all fire on
/// the same bars (and their copies of an event collapse into one by message id).
#[derive(Debug, Clone, PartialEq)]
pub struct SharedRule {
    pub rule: AlertRule,
    pub from_ms: i64,
}

/// The bucket value of `rule`.
pub fn encode_rule(rule: &SharedRule) -> Vec<u8> {
    let wire = WireRule { v: VERSION, from_ms: rule.from_ms, rule: rule.rule.clone() };
    serde_json::to_vec(&wire).unwrap_or_default()
}

/// The rule stored under `key`: its id must be the key, and it must pass the checks a rule
/// sent to `/api/alerts` passes (bounded windows, known interval, http(s) webhook); its
/// symbols are taken as known (the symbol set may change after the rule was saved).
pub fn decode_rule(key: &str, payload: &[u8]) -> Result<SharedRule, EntryError> {
    let wire: WireRule = parse(payload)?;
    check_version(wire.v)?;
    let rule = wire.rule;
    if rule.id != key {
        return Err(EntryError::Invalid(format!("rule id {:?} under key {key:?}", rule.id)));
    }
    rule.validate(&[rule.view.x.clone(), rule.view.y.clone()]).map_err(EntryError::Invalid)?;
    Ok(SharedRule { rule, from_ms: wire.from_ms })
}

#[derive(Serialize, Deserialize)]
struct WireSymbol {
    v: u32,
    added_ms: i64,
}

/// The bucket value of a symbol added at `added_ms`.
pub fn encode_symbol(added_ms: i64) -> Vec<u8> {
    serde_json::to_vec(&WireSymbol { v: VERSION, added_ms }).unwrap_or_default()
}

/// The symbol stored under `key` and when it was added (the key is the symbol; it must be a
/// valid, upper-case one).
pub fn decode_symbol(key: &str, payload: &[u8]) -> Result<(String, i64), EntryError> {
    let wire: WireSymbol = parse(payload)?;
    check_version(wire.v)?;
    match crate::symbols::normalise(key) {
        Ok(symbol) if symbol == key => Ok((symbol, wire.added_ms)),
        _ => Err(EntryError::Invalid(format!("symbol key {key:?}"))),
    }
}

#[derive(Serialize, Deserialize)]
struct WireAlert {
    v: u32,
    event: AlertEvent,
}

/// The payload of `event` on `pairdesk.alerts.<rule id>`.
pub fn encode_alert(event: &AlertEvent) -> Vec<u8> {
    serde_json::to_vec(&WireAlert { v: VERSION, event: event.clone() }).unwrap_or_default()
}

/// The event on `subject`, whose last token must be the event's rule id.
pub fn decode_alert(subject: &str, payload: &[u8]) -> Result<AlertEvent, EntryError> {
    let wire: WireAlert = parse(payload)?;
    check_version(wire.v)?;
    if subject != super::alert_subject(&wire.event.rule_id) {
        return Err(EntryError::Invalid(format!("subject {subject} does not carry rule {:?}", wire.event.rule_id)));
    }
    if !wire.event.value.is_finite() {
        return Err(EntryError::Invalid("value".into()));
    }
    Ok(wire.event)
}

#[derive(Serialize, Deserialize)]
struct WireDelivered {
    v: u32,
    from_ms: i64,
    kind: app::alerts::AlertEventKind,
    t_ms: i64,
}

/// The last webhook the cluster delivered for a rule (bucket `PAIRDESK_ALERT_STATE`, key = rule
/// id): `{"v":1,"from_ms":…,"kind":"fired","t_ms":…}` — the rule version (its `from_ms`), the
/// transition and its bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Delivered {
    pub from_ms: i64,
    pub kind: app::alerts::AlertEventKind,
    pub t_ms: i64,
}

pub fn encode_delivered(d: &Delivered) -> Vec<u8> {
    serde_json::to_vec(&WireDelivered { v: VERSION, from_ms: d.from_ms, kind: d.kind, t_ms: d.t_ms })
        .unwrap_or_default()
}

pub fn decode_delivered(payload: &[u8]) -> Result<Delivered, EntryError> {
    let wire: WireDelivered = parse(payload)?;
    check_version(wire.v)?;
    Ok(Delivered { from_ms: wire.from_ms, kind: wire.kind, t_ms: wire.t_ms })
}

/// What an ingest process says about itself every few seconds on
/// `pairdesk.heartbeat.<id>`:
/// `{"v":1,"id":"host-4242","t_ms":…,"symbols":["BTCUSDT"],"last_ids":{"BTCUSDT":123},
/// "exchange":"live","stored":10,"duplicates":2,"retried":0}` — the symbols it ingests, the
/// last aggregate id the stream acknowledged per symbol, its exchange connection's state and
/// its publish counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub v: u32,
    pub id: String,
    pub t_ms: i64,
    pub symbols: Vec<String>,
    pub last_ids: std::collections::BTreeMap<String, u64>,
    pub exchange: String,
    pub stored: u64,
    pub duplicates: u64,
    pub retried: u64,
}

/// Most symbols a heartbeat may list (a bound on what one message can make a server keep).
const MAX_HEARTBEAT_SYMBOLS: usize = 1_000;

pub fn encode_heartbeat(beat: &Heartbeat) -> Vec<u8> {
    serde_json::to_vec(beat).unwrap_or_default()
}

/// The heartbeat on `subject`, whose last token must be its id.
pub fn decode_heartbeat(subject: &str, payload: &[u8]) -> Result<Heartbeat, EntryError> {
    let beat: Heartbeat = parse(payload)?;
    check_version(beat.v)?;
    if subject != super::heartbeat_subject(&beat.id) || beat.id.len() > 64 {
        return Err(EntryError::Invalid(format!("heartbeat id {:?} on {subject}", beat.id)));
    }
    if beat.symbols.len() > MAX_HEARTBEAT_SYMBOLS || beat.last_ids.len() > MAX_HEARTBEAT_SYMBOLS {
        return Err(EntryError::Invalid("too many symbols".into()));
    }
    Ok(beat)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade() -> Trade {
        Trade {
            symbol: "BTCUSDT".into(),
            agg_id: 123_456_789,
            t_ms: 1_700_000_000_123,
            price: 42_000.1 + 1e-9,
            qty: 0.001_234_567_89,
            buyer_is_maker: true,
        }
    }

    #[test]
    fn quotes_and_marks_round_trip_and_bad_ones_are_refused() {
        let quote = Quote {
            symbol: "BTCUSDT".into(),
            update_id: 400_900_217,
            t_ms: 1_700_000_000_123,
            bid: 42_000.1,
            bid_qty: 3.2,
            ask: 42_000.2,
            ask_qty: 0.1 + 0.2,
        };
        let subject = "pairdesk.book.BTCUSDT";
        assert_eq!(decode_quote(subject, &encode_quote(&quote)), Ok(quote.clone()));
        assert!(matches!(decode_quote("pairdesk.book.ETHUSDT", &encode_quote(&quote)), Err(WireError::Subject { .. })));
        let crossed = Quote { bid: 42_000.2, ..quote.clone() };
        assert!(matches!(decode_quote(subject, &encode_quote(&crossed)), Err(WireError::Invalid(_))));
        let empty = Quote { ask_qty: 0.0, ..quote.clone() };
        assert!(matches!(decode_quote(subject, &encode_quote(&empty)), Err(WireError::Invalid(_))));
        assert!(matches!(decode_quote(subject, b"{\"v\":1}"), Err(WireError::Malformed(_))));
        assert!(matches!(decode_quote(subject, &encode(&trade())), Err(WireError::Malformed(_))));

        let mark = MarkPrice {
            symbol: "BTCUSDT".into(),
            t_ms: 1_700_000_000_000,
            mark: 42_001.0,
            index: 41_999.5,
            funding_rate: -0.000_125,
            next_funding_ms: 1_700_006_400_000,
        };
        let subject = "pairdesk.mark.BTCUSDT";
        assert_eq!(decode_mark(subject, &encode_mark(&mark)), Ok(mark.clone()));
        assert!(matches!(decode_mark("pairdesk.book.BTCUSDT", &encode_mark(&mark)), Err(WireError::Subject { .. })));
        let nan = MarkPrice { funding_rate: f64::NAN, ..mark.clone() };
        assert!(decode_mark(subject, &encode_mark(&nan)).is_err(), "NaN is written as null and refused");
        let lower = String::from_utf8(encode_mark(&mark)).unwrap().replace("BTCUSDT", "btcusdt");
        assert!(matches!(decode_mark("pairdesk.mark.btcusdt", lower.as_bytes()), Err(WireError::Invalid(_))));
    }

    #[test]
    fn round_trips_bit_for_bit() {
        let t = trade();
        let back = decode(&encode(&t)).expect("decode");
        assert_eq!(back, t);
        assert_eq!(back.price.to_bits(), t.price.to_bits());
        assert_eq!(decode_on("pairdesk.trades.BTCUSDT", &encode(&t)), Ok(t));
    }

    #[test]
    fn rejects_foreign_and_malformed_messages() {
        let bad: [&[u8]; 7] = [
            b"",
            b"hello",
            br#"{"v":2,"s":"BTCUSDT","a":1,"t":1,"p":1.0,"q":1.0,"m":false}"#,
            br#"{"v":1,"s":"btcusdt","a":1,"t":1,"p":1.0,"q":1.0,"m":false}"#,
            br#"{"v":1,"s":"BTCUSDT","a":1,"t":1,"p":0.0,"q":1.0,"m":false}"#,
            br#"{"v":1,"s":"BTCUSDT","a":-1,"t":1,"p":1.0,"q":1.0,"m":false}"#,
            br#"{"v":1,"s":"BTCUSDT","a":1,"t":1,"p":1.0,"m":false}"#,
        ];
        for payload in bad {
            assert!(decode(payload).is_err(), "{}", String::from_utf8_lossy(payload));
        }
        assert!(matches!(decode_on("pairdesk.trades.ETHUSDT", &encode(&trade())), Err(WireError::Subject { .. })));
    }

    fn rule() -> SharedRule {
        let pair = ("BTCUSDT".to_string(), "ETHUSDT".to_string());
        let rule = AlertRule { id: "r1".into(), ..crate::alerts::default_rule(&pair) };
        SharedRule { rule, from_ms: 1_700_000_000_000 }
    }

    #[test]
    fn rules_round_trip_and_bad_ones_are_refused() {
        let r = rule();
        assert_eq!(decode_rule("r1", &encode_rule(&r)), Ok(r.clone()));
        assert!(matches!(decode_rule("r2", &encode_rule(&r)), Err(EntryError::Invalid(_))), "id must be the key");
        let mut huge = r.clone();
        huge.rule.view.analytics.window = 1_000_000;
        assert!(matches!(decode_rule("r1", &encode_rule(&huge)), Err(EntryError::Invalid(_))), "bounded windows");
        let mut hook = r.clone();
        hook.rule.webhook = Some("file:///etc/passwd".into());
        assert!(matches!(decode_rule("r1", &encode_rule(&hook)), Err(EntryError::Invalid(_))));
        for bad in [&b""[..], b"{}", br#"{"v":2,"from_ms":0,"rule":{}}"#, b"[1,2]"] {
            assert!(decode_rule("r1", bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn symbols_alerts_and_heartbeats_are_checked() {
        assert_eq!(decode_symbol("SOLUSDT", &encode_symbol(5)), Ok(("SOLUSDT".into(), 5)));
        for (key, payload) in [
            ("solusdt", encode_symbol(5)),
            ("SOL.USDT", encode_symbol(5)),
            ("SOLUSDT", b"x".to_vec()),
            ("SOLUSDT", br#"{"v":9,"added_ms":1}"#.to_vec()),
        ] {
            assert!(decode_symbol(key, &payload).is_err(), "{key} {}", String::from_utf8_lossy(&payload));
        }
        let event = AlertEvent {
            rule_id: "r1".into(),
            rule_name: "n".into(),
            kind: app::alerts::AlertEventKind::Fired,
            metric: app::alerts::AlertMetric::Price,
            comparison: app::alerts::Comparison::Above,
            threshold: 1.0,
            value: 2.0,
            t_ms: 1000,
        };
        assert_eq!(decode_alert("pairdesk.alerts.r1", &encode_alert(&event)), Ok(event.clone()));
        assert!(decode_alert("pairdesk.alerts.r2", &encode_alert(&event)).is_err(), "subject names another rule");
        assert!(decode_alert("pairdesk.alerts.r1", b"{}").is_err());
        let beat = Heartbeat {
            v: VERSION,
            id: "host-1".into(),
            t_ms: 1,
            symbols: vec!["BTCUSDT".into()],
            last_ids: [("BTCUSDT".to_string(), 7)].into(),
            exchange: "live".into(),
            stored: 1,
            duplicates: 0,
            retried: 0,
        };
        assert_eq!(decode_heartbeat("pairdesk.heartbeat.host-1", &encode_heartbeat(&beat)), Ok(beat.clone()));
        assert!(decode_heartbeat("pairdesk.heartbeat.other", &encode_heartbeat(&beat)).is_err());
        let many = Heartbeat { symbols: vec!["X".into(); 1_001], ..beat };
        assert!(decode_heartbeat("pairdesk.heartbeat.host-1", &encode_heartbeat(&many)).is_err());
    }
}
