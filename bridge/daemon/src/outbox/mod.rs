//! The outbox: delivering committed messages, in order, with retries.
//!
//! # Layout
//! - [`backoff`]: the retry schedule.
//! - [`low_mark`]: moving the start of the next start's pending scan past what is done.
//! - [`queues`]: the rules, on a clock the caller passes in: per-(conversation, endpoint)
//!   queues, down endpoints and their probes, what is due for a delay notice or to be given up.
//! - [`scheduler`]: the loop around them: attempts through the connectors with bounded
//!   concurrency, outcome records, notices through the committer, and drain on shutdown.
//! - [`snapshot`]: what the scheduler publishes about its queues for the admin's status.
//! - [`view`]: the admin's listing of outbox entries (`GET /api/outbox`).

pub mod backoff;
pub mod low_mark;
pub mod queues;
pub mod scheduler;
pub mod snapshot;
pub mod view;

#[cfg(test)]
mod thread_tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use c2c_core::{Message, OutboxEntry};

pub use backoff::RetrySchedule;
pub use scheduler::Scheduler;

/// What deliveries of one message need besides their entries, captured when the message was
/// committed so the scheduler need not read it back. Only entries about to be attempted keep
/// it (see [`queues`]); the others, and entries resumed from the store at start, read it.
#[derive(Debug)]
pub struct Context {
    pub message: Message,
    /// The conversation's subject.
    pub subject: String,
    /// The instance that opened the conversation.
    pub conversation_instance: String,
    /// The thread of each recipient endpoint whose channel does not stamp its entries, at
    /// commit time (see `c2c_core::thread`); an endpoint not here is read when delivering.
    pub threads: BTreeMap<String, Vec<String>>,
}

/// A delivery the connector reported as made has bounced (e.g. an email DSN).
#[derive(Debug)]
pub struct Bounce {
    pub report: c2c_core::BounceReport,
    /// Answered `true` once the failure (and the notice to the author) is durable.
    pub done: tokio::sync::oneshot::Sender<bool>,
}

/// What the router tells the scheduler besides new entries.
#[derive(Debug)]
pub enum Signal {
    /// A delivery bounced.
    Bounce(Bounce),
    /// An endpoint ([`c2c_core::Recipient::endpoint_key`]) was heard from (a peer instance's
    /// signed request came in): if it is down, probe it now.
    Heard(String),
}

/// An outbox entry waiting in the scheduler.
#[derive(Debug, Clone)]
pub struct Queued {
    pub entry: OutboxEntry,
    pub context: Option<Arc<Context>>,
}
