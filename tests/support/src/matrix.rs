//! The real Matrix homeserver (Synapse, started by `tests/matrix/synapse.sh`) and officers who
//! use it through matrix-nio (`tests/matrix/officer.py`, run with the Synapse venv's Python).
//!
//! Tests that restart Synapse take [`disrupt`]'s write lock; every other Matrix test holds its
//! read lock.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

static SERVER: RwLock<()> = RwLock::const_new(());

pub async fn share() -> RwLockReadGuard<'static, ()> {
    SERVER.read().await
}

pub async fn disrupt() -> RwLockWriteGuard<'static, ()> {
    SERVER.write().await
}

/// The running Synapse, as `synapse.sh start` described it.
#[derive(Clone, Debug)]
pub struct Synapse {
    pub env: HashMap<String, String>,
}

impl Synapse {
    pub fn from_env() -> Synapse {
        Synapse { env: crate::server_env("C2C_SYNAPSE_ENV", "synapse", "tests/matrix/synapse.sh start") }
    }

    pub fn get(&self, key: &str) -> &str {
        self.env.get(key).unwrap_or_else(|| panic!("{key} missing from Synapse's env file"))
    }

    pub fn url(&self) -> &str {
        self.get("C2C_SYNAPSE_URL")
    }

    fn script(&self, args: &[&str]) -> String {
        let out = Command::new("bash").arg(crate::repo().join("tests/matrix/synapse.sh")).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "synapse.sh {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A new account (`@NAME-N:c2c.test`) for one test; returns (user id, password).
    pub fn new_account(&self, name: &str) -> (String, String) {
        let local = format!("{name}-{}", crate::unique());
        let password = format!("pw-{}", crate::unique());
        self.script(&["register", &local, &password]);
        (format!("@{local}:{}", self.get("C2C_SYNAPSE_SERVER_NAME")), password)
    }

    /// A new officer with their own account and device store.
    pub fn new_officer(&self, name: &str, store: PathBuf) -> MatrixOfficer {
        let (user, password) = self.new_account(name);
        MatrixOfficer { synapse: self.clone(), user, password, store }
    }

    pub fn restart(&self) {
        self.script(&["restart"]);
    }
}

/// An officer's Matrix client (matrix-nio), keeping one device across calls.
#[derive(Clone, Debug)]
pub struct MatrixOfficer {
    pub synapse: Synapse,
    pub user: String,
    pub password: String,
    pub store: PathBuf,
}

impl MatrixOfficer {
    fn run(&self, args: &[&str]) -> (i32, Value) {
        let out = Command::new(self.synapse.get("C2C_MATRIX_PYTHON"))
            .arg(crate::repo().join("tests/matrix/officer.py"))
            .args(["--homeserver", self.synapse.url(), "--user", &self.user, "--password", &self.password, "--store"])
            .arg(&self.store)
            .args(args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let value = serde_json::from_str(&stdout).unwrap_or_else(|_| {
            panic!("officer.py {args:?} printed no JSON: {stdout}{}", String::from_utf8_lossy(&out.stderr))
        });
        (out.status.code().unwrap_or(-1), value)
    }

    fn ok(&self, args: &[&str]) -> Value {
        let (code, v) = self.run(args);
        assert_eq!(code, 0, "officer.py {args:?}: {v}");
        v
    }

    /// Log in (creating the device and uploading its keys) without doing anything else.
    pub fn whoami(&self) -> Value {
        self.ok(&["whoami"])
    }

    /// Wait for an invite, accept it, return the room (`room_id`, `name`, `topic`, `encrypted`).
    pub fn accept_invite(&self, timeout: u64) -> Value {
        self.ok(&["wait-invite", "--timeout", &timeout.to_string()])
    }

    /// Wait for `count` invites and accept them all (in one client run: a second run would not
    /// see invites the first one's sync already passed). Returns the rooms.
    pub fn accept_invites(&self, count: usize, timeout: u64) -> Vec<Value> {
        let v = self.ok(&["wait-invites", &count.to_string(), "--timeout", &timeout.to_string()]);
        v.as_array().cloned().unwrap_or_default()
    }

    /// Post; `thread_root` puts it in that thread. Returns the event id.
    pub fn send(&self, room: &str, text: &str, thread_root: Option<&str>) -> String {
        let mut args = vec!["send", room, "--text", text];
        if let Some(r) = thread_root {
            args.extend(["--thread-root", r]);
        }
        self.ok(&args)["event_id"].as_str().unwrap().to_string()
    }

    /// Post `count` messages "`text` (i/count)" in order, in one client run; `thread_root` puts
    /// them in that thread. Returns their event ids.
    pub fn send_many(&self, room: &str, text: &str, count: usize, thread_root: Option<&str>) -> Vec<String> {
        let count = count.to_string();
        let mut args = vec!["send", room, "--text", text, "--count", &count];
        if let Some(r) = thread_root {
            args.extend(["--thread-root", r]);
        }
        let v = self.ok(&args);
        v["event_ids"].as_array().unwrap().iter().map(|e| e.as_str().unwrap().to_string()).collect()
    }

    /// Upload the file at `path` and post it (as Element does: encrypted in an encrypted room),
    /// in `thread_root`'s thread if given.
    pub fn send_file(&self, room: &str, path: &str, content_type: &str, thread_root: Option<&str>) -> String {
        let mut args = vec!["send-file", room, path, "--content-type", content_type];
        if let Some(r) = thread_root {
            args.extend(["--thread-root", r]);
        }
        self.ok(&args)["event_id"].as_str().unwrap().to_string()
    }

    /// [`MatrixOfficer::send_file`] with more `officer.py send-file` options (`--filename`,
    /// `--declared-size`, `--not-uploaded`), top-level.
    pub fn send_file_with(&self, room: &str, path: &str, content_type: &str, options: &[&str]) -> String {
        let args = [&["send-file", room, path, "--content-type", content_type], options].concat();
        self.ok(&args)["event_id"].as_str().unwrap().to_string()
    }

    /// A plain reply (no thread) to `event`.
    pub fn reply(&self, room: &str, text: &str, event: &str) -> String {
        self.ok(&["send", room, "--text", text, "--reply-to", event])["event_id"].as_str().unwrap().to_string()
    }

    pub fn edit(&self, room: &str, event: &str, text: &str) -> String {
        self.ok(&["edit", room, event, "--text", text])["event_id"].as_str().unwrap().to_string()
    }

    /// Redact (delete) `event`.
    pub fn redact(&self, room: &str, event: &str) -> String {
        self.ok(&["redact", room, event])["event_id"].as_str().unwrap().to_string()
    }

    /// Invite `user` into `room`.
    pub fn invite(&self, room: &str, user: &str) {
        self.ok(&["invite", room, user]);
    }

    /// Download (and decrypt) the file of `event`: `msgtype`, `filename`, `encrypted`, `size`,
    /// `sha256`, `relates_to`.
    pub fn download(&self, room: &str, event: &str) -> Value {
        self.ok(&["download", room, event])
    }

    /// Leave `room`.
    pub fn leave(&self, room: &str) {
        self.ok(&["leave", room]);
    }

    /// Messages from others in `room` (in `thread_root`'s thread if given), waiting for `count`.
    pub fn messages(&self, room: &str, count: usize, thread_root: Option<&str>) -> Vec<Value> {
        let n = count.to_string();
        let mut args = vec!["messages", room, "--wait-count", &n, "--timeout", "30"];
        if let Some(r) = thread_root {
            args.extend(["--thread-root", r]);
        }
        let (code, v) = self.run(&args);
        assert!(code == 0, "expected {count} messages in {room}: {v}");
        v.as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e["type"] == "m.room.message" && e["sender"] != self.user.as_str())
            .collect()
    }

    /// The first message from others in `thread_root`'s thread that is `wanted`, waiting for
    /// the next one while none is (others that come in between are passed over).
    pub fn wait_in_thread(&self, room: &str, thread_root: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let start = std::time::Instant::now();
        let mut count = 1;
        loop {
            let evs = self.messages(room, count, Some(thread_root));
            if let Some(ev) = evs.iter().find(|e| e["event_id"] != thread_root && wanted(e)) {
                return ev.clone();
            }
            count = evs.iter().filter(|e| e["event_id"] != thread_root).count() + 1;
            assert!(start.elapsed() < crate::DEADLINE, "no such message in the thread of {thread_root}: {evs:?}");
        }
    }
}
