//! Replicas: posts another instance committed first, taken in under their own ids (the
//! Inbox's second way in, for federation), on the router's in-memory harness with a config
//! where Manchester is hosted by peer `uk-lga` and Hangzhou by peer `citynet`.

use c2c_core::{
    Author, Channel, ConversationId, Envelope, Inbox, LanguageTag, MessageId, NativeKey, Origin, OutboxEntry,
    RefusalReason, Replica, Store,
};

use super::tests::{Harness, harness_on, webhook};

/// This instance (`brlc`) hosts Leeds (email) and Gifu (webhook); `relay-p` is Manchester and
/// Leeds, `other-p` Manchester and Gifu.
const FEDERATED: &str = r#"
[bridge]
name = "test bridge"
data_dir = "data"
listen = "127.0.0.1:1"
instance = "brlc"

[federation]
key_file = "keys/brlc.key"

[[peers]]
id = "uk-lga"
url = "https://uk-lga.example/"
public_keys = ["whpk_3DRZMIfkEw1r6oeM6tQHkW+o992AvqJ+1BiM8y+gDUk="]

[[peers]]
id = "citynet"
url = "https://citynet.example/"
public_keys = ["whpk_YO8Q5+NI8BzHkWYJfs1+Xacz+JX+EP9Y88f01CPmkUE="]

[connectors.email]
address = "bridge@c2c.example.org"
imap = { host = "127.0.0.1", port = 993, security = "tls", user = "bridge", password_env = "X_IMAP" }
smtp = { host = "127.0.0.1", port = 587, security = "starttls", user = "bridge", password_env = "X_SMTP" }

[connectors.webhook]

[[cities]]
id = "leeds"
name = "Leeds"
country = "GB"
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
id = "gifu"
name = "Gifu"
country = "JP"
webhook = { url = "http://127.0.0.1:2/gifu", secret_env = "X_GIFU" }
  [[cities.contacts]]
  id = "gifu-sato"
  name = "Sato Hana"
  role = "International Exchange"

[[cities]]
id = "manchester"
name = "Manchester"
country = "GB"
peer = "uk-lga"

[[cities]]
id = "hangzhou"
name = "Hangzhou"
country = "CN"
peer = "citynet"

[[partnerships]]
id = "relay-p"
kind = "city-city"
members = ["manchester", "leeds"]
objective = "o"
language = "en"
reply_within = "5d"
channels = { leeds = "email" }

[[partnerships]]
id = "other-p"
kind = "city-city"
members = ["manchester", "gifu"]
objective = "o"
language = "en"
reply_within = "5d"
channels = { gifu = "webhook" }
"#;

fn harness() -> Harness {
    harness_on(FEDERATED, crate::clock::Clock::wall())
}

/// A post by Kay Brown of Manchester in `partnership`, as instance `uk-lga` committed it.
fn replica_in(partnership: &str, id: &str, conversation: ConversationId, text: &str) -> Replica {
    let origin = Origin { channel: Channel::Webhook, city: None, address: "peer:uk-lga".into() };
    let mut envelope = Envelope::new(origin, "uk-lga", NativeKey(format!("peer:uk-lga:message:{id}")), text);
    envelope.partnership = Some(partnership.into());
    envelope.subject = Some("Football academies".into());
    Replica {
        envelope,
        origin_instance: "uk-lga".into(),
        message: id.parse().unwrap(),
        conversation,
        conversation_owner: "uk-lga".into(),
        author: Author {
            contact: "man-kay".into(),
            name: "Kay Brown".into(),
            city: "manchester".into(),
            city_name: "Manchester".into(),
            role: "International Team".into(),
        },
        language: LanguageTag { code: "de".into(), confidence: 0.9, script: "Latin".into() },
        prev: None,
    }
}

fn replica(id: &str, conversation: ConversationId, text: &str) -> Replica {
    replica_in("relay-p", id, conversation, text)
}

