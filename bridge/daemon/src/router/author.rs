//! Telling an author about their post's deliveries: one failed for good, or one delayed. The
//! entry is recorded in the same commit as the notice, so a crash neither loses nor repeats it.

use c2c_config::Config;
use c2c_core::{MessageKind, OutboxEntry};

use crate::router::batch::{Batch, push_entries};
use crate::router::committer::Committer;
use crate::router::notice;
use crate::router::recipients::reply_endpoint;

impl Committer {
    pub(super) fn delivery_failed(
        &mut self,
        config: &Config,
        batch: &mut Batch,
        entry: &OutboxEntry,
        reason: &str,
    ) -> Result<(), String> {
        self.tell_author(config, batch, entry, MessageKind::DeliveryFailed, |lang, subject, recipient| {
            notice::delivery_failed(lang, subject, recipient, reason)
        })
    }

    /// Tell the author of a post, once, that one of its deliveries is delayed.
    pub(super) fn delivery_delayed(
        &mut self,
        config: &Config,
        batch: &mut Batch,
        entry: &OutboxEntry,
        reason: &str,
        deadline: c2c_core::Millis,
    ) -> Result<(), String> {
        let until = chrono::DateTime::from_timestamp_millis(deadline)
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        self.tell_author(config, batch, entry, MessageKind::Delayed, |lang, subject, recipient| {
            notice::delayed(lang, subject, recipient, reason, &until)
        })
    }

    /// Record `entry` as it is now, with a notice of `kind` to the author of its message
    /// (written by `text` from the partnership's language, the subject and the recipient), in
    /// this batch. Only posts have an author to tell: about a notice, nothing is said (no loops).
    pub(super) fn tell_author(
        &mut self,
        config: &Config,
        batch: &mut Batch,
        entry: &OutboxEntry,
        kind: MessageKind,
        text: impl FnOnce(&str, &str, &str) -> String,
    ) -> Result<(), String> {
        // The entry itself, committed with the notice (or alone when there is none to send).
        batch.commit.outbox.push(entry.clone());
        batch.updated.insert(entry.id.clone());
        let message =
            self.store.message(entry.conversation, entry.seq).map_err(|e| e.to_string())?.ok_or("message not found")?;
        let Some(author) = message.author.as_ref().filter(|_| message.kind == MessageKind::Post) else {
            return Ok(());
        };
        let mut conv = match self.conversation(batch, message.conversation) {
            Ok(Some(c)) => c,
            _ => return Err("conversation not found".into()),
        };
        let endpoint = reply_endpoint(config, author, &message.origin).ok_or("the author has no endpoint")?;
        let lang = config.partnership(&conv.partnership).map(|p| p.language.clone()).unwrap_or_else(|| "en".into());
        let city = config.city(&entry.recipient.city).map(|c| c.name.clone()).unwrap_or(entry.recipient.city.clone());
        let recipient = format!("{city} ({})", entry.recipient.channel);
        let text = text(&lang, &conv.subject, &recipient);
        let now = self.clock.now();
        let notice = self.bridge_message(&conv, kind, text, &lang, now);
        push_entries(&mut batch.commit, &notice, vec![endpoint], now, &mut conv, &self.threads);
        batch.commit.messages.push(notice);
        // Carried along so the notice's delivery sees the conversation's thread keys, and its
        // email thread records the notice.
        batch.conversations.insert(conv.id, conv);
        Ok(())
    }
}
