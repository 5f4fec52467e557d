//! Link options for the daemon's binary.
//!
//! On Linux with glibc 2.36 or later, the binary is linked with packed relative relocations
//! (`DT_RELR`, `-z pack-relative-relocs`). The daemon is a position-independent executable, and
//! its ~89,000 relative relocations took 2.1 MB as `.rela.dyn` entries, which the loader reads
//! at start and which then stay resident for the process's life; packed, they take 32 KB. The
//! same addresses are relocated and the executable stays position-independent (ASLR). Measured
//! in BENCHMARKS.md, "Packed relocations": 1.2-1.9 MiB less RSS at rest and under load.
//!
//! A binary linked so needs glibc 2.36 at run time (the loader refuses it by name,
//! `GLIBC_ABI_DT_RELR`, on an older one), so the option is used only when this machine builds
//! for itself and its glibc is new enough; a cross build, or a build on an older system (Ubuntu
//! 22.04, RHEL 9), links as before. `C2C_PACK_RELOCS=0` turns it off.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=C2C_PACK_RELOCS");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux" || var("CARGO_CFG_TARGET_ENV") != "gnu" {
        return;
    }
    if var("C2C_PACK_RELOCS") == "0" || var("HOST") != var("TARGET") {
        return;
    }
    match glibc_version() {
        Some(v) if v >= (2, 36) => println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs"),
        _ => {
            println!("cargo:warning=glibc older than 2.36 or unknown: the daemon is linked without packed relocations")
        }
    }
}

/// This machine's glibc version, from `getconf GNU_LIBC_VERSION` ("glibc 2.36").
fn glibc_version() -> Option<(u32, u32)> {
    let out = Command::new("getconf").arg("GNU_LIBC_VERSION").output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let (major, minor) = text.trim().strip_prefix("glibc ")?.split_once('.')?;
    let minor = minor.split(|c: char| !c.is_ascii_digit()).next()?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}
