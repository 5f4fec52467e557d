//! The file an instance keeps its federation key in (`[federation] key_file`, made by
//! `c2c-bridge peer keygen`): one line, the `whsk_…` secret key, mode 0600.
//!
//! Writing never leaves a key readable by others, whatever the umask: the file is created 0600
//! (and set so explicitly), never truncated in place. Replacing an existing file (`force`) writes
//! the new key beside it and renames it over, so the old key stays whole until the new one is on
//! disk. Reading refuses a file that its group or others may access, as ssh does for its keys.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::asymmetric::{BadKey, PublicKey, RandomUnavailable, SecretKey};

/// A key file is one short line; anything longer is not one (and is not read whole).
const MAX_BYTES: u64 = 1024;

/// Why a key file was not written or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("{} exists already (it was left as it is)", .0.display())]
    Exists(PathBuf),
    #[error(
        "{} is accessible by group or others (mode {mode:04o}): a secret key must be its owner's only; \
         run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("{}: not a key file: {reason}", path.display())]
    Malformed { path: PathBuf, reason: String },
    /// The I/O error is in the message (not a `source`), so it is said once however it is shown.
    #[error("{} {}: {cause}", action, path.display())]
    Io { action: &'static str, path: PathBuf, cause: io::Error },
    #[error(transparent)]
    Random(#[from] RandomUnavailable),
}

fn io_error<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> KeyFileError + 'a {
    move |cause| KeyFileError::Io { action, path: path.to_path_buf(), cause }
}

/// Make a new key from the operating system's random number generator, write it to `path` (see
/// [`write`]) and give its public key, to print for the peers' admins to pin.
pub fn generate(path: &Path, force: bool) -> Result<PublicKey, KeyFileError> {
    let key = SecretKey::generate()?;
    write(path, &key, force)?;
    Ok(key.public_key())
}

/// Write `key` to `path` as `whsk_…` and a newline, in a file of mode 0600. An existing file is
/// refused ([`KeyFileError::Exists`]) unless `force`, which replaces it atomically.
pub fn write(path: &Path, key: &SecretKey, force: bool) -> Result<(), KeyFileError> {
    let text = format!("{}\n", key.to_text());
    if !force {
        let mut file = create_private(path).map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                KeyFileError::Exists(path.to_path_buf())
            } else {
                io_error("creating", path)(e)
            }
        })?;
        if let Err(e) = fill(&mut file, text.as_bytes()) {
            let _ = fs::remove_file(path);
            return Err(io_error("writing", path)(e));
        }
        return Ok(());
    }
    let name = path.file_name().ok_or_else(|| KeyFileError::Malformed {
        path: path.to_path_buf(),
        reason: "the path does not end in a file name".into(),
    })?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{:016x}.tmp", rand::random::<u64>()));
    let tmp = path.with_file_name(tmp_name);
    let mut file = create_private(&tmp).map_err(io_error("creating", &tmp))?;
    let written = fill(&mut file, text.as_bytes()).map_err(io_error("writing", &tmp));
    let replaced = written.and_then(|()| fs::rename(&tmp, path).map_err(io_error("replacing", path)));
    if replaced.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    replaced?;
    // The rename itself, on disk: best effort (the key is written either way).
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let _ = File::open(dir).and_then(|d| d.sync_all());
    Ok(())
}

/// Read the secret key in `path`. Refused: a file its group or others may access (whatever
/// it holds), one that is not a regular file, and one that is not exactly one `whsk_` key.
pub fn read(path: &Path) -> Result<SecretKey, KeyFileError> {
    let file = File::open(path).map_err(io_error("opening", path))?;
    // The mode of the file opened, not of whatever is at `path` by now.
    let meta = file.metadata().map_err(io_error("reading", path))?;
    let malformed = |reason: String| KeyFileError::Malformed { path: path.to_path_buf(), reason };
    if !meta.is_file() {
        return Err(malformed("not a regular file".into()));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::TooOpen { path: path.to_path_buf(), mode });
    }
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1).read_to_end(&mut bytes).map_err(io_error("reading", path))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(malformed(format!("longer than {MAX_BYTES} bytes")));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| malformed("not text".into()))?;
    SecretKey::parse(text).map_err(|e: BadKey| malformed(e.to_string()))
}

