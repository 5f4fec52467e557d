//! Encrypted events whose keys have not arrived yet, by event id.
//!
//! While any is waiting, the bridge's sync token is not saved, so after a crash the same events
//! come back: each is kept once, with the time it was first seen, and one given up on (after
//! [`KEY_WAIT`]) is not taken up again until the token moves on.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use matrix_sdk::ruma::OwnedRoomId;
use matrix_sdk::ruma::events::AnySyncTimelineEvent;
use matrix_sdk::ruma::serde::Raw;

/// How long the bridge waits for the keys of an encrypted message before giving up on it.
pub const KEY_WAIT: Duration = Duration::from_secs(120);

/// One encrypted event waiting for its keys.
#[derive(Debug)]
pub struct Waiting {
    pub room: OwnedRoomId,
    pub event: Raw<AnySyncTimelineEvent>,
    pub since: Instant,
}

#[derive(Debug, Default)]
pub struct PendingKeys {
    waiting: HashMap<String, Waiting>,
    given_up: HashSet<String>,
}

impl PendingKeys {
    /// Keep `event` until its keys arrive, unless it is already kept or was given up on.
    pub fn add(&mut self, room: &OwnedRoomId, event: Raw<AnySyncTimelineEvent>) {
        let id = event_id(&event);
        if self.given_up.contains(&id) {
            return;
        }
        self.waiting.entry(id).or_insert_with(|| Waiting { room: room.clone(), event, since: Instant::now() });
    }

    /// Everything waiting, to try again; hand back what still waits with [`PendingKeys::keep`].
    pub fn take(&mut self) -> Vec<Waiting> {
        self.waiting.drain().map(|(_, w)| w).collect()
    }

    pub fn keep(&mut self, w: Waiting) {
        self.waiting.insert(event_id(&w.event), w);
    }

    /// `w` waited [`KEY_WAIT`] in vain.
    pub fn give_up(&mut self, w: &Waiting) {
        self.given_up.insert(event_id(&w.event));
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// The sync token moved past every event seen so far: none of them comes back.
    pub fn token_saved(&mut self) {
        self.given_up.clear();
    }
}

fn event_id(event: &Raw<AnySyncTimelineEvent>) -> String {
    event.get_field::<String>("event_id").ok().flatten().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str) -> Raw<AnySyncTimelineEvent> {
        let json = serde_json::json!({
            "type": "m.room.encrypted", "event_id": id, "sender": "@a:x", "origin_server_ts": 1,
            "content": {"algorithm": "m.megolm.v1.aes-sha2"}
        });
        Raw::from_json(serde_json::value::to_raw_value(&json).unwrap())
    }

    #[test]
    fn an_event_seen_again_is_kept_once_with_its_first_time() {
        let room: OwnedRoomId = "!r:x".try_into().unwrap();
        let mut p = PendingKeys::default();
        p.add(&room, event("$1"));
        let first = p.take().pop().unwrap().since;
        p.keep(Waiting { room: room.clone(), event: event("$1"), since: first });
        p.add(&room, event("$1"));
        p.add(&room, event("$2"));
        let mut all = p.take();
        all.sort_by_key(|w| event_id(&w.event));
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].since, first, "the first sighting counts toward KEY_WAIT");
    }

    #[test]
    fn an_event_given_up_on_is_not_taken_up_again_until_the_token_moves() {
        let room: OwnedRoomId = "!r:x".try_into().unwrap();
        let mut p = PendingKeys::default();
        p.add(&room, event("$1"));
        let w = p.take().pop().unwrap();
        p.give_up(&w);
        p.add(&room, event("$1"));
        assert!(p.is_empty());
        p.token_saved();
        p.add(&room, event("$1"));
        assert!(!p.is_empty());
    }
}
