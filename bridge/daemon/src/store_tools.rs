//! `c2c-bridge store ...`: tools for the store of a stopped daemon. `store check` reads every
//! record and says what is wrong (see `c2c_store::check`): exit 0 when clean, 1 when it found
//! problems or could not read the store. `store export` / `store import` write a store as JSON
//! lines and make a new one from them (see `c2c_store::export`).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use c2c_config::{Config, StoreEngine};
use c2c_core::Store;
use c2c_store::redb_kv::RedbStore;
use c2c_store::{OpenError, SledStore};

use crate::store_open::Opened;

use crate::app::BadConfig;

/// The config at `path` (a bad one exits 2, as at `check-config`).
fn load(path: &Path) -> anyhow::Result<Config> {
    Config::load(path).map_err(|e| anyhow::Error::new(BadConfig(e)))
}

/// The config's store, which must exist and not be held by a running daemon.
fn open_stopped(config: &Config) -> anyhow::Result<(PathBuf, Opened)> {
    let dir = config.bridge.data_dir.join("store");
    let exists = match config.bridge.store {
        StoreEngine::Sled => dir.join("conf").exists() || dir.join("db").exists(),
        StoreEngine::Redb => dir.join(c2c_store::redb_kv::FILE).exists(),
    };
    if !exists {
        anyhow::bail!("there is no store at {} (has the daemon run with this config?)", dir.display());
    }
    match Opened::open(config, std::time::Duration::ZERO) {
        Ok(store) => Ok((dir, store)),
        Err(e @ OpenError::InUse { .. }) => {
            anyhow::bail!("{e}: stop the daemon first (store tools read a stopped store)")
        }
        Err(e) => Err(e.into()),
    }
}

/// `store export`.
pub fn export(config_path: &Path, out: &Path) -> anyhow::Result<()> {
    let (dir, store) = open_stopped(&load(config_path)?)?;
    let records = if out == Path::new("-") {
        store.export(&mut std::io::BufWriter::new(std::io::stdout().lock()))?
    } else {
        // The export holds everything the store does: the owner's only, like the store.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(out)
            .with_context(|| format!("{}: the export goes to a new file", out.display()))?;
        let mut writer = std::io::BufWriter::new(file);
        let records = store.export(&mut writer)?;
        writer.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        records
    };
    eprintln!("c2c-bridge: {records} records exported from the store at {}", dir.display());
    Ok(())
}

/// `store import`.
pub fn import(config_path: &Path, from: &Path) -> anyhow::Result<()> {
    // The new store is its owner's only, as the daemon makes it (0700 directories, 0600 files).
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let config = load(config_path)?;
    let dir = config.bridge.data_dir.join("store");
    let mut input: Box<dyn std::io::BufRead> = if from == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(from).with_context(|| format!("{}", from.display()))?;
        Box::new(std::io::BufReader::new(file))
    };
    let (instance, records) = match config.bridge.store {
        StoreEngine::Sled => SledStore::import(&dir, &mut input).map(|(s, n)| (s.instance_id().to_string(), n))?,
        StoreEngine::Redb => RedbStore::import(&dir, &mut input, config.bridge.store_cache)
            .map(|(s, n)| (s.instance_id().to_string(), n))?,
    };
    eprintln!(
        "c2c-bridge: {records} records imported into a new store at {} (instance {instance}); it checks clean",
        dir.display(),
    );
    Ok(())
}

/// `store check --repair`.
pub fn repair(config_path: &Path) -> anyhow::Result<()> {
    let (dir, store) = open_stopped(&load(config_path)?)?;
    let (report, dropped) = store.repair()?;
    let mut out = std::io::stdout().lock();
    write!(out, "{}", report.render())?;
    if dropped.is_empty() {
        return Ok(());
    }
    writeln!(out, "dropped {} record(s):", dropped.len())?;
    for key in &dropped {
        writeln!(out, "  {key}")?;
    }
    let after = store.check();
    if !after.is_clean() {
        write!(out, "after the repair:\n{}", after.render())?;
        anyhow::bail!("the store at {} still has {} problem(s) after the repair", dir.display(), after.problem_count);
    }
    writeln!(out, "the store checks clean now")?;
    Ok(())
}

