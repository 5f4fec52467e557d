//! Two webhook cities hold a conversation; a restart in the middle continues the thread; a
//! multi-city partnership reaches every other member.

use serde_json::json;

use c2c_test_support::world::message;

#[tokio::test]
async fn two_cities_hold_a_conversation_across_a_restart() {
    let mut w = crate::world().await;

    // Leeds starts a thread with its own key.
    let a = w
        .post(
            "leeds",
            "leeds-msg-1",
            &message(
                "leeds-jo",
                "hangzhou-leeds",
                Some("LEEDS-1"),
                Some("Library exchange"),
                "Dear Li Wei, please find our proposal for the library exchange programme attached.",
            ),
        )
        .await;
    assert_eq!(a.status, 202, "{}", a.body);
    let conversation = a.body["conversation"].as_str().unwrap().to_string();
    let first_id = a.body["message"].as_str().unwrap().to_string();

    let got = w.sink.next_delivered().await;
    assert_eq!(got.city, "hangzhou");
    assert!(got.verified, "the bridge signs with the receiving city's secret");
    let p = &got.post;
    assert_eq!(p.kind, "message");
    assert_eq!(p.id, first_id);
    assert_eq!(p.conversation, conversation);
    assert_eq!(p.partnership, "hangzhou-leeds");
    assert_eq!(p.subject, "Library exchange");
    assert_eq!(p.from.contact.as_deref(), Some("leeds-jo"));
    assert_eq!(p.from.name, "Jo Smith");
    assert_eq!(p.from.city.as_deref(), Some("leeds"));
    assert_eq!(p.from.role.as_deref(), Some("International Relations"));
    assert_eq!(p.language.code, "en");
    assert_eq!(p.thread_key, None, "Hangzhou's system has not used a key for this thread yet");

    // Hangzhou answers in Chinese, naming the conversation and its own key.
    let mut reply = message(
        "hz-li",
        "hangzhou-leeds",
        Some("HZ-77"),
        None,
        "感谢您的提案，我们将在下周的会议上讨论图书馆交流项目。",
    );
    reply["conversation"] = json!(conversation);
    let b = w.post("hangzhou", "hz-msg-1", &reply).await;
    assert_eq!(b.status, 202, "{}", b.body);
    assert_eq!(b.body["conversation"], conversation.as_str());

    let got = w.sink.next_delivered().await;
    assert_eq!(got.city, "leeds");
    assert_eq!(got.post.conversation, conversation);
    assert_eq!(got.post.from.contact.as_deref(), Some("hz-li"));
    assert_eq!(got.post.from.city_name.as_deref(), Some("Hangzhou"));
    assert_eq!(got.post.language.code, "zh");
    assert_eq!(got.post.thread_key.as_deref(), Some("LEEDS-1"), "Leeds gets its own thread key back");
    assert_eq!(got.post.subject, "Library exchange");

    // Restart in the middle of the conversation.
    let status = w.daemon.terminate().await;
    assert!(status.success(), "SIGTERM exits cleanly: {status}");
    w.daemon.restart().await;

    // Leeds replies by thread key only: same conversation.
    let c = w
        .post(
            "leeds",
            "leeds-msg-2",
            &message(
                "leeds-jo",
                "hangzhou-leeds",
                Some("LEEDS-1"),
                None,
                "Thank you, we look forward to the meeting next week.",
            ),
        )
        .await;
    assert_eq!(c.status, 202, "{}", c.body);
    assert_eq!(
        c.body["conversation"],
        conversation.as_str(),
        "the thread key continues the conversation after a restart"
    );

    let got = w.sink.next_delivered().await;
    assert_eq!(got.city, "hangzhou");
    assert_eq!(got.post.conversation, conversation);
    assert_eq!(got.post.thread_key.as_deref(), Some("HZ-77"), "Hangzhou gets its own thread key back");
    assert_eq!(got.post.language.code, "en");

    let convs = w.conversations_when(|c| c.len() == 1 && c[0]["deliveries"]["delivered"] == 3).await;
    assert_eq!(convs[0]["posts"], 3);
    assert_eq!(convs[0]["posts_by_city"], json!({"hangzhou": 1, "leeds": 2}));
    assert_eq!(convs[0]["languages"], json!({"en": 2, "zh": 1}));
    assert_eq!(convs[0]["owing"], json!(["hangzhou"]));
    assert_eq!(convs[0]["deliveries"], json!({"delivered": 3}));
}

