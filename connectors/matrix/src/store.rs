//! The bot's own files in `store_dir`: matrix-sdk's SQLite state and crypto stores (`sdk/`:
//! the bot's device keys and the room keys it was sent), the saved session (`session.json`,
//! with the access token) and `store.json`, which says whether the stores are encrypted.
//!
//! - **Private whatever the umask**: the directories are made 0700 and every file in them 0600
//!   at each start (the SQLite files are created 0600 before matrix-sdk opens them; SQLite gives
//!   its journal and WAL files the mode of their database).
//! - **Encrypted with a passphrase** when `[connectors.matrix] store_passphrase_env` (or
//!   `_file`) names one: matrix-sdk encrypts every value and hashes every key with a key that is
//!   itself stored encrypted under the passphrase. Without one the stores are plain (a warning
//!   at start says so).
//! - [`prepare`] runs before the daemon starts anything: a store encrypted but no passphrase
//!   given, a plain store but a passphrase given, or a wrong passphrase are each a clear error
//!   that stops the start (retrying cannot fix them), never a half-read store.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use matrix_sdk::ClientBuilder;
use serde::{Deserialize, Serialize};

use crate::config::MatrixSettings;

/// matrix-sdk's SQLite stores, under `store_dir`.
const SDK_DIR: &str = "sdk";
/// Whether the stores are encrypted, written when they are created.
const MARKER: &str = "store.json";
/// The database files matrix-sdk keeps in [`SDK_DIR`].
const DATABASES: [&str; 4] = [
    "matrix-sdk-state.sqlite3",
    "matrix-sdk-crypto.sqlite3",
    "matrix-sdk-event-cache.sqlite3",
    "matrix-sdk-media.sqlite3",
];

/// A store the bridge cannot use as configured. None of these pass by retrying.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the Matrix store in {0} is encrypted and no passphrase is configured: set \
         [connectors.matrix] store_passphrase_env (or store_passphrase_file) to its passphrase"
    )]
    PassphraseMissing(PathBuf),
    #[error(
        "the Matrix store in {0} was created without a passphrase and cannot be encrypted in \
         place: remove store_passphrase_env to use it as it is, or stop the bridge, move {0} \
         away and start again with the passphrase (the bot logs in as a new device; see SECURITY.md)"
    )]
    NotEncrypted(PathBuf),
    #[error(
        "the Matrix store in {0} does not open with the configured passphrase \
         (store_passphrase_env / store_passphrase_file): it is not the one the store was created with"
    )]
    WrongPassphrase(PathBuf),
    #[error("the Matrix store in {dir}: {detail}")]
    Io { dir: PathBuf, detail: String },
}

#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    encrypted: bool,
}

/// Make the store directory private, check the passphrase against the store (creating the
/// store when there is none yet), and note whether it is encrypted. Does no network I/O.
pub async fn prepare(s: &MatrixSettings) -> Result<(), StoreError> {
    let dir = &s.store_dir;
    let io = |what: &str, e: std::io::Error| StoreError::Io { dir: dir.clone(), detail: format!("{what}: {e}") };
    let sdk = dir.join(SDK_DIR);
    private_dir(dir).map_err(|e| io("creating the directory", e))?;
    private_dir(&sdk).map_err(|e| io("creating the directory", e))?;
    let marker = match std::fs::read_to_string(dir.join(MARKER)) {
        Ok(text) => {
            Some(serde_json::from_str::<Marker>(&text).map_err(|e| io(MARKER, std::io::Error::other(e)))?.encrypted)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Stores made before the marker existed were never encrypted. (Empty files are
            // what an interrupted first start leaves: no store yet.)
            let used = |db: &str| std::fs::metadata(sdk.join(db)).is_ok_and(|m| m.len() > 0);
            DATABASES.iter().any(|db| used(db)).then_some(false)
        }
        Err(e) => return Err(io(MARKER, e)),
    };
    let passphrase = s.store_passphrase.as_deref();
    match (marker, passphrase) {
        (Some(true), None) => return Err(StoreError::PassphraseMissing(dir.clone())),
        (Some(false), Some(_)) => return Err(StoreError::NotEncrypted(dir.clone())),
        _ => {}
    }
    for db in DATABASES {
        private_file(&sdk.join(db)).map_err(|e| io(db, e))?;
    }
    // The crypto store holds the keys: opening it checks the passphrase against the key it
    // keeps encrypted under it (and, for a new store, creates that key).
    if let Err(e) = matrix_sdk_sqlite::SqliteCryptoStore::open(&sdk, passphrase).await {
        return Err(match e {
            matrix_sdk_sqlite::OpenStoreError::InitCipher(_) if passphrase.is_some() => {
                StoreError::WrongPassphrase(dir.clone())
            }
            e => StoreError::Io { dir: dir.clone(), detail: e.to_string() },
        });
    }
    if marker.is_none() {
        let text = serde_json::to_string(&Marker { encrypted: passphrase.is_some() }).unwrap_or_default();
        write_private(&dir.join(MARKER), text.as_bytes()).map_err(|e| io(MARKER, e))?;
    }
    if passphrase.is_none() {
        tracing::warn!(
            store = %dir.display(),
            "no store_passphrase_env: the Matrix store (the bot's device keys and the room keys) is \
             not encrypted on disk; only its file permissions (0700/0600) protect it"
        );
    }
    secure_files(dir).map_err(|e| io("making the files private", e))
}

/// The client builder on the store in `s.store_dir` (after [`prepare`]).
pub fn builder(s: &MatrixSettings) -> ClientBuilder {
    matrix_sdk::Client::builder()
        .homeserver_url(&s.homeserver)
        .sqlite_store(s.store_dir.join(SDK_DIR), s.store_passphrase.as_deref())
}

/// Make every file in the store (and `sdk/`) readable by the bridge's user only: SQLite's
/// journal and WAL files come and go while the bridge runs.
pub fn secure_files(dir: &Path) -> std::io::Result<()> {
    for d in [dir.to_path_buf(), dir.join(SDK_DIR)] {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries {
            // SQLite makes and removes its journal files as it goes: one listed a moment ago
            // may be gone now, which is no failure.
            let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
            let entry = match entry {
                Ok(e) => e,
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(e),
            };
            match entry.file_type() {
                Ok(t) if t.is_file() => {}
                Ok(_) => continue,
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(e),
            }
            match std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o600)) {
                Err(e) if !gone(&e) => return Err(e),
                _ => {}
            }
        }
    }
    Ok(())
}

