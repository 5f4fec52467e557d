//! How fast the retention sweep hands the committer its pieces: small enough that a post
//! arriving meanwhile waits for one piece of about [`TARGET`] at most, and with a rest after each
//! piece as long as the piece took, so retention takes at most about half of the committer's
//! time while posts keep coming.
//!
//! A piece's cost depends on the store more than on its size (a conversation's deliveries may be
//! spread over the whole outbox, each read a page the cache does not hold), so the budget of
//! messages per piece follows what pieces took, from a small start: halved after one that took
//! longer than [`TARGET`], doubled (up to the configured piece) after one that used at least half
//! of its budget in under a third of it (a quick piece that had little to do says nothing about
//! a full one). Pieces of id-map entries and dedupe answers are rested after, not sized.
//! Only where pieces end changes, never what is forgotten.

use std::time::Duration;

/// How long one piece may hold the committer, its flush included.
pub const TARGET: Duration = Duration::from_millis(15);
/// The smallest budget of messages per piece.
const MIN: usize = 32;
/// The longest rest after a piece (a piece that waited for a slow disk is not rested for long).
const MAX_REST: Duration = Duration::from_millis(250);

/// The sweep's budget of messages per piece, as pieces went.
#[derive(Debug)]
pub struct Pace {
    budget: usize,
    max: usize,
}

impl Pace {
    /// Up to `max` messages per piece, starting from the floor (the first piece of a sweep
    /// must not be the one that holds posts up).
    pub fn new(max: u64) -> Self {
        let max = usize::try_from(max).unwrap_or(usize::MAX).max(1);
        Pace { budget: MIN.min(max), max }
    }

    /// Messages the next piece may read.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// A piece that deleted `used` messages took `took`, from being sent to its answer: adjust
    /// the budget; how long to rest.
    pub fn took(&mut self, took: Duration, used: u64) -> Duration {
        if took > TARGET {
            self.budget = (self.budget / 2).max(MIN.min(self.max));
        } else if took < TARGET / 3 && used.saturating_mul(2) >= self.budget as u64 {
            self.budget = self.budget.saturating_mul(2).min(self.max);
        }
        Self::rest(took)
    }

    /// How long to rest after a piece that took `took` (and is not sized by the budget).
    pub fn rest(took: Duration) -> Duration {
        took.min(MAX_REST)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_halves_after_slow_pieces_and_grows_back_after_quick_ones() {
        let mut p = Pace::new(1024);
        assert_eq!(p.budget(), MIN, "from the floor");
        for _ in 0..10 {
            p.took(Duration::from_millis(1), 1024);
        }
        assert_eq!(p.budget(), 1024, "never above the configured piece");
        let slow = TARGET * 3;
        assert_eq!(p.took(slow, 1024), slow, "rest as long as the piece took");
        assert_eq!(p.budget(), 512);
        for _ in 0..10 {
            p.took(slow, 0);
        }
        assert_eq!(p.budget(), MIN, "never below the floor");
        p.took(TARGET / 2, 1024);
        assert_eq!(p.budget(), MIN, "in between: kept");
        p.took(Duration::from_millis(1), 3);
        assert_eq!(p.budget(), MIN, "quick with little to do: kept");
        for _ in 0..10 {
            p.took(Duration::from_millis(1), 1024);
        }
        assert_eq!(p.budget(), 1024, "never above the configured piece");
        assert_eq!(p.took(Duration::from_secs(5), 0), MAX_REST);
        let mut small = Pace::new(4);
        small.took(slow, 4);
        assert_eq!(small.budget(), 4, "a configured piece under the floor stays as it is");
    }
}
