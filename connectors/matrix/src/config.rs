//! The Matrix connector's own settings, filled by the daemon: the bot account, its store, and
//! the portal rooms it keeps (one per partnership and member city on Matrix). The connector
//! knows rooms, names and invitees, not partnerships.

use std::path::PathBuf;

/// One portal room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Portal {
    /// The address deliveries use for it (`portal:PARTNERSHIP:CITY`, or the room id itself when
    /// the config names an existing room).
    pub key: String,
    /// Which partnership and city the room belongs to: inbound messages in it are theirs.
    pub partnership: String,
    pub city: String,
    /// Room name and topic for a room the bridge creates.
    pub name: String,
    pub topic: String,
    /// The city's contacts' Matrix ids: invited, and re-invited if they left.
    pub invite: Vec<String>,
    /// An existing room to use instead of creating one.
    pub room: Option<String>,
}

/// Everything the Matrix connector needs.
#[derive(Clone)]
pub struct MatrixSettings {
    pub homeserver: String,
    pub user: String,
    pub password: String,
    /// The matrix-sdk SQLite state and crypto store, and the saved session, live here.
    pub store_dir: PathBuf,
    pub encrypt_new_rooms: bool,
    /// Files posted in a portal room larger than this are not fetched (relayed as a note).
    pub max_attachment_bytes: u64,
    pub portals: Vec<Portal>,
}

impl std::fmt::Debug for MatrixSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatrixSettings")
            .field("homeserver", &self.homeserver)
            .field("user", &self.user)
            .field("password", &"***")
            .field("store_dir", &self.store_dir)
            .field("portals", &self.portals.len())
            .finish_non_exhaustive()
    }
}
