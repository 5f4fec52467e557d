//! The Matrix connector against a real Synapse on loopback, with matrix-nio as the officers'
//! client (`tests/matrix/`); Leeds on email through the real Postfix + Dovecot, Gifu on a
//! webhook. `#[ignore]`d in plain `cargo test`: `tests/run.sh` starts the servers.

use c2c_test_support::mail::{self, MailServer, Officer, header, id_list};
use c2c_test_support::matrix::{self, MatrixOfficer, Synapse};
use c2c_test_support::world::{Tuning, World, message};
use serde_json::{Value, json};

pub(crate) struct MatrixWorld {
    pub(crate) w: World,
    pub(crate) li: MatrixOfficer,
    jo: Option<Officer>,
    bridge_mail: Option<Officer>,
    synapse: Synapse,
    pub(crate) bot: String,
}

impl MatrixWorld {
    fn bridge_plus(&self, detail: &str) -> String {
        let (local, domain) = self.bridge_mail.as_ref().unwrap().address.split_once('@').unwrap();
        format!("{local}+{detail}@{domain}")
    }

    fn jo(&self) -> &Officer {
        self.jo.as_ref().unwrap()
    }
}

/// The Matrix store passphrase of the test worlds that encrypt their store.
const STORE_PASSPHRASE: &str = "correct horse battery staple";

/// Partnerships for a world: `members` as (city, channel).
fn partnership(id: &str, kind: &str, members: &[(&str, &str)]) -> String {
    let names: Vec<String> = members.iter().map(|(c, _)| format!("\"{c}\"")).collect();
    let channels: Vec<String> = members.iter().map(|(c, ch)| format!("{c} = \"{ch}\"")).collect();
    format!(
        "[[partnerships]]\nid = \"{id}\"\nkind = \"{kind}\"\nmembers = [{}]\nobjective = \"Library and heritage exchange\"\n\
         language = \"en\"\nreply_within = \"5d\"\non_other_channel = \"relay\"\nchannels = {{ {} }}\n",
        names.join(", "),
        channels.join(", ")
    )
}

async fn matrix_world(partnerships: String, encrypted: bool, with_email: bool) -> MatrixWorld {
    matrix_world_with(partnerships, encrypted, with_email, String::new(), "").await
}

/// `gifu_contact` is added to Gifu's contact entry (e.g. a Matrix id), `matrix_extra` to
/// `[connectors.matrix]`.
async fn matrix_world_with(
    partnerships: String,
    encrypted: bool,
    with_email: bool,
    gifu_contact: String,
    matrix_extra: &str,
) -> MatrixWorld {
    matrix_world_tuned(Tuning::default(), partnerships, encrypted, with_email, gifu_contact, matrix_extra).await
}

/// [`matrix_world_with`] with `tuning` (its `reply_within` replaces the partnerships' days).
async fn matrix_world_tuned(
    tuning: Tuning,
    partnerships: String,
    encrypted: bool,
    with_email: bool,
    gifu_contact: String,
    matrix_extra: &str,
) -> MatrixWorld {
    let synapse = Synapse::from_env();
    let dir = tempfile::tempdir().unwrap().keep();
    let (bot, bot_pw) = synapse.new_account("c2c-bot");
    let li = synapse.new_officer("liwei", dir.join("li"));
    // Li's device exists (and has published its keys) before the bridge shares room keys.
    li.whoami();
    let (jo, bridge_mail, server) = if with_email {
        let server = MailServer::from_env();
        let bridge = server.new_user("bridge", "c2c.test");
        let jo = server.new_user("jo", "leeds.test");
        (Some(jo), Some(bridge), Some(server))
    } else {
        (None, None, None)
    };
    // The store passphrase is there for any world; a test uses it by naming it in `matrix_extra`
    // (`store_passphrase_env = "C2C_TEST_MATRIX_STORE_PASSPHRASE"`).
    let mut env = vec![
        ("C2C_TEST_MATRIX_PASSWORD".to_string(), bot_pw),
        ("C2C_TEST_MATRIX_STORE_PASSPHRASE".to_string(), STORE_PASSPHRASE.to_string()),
    ];
    if let Some(b) = &bridge_mail {
        env.push(("C2C_TEST_MAIL_PASSWORD".to_string(), b.password.clone()));
    }
    let (s, b, l, j, bm, srv) =
        (synapse.clone(), bot.clone(), li.user.clone(), jo.clone(), bridge_mail.clone(), server);
    let matrix_extra = matrix_extra.to_string();
    let w = World::start_custom(crate::bin(), tuning, env, move |ctx| {
        let email = match (&bm, &srv) {
            (Some(bm), Some(srv)) => srv.connector_section(bm),
            _ => String::new(),
        };
        let jo_email = j.as_ref().map(|j| format!("email = \"{}\"", j.address)).unwrap_or_default();
        format!(
            r#"{bridge}
{email}
[connectors.matrix]
homeserver = "{hs}"
user = "{b}"
password_env = "C2C_TEST_MATRIX_PASSWORD"
store_dir = "matrix"
encrypt_new_rooms = {encrypted}
{matrix_extra}

{cities}
{partnerships}
"#,
            bridge = ctx.bridge_section(),
            partnerships = partnerships
                .replace("reply_within = \"5d\"", &format!("reply_within = \"{}\"", ctx.reply_within("5d"))),
            hs = s.url(),
            cities = [
                ctx.city("leeds", "", &jo_email),
                ctx.city("hangzhou", "", &format!("matrix = \"{l}\"")),
                ctx.city("gifu", &ctx.webhook("gifu"), &gifu_contact),
            ]
            .concat(),
        )
    })
    .await;
    MatrixWorld { w, li, jo, bridge_mail, synapse, bot }
}

