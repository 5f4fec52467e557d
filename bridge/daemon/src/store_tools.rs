//! `c2c-bridge store ...`: tools for the store of a stopped daemon. `store check` reads every
//! record and says what is wrong (see `c2c_store::check`): exit 0 when clean, 1 when it found
//! problems or could not read the store.

use std::io::Write;
use std::path::Path;

use c2c_config::Config;
use c2c_store::OpenError;

use crate::app::BadConfig;

/// `store check`.
pub fn check(config_path: &Path, json: bool) -> anyhow::Result<()> {
    let config = Config::load(config_path).map_err(|e| anyhow::Error::new(BadConfig(e)))?;
    let dir = config.bridge.data_dir.join("store");
    if !dir.join("conf").exists() && !dir.join("db").exists() {
        anyhow::bail!("there is no store at {} (has the daemon run with this config?)", dir.display());
    }
    let store = match c2c_store::SledStore::open(&dir, None) {
        Ok(store) => store,
        Err(e @ OpenError::InUse { .. }) => {
            anyhow::bail!("{e}: stop the daemon first (store tools read a stopped store)")
        }
        Err(e) => return Err(e.into()),
    };
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