#[tokio::test]
async fn a_replica_keeps_its_ids_its_owner_and_its_language_and_goes_to_the_local_members() {
    let mut h = harness();
    let (message, conversation) = (MessageId::new(), ConversationId::new());
    let a = h.router.submit_replica(replica(&message.to_string(), conversation, "Bitte die Agenda.")).await.unwrap();
    assert_eq!((a.message, a.conversation, a.replay), (message, conversation, false));

    let conv = h.store.conversation(conversation).unwrap().unwrap();
    assert_eq!((conv.origin_instance.as_str(), conv.partnership.as_str()), ("uk-lga", "relay-p"));
    assert_eq!(conv.started_by.as_ref().unwrap().contact, "man-kay");
    let entries: Vec<OutboxEntry> = h.outbox.recv().await.unwrap().into_iter().map(|q| q.entry).collect();
    let to: Vec<&str> = entries.iter().map(|e| e.recipient.address.as_str()).collect();
    assert_eq!(to, ["Jo.Smith@leeds.example", "sam@leeds.example"], "Leeds's contacts, on its agreed channel");
    let m = h.store.message(conversation, entries[0].seq).unwrap().unwrap();
    assert_eq!((m.id, m.origin_instance.as_str()), (message, "uk-lga"));
    assert_eq!(m.language.code, "de", "the origin's tag is kept, not made again");

    // The same envelope again gets the first answer and creates nothing.
    let again =
        h.router.submit_replica(replica(&message.to_string(), conversation, "Bitte die Agenda.")).await.unwrap();
    assert_eq!((again.message, again.conversation, again.replay), (message, conversation, true));
    assert_eq!(h.store.conversation(conversation).unwrap().unwrap().posts, 1);
}

#[tokio::test]
async fn replicas_and_local_posts_continue_one_conversation() {
    let mut h = harness();
    let conversation = ConversationId::new();
    let first = MessageId::new();
    h.router.submit_replica(replica_in("other-p", &first.to_string(), conversation, "First")).await.unwrap();
    h.outbox.recv().await.unwrap();
    let second = MessageId::new();
    let a = h.router.submit_replica(replica_in("other-p", &second.to_string(), conversation, "Second")).await.unwrap();
    assert_eq!((a.message, a.conversation), (second, conversation));
    // A local post naming the conversation by its id continues it too.
    let mut local = webhook("gifu", "gifu-sato", "other-p", "w1", "Third, from here");
    local.conversation = Some(conversation.to_string());
    let b = h.router.submit(local).await.unwrap();
    assert_eq!(b.conversation, conversation);
    let conv = h.store.conversation(conversation).unwrap().unwrap();
    assert_eq!((conv.posts, conv.origin_instance.as_str()), (3, "uk-lga"));
}

#[tokio::test]
async fn an_instance_speaks_only_for_the_cities_it_hosts_in_partnerships_shared_here() {
    let h = harness();
    // Manchester is uk-lga's: citynet may not speak for it.
    let mut forged = replica(&MessageId::new().to_string(), ConversationId::new(), "Hello");
    forged.origin_instance = "citynet".into();
    forged.conversation_owner = "citynet".into();
    assert_eq!(h.router.submit_replica(forged).await.unwrap_err().reason, RefusalReason::OtherCity);
    // Nor for a city hosted here.
    let mut local = replica(&MessageId::new().to_string(), ConversationId::new(), "Hello");
    local.author.city = "leeds".into();
    assert_eq!(h.router.submit_replica(local).await.unwrap_err().reason, RefusalReason::OtherCity);
    // A city this config does not know.
    let mut unknown = replica(&MessageId::new().to_string(), ConversationId::new(), "Hello");
    unknown.author.city = "atlantis".into();
    assert_eq!(h.router.submit_replica(unknown).await.unwrap_err().reason, RefusalReason::UnknownCity);
    // Hangzhou is citynet's, but not a member of relay-p.
    let mut outsider = replica(&MessageId::new().to_string(), ConversationId::new(), "Hello");
    outsider.origin_instance = "citynet".into();
    outsider.conversation_owner = "citynet".into();
    outsider.author.city = "hangzhou".into();
    assert_eq!(h.router.submit_replica(outsider).await.unwrap_err().reason, RefusalReason::NotAMember);
    // A partnership not declared here.
    let unshared = replica_in("elsewhere-p", &MessageId::new().to_string(), ConversationId::new(), "Hello");
    assert_eq!(h.router.submit_replica(unshared).await.unwrap_err().reason, RefusalReason::UnknownPartnership);
    assert!(h.store.conversations(None).unwrap().is_empty(), "nothing committed");
}

