//! The Matrix connector: officers chat from Element (or any Matrix client), in encrypted rooms,
//! with each conversation a Matrix thread.
//!
//! # Layout
//! - [`config`]: the bot account, its store, the portal rooms (from the daemon).
//! - [`store`]: the bot's store directory: private (0700/0600), encrypted with a passphrase.
//! - [`session`]: log in once, keep the same device (session saved beside the crypto store).
//! - [`portal`]: create or join the portal rooms, invite the city's contacts.
//! - [`convert`]: events → envelopes (threads, replies, edits, redactions); deliveries →
//!   event content (author line, Matrix HTML subset, language tag).
//! - [`attachment`]: attachments uploaded (encrypted in encrypted rooms) as events in the thread.
//! - [`media`]: files posted in Matrix fetched, streamed within the size limit, decrypted.
//! - [`unfetched`]: files the homeserver fails to hand over, retried within a stored bound.
//! - [`html`]: the Matrix HTML subset.
//! - [`state`]: sync token and rooms, kept in the bridge's store.
//! - [`threading`]: a room's thread of a conversation hangs from one root event.
//! - [`gap`]: events a limited sync left out, fetched with `/messages`.
//! - [`held`]: a room's events held back behind one that must wait, in order.
//! - [`pending`]: encrypted events waiting for their keys.
//! - [`connector`]: [`MatrixConnector`], the sync loop and delivery.

pub mod attachment;
pub mod config;
pub mod connector;
pub mod convert;
pub mod gap;
pub mod held;
pub mod html;
pub mod media;
pub mod pending;
pub mod portal;
pub mod session;
pub mod state;
pub mod store;
pub mod threading;
pub mod unfetched;

pub use config::{MatrixSettings, Portal};
pub use connector::MatrixConnector;
pub use threading::MatrixThreading;
