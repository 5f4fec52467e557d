//! One test suite for every [`Store`] backend.
//!
//! A backend's tests invoke [`store_conformance_tests!`](crate::store_conformance_tests) with an
//! expression that builds a fresh *opener*: a closure that opens (or reopens) the same storage
//! each time it is called. The suite checks atomic, durable commits, reopening, dedupe answers,
//! the id map, ordering and the outbox life cycle.

use std::collections::BTreeMap;

use crate::channel::{Channel, Origin, Recipient};
use crate::connector::Accepted;
use crate::envelope::{Author, LanguageTag};
use crate::ids::{ConversationId, MessageId, OutboxId};
use crate::record::{Conversation, DeliveryStatus, Message, MessageKind, OutboxEntry};
use crate::store::{Commit, NativeKey, NativeRef, Store};

/// A conversation in `partnership` with fixed content.
pub fn sample_conversation(partnership: &str) -> Conversation {
    let mut c = Conversation::new(
        ConversationId::new(),
        partnership,
        "Library exchange".into(),
        "test",
        1_700_000_000_000,
        Some(sample_author()),
    );
    c.posts = 1;
    c.posts_by_city = BTreeMap::from([("leeds".to_string(), 1)]);
    c.last_post_at = Some(1_700_000_000_000);
    c.last_post_city = Some("leeds".into());
    c.languages = BTreeMap::from([("en".to_string(), 1)]);
    c.threads = BTreeMap::from([("webhook:leeds".to_string(), vec!["T-1".to_string()])]);
    c
}

pub fn sample_author() -> Author {
    Author {
        contact: "leeds-jo".into(),
        name: "Jo Smith".into(),
        city: "leeds".into(),
        city_name: "Leeds".into(),
        role: "International Relations".into(),
    }
}

/// A post with sequence number `seq` in `conversation`.
pub fn sample_message(conversation: &Conversation, seq: u64) -> Message {
    Message {
        id: MessageId::new(),
        seq,
        kind: MessageKind::Post,
        conversation: conversation.id,
        partnership: conversation.partnership.clone(),
        author: Some(sample_author()),
        origin: Origin { channel: Channel::Webhook, city: Some("leeds".into()), address: "/hooks/leeds".into() },
        origin_instance: "test".into(),
        subject: conversation.subject.clone(),
        text: format!("message {seq}"),
        html: None,
        attachments: Vec::new(),
        language: LanguageTag { code: "en".into(), confidence: 0.9, script: "Latin".into() },
        received_at: 1_700_000_000_000 + seq as i64,
        committed_at: 1_700_000_000_001 + seq as i64,
        reminder: None,
    }
}

/// The outbox entry delivering `message` to Hangzhou's webhook.
pub fn sample_entry(message: &Message, index: usize) -> OutboxEntry {
    OutboxEntry {
        id: OutboxId::for_recipient(message.id, index),
        seq: message.seq,
        message: message.id,
        conversation: message.conversation,
        partnership: message.partnership.clone(),
        recipient: Recipient {
            city: "hangzhou".into(),
            contact: None,
            channel: Channel::Webhook,
            address: "hangzhou".into(),
        },
        status: DeliveryStatus::Scheduled,
        attempts: 0,
        next_due: message.committed_at,
        last_error: None,
        created_at: message.committed_at,
        updated_at: message.committed_at,
        delivered_at: None,
        references: Vec::new(),
        delay_noticed_at: None,
    }
}

/// A commit holding one new message of `conversation` with one outbox entry, its dedupe key and
/// its thread key.
pub fn sample_commit(conversation: &Conversation, seq: u64) -> (Commit, Message, OutboxEntry) {
    let message = sample_message(conversation, seq);
    let entry = sample_entry(&message, 0);
    let accepted =
        Accepted { message: message.id, conversation: conversation.id, replay: false, at: Some(message.committed_at) };
    let commit = Commit {
        messages: vec![message.clone()],
        conversations: vec![conversation.clone()],
        natives: vec![(
            NativeKey::webhook_thread("leeds", "hangzhou-leeds", &format!("T-{seq}")),
            NativeRef {
                partnership: conversation.partnership.clone(),
                conversation: conversation.id,
                message: Some(message.id),
            },
        )],
        accepted: vec![(NativeKey::webhook_delivery("leeds", &format!("msg_{seq}")), accepted)],
        outbox: vec![entry.clone()],
        ..Commit::default()
    };
    (commit, message, entry)
}

