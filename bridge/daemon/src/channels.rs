//! Each channel's part of the daemon's set-up, in one place: its settings read from the config
//! (with their secrets), its connector built, and the HTTP routes of a connector that receives
//! on the daemon's listener (webhooks, peers). A reload reads the same settings again
//! ([`webhook_cities`], [`matrix_settings`]). What an endpoint is on each channel is the
//! config's table (`c2c_config::SPECS`); how its threads continue is its connector's
//! `Threading`, registered in [`threads`]; what a connector does is its own crate's.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use c2c_config::{Config, ConfigError, ConfigErrors};
use c2c_core::{Channel, Connector, Inbox, InstanceKey, Threads};
use c2c_email::{EmailConnector, EmailSettings, Security, SenderAuth, Server};
use c2c_matrix::{MatrixConnector, MatrixSettings, Portal};
use c2c_peer::PeerConnector;
use c2c_webhook::config::{SharedCities, WebhookCities};
use c2c_webhook::signature::asymmetric::SecretKey;
use c2c_webhook::{SigningKeys, SigningSecret, WebhookCity, WebhookConnector, WebhookSettings};

use crate::app::BadConfig;
use crate::live::Live;

/// The connectors a config asks for, and what the rest of the daemon wires to them.
pub struct Built {
    pub connectors: HashMap<Channel, Arc<dyn Connector>>,
    /// Routes served on the daemon's listener for connectors that receive there (webhooks).
    pub routes: axum::Router,
    /// The webhook cities and their secrets, replaced on a reload.
    pub cities: SharedCities,
    /// The Matrix connector, whose portal rooms follow a reload.
    pub matrix: Option<MatrixConnector>,
    /// This instance's federation keys (current first), read once here; `None` without
    /// `[federation]`.
    pub peer_keys: Option<Arc<Vec<SecretKey>>>,
}

impl std::fmt::Debug for Built {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut channels: Vec<&Channel> = self.connectors.keys().collect();
        channels.sort();
        f.debug_struct("Built").field("connectors", &channels).finish_non_exhaustive()
    }
}

/// Build every configured connector (the webhook one always: its routes answer 404 for a city
/// with no webhook). `inbox` is the router: connectors submit to it, and the Matrix connector
/// keeps its state through it.
pub async fn build(
    live: &Live<Config>,
    config_path: &Path,
    instance: &str,
    key: InstanceKey,
    inbox: Arc<dyn Inbox>,
) -> anyhow::Result<Built> {
    let config = &*live.get();
    let mut connectors: HashMap<Channel, Arc<dyn Connector>> = HashMap::new();
    let settings = webhook_settings(config);
    // Peers' envelopes are signed posts too: the same size limit and clock tolerance.
    let (tolerance, max_body_bytes) = (settings.tolerance, settings.max_body_bytes);
    let cities = SharedCities::new(webhook_cities(config).map_err(BadConfig)?);
    let webhook = WebhookConnector::new(cities.clone(), &settings, config.bridge.name.clone());
    connectors.insert(Channel::Webhook, Arc::new(webhook));
    let routes = c2c_webhook::inbound::routes(c2c_webhook::inbound::InboundState {
        cities: cities.clone(),
        inbox: inbox.clone(),
        settings,
    });
    let mut matrix = None;
    if let Some(settings) = matrix_settings(config).map_err(|e| BadConfig(e.into()))? {
        let connector = MatrixConnector::open(settings, inbox.clone())
            .await
            .map_err(|e| matrix_store_error(config, config_path, e))?;
        matrix = Some(connector.clone());
        connectors.insert(Channel::Matrix, Arc::new(connector));
    }
    if let Some(email) = email_settings(config, instance, key)? {
        let connector = EmailConnector::new(email).map_err(|e| anyhow::anyhow!("connectors.email: {e}"))?;
        connectors.insert(Channel::Email, Arc::new(connector));
    }
    let peer_keys = federation_keys(config).map_err(BadConfig)?.map(Arc::new);
    let routes = match &peer_keys {
        Some(keys) => {
            let identity = peer_identity(instance, keys);
            let peers = config.peers.iter().map(|p| (p.id.clone(), p.url.clone()));
            let peer = PeerConnector::new(instance, keys.to_vec(), peers, config.bridge.delivery.timeout)
                .redelivering_through(inbox.clone());
            connectors.insert(Channel::Peer, Arc::new(peer));
            let pinned = pinned_peers(config).map_err(BadConfig)?;
            // What peers may see of the directory follows a reload.
            let directory_config = live.clone();
            let answer: c2c_peer::directory::Answer = Arc::new(move |asker, query| {
                crate::peer_directory::for_peer(&directory_config.get(), asker, chrono::Utc::now(), query)
            });
            let directory = c2c_peer::directory::DirectoryState { pinned: pinned.clone(), tolerance, answer };
            let inbox = c2c_peer::inbound::InboxState {
                instance: identity.instance.clone(),
                pinned,
                inbox,
                tolerance,
                max_body_bytes,
            };
            routes
                .merge(c2c_peer::routes::routes(Arc::new(identity)))
                .merge(c2c_peer::inbound::routes(inbox))
                .merge(c2c_peer::directory::routes(directory))
        }
        None => routes,
    };
    Ok(Built { connectors, routes, cities, matrix, peer_keys })
}

