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

/// The tallies of `conv` (in `partnership`, if the config still has it), with its messages in
/// commit order and its outbox entries, one per week it touches.
pub fn fold(
    partnership: Option<&Partnership>,
    conv: &Conversation,
    messages: &[Message],
    entries: &[OutboxEntry],
) -> Vec<WeekTally> {
    let mut weeks: BTreeMap<String, WeekTally> = BTreeMap::new();
    let p = conv.partnership.as_str();
    let posts: Vec<&Message> = messages.iter().filter(|m| m.kind == MessageKind::Post && m.author.is_some()).collect();
    for m in messages {
        at(&mut weeks, p, m.committed_at).messages += 1;
    }
    for m in &posts {
        let city = &m.author.as_ref().expect("posts have an author").city;
        let w = at(&mut weeks, p, m.committed_at);
        *w.posts_by.entry(city.clone()).or_default() += 1;
        *w.languages.entry(m.language.code.clone()).or_default() += 1;
        if partnership.is_some_and(|p| m.language.is_off_language(&p.language)) {
            *w.off_language_by.entry(city.clone()).or_default() += 1;
        }
    }
    if let Some(first) = posts.first() {
        let starter = &first.author.as_ref().expect("posts have an author").city;
        let members: Vec<String> = match partnership {
            Some(p) => p.members.clone(),
            None => {
                let mut cities: Vec<String> =
                    posts.iter().filter_map(|m| m.author.as_ref().map(|a| a.city.clone())).collect();
                cities.sort();
                cities.dedup();
                cities
            }
        };
        let w = at(&mut weeks, p, first.committed_at);
        for member in members.iter().filter(|m| *m != starter) {
            match posts.iter().find(|m| m.author.as_ref().is_some_and(|a| &a.city == member)) {
                Some(r) => w.first_replies.entry(member.clone()).or_default().push(r.committed_at - first.committed_at),
                None => *w.unanswered.entry(member.clone()).or_default() += 1,
            }
        }
        let last_post = posts.last().expect("not empty").committed_at;
        let last = conv.closed_at.map_or(last_post, |c| c.max(last_post));
        let w = at(&mut weeks, p, last);
        w.conversations += 1;
        if conv.closed_at.is_some() {
            w.threads_closed += 1;
        } else {
            w.threads_open += 1;
        }
    } else {
        let last = messages.last().map_or(conv.started_at, |m| m.committed_at);
        at(&mut weeks, p, conv.closed_at.map_or(last, |c| c.max(last))).conversations += 1;
    }
    for e in entries.iter().filter(|e| e.status == DeliveryStatus::PermanentFailure) {
        at(&mut weeks, p, e.created_at).failed_deliveries += 1;
    }
    weeks.into_values().collect()
}

/// The tally of the week `t` falls in.
fn at<'a>(weeks: &'a mut BTreeMap<String, WeekTally>, partnership: &str, t: Millis) -> &'a mut WeekTally {
    let week = monday(t).to_string();
    weeks.entry(week).or_insert_with_key(|w| WeekTally::new(partnership, w))
}
