//! Reading the spanned TOML tree (`toml::de::DeTable`) key by key, with every problem reported
//! at its position: wrong types, missing keys, unknown keys, inline secrets.
//!
//! This replaces `#[derive(Deserialize)]` shapes on purpose: serde stops at the first error of a
//! struct, while an admin wants to see every problem of a file in one run.

use std::collections::BTreeMap;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diag::Diag;
use crate::location::{join_index, join_key};
use crate::secret::SecretRef;

type Value<'i> = Spanned<DeValue<'i>>;

/// A value that may be written as text or as a number (a KPI's `target`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Text(String),
    /// The number, and whether it was written as an integer.
    Number {
        value: f64,
        integer: bool,
    },
}

/// One TOML table being read. Every key the code asks for is remembered; [`Table::finish`]
/// reports the keys nobody asked for.
#[derive(Debug)]
pub(crate) struct Table<'a, 'i> {
    table: &'a DeTable<'i>,
    path: String,
    /// Keys this table may hold, in the order they were asked for.
    known: Vec<String>,
    /// Keys that are read only to refuse them (inline secrets); not listed as expected.
    refused: Vec<String>,
}

/// "a string", "an integer", ...: the TOML type of a value, for messages.
pub(crate) fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

impl<'a, 'i> Table<'a, 'i> {
    /// The document's root table.
    pub(crate) fn root(diag: &mut Diag<'_>, table: &'a Spanned<DeTable<'i>>) -> Self {
        diag.record("", None, table.span().start);
        Table::new(table.get_ref(), String::new())
    }

    fn new(table: &'a DeTable<'i>, path: String) -> Self {
        Table { table, path, known: Vec::new(), refused: Vec::new() }
    }

    /// This table's dotted path.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// The dotted path of `key` in this table.
    pub(crate) fn child(&self, key: &str) -> String {
        join_key(&self.path, key)
    }

    /// The value of `key`, if present; records its position.
    fn take(&mut self, diag: &mut Diag<'_>, key: &str) -> Option<(String, &'a Value<'i>)> {
        self.known.push(key.to_string());
        let (k, v) = self.table.get_key_value(key)?;
        let path = self.child(key);
        diag.record(&path, Some(k.span().start), v.span().start);
        Some((path, v))
    }

    /// Reports that required `key` is missing (at this table).
    pub(crate) fn missing(&self, diag: &mut Diag<'_>, key: &str) {
        let what = if self.path.is_empty() {
            format!("missing required table [{key}]")
        } else {
            format!("missing required key `{key}`")
        };
        diag.value_error(&self.path, what);
        diag.mark(&self.child(key));
    }

    fn wrong_type(diag: &mut Diag<'_>, path: &str, expected: &str, value: &Value<'_>) {
        diag.value_error(path, format!("expected {expected}, found {}", type_name(value.get_ref())));
    }

