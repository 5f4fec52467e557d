//! [`PeerConnector`]: the sending half of federation. An outbox entry for a peer instance is
//! one (message, peer); it goes as a signed [`PeerEnvelope`] to the peer's
//! `POST /peer/v1/inbox`.
//!
//! `webhook-id` is the outbox entry id, the same on every retry, and the receiver dedupes on
//! the message's global id: a retry after a lost answer gets the first answer and creates
//! nothing. During a key rotation every request carries one signature per key
//! (`[federation] key_file` and `previous_key_file`), so a peer that pinned either believes it.
//!
//! 2xx is delivered. 400 (not an envelope the peer reads) and 413 (too large for it) fail for
//! good: the same bytes again cannot help. Every other answer is worth retrying: a 401 (our
//! key not pinned there yet, or clocks apart), 403, 404 and 422 (the peer's config does not
//! declare the city or partnership yet), 409 (a gap: the message before this one is on its
//! way), 5xx and connection errors. Instances' configs change by hand and out of step; the
//! outbox's retry by age (days) gives their admins time, probes a peer that is down instead of
//! hammering it, and tells the author when a delivery is late.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use c2c_core::{Channel, Connector, Delivery, DeliveryError, Inbox, Receipt};
use c2c_webhook::outbound::{error_chain, retry_after};
use c2c_webhook::signature::asymmetric::SecretKey;
use reqwest::StatusCode;

use crate::inbox::sign;
use crate::wire::{GlobalId, PeerEnvelope};

/// The outbound half of the peer channel.
pub struct PeerConnector {
    client: reqwest::Client,
    /// This instance's id (`[bridge] instance`): the envelopes' origin.
    instance: String,
    /// The signing keys: the current one, then the previous one during a rotation.
    keys: Vec<SecretKey>,
    /// Each peer's inbox URL.
    inboxes: HashMap<String, String>,
    /// Where a delivery a peer asks for again is scheduled again (`None`: nowhere).
    redeliver: Option<Arc<dyn Inbox>>,
}

impl std::fmt::Debug for PeerConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerConnector").field("instance", &self.instance).finish_non_exhaustive()
    }
}

impl PeerConnector {
    /// A connector signing as `instance` with `keys` (current first), sending to `peers`
    /// (id, base URL); `timeout` bounds each request.
    pub fn new(
        instance: impl Into<String>,
        keys: Vec<SecretKey>,
        peers: impl IntoIterator<Item = (String, String)>,
        timeout: Duration,
    ) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            .user_agent(concat!("c2c-bridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds with static settings");
        let inboxes = peers.into_iter().map(|(id, url)| (id, inbox_url(&url))).collect();
        Self { client, instance: instance.into(), keys, inboxes, redeliver: None }
    }

    /// When a peer answers `gap` (the message before this one never reached it), schedule the
    /// delivery of that message again through `inbox`, if it had failed for good.
    pub fn redelivering_through(mut self, inbox: Arc<dyn Inbox>) -> Self {
        self.redeliver = Some(inbox);
        self
    }

    /// The envelope of `delivery` for its peer.
    pub fn envelope(&self, delivery: &Delivery) -> Result<PeerEnvelope, DeliveryError> {
        let peer = &delivery.entry.recipient.address;
        let message = &delivery.message;
        let conversation = GlobalId::new(&delivery.conversation_instance, message.conversation);
        // Stamped at commit: the message this peer was sent before in this conversation.
        let prev = match delivery.entry.references.first() {
            Some(id) => Some(id.parse().map_err(|e| DeliveryError::permanent(format!("the previous message: {e}")))?),
            None => None,
        };
        PeerEnvelope::from_message(&self.instance, peer, message, conversation, prev)
            .ok_or_else(|| DeliveryError::permanent("only posts go to peers; this message has no author"))
    }
}

/// `{base}/peer/v1/inbox`, whether or not the base ends with a slash.
fn inbox_url(base: &str) -> String {
    format!("{}/peer/v1/inbox", base.trim_end_matches('/'))
}

#[async_trait]
impl Connector for PeerConnector {
    fn channel(&self) -> Channel {
        Channel::Peer
    }

