//! Wire JSON ↔ the core's envelope and delivery.

use c2c_core::{Channel, Delivery, Envelope, Millis, NativeKey, Origin};

use crate::wire::{AttachmentNote, InboundPost, Language, OutboundPost, Reminder, Sender};

/// The envelope for a verified inbound post from `city` with delivery id `webhook_id`. Its
/// thread key goes in `thread_key` only: a key names a conversation within one partnership, which
/// the router knows (it may not be named in the post), so the router looks it up and records it.
pub fn envelope_from(city: &str, webhook_id: &str, post: InboundPost, received_at: Millis) -> Envelope {
    let origin = Origin { channel: Channel::Webhook, city: Some(city.to_string()), address: format!("/hooks/{city}") };
    let mut env = Envelope::new(origin, post.from, NativeKey::webhook_delivery(city, webhook_id), post.text);
    env.partnership = post.partnership;
    env.conversation = post.conversation;
    env.thread_key = post.thread_key.filter(|k| !k.is_empty());
    env.subject = post.subject.filter(|s| !s.trim().is_empty());
    env.html = post.html.filter(|h| !h.trim().is_empty());
    env.received_at = received_at;
    env
}

/// The JSON body for one delivery.
pub fn post_for(delivery: &Delivery, bridge_name: &str) -> OutboundPost {
    let m = &delivery.message;
    let from = match &m.author {
        Some(a) => Sender {
            contact: Some(a.contact.clone()),
            name: a.name.clone(),
            city: Some(a.city.clone()),
            city_name: Some(a.city_name.clone()),
            role: Some(a.role.clone()),
        },
        None => Sender { contact: None, name: bridge_name.to_string(), city: None, city_name: None, role: None },
    };
    OutboundPost {
        kind: m.kind.as_str().to_string(),
        id: m.id.to_string(),
        partnership: m.partnership.clone(),
        conversation: m.conversation.to_string(),
        thread_key: delivery.thread.last().cloned(),
        from,
        subject: delivery.subject.clone(),
        text: text_with_notes(m),
        html: m.html.clone(),
        language: Language {
            code: m.language.code.clone(),
            confidence: m.language.confidence,
            script: Some(m.language.script.clone()),
        },
        sent_at: rfc3339(m.received_at),
        attachments: m
            .attachments
            .iter()
            .map(|a| AttachmentNote {
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                size: a.size,
            })
            .collect(),
        reminder: m.reminder.as_ref().map(|r| Reminder {
            reason: r.reason.as_str().to_string(),
            conversation: r.conversation.map(|c| c.to_string()),
            deliverable: r.deliverable.clone(),
            due: rfc3339(r.due),
            owed_by: r.owed_by.clone(),
            waiting: r.waiting.clone(),
        }),
    }
}

/// The text, with one line per attachment saying it was not carried (the wire has no files).
fn text_with_notes(m: &c2c_core::Message) -> String {
    let mut text = m.text.clone();
    for a in &m.attachments {
        text.push_str(&format!("\n[Attachment not carried over the webhook: \"{}\" ({} bytes)]", a.filename, a.size));
    }
    text
}

fn rfc3339(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_keys_are_left_to_the_router() {
        let post = InboundPost {
            from: "leeds-jo".into(),
            partnership: Some("hangzhou-leeds".into()),
            conversation: None,
            thread_key: Some("T-9".into()),
            subject: Some("  ".into()),
            text: "hello".into(),
            html: None,
        };
        let env = envelope_from("leeds", "msg_1", post, 5);
        assert_eq!(env.dedupe_key, NativeKey::webhook_delivery("leeds", "msg_1"));
        assert_eq!(env.thread_key.as_deref(), Some("T-9"));
        assert!(env.thread_refs.is_empty() && env.native_ids.is_empty(), "scoped per partnership by the router");
        assert_eq!(env.subject, None, "a blank subject is no subject");
        assert_eq!(env.origin.city.as_deref(), Some("leeds"));
    }

    fn delivery(message: c2c_core::Message) -> Delivery {
        use c2c_core::conformance::sample_entry;
        Delivery {
            entry: sample_entry(&message, 0),
            subject: message.subject.clone(),
            conversation_instance: message.origin_instance.clone(),
            message,
            thread: Vec::new(),
            partnership_language: "en".into(),
            recipient_name: None,
        }
    }

    #[test]
    fn a_reminder_carries_what_it_is_about_and_other_kinds_do_not() {
        use c2c_core::conformance::{sample_conversation, sample_message};
        use c2c_core::{MessageKind, ReminderInfo, ReminderReason};
        let conv = sample_conversation("hangzhou-leeds");
        let mut m = sample_message(&conv, 3);
        let post = serde_json::to_value(post_for(&delivery(m.clone()), "bridge")).unwrap();
        assert!(post.get("reminder").is_none(), "absent for a relayed post: {post}");

        m.kind = MessageKind::Reminder;
        m.author = None;
        m.reminder = Some(ReminderInfo {
            reason: ReminderReason::ReplyOverdue,
            conversation: Some(conv.id),
            deliverable: None,
            due: 1_799_020_800_000,
            owed_by: "hangzhou".into(),
            waiting: vec!["leeds".into()],
        });
        let post = serde_json::to_value(post_for(&delivery(m.clone()), "C2C Bridge")).unwrap();
        assert_eq!(post["kind"], "reminder");
        assert_eq!(post["from"]["name"], "C2C Bridge");
        assert_eq!(
            post["reminder"],
            serde_json::json!({
                "reason": "reply_overdue",
                "conversation": conv.id.to_string(),
                "deliverable": null,
                "due": "2027-01-04T00:00:00.000Z",
                "owed_by": "hangzhou",
                "waiting": ["leeds"],
            })
        );
        // A city's system reads it back with the same type.
        let read: crate::wire::OutboundPost = serde_json::from_value(post).unwrap();
        assert_eq!(read.reminder.unwrap().owed_by, "hangzhou");

        // A deliverable's reminder names it; every reason has its wire word.
        for reason in ReminderReason::ALL {
            m.reminder = Some(ReminderInfo {
                reason,
                conversation: None,
                deliverable: Some("library-draft".into()),
                due: 1_799_020_800_000,
                owed_by: "leeds".into(),
                waiting: vec!["hangzhou".into(), "gifu".into()],
            });
            let post = serde_json::to_value(post_for(&delivery(m.clone()), "bridge")).unwrap();
            let r = &post["reminder"];
            assert_eq!(r["reason"], reason.as_str());
            assert_eq!((&r["conversation"], &r["deliverable"]), (&serde_json::Value::Null, &"library-draft".into()));
            assert_eq!(r["waiting"], serde_json::json!(["hangzhou", "gifu"]));
        }
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
