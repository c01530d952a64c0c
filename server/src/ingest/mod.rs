//! Ingestion from Binance USDⓈ-M futures: the WebSocket wire format ([`binance`]), the
//! REST wire format ([`binance_rest`]), the gap-filling REST client ([`backfill`]) and the
//! connection loop ([`client`]) that turns frames into validated, gapless, deduplicated
//! [`crate::market::Trade`]s; beside it the side streams ([`stream`]): best bid/ask
//! ([`binance_book`], on `/public`) and mark price ([`binance_funding`], on `/market`), and
//! the gapless funding-settlement history from REST ([`funding`]); and the 1m klines
//! history fetched on first start ([`history`]).

pub mod backfill;
pub mod backoff;
pub mod binance;
pub mod binance_book;
pub mod binance_funding;
pub mod binance_rest;
pub mod client;
pub mod funding;
pub mod history;
pub mod stream;