/// Hangzhou on Matrix and Gifu on its webhook in one partnership (`hangzhou-gifu`), with Li in
/// Hangzhou's portal room (plain, not encrypted); returns the world and the room.
async fn hangzhou_and_gifu() -> (MatrixWorld, String) {
    hangzhou_and_gifu_with(false, "").await
}

/// [`hangzhou_and_gifu`] with `matrix_extra` in `[connectors.matrix]`, in an encrypted room
/// when `encrypted`.
async fn hangzhou_and_gifu_with(encrypted: bool, matrix_extra: &str) -> (MatrixWorld, String) {
    hangzhou_and_gifu_tuned(Tuning::default(), encrypted, matrix_extra).await
}

/// [`hangzhou_and_gifu_with`] with `tuning`.
pub(crate) async fn hangzhou_and_gifu_tuned(
    tuning: Tuning,
    encrypted: bool,
    matrix_extra: &str,
) -> (MatrixWorld, String) {
    let e = matrix_world_tuned(
        tuning,
        partnership("hangzhou-gifu", "city-city", &[("hangzhou", "matrix"), ("gifu", "webhook")]),
        encrypted,
        false,
        String::new(),
        matrix_extra,
    )
    .await;
    let room = e.li.accept_invite(60)["room_id"].as_str().unwrap().to_string();
    (e, room)
}

fn body(ev: &Value) -> &str {
    ev["body"].as_str().unwrap_or("")
}

fn sha256_hex(bytes: &[u8]) -> String {
    let out = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(bytes)?;
            child.wait_with_output()
        })
        .unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_string()
}

