//! Opening the redb store: held by another opener, damaged, or of another instance, each is
//! refused with what it is.

use c2c_store::OpenError;
use c2c_store::redb_kv::RedbStore;

#[test]
fn a_store_in_use_damaged_or_of_another_instance_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open_redb(dir.path(), Some("brlc"), 1 << 20).unwrap();
    let again = RedbStore::open_redb(dir.path(), Some("brlc"), 1 << 20).expect_err("held");
    assert!(matches!(again, OpenError::InUse { .. }), "{again}");
    drop(store);
    let other = RedbStore::open_redb(dir.path(), Some("uk-lga"), 1 << 20).expect_err("another instance");
    assert!(matches!(other, OpenError::InstanceMismatch { .. }), "{other}");
    assert_eq!(c2c_core::Store::instance_id(&RedbStore::open_redb(dir.path(), None, 1 << 20).unwrap()), "brlc");

    let file = dir.path().join("store.redb");
    let len = std::fs::metadata(&file).unwrap().len() as usize;
    std::fs::write(&file, vec![0xffu8; len]).unwrap();
    let damaged = RedbStore::open_redb(dir.path(), None, 1 << 20).expect_err("damaged");
    assert!(matches!(damaged, OpenError::Damaged { .. }), "{damaged}");
    assert!(file.exists(), "left as it was");
}
