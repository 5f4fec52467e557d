//! Config reload, on SIGHUP and on `POST /api/reload`: the same checks either way.
//!
//! The file is read and validated again, with every secret it names (the webhook cities'
//! secrets and the admin tokens: a rotated one takes over here). If anything is wrong, nothing
//! changes and every problem is returned (`file:line:column: path: what`); else the daemon swaps
//! the `Live` config, the language tagger, the webhook cities' secrets and the admins, hands the
//! Matrix connector its new portal list and plans deliverables' reminders and digests again. `[bridge]`
//! keys read only at start-up and `[connectors]` need a restart: the answer names them.

use std::path::PathBuf;
use std::sync::Mutex;

use c2c_config::{Config, ConfigErrors};
use c2c_language::Tagger;
use c2c_matrix::MatrixConnector;
use c2c_webhook::config::SharedCities;
use serde::Serialize;

use crate::admins::Admins;
use crate::app::load_config;
use crate::channels::{matrix_settings, webhook_cities};
use crate::live::Live;
use crate::router::Router;

/// What a config reload replaces in the running daemon.
pub struct Reloadable {
    /// The config file, as the daemon was started with it.
    pub path: PathBuf,
    pub config: Live<Config>,
    pub tagger: Live<Tagger>,
    pub cities: SharedCities,
    /// Read again from their files or variables, so tokens can be rotated without a restart.
    pub admins: Live<Admins>,
    /// Its portal rooms follow the config (new rooms, contacts re-invited).
    pub matrix: Option<MatrixConnector>,
    /// Deliverables' reminders are planned again from the new config.
    pub router: Router,
    /// One reload at a time: a SIGHUP and an admin's request may come together.
    running: Mutex<()>,
}

impl std::fmt::Debug for Reloadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloadable").field("path", &self.path).finish_non_exhaustive()
    }
}

/// What a reload applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reloaded {
    /// The new config in one line (cities, contacts, partnerships, connectors).
    pub summary: String,
    /// Changed settings that take effect only at the next restart: `[bridge]` keys, and
    /// `connectors` for anything under `[connectors]`.
    pub restart_needed: Vec<&'static str>,
}

impl Reloadable {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        path: PathBuf,
        config: Live<Config>,
        tagger: Live<Tagger>,
        cities: SharedCities,
        admins: Live<Admins>,
        matrix: Option<MatrixConnector>,
        router: Router,
    ) -> Self {
        Self { path, config, tagger, cities, admins, matrix, router, running: Mutex::new(()) }
    }

    /// Apply the config file if it is valid, as asked by `by` (`SIGHUP` or an admin's id); keep
    /// the running one and return every problem otherwise. Logged either way.
    pub fn reload(&self, by: &str) -> Result<Reloaded, ConfigErrors> {
        let _one_at_a_time = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let prepared = load_config(&self.path).map_err(|e| e.0).and_then(|new| {
            // Every problem at once: the cities' secrets, the admins' tokens, the Matrix settings.
            let cities = webhook_cities(&new);
            let admins = Admins::load(&new);
            let matrix = matrix_settings(&new);
            let mut errors = Vec::new();
            if let Err(e) = &cities {
                errors.extend(e.iter().cloned());
            }
            if let Err(e) = &admins {
                errors.extend(e.iter().cloned());
            }
            if let Err(e) = &matrix {
                errors.push(e.clone());
            }
            match (cities, admins, matrix) {
                (Ok(c), Ok(a), Ok(m)) => Ok((new, c, a, m)),
                _ => Err(ConfigErrors(errors)),
            }
        });
        let (new, cities, admins, matrix) = match prepared {
            Ok(p) => p,
            Err(errors) => {
                tracing::error!(by = %by, errors = %errors, "config reload refused; the running config stays");
                return Err(errors);
            }
        };
        let old = self.config.get();
        let mut restart_needed = fixed_until_restart(&old.bridge, &new.bridge);
        if !restart_needed.is_empty() {
            tracing::warn!(keys = %restart_needed.join(", "), "these [bridge] changes take effect at the next restart");
        }
        if old.federation != new.federation || old.peers != new.peers {
            tracing::warn!("changes under [federation] and [[peers]] take effect at the next restart");
            restart_needed.push("federation");
        }
        if old.connectors != new.connectors {
            tracing::warn!("changes under [connectors] take effect at the next restart");
            restart_needed.push("connectors");
        }
        self.tagger.replace(Tagger::new(new.languages_mentioned()));
        self.cities.replace(cities);
        self.admins.replace(admins);
        let summary = new.summary();
        tracing::info!(by = %by, summary = %summary, "config reloaded");
        self.config.replace(new);
        if let (Some(connector), Some(settings)) = (&self.matrix, matrix) {
            let connector = connector.clone();
            tokio::spawn(async move { connector.reload_portals(settings.portals).await });
        }
        let router = self.router.clone();
        tokio::spawn(async move {
            if !router.plan_follow_up().await {
                tracing::warn!(
                    "could not plan deliverable reminders and digests after the reload; they are planned at the next start"
                );
            }
        });
        Ok(Reloaded { summary, restart_needed })
    }
}

/// The `[bridge]` keys that differ between `old` and `new` but are read only at start-up (the
/// store, the listener, the scheduler and the committer are built from them), so that a reload
/// can say so rather than appear to apply them.
fn fixed_until_restart(old: &c2c_config::Bridge, new: &c2c_config::Bridge) -> Vec<&'static str> {
    let (a, b) = (&old.delivery, &new.delivery);
    [
        ("name", old.name != new.name),
        ("data_dir", old.data_dir != new.data_dir),
        ("listen", old.listen != new.listen),
        ("instance", old.instance != new.instance),
        ("commit", old.commit != new.commit),
        ("store", old.store != new.store),
        ("store_cache", old.store_cache != new.store_cache),
        ("commit_window", old.commit_window != new.commit_window),
        ("request_timeout", old.request_timeout != new.request_timeout),
        ("max_connections", old.max_connections != new.max_connections),
        ("max_connections_per_client", old.max_connections_per_client != new.max_connections_per_client),
        ("delivery.initial_backoff", a.initial_backoff != b.initial_backoff),
        ("delivery.max_backoff", a.max_backoff != b.max_backoff),
        ("delivery.give_up_after", a.give_up_after != b.give_up_after),
        ("delivery.delay_warning_after", a.delay_warning_after != b.delay_warning_after),
        ("delivery.jitter", a.jitter != b.jitter),
        ("delivery.concurrency", a.concurrency != b.concurrency),
        ("delivery.timeout", a.timeout != b.timeout),
        ("delivery.drain_timeout", a.drain_timeout != b.drain_timeout),
    ]
    .into_iter()
    .filter_map(|(key, changed)| changed.then_some(key))
    .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn a_reload_names_the_bridge_keys_that_wait_for_a_restart() {
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/example.toml"));
        let old = Config::parse(&std::fs::read_to_string(path).unwrap(), path).unwrap();
        assert!(fixed_until_restart(&old.bridge, &old.bridge).is_empty());
        let mut new = old.clone();
        new.bridge.listen = "127.0.0.1:1".parse().unwrap();
        new.bridge.delivery.give_up_after *= 2;
        assert_eq!(fixed_until_restart(&old.bridge, &new.bridge), vec!["listen", "delivery.give_up_after"]);
    }
}
