//! The connector's small durable state (sync token, portal rooms), kept in the bridge's store
//! through the inbox. Thread roots are the router's now (see [`crate::threading`]); the ones
//! kept here before are read once, by the first delivery that needs them.

use std::sync::Arc;

use c2c_core::Inbox;

/// Load and save connector state.
#[derive(Clone)]
pub struct State(pub Arc<dyn Inbox>);

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("State")
    }
}

impl State {
    pub async fn load(&self, key: &str) -> Option<String> {
        self.0.load_state(key).await
    }

    pub async fn save(&self, key: &str, value: &str) -> bool {
        self.0.save_state(key, value).await
    }
}

/// The state key under which a conversation's thread root in a room was kept before the
/// router kept threads (read only).
pub fn root_key(room: &str, conversation: &str) -> String {
    format!("matrix:root:{room}:{conversation}")
}
