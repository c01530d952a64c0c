//! Funding-settlement history from REST: pages `GET /fapi/v1/fundingRate?symbol=&startTime=
//! &endTime=&limit=1000` forward in time from the first missing settlement, honouring
//! 429/418 like the aggTrades backfill ([`super::backfill::retrying`]).
//!
//! Settlement times are taken from the answers, never assumed: intervals differ per symbol
//! (8 h and 4 h both exist, and they change), so "what is missing" is "everything after the
//! newest stored settlement", and paging is by `startTime = last fundingTime + 1`.

use super::backfill::{retrying, RestClient, RestError};
use super::binance_funding::{FundingRateRow, FUNDING_MAX_LIMIT};
use crate::market::FundingSettlement;

/// What one funding fetch brought.
#[derive(Debug, Default, PartialEq)]
pub struct FundingFetch {
    /// Valid settlements in time order.
    pub settlements: Vec<FundingSettlement>,
    /// Rows refused (non-finite rate, missing mark price, another symbol, out of order).
    pub invalid: u64,
}

impl RestClient {
    /// One page of `symbol`'s settlements in `[start_ms, end_ms]`, oldest first.
    pub async fn funding_rates(
        &self,
        symbol: &str,
        start_ms: i64,
        end_ms: i64,
        limit: usize,
    ) -> Result<Vec<FundingRateRow>, RestError> {
        let query = [
            ("symbol", symbol.to_ascii_uppercase()),
            ("startTime", start_ms.to_string()),
            ("endTime", end_ms.to_string()),
            ("limit", limit.to_string()),
        ];
        self.get_json("/fapi/v1/fundingRate", &query).await
    }
}

/// Every settlement of `symbol` in `[from_ms, to_ms]`.
pub async fn fetch_funding(
    client: &RestClient,
    symbol: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<FundingFetch, RestError> {
    let symbol = symbol.to_ascii_uppercase();
    let mut out = FundingFetch::default();
    let mut start = from_ms;
    while start <= to_ms {
        let page = retrying(&symbol, || client.funding_rates(&symbol, start, to_ms, FUNDING_MAX_LIMIT)).await?;
        let full = page.len() >= FUNDING_MAX_LIMIT;
        let mut newest = None;
        for row in page {
            let t = row.funding_time;
            if t < start || t > to_ms || row.symbol.to_ascii_uppercase() != symbol {
                out.invalid += 1;
                continue;
            }
            newest = Some(t);
            match row.into_settlement() {
                Ok(settlement) => out.settlements.push(settlement),
                Err(err) => {
                    out.invalid += 1;
                    tracing::warn!(%symbol, t, %err, "funding row refused");
                }
            }
        }
        // A page that made no progress ends the walk (the exchange has nothing newer).
        match newest {
            Some(t) if full => start = t.saturating_add(1),
            _ => break,
        }
    }
    Ok(out)
}
