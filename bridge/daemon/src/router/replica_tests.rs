//! Replicas: posts another instance committed first, taken in under their own ids (the
//! Inbox's second way in, for federation), on the router's in-memory harness.

use c2c_core::{
    Author, Channel, ConversationId, Envelope, Inbox, LanguageTag, MessageId, NativeKey, Origin, OutboxEntry,
    RefusalReason, Replica, Store,
};

use super::tests::{harness, webhook};

/// A post by Li Wei of Hangzhou in `relay-p`, as instance `uk-lga` committed it.
fn replica(id: &str, conversation: ConversationId, text: &str) -> Replica {
    let origin = Origin { channel: Channel::Webhook, city: None, address: "peer:uk-lga".into() };
    let mut envelope = Envelope::new(origin, "uk-lga", NativeKey(format!("peer:uk-lga:message:{id}")), text);
    envelope.partnership = Some("relay-p".into());
    envelope.subject = Some("Library exchange".into());
    Replica {
        envelope,
        origin_instance: "uk-lga".into(),
        message: id.parse().unwrap(),
        conversation,
        conversation_owner: "uk-lga".into(),
        author: Author {
            contact: "hz-li".into(),
            name: "Li Wei".into(),
            city: "hangzhou".into(),
            city_name: "Hangzhou".into(),
            role: "Foreign Affairs Office".into(),
        },
        language: LanguageTag { code: "de".into(), confidence: 0.9, script: "Latin".into() },
    }
}

#[tokio::test]
async fn a_replica_keeps_its_ids_its_owner_and_its_language_and_goes_to_the_local_members() {
    let mut h = harness();
    let (message, conversation) = (MessageId::new(), ConversationId::new());
    let a = h.router.submit_replica(replica(&message.to_string(), conversation, "Bitte die Agenda.")).await.unwrap();
    assert_eq!((a.message, a.conversation, a.replay), (message, conversation, false));

    let conv = h.store.conversation(conversation).unwrap().unwrap();
    assert_eq!((conv.origin_instance.as_str(), conv.partnership.as_str()), ("uk-lga", "relay-p"));
    assert_eq!(conv.started_by.as_ref().unwrap().contact, "hz-li");
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
    h.router.submit_replica(replica(&first.to_string(), conversation, "First")).await.unwrap();
    h.outbox.recv().await.unwrap();
    let second = MessageId::new();
    let a = h.router.submit_replica(replica(&second.to_string(), conversation, "Second")).await.unwrap();
    assert_eq!((a.message, a.conversation), (second, conversation));
    // A local post naming the conversation by its id continues it too.
    let mut local = webhook("hangzhou", "hz-li", "relay-p", "w1", "Third, from here");
    local.conversation = Some(conversation.to_string());
    let b = h.router.submit(local).await.unwrap();
    assert_eq!(b.conversation, conversation);
    let conv = h.store.conversation(conversation).unwrap().unwrap();
    assert_eq!((conv.posts, conv.origin_instance.as_str()), (3, "uk-lga"));
}

#[tokio::test]
async fn a_replica_is_refused_for_another_partnership_s_conversation_a_non_member_or_no_text() {
    let h = harness();
    // A conversation of reject-p, opened here.
    let local = h.router.submit(webhook("hangzhou", "hz-li", "reject-p", "w1", "你好")).await.unwrap();
    let r = h.router.submit_replica(replica(&MessageId::new().to_string(), local.conversation, "x")).await.unwrap_err();
    assert_eq!(r.reason, RefusalReason::UnknownConversation);

    let mut gifu = replica(&MessageId::new().to_string(), ConversationId::new(), "Hello");
    gifu.author.city = "gifu".into();
    let r = h.router.submit_replica(gifu).await.unwrap_err();
    assert_eq!(r.reason, RefusalReason::NotAMember, "gifu is not in relay-p");

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
    // A reply made by a third instance, in a conversation uk-lga opened, arrives first.
    let mut early = replica(&MessageId::new().to_string(), conversation, "A reply that overtook the opening post");
    early.origin_instance = "brlc".into();
    early.envelope.dedupe_key = NativeKey("peer:brlc:message:early".into());
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
