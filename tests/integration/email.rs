//! The email connector against a real Postfix + Dovecot on loopback, with Python's
//! smtplib/imaplib as the officers' mail clients (`tests/mail/`). Leeds is on email, Hangzhou
//! and Gifu on webhooks (the sink). `#[ignore]`d in plain `cargo test`: `tests/run.sh` starts the
//! mail servers and runs them.

use std::process::Command;

use c2c_test_support::mail::{MailServer, Officer, disrupt, header, id_list, share};
use c2c_test_support::world::{Tuning, World, message};
use serde_json::{Value, json};

pub(crate) struct EmailWorld {
    pub(crate) w: World,
    pub(crate) jo: Officer,
    pub(crate) bridge: Officer,
    pub(crate) server: MailServer,
}

impl EmailWorld {
    /// `bridge-N+detail@c2c.test`.
    pub(crate) fn bridge_plus(&self, detail: &str) -> String {
        let (local, domain) = self.bridge.address.split_once('@').unwrap();
        format!("{local}+{detail}@{domain}")
    }
}

async fn email_world() -> EmailWorld {
    email_world_with("").await
}

/// The email world with `extra` lines in `[connectors.email]`.
async fn email_world_with(extra: &str) -> EmailWorld {
    email_world_tuned(Tuning::default(), extra).await
}

/// The email world with `tuning` and `extra` lines in `[connectors.email]`.
pub(crate) async fn email_world_tuned(tuning: Tuning, extra: &str) -> EmailWorld {
    let extra = extra.to_string();
    let server = MailServer::from_env();
    let bridge = server.new_user("bridge", "c2c.test");
    let jo = server.new_user("jo", "leeds.test");
    let (b, j, s) = (bridge.clone(), jo.clone(), server.clone());
    let env = vec![("C2C_TEST_MAIL_PASSWORD".to_string(), bridge.password.clone())];
    let w = World::start_custom(crate::bin(), tuning, env, move |ctx| {
        format!(
            r#"{bridge_section}{email}{extra}

{cities}
[[partnerships]]
id = "hangzhou-leeds"
kind = "city-city"
members = ["hangzhou", "leeds"]
objective = "Library services exchange"
language = "en"
reply_within = "{hl_within}"
on_other_channel = "relay"
channels = {{ hangzhou = "webhook", leeds = "email" }}

[[partnerships]]
id = "heritage"
kind = "multi-city"
members = ["leeds", "hangzhou", "gifu"]
objective = "Cultural heritage"
language = "en"
reply_within = "{heritage_within}"
on_other_channel = "reject"
channels = {{ leeds = "webhook", hangzhou = "webhook", gifu = "webhook" }}
"#,
            bridge_section = ctx.bridge_section(),
            hl_within = ctx.reply_within("5d"),
            heritage_within = ctx.reply_within("7d"),
            email = s.connector_section(&b),
            extra = extra,
            cities = [
                ctx.city("leeds", &ctx.webhook("leeds"), &format!("email = \"{}\"", j.address)),
                ctx.city("hangzhou", &ctx.webhook("hangzhou"), ""),
                ctx.city("gifu", &ctx.webhook("gifu"), ""),
            ]
            .concat(),
        )
    })
    .await;
    EmailWorld { w, jo, bridge, server }
}