    /// An optional string.
    pub(crate) fn opt_str(&mut self, diag: &mut Diag<'_>, key: &str) -> Option<String> {
        let (path, value) = self.take(diag, key)?;
        match value.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            _ => {
                Self::wrong_type(diag, &path, "a string", value);
                None
            }
        }
    }

    /// A required string.
    pub(crate) fn req_str(&mut self, diag: &mut Diag<'_>, key: &str) -> Option<String> {
        if !self.table.contains_key(key) {
            self.known.push(key.to_string());
            self.missing(diag, key);
            return None;
        }
        self.opt_str(diag, key)
    }

    /// An optional string converted by `parse`; its error message is reported at the value.
    pub(crate) fn opt_parsed<T>(
        &mut self,
        diag: &mut Diag<'_>,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let text = self.opt_str(diag, key)?;
        match parse(&text) {
            Ok(value) => Some(value),
            Err(message) => {
                diag.value_error(&self.child(key), message);
                None
            }
        }
    }

    /// A required string converted by `parse`.
    pub(crate) fn req_parsed<T>(
        &mut self,
        diag: &mut Diag<'_>,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        if !self.table.contains_key(key) {
            self.known.push(key.to_string());
            self.missing(diag, key);
            return None;
        }
        self.opt_parsed(diag, key, parse)
    }

    /// An optional humantime duration (`"500ms"`, `"2s"`, `"5d"`).
    pub(crate) fn opt_duration(&mut self, diag: &mut Diag<'_>, key: &str) -> Option<Duration> {
        self.opt_parsed(diag, key, parse_duration)
    }

    /// An optional boolean.
    pub(crate) fn opt_bool(&mut self, diag: &mut Diag<'_>, key: &str) -> Option<bool> {
        let (path, value) = self.take(diag, key)?;
        match value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                Self::wrong_type(diag, &path, "a boolean (true or false)", value);
                None
            }
        }
    }

    /// An optional integer within `min..=max`.
    pub(crate) fn opt_int(&mut self, diag: &mut Diag<'_>, key: &str, min: u64, max: u64) -> Option<u64> {
        let (path, value) = self.take(diag, key)?;
        let DeValue::Integer(int) = value.get_ref() else {
            Self::wrong_type(diag, &path, "an integer", value);
            return None;
        };
        match u64::from_str_radix(int.as_str(), int.radix()) {
            Ok(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                diag.value_error(&path, format!("must be between {min} and {max}, not {int}"));
                None
            }
        }
    }

    /// An optional number (integer or float).
    pub(crate) fn opt_number(&mut self, diag: &mut Diag<'_>, key: &str) -> Option<f64> {
        let (path, value) = self.take(diag, key)?;
        let parsed = match value.get_ref() {
            DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
            DeValue::Integer(i) if i.radix() == 10 => i.as_str().replace('_', "").parse().ok(),
            _ => {
                Self::wrong_type(diag, &path, "a number", value);
                return None;
            }
        };
        if parsed.is_none() {
            diag.value_error(&path, "not a valid number");
        }
        parsed
    }

    /// A required string or number.
    pub(crate) fn req_scalar(&mut self, diag: &mut Diag<'_>, key: &str) -> Option<Scalar> {
        let Some((path, value)) = self.take(diag, key) else {
            self.missing(diag, key);
            return None;
        };
        let (text, integer) = match value.get_ref() {
            DeValue::String(s) => return Some(Scalar::Text(s.to_string())),
            DeValue::Integer(i) if i.radix() == 10 => (i.as_str(), true),
            DeValue::Float(f) => (f.as_str(), false),
            _ => {
                Self::wrong_type(diag, &path, "a string or a number", value);
                return None;
            }
        };
        match text.replace('_', "").parse::<f64>() {
            Ok(value) if value.is_finite() => Some(Scalar::Number { value, integer }),
            _ => {
                diag.value_error(&path, "not a valid number");
                None
            }
        }
    }

    /// A required date or date-time, as text: a string as written, or a TOML date or date-time
    /// (`due = 2027-01-15`) in its RFC 3339 form; then converted by `parse`, whose error message
    /// is reported at the value.
    pub(crate) fn req_when<T>(
        &mut self,
        diag: &mut Diag<'_>,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let Some((path, value)) = self.take(diag, key) else {
            self.missing(diag, key);
            return None;
        };
        let text = match value.get_ref() {
            DeValue::String(s) => s.to_string(),
            DeValue::Datetime(d) => d.to_string(),
            _ => {
                Self::wrong_type(diag, &path, "a date or date-time", value);
                return None;
            }
        };
        match parse(&text) {
            Ok(value) => Some(value),
            Err(message) => {
                diag.value_error(&path, message);
                None
            }
        }
    }

    /// An optional array of dates, each a string `"YYYY-MM-DD"` or a TOML date; each element's
    /// position is recorded as `key[i]`. An element that is no date is reported and kept as
    /// `None`, so indices match the file.
    pub(crate) fn opt_date_list(&mut self, diag: &mut Diag<'_>, key: &str) -> Option<Vec<Option<chrono::NaiveDate>>> {
        let (path, value) = self.take(diag, key)?;
        let DeValue::Array(items) = value.get_ref() else {
            Self::wrong_type(diag, &path, "an array of dates", value);
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_path = join_index(&path, i);
            diag.record(&item_path, None, item.span().start);
            let date = match item.get_ref() {
                DeValue::String(s) => crate::formats::parse_date(s),
                DeValue::Datetime(d) if d.time.is_none() && d.offset.is_none() => {
                    crate::formats::parse_date(&d.to_string())
                }
                DeValue::Datetime(_) => Err("expected a date (YYYY-MM-DD), found a date-time or time".to_string()),
                other => Err(format!("expected a date (YYYY-MM-DD), found {}", type_name(other))),
            };
            match date {
                Ok(date) => out.push(Some(date)),
                Err(message) => {
                    diag.value_error(&item_path, message);
                    out.push(None);
                }
            }
        }
        Some(out)
    }

    /// An optional array of strings; each element's position is recorded as `key[i]`. An element
    /// of another type is reported and kept as an empty string, so indices match the file.
    pub(crate) fn opt_str_list(&mut self, diag: &mut Diag<'_>, key: &str) -> Option<Vec<String>> {
        let (path, value) = self.take(diag, key)?;
        let DeValue::Array(items) = value.get_ref() else {
            Self::wrong_type(diag, &path, "an array of strings", value);
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_path = join_index(&path, i);
            diag.record(&item_path, None, item.span().start);
            match item.get_ref() {
                DeValue::String(s) => out.push(s.to_string()),
                _ => {
                    // Keep the indices aligned with the file; the error marks this one broken.
                    Self::wrong_type(diag, &item_path, "a string", item);
                    out.push(String::new());
                }
            }
        }
        Some(out)
    }

    /// A required array of strings.
    pub(crate) fn req_str_list(&mut self, diag: &mut Diag<'_>, key: &str) -> Option<Vec<String>> {
        if !self.table.contains_key(key) {
            self.known.push(key.to_string());
            self.missing(diag, key);
            return None;
        }
        self.opt_str_list(diag, key)
    }

    /// An optional table of strings (`{ leeds = "email" }`); positions recorded as `key.k`.
    pub(crate) fn opt_str_map(&mut self, diag: &mut Diag<'_>, key: &str) -> Option<BTreeMap<String, String>> {
        let (path, value) = self.take(diag, key)?;
        let DeValue::Table(table) = value.get_ref() else {
            Self::wrong_type(diag, &path, "a table of strings", value);
            return None;
        };
        let mut out = BTreeMap::new();
        for (k, v) in table.iter() {
            let entry_path = join_key(&path, k.get_ref());
            diag.record(&entry_path, Some(k.span().start), v.span().start);
            match v.get_ref() {
                DeValue::String(s) => {
                    out.insert(k.get_ref().to_string(), s.to_string());
                }
                _ => Self::wrong_type(diag, &entry_path, "a string", v),
            }
        }
        Some(out)
    }

    /// A required table of strings.
    pub(crate) fn req_str_map(&mut self, diag: &mut Diag<'_>, key: &str) -> Option<BTreeMap<String, String>> {
        if !self.table.contains_key(key) {
            self.known.push(key.to_string());
            self.missing(diag, key);
            return None;
        }
        self.opt_str_map(diag, key)
    }

    /// An optional sub-table (`[a.b]` or `b = { ... }`).
    pub(crate) fn opt_table(&mut self, diag: &mut Diag<'_>, key: &str) -> Option<Table<'a, 'i>> {
        let (path, value) = self.take(diag, key)?;
        match value.get_ref() {
            DeValue::Table(table) => Some(Table::new(table, path)),
            _ => {
                Self::wrong_type(diag, &path, "a table", value);
                None
            }
        }
    }

    /// A required sub-table.
    pub(crate) fn req_table(&mut self, diag: &mut Diag<'_>, key: &str) -> Option<Table<'a, 'i>> {
        if !self.table.contains_key(key) {
            self.known.push(key.to_string());
            self.missing(diag, key);
            return None;
        }
        self.opt_table(diag, key)
    }

    /// An optional array of tables (`[[key]]` or `key = [{...}, ...]`); absent means empty.
    /// Elements that are not tables are reported and skipped.
    pub(crate) fn table_array(&mut self, diag: &mut Diag<'_>, key: &str) -> Vec<Table<'a, 'i>> {
        let Some((path, value)) = self.take(diag, key) else {
            return Vec::new();
        };
        let DeValue::Array(items) = value.get_ref() else {
            Self::wrong_type(diag, &path, &format!("an array of tables ([[{key}]])"), value);
            return Vec::new();
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_path = join_index(&path, i);
            diag.record(&item_path, None, item.span().start);
            match item.get_ref() {
                DeValue::Table(table) => out.push(Table::new(table, item_path)),
                _ => Self::wrong_type(diag, &item_path, "a table", item),
            }
        }
        out
    }

    /// A secret reference from `{base}_env` or `{base}_file` (exactly one). A bare `{base}`
    /// key (the secret itself, inline) is refused.
    pub(crate) fn secret(&mut self, diag: &mut Diag<'_>, base: &str, required: bool) -> Option<SecretRef> {
        let env_key = format!("{base}_env");
        let file_key = format!("{base}_file");
        let inline =
            self.refuse_inline(diag, base, &format!("`{env_key}` (an environment variable) or `{file_key}` (a file)"));
        let env = self.opt_str(diag, &env_key);
        let file = self.opt_str(diag, &file_key);
        let env_path = self.child(&env_key);
        let file_path = self.child(&file_key);
        match (env, file) {
            (Some(_), Some(_)) => {
                diag.key_error(&file_path, format!("give either `{env_key}` or `{file_key}`, not both"));
                None
            }
            (Some(name), None) => {
                if is_env_name(&name) {
                    Some(SecretRef::Env { name, at: diag.key_at(&env_path) })
                } else {
                    diag.value_error(
                        &env_path,
                        format!(
                            "{name:?} is not an environment variable name (letters, digits \
                             and `_`, not starting with a digit)"
                        ),
                    );
                    None
                }
            }
            (None, Some(file)) => {
                if file.trim().is_empty() {
                    diag.value_error(&file_path, "must name a file");
                    None
                } else {
                    Some(SecretRef::File { path: diag.resolve(&file), at: diag.key_at(&file_path) })
                }
            }
            (None, None) => {
                let broken = diag.is_present(&env_path) || diag.is_present(&file_path);
                if required && !broken && !inline {
                    diag.value_error(&self.path, format!("missing `{env_key}` or `{file_key}`"));
                }
                None
            }
        }
    }

    /// Refuses `key` if present: a secret written inline. `instead` names the keys to use.
    /// Returns whether it was there.
    pub(crate) fn refuse_inline(&mut self, diag: &mut Diag<'_>, key: &str, instead: &str) -> bool {
        let Some((k, v)) = self.table.get_key_value(key) else {
            return false;
        };
        self.refused.push(key.to_string());
        let path = self.child(key);
        diag.record(&path, Some(k.span().start), v.span().start);
        diag.key_error(&path, format!("secrets never sit in the config file: use {instead} instead"));
        true
    }

    /// Reports every key of this table that was never asked for.
    pub(crate) fn finish(self, diag: &mut Diag<'_>) {
        for (k, v) in self.table.iter() {
            let key = k.get_ref().as_ref();
            if self.known.iter().any(|n| n == key) || self.refused.iter().any(|n| n == key) {
                continue;
            }
            let path = join_key(&self.path, key);
            diag.record(&path, Some(k.span().start), v.span().start);
            diag.key_error(&path, unknown_key_message(key, &self.known));
        }
    }
}

