//! How a city system's threads continue (see `c2c_core::thread`): a city's thread of a
//! conversation is the thread key its system last used for it, sent back as `thread_key` on
//! every delivery to that city.

use c2c_core::{Envelope, Keep, Threading};

#[derive(Debug, Default)]
pub struct WebhookThreading;

impl Threading for WebhookThreading {
    fn keep(&self) -> Keep {
        Keep::Latest
    }

    /// A post's thread key becomes its city's (a webhook endpoint is its city).
    fn inbound(&self, env: &Envelope, author_city: &str) -> Option<(String, Vec<String>)> {
        let key = env.thread_key.as_ref()?;
        Some((author_city.to_string(), vec![key.clone()]))
    }
}
