//! The second, sequential stage of routing: resolve the conversation, apply the agreed-channel
//! rule, build the records, and commit them in groups.
//!
//! One task owns this stage, so conversation resolution and dedupe never race, and commit order
//! is a single sequence (`seq`) that deliveries follow. It takes every piece of work waiting in
//! its queue (up to a limit), processes them in memory, commits them with one durable write
//! (group commit), and only then answers each sender.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use c2c_config::{CommitMode, Config, OtherChannelRule};
use c2c_core::{
    Accepted, Commit, Conversation, ConversationId, DeliveryStatus, InstanceKey, LanguageTag, Message, MessageId,
    MessageKind, NativeKey, NativeRef, OutboxEntry, OutboxId, Recipient, Refusal, RefusalReason, Store, ThreadRef,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::outbox::{Context, Queued};

use crate::clock::Clock;
use crate::live::Live;
use crate::metrics::Metrics;
use crate::router::notice;
use crate::router::prepare::Prepared;
use crate::router::recipients::{recipients, reply_endpoint};

/// The most pieces of work one group commit takes.
const MAX_BATCH: usize = 1024;

/// A piece of work for the committer.
#[derive(Debug)]
pub enum Work {
    /// An identified inbound message; the answer goes back on the channel.
    Inbound(Box<Prepared>, oneshot::Sender<Result<Accepted, Refusal>>),
    /// A delivery failed for good: record it and tell the author, in one commit; `done` is
    /// answered once that is durable.
    DeliveryFailed { entry: Box<OutboxEntry>, reason: String, done: oneshot::Sender<bool> },
    /// A delivery is delayed: record the entry (noticed) and tell the author, in one commit;
    /// `done` is answered once that is durable.
    DeliveryDelayed { entry: Box<OutboxEntry>, reason: String, deadline: c2c_core::Millis, done: oneshot::Sender<bool> },
}

/// Where an inbound message's answer goes once its batch is durable.
type Reply = oneshot::Sender<Result<Accepted, Refusal>>;

/// What a group hands on once it is durable: answers to senders, entries to the scheduler.
struct Handoff {
    answers: Vec<(Reply, Result<Accepted, Refusal>, c2c_core::Channel)>,
    /// Failed and delayed deliveries recorded in the group (see [`Work::DeliveryFailed`],
    /// [`Work::DeliveryDelayed`]).
    failures: Vec<oneshot::Sender<bool>>,
    queued: Vec<Queued>,
    outbox: mpsc::UnboundedSender<Vec<Queued>>,
    metrics: Arc<Metrics>,
}

impl Handoff {
    fn succeed(self) {
        // Counted before anything leaves: whoever sees an answer or a delivery of this group
        // finds it in the metrics.
        for (_, result, channel) in &self.answers {
            match result {
                Ok(a) if a.replay => self.metrics.replayed(*channel),
                Ok(_) => self.metrics.relayed(*channel),
                Err(r) => self.metrics.refused(*channel, r.reason),
            }
        }
        if !self.queued.is_empty() {
            // The scheduler lives as long as the daemon; if it is gone we are stopping and the
            // entries are on disk for the next start.
            let _ = self.outbox.send(self.queued);
        }
        for (reply, result, _) in self.answers {
            let _ = reply.send(result);
        }
        for done in self.failures {
            let _ = done.send(true);
        }
    }

    fn fail(self, e: &c2c_core::StoreError) {
        tracing::error!(error = %e, "commit failed; answering the group as unavailable so sources retry");
        for (reply, result, channel) in self.answers {
            let result = result.and_then(|_| {
                Err(Refusal::new(RefusalReason::Unavailable, "the bridge could not store the message; retry later"))
            });
            if let Err(r) = &result {
                self.metrics.refused(channel, r.reason);
            }
            let _ = reply.send(result);
        }
        for done in self.failures {
            let _ = done.send(false);
        }
    }
}

/// The group's new outbox entries with what their deliveries need, so the scheduler does not
/// read back what was just written. `updated` are entries the group only records (a failure,
/// a delay notice sent): the scheduler has them already.
fn queued_entries(
    commit: &Commit,
    conversations: &HashMap<ConversationId, Conversation>,
    updated: &HashSet<OutboxId>,
) -> Vec<Queued> {
    let mut contexts: HashMap<MessageId, Arc<Context>> = HashMap::new();
    for m in &commit.messages {
        let (subject, thread_keys) = match conversations.get(&m.conversation) {
            Some(c) => (c.subject.clone(), c.thread_keys.clone()),
            None => (m.subject.clone(), Default::default()),
        };
        contexts.insert(m.id, Arc::new(Context { message: m.clone(), subject, thread_keys }));
    }
    commit
        .outbox
        .iter()
        .filter(|e| e.status.is_pending() && !updated.contains(&e.id))
        .map(|e| Queued { entry: e.clone(), context: contexts.get(&e.message).cloned() })
        .collect()
}

/// The committer's state.
pub struct Committer {
    pub config: Live<Config>,
    pub store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    pub mode: CommitMode,
    /// New outbox entries go to the delivery scheduler once committed.
    pub outbox: mpsc::UnboundedSender<Vec<Queued>>,
    pub bridge_name: String,
    /// Cancelled when the store fails to stage or flush a group: nothing written after that can
    /// be trusted to reach the disk (sled refuses every write after an I/O error), so the
    /// daemon stops and a restart recovers from what is on disk.
    pub store_failed: c2c_core::Shutdown,
    next_seq: u64,
    /// Tags the Message-IDs of email deliveries (see `c2c_core::InstanceKey`).
    key: InstanceKey,
    /// Commit times are read on it.
    clock: Clock,
}

impl std::fmt::Debug for Committer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Committer").field("next_seq", &self.next_seq).finish_non_exhaustive()
    }
}

