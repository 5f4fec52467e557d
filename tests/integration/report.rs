//! The post-activity report on the real binary: `c2c-bridge report` asks the running daemon,
//! and reads the store itself once it has stopped, saying which on stderr. And the HTML report
//! in headless Chromium (Debian's `chromium`, installed by tests/run.sh): it loads with no
//! request outside the page and no console message, and its charts have the bars the scripted
//! traffic of the golden test gives (`bridge/daemon/src/report/tests.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;

use c2c_test_support::world::message;
use serde_json::Value;

#[tokio::test]
async fn report_asks_the_running_daemon_and_reads_the_store_once_it_has_stopped() {
    let mut w = crate::world().await;
    for (city, id, from, text) in [
        ("leeds", "r-1", "leeds-jo", "Here are the library opening hours for the exchange."),
        ("leeds", "r-2", "leeds-jo", "And the list of the six libraries taking part."),
        ("hangzhou", "r-3", "hz-li", "Thank you, we will send our own list next week."),
    ] {
        let a = w.post(city, id, &message(from, "hangzhou-leeds", None, Some("Libraries"), text)).await;
        assert_eq!(a.status, 202, "{}", a.body);
    }
    let args = ["report", "--partnership", "hangzhou-leeds"];

    // Running: the daemon holds the store, so the command asks its admin API.
    let out = w.daemon.command(&[&args[..], &["--format", "json"]].concat());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("report made by the running daemon at http://"), "{stderr}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["partnership"], "hangzhou-leeds");
    assert_eq!(r["messages"], 3);
    let by_city: Vec<(&str, u64)> = r["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["city"].as_str().unwrap(), m["messages"].as_u64().unwrap()))
        .collect();
    assert_eq!(by_city, [("hangzhou", 1), ("leeds", 2)]);
    assert_eq!(r["threads"]["open"], 3, "three new conversations");

    // A typo is told before anyone is asked.
    let out = w.daemon.command(&[&args[..], &["--since", "2027-13-01"]].concat());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--since: \"2027-13-01\" is neither a date"));
    let out = w.daemon.command(&["report", "--partnership", "nope"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no partnership `nope`"));

    // Stopped: it opens the store itself, and says so.
    assert!(w.daemon.terminate().await.success());
    let out = w.daemon.command(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("report read from the store at ") && stderr.contains("(no daemon answers at http://"),
        "{stderr}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("Post-activity report: hangzhou-leeds\n"), "{text}");
    assert!(text.contains("\nMessages: 3\n"), "{text}");
    let out = w.daemon.command(&[&args[..], &["--format", "html"]].concat());
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("<!DOCTYPE html>"));
}

/// Debian's Chromium (or `C2C_CHROMIUM`).
fn chromium() -> PathBuf {
    let bin = std::env::var_os("C2C_CHROMIUM").map_or_else(|| PathBuf::from("chromium"), PathBuf::from);
    let found = Command::new(&bin).arg("--version").output();
    assert!(
        found.as_ref().is_ok_and(|o| o.status.success()),
        "{} is needed (tests/run.sh installs Debian's chromium): {found:?}",
        bin.display()
    );
    bin
}

/// Headless Chromium on `page` with `args` (a private profile in `dir`): stdout and stderr.
fn headless(dir: &Path, page: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new(chromium())
        .args(["--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--enable-logging=stderr", "--v=0"])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "chromium: {}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// What the page said on the console (CSP refusals are logged there), and uncaught errors.
fn console(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught")).collect()
}

/// The bars of the SVG chart `id` in a dumped DOM.
fn bars(dom: &str, id: &str) -> usize {
    let start = dom.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no chart {id}"));
    let end = start + dom[start..].find("</svg>").unwrap();
    dom[start..end].matches("class=\"bar\"").count()
}

#[test]
#[ignore = "needs chromium (tests/run.sh)"]
fn the_html_report_renders_in_chromium_with_no_request_and_the_bars_of_the_golden_month() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/report.html");
    let html = std::fs::read_to_string(&golden).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, &html).unwrap();
    // Nothing in the page names anything outside it.
    for outside in ["http://", "https://", "src=", "href=", "url(", "@import", "<script"] {
        assert!(!html.contains(outside), "the page refers to something outside it: {outside}");
    }

    let (dom, stderr) = headless(dir.path(), &page, &["--dump-dom"]);
    assert!(dom.contains("<h1>heritage</h1>"), "{dom}");
    assert_eq!(console(&stderr), Vec::<&str>::new(), "no console message, no refused request");
    // Four weeks × three members, but Gifu wrote nothing in the first week: 11 bars.
    assert_eq!(bars(&dom, "chart-weeks"), 11);
    assert_eq!(dom.matches("data-week=\"2027-W01\"").count(), 2);
    // A median and a p90 bar for each of the three members.
    assert_eq!(bars(&dom, "chart-replies"), 6);

    // The check above would see a request: a page that tries one is refused by its CSP, which
    // Chromium logs, and nothing reaches the address.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let fetching = dir.path().join("fetching.html");
    let tampered =
        html.replacen("<main>", &format!("<main><img alt=\"\" src=\"http://127.0.0.1:{port}/pixel.png\">"), 1);
    std::fs::write(&fetching, tampered).unwrap();
    let (_, stderr) = headless(dir.path(), &fetching, &["--dump-dom"]);
    let said = console(&stderr);
    assert!(said.iter().any(|l| l.contains("Content Security Policy")), "{stderr}");
    assert!(listener.accept().is_err(), "the request was blocked before it left");

    // Screenshots at a phone's and a desktop's width (C2C_REPORT_SCREENSHOTS=docs keeps them
    // for the README).
    let keep = std::env::var_os("C2C_REPORT_SCREENSHOTS").map(PathBuf::from);
    for (name, size) in [("report-phone.png", "390,844"), ("report-desktop.png", "1280,900")] {
        let shot = keep.as_ref().map_or_else(|| dir.path().join(name), |d| d.join(name));
        let (_, stderr) = headless(
            dir.path(),
            &page,
            &[&format!("--window-size={size}"), &format!("--screenshot={}", shot.display())],
        );
        assert_eq!(console(&stderr), Vec::<&str>::new());
        let png = std::fs::read(&shot).unwrap();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{name}: {} bytes", png.len());
    }
}
