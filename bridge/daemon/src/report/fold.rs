//! What the report keeps of a conversation retention forgets: its figures by week, as
//! [`WeekTally`] records, counted by the same rules as [`super::compute`] counts stored
//! messages (see the module above), so a report over a period whose messages are gone still
//! shows them.
//!
//! What changes once folded, because a tally has no messages left to look at:
//! - everything falls into whole weeks (the week of each post; a conversation's first replies in
//!   the week of its first post; the thread in the week of its last activity), so a report
//!   counts a forgotten week's tally when the week overlaps its period;
//! - off-language is judged against the partnership's agreed language as it was when folded;
//! - a forgotten thread counts once, closed or open as it was left, in the week of its last
//!   activity (a stored conversation that is not closed counts as open in every later report).

use std::collections::BTreeMap;

use c2c_config::Partnership;
use c2c_core::{Conversation, DeliveryStatus, Message, MessageKind, Millis, OutboxEntry, WeekTally};

use super::compute::monday;

/// The tallies of a conversation (in its partnership, if the config still has it), one per week
/// it touches, from its messages in commit order and its outbox entries, given one at a time so
/// a conversation of years of posts is not held in memory: each message's figures go into its
/// week as it comes; what the thread adds (its first replies, the thread itself) needs only the
/// first post, each city's first post, and the last post and message, kept as they pass.
#[derive(Debug)]
pub struct Fold<'a> {
    partnership: Option<&'a Partnership>,
    conv: &'a Conversation,
    weeks: BTreeMap<String, WeekTally>,
    /// The first post: its city and time.
    first: Option<(String, Millis)>,
    /// Each city's first post.
    first_by: BTreeMap<String, Millis>,
    last_post: Option<Millis>,
    last_message: Option<Millis>,
}

impl<'a> Fold<'a> {
    pub fn new(partnership: Option<&'a Partnership>, conv: &'a Conversation) -> Self {
        Fold {
            partnership,
            conv,
            weeks: BTreeMap::new(),
            first: None,
            first_by: BTreeMap::new(),
            last_post: None,
            last_message: None,
        }
    }

    /// The next message, in commit order.
    pub fn message(&mut self, m: &Message) {
        let p = self.conv.partnership.as_str();
        at(&mut self.weeks, p, m.committed_at).messages += 1;
        self.last_message = Some(m.committed_at);
        let Some(author) = m.author.as_ref().filter(|_| m.kind == MessageKind::Post) else { return };
        let city = &author.city;
        let w = at(&mut self.weeks, p, m.committed_at);
        *w.posts_by.entry(city.clone()).or_default() += 1;
        *w.languages.entry(m.language.code.clone()).or_default() += 1;
        if self.partnership.is_some_and(|p| m.language.is_off_language(&p.language)) {
            *w.off_language_by.entry(city.clone()).or_default() += 1;
        }
        if self.first.is_none() {
            self.first = Some((city.clone(), m.committed_at));
        }
        self.first_by.entry(city.clone()).or_insert(m.committed_at);
        self.last_post = Some(m.committed_at);
    }

    /// One of its outbox entries.
    pub fn entry(&mut self, e: &OutboxEntry) {
        if e.status == DeliveryStatus::PermanentFailure {
            at(&mut self.weeks, self.conv.partnership.as_str(), e.created_at).failed_deliveries += 1;
        }
    }

    /// The tallies of the messages and entries given, without what the thread adds: for a
    /// piece of a long conversation that retention trims before forgetting it, whose first post,
    /// each city's first post, last post and last message stay stored until the conversation
    /// goes (and [`Fold::finish`] counts the thread then, from them).
    pub fn finish_messages(self) -> Vec<WeekTally> {
        self.weeks.into_values().collect()
    }

    /// The tallies, one per week touched.
    pub fn finish(mut self) -> Vec<WeekTally> {
        let p = self.conv.partnership.as_str();
        let conv = self.conv;
        if let Some((starter, first_at)) = &self.first {
            let members: Vec<String> = match self.partnership {
                Some(p) => p.members.clone(),
                // Every city that posted, in order.
                None => self.first_by.keys().cloned().collect(),
            };
            let w = at(&mut self.weeks, p, *first_at);
            for member in members.iter().filter(|m| *m != starter) {
                match self.first_by.get(member) {
                    Some(r) => w.first_replies.entry(member.clone()).or_default().push(r - first_at),
                    None => *w.unanswered.entry(member.clone()).or_default() += 1,
                }
            }
            let last_post = self.last_post.expect("a first post is a post");
            let last = conv.closed_at.map_or(last_post, |c| c.max(last_post));
            let w = at(&mut self.weeks, p, last);
            w.conversations += 1;
            if conv.closed_at.is_some() {
                w.threads_closed += 1;
            } else {
                w.threads_open += 1;
            }
        } else {
            let last = self.last_message.unwrap_or(conv.started_at);
            at(&mut self.weeks, p, conv.closed_at.map_or(last, |c| c.max(last))).conversations += 1;
        }
        self.weeks.into_values().collect()
    }
}

/// The tally of the week `t` falls in.
fn at<'a>(weeks: &'a mut BTreeMap<String, WeekTally>, partnership: &str, t: Millis) -> &'a mut WeekTally {
    let week = monday(t).to_string();
    weeks.entry(week).or_insert_with_key(|w| WeekTally::new(partnership, w))
}