#[tokio::test]
async fn a_multi_city_post_reaches_every_other_member_once() {
    let mut w = crate::world().await;
    let a = w
        .post(
            "gifu",
            "gifu-1",
            &message(
                "gifu-sato",
                "heritage",
                None,
                Some("Visitor brochure"),
                "来月のパンフレットの草案を共有します。ご確認をお願いします。",
            ),
        )
        .await;
    assert_eq!(a.status, 202, "{}", a.body);
    let mut cities = vec![w.sink.next_delivered().await, w.sink.next_delivered().await];
    cities.sort_by(|x, y| x.city.cmp(&y.city));
    assert_eq!(cities[0].city, "hangzhou");
    assert_eq!(cities[1].city, "leeds");
    for r in &cities {
        assert!(r.verified);
        assert_eq!(r.post.language.code, "ja");
        assert_eq!(r.post.from.contact.as_deref(), Some("gifu-sato"));
    }
    assert_ne!(cities[0].webhook_id, cities[1].webhook_id, "one delivery (and idempotency key) per recipient");
}

#[tokio::test]
async fn deliveries_in_a_conversation_keep_commit_order() {
    let mut w = crate::world().await;
    // The first delivery to Hangzhou needs retries; the later ones must wait for it.
    w.sink.script("hangzhou", &[503, 503]);
    let first = w
        .post("leeds", "o-0", &message("leeds-jo", "hangzhou-leeds", Some("ORDER"), Some("Order"), "message number 0"))
        .await;
    assert_eq!(first.status, 202);
    for i in 1..10 {
        let a = w
            .post(
                "leeds",
                &format!("o-{i}"),
                &message("leeds-jo", "hangzhou-leeds", Some("ORDER"), None, &format!("message number {i}")),
            )
            .await;
        assert_eq!(a.status, 202, "{}", a.body);
    }
    let mut texts = Vec::new();
    while texts.len() < 10 {
        texts.push(w.sink.next_delivered().await.post.text);
    }
    let expected: Vec<String> = (0..10).map(|i| format!("message number {i}")).collect();
    assert_eq!(texts, expected);
}

#[tokio::test]
async fn a_city_reusing_a_thread_key_in_two_partnerships_holds_two_conversations() {
    let mut w = crate::world().await;
    // Leeds's system numbers its threads per partnership: both start with key "1".
    let post = |partnership: &str, text: &str| message("leeds-jo", partnership, Some("1"), Some(text), text);
    let pair = w.post("leeds", "k-1", &post("hangzhou-leeds", "Library exchange")).await;
    let group = w.post("leeds", "k-2", &post("heritage", "Heritage week")).await;
    assert_eq!((pair.status, group.status), (202, 202), "{} / {}", pair.body, group.body);
    let conversation = |a: &c2c_test_support::post::Answer| a.body["conversation"].as_str().unwrap().to_string();
    let (pair, group) = (conversation(&pair), conversation(&group));
    assert_ne!(pair, group);

    // Across a restart, each key still continues its own partnership's conversation.
    assert!(w.daemon.terminate().await.success());
    w.daemon.restart().await;
    let again = w.post("leeds", "k-3", &post("hangzhou-leeds", "Library exchange, again")).await;
    assert_eq!(conversation(&again), pair);
    let again = w.post("leeds", "k-4", &post("heritage", "Heritage week, again")).await;
    assert_eq!(conversation(&again), group);
    // Not naming the partnership, the key is ambiguous: refused with what to do.
    let mut unnamed = post("hangzhou-leeds", "Which one?");
    unnamed["partnership"] = serde_json::Value::Null;
    let refused = w.post("leeds", "k-5", &unnamed).await;
    assert_eq!((refused.status, refused.code()), (422, "unknown_partnership"), "{}", refused.body);
    assert!(refused.body["error"].as_str().unwrap().contains("name the partnership"), "{}", refused.body);

    let convs = w.conversations_when(|c| c.len() == 2 && c.iter().all(|c| c["posts"] == 2)).await;
    assert_eq!(convs.len(), 2);
}