/// `store compact`.
pub fn compact(config_path: &Path, keep_old: bool) -> anyhow::Result<()> {
    let config = load(config_path)?;
    let dir = config.bridge.data_dir.join("store");
    drop(open_stopped(&config)?);
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let done = match config.bridge.store {
        StoreEngine::Sled => c2c_store::compact::compact(&dir, keep_old)?,
        StoreEngine::Redb => c2c_store::compact::compact_redb(&dir, keep_old, config.bridge.store_cache)?,
    };
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "compacted {}: {} records, {:.1} MiB before, {:.1} MiB after",
        dir.display(),
        done.records,
        mib(done.bytes_before),
        mib(done.bytes_after)
    );
    if let Some(old) = done.kept {
        println!("the old store is kept at {}", old.display());
    }
    Ok(())
}

/// `store check`.
pub fn check(config_path: &Path, json: bool) -> anyhow::Result<()> {
    let (dir, store) = open_stopped(&load(config_path)?)?;
    let report = store.check();
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", report.render())?;
    }
    out.flush()?;
    if !report.is_clean() {
        anyhow::bail!(
            "the store at {} has {} problem(s); restore it from an export or a backup",
            dir.display(),
            report.problem_count
        );
    }
    Ok(())
}

/// `store migrate --to ENGINE`: copy the stopped store into a new one on `to`, check that it
/// holds as many records and checks clean, and put it in the store's place; the old store is
/// kept beside it. The config must then name the new engine.
pub fn migrate(config_path: &Path, to: StoreEngine) -> anyhow::Result<()> {
    let config = load(config_path)?;
    if config.bridge.store == to {
        anyhow::bail!("the store is on {to:?} already");
    }
    let (dir, from) = open_stopped(&config)?;
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let name = |e: StoreEngine| if e == StoreEngine::Redb { "redb" } else { "sled" };
    let new_dir = dir.with_file_name("store.migrating");
    let old_dir = dir.with_file_name(format!("store.{}-before-migrate", name(config.bridge.store)));
    for leftover in [&new_dir, &old_dir] {
        if leftover.exists() {
            anyhow::bail!(
                "{} exists (left by an earlier migration?): look at it, remove it, and run this again",
                leftover.display()
            );
        }
    }
    let before = from.check();
    if !before.is_clean() {
        anyhow::bail!("the store has {} problem(s) (`store check`): repair it before migrating", before.problem_count);
    }
    let instance = Some(from.as_store().instance_id().to_string());
    let copy = || -> anyhow::Result<u64> {
        let cache = config.bridge.store_cache;
        let wait = std::time::Duration::from_secs(10);
        Ok(match (&from, to) {
            (Opened::Sled(s), StoreEngine::Redb) => {
                s.copy_into(&c2c_store::redb_kv::RedbStore::open_redb(&new_dir, instance.as_deref(), cache)?)?
            }
            (Opened::Redb(s), StoreEngine::Sled) => {
                s.copy_into(&SledStore::open_with_cache(&new_dir, instance.as_deref(), wait, cache)?)?
            }
            _ => unreachable!("the engines differ"),
        })
    };
    let copied = copy().inspect_err(|_| {
        let _ = std::fs::remove_dir_all(&new_dir);
    })?;
    drop(from);
    // The copy, opened anew, must hold the same records and check clean.
    let check_copy = || -> anyhow::Result<()> {
        let reopened = match to {
            StoreEngine::Redb => {
                Opened::Redb(c2c_store::redb_kv::RedbStore::open_redb(&new_dir, None, config.bridge.store_cache)?)
            }
            StoreEngine::Sled => Opened::Sled(SledStore::open(&new_dir, None)?),
        };
        let after = reopened.check();
        if after != before {
            anyhow::bail!(
                "the copy does not hold what the store does ({} records copied; check before: {:?}, after: {:?})",
                copied,
                before.counts,
                after.counts
            );
        }
        Ok(())
    };
    check_copy().inspect_err(|_| {
        let _ = std::fs::remove_dir_all(&new_dir);
    })?;
    std::fs::rename(&dir, &old_dir).with_context(|| format!("moving {} aside", dir.display()))?;
    std::fs::rename(&new_dir, &dir)
        .with_context(|| format!("moving the copy into place (the old store is at {})", old_dir.display()))?;
    println!(
        "migrated {copied} records to {}: the store at {} is now a {} store. Set `[bridge] store = \"{}\"` in {} before \
         starting the daemon; the old store is kept at {} (remove it once the daemon runs well)",
        name(to),
        dir.display(),
        name(to),
        name(to),
        config_path.display(),
        old_dir.display()
    );
    Ok(())
}
