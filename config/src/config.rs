//! [`Config`]: loading, the secrets check, and the look-ups the daemon needs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::error::{ConfigError, ConfigErrors};
use crate::model::{Admin, Bridge, City, Connectors, Contact, Federation, Partnership, Peer};
use crate::secret::SecretRef;

/// A parsed and validated config file.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from, as the caller named it.
    pub path: PathBuf,
    /// `[bridge]`.
    pub bridge: Bridge,
    /// `[federation]`: this instance's signing key; `None` when it federates with no one.
    pub federation: Option<Federation>,
    /// `[[peers]]`, in file order: the instances this one federates with.
    pub peers: Vec<Peer>,
    /// `[connectors.*]`.
    pub connectors: Connectors,
    /// `[[cities]]`, in file order.
    pub cities: Vec<City>,
    /// `[[partnerships]]`, in file order.
    pub partnerships: Vec<Partnership>,
    /// `[[admins]]`, in file order (the `[bridge]` admin token is not among them).
    pub admins: Vec<Admin>,
}

impl Config {
    /// Reads, parses and validates the file at `path`. Secrets are not read: see
    /// [`Config::check_secrets`].
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.display().to_string(),
            line: 0,
            column: 0,
            path: String::new(),
            message: format!("cannot read the config file: {e}"),
        })?;
        Config::parse(&text, path)
    }

    /// Parses and validates `text` as if read from `path`: `path` names the file in errors, and
    /// relative paths in the config resolve against its directory. Every problem is reported.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
        crate::parse::parse(text, path)
    }

    /// Every secret reference, in file order: the admin tokens, mail and Matrix passwords,
    /// cities' webhook secrets (current and previous).
    pub fn secret_refs(&self) -> Vec<&SecretRef> {
        let mut refs: Vec<&SecretRef> = Vec::new();
        refs.extend(&self.bridge.admin_token);
        refs.extend(self.admins.iter().map(|a| &a.token));
        if let Some(email) = &self.connectors.email {
            refs.push(&email.imap.password);
            refs.push(&email.smtp.password);
        }
        if let Some(matrix) = &self.connectors.matrix {
            refs.push(&matrix.password);
            refs.extend(&matrix.store_passphrase);
        }
        for w in self.cities.iter().filter_map(|c| c.webhook.as_ref()) {
            refs.push(&w.secret);
            refs.extend(&w.previous_secret);
        }
        refs.sort_by_key(|r| (r.location().line, r.location().column));
        refs
    }

    /// Checks that every secret can be read: each `*_env` variable is set and non-empty, each
    /// `*_file` readable and non-empty, and so is `[federation] key_file` (its contents are not
    /// checked here). Errors are located at the `*_env` / `*_file` key, in file order.
    pub fn check_secrets(&self) -> Result<(), ConfigErrors> {
        let mut errors: Vec<ConfigError> = self.secret_refs().into_iter().filter_map(|r| r.resolve().err()).collect();
        errors.extend(self.federation.iter().flat_map(|f| f.check_key_files()));
        errors.sort_by_key(|e| (e.line, e.column));
        if errors.is_empty() { Ok(()) } else { Err(ConfigErrors(errors)) }
    }

    /// One line: `3 cities, 3 contacts, 2 partnerships; connectors: email, matrix, webhook`,
    /// and with peers `; peers: uk-lga (1 city)` (each with the count of cities it hosts).
    pub fn summary(&self) -> String {
        fn count(n: usize, one: &str, many: &str) -> String {
            format!("{n} {}", if n == 1 { one } else { many })
        }
        let contacts = self.cities.iter().map(|c| c.contacts.len()).sum();
        let connectors: Vec<&str> = self.connectors.channels().into_iter().map(|c| c.as_str()).collect();
        let mut out = format!(
            "{}, {}, {}; connectors: {}",
            count(self.cities.len(), "city", "cities"),
            count(contacts, "contact", "contacts"),
            count(self.partnerships.len(), "partnership", "partnerships"),
            if connectors.is_empty() { "none".to_string() } else { connectors.join(", ") }
        );
        if !self.peers.is_empty() {
            let peers: Vec<String> = self
                .peers
                .iter()
                .map(|p| {
                    let hosted = self.cities.iter().filter(|c| c.peer.as_deref() == Some(p.id.as_str())).count();
                    format!("{} ({})", p.id, count(hosted, "city", "cities"))
                })
                .collect();
            out.push_str(&format!("; peers: {}", peers.join(", ")));
        }
        out
    }

    /// The city with id `id`.
    pub fn city(&self, id: &str) -> Option<&City> {
        self.cities.iter().find(|c| c.id == id)
    }

    /// The peer instance with id `id`.
    pub fn peer(&self, id: &str) -> Option<&Peer> {
        self.peers.iter().find(|p| p.id == id)
    }

    /// The partnership with id `id`.
    pub fn partnership(&self, id: &str) -> Option<&Partnership> {
        self.partnerships.iter().find(|p| p.id == id)
    }

    /// The contact with id `id`, and their city.
    pub fn contact(&self, id: &str) -> Option<(&City, &Contact)> {
        self.find_contact(|c| c.id == id)
    }

    /// The contact with email address `address` (compared case-insensitively), and their city.
    pub fn contact_by_email(&self, address: &str) -> Option<(&City, &Contact)> {
        self.sender(crate::Channel::Email, address)
    }

    /// The contact with Matrix user id `user_id`, and their city.
    pub fn contact_by_matrix(&self, user_id: &str) -> Option<(&City, &Contact)> {
        self.sender(crate::Channel::Matrix, user_id)
    }

    /// The partnerships `city` is a member of, in file order.
    pub fn partnerships_of<'a>(&'a self, city: &'a str) -> impl Iterator<Item = &'a Partnership> {
        self.partnerships.iter().filter(move |p| p.has_member(city))
    }

    /// Every language code the config mentions (cities', contacts', partnerships'), plus `en`.
    pub fn languages_mentioned(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::from(["en".to_string()]);
        for city in &self.cities {
            out.extend(city.languages.iter().cloned());
            for contact in &city.contacts {
                out.extend(contact.languages.iter().cloned());
            }
        }
        out.extend(self.partnerships.iter().map(|p| p.language.clone()));
        out
    }

    pub(crate) fn find_contact(&self, matches: impl Fn(&Contact) -> bool) -> Option<(&City, &Contact)> {
        self.cities.iter().find_map(|city| city.contacts.iter().find(|c| matches(c)).map(|c| (city, c)))
    }
}
