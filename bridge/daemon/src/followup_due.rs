//! The follow-up loop's timers in memory: the earliest stored timers by due time, at most a
//! fixed number ([`HELD`]), so the loop's memory does not grow with what is stored.
//!
//! A city system that threads every notification separately opens a conversation per message,
//! and each conversation owes a reply: a timer. Holding every timer would grow the daemon by
//! about 150 bytes per open conversation (tens of MiB at a few hundred thousand); holding the
//! earliest few thousand costs the same whatever is stored. The rest stay in the store.
//!
//! The invariant: every stored timer due before [`DueTimers::horizon`] is held (a few held ones
//! may be due exactly at it). A timer set at or after the horizon is left in the store; when
//! holding too many, the latest held one is let go and the horizon comes down to its due time.
//! When nothing held is left to hand over and the horizon is not [`Millis::MAX`], the loop reads
//! the store again ([`DueTimers::read`]), keeping the earliest ones. A read costs a scan of the
//! timers; it happens once per [`HELD`] timers acted on at most.

use std::collections::{BTreeSet, HashMap};

use c2c_core::{Millis, Store, StoreError, TimerKey};

/// Timers held in memory at most, by default (a timer held costs about 150 bytes).
pub const HELD: usize = 8_192;

/// The earliest stored timers, by due time.
#[derive(Debug)]
pub struct DueTimers {
    pub(crate) by_time: BTreeSet<(Millis, TimerKey)>,
    pub(crate) of: HashMap<TimerKey, Millis>,
    /// Every stored timer due before this is held; [`Millis::MAX`]: every stored timer is.
    horizon: Millis,
    /// Held at most.
    capacity: usize,
    /// Timers stored: counted at the last read, then one more per timer set that was not held
    /// (a held one set again is moved; one beyond the horizon set again counts twice until the
    /// next read) and one fewer per timer done.
    stored: usize,
}

impl DueTimers {
    /// None held yet, holding at most `capacity` (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            by_time: BTreeSet::new(),
            of: HashMap::new(),
            horizon: Millis::MAX,
            capacity: capacity.max(1),
            stored: 0,
        }
    }

    /// The earliest of the stored timers, at most `capacity`.
    pub fn read(store: &dyn Store, capacity: usize) -> Result<Self, StoreError> {
        let mut due = Self::new(capacity);
        let mut stored = 0;
        store.each_timer(&mut |t| {
            stored += 1;
            due.hold(t.key, t.due);
        })?;
        due.stored = stored;
        Ok(due)
    }

    /// How many are stored (see the field's note: an estimate between reads).
    pub fn stored(&self) -> usize {
        self.stored
    }

    /// How many are held in memory.
    pub fn held(&self) -> usize {
        self.of.len()
    }

    /// Every stored timer due before this is held ([`Millis::MAX`]: every stored timer is).
    pub fn horizon(&self) -> Millis {
        self.horizon
    }

    /// Held at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// What a durable commit changed.
    pub fn apply(&mut self, changes: crate::followup::TimerChanges) {
        for t in changes.set {
            self.set(t.key, t.due);
        }
        for k in &changes.done {
            self.remove(k);
        }
    }

    /// Whether timers may be stored that are not held: the store must be read again once
    /// the held ones are acted on.
    pub fn partial(&self) -> bool {
        self.horizon != Millis::MAX
    }

    /// A timer written (new or moved).
    pub fn set(&mut self, key: TimerKey, due: Millis) {
        if !self.drop_held(&key) {
            self.stored += 1;
        }
        self.hold(key, due);
    }

    /// A timer done (deleted from the store).
    pub fn remove(&mut self, key: &TimerKey) {
        self.drop_held(key);
        self.stored = self.stored.saturating_sub(1);
    }

    /// Moves a held timer in memory only (its stored due time unchanged): a retry later.
    pub fn postpone(&mut self, key: TimerKey, due: Millis) {
        if self.drop_held(&key) {
            self.hold(key, due);
        }
    }

    fn drop_held(&mut self, key: &TimerKey) -> bool {
        match self.of.remove(key) {
            Some(old) => {
                self.by_time.remove(&(old, key.clone()));
                true
            }
            None => false,
        }
    }

    /// Hold `key` if it is due before the horizon; let the latest go when holding too many.
    fn hold(&mut self, key: TimerKey, due: Millis) {
        if due >= self.horizon {
            return;
        }
        self.of.insert(key.clone(), due);
        self.by_time.insert((due, key));
        if self.of.len() > self.capacity
            && let Some((latest, key)) = self.by_time.pop_last()
        {
            self.of.remove(&key);
            self.horizon = latest;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> TimerKey {
        TimerKey(format!("reply/c{n}/leeds"))
    }

    fn held(d: &DueTimers) -> Vec<Millis> {
        d.by_time.iter().map(|(t, _)| *t).collect()
    }

    #[test]
    fn holds_the_earliest_and_lowers_the_horizon_to_what_it_lets_go() {
        let mut d = DueTimers::new(3);
        for (n, t) in [(1, 50), (2, 10), (3, 40), (4, 30), (5, 20)] {
            d.set(key(n), t);
        }
        assert_eq!(held(&d), [10, 20, 30]);
        assert_eq!(d.horizon(), 40);
        assert_eq!(d.stored(), 5);
        // Later than the horizon: left in the store.
        d.set(key(6), 45);
        assert_eq!(held(&d), [10, 20, 30]);
        // Earlier: held, and the latest held one goes.
        d.set(key(7), 5);
        assert_eq!(held(&d), [5, 10, 20]);
        assert_eq!(d.horizon(), 30);
        // A held timer moved beyond the horizon is let go; one done is forgotten.
        d.set(key(2), 100);
        d.remove(&key(7));
        assert_eq!(held(&d), [20]);
        assert_eq!(d.stored(), 6);
        assert!(d.partial());
    }

    #[test]
    fn a_postponed_timer_stays_held_only_within_the_horizon() {
        let mut d = DueTimers::new(2);
        d.set(key(1), 10);
        d.set(key(2), 20);
        d.set(key(3), 30);
        assert_eq!(d.horizon(), 30);
        d.postpone(key(1), 15);
        assert_eq!(held(&d), [15, 20]);
        d.postpone(key(1), 35);
        assert_eq!(held(&d), [20], "its stored due time is earlier: the next read finds it");
        d.postpone(key(9), 1);
        assert_eq!(held(&d), [20], "not held: nothing to move");
    }

    #[test]
    fn unbounded_while_everything_fits() {
        let mut d = DueTimers::new(4);
        for n in 0..4 {
            d.set(key(n), Millis::from(n));
        }
        assert!(!d.partial());
        assert_eq!(d.held(), 4);
    }
}