#[tokio::test]
async fn a_replica_is_refused_for_another_partnership_s_conversation_or_no_text() {
    let h = harness();
    // A conversation of other-p, opened here.
    let local = h.router.submit(webhook("gifu", "gifu-sato", "other-p", "w1", "こんにちは")).await.unwrap();
    let r = h.router.submit_replica(replica(&MessageId::new().to_string(), local.conversation, "x")).await.unwrap_err();
    assert_eq!(r.reason, RefusalReason::UnknownConversation);

    let r = h.router.submit_replica(replica(&MessageId::new().to_string(), ConversationId::new(), "  ")).await;
    assert_eq!(r.unwrap_err().reason, RefusalReason::EmptyText);
    let mut unnamed = replica(&MessageId::new().to_string(), ConversationId::new(), "Hello");
    unnamed.envelope.partnership = None;
    assert_eq!(h.router.submit_replica(unnamed).await.unwrap_err().reason, RefusalReason::UnknownPartnership);
    assert_eq!(h.store.conversations(None).unwrap().len(), 1, "only the local one");
}

#[tokio::test]
async fn a_replica_reading_like_a_command_is_a_post_its_origin_already_judged() {
    let mut h = harness();
    let conversation = ConversationId::new();
    h.router.submit_replica(replica(&MessageId::new().to_string(), conversation, "/close")).await.unwrap();
    let entries = h.outbox.recv().await.unwrap();
    assert_eq!(entries.len(), 2, "relayed to Leeds's two contacts like any post");
    let conv = h.store.conversation(conversation).unwrap().unwrap();
    assert_eq!((conv.posts, conv.closed_at), (1, None));
}

#[tokio::test]
async fn only_the_owner_of_a_conversation_opens_it_here() {
    let mut h = harness();
    let conversation = ConversationId::new();
    // A reply made by a third instance (citynet, for Hangzhou) in a conversation uk-lga
    // opened, arriving first. (Hangzhou is made a member of relay-p for this test.)
    h.config.replace({
        let mut c = (*h.config.get()).clone();
        c.partnerships[0].members.push("hangzhou".into());
        c
    });
    let mut early = replica(&MessageId::new().to_string(), conversation, "A reply that overtook the opening post");
    early.origin_instance = "citynet".into();
    early.author.city = "hangzhou".into();
    early.envelope.dedupe_key = NativeKey("peer:citynet:message:early".into());
    let r = h.router.submit_replica(early.clone()).await.unwrap_err();
    assert_eq!(r.reason, RefusalReason::UnknownConversation);
    assert!(h.store.conversation(conversation).unwrap().is_none(), "not opened by a third instance");
    // Once the owner's opening post is in, the same reply (retried) continues it.
    h.router.submit_replica(replica(&MessageId::new().to_string(), conversation, "The opening post")).await.unwrap();
    h.outbox.recv().await.unwrap();
    let a = h.router.submit_replica(early).await.unwrap();
    assert_eq!(a.conversation, conversation);
    let conv = h.store.conversation(conversation).unwrap().unwrap();
    assert_eq!((conv.posts, conv.origin_instance.as_str()), (2, "uk-lga"));
}

