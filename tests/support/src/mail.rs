//! The real mail server (Postfix + Dovecot, started by `tests/mail/mail-server.sh`) and officers
//! who use it through Python's smtplib/imaplib (`tests/mail/officer.py`).
//!
//! Tests that stop or restart a server take [`disrupt`]'s write lock; every other mail test
//! holds its read lock, so one test's outage never lands in another's.

use std::collections::HashMap;
use std::process::Command;

use serde_json::Value;
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

static SERVERS: RwLock<()> = RwLock::const_new(());

/// Shared use of the mail servers (they stay up while this is held).
pub async fn share() -> RwLockReadGuard<'static, ()> {
    SERVERS.read().await
}

/// Exclusive use, for tests that stop or restart a server.
pub async fn disrupt() -> RwLockWriteGuard<'static, ()> {
    SERVERS.write().await
}

/// The running mail servers, as `mail-server.sh start` described them.
#[derive(Clone, Debug)]
pub struct MailServer {
    pub env: HashMap<String, String>,
}

impl MailServer {
    /// Read the env file (`$C2C_MAIL_ENV`, else `$C2C_STATE_DIR/mail/env`).
    pub fn from_env() -> MailServer {
        MailServer { env: crate::server_env("C2C_MAIL_ENV", "mail", "tests/mail/mail-server.sh start") }
    }

    pub fn get(&self, key: &str) -> &str {
        self.env.get(key).unwrap_or_else(|| panic!("{key} missing from the mail server's env file"))
    }

    pub fn port(&self, key: &str) -> u16 {
        self.get(key).parse().unwrap()
    }

    /// `[connectors.email]` for the bridge's account `bridge` on this server: IMAPS and
    /// submission with the test CA, the password in `C2C_TEST_MAIL_PASSWORD`, this server's
    /// authentication results trusted, and a 300 s poll (only IDLE can bring mail in within a
    /// test's deadline).
    pub fn connector_section(&self, bridge: &Officer) -> String {
        format!(
            r#"
[connectors.email]
address = "{a}"
imap = {{ host = "127.0.0.1", port = {imaps}, security = "tls", user = "{a}", password_env = "C2C_TEST_MAIL_PASSWORD", ca_file = "{ca}" }}
smtp = {{ host = "127.0.0.1", port = {sub}, security = "starttls", user = "{a}", password_env = "C2C_TEST_MAIL_PASSWORD", ca_file = "{ca}" }}
poll_interval = "300s"
trusted_authserv_ids = ["{authserv}"]
"#,
            a = bridge.address,
            authserv = self.get("C2C_MAIL_AUTHSERV_ID"),
            imaps = self.get("C2C_MAIL_IMAPS_PORT"),
            sub = self.get("C2C_MAIL_SUBMISSION_PORT"),
            ca = self.get("C2C_MAIL_CA_FILE")
        )
    }

    fn script(&self, args: &[&str]) {
        let out =
            Command::new("bash").arg(crate::repo().join("tests/mail/mail-server.sh")).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "mail-server.sh {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn add_user(&self, address: &str, password: &str) {
        self.script(&["add-user", address, password]);
    }

    pub fn stop_postfix(&self) {
        self.script(&["stop-postfix"]);
    }

    pub fn start_postfix(&self) {
        self.script(&["start-postfix"]);
    }

    pub fn restart_dovecot(&self) {
        self.script(&["restart-dovecot"]);
    }

    /// The private DKIM key of `domain` (the server's OpenDKIM holds its public half).
    pub fn dkim_key(&self, domain: &str) -> String {
        format!("{}/{domain}.private", self.get("C2C_MAIL_DKIM_KEYS"))
    }

    /// A new mailbox with a unique address in `domain`, for one test.
    pub fn new_user(&self, name: &str, domain: &str) -> Officer {
        let address = format!("{name}-{}@{domain}", crate::unique());
        let password = format!("pw-{}", crate::unique());
        self.add_user(&address, &password);
        Officer { server: self.clone(), address, password }
    }
}

/// An officer's mail client (Python's smtplib/imaplib).
#[derive(Clone, Debug)]
pub struct Officer {
    pub server: MailServer,
    pub address: String,
    pub password: String,
}

impl Officer {
    fn run(&self, args: Vec<String>) -> (i32, Value) {
        let out =
            Command::new("python3").arg(crate::repo().join("tests/mail/officer.py")).args(&args).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let value = serde_json::from_str(&stdout).unwrap_or_else(|_| {
            panic!("officer.py {args:?} printed no JSON: {stdout}{}", String::from_utf8_lossy(&out.stderr))
        });
        (out.status.code().unwrap_or(-1), value)
    }

    fn login(&self, port_key: &str, security: &str) -> Vec<String> {
        vec![
            "--host".into(),
            "127.0.0.1".into(),
            "--port".into(),
            self.server.get(port_key).into(),
            format!("--{security}"),
            "--user".into(),
            self.address.clone(),
            "--password".into(),
            self.password.clone(),
            "--cafile".into(),
            self.server.get("C2C_MAIL_CA_FILE").into(),
        ]
    }

