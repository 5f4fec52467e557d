//! Secrets: named in the config (`X_env` / `X_file`), read only when asked for.

use std::fmt;
use std::path::PathBuf;

use crate::error::ConfigError;
use crate::location::Location;

/// Where a secret comes from. Written in the config as `password_env = "VAR"` (an environment
/// variable) or `password_file = "path"` (a file, relative to the config file's directory);
/// exactly one of the two. The secret itself never sits in the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// Read from the environment variable `name`.
    Env {
        /// The variable's name.
        name: String,
        /// Where the `X_env` key is, for errors.
        at: Location,
    },
    /// Read from the file at `path` (already resolved against the config file's directory).
    File {
        /// The file, resolved against the config file's directory.
        path: PathBuf,
        /// Where the `X_file` key is, for errors.
        at: Location,
    },
}

impl SecretRef {
    /// Where the reference is written in the config (the `X_env` / `X_file` key).
    pub fn location(&self) -> &Location {
        match self {
            SecretRef::Env { at, .. } | SecretRef::File { at, .. } => at,
        }
    }

    /// Reads the secret. An environment variable must be set, valid UTF-8 and non-empty; a file
    /// must be readable UTF-8 and non-empty once trailing newlines are trimmed. Errors are located
    /// at the `X_env` / `X_file` key and never contain the secret.
    pub fn resolve(&self) -> Result<Secret, ConfigError> {
        match self {
            SecretRef::Env { name, at } => match std::env::var(name) {
                Ok(value) if value.is_empty() => Err(at.error(format!("environment variable {name} is set but empty"))),
                Ok(value) => Ok(Secret(value)),
                Err(std::env::VarError::NotPresent) => Err(at.error(format!("environment variable {name} is not set"))),
                Err(std::env::VarError::NotUnicode(_)) => {
                    Err(at.error(format!("environment variable {name} is not valid UTF-8")))
                }
            },
            SecretRef::File { path, at } => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| at.error(format!("cannot read secret file {}: {e}", path.display())))?;
                let value = text.trim_end_matches(['\n', '\r']);
                if value.is_empty() {
                    Err(at.error(format!("secret file {} is empty", path.display())))
                } else {
                    Ok(Secret(value.to_string()))
                }
            }
        }
    }
}

/// A secret's value. `Debug` prints `Secret(***)`; read it with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value (for tests and for callers that get secrets elsewhere).
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret's value. Don't log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Location {
        Location { file: "c.toml".into(), line: 3, column: 1, path: "bridge.admin_token_file".into() }
    }

    #[test]
    fn debug_is_redacted() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
    }

    #[test]
    fn file_secrets_lose_their_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\r\n").unwrap();
        let secret = SecretRef::File { path, at: at() }.resolve().unwrap();
        assert_eq!(secret.expose(), "s3cret");
    }

    #[test]
    fn empty_or_missing_files_are_errors_at_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty");
        std::fs::write(&path, "\n").unwrap();
        let e = SecretRef::File { path, at: at() }.resolve().unwrap_err();
        assert!(e.to_string().starts_with("c.toml:3:1: bridge.admin_token_file: secret file"));
        assert!(e.message.ends_with("is empty"), "{e}");
        let missing = dir.path().join("missing");
        let e = SecretRef::File { path: missing, at: at() }.resolve().unwrap_err();
        assert!(e.message.starts_with("cannot read secret file"), "{e}");
    }

    #[test]
    fn env_secrets() {
        let e =
            SecretRef::Env { name: "C2C_CONFIG_TEST_SURELY_UNSET_VARIABLE".into(), at: at() }.resolve().unwrap_err();
        assert_eq!(e.message, "environment variable C2C_CONFIG_TEST_SURELY_UNSET_VARIABLE is not set");
        let ok = SecretRef::Env { name: "PATH".into(), at: at() }.resolve().unwrap();
        assert!(!ok.expose().is_empty());
    }
}
