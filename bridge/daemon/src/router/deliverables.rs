//! Deliverable and meeting reminders in the committer: each reminded member has one timer, for
//! its next reminder point (`c2c_followup::deliverables`); when it falls due the reminder goes
//! into the deliverable's own conversation (opened by the bridge at the first reminder, subject
//! its title), the point is recorded as sent in the deliverable's state, and the next point's
//! timer is written, all in one commit. Marking a deliverable done ends its timers.

use c2c_config::{Config, Deliverable, DeliverableKind, Due, Partnership};
use c2c_core::{
    Conversation, ConversationId, DeliverableState, Millis, NativeKey, NativeRef, ReminderInfo, ReminderReason,
    StoreError, Timer, TimerWhat,
};
use c2c_followup::deliverables::{self, Next};
use c2c_followup::texts;

use crate::router::batch::Batch;
use crate::router::committer::Committer;
use crate::router::followup::{local_text, working_due};
use crate::router::recipients::{hosted_here, member_endpoints};

/// When `d` is due, as `member`'s contacts read it: a date as written (due by the end of that
/// day: "Fri 15 Jan 2027", not the midnight after it), else the local time in their zone.
pub(super) fn due_text(config: &Config, d: &Deliverable, member: &str) -> String {
    match d.due_as_written {
        Due::Date(date) => date.format("%a %-d %b %Y").to_string(),
        Due::DateTime(_) => local_text(config, member, d.due.timestamp_millis()),
    }
}

/// The key under which `point` is recorded as sent to `member`.
fn sent_key(member: &str, point: &str) -> String {
    format!("{member}/{point}")
}

fn next_for(d: &Deliverable, state: &DeliverableState, member: &str, now: Millis) -> Option<Next> {
    let now = chrono::DateTime::from_timestamp_millis(now)?;
    deliverables::next(&deliverables::points(d), |p| state.sent.contains(&sent_key(member, p)), now)
}

impl Committer {
    /// Write every deliverable's next reminder timer, per reminded member.
    pub(super) fn plan_deliverables(&mut self, config: &Config, batch: &mut Batch) -> Result<(), StoreError> {
        let now = self.clock.now();
        for p in &config.partnerships {
            for d in &p.deliverables {
                let state = self.deliverable_state(batch, &p.id, &d.id)?;
                if state.done_at.is_some() {
                    continue;
                }
                // A member hosted elsewhere is reminded by its home instance.
                for member in deliverables::reminded(d, &p.members).into_iter().filter(|m| hosted_here(config, m)) {
                    plan_member(config, batch, p, d, &state, member, now);
                }
            }
        }
        Ok(())
    }

    /// A deliverable timer fell due: remind if its point is the member's next and due, else
    /// replace it by the timer of the point that is (the config may have changed).
    pub(super) fn deliverable_due(
        &mut self,
        config: &Config,
        batch: &mut Batch,
        timer: Timer,
        now: Millis,
    ) -> Result<(), StoreError> {
        let TimerWhat::Deliverable { ref partnership, ref deliverable, ref member, ref point, .. } = timer.what else {
            return Ok(());
        };
        batch.timer_done(timer.key.clone());
        let Some(p) = config.partnership(partnership) else { return Ok(()) };
        let Some(d) = p.deliverables.iter().find(|d| d.id == *deliverable) else { return Ok(()) };
        let mut state = self.deliverable_state(batch, &p.id, &d.id)?;
        if state.done_at.is_some() || !deliverables::reminded(d, &p.members).contains(&member.as_str()) {
            return Ok(());
        }
        let Some(next) = next_for(d, &state, member, now) else { return Ok(()) };
        if next.point.name != *point || next.point.at.timestamp_millis() > now {
            plan_member(config, batch, p, d, &state, member, now);
            return Ok(());
        }

        let mut conv = self.deliverable_conversation(batch, p, d, &mut state, now)?;
        let due_text = due_text(config, d, member);
        let lang = p.language.clone();
        let (reason, text) = match (d.kind, next.point.overdue) {
            (DeliverableKind::Meeting, _) => {
                (ReminderReason::MeetingDue, texts::meeting_due(&lang, &d.title, &due_text))
            }
            (_, true) => {
                (ReminderReason::DeliverableOverdue, texts::deliverable_overdue(&lang, &d.title, &d.id, &due_text))
            }
            (_, false) => (ReminderReason::DeliverableDue, texts::deliverable_due(&lang, &d.title, &d.id, &due_text)),
        };
        let info = ReminderInfo {
            reason,
            conversation: Some(conv.id),
            deliverable: Some(d.id.clone()),
            due: d.due.timestamp_millis(),
            owed_by: d.owner.clone(),
            waiting: p.members.iter().filter(|m| **m != d.owner).cloned().collect(),
        };
        self.remind(config, batch, &mut conv, &lang, text, info, member_endpoints(config, p, member), now);
        for passed in next.passed_over.iter().chain([&next.point.name]) {
            state.sent.insert(sent_key(member, passed));
        }
        plan_member(config, batch, p, d, &state, member, now);
        batch.deliverables.insert((p.id.clone(), d.id.clone()), state);
        batch.conversations.insert(conv.id, conv);
        Ok(())
    }

