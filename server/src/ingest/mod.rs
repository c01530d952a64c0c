//! Ingestion from Binance USDⓈ-M futures: the WebSocket wire format ([`binance`]), the
//! REST wire format ([`binance_rest`]), the gap-filling REST client ([`backfill`]) and the
//! connection loop ([`client`]) that turns frames into validated, gapless, deduplicated
//! [`crate::market::Trade`]s.

pub mod backfill;
pub mod binance;
pub mod binance_rest;
pub mod client;
