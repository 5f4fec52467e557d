//! Federation between c2c-bridge instances (issue 16): each city network runs its own instance,
//! authoritative for its own cities, and a partnership may span instances.
//!
//! # Layout
//! - [`wire`]: the envelope one instance sends another ([`wire::PeerEnvelope`], version 1) and
//!   how it becomes a [`c2c_core::Replica`] the receiving router commits under the origin's ids.
//! - [`inbox`]: a request's signing and checking (`v1a` signatures under pinned keys, the
//!   destination, the timestamp).
//! - [`inbound`]: `POST /peer/v1/inbox`, answered once the replica is durable (409 `gap` when
//!   its `prev` has not arrived).
//! - [`outbound`]: [`PeerConnector`], which sends outbox entries to peers.
//! - [`threading`]: a peer's thread of a conversation, the `prev` of the next envelope.
//! - [`directory`]: the signed `GET /peer/v1/directory` exchange.
//! - [`routes`]: the unsigned routes (`GET /peer/v1/version`, `GET /peer/v1/keys`).

pub mod directory;
pub mod inbound;
pub mod inbox;
pub mod outbound;
pub mod routes;
pub mod threading;
pub mod wire;

pub use outbound::PeerConnector;
pub use routes::Identity;
pub use threading::PeerThreading;
pub use wire::{GlobalId, PeerEnvelope, VERSION, WireError};