pub async fn empty_store_is_empty<S: Store>(open: impl Fn() -> S) {
    let s = open();
    assert!(!s.instance_id().is_empty());
    assert_eq!(s.last_seq().unwrap(), 0);
    assert!(s.pending_outbox().unwrap().is_empty());
    assert!(s.conversations(None).unwrap().is_empty());
    assert!(s.accepted(&NativeKey::webhook_delivery("x", "y")).unwrap().is_none());
    assert!(s.native(&NativeKey::webhook_thread("x", "p", "y")).unwrap().is_none());
}

pub async fn commit_is_readable<S: Store>(open: impl Fn() -> S) {
    let s = open();
    let conv = sample_conversation("hangzhou-leeds");
    let (commit, message, entry) = sample_commit(&conv, 1);
    s.commit(commit).await.unwrap();
    assert_eq!(s.last_seq().unwrap(), 1);
    assert_eq!(s.message(conv.id, message.seq).unwrap().as_ref(), Some(&message));
    assert_eq!(s.conversation(conv.id).unwrap().as_ref(), Some(&conv));
    assert_eq!(s.messages(conv.id).unwrap(), vec![message.clone()]);
    assert_eq!(s.outbox(None).unwrap(), vec![entry.clone()]);
    assert_eq!(s.outbox(Some("hangzhou-leeds")).unwrap(), vec![entry.clone()]);
    assert!(s.outbox(Some("other")).unwrap().is_empty());
    assert_eq!(s.pending_outbox().unwrap(), vec![entry]);
    let accepted = s.accepted(&NativeKey::webhook_delivery("leeds", "msg_1")).unwrap().unwrap();
    assert_eq!((accepted.message, accepted.conversation), (message.id, conv.id));
    let native = s.native(&NativeKey::webhook_thread("leeds", "hangzhou-leeds", "T-1")).unwrap().unwrap();
    assert_eq!(native.conversation, conv.id);
    assert_eq!(native.message, Some(message.id));
}

pub async fn commit_survives_reopen<S: Store>(open: impl Fn() -> S) {
    let conv = sample_conversation("hangzhou-leeds");
    let (commit, message, entry) = sample_commit(&conv, 7);
    let instance;
    {
        let s = open();
        instance = s.instance_id().to_string();
        s.commit(commit).await.unwrap();
    }
    let s = open();
    assert_eq!(s.instance_id(), instance, "the instance id is kept for the store's life");
    assert_eq!(s.last_seq().unwrap(), 7);
    assert_eq!(s.message(conv.id, message.seq).unwrap(), Some(message));
    assert_eq!(s.pending_outbox().unwrap(), vec![entry]);
    assert!(s.accepted(&NativeKey::webhook_delivery("leeds", "msg_7")).unwrap().is_some());
}

