//! What follow-up keeps: timed records (reminders the bridge owes at a due time), what a
//! member owes in a conversation, deliverables' state, and what a reminder message says it is
//! about (the `reminder` object of the webhook wire).
//!
//! A [`Timer`] is named by what it is for ([`TimerKey`]: a conversation, a member, the start
//! of what it owes and a window number; or a deliverable, a member and a reminder point), so
//! writing it twice is writing it once. It is deleted in the same atomic commit as the reminder
//! it sends, so a crash before that commit sends it after the restart, and a crash after it
//! never sends it again; two deliveries of the reminder share the outbox's idempotency key.
//! Persisted as JSON: fields may be added with a serde default, never renamed.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{ConversationId, Millis};

/// What a timer is for, as a stable key: `reply/{conversation}/{member}/{since}/{window}`,
/// `waiting/{conversation}/{member}/{since}/{waiting}`,
/// `deliverable/{partnership}/{id}/{member}/{point}` or `digest/{partnership}/{member}/{period}`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TimerKey(pub String);

impl TimerKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TimerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A timed action the bridge owes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timer {
    pub key: TimerKey,
    /// When to act: the point it is for, moved into the recipient city's working hours.
    pub due: Millis,
    pub what: TimerWhat,
}

/// What a timer does when it falls due.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TimerWhat {
    /// `member` has owed a reply in `conversation` since `since`; window `window` (1, 2) of
    /// `reply_within` ends at `point`.
    Reply {
        conversation: ConversationId,
        partnership: String,
        member: String,
        since: Millis,
        window: u32,
        point: Millis,
    },
    /// Tell `waiting` (a member) that `member` has still not answered the debt it has owed in
    /// `conversation` since `since` (after its last window ended at `point`), in `waiting`'s
    /// working hours.
    Waiting {
        conversation: ConversationId,
        partnership: String,
        member: String,
        waiting: String,
        since: Millis,
        point: Millis,
    },
    /// The partnership's digest for `member`, for `period` (`2027-W02` weekly, `2027-01-05`
    /// daily), at `at`.
    Digest { partnership: String, member: String, period: String, at: Millis },
    /// A reminder of a deliverable or meeting to `member` at `point` (`before:SECONDS` ahead of
    /// the due time, or `overdue:N`, the Nth reminder after it).
    Deliverable { partnership: String, deliverable: String, member: String, point: String, at: Millis },
}

impl Timer {
    /// The key of a reply window's timer.
    pub fn reply_key(conversation: ConversationId, member: &str, since: Millis, window: u32) -> TimerKey {
        TimerKey(format!("reply/{conversation}/{member}/{since}/{window}"))
    }

    /// The key of the timer telling `waiting` that `member` has still not answered.
    pub fn waiting_key(conversation: ConversationId, member: &str, since: Millis, waiting: &str) -> TimerKey {
        TimerKey(format!("waiting/{conversation}/{member}/{since}/{waiting}"))
    }

    /// The key of a digest's timer: one per partnership, member and period.
    pub fn digest_key(partnership: &str, member: &str, period: &str) -> TimerKey {
        TimerKey(format!("digest/{partnership}/{member}/{period}"))
    }

    /// The key of a deliverable reminder's timer.
    pub fn deliverable_key(partnership: &str, deliverable: &str, member: &str, point: &str) -> TimerKey {
        TimerKey(format!("deliverable/{partnership}/{deliverable}/{member}/{point}"))
    }
}

/// What one member owes in a conversation: a reply, since another member wrote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owing {
    /// When the first unanswered post by another member was committed.
    pub since: Millis,
    /// The members waiting for the reply.
    pub waiting: BTreeSet<String>,
    /// When the current window's reminder falls due (in the member's working hours).
    pub due: Millis,
    /// Reminders sent for this debt so far.
    #[serde(default)]
    pub reminders: u32,
}

/// A deliverable's or meeting's state (its definition is in the config).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliverableState {
    pub partnership: String,
    pub id: String,
    /// The conversation the bridge opened for its reminders, once it has sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<ConversationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<Millis>,
    /// Who marked it done (a contact id, `admin` or `cli`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_by: Option<String>,
    /// Reminder points already sent or passed over, per member: `member/point`.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub sent: BTreeSet<String>,
}

impl DeliverableState {
    pub fn new(partnership: &str, id: &str) -> Self {
        Self {
            partnership: partnership.to_string(),
            id: id.to_string(),
            conversation: None,
            done_at: None,
            done_by: None,
            sent: BTreeSet::new(),
        }
    }
}

/// Why a reminder was sent (the wire's `reminder.reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderReason {
    /// To the member that owes a reply.
    ReplyOverdue,
    /// To the members waiting, after the second window.
    WaitingOverdue,
    DeliverableDue,
    DeliverableOverdue,
    MeetingDue,
}

impl ReminderReason {
    pub const ALL: [ReminderReason; 5] = [
        ReminderReason::ReplyOverdue,
        ReminderReason::WaitingOverdue,
        ReminderReason::DeliverableDue,
        ReminderReason::DeliverableOverdue,
        ReminderReason::MeetingDue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReminderReason::ReplyOverdue => "reply_overdue",
            ReminderReason::WaitingOverdue => "waiting_overdue",
            ReminderReason::DeliverableDue => "deliverable_due",
            ReminderReason::DeliverableOverdue => "deliverable_overdue",
            ReminderReason::MeetingDue => "meeting_due",
        }
    }
}

/// What a reminder message is about (kept on its [`crate::Message`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderInfo {
    pub reason: ReminderReason,
    /// The conversation a reply is owed in (`None` for deliverables and meetings).
    pub conversation: Option<ConversationId>,
    pub deliverable: Option<String>,
    /// The due point the reminder is about.
    pub due: Millis,
    pub owed_by: String,
    pub waiting: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_keys_name_what_they_are_for() {
        let c: ConversationId = "01J0000000000000000000000A".parse().unwrap();
        assert_eq!(Timer::reply_key(c, "leeds", 5, 2).as_str(), "reply/01J0000000000000000000000A/leeds/5/2");
        assert_eq!(
            Timer::deliverable_key("hz-leeds", "draft", "leeds", "before:604800").as_str(),
            "deliverable/hz-leeds/draft/leeds/before:604800"
        );
    }

    #[test]
    fn timers_round_trip_as_json() {
        let t = Timer {
            key: TimerKey("k".into()),
            due: 10,
            what: TimerWhat::Deliverable {
                partnership: "p".into(),
                deliverable: "d".into(),
                member: "m".into(),
                point: "overdue:1".into(),
                at: 9,
            },
        };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(
            json,
            r#"{"key":"k","due":10,"what":{"type":"deliverable","partnership":"p","deliverable":"d","member":"m","point":"overdue:1","at":9}}"#
        );
        assert_eq!(serde_json::from_str::<Timer>(&json).unwrap(), t);
    }
}
