//! The embedded store of c2c-bridge, on redb (the default) or sled, behind [`c2c_core::Store`].
//!
//! # Layout
//! - [`keys`]: how records are laid out in the one key space (prefixed keys, so one atomic
//!   batch can touch every kind of record).
//! - [`group`]: group commit: concurrent commits share one flush.
//! - [`check`]: `store check`: every record decodes, every reference points to a stored record.
//! - [`export`]: `store export` / `store import`: a store as JSON lines, streamed.
//! - [`compact`]: `store compact`: the live records copied into a new store, which replaces it.
//! - [`disk_sync`]: what sled's flush leaves out (an `fdatasync` of its log, its blob files).
//! - [`schema`]: the schema version key and the migration hook.
//! - [`kv`]: the seam between the store and its engine: ordered byte keys, atomic batches, sync.
//! - [`kv_store`]: [`KvStore`], the [`c2c_core::Store`] implementation on any [`kv::Kv`].
//! - [`open`]: why a store could not be opened; waiting for another process to let go of it.
//! - [`sled_kv`]: sled as the engine; [`sled_store`]: [`SledStore`], opening it.
//! - [`redb_kv`]: redb as the engine, and opening a [`redb_kv::RedbStore`] (the default for a new
//!   store; its durable commits save the allocator state, so opening after a crash is quick).
//!
//! Durability: [`c2c_core::Store::commit`] applies its changes as one atomic batch and returns
//! only after a flush that covers it (redb: an empty `Immediate` commit after the batches'
//! `Durability::None` ones; sled: its flush, then `fdatasync` of its log and a sync of new blob
//! files); concurrent commits wait for the same flush. Delivery progress is written without
//! waiting for a flush: losing it in a crash only means a redelivery under the same idempotency
//! key.

pub mod check;
pub mod compact;
pub mod disk_sync;
pub mod export;
pub mod group;
pub mod keys;
pub mod kv;
pub mod kv_store;
pub mod open;
pub mod redb_kv;
pub mod schema;
pub mod sled_kv;
pub mod sled_store;

pub use kv_store::KvStore;
pub use open::OpenError;
pub use sled_store::SledStore;