async fn email_and_matrix_officers_share_a_thread(encrypted: bool) {
    let _m = matrix::share().await;
    let _e = mail::share().await;
    let e = matrix_world_with(
        partnership("hangzhou-leeds", "city-city", &[("hangzhou", "matrix"), ("leeds", "email")]),
        encrypted,
        true,
        String::new(),
        "max_attachment_bytes = 40000",
    )
    .await;
    let room = e.li.accept_invite(60);
    assert_eq!(room["encrypted"], encrypted);
    assert!(room["name"].as_str().unwrap().contains("Hangzhou ↔ Leeds (c2c)"), "{room}");
    let room_id = room["room_id"].as_str().unwrap().to_string();

    // Leeds writes by mail: it appears as a new thread in Hangzhou's portal room.
    let first = e.jo().send(
        &e.bridge_plus("hangzhou-leeds"),
        "Library exchange",
        "Dear Li Wei, shall we start the library exchange in March?",
        &[],
    );
    let evs = e.li.messages(&room_id, 1, None);
    let root = &evs[0];
    assert_eq!(root["sender"], e.bot.as_str());
    assert_eq!(root["decrypted"], encrypted);
    assert!(body(root).contains("Jo Smith (Leeds, International Relations)"), "{root}");
    assert!(body(root).contains("library exchange in March"), "{root}");
    assert_eq!(root["content"]["org.c2c.language"]["code"], "en");
    let root_id = root["event_id"].as_str().unwrap().to_string();
    // The bridge knows the root's event id once that delivery's outcome is recorded.
    e.w.daemon.settled().await;

    // Hangzhou answers in the thread; it lands in Leeds' INBOX under the original mail.
    let li_event = e.li.send(&room_id, "您好，三月份开始没问题。我们会准备书目清单。", Some(&root_id));
    let mail = e.jo().fetch("INBOX", 0, 1, 30)[0].clone();
    assert_eq!(header(&mail, "In-Reply-To").map(id_list), Some(vec![first.clone()]));
    assert!(id_list(header(&mail, "References").unwrap()).contains(&first));
    assert!(mail["text"].as_str().unwrap().contains("三月份开始没问题"), "{mail}");
    assert!(mail["from"].as_str().unwrap().contains("Li Wei (Hangzhou) via c2c-bridge"));

    // Leeds replies to that mail with a PDF: back into the same Matrix thread, the file as an
    // event of its own in the thread (uploaded encrypted in the encrypted room).
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("booklist.pdf");
    let bytes: Vec<u8> = b"%PDF-1.4\n".iter().copied().chain((0..20_000u32).map(|i| (i * 7 % 251) as u8)).collect();
    std::fs::write(&pdf, &bytes).unwrap();
    e.jo().reply(&mail, "Wonderful, thank you. I will send the dates.", &["--attach", pdf.to_str().unwrap()]);
    let in_thread = e.li.messages(&room_id, 2, Some(&root_id));
    let text = in_thread.iter().find(|ev| body(ev).contains("I will send the dates")).expect("the reply");
    assert_eq!(text["content"]["m.relates_to"]["rel_type"], "m.thread");
    assert_eq!(text["content"]["m.relates_to"]["event_id"], root_id.as_str());
    let file = in_thread.iter().find(|ev| ev["content"]["msgtype"] == "m.file").expect("the attachment");
    let got = e.li.download(&room_id, file["event_id"].as_str().unwrap());
    assert_eq!(got["filename"], "booklist.pdf");
    assert_eq!(got["encrypted"], encrypted);
    assert_eq!(got["size"], bytes.len());
    assert_eq!(got["sha256"].as_str().unwrap(), sha256_hex(&bytes));
    assert_eq!(got["relates_to"]["event_id"], root_id.as_str());

    // Hangzhou posts a file in the thread (from Element: uploaded encrypted in the encrypted
    // room): it reaches Leeds as a mail in the same thread, with the file attached.
    let plan = dir.path().join("site-plan.pdf");
    let plan_bytes: Vec<u8> =
        b"%PDF-1.4\n".iter().copied().chain((0..30_000u32).map(|i| (i * 13 % 241) as u8)).collect();
    std::fs::write(&plan, &plan_bytes).unwrap();
    e.li.send_file(&room_id, plan.to_str().unwrap(), "application/pdf", Some(&root_id));
    let mails = e.jo().fetch("INBOX", 0, 2, 30);
    let with_file =
        mails.iter().find(|m| !m["attachments"].as_array().unwrap().is_empty()).expect("a mail with the file");
    assert!(id_list(header(with_file, "References").unwrap()).contains(&first), "in the same mail thread");
    let attached = &with_file["attachments"][0];
    assert_eq!(attached["filename"], "site-plan.pdf");
    assert_eq!(attached["content_type"], "application/pdf");
    assert_eq!(attached["size"], plan_bytes.len(), "the file's bytes, fetched (and decrypted) from the homeserver");

    // A file over the connector's max_attachment_bytes (40,000 here) is not fetched: Leeds gets
    // the post with a note naming it.
    let photos = dir.path().join("photos.zip");
    std::fs::write(&photos, vec![7u8; 50_000]).unwrap();
    e.li.send_file(&room_id, photos.to_str().unwrap(), "application/zip", Some(&root_id));
    let mails = e.jo().fetch("INBOX", 0, 3, 30);
    let noted =
        mails.iter().find(|m| m["text"].as_str().unwrap().contains("photos.zip")).expect("a mail about the large file");
    assert!(noted["attachments"].as_array().unwrap().is_empty(), "{noted}");
    assert!(noted["text"].as_str().unwrap().contains("(50000 bytes) was too large to relay"), "{noted}");

    // An edit in Matrix reaches Leeds as a correction, in the same mail thread.
    e.li.edit(&room_id, &li_event, "您好，三月份开始没问题。书目清单下周发给您。");
    let mails = e.jo().fetch("INBOX", 0, 4, 30);
    let correction =
        mails.iter().find(|m| m["text"].as_str().unwrap().contains("Correction:")).expect("a correction mail");
    assert!(id_list(header(correction, "References").unwrap()).contains(&first));

    let convs = e.w.conversations().await;
    assert_eq!(convs.len(), 1, "one conversation across email and Matrix");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Synapse and the mail servers (tests/run.sh)"]
async fn email_and_matrix_officers_share_a_thread_in_a_plain_room() {
    email_and_matrix_officers_share_a_thread(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Synapse and the mail servers (tests/run.sh)"]
async fn email_and_matrix_officers_share_a_thread_in_an_encrypted_room() {
    email_and_matrix_officers_share_a_thread(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Synapse (tests/run.sh)"]
async fn a_webhook_city_and_a_matrix_city_hold_a_conversation() {
    let _m = matrix::share().await;
    let (mut e, room_id) = hangzhou_and_gifu().await;

    // A top-level message in the portal room starts a conversation; its first line is the subject.
    let top = e.li.send(&room_id, "Hospital exchange visit\nCan your team come in April?", None);
    let got = e.w.sink.next_delivered().await;
    assert_eq!(got.city, "gifu");
    assert_eq!(got.post.subject, "Hospital exchange visit");
    assert_eq!(got.post.from.contact.as_deref(), Some("hz-li"));
    let conversation = got.post.conversation.clone();

    // Gifu answers; it appears in the thread of Li's message.
    let mut reply = message("gifu-sato", "hangzhou-gifu", Some("G-7"), None, "はい、4月に伺います。");
    reply["conversation"] = json!(conversation);
    assert_eq!(e.w.post("gifu", "g-1", &reply).await.status, 202);
    let evs = e.li.messages(&room_id, 1, Some(&top));
    assert!(body(evs.last().unwrap()).contains("4月に伺います"));
    assert!(
        body(evs.last().unwrap()).starts_with("[ja] "),
        "a visible marker for another language than the partnership's"
    );

    // A plain reply (not threaded) to the relayed message continues the conversation too. The
    // bridge learns the relayed event's id when its delivery's outcome is recorded.
    let relayed = evs.last().unwrap()["event_id"].as_str().unwrap().to_string();
    e.w.daemon.settled().await;
    e.li.reply(&room_id, "Great, see you then.", &relayed);
    let got = e.w.sink.next_delivered().await;
    assert_eq!(got.post.conversation, conversation);
    assert_eq!(got.post.thread_key.as_deref(), Some("G-7"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Synapse (tests/run.sh)"]
async fn a_burst_while_the_bridge_is_down_is_relayed_in_full() {
    let _m = matrix::share().await;
    let (mut e, room_id) = hangzhou_and_gifu().await;
    let root = e.li.send(&room_id, "Flood drill\nAre your teams ready?", None);
    let conversation = e.w.sink.next_delivered().await.post.conversation;
    // The kill comes once that delivery's outcome is on disk: the burst, not a repeat of it
    // (which a kill inside the outcome window may cause, under the same webhook-id), is what is
    // relayed after the restart.
    e.w.daemon.settled().await;

    // More messages than one sync response carries per room (Synapse's default is 10): the
    // restarted bridge gets a "limited" timeline and must fetch the gap before it.
    const N: usize = 25;
    e.w.daemon.kill9();
    e.li.send_many(&room_id, "Checklist item", N, Some(&root));
    e.w.daemon.restart().await;
    for i in 1..=N {
        let got = e.w.sink.next_delivered().await;
        assert_eq!(got.post.conversation, conversation);
        assert!(
            got.post.text.contains(&format!("Checklist item ({i}/{N})")),
            "expected item {i} of {N} next (each once, in order), got {:?}",
            got.post.text
        );
    }
    assert_eq!(e.w.sink.redelivered(), 0, "no delivery recorded before the kill was made again");
    let convs = e.w.conversations().await;
    assert_eq!(convs[0]["posts"], 1 + N as u64, "no message committed twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Synapse (tests/run.sh)"]
async fn edits_redactions_and_strangers_in_a_portal_room() {
    let _m = matrix::share().await;
    let (mut e, room) = hangzhou_and_gifu().await;
    let top = e.li.send(&room, "Budget for the April visit\nWe can fund four people.", None);
    let first = e.w.sink.next_delivered().await;
    let conversation = first.post.conversation.clone();

    // An edit is relayed as a correction in the same conversation.
    e.li.edit(&room, &top, "Budget for the April visit\nWe can fund five people.");
    let got = e.w.sink.next_delivered().await;
    assert_eq!(got.post.conversation, conversation);
    assert!(got.post.text.starts_with("Correction: "), "{}", got.post.text);
    assert!(got.post.text.contains("five people"), "{}", got.post.text);

    // Someone else in the room, not a contact: ignored and counted, never relayed.
    let dir = tempfile::tempdir().unwrap().keep();
    let visitor = e.synapse.new_officer("visitor", dir.join("visitor"));
    e.li.invite(&room, &visitor.user);
    assert_eq!(visitor.accept_invite(60)["room_id"].as_str(), Some(room.as_str()));
    visitor.send(&room, "Hello from someone the bridge does not know", None);

    // A redaction becomes a short note in the same conversation. It was posted after the
    // visitor's message, so had that been relayed it would have arrived first.
    e.li.redact(&room, &top);
    let got = e.w.sink.next_delivered().await;
    assert_eq!(got.post.conversation, conversation);
    assert!(got.post.text.contains("deleted an earlier message"), "{}", got.post.text);
    let refused = e.w.daemon.metric(r#"c2c_messages_refused_total{channel="matrix",reason="unknown_sender"}"#).await;
    assert_eq!(refused, 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Synapse (tests/run.sh)"]
async fn an_officer_off_their_agreed_channel_gets_the_partnership_rule_in_matrix() {
    let _m = matrix::share().await;
    let dir = tempfile::tempdir().unwrap().keep();
    let sato = Synapse::from_env().new_officer("sato", dir.join("sato"));
    // Gifu's agreed channel is its webhook in both partnerships; one relays what its officers
    // write elsewhere (with a notice), the other rejects it.
    let relay = partnership("hz-gifu-relay", "city-city", &[("hangzhou", "matrix"), ("gifu", "webhook")]);
    let reject = partnership("hz-gifu-reject", "city-city", &[("hangzhou", "matrix"), ("gifu", "webhook")])
        .replace("on_other_channel = \"relay\"", "on_other_channel = \"reject\"");
    let mut e =
        matrix_world_with(format!("{relay}\n{reject}"), false, false, format!("matrix = \"{}\"", sato.user), "").await;
    let rooms = e.li.accept_invites(2, 60);
    let room_of = |id: &str| {
        rooms
            .iter()
            .find(|r| r["topic"].as_str().unwrap_or("").contains(id))
            .map(|r| r["room_id"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("no portal room for {id}: {rooms:?}"))
    };
    let (relay_room, reject_room) = (room_of("hz-gifu-relay"), room_of("hz-gifu-reject"));

    // Li starts a conversation in each; Gifu's system gets both.
    let relay_top = e.li.send(&relay_room, "Relay partnership\nShall we meet in May?", None);
    let got = e.w.sink.next_delivered().await;
    assert_eq!(got.post.partnership, "hz-gifu-relay");
    let conversation = got.post.conversation.clone();
    let reject_top = e.li.send(&reject_room, "Reject partnership\nShall we meet in June?", None);
    assert_eq!(e.w.sink.next_delivered().await.post.partnership, "hz-gifu-reject");

    // Li invites Gifu's officer into both rooms, who answers in the threads from Matrix.
    for room in [&relay_room, &reject_room] {
        e.li.invite(room, &sato.user);
        sato.accept_invite(60);
    }
    sato.send(&relay_room, "May works for us.", Some(&relay_top));
    sato.send(&reject_room, "June works for us.", Some(&reject_top));

    // relay: recorded in the conversation as Gifu's post, with a one-time notice in the thread;
    // not sent back to Gifu's own system, nor again into Hangzhou's room, which has it.
    let notes = e.li.messages(&relay_room, 2, Some(&relay_top)); // Sato's answer and the notice
    let note = notes.iter().find(|ev| ev["content"]["msgtype"] == "m.notice").expect("a notice in the thread");
    assert!(body(note).contains("webhook"), "the notice names the agreed channel: {note}");
    let convs = e.w.conversations().await;
    let conv = convs.iter().find(|c| c["conversation"] == conversation.as_str()).expect("the relay conversation");
    assert_eq!(conv["posts_by_city"]["gifu"], 1, "{conv}");
    // Deliveries of a conversation keep commit order: had Sato's post been routed to Gifu's
    // system, it would arrive before Li's next one.
    e.li.send(&relay_room, "See you in May.", Some(&relay_top));
    let got = e.w.sink.next_delivered().await;
    assert!(got.post.text.contains("See you in May"), "{}", got.post.text);
    // The only thing the bridge posted into Matrix for this partnership is the notice. A copy
    // of Sato's post would have been committed with the notice; once every committed delivery
    // is done, the count is final.
    e.w.daemon.settled().await;
    let into_matrix = e.w.daemon.metric(r#"c2c_deliveries_total{channel="matrix",status="delivered"}"#).await;
    assert_eq!(into_matrix, 1.0, "Sato's post was not copied into the room it was written in");

    // reject: a notice in the thread says where the partnership lives; nothing recorded.
    let notes = e.li.messages(&reject_room, 2, Some(&reject_top));
    let note = notes.iter().find(|ev| ev["content"]["msgtype"] == "m.notice").expect("a notice in the thread");
    assert!(body(note).contains("webhook"), "{note}");
    let refused = e.w.daemon.metric(r#"c2c_messages_refused_total{channel="matrix",reason="wrong_channel"}"#).await;
    assert_eq!(refused, 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Synapse (tests/run.sh)"]
async fn a_contact_who_left_the_portal_is_invited_again_on_reload() {
    let _m = matrix::share().await;
    let (e, room) = hangzhou_and_gifu().await;
    e.li.leave(&room);
    e.w.daemon.signal_hup();
    e.w.daemon.wait_log("config reloaded").await;
    let again = e.li.accept_invite(60);
    assert_eq!(again["room_id"].as_str(), Some(room.as_str()), "the same portal room, not a new one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Synapse and the mail servers (tests/run.sh)"]
async fn three_cities_on_three_channels() {
    let _m = matrix::share().await;
    let _e = mail::share().await;
    let mut e = matrix_world(
        partnership("heritage", "multi-city", &[("leeds", "email"), ("hangzhou", "matrix"), ("gifu", "webhook")]),
        true,
        true,
    )
    .await;
    let room_id = e.li.accept_invite(60)["room_id"].as_str().unwrap().to_string();
    let a =
        e.w.post(
            "gifu",
            "h-1",
            &message("gifu-sato", "heritage", Some("GH"), Some("Brochure"), "The brochure draft is ready."),
        )
        .await;
    assert_eq!(a.status, 202);
    let root = e.li.messages(&room_id, 1, None)[0].clone();
    assert!(body(&root).contains("brochure draft"));
    let mail = e.jo().fetch("INBOX", 0, 1, 30)[0].clone();
    assert!(mail["text"].as_str().unwrap().contains("brochure draft"));

    // Hangzhou answers in the thread: Leeds gets a mail in its thread, Gifu a webhook. (The
    // bridge knows the root's event id once its delivery's outcome is recorded.)
    e.w.daemon.settled().await;
    e.li.send(&room_id, "Looks good, two small corrections attached.", Some(root["event_id"].as_str().unwrap()));
    let got = e.w.sink.next_delivered().await;
    assert_eq!((got.city.as_str(), got.post.thread_key.as_deref()), ("gifu", Some("GH")));
    let mails = e.jo().fetch("INBOX", 0, 2, 30);
    let m2 = mails.iter().find(|m| m["text"].as_str().unwrap().contains("two small corrections")).unwrap();
    assert_eq!(
        header(m2, "In-Reply-To").map(id_list),
        Some(vec![header(&mail, "Message-ID").unwrap().trim_matches(['<', '>']).to_string()])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Synapse and the mail servers (tests/run.sh)"]
async fn synapse_and_bridge_restarts_lose_nothing_and_keep_the_device() {
    let _m = matrix::disrupt().await;
    let _e = mail::share().await;
    let mut e = matrix_world(
        partnership("hangzhou-leeds", "city-city", &[("hangzhou", "matrix"), ("leeds", "email")]),
        true,
        true,
    )
    .await;
    let room_id = e.li.accept_invite(60)["room_id"].as_str().unwrap().to_string();
    let session = e.w.dir.path().join("matrix/session.json");
    let device = |p: &std::path::Path| -> String {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        v["device_id"].as_str().unwrap().to_string()
    };
    let before = device(&session);

    let root = e.li.send(&room_id, "Smart transport\nShall we compare bus data?", None);
    assert!(e.jo().fetch("INBOX", 0, 1, 30)[0]["text"].as_str().unwrap().contains("compare bus data"));

    // Synapse restarts mid-conversation.
    e.synapse.restart();
    e.li.send(&room_id, "After the homeserver restart.", Some(&root));
    let mails = e.jo().fetch("INBOX", 0, 2, 30);
    assert!(mails.iter().any(|m| m["text"].as_str().unwrap().contains("After the homeserver restart")));

    // The bridge dies once the mails so far are recorded as sent (mail cannot be taken back,
    // so one sent again would be a second copy); two messages are posted meanwhile; both
    // arrive once after it is back.
    e.w.daemon.settled().await;
    e.w.daemon.kill9();
    e.li.send(&room_id, "While the bridge was down, one.", Some(&root));
    e.li.send(&room_id, "While the bridge was down, two.", Some(&root));
    e.w.daemon.restart().await;
    let mails = e.jo().fetch("INBOX", 0, 4, 30);
    for text in ["While the bridge was down, one.", "While the bridge was down, two."] {
        let n = mails.iter().filter(|m| m["text"].as_str().unwrap().contains(text)).count();
        assert_eq!(n, 1, "{text} delivered {n} times");
    }
    assert_eq!(device(&session), before, "the same device after a restart");

    // And the other way after the restart: still decryptable for Hangzhou (same device, keys kept).
    let last = mails.last().unwrap().clone();
    e.jo().reply(&last, "Received all three, thanks.", &[]);
    let evs = e.li.messages(&room_id, 1, Some(&root));
    let got = evs.iter().find(|ev| body(ev).contains("Received all three")).expect("the reply in the thread");
    assert_eq!(got["decrypted"], true);
    let convs = e.w.conversations().await;
    assert_eq!(convs.len(), 1);
    assert_eq!(convs[0]["posts"], 5);
    drop(e.w.sink.drain());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Synapse (tests/run.sh)"]
async fn a_file_the_homeserver_never_hands_over_is_relayed_with_a_note_and_the_room_flows_on() {
    let _m = matrix::share().await;
    // Second-scale bound for the test (default 10 minutes); at least three attempts count anyway.
    let (mut e, room) = hangzhou_and_gifu_with(false, r#"file_fetch_give_up_after = "1s""#).await;
    let dir = tempfile::tempdir().unwrap();
    let agenda = dir.path().join("agenda.pdf");
    std::fs::write(&agenda, b"%PDF-1.4 the agenda").unwrap();

    // The file's mxc URI was reserved (asynchronous upload) but never uploaded to: Synapse
    // answers every download with 504 M_NOT_YET_UPLOADED, a server error that may pass. Li
    // writes on in its thread meanwhile.
    let file = e.li.send_file_with(&room, agenda.to_str().unwrap(), "application/pdf", &["--not-uploaded"]);
    e.li.send(&room, "Did the agenda reach you? The meeting is on Tuesday.", Some(&file));

    // One failed attempt is stored; the bridge is killed and comes back: it counts on.
    e.w.daemon.wait_log("could not fetch a file posted in Matrix; will try again").await;
    e.w.daemon.kill9();
    e.w.daemon.restart().await;

    // The post arrives with a note instead of the file, then the message written after it, in
    // the same conversation.
    let got = e.w.sink.next_delivered().await;
    assert!(got.post.text.contains("(sent the file \"agenda.pdf\")"), "{}", got.post.text);
    assert!(
        got.post.text.contains(
            "[The file \"agenda.pdf\" could not be fetched from Matrix: the homeserver did not hand it over.]"
        ),
        "{}",
        got.post.text
    );
    assert!(got.post.attachments.is_empty(), "no attachment that was never had: {:?}", got.post.attachments);
    let next = e.w.sink.next_delivered().await;
    assert!(next.post.text.contains("The meeting is on Tuesday"), "{}", next.post.text);
    assert_eq!(next.post.conversation, got.post.conversation, "the thread's next post follows it");

    let dropped = e.w.daemon.metric(r#"c2c_attachments_dropped_total{channel="matrix",reason="unavailable"}"#).await;
    assert_eq!(dropped, 1.0);
    // Three attempts in all across the restart (give-up needs three): two that failed and were
    // stored, one that gave up. Had the restart started the count over, there would be more.
    let log = e.w.daemon.log_text();
    assert_eq!(log.matches("will try again").count(), 2, "{log}");
    assert_eq!(log.matches("gave up fetching a file posted in Matrix").count(), 1, "{log}");
    assert!(log.contains("attempts=3"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Synapse (tests/run.sh)"]
async fn a_file_larger_than_it_says_is_refused_unread_and_file_names_arrive_cleaned() {
    let _m = matrix::share().await;
    let (mut e, room) = hangzhou_and_gifu_with(false, "max_attachment_bytes = 40000").await;
    let dir = tempfile::tempdir().unwrap();

    // 4 MiB that claim to be 1,000 bytes: the homeserver's Content-Length gives it away before
    // a byte of it is read.
    let big = dir.path().join("minutes.zip");
    const BIG: usize = 4 << 20;
    std::fs::write(&big, vec![9u8; BIG]).unwrap();
    e.li.send_file_with(&room, big.to_str().unwrap(), "application/zip", &["--declared-size", "1000"]);
    let got = e.w.sink.next_delivered().await;
    assert_eq!(got.post.attachments.len(), 1, "{:?}", got.post);
    assert_eq!(got.post.attachments[0].filename, "minutes.zip");
    assert_eq!(got.post.attachments[0].size, BIG as u64, "the real size, not the declared one");
    let too_large = e.w.daemon.metric(r#"c2c_attachments_dropped_total{channel="matrix",reason="too_large"}"#).await;
    assert_eq!(too_large, 1.0);
    let read = e.w.daemon.metric(r#"c2c_attachment_bytes_fetched_total{channel="matrix"}"#).await;
    assert!(read <= 40_000.0, "read {read} bytes of a {BIG}-byte file over a 40,000-byte limit");

    // A name with directories, a control character, a line break and a leading dot arrives as
    // a plain base name; the file itself (within the limit) is fetched.
    let small = dir.path().join("plain.txt");
    std::fs::write(&small, b"hello").unwrap();
    e.li.send_file_with(
        &room,
        small.to_str().unwrap(),
        "text/plain",
        &["--filename", "../../.ssh/\u{7}authorized\nkeys"],
    );
    let got = e.w.sink.next_delivered().await;
    assert_eq!(got.post.attachments[0].filename, "authorized keys");
    assert_eq!(got.post.attachments[0].size, 5);
    assert!(got.post.text.contains("(sent the file \"authorized keys\")"), "{}", got.post.text);
    let read = e.w.daemon.metric(r#"c2c_attachment_bytes_fetched_total{channel="matrix"}"#).await;
    assert_eq!(read, 5.0, "the small file's bytes, and none of the large one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Synapse (tests/run.sh)"]
async fn the_matrix_store_is_private_encrypted_and_refuses_a_wrong_passphrase() {
    use std::os::unix::fs::PermissionsExt;
    let _m = matrix::share().await;
    let (mut e, room) =
        hangzhou_and_gifu_with(true, r#"store_passphrase_env = "C2C_TEST_MATRIX_STORE_PASSPHRASE""#).await;
    // End-to-end encryption works on the encrypted store.
    e.li.send(&room, "Encrypted store\nDoes the bridge still read us?", None);
    let got = e.w.sink.next_delivered().await;
    assert!(got.post.text.contains("still read us"), "{}", got.post.text);
    e.w.daemon.terminate().await;

    // Private whatever the umask (the daemon ran with this test's, 022), and encrypted: the
    // room's id is nowhere in the databases in clear.
    let store = e.w.dir.path().join("matrix");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&store), 0o700);
    assert_eq!(mode(&store.join("sdk")), 0o700);
    let mut files = 0;
    for d in [store.clone(), store.join("sdk")] {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_file() {
                files += 1;
                assert_eq!(mode(&p), 0o600, "{}", p.display());
                let bytes = std::fs::read(&p).unwrap();
                if p.extension().is_some_and(|x| x == "sqlite3" || x == "sqlite3-wal") {
                    let clear = bytes.windows(room.len()).any(|w| w == room.as_bytes());
                    assert!(!clear, "{} holds the room id in clear", p.display());
                }
            }
        }
    }
    assert!(files >= 6, "session.json, store.json and the SQLite files");

    // A wrong passphrase, or none, stops the start with a clear error (exit 2), once: not a
    // half-read store, not a retry loop. The passphrase itself is never printed.
    let run = |passphrase: Option<&str>| {
        let mut env = e.w.env.clone();
        env.retain(|(k, _)| k != "C2C_TEST_MATRIX_STORE_PASSPHRASE");
        if let Some(p) = passphrase {
            env.push(("C2C_TEST_MATRIX_STORE_PASSPHRASE".into(), p.into()));
        }
        let child = std::process::Command::new(crate::bin())
            .args(["run", "--config"])
            .arg(&e.w.config_path)
            .envs(env)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Await the process's exit (on a thread that waits for it), at most DEADLINE.
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let Ok(out) = rx.recv_timeout(c2c_test_support::DEADLINE) else {
            let _ = std::process::Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("c2c-bridge kept running with the store passphrase {passphrase:?}");
        };
        let out = out.unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, stderr) = run(Some("not the passphrase"));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("does not open with the configured passphrase"), "{stderr}");
    assert!(stderr.contains("connectors.matrix.store_passphrase_env"), "{stderr}");
    assert!(!stderr.contains("not the passphrase"), "the passphrase is never printed: {stderr}");
    // Unset, the variable named in the config is a missing secret; with the setting removed,
    // the store says it is encrypted.
    let config = std::fs::read_to_string(&e.w.config_path).unwrap();
    std::fs::write(
        &e.w.config_path,
        config.replace(r#"store_passphrase_env = "C2C_TEST_MATRIX_STORE_PASSPHRASE""#, ""),
    )
    .unwrap();
    let (code, stderr) = run(None);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("is encrypted and no passphrase is configured"), "{stderr}");

    // With its passphrase it starts again and still reads the room.
    std::fs::write(&e.w.config_path, config).unwrap();
    e.w.daemon.restart().await;
    e.li.send(&room, "After the restart, still encrypted.", None);
    let got = e.w.sink.next_delivered().await;
    assert!(got.post.text.contains("still encrypted"), "{}", got.post.text);
}
