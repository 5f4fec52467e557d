//! A test world: three webhook cities (Leeds, Hangzhou, Gifu), two partnerships, a sink for
//! every city's own system, and the daemon's config file in a temporary directory.
//!
//! - `hangzhou-leeds` (city-city, relay): Leeds and Hangzhou, both on webhooks.
//! - `heritage` (multi-city, reject): Leeds, Hangzhou, Gifu.
//!
//! Gifu is not a member of `hangzhou-leeds`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use c2c_webhook::SigningSecret;
use serde_json::{Value, json};

use crate::daemon::Daemon;
use crate::post::{Answer, post_json};
use crate::sink::Sink;
use crate::{free_port, new_secret};

pub const CITIES: [&str; 3] = ["leeds", "hangzhou", "gifu"];

/// Tuning a test may change before the daemon starts.
#[derive(Clone, Debug)]
pub struct Tuning {
    pub initial_backoff: &'static str,
    pub max_backoff: &'static str,
    /// `[bridge.delivery] give_up_after` and `delay_warning_after` ("0s": no delay notice).
    pub give_up_after: &'static str,
    pub delay_warning_after: &'static str,
    pub max_body_bytes: usize,
    pub admin_token: bool,
    /// `[bridge] request_timeout`, when not the default.
    pub request_timeout: Option<&'static str>,
    /// `[bridge] store` (the store's engine), when not the default.
    pub store: Option<&'static str>,
    /// Follow-up on a test's time scale: every partnership's `reply_within` (e.g. `"3s"`)
    /// instead of days, and working hours all day, every day (reminders wait for none).
    pub reply_within: Option<&'static str>,
    /// `[bridge] retention`, when set (e.g. `"3s"`).
    pub retention: Option<&'static str>,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            initial_backoff: "50ms",
            max_backoff: "200ms",
            give_up_after: "1h",
            delay_warning_after: "0s",
            max_body_bytes: 65536,
            admin_token: true,
            request_timeout: None,
            store: None,
            reply_within: None,
            retention: None,
        }
    }
}

/// Everything one test needs.
#[derive(Debug)]
pub struct World {
    pub config_path: PathBuf,
    pub listen: String,
    pub secrets: HashMap<String, SigningSecret>,
    pub env: Vec<(String, String)>,
    pub sink: Sink,
    pub daemon: Daemon,
    pub admin_token: String,
    /// Last, so it is removed after the daemon is stopped (fields drop in order).
    pub dir: tempfile::TempDir,
}

/// What a config template can use.
#[derive(Debug)]
pub struct Ctx<'a> {
    pub listen: &'a str,
    pub sink: &'a Sink,
    pub tuning: &'a Tuning,
}

