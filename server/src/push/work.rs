//! Where `/ws` computes: snapshots (store reads, view analytics, the p-value tape) and the
//! analytics a view feed pushes after each bar run on the blocking pool, never on the async
//! workers that answer every other request, and at most one a core at a time across all
//! sockets and feeds. Theil–Sen is O(n²) (≈16 ms a view), so without the bound a few hundred
//! sockets subscribing at once would start as many threads and leave the async workers a
//! sliver of the two cores; with it a flood queues here and `/healthz` stays fast.

use std::sync::OnceLock;

use tokio::sync::Semaphore;

/// Threads `/ws` work may occupy at once: the machine's cores (two here), at least two.
fn slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| Semaphore::new(slot_count()))
}

fn slot_count() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).max(2)
}

/// Runs `f` on the blocking pool once a slot is free; None only if the task panicked (the
/// caller then sends nothing, as for an empty result).
pub(super) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let permit = slots().acquire().await.ok()?;
    tokio::task::spawn_blocking(move || {
        let _slot = permit;
        f()
    })
    .await
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_than_the_slots_run_at_once() {
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let jobs = (0..16).map(|k| {
            let (running, most) = (running.clone(), most.clone());
            tokio::spawn(blocking(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(20));
                running.fetch_sub(1, Ordering::SeqCst);
                k
            }))
        });
        let done: Vec<usize> =
            futures_util::future::join_all(jobs).await.into_iter().map(|j| j.unwrap().unwrap()).collect();
        assert_eq!(done, (0..16).collect::<Vec<_>>());
        let most = most.load(Ordering::SeqCst);
        assert!(most >= 1 && most <= slot_count(), "{most} ran at once, {} slots", slot_count());
    }
}
