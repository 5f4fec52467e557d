//! The vocabulary of c2c-bridge, shared by the daemon, the store and every connector.
//!
//! This crate does no network or disk I/O. It names the things the product talks about
//! (`../shared/design/product.md`): a message travels as an [`Envelope`] from an inbound
//! connector to the router, is committed as a [`Message`] in a [`Conversation`], and leaves as
//! one [`OutboxEntry`] per recipient endpoint, handed to an outbound connector as a [`Delivery`].
//!
//! # Layout
//! - [`ids`]: message and conversation ids (ULIDs, unique across instances) and timestamps.
//! - [`instance_key`]: the instance's secret, and the unguessable names it tags (email
//!   Message-IDs and return paths).
//! - [`channel`]: the three channels and the addresses a message arrives on or goes to.
//! - [`envelope`]: what an inbound connector produces; the router fills in author and language.
//! - [`followup`]: timed records (reminders due), what a member owes, deliverables' state.
//! - [`filename`]: attachment file names from senders, cleaned the same way on every channel.
//! - [`record`]: what the store keeps: messages, conversations, outbox entries.
//! - [`retention`]: what retention deletes ([`Forget`]) and keeps of it ([`WeekTally`]).
//! - [`thread`]: each endpoint's thread of a conversation, and how a channel continues it.
//! - [`connector`]: the connector trait, the inbox connectors submit to, delivery errors that say
//!   whether a retry helps, and the refusal reasons every channel shares.
//! - [`store`]: the store trait and its atomic, durable [`Commit`].
//! - [`memory`]: an in-memory store for unit tests of the router and as a second backend for the
//!   conformance suite.
//! - `conformance` (feature `conformance`): one test suite every store backend must pass.

pub mod channel;
pub mod connector;
pub mod envelope;
pub mod filename;
pub mod followup;
pub mod ids;
pub mod instance_key;
pub mod memory;
pub mod record;
pub mod retention;
pub mod store;
pub mod thread;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

pub use channel::{Channel, Origin, Recipient};
pub use connector::{
    Accepted, AttachmentDrop, BounceReport, Connector, ConnectorError, Delivery, DeliveryError, Health, Inbox, Receipt,
    Refusal, RefusalReason, Replica,
};
pub use envelope::{Attachment, Author, Envelope, LanguageTag, ThreadRef};
pub use filename::clean_filename;
pub use followup::{DeliverableState, Owing, ReminderInfo, ReminderReason, Timer, TimerKey, TimerWhat};
pub use ids::{ConversationId, MessageId, Millis, OutboxId, now_ms};
pub use instance_key::InstanceKey;
pub use record::{Conversation, DeliveryStatus, Message, MessageKind, OutboxEntry};
pub use retention::{Forget, WeekTally};
pub use store::{Commit, NativeKey, NativeRef, Staged, Store, StoreError};
pub use thread::{Keep, Threading, Threads};

/// Cancelled when the daemon is asked to stop; every long-running task selects on it.
pub type Shutdown = tokio_util::sync::CancellationToken;