impl Ctx<'_> {
    /// `[bridge]`, `[bridge.delivery]` and `[connectors.webhook]` with this world's settings.
    pub fn bridge_section(&self) -> String {
        let t = self.tuning;
        let admin = if t.admin_token { "admin_token_env = \"C2C_TEST_ADMIN_TOKEN\"" } else { "" };
        let timeout = t.request_timeout.map(|d| format!("request_timeout = \"{d}\"")).unwrap_or_default();
        let engine = t.store.map(|e| format!("store = \"{e}\"")).unwrap_or_default();
        let retention = t.retention.map(|r| format!("retention = \"{r}\"")).unwrap_or_default();
        let working = match t.reply_within {
            Some(_) => {
                "working_hours = \"00:00-24:00\"\nworking_days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"]"
            }
            None => "",
        };
        format!(
            r#"
[bridge]
name = "c2c test bridge"
data_dir = "data"
listen = "{listen}"
{admin}
{timeout}
{engine}
{retention}
{working}

[bridge.delivery]
initial_backoff = "{ib}"
max_backoff = "{mb}"
give_up_after = "{gua}"
delay_warning_after = "{dwa}"
jitter = 0.0
drain_timeout = "5s"
timeout = "5s"

[connectors.webhook]
max_body_bytes = {body}
"#,
            listen = self.listen,
            ib = t.initial_backoff,
            mb = t.max_backoff,
            gua = t.give_up_after,
            dwa = t.delay_warning_after,
            body = t.max_body_bytes,
        )
    }

    /// A partnership's `reply_within`: the tuning's, else `default`.
    pub fn reply_within<'d>(&self, default: &'d str) -> &'d str {
        self.tuning.reply_within.unwrap_or(default)
    }

    /// One of the three test cities (`leeds`, `hangzhou`, `gifu`) with its one contact.
    /// `city_extra` goes into the city table (e.g. [`Ctx::webhook`]), `contact_extra` into the
    /// contact's (e.g. `email = "..."`).
    pub fn city(&self, id: &str, city_extra: &str, contact_extra: &str) -> String {
        let (name, country, tz, langs, contact, person, role) = match id {
            "leeds" => ("Leeds", "GB", "Europe/London", r#"["en"]"#, "leeds-jo", "Jo Smith", "International Relations"),
            "hangzhou" => {
                ("Hangzhou", "CN", "Asia/Shanghai", r#"["zh", "en"]"#, "hz-li", "Li Wei", "Foreign Affairs Office")
            }
            "gifu" => (
                "Gifu",
                "JP",
                "Asia/Tokyo",
                r#"["ja", "en"]"#,
                "gifu-sato",
                "Sato Hana",
                "International Exchange Division",
            ),
            other => panic!("no test city {other}"),
        };
        format!(
            "\n[[cities]]\nid = \"{id}\"\nname = \"{name}\"\ncountry = \"{country}\"\ntimezone = \"{tz}\"\nlanguages = {langs}\n{city_extra}\n\
             \n  [[cities.contacts]]\n  id = \"{contact}\"\n  name = \"{person}\"\n  role = \"{role}\"\n  languages = {langs}\n  {contact_extra}\n"
        )
    }

    /// `webhook = {...}` for one of the three cities, pointing at the sink.
    pub fn webhook(&self, city: &str) -> String {
        format!(
            "webhook = {{ url = \"{}\", secret_env = \"C2C_TEST_WHSEC_{}\" }}",
            self.sink.url(city),
            city.to_uppercase()
        )
    }
}

impl World {
    /// Build the world and start the daemon (the binary at `bin`).
    pub async fn start(bin: &Path, tuning: Tuning) -> World {
        Self::start_custom(bin, tuning, Vec::new(), config_text).await
    }

    /// A world with its own config (made by `make`) and extra environment variables.
    pub async fn start_custom(
        bin: &Path,
        tuning: Tuning,
        extra_env: Vec<(String, String)>,
        make: impl Fn(&Ctx<'_>) -> String,
    ) -> World {
        let dir = tempfile::tempdir().unwrap();
        let mut secrets = HashMap::new();
        let mut env = Vec::new();
        for city in CITIES {
            let text = new_secret();
            secrets.insert(city.to_string(), SigningSecret::parse(&text).unwrap());
            env.push((format!("C2C_TEST_WHSEC_{}", city.to_uppercase()), text));
        }
        let admin_token = format!("test-admin-token-{}-{}", crate::unique(), crate::unique());
        env.push(("C2C_TEST_ADMIN_TOKEN".into(), admin_token.clone()));
        env.extend(extra_env);
        let sink = Sink::start(0, secrets.clone()).await;
        let config_path = dir.path().join("c2c-bridge.toml");
        let log = dir.path().join("daemon.log");
        // A port found free can be taken by a parallel test before the daemon binds it: then
        // pick another one.
        let mut attempts = 0;
        let (listen, daemon) = loop {
            let listen = format!("127.0.0.1:{}", free_port());
            std::fs::write(&config_path, make(&Ctx { listen: &listen, sink: &sink, tuning: &tuning })).unwrap();
            match Daemon::try_start(bin, &config_path, &listen, env.clone(), &log).await {
                Ok(daemon) => break (listen, daemon),
                Err(taken) if attempts < 5 => {
                    attempts += 1;
                    eprintln!("{taken}; trying another port");
                }
                Err(taken) => panic!("{taken}, five times"),
            }
        };
        World { config_path, listen, secrets, env, sink, daemon, admin_token, dir }
    }

    /// Post a message as `city`'s system.
    pub async fn post(&self, city: &str, id: &str, body: &Value) -> Answer {
        post_json(&self.daemon.base_url, city, &self.secrets[city], id, body).await
    }

    /// The admin API's conversations listing.
    pub async fn conversations(&self) -> Vec<Value> {
        let (status, body) = self.daemon.get("/api/conversations", Some(&self.admin_token)).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// The conversations listing once `ready` holds for it. A delivery's outcome is written
    /// a little after the recipient has answered (outcomes are written in groups), so a test
    /// that has just seen a delivery arrive waits for the daemon to record it.
    pub async fn conversations_when(&self, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let start = std::time::Instant::now();
        loop {
            let convs = self.conversations().await;
            if ready(&convs) {
                return convs;
            }
            assert!(start.elapsed() < crate::DEADLINE, "the conversations never got there: {convs:?}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// A message body as a city's system writes it.
pub fn message(from: &str, partnership: &str, thread_key: Option<&str>, subject: Option<&str>, text: &str) -> Value {
    json!({
        "from": from,
        "partnership": partnership,
        "conversation": null,
        "thread_key": thread_key,
        "subject": subject,
        "text": text,
        "html": null,
    })
}

/// The default world's config: three webhook cities.
fn config_text(ctx: &Ctx<'_>) -> String {
    let cities: String = CITIES.iter().map(|c| ctx.city(c, &ctx.webhook(c), "")).collect();
    format!(
        r#"{bridge}{cities}
[[partnerships]]
id = "hangzhou-leeds"
kind = "city-city"
members = ["hangzhou", "leeds"]
objective = "Smart transport and library services exchange"
language = "en"
reply_within = "{hl_within}"
on_other_channel = "relay"
channels = {{ hangzhou = "webhook", leeds = "webhook" }}

[[partnerships]]
id = "heritage"
kind = "multi-city"
members = ["leeds", "hangzhou", "gifu"]
objective = "Cultural heritage and tourism"
language = "en"
reply_within = "{heritage_within}"
on_other_channel = "reject"
channels = {{ leeds = "webhook", hangzhou = "webhook", gifu = "webhook" }}
"#,
        bridge = ctx.bridge_section(),
        hl_within = ctx.reply_within("5d"),
        heritage_within = ctx.reply_within("7d"),
    )
}