/// A new file at `path`, 0600 whatever the umask; fails if anything is there (a symlink
/// included: it is not followed).
fn create_private(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.set_permissions(Permissions::from_mode(0o600))?;
    Ok(file)
}

fn fill(file: &mut File, bytes: &[u8]) -> io::Result<()> {
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::signature::asymmetric;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn generates_reads_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("brlc.key");
        let public = generate(&path, false).unwrap();
        assert_eq!(mode(&path), 0o600);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("whsk_") && text.ends_with('\n') && text.lines().count() == 1, "{text:?}");
        let key = read(&path).unwrap();
        assert_eq!(key.public_key(), public);
        let sig = key.sign("msg_1", 1_700_000_000, b"{}");
        let pinned = PublicKey::parse(&public.to_string()).unwrap();
        let verified = asymmetric::verify(&[pinned], "msg_1", "1700000000", &sig, b"{}", 1_700_000_000, Duration::ZERO);
        assert_eq!(verified, Ok(0));
    }

    #[test]
    fn an_existing_file_is_kept_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("brlc.key");
        let first = generate(&path, false).unwrap();
        let err = generate(&path, false).unwrap_err();
        assert!(matches!(err, KeyFileError::Exists(_)), "{err}");
        assert!(err.to_string().contains("exists already"), "{err}");
        assert_eq!(read(&path).unwrap().public_key(), first);

        // Forced, the file is replaced, and is 0600 even when the old one was not.
        fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        let second = generate(&path, true).unwrap();
        assert_ne!(first, second);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(read(&path).unwrap().public_key(), second);
        // No temporary file is left beside it.
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("brlc.key")]);
        // Forced onto a new path, it is simply written.
        assert!(generate(&dir.path().join("new.key"), true).is_ok());
    }

    #[test]
    fn a_symlink_is_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        fs::write(&target, "untouched").unwrap();
        let link = dir.path().join("brlc.key");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(matches!(generate(&link, false), Err(KeyFileError::Exists(_))));
        assert_eq!(fs::read_to_string(&target).unwrap(), "untouched");
    }

    #[test]
    fn a_file_others_may_access_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("brlc.key");
        generate(&path, false).unwrap();
        for open in [0o640, 0o604, 0o602, 0o620, 0o644] {
            fs::set_permissions(&path, Permissions::from_mode(open)).unwrap();
            let err = read(&path).unwrap_err();
            assert!(matches!(err, KeyFileError::TooOpen { mode, .. } if mode == open), "{err}");
            let text = err.to_string();
            assert!(text.contains(&format!("mode {open:04o}")) && text.contains("chmod 600"), "{text}");
        }
        // Stricter than 0600 is fine.
        fs::set_permissions(&path, Permissions::from_mode(0o400)).unwrap();
        assert!(read(&path).is_ok());
    }

    #[test]
    fn what_is_not_a_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let write_private = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            let mut f = create_private(&path).unwrap();
            f.write_all(bytes).unwrap();
            path
        };
        let public = SecretKey::generate().unwrap().public_key().to_string();
        let (a, b) = (SecretKey::generate().unwrap().to_text(), SecretKey::generate().unwrap().to_text());
        let two = format!("{a}\n{b}\n");
        for (name, bytes) in [
            ("empty", b"".as_slice()),
            ("public", public.as_bytes()),
            ("two", two.as_bytes()),
            ("binary", b"\xff\xfe whsk_"),
            ("long", &[b'A'; 4096]),
        ] {
            let err = read(&write_private(name, bytes)).unwrap_err();
            assert!(matches!(err, KeyFileError::Malformed { .. }), "{name}: {err}");
            for key in [&a[5..], &b[5..], &public[5..]] {
                assert!(!err.to_string().contains(key), "{name}: no key in the message: {err}");
            }
        }
        let err = read(dir.path()).unwrap_err();
        assert!(matches!(err, KeyFileError::Malformed { .. } | KeyFileError::TooOpen { .. }), "{err}");
        let err = read(&dir.path().join("missing")).unwrap_err();
        assert!(err.to_string().starts_with("opening "), "{err}");
    }
}
