//! `c2c-bridge store check`: read every record of a stopped store and say what is wrong.
//!
//! Every record must decode as its prefix says ([`crate::keys`]); every outbox entry must point
//! to a stored message; every id-map entry (`n/`) to a stored conversation (or one retention
//! forgot, whose tombstone `f/` is still there); a message must sit
//! under the conversation it names. The check reads the records once, in key order (which
//! every backend of this layout gives), keeping only the ids of conversations and messages:
//! `c/` and `f/` sort before `m/`, `n/` and `o/`, so each reference is checked when it is met.

use std::collections::{BTreeMap, HashSet};

use c2c_core::{
    Accepted, Conversation, ConversationId, DeliverableState, Message, NativeRef, OutboxEntry, Timer, WeekTally,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// At most this many problems are listed; the rest are counted.
pub const LISTED: usize = 100;

/// One thing wrong with one record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub key: String,
    pub what: String,
}

/// What a check found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Records per kind: `messages`, `conversations`, `id_map`, `dedupe_answers`,
    /// `outbox_entries`, `timers`, `deliverables`, `connector_state`, `meta`, and what retention
    /// leaves: `forgotten` (tombstones), `week_tallies`.
    pub counts: BTreeMap<&'static str, u64>,
    /// The first [`LISTED`] problems, in key order.
    pub problems: Vec<Problem>,
    /// How many problems there are in all.
    pub problem_count: u64,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.problem_count == 0
    }

    fn problem(&mut self, key: &[u8], what: impl Into<String>) {
        self.problem_count += 1;
        if self.problems.len() < LISTED {
            self.problems.push(Problem { key: String::from_utf8_lossy(key).into_owned(), what: what.into() });
        }
    }

    /// The report as an admin reads it.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (kind, n) in &self.counts {
            out.push_str(&format!("{kind}: {n}\n"));
        }
        if self.is_clean() {
            out.push_str("no problems found\n");
            return out;
        }
        out.push_str(&format!("{} problem(s):\n", self.problem_count));
        for p in &self.problems {
            out.push_str(&format!("  {}: {}\n", p.key, p.what));
        }
        if self.problem_count > self.problems.len() as u64 {
            out.push_str(&format!("  ... and {} more\n", self.problem_count - self.problems.len() as u64));
        }
        out
    }
}

/// The check's state while it reads records in key order.
#[derive(Default)]
pub struct Checker {
    report: Report,
    conversations: HashSet<ConversationId>,
    /// Tombstones of conversations retention forgot: id-map entries may still point to them.
    forgotten: HashSet<ConversationId>,
    messages: HashSet<(ConversationId, u64)>,
    last: Vec<u8>,
    /// When repairing: the keys of every record with a problem, to drop.
    drop: Option<Vec<Vec<u8>>>,
}

impl std::fmt::Debug for Checker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checker").field("report", &self.report).finish_non_exhaustive()
    }
}

impl Checker {
    /// A checker that also collects the keys of the records with problems ([`Checker::to_drop`]).
    pub fn repairing() -> Self {
        Self { drop: Some(Vec::new()), ..Self::default() }
    }

