//! The bookkeeping of one parse: where every value and key is, and every problem found so far.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::error::{ConfigError, ConfigErrors};
use crate::location::{LineIndex, Location, parent};

/// Collects problems (all of them, never stopping at the first) and remembers the byte offset of
/// every value and key read, by dotted path, so that later checks can point at them.
#[derive(Debug)]
pub(crate) struct Diag<'s> {
    file: String,
    lines: LineIndex<'s>,
    base_dir: PathBuf,
    values: HashMap<String, usize>,
    keys: HashMap<String, usize>,
    errors: Vec<ConfigError>,
    errored: HashSet<String>,
}

impl<'s> Diag<'s> {
    pub(crate) fn new(text: &'s str, path: &Path) -> Self {
        Diag {
            file: path.display().to_string(),
            lines: LineIndex::new(text),
            base_dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            values: HashMap::new(),
            keys: HashMap::new(),
            errors: Vec::new(),
            errored: HashSet::new(),
        }
    }

    /// Remembers where the value at `path` (and its key, if it has one) starts.
    pub(crate) fn record(&mut self, path: &str, key: Option<usize>, value: usize) {
        self.values.insert(path.to_string(), value);
        if let Some(key) = key {
            self.keys.insert(path.to_string(), key);
        }
    }

    /// The location of byte `offset`, labelled `path`.
    pub(crate) fn at_offset(&self, offset: usize, path: &str) -> Location {
        let (line, column) = self.lines.line_col(offset);
        Location { file: self.file.clone(), line, column, path: path.to_string() }
    }

    /// Where the value at `path` starts; for a path never read, where its nearest recorded
    /// ancestor starts (the table that should have held it).
    pub(crate) fn value_at(&self, path: &str) -> Location {
        let mut probe = path;
        loop {
            if let Some(&offset) = self.values.get(probe) {
                return self.at_offset(offset, path);
            }
            if probe.is_empty() {
                return self.at_offset(0, path);
            }
            probe = parent(probe);
        }
    }

    /// Where the key of `path` is (for tables written as `[header]`, the header); falls back
    /// to [`Diag::value_at`].
    pub(crate) fn key_at(&self, path: &str) -> Location {
        match self.keys.get(path) {
            Some(&offset) => self.at_offset(offset, path),
            None => self.value_at(path),
        }
    }

    /// Reports a problem at `location`.
    pub(crate) fn error(&mut self, location: Location, message: impl Into<String>) {
        self.errored.insert(location.path.clone());
        self.errors.push(location.error(message));
    }

    /// Reports a problem with the value at `path`.
    pub(crate) fn value_error(&mut self, path: &str, message: impl Into<String>) {
        self.error(self.value_at(path), message);
    }

    /// Reports a problem with the key of `path`.
    pub(crate) fn key_error(&mut self, path: &str, message: impl Into<String>) {
        self.error(self.key_at(path), message);
    }

    /// Marks `path` as broken without reporting (its problem was reported under another path).
    pub(crate) fn mark(&mut self, path: &str) {
        self.errored.insert(path.to_string());
    }

    /// True when a problem was already reported at `path`: later checks stay quiet about it
    /// rather than repeat it in other words.
    pub(crate) fn has_error(&self, path: &str) -> bool {
        self.errored.contains(path)
    }

    /// True when a problem was already reported at `path` or anywhere inside it.
    pub(crate) fn has_error_within(&self, path: &str) -> bool {
        self.errored
            .iter()
            .any(|p| p.strip_prefix(path).is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '['])))
    }

    /// True when a value at `path` was read (it is present in the file).
    pub(crate) fn is_present(&self, path: &str) -> bool {
        self.values.contains_key(path)
    }

    /// `relative` resolved against the config file's directory.
    pub(crate) fn resolve(&self, relative: &str) -> PathBuf {
        self.base_dir.join(relative)
    }

    /// All problems in file order (stable for problems at one position), or `Ok`.
    pub(crate) fn finish(self) -> Result<(), ConfigErrors> {
        let mut errors = self.errors;
        if errors.is_empty() {
            return Ok(());
        }
        errors.sort_by_key(|e| (e.line, e.column));
        errors.dedup();
        Err(ConfigErrors(errors))
    }
}
