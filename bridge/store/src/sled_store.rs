//! [`SledStore`]: the [`Store`] on sled.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use c2c_core::store::StoreResult;
use c2c_core::{
    Accepted, Commit, Conversation, ConversationId, Message, MessageId, NativeKey, NativeRef,
    OutboxEntry, OutboxId, Store, StoreError,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::group::GroupCommit;
use crate::keys;
use crate::schema::{self, SchemaError};

/// The store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open the store at {path}: {source}")]
    Sled { path: String, source: sled::Error },
    #[error("the store at {path}: {source}")]
    Schema { path: String, source: SchemaError },
    #[error(
        "the store at {path} belongs to instance `{stored}`, but the config says `{configured}`; ids already issued name the stored one, so it cannot change"
    )]
    InstanceMismatch {
        path: String,
        stored: String,
        configured: String,
    },
}

/// The sled-backed store. Cheap to clone; clones share the database.
#[derive(Clone)]
pub struct SledStore {
    db: sled::Db,
    instance: Arc<str>,
    group: Arc<GroupCommit>,
    /// Serialises applying batches, so the seq high-water mark only grows.
    write_lock: Arc<std::sync::Mutex<()>>,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

impl SledStore {
    /// Open (or create) the store in `dir`. A new store takes `instance_id` as its instance id,
    /// or a fresh `c2c-<ULID>` when none is given; an existing store keeps its own.
    pub fn open(dir: &Path, instance_id: Option<&str>) -> Result<Self, OpenError> {
        let path = dir.display().to_string();
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(64 * 1024 * 1024)
            .mode(sled::Mode::HighThroughput)
            .open()
            .map_err(|source| OpenError::Sled {
                path: path.clone(),
                source,
            })?;
        schema::ensure_current(&db).map_err(|source| OpenError::Schema {
            path: path.clone(),
            source,
        })?;
        let stored = db
            .get(keys::INSTANCE_ID)
            .map_err(|source| OpenError::Sled {
                path: path.clone(),
                source,
            })?
            .map(|v| String::from_utf8_lossy(&v).into_owned());
        let instance = match (stored, instance_id) {
            (Some(stored), Some(configured)) if stored != configured => {
                return Err(OpenError::InstanceMismatch {
                    path,
                    stored,
                    configured: configured.to_string(),
                });
            }
            (Some(stored), _) => stored,
            (None, configured) => {
                let id = configured
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("c2c-{}", ulid::Ulid::new()));
                db.insert(keys::INSTANCE_ID, id.as_bytes())
                    .and_then(|_| db.flush())
                    .map_err(|source| OpenError::Sled {
                        path: path.clone(),
                        source,
                    })?;
                id
            }
        };
        Ok(Self {
            db,
            instance: instance.into(),
            group: Arc::default(),
            write_lock: Arc::default(),
        })
    }

    /// Flushes issued by group commit since the store was opened.
    pub fn flushes(&self) -> u64 {
        self.group.flushes()
    }

    fn get<T: DeserializeOwned>(&self, key: &[u8]) -> StoreResult<Option<T>> {
        match self.db.get(key).map_err(sled_error)? {
            None => Ok(None),
            Some(v) => decode(key, &v).map(Some),
        }
    }

    /// Records pointed at by an index prefix, in key order.
    fn by_index<T: DeserializeOwned>(
        &self,
        prefix: &[u8],
        record_key: impl Fn(&str) -> Vec<u8>,
    ) -> StoreResult<Vec<T>> {
        let mut out = Vec::new();
        for item in self.db.scan_prefix(prefix) {
            let (k, _) = item.map_err(sled_error)?;
            let rk = record_key(keys::last_segment(&k));
            match self.get(&rk)? {
                Some(v) => out.push(v),
                None => {
                    return Err(StoreError::new(
                        format!(
                            "index entry {} points at nothing",
                            String::from_utf8_lossy(&k)
                        ),
                        false,
                    ));
                }
            }
        }
        Ok(out)
    }

    fn outbox_batch(batch: &mut sled::Batch, entry: &OutboxEntry) -> StoreResult<()> {
        batch.insert(keys::outbox(&entry.id), encode(entry)?);
        let pending = keys::pending(entry.seq, &entry.id);
        if entry.status.is_pending() {
            batch.insert(pending, &[][..]);
        } else {
            batch.remove(pending);
        }
        Ok(())
    }
}

fn sled_error(e: sled::Error) -> StoreError {
    // I/O errors may pass (a full disk gets space back); corruption and bugs do not.
    let retryable = matches!(e, sled::Error::Io(_));
    StoreError::new(e.to_string(), retryable)
}

