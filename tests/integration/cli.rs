//! The command line around the daemon: check-config, tag-language (with --list and --explain),
//! conversations, SIGTERM, peer keygen.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use c2c_test_support::world::message;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn check_config_accepts_the_shipped_examples() {
    for name in ["example.toml", "full-example.toml"] {
        let out = Command::new(crate::bin())
            .args(["check-config", "--config"])
            .arg(repo().join("config").join(name))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("cities"), "one-line summary: {stdout}");
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
    }
}

#[test]
fn check_config_lists_every_problem_with_its_location_and_exits_2() {
    let path = repo().join("config/tests/broken.toml");
    let out = Command::new(crate::bin()).args(["check-config", "--config"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 8, "{stderr}");
    for l in lines {
        // file:line:column: path: message
        let mut parts = l.splitn(4, ':');
        let (file, line, col) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        assert!(file.ends_with("broken.toml"), "{l}");
        assert!(line.parse::<u32>().is_ok() && col.parse::<u32>().is_ok(), "{l}");
    }
}

#[test]
fn check_config_with_env_requires_the_secrets() {
    let out = Command::new(crate::bin())
        .args(["check-config", "--env", "--config"])
        .arg(repo().join("config/full-example.toml"))
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("C2C_IMAP_PASSWORD"), "{stderr}");
}