/// Changes made by the work of one batch, before they are committed.
#[derive(Default)]
struct Batch {
    commit: Commit,
    /// Conversations touched in this batch, newest state.
    conversations: HashMap<ConversationId, Conversation>,
    natives: HashMap<NativeKey, NativeRef>,
    accepted: HashMap<NativeKey, Accepted>,
    /// Answers to send once the batch is durable.
    answers: Vec<(Reply, Result<Accepted, Refusal>, c2c_core::Channel)>,
    failures: Vec<oneshot::Sender<bool>>,
    /// Outbox entries recorded as updates, not new deliveries.
    updated: HashSet<OutboxId>,
}

impl Committer {
    pub fn new(
        config: Live<Config>,
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        outbox: mpsc::UnboundedSender<Vec<Queued>>,
        key: InstanceKey,
        clock: Clock,
    ) -> Result<Self, c2c_core::StoreError> {
        let cfg = config.get();
        let next_seq = store.last_seq()? + 1;
        Ok(Self {
            mode: cfg.bridge.commit,
            bridge_name: cfg.bridge.name.clone(),
            config,
            store,
            metrics,
            outbox,
            store_failed: c2c_core::Shutdown::new(),
            next_seq,
            key,
            clock,
        })
    }

    /// Run until `stop` is cancelled; then refuse new work and finish what is queued.
    pub async fn run(mut self, mut rx: mpsc::Receiver<Work>, stop: c2c_core::Shutdown) {
        let max = match self.mode {
            CommitMode::Group => MAX_BATCH,
            CommitMode::Each => 1,
        };
        let mut work = Vec::with_capacity(max);
        let mut closed = false;
        // The hand-off of the group before: the next one waits for it, so the scheduler gets
        // entries (and senders their answers) in commit order.
        let mut previous: Option<JoinHandle<()>> = None;
        loop {
            tokio::select! {
                n = rx.recv_many(&mut work, max) => {
                    if n == 0 {
                        break;
                    }
                    previous = self.process(std::mem::take(&mut work), previous.take()).await;
                }
                _ = stop.cancelled(), if !closed => {
                    // Senders now get an error (answered as "unavailable, retry"); what is
                    // already queued is still committed and answered.
                    rx.close();
                    closed = true;
                }
            }
        }
        if let Some(p) = previous {
            let _ = p.await;
        }
        tracing::debug!("committer stopped");
    }