    async fn deliver(&self, delivery: &Delivery) -> Result<Receipt, DeliveryError> {
        let peer = &delivery.entry.recipient.address;
        let url = self
            .inboxes
            .get(peer)
            .ok_or_else(|| DeliveryError::permanent(format!("no [[peers]] entry for instance `{peer}`")))?;
        let envelope = self.envelope(delivery)?;
        let request = sign(&envelope, &delivery.entry.id.to_string(), &self.keys, c2c_core::now_ms() / 1000);
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &request.id)
            .header("webhook-timestamp", &request.timestamp)
            .header("webhook-signature", &request.signature)
            .body(request.body)
            .send()
            .await
            // Without the URL, as the webhook connector does: the reason may reach an author.
            .map_err(|e| {
                DeliveryError::temporary(format!("POST to instance {peer}: {}", error_chain(&e.without_url())))
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(Receipt::default());
        }
        let retry_after = retry_after(response.headers());
        let body = response.text().await.unwrap_or_default();
        if status == StatusCode::CONFLICT
            && serde_json::from_str::<serde_json::Value>(&body).is_ok_and(|v| v["code"] == "gap")
        {
            self.ask_again(delivery).await;
        }
        // The peer's reason, as its inbox wrote it (bounded: it is another machine's text).
        let said: String = body.chars().take(300).collect();
        let reason = format!("instance {peer} answered HTTP {status}: {said}");
        Err(classify(status, reason, retry_after))
    }
}

impl PeerConnector {
    /// The peer lacks this delivery's `prev`: its delivery is scheduled again if it failed for
    /// good (if it is still pending, it is on its way: nothing to do).
    async fn ask_again(&self, delivery: &Delivery) {
        let (Some(inbox), Some((seq, entry))) =
            (&self.redeliver, delivery.entry.references.get(1).and_then(|h| crate::threading::parse_handle(h)))
        else {
            return;
        };
        if inbox.redeliver(seq, entry.clone()).await {
            tracing::info!(
                peer = %delivery.entry.recipient.address,
                entry = %entry,
                "a peer asked again for a message whose delivery had failed for good: scheduled again"
            );
        }
    }
}

fn classify(status: StatusCode, reason: String, retry_after: Option<Duration>) -> DeliveryError {
    if status == StatusCode::BAD_REQUEST || status == StatusCode::PAYLOAD_TOO_LARGE {
        DeliveryError::Permanent { reason }
    } else {
        DeliveryError::Temporary { reason, retry_after }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use c2c_core::conformance::{sample_conversation, sample_entry, sample_message};
    use c2c_core::{Channel, Recipient};

    fn delivery(references: Vec<String>) -> Delivery {
        let conversation = sample_conversation("p");
        let mut message = sample_message(&conversation, 1);
        message.origin_instance = "brlc".into();
        let mut entry = sample_entry(&message, 0);
        entry.recipient =
            Recipient { city: "leeds".into(), contact: None, channel: Channel::Peer, address: "uk-lga".into() };
        entry.references = references;
        Delivery {
            entry,
            subject: message.subject.clone(),
            conversation_instance: "citynet".into(),
            message,
            thread: Vec::new(),
            partnership_language: "en".into(),
            recipient_name: None,
        }
    }

    #[test]
    fn a_delivery_becomes_the_envelope_for_its_peer() {
        let c = PeerConnector::new("brlc", vec![], [], Duration::from_secs(1));
        let prev = format!("brlc:{}", c2c_core::MessageId::new());
        let d = delivery(vec![prev.clone()]);
        let e = c.envelope(&d).unwrap();
        assert_eq!((e.origin.as_str(), e.destination.as_str()), ("brlc", "uk-lga"));
        assert_eq!(e.message, GlobalId::new("brlc", d.message.id));
        assert_eq!(e.conversation, GlobalId::new("citynet", d.message.conversation), "named by its owner");
        assert_eq!(e.prev.map(|p| p.to_string()), Some(prev));
        assert_eq!(c.envelope(&delivery(vec![])).unwrap().prev, None);
        let mut bridge_written = delivery(vec![]);
        bridge_written.message.author = None;
        assert!(!c.envelope(&bridge_written).unwrap_err().is_retryable());
    }

    #[test]
    fn statuses_are_classified() {
        for s in [400, 413] {
            assert!(!classify(StatusCode::from_u16(s).unwrap(), "x".into(), None).is_retryable(), "{s}");
        }
        for s in [401, 403, 404, 409, 422, 429, 500, 503] {
            assert!(classify(StatusCode::from_u16(s).unwrap(), "x".into(), None).is_retryable(), "{s}");
        }
    }

    #[test]
    fn inbox_urls_join_with_one_slash() {
        assert_eq!(inbox_url("https://c2c.uk-lga.example/"), "https://c2c.uk-lga.example/peer/v1/inbox");
        assert_eq!(inbox_url("http://127.0.0.1:9/citynet"), "http://127.0.0.1:9/citynet/peer/v1/inbox");
    }
}
