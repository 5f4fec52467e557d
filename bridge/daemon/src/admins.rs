//! Who may use the admin API, and on what: the `[bridge] admin_token_*` admin (id `admin`,
//! all-scope) and each `[[admins]]` entry (`cities = [...]` or `scope = "all"`).
//!
//! A request's bearer token is hashed once and compared, in constant time, with the hash of
//! every admin's token, all of them whatever matched: how long the check takes says nothing
//! about which token is close or which admin it found. Only the hashes are kept in memory.
//!
//! A city admin sees and acts only on the partnerships one of its cities is a member of;
//! everything else is answered as an unknown id would be (404), so a city admin cannot learn
//! what exists outside its partnerships. What concerns the whole instance (reload, metrics,
//! the connectors' details) is for all-scope admins.

use std::collections::{BTreeSet, HashMap};

use c2c_config::{Admin, AdminScope, Config, ConfigError, ConfigErrors, SecretRef};
use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};

/// The shortest admin token accepted: it guards the admin API and `/metrics`, so it must not be
/// guessable by trying.
pub const MIN_TOKEN_CHARS: usize = 32;

/// What an admin sees and acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The whole instance.
    All,
    /// The partnerships one of these cities is a member of.
    Cities(BTreeSet<String>),
}

impl Scope {
    pub fn is_all(&self) -> bool {
        matches!(self, Scope::All)
    }

    /// Whether partnership `id` is in this scope. An all-scope admin sees every one, also one
    /// the config no longer names (its conversations are still in the store); a city admin
    /// those of `config` one of its cities is a member of.
    pub fn sees(&self, config: &Config, partnership: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Cities(cities) => {
                config.partnership(partnership).is_some_and(|p| p.members.iter().any(|m| cities.contains(m)))
            }
        }
    }
}

/// The admin a request was made by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// Its id, in the log of every action it takes.
    pub id: String,
    pub scope: Scope,
}

impl Caller {
    /// Whether partnership `id` is this admin's (see [`Scope::sees`]).
    pub fn sees(&self, config: &Config, partnership: &str) -> bool {
        self.scope.sees(config, partnership)
    }
}

/// One admin as kept in memory: the hash of its token, never the token.
#[derive(Clone)]
struct Entry {
    caller: Caller,
    digest: [u8; 32],
}

/// Every admin of the running config. Replaced whole on a reload, so a rotated token works (and
/// the old one stops working) from then on.
#[derive(Clone, Default)]
pub struct Admins(Vec<Entry>);