/// `humantime` durations, e.g. `"5d"`, `"36h"`, `"1w"`, `"500ms"`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("{text:?} is not a duration ({e}); write e.g. \"500ms\", \"2s\", \"36h\", \"5d\""))
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn looks_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "passwd", "secret", "token", "api_key", "apikey"].iter().any(|word| key.contains(word))
        && !key.ends_with("_env")
        && !key.ends_with("_file")
}

fn unknown_key_message(key: &str, known: &[String]) -> String {
    let mut message = format!("unknown key `{key}`");
    let close = known
        .iter()
        .map(|k| (edit_distance(&key.to_ascii_lowercase(), k), k))
        .filter(|(d, k)| *d <= 2 && *d < k.len().max(2))
        .min_by_key(|(d, _)| *d);
    if let Some((_, suggestion)) = close {
        message.push_str(&format!("; did you mean `{suggestion}`?"));
    } else if known.is_empty() {
        message.push_str("; this table takes no keys");
    } else {
        let list: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
        message.push_str(&format!("; expected one of {}", list.join(", ")));
    }
    if looks_secret(key) {
        message.push_str(
            " (secrets never sit in the config file: name an environment variable with a \
             `*_env` key or a file with a `*_file` key)",
        );
    }
    message
}

/// Levenshtein distance, for "did you mean" hints.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = if ca == *cb { previous } else { 1 + previous.min(row[j]).min(row[j + 1]) };
            previous = current;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("timezone", "timezone"), 0);
        assert_eq!(edit_distance("timzone", "timezone"), 1);
        assert_eq!(edit_distance("colour", "country"), 4);
    }

    #[test]
    fn unknown_keys_get_a_hint() {
        let known = vec!["timezone".to_string(), "name".to_string()];
        assert_eq!(unknown_key_message("time_zone", &known), "unknown key `time_zone`; did you mean `timezone`?");
        assert_eq!(unknown_key_message("colour", &known), "unknown key `colour`; expected one of `timezone`, `name`");
        assert!(unknown_key_message("api_token", &known).contains("secrets never sit"));
    }

    #[test]
    fn env_names() {
        assert!(is_env_name("C2C_IMAP_PASSWORD"));
        assert!(is_env_name("_x1"));
        assert!(!is_env_name("1X"));
        assert!(!is_env_name("A-B"));
        assert!(!is_env_name(""));
    }
}
