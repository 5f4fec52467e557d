//! Federation on the real binary, end to end: instances of different city networks carry one
//! partnership, each hosting its own city, each with its own config, store and key, talking
//! over loopback through [`Link`]s the test can cut.
//!
//! - Two instances, both cities on webhooks (no servers needed): a conversation crosses both
//!   ways under the same ids, and the sending instance rotates its key with an overlap.
//! - Three instances, one city each on webhook, email (real Postfix/Dovecot) and Matrix (real
//!   Synapse): every officer sees one thread, the ids are the same on every instance, and after
//!   one instance is killed (`kill -9`) and another partitioned while traffic goes on, every
//!   message arrives exactly once, in order.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use c2c_test_support::link::Link;
use c2c_test_support::world::{Ctx, Tuning, World, message};
use c2c_webhook::signature::asymmetric::SecretKey;
use c2c_webhook::signature::key_file;
use serde_json::Value;

/// One instance of the test network: its id and the city it hosts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Host {
    pub(crate) instance: &'static str,
    pub(crate) city: &'static str,
}

pub(crate) const BRLC: Host = Host { instance: "brlc", city: "gifu" };
pub(crate) const UK_LGA: Host = Host { instance: "uk-lga", city: "leeds" };
pub(crate) const CITYNET: Host = Host { instance: "citynet", city: "hangzhou" };

/// The instances' keys and the links between them, made before any daemon starts (each
/// config names its peers' links and pinned keys).
pub(crate) struct Network {
    pub(crate) hosts: Vec<Host>,
    /// Each instance's key file, and the public keys its peers pin for it.
    keys: HashMap<&'static str, (PathBuf, Vec<String>)>,
    /// (from, to) → the link `from` sends to `to` through.
    pub(crate) links: HashMap<(&'static str, &'static str), Link>,
    dir: tempfile::TempDir,
}

impl Network {
    pub(crate) async fn new(hosts: &[Host]) -> Network {
        let dir = tempfile::tempdir().unwrap();
        let mut keys = HashMap::new();
        let mut links = HashMap::new();
        for h in hosts {
            let key = SecretKey::generate().unwrap();
            let path = dir.path().join(format!("{}.key", h.instance));
            key_file::write(&path, &key, false).unwrap();
            keys.insert(h.instance, (path, vec![key.public_key().to_string()]));
            for to in hosts.iter().filter(|t| t.instance != h.instance) {
                links.insert((h.instance, to.instance), Link::start().await);
            }
        }
        Network { hosts: hosts.to_vec(), keys, links, dir }
    }

    /// Make a new key for `instance`: it signs with the new one and the old one (the old one's
    /// file becomes `previous_key_file`); peers pin what [`Network::pin`] says.
    pub(crate) fn rotate(&mut self, instance: &str) -> (PathBuf, PathBuf) {
        let (old, _) = self.keys[instance].clone();
        let new = self.dir.path().join(format!("{instance}-2.key"));
        key_file::write(&new, &SecretKey::generate().unwrap(), false).unwrap();
        (new, old)
    }

    /// The public key in the key file at `path`.
    pub(crate) fn public_key(path: &Path) -> String {
        key_file::read(path).unwrap().public_key().to_string()
    }

    /// Peers pin these keys for `instance` from now on (configs written after this).
    pub(crate) fn pin(&mut self, instance: &'static str, keys: Vec<String>) {
        self.keys.get_mut(instance).unwrap().1 = keys;
    }

    /// `[federation]`, `[[peers]]` and the other hosts' cities, for `me`'s config.
    pub(crate) fn section(&self, me: Host, key_file: &Path, previous: Option<&Path>) -> String {
        let mut out = format!("\n[federation]\nkey_file = \"{}\"\n", key_file.display());
        if let Some(p) = previous {
            out.push_str(&format!("previous_key_file = \"{}\"\n", p.display()));
        }
        for peer in self.hosts.iter().filter(|h| h.instance != me.instance) {
            let quoted: Vec<String> = self.keys[peer.instance].1.iter().map(|k| format!("\"{k}\"")).collect();
            out.push_str(&format!(
                "\n[[peers]]\nid = \"{}\"\nurl = \"{}\"\npublic_keys = [{}]\n",
                peer.instance,
                self.links[&(me.instance, peer.instance)].url(),
                quoted.join(", ")
            ));
        }
        for peer in self.hosts.iter().filter(|h| h.instance != me.instance) {
            let (name, country) = match peer.city {
                "leeds" => ("Leeds", "GB"),
                "hangzhou" => ("Hangzhou", "CN"),
                _ => ("Gifu", "JP"),
            };
            out.push_str(&format!(
                "\n[[cities]]\nid = \"{}\"\nname = \"{name}\"\ncountry = \"{country}\"\npeer = \"{}\"\n",
                peer.city, peer.instance
            ));
        }
        out
    }

