//! How Matrix threads continue (see `c2c_core::thread`): a portal room's thread of a
//! conversation hangs from one root event, set once: the officer's top-level post that started
//! it, or the first event the bridge posted in that room for it (reported in
//! `Receipt::thread`, since its id is known only once the homeserver answers).

use c2c_core::{Envelope, Keep, Threading};

#[derive(Debug, Default)]
pub struct MatrixThreading;

impl Threading for MatrixThreading {
    fn keep(&self) -> Keep {
        Keep::First
    }

    /// A top-level post (no thread, no reply) is the root of its room's thread.
    fn inbound(&self, env: &Envelope, _author_city: &str) -> Option<(String, Vec<String>)> {
        if !env.thread_refs.is_empty() {
            return None;
        }
        let event = env.reply_anchor.as_ref()?;
        Some((env.origin.address.clone(), vec![event.clone()]))
    }

    fn learns_from_receipts(&self) -> bool {
        true
    }
}
