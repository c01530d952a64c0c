//! Tick retention: ticks older than a configured age are deleted in the background; bars
//! are kept (they are what long history views read).

use std::time::Duration;

use super::Store;
use crate::shutdown::Shutdown;

/// How often the retention sweep runs.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// Parses an age such as `7d`, `12h`, `30m`, `90s`; `0` (or `0d`…) means keep forever.
pub fn parse_age(text: &str) -> Result<Option<Duration>, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(None);
    }
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().map_err(|_| format!("`{text}` is not an age like 7d, 12h, 30m"))?;
    let secs = match unit {
        "d" => n.checked_mul(86_400),
        "h" => n.checked_mul(3_600),
        "m" => n.checked_mul(60),
        "s" | "" => Some(n),
        _ => None,
    }
    .ok_or_else(|| format!("`{text}` is not an age like 7d, 12h, 30m"))?;
    Ok((secs > 0).then(|| Duration::from_secs(secs)))
}

/// Deletes ticks older than `max_age` (by trade time) of every stored symbol, now and
/// then every [`SWEEP_INTERVAL`], until shutdown.
pub async fn run(store: Store, max_age: Duration, mut shutdown: Shutdown) {
    let mut tick = tokio::time::interval(SWEEP_INTERVAL);
    loop {
        tokio::select! {
            _ = tick.tick() => {},
            () = shutdown.wait() => return,
        }
        let cutoff = crate::market::now_ms() - max_age.as_millis() as i64;
        let sweep = store.clone();
        let result = tokio::task::spawn_blocking(move || -> Result<usize, super::StoreError> {
            let mut deleted = 0;
            for symbol in sweep.last_ids()?.keys() {
                deleted += sweep.delete_ticks_before(symbol, cutoff)?;
            }
            Ok(deleted)
        })
        .await;
        match result {
            Ok(Ok(0)) => {}
            Ok(Ok(deleted)) => tracing::info!(deleted, "retention: deleted old ticks"),
            Ok(Err(err)) => tracing::error!(%err, "retention sweep failed"),
            Err(err) => tracing::error!(%err, "retention sweep panicked"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ages() {
        assert_eq!(parse_age("7d"), Ok(Some(Duration::from_secs(7 * 86_400))));
        assert_eq!(parse_age("12h"), Ok(Some(Duration::from_secs(12 * 3_600))));
        assert_eq!(parse_age("90"), Ok(Some(Duration::from_secs(90))));
        assert_eq!(parse_age("0"), Ok(None));
        assert!(parse_age("7w").is_err());
        assert!(parse_age("d").is_err());
        assert!(parse_age("99999999999999999999d").is_err());
    }
}
