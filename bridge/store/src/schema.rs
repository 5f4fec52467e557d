//! The schema version of a store and the hook that migrates older stores on open.
//!
//! Version history:
//! - 1: the first layout (see [`crate::keys`]).
//! - 2: a conversation keeps every endpoint's thread in `threads` (`c2c_core::thread`) instead
//!   of `thread_keys`, `email_threads` and `peer_sent`. Records of version 1 are read as they
//!   are (the old fields decode into `threads`) and rewritten as they change, so the step
//!   rewrites nothing; the version says that a build of version 1, which needs `thread_keys`,
//!   must not open the store.
//!
//! To change the layout: bump [`CURRENT`], add a step to [`migrate`] that rewrites a store of
//! the previous version in place, and add a test that opens a store written in the old layout.

use crate::keys;
use crate::kv::{Kv, Op};

/// The layout this build writes.
pub const CURRENT: u32 = 2;

/// Why a store could not be brought to [`CURRENT`].
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "the store has schema version {found}, newer than this build understands ({CURRENT}); run a newer c2c-bridge"
    )]
    TooNew { found: u32 },
    #[error("the store's schema version key is unreadable: {0:?}")]
    Unreadable(Vec<u8>),
    /// The store's files were there, but sled read no version from them: they do not hold what
    /// this bridge wrote (sled reads a log whose start is overwritten as an empty store).
    #[error("its files hold no schema version, so not what this bridge wrote")]
    Missing,
    #[error(transparent)]
    Store(#[from] c2c_core::StoreError),
}

/// Read the version, initialise a new store, or migrate an old one, on any engine. Returns the
/// version found. `existed`: the store's files were there before this open (then a missing
/// version is damage, not a new store).
pub fn ensure_current(kv: &impl Kv, existed: bool) -> Result<u32, SchemaError> {
    let found = match kv.get(keys::SCHEMA_VERSION)? {
        Some(v) => std::str::from_utf8(&v)
            .ok()
            .and_then(|s| s.parse::<u32>().ok())
            .ok_or_else(|| SchemaError::Unreadable(v.to_vec()))?,
        None if existed => return Err(SchemaError::Missing),
        // A store without a version key is new (nothing else can exist before it is written).
        None => {
            set_version(kv, CURRENT)?;
            return Ok(CURRENT);
        }
    };
    if found > CURRENT {
        return Err(SchemaError::TooNew { found });
    }
    migrate(kv, found)?;
    Ok(found)
}

/// Apply every migration step from `from` up to [`CURRENT`].
fn migrate(kv: &impl Kv, from: u32) -> Result<(), SchemaError> {
    #[allow(clippy::match_single_binding)]
    for version in from..CURRENT {
        match version {
            // `n => migrate_n_to_n_plus_1(kv)?,` goes here when the layout changes.
            // 1 => 2: nothing to rewrite (see the version history above).
            _ => {}
        }
        set_version(kv, version + 1)?;
    }
    Ok(())
}

fn set_version(kv: &impl Kv, version: u32) -> Result<(), SchemaError> {
    kv.apply(vec![Op::Put(keys::SCHEMA_VERSION.to_vec(), version.to_string().into_bytes())])?;
    Ok(())
}
