//! [`WebhookConnector`]: delivers outbox entries to cities' systems over HTTP.
//!
//! 2xx is delivered; 408, 429 and 5xx (and network errors) are retried, honouring a
//! `Retry-After` in seconds; any other status (redirects included: they are not followed) is a
//! permanent failure. The `webhook-id` header is the outbox entry id, so it is the same on
//! every retry and the receiver can deduplicate.

use std::time::Duration;

use async_trait::async_trait;
use c2c_core::{Channel, Connector, Delivery, DeliveryError, Receipt};
use reqwest::StatusCode;

use crate::config::{SharedCities, WebhookSettings};
use crate::convert::post_for;

/// The outbound half of the webhook channel.
#[derive(Debug, Clone)]
pub struct WebhookConnector {
    client: reqwest::Client,
    cities: SharedCities,
    /// Shown as the sender of what the bridge itself says.
    bridge_name: String,
}

impl WebhookConnector {
    pub fn new(cities: SharedCities, settings: &WebhookSettings, bridge_name: impl Into<String>) -> Self {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(256)
            .tcp_nodelay(true)
            .user_agent(concat!("c2c-bridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds with static settings");
        Self { client, cities, bridge_name: bridge_name.into() }
    }
}

#[async_trait]
impl Connector for WebhookConnector {
    fn channel(&self) -> Channel {
        Channel::Webhook
    }

    async fn deliver(&self, delivery: &Delivery) -> Result<Receipt, DeliveryError> {
        let city_id = &delivery.entry.recipient.address;
        let cities = self.cities.get();
        let city = cities
            .get(city_id)
            .ok_or_else(|| DeliveryError::permanent(format!("city `{city_id}` has no webhook configured")))?;
        let body = serde_json::to_vec(&post_for(delivery, &self.bridge_name))
            .map_err(|e| DeliveryError::permanent(format!("encoding the body: {e}")))?;
        let id = delivery.entry.id.to_string();
        let timestamp = c2c_core::now_ms() / 1000;
        // One signature per key during a rotation: a receiver holding either verifies it.
        let signature = city.keys.sign(&id, timestamp, &body);
        let response = self
            .client
            .post(city.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            // Without the URL: the reason may reach the author (in another city) in a notice,
            // and a city's endpoint can be an intranet address or carry a token.
            .map_err(|e| {
                DeliveryError::temporary(format!(
                    "POST to {}'s endpoint: {}",
                    delivery.entry.recipient.city,
                    error_chain(&e.without_url())
                ))
            })?;
        classify(response.status(), response.headers())
    }
}

fn classify(status: StatusCode, headers: &reqwest::header::HeaderMap) -> Result<Receipt, DeliveryError> {
    if status.is_success() {
        return Ok(Receipt::default());
    }
    let reason = format!("HTTP {status}");
    if status == StatusCode::REQUEST_TIMEOUT || status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        Err(DeliveryError::Temporary { reason, retry_after: retry_after(headers) })
    } else {
        Err(DeliveryError::Permanent { reason })
    }
}

/// A `Retry-After` given in seconds (the form receivers use for a retry within the day).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// An error with its sources, `outer: inner: ...` (reqwest's own message says little).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        let h = reqwest::header::HeaderMap::new();
        assert!(classify(StatusCode::NO_CONTENT, &h).is_ok());
        for s in [408, 429, 500, 502, 503] {
            assert!(classify(StatusCode::from_u16(s).unwrap(), &h).unwrap_err().is_retryable(), "{s}");
        }
        for s in [301, 400, 401, 404, 410, 422] {
            assert!(!classify(StatusCode::from_u16(s).unwrap(), &h).unwrap_err().is_retryable(), "{s}");
        }
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(
            classify(StatusCode::SERVICE_UNAVAILABLE, &h).unwrap_err(),
            DeliveryError::Temporary {
                reason: "HTTP 503 Service Unavailable".into(),
                retry_after: Some(Duration::from_secs(7))
            }
        );
    }
}
