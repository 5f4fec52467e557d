//! Keeping the next start fast: every second, the start of the pending scan
//! (`meta/outbox_low`) is moved past the outbox entries delivered or failed for good since
//! (`Store::advance_outbox_low`), a few thousand at a time on a blocking thread. Without it the
//! mark moves only at start-up, and the first start after a million messages relayed reads a
//! million entries before it serves (BENCHMARKS.md). The store never moves it past an entry
//! still pending there, so a crash at any point loses nothing: at worst the next start reads a
//! little more.

use std::sync::Arc;
use std::time::Duration;

use c2c_core::{Shutdown, Store};

/// How often the mark is moved.
const EVERY: Duration = Duration::from_secs(1);
/// Entries read per step (a step runs on a blocking thread and takes a few milliseconds).
const STEP: usize = 4096;

/// Move the mark every [`EVERY`] until `stop`.
pub async fn run(store: Arc<dyn Store>, stop: Shutdown) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stop.cancelled() => return,
        }
        loop {
            let s = store.clone();
            match tokio::task::spawn_blocking(move || s.advance_outbox_low(STEP)).await {
                Ok(Ok(true)) if !stop.is_cancelled() => continue,
                Ok(Ok(_)) => break,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "could not move the start of the pending scan; the next start reads more");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the pending-scan mark task failed");
                    break;
                }
            }
        }
    }
}
