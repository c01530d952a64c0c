//! Ingestion from Binance USDⓈ-M futures: the wire format ([`binance`]) and the
//! connection loop ([`client`]) that turns frames into validated [`crate::market::Trade`]s.

pub mod binance;
pub mod client;
