//! The Matrix connector's own settings, filled by the daemon: the bot account, its store, and
//! the portal rooms it keeps (one per partnership and member city on Matrix). The connector
//! knows rooms, names and invitees, not partnerships.

use std::path::PathBuf;
use std::time::Duration;

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
    /// The passphrase the SQLite stores are encrypted with; `None`: not encrypted.
    pub store_passphrase: Option<String>,
    pub encrypt_new_rooms: bool,
    /// Files posted in a portal room larger than this are not fetched (relayed as a note).
    pub max_attachment_bytes: u64,
    /// A file the homeserver fails to hand over (transport failure, server error) is tried again
    /// with its batch; after this long (and a few attempts) the post is relayed with a note.
    pub file_fetch_give_up_after: Duration,
    pub portals: Vec<Portal>,
}

impl std::fmt::Debug for MatrixSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatrixSettings")
            .field("homeserver", &self.homeserver)
            .field("user", &self.user)
            .field("password", &"***")
            .field("store_dir", &self.store_dir)
            .field("store_passphrase", &self.store_passphrase.as_ref().map(|_| "***"))
            .field("file_fetch_give_up_after", &self.file_fetch_give_up_after)
            .field("portals", &self.portals.len())
            .finish_non_exhaustive()
    }
}
