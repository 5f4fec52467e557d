//! The shipped systemd unit, checked by systemd's own tools: `systemd-analyze verify` finds
//! nothing wrong with it (pointed at the binary under test), and `systemd-analyze security`
//! rates its sandbox "OK" or better.

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