    /// Route one group of work and stage it in the store. In group mode, waiting for the flush
    /// and handing off happen in a task, so the next group is routed and staged while this one
    /// is being flushed; in `each` mode, they happen before the next message is looked at.
    async fn process(&mut self, work: Vec<Work>, previous: Option<JoinHandle<()>>) -> Option<JoinHandle<()>> {
        let config = self.config.get();
        let mut batch = Batch::default();
        let mut messages = 0;
        for w in work {
            match w {
                Work::Inbound(prepared, reply) => {
                    let channel = prepared.envelope.origin.channel;
                    let result = self.inbound(&config, &mut batch, *prepared);
                    messages += 1;
                    batch.answers.push((reply, result, channel));
                }
                Work::DeliveryFailed { entry, reason, done } => {
                    if let Err(e) = self.delivery_failed(&config, &mut batch, &entry, &reason) {
                        tracing::warn!(entry = %entry.id, error = %e, "could not tell the author about a failed delivery");
                    }
                    batch.failures.push(done);
                }
                Work::DeliveryDelayed { entry, reason, deadline, done } => {
                    if let Err(e) = self.delivery_delayed(&config, &mut batch, &entry, &reason, deadline) {
                        tracing::warn!(entry = %entry.id, error = %e, "could not tell the author about a delayed delivery");
                    }
                    batch.failures.push(done);
                }
            }
        }
        self.metrics.commit_batch(messages);
        let Batch { mut commit, conversations, answers, failures, updated, .. } = batch;
        let queued = queued_entries(&commit, &conversations, &updated);
        commit.conversations = conversations.into_values().collect();
        let handoff = Handoff { answers, failures, queued, outbox: self.outbox.clone(), metrics: self.metrics.clone() };
        let store = self.store.clone();
        let staging = std::time::Instant::now();
        // Off the async workers: staging may wait for a running flush (see `Store::stage`).
        let staged = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.stage(commit))
                .await
                .unwrap_or_else(|e| Err(c2c_core::StoreError::new(format!("staging task: {e}"), true)))
        };
        self.metrics.stage_time(staging.elapsed().as_secs_f64());
        let staged = match staged {
            Ok(staged) => staged,
            Err(e) => {
                handoff.fail(&e);
                self.store_failed.cancel();
                return previous;
            }
        };
        let metrics = self.metrics.clone();
        let store_failed = self.store_failed.clone();
        let finish = async move {
            let waited = std::time::Instant::now();
            let durable = store.durable(staged).await;
            metrics.durable_wait(waited.elapsed().as_secs_f64());
            if let Some(p) = previous {
                let _ = p.await;
            }
            match durable {
                Ok(()) => handoff.succeed(),
                Err(e) => {
                    handoff.fail(&e);
                    store_failed.cancel();
                }
            }
        };
        match self.mode {
            CommitMode::Group => Some(tokio::spawn(finish)),
            CommitMode::Each => {
                finish.await;
                None
            }
        }
    }

    fn seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    fn store_error(e: c2c_core::StoreError) -> Refusal {
        tracing::error!(error = %e, "store read failed");
        Refusal::new(RefusalReason::Unavailable, "the bridge could not read its store; retry later")
    }

    fn conversation(&self, batch: &Batch, id: ConversationId) -> Result<Option<Conversation>, Refusal> {
        if let Some(c) = batch.conversations.get(&id) {
            return Ok(Some(c.clone()));
        }
        self.store.conversation(id).map_err(Self::store_error)
    }

    fn native(&self, batch: &Batch, key: &NativeKey) -> Result<Option<NativeRef>, Refusal> {
        if let Some(r) = batch.natives.get(key) {
            return Ok(Some(r.clone()));
        }
        self.store.native(key).map_err(Self::store_error)
    }

    /// Route one inbound message into `batch`.
    fn inbound(&mut self, config: &Config, batch: &mut Batch, p: Prepared) -> Result<Accepted, Refusal> {
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

    /// The conversation an envelope continues, if any: an explicit id first, then the webhook
    /// thread key, then the first thread reference the store knows in a partnership of the
    /// author's city (the named one, when one is named).
    fn resolve(&self, config: &Config, batch: &Batch, p: &Prepared) -> Result<Option<Conversation>, Refusal> {
        let env = &p.envelope;
        if let Some(id) = &env.conversation {
            let unknown = || Refusal::new(RefusalReason::UnknownConversation, format!("no conversation `{id}`"));
            let cid: ConversationId = id.parse().map_err(|_| unknown())?;
            let conv = self.conversation(batch, cid)?.ok_or_else(unknown)?;
            if let Some(pid) = &env.partnership
                && *pid != conv.partnership
            {
                return Err(Refusal::new(
                    RefusalReason::UnknownConversation,
                    format!("conversation `{id}` belongs to the partnership `{}`, not `{pid}`", conv.partnership),
                ));
            }
            return Ok(Some(conv));
        }
        if let Some(key) = &env.thread_key
            && let Some(conv) = self.by_thread_key(config, batch, p, key)?
        {
            return Ok(Some(conv));
        }
        for hint in &env.thread_refs {
            let found = match hint {
                ThreadRef::Native(key) => self.native(batch, key)?.map(|r| r.conversation),
                ThreadRef::Conversation(id) => id.parse::<ConversationId>().ok(),
                ThreadRef::Short(short) => self.native(batch, &NativeKey::short(short))?.map(|r| r.conversation),
            };
            let Some(conv) = found.map(|id| self.conversation(batch, id)).transpose()?.flatten() else {
                continue;
            };
            if env.partnership.as_ref().is_some_and(|pid| *pid != conv.partnership) {
                continue;
            }
            // A hint is only believed for a partnership the author's city is in: a guessed or
            // mistyped tag must not pull a stranger's thread, and an old id in a long
            // References list (a thread forwarded from another partnership) must not refuse the
            // mail when a later hint, or the address, names the right one.
            if !config.partnership(&conv.partnership).is_some_and(|ps| ps.members.contains(&p.author.city)) {
                continue;
            }
            return Ok(Some(conv));
        }
        Ok(None)
    }

    /// The conversation a webhook thread key names. A key is the author's city's own and names
    /// one conversation per partnership: it is looked up in the named partnership, or, when none
    /// is named, in each partnership of the city (a key found in several is ambiguous and
    /// refused: the city must name the partnership). A key recorded before keys were scoped per
    /// partnership (`NativeKey::legacy_webhook_thread`, one per city) is believed for the
    /// partnership its record names, until the scoped key is written by the post it resolves.
    fn by_thread_key(
        &self,
        config: &Config,
        batch: &Batch,
        p: &Prepared,
        key: &str,
    ) -> Result<Option<Conversation>, Refusal> {
        let city = &p.author.city;
        let partnerships: Vec<&str> = match &p.envelope.partnership {
            Some(pid) => vec![pid.as_str()],
            None => config.partnerships_of(city).map(|ps| ps.id.as_str()).collect(),
        };
        let mut legacy: Option<Option<NativeRef>> = None;
        let mut found: Vec<NativeRef> = Vec::new();
        for pid in partnerships {
            let scoped = self.native(batch, &NativeKey::webhook_thread(city, pid, key))?;
            let r = match scoped {
                Some(r) => Some(r),
                None => {
                    if legacy.is_none() {
                        legacy = Some(self.native(batch, &NativeKey::legacy_webhook_thread(city, key))?);
                    }
                    legacy.clone().flatten().filter(|r| r.partnership == pid)
                }
            };
            found.extend(r);
        }
        match found.as_slice() {
            [] => Ok(None),
            [one] => self.conversation(batch, one.conversation),
            several => {
                let names: Vec<String> = several.iter().map(|r| format!("`{}`", r.partnership)).collect();
                Err(Refusal::new(
                    RefusalReason::UnknownPartnership,
                    format!(
                        "the thread key {key:?} names conversations in the partnerships {}: name the partnership",
                        names.join(", ")
                    ),
                ))
            }
        }
    }

    /// A message written by the bridge in `conv`.
    fn bridge_message(
        &mut self,
        conv: &Conversation,
        kind: MessageKind,
        text: String,
        lang: &str,
        now: i64,
    ) -> Message {
        Message {
            id: MessageId::new(),
            seq: self.seq(),
            kind,
            conversation: conv.id,
            partnership: conv.partnership.clone(),
            author: None,
            origin: c2c_core::Origin {
                channel: c2c_core::Channel::Webhook,
                city: None,
                address: self.bridge_name.clone(),
            },
            origin_instance: self.store.instance_id().to_string(),
            subject: conv.subject.clone(),
            text,
            html: None,
            attachments: Vec::new(),
            language: LanguageTag { code: lang.to_string(), confidence: 1.0, script: String::new() },
            received_at: now,
            committed_at: now,
        }
    }

    /// How email deliveries are named, when the bridge has a mail address.
    fn email_ids<'a>(&'a self, config: &'a Config) -> Option<EmailIds<'a>> {
        email_domain(config).map(|domain| EmailIds { domain, key: &self.key })
    }

    /// Tell the author of a post that one of its deliveries failed for good.
    fn delivery_failed(
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
    fn delivery_delayed(
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
    fn tell_author(
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
        push_entries(&mut batch.commit, &notice, vec![endpoint], now, &mut conv, self.email_ids(config));
        batch.commit.messages.push(notice);
        // Carried along so the notice's delivery sees the conversation's thread keys, and its
        // email thread records the notice.
        batch.conversations.insert(conv.id, conv);
        Ok(())
    }
}

/// One outbox entry per recipient of `message`. Email deliveries join their recipient's thread
/// in `conv` (their References are the thread so far).
fn push_entries(
    commit: &mut Commit,
    message: &Message,
    to: Vec<Recipient>,
    now: i64,
    conv: &mut Conversation,
    email: Option<EmailIds<'_>>,
) {
    for (i, recipient) in to.into_iter().enumerate() {
        let mut entry = OutboxEntry {
            id: OutboxId::for_recipient(message.id, i),
            seq: message.seq,
            message: message.id,
            conversation: message.conversation,
            partnership: message.partnership.clone(),
            recipient,
            status: DeliveryStatus::Scheduled,
            attempts: 0,
            next_due: now,
            last_error: None,
            created_at: now,
            updated_at: now,
            delivered_at: None,
            references: Vec::new(),
            delay_noticed_at: None,
        };
        if let (c2c_core::Channel::Email, Some(ids)) = (entry.recipient.channel, &email) {
            entry.references =
                conv.note_email(&entry.recipient.address, &ids.key.email_message_id(&entry.id, ids.domain));
        }
        commit.outbox.push(entry);
    }
}

/// What an email delivery's Message-ID is made of: the bridge's mail domain and the instance key.
#[derive(Clone, Copy)]
struct EmailIds<'a> {
    domain: &'a str,
    key: &'a InstanceKey,
}

/// The domain of the bridge's mail address, if it has one (Message-IDs are made on it).
fn email_domain(config: &Config) -> Option<&str> {
    config.connectors.email.as_ref().and_then(|e| e.address.split_once('@')).map(|(_, d)| d)
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
