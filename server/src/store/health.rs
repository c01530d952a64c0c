//! The database's health in the status bar: the feed status browsers get, with
//! [`FeedStatus::storage_error`] set while the store cannot write ([`Store::storage_error`]),
//! e.g. on a full disk, where the feed itself may still look live. The same task probes free
//! space every second ([`Store::probe_space`]): it pauses and resumes writes, and restarts the
//! server in place when a failed write left the database unwritable and space is back.

use std::time::Duration;

use app::protocol::FeedStatus;
use tokio::sync::watch;

use super::Store;

/// How often the store's write state and free space are probed (with a flush).
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// `status` with the store's write error folded in, updated when either changes.
pub fn status_with_storage(mut status: watch::Receiver<FeedStatus>, store: Store) -> watch::Receiver<FeedStatus> {
    let joined = |status: &watch::Receiver<FeedStatus>, store: &Store| FeedStatus {
        storage_error: store.storage_error(),
        ..status.borrow().clone()
    };
    let (tx, rx) = watch::channel(joined(&status, &store));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        loop {
            tokio::select! {
                changed = status.changed() => if changed.is_err() { return },
                // A flush probes the disk even when nothing else writes.
                _ = tick.tick() => {
                    let _ = store.flush().await;
                    let probe = store.clone();
                    let reopen = tokio::task::spawn_blocking(move || probe.probe_space()).await.unwrap_or(false);
                    if reopen {
                        let err = super::space::restart_in_place();
                        tracing::error!(%err, "cannot restart in place; restart pairdesk to reopen the database");
                    }
                }
                () = tx.closed() => return,
            }
            let next = joined(&status, &store);
            tx.send_if_modified(|current| {
                let changed = *current != next;
                *current = next;
                changed
            });
        }
    });
    rx
}