    /// The deliverable's conversation, opened (with its short id, for subject tags) at its
    /// first reminder.
    fn deliverable_conversation(
        &mut self,
        batch: &mut Batch,
        p: &Partnership,
        d: &Deliverable,
        state: &mut DeliverableState,
        now: Millis,
    ) -> Result<Conversation, StoreError> {
        if let Some(id) = state.conversation
            && let Some(conv) = self.conversation(batch, id).map_err(|r| StoreError::new(r.detail, true))?
        {
            return Ok(conv);
        }
        let conv =
            Conversation::new(ConversationId::new(), &p.id, d.title.clone(), self.store.instance_id(), now, None);
        let short = NativeKey::short(&conv.id.short());
        let r = NativeRef { partnership: p.id.clone(), conversation: conv.id, message: None };
        batch.natives.insert(short.clone(), r.clone());
        batch.commit.natives.push((short, r));
        state.conversation = Some(conv.id);
        Ok(conv)
    }

    /// Mark deliverable `id` of `partnership` done by `by`; its timers end. The answer is a
    /// sentence for the admin or CLI.
    pub(super) fn mark_done(
        &mut self,
        config: &Config,
        batch: &mut Batch,
        partnership: &str,
        id: &str,
        by: &str,
    ) -> Result<String, String> {
        let p = config.partnership(partnership).ok_or_else(|| format!("no partnership `{partnership}`"))?;
        let d = p
            .deliverables
            .iter()
            .find(|d| d.id == id)
            .ok_or_else(|| format!("no deliverable `{id}` in `{partnership}`"))?;
        match self.done(batch, p, d, by).map_err(|e| e.to_string())? {
            true => Ok(format!("`{id}` ({}) is marked done", d.title)),
            false => Ok(format!("`{id}` ({}) was already done", d.title)),
        }
    }

    /// Record `d` done by `by` and end its timers; `false` when it already was.
    pub(super) fn done(
        &mut self,
        batch: &mut Batch,
        p: &Partnership,
        d: &Deliverable,
        by: &str,
    ) -> Result<bool, StoreError> {
        let mut state = self.deliverable_state(batch, &p.id, &d.id)?;
        if state.done_at.is_some() {
            return Ok(false);
        }
        state.done_at = Some(self.clock.now());
        state.done_by = Some(by.to_string());
        for member in deliverables::reminded(d, &p.members) {
            for point in deliverables::points(d) {
                batch.timer_done(Timer::deliverable_key(&p.id, &d.id, member, &point.name));
            }
        }
        batch.deliverables.insert((p.id.clone(), d.id.clone()), state);
        Ok(true)
    }
}

/// Write the timer of `member`'s next reminder point of `d`, if one is left.
fn plan_member(
    config: &Config,
    batch: &mut Batch,
    p: &Partnership,
    d: &Deliverable,
    state: &DeliverableState,
    member: &str,
    now: Millis,
) {
    let Some(next) = next_for(d, state, member, now) else { return };
    let at = next.point.at.timestamp_millis();
    batch.set_timer(Timer {
        key: Timer::deliverable_key(&p.id, &d.id, member, &next.point.name),
        due: working_due(config, member, at),
        what: TimerWhat::Deliverable {
            partnership: p.id.clone(),
            deliverable: d.id.clone(),
            member: member.to_string(),
            point: next.point.name,
            at,
        },
    });
}
