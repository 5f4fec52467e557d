//! What the scheduler last published about its queues, for the admin's `GET /api/status`: how
//! deep the outbox is, how old its oldest pending delivery, and per channel which endpoints are
//! down, since when, and the last delivery error. Published with the queue metrics (every
//! second), so it is at most that old.

use std::collections::BTreeMap;
use std::sync::Mutex;

use c2c_core::{Channel, Millis};

/// The outbox as the scheduler last saw it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// When it was taken; `None` before the scheduler's first look.
    pub at: Option<Millis>,
    /// Deliveries pending (scheduled or retrying).
    pub depth: usize,
    /// When the oldest pending delivery was committed.
    pub oldest_created_at: Option<Millis>,
    /// Per channel, for channels with something pending, down or failed.
    pub channels: BTreeMap<Channel, ChannelSnapshot>,
}

/// One channel's deliveries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChannelSnapshot {
    /// Deliveries pending on this channel.
    pub depth: usize,
    /// Its endpoints that are down (deliveries to them failing and retried).
    pub endpoints_down: usize,
    /// When the first of those went down.
    pub down_since: Option<Millis>,
    /// When the last endpoint that was down came back (the channel fully up since then).
    pub recovered_at: Option<Millis>,
    /// The last failed delivery attempt on this channel, and when.
    pub last_error: Option<(String, Millis)>,
}

/// The snapshot, shared between the scheduler (writer) and the HTTP handlers (readers).
#[derive(Debug, Default)]
pub struct Published(Mutex<Snapshot>);

impl Published {
    pub fn get(&self) -> Snapshot {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(super) fn set(&self, snapshot: Snapshot) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = snapshot;
    }
}
