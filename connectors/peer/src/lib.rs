//! Federation between c2c-bridge instances (issue 16): each city network runs its own instance,
//! authoritative for its own cities, and a partnership may span instances.
//!
//! So far this crate holds the wire format: [`wire::PeerEnvelope`], version 1, the message one
//! instance sends another, and how it becomes a [`c2c_core::Replica`] the receiving router
//! commits under the origin's ids. The connector itself (signed requests to `POST
//! /peer/v1/inbox`, the trust rules, the directory exchange) is not built yet.

pub mod wire;

pub use wire::{GlobalId, PeerEnvelope, VERSION, WireError};
