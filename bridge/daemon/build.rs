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
//!
//! The functions a running bridge executes are placed together at the start of `.text`, hottest
//! first, in the order `hot-functions.txt` lists them (the linker's `--symbol-ordering-file`;
//! `deploy/hot-functions.py` writes the list from the load generator's workloads). The kernel
//! maps a program's code in blocks around each page it runs, so the few MiB of code a bridge
//! runs, spread over a 43 MB `.text`, kept several times that resident. The list holds the
//! release build's mangled names; a name the binary no longer has (a dependency or the compiler
//! changed) is skipped, so a stale list costs memory, never correctness. Only where the linker is
//! Rust's own lld (`x86_64-unknown-linux-gnu` with no other linker configured); GNU ld has no
//! such option. `C2C_SYMBOL_ORDER=0` turns it off, `C2C_SYMBOL_ORDER=FILE` uses another list.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    pack_relocations();
    order_functions();
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

fn pack_relocations() {
    println!("cargo:rerun-if-env-changed=C2C_PACK_RELOCS");
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

fn order_functions() {
    println!("cargo:rerun-if-env-changed=C2C_SYMBOL_ORDER");
    let list = match std::env::var("C2C_SYMBOL_ORDER") {
        Ok(v) if v == "0" => return,
        Ok(path) if !path.is_empty() => std::path::PathBuf::from(path),
        _ => std::path::Path::new(&var("CARGO_MANIFEST_DIR")).join("hot-functions.txt"),
    };
    // rust-lld is the default linker of this target only (since Rust 1.90); a configured linker
    // (RUSTC_LINKER, -C linker, -C linker-features, -fuse-ld) may be GNU ld, which refuses the
    // option.
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    let other_linker = !var("RUSTC_LINKER").is_empty() || flags.contains("linker") || flags.contains("fuse-ld");
    if var("TARGET") != "x86_64-unknown-linux-gnu" || other_linker {
        return;
    }
    println!("cargo:rerun-if-changed={}", list.display());
    if list.is_file() {
        println!("cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}", list.display());
        // The list names the release build's symbols: a test build has none of them.
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}
