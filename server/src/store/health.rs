//! The database's health in the status bar: the feed status browsers get, with
//! [`FeedStatus::storage_error`] set while the store cannot write ([`Store::write_error`]),
//! e.g. on a full disk, where the feed itself may still look live.

use std::time::Duration;

use app::protocol::FeedStatus;
use tokio::sync::watch;

use super::Store;

/// How often the store's write state is probed (with a flush).
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// `status` with the store's write error folded in, updated when either changes.
pub fn status_with_storage(mut status: watch::Receiver<FeedStatus>, store: Store) -> watch::Receiver<FeedStatus> {
    let joined = |status: &watch::Receiver<FeedStatus>, store: &Store| FeedStatus {
        storage_error: store.write_error(),
        ..status.borrow().clone()
    };
    let (tx, rx) = watch::channel(joined(&status, &store));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        loop {
            tokio::select! {
                changed = status.changed() => if changed.is_err() { return },
                // A flush probes the disk even when nothing else writes.
                _ = tick.tick() => { let _ = store.flush().await; }
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
