//! Events the bridge could not take yet, per room, in the order they were written.
//!
//! When one event of a room must wait (its file could not be fetched yet, the store is not
//! available, the gap before it could not be fetched), it and every later event of that room
//! are held here and taken up again at each turn of the sync loop, oldest first; other rooms
//! flow on. The sync itself moves forward (matrix-sdk answers a batch it has read before with
//! nothing, so fetching a batch again is no way to get its events back); the *saved* sync token
//! does not move while anything is held, so after a crash the batch is fetched again from the
//! store's token and replays are recognised by event id.

use std::collections::{BTreeMap, VecDeque};

use matrix_sdk::deserialized_responses::TimelineEvent;
use matrix_sdk::ruma::OwnedRoomId;

/// One thing to take up, in a room's order.
#[derive(Debug)]
pub enum Item {
    /// The events a limited sync left out, between the sync token `since` and `prev_batch`
    /// (see [`crate::gap`]).
    Gap {
        prev_batch: String,
        since: String,
    },
    Event(Box<TimelineEvent>),
}

#[derive(Debug, Default)]
pub struct Held {
    rooms: BTreeMap<OwnedRoomId, VecDeque<Item>>,
}

impl Held {
    /// Whether `room` has anything waiting (its new events must then wait behind it).
    pub fn holds(&self, room: &OwnedRoomId) -> bool {
        self.rooms.contains_key(room)
    }

    /// Add `items` behind whatever `room` has waiting.
    pub fn append(&mut self, room: &OwnedRoomId, items: VecDeque<Item>) {
        if !items.is_empty() {
            self.rooms.entry(room.clone()).or_default().extend(items);
        }
    }

    /// Everything waiting, to take up; give back what still waits with [`Held::append`].
    pub fn take(&mut self) -> Vec<(OwnedRoomId, VecDeque<Item>)> {
        std::mem::take(&mut self.rooms).into_iter().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.rooms.is_empty()
    }

    /// How many items are waiting, in all rooms.
    pub fn len(&self) -> usize {
        self.rooms.values().map(VecDeque::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gap(n: &str) -> Item {
        Item::Gap { prev_batch: n.into(), since: "s".into() }
    }

    fn name(i: &Item) -> &str {
        match i {
            Item::Gap { prev_batch, .. } => prev_batch,
            Item::Event(_) => "event",
        }
    }

    #[test]
    fn a_room_keeps_its_order_and_other_rooms_are_apart() {
        let (a, b): (OwnedRoomId, OwnedRoomId) = ("!a:x".try_into().unwrap(), "!b:x".try_into().unwrap());
        let mut held = Held::default();
        assert!(held.is_empty());
        held.append(&a, VecDeque::from([gap("1"), gap("2")]));
        held.append(&a, VecDeque::from([gap("3")]));
        held.append(&b, VecDeque::new());
        assert!(held.holds(&a) && !held.holds(&b));
        assert_eq!(held.len(), 3);
        let mut taken = held.take();
        assert!(held.is_empty());
        let (room, items) = taken.pop().unwrap();
        assert_eq!(room, a);
        assert_eq!(items.iter().map(name).collect::<Vec<_>>(), ["1", "2", "3"]);
    }
}
