//! Retention on a clock the tests set: a conversation inactive for longer than `retention` is
//! forgotten with its messages, deliveries, id-map entries and dedupe answers, and the report
//! over its period reads the same afterwards; a conversation with a delivery pending, a
//! reminder due or a deliverable not done is kept; a post after the sweep read its candidates
//! keeps the conversation; a sweep cut short after the first step is finished by the next; a
//! replay within `dedupe_window` is a replay, after it a new message. The committer runs for
//! real on a memory store (the store backends pass the same conformance case for the records).
//! The conversation of a deliverable not done is kept too. A long conversation is trimmed in
//! pieces first, and every report reads the same during and after.

use std::path::Path;
use std::sync::Arc;

use c2c_config::Config;
use c2c_core::memory::MemoryStore;
use c2c_core::{Accepted, Channel, DeliveryStatus, Envelope, Inbox, Millis, NativeKey, Origin, Shutdown, Store};
use c2c_language::Tagger;
use tokio::sync::mpsc;

use crate::clock::Clock;
use crate::live::Live;
use crate::metrics::Metrics;
use crate::report;
use crate::retention::Sweep;
use crate::router::Router;
use crate::router::committer::Committer;
use crate::router::retention::{Forgotten, TrimPiece, Trimmed};

const CONFIG: &str = r#"
[bridge]
name = "test bridge"
data_dir = "data"
listen = "127.0.0.1:1"
retention = "400d"
dedupe_window = "1d"

[connectors.webhook]

[[cities]]
id = "leeds"
name = "Leeds"
country = "GB"
languages = ["en"]
webhook = { url = "http://127.0.0.1:2/leeds", secret_env = "X_LEEDS" }
  [[cities.contacts]]
  id = "leeds-jo"
  name = "Jo Smith"
  role = "International Relations"

[[cities]]
id = "tokyo"
name = "Tokyo"
country = "JP"
languages = ["ja", "en"]
webhook = { url = "http://127.0.0.1:2/tokyo", secret_env = "X_TOKYO" }
  [[cities.contacts]]
  id = "tokyo-sato"
  name = "Sato Hana"
  role = "International Exchange"

[[partnerships]]
id = "lt"
kind = "city-city"
members = ["leeds", "tokyo"]
objective = "o"
language = "en"
reply_within = "2d"
channels = { leeds = "webhook", tokyo = "webhook" }
"#;

const DAY: Millis = 86_400_000;

struct H {
    store: MemoryStore,
    clock: Clock,
    config: Live<Config>,
    router: Router,
    sweep: Sweep,
    stop: Shutdown,
}

impl Drop for H {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl H {
    /// The committer on a memory store, on a manual clock at the wall clock's time (dedupe
    /// answers are aged by their message id, a ULID of the wall clock).
    fn new() -> H {
        H::with_pieces_of(crate::retention::POSTS_PER_PIECE)
    }

    /// With `posts_per_piece` posts per piece of the sweep's work (a longer conversation is
    /// trimmed first).
    fn with_pieces_of(posts_per_piece: u64) -> H {
        let store = MemoryStore::new("test");
        let clock = Clock::manual(c2c_core::now_ms());
        let config = Live::new(Config::parse(CONFIG, Path::new("test.toml")).unwrap());
        let tagger = Tagger::new(config.get().languages_mentioned());
        let metrics = Arc::new(Metrics::new());
        let store_dyn: Arc<dyn Store> = Arc::new(store.clone());
        let (bounces, _) = mpsc::unbounded_channel();
        let (router, rx) = Router::new(config.clone(), Live::new(tagger), metrics.clone(), store_dyn.clone(), bounces);
        let (tx, _outbox) = mpsc::unbounded_channel();
        let committer = Committer::new(
            config.clone(),
            store_dyn.clone(),
            metrics.clone(),
            tx,
            c2c_core::InstanceKey::new([7; 32]),
            clock.clone(),
        )
        .unwrap();
        let stop = Shutdown::new();
        tokio::spawn(committer.run(rx, stop.clone()));
        // Two records per read: every sweep here goes in several steps.
        let sweep = Sweep {
            store: store_dyn,
            router: router.clone(),
            config: config.clone(),
            clock: clock.clone(),
            metrics,
            read_per_step: 2,
            posts_per_piece,
        };
        H { store, clock, config, router, sweep, stop }
    }

