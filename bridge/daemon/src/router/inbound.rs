//! A post becomes records, in steps: dedupe, partnership, the agreed-channel rule, the
//! conversation (and who owes a reply now), the message, its recipients, and the notice its
//! author may need. A command (`/close`, ...) leaves the steps after the partnership for
//! `commands`. A replica from another instance (`Prepared.assigned`) keeps its ids and skips
//! the command and agreed-channel steps, which its origin applied.

use c2c_config::{Config, OtherChannelRule, Partnership};
use c2c_core::{
    Accepted, Conversation, ConversationId, Message, MessageId, MessageKind, Millis, NativeKey, NativeRef, Recipient,
    Refusal, RefusalReason,
};

use crate::router::batch::{Batch, push_entries};
use crate::router::committer::Committer;
use crate::router::notice;
use crate::router::prepare::Prepared;
use crate::router::recipients::{recipients, reply_endpoint};

impl Committer {
    /// Route one inbound post into `batch`: each step below, in order; a refusal at any step
    /// leaves the batch unchanged.
    pub(super) fn inbound(&mut self, config: &Config, batch: &mut Batch, p: Prepared) -> Result<Accepted, Refusal> {
        if let Some(original) = self.replayed(batch, &p.envelope.dedupe_key)? {
            return Ok(original);
        }
        if let Some(prev) = p.assigned.as_ref().and_then(|a| a.prev.as_ref())
            && self.replayed(batch, prev)?.is_none()
        {
            return Err(Refusal::new(
                RefusalReason::Gap,
                format!("the message before this one ({}) has not arrived here; send it first", prev.0),
            ));
        }
        let (partnership, conversation) = self.partnership_and_conversation(config, batch, &p)?;
        // A replica's origin applied the commands and the agreed-channel rule already (commands
        // are never relayed, so one is never a command here).
        if p.assigned.is_none() {
            let command = c2c_followup::command::parse(&p.envelope.text);
            if command != c2c_followup::command::Parsed::NotACommand {
                return self.command(config, batch, partnership, conversation, &p, command);
            }
        }
        let notice_needed = p.assigned.is_none() && agreed_channel_rule(partnership, conversation.as_ref(), &p)?;
        let now = self.clock.now();
        let mut conv = self.continue_or_open(conversation, partnership, &p, now);
        self.owing_after_post(config, batch, partnership, &mut conv, &p.author.city, now);
        let message = self.post(&conv, &p, now);
        let env = &p.envelope;
        self.threads.note_inbound(&mut conv, env, &p.author.city);
        push_entries(
            &mut batch.commit,
            &message,
            post_recipients(config, partnership, &p),
            now,
            &mut conv,
            &self.threads,
        );
        self.note_native_ids(batch, &conv, &message, &p)?;
        let accepted = Accepted { message: message.id, conversation: conv.id, replay: false, at: Some(now) };
        batch.accepted.insert(env.dedupe_key.clone(), accepted.clone());
        batch.commit.accepted.push((env.dedupe_key.clone(), accepted.clone()));
        batch.commit.messages.push(message);
        if notice_needed {
            self.other_channel_notice(config, batch, partnership, &mut conv, &p, now);
        }
        batch.conversations.insert(conv.id, conv);
        Ok(accepted)
    }

    /// Dedupe: the answer this post got when it was first accepted, marked as a replay.
    fn replayed(&self, batch: &Batch, key: &NativeKey) -> Result<Option<Accepted>, Refusal> {
        let original = match batch.accepted.get(key) {
            Some(a) => Some(a.clone()),
            None => self.store.accepted(key).map_err(Self::store_error)?,
        };
        Ok(original.map(|mut a| {
            a.replay = true;
            a
        }))
    }

