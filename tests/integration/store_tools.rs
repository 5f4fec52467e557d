//! The store tools on the real binary: `store check` refused while the daemon holds the store,
//! clean with every record counted once it has stopped; export, import and compact on the
//! default engine (redb); a damaged sled store; a sled store migrated to redb.

use c2c_test_support::world::{Tuning, message};
use serde_json::Value;

#[tokio::test]
async fn store_check_reads_a_stopped_store_and_counts_its_records() {
    let mut w = crate::world().await;
    let mut conversation = String::new();
    for (city, id, from, text) in [
        ("leeds", "s-1", "leeds-jo", "Here are the library opening hours for the exchange."),
        ("hangzhou", "s-2", "hz-li", "Thank you, we will send our own list next week."),
    ] {
        let a = w.post(city, id, &message(from, "hangzhou-leeds", None, Some("Libraries"), text)).await;
        assert_eq!(a.status, 202, "{}", a.body);
        conversation = a.body["conversation"].as_str().unwrap().to_string();
    }
    for _ in 0..2 {
        w.sink.next_delivered().await;
    }

    let out = w.daemon.command(&["store", "check"]);
    assert_eq!(out.status.code(), Some(1), "the daemon holds the store");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is in use by another process (a running daemon?): stop the daemon first"), "{stderr}");

    assert!(w.daemon.terminate().await.success());
    let out = w.daemon.command(&["store", "check", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["problem_count"], 0, "{report}");
    assert_eq!(report["counts"]["messages"], 2, "{report}");
    assert_eq!(report["counts"]["conversations"], 2, "{report}");
    assert_eq!(report["counts"]["dedupe_answers"], 2, "{report}");
    assert!(report["counts"]["outbox_entries"].as_u64().unwrap() >= 2, "{report}");
    let out = w.daemon.command(&["store", "check"]);
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("no problems found\n"));

    // Exported, the store moved aside, imported: the daemon goes on from it.
    let export = w.dir.path().join("store.jsonl");
    let out = w.daemon.command(&["store", "export", "--out", export.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&export).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let out = w.daemon.command(&["store", "import", "--from", export.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "not over the existing store");
    assert!(String::from_utf8_lossy(&out.stderr).contains("move the existing one aside first"));
    let store = w.dir.path().join("data/store");
    std::fs::rename(&store, w.dir.path().join("data/store.old")).unwrap();
    let out = w.daemon.command(&["store", "import", "--from", export.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("records imported into a new store at") && stderr.contains("it checks clean"), "{stderr}");
    let out = w.daemon.command(&["store", "check", "--json"]);
    let again: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again, report, "the same records");
    // Compacted: the same records, the copy in the store's place, the old one removed.
    let out = w.daemon.command(&["store", "compact"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.starts_with("compacted ") && stdout.contains(" records, "), "{stdout}");
    assert!(!w.dir.path().join("data/store.before-compact").exists());
    let out = w.daemon.command(&["store", "check", "--json"]);
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap(), report);
    let out = w.daemon.command(&["store", "check", "--repair"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("no problems found\n"), "nothing to drop");
    w.daemon.restart().await;
    let mut reply = message("leeds-jo", "hangzhou-leeds", None, None, "The hours are attached.");
    reply["conversation"] = Value::from(conversation.as_str());
    let a = w.post("leeds", "s-3", &reply).await;
    assert_eq!(a.status, 202, "{}", a.body);
    assert_eq!(a.body["conversation"], conversation.as_str(), "the imported conversation goes on");
    assert_eq!(w.sink.next_delivered().await.post.conversation, conversation);
}

#[tokio::test]
async fn a_damaged_store_stops_the_daemon_with_the_way_to_recover_and_no_restart_loop() {
    let mut w = crate::world_with(Tuning { store: Some("sled"), ..Tuning::default() }).await;
    let a =
        w.post("leeds", "d-1", &message("leeds-jo", "hangzhou-leeds", None, Some("Libraries"), "Opening hours")).await;
    assert_eq!(a.status, 202, "{}", a.body);
    w.sink.next_delivered().await;
    assert!(w.daemon.terminate().await.success());
    // The start of the store's file overwritten, as a bad copy or a failing disk leaves it.
    // (A file cut short may still open: sled reads it as a write torn by a crash.)
    let db = w.dir.path().join("data/store/db");
    let mut file = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
    std::io::Write::write_all(&mut file, &[0xff; 64]).unwrap();
    drop(file);

    // `run` would serve on a store it could open: that is a failure too, not a hang.
    for args in [&["store", "check"][..], &["run"][..]] {
        let out = w.daemon.command_within(args, std::time::Duration::from_secs(60));
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Exit 3: the systemd unit does not restart on it (deploy/c2c-bridge.service).
        assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr} {}", String::from_utf8_lossy(&out.stdout));
        assert!(stderr.contains("is damaged and cannot be opened"), "{stderr}");
        assert!(stderr.contains("data/store/db"), "names the file: {stderr}");
        assert!(stderr.contains("`c2c-bridge store import`"), "says how to recover: {stderr}");
    }
    let unit =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/c2c-bridge.service")).unwrap();
    assert!(unit.lines().any(|l| l == "RestartPreventExitStatus=2 3"), "{unit}");
}

#[tokio::test]
async fn a_store_migrated_to_redb_carries_on_and_the_wrong_engine_is_refused() {
    let mut w = crate::world_with(Tuning { store: Some("sled"), ..Tuning::default() }).await;
    let a =
        w.post("leeds", "m-1", &message("leeds-jo", "hangzhou-leeds", None, Some("Libraries"), "Opening hours")).await;
    assert_eq!(a.status, 202, "{}", a.body);
    let conversation = a.body["conversation"].as_str().unwrap().to_string();
    w.sink.next_delivered().await;
    assert!(w.daemon.terminate().await.success());
    let out = w.daemon.command(&["store", "check", "--json"]);
    let before: Value = serde_json::from_slice(&out.stdout).unwrap();

    let out = w.daemon.command(&["store", "migrate", "--to", "redb"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Set `[bridge] store = \"redb\"`"), "{stdout}");
    assert!(w.dir.path().join("data/store/store.redb").exists());
    assert!(w.dir.path().join("data/store.sled-before-migrate/db").exists(), "the old store is kept");

    // The config still says sled: refused, and nothing is made next to the redb file.
    let out = w.daemon.command_within(&["run"], std::time::Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "a config error, which systemd does not restart: {stderr}");
    assert!(stderr.contains("was written by redb, but the config asks for sled"), "{stderr}");
    assert!(!w.dir.path().join("data/store/db").exists());

    let config = std::fs::read_to_string(&w.config_path).unwrap();
    std::fs::write(&w.config_path, config.replacen("store = \"sled\"", "store = \"redb\"", 1)).unwrap();
    let out = w.daemon.command(&["store", "check", "--json"]);
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap(), before, "the same records on redb");
    w.daemon.restart().await;
    let mut reply = message("leeds-jo", "hangzhou-leeds", None, None, "And the list of libraries.");
    reply["conversation"] = Value::from(conversation.as_str());
    let a = w.post("leeds", "m-2", &reply).await;
    assert_eq!(a.status, 202, "{}", a.body);
    assert_eq!(a.body["conversation"], conversation.as_str(), "the migrated conversation goes on");
    assert_eq!(w.sink.next_delivered().await.post.conversation, conversation);

    // The redb store compacts too, to the same records.
    assert!(w.daemon.terminate().await.success());
    let out = w.daemon.command(&["store", "check", "--json"]);
    let on_redb: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(on_redb["problem_count"], 0, "{on_redb}");
    let out = w.daemon.command(&["store", "compact"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("compacted "));
    assert!(w.dir.path().join("data/store/store.redb").exists());
    let out = w.daemon.command(&["store", "check", "--json"]);
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap(), on_redb);
}

/// An upgrade: a sled store made when sled was the default, under a config that names no
/// engine, is still opened on sled (redb is the default for new stores only).
#[tokio::test]
async fn a_sled_store_under_a_config_naming_no_engine_stays_on_sled() {
    let mut w = crate::world_with(Tuning { store: Some("sled"), ..Tuning::default() }).await;
    let a =
        w.post("leeds", "u-1", &message("leeds-jo", "hangzhou-leeds", None, Some("Libraries"), "Opening hours")).await;
    assert_eq!(a.status, 202, "{}", a.body);
    let conversation = a.body["conversation"].as_str().unwrap().to_string();
    w.sink.next_delivered().await;
    assert!(w.daemon.terminate().await.success());
    let config = std::fs::read_to_string(&w.config_path).unwrap();
    std::fs::write(&w.config_path, config.replacen("store = \"sled\"\n", "", 1)).unwrap();
    w.daemon.restart().await;
    let mut reply = message("leeds-jo", "hangzhou-leeds", None, None, "And the list of libraries.");
    reply["conversation"] = Value::from(conversation.as_str());
    let a = w.post("leeds", "u-2", &reply).await;
    assert_eq!(a.status, 202, "{}", a.body);
    assert_eq!(a.body["conversation"], conversation.as_str(), "the same store");
    assert!(w.dir.path().join("data/store/db").exists() && !w.dir.path().join("data/store/store.redb").exists());
}
