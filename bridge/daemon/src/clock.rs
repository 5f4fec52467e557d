//! The daemon's one clock: what time it is, and waiting until a time.
//!
//! Everything that acts at a time (delivery retries and give-ups, follow-up reminders) reads
//! this clock, never the system time directly, so tests can run days of schedule in
//! milliseconds: [`Clock::manual`] starts at a time the test chooses and moves only when the
//! test sets it, waking whoever waits for a time that has now come. In production it is
//! [`Clock::wall`], the system's UTC time.
//!
//! Waits on the wall clock re-read it at least every [`WALL_RECHECK`], so a clock step (an NTP
//! correction, a suspended VM) delays an action by at most that much instead of by the step.

use std::sync::Arc;
use std::time::Duration;

use c2c_core::Millis;
use tokio::sync::watch;

/// The longest a wall-clock wait sleeps before reading the clock again.
pub const WALL_RECHECK: Duration = Duration::from_secs(30);

/// The time source of the daemon. Cheap to clone; clones share the time.
#[derive(Clone)]
pub struct Clock(Arc<Source>);

enum Source {
    Wall,
    /// A time set by a test; waiters watch it.
    Manual(watch::Sender<Millis>),
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &*self.0 {
            Source::Wall => f.write_str("Clock::wall"),
            Source::Manual(t) => write!(f, "Clock::manual({})", *t.borrow()),
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::wall()
    }
}

impl Clock {
    /// The system's clock.
    pub fn wall() -> Self {
        Self(Arc::new(Source::Wall))
    }

    /// A clock at `start` that moves only by [`Clock::set`] and [`Clock::advance`].
    pub fn manual(start: Millis) -> Self {
        Self(Arc::new(Source::Manual(watch::Sender::new(start))))
    }

    /// Now, in milliseconds since the Unix epoch.
    pub fn now(&self) -> Millis {
        match &*self.0 {
            Source::Wall => c2c_core::now_ms(),
            Source::Manual(t) => *t.borrow(),
        }
    }

    /// Set a manual clock to `t` (it may go back: a clock step) and wake the waits that are due.
    ///
    /// # Panics
    /// On the wall clock: only tests move time.
    pub fn set(&self, t: Millis) {
        match &*self.0 {
            Source::Wall => panic!("the wall clock cannot be set"),
            Source::Manual(now) => {
                now.send_replace(t);
            }
        }
    }

    /// Move a manual clock forward by `d`; see [`Clock::set`].
    pub fn advance(&self, d: Duration) {
        self.set(self.now() + d.as_millis() as Millis);
    }

    /// For a manual clock, a receiver that sees every time it is set (`None` on the wall clock):
    /// a loop that must notice any move of a test's clock, not only its own due times.
    pub fn subscribe(&self) -> Option<watch::Receiver<Millis>> {
        match &*self.0 {
            Source::Wall => None,
            Source::Manual(now) => Some(now.subscribe()),
        }
    }

    /// Return once the clock reads `t` or later (at once if it already does).
    pub async fn sleep_until(&self, t: Millis) {
        match &*self.0 {
            Source::Wall => loop {
                let left = t - c2c_core::now_ms();
                if left <= 0 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(left as u64).min(WALL_RECHECK)).await;
            },
            Source::Manual(now) => {
                let mut rx = now.subscribe();
                // The sender lives in `self`, so the channel cannot close while we wait.
                let _ = rx.wait_for(|now| *now >= t).await;
            }
        }
    }

    /// [`Clock::sleep_until`] `d` from now.
    pub async fn sleep(&self, d: Duration) {
        self.sleep_until(self.now() + d.as_millis() as Millis).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_wakes_a_wait_when_set_past_its_time() {
        use futures::FutureExt;
        let clock = Clock::manual(1_000);
        let mut wait = Box::pin(clock.sleep_until(5_000));
        assert!((&mut wait).now_or_never().is_none(), "woke before its time");
        clock.set(4_999);
        assert!((&mut wait).now_or_never().is_none(), "woke before its time");
        clock.advance(Duration::from_millis(1));
        assert!((&mut wait).now_or_never().is_some(), "not woken at its time");
        assert_eq!(clock.now(), 5_000);
    }

    #[tokio::test]
    async fn a_wait_for_a_past_time_returns_at_once() {
        let clock = Clock::manual(1_000);
        clock.sleep_until(10).await;
        clock.sleep(Duration::ZERO).await;
    }

    #[tokio::test(start_paused = true)]
    async fn the_wall_clock_waits_until_its_time() {
        let clock = Clock::wall();
        let start = clock.now();
        clock.sleep_until(start - 5).await;
        assert!(clock.now() - start < 1_000);
    }
}
