//! The router with an in-memory store: identification, conversations, the agreed-channel rule,
//! recipients and notices. (The real binary over HTTP is tested in `tests/integration`.)

use std::path::Path;
use std::sync::Arc;

use c2c_config::Config;
use c2c_core::ThreadRef;
use c2c_core::memory::MemoryStore;
use c2c_core::{
    Channel, DeliveryStatus, Envelope, Inbox, MessageKind, NativeKey, Origin, OutboxEntry, RefusalReason, Shutdown,
    Store,
};
use c2c_language::Tagger;
use tokio::sync::mpsc;

use super::Router;
use super::committer::Committer;
use crate::live::Live;
use crate::metrics::Metrics;
use crate::outbox::Queued;

/// Leeds agreed on email, Hangzhou on webhook, Gifu on webhook. `relay-p` relays messages
/// written on another channel; `reject-p` rejects them.
const CONFIG: &str = r#"
[bridge]
name = "test bridge"
data_dir = "data"
listen = "127.0.0.1:1"

[connectors.email]
address = "bridge@c2c.example.org"
imap = { host = "127.0.0.1", port = 993, security = "tls", user = "bridge", password_env = "X_IMAP" }
smtp = { host = "127.0.0.1", port = 587, security = "starttls", user = "bridge", password_env = "X_SMTP" }

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
  email = "Jo.Smith@leeds.example"
  [[cities.contacts]]
  id = "leeds-sam"
  name = "Sam Patel"
  role = "Culture"
  email = "sam@leeds.example"

[[cities]]
id = "hangzhou"
name = "Hangzhou"
country = "CN"
languages = ["zh", "en"]
webhook = { url = "http://127.0.0.1:2/hangzhou", secret_env = "X_HZ" }
  [[cities.contacts]]
  id = "hz-li"
  name = "Li Wei"
  role = "Foreign Affairs Office"

[[cities]]
id = "gifu"
name = "Gifu"
country = "JP"
languages = ["ja"]
webhook = { url = "http://127.0.0.1:2/gifu", secret_env = "X_GIFU" }
  [[cities.contacts]]
  id = "gifu-sato"
  name = "Sato Hana"
  role = "International Exchange"

[[partnerships]]
id = "relay-p"
kind = "city-city"
members = ["hangzhou", "leeds"]
objective = "o"
language = "en"
reply_within = "5d"
on_other_channel = "relay"
channels = { hangzhou = "webhook", leeds = "email" }

[[partnerships]]
id = "reject-p"
kind = "multi-city"
members = ["hangzhou", "leeds", "gifu"]
objective = "o"
language = "zh"
reply_within = "5d"
on_other_channel = "reject"
channels = { hangzhou = "webhook", leeds = "email", gifu = "webhook" }
"#;

pub(crate) struct Harness {
    pub router: Router,
    pub store: MemoryStore,
    pub config: Live<Config>,
    pub metrics: Arc<Metrics>,
    pub outbox: mpsc::UnboundedReceiver<Vec<Queued>>,
    store_failed: Shutdown,
    _stop: Shutdown,
}

/// A router with its committer running on a memory store, on [`CONFIG`].
pub(crate) fn harness() -> Harness {
    harness_on(CONFIG, crate::clock::Clock::wall())
}

/// A router with its committer running on a memory store, on `config`, at `clock`'s time.
pub(crate) fn harness_on(config: &str, clock: crate::clock::Clock) -> Harness {
    let config = Config::parse(config, Path::new("test.toml")).unwrap();
    let tagger = Tagger::new(config.languages_mentioned());
    let store = MemoryStore::new("test");
    let metrics = Arc::new(Metrics::new());
    let config = Live::new(config);
    let (bounces, _) = mpsc::unbounded_channel();
    let (router, rx) =
        Router::new(config.clone(), Live::new(tagger), metrics.clone(), Arc::new(store.clone()), bounces);
    let (tx, outbox) = mpsc::unbounded_channel();
    let key = c2c_core::InstanceKey::new([7; 32]);
    let committer = Committer::new(config.clone(), Arc::new(store.clone()), metrics.clone(), tx, key, clock).unwrap();
    let store_failed = committer.store_failed.clone();
    let stop = Shutdown::new();
    tokio::spawn(committer.run(rx, stop.clone()));
    Harness { router, store, config, metrics, outbox, store_failed, _stop: stop }
}

