//! The admin API on the real binary, as an LGA runs it: one instance, three member cities, an
//! admin for each city and one for the whole instance. Each sees only its own; another's id is
//! answered as an unknown one; a failed delivery retried by an admin is delivered once (across a
//! restart too); a reload under traffic, good or bad, loses nothing.

use std::collections::{BTreeSet, HashSet};

use c2c_test_support::world::{Ctx, Tuning, World, message};
use serde_json::{Value, json};

/// The admins of this instance: one per city, `ops` for the whole of it (the world's `[bridge]`
/// admin, `admin`, is all-scope too).
const ADMINS: [(&str, &str); 4] = [
    ("leeds-admin", "C2C_ADMIN_LEEDS"),
    ("hangzhou-admin", "C2C_ADMIN_HANGZHOU"),
    ("gifu-admin", "C2C_ADMIN_GIFU"),
    ("ops", "C2C_ADMIN_OPS"),
];

/// Every pair of the three cities is a partnership.
const PARTNERSHIPS: [(&str, [&str; 2]); 3] = [
    ("hangzhou-leeds", ["hangzhou", "leeds"]),
    ("gifu-leeds", ["gifu", "leeds"]),
    ("gifu-hangzhou", ["gifu", "hangzhou"]),
];

fn lga_config(ctx: &Ctx<'_>) -> String {
    let cities: String = c2c_test_support::world::CITIES.iter().map(|c| ctx.city(c, &ctx.webhook(c), "")).collect();
    let mut text = ctx.bridge_section() + &cities;
    for (id, [a, b]) in PARTNERSHIPS {
        text += &format!(
            "\n[[partnerships]]\nid = \"{id}\"\nkind = \"city-city\"\nmembers = [\"{a}\", \"{b}\"]\nobjective = \"o\"\n\
             language = \"en\"\nreply_within = \"5d\"\nchannels = {{ {a} = \"webhook\", {b} = \"webhook\" }}\n\
             \n  [[partnerships.deliverables]]\n  id = \"plan\"\n  title = \"Joint plan\"\n  owner = \"{a}\"\n  due = \"2100-01-01\"\n"
        );
    }
    for (id, var) in ADMINS {
        let scope = match id.strip_suffix("-admin") {
            Some(city) => format!("cities = [\"{city}\"]"),
            None => "scope = \"all\"".into(),
        };
        text += &format!("\n[[admins]]\nid = \"{id}\"\ntoken_env = \"{var}\"\n{scope}\n");
    }
    text
}

/// An LGA instance and every admin's token.
struct Lga {
    w: World,
    tokens: Vec<(&'static str, String)>,
}

impl Lga {
    async fn start() -> Lga {
        let tokens: Vec<(&str, String)> = ADMINS
            .iter()
            .map(|(id, _)| {
                (*id, format!("{id}-admin-token-{}-{}", c2c_test_support::unique(), c2c_test_support::unique()))
            })
            .collect();
        let env = ADMINS.iter().zip(&tokens).map(|((_, var), (_, token))| (var.to_string(), token.clone())).collect();
        let w = World::start_custom(crate::bin(), Tuning::default(), env, lga_config).await;
        Lga { w, tokens }
    }

    fn token(&self, admin: &str) -> &str {
        match admin {
            "admin" => &self.w.admin_token,
            _ => &self.tokens.iter().find(|(id, _)| *id == admin).unwrap().1,
        }
    }