    /// Look at the next record (in key order).
    pub fn record(&mut self, key: &[u8], value: &[u8]) {
        if !self.last.is_empty() && key <= self.last.as_slice() {
            self.report.problem(key, "out of key order (the check cannot vouch for the references)");
        }
        self.last = key.to_vec();
        let k = String::from_utf8_lossy(key);
        let (prefix, rest) = k.split_once('/').unwrap_or((&k, ""));
        match prefix {
            "c" => {
                self.count("conversations");
                if let Some(c) = self.decode::<Conversation>(key, value) {
                    if c.id.to_string() != rest {
                        self.bad(key, format!("holds conversation {}", c.id));
                    } else {
                        self.conversations.insert(c.id);
                    }
                }
            }
            "m" => {
                self.count("messages");
                if let Some(m) = self.decode::<Message>(key, value) {
                    let (conv, seq) = rest.split_once('/').unwrap_or((rest, ""));
                    if m.conversation.to_string() != conv || u64::from_str_radix(seq, 16).ok() != Some(m.seq) {
                        self.bad(key, format!("holds message {} of conversation {}", m.id, m.conversation));
                    } else if !self.conversations.contains(&m.conversation) {
                        self.bad(key, format!("its conversation {} is not stored", m.conversation));
                    } else {
                        self.messages.insert((m.conversation, m.seq));
                    }
                }
            }
            "f" => {
                self.count("forgotten");
                match rest.parse() {
                    Ok(id) => {
                        self.forgotten.insert(id);
                    }
                    Err(_) => self.bad(key, "not a conversation id"),
                }
            }
            "w" => {
                self.count("week_tallies");
                self.decode::<WeekTally>(key, value);
            }
            "n" => {
                self.count("id_map");
                if let Some(r) = self.decode::<NativeRef>(key, value)
                    && !self.conversations.contains(&r.conversation)
                    && !self.forgotten.contains(&r.conversation)
                {
                    self.bad(key, format!("points to conversation {}, which is not stored", r.conversation));
                }
            }
            "a" => {
                self.count("dedupe_answers");
                self.decode::<Accepted>(key, value);
            }
            "o" => {
                self.count("outbox_entries");
                if let Some(e) = self.decode::<OutboxEntry>(key, value)
                    && !self.messages.contains(&(e.conversation, e.seq))
                {
                    self.bad(key, format!("points to message {} (seq {}), which is not stored", e.message, e.seq));
                }
            }
            "t" => {
                self.count("timers");
                self.decode::<Timer>(key, value);
            }
            "d" => {
                self.count("deliverables");
                self.decode::<DeliverableState>(key, value);
            }
            "s" => {
                self.count("connector_state");
                if std::str::from_utf8(value).is_err() {
                    self.bad(key, "not text");
                }
            }
            "meta" => {
                self.count("meta");
                if std::str::from_utf8(value).is_err() {
                    self.bad(key, "not text");
                }
            }
            _ => self.bad(key, "a key of no known kind"),
        }
    }

    /// A record that could not be read at all (the backend's error).
    pub fn unreadable(&mut self, what: String) {
        self.report.problem(b"(store)", what);
    }

    pub fn finish(self) -> Report {
        self.report
    }

    /// The report, and the keys of the records with problems (empty unless
    /// [`Checker::repairing`]).
    pub fn finish_repair(self) -> (Report, Vec<Vec<u8>>) {
        (self.report, self.drop.unwrap_or_default())
    }

    /// A problem with the record at `key`: it is dropped when repairing.
    fn bad(&mut self, key: &[u8], what: impl Into<String>) {
        self.report.problem(key, what);
        if let Some(drop) = &mut self.drop
            && drop.last().is_none_or(|k| k != key)
        {
            drop.push(key.to_vec());
        }
    }

    fn count(&mut self, kind: &'static str) {
        *self.report.counts.entry(kind).or_default() += 1;
    }