pub(crate) fn webhook(city: &str, from: &str, partnership: &str, id: &str, text: &str) -> Envelope {
    let origin = Origin { channel: Channel::Webhook, city: Some(city.into()), address: format!("/hooks/{city}") };
    let mut e = Envelope::new(origin, from, NativeKey::webhook_delivery(city, id), text);
    e.partnership = Some(partnership.into());
    e
}

fn email(from: &str, partnership: &str, id: &str, text: &str) -> Envelope {
    let origin =
        Origin { channel: Channel::Email, city: None, address: format!("bridge+{partnership}@c2c.example.org") };
    let mut e = Envelope::new(origin, from, NativeKey(format!("email:<{id}>")), text);
    e.partnership = Some(partnership.into());
    e
}

#[tokio::test]
async fn a_post_goes_to_every_contact_of_the_other_member_on_its_agreed_channel() {
    let mut h = harness();
    let a = h.router.submit(webhook("hangzhou", "hz-li", "relay-p", "1", "Please send the agenda.")).await.unwrap();
    let entries: Vec<OutboxEntry> = h.outbox.recv().await.unwrap().into_iter().map(|q| q.entry).collect();
    let to: Vec<(Channel, &str)> =
        entries.iter().map(|e| (e.recipient.channel, e.recipient.address.as_str())).collect();
    assert_eq!(to, vec![(Channel::Email, "Jo.Smith@leeds.example"), (Channel::Email, "sam@leeds.example")]);
    assert!(entries.iter().all(|e| e.message == a.message && e.conversation == a.conversation));
    let m = h.store.message(a.conversation, entries[0].seq).unwrap().unwrap();
    assert_eq!(m.author.as_ref().unwrap().contact, "hz-li");
    assert_eq!(m.language.code, "en");
}

#[tokio::test]
async fn email_senders_are_matched_case_insensitively_and_strangers_refused() {
    let h = harness();
    assert!(h.router.submit(email("jo.smith@LEEDS.example", "relay-p", "a@x", "Hello Hangzhou")).await.is_ok());
    let r = h.router.submit(email("mallory@evil.example", "relay-p", "b@x", "Hello")).await.unwrap_err();
    assert_eq!(r.reason, RefusalReason::UnknownSender);
    // An empty mail from a stranger is refused as a stranger's (no reply goes to strangers),
    // not as empty (which a known contact is told about).
    let r = h.router.submit(email("victim@elsewhere.example", "relay-p", "c@x", "  ")).await.unwrap_err();
    assert_eq!(r.reason, RefusalReason::UnknownSender);
    let r = h.router.submit(email("jo.smith@leeds.example", "relay-p", "d@x", "  ")).await.unwrap_err();
    assert_eq!(r.reason, RefusalReason::EmptyText);
    assert_eq!(h.store.conversations(None).unwrap().len(), 1);
}

#[tokio::test]
async fn an_oversized_post_is_refused_as_too_large_only_once_its_sender_is_known() {
    let h = harness();
    let oversized = |from: &str, id: &str| {
        let mut e = email(from, "relay-p", id, "");
        e.oversized = Some("the mail is 40 MiB, over the limit of 32 MiB".into());
        e
    };
    // A stranger's is refused as a stranger's: nobody is told anything.
    let r = h.router.submit(oversized("mallory@evil.example", "a@x")).await.unwrap_err();
    assert_eq!(r.reason, RefusalReason::UnknownSender);
    // A contact's is refused as too large, with the connector's sentence (they are told).
    let r = h.router.submit(oversized("jo.smith@leeds.example", "b@x")).await.unwrap_err();
    assert_eq!(r.reason, RefusalReason::TooLarge);
    assert_eq!(r.detail, "the mail is 40 MiB, over the limit of 32 MiB");
    assert!(h.store.conversations(None).unwrap().is_empty(), "nothing committed");
    assert!(h.store.accepted(&NativeKey("email:<b@x>".into())).unwrap().is_none(), "no dedupe key either");
}

