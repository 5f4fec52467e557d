//! Opening a store an older build wrote: schema 1, whose conversations keep each channel's
//! threads in fields of their own, opens as schema 2 with those threads read into `threads`;
//! a store newer than this build is refused, not misread.

use c2c_core::{ConversationId, Store};
use c2c_store::SledStore;
use c2c_store::schema::CURRENT;

const VERSION: &[u8] = b"meta/schema_version";

#[test]
fn a_schema_1_store_opens_with_its_threads() {
    let dir = tempfile::tempdir().unwrap();
    let id: ConversationId = "01JD0000000000000000000001".parse().unwrap();
    {
        let db = sled::open(dir.path()).unwrap();
        db.insert(VERSION, "1").unwrap();
        let stored = include_str!("snapshots/conversation_schema1.json");
        db.insert(format!("c/{id}").as_bytes(), stored.as_bytes()).unwrap();
        db.flush().unwrap();
    }
    let store = SledStore::open_waiting(dir.path(), None, std::time::Duration::from_secs(10)).unwrap();
    let conv = store.conversation(id).unwrap().expect("the conversation is read");
    assert_eq!(conv.thread("webhook:leeds"), ["LEEDS-7".to_string()]);
    assert_eq!(conv.thread("email:jo.smith@leeds.example").len(), 2);
    drop(store);
    let db = sled::open(dir.path()).unwrap();
    assert_eq!(db.get(VERSION).unwrap().as_deref(), Some(CURRENT.to_string().as_bytes()));
}

#[test]
fn a_store_newer_than_this_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path()).unwrap();
        db.insert(VERSION, (CURRENT + 1).to_string().as_bytes()).unwrap();
        db.flush().unwrap();
    }
    let err = SledStore::open_waiting(dir.path(), None, std::time::Duration::from_secs(10)).expect_err("refused");
    let text = err.to_string();
    assert!(text.contains("newer than this build"), "{text}");
}

/// sled reads a log whose start is overwritten as an empty store: a store whose files were
/// there but hold no version is damaged, not new (it would start empty and forget everything).
#[test]
fn files_without_a_version_are_refused_as_damaged() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path()).unwrap();
        db.insert(b"c/x", b"{}".as_slice()).unwrap();
        db.flush().unwrap();
    }
    let err = SledStore::open_waiting(dir.path(), None, std::time::Duration::from_secs(10)).expect_err("refused");
    assert!(err.to_string().contains("is damaged and cannot be opened"), "{err}");
    assert!(err.to_string().contains("store import"), "{err}");
}
