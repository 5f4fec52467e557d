//! The store conformance suite, run against the redb backend (issue 17's second backend).

use c2c_store::redb_kv::RedbStore;

c2c_core::store_conformance_tests!({
    let dir = tempfile::tempdir().unwrap();
    move || RedbStore::open_redb(dir.path(), None, 16 << 20).unwrap()
});
