//! A post becomes records, in steps: dedupe, partnership, the agreed-channel rule, the
//! conversation, the message, its recipients, and the notice its author may need.

use c2c_config::{Config, OtherChannelRule};
use c2c_core::{
    Accepted, Conversation, ConversationId, Message, MessageId, MessageKind, NativeKey, NativeRef, Refusal,
    RefusalReason,
};

use crate::router::batch::{Batch, push_entries};
use crate::router::committer::Committer;
use crate::router::notice;
use crate::router::prepare::Prepared;
use crate::router::recipients::{recipients, reply_endpoint};

impl Committer {
    /// Route one inbound message into `batch`.
    pub(super) fn inbound(&mut self, config: &Config, batch: &mut Batch, p: Prepared) -> Result<Accepted, Refusal> {
        let env = &p.envelope;
        let replayed = match batch.accepted.get(&env.dedupe_key) {
            Some(a) => Some(a.clone()),
            None => self.store.accepted(&env.dedupe_key).map_err(Self::store_error)?,
        };
        if let Some(mut original) = replayed {
            original.replay = true;
            return Ok(original);
        }

        // Which partnership, which conversation.
        if let Some(pid) = &env.partnership
            && config.partnership(pid).is_none()
        {
            return Err(Refusal::new(RefusalReason::UnknownPartnership, format!("no partnership `{pid}`")));
        }
        let mut conversation = self.resolve(config, batch, &p)?;
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

        // The agreed-channel rule.
        let used = env.origin.channel;
        let agreed = partnership.channel_of(&p.author.city).unwrap_or(used);
        let mut notice_needed = false;
        if used != agreed {
            match partnership.on_other_channel {
                OtherChannelRule::Reject => {
                    return Err(Refusal::new(
                        RefusalReason::WrongChannel,
                        notice::rejected_other_channel(
                            &partnership.language,
                            &pid,
                            &p.author.city_name,
                            agreed.as_str(),
                        ),
                    ));
                }
                OtherChannelRule::Relay => {
                    notice_needed =
                        conversation.as_ref().is_none_or(|c| !c.channel_noticed.contains(&p.author.contact));
                }
            }
        }

        // Records.
        let now = self.clock.now();
        let seq = self.seq();
        let message_id = MessageId::new();
        let mut conv = conversation.take().unwrap_or_else(|| Conversation {
            id: ConversationId::new(),
            partnership: pid.clone(),
            subject: subject_for(env.subject.as_deref(), &env.text),
            origin_instance: self.store.instance_id().to_string(),
            started_at: now,
            started_by: Some(p.author.clone()),
            posts: 0,
            posts_by_city: Default::default(),
            last_post_at: None,
            last_post_city: None,
            languages: Default::default(),
            thread_keys: Default::default(),
            channel_noticed: Default::default(),
            email_threads: Default::default(),
        });
        conv.posts += 1;
        *conv.posts_by_city.entry(p.author.city.clone()).or_default() += 1;
        conv.last_post_at = Some(now);
        conv.last_post_city = Some(p.author.city.clone());
        *conv.languages.entry(p.language.code.clone()).or_default() += 1;
        if let Some(key) = &env.thread_key {
            conv.thread_keys.insert(p.author.city.clone(), key.clone());
        }
        let message = Message {
            id: message_id,
            seq,
            kind: MessageKind::Post,
            conversation: conv.id,
            partnership: pid.clone(),
            author: Some(p.author.clone()),
            origin: env.origin.clone(),
            origin_instance: self.store.instance_id().to_string(),
            subject: conv.subject.clone(),
            text: env.text.clone(),
            html: p.html.clone(),
            attachments: env.attachments.clone(),
            language: p.language.clone(),
            received_at: env.received_at,
            committed_at: now,
        };
        if conv.posts == 1 {
            let short = NativeKey::short(&conv.id.short());
            let r = NativeRef { partnership: pid.clone(), conversation: conv.id, message: Some(message_id) };
            batch.natives.insert(short.clone(), r.clone());
            batch.commit.natives.push((short, r));
        }
        if let (c2c_core::Channel::Email, Some(anchor)) = (env.origin.channel, &env.reply_anchor) {
            conv.note_email(&env.sender, anchor);
        }
        let mut to = recipients(config, partnership, &p.author.city);
        if env.origin.channel == c2c_core::Channel::Matrix {
            // Written in a member's portal room (by another member's officer): that room has it.
            to.retain(|r| !(r.channel == c2c_core::Channel::Matrix && env.origin.city.as_ref() == Some(&r.city)));
        }
        push_entries(&mut batch.commit, &message, to, now, &mut conv, self.email_ids(config));
        // The city's thread key, scoped to this partnership (see `by_thread_key`).
        let thread_key = env.thread_key.as_ref().map(|k| NativeKey::webhook_thread(&p.author.city, &pid, k));
        for key in env.native_ids.iter().chain(&thread_key) {
            // A thread key already pointing at this conversation need not be written again.
            if self.native(batch, key)?.is_some_and(|r| r.conversation == conv.id) {
                continue;
            }
            let r = NativeRef { partnership: pid.clone(), conversation: conv.id, message: Some(message_id) };
            batch.natives.insert(key.clone(), r.clone());
            batch.commit.natives.push((key.clone(), r));
        }
        let accepted = Accepted { message: message_id, conversation: conv.id, replay: false };
        batch.accepted.insert(env.dedupe_key.clone(), accepted.clone());
        batch.commit.accepted.push((env.dedupe_key.clone(), accepted.clone()));
        batch.commit.messages.push(message);

        if notice_needed && let Some(endpoint) = reply_endpoint(config, &p.author, &env.origin) {
            conv.channel_noticed.insert(p.author.contact.clone());
            let text =
                notice::relayed_from_other_channel(&partnership.language, &pid, &p.author.city_name, agreed.as_str());
            let notice = self.bridge_message(&conv, MessageKind::Notice, text, &partnership.language, now);
            push_entries(&mut batch.commit, &notice, vec![endpoint], now, &mut conv, self.email_ids(config));
            batch.commit.messages.push(notice);
        }
        batch.conversations.insert(conv.id, conv);
        Ok(accepted)
    }
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