/// Send raw bytes to the port-25 style SMTP (no AUTH), as another MTA would.
fn inject(server: &MailServer, from: &str, to: &str, raw: &str) {
    let script = "import smtplib,sys; s=smtplib.SMTP('127.0.0.1', int(sys.argv[1])); \
                  s.sendmail(sys.argv[2], [sys.argv[3]], sys.stdin.buffer.read()); s.quit()";
    let mut child = Command::new("python3")
        .args(["-c", script, server.get("C2C_MAIL_SMTP_PORT"), from, to])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(raw.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the mail servers (tests/run.sh)"]
async fn an_email_officer_and_a_webhook_city_hold_one_thread() {
    let _servers = share().await;
    let mut e = email_world().await;

    // Jo starts a conversation from their mail client, with a PDF attached.
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("proposal.pdf");
    std::fs::write(&pdf, vec![b'%'; 1234]).unwrap();
    let first_id = e.jo.send(
        &e.bridge_plus("hangzhou-leeds"),
        "Library exchange",
        "Dear Li Wei,\n\nplease find our proposal for the library exchange programme below.\n\nBest regards,\nJo",
        &["--attach", pdf.to_str().unwrap()],
    );
    let got = e.w.sink.next_delivered().await;
    assert_eq!(got.city, "hangzhou");
    assert_eq!(got.post.from.contact.as_deref(), Some("leeds-jo"));
    assert_eq!(got.post.subject, "Library exchange");
    assert_eq!(got.post.language.code, "en");
    assert!(got.post.text.starts_with("Dear Li Wei"), "{}", got.post.text);
    // The webhook wire carries no files: the attachment is listed and noted in the text.
    assert_eq!(got.post.attachments.len(), 1);
    assert_eq!(got.post.attachments[0].filename, "proposal.pdf");
    assert_eq!(got.post.attachments[0].size, 1234);
    assert!(
        got.post.text.ends_with("[Attachment not carried over the webhook: \"proposal.pdf\" (1234 bytes)]"),
        "{}",
        got.post.text
    );
    let conversation = got.post.conversation.clone();

    // Hangzhou answers in Chinese from its own system.
    let mut reply =
        message("hz-li", "hangzhou-leeds", Some("HZ-1"), None, "感谢您的提案，我们下周讨论图书馆交流项目。");
    reply["conversation"] = json!(conversation);
    assert_eq!(e.w.post("hangzhou", "hz-1", &reply).await.status, 202);

    // It lands in Jo's INBOX, threaded under Jo's own mail.
    let inbox = e.jo.fetch("INBOX", 0, 1, 30);
    let mail = &inbox[0];
    let from = mail["from"].as_str().unwrap();
    assert!(from.contains("via c2c-bridge"), "{from}");
    assert!(from.to_ascii_lowercase().contains(&e.bridge_plus(&conversation.to_ascii_lowercase())), "{from}");
    assert_eq!(header(mail, "In-Reply-To").map(id_list), Some(vec![first_id.clone()]));
    assert!(id_list(header(mail, "References").unwrap()).contains(&first_id));
    let subject = mail["subject"].as_str().unwrap();
    assert!(subject.starts_with("Re: Library exchange [c2c:"), "{subject}");
    assert_eq!(header(mail, "Content-Language"), Some("zh"));
    assert!(header(mail, "X-C2C-Bridge").is_some());
    let text = mail["text"].as_str().unwrap();
    assert!(text.contains("感谢您的提案"), "{text}");
    assert!(text.contains("Foreign Affairs Office"), "the author's role is visible: {text}");
    assert!(text.contains("agreed language is English"), "off-language notice: {text}");
    assert!(mail["html"].as_str().is_some(), "multipart text + HTML");

    // Jo answers that mail from the mail client, quoting it.
    let ours = header(mail, "Message-ID").unwrap().trim_matches(['<', '>']).to_string();
    let mut refs = id_list(header(mail, "References").unwrap());
    refs.push(ours.clone());
    let refs: Vec<String> = refs.iter().map(|r| format!("<{r}>")).collect();
    let reply_addr = from.rsplit('<').next().unwrap().trim_end_matches('>').to_string();
    let quoted = format!(
        "Thank you, Tuesday works for us.\n\nOn Mon, 23 Nov 2026 at 10:00, Li Wei wrote:\n> {}",
        "感谢您的提案"
    );
    e.jo.send(
        &reply_addr,
        &format!("Re: {subject}"),
        &quoted,
        &["--in-reply-to", &format!("<{ours}>"), "--references", &refs.join(" ")],
    );
    let got = e.w.sink.next_delivered().await;
    assert_eq!(got.post.conversation, conversation, "the reply continues the conversation");
    assert_eq!(got.post.thread_key.as_deref(), Some("HZ-1"), "Hangzhou gets its own thread key");
    assert_eq!(got.post.text, "Thank you, Tuesday works for us.", "quoted history stripped");

    // Both of Jo's mails were filed once handled.
    let processed = e.bridge.fetch("c2c-processed", 0, 2, 10);
    assert_eq!(processed.len(), 2);
    assert!(e.bridge.fetch("INBOX", 0, 0, 0).is_empty(), "nothing left in the bridge's INBOX");
    let convs = e.w.conversations().await;
    assert_eq!(convs.len(), 1);
    assert_eq!(convs[0]["posts"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the mail servers (tests/run.sh)"]
async fn strangers_machines_and_wrong_channels_are_not_relayed() {
    let _servers = share().await;
    let mut e = email_world().await;
    let stranger = e.server.new_user("stranger", "leeds.test");

    stranger.send(&e.bridge_plus("hangzhou-leeds"), "Hello", "I am not a nodal officer.", &[]);
    e.jo.send(
        &e.bridge_plus("hangzhou-leeds"),
        "Out of office",
        "I am away until Monday.",
        &["--header", "Auto-Submitted: auto-replied"],
    );
    e.jo.send(
        &e.bridge_plus("hangzhou-leeds"),
        "Loop",
        "This claims to be the bridge's own.",
        &["--header", "X-C2C-Bridge: c2c-other"],
    );
    // Leeds agreed on webhooks in `heritage`, which rejects other channels: Jo is told where.
    let wrong = e.jo.send(&e.bridge_plus("heritage"), "Brochure", "Here is the draft brochure.", &[]);
    let answer = &e.jo.fetch("INBOX", 0, 1, 30)[0];
    assert_eq!(header(answer, "In-Reply-To").map(id_list), Some(vec![wrong]));
    assert_eq!(header(answer, "Auto-Submitted"), Some("auto-replied"));
    assert!(answer["text"].as_str().unwrap().contains("webhook"), "{answer}");

    // The one good mail is the first thing Hangzhou hears.
    e.jo.send(&e.bridge_plus("hangzhou-leeds"), "Agenda", "The agenda for Tuesday.", &[]);
    let got = e.w.sink.next_delivered().await;
    assert_eq!(got.post.subject, "Agenda");

    let refused = e.bridge.fetch("c2c-refused", 0, 4, 10);
    assert_eq!(refused.len(), 4, "refused mail is kept for an admin to see");
    assert!(stranger.fetch("INBOX", 0, 0, 0).is_empty(), "no backscatter to strangers");
    for (reason, n) in [("unknown_sender", 1.0), ("automatic", 2.0), ("wrong_channel", 1.0)] {
        let sample = format!("c2c_messages_refused_total{{channel=\"email\",reason=\"{reason}\"}}");
        assert_eq!(e.w.daemon.metric(&sample).await, n, "{sample}");
    }
}

/// Mail written as a contact from anywhere else is not believed: sent to the bridge's server
/// without a signature (so its OpenDKIM records `dkim=none`), or carrying a forged
/// Authentication-Results in the name of that very server (which OpenDKIM removes), or with a
/// pass under another authserv-id. Each is refused as `authentication_failed`, kept for an admin
/// and answered with nothing; the officer's own signed mail is relayed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the mail servers (tests/run.sh)"]
async fn mail_forged_in_a_contacts_name_is_refused_and_their_signed_mail_is_relayed() {
    let _servers = share().await;
    let mut e = email_world().await;
    let to = e.bridge_plus("hangzhou-leeds");
    let authserv = e.server.get("C2C_MAIL_AUTHSERV_ID").to_string();
    let forged = |n: u32, extra: &str| {
        format!(
            "From: Jo <{jo}>\r\nTo: {to}\r\nSubject: New bank details\r\n\
             Message-ID: <forged-{n}-{u}@elsewhere.test>\r\n{extra}\r\n\
             Please pay the workshop fee to our new account.\r\n",
            jo = e.jo.address,
            u = c2c_test_support::unique(),
        )
    };
    inject(&e.server, "mallory@elsewhere.test", &to, &forged(1, ""));
    inject(
        &e.server,
        "mallory@elsewhere.test",
        &to,
        &forged(
            2,
            &format!(
                "Authentication-Results: {authserv}; dkim=pass header.d=leeds.test; dmarc=pass header.from=leeds.test\r\n"
            ),
        ),
    );
    inject(
        &e.server,
        "mallory@elsewhere.test",
        &to,
        &forged(3, "Authentication-Results: mx.leeds.test; dkim=pass header.d=leeds.test\r\n"),
    );
    // Jo's own client, unsigned, is no better than a forger: nothing vouches for it.
    e.jo.send_unsigned(&to, "Unsigned", "Sent around our mail server.", &[]);
    let sample = "c2c_messages_refused_total{channel=\"email\",reason=\"authentication_failed\"}";
    e.w.daemon.wait_metric(sample, |v| v >= 4.0).await;
    assert_eq!(e.w.daemon.metric(sample).await, 4.0, "{sample}");

    // Jo's signed mail is the first thing Hangzhou hears.
    e.jo.send(&to, "Agenda", "The agenda for Tuesday.", &[]);
    let got = e.w.sink.next_delivered().await;
    assert_eq!(got.post.subject, "Agenda");
    assert_eq!(got.post.from.contact.as_deref(), Some("leeds-jo"));
    e.w.daemon.settled().await;

    let refused = e.bridge.fetch("c2c-refused", 0, 4, 10);
    assert_eq!(refused.len(), 4, "refused mail is kept for an admin to see");
    let forged_ar = refused
        .iter()
        .find(|m| {
            m["subject"] == "New bank details" && header(m, "Message-ID").is_some_and(|id| id.contains("forged-2-"))
        })
        .unwrap();
    let results: Vec<&str> = forged_ar["headers"]["authentication-results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .filter(|v| v.starts_with(authserv.as_str()))
        .collect();
    assert_eq!(results.len(), 1, "the server removed the forged header and wrote its own: {results:?}");
    assert!(results[0].contains("dkim=none"), "{results:?}");
    assert!(e.jo.fetch("INBOX", 0, 0, 0).is_empty(), "a refusal for authentication is never answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the mail servers (tests/run.sh)"]
async fn a_mail_over_the_size_limit_is_refused_unread_and_only_a_contact_is_told() {
    let _servers = share().await;
    let mut e = email_world_with("max_mail_bytes = 65536").await;
    let stranger = e.server.new_user("stranger", "leeds.test");
    let dir = tempfile::tempdir().unwrap();
    let plans = dir.path().join("site-plans.pdf");
    std::fs::write(&plans, vec![b'%'; 200 * 1024]).unwrap();
    let attach = ["--attach", plans.to_str().unwrap()];

    stranger.send(&e.bridge_plus("hangzhou-leeds"), "Plans", "Not a nodal officer.", &attach);
    let big = e.jo.send(&e.bridge_plus("hangzhou-leeds"), "Site plans", "The site plans, attached.", &attach);
    // Jo is told, in the thread of the mail that was too large.
    let answer = &e.jo.fetch("INBOX", 0, 1, 30)[0];
    assert_eq!(header(answer, "In-Reply-To").map(id_list), Some(vec![big]));
    let text = answer["text"].as_str().unwrap();
    assert!(text.contains("64 KiB this bridge accepts"), "{text}");

    // Nothing of either went anywhere; the next mail flows.
    e.jo.send(&e.bridge_plus("hangzhou-leeds"), "Site plans (link)", "The plans: https://leeds.test/plans", &[]);
    let got = e.w.sink.next_delivered().await;
    assert_eq!(got.post.subject, "Site plans (link)");
    assert_eq!(e.bridge.fetch("c2c-refused", 0, 2, 10).len(), 2, "both kept for an admin to see");
    assert!(stranger.fetch("INBOX", 0, 0, 0).is_empty(), "no backscatter to strangers");
    for (reason, n) in [("too_large", 1.0), ("unknown_sender", 1.0)] {
        let sample = format!("c2c_messages_refused_total{{channel=\"email\",reason=\"{reason}\"}}");
        assert_eq!(e.w.daemon.metric(&sample).await, n, "{sample}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the mail servers (tests/run.sh)"]
async fn a_bounce_marks_the_delivery_failed_and_the_author_is_told() {
    let _servers = share().await;
    let mut e = email_world().await;
    for (key, thread, subject) in [("b-1", "HZ-B", "Budget"), ("b-2", "HZ-C", "Agenda")] {
        let a =
            e.w.post("hangzhou", key, &message("hz-li", "hangzhou-leeds", Some(thread), Some(subject), "Text.")).await;
        assert_eq!(a.status, 202);
    }
    let mails = e.jo.fetch("INBOX", 0, 2, 30);
    let of = |subject: &str| {
        let mail = mails.iter().find(|m| m["subject"].as_str().unwrap().starts_with(subject)).unwrap();
        let id = header(mail, "Message-ID").unwrap().trim_matches(['<', '>']).to_string();
        // Each delivery has its own return path, which Jo's server wrote into the mail.
        let return_path = header(mail, "Return-Path").unwrap().trim_matches(['<', '>']).to_string();
        assert!(return_path.contains("+b-"), "{return_path}");
        (id, return_path)
    };
    let ((ours, return_path), (_, other_return_path)) = (of("Budget"), of("Agenda"));
    assert_ne!(return_path, other_return_path);
    // As if Jo's server had later bounced it (a DSN to its return path), after the bridge
    // recorded the delivery as made.
    e.w.daemon.settled().await;
    let dsn = |n: u32, failed: &str| bounce(&return_path, n, failed, &ours, "");
    // A report on the Budget delivery sent to the Agenda delivery's return path: whoever got
    // one mail cannot fail another. Refused, nothing recorded.
    inject(&e.server, "", &other_return_path, &bounce(&other_return_path, 0, &e.jo.address, &ours, ""));
    let refused = "c2c_messages_refused_total{channel=\"email\",reason=\"authentication_failed\"}";
    e.w.daemon.wait_metric(refused, |n| n >= 1.0).await;
    // One that quotes our Message-ID but names somebody else: forged or misdirected.
    inject(&e.server, "", &return_path, &dsn(1, "mallory@elsewhere.test"));
    e.w.daemon.wait_metric("c2c_bounces_total{outcome=\"other_recipient\"}", |n| n >= 1.0).await;
    inject(&e.server, "", &return_path, &dsn(2, &e.jo.address));
    let notice = e.w.sink.next_delivered().await;
    assert_eq!((notice.city.as_str(), notice.post.kind.as_str()), ("hangzhou", "delivery_failed"));
    assert_eq!(notice.post.thread_key.as_deref(), Some("HZ-B"));
    assert!(notice.post.text.contains("mailbox full"), "{}", notice.post.text);
    assert!(!notice.post.text.contains("mallory"), "{}", notice.post.text);
    let convs = e.w.conversations().await;
    let budget = convs.iter().find(|c| c["subject"] == "Budget").unwrap();
    assert_eq!(budget["problems"][0]["status"], "permanent_failure");
    assert_eq!(e.w.daemon.metric("c2c_bounces_total{outcome=\"recorded\"}").await, 1.0);
    assert_eq!(e.w.daemon.metric("c2c_bounces_total{outcome=\"other_recipient\"}").await, 1.0);
    assert_eq!(e.w.daemon.metric(refused).await, 1.0);
    assert_eq!(convs.len(), 2);
    let agenda = convs.iter().find(|c| c["subject"] == "Agenda").unwrap();
    assert!(agenda["problems"].as_array().is_none_or(|p| p.is_empty()), "the Agenda delivery stands: {agenda}");
}

/// A delivery status notification to `to` saying the mail `ours` failed for `failed`; it
/// returns the mail's header, and `returned_body` as its body when not empty (message/rfc822).
fn bounce(to: &str, n: u32, failed: &str, ours: &str, returned_body: &str) -> String {
    let returned = if returned_body.is_empty() {
        format!("Content-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{ours}>\r\nSubject: Budget\r\n")
    } else {
        format!(
            "Content-Type: message/rfc822\r\n\r\nMessage-ID: <{ours}>\r\nSubject: Budget\r\n\r\n{returned_body}\r\n"
        )
    };
    format!(
        "From: MAILER-DAEMON@leeds.test\r\nTo: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         Message-ID: <dsn-{n}@leeds.test>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mail.leeds.test\r\n\r\n\
         Final-Recipient: rfc822; {failed}\r\nAction: failed\r\nStatus: 5.2.2\r\nDiagnostic-Code: smtp; 552 mailbox full\r\n\
         --B\r\n{returned}--B--\r\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the mail servers (tests/run.sh)"]
async fn a_bounce_over_the_size_limit_is_read_from_its_start() {
    let _servers = share().await;
    let mut e = email_world_with("max_mail_bytes = 65536").await;
    let a =
        e.w.post("hangzhou", "b-big", &message("hz-li", "hangzhou-leeds", Some("HZ-P"), Some("Plans"), "The plans."))
            .await;
    assert_eq!(a.status, 202);
    let mail = &e.jo.fetch("INBOX", 0, 1, 30)[0];
    let ours = header(mail, "Message-ID").unwrap().trim_matches(['<', '>']).to_string();
    let return_path = header(mail, "Return-Path").unwrap().trim_matches(['<', '>']).to_string();
    e.w.daemon.settled().await;
    // Jo's server returns the whole mail, as if it had carried 200 KiB of plans: over the limit.
    let returned = "The plans, line after line of them.\r\n".repeat(6000);
    let dsn = bounce(&return_path, 1, &e.jo.address, &ours, &returned);
    assert!(dsn.len() > 65536 * 3);
    inject(&e.server, "", &return_path, &dsn);
    let notice = e.w.sink.next_delivered().await;
    assert_eq!((notice.city.as_str(), notice.post.kind.as_str()), ("hangzhou", "delivery_failed"));
    assert!(notice.post.text.contains("mailbox full"), "{}", notice.post.text);
    assert_eq!(e.w.daemon.metric("c2c_bounces_total{outcome=\"recorded\"}").await, 1.0);
    assert_eq!(e.w.daemon.metric("c2c_messages_refused_total{channel=\"email\",reason=\"too_large\"}").await, 0.0);
    assert_eq!(e.bridge.fetch("c2c-processed", 0, 1, 10).len(), 1, "the bounce is filed as processed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the mail servers (tests/run.sh)"]
async fn nothing_is_lost_or_doubled_across_server_and_bridge_restarts() {
    let _exclusive = disrupt().await;
    let mut e = email_world().await;
    let to = e.bridge_plus("hangzhou-leeds");

    // Dovecot restarts: the bridge reconnects and picks up what arrives afterwards. A city's
    // system deduplicates on webhook-id (the bridge's promise: a delivery repeated after a crash
    // carries the same id); the sink does too, and counts the repeats.
    e.jo.send(&to, "Before", "Sent before the IMAP restart.", &[]);
    let r = e.w.sink.next_delivered().await;
    assert_eq!(r.post.subject, "Before");
    e.server.restart_dovecot();
    e.jo.send(&to, "After", "Sent after the IMAP restart.", &[]);
    let r = e.w.sink.next_delivered().await;
    assert_eq!(r.post.subject, "After");

    // The bridge dies while mail arrives, right after a delivery (its outcome may not be on
    // disk yet: then it is made again, under the same webhook-id, and that is all that is
    // repeated): everything is relayed once after it is back.
    e.w.daemon.kill9();
    for i in 0..3 {
        e.jo.send(&to, &format!("While down {i}"), &format!("Mail number {i} while the bridge was down."), &[]);
    }
    e.w.daemon.restart().await;
    let mut subjects: Vec<String> = Vec::new();
    while subjects.len() < 3 {
        subjects.push(e.w.sink.next_delivered().await.post.subject);
    }
    subjects.sort();
    assert_eq!(subjects, vec!["While down 0", "While down 1", "While down 2"]);
    assert!(e.w.sink.redelivered() <= 1, "only the delivery made just before the kill may be repeated");

    // SMTP is down for a while: the delivery waits and goes out once, afterwards.
    e.server.stop_postfix();
    let a =
        e.w.post(
            "hangzhou",
            "down-1",
            &message("hz-li", "hangzhou-leeds", None, Some("During the outage"), "Written while SMTP was down."),
        )
        .await;
    assert_eq!(a.status, 202);
    let retried = "c2c_deliveries_total{channel=\"email\",status=\"temporary_failure\"}";
    let start = std::time::Instant::now();
    while e.w.daemon.metric(retried).await < 1.0 {
        assert!(start.elapsed() < c2c_test_support::DEADLINE, "no failed SMTP attempt seen");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    e.server.start_postfix();
    let inbox = e.jo.fetch("INBOX", 0, 1, 30);
    let outage: Vec<&Value> =
        inbox.iter().filter(|m| m["subject"].as_str().unwrap().contains("During the outage")).collect();
    assert_eq!(outage.len(), 1, "delivered once");

    // No duplicates anywhere: 5 mails in, 5 posts; 1 mail out.
    let convs = e.w.conversations().await;
    let posts: u64 = convs.iter().map(|c| c["posts"].as_u64().unwrap()).sum();
    assert_eq!(posts, 6);
    e.w.daemon.settled().await;
    let late: Vec<String> = e.w.sink.drain().into_iter().map(|r| r.post.subject).collect();
    assert!(late.iter().all(|s| s == "After"), "only a repeat of the delivery before the kill: {late:?}");
    assert!(e.w.sink.redelivered() + late.len() <= 1, "that delivery repeated at most once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the mail servers (tests/run.sh)"]
async fn mail_arriving_while_earlier_mail_is_handled_is_relayed_without_waiting() {
    let _servers = share().await;
    let mut e = email_world().await;
    let to = e.bridge_plus("hangzhou-leeds");
    // Back to back, so new mail lands while the bridge fetches, commits and files the mail
    // before (the server announces it then, not in the IDLE that follows). With a 300 s poll
    // interval and IDLE renewed every 25 minutes, a mail left behind would miss the deadline.
    const N: usize = 12;
    for i in 0..N {
        e.jo.send(&to, &format!("Burst {i:02}"), &format!("Mail {i} of a burst."), &[]);
    }
    let mut subjects = std::collections::BTreeSet::new();
    while subjects.len() < N {
        let r = e.w.sink.next_delivered().await;
        assert!(subjects.insert(r.post.subject.clone()), "{} relayed twice", r.post.subject);
    }
    assert_eq!(subjects.iter().next().map(String::as_str), Some("Burst 00"));
}