impl std::fmt::Debug for Admins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter().map(|e| &e.caller.id)).finish()
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Admins {
    /// The admins `config` names, with their tokens read: every token that cannot be read, is
    /// shorter than [`MIN_TOKEN_CHARS`] or is another admin's too is a problem at its key.
    pub fn load(config: &Config) -> Result<Self, ConfigErrors> {
        let bridge = config.bridge.admin_token.as_ref().map(|t| (Admin::BRIDGE_ID, t, Scope::All));
        let others = config.admins.iter().map(|a| {
            let scope = match &a.scope {
                AdminScope::All => Scope::All,
                AdminScope::Cities(cities) => Scope::Cities(cities.iter().cloned().collect()),
            };
            (a.id.as_str(), &a.token, scope)
        });
        let mut errors = Vec::new();
        let mut entries = Vec::new();
        let mut seen: HashMap<[u8; 32], &SecretRef> = HashMap::new();
        for (id, token, scope) in bridge.into_iter().chain(others) {
            match read(token) {
                Ok(digest) => {
                    if let Some(first) = seen.get(&digest) {
                        let at = first.location();
                        errors.push(token.location().error(format!(
                            "this token is also {}'s ({}:{}): each admin needs a token of its own",
                            at.path, at.file, at.line
                        )));
                        continue;
                    }
                    seen.insert(digest, token);
                    entries.push(Entry { caller: Caller { id: id.to_string(), scope }, digest });
                }
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() { Ok(Admins(entries)) } else { Err(ConfigErrors(errors)) }
    }

    /// Admins with these tokens (tests).
    pub fn with_tokens<'a>(admins: impl IntoIterator<Item = (&'a str, Scope, &'a str)>) -> Self {
        Admins(
            admins
                .into_iter()
                .map(|(id, scope, token)| Entry { caller: Caller { id: id.into(), scope }, digest: digest(token) })
                .collect(),
        )
    }

    /// No admin is configured: the admin API is off.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The admin whose token `token` is, compared with every admin's in constant time.
    pub fn authenticate(&self, token: &str) -> Option<Caller> {
        let given = digest(token);
        // Tokens are distinct (checked at load), so at most one matches.
        let mut found = u64::MAX;
        for (i, e) in self.0.iter().enumerate() {
            found.conditional_assign(&(i as u64), given.ct_eq(&e.digest));
        }
        usize::try_from(found).ok().and_then(|i| self.0.get(i)).map(|e| e.caller.clone())
    }
}

/// The hash of the token `token` names, once it is read and long enough.
fn read(token: &SecretRef) -> Result<[u8; 32], ConfigError> {
    let secret = token.resolve()?;
    let chars = secret.expose().chars().count();
    if chars < MIN_TOKEN_CHARS {
        // Not the token itself, only its length: it must not reach the log.
        return Err(token.location().error(format!(
            "the admin token has {chars} characters; at least {MIN_TOKEN_CHARS} are needed (e.g. `openssl rand -hex 32`)"
        )));
    }
    Ok(digest(secret.expose()))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const CONFIG: &str = r#"
[bridge]
name = "t"
data_dir = "data"
listen = "127.0.0.1:1"
admin_token_file = "bridge.token"

[connectors.webhook]

[[cities]]
id = "leeds"
name = "Leeds"
country = "GB"
webhook = { url = "http://127.0.0.1:2/leeds", secret_env = "X" }
  [[cities.contacts]]
  id = "leeds-jo"
  name = "Jo"
  role = "IR"

[[cities]]
id = "gifu"
name = "Gifu"
country = "JP"
webhook = { url = "http://127.0.0.1:2/gifu", secret_env = "X" }
  [[cities.contacts]]
  id = "gifu-sato"
  name = "Sato"
  role = "IR"

[[cities]]
id = "lyon"
name = "Lyon"
country = "FR"
webhook = { url = "http://127.0.0.1:2/lyon", secret_env = "X" }
  [[cities.contacts]]
  id = "lyon-marie"
  name = "Marie"
  role = "IR"

[[partnerships]]
id = "gifu-leeds"
kind = "city-city"
members = ["gifu", "leeds"]
objective = "o"
language = "en"
reply_within = "5d"
channels = { gifu = "webhook", leeds = "webhook" }

[[partnerships]]
id = "gifu-lyon"
kind = "city-city"
members = ["gifu", "lyon"]
objective = "o"
language = "en"
reply_within = "5d"
channels = { gifu = "webhook", lyon = "webhook" }

[[admins]]
id = "leeds-admin"
token_file = "leeds.token"
cities = ["leeds"]

[[admins]]
id = "ops"
token_file = "ops.token"
scope = "all"
"#;

    /// The config in `dir`, with these token files.
    fn config(dir: &Path, tokens: &[(&str, &str)]) -> Config {
        for (file, token) in tokens {
            std::fs::write(dir.join(file), format!("{token}\n")).unwrap();
        }
        let path = dir.join("c2c.toml");
        std::fs::write(&path, CONFIG).unwrap();
        Config::load(&path).unwrap()
    }

    const BRIDGE: &str = "bridge-token-0123456789abcdef0123456789";
    const LEEDS: &str = "leeds-token-0123456789abcdef0123456789";
    const OPS: &str = "ops-token-0123456789abcdef0123456789ab";

    #[test]
    fn each_token_finds_its_admin_and_scope() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path(), &[("bridge.token", BRIDGE), ("leeds.token", LEEDS), ("ops.token", OPS)]);
        let admins = Admins::load(&config).unwrap();
        let bridge = admins.authenticate(BRIDGE).unwrap();
        assert_eq!((bridge.id.as_str(), &bridge.scope), ("admin", &Scope::All));
        let leeds = admins.authenticate(LEEDS).unwrap();
        assert_eq!(leeds.id, "leeds-admin");
        assert!(leeds.sees(&config, "gifu-leeds"));
        assert!(!leeds.sees(&config, "gifu-lyon"), "not a partnership of Leeds");
        assert!(!leeds.sees(&config, "gone"), "a partnership the config does not name");
        let ops = admins.authenticate(OPS).unwrap();
        assert_eq!(ops.id, "ops");
        assert!(ops.sees(&config, "gifu-lyon") && ops.sees(&config, "gone"));
        for wrong in ["", "bridge-token", &format!("{LEEDS}x"), &LEEDS[1..]] {
            assert_eq!(admins.authenticate(wrong), None, "{wrong:?}");
        }
        assert_eq!(format!("{admins:?}"), r#"["admin", "leeds-admin", "ops"]"#, "no token in debug output");
    }

    #[test]
    fn short_unreadable_and_shared_tokens_are_each_a_problem_at_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let config =
            config(dir.path(), &[("bridge.token", BRIDGE), ("leeds.token", "hunter2-hunter2"), ("ops.token", BRIDGE)]);
        let errors: Vec<String> = Admins::load(&config).unwrap_err().iter().map(|e| e.to_string()).collect();
        let file = dir.path().join("c2c.toml").display().to_string();
        assert_eq!(
            errors,
            [
                format!(
                    "{file}:60:1: admins[0].token_file: the admin token has 15 characters; at least 32 are needed (e.g. `openssl rand -hex 32`)"
                ),
                format!(
                    "{file}:65:1: admins[1].token_file: this token is also bridge.admin_token_file's ({file}:6): each admin needs a token of its own"
                ),
            ]
        );
        assert!(!errors.concat().contains("hunter2"), "never the token");

        std::fs::remove_file(dir.path().join("ops.token")).unwrap();
        let errors = Admins::load(&config).unwrap_err().to_string();
        assert!(errors.contains("admins[1].token_file: cannot read secret file"), "{errors}");
    }
}