    /// `me`'s key file.
    pub(crate) fn key_file(&self, me: Host) -> PathBuf {
        self.keys[me.instance].0.clone()
    }

    /// Point every link to `me` at its daemon.
    pub(crate) fn arrived(&self, me: Host, world: &World) {
        for ((_, to), link) in &self.links {
            if *to == me.instance {
                link.point_at(&world.listen);
            }
        }
    }

    /// Cut (or heal) every link to and from `instance`.
    pub(crate) async fn partition(&self, instance: &str, cut: bool) {
        for ((from, to), link) in &self.links {
            if *from == instance || *to == instance {
                if cut { link.cut().await } else { link.heal().await }
            }
        }
    }
}

/// `ctx.bridge_section()` as instance `instance`.
pub(crate) fn bridge_as(ctx: &Ctx<'_>, instance: &str) -> String {
    ctx.bridge_section().replacen("[bridge]\n", &format!("[bridge]\ninstance = \"{instance}\"\n"), 1)
}

/// The partnership `heritage` of every host's city, declared on `me` with `me`'s city on
/// `channel`.
pub(crate) fn heritage(hosts: &[Host], me: Host, channel: &str) -> String {
    let members: Vec<String> = hosts.iter().map(|h| format!("\"{}\"", h.city)).collect();
    let kind = if hosts.len() == 2 { "city-city" } else { "multi-city" };
    format!(
        "\n[[partnerships]]\nid = \"heritage\"\nkind = \"{kind}\"\nmembers = [{}]\nobjective = \"Cultural heritage and tourism\"\n\
         language = \"en\"\nreply_within = \"7d\"\non_other_channel = \"relay\"\nchannels = {{ {} = \"{channel}\" }}\n",
        members.join(", "),
        me.city
    )
}

/// A webhook instance of `net` hosting `me`'s city, signing with `key` (and `previous`).
async fn webhook_instance(net: &Network, me: Host, key: &Path, previous: Option<&Path>) -> World {
    webhook_instance_tuned(net, me, key, previous, Tuning::default()).await
}

/// [`webhook_instance`] with `tuning`.
async fn webhook_instance_tuned(net: &Network, me: Host, key: &Path, previous: Option<&Path>, tuning: Tuning) -> World {
    let hosts = net.hosts.clone();
    let federation = net.section(me, key, previous);
    let w = World::start_custom(crate::bin(), tuning, Vec::new(), move |ctx| {
        format!(
            "{}{}{}{}",
            bridge_as(ctx, me.instance),
            ctx.city(me.city, &ctx.webhook(me.city), ""),
            federation,
            heritage(&hosts, me, "webhook")
        )
    })
    .await;
    net.arrived(me, &w);
    w
}

/// The conversations listing of `w`, as (id, posts).
async fn conversations(w: &World) -> Vec<(String, u64)> {
    w.conversations()
        .await
        .iter()
        .map(|c| (c["conversation"].as_str().unwrap().to_string(), c["posts"].as_u64().unwrap()))
        .collect()
}

