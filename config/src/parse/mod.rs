//! From text to a typed [`Config`]: TOML syntax, then section by section (`[bridge]`,
//! `[federation]` and each `[[peers]]`, `[connectors.*]`, each `[[cities]]` and contact, each
//! `[[partnerships]]` and deliverable, each `[[admins]]`),
//! each value checked for type and shape where it stands. A broken section is reported and
//! replaced by defaults so that the following sections and the semantic checks still run.

mod admins;
mod bridge;
mod cities;
mod connectors;
mod federation;
mod partnerships;
mod working;

use std::path::Path;

use toml::de::DeTable;

use crate::config::Config;
use crate::diag::Diag;
use crate::error::{ConfigError, ConfigErrors};
use crate::location::LineIndex;
use crate::reader::Table;

/// Parses and validates `text`, read from `path` (used in messages and to resolve relative
/// paths). Returns every problem at once.
pub(crate) fn parse(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
    let document = syntax(text, path)?;
    let mut diag = Diag::new(text, path);
    let mut root = Table::root(&mut diag, &document);

    let bridge = bridge::bridge(&mut diag, &mut root);
    let federation = federation::federation(&mut diag, &mut root);
    let peers = federation::peers(&mut diag, &mut root);
    let connectors = connectors::connectors(&mut diag, &mut root, &bridge);
    let cities = root
        .table_array(&mut diag, "cities")
        .into_iter()
        .map(|table| cities::city(&mut diag, table, &bridge))
        .collect::<Vec<_>>();
    let partnerships = root
        .table_array(&mut diag, "partnerships")
        .into_iter()
        .map(|table| partnerships::partnership(&mut diag, table, &cities, bridge.default_timezone))
        .collect();
    let admin_tables = root.table_array(&mut diag, "admins");
    let admins = admins::admins(&mut diag, admin_tables, &bridge, &cities);
    root.finish(&mut diag);

    let config =
        Config { path: path.to_path_buf(), bridge, federation, peers, connectors, cities, partnerships, admins };
    crate::validate::validate(&config, &mut diag);
    diag.finish()?;
    Ok(config)
}

/// The TOML document, or every syntax error the parser could find.
fn syntax<'i>(text: &'i str, path: &Path) -> Result<toml::Spanned<DeTable<'i>>, ConfigErrors> {
    let (document, errors) = DeTable::parse_recoverable(text);
    if errors.is_empty() {
        return Ok(document);
    }
    let lines = LineIndex::new(text);
    let mut out: Vec<ConfigError> = errors
        .iter()
        .map(|e| {
            let (line, column) = lines.line_col(e.span().map_or(0, |s| s.start));
            let message = crate::error::one_line(e.message().trim().replace('\n', "; "));
            ConfigError {
                file: path.display().to_string(),
                line,
                column,
                path: String::new(),
                message: format!("TOML syntax error: {message}"),
            }
        })
        .collect();
    out.sort_by_key(|e| (e.line, e.column));
    out.dedup();
    Err(ConfigErrors(out))
}

/// A required text must not be blank.
pub(crate) fn non_empty(text: &str) -> Result<String, String> {
    if text.trim().is_empty() { Err("must not be empty".into()) } else { Ok(text.to_string()) }
}

/// Checks each language code of the list at `path` (and that none is listed twice).
pub(crate) fn check_languages(diag: &mut Diag<'_>, path: &str, codes: &[String]) {
    for (i, code) in codes.iter().enumerate() {
        let at = crate::location::join_index(path, i);
        if diag.has_error(&at) {
            continue;
        }
        if let Err(message) = crate::formats::check_language(code) {
            diag.value_error(&at, message);
        } else if codes[..i].contains(code) {
            diag.value_error(&at, format!("{code:?} is listed twice"));
        }
    }
}
