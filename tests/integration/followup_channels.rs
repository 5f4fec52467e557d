//! Follow-up on the officers' own channels, against the real servers: a reminder reaches an
//! email officer in their mail thread and a Matrix officer in the conversation's Matrix thread,
//! and a command typed back there is answered in the same thread and relayed to nobody.
//! Reply windows are seconds long, working hours all day (`Tuning::reply_within`), so every
//! wait here is for an event: a mail arriving (IMAP IDLE), a Matrix event (a sync), a webhook.
//! `#[ignore]`d in plain `cargo test`: `tests/run.sh` starts the servers.

use c2c_test_support::mail::{self, header, id_list};
use c2c_test_support::matrix;
use c2c_test_support::world::{Tuning, World, message};
use serde_json::Value;

use crate::email::email_world_tuned;
use crate::matrix::hangzhou_and_gifu_tuned;

/// Windows of three seconds: the first reminder three seconds after a post, the second (and
/// the word to the members waiting) three seconds after that.
fn seconds() -> Tuning {
    Tuning { reply_within: Some("3s"), ..Tuning::default() }
}

fn text(mail: &Value) -> &str {
    mail["text"].as_str().unwrap_or("")
}

fn uid(mail: &Value) -> u64 {
    mail["uid"].as_u64().unwrap()
}

/// Whether `mail` answers the mail `id` (its In-Reply-To).
fn answers(mail: &Value, id: &str) -> bool {
    header(mail, "In-Reply-To").map(id_list) == Some(vec![id.to_string()])
}

/// The Message-ID of an `officer.py fetch` result, without `<>`.
fn message_id(mail: &Value) -> String {
    header(mail, "Message-ID").unwrap().trim_matches(['<', '>']).to_string()
}

