//! Integration tests: the real `c2c-bridge` binary, real HTTP on loopback, real signatures.
//!
//! One test binary (linking is the slow part of a build), one module per concern. Tests that
//! need something installed outside cargo (the Python reference verifier) are `#[ignore]`d with
//! the reason, and run by `tests/run.sh` with `--include-ignored`.

mod admins;
mod cli;
mod conversation;
mod crash;
mod deploy;
mod email;
mod federation;
mod followup;
mod followup_channels;
mod interop;
mod matrix;
mod peer;
mod refusals;
mod report;
mod retention;
mod retries;
mod store_tools;

use std::path::Path;

use c2c_test_support::world::{Tuning, World};

/// The binary under test, built by cargo for this test target.
pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_c2c-bridge"))
}

pub async fn world() -> World {
    World::start(bin(), Tuning::default()).await
}

pub async fn world_with(tuning: Tuning) -> World {
    World::start(bin(), tuning).await
}