#[tokio::test]
async fn relay_rule_relays_and_notices_the_author_once_per_conversation() {
    let mut h = harness();
    // Leeds agreed on email but writes through its webhook.
    let mut first = webhook("leeds", "leeds-jo", "relay-p", "w1", "Hello from the wrong channel");
    first.thread_key = Some("T".into());
    let a = h.router.submit(first.clone()).await.unwrap();
    let entries: Vec<OutboxEntry> = h.outbox.recv().await.unwrap().into_iter().map(|q| q.entry).collect();
    let (posts, notices): (Vec<_>, Vec<_>) = entries.iter().partition(|e| e.message == a.message);
    assert_eq!(posts.len(), 1, "relayed to Hangzhou");
    assert_eq!(posts[0].recipient.city, "hangzhou");
    assert_eq!(notices.len(), 1, "one notice to the author");
    assert_eq!(notices[0].recipient.channel, Channel::Webhook, "on the channel the author used");
    let notice = h.store.message(notices[0].conversation, notices[0].seq).unwrap().unwrap();
    assert_eq!(notice.kind, MessageKind::Notice);
    assert!(notice.text.contains("email"), "{}", notice.text);

    // Again in the same conversation: relayed, no second notice.
    let mut second = first.clone();
    second.dedupe_key = NativeKey::webhook_delivery("leeds", "w2");
    let b = h.router.submit(second).await.unwrap();
    assert_eq!(b.conversation, a.conversation);
    let entries: Vec<OutboxEntry> = h.outbox.recv().await.unwrap().into_iter().map(|q| q.entry).collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].message, b.message);
}

#[tokio::test]
async fn reject_rule_refuses_with_a_reason_in_the_partnership_language() {
    let h = harness();
    let r = h.router.submit(webhook("leeds", "leeds-jo", "reject-p", "w1", "Hello")).await.unwrap_err();
    assert_eq!(r.reason, RefusalReason::WrongChannel);
    assert!(r.detail.contains("email"), "{}", r.detail);
    assert!(r.detail.contains("未转发"), "in Chinese, the partnership's language: {}", r.detail);
    assert!(h.store.conversations(None).unwrap().is_empty());
}

#[tokio::test]
async fn conversations_resolve_by_id_then_thread_key_within_the_partnership() {
    let h = harness();
    let mut e = webhook("hangzhou", "hz-li", "relay-p", "1", "First");
    e.thread_key = Some("K".into());
    let a = h.router.submit(e.clone()).await.unwrap();

    let mut by_key = e.clone();
    by_key.dedupe_key = NativeKey::webhook_delivery("hangzhou", "2");
    assert_eq!(h.router.submit(by_key).await.unwrap().conversation, a.conversation);

    let mut by_id = webhook("hangzhou", "hz-li", "relay-p", "3", "Third");
    by_id.conversation = Some(a.conversation.to_string());
    assert_eq!(h.router.submit(by_id).await.unwrap().conversation, a.conversation);

    // The same thread key in another partnership starts a new conversation there.
    let mut other = e.clone();
    other.dedupe_key = NativeKey::webhook_delivery("hangzhou", "4");
    other.partnership = Some("reject-p".into());
    let d = h.router.submit(other).await.unwrap();
    assert_ne!(d.conversation, a.conversation);
    assert_eq!(h.store.conversation(d.conversation).unwrap().unwrap().partnership, "reject-p");

    // A conversation id from another partnership is refused.
    let mut wrong = webhook("hangzhou", "hz-li", "reject-p", "5", "Fifth");
    wrong.conversation = Some(a.conversation.to_string());
    assert_eq!(h.router.submit(wrong).await.unwrap_err().reason, RefusalReason::UnknownConversation);

    let c = h.store.conversation(a.conversation).unwrap().unwrap();
    assert_eq!(c.posts, 3);
    assert_eq!(c.thread("webhook:hangzhou"), ["K"]);
}