    fn decode<T: DeserializeOwned>(&mut self, key: &[u8], value: &[u8]) -> Option<T> {
        match serde_json::from_slice(value) {
            Ok(v) => Some(v),
            Err(e) => {
                self.bad(key, format!("does not decode: {e}"));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use c2c_core::{Channel, MessageId, OutboxId, Recipient, Store};

    use crate::SledStore;

    use super::*;

    fn sample_conversation() -> Conversation {
        c2c_core::conformance::sample_conversation("p")
    }

    #[test]
    fn a_sound_store_is_clean_and_counted() {
        let c = sample_conversation();
        let m = c2c_core::conformance::sample_message(&c, 7);
        let mut checker = Checker::default();
        checker.record(format!("c/{}", c.id).as_bytes(), &serde_json::to_vec(&c).unwrap());
        checker.record(format!("m/{}/{:016x}", c.id, 7).as_bytes(), &serde_json::to_vec(&m).unwrap());
        let r = checker.finish();
        assert!(r.is_clean(), "{}", r.render());
        assert_eq!(r.counts["conversations"], 1);
        assert_eq!(r.counts["messages"], 1);
    }

    #[test]
    fn unreadable_records_and_dangling_references_are_named() {
        let c = sample_conversation();
        let other = ConversationId::new();
        let mut checker = Checker::default();
        checker.record(b"a/email:<x>", b"{not json");
        checker.record(format!("c/{}", c.id).as_bytes(), &serde_json::to_vec(&c).unwrap());
        let native = NativeRef { partnership: "p".into(), conversation: other, message: None };
        checker.record(b"n/email:<y>", &serde_json::to_vec(&native).unwrap());
        let mut entry = c2c_core::conformance::sample_entry(&c2c_core::conformance::sample_message(&c, 9), 0);
        entry.recipient = Recipient { city: "x".into(), contact: None, channel: Channel::Webhook, address: "x".into() };
        entry.id = OutboxId::for_recipient(MessageId::new(), 0);
        checker.record(format!("o/{:016x}/{}", 9, entry.id).as_bytes(), &serde_json::to_vec(&entry).unwrap());
        checker.record(b"x/what", b"");
        let r = checker.finish();
        let said: Vec<(&str, &str)> = r.problems.iter().map(|p| (p.key.as_str(), p.what.as_str())).collect();
        assert_eq!(r.problem_count, 4, "{said:?}");
        assert!(said[0].0 == "a/email:<x>" && said[0].1.starts_with("does not decode"), "{said:?}");
        assert!(said[1].1.contains("not stored") && said[1].0 == "n/email:<y>", "{said:?}");
        assert!(said[2].1.contains("which is not stored") && said[2].0.starts_with("o/"), "{said:?}");
        assert_eq!(said[3], ("x/what", "a key of no known kind"));
    }

    #[test]
    fn repairing_collects_each_bad_record_once_and_what_pointed_to_it() {
        let c = sample_conversation();
        let m = c2c_core::conformance::sample_message(&c, 7);
        let e = c2c_core::conformance::sample_entry(&m, 0);
        let mut checker = Checker::repairing();
        // The conversation does not decode: its message, then the entry to that message, go too.
        checker.record(format!("c/{}", c.id).as_bytes(), b"{");
        checker.record(format!("m/{}/{:016x}", c.id, 7).as_bytes(), &serde_json::to_vec(&m).unwrap());
        checker.record(format!("o/{:016x}/{}", 7, e.id).as_bytes(), &serde_json::to_vec(&e).unwrap());
        checker.record(b"s/imap:cursor", b"42");
        let (report, drop) = checker.finish_repair();
        assert_eq!(report.problem_count, 3);
        let dropped: Vec<String> = drop.iter().map(|k| String::from_utf8_lossy(k).into_owned()).collect();
        assert_eq!(dropped.len(), 3, "{dropped:?}");
        assert!(dropped[0].starts_with("c/") && dropped[1].starts_with("m/") && dropped[2].starts_with("o/"));
    }

    #[tokio::test]
    async fn repair_drops_what_cannot_be_read_and_what_points_to_it_durably() {
        let top = tempfile::tempdir().unwrap();
        let store = SledStore::open(top.path(), Some("c2c-test")).unwrap();
        let conv = c2c_core::conformance::sample_conversation("p");
        let (commit, message, entry) = c2c_core::conformance::sample_commit(&conv, 1);
        store.durable(store.stage(commit).unwrap()).await.unwrap();
        // The conversation's record damaged: its message and the delivery of it go with it.
        store.kv.db.insert(crate::keys::conversation(conv.id), b"{\"id\": 1".as_slice()).unwrap();
        let (report, dropped) = store.repair().unwrap();
        assert!(!report.is_clean());
        assert!(dropped.contains(&String::from_utf8(crate::keys::conversation(conv.id)).unwrap()), "{dropped:?}");
        assert!(dropped.contains(&String::from_utf8(crate::keys::message(conv.id, message.seq)).unwrap()));
        assert!(dropped.contains(&String::from_utf8(crate::keys::outbox(entry.seq, &entry.id)).unwrap()));
        drop(store);
        let store = SledStore::open_waiting(top.path(), None, std::time::Duration::from_secs(10)).unwrap();
        let after = store.check();
        assert!(after.is_clean(), "{}", after.render());
        assert_eq!(store.message(conv.id, message.seq).unwrap(), None);
    }
}