    /// The partnership the post belongs to (named by its source, or by the conversation it
    /// continues) and that conversation, if any; the author's city must be a member.
    fn partnership_and_conversation<'c>(
        &self,
        config: &'c Config,
        batch: &Batch,
        p: &Prepared,
    ) -> Result<(&'c Partnership, Option<Conversation>), Refusal> {
        let env = &p.envelope;
        if let Some(pid) = &env.partnership
            && config.partnership(pid).is_none()
        {
            return Err(Refusal::new(RefusalReason::UnknownPartnership, format!("no partnership `{pid}`")));
        }
        let conversation = self.resolve(config, batch, p)?;
        let pid = conversation.as_ref().map(|c| c.partnership.clone()).or_else(|| env.partnership.clone()).ok_or_else(
            || {
                Refusal::new(
                    RefusalReason::UnknownPartnership,
                    "no partnership given and no known conversation referred to",
                )
            },
        )?;
        let partnership = config
            .partnership(&pid)
            .ok_or_else(|| Refusal::new(RefusalReason::UnknownPartnership, format!("no partnership `{pid}`")))?;
        if !partnership.members.contains(&p.author.city) {
            return Err(Refusal::new(
                RefusalReason::NotAMember,
                format!("{} is not a member of the partnership `{pid}`", p.author.city),
            ));
        }
        Ok((partnership, conversation))
    }

    /// The conversation record after this post: the one continued, or a new one.
    pub(super) fn continue_or_open(
        &self,
        conversation: Option<Conversation>,
        partnership: &Partnership,
        p: &Prepared,
        now: Millis,
    ) -> Conversation {
        let env = &p.envelope;
        let mut conv = conversation.unwrap_or_else(|| {
            // A replica's conversation keeps its id and belongs to the instance that opened it.
            let (id, owner) = match &p.assigned {
                Some(a) => (a.conversation, a.origin_instance.as_str()),
                None => (ConversationId::new(), self.store.instance_id()),
            };
            Conversation::new(
                id,
                &partnership.id,
                subject_for(env.subject.as_deref(), &env.text),
                owner,
                now,
                Some(p.author.clone()),
            )
        });
        conv.posts += 1;
        *conv.posts_by_city.entry(p.author.city.clone()).or_default() += 1;
        conv.last_post_at = Some(now);
        conv.last_post_city = Some(p.author.city.clone());
        *conv.languages.entry(p.language.code.clone()).or_default() += 1;
        conv
    }

    /// The post's message record, next in commit order.
    pub(super) fn post(&mut self, conv: &Conversation, p: &Prepared, now: Millis) -> Message {
        let env = &p.envelope;
        let (id, origin_instance) = match &p.assigned {
            Some(a) => (a.message, a.origin_instance.clone()),
            None => (MessageId::new(), self.store.instance_id().to_string()),
        };
        Message {
            id,
            seq: self.seq(),
            kind: MessageKind::Post,
            conversation: conv.id,
            partnership: conv.partnership.clone(),
            author: Some(p.author.clone()),
            origin: env.origin.clone(),
            origin_instance,
            subject: conv.subject.clone(),
            text: env.text.clone(),
            html: p.html.clone(),
            attachments: env.attachments.clone(),
            language: p.language.clone(),
            received_at: env.received_at,
            committed_at: now,
            reminder: None,
        }
    }

    /// The id map: the conversation's short id (with its first post), the post's native ids
    /// and the author's thread key (scoped to this partnership, see `by_thread_key`), so
    /// replies citing any of them find the conversation.
    pub(super) fn note_native_ids(
        &self,
        batch: &mut Batch,
        conv: &Conversation,
        message: &Message,
        p: &Prepared,
    ) -> Result<(), Refusal> {
        let env = &p.envelope;
        let pid = &conv.partnership;
        if conv.posts == 1 {
            let short = NativeKey::short(&conv.id.short());
            let r = NativeRef { partnership: pid.clone(), conversation: conv.id, message: Some(message.id) };
            batch.natives.insert(short.clone(), r.clone());
            batch.commit.natives.push((short, r));
        }
        let thread_key = env.thread_key.as_ref().map(|k| NativeKey::webhook_thread(&p.author.city, pid, k));
        for key in env.native_ids.iter().chain(&thread_key) {
            // A thread key already pointing at this conversation need not be written again.
            if self.native(batch, key)?.is_some_and(|r| r.conversation == conv.id) {
                continue;
            }
            let r = NativeRef { partnership: pid.clone(), conversation: conv.id, message: Some(message.id) };
            batch.natives.insert(key.clone(), r.clone());
            batch.commit.natives.push((key.clone(), r));
        }
        Ok(())
    }

    /// Tell the author, once per conversation, that the partnership lives on another channel.
    fn other_channel_notice(
        &mut self,
        config: &Config,
        batch: &mut Batch,
        partnership: &Partnership,
        conv: &mut Conversation,
        p: &Prepared,
        now: Millis,
    ) {
        let Some(endpoint) = reply_endpoint(config, &p.author, &p.envelope.origin) else {
            return;
        };
        let agreed = partnership.channel_of(&p.author.city).unwrap_or(p.envelope.origin.channel);
        conv.channel_noticed.insert(p.author.contact.clone());
        let text = notice::relayed_from_other_channel(
            &partnership.language,
            &partnership.id,
            &p.author.city_name,
            agreed.as_str(),
        );
        let notice = self.bridge_message(conv, MessageKind::Notice, text, &partnership.language, now);
        push_entries(&mut batch.commit, &notice, vec![endpoint], now, conv, &self.threads);
        batch.commit.messages.push(notice);
    }
}