/// Each `[[peers]]` entry's pinned public keys, as the peer inbox checks signatures with them.
/// How each channel continues its endpoints' threads (see `c2c_core::thread`). Email
/// deliveries are named on the domain of the bridge's mail address, so without one they start
/// no thread.
pub fn threads(config: &Config, key: &InstanceKey) -> Threads {
    let threads = Threads::default()
        .with(Channel::Webhook, Arc::new(c2c_webhook::WebhookThreading))
        .with(Channel::Matrix, Arc::new(c2c_matrix::MatrixThreading))
        .with(Channel::Peer, Arc::new(c2c_peer::PeerThreading));
    let domain = config.connectors.email.as_ref().and_then(|e| e.address.rsplit_once('@')).map(|(_, d)| d);
    match domain {
        Some(domain) => threads.with(Channel::Email, Arc::new(c2c_email::EmailThreading::new(domain, key.clone()))),
        None => threads,
    }
}

pub fn pinned_peers(config: &Config) -> Result<c2c_peer::inbox::Pinned, ConfigErrors> {
    use c2c_webhook::signature::asymmetric::PublicKey;
    let mut errors = Vec::new();
    let mut peers = Vec::new();
    for p in &config.peers {
        let keys: Vec<PublicKey> = p
            .public_keys
            .iter()
            .filter_map(|k| match PublicKey::parse(k) {
                Ok(key) => Some(key),
                Err(e) => {
                    errors.push(ConfigError {
                        file: config.path.display().to_string(),
                        line: 0,
                        column: 0,
                        path: format!("peers.{}.public_keys", p.id),
                        message: format!("{k:?} is not a usable public key: {e}"),
                    });
                    None
                }
            })
            .collect();
        peers.push((p.id.clone(), keys));
    }
    if errors.is_empty() { Ok(c2c_peer::inbox::Pinned::new(peers)) } else { Err(ConfigErrors(errors)) }
}

/// This instance's federation keys, read from `[federation] key_file` (and
/// `previous_key_file`): each must be a `whsk_` key in a file only this user may read. The
/// current key first. `None` without `[federation]`.
pub fn federation_keys(config: &Config) -> Result<Option<Vec<SecretKey>>, ConfigErrors> {
    use c2c_webhook::signature::key_file;
    let Some(f) = &config.federation else {
        return Ok(None);
    };
    let read = |path: &Path, at: &c2c_config::Location| key_file::read(path).map_err(|e| at.error(e.to_string()));
    let current = read(&f.key_file, &f.key_file_at);
    let previous = f.previous_key_file.as_ref().map(|(path, at)| read(path, at)).transpose();
    match (current, previous) {
        (Ok(current), Ok(previous)) => Ok(Some(std::iter::once(current).chain(previous).collect())),
        (current, previous) => Err(ConfigErrors(current.err().into_iter().chain(previous.err()).collect())),
    }
}

/// What this instance serves on `GET /peer/v1/keys`: the public halves of `keys` (current first).
fn peer_identity(instance: &str, keys: &[SecretKey]) -> c2c_peer::Identity {
    c2c_peer::Identity {
        instance: instance.to_string(),
        current: keys[0].public_key(),
        previous: keys.get(1).map(SecretKey::public_key),
    }
}

