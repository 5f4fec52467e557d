//! Files that could not be fetched yet. While the homeserver fails to hand a file over (a
//! transport failure, a server error), its event is taken up again with its batch; once it has
//! failed [`MIN_ATTEMPTS`] times *and* for longer than `file_fetch_give_up_after`, the bridge
//! gives up on the bytes and relays the post with a note, so the room's later traffic flows on.
//!
//! The attempts and the time of the first failure are kept in the bridge's store (through the
//! inbox), one small record per event: a restart neither starts the wait over nor counts an
//! attempt twice, and an event given up on before a crash is not fetched again when its batch
//! comes back.

use std::time::Duration;

use c2c_core::Millis;
use serde::{Deserialize, Serialize};

use crate::state::State;

/// A file is given up on only after this many failed attempts, however old the first one: a
/// bridge that was down for a day tries again before it gives up.
pub const MIN_ATTEMPTS: u32 = 3;

/// The failed attempts to fetch one event's file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failures {
    /// When the first attempt failed (wall clock: it must survive restarts).
    pub first_ms: Millis,
    pub attempts: u32,
}

impl Failures {
    /// Whether to stop trying at `now_ms`.
    pub fn given_up(&self, now_ms: Millis, after: Duration) -> bool {
        let waited = u128::try_from(now_ms.saturating_sub(self.first_ms)).unwrap_or(0);
        self.attempts >= MIN_ATTEMPTS && waited >= after.as_millis()
    }

    /// `before` with one more failure at `now_ms`.
    pub fn one_more(before: Option<Failures>, now_ms: Millis) -> Failures {
        match before {
            Some(f) => Failures { first_ms: f.first_ms, attempts: f.attempts.saturating_add(1) },
            None => Failures { first_ms: now_ms, attempts: 1 },
        }
    }
}

fn key(event_id: &str) -> String {
    format!("matrix:unfetched:{event_id}")
}

/// The failures recorded for `event_id`'s file so far.
pub async fn load(state: &State, event_id: &str) -> Option<Failures> {
    let text = state.load(&key(event_id)).await?;
    serde_json::from_str(&text).ok()
}

/// Record one more failure for `event_id`'s file (durably, when the store works) and return
/// the new tally.
pub async fn record(state: &State, event_id: &str, now_ms: Millis) -> Failures {
    let failures = Failures::one_more(load(state, event_id).await, now_ms);
    let text = serde_json::to_string(&failures).unwrap_or_default();
    if !state.save(&key(event_id), &text).await {
        tracing::warn!(event = %event_id, "could not store a failed file fetch; it counts again after a restart");
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    const AFTER: Duration = Duration::from_secs(600);

    #[test]
    fn given_up_only_after_enough_attempts_and_enough_time() {
        let mut f = Failures::one_more(None, 1_000);
        assert_eq!(f, Failures { first_ms: 1_000, attempts: 1 });
        f = Failures::one_more(Some(f), 2_000);
        f = Failures::one_more(Some(f), 3_000);
        assert_eq!(f, Failures { first_ms: 1_000, attempts: 3 }, "the first failure's time is kept");
        assert!(!f.given_up(1_000 + 599_999, AFTER), "not before the time is up");
        assert!(f.given_up(1_000 + 600_000, AFTER));
        let two = Failures { first_ms: 0, attempts: 2 };
        assert!(!two.given_up(10 * 600_000, AFTER), "a day-old first failure still gets its attempts");
        let clock_went_back = Failures { first_ms: 5_000, attempts: 9 };
        assert!(!clock_went_back.given_up(1_000, AFTER));
    }

    #[test]
    fn the_stored_form_is_stable() {
        let f = Failures { first_ms: 1_700_000_000_000, attempts: 2 };
        let text = serde_json::to_string(&f).unwrap();
        assert_eq!(text, r#"{"first_ms":1700000000000,"attempts":2}"#);
        assert_eq!(serde_json::from_str::<Failures>(&text).unwrap(), f);
    }
}
