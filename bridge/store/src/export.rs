//! `c2c-bridge store export` / `store import`: a store as JSON lines, streamed, for backups and
//! for moving between versions and backends.
//!
//! The format, one JSON object per line:
//! - first `{"c2c_store_export": 1, "schema": N, "instance": "..."}`;
//! - then one line per record in key order: `{"k": KEY, "v": RECORD}` where the record is
//!   JSON (`m/`, `c/`, `n/`, `a/`, `o/`, `t/`, `d/`), embedded as it is stored, or
//!   `{"k": KEY, "t": TEXT}` for text (`meta/`, `s/`);
//! - last `{"end": RECORDS}`, so a cut-short file is refused rather than half imported.
//!
//! Import makes a new store (never into one that exists), writes the records as they are, and
//! is then opened like any store (older schemas are migrated) and checked ([`crate::check`]).
//! A failed import removes what it made.

use std::io::{BufRead, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::keys;
use crate::kv::{Kv, Op};
use crate::{KvStore, SledStore};

/// The format's version (the header's `c2c_store_export`).
pub const FORMAT: u32 = 1;

/// Records are written to sled in batches of this many.
const BATCH: usize = 4096;

#[derive(Serialize, Deserialize)]
struct Header {
    c2c_store_export: u32,
    schema: u32,
    instance: String,
}

#[derive(Serialize)]
struct Out<'a> {
    k: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    v: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    t: Option<&'a str>,
}

#[derive(Deserialize)]
struct In {
    k: Option<String>,
    v: Option<Box<RawValue>>,
    t: Option<String>,
    end: Option<u64>,
}

