//! Reply windows in the committer: a post changes who owes a reply (and their timers, in the
//! same commit); a due timer becomes a reminder to the owing member on its agreed channel, in
//! the conversation's thread, in the partnership's language, and after the second window a
//! word to the members waiting. The rules are in `c2c_followup::windows`; this applies them to
//! the batch.

use c2c_config::{Config, Partnership};
use c2c_core::{
    Conversation, MessageKind, Millis, Recipient, ReminderInfo, ReminderReason, StoreError, Timer, TimerKey, TimerWhat,
};
use c2c_followup::{hours, texts, windows};

use crate::router::batch::{Batch, push_entries};
use crate::router::committer::Committer;
use crate::router::recipients::{hosted_here, member_endpoints};

/// `at`, moved into `city`'s working hours in its time zone (unchanged for an unknown city).
pub(super) fn working_due(config: &Config, city: &str, at: Millis) -> Millis {
    let (Some(c), Some(t)) = (config.city(city), chrono::DateTime::from_timestamp_millis(at)) else {
        return at;
    };
    hours::next_working_instant(t, c.timezone, &c.working).timestamp_millis()
}

/// `at` as `city`'s contacts read it: local time and zone.
pub(super) fn local_text(config: &Config, city: &str, at: Millis) -> String {
    let zone = config.city(city).map(|c| c.timezone).unwrap_or(chrono_tz::UTC);
    chrono::DateTime::from_timestamp_millis(at).map(|t| hours::local_text(t, zone)).unwrap_or_default()
}

/// The display names of `cities`, joined.
pub(super) fn city_names<'a>(config: &Config, cities: impl IntoIterator<Item = &'a String>) -> String {
    cities.into_iter().map(|c| config.city(c).map_or(c.as_str(), |c| c.name.as_str())).collect::<Vec<_>>().join(", ")
}

fn ms(d: std::time::Duration) -> Millis {
    Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX)
}

impl Committer {
    /// After a post by `author` in `conv`: a closed conversation is open again, the debts the
    /// post settles are finished with their timers, and members that now owe get the timer of
    /// their first window.
    pub(super) fn owing_after_post(
        &self,
        config: &Config,
        batch: &mut Batch,
        partnership: &Partnership,
        conv: &mut Conversation,
        author: &str,
        now: Millis,
    ) {
        conv.closed_at = None;
        let within = ms(partnership.reply_within);
        let changes =
            windows::after_post(&mut conv.owing, &partnership.members, author, partnership.reply_from, now, |member| {
                working_due(config, member, windows::window_end(now, within, 1))
            });
        for (member, debt) in changes.settled {
            if let Some(window) = windows::next_window(&debt) {
                batch.timer_done(Timer::reply_key(conv.id, &member, debt.since, window));
            }
        }
        for member in changes.opened {
            let debt = &conv.owing[&member];
            batch.set_timer(Timer {
                key: Timer::reply_key(conv.id, &member, debt.since, 1),
                due: debt.due,
                what: TimerWhat::Reply {
                    conversation: conv.id,
                    partnership: partnership.id.clone(),
                    member: member.clone(),
                    since: debt.since,
                    window: 1,
                    point: windows::window_end(now, within, 1),
                },
            });
        }
    }

    /// Finish every debt of `conv` (it was closed): their timers are done.
    pub(super) fn settle_all(batch: &mut Batch, conv: &mut Conversation) {
        for (member, debt) in std::mem::take(&mut conv.owing) {
            if let Some(window) = windows::next_window(&debt) {
                batch.timer_done(Timer::reply_key(conv.id, &member, debt.since, window));
            }
        }
    }

    /// A timer fell due: act on it if it is still stored and due. Errors are store errors;
    /// the timer stays and is tried again.
    pub(super) fn timer_due(&mut self, config: &Config, batch: &mut Batch, key: &TimerKey) -> Result<(), StoreError> {
        let Some(timer) = self.timer(batch, key)? else {
            return Ok(()); // done already (an overlapping hand-over)
        };
        let now = self.clock.now();
        if timer.due > now {
            return Ok(()); // moved meanwhile; the loop knows its new time
        }
        // Due while the daemon was stopped, or the clock jumped: still only in the recipient's
        // working hours.
        // (A digest goes out at the moment its config names, in or out of working hours.)
        let recipient = match &timer.what {
            TimerWhat::Reply { member, .. } | TimerWhat::Deliverable { member, .. } => Some(member),
            TimerWhat::Waiting { waiting, .. } => Some(waiting),
            TimerWhat::Digest { .. } => None,
        };
        if let Some(recipient) = recipient {
            let working = working_due(config, recipient, now);
            if working > now {
                batch.set_timer(Timer { due: working, ..timer });
                return Ok(());
            }
        }
        match &timer.what {
            TimerWhat::Reply { .. } => self.reply_due(config, batch, timer, now),
            TimerWhat::Waiting { .. } => self.waiting_due(config, batch, timer, now),
            TimerWhat::Deliverable { .. } => self.deliverable_due(config, batch, timer, now),
            TimerWhat::Digest { .. } => self.digest_due(config, batch, timer, now),
        }
    }

