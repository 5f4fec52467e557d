//! Reply windows: what a post changes in who owes a reply in its conversation, and when each
//! window of `reply_within` ends.
//!
//! After a member posts, every other member owes a reply until one of its contacts posts in the
//! conversation. With `reply_from = "each"` a post settles only its author's own debt; with
//! `"any"` a post by a member that owed settles every member's debt (one answer from any other
//! member is enough). Only posts count: notices, reminders, commands, auto-replies and bounces
//! never reach here.
//!
//! Two windows per debt: after the first, the owing member is reminded; after the second (a
//! full `reply_within` from that reminder), it is reminded again and the members waiting are
//! told. Then the bridge says no more until someone posts.

use std::collections::{BTreeMap, BTreeSet};

use c2c_config::ReplyFrom;
use c2c_core::{Millis, Owing};

/// Windows per debt: the owing member is reminded after each; the waiting ones after the last.
pub const WINDOWS: u32 = 2;

/// What one post changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Debts the post settled, as they were (their timers are done).
    pub settled: Vec<(String, Owing)>,
    /// Members that owe a reply from this post on (their first window starts now).
    pub opened: Vec<String>,
}

/// Apply a post by `author` (a member) at `now` to `owing`. New debts get `due` from
/// `first_due(member)`: the end of their first window, in the member's working hours.
pub fn after_post(
    owing: &mut BTreeMap<String, Owing>,
    members: &[String],
    author: &str,
    reply_from: ReplyFrom,
    now: Millis,
    mut first_due: impl FnMut(&str) -> Millis,
) -> Changes {
    let mut changes = Changes::default();
    let answered = owing.contains_key(author);
    let settle: Vec<String> = match reply_from {
        ReplyFrom::Any if answered => owing.keys().cloned().collect(),
        _ => owing.keys().filter(|m| *m == author).cloned().collect(),
    };
    for m in settle {
        if let Some(o) = owing.remove(&m) {
            changes.settled.push((m, o));
        }
    }
    for m in members.iter().filter(|m| *m != author) {
        let debt = owing.entry(m.clone()).or_insert_with(|| {
            changes.opened.push(m.clone());
            Owing { since: now, waiting: BTreeSet::new(), due: first_due(m), reminders: 0 }
        });
        debt.waiting.insert(author.to_string());
    }
    changes
}

/// The window a debt's next reminder ends, if one is still to come (1, 2), else `None`.
pub fn next_window(owing: &Owing) -> Option<u32> {
    (owing.reminders < WINDOWS).then_some(owing.reminders + 1)
}

/// The end of window `window` of a debt that started at `since`, before working hours.
pub fn window_end(since: Millis, reply_within_ms: Millis, window: u32) -> Millis {
    since.saturating_add(reply_within_ms.saturating_mul(window as Millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(m: &[&str]) -> Vec<String> {
        m.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_post_makes_the_others_owe_and_an_answer_settles_its_own_debt() {
        let ms = members(&["hangzhou", "leeds"]);
        let mut owing = BTreeMap::new();
        let c = after_post(&mut owing, &ms, "hangzhou", ReplyFrom::Each, 100, |_| 500);
        assert_eq!(c.opened, vec!["leeds".to_string()]);
        assert_eq!(owing["leeds"].since, 100);
        assert_eq!(owing["leeds"].due, 500);
        assert_eq!(owing["leeds"].waiting, BTreeSet::from(["hangzhou".to_string()]));
        // Hangzhou writes again: Leeds still owes since the first post.
        let c = after_post(&mut owing, &ms, "hangzhou", ReplyFrom::Each, 200, |_| 900);
        assert!(c.opened.is_empty() && c.settled.is_empty());
        assert_eq!(owing["leeds"].since, 100);
        // Leeds answers: settled, and now Hangzhou owes.
        let c = after_post(&mut owing, &ms, "leeds", ReplyFrom::Each, 300, |_| 700);
        assert_eq!(c.settled.len(), 1);
        assert_eq!(c.opened, vec!["hangzhou".to_string()]);
        assert!(!owing.contains_key("leeds"));
        assert_eq!(owing["hangzhou"].since, 300);
    }

    #[test]
    fn with_any_one_answer_settles_every_member_and_with_each_only_its_own() {
        let ms = members(&["a", "b", "c"]);
        let mut any = BTreeMap::new();
        after_post(&mut any, &ms, "a", ReplyFrom::Any, 100, |_| 1_000);
        assert_eq!(any.keys().collect::<Vec<_>>(), ["b", "c"]);
        let c = after_post(&mut any, &ms, "b", ReplyFrom::Any, 200, |_| 2_000);
        assert_eq!(c.settled.iter().map(|(m, _)| m.as_str()).collect::<Vec<_>>(), ["b", "c"]);
        // Now a and c owe b, from b's post on.
        assert_eq!(any.keys().collect::<Vec<_>>(), ["a", "c"]);
        assert_eq!(any["c"].since, 200);

        let mut each = BTreeMap::new();
        after_post(&mut each, &ms, "a", ReplyFrom::Each, 100, |_| 1_000);
        let c = after_post(&mut each, &ms, "b", ReplyFrom::Each, 200, |_| 2_000);
        assert_eq!(c.settled.iter().map(|(m, _)| m.as_str()).collect::<Vec<_>>(), ["b"]);
        // c still owes since a's post, now to both a and b.
        assert_eq!(each["c"].since, 100);
        assert_eq!(each["c"].waiting, BTreeSet::from(["a".to_string(), "b".to_string()]));
        assert_eq!(each["a"].since, 200);
    }

    #[test]
    fn two_windows_then_silence() {
        let mut o = Owing { since: 0, waiting: BTreeSet::new(), due: 0, reminders: 0 };
        assert_eq!(next_window(&o), Some(1));
        o.reminders = 1;
        assert_eq!(next_window(&o), Some(2));
        o.reminders = 2;
        assert_eq!(next_window(&o), None);
        assert_eq!(window_end(1_000, 500, 2), 2_000);
    }
}