pub async fn ordering_follows_seq<S: Store>(open: impl Fn() -> S) {
    let s = open();
    let conv = sample_conversation("hangzhou-leeds");
    let other = sample_conversation("hangzhou-gifu");
    // Committed out of order on purpose: reads must come back in seq order.
    let mut ids = Vec::new();
    for seq in [3u64, 1, 2] {
        let (commit, message, _) = sample_commit(&conv, seq);
        ids.push((seq, message.id));
        s.commit(commit).await.unwrap();
    }
    let (commit, _, _) = sample_commit(&other, 4);
    s.commit(commit).await.unwrap();
    ids.sort();
    let got: Vec<MessageId> = s.messages(conv.id).unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(got, ids.iter().map(|(_, id)| *id).collect::<Vec<_>>());
    let mut streamed = Vec::new();
    s.each_message(conv.id, &mut |m| streamed.push(m.id)).unwrap();
    assert_eq!(streamed, got, "one at a time, the same messages in the same order");
    let mut from = Vec::new();
    s.each_message_from(conv.id, 2, &mut |m| {
        from.push(m.seq);
        true
    })
    .unwrap();
    assert_eq!(from, vec![2, 3], "from a seq on");
    from.clear();
    s.each_message_from(conv.id, 0, &mut |m| {
        from.push(m.seq);
        from.len() < 2
    })
    .unwrap();
    assert_eq!(from, vec![1, 2], "until told to stop");
    let seqs: Vec<u64> = s.pending_outbox().unwrap().iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4]);
    let mut streamed = Vec::new();
    s.each_pending(&mut |e| streamed.push(e.seq)).unwrap();
    assert_eq!(streamed, seqs, "one at a time, the same entries in the same order");
    assert_eq!(s.outbox(Some("hangzhou-leeds")).unwrap().len(), 3);
    assert_eq!(s.outbox(None).unwrap().iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    let mut streamed = Vec::new();
    s.each_outbox(Some("hangzhou-leeds"), &mut |e| streamed.push(e)).unwrap();
    assert_eq!(streamed, s.outbox(Some("hangzhou-leeds")).unwrap(), "one at a time, the same entries");
    assert_eq!(s.conversations(Some("hangzhou-gifu")).unwrap().len(), 1);
    assert_eq!(s.conversations(None).unwrap().len(), 2);
    assert_eq!(s.last_seq().unwrap(), 4);
}

pub async fn conversation_updates_replace<S: Store>(open: impl Fn() -> S) {
    let s = open();
    let mut conv = sample_conversation("hangzhou-leeds");
    let (commit, _, _) = sample_commit(&conv, 1);
    s.commit(commit).await.unwrap();
    conv.posts = 2;
    conv.last_post_city = Some("hangzhou".into());
    conv.channel_noticed.insert("hz-li".into());
    s.commit(Commit { conversations: vec![conv.clone()], ..Commit::default() }).await.unwrap();
    assert_eq!(s.conversation(conv.id).unwrap(), Some(conv));
}

pub async fn delivered_entries_leave_pending<S: Store>(open: impl Fn() -> S) {
    let conv = sample_conversation("hangzhou-leeds");
    let (c1, _, mut e1) = sample_commit(&conv, 1);
    let (c2, m2, mut e2) = sample_commit(&conv, 2);
    let (c3, _, mut e3) = sample_commit(&conv, 3);
    {
        let s = open();
        for c in [c1, c2, c3] {
            s.commit(c).await.unwrap();
        }
        e1.status = DeliveryStatus::Delivered;
        e1.attempts = 1;
        e2.status = DeliveryStatus::TemporaryFailure;
        e2.attempts = 2;
        e2.last_error = Some("HTTP 503".into());
        e3.status = DeliveryStatus::PermanentFailure;
        let receipt_key = NativeKey("email:<receipt@test>".into());
        let receipt_ref =
            NativeRef { partnership: conv.partnership.clone(), conversation: conv.id, message: Some(m2.id) };
        let staged = s
            .update_deliveries(&[e1.clone(), e2.clone(), e3.clone()], &[(receipt_key.clone(), receipt_ref.clone())])
            .await
            .unwrap();
        assert_eq!(s.native(&receipt_key).unwrap(), Some(receipt_ref), "readable before it is durable");
        s.durable(staged).await.unwrap();
    }
    let s = open();
    assert_eq!(s.pending_outbox().unwrap(), vec![e2.clone()]);
    assert_eq!(s.outbox(None).unwrap(), vec![e1, e2, e3]);
}