    async fn post(&self, city: &str, contact: &str, conversation: Option<&Accepted>, id: &str, text: &str) -> Accepted {
        let origin = Origin { channel: Channel::Webhook, city: Some(city.into()), address: format!("/hooks/{city}") };
        let mut e = Envelope::new(origin, contact, NativeKey::webhook_delivery(city, id), text);
        e.partnership = Some("lt".into());
        e.conversation = conversation.map(|a| a.conversation.to_string());
        self.router.submit(e).await.unwrap()
    }

    /// Every pending delivery made (as the scheduler records it).
    async fn deliver_all(&self) {
        let mut entries = self.store.pending_outbox().unwrap();
        for e in &mut entries {
            e.status = DeliveryStatus::Delivered;
            e.delivered_at = Some(self.clock.now());
        }
        let staged = self.store.update_deliveries(&entries, &[]).await.unwrap();
        self.store.durable(staged).await.unwrap();
    }

    fn report(&self, since: Millis, until: Millis) -> serde_json::Value {
        let config = self.config.get();
        let p = config.partnership("lt").unwrap();
        let r = report::compute(&self.store, &config, p, Some(since), Some(until), self.clock.now()).unwrap();
        let mut json = serde_json::to_value(r).unwrap();
        json.as_object_mut().unwrap().remove("generated_at");
        json
    }

    /// A conversation posted in, closed and delivered; then the clock moved on 401 days.
    async fn settled_a_year_ago(&self) -> Accepted {
        let first = self.post("leeds", "leeds-jo", None, "w-1", "Hello").await;
        self.router.close_conversation(first.conversation).await.unwrap();
        self.deliver_all().await;
        self.clock.advance(std::time::Duration::from_secs(401 * 86_400));
        first
    }