    /// Tell a waiting member that the owing one has still not answered, unless it has
    /// meanwhile (or the conversation was closed).
    fn waiting_due(&mut self, config: &Config, batch: &mut Batch, timer: Timer, now: Millis) -> Result<(), StoreError> {
        let TimerWhat::Waiting { conversation, ref partnership, ref member, ref waiting, since, point } = timer.what
        else {
            return Ok(());
        };
        batch.timer_done(timer.key.clone());
        let Some(p) = config.partnership(partnership) else { return Ok(()) };
        let Some(mut conv) = self.conversation(batch, conversation).map_err(|r| StoreError::new(r.detail, true))?
        else {
            return Ok(());
        };
        let Some(debt) = conv.owing.get(member).filter(|d| d.since == since && d.waiting.contains(waiting)) else {
            return Ok(());
        };
        if conv.closed_at.is_some() {
            return Ok(());
        }
        let lang = p.language.clone();
        let text = texts::waiting_overdue(
            &lang,
            &conv.subject,
            &city_names(config, [member]),
            &local_text(config, waiting, since),
        );
        let info = ReminderInfo {
            reason: ReminderReason::WaitingOverdue,
            conversation: Some(conv.id),
            deliverable: None,
            due: point,
            owed_by: member.clone(),
            waiting: debt.waiting.iter().cloned().collect(),
        };
        self.remind(config, batch, &mut conv, &lang, text, info, member_endpoints(config, p, waiting), now);
        batch.conversations.insert(conv.id, conv);
        Ok(())
    }

    /// A reply window ended: remind the owing member (and, after the last window, tell the
    /// members waiting), unless the debt is gone, the conversation closed or the member
    /// snoozed it (then the timer moves to the snooze's end).
    fn reply_due(&mut self, config: &Config, batch: &mut Batch, timer: Timer, now: Millis) -> Result<(), StoreError> {
        let TimerWhat::Reply { conversation, ref partnership, ref member, since, window, point } = timer.what else {
            return Ok(());
        };
        let stale = |batch: &mut Batch| {
            batch.timer_done(timer.key.clone());
            Ok(())
        };
        let Some(p) = config.partnership(partnership) else { return stale(batch) };
        let Some(mut conv) = self.conversation(batch, conversation).map_err(|r| StoreError::new(r.detail, true))?
        else {
            return stale(batch);
        };
        let Some(mut debt) = conv.owing.get(member).cloned() else { return stale(batch) };
        if debt.since != since || windows::next_window(&debt) != Some(window) || conv.closed_at.is_some() {
            return stale(batch);
        }
        if let Some(until) = conv.snoozed.get(member).copied().filter(|until| *until > now) {
            let due = working_due(config, member, until);
            debt.due = due;
            conv.owing.insert(member.clone(), debt);
            batch.conversations.insert(conv.id, conv);
            batch.set_timer(Timer { due, ..timer });
            return Ok(());
        }

        let lang = p.language.clone();
        let waiting: Vec<String> = debt.waiting.iter().cloned().collect();
        let text = texts::reply_overdue(
            &lang,
            &conv.subject,
            &city_names(config, &waiting),
            &local_text(config, member, since),
        );
        let info = ReminderInfo {
            reason: ReminderReason::ReplyOverdue,
            conversation: Some(conv.id),
            deliverable: None,
            due: point,
            owed_by: member.clone(),
            waiting: waiting.clone(),
        };
        self.remind(config, batch, &mut conv, &lang, text, info, member_endpoints(config, p, member), now);
        if window >= windows::WINDOWS {
            // The members waiting are told in their own working hours (those hosted here: each
            // instance tells its own).
            for w in waiting.iter().filter(|w| hosted_here(config, w)) {
                batch.set_timer(Timer {
                    key: Timer::waiting_key(conv.id, member, since, w),
                    due: working_due(config, w, now),
                    what: TimerWhat::Waiting {
                        conversation: conv.id,
                        partnership: p.id.clone(),
                        member: member.clone(),
                        waiting: w.clone(),
                        since,
                        point,
                    },
                });
            }
        }
        debt.reminders += 1;
        batch.timer_done(timer.key);
        if let Some(next) = windows::next_window(&debt) {
            // A full window from this reminder, not from the debt's start: two windows that
            // both ended over a weekend must not be reminded together on Monday.
            let point = now.saturating_add(ms(p.reply_within));
            debt.due = working_due(config, member, point);
            batch.set_timer(Timer {
                key: Timer::reply_key(conv.id, member, since, next),
                due: debt.due,
                what: TimerWhat::Reply {
                    conversation: conv.id,
                    partnership: p.id.clone(),
                    member: member.clone(),
                    since,
                    window: next,
                    point,
                },
            });
        }
        conv.owing.insert(member.clone(), debt);
        batch.conversations.insert(conv.id, conv);
        Ok(())
    }

    /// A reminder message in `conv` (its thread on every channel) to `to`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn remind(
        &mut self,
        config: &Config,
        batch: &mut Batch,
        conv: &mut Conversation,
        lang: &str,
        text: String,
        info: ReminderInfo,
        to: Vec<Recipient>,
        now: Millis,
    ) {
        if to.is_empty() {
            if hosted_here(config, &info.owed_by) {
                tracing::warn!(conversation = %conv.id, owed_by = %info.owed_by, "a reminder has no endpoint to go to");
            } else {
                // Its windows run here too (the members waiting here are told when they end).
                tracing::debug!(conversation = %conv.id, owed_by = %info.owed_by, "reminded by its home instance");
            }
            return;
        }
        batch.reminders.push(info.reason);
        let mut message = self.bridge_message(conv, MessageKind::Reminder, text, lang, now);
        message.reminder = Some(info);
        push_entries(&mut batch.commit, &message, to, now, conv, &self.threads);
        batch.commit.messages.push(message);
    }
}