/// Why an export or import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("reading the store: {0}")]
    Store(#[from] c2c_core::StoreError),
    #[error("writing: {0}")]
    Write(#[from] std::io::Error),
    #[error("record {key} is neither JSON nor text")]
    NotText { key: String },
}

/// Why an import stopped (the store it began is removed).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path} exists: import makes a new store; move the existing one aside first")]
    Exists { path: String },
    #[error("line {line}: {what}")]
    Bad { line: u64, what: String },
    #[error(
        "the export ends after {records} records without its last line (`{{\"end\": N}}`): it is cut short; nothing was imported"
    )]
    CutShort { records: u64 },
    #[error("the export says it holds {said} records, but {read} were read")]
    Count { said: u64, read: u64 },
    #[error("the export is of schema {found}, newer than this build understands ({current}); use a newer c2c-bridge")]
    TooNew { found: u32, current: u32 },
    #[error("reading the export: {0}")]
    Read(std::io::Error),
    #[error("writing the new store: {0}")]
    Store(#[from] c2c_core::StoreError),
    #[error("the imported store: {0}")]
    Open(#[from] crate::OpenError),
    #[error("the imported store does not check clean ({problems} problem(s)); first: {first}")]
    NotClean { problems: u64, first: String },
}

impl<K: Kv> KvStore<K> {
    /// Write every record to `out` in the export format; the number of records.
    pub fn export(&self, out: &mut dyn Write) -> Result<u64, ExportError> {
        let schema = self
            .kv
            .get(keys::SCHEMA_VERSION)?
            .and_then(|v| std::str::from_utf8(&v).ok().and_then(|s| s.parse().ok()))
            .unwrap_or(crate::schema::CURRENT);
        let header = Header { c2c_store_export: FORMAT, schema, instance: self.instance.to_string() };
        serde_json::to_writer(&mut *out, &header).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
        let mut records = 0;
        let mut failed = None;
        self.each_record(&mut |k, v| {
            match export_line(&mut *out, k, v) {
                Ok(()) => records += 1,
                Err(e) => failed = Some(e),
            }
            Ok(failed.is_none())
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        writeln!(out, "{{\"end\":{records}}}")?;
        out.flush()?;
        Ok(records)
    }
}

impl SledStore {
    /// Make a new sled store in `dir` from an export (see [`import_with`]).
    pub fn import(dir: &Path, input: &mut dyn BufRead) -> Result<(SledStore, u64), ImportError> {
        let wait = std::time::Duration::from_secs(10);
        import_with(dir, input, &|d: &Path, instance: Option<&str>| SledStore::open_waiting(d, instance, wait))
    }
}

impl crate::redb_kv::RedbStore {
    /// Make a new redb store in `dir` from an export (see [`import_with`]).
    pub fn import(dir: &Path, input: &mut dyn BufRead, cache_bytes: u64) -> Result<(Self, u64), ImportError> {
        import_with(dir, input, &|d: &Path, instance: Option<&str>| Self::open_redb(d, instance, cache_bytes))
    }
}

/// Make a new store in `dir` from an export, with `open` (which opens or creates a store of
/// one engine), open it again (migrating an older schema) and check it; the number of records.
/// On any failure, what was made in `dir` is removed.
pub fn import_with<K: Kv>(
    dir: &Path,
    input: &mut dyn BufRead,
    open: crate::open::Opener<'_, K>,
) -> Result<(KvStore<K>, u64), ImportError> {
    if dir.exists() && std::fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err(ImportError::Exists { path: dir.display().to_string() });
    }
    let result = import_into(dir, input, open);
    if result.is_err() {
        let _ = std::fs::remove_dir_all(dir);
    }
    result
}

/// One record's line.
fn export_line(out: &mut dyn Write, k: &[u8], v: &[u8]) -> Result<(), ExportError> {
    let key = String::from_utf8_lossy(k);
    let text = std::str::from_utf8(v).map_err(|_| ExportError::NotText { key: key.to_string() })?;
    let json = if key.starts_with("meta/") || key.starts_with("s/") {
        None
    } else {
        serde_json::from_str::<&RawValue>(text).ok()
    };
    let line = match json {
        Some(raw) => Out { k: &key, v: Some(raw), t: None },
        None => Out { k: &key, v: None, t: Some(text) },
    };
    serde_json::to_writer(&mut *out, &line).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    Ok(())
}

fn import_into<K: Kv>(
    dir: &Path,
    input: &mut dyn BufRead,
    open: crate::open::Opener<'_, K>,
) -> Result<(KvStore<K>, u64), ImportError> {
    let mut lines = input.lines();
    let first = lines.next().ok_or(ImportError::Bad { line: 1, what: "the export is empty".into() })?;
    let header: Header = serde_json::from_str(&first.map_err(ImportError::Read)?)
        .map_err(|e| ImportError::Bad { line: 1, what: format!("not an export's first line: {e}") })?;
    if header.c2c_store_export != FORMAT {
        return Err(ImportError::Bad {
            line: 1,
            what: format!("export format {} (this build reads {FORMAT})", header.c2c_store_export),
        });
    }
    if header.schema > crate::schema::CURRENT {
        return Err(ImportError::TooNew { found: header.schema, current: crate::schema::CURRENT });
    }
    {
        // A new store of this instance; the export's records (its schema version among them)
        // are written over what opening it wrote, and the second open below migrates.
        let new = open(dir, Some(&header.instance))?;
        let mut batch = Vec::with_capacity(BATCH);
        let (mut read, mut end) = (0u64, None);
        for (i, line) in lines.enumerate() {
            let n = i as u64 + 2;
            let line = line.map_err(ImportError::Read)?;
            if end.is_some() {
                return Err(ImportError::Bad { line: n, what: "a line after the last one".into() });
            }
            let rec: In = serde_json::from_str(&line).map_err(|e| ImportError::Bad { line: n, what: e.to_string() })?;
            if let Some(said) = rec.end {
                end = Some(said);
                continue;
            }
            let key = rec.k.ok_or(ImportError::Bad { line: n, what: "no key (`k`)".into() })?;
            let value = match (rec.v, rec.t) {
                (Some(v), None) => v.get().as_bytes().to_vec(),
                (None, Some(t)) => t.into_bytes(),
                _ => {
                    return Err(ImportError::Bad { line: n, what: "one of `v` (JSON) or `t` (text) is needed".into() });
                }
            };
            batch.push(Op::Put(key.into_bytes(), value));
            read += 1;
            if batch.len() == BATCH {
                new.kv.apply(std::mem::take(&mut batch))?;
            }
        }
        let said = end.ok_or(ImportError::CutShort { records: read })?;
        if said != read {
            return Err(ImportError::Count { said, read });
        }
        new.kv.apply(batch)?;
        new.kv.sync()?;
    }
    let store = open(dir, Some(&header.instance))?;
    let report = store.check();
    if !report.is_clean() {
        let first = report.problems.first().map(|p| format!("{}: {}", p.key, p.what)).unwrap_or_default();
        return Err(ImportError::NotClean { problems: report.problem_count, first });
    }
    let records = report.counts.values().sum();
    Ok((store, records))
}

#[cfg(test)]
mod tests {
    use c2c_core::Store;

    use super::*;

    #[tokio::test]
    async fn a_store_exported_and_imported_holds_the_same_records() {
        let from = tempfile::tempdir().unwrap();
        let store = SledStore::open(from.path(), Some("c2c-test")).unwrap();
        let conv = c2c_core::conformance::sample_conversation("p");
        let (commit, message, _) = c2c_core::conformance::sample_commit(&conv, 1);
        let staged = store.stage(commit).unwrap();
        store.durable(staged).await.unwrap();
        store.set_state("imap:cursor", "42").await.unwrap();
        let mut out = Vec::new();
        let exported = store.export(&mut out).unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.starts_with("{\"c2c_store_export\":1,\"schema\":2,\"instance\":\"c2c-test\"}\n"), "{text}");
        assert!(text.ends_with(&format!("{{\"end\":{exported}}}\n")), "{text}");

        let to = tempfile::tempdir().unwrap();
        let dir = to.path().join("store");
        let (copy, imported) = SledStore::import(&dir, &mut out.as_slice()).unwrap();
        assert_eq!(imported, exported);
        assert_eq!(copy.instance_id(), "c2c-test");
        assert_eq!(copy.conversation(conv.id).unwrap(), store.conversation(conv.id).unwrap());
        assert_eq!(copy.message(conv.id, message.seq).unwrap(), Some(message));
        assert_eq!(copy.state("imap:cursor").unwrap().as_deref(), Some("42"));
        let mut again = Vec::new();
        copy.export(&mut again).unwrap();
        assert_eq!(again, out, "an import exports byte for byte what it was made from");
        drop(copy);

        // Into the other engine: the same records.
        let (on_redb, n) =
            crate::redb_kv::RedbStore::import(&to.path().join("redb"), &mut out.as_slice(), 1 << 20).unwrap();
        assert_eq!(n, exported);
        let mut from_redb = Vec::new();
        on_redb.export(&mut from_redb).unwrap();
        assert_eq!(from_redb, out, "a redb store made from a sled export exports the same");

        // Into a store that exists: refused, and the store is left alone.
        let err = SledStore::import(&dir, &mut out.as_slice()).unwrap_err();
        assert!(matches!(err, ImportError::Exists { .. }), "{err}");
        assert!(dir.join("db").exists());

        // Cut short: refused, nothing left behind.
        let cut = &out[..text.rfind("{\"end\"").unwrap()];
        let other = to.path().join("cut");
        let err = SledStore::import(&other, &mut &cut[..]).unwrap_err();
        assert!(matches!(err, ImportError::CutShort { .. }), "{err}");
        assert!(!other.exists());
    }
}