#[test]
fn tag_language_prints_one_line_per_line_in_order() {
    let mut child = Command::new(crate::bin())
        .args(["tag-language", "--languages", "en,zh,ja", "--prior", "zh"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            "Please send the agenda before Friday.\n请在周五之前发送议程。\n\n来週の会議の議題をお送りください。\n"
                .as_bytes(),
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let codes: Vec<&str> = text.lines().map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(codes, vec!["en", "zh", "und", "ja"], "{text}");
    for l in text.lines() {
        let fields: Vec<&str> = l.split('\t').collect();
        assert_eq!(fields.len(), 3, "{l}");
        assert!(fields[1].parse::<f64>().is_ok(), "{l}");
    }
}

/// Runs `c2c-bridge tag-language ARGS` with `input` on stdin: (exit code, stdout, stderr).
fn tag_language(args: &[&str], input: &str) -> (Option<i32>, String, String) {
    let mut child = Command::new(crate::bin())
        .arg("tag-language")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // `--list` does not read stdin and may have exited already: a closed pipe is no failure.
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    let out = child.wait_with_output().unwrap();
    (out.status.code(), String::from_utf8(out.stdout).unwrap(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn tag_language_list_prints_every_language_the_tagger_knows_sorted() {
    let (code, stdout, stderr) = tag_language(&["--list"], "ignored\n");
    assert_eq!(code, Some(0), "{stderr}");
    let rows: Vec<(&str, &str)> = stdout
        .lines()
        .map(|l| {
            let (code, name) = l.split_once('\t').unwrap_or_else(|| panic!("want code<TAB>name: {l:?}"));
            assert!(!name.is_empty() && !name.contains('\t'), "{l:?}");
            (code, name)
        })
        .collect();
    // whatlang's 70 and the tagger's own 7 (ms, kk, ky, mn, tg, lo, bo), once each, by code.
    assert_eq!(rows.len(), 77, "{stdout}");
    assert!(rows.windows(2).all(|w| w[0].0 < w[1].0), "not sorted or repeated: {stdout}");
    for (code, name) in [("ms", "Malay"), ("kk", "Kazakh"), ("ky", "Kyrgyz"), ("mn", "Mongolian"), ("lo", "Lao")] {
        assert!(rows.contains(&(code, name)), "{code} {name} missing: {stdout}");
    }
    // Every language of the region, under the code a tag carries.
    for code in [
        "id", "ru", "uz", "ne", "hi", "mr", "fa", "ur", "ar", "es", "pt", "tl", "en", "zh", "ja", "ko", "th", "vi",
        "km", "my", "si", "ta", "bn",
    ] {
        assert!(rows.iter().any(|(c, _)| *c == code), "{code} missing: {stdout}");
        assert!(c2c_language::is_valid_code(code));
    }
    // stdin is not read: the input line is not tagged.
    assert!(!stdout.contains("ignored"));
}

#[test]
fn tag_language_list_and_explain_do_not_go_together() {
    let (code, stdout, stderr) = tag_language(&["--list", "--explain"], "");
    assert_eq!(code, Some(2), "{stdout}");
    assert!(stderr.contains("--explain") || stderr.contains("--list"), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
}

#[test]
fn tag_language_explain_prints_the_layer_and_the_runner_up() {
    let input = "ສະບາຍດີ\n\
                 Келесі кездесуді сәрсенбіге ауыстыруды ұсынамыз.\n\
                 Sila sahkan tarikh mesyuarat.\n\
                 Please find attached the minutes of the meeting.\n\
                 \n";
    let (code, stdout, stderr) = tag_language(&["--languages", "en,ms,id,kk,ru,zh", "--explain"], input);
    assert_eq!(code, Some(0), "{stderr}");
    // code, confidence, script, layer, second code, second confidence.
    let rows: Vec<Vec<&str>> = stdout.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 5, "one line out per line in: {stdout}");
    for row in &rows {
        assert_eq!(row.len(), 6, "{row:?}");
        assert!(row[1].parse::<f64>().is_ok_and(|c| (0.0..=1.0).contains(&c)), "{row:?}");
        assert!(["script", "detector", "lexical", "prior", "none"].contains(&row[3]), "{row:?}");
        assert!(row[5] == "-" || row[5].parse::<f64>().is_ok(), "{row:?}");
        assert_eq!(row[4] == "-", row[5] == "-", "{row:?}");
    }
    let summary: Vec<(&str, &str, &str)> = rows.iter().map(|r| (r[0], r[2], r[3])).collect();
    assert_eq!(
        summary,
        [
            ("lo", "Lao", "script"),
            ("kk", "Cyrillic", "script"),
            ("ms", "Latin", "lexical"),
            ("en", "Latin", "detector"),
            ("und", "Unknown", "none"),
        ],
        "{stdout}"
    );
    // The script settles Lao alone; Malay's runner-up is Indonesian; nothing to say about no text.
    assert_eq!(&rows[0][4..], ["-", "-"], "{stdout}");
    assert_eq!(rows[2][4], "id", "{stdout}");
    assert_eq!(&rows[4][1..], ["0.00", "Unknown", "none", "-", "-"], "{stdout}");

    // The author's language as evidence: "Baik, terima kasih." has no marker word of Malay or
    // Indonesian; whatlang says Indonesian, and a Malay author makes it Malay. The lexicon
    // decides (both languages' word frequencies, the author's language weighing in), Indonesian
    // second.
    let (code, stdout, stderr) =
        tag_language(&["--languages", "en,ms,id", "--prior", "ms", "--explain"], "Baik, terima kasih.\n");
    assert_eq!(code, Some(0), "{stderr}");
    let row: Vec<&str> = stdout.trim_end().split('\t').collect();
    assert_eq!((row[0], row[3], row[4]), ("ms", "lexicon", "id"), "{stdout}");
    // Without --explain, the same line gives the three plain fields.
    let (_, plain, _) = tag_language(&["--languages", "en,ms,id", "--prior", "ms"], "Baik, terima kasih.\n");
    assert_eq!(plain.trim_end().split('\t').collect::<Vec<_>>(), row[..3], "{plain}");
}

#[tokio::test]
async fn conversations_works_while_the_daemon_runs_and_after_it_stops() {
    let mut w = crate::world().await;
    let a = w
        .post(
            "leeds",
            "c-1",
            &message("leeds-jo", "hangzhou-leeds", None, Some("Transport data"), "Here are the bus ridership figures."),
        )
        .await;
    assert_eq!(a.status, 202);
    w.sink.next_delivered().await;

    // Running: the store is locked by the daemon, so the command asks its admin API.
    let out = w.daemon.command(&["conversations", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let running: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(running[0]["subject"], "Transport data");
    assert_eq!(running[0]["owing"], serde_json::json!(["hangzhou"]));

    // In pages: a second conversation, then one per page, through the daemon's API.
    let b = w
        .post("leeds", "c-2", &message("leeds-jo", "hangzhou-leeds", None, Some("Library visit"), "Dates for May?"))
        .await;
    assert_eq!(b.status, 202);
    w.sink.next_delivered().await;
    let pages = |w: &c2c_test_support::world::World| {
        let first = w.daemon.command(&["conversations", "--json", "--limit", "1"]);
        assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
        let page: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
        assert_eq!(page.as_array().unwrap().len(), 1, "{page}");
        let id = page[0]["conversation"].as_str().unwrap().to_string();
        let hint = String::from_utf8_lossy(&first.stderr).to_string();
        assert!(hint.contains(&format!("--after {id}")), "{hint}");
        let second = w.daemon.command(&["conversations", "--json", "--limit", "1", "--after", &id]);
        let next: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
        let subjects =
            [page[0]["subject"].as_str().unwrap().to_string(), next[0]["subject"].as_str().unwrap().to_string()];
        let third =
            w.daemon.command(&["conversations", "--json", "--after", next[0]["conversation"].as_str().unwrap()]);
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&third.stdout).unwrap(), serde_json::json!([]));
        subjects
    };
    let mut seen = pages(&w);
    seen.sort();
    assert_eq!(seen, ["Library visit", "Transport data"]);
    let bad = w.daemon.command(&["conversations", "--after", "nonsense"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a conversation id"));

    // The store's directory is the daemon user's alone, whatever the umask.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(w.dir.path().join("data")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "data_dir mode {mode:o}");

    assert!(w.daemon.terminate().await.success());
    assert!(w.daemon.log_text().contains("stopped cleanly"));
    assert!(!w.daemon.log_text().contains('\u{1b}'), "a log written to a file carries no terminal colour codes");

    // Stopped: it reads the store directly.
    let out = w.daemon.command(&["conversations", "--partnership", "hangzhou-leeds"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Transport data") && text.contains("hangzhou owes a reply to leeds"), "{text}");
    // And in pages from the store, the same two.
    let mut seen = pages(&w);
    seen.sort();
    assert_eq!(seen, ["Library visit", "Transport data"]);
}

#[tokio::test]
async fn sigterm_drains_deliveries_in_flight() {
    let mut w = crate::world().await;
    w.sink.hold("hangzhou");
    let a = w
        .post("leeds", "t-1", &message("leeds-jo", "hangzhou-leeds", None, Some("Drain"), "Delivered while stopping."))
        .await;
    assert_eq!(a.status, 202);
    let arrived = w.sink.next().await;
    assert_eq!(arrived.post.text, "Delivered while stopping.");

    // Stop while the delivery is in flight; the daemon waits for its answer before exiting.
    w.daemon.signal_term();
    w.daemon.wait_log("waiting for deliveries in flight").await;
    w.sink.release("hangzhou");
    assert!(w.daemon.wait_exit().await.success());
    assert!(w.daemon.log_text().contains("stopped cleanly"));

    // The delivery was recorded: after a restart it is not sent again.
    w.daemon.restart().await;
    let b = w.post("leeds", "t-2", &message("leeds-jo", "hangzhou-leeds", None, Some("Next"), "The next one.")).await;
    assert_eq!(b.status, 202);
    let next = w.sink.next().await;
    assert_eq!(next.post.text, "The next one.", "the drained delivery was not repeated; log:\n{}", w.daemon.log_text());
    let delivered = |convs: &[serde_json::Value]| -> u64 {
        convs.iter().map(|c| c["deliveries"]["delivered"].as_u64().unwrap_or(0)).sum()
    };
    let convs = w.conversations_when(|c| delivered(c) >= 2).await;
    assert_eq!(delivered(&convs), 2);
}

#[tokio::test]
async fn sighup_reloads_a_valid_config_and_keeps_the_running_one_otherwise() {
    let mut w = crate::world().await;
    let newp = message("gifu-sato", "gifu-leeds", None, Some("New partnership"), "Hello Leeds, from Gifu.");
    assert_eq!(w.post("gifu", "r-1", &newp).await.code(), "unknown_partnership");

    // A broken config is refused; the running one stays.
    let original = std::fs::read_to_string(&w.config_path).unwrap();
    std::fs::write(&w.config_path, format!("{original}\n[[partnerships]]\nid = \"broken\"\n")).unwrap();
    w.daemon.signal_hup();
    w.daemon.wait_log("config reload refused").await;
    let ok =
        w.post("leeds", "r-2", &message("leeds-jo", "hangzhou-leeds", None, Some("Still up"), "Still relayed.")).await;
    assert_eq!(ok.status, 202);
    assert_eq!(w.sink.next_delivered().await.post.text, "Still relayed.");

    // A valid one is applied without a restart.
    let added = format!(
        "{original}\n[[partnerships]]\nid = \"gifu-leeds\"\nkind = \"city-city\"\nmembers = [\"gifu\", \"leeds\"]\n\
         objective = \"Schools\"\nlanguage = \"en\"\nreply_within = \"5d\"\nchannels = {{ gifu = \"webhook\", leeds = \"webhook\" }}\n"
    );
    std::fs::write(&w.config_path, added).unwrap();
    w.daemon.signal_hup();
    w.daemon.wait_log("config reloaded").await;
    let a = w.post("gifu", "r-3", &newp).await;
    assert_eq!(a.status, 202, "{}", a.body);
    let got = w.sink.next_delivered().await;
    assert_eq!((got.city.as_str(), got.post.partnership.as_str()), ("leeds", "gifu-leeds"));
}

#[tokio::test]
async fn sighup_rotates_the_admin_token() {
    let w = crate::world().await;
    assert_eq!(w.daemon.get("/api/conversations", Some(&w.admin_token)).await.0, 200);

    // The admin moves the token to a file with a new value and reloads.
    let token_file = w.dir.path().join("admin.token");
    std::fs::write(&token_file, "rotated-admin-token-0123456789abcdef\n").unwrap();
    let original = std::fs::read_to_string(&w.config_path).unwrap();
    let rotated = original.replace(
        "admin_token_env = \"C2C_TEST_ADMIN_TOKEN\"",
        &format!("admin_token_file = \"{}\"", token_file.display()),
    );
    assert_ne!(rotated, original);
    std::fs::write(&w.config_path, rotated).unwrap();
    w.daemon.signal_hup();
    w.daemon.wait_log("config reloaded").await;

    assert_eq!(w.daemon.get("/api/conversations", Some(&w.admin_token)).await.0, 401, "the old token is refused");
    assert_eq!(w.daemon.get("/api/conversations", Some("rotated-admin-token-0123456789abcdef")).await.0, 200);

    // A token too short to be safe is refused at reload; the running one stays.
    std::fs::write(&token_file, "short-token\n").unwrap();
    w.daemon.signal_hup();
    w.daemon.wait_log("config reload refused").await;
    assert_eq!(w.daemon.get("/api/conversations", Some("rotated-admin-token-0123456789abcdef")).await.0, 200);
    assert_eq!(w.daemon.get("/api/conversations", Some("short-token")).await.0, 401);
}

/// The daemon does not start with an admin token under 32 characters, says why (without the
/// token) and where it is configured; and the files it makes are its user's only (0700
/// directories, 0600 files) even when started with a permissive umask.
#[test]
fn a_short_admin_token_stops_the_start_and_data_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(repo().join("config/example.toml")).unwrap();
    std::fs::write(dir.path().join("example.toml"), &config).unwrap();
    let secrets = dir.path().join("demo-secrets");
    std::fs::create_dir(&secrets).unwrap();
    for f in std::fs::read_dir(repo().join("config/demo-secrets")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, secrets.join(f.file_name().unwrap())).unwrap();
    }
    std::fs::write(secrets.join("admin.token"), "hunter2-hunter2\n").unwrap();
    // Started with a permissive umask, as a careless service unit might.
    let out = Command::new("sh")
        .args(["-c", "umask 000; exec \"$0\" run --config \"$1\""])
        .arg(crate::bin())
        .arg(dir.path().join("example.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bridge.admin_token_file: the admin token has 15 characters; at least 32"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the token is never printed: {stderr}");

    // The store was opened before the token was read: everything it made is private.
    let mut seen = 0;
    let mut dirs = vec![dir.path().join("data")];
    while let Some(d) = dirs.pop() {
        assert_eq!(std::fs::metadata(&d).unwrap().permissions().mode() & 0o777, 0o700, "{}", d.display());
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode & 0o077, 0, "{} is {mode:o}", path.display());
                seen += 1;
            }
        }
    }
    assert!(seen > 0, "the store made files");
}

/// `directory --json` from the config alone (no store, no daemon), at a time given with `--at`:
/// the same JSON as the golden file of the directory's unit tests, and a filter the config
/// cannot satisfy is told with exit 1.
#[test]
fn directory_json_from_the_config_alone() {
    let golden = repo().join("bridge/daemon/tests/golden");
    let config = golden.join("directory.toml");
    let run = |args: &[&str]| {
        let out = Command::new(crate::bin())
            .arg("directory")
            .args(args)
            .arg("--config")
            .arg(&config)
            // Its secrets are not needed, nor any store.
            .env_clear()
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
    };
    // Wednesday 2027-01-06 14:05 in Gifu, given in Tokyo's offset.
    let (code, json, stderr) = run(&["--json", "--at", "2027-01-06T14:05:00+09:00"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(json, std::fs::read_to_string(golden.join("directory.json")).unwrap());
    assert!(!std::path::Path::new(&golden.join("data")).exists(), "no store was made");

    let (code, json, stderr) = run(&["--json", "--topic", "Transport", "--partnership", "kl-leeds"]);
    assert_eq!(code, Some(0), "{stderr}");
    let found: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(found["cities"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["cities"][0]["contacts"][0]["id"], "kl-aisyah");
    assert_eq!(
        found["cities"][0]["partnerships"],
        serde_json::json!([{"id": "kl-leeds", "channel": "webhook", "language": "en"}])
    );

    let (code, text, _) = run(&["--city", "gifu", "--topic", "education", "--at", "2027-01-06T05:05:00Z"]);
    assert_eq!(code, Some(0));
    assert!(text.starts_with("Gifu (JP), 14:05 Wed (Asia/Tokyo), working hours now\n"), "{text}");

    let (code, _, stderr) = run(&["--city", "atlantis"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("no city \"atlantis\""), "{stderr}");
    let (code, _, stderr) = run(&["--at", "tomorrow"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("RFC 3339"), "{stderr}");
}

/// `peer keygen`: the secret key in a new 0600 file even under a permissive umask, the public
/// key alone on stdout, and it verifies what the file's key signs; a second run is refused
/// without `--force` and leaves the key as it was; `--force` replaces it.
#[test]
fn peer_keygen_writes_a_private_key_and_prints_its_public_key() {
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;

    use c2c_webhook::signature::asymmetric::{self, PublicKey};
    use c2c_webhook::signature::key_file;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("brlc.key");
    let keygen = |extra: &[&str]| {
        Command::new("sh")
            .args(["-c", "umask 000; out=\"$1\"; shift; exec \"$0\" peer keygen --out \"$out\" \"$@\""])
            .arg(crate::bin())
            .arg(&path)
            .args(extra)
            .output()
            .unwrap()
    };

    let out = keygen(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let public = PublicKey::parse(&stdout).unwrap();
    assert!(stdout.starts_with("whpk_"), "{stdout}");
    assert!(stderr.contains(&path.display().to_string()) && stderr.contains("0600"), "{stderr}");
    let secret_text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !stderr.contains(secret_text.trim()) && !stdout.contains(secret_text.trim()),
        "the secret is never printed"
    );

    // The printed key verifies a signature by the file's key.
    let secret = key_file::read(&path).unwrap();
    let body = br#"{"v":1,"destination":"uk-lga"}"#;
    let header = secret.sign("01JC2CKEYGEN", 1_767_225_600, body);
    let verified =
        asymmetric::verify(&[public], "01JC2CKEYGEN", "1767225600", &header, body, 1_767_225_600, Duration::ZERO);
    assert_eq!(verified, Ok(0));

    // Again without --force: refused, the key kept.
    let again = keygen(&[]);
    assert_eq!(again.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("exists already") && stderr.contains("--force"), "{stderr}");
    assert!(again.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), secret_text);

    // With --force: a new key, still 0600, and the old public key no longer verifies it.
    let forced = keygen(&["--force"]);
    assert!(forced.status.success(), "{}", String::from_utf8_lossy(&forced.stderr));
    let new_public = PublicKey::parse(&String::from_utf8(forced.stdout).unwrap()).unwrap();
    assert_ne!(new_public, public);
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let header = key_file::read(&path).unwrap().sign("01JC2CKEYGEN", 1_767_225_600, body);
    let verify =
        |key| asymmetric::verify(&[key], "01JC2CKEYGEN", "1767225600", &header, body, 1_767_225_600, Duration::ZERO);
    assert_eq!(verify(new_public), Ok(0));
    assert!(verify(public).is_err());
}

/// The example with `[federation]` keys made by `peer keygen`: the daemon serves its version
/// and both public keys, as a peer's admin pins them; `check-config --env` and the daemon
/// refuse a key file others may read, at its key, without printing the key.
#[tokio::test]
async fn federation_keys_are_served_and_a_readable_key_file_is_refused() {
    use std::os::unix::fs::PermissionsExt;

    use c2c_test_support::daemon::Daemon;

    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("demo-secrets");
    std::fs::create_dir(&secrets).unwrap();
    for f in std::fs::read_dir(repo().join("config/demo-secrets")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, secrets.join(f.file_name().unwrap())).unwrap();
    }
    let keygen = |name: &str| {
        let out =
            Command::new(crate::bin()).args(["peer", "keygen", "--out"]).arg(dir.path().join(name)).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let (current, previous) = (keygen("brlc.key"), keygen("brlc-old.key"));
    let listen = format!("127.0.0.1:{}", c2c_test_support::free_port());
    let config = std::fs::read_to_string(repo().join("config/example.toml"))
        .unwrap()
        .replace("listen = \"127.0.0.1:8480\"", &format!("listen = \"{listen}\"\ninstance = \"brlc\""))
        + "\n[federation]\nkey_file = \"brlc.key\"\nprevious_key_file = \"brlc-old.key\"\n";
    let config_path = dir.path().join("fed.toml");
    std::fs::write(&config_path, config).unwrap();

    let check = Command::new(crate::bin()).args(["check-config", "--env", "--config"]).arg(&config_path).output();
    let check = check.unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));

    let mut daemon = Daemon::start(crate::bin(), &config_path, &listen, Vec::new(), &dir.path().join("log")).await;
    let (status, body) = daemon.get("/peer/v1/keys", None).await;
    assert_eq!(status, 200, "{body}");
    let keys: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(keys, serde_json::json!({"instance": "brlc", "current": current, "previous": previous}));
    let (status, body) = daemon.get("/peer/v1/version", None).await;
    assert_eq!((status, body.as_str()), (200, r#"{"instance":"brlc","versions":[1]}"#));
    assert!(daemon.terminate().await.success());

    // A key file the group may read: refused by check-config --env and at start, at its key.
    let key_path = dir.path().join("brlc.key");
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let secret = std::fs::read_to_string(&key_path).unwrap();
    for args in [vec!["check-config", "--env", "--config"], vec!["run", "--config"]] {
        let out = Command::new(crate::bin()).args(&args).arg(&config_path).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("federation.key_file") && stderr.contains("chmod 600"), "{args:?}: {stderr}");
        assert!(!stderr.contains(secret.trim()), "the key is never printed");
    }
}
