//! Positions in the config file: byte offsets to 1-based line/column, and dotted paths.

use std::fmt;

use crate::error::ConfigError;

/// A place in the config file: the file as the caller named it, a 1-based line and column
/// (in characters), and the dotted path of the item there (`connectors.email.imap.password_env`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The config file, as the caller named it.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// Dotted path of the item, e.g. `cities[0].webhook.secret_file`.
    pub path: String,
}

impl Location {
    /// A [`ConfigError`] at this place.
    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
            path: self.path.clone(),
            message: crate::error::one_line(message.into()),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.path)
    }
}

/// Turns byte offsets into 1-based (line, column) pairs, the column counted in characters.
#[derive(Debug)]
pub(crate) struct LineIndex<'s> {
    text: &'s str,
    line_starts: Vec<usize>,
}

impl<'s> LineIndex<'s> {
    pub(crate) fn new(text: &'s str) -> Self {
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        LineIndex { text, line_starts }
    }

    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self.line_starts[line - 1];
        let column = self.text.get(start..offset).map_or(offset - start, |s| s.chars().count());
        (line, column + 1)
    }
}

/// `parent.key`, quoting `key` when it is not a bare TOML key.
pub(crate) fn join_key(parent: &str, key: &str) -> String {
    let bare = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare { key.to_string() } else { format!("{key:?}") };
    if parent.is_empty() { key } else { format!("{parent}.{key}") }
}

/// `parent[index]`.
pub(crate) fn join_index(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// The path one level up: `a.b[2]` → `a.b`, `a.b` → `a`, `a` → ``.
pub(crate) fn parent(path: &str) -> &str {
    match path.rfind(['.', '[']) {
        Some(i) => &path[..i],
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let index = LineIndex::new("a = 1\nné = \"x\"\n");
        assert_eq!(index.line_col(0), (1, 1));
        assert_eq!(index.line_col(4), (1, 5));
        assert_eq!(index.line_col(6), (2, 1));
        // "né = " is 6 bytes but 5 characters
        assert_eq!(index.line_col(12), (2, 6));
        assert_eq!(index.line_col(999), (3, 1));
    }

    #[test]
    fn paths() {
        assert_eq!(join_key("", "bridge"), "bridge");
        assert_eq!(join_key("a", "b-c_d"), "a.b-c_d");
        assert_eq!(join_key("a", "new york"), "a.\"new york\"");
        assert_eq!(join_index("cities", 2), "cities[2]");
        assert_eq!(parent("cities[2].contacts[0]"), "cities[2].contacts");
        assert_eq!(parent("cities[2]"), "cities");
        assert_eq!(parent("bridge"), "");
    }
}
