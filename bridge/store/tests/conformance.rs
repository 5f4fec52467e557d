//! The store conformance suite, run against the sled backend.

use c2c_store::SledStore;

c2c_core::store_conformance_tests!({
    let dir = tempfile::tempdir().unwrap();
    move || SledStore::open_waiting(dir.path(), None, std::time::Duration::from_secs(10)).unwrap()
});