    async fn get(&self, admin: &str, path: &str) -> (u16, Value) {
        let (status, text) = self.w.daemon.get(path, Some(self.token(admin))).await;
        (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: not JSON: {text}")))
    }

    async fn post(&self, admin: &str, path: &str) -> (u16, Value) {
        let r = reqwest::Client::new()
            .post(format!("{}{path}", self.w.daemon.base_url))
            .bearer_auth(self.token(admin))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// The deliveries failed for good that `admin` sees, which must be `n`. Read once: each
    /// caller has already seen what settles them (the `delivery_failed` notice, committed
    /// together with the failure; a retry, answered once its commit is on disk).
    async fn failed(&self, admin: &str, n: usize) -> Vec<Value> {
        let (status, list) = self.get(admin, "/api/outbox?status=failed").await;
        assert_eq!(status, 200, "{list}");
        let list = list.as_array().unwrap().clone();
        assert_eq!(list.len(), n, "failed deliveries {list:?}");
        list
    }

    /// A CLI command against the running daemon as `admin`.
    fn cli(&self, admin: &str, args: &[&str]) -> (bool, String, String) {
        let mut args = args.to_vec();
        args.extend(["--admin", admin]);
        let out = self.w.daemon.command(&args);
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
    }
}

fn partnerships_of(list: &Value) -> BTreeSet<String> {
    list.as_array().unwrap().iter().map(|v| v["partnership"].as_str().unwrap().to_string()).collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn each_city_admin_sees_only_its_own_and_another_s_id_is_not_found() {
    let mut lga = Lga::start().await;
    // One conversation in each partnership; Gifu's system refuses the one meant for it for good.
    lga.w.sink.script("gifu", &[410]);
    let posts = [
        ("leeds", "leeds-jo", "hangzhou-leeds"),
        ("gifu", "gifu-sato", "gifu-leeds"),
        ("hangzhou", "hz-li", "gifu-hangzhou"),
    ];
    let mut conversation = std::collections::HashMap::new();
    for (i, (city, contact, p)) in posts.iter().enumerate() {
        let a = lga.w.post(city, &format!("s-{i}"), &message(contact, p, None, Some("Hello"), "Shall we meet?")).await;
        assert_eq!(a.status, 202, "{}", a.body);
        conversation.insert(*p, a.body["conversation"].as_str().unwrap().to_string());
    }
    // Two relayed, one refused (and the notice of it to Hangzhou).
    for _ in 0..3 {
        lga.w.sink.next_delivered().await;
    }
    let failed = lga.failed("admin", 1).await;
    let failed_id = failed[0]["id"].as_str().unwrap().to_string();
    assert_eq!((failed[0]["partnership"].as_str(), failed[0]["city"].as_str()), (Some("gifu-hangzhou"), Some("gifu")));

    let sees = [
        ("admin", set(&["hangzhou-leeds", "gifu-leeds", "gifu-hangzhou"])),
        ("ops", set(&["hangzhou-leeds", "gifu-leeds", "gifu-hangzhou"])),
        ("leeds-admin", set(&["hangzhou-leeds", "gifu-leeds"])),
        ("hangzhou-admin", set(&["hangzhou-leeds", "gifu-hangzhou"])),
        ("gifu-admin", set(&["gifu-leeds", "gifu-hangzhou"])),
    ];
    for (admin, own) in &sees {
        let (status, convs) = lga.get(admin, "/api/conversations").await;
        assert_eq!(status, 200, "{admin}: {convs}");
        assert_eq!(&partnerships_of(&convs), own, "{admin}'s conversations");
        let (_, deliverables) = lga.get(admin, "/api/deliverables").await;
        assert_eq!(&partnerships_of(&deliverables), own, "{admin}'s deliverables");
        let (_, failed) = lga.get(admin, "/api/outbox?status=failed").await;
        let expected: BTreeSet<String> = own.iter().filter(|p| *p == "gifu-hangzhou").cloned().collect();
        assert_eq!(partnerships_of(&failed), expected, "{admin}'s failed deliveries");
        let (status, view) = lga.get(admin, "/api/status").await;
        assert_eq!((status, view["admin"].as_str()), (200, Some(*admin)), "{view}");
    }

    // Leeds's admin asks for Gifu and Hangzhou's things by id: unknown, as any unknown id is.
    let other = &conversation["gifu-hangzhou"];
    let (status, answer) = lga.post("leeds-admin", &format!("/api/conversations/{other}/close")).await;
    assert_eq!((status, answer["code"].as_str()), (404, Some("not_found")), "{answer}");
    let unknown = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    let (_, unknown_answer) = lga.post("leeds-admin", &format!("/api/conversations/{unknown}/close")).await;
    assert_eq!(
        answer["error"].as_str().unwrap().replace(other.as_str(), "X"),
        unknown_answer["error"].as_str().unwrap().replace(unknown, "X")
    );
    let (status, answer) = lga.post("leeds-admin", &format!("/api/outbox/{failed_id}/retry")).await;
    assert_eq!((status, answer["code"].as_str()), (404, Some("not_found")), "{answer}");
    let (_, list) = lga.get("leeds-admin", "/api/conversations?partnership=gifu-hangzhou").await;
    assert_eq!(list, json!([]));
    let (status, answer) = lga.post("leeds-admin", "/api/deliverables/plan/done").await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (409, Some("ambiguous")),
        "two of Leeds's partnerships have `plan`: {answer}"
    );
    assert_eq!(answer["partnerships"], json!(["hangzhou-leeds", "gifu-leeds"]), "not Gifu and Hangzhou's");

    // The same through the CLI.
    let (ok, _, stderr) = lga.cli("leeds-admin", &["close", other]);
    assert!(!ok && stderr.contains("404") && stderr.contains("no conversation"), "{stderr}");
    let (ok, stdout, stderr) = lga.cli("gifu-admin", &["outbox", "--status", "failed"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains(&failed_id) && stdout.contains("FAILED"), "{stdout}");
    let (ok, stdout, _) = lga.cli("leeds-admin", &["outbox", "--status", "failed"]);
    assert!(ok && stdout == "no deliveries\n", "{stdout}");
    let (ok, stdout, stderr) = lga.cli("gifu-admin", &["status"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("admin gifu-admin (gifu)") && stdout.contains("webhook  up"), "{stdout}");

    // The whole instance is for all-scope admins; no token or a wrong one is refused.
    assert_eq!(lga.post("gifu-admin", "/api/reload").await.0, 403);
    assert_eq!(lga.w.daemon.get("/metrics", Some(lga.token("gifu-admin"))).await.0, 403);
    assert_eq!(lga.w.daemon.get("/metrics", Some(lga.token("ops"))).await.0, 200);
    for path in ["/api/conversations", "/api/outbox", "/api/status", "/api/deliverables"] {
        assert_eq!(lga.w.daemon.get(path, None).await.0, 401, "{path}");
        assert_eq!(lga.w.daemon.get(path, Some("not-a-token-of-anyone-0123456789abcdef")).await.0, 401, "{path}");
    }

    // Gifu's admin closes its own; the log says who did it.
    let own = &conversation["gifu-leeds"];
    let (ok, stdout, stderr) = lga.cli("gifu-admin", &["close", own]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout, format!("conversation {own} (gifu-leeds) is closed\n"));
    lga.w.daemon.wait_log("admin closed a conversation").await;
    assert!(lga.w.daemon.log_text().contains("admin=gifu-admin"), "the log names the admin");
}

#[tokio::test]
async fn a_failed_delivery_retried_by_an_admin_is_delivered_once_even_across_restarts() {
    let mut lga = Lga::start().await;
    lga.w.sink.script("hangzhou", &[410]);
    let a = lga
        .w
        .post("leeds", "r-1", &message("leeds-jo", "hangzhou-leeds", None, Some("Budget"), "The 2027 budget."))
        .await;
    assert_eq!(a.status, 202);
    let refused = lga.w.sink.next().await;
    assert_eq!((refused.city.as_str(), refused.answered), ("hangzhou", 410));
    let notice = lga.w.sink.next_delivered().await;
    assert_eq!((notice.city.as_str(), notice.post.kind.as_str()), ("leeds", "delivery_failed"));
    let failed = lga.failed("hangzhou-admin", 1).await;
    let id = failed[0]["id"].as_str().unwrap().to_string();

    // A restart reads the pending deliveries from the store, past the failed one.
    assert!(lga.w.daemon.terminate().await.success());
    lga.w.daemon.restart().await;

    // Hangzhou's system is fixed; its admin retries. The delivery is held at the door and the
    // daemon killed meanwhile: the retry is on disk, so the restarted daemon delivers it.
    lga.w.sink.hold("hangzhou");
    let (ok, stdout, stderr) = lga.cli("hangzhou-admin", &["outbox", "retry", &id]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout, format!("delivery {id} (hangzhou-leeds) is scheduled again\n"));
    let attempt = lga.w.sink.next().await;
    assert_eq!((attempt.city.as_str(), attempt.webhook_id.as_str()), ("hangzhou", refused.webhook_id.as_str()));
    lga.w.daemon.kill9();
    lga.w.sink.release("hangzhou");
    lga.w.daemon.restart().await;

    let delivered = lga.w.sink.next_delivered().await;
    assert_eq!(delivered.city, "hangzhou");
    assert_eq!(delivered.webhook_id, refused.webhook_id, "the same delivery, under its stable webhook-id");
    assert_eq!(delivered.post.text, "The 2027 budget.");
    lga.failed("ops", 0).await;
    let convs = lga.w.conversations_when(|c| c[0]["deliveries"]["delivered"] == 2).await;
    assert_eq!(convs[0]["deliveries"], json!({"delivered": 2}), "the post to Hangzhou and the notice to Leeds");
    lga.w.daemon.settled().await;
    let late: Vec<_> = lga.w.sink.drain().into_iter().filter(|r| (200..300).contains(&r.answered)).collect();
    assert!(late.iter().all(|r| r.webhook_id == refused.webhook_id), "nothing else: {late:?}");
    assert!(lga.w.daemon.log_text().contains("admin=hangzhou-admin"), "the log names the admin");

    // Retrying it again: it has not failed, so nothing happens.
    let (status, answer) = lga.post("hangzhou-admin", &format!("/api/outbox/{id}/retry")).await;
    assert_eq!(
        (status, answer["code"].as_str(), answer["status"].as_str()),
        (409, Some("not_failed"), Some("delivered"))
    );
}

#[tokio::test]
async fn a_reload_under_traffic_good_or_bad_loses_nothing() {
    let mut lga = Lga::start().await;
    let original = std::fs::read_to_string(&lga.w.config_path).unwrap();
    let with_more = original.clone()
        + "\n[[partnerships]]\nid = \"heritage\"\nkind = \"multi-city\"\nmembers = [\"leeds\", \"hangzhou\", \"gifu\"]\n\
           objective = \"o\"\nlanguage = \"en\"\nreply_within = \"7d\"\nchannels = { leeds = \"webhook\", hangzhou = \"webhook\", gifu = \"webhook\" }\n";
    let broken = with_more
        .replace("country = \"JP\"", "country = \"Japan\"")
        .replace("reply_within = \"7d\"", "reply_within = \"soon\"");

    // Leeds posts all along, until the reloads are done (and at least a hundred times).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (base, secret, done) = (lga.w.daemon.base_url.clone(), lga.w.secrets["leeds"].clone(), stop.clone());
    let traffic = tokio::spawn(async move {
        let mut accepted = Vec::new();
        for i in 0.. {
            if i >= 100 && done.load(std::sync::atomic::Ordering::Relaxed) {
                break;
            }
            let body =
                message("leeds-jo", "hangzhou-leeds", Some(&format!("T-{i}")), Some("Load"), &format!("post {i}"));
            let a = c2c_test_support::post::post_json(&base, "leeds", &secret, &format!("load-{i}"), &body).await;
            assert_eq!(a.status, 202, "post {i}: {}", a.body);
            accepted.push(a.body["message"].as_str().unwrap().to_string());
        }
        accepted
    });

    // A good config: applied, a partnership more.
    std::fs::write(&lga.w.config_path, &with_more).unwrap();
    let (status, answer) = lga.post("ops", "/api/reload").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["summary"], "3 cities, 3 contacts, 4 partnerships; connectors: webhook");

    // A bad one: every problem at its place; the running config stays.
    std::fs::write(&lga.w.config_path, &broken).unwrap();
    let (status, answer) = lga.post("admin", "/api/reload").await;
    assert_eq!((status, answer["code"].as_str()), (422, Some("invalid_config")), "{answer}");
    let path = lga.w.config_path.display().to_string();
    let problems: Vec<&str> = answer["problems"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].starts_with(&format!("{path}:")) && problems[0].contains(": cities[2].country: \"Japan\""),
        "{problems:?}"
    );
    assert!(problems[1].contains(": partnerships[3].reply_within: \"soon\" is not a duration"), "{problems:?}");
    let line_col =
        |p: &str| p[path.len() + 1..].split(':').take(2).map(|n| n.parse::<usize>().unwrap()).collect::<Vec<_>>();
    assert!(line_col(problems[0]).iter().all(|n| *n > 0), "file:line:column: {}", problems[0]);
    // The CLI says the same, and exits 2.
    let out = lga.w.daemon.command(&["reload"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(problems[0]) && stderr.contains(problems[1]), "{stderr}");
    assert!(stderr.contains("running config stays"), "{stderr}");

    // The running config is the good one: the partnership it added works.
    let a =
        lga.w.post("gifu", "h-1", &message("gifu-sato", "heritage", None, Some("Heritage"), "Festival dates?")).await;
    assert_eq!(a.status, 202, "{}", a.body);

    // Back to a good file, through the CLI.
    std::fs::write(&lga.w.config_path, &with_more).unwrap();
    let out = lga.w.daemon.command(&["reload", "--admin", "ops"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("config reloaded: 3 cities"));

    // Every accepted post is delivered once, and the heritage post to both others.
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let accepted = traffic.await.unwrap();
    let mut load: HashSet<String> = HashSet::new();
    let mut heritage = BTreeSet::new();
    while load.len() < accepted.len() || heritage.len() < 2 {
        let r = lga.w.sink.next_delivered().await;
        match r.post.partnership.as_str() {
            "hangzhou-leeds" => {
                assert_eq!(r.city, "hangzhou");
                assert!(load.insert(r.post.id.clone()), "{} delivered twice", r.post.id);
            }
            "heritage" => {
                heritage.insert(r.city.clone());
            }
            other => panic!("unexpected delivery in {other}"),
        }
    }
    assert_eq!(load, accepted.into_iter().collect::<HashSet<_>>());
    assert_eq!(heritage, set(&["hangzhou", "leeds"]));
    assert_eq!(lga.w.sink.redelivered(), 0, "nothing came twice");
    lga.w.daemon.settled().await;
    assert!(lga.w.sink.drain().iter().all(|r| !(200..300).contains(&r.answered)), "and nothing more");
    let log = lga.w.daemon.log_text();
    assert!(log.contains("config reload refused") && log.contains("by=admin"), "the log says who asked");
}
