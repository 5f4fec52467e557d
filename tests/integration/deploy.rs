//! The shipped systemd unit, checked by systemd's own tools: `systemd-analyze verify` finds
//! nothing wrong with it (pointed at the binary under test), and `systemd-analyze security`
//! rates its sandbox "OK" or better. The daemon's link order (`bridge/daemon/hot-functions.txt`)
//! is a list of symbols its checker can read.

use std::process::Command;

/// The unit with `ExecStart` and `ExecStartPre` pointing at the binary under test.
fn unit() -> (tempfile::TempDir, std::path::PathBuf) {
    let text = std::fs::read_to_string(c2c_test_support::repo().join("deploy/c2c-bridge.service")).unwrap();
    assert!(text.contains("/usr/local/bin/c2c-bridge"));
    let text = text.replace("/usr/local/bin/c2c-bridge", &crate::bin().display().to_string());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c2c-bridge.service");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
#[ignore = "needs systemd-analyze (tests/run.sh installs it)"]
fn the_systemd_unit_verifies_and_its_sandbox_rates_ok() {
    let (_dir, path) = unit();
    let verify = Command::new("systemd-analyze").arg("verify").arg(&path).output().unwrap();
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(verify.status.success() && said.trim().is_empty(), "systemd-analyze verify: {said}");

    let security = Command::new("systemd-analyze").args(["security", "--offline=true"]).arg(&path).output().unwrap();
    let out = String::from_utf8_lossy(&security.stdout);
    let overall = out.lines().find(|l| l.contains("Overall exposure level")).unwrap_or_else(|| panic!("{out}"));
    // "→ Overall exposure level for c2c-bridge.service: 1.6 OK 🙂"
    let mut words = overall.rsplit(": ").next().unwrap().split_whitespace();
    let score: f64 = words.next().unwrap().parse().unwrap();
    let level = words.next().unwrap();
    eprintln!("systemd-analyze security: {score} {level}");
    assert!(matches!(level, "OK" | "SAFE"), "exposure {score} {level}:\n{out}");
}

#[test]
#[ignore = "needs python3 and nm (tests/run.sh runs it)"]
fn the_link_order_is_one_symbol_a_line_and_its_checker_reads_it() {
    let path = c2c_test_support::repo().join("bridge/daemon/hot-functions.txt");
    let text = std::fs::read_to_string(&path).unwrap();
    let names: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(names.len() > 1000, "{} names", names.len());
    assert!(names.iter().all(|n| !n.is_empty() && !n.contains(char::is_whitespace)), "a line that is not one symbol");
    let unique: std::collections::HashSet<_> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "a symbol listed twice");

    // The test build's symbols carry other hashes than the release build's the list was made
    // from, so only part of it matches (exit 1); what matters is that the count is read.
    let out = Command::new("python3")
        .arg(c2c_test_support::repo().join("deploy/hot-functions.py"))
        .args(["--check", "--binary"])
        .arg(crate::bin())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{said}{}", String::from_utf8_lossy(&out.stderr));
    let of = format!(" of {} listed functions are in ", names.len());
    assert!(said.contains(&of), "{said}");
}
