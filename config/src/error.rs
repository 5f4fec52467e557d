//! The errors a config can have: each one located at `file:line:column` and a dotted path.

use std::fmt;

/// One problem in a config file.
///
/// Displays as `file:line:column: path: message`, e.g.
/// `example.toml:42:12: partnerships[0].members[1]: no city with id "lyon"`.
/// `line` and `column` are 1-based (the column counts characters); they point at the offending
/// value, or at the key or table header when something is missing. Problems with no position
/// (the file cannot be read) have `line == 0` and display as `file: message`; problems with no
/// dotted path (TOML syntax errors) omit the `path: ` part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The config file, as the caller named it.
    pub file: String,
    /// 1-based line, or 0 when the problem has no position.
    pub line: usize,
    /// 1-based column in characters, or 0 when the problem has no position.
    pub column: usize,
    /// Dotted path of the offending item, e.g. `cities[2].contacts[0].email`; may be empty.
    pub path: String,
    /// What is wrong, in one line: control characters (from values quoted out of the file) are
    /// escaped.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.file)?;
        if self.line > 0 {
            write!(f, "{}:{}:", self.line, self.column)?;
        }
        if !self.path.is_empty() {
            write!(f, " {}:", self.path)?;
        }
        write!(f, " {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// `message` with every control character (a line break, a tab, a terminal escape) written as
/// its Rust escape (`\n`, `\u{1b}`): messages quote values from the file, and a problem must stay
/// one line of the report and must not drive the admin's terminal.
pub(crate) fn one_line(message: String) -> String {
    if !message.chars().any(char::is_control) {
        return message;
    }
    let mut out = String::with_capacity(message.len() + 8);
    for c in message.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// Every problem found in a config file, in file order. Displays one error per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// How many problems there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there is no problem (never the case for an `Err` returned by this crate).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The problems, in file order.
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        ConfigErrors(vec![error])
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}