#[tokio::test]
async fn two_instances_carry_one_conversation_both_ways_and_a_key_rotation_overlaps() {
    let mut net = Network::new(&[BRLC, UK_LGA]).await;
    let mut brlc = webhook_instance(&net, BRLC, &net.key_file(BRLC), None).await;
    let mut uk = webhook_instance(&net, UK_LGA, &net.key_file(UK_LGA), None).await;

    // Gifu's system posts on brlc; Leeds's system, on uk-lga, gets it under the same ids.
    let a = brlc
        .post(
            "gifu",
            "g-1",
            &message("gifu-sato", "heritage", Some("GH"), Some("Brochure"), "The brochure draft is ready."),
        )
        .await;
    assert_eq!(a.status, 202, "{:?}", a.body);
    let (message_id, conversation) = (a.body["message"].as_str().unwrap(), a.body["conversation"].as_str().unwrap());
    let got = uk.sink.next_delivered().await;
    assert!(got.verified);
    assert_eq!(
        (got.city.as_str(), got.post.id.as_str(), got.post.conversation.as_str()),
        ("leeds", message_id, conversation)
    );
    assert_eq!(got.post.from.contact.as_deref(), Some("gifu-sato"));
    assert_eq!(got.post.from.city.as_deref(), Some("gifu"));
    assert_eq!(got.post.text, "The brochure draft is ready.");

    // Leeds answers in the conversation; Gifu gets it in its own thread.
    let mut reply = message("leeds-jo", "heritage", Some("LEEDS-1"), None, "Two corrections, otherwise fine.");
    reply["conversation"] = Value::from(conversation);
    let b = uk.post("leeds", "l-1", &reply).await;
    assert_eq!(b.status, 202, "{:?}", b.body);
    assert_eq!(b.body["conversation"], conversation);
    let got = brlc.sink.next_delivered().await;
    assert_eq!((got.city.as_str(), got.post.conversation.as_str()), ("gifu", conversation));
    assert_eq!(got.post.thread_key.as_deref(), Some("GH"), "in Gifu's own thread");
    assert_eq!(got.post.id, b.body["message"].as_str().unwrap());
    let both = vec![(conversation.to_string(), 2)];
    assert_eq!(conversations(&brlc).await, both);
    assert_eq!(conversations(&uk).await, both);

    // brlc rotates its key: it signs with both while uk-lga still pins only the old one...
    let (new, old) = net.rotate("brlc");
    brlc.daemon.terminate().await;
    let config = std::fs::read_to_string(&brlc.config_path).unwrap();
    let rotated = config.replace(
        &format!("key_file = \"{}\"\n", old.display()),
        &format!("key_file = \"{}\"\nprevious_key_file = \"{}\"\n", new.display(), old.display()),
    );
    assert_ne!(rotated, config);
    std::fs::write(&brlc.config_path, rotated).unwrap();
    brlc.daemon.restart().await;
    let (status, keys) = brlc.daemon.get("/peer/v1/keys", None).await;
    assert_eq!(status, 200);
    let keys: Value = serde_json::from_str(&keys).unwrap();
    assert_eq!(keys["current"], Network::public_key(&new));
    assert_eq!(keys["previous"], Network::public_key(&old));
    let mut next = message("gifu-sato", "heritage", Some("GH"), None, "Corrections made.");
    next["conversation"] = Value::from(conversation);
    assert_eq!(brlc.post("gifu", "g-2", &next).await.status, 202);
    assert_eq!(uk.sink.next_delivered().await.post.text, "Corrections made.");
    // ...and once uk-lga pins only the new one.
    net.pin("brlc", vec![Network::public_key(&new)]);
    uk.daemon.terminate().await;
    let config = std::fs::read_to_string(&uk.config_path).unwrap();
    let repinned = config.replace(&Network::public_key(&old), &Network::public_key(&new));
    assert_ne!(repinned, config);
    std::fs::write(&uk.config_path, repinned).unwrap();
    uk.daemon.restart().await;
    next["text"] = Value::from("Printing on Monday.");
    assert_eq!(brlc.post("gifu", "g-3", &next).await.status, 202);
    assert_eq!(uk.sink.next_delivered().await.post.text, "Printing on Monday.");
    assert_eq!(uk.sink.redelivered(), 0);
    brlc.daemon.terminate().await;
    uk.daemon.terminate().await;
}