    /// Send a mail through the submission port (STARTTLS + AUTH), DKIM-signed for the
    /// officer's domain as their own mail server would; returns its Message-ID (without `<>`).
    /// `extra` are further `officer.py send` arguments.
    pub fn send(&self, to: &str, subject: &str, text: &str, extra: &[&str]) -> String {
        let key = self.server.dkim_key(self.address.rsplit_once('@').map_or("", |(_, d)| d));
        let mut with_key: Vec<&str> =
            vec!["--dkim-key", &key, "--dkim-selector", self.server.get("C2C_MAIL_DKIM_SELECTOR")];
        with_key.extend_from_slice(extra);
        self.send_unsigned(to, subject, text, &with_key)
    }

    /// [`Officer::send`] without a DKIM signature: what a forger writing as this officer from
    /// anywhere else would send.
    pub fn send_unsigned(&self, to: &str, subject: &str, text: &str, extra: &[&str]) -> String {
        let mut args = vec!["send".to_string()];
        args.extend(self.login("C2C_MAIL_SUBMISSION_PORT", "starttls"));
        for a in ["--from", &self.address, "--to", to, "--subject", subject, "--text", text] {
            args.push(a.to_string());
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let (code, v) = self.run(args);
        assert_eq!(code, 0, "send failed: {v}");
        v["message_id"].as_str().unwrap().trim_matches(['<', '>']).to_string()
    }

    /// Mails in `mailbox` with a UID above `since_uid`, waiting up to `wait` seconds for `count`.
    pub fn fetch(&self, mailbox: &str, since_uid: u64, count: usize, wait: u64) -> Vec<Value> {
        let mut args = vec!["fetch".to_string()];
        args.extend(self.login("C2C_MAIL_IMAPS_PORT", "tls"));
        for a in ["--mailbox", mailbox, "--since-uid", &since_uid.to_string()] {
            args.push(a.to_string());
        }
        if wait > 0 {
            args.extend(["--wait".into(), wait.to_string(), "--count".into(), count.to_string()]);
        }
        let (code, v) = self.run(args);
        let list = v.as_array().cloned().unwrap_or_default();
        assert!(code == 0 || (code == 3 && wait > 0), "fetch failed: {v}");
        assert!(
            list.len() >= count,
            "expected {count} mails in {mailbox} of {}, got {}: {v}",
            self.address,
            list.len()
        );
        list
    }

    /// The first mail in `mailbox` above `since_uid` that is `wanted`, waiting (IMAP IDLE) for
    /// the next one while none is; mails passed over on the way are skipped (e.g. a reminder
    /// that came in between).
    pub fn wait_for(&self, mailbox: &str, since_uid: u64, wanted: impl Fn(&Value) -> bool) -> Value {
        let start = std::time::Instant::now();
        let mut since = since_uid;
        loop {
            let left = crate::DEADLINE.saturating_sub(start.elapsed()).as_secs().max(1);
            let mails = self.fetch(mailbox, since, 1, left);
            if let Some(mail) = mails.iter().find(|m| wanted(m)) {
                return mail.clone();
            }
            since = mails.iter().filter_map(|m| m["uid"].as_u64()).max().unwrap_or(since);
            assert!(start.elapsed() < crate::DEADLINE, "no such mail in {mailbox} of {}: {mails:?}", self.address);
        }
    }

    /// Answer `mail` (as "Reply" in a mail client does: to its sender, in its thread) with
    /// `text`; returns the answer's Message-ID (without `<>`).
    pub fn reply(&self, mail: &Value, text: &str, extra: &[&str]) -> String {
        let from = mail["from"].as_str().unwrap();
        let to = from.rsplit('<').next().unwrap().trim_end_matches('>');
        let id = header(mail, "Message-ID").unwrap().to_string();
        let mut refs: Vec<String> = header(mail, "References").map(id_list).unwrap_or_default();
        refs.push(id.trim_matches(['<', '>']).to_string());
        let refs: Vec<String> = refs.iter().map(|r| format!("<{r}>")).collect();
        self.send(
            to,
            &format!("Re: {}", mail["subject"].as_str().unwrap()),
            text,
            &[&["--in-reply-to", id.as_str(), "--references", refs.join(" ").as_str()], extra].concat(),
        )
    }
}

/// The `<id>` tokens of a Message-ID-list header (References), without brackets.
pub fn id_list(header: &str) -> Vec<String> {
    header.split_whitespace().map(|t| t.trim_matches(['<', '>']).to_string()).collect()
}

/// The first value of a header in an `officer.py fetch` result.
pub fn header<'a>(mail: &'a Value, name: &str) -> Option<&'a str> {
    mail["headers"][name.to_ascii_lowercase()].as_array()?.first()?.as_str()
}