fn encode<T: Serialize>(v: &T) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| StoreError::new(format!("encoding: {e}"), false))
}

fn decode<T: DeserializeOwned>(key: &[u8], v: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(v).map_err(|e| {
        StoreError::new(
            format!("record {} is unreadable: {e}", String::from_utf8_lossy(key)),
            false,
        )
    })
}

#[async_trait]
impl Store for SledStore {
    fn instance_id(&self) -> &str {
        &self.instance
    }

    fn last_seq(&self) -> StoreResult<u64> {
        Ok(self
            .db
            .get(keys::LAST_SEQ)
            .map_err(sled_error)?
            .and_then(|v| std::str::from_utf8(&v).ok().and_then(|s| s.parse().ok()))
            .unwrap_or(0))
    }

    async fn commit(&self, commit: Commit) -> StoreResult<()> {
        if commit.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        let mut max_seq = 0;
        for m in &commit.messages {
            max_seq = max_seq.max(m.seq);
            batch.insert(keys::message(m.id), encode(m)?);
            batch.insert(
                keys::conversation_message(m.conversation, m.seq, m.id),
                &[][..],
            );
        }
        for c in &commit.conversations {
            batch.insert(keys::conversation(c.id), encode(c)?);
        }
        for (k, r) in &commit.natives {
            batch.insert(keys::native(k), encode(r)?);
        }
        for (k, a) in &commit.accepted {
            batch.insert(keys::accepted(k), encode(a)?);
        }
        for o in &commit.outbox {
            max_seq = max_seq.max(o.seq);
            Self::outbox_batch(&mut batch, o)?;
            batch.insert(
                keys::conversation_outbox(o.conversation, o.seq, &o.id),
                &[][..],
            );
        }
        let ticket = {
            let _g = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
            if max_seq > self.last_seq()? {
                batch.insert(keys::LAST_SEQ, max_seq.to_string().as_bytes());
            }
            self.db.apply_batch(batch).map_err(sled_error)?;
            self.group.ticket()
        };
        let db = self.db.clone();
        self.group
            .wait_durable(ticket, || async move {
                tokio::task::spawn_blocking(move || db.flush())
                    .await
                    .map_err(|e| StoreError::new(format!("flush task: {e}"), true))?
                    .map(|_| ())
                    .map_err(sled_error)
            })
            .await
    }

    async fn update_deliveries(
        &self,
        entries: &[OutboxEntry],
        natives: &[(NativeKey, NativeRef)],
    ) -> StoreResult<()> {
        let mut batch = sled::Batch::default();
        for e in entries {
            Self::outbox_batch(&mut batch, e)?;
        }
        for (k, r) in natives {
            batch.insert(keys::native(k), encode(r)?);
        }
        self.db.apply_batch(batch).map_err(sled_error)
    }

    async fn flush(&self) -> StoreResult<()> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|e| StoreError::new(format!("flush task: {e}"), true))?
            .map(|_| ())
            .map_err(sled_error)
    }

    fn accepted(&self, key: &NativeKey) -> StoreResult<Option<Accepted>> {
        self.get(&keys::accepted(key))
    }

    fn native(&self, key: &NativeKey) -> StoreResult<Option<NativeRef>> {
        self.get(&keys::native(key))
    }

    fn conversation(&self, id: ConversationId) -> StoreResult<Option<Conversation>> {
        self.get(&keys::conversation(id))
    }

    fn conversations(&self, partnership: Option<&str>) -> StoreResult<Vec<Conversation>> {
        let mut out = Vec::new();
        for item in self.db.scan_prefix(keys::CONVERSATIONS) {
            let (k, v) = item.map_err(sled_error)?;
            let c: Conversation = decode(&k, &v)?;
            if partnership.is_none_or(|p| c.partnership == p) {
                out.push(c);
            }
        }
        Ok(out)
    }

    fn message(&self, id: MessageId) -> StoreResult<Option<Message>> {
        self.get(&keys::message(id))
    }

    fn messages(&self, conversation: ConversationId) -> StoreResult<Vec<Message>> {
        self.by_index(&keys::conversation_messages(conversation), |id| {
            format!("{}{id}", keys::MESSAGES).into_bytes()
        })
    }

    fn outbox(&self, conversation: ConversationId) -> StoreResult<Vec<OutboxEntry>> {
        self.by_index(&keys::conversation_outboxes(conversation), |id| {
            keys::outbox(&OutboxId(id.to_string()))
        })
    }

    fn pending_outbox(&self) -> StoreResult<Vec<OutboxEntry>> {
        self.by_index(keys::PENDING.as_bytes(), |id| {
            keys::outbox(&OutboxId(id.to_string()))
        })
    }
}