#[tokio::test]
async fn a_thread_key_names_one_conversation_per_partnership() {
    let h = harness();
    let post = |partnership: Option<&str>, id: &str| {
        let mut e = webhook("hangzhou", "hz-li", "relay-p", id, &format!("Post {id}"));
        e.partnership = partnership.map(String::from);
        e.thread_key = Some("SAME".into());
        e
    };
    // Hangzhou's system uses one key in both of its partnerships: two conversations.
    let relay = h.router.submit(post(Some("relay-p"), "1")).await.unwrap().conversation;
    let reject = h.router.submit(post(Some("reject-p"), "2")).await.unwrap().conversation;
    assert_ne!(relay, reject);
    // Each continues in its own partnership, whichever was used last.
    assert_eq!(h.router.submit(post(Some("relay-p"), "3")).await.unwrap().conversation, relay);
    assert_eq!(h.router.submit(post(Some("reject-p"), "4")).await.unwrap().conversation, reject);
    assert_eq!(h.router.submit(post(Some("relay-p"), "5")).await.unwrap().conversation, relay);
    assert_eq!(h.store.conversation(relay).unwrap().unwrap().posts, 3);
    assert_eq!(h.store.conversation(reject).unwrap().unwrap().posts, 2);
    // Without a partnership the key is ambiguous: refused, asking for the partnership.
    let r = h.router.submit(post(None, "6")).await.unwrap_err();
    assert_eq!(r.reason, RefusalReason::UnknownPartnership);
    assert!(r.detail.contains("`relay-p`, `reject-p`") && r.detail.contains("name the partnership"), "{}", r.detail);
    // Another city's same key is its own.
    let mut gifu = webhook("gifu", "gifu-sato", "reject-p", "7", "Gifu's own");
    gifu.thread_key = Some("SAME".into());
    let g = h.router.submit(gifu).await.unwrap().conversation;
    assert!(g != relay && g != reject);
    assert_eq!(h.store.conversations(None).unwrap().len(), 3);
}

#[tokio::test]
async fn thread_keys_stored_before_they_were_scoped_still_resolve_in_their_partnership() {
    let h = harness();
    // A conversation from before, with its key stored the old way (one per city).
    let old = h.router.submit(webhook("hangzhou", "hz-li", "relay-p", "1", "From before")).await.unwrap();
    let legacy = NativeKey::legacy_webhook_thread("hangzhou", "OLD");
    let r = c2c_core::NativeRef { partnership: "relay-p".into(), conversation: old.conversation, message: None };
    h.store.commit(c2c_core::Commit { natives: vec![(legacy, r)], ..Default::default() }).await.unwrap();
    let post = |partnership: Option<&str>, id: &str| {
        let mut e = webhook("hangzhou", "hz-li", "relay-p", id, &format!("Post {id}"));
        e.partnership = partnership.map(String::from);
        e.thread_key = Some("OLD".into());
        e
    };
    // Named or not, the old key continues its conversation, and is then stored scoped.
    assert_eq!(h.router.submit(post(None, "2")).await.unwrap().conversation, old.conversation);
    assert_eq!(h.router.submit(post(Some("relay-p"), "3")).await.unwrap().conversation, old.conversation);
    let scoped = h.store.native(&NativeKey::webhook_thread("hangzhou", "relay-p", "OLD")).unwrap().unwrap();
    assert_eq!(scoped.conversation, old.conversation);
    // In the other partnership it names nothing yet: a new conversation there.
    let other = h.router.submit(post(Some("reject-p"), "4")).await.unwrap().conversation;
    assert_ne!(other, old.conversation);
    assert_eq!(h.router.submit(post(Some("relay-p"), "5")).await.unwrap().conversation, old.conversation);
}

