//! Recipients' threads of a conversation: one mechanism for every channel.
//!
//! Each endpoint (an officer's mail address, a city's webhook, a portal room, a peer instance)
//! has its own thread of a conversation: the native ids that continue it there (the Message-IDs
//! a mail replies to, the thread key a city's system last used, the event a Matrix thread hangs
//! from, the last message a peer was sent). They live in the conversation record
//! ([`Conversation::threads`], keyed by [`Threads::key`]) and change only in the commit that
//! changes them, written by the router's committer, the one writer of conversations.
//!
//! A channel says how its threads grow with a [`Threading`], implemented in its connector's
//! crate and registered in the daemon's `channels.rs`:
//! - what an inbound post adds to its sender's thread ([`Threading::inbound`]);
//! - what a delivery will be known by when that is known at commit ([`Threading::stamp`]: an
//!   email's Message-ID, a peer envelope's global id). The thread as it stood is then stamped on
//!   the outbox entry (`OutboxEntry::references`), so a retry sends exactly what was committed;
//! - or that the send reports it ([`Threading::learns_from_receipts`]: the first event a Matrix
//!   room gets for a conversation becomes its thread root). The scheduler commits
//!   `Receipt::thread` before it records the delivery as made, and the next delivery to that
//!   endpoint, which waits for it in the endpoint's queue, reads it back;
//! - how much of a thread is kept ([`Keep`]).

use std::collections::HashMap;
use std::sync::Arc;

use crate::channel::{Channel, Recipient};
use crate::envelope::Envelope;
use crate::record::{Conversation, Message, OutboxEntry};

/// How a thread grows when ids are added to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// Each new id is appended (once); beyond `n` ids the oldest after the first is dropped: a
    /// mail's References (clients thread on the root and the latest).
    RootAndLatest(usize),
    /// The latest ids replace the thread: a webhook city's current thread key, the last message
    /// a peer was sent (the next one's `prev`).
    Latest,
    /// The first ids stay: a Matrix thread root, set once.
    First,
}

/// How one channel continues its endpoints' threads. Pure: no I/O, no clock.
pub trait Threading: Send + Sync {
    /// How this channel's threads grow.
    fn keep(&self) -> Keep;

    /// The endpoint address whose thread an inbound post (or command) continues, as deliveries
    /// to that endpoint address it, and the ids the post adds. `author_city` is the city the
    /// router identified the author in.
    fn inbound(&self, env: &Envelope, author_city: &str) -> Option<(String, Vec<String>)> {
        let _ = (env, author_city);
        None
    }

    /// The ids a delivery of `message` to `entry` will be known by, when they are known before
    /// it is made. A channel that stamps gets the endpoint's thread as it stood before this
    /// delivery in `entry.references`, fixed at commit.
    fn stamp(&self, entry: &OutboxEntry, message: &Message) -> Option<Vec<String>> {
        let _ = (entry, message);
        None
    }

    /// Whether [`Threading::stamp`] answers for this channel's deliveries (then their thread is
    /// `OutboxEntry::references`, not the conversation's).
    fn stamps(&self) -> bool {
        false
    }

    /// Whether a delivery may report the ids that start its endpoint's thread
    /// (`Receipt::thread`): then a thread still empty at commit is read again before the next
    /// delivery to that endpoint.
    fn learns_from_receipts(&self) -> bool {
        false
    }

    /// An endpoint address as threads are keyed by it (mail addresses are case-folded).
    fn address_key(&self, address: &str) -> String {
        address.to_string()
    }
}

/// The configured channels' [`Threading`]s.
#[derive(Clone, Default)]
pub struct Threads(HashMap<Channel, Arc<dyn Threading>>);

impl std::fmt::Debug for Threads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut channels: Vec<&Channel> = self.0.keys().collect();
        channels.sort();
        f.debug_tuple("Threads").field(&channels).finish()
    }
}

impl Threads {
    pub fn with(mut self, channel: Channel, threading: Arc<dyn Threading>) -> Self {
        self.0.insert(channel, threading);
        self
    }

    pub fn get(&self, channel: Channel) -> Option<&dyn Threading> {
        self.0.get(&channel).map(|t| t.as_ref())
    }

    /// The key of the thread of `address` on `channel` in [`Conversation::threads`].
    pub fn key(&self, channel: Channel, address: &str) -> String {
        match self.get(channel) {
            Some(t) => format!("{channel}:{}", t.address_key(address)),
            None => format!("{channel}:{address}"),
        }
    }

    /// The key of a recipient's thread.
    pub fn recipient_key(&self, r: &Recipient) -> String {
        self.key(r.channel, &r.address)
    }

