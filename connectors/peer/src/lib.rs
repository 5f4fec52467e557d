//! Federation between c2c-bridge instances (issue 16): each city network runs its own instance,
//! authoritative for its own cities, and a partnership may span instances.
//!
//! So far this crate holds the wire format: [`wire::PeerEnvelope`], version 1, the message one
//! instance sends another, and how it becomes a [`c2c_core::Replica`] the receiving router
//! commits under the origin's ids; a request's signing and checking ([`inbox`]: `v1a`
//! signatures under pinned keys, the destination, the timestamp); and the unsigned routes
//! ([`routes`]: `GET /peer/v1/version`, `GET /peer/v1/keys`). The connector itself (sending
//! from the outbox, the `POST /peer/v1/inbox` route, the directory exchange) is not built yet.

pub mod directory;
pub mod inbound;
pub mod inbox;
pub mod outbound;
pub mod routes;
pub mod wire;

pub use outbound::PeerConnector;
pub use routes::Identity;
pub use wire::{GlobalId, PeerEnvelope, VERSION, WireError};
