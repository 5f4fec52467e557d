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
    let hosts = net.hosts.clone();
    let federation = net.section(me, key, previous);
    let w = World::start_custom(crate::bin(), Tuning::default(), Vec::new(), move |ctx| {
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
