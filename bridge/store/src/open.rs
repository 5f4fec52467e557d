//! Why a store could not be opened ([`OpenError`], on either engine), and waiting for another
//! process to let go of it.

use std::time::{Duration, Instant};

use crate::schema::SchemaError;

/// The store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open the store at {path}: {source}")]
    Sled { path: String, source: sled::Error },
    /// The engine could not open the store (other than for the reasons below).
    #[error("cannot open the store at {path}: {detail}")]
    Engine { path: String, detail: String },
    /// The directory holds a store of the other engine.
    #[error(
        "the store at {path} was written by {found}, but the config asks for {asked}: set `[bridge] store = \"{found}\"` (or `c2c-bridge store migrate` it)"
    )]
    OtherEngine { path: String, found: &'static str, asked: &'static str },
    /// Another process (a running daemon) holds the store.
    #[error("the store at {path} is in use by another process (a running daemon?)")]
    InUse { path: String },
    /// The store's files cannot be read back: restarting will not help.
    #[error(
        "the store at {path} is damaged and cannot be opened (its file {file}: {detail}). \
         To recover: stop here, move {path} aside (keep it), and put back a copy of the stopped store's \
         directory from a backup, or load an export into a new store with `c2c-bridge store import`"
    )]
    Damaged { path: String, file: String, detail: String },
    #[error("the store at {path}: {source}")]
    Schema { path: String, source: SchemaError },
    #[error(
        "the store at {path} belongs to instance `{stored}`, but the config says `{configured}`; ids already issued name the stored one, so it cannot change"
    )]
    InstanceMismatch { path: String, stored: String, configured: String },
}

/// Call `open` until it does not find the store in use, or `wait` has passed: a previous process
/// still exiting holds the store's lock for a moment (and sled releases a dropped database's
/// lock a little after the drop). Neither engine says when a lock is released, so it is asked
/// again every 20 ms.
pub fn wait_while_in_use<T>(wait: Duration, mut open: impl FnMut() -> Result<T, OpenError>) -> Result<T, OpenError> {
    let started = Instant::now();
    loop {
        match open() {
            Err(OpenError::InUse { .. }) if started.elapsed() < wait => std::thread::sleep(Duration::from_millis(20)),
            other => return other,
        }
    }
}

/// Opens (or creates) a store of one engine in a directory, with the instance id a new one
/// takes: what the store tools that make a new store (`compact`, `import`) are given.
pub type Opener<'a, K> = &'a dyn Fn(&std::path::Path, Option<&str>) -> Result<crate::KvStore<K>, OpenError>;
