//! The webhook connector's settings, in its own terms (no partnerships, no contacts).

use std::collections::HashMap;
use std::time::Duration;

use crate::signature::SigningKeys;

/// One city that uses webhooks: where the bridge posts to it, and the keys that sign both
/// directions (the current secret, and the previous one while it is rotated out).
#[derive(Clone, Debug)]
pub struct WebhookCity {
    pub id: String,
    /// Parsed once, when the config is read, not at every delivery.
    pub url: reqwest::Url,
    pub keys: SigningKeys,
}

/// Limits and timeouts.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// Inbound bodies larger than this are refused with 413.
    pub max_body_bytes: usize,
    /// How far a `webhook-timestamp` may be from now, either way.
    pub tolerance: Duration,
    /// Outbound request timeout.
    pub timeout: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self { max_body_bytes: 1024 * 1024, tolerance: Duration::from_secs(300), timeout: Duration::from_secs(10) }
    }
}

/// The webhook cities by id.
pub type WebhookCities = HashMap<String, WebhookCity>;

/// The webhook cities, shared by the inbound routes and the outbound connector and replaced as
/// a whole when the config is reloaded.
#[derive(Clone, Debug, Default)]
pub struct SharedCities(std::sync::Arc<std::sync::RwLock<std::sync::Arc<WebhookCities>>>);

impl SharedCities {
    pub fn new(cities: WebhookCities) -> Self {
        Self(std::sync::Arc::new(std::sync::RwLock::new(std::sync::Arc::new(cities))))
    }

    /// The current set (a cheap snapshot).
    pub fn get(&self) -> std::sync::Arc<WebhookCities> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replace the set, e.g. after a config reload.
    pub fn replace(&self, cities: WebhookCities) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = std::sync::Arc::new(cities);
    }
}