pub async fn concurrent_commits_all_land<S: Store + 'static>(open: impl Fn() -> S) {
    let conv = sample_conversation("hangzhou-leeds");
    let mut expected = Vec::new();
    {
        let s = std::sync::Arc::new(open());
        let mut tasks = Vec::new();
        for seq in 1..=64u64 {
            let (commit, message, _) = sample_commit(&conv, seq);
            expected.push(message.id);
            let s = s.clone();
            tasks.push(tokio::spawn(async move { s.commit(commit).await }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
    }
    let s = open();
    let got: Vec<MessageId> = s.messages(conv.id).unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(got, expected);
    assert_eq!(s.pending_outbox().unwrap().len(), 64);
}

pub async fn staged_commits_are_visible_before_they_are_durable<S: Store>(open: impl Fn() -> S) {
    let conv = sample_conversation("hangzhou-leeds");
    let (c1, m1, _) = sample_commit(&conv, 1);
    let (c2, m2, _) = sample_commit(&conv, 2);
    {
        let s = open();
        let first = s.stage(c1).unwrap();
        // Visible to readers (the router resolves the next group against it) right away.
        assert_eq!(s.message(conv.id, 1).unwrap(), Some(m1.clone()));
        let second = s.stage(c2).unwrap();
        s.durable(first).await.unwrap();
        s.durable(second).await.unwrap();
    }
    let s = open();
    assert_eq!(s.messages(conv.id).unwrap(), vec![m1, m2]);
}

pub async fn pending_outbox_is_found_again_after_many_restarts<S: Store>(open: impl Fn() -> S) {
    let conv = sample_conversation("hangzhou-leeds");
    let mut pending = Vec::new();
    for round in 0..3u64 {
        let s = open();
        assert_eq!(s.pending_outbox().unwrap(), pending, "round {round}");
        for i in 0..4 {
            let seq = round * 10 + i + 1;
            let (c, _, mut e) = sample_commit(&conv, seq);
            s.commit(c).await.unwrap();
            // Deliver every other one.
            if i % 2 == 0 {
                e.status = DeliveryStatus::Delivered;
                let _made_durable_by_the_flush_below = s.update_deliveries(&[e], &[]).await.unwrap();
            } else {
                pending.push(e);
            }
        }
        s.flush().await.unwrap();
    }
}

pub async fn entries_and_state_are_found_by_key<S: Store>(open: impl Fn() -> S) {
    let conv = sample_conversation("hangzhou-leeds");
    let (c, mut message, entry) = sample_commit(&conv, 5);
    message.attachments = vec![crate::envelope::Attachment {
        filename: "agenda.pdf".into(),
        content_type: "application/pdf".into(),
        size: 4,
        content: Some(vec![0, 159, 146, 150]),
    }];
    let c = Commit { messages: vec![message.clone()], ..c };
    {
        let s = open();
        s.commit(c).await.unwrap();
        assert_eq!(s.outbox_entry(5, &entry.id).unwrap(), Some(entry.clone()));
        assert_eq!(s.outbox_entry(6, &entry.id).unwrap(), None);
        assert_eq!(s.state("imap:INBOX").unwrap(), None);
        s.set_state("imap:INBOX", "1700000000:42").await.unwrap();
    }
    let s = open();
    assert_eq!(s.state("imap:INBOX").unwrap().as_deref(), Some("1700000000:42"));
    assert_eq!(s.message(conv.id, 5).unwrap(), Some(message), "attachments survive the round trip");
}

/// An entry is found by its id alone (an admin's retry), among entries of other seqs and
/// partnerships.
pub async fn an_entry_is_found_by_its_id_alone<S: Store>(open: impl Fn() -> S) {
    let s = open();
    let conv = sample_conversation("hangzhou-leeds");
    let other = sample_conversation("hangzhou-gifu");
    let mut entries = Vec::new();
    for (seq, c) in [(1, &conv), (2, &other), (3, &conv)] {
        let (commit, _, entry) = sample_commit(c, seq);
        s.commit(commit).await.unwrap();
        entries.push(entry);
    }
    for e in &entries {
        assert_eq!(s.find_outbox_entry(&e.id).unwrap().as_ref(), Some(e));
    }
    assert_eq!(s.find_outbox_entry(&OutboxId("01ARZ3NDEKTSV4RRFFQ69G5FAV-0".into())).unwrap(), None);
    // Not a prefix or suffix match: `-0` is only the end of an id.
    assert_eq!(s.find_outbox_entry(&OutboxId("-0".into())).unwrap(), None);
}

/// A delivery failed for good and scheduled again (an admin's retry) is pending again, and is
/// still found pending after restarts, even once the pending scan has moved past its seq.
pub async fn a_failed_entry_scheduled_again_is_pending_after_restarts<S: Store>(open: impl Fn() -> S) {
    let conv = sample_conversation("hangzhou-leeds");
    let (c1, _, mut e1) = sample_commit(&conv, 1);
    let (c2, _, mut e2) = sample_commit(&conv, 2);
    let (c3, _, e3) = sample_commit(&conv, 3);
    {
        let s = open();
        for c in [c1, c2, c3] {
            s.commit(c).await.unwrap();
        }
        e1.status = DeliveryStatus::PermanentFailure;
        e2.status = DeliveryStatus::Delivered;
        let staged = s.update_deliveries(&[e1.clone(), e2.clone()], &[]).await.unwrap();
        s.durable(staged).await.unwrap();
    }
    {
        // The scan at start passes the failed and the delivered entry by.
        let s = open();
        assert_eq!(s.pending_outbox().unwrap(), vec![e3.clone()]);
        e1.status = DeliveryStatus::Scheduled;
        e1.next_due = 1_800_000_000_000;
        s.commit(Commit { outbox: vec![e1.clone()], ..Commit::default() }).await.unwrap();
        assert_eq!(s.pending_outbox().unwrap(), vec![e1.clone(), e3.clone()]);
    }
    for round in 0..2 {
        let s = open();
        assert_eq!(s.pending_outbox().unwrap(), vec![e1.clone(), e3.clone()], "round {round}");
    }
}

/// Timers are kept until a commit marks them done, a timer written again under its key replaces
/// it, and deliverables' state is kept whole; all of it survives a reopen.
pub async fn timers_and_deliverables_are_kept_until_done<S: Store>(open: impl Fn() -> S) {
    use crate::followup::{DeliverableState, Timer, TimerWhat};
    let conv = sample_conversation("hangzhou-leeds");
    let reply = |window: u32, due| Timer {
        key: Timer::reply_key(conv.id, "leeds", 1_000, window),
        due,
        what: TimerWhat::Reply {
            conversation: conv.id,
            partnership: "hangzhou-leeds".into(),
            member: "leeds".into(),
            since: 1_000,
            window,
            point: due,
        },
    };
    let mut d = DeliverableState::new("hangzhou-leeds", "library-draft");
    {
        let s = open();
        let mut found = Vec::new();
        s.each_timer(&mut |t| found.push(t)).unwrap();
        assert!(found.is_empty());
        s.commit(Commit { timers: vec![reply(1, 5_000), reply(2, 9_000)], ..Commit::default() }).await.unwrap();
        // Written again under its key (moved into working hours): replaced, not added.
        s.commit(Commit { timers: vec![reply(1, 6_000)], ..Commit::default() }).await.unwrap();
        d.sent.insert("leeds/before:604800".into());
        s.commit(Commit { deliverables: vec![d.clone()], ..Commit::default() }).await.unwrap();
    }
    let s = open();
    let mut found = Vec::new();
    s.each_timer(&mut |t| found.push(t)).unwrap();
    found.sort_by_key(|t| t.due);
    assert_eq!(found, vec![reply(1, 6_000), reply(2, 9_000)]);
    assert_eq!(s.timer(&reply(2, 0).key).unwrap(), Some(reply(2, 9_000)));
    assert_eq!(s.deliverable("hangzhou-leeds", "library-draft").unwrap(), Some(d.clone()));
    assert_eq!(s.deliverable("hangzhou-leeds", "other").unwrap(), None);
    assert_eq!(s.deliverables().unwrap(), vec![d]);
    // Done in the same commit as what it did.
    s.commit(Commit {
        timers_done: vec![reply(1, 0).key],
        messages: vec![sample_message(&conv, 3)],
        ..Commit::default()
    })
    .await
    .unwrap();
    drop(s);
    let s = open();
    assert_eq!(s.timer(&reply(1, 0).key).unwrap(), None);
    let mut left = Vec::new();
    s.each_timer(&mut |t| left.push(t.key)).unwrap();
    assert_eq!(left, vec![reply(2, 0).key]);
}

/// Retention's records: a forgotten conversation's records are deleted in one commit with its
/// tombstone and tallies written, before the commit's own writes; the scans retention reads by
/// (conversations, id map, dedupe answers, one message's entries, a conversation's timers) see
/// the store as it is.
pub async fn forgotten_records_are_gone_and_their_tallies_kept<S: Store>(open: impl Fn() -> S) {
    use crate::followup::{Timer, TimerWhat};
    use crate::retention::{Forget, WeekTally};
    let old = sample_conversation("hangzhou-leeds");
    let kept = sample_conversation("hangzhou-leeds");
    let (c1, m1, e1) = sample_commit(&old, 1);
    let (c2, _, e2) = sample_commit(&kept, 2);
    let timer = Timer {
        key: Timer::reply_key(kept.id, "hangzhou", 1_000, 1),
        due: 5_000,
        what: TimerWhat::Reply {
            conversation: kept.id,
            partnership: "hangzhou-leeds".into(),
            member: "hangzhou".into(),
            since: 1_000,
            window: 1,
            point: 5_000,
        },
    };
    {
        let s = open();
        s.commit(c1.clone()).await.unwrap();
        s.commit(c2).await.unwrap();
        s.commit(Commit { timers: vec![timer.clone()], ..Commit::default() }).await.unwrap();
    }
    let s = open();
    let mut both = vec![old.id, kept.id];
    both.sort();
    let conversations = |after| {
        let mut convs = Vec::new();
        s.each_conversation(after, &mut |c| {
            convs.push(c.id);
            true
        })
        .unwrap();
        convs
    };
    assert_eq!(conversations(None), both, "in id order");
    assert_eq!(conversations(Some(both[0])), [both[1]], "after one");
    assert!(conversations(Some(both[1])).is_empty());
    let mut natives = Vec::new();
    s.each_native(None, &mut |k, r| {
        natives.push((k, r.conversation));
        true
    })
    .unwrap();
    assert_eq!(natives.len(), 2);
    let mut rest = Vec::new();
    s.each_native(Some(&natives[0].0), &mut |k, _| {
        rest.push(k);
        true
    })
    .unwrap();
    assert_eq!(rest, [natives[1].0.clone()]);
    let mut accepted = Vec::new();
    s.each_accepted(None, &mut |k, a| {
        accepted.push((k, a.conversation));
        true
    })
    .unwrap();
    assert_eq!(accepted.len(), 2);
    let mut first = 0;
    s.each_accepted(None, &mut |_, _| {
        first += 1;
        false
    })
    .unwrap();
    assert_eq!(first, 1, "stops when asked");
    assert_eq!(s.outbox_at(1).unwrap(), vec![e1.clone()]);
    assert_eq!(s.outbox_at(2).unwrap(), vec![e2.clone()]);
    let [reply, waiting] = Timer::conversation_prefixes(kept.id);
    assert_eq!(s.timers_under(&reply).unwrap(), vec![timer]);
    assert!(s.timers_under(&waiting).unwrap().is_empty());
    assert!(s.timers_under(&Timer::conversation_prefixes(old.id)[0]).unwrap().is_empty());

    let mut tally = WeekTally::new("hangzhou-leeds", "2023-11-13");
    tally.posts_by.insert("leeds".into(), 1);
    tally.conversations = 1;
    let (native, _) = &c1.natives[0];
    let (dedupe, _) = &c1.accepted[0];
    s.commit(Commit {
        forget: vec![
            Forget::Message { conversation: old.id, seq: m1.seq },
            Forget::Outbox { seq: e1.seq, id: e1.id.clone() },
            Forget::Conversation(old.id),
            Forget::Accepted(dedupe.clone()),
        ],
        forgotten: vec![old.id],
        weeks: vec![tally.clone()],
        ..Commit::default()
    })
    .await
    .unwrap();
    drop(s);
    let s = open();
    assert_eq!(s.conversation(old.id).unwrap(), None);
    assert!(s.messages(old.id).unwrap().is_empty());
    assert!(s.outbox_at(1).unwrap().is_empty());
    assert!(s.accepted(dedupe).unwrap().is_none());
    assert!(s.native(native).unwrap().is_some(), "id-map entries go after, by their tombstone");
    assert_eq!(s.forgotten().unwrap(), vec![old.id]);
    assert_eq!(s.week_tallies("hangzhou-leeds").unwrap(), vec![tally.clone()]);
    assert_eq!(s.week_tally("hangzhou-leeds", "2023-11-13").unwrap(), Some(tally));
    assert!(s.week_tallies("other").unwrap().is_empty());
    assert!(s.conversation(kept.id).unwrap().is_some());
    assert_eq!(s.outbox_at(2).unwrap(), vec![e2]);

    // The tombstone goes with the last id-map entry; a deletion and a write of the same record
    // in one commit keep the record.
    s.commit(Commit {
        forget: vec![Forget::Native(native.clone()), Forget::Tombstone(old.id), Forget::Conversation(kept.id)],
        conversations: vec![kept.clone()],
        ..Commit::default()
    })
    .await
    .unwrap();
    drop(s);
    let s = open();
    assert!(s.native(native).unwrap().is_none());
    assert!(s.forgotten().unwrap().is_empty());
    assert_eq!(s.conversation(kept.id).unwrap(), Some(kept));
}

/// The pending scan's start moved while running ([`Store::advance_outbox_low`]) passes only
/// what is done: entries still pending, and one made pending again after it was passed, are
/// found by the next start.
pub async fn advancing_the_pending_scan_skips_only_what_is_done<S: Store>(open: impl Fn() -> S) {
    let conv = sample_conversation("hangzhou-leeds");
    let mut entries = Vec::new();
    {
        let s = open();
        for seq in 1..=6 {
            let (commit, _, entry) = sample_commit(&conv, seq);
            s.commit(commit).await.unwrap();
            entries.push(entry);
        }
    }
    let deliver = |seqs: &[u64]| -> Vec<OutboxEntry> {
        entries
            .iter()
            .filter(|e| seqs.contains(&e.seq))
            .map(|e| OutboxEntry { status: DeliveryStatus::Delivered, ..e.clone() })
            .collect()
    };
    let advance = |s: &S| while s.advance_outbox_low(2).unwrap() {};
    let pending = |s: &S| s.pending_outbox().unwrap().iter().map(|e| e.seq).collect::<Vec<_>>();
    let s = open();
    let staged = s.update_deliveries(&deliver(&[1, 2, 4, 5]), &[]).await.unwrap();
    s.durable(staged).await.unwrap();
    advance(&s);
    drop(s);
    let s = open();
    assert_eq!(pending(&s), [3, 6]);
    let staged = s.update_deliveries(&deliver(&[3, 6]), &[]).await.unwrap();
    s.durable(staged).await.unwrap();
    advance(&s);
    drop(s);
    let s = open();
    assert!(pending(&s).is_empty());
    // Entry 2, long passed, failed for good and retried by an admin: pending again.
    let retried = OutboxEntry { status: DeliveryStatus::Scheduled, ..entries[1].clone() };
    s.commit(Commit { outbox: vec![retried], ..Commit::default() }).await.unwrap();
    advance(&s);
    drop(s);
    let s = open();
    assert_eq!(pending(&s), [2]);
}

/// Generates one `#[tokio::test]` per conformance case. `$opener` is an expression evaluated
/// afresh for every case; it must yield a closure that opens the same storage each time.
#[macro_export]
macro_rules! store_conformance_tests {
    ($opener:expr) => {
        $crate::store_conformance_tests!(@cases $opener;
            empty_store_is_empty,
            commit_is_readable,
            commit_survives_reopen,
            ordering_follows_seq,
            conversation_updates_replace,
            delivered_entries_leave_pending,
            concurrent_commits_all_land,
            staged_commits_are_visible_before_they_are_durable,
            pending_outbox_is_found_again_after_many_restarts,
            entries_and_state_are_found_by_key,
            an_entry_is_found_by_its_id_alone,
            a_failed_entry_scheduled_again_is_pending_after_restarts,
            timers_and_deliverables_are_kept_until_done,
            forgotten_records_are_gone_and_their_tallies_kept,
            advancing_the_pending_scan_skips_only_what_is_done
        );
    };
    (@cases $opener:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let opener = $opener;
                $crate::conformance::$case(opener).await;
            }
        )*
    };
}