/// Once every delivery committed so far is done (so whatever was committed with an answer
/// already seen has reached the sink), what the sink got apart from the word to the waiting
/// city after the second window (which may come meanwhile): a relayed command would show here.
async fn relayed_since(w: &mut World) -> Vec<String> {
    w.daemon.settled().await;
    w.sink
        .drain()
        .into_iter()
        .filter(|r| r.post.reminder.as_ref().is_none_or(|m| m.reason != "waiting_overdue"))
        .map(|r| format!("{} {}: {}", r.city, r.post.kind, r.post.text))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the mail servers (tests/run.sh)"]
async fn followup_an_email_officer_is_reminded_in_the_same_thread() {
    let _servers = mail::share().await;
    let mut e = email_world_tuned(seconds(), "").await;

    // Hangzhou writes; Leeds (Jo, on email) now owes a reply.
    let post = message("hz-li", "hangzhou-leeds", Some("HZ-F"), Some("Library exchange"), "Shall we start in March?");
    assert_eq!(e.w.post("hangzhou", "f-1", &post).await.status, 202);
    let relayed = e.jo.fetch("INBOX", 0, 1, 30)[0].clone();
    assert!(text(&relayed).contains("Shall we start in March?"), "{relayed}");
    let relayed_id = message_id(&relayed);

    // Jo does not answer: the reminder comes in the same mail thread, from the bridge itself.
    let reminder = e.jo.wait_for("INBOX", uid(&relayed), |m| text(m).starts_with("Reminder:"));
    assert!(answers(&reminder, &relayed_id), "{reminder}");
    assert!(id_list(header(&reminder, "References").unwrap()).contains(&relayed_id), "{reminder}");
    assert_eq!(header(&reminder, "Auto-Submitted"), Some("auto-generated"));
    assert!(header(&reminder, "X-C2C-Bridge").is_some());
    assert!(
        text(&reminder).starts_with("Reminder: your reply in “Library exchange” has been awaited by Hangzhou since "),
        "{reminder}"
    );
    let subject = reminder["subject"].as_str().unwrap();
    assert!(subject.starts_with("Re: Library exchange [c2c:"), "{subject}");
    // The second window's reminder may be on its way already.
    assert!(e.w.daemon.metric(r#"c2c_reminders_sent_total{reason="reply_overdue"}"#).await >= 1.0);

    // Jo answers the reminder with /status, quoting it as mail clients do: the answer comes
    // in the thread and lists what Leeds owes (the command settles nothing).
    let quoted = format!("/status\n\nOn Tuesday, c2c-bridge wrote:\n> {}", text(&reminder).lines().next().unwrap());
    let status = e.jo.reply(&reminder, &quoted, &[]);
    let answer = e.jo.wait_for("INBOX", uid(&reminder), |m| answers(m, &status));
    assert_eq!(header(&answer, "Auto-Submitted"), Some("auto-generated"));
    let refs = id_list(header(&answer, "References").unwrap());
    assert!(refs.contains(&relayed_id) && refs.contains(&status), "the same thread: {refs:?}");
    let said = text(&answer);
    assert!(said.starts_with("Open items for your city in this partnership:"), "{said}");
    assert!(said.contains("“Library exchange”: reply awaited by Hangzhou, due "), "{said}");
    assert_eq!(e.w.daemon.metric(r#"c2c_commands_total{command="status"}"#).await, 1.0);
    // Hangzhou heard nothing of it (the second window's word to Hangzhou, a reminder, may
    // have come meanwhile).
    let relayed = relayed_since(&mut e.w).await;
    assert!(relayed.is_empty(), "a command is not relayed: {relayed:?}");

    // /close, answered in the thread too; afterwards Leeds owes nothing.
    let close = e.jo.reply(&answer, "/close", &[]);
    let closed = e.jo.wait_for("INBOX", uid(&answer), |m| answers(m, &close));
    assert!(
        text(&closed).starts_with(
            "This conversation is closed; no more reminders will be sent for it. Answer /reopen to open it again."
        ),
        "{closed}"
    );
    assert!(id_list(header(&closed, "References").unwrap()).contains(&relayed_id));
    let status = e.jo.reply(&closed, "/status", &[]);
    let answer = e.jo.wait_for("INBOX", uid(&closed), |m| answers(m, &status));
    assert!(
        text(&answer).starts_with("Your city owes no reply and has no open deliverable in this partnership."),
        "{answer}"
    );
    let relayed = relayed_since(&mut e.w).await;
    assert!(relayed.is_empty(), "commands are not relayed: {relayed:?}");
    let convs = e.w.conversations().await;
    assert_eq!(convs.len(), 1, "{convs:?}");
    assert_eq!(convs[0]["posts"], 1, "commands are not posts: {convs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Synapse (tests/run.sh)"]
async fn followup_a_matrix_officer_is_reminded_in_the_matrix_thread() {
    let _m = matrix::share().await;
    let (mut e, room) = hangzhou_and_gifu_tuned(seconds(), false, "").await;
    let body = |ev: &Value| ev["body"].as_str().unwrap_or("").to_string();
    let notice = |ev: &Value| ev["content"]["msgtype"] == "m.notice";

    // Gifu writes; it starts a thread in Hangzhou's portal room, and Hangzhou owes a reply.
    let post =
        message("gifu-sato", "hangzhou-gifu", Some("G-F"), Some("Hospital visit"), "Can your team come in April?");
    assert_eq!(e.w.post("gifu", "f-1", &post).await.status, 202);
    let root = e.li.messages(&room, 1, None)[0].clone();
    assert!(body(&root).contains("Can your team come in April?"), "{root}");
    let root_id = root["event_id"].as_str().unwrap().to_string();

    // Li does not answer: an m.notice from the bridge in that thread reminds Hangzhou.
    let reminder = e.li.wait_in_thread(&room, &root_id, |ev| body(ev).starts_with("Reminder:"));
    assert!(notice(&reminder), "{reminder}");
    assert_eq!(reminder["sender"], e.bot.as_str());
    assert_eq!(reminder["content"]["m.relates_to"]["rel_type"], "m.thread");
    assert_eq!(reminder["content"]["m.relates_to"]["event_id"], root_id.as_str());
    assert!(
        body(&reminder).starts_with("Reminder: your reply in “Hospital visit” has been awaited by Gifu since "),
        "{reminder}"
    );

    // Li types /status in the thread: answered with an m.notice there, relayed to nobody.
    e.li.send(&room, "/status", Some(&root_id));
    let answer = e
        .li
        .wait_in_thread(&room, &root_id, |ev| body(ev).starts_with("Open items for your city in this partnership:"));
    assert!(notice(&answer), "{answer}");
    assert_eq!(answer["sender"], e.bot.as_str());
    assert_eq!(answer["content"]["m.relates_to"]["rel_type"], "m.thread");
    assert_eq!(answer["content"]["m.relates_to"]["event_id"], root_id.as_str());
    assert!(body(&answer).contains("“Hospital visit”: reply awaited by Gifu, due "), "{answer}");
    assert_eq!(e.w.daemon.metric(r#"c2c_commands_total{command="status"}"#).await, 1.0);
    let relayed = relayed_since(&mut e.w).await;
    assert!(relayed.is_empty(), "a command is not relayed: {relayed:?}");
    let convs = e.w.conversations().await;
    assert_eq!(convs.len(), 1, "{convs:?}");
    assert_eq!(convs[0]["posts"], 1, "a command is not a post: {convs:?}");
}
