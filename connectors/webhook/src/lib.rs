//! The signed-webhook connector: a city's own system talks to the bridge over HTTP.
//!
//! Inbound, a city's system POSTs JSON to `/hooks/{city_id}`, signed per the Standard Webhooks
//! spec with the city's `whsec_` secret; outbound, the bridge POSTs JSON to the city's URL,
//! signed the same way, with a `webhook-id` that stays the same across retries. The wire formats
//! are the ones in `product.md`.
//!
//! # Layout
//! - [`config`]: the connector's own settings (city URLs and secrets, limits), filled by the daemon.
//! - [`signature`]: Standard Webhooks signing and verification: `v1` (HMAC, a city's `whsec_`
//!   secret) here, `v1a` (ed25519, `whsk_` / `whpk_` keys, for federation) in
//!   [`signature::asymmetric`], and the `whsk_` key file in [`signature::key_file`].
//! - [`wire`]: the inbound and outbound JSON shapes.
//! - [`convert`]: wire JSON ↔ envelope / delivery.
//! - [`intake`]: what the route does with the untrusted bytes (no HTTP): the answer to a bad
//!   signature, the JSON body read into an envelope. Fuzzed in `fuzz/`.
//! - [`inbound`]: the axum routes for `POST /hooks/{city_id}`.
//! - [`outbound`]: [`WebhookConnector`], which delivers over HTTP.
//! - [`threading`]: a city's thread of a conversation is its system's latest thread key.
//! - [`error`]: how refusals map to HTTP answers.

pub mod config;
pub mod convert;
pub mod error;
pub mod inbound;
pub mod intake;
pub mod outbound;
pub mod signature;
pub mod threading;
pub mod wire;

pub use config::{WebhookCity, WebhookSettings};
pub use outbound::WebhookConnector;
pub use signature::{KeyUsed, SigningKeys, SigningSecret, VerifyError};
pub use threading::WebhookThreading;