#[tokio::test]
async fn a_peer_that_was_down_is_tried_again_as_soon_as_it_is_heard_from() {
    let net = Network::new(&[BRLC, UK_LGA]).await;
    // Retries an hour apart: only being heard from can bring the delivery forward.
    let slow = Tuning { initial_backoff: "1h", max_backoff: "1h", give_up_after: "5h", ..Tuning::default() };
    let brlc = webhook_instance_tuned(&net, BRLC, &net.key_file(BRLC), None, slow).await;
    let mut uk = webhook_instance(&net, UK_LGA, &net.key_file(UK_LGA), None).await;

    net.links[&("brlc", "uk-lga")].cut().await;
    let m = message("gifu-sato", "heritage", Some("GH"), Some("Brochure"), "G1: the brochure draft is ready.");
    assert_eq!(brlc.post("gifu", "g-1", &m).await.status, 202);
    brlc.daemon.wait_metric("c2c_outbox_endpoint_down{endpoint=\"peer:uk-lga\"}", |v| v == 1.0).await;
    net.links[&("brlc", "uk-lga")].heal().await;

    // Leeds writes in another conversation: uk-lga's envelope reaches brlc, which now knows
    // uk-lga is up and sends what waited for it.
    let l = message("leeds-jo", "heritage", Some("L"), Some("Logo"), "L1: our logo, for the back page.");
    assert_eq!(uk.post("leeds", "l-1", &l).await.status, 202);
    let got = uk.sink.next_delivered().await;
    assert!(got.post.text.contains("G1: the brochure draft"), "{}", got.post.text);
    brlc.daemon.wait_metric("c2c_outbox_endpoint_down{endpoint=\"peer:uk-lga\"}", |v| v == 0.0).await;
    assert!(uk.daemon.terminate().await.success());
}

