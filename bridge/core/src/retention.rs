//! What retention forgets and what it keeps of it.
//!
//! With `[bridge] retention` set, the daemon deletes the messages, delivery records and id-map
//! entries of conversations inactive for longer, and expires dedupe answers after
//! `dedupe_window`. A deletion is a [`Forget`] in a [`crate::Commit`], atomic with what it
//! leaves behind:
//! - a [`WeekTally`] per partnership and week, so a partnership's report survives its messages
//!   (folded in the same commit as the deletion, so nothing is counted twice or lost);
//! - a tombstone for each conversation forgotten ([`crate::Commit::forgotten`]): the id-map
//!   entries that still point to it are found and deleted after, and the tombstone goes with
//!   the last of them; a crash in between leaves the tombstone, so the next sweep finishes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::followup::Timer;
use crate::ids::{ConversationId, Millis, OutboxId};
use crate::store::NativeKey;

/// One record retention deletes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Forget {
    Message {
        conversation: ConversationId,
        seq: u64,
    },
    Conversation(ConversationId),
    Outbox {
        seq: u64,
        id: OutboxId,
    },
    /// An id-map entry.
    Native(NativeKey),
    /// A dedupe answer.
    Accepted(NativeKey),
    /// A conversation's tombstone, once no id-map entry points to it.
    Tombstone(ConversationId),
    /// A deliverable's state (done, and no longer in the config).
    Deliverable {
        partnership: String,
        id: String,
    },
}

/// What the report needs of one partnership's week once its messages are deleted: the
/// figures of every conversation retention forgot, by the week they fall in (UTC, weeks start
/// on Monday). Added to what the report computes from the messages still stored.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WeekTally {
    pub partnership: String,
    /// The week's Monday, `2027-01-04`.
    pub week: String,
    /// Members' posts committed in the week.
    #[serde(default)]
    pub posts_by: BTreeMap<String, u64>,
    /// Of those, the posts off the partnership's agreed language (as it was when folded).
    #[serde(default)]
    pub off_language_by: BTreeMap<String, u64>,
    /// Posts per language tag.
    #[serde(default)]
    pub languages: BTreeMap<String, u64>,
    /// For conversations whose first post is in the week: each other member's first-reply
    /// time (ms), per member.
    #[serde(default)]
    pub first_replies: BTreeMap<String, Vec<Millis>>,
    /// For those conversations: members that never replied.
    #[serde(default)]
    pub unanswered: BTreeMap<String, u64>,
    /// Conversations forgotten whose last activity is in the week, closed or not.
    #[serde(default)]
    pub threads_closed: u64,
    #[serde(default)]
    pub threads_open: u64,
    /// Deliveries that failed for good, created in the week.
    #[serde(default)]
    pub failed_deliveries: u64,
    /// Records forgotten into this tally: conversations and messages (every kind).
    #[serde(default)]
    pub conversations: u64,
    #[serde(default)]
    pub messages: u64,
}

impl WeekTally {
    pub fn new(partnership: &str, week: &str) -> Self {
        Self { partnership: partnership.to_string(), week: week.to_string(), ..Self::default() }
    }

    /// Add `other` (of the same partnership and week) to this one.
    pub fn add(&mut self, other: &WeekTally) {
        let sum = |a: &mut BTreeMap<String, u64>, b: &BTreeMap<String, u64>| {
            for (k, n) in b {
                *a.entry(k.clone()).or_default() += n;
            }
        };
        sum(&mut self.posts_by, &other.posts_by);
        sum(&mut self.off_language_by, &other.off_language_by);
        sum(&mut self.languages, &other.languages);
        sum(&mut self.unanswered, &other.unanswered);
        for (k, times) in &other.first_replies {
            self.first_replies.entry(k.clone()).or_default().extend(times);
        }
        self.threads_closed += other.threads_closed;
        self.threads_open += other.threads_open;
        self.failed_deliveries += other.failed_deliveries;
        self.conversations += other.conversations;
        self.messages += other.messages;
    }
}

impl Timer {
    /// The key prefixes of the timers that belong to `conversation` (reply windows and the
    /// notices to those waiting): a conversation with one of them is not forgotten.
    pub fn conversation_prefixes(conversation: ConversationId) -> [String; 2] {
        [format!("reply/{conversation}/"), format!("waiting/{conversation}/")]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_of_a_conversation_share_its_prefixes() {
        let c = ConversationId::new();
        let [reply, waiting] = Timer::conversation_prefixes(c);
        assert!(Timer::reply_key(c, "leeds", 5, 1).as_str().starts_with(&reply));
        assert!(Timer::waiting_key(c, "leeds", 5, "hangzhou").as_str().starts_with(&waiting));
        let other = ConversationId::new();
        assert!(!Timer::reply_key(other, "leeds", 5, 1).as_str().starts_with(&reply));
    }

    #[test]
    fn tallies_add_up() {
        let mut a = WeekTally::new("p", "2027-01-04");
        a.posts_by.insert("leeds".into(), 2);
        a.first_replies.insert("hangzhou".into(), vec![10]);
        let mut b = WeekTally::new("p", "2027-01-04");
        b.posts_by.insert("leeds".into(), 1);
        b.posts_by.insert("hangzhou".into(), 4);
        b.first_replies.insert("hangzhou".into(), vec![20]);
        b.threads_closed = 1;
        a.add(&b);
        assert_eq!(a.posts_by["leeds"], 3);
        assert_eq!(a.posts_by["hangzhou"], 4);
        assert_eq!(a.first_replies["hangzhou"], vec![10, 20]);
        assert_eq!(a.threads_closed, 1);
    }
}