#[tokio::test]
async fn concurrent_submissions_are_committed_in_groups_with_increasing_seqs() {
    let h = harness();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let r = h.router.clone();
        tasks.push(tokio::spawn(async move {
            let mut e = webhook("hangzhou", "hz-li", "relay-p", &i.to_string(), &format!("message {i}"));
            e.thread_key = Some("ONE".into());
            r.submit(e).await.unwrap()
        }));
    }
    let mut conversations = std::collections::HashSet::new();
    for t in tasks {
        conversations.insert(t.await.unwrap().conversation);
    }
    assert_eq!(conversations.len(), 1, "concurrent posts with one new thread key share one conversation");
    let conv = *conversations.iter().next().unwrap();
    let seqs: Vec<u64> = h.store.messages(conv).unwrap().iter().map(|m| m.seq).collect();
    assert_eq!(seqs.len(), 200);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn a_failure_for_good_is_recorded_with_the_notice_to_the_author_in_one_commit() {
    let mut h = harness();
    let a = h.router.submit(webhook("hangzhou", "hz-li", "relay-p", "1", "Please send the agenda.")).await.unwrap();
    let mut failed = h.outbox.recv().await.unwrap().remove(0).entry;
    failed.status = DeliveryStatus::PermanentFailure;
    failed.last_error = Some("550 no such user".into());
    assert!(h.router.failed_for_good(failed.clone(), "550 no such user".into()).await);

    // The scheduler is handed the notice to the author, not the failed entry again.
    let queued: Vec<OutboxEntry> = h.outbox.recv().await.unwrap().into_iter().map(|q| q.entry).collect();
    assert_eq!(queued.len(), 1);
    assert_eq!((queued[0].recipient.city.as_str(), queued[0].status), ("hangzhou", DeliveryStatus::Scheduled));
    let notice = h.store.message(a.conversation, queued[0].seq).unwrap().unwrap();
    assert_eq!(notice.kind, MessageKind::DeliveryFailed);
    assert!(notice.text.contains("550 no such user"), "{}", notice.text);
    // Both are in the store, the failure no longer pending.
    assert_eq!(h.store.outbox_entry(failed.seq, &failed.id).unwrap().unwrap().status, DeliveryStatus::PermanentFailure);
    assert!(!h.store.pending_outbox().unwrap().iter().any(|e| e.id == failed.id));
}

#[tokio::test]
async fn a_delay_notice_is_recorded_with_the_entry_it_is_about_in_one_commit() {
    let mut h = harness();
    let a = h.router.submit(webhook("hangzhou", "hz-li", "relay-p", "1", "Please send the agenda.")).await.unwrap();
    let mut delayed = h.outbox.recv().await.unwrap().remove(0).entry;
    delayed.status = DeliveryStatus::TemporaryFailure;
    delayed.delay_noticed_at = Some(delayed.created_at + 4 * 3600 * 1000);
    let deadline = delayed.created_at + 5 * 24 * 3600 * 1000;
    assert!(h.router.delayed(delayed.clone(), "452 mailbox full".into(), deadline).await);

    // The scheduler is handed the notice to the author, not the delayed entry again.
    let queued: Vec<OutboxEntry> = h.outbox.recv().await.unwrap().into_iter().map(|q| q.entry).collect();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].recipient.city, "hangzhou");
    let notice = h.store.message(a.conversation, queued[0].seq).unwrap().unwrap();
    assert_eq!(notice.kind, MessageKind::Delayed);
    assert!(notice.text.contains("452 mailbox full"), "{}", notice.text);
    let until = chrono::DateTime::from_timestamp_millis(deadline).unwrap().format("%Y-%m-%d %H:%M UTC").to_string();
    assert!(notice.text.contains(&until), "{}", notice.text);
    // The entry is still pending, and its record says the author was told.
    let stored = h.store.outbox_entry(delayed.seq, &delayed.id).unwrap().unwrap();
    assert_eq!(stored.delay_noticed_at, delayed.delay_noticed_at);
    assert!(h.store.pending_outbox().unwrap().iter().any(|e| e.id == delayed.id));
}

