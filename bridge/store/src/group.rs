//! Group commit: many writers, few fsyncs.
//!
//! Each writer applies its batch (cheap, in memory), takes a ticket, and waits until a flush
//! that started after its write has finished. Only one flush runs at a time; a writer that gets
//! the flush lock after someone else's flush already covered its ticket returns without
//! flushing. Under load, one fsync covers every batch written while the previous one ran.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Mutex;

/// Coordinates flushes of one sled database.
#[derive(Debug, Default)]
pub struct GroupCommit {
    /// Tickets handed out: one per write that must become durable.
    written: AtomicU64,
    /// Every ticket up to this one is durable.
    flushed: AtomicU64,
    /// Held while a flush runs.
    flushing: Mutex<()>,
    /// How many fsyncs were issued (for tests and metrics).
    flushes: AtomicU64,
}

impl GroupCommit {
    /// Call right after a write was applied; returns the write's ticket.
    pub fn ticket(&self) -> u64 {
        self.written.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Wait until the write behind `ticket` is durable, running `flush` if no one else has.
    pub async fn wait_durable<F, Fut, E>(&self, ticket: u64, flush: F) -> Result<(), E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(), E>>,
    {
        if self.flushed.load(Ordering::SeqCst) >= ticket {
            return Ok(());
        }
        let _guard = self.flushing.lock().await;
        if self.flushed.load(Ordering::SeqCst) >= ticket {
            return Ok(());
        }
        // Everything written before this load is covered by the flush below.
        let target = self.written.load(Ordering::SeqCst);
        flush().await?;
        self.flushes.fetch_add(1, Ordering::Relaxed);
        self.flushed.fetch_max(target, Ordering::SeqCst);
        Ok(())
    }

    /// Number of flushes issued so far.
    pub fn flushes(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writers_share_flushes() {
        let gc = Arc::new(GroupCommit::default());
        let (gate_tx, gate_rx) = tokio::sync::watch::channel(false);
        let mut tasks = Vec::new();
        // The first flush blocks until every writer has its ticket, so they must all be
        // covered by at most two flushes (the blocked one and the next).
        for _ in 0..32 {
            let gc = gc.clone();
            let mut gate = gate_rx.clone();
            tasks.push(tokio::spawn(async move {
                let t = gc.ticket();
                gc.wait_durable(t, || async move {
                    let _ = gate.wait_for(|open| *open).await;
                    Ok::<(), ()>(())
                })
                .await
            }));
        }
        while gc.written.load(Ordering::SeqCst) < 32 {
            tokio::task::yield_now().await;
        }
        gate_tx.send(true).unwrap();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert!(gc.flushes() <= 2, "{} flushes for 32 writers", gc.flushes());
        assert_eq!(gc.flushed.load(Ordering::SeqCst), 32);
    }

    #[tokio::test]
    async fn a_failed_flush_is_reported_and_retried_by_the_next_writer() {
        let gc = GroupCommit::default();
        let t = gc.ticket();
        assert_eq!(
            gc.wait_durable(t, || async { Err::<(), _>("disk full") })
                .await,
            Err("disk full")
        );
        assert_eq!(
            gc.wait_durable(t, || async { Ok::<(), &str>(()) }).await,
            Ok(())
        );
        assert_eq!(gc.flushes(), 1);
    }
}