/// The agreed-channel rule: a post on another channel than the author's city agreed is refused
/// (`reject`) or relayed (`relay`); `Ok(true)` when the author must be told, once per
/// conversation.
fn agreed_channel_rule(
    partnership: &Partnership,
    conversation: Option<&Conversation>,
    p: &Prepared,
) -> Result<bool, Refusal> {
    let used = p.envelope.origin.channel;
    let agreed = partnership.channel_of(&p.author.city).unwrap_or(used);
    if used == agreed {
        return Ok(false);
    }
    match partnership.on_other_channel {
        OtherChannelRule::Reject => Err(Refusal::new(
            RefusalReason::WrongChannel,
            notice::rejected_other_channel(
                &partnership.language,
                &partnership.id,
                &p.author.city_name,
                agreed.as_str(),
            ),
        )),
        OtherChannelRule::Relay => Ok(conversation.is_none_or(|c| !c.channel_noticed.contains(&p.author.contact))),
    }
}

/// Who receives a post: every other member's contacts on that member's agreed channel, except
/// a Matrix portal room the post was written in (that room has it already). A replica goes to
/// this instance's own cities only: its origin sends to every instance hosting a member itself.
fn post_recipients(config: &Config, partnership: &Partnership, p: &Prepared) -> Vec<Recipient> {
    let env = &p.envelope;
    let mut to = recipients(config, partnership, &p.author.city);
    if p.assigned.is_some() {
        to.retain(|r| c2c_config::spec(r.channel).agreed);
    }
    if env.origin.channel == c2c_core::Channel::Matrix {
        to.retain(|r| !(r.channel == c2c_core::Channel::Matrix && env.origin.city.as_ref() == Some(&r.city)));
    }
    to
}

/// The subject of a new conversation: the one given, else the text's first line, at most 80
/// characters.
pub fn subject_for(subject: Option<&str>, text: &str) -> String {
    let raw =
        subject.map(str::trim).filter(|s| !s.is_empty()).unwrap_or_else(|| text.trim().lines().next().unwrap_or(""));
    let mut s: String = raw.chars().take(80).collect();
    if raw.chars().count() > 80 {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::subject_for;

    #[test]
    fn subjects_come_from_the_first_line() {
        assert_eq!(subject_for(Some(" MoU draft "), "x"), "MoU draft");
        assert_eq!(subject_for(None, "\n First line\nsecond"), "First line");
        assert_eq!(subject_for(Some(""), &"a".repeat(100)).chars().count(), 81);
    }
}