    /// Add what the inbound post `env` by a contact of `author_city` says to its sender's
    /// thread in `conv`.
    pub fn note_inbound(&self, conv: &mut Conversation, env: &Envelope, author_city: &str) {
        let channel = env.origin.channel;
        let Some(t) = self.get(channel) else { return };
        if let Some((address, ids)) = t.inbound(env, author_city)
            && !ids.is_empty()
        {
            conv.extend_thread(self.key(channel, &address), ids, t.keep());
        }
    }

    /// Add a new delivery to its recipient's thread in `conv`, stamping the thread as it stood
    /// on the entry where the channel knows the delivery's ids now.
    pub fn note_outbound(&self, conv: &mut Conversation, entry: &mut OutboxEntry, message: &Message) {
        let channel = entry.recipient.channel;
        let Some(t) = self.get(channel) else { return };
        if let Some(ids) = t.stamp(entry, message) {
            let key = self.key(channel, &entry.recipient.address);
            entry.references = conv.extend_thread(key, ids, t.keep());
        }
    }

    /// Whether `channel`'s deliveries carry their thread stamped on the entry.
    pub fn stamps(&self, channel: Channel) -> bool {
        self.get(channel).is_some_and(|t| t.stamps())
    }
}

impl Conversation {
    /// The thread of the endpoint `key` ([`Threads::key`]), oldest id first.
    pub fn thread(&self, key: &str) -> &[String] {
        self.threads.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Add `ids` to the thread `key` as `keep` says, and return the thread as it was before.
    pub fn extend_thread(&mut self, key: String, ids: Vec<String>, keep: Keep) -> Vec<String> {
        let thread = self.threads.entry(key).or_default();
        let before = thread.clone();
        match keep {
            Keep::RootAndLatest(n) => {
                for id in ids {
                    if !thread.contains(&id) {
                        thread.push(id);
                        if thread.len() > n.max(2) {
                            // Keep the root: mail clients thread on it.
                            thread.remove(1);
                        }
                    }
                }
            }
            Keep::Latest => *thread = ids,
            Keep::First => {
                if thread.is_empty() {
                    *thread = ids;
                }
            }
        }
        before
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ConversationId;

    fn conv() -> Conversation {
        Conversation::new(ConversationId::new(), "p", "s".into(), "here", 0, None)
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn root_and_latest_keeps_the_root_and_drops_the_oldest_after_it() {
        let mut c = conv();
        assert!(c.extend_thread("email:a".into(), ids(&["r"]), Keep::RootAndLatest(3)).is_empty());
        c.extend_thread("email:a".into(), ids(&["b"]), Keep::RootAndLatest(3));
        let before = c.extend_thread("email:a".into(), ids(&["c"]), Keep::RootAndLatest(3));
        assert_eq!(before, ids(&["r", "b"]));
        c.extend_thread("email:a".into(), ids(&["d"]), Keep::RootAndLatest(3));
        assert_eq!(c.thread("email:a"), ids(&["r", "c", "d"]));
        // An id already in the thread (a retry, a mail seen twice) is not added again.
        c.extend_thread("email:a".into(), ids(&["d"]), Keep::RootAndLatest(3));
        assert_eq!(c.thread("email:a"), ids(&["r", "c", "d"]));
    }

    #[test]
    fn latest_replaces_and_first_stays() {
        let mut c = conv();
        c.extend_thread("webhook:leeds".into(), ids(&["K1"]), Keep::Latest);
        assert_eq!(c.extend_thread("webhook:leeds".into(), ids(&["K2"]), Keep::Latest), ids(&["K1"]));
        assert_eq!(c.thread("webhook:leeds"), ids(&["K2"]));
        c.extend_thread("matrix:portal:p:hz".into(), ids(&["$root"]), Keep::First);
        c.extend_thread("matrix:portal:p:hz".into(), ids(&["$other"]), Keep::First);
        assert_eq!(c.thread("matrix:portal:p:hz"), ids(&["$root"]));
        assert!(c.thread("email:nobody").is_empty());
    }

    #[test]
    fn stores_written_before_threads_read_into_threads() {
        let mut json = serde_json::to_value(conv()).unwrap();
        json["thread_keys"] = serde_json::json!({"leeds": "LEEDS-7"});
        json["email_threads"] = serde_json::json!({"jo@leeds.example": ["a@x", "b@x"]});
        json["peer_sent"] = serde_json::json!({"uk-lga": {"message": "brlc:01J", "seq": 7, "entry": "01J.0"}});
        let c: Conversation = serde_json::from_value(json).unwrap();
        assert_eq!(c.thread("webhook:leeds"), ids(&["LEEDS-7"]));
        assert_eq!(c.thread("email:jo@leeds.example"), ids(&["a@x", "b@x"]));
        assert_eq!(c.thread("peer:uk-lga"), ids(&["brlc:01J", "7/01J.0"]));
        let again = serde_json::to_value(&c).unwrap();
        assert!(again.get("thread_keys").is_none() && again.get("email_threads").is_none());
        assert_eq!(serde_json::from_value::<Conversation>(again).unwrap(), c);
    }
}