// Multi-threaded: the links forward while the test waits on the CLI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_shows_a_peer_s_cities_as_their_home_instance_describes_them() {
    let net = Network::new(&[BRLC, UK_LGA]).await;
    let mut brlc = webhook_instance(&net, BRLC, &net.key_file(BRLC), None).await;
    let mut uk = webhook_instance(&net, UK_LGA, &net.key_file(UK_LGA), None).await;

    let out = brlc.daemon.command(&["directory", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let dir: Value = serde_json::from_str(&text).unwrap();
    let leeds = dir["cities"].as_array().unwrap().iter().find(|c| c["id"] == "leeds").unwrap();
    assert_eq!(leeds["instance"], "uk-lga");
    assert_eq!(leeds["timezone"], "Europe/London", "as uk-lga keeps it (brlc's config has no zone for Leeds)");
    assert_eq!(leeds["contacts"][0]["name"], "Jo Smith");
    assert_eq!(leeds["partnerships"][0]["channel"], "webhook", "its agreed channel, which only uk-lga knows");
    let gifu = dir["cities"].as_array().unwrap().iter().find(|c| c["id"] == "gifu").unwrap();
    assert_eq!(gifu["instance"], Value::Null);
    assert!(!text.contains("127.0.0.1") && !text.contains("whsec_"), "no endpoint, no secret: {text}");
    let out = brlc.daemon.command(&["directory", "--topic", "nothing-listed"]);
    assert!(out.status.success());
    // The admin API's directory says the same.
    let (status, api) = brlc.daemon.get("/api/directory?city=leeds", Some(&brlc.admin_token)).await;
    assert_eq!(status, 200, "{api}");
    let api: Value = serde_json::from_str(&api).unwrap();
    assert_eq!(api["cities"][0]["instance"], "uk-lga");
    assert_eq!(api["cities"][0]["contacts"][0]["name"], "Jo Smith");

    // The text form says who hosts it; a peer that cannot be asked is named, the rest shown.
    let out = brlc.daemon.command(&["directory"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("— hosted by uk-lga"), "{out:?}");
    uk.daemon.terminate().await;
    let out = brlc.daemon.command(&["directory"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("uk-lga: its directory could not be read"), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("hosted by uk-lga, which did not say more"), "{out:?}");

    // Unsigned, or signed by a key nobody pinned: 401, the same answer.
    for headers in [
        vec![],
        vec![
            ("c2c-peer", "uk-lga"),
            ("webhook-id", "x"),
            ("webhook-timestamp", "1"),
            ("webhook-signature", "v1a,AAAA"),
        ],
    ] {
        let mut req = reqwest::Client::new().get(format!("{}/peer/v1/directory", brlc.daemon.base_url));
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let answer = req.send().await.unwrap();
        assert_eq!(answer.status().as_u16(), 401);
        let body: Value = answer.json().await.unwrap();
        assert!(body.get("cities").is_none(), "{body}");
    }
    assert!(brlc.daemon.terminate().await.success());
}

#[tokio::test]
async fn a_message_that_failed_for_good_is_sent_again_when_the_peer_asks_for_it() {
    let net = Network::new(&[BRLC, UK_LGA]).await;
    // Deliveries give up after a second: uk-lga misses G1 for good while it is cut off.
    let brief = Tuning { give_up_after: "1s", ..Tuning::default() };
    let mut brlc = webhook_instance_tuned(&net, BRLC, &net.key_file(BRLC), None, brief).await;
    let mut uk = webhook_instance(&net, UK_LGA, &net.key_file(UK_LGA), None).await;

    net.links[&("brlc", "uk-lga")].cut().await;
    let g1 = message("gifu-sato", "heritage", Some("GH"), Some("Brochure"), "G1: the brochure draft is ready.");
    let a = brlc.post("gifu", "g-1", &g1).await;
    assert_eq!(a.status, 202);
    let conversation = a.body["conversation"].as_str().unwrap().to_string();
    brlc.daemon.wait_metric("c2c_deliveries_total{channel=\"peer\",status=\"permanent_failure\"}", |v| v == 1.0).await;
    net.links[&("brlc", "uk-lga")].heal().await;

    // G2 names G1 as its prev: uk-lga answers `gap`, brlc sends G1 again, then G2.
    let mut g2 = message("gifu-sato", "heritage", Some("GH"), None, "G2: printing on Monday.");
    g2["conversation"] = Value::from(conversation.as_str());
    assert_eq!(brlc.post("gifu", "g-2", &g2).await.status, 202);
    let first = uk.sink.next_delivered().await;
    let second = uk.sink.next_delivered().await;
    assert!(first.post.text.contains("G1: the brochure"), "{}", first.post.text);
    assert!(second.post.text.contains("G2: printing"), "{}", second.post.text);
    assert_eq!(conversations(&uk).await, [(conversation, 2)]);
    assert!(brlc.daemon.log_text().contains("a peer asked again for a message whose delivery had failed for good"));
    assert!(uk.daemon.terminate().await.success());
    assert!(brlc.daemon.terminate().await.success());
}

/// Li's and others' Matrix event body.
fn body(ev: &Value) -> &str {
    ev["content"]["body"].as_str().unwrap_or("")
}

/// How many of `texts` contain `needle`.
fn count(texts: &[String], needle: &str) -> usize {
    texts.iter().filter(|t| t.contains(needle)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Synapse and the mail servers (tests/run.sh)"]
async fn three_instances_on_three_channels_hold_one_thread_through_a_crash_and_a_partition() {
    use c2c_test_support::mail::{self, MailServer, header, id_list};
    use c2c_test_support::matrix::{self, Synapse};
    let _m = matrix::share().await;
    let _e = mail::share().await;
    let net = Network::new(&[BRLC, UK_LGA, CITYNET]).await;
    let hosts = net.hosts.clone();

    // brlc hosts Gifu, on its webhook.
    let brlc = webhook_instance(&net, BRLC, &net.key_file(BRLC), None).await;

    // uk-lga hosts Leeds, whose officer Jo uses email (the real Postfix and Dovecot).
    let server = MailServer::from_env();
    let bridge_mail = server.new_user("bridge", "c2c.test");
    let jo = server.new_user("jo", "leeds.test");
    let email = server.connector_section(&bridge_mail);
    let (federation, h, jo_address) =
        (net.section(UK_LGA, &net.key_file(UK_LGA), None), hosts.clone(), jo.address.clone());
    let env = vec![("C2C_TEST_MAIL_PASSWORD".to_string(), bridge_mail.password.clone())];
    let uk = World::start_custom(crate::bin(), Tuning::default(), env, move |ctx| {
        format!(
            "{}{email}{}{federation}{}",
            bridge_as(ctx, UK_LGA.instance),
            ctx.city("leeds", "", &format!("email = \"{jo_address}\"")),
            heritage(&h, UK_LGA, "email")
        )
    })
    .await;
    net.arrived(UK_LGA, &uk);

    // citynet hosts Hangzhou, whose officer Li uses Matrix (the real Synapse, matrix-nio).
    let synapse = Synapse::from_env();
    let (bot, bot_pw) = synapse.new_account("c2c-bot");
    let li = synapse.new_officer("liwei", tempfile::tempdir().unwrap().keep().join("li"));
    li.whoami();
    let (federation, h, li_user, hs) =
        (net.section(CITYNET, &net.key_file(CITYNET), None), hosts.clone(), li.user.clone(), synapse.url().to_string());
    let env = vec![("C2C_TEST_MATRIX_PASSWORD".to_string(), bot_pw)];
    let mut cn = World::start_custom(crate::bin(), Tuning::default(), env, move |ctx| {
        format!(
            "{}\n[connectors.matrix]\nhomeserver = \"{hs}\"\nuser = \"{bot}\"\npassword_env = \"C2C_TEST_MATRIX_PASSWORD\"\n\
             store_dir = \"matrix\"\nencrypt_new_rooms = false\n{}{federation}{}",
            bridge_as(ctx, CITYNET.instance),
            ctx.city("hangzhou", "", &format!("matrix = \"{li_user}\"")),
            heritage(&h, CITYNET, "matrix")
        )
    })
    .await;
    net.arrived(CITYNET, &cn);
    let room = li.accept_invite(60)["room_id"].as_str().unwrap().to_string();
    let mut brlc = brlc;

    // Gifu opens the conversation: Li sees it in Hangzhou's room, Jo gets a mail.
    let gifu = |id: &str, text: &str| {
        let mut m = message("gifu-sato", "heritage", Some("GH"), Some("Brochure"), text);
        if id != "g-1" {
            m["subject"] = Value::Null;
        }
        (id.to_string(), m)
    };
    let (id, m) = gifu("g-1", "G1: the brochure draft is ready.");
    let a = brlc.post("gifu", &id, &m).await;
    assert_eq!(a.status, 202, "{:?}", a.body);
    let conversation = a.body["conversation"].as_str().unwrap().to_string();
    let root = li.messages(&room, 1, None)[0].clone();
    assert!(body(&root).contains("G1: the brochure draft"), "{root}");
    let root_event = root["event_id"].as_str().unwrap().to_string();
    let first_mail = jo.fetch("INBOX", 0, 1, 30)[0].clone();
    assert!(first_mail["text"].as_str().unwrap().contains("G1: the brochure draft"));
    for w in [&brlc, &uk, &cn] {
        assert_eq!(conversations(w).await, [(conversation.clone(), 1)], "the same conversation id everywhere");
    }

    // Li answers in the thread: Gifu's system gets it in its thread, Jo in the mail's thread.
    cn.daemon.settled().await;
    li.send(&room, "L1: looks good, two small corrections.", Some(&root_event));
    let got = brlc.sink.next_delivered().await;
    assert_eq!((got.post.conversation.as_str(), got.post.thread_key.as_deref()), (conversation.as_str(), Some("GH")));
    assert_eq!(got.post.from.city.as_deref(), Some("hangzhou"));
    let l1_mail = jo.wait_for("INBOX", 0, |m| m["text"].as_str().unwrap_or("").contains("L1: looks good"));
    assert_eq!(
        header(&l1_mail, "In-Reply-To").map(id_list),
        Some(vec![header(&first_mail, "Message-ID").unwrap().trim_matches(['<', '>']).to_string()]),
        "in Jo's thread"
    );

    // Jo answers by mail: Gifu's system gets it, Li sees it in the thread.
    uk.daemon.settled().await;
    jo.reply(&first_mail, "J1: Leeds agrees with both corrections.", &[]);
    let got = brlc.sink.next_delivered().await;
    assert!(got.post.text.contains("J1: Leeds agrees"), "{}", got.post.text);
    assert_eq!(got.post.conversation, conversation);
    li.wait_in_thread(&room, &root_event, |e| body(e).contains("J1: Leeds agrees"));

    // citynet dies (kill -9) while Gifu goes on; what it missed arrives when it is back.
    cn.daemon.kill9();
    for (id, text) in [("g-2", "G2: printing quote attached."), ("g-3", "G3: printer needs an answer by Friday.")] {
        let (id, m) = gifu(id, text);
        assert_eq!(brlc.post("gifu", &id, &m).await.status, 202);
    }
    brlc.daemon.wait_metric("c2c_outbox_endpoint_down{endpoint=\"peer:citynet\"}", |v| v == 1.0).await;
    jo.wait_for("INBOX", 0, |m| m["text"].as_str().unwrap_or("").contains("G3: printer"));
    cn.daemon.restart().await;
    li.wait_in_thread(&room, &root_event, |e| body(e).contains("G3: printer"));

    // uk-lga is cut off (its peers see connection refused, and it sees the same) while the
    // others talk and Jo writes; after the partition heals, everything arrives.
    net.partition("uk-lga", true).await;
    let (id, m) = gifu("g-4", "G4: proofs go out on Monday.");
    assert_eq!(brlc.post("gifu", &id, &m).await.status, 202);
    li.wait_in_thread(&room, &root_event, |e| body(e).contains("G4: proofs"));
    cn.daemon.settled().await;
    li.send(&room, "L2: Hangzhou will check the Chinese text.", Some(&root_event));
    assert!(brlc.sink.next_delivered().await.post.text.contains("L2: Hangzhou"));
    jo.reply(&first_mail, "J2: Leeds sends its logo tonight.", &[]);
    // uk-lga has committed J2 (G1, L1, J1, G2, G3 and J2: nothing from the others since the cut).
    uk.conversations_when(|c| c.first().is_some_and(|c| c["posts"] == 6)).await;
    uk.daemon.wait_metric("c2c_outbox_endpoint_down{endpoint=\"peer:brlc\"}", |v| v == 1.0).await;
    net.partition("uk-lga", false).await;
    assert!(brlc.sink.next_delivered().await.post.text.contains("J2: Leeds sends"));
    li.wait_in_thread(&room, &root_event, |e| body(e).contains("J2: Leeds sends"));
    jo.wait_for("INBOX", 0, |m| m["text"].as_str().unwrap_or("").contains("L2: Hangzhou"));

    // Exactly once, in order, everywhere: eight posts on each instance under one id.
    for w in [&brlc, &uk, &cn] {
        w.daemon.settled().await;
        assert_eq!(conversations(w).await, [(conversation.clone(), 8)]);
    }
    // Six posts from others in the room (Li wrote the other two), all in the thread of the first.
    let events = li.messages(&room, 6, None);
    for e in events.iter().filter(|e| e["event_id"] != root_event.as_str()) {
        assert_eq!(e["relates_to"]["event_id"], root_event.as_str(), "in the thread: {}", body(e));
    }
    let thread: Vec<String> = events.iter().map(|e| body(e).to_string()).collect();
    for post in ["G1", "J1", "G2", "G3", "G4", "J2"] {
        assert_eq!(count(&thread, &format!("{post}: ")), 1, "{post} once in Li's thread: {thread:?}");
    }
    let at = |p: &str| thread.iter().position(|t| t.contains(&format!("{p}: "))).unwrap();
    assert!(at("G2") < at("G3") && at("G3") < at("G4"), "Gifu's posts in order: {thread:?}");
    let mails: Vec<String> =
        jo.fetch("INBOX", 0, 6, 30).iter().map(|m| m["text"].as_str().unwrap_or("").to_string()).collect();
    for post in ["G1", "L1", "G2", "G3", "G4", "L2"] {
        assert_eq!(count(&mails, &format!("{post}: ")), 1, "{post} once in Jo's mailbox: {mails:?}");
    }
    let at = |p: &str| mails.iter().position(|t| t.contains(&format!("{p}: "))).unwrap();
    assert!(at("G2") < at("G3") && at("G3") < at("G4"), "Gifu's posts in order: {mails:?}");
    assert!(brlc.sink.drain().is_empty(), "nothing more for Gifu");
    assert_eq!(brlc.sink.redelivered(), 0);
    for w in [&mut brlc, &mut cn] {
        assert!(w.daemon.terminate().await.success());
    }
    let mut uk = uk;
    assert!(uk.daemon.terminate().await.success());
}
