//! Digests in the committer: each member of a partnership with `digest = "weekly" | "daily"` has
//! one timer, for its next period (`c2c_followup::digest`, in the member's zone); when it falls
//! due the member's contacts get a summary on their agreed channel (open threads and who owes
//! them, deliverables due in the next two weeks or overdue), in the partnership's digest
//! conversation (opened by the bridge with the first), and the next period's timer is written,
//! all in one commit: one digest per period, whatever crashes or restarts.

use c2c_config::{Config, Partnership};
use c2c_core::{Conversation, ConversationId, MessageKind, Millis, NativeKey, NativeRef, StoreError, Timer, TimerWhat};
use c2c_followup::{digest, texts};

use crate::router::batch::{Batch, push_entries};
use crate::router::committer::Committer;
use crate::router::deliverables::due_text;
use crate::router::followup::{city_names, local_text};
use crate::router::recipients::member_endpoints;

/// Deliverables due within this long are in a digest.
const DUE_SOON: Millis = 14 * 86_400_000;

/// The timer of `member`'s next digest of `p` after `after`, if `p` has digests.
fn next_timer(config: &Config, p: &Partnership, member: &str, after: Millis) -> Option<Timer> {
    let d = p.digest?;
    let city = config.city(member)?;
    let after = chrono::DateTime::from_timestamp_millis(after)?;
    let period = digest::next(&d, city.timezone, &city.working, after)?;
    let at = period.at.timestamp_millis();
    Some(Timer {
        key: Timer::digest_key(&p.id, member, &period.name),
        due: at,
        what: TimerWhat::Digest { partnership: p.id.clone(), member: member.to_string(), period: period.name, at },
    })
}

impl Committer {
    /// Write each member's next digest timer, for every partnership with digests.
    pub(super) fn plan_digests(&mut self, config: &Config, batch: &mut Batch) {
        let now = self.clock.now();
        for p in &config.partnerships {
            for member in &p.members {
                if let Some(t) = next_timer(config, p, member, now) {
                    batch.set_timer(t);
                }
            }
        }
    }

    /// A digest's moment came: send it if the partnership still has digests and the member is
    /// still one, then write the next period's timer.
    pub(super) fn digest_due(
        &mut self,
        config: &Config,
        batch: &mut Batch,
        timer: Timer,
        now: Millis,
    ) -> Result<(), StoreError> {
        let TimerWhat::Digest { ref partnership, ref member, at, .. } = timer.what else {
            return Ok(());
        };
        let Some(p) = config.partnership(partnership).filter(|p| p.digest.is_some() && p.has_member(member)) else {
            batch.timer_done(timer.key);
            return Ok(());
        };
        let text = self.digest_text(config, batch, p, member, at, now)?;
        let mut conv = self.digest_conversation(batch, p, now)?;
        batch.timer_done(timer.key);
        let mut message = self.bridge_message(&conv, MessageKind::Digest, text, &p.language, now);
        message.subject = conv.subject.clone();
        push_entries(&mut batch.commit, &message, member_endpoints(config, p, member), now, &mut conv, &self.threads);
        batch.commit.messages.push(message);
        batch.conversations.insert(conv.id, conv);
        // The next period after this one, or after now when it came late: missed periods are
        // not caught up one by one.
        if let Some(next) = next_timer(config, p, member, now.max(at)) {
            batch.set_timer(next);
        }
        Ok(())
    }

    /// What `member` reads: open threads and who owes them, deliverables due soon or overdue.
    fn digest_text(
        &self,
        config: &Config,
        batch: &Batch,
        p: &Partnership,
        member: &str,
        at: Millis,
        now: Millis,
    ) -> Result<String, StoreError> {
        let lang = p.language.as_str();
        let mut conversations = self.store.conversations(Some(&p.id))?;
        for c in &mut conversations {
            if let Some(newer) = batch.conversations.get(&c.id) {
                *c = newer.clone();
            }
        }
        let mut threads: Vec<(Millis, String)> = Vec::new();
        for c in conversations.iter().filter(|c| c.closed_at.is_none()) {
            for (owed_by, debt) in &c.owing {
                let line = texts::digest_thread(
                    lang,
                    &c.subject,
                    &city_names(config, [owed_by]),
                    &city_names(config, &debt.waiting),
                    &local_text(config, member, debt.since),
                );
                threads.push((debt.since, line));
            }
        }
        threads.sort();
        let mut lines: Vec<String> = threads.into_iter().map(|(_, l)| l).collect();
        for d in &p.deliverables {
            let due = d.due.timestamp_millis();
            if due > now + DUE_SOON || self.deliverable_state(batch, &p.id, &d.id)?.done_at.is_some() {
                continue;
            }
            lines.push(texts::status_deliverable(lang, &d.title, &d.id, &due_text(config, d, member), due < now));
        }
        let zone = config.city(member).map(|c| c.timezone).unwrap_or(chrono_tz::UTC);
        let period = chrono::DateTime::from_timestamp_millis(at)
            .map(|t| t.with_timezone(&zone).format("%a %-d %b %Y").to_string())
            .unwrap_or_default();
        let mut text = texts::digest_heading(lang, &p.id, &period);
        if lines.is_empty() {
            text.push('\n');
            text.push_str(&texts::digest_nothing(lang));
        }
        for line in lines {
            text.push_str("\n- ");
            text.push_str(&line);
        }
        Ok(text)
    }

    /// The partnership's digest conversation, opened (and named in the id map) with the first
    /// digest.
    fn digest_conversation(
        &mut self,
        batch: &mut Batch,
        p: &Partnership,
        now: Millis,
    ) -> Result<Conversation, StoreError> {
        let key = NativeKey::digest(&p.id);
        let found = self.native(batch, &key).map_err(|r| StoreError::new(r.detail, true))?;
        if let Some(r) = found
            && let Some(conv) = self.conversation(batch, r.conversation).map_err(|r| StoreError::new(r.detail, true))?
        {
            return Ok(conv);
        }
        let conv = Conversation::new(
            ConversationId::new(),
            &p.id,
            format!("{}: digest", p.id),
            self.store.instance_id(),
            now,
            None,
        );
        let r = NativeRef { partnership: p.id.clone(), conversation: conv.id, message: None };
        let short = NativeKey::short(&conv.id.short());
        for k in [key, short] {
            batch.natives.insert(k.clone(), r.clone());
            batch.commit.natives.push((k, r.clone()));
        }
        Ok(conv)
    }
}