    fn natives_of(&self, conversation: c2c_core::ConversationId) -> usize {
        let mut n = 0;
        self.store
            .each_native(None, &mut |_, r| {
                n += usize::from(r.conversation == conversation);
                true
            })
            .unwrap();
        n
    }
}

#[tokio::test]
async fn an_inactive_conversation_is_forgotten_and_its_report_survives() {
    let h = H::new();
    let start = h.clock.now();
    let first = h.post("leeds", "leeds-jo", None, "w-1", "Could you send the programme?").await;
    h.clock.advance(std::time::Duration::from_secs(3 * 3600));
    h.post("tokyo", "tokyo-sato", Some(&first), "w-2", "Here it is, with the dates.").await;
    h.router.close_conversation(first.conversation).await.unwrap();
    h.deliver_all().await;
    let (since, until) = (start - 14 * DAY, start + 14 * DAY);
    let before = h.report(since, until);
    assert_eq!(before["messages"], 2, "{before}");
    assert!(h.natives_of(first.conversation) > 0);

    // A year and more later, another conversation is going on.
    h.clock.advance(std::time::Duration::from_secs(401 * 86_400));
    let recent = h.post("tokyo", "tokyo-sato", None, "w-3", "A new question about the visit").await;
    let done = h.sweep.once().await.unwrap();
    assert_eq!(
        (done.conversations, done.messages, done.deliveries, done.tombstones),
        (1, 2, 2, 1),
        "the conversation, its two posts and their two deliveries: {done:?}"
    );
    assert!(done.id_map >= 1, "its id-map entries (its short id at least): {done:?}");
    assert_eq!(done.dedupe_answers, 2, "both dedupe answers are older than a day, the new one not: {done:?}");

    assert_eq!(h.store.conversation(first.conversation).unwrap(), None);
    assert!(h.store.messages(first.conversation).unwrap().is_empty());
    assert!(h.store.outbox(None).unwrap().iter().all(|e| e.conversation != first.conversation));
    assert_eq!(h.natives_of(first.conversation), 0);
    assert!(h.store.forgotten().unwrap().is_empty(), "the tombstone went with the last id-map entry");
    assert!(h.store.conversation(recent.conversation).unwrap().is_some(), "the recent one is kept");
    assert!(h.store.accepted(&NativeKey::webhook_delivery("tokyo", "w-3")).unwrap().is_some());

    // The report over the forgotten period reads the same, from the week tallies.
    let mut after = h.report(since, until);
    after.as_object_mut().unwrap().remove("as_of");
    let mut before = before;
    before.as_object_mut().unwrap().remove("as_of");
    assert_eq!(after, before);
    // Nothing is left to forget.
    assert_eq!(h.sweep.once().await.unwrap(), Forgotten::default());
}

#[tokio::test]
async fn a_conversation_still_owed_something_is_kept_until_it_is_settled() {
    let h = H::new();
    // Undelivered: its delivery is pending (the receiver has been down).
    let pending = h.post("leeds", "leeds-jo", None, "w-1", "Are you there?").await;
    h.router.close_conversation(pending.conversation).await.unwrap();
    // Its reply still owed: Tokyo's reminder is due (the follow-up loop has not sent it).
    h.deliver_all().await;
    let owed = h.post("leeds", "leeds-jo", None, "w-2", "Could you confirm the dates?").await;
    h.deliver_all().await;
    // Still pending in the store for the first one: make it pending again.
    let mut entries: Vec<_> =
        h.store.outbox(None).unwrap().into_iter().filter(|e| e.conversation == pending.conversation).collect();
    for e in &mut entries {
        e.status = DeliveryStatus::TemporaryFailure;
    }
    let staged = h.store.update_deliveries(&entries, &[]).await.unwrap();
    h.store.durable(staged).await.unwrap();

    h.clock.advance(std::time::Duration::from_secs(401 * 86_400));
    let done = h.sweep.once().await.unwrap();
    assert_eq!((done.conversations, done.kept), (0, 2), "{done:?}");
    assert!(h.store.conversation(pending.conversation).unwrap().is_some());
    assert!(h.store.conversation(owed.conversation).unwrap().is_some());

    // Settled: delivered, and the debt ended by /close.
    h.deliver_all().await;
    h.router.close_conversation(owed.conversation).await.unwrap();
    h.clock.advance(std::time::Duration::from_secs(401 * 86_400));
    let done = h.sweep.once().await.unwrap();
    assert_eq!((done.conversations, done.kept), (2, 0), "{done:?}");
}

#[tokio::test]
async fn activity_after_the_sweep_read_its_candidates_keeps_the_conversation() {
    let h = H::new();
    let first = h.settled_a_year_ago().await;
    // The sweep read it as inactive; then a post arrived before its piece was committed.
    let cutoff = h.clock.now() - 400 * DAY;
    h.post("tokyo", "tokyo-sato", Some(&first), "w-2", "Back to this one").await;
    let done = h.router.expire(vec![first.conversation], cutoff, usize::MAX).await.unwrap().done;
    assert_eq!(done, Forgotten::default(), "decided again on the newest state");
    assert_eq!(h.store.messages(first.conversation).unwrap().len(), 2);
}

#[tokio::test]
async fn a_sweep_cut_short_after_forgetting_is_finished_by_the_next() {
    let h = H::new();
    let first = h.settled_a_year_ago().await;
    // Only the first step, as if the daemon stopped right after it.
    let cutoff = h.clock.now() - 400 * DAY;
    let done = h.router.expire(vec![first.conversation], cutoff, usize::MAX).await.unwrap().done;
    assert_eq!(done.conversations, 1);
    assert_eq!(h.store.forgotten().unwrap(), vec![first.conversation], "the tombstone says what is owed");
    assert!(h.natives_of(first.conversation) > 0);
    let done = h.sweep.once().await.unwrap();
    assert_eq!((done.conversations, done.tombstones), (0, 1), "{done:?}");
    assert!(done.id_map > 0);
    assert_eq!(h.natives_of(first.conversation), 0);
    assert!(h.store.forgotten().unwrap().is_empty());
}

#[tokio::test]
async fn a_replay_within_the_dedupe_window_is_a_replay_and_after_it_a_new_message() {
    let h = H::new();
    let first = h.post("leeds", "leeds-jo", None, "w-1", "Hello").await;
    h.clock.advance(std::time::Duration::from_secs(3600));
    h.sweep.once().await.unwrap();
    let again = h.post("leeds", "leeds-jo", None, "w-1", "Hello").await;
    assert!(again.replay, "within the window");
    assert_eq!(again.message, first.message);
    h.clock.advance(std::time::Duration::from_secs(2 * 86_400));
    let done = h.sweep.once().await.unwrap();
    assert_eq!(done.dedupe_answers, 1, "{done:?}");
    let late = h.post("leeds", "leeds-jo", None, "w-1", "Hello").await;
    assert!(!late.replay, "past the window, the same id is a new message");
    assert_ne!(late.message, first.message);
}

#[tokio::test]
async fn the_conversation_of_a_deliverable_not_done_is_kept() {
    let h = H::new();
    let reminders = h.post("leeds", "leeds-jo", None, "w-1", "About the draft").await;
    h.router.close_conversation(reminders.conversation).await.unwrap();
    h.deliver_all().await;
    // The conversation the bridge keeps a deliverable's reminders in.
    let mut draft = c2c_core::DeliverableState::new("lt", "draft");
    draft.conversation = Some(reminders.conversation);
    h.store.commit(c2c_core::Commit { deliverables: vec![draft.clone()], ..Default::default() }).await.unwrap();
    h.clock.advance(std::time::Duration::from_secs(401 * 86_400));
    let done = h.sweep.once().await.unwrap();
    assert_eq!((done.conversations, done.kept), (0, 1), "{done:?}");
    draft.done_at = Some(h.clock.now());
    h.store.commit(c2c_core::Commit { deliverables: vec![draft], ..Default::default() }).await.unwrap();
    let done = h.sweep.once().await.unwrap();
    assert_eq!((done.conversations, done.kept), (1, 0), "{done:?}");
}

/// A conversation of 21 posts over three weeks between two cities, closed and delivered, then
/// left for 401 days: its id.
async fn long_settled(h: &H) -> Accepted {
    let first = h.post("leeds", "leeds-jo", None, "w-0", "Could you send the programme?").await;
    for i in 1..=20 {
        h.clock.advance(std::time::Duration::from_secs(86_400));
        let (city, contact) = if i % 3 == 0 { ("leeds", "leeds-jo") } else { ("tokyo", "tokyo-sato") };
        h.post(city, contact, Some(&first), &format!("w-{i}"), &format!("Point {i} of the programme, with the dates."))
            .await;
    }
    h.router.close_conversation(first.conversation).await.unwrap();
    h.deliver_all().await;
    first
}

fn without_as_of(mut report: serde_json::Value) -> serde_json::Value {
    report.as_object_mut().unwrap().remove("as_of");
    report
}

#[tokio::test]
async fn a_long_conversation_is_trimmed_in_pieces_and_every_report_reads_the_same() {
    let h = H::with_pieces_of(4);
    let start = h.clock.now();
    let first = long_settled(&h).await;
    let (since, until) = (start - 14 * DAY, start + 35 * DAY);
    let before = without_as_of(h.report(since, until));
    assert_eq!(before["messages"], 21, "{before}");
    h.clock.advance(std::time::Duration::from_secs(401 * 86_400));
    let seqs: Vec<u64> = h.store.messages(first.conversation).unwrap().iter().map(|m| m.seq).collect();

    // Expiring it reads no more than a piece's messages: it is left for trimming.
    let cutoff = h.clock.now() - 400 * DAY;
    let expired = h.router.expire(vec![first.conversation], cutoff, 4).await.unwrap();
    assert_eq!(expired.too_long, vec![first.conversation]);
    assert_eq!(expired.done, Forgotten::default());
    assert_eq!(h.store.messages(first.conversation).unwrap().len(), 21);

    // One piece by hand, as the sweep sends it: four messages read, the first post kept.
    let keep = [seqs[0], seqs[1], seqs[20]].into_iter().collect();
    let piece = TrimPiece {
        conversation: first.conversation,
        cutoff: h.clock.now() - 400 * DAY,
        from: seqs[0],
        to: seqs[20],
        keep: Arc::new(keep),
        max: 4,
    };
    let trimmed = h.router.trim(piece).await.unwrap();
    let Trimmed::Piece { done, next } = trimmed else { panic!("{trimmed:?}") };
    assert_eq!((done.messages, done.deliveries, next), (2, 2, Some(seqs[4])), "{done:?}");
    assert_eq!(h.store.messages(first.conversation).unwrap().len(), 19);
    assert!(h.store.conversation(first.conversation).unwrap().is_some(), "only trimmed");
    assert_eq!(without_as_of(h.report(since, until)), before, "half trimmed, the report reads the same");

    // The sweep trims the rest in pieces, then forgets what is left.
    let done = h.sweep.once().await.unwrap();
    assert_eq!((done.conversations, done.messages, done.deliveries), (1, 19, 19), "{done:?}");
    assert_eq!(h.store.conversation(first.conversation).unwrap(), None);
    assert!(h.store.messages(first.conversation).unwrap().is_empty());
    assert_eq!(without_as_of(h.report(since, until)), before, "forgotten, the report reads the same");
}

#[tokio::test]
async fn a_long_conversation_with_a_delivery_pending_is_not_trimmed() {
    let h = H::with_pieces_of(4);
    let first = long_settled(&h).await;
    // The delivery of the 19th post failed for now: it is pending again.
    let seqs: Vec<u64> = h.store.messages(first.conversation).unwrap().iter().map(|m| m.seq).collect();
    let mut entry = h.store.outbox_at(seqs[18]).unwrap().remove(0);
    entry.status = DeliveryStatus::TemporaryFailure;
    let staged = h.store.update_deliveries(&[entry], &[]).await.unwrap();
    h.store.durable(staged).await.unwrap();
    h.clock.advance(std::time::Duration::from_secs(401 * 86_400));
    let done = h.sweep.once().await.unwrap();
    assert_eq!((done.conversations, done.messages, done.kept), (0, 0, 1), "{done:?}");
    assert_eq!(h.store.messages(first.conversation).unwrap().len(), 21);
    // Asked to trim the piece with the pending delivery, the committer deletes nothing.
    let piece = TrimPiece {
        conversation: first.conversation,
        cutoff: h.clock.now() - 400 * DAY,
        from: seqs[16],
        to: seqs[20],
        keep: Arc::new([seqs[20]].into_iter().collect()),
        max: 8,
    };
    assert_eq!(h.router.trim(piece).await.unwrap(), Trimmed::Stopped);
    assert_eq!(h.store.messages(first.conversation).unwrap().len(), 21);
}

#[tokio::test]
async fn a_post_during_trimming_stops_it_and_keeps_the_conversation() {
    let h = H::with_pieces_of(4);
    let first = long_settled(&h).await;
    h.clock.advance(std::time::Duration::from_secs(401 * 86_400));
    let cutoff = h.clock.now() - 400 * DAY;
    let seqs: Vec<u64> = h.store.messages(first.conversation).unwrap().iter().map(|m| m.seq).collect();
    // The sweep read it as inactive; then a post arrived before the next piece.
    h.post("tokyo", "tokyo-sato", Some(&first), "w-late", "Back to this one").await;
    let piece = TrimPiece {
        conversation: first.conversation,
        cutoff,
        from: seqs[0],
        to: seqs[20],
        keep: Arc::new([seqs[0], seqs[20]].into_iter().collect()),
        max: 4,
    };
    assert_eq!(h.router.trim(piece).await.unwrap(), Trimmed::Stopped, "decided again on the newest state");
    assert_eq!(h.store.messages(first.conversation).unwrap().len(), 22);
}

#[tokio::test]
async fn a_piece_reads_no_more_messages_than_its_budget_and_sends_the_rest_back() {
    let h = H::new();
    let mut ids = Vec::new();
    for i in 0..3 {
        let first = h.post("leeds", "leeds-jo", None, &format!("w-{i}"), "Could you send the programme?").await;
        h.post("tokyo", "tokyo-sato", Some(&first), &format!("w-{i}r"), "Here it is.").await;
        h.router.close_conversation(first.conversation).await.unwrap();
        ids.push(first.conversation);
    }
    h.deliver_all().await;
    h.clock.advance(std::time::Duration::from_secs(401 * 86_400));
    let cutoff = h.clock.now() - 400 * DAY;
    let each = h.store.messages(ids[0]).unwrap().len();
    // Room for the first conversation's messages and one more: the second does not fit.
    let expired = h.router.expire(ids.clone(), cutoff, each + 1).await.unwrap();
    assert_eq!(expired.done.conversations, 1, "{expired:?}");
    assert_eq!(expired.again, ids[1..].to_vec(), "those it did not reach come back");
    assert!(expired.too_long.is_empty());
    assert_eq!(h.store.messages(ids[1]).unwrap().len(), each, "the one it stopped in is untouched");
    // A first conversation longer than the whole piece uses it up too.
    let expired = h.router.expire(ids[1..].to_vec(), cutoff, each - 1).await.unwrap();
    assert_eq!((expired.too_long, expired.again), (vec![ids[1]], vec![ids[2]]));
    assert_eq!(expired.done, Forgotten::default());
    // The sweep sends them again until every one is done.
    let done = h.sweep.once().await.unwrap();
    assert_eq!(done.conversations, 2, "{done:?}");
}