/// The webhook cities of `config`, with their secrets read; every secret that cannot be read
/// or is not a `whsec_` secret is a problem at its key.
pub fn webhook_cities(config: &Config) -> Result<WebhookCities, ConfigErrors> {
    let mut out = HashMap::new();
    let mut errors = Vec::new();
    for city in &config.cities {
        let Some(w) = &city.webhook else { continue };
        let read = |secret: &c2c_config::SecretRef| -> Result<SigningSecret, ConfigError> {
            let value = secret.resolve()?;
            SigningSecret::parse(value.expose())
                .map_err(|e| secret.location().error(format!("not a `whsec_` secret: {e}")))
        };
        let current = read(&w.secret);
        let previous = w.previous_secret.as_ref().map(read).transpose();
        match (current, previous) {
            (Ok(current), Ok(previous)) => {
                let keys = SigningKeys::new(current, previous);
                // The config checked the url with this parser: an error here is not expected.
                match reqwest::Url::parse(&w.url) {
                    Ok(url) => {
                        out.insert(city.id.clone(), WebhookCity { id: city.id.clone(), url, keys });
                    }
                    Err(e) => errors.push(w.secret.location().error(format!("the webhook url {:?}: {e}", w.url))),
                }
            }
            (current, previous) => errors.extend(current.err().into_iter().chain(previous.err())),
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(ConfigErrors(errors)) }
}

/// The Matrix connector's settings: the bot account and one portal room per (partnership,
/// member city on Matrix); `None` without `[connectors.matrix]`.
pub fn matrix_settings(config: &Config) -> Result<Option<MatrixSettings>, ConfigError> {
    let Some(m) = &config.connectors.matrix else {
        return Ok(None);
    };
    let mut portals = Vec::new();
    for p in &config.partnerships {
        for member in &p.members {
            if p.channel_of(member) != Some(Channel::Matrix) {
                continue;
            }
            let Some(city) = config.city(member) else { continue };
            let others: Vec<&str> = p
                .members
                .iter()
                .filter(|o| *o != member)
                .filter_map(|o| config.city(o).map(|c| c.name.as_str()))
                .collect();
            portals.push(Portal {
                key: crate::router::recipients::matrix_address(p, member),
                partnership: p.id.clone(),
                city: member.clone(),
                name: format!("{} ↔ {} (c2c)", city.name, others.join(", ")),
                topic: format!("{} · agreed language: {} · partnership {}", p.objective, p.language, p.id),
                invite: city.contacts.iter().filter_map(|c| c.matrix.clone()).collect(),
                room: p.matrix_rooms.get(member).cloned(),
            });
        }
    }
    Ok(Some(MatrixSettings {
        homeserver: m.homeserver.clone(),
        user: m.user.clone(),
        password: m.password.resolve()?.expose().to_string(),
        store_dir: m.store_dir.clone(),
        store_passphrase: match &m.store_passphrase {
            Some(secret) => Some(secret.resolve()?.expose().to_string()),
            None => None,
        },
        encrypt_new_rooms: m.encrypt_new_rooms,
        max_attachment_bytes: m.max_attachment_bytes as u64,
        file_fetch_give_up_after: m.file_fetch_give_up_after,
        portals,
    }))
}

/// The email connector's settings, with secrets and CA files read; `None` without `[connectors.email]`.
pub fn email_settings(config: &Config, instance: &str, key: InstanceKey) -> anyhow::Result<Option<EmailSettings>> {
    let Some(e) = &config.connectors.email else {
        return Ok(None);
    };
    if let Some(problem) = e.sender_auth_problem() {
        anyhow::bail!(problem);
    }
    if e.sender_auth == c2c_config::SenderAuth::IfPresent {
        tracing::warn!(
            "connectors.email: sender_auth = \"if-present\": mail whose server records no \
             authentication result is believed to come from its From address, so anyone can write \
             as a contact; see SECURITY.md"
        );
    }
    let server = |m: &c2c_config::MailServer, what: &str| -> anyhow::Result<Server> {
        let ca_pem = match &m.ca_file {
            Some(path) => Some(
                std::fs::read(path).with_context(|| format!("connectors.email.{what}.ca_file {}", path.display()))?,
            ),
            None => None,
        };
        Ok(Server {
            host: m.host.clone(),
            port: m.port,
            security: match m.security {
                c2c_config::Security::Tls => Security::Tls,
                c2c_config::Security::Starttls => Security::StartTls,
                c2c_config::Security::None => Security::None,
            },
            user: m.user.clone(),
            password: m.password.resolve().map_err(|e| anyhow::anyhow!("{e}"))?.expose().to_string(),
            ca_pem,
        })
    };
    Ok(Some(EmailSettings {
        address: e.address.clone(),
        imap: server(&e.imap, "imap")?,
        smtp: server(&e.smtp, "smtp")?,
        mailbox: e.imap.mailbox.clone().unwrap_or_else(|| "INBOX".into()),
        processed_folder: e.processed_folder.clone(),
        refused_folder: e.refused_folder.clone(),
        max_attachment_bytes: e.max_attachment_bytes,
        max_mail_bytes: e.max_mail_bytes,
        poll_interval: e.poll_interval,
        idle_renew: EmailSettings::DEFAULT_IDLE_RENEW,
        instance: instance.to_string(),
        timeout: config.bridge.delivery.timeout,
        sender_auth: match e.sender_auth {
            c2c_config::SenderAuth::Require => SenderAuth::Require,
            c2c_config::SenderAuth::IfPresent => SenderAuth::IfPresent,
        },
        trusted_authserv_ids: e.trusted_authserv_ids.clone(),
        key,
    }))
}

fn webhook_settings(config: &Config) -> WebhookSettings {
    let mut s = WebhookSettings { timeout: config.bridge.delivery.timeout, ..WebhookSettings::default() };
    if let Some(w) = &config.connectors.webhook {
        s.max_body_bytes = w.max_body_bytes;
        s.tolerance = w.tolerance;
    }
    s
}

/// The Matrix store cannot be used as configured (a passphrase missing, wrong, or given for a
/// plain store): a config error, at the passphrase setting, so the daemon stops at once (exit 2)
/// instead of retrying what cannot pass.
fn matrix_store_error(config: &Config, path: &Path, e: c2c_matrix::store::StoreError) -> anyhow::Error {
    let at = config.connectors.matrix.as_ref().and_then(|m| m.store_passphrase.as_ref()).map(|s| s.location().clone());
    let error = match at {
        Some(at) => at.error(e.to_string()),
        None => c2c_config::ConfigError {
            file: path.display().to_string(),
            line: 0,
            column: 0,
            path: "connectors.matrix.store_passphrase_env".into(),
            message: e.to_string(),
        },
    };
    anyhow::Error::new(BadConfig(error.into()))
}