#[tokio::test]
async fn the_configured_endpoints_name_every_endpoint_the_config_routes_to() {
    let h = harness();
    let config = h.config.get();
    let names = super::recipients::configured_endpoints(&config);
    for p in &config.partnerships {
        for member in &p.members {
            for r in super::recipients::recipients(&config, p, member) {
                assert!(names.contains(&r.endpoint_key()), "{} is missing", r.endpoint_key());
            }
        }
    }
    assert!(names.contains("email:Jo.Smith@leeds.example") && names.contains("webhook:gifu"), "{names:?}");
    assert!(!names.contains("email:stranger@example.org"));
}

#[tokio::test]
async fn a_failed_flush_answers_unavailable_and_stops_the_daemon() {
    let mut h = harness();
    h.store.fail_flushes(true);
    let r = h.router.submit(webhook("hangzhou", "hz-li", "relay-p", "1", "Please send the agenda.")).await.unwrap_err();
    assert_eq!(r.reason, RefusalReason::Unavailable, "not acknowledged: the source retries");
    assert!(h.store_failed.is_cancelled(), "the daemon is told to stop and recover from disk at the restart");
    assert!(h.outbox.try_recv().is_err(), "nothing handed to the scheduler");
}

#[tokio::test]
async fn a_thread_hint_into_a_partnership_the_author_is_not_in_is_skipped() {
    let h = harness();
    let thread = |key: &str| NativeKey::email(&format!("{key}@hangzhou.example"));
    let mut a = webhook("hangzhou", "hz-li", "relay-p", "1", "Between Hangzhou and Leeds");
    a.native_ids = vec![thread("A")];
    h.router.submit(a).await.unwrap();
    let mut b = webhook("hangzhou", "hz-li", "reject-p", "2", "To all three");
    b.native_ids = vec![thread("B")];
    let b = h.router.submit(b).await.unwrap();

    // Gifu's answer quotes both threads, first the one Gifu is not in (as a forward's long
    // References list can): that hint is passed over, not a reason to refuse.
    let mut g = webhook("gifu", "gifu-sato", "reject-p", "3", "Our answer");
    g.partnership = None;
    g.thread_refs = vec![ThreadRef::Native(thread("A")), ThreadRef::Native(thread("B"))];
    assert_eq!(h.router.submit(g).await.unwrap().conversation, b.conversation);

    // Only that hint: nothing to continue, and no partnership named.
    let mut only = webhook("gifu", "gifu-sato", "reject-p", "4", "Again");
    only.partnership = None;
    only.thread_refs = vec![ThreadRef::Native(thread("A"))];
    assert_eq!(h.router.submit(only).await.unwrap_err().reason, RefusalReason::UnknownPartnership);
}