/// Create `dir` (and its parents) and make it 0700, whatever the umask and whatever it was.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Create `path` empty if it is missing (an empty file is an empty SQLite database), 0600.
fn private_file(path: &Path) -> std::io::Result<()> {
    std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// Write `path` whole (through a temporary file), 0600 from the first byte.
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    f.write_all(data)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn settings(dir: &Path, passphrase: Option<&str>) -> MatrixSettings {
        MatrixSettings {
            homeserver: "http://127.0.0.1:1".into(),
            user: "@bot:c2c.test".into(),
            password: "pw".into(),
            store_dir: dir.to_path_buf(),
            store_passphrase: passphrase.map(str::to_string),
            encrypt_new_rooms: true,
            max_attachment_bytes: 1024,
            file_fetch_give_up_after: Duration::from_secs(600),
            portals: vec![],
        }
    }

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[tokio::test]
    async fn an_encrypted_store_needs_its_own_passphrase() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("matrix");
        prepare(&settings(&dir, Some("correct horse"))).await.unwrap();
        assert!(std::fs::read_to_string(dir.join(MARKER)).unwrap().contains("true"));
        prepare(&settings(&dir, Some("correct horse"))).await.expect("opens again with the same passphrase");
        assert_eq!(
            prepare(&settings(&dir, Some("battery staple"))).await,
            Err(StoreError::WrongPassphrase(dir.clone()))
        );
        assert_eq!(prepare(&settings(&dir, None)).await, Err(StoreError::PassphraseMissing(dir.clone())));
    }

    #[tokio::test]
    async fn a_plain_store_is_not_opened_with_a_passphrase() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("matrix");
        prepare(&settings(&dir, None)).await.unwrap();
        prepare(&settings(&dir, None)).await.unwrap();
        assert_eq!(prepare(&settings(&dir, Some("late"))).await, Err(StoreError::NotEncrypted(dir.clone())));
        // A store from before the marker existed counts as plain.
        std::fs::remove_file(dir.join(MARKER)).unwrap();
        assert_eq!(prepare(&settings(&dir, Some("late"))).await, Err(StoreError::NotEncrypted(dir.clone())));
    }

    #[tokio::test]
    async fn the_store_is_private_whatever_it_was() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("matrix");
        std::fs::create_dir_all(dir.join(SDK_DIR)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(dir.join("session.json"), "{}").unwrap();
        std::fs::set_permissions(dir.join("session.json"), std::fs::Permissions::from_mode(0o644)).unwrap();
        prepare(&settings(&dir, Some("pw"))).await.unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(SDK_DIR)), 0o700);
        assert_eq!(mode(&dir.join("session.json")), 0o600);
        assert_eq!(mode(&dir.join(MARKER)), 0o600);
        for entry in std::fs::read_dir(dir.join(SDK_DIR)).unwrap() {
            let p = entry.unwrap().path();
            // A journal SQLite removed after the listing (as `secure_files` allows for).
            let meta = match std::fs::metadata(&p) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                other => other.unwrap(),
            };
            assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{}", p.display());
        }
    }
}