/// A partnership of Gifu (here), Manchester (uk-lga) and Hangzhou (citynet), added to the
/// harness's config.
fn with_trio(h: &Harness) {
    h.config.replace({
        let mut c = (*h.config.get()).clone();
        let mut trio = c.partnerships[1].clone();
        trio.id = "trio-p".into();
        trio.members = vec!["gifu".into(), "manchester".into(), "hangzhou".into()];
        trio.kind = c2c_config::PartnershipKind::MultiCity;
        c.partnerships.push(trio);
        c
    });
}

#[tokio::test]
async fn a_local_post_goes_once_to_each_instance_hosting_a_member_with_the_one_before_as_prev() {
    let mut h = harness();
    with_trio(&h);
    let first = h.router.submit(webhook("gifu", "gifu-sato", "trio-p", "w1", "Shall we meet in May?")).await.unwrap();
    let entries: Vec<OutboxEntry> = h.outbox.recv().await.unwrap().into_iter().map(|q| q.entry).collect();
    let to: Vec<(Channel, &str)> =
        entries.iter().map(|e| (e.recipient.channel, e.recipient.address.as_str())).collect();
    assert_eq!(to, [(Channel::Peer, "uk-lga"), (Channel::Peer, "citynet")], "one entry per peer");
    assert!(entries.iter().all(|e| e.references.is_empty()), "the first has no prev");

    let mut reply = webhook("gifu", "gifu-sato", "trio-p", "w2", "Or in June.");
    reply.conversation = Some(first.conversation.to_string());
    let second = h.router.submit(reply).await.unwrap();
    let entries: Vec<OutboxEntry> = h.outbox.recv().await.unwrap().into_iter().map(|q| q.entry).collect();
    assert_eq!(entries.len(), 2);
    let instance = h.store.instance_id().to_string();
    for (i, e) in entries.iter().enumerate() {
        // prev, then the delivery that carried it to this peer (sent again if the peer asks).
        let carried = format!("{}/{}", e.seq - 1, c2c_core::OutboxId::for_recipient(first.message, i));
        assert_eq!(
            e.references,
            [format!("{instance}:{}", first.message), carried],
            "prev is the first, for {}",
            e.recipient.address
        );
    }
    assert_ne!(second.message, first.message);
}

#[tokio::test]
async fn a_replica_goes_to_local_members_only_never_on_to_another_peer() {
    let mut h = harness();
    with_trio(&h);
    let mut r = replica_in("trio-p", &MessageId::new().to_string(), ConversationId::new(), "From Manchester");
    r.envelope.partnership = Some("trio-p".into());
    h.router.submit_replica(r).await.unwrap();
    let entries: Vec<OutboxEntry> = h.outbox.recv().await.unwrap().into_iter().map(|q| q.entry).collect();
    let to: Vec<(Channel, &str)> =
        entries.iter().map(|e| (e.recipient.channel, e.recipient.address.as_str())).collect();
    assert_eq!(to, [(Channel::Webhook, "gifu")], "citynet hears it from uk-lga, not through here");
}

#[tokio::test]
async fn a_replica_whose_prev_has_not_arrived_waits_for_it() {
    let mut h = harness();
    let conversation = ConversationId::new();
    let (first, second) = (MessageId::new(), MessageId::new());
    let mut early = replica(&second.to_string(), conversation, "Second");
    early.envelope.dedupe_key = NativeKey(format!("peer:uk-lga:message:{second}"));
    early.prev = Some(NativeKey(format!("peer:uk-lga:message:{first}")));
    let r = h.router.submit_replica(early.clone()).await.unwrap_err();
    assert_eq!(r.reason, RefusalReason::Gap);
    assert!(r.detail.contains(&first.to_string()), "{}", r.detail);
    assert!(h.store.conversation(conversation).unwrap().is_none(), "nothing committed");
    // The missing one, then the same second one again: both in, in order.
    h.router.submit_replica(replica(&first.to_string(), conversation, "First")).await.unwrap();
    h.outbox.recv().await.unwrap();
    let a = h.router.submit_replica(early).await.unwrap();
    assert_eq!((a.message, a.replay), (second, false));
    assert_eq!(h.store.conversation(conversation).unwrap().unwrap().posts, 2);
}