/// `/who` in the directory's test world at its fixed time (Wednesday 14:05 in Gifu): Leeds's
/// partners are Hangzhou, Gifu and Kuala Lumpur; Lyon is a partner of Gifu only.
#[tokio::test]
async fn who_answers_with_a_partners_contacts_in_the_thread_and_never_a_non_partners() {
    let clock = crate::clock::Clock::manual(crate::directory::tests::at().timestamp_millis());
    let mut h = harness_on(crate::directory::tests::WORLD, clock);
    let mut n = 0;
    let mut ask = async |city: &str, from: &str, partnership: &str, text: &str| -> String {
        n += 1;
        h.router.submit(webhook(city, from, partnership, &format!("who-{n}"), text)).await.unwrap();
        let queued = h.outbox.recv().await.unwrap();
        assert_eq!(queued.len(), 1, "{text}: only the answer, nothing relayed");
        assert_eq!(queued[0].entry.recipient.city, city, "{text}: answered to the asker");
        let message = &queued[0].context.as_ref().unwrap().message;
        assert_eq!(message.kind, MessageKind::Notice);
        message.text.clone()
    };

    assert_eq!(
        ask("leeds", "leeds-jo", "heritage-cities", "/who gifu Education").await,
        "Contacts in Gifu. Local time: Wed 6 Jan 2027 14:05 (Asia/Tokyo), within working hours:\n\
         - Sato Hana, International Exchange Division (ja, en; topics: education, tourism)\n\
         - Tanaka Ken, Board of Education (ja; topics: education)\n\
         - In the partnership heritage-cities, their agreed channel is webhook."
    );
    // A name of two words; this partnership's channel first, then the others shared with Leeds.
    assert_eq!(
        ask("leeds", "leeds-jo", "heritage-cities", "/who Kuala Lumpur").await,
        "Contacts in Kuala Lumpur. Local time: Wed 6 Jan 2027 13:05 (Asia/Kuala_Lumpur), within working hours:\n\
         - Nur Aisyah, Smart City Unit (ms, en; topics: smart-city, transport)\n\
         - In the partnership kl-leeds, their agreed channel is webhook."
    );
    assert_eq!(
        ask("leeds", "leeds-jo", "heritage-cities", "/who HANGZHOU").await,
        "Contacts in Hangzhou. Local time: Wed 6 Jan 2027 13:05 (Asia/Shanghai), within working hours:\n\
         - Li Wei, Foreign Affairs Office (zh, en; topics: transport, libraries)\n\
         - In the partnership heritage-cities, their agreed channel is webhook.\n\
         - In the partnership hangzhou-leeds, their agreed channel is matrix."
    );
    assert_eq!(
        ask("hangzhou", "hz-li", "heritage-cities", "/who leeds").await,
        "Contacts in Leeds. Local time: Wed 6 Jan 2027 05:05 (Europe/London), outside working hours:\n\
         - Jo Smith, International Relations (en; topics: libraries, culture)\n\
         - In the partnership heritage-cities, their agreed channel is webhook.\n\
         - In the partnership hangzhou-leeds, their agreed channel is email."
    );
    assert_eq!(
        ask("leeds", "leeds-jo", "heritage-cities", "/who gifu sewers").await,
        "No contact in Gifu lists the topic “sewers”. Answer /who gifu to see all its contacts."
    );

    // Lyon exists but is no partner of Leeds: the same answer as a city that does not exist.
    let lyon = ask("leeds", "leeds-jo", "heritage-cities", "/who lyon education").await;
    assert_eq!(
        lyon,
        "None of your city's partners is called “lyon education”. The bridge shares contacts between partners only."
    );
    assert!(!lyon.contains("Claire") && !lyon.contains("Lyon"), "{lyon}");
    assert_eq!(
        ask("leeds", "leeds-jo", "heritage-cities", "/who atlantis").await,
        "None of your city's partners is called “atlantis”. The bridge shares contacts between partners only."
    );

    // Gifu's partner Lyon, in their French-speaking partnership, on a holiday in Lyon.
    assert_eq!(
        ask("gifu", "gifu-sato", "gifu-lyon", "/who Lyon").await,
        "Contacts à Lyon. Heure locale : Wed 6 Jan 2027 06:05 (Europe/Paris), en dehors des heures de travail :\n\
         - Claire Martin, Relations internationales (fr ; sujets : education, culture)\n\
         - Dans le partenariat gifu-lyon, leur canal convenu est webhook."
    );
    assert!(h.metrics.render().contains("c2c_commands_total{command=\"who\"} 8"));
}
