//! The outbox: delivering committed messages, in order, with retries.
//!
//! # Layout
//! - [`backoff`]: the retry schedule.
//! - [`scheduler`]: per-(conversation, endpoint) queues, timers, bounded concurrency, status
//!   records, and drain on shutdown.

pub mod backoff;
pub mod scheduler;

pub use backoff::RetrySchedule;
pub use scheduler::Scheduler;
