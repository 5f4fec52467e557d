//! The admin's listing of outbox entries (`GET /api/outbox?status=failed|pending`, `c2c-bridge
//! outbox`): the deliveries that failed for good (each can be retried) and those still pending,
//! with where they go, how often they were tried and the last error. Read from the store, in
//! commit order; delivered entries are not listed (that is the conversations view's count).
//!
//! Its JSON is a public shape: fields may be added, never renamed.

use std::fmt::Write as _;

use c2c_core::{DeliveryStatus, Millis, OutboxEntry, Store, StoreError};
use serde::{Deserialize, Serialize};

/// Which entries to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wanted {
    /// Failed for good (`permanent_failure`).
    Failed,
    /// Still to be delivered (`scheduled`, `temporary_failure`).
    Pending,
    /// Both.
    Undelivered,
}

impl Wanted {
    /// `?status=`: `failed`, `pending`, or none for both.
    pub fn parse(status: Option<&str>) -> Result<Self, String> {
        match status {
            None | Some("") => Ok(Wanted::Undelivered),
            Some("failed") => Ok(Wanted::Failed),
            Some("pending") => Ok(Wanted::Pending),
            Some(other) => Err(format!("status {other:?} is not one of \"failed\", \"pending\"")),
        }
    }

    fn wants(self, status: DeliveryStatus) -> bool {
        match self {
            Wanted::Failed => status == DeliveryStatus::PermanentFailure,
            Wanted::Pending => status.is_pending(),
            Wanted::Undelivered => status != DeliveryStatus::Delivered,
        }
    }
}

/// One delivery as admins see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryView {
    /// What `POST /api/outbox/{id}/retry` takes.
    pub id: String,
    pub partnership: String,
    pub conversation: String,
    pub message: String,
    /// `scheduled`, `temporary_failure` (retrying) or `permanent_failure` (failed for good).
    pub status: String,
    pub city: String,
    pub channel: String,
    pub address: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// When it was committed (or last scheduled again by an admin), RFC 3339 UTC.
    pub created_at: String,
    /// Its last change (an attempt, a failure).
    pub updated_at: String,
    /// When it is tried next, while it is pending.
    pub next_due: Option<String>,
}

impl EntryView {
    fn of(e: &OutboxEntry) -> Self {
        EntryView {
            id: e.id.to_string(),
            partnership: e.partnership.clone(),
            conversation: e.conversation.to_string(),
            message: e.message.to_string(),
            status: e.status.as_str().to_string(),
            city: e.recipient.city.clone(),
            channel: e.recipient.channel.to_string(),
            address: e.recipient.address.clone(),
            attempts: e.attempts,
            last_error: e.last_error.clone(),
            created_at: rfc3339(e.created_at),
            updated_at: rfc3339(e.updated_at),
            next_due: e.status.is_pending().then(|| rfc3339(e.next_due)),
        }
    }
}

/// The `wanted` entries of partnership `partnership` (or of all) that `visible` lets through,
/// in commit order.
pub fn collect(
    store: &dyn Store,
    wanted: Wanted,
    partnership: Option<&str>,
    visible: impl Fn(&str) -> bool,
) -> Result<Vec<EntryView>, StoreError> {
    // One entry at a time: what is wanted (usually what has not gone through) is kept, not
    // every delivery ever made.
    let mut out = Vec::new();
    store.each_outbox(partnership, &mut |e| {
        if wanted.wants(e.status) && visible(&e.partnership) {
            out.push(EntryView::of(&e));
        }
    })?;
    Ok(out)
}

pub(crate) fn rfc3339(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The human-readable listing: one line per entry, its error under it.
pub fn render_text(entries: &[EntryView]) -> String {
    if entries.is_empty() {
        return "no deliveries\n".into();
    }
    let mut s = String::new();
    for e in entries {
        let word = match e.status.as_str() {
            "permanent_failure" => "FAILED".to_string(),
            "temporary_failure" => format!("retrying, next {}", e.next_due.as_deref().unwrap_or("-")),
            _ => format!("scheduled, due {}", e.next_due.as_deref().unwrap_or("-")),
        };
        let tries = if e.attempts == 1 { "attempt" } else { "attempts" };
        let _ = writeln!(
            s,
            "{}  {}  {} → {} {} ({}, {} {tries}, since {})",
            e.id, e.partnership, e.city, e.channel, e.address, word, e.attempts, e.created_at
        );
        if let Some(error) = &e.last_error {
            let _ = writeln!(s, "  {error}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use c2c_core::Commit;
    use c2c_core::conformance::{sample_commit, sample_conversation};
    use c2c_core::memory::MemoryStore;

    use super::*;

    #[tokio::test]
    async fn failed_and_pending_entries_are_listed_as_asked_and_as_visible() {
        let store = MemoryStore::new("test");
        let hl = sample_conversation("hangzhou-leeds");
        let gl = sample_conversation("gifu-leeds");
        let mut entries = Vec::new();
        for (seq, conv) in [(1, &hl), (2, &hl), (3, &gl), (4, &hl)] {
            let (commit, _, entry) = sample_commit(conv, seq);
            store.commit(commit).await.unwrap();
            entries.push(entry);
        }
        entries[0].status = DeliveryStatus::Delivered;
        entries[1].status = DeliveryStatus::PermanentFailure;
        entries[1].attempts = 1;
        entries[1].last_error = Some("HTTP 410 Gone".into());
        entries[2].status = DeliveryStatus::PermanentFailure;
        entries[3].status = DeliveryStatus::TemporaryFailure;
        store.commit(Commit { outbox: entries.clone(), ..Commit::default() }).await.unwrap();

        let ids = |wanted, partnership, visible: &dyn Fn(&str) -> bool| -> Vec<String> {
            collect(&store, wanted, partnership, visible).unwrap().into_iter().map(|e| e.id).collect()
        };
        let id = |i: usize| entries[i].id.to_string();
        let all = |_: &str| true;
        assert_eq!(ids(Wanted::Failed, None, &all), [id(1), id(2)]);
        assert_eq!(ids(Wanted::Pending, None, &all), [id(3)]);
        assert_eq!(ids(Wanted::Undelivered, None, &all), [id(1), id(2), id(3)]);
        assert_eq!(ids(Wanted::Failed, Some("gifu-leeds"), &all), [id(2)]);
        assert_eq!(ids(Wanted::Failed, None, &|p: &str| p == "hangzhou-leeds"), [id(1)], "another's are left out");

        let failed = &collect(&store, Wanted::Failed, None, all).unwrap()[0];
        assert_eq!((failed.status.as_str(), failed.next_due.as_deref()), ("permanent_failure", None));
        let text = render_text(&collect(&store, Wanted::Failed, Some("hangzhou-leeds"), all).unwrap());
        assert!(text.contains("hangzhou-leeds  hangzhou → webhook hangzhou (FAILED, 1 attempt, since"), "{text}");
        assert!(text.contains("\n  HTTP 410 Gone\n"), "{text}");
        assert_eq!(
            Wanted::parse(Some("delivered")).unwrap_err(),
            "status \"delivered\" is not one of \"failed\", \"pending\""
        );
    }
}
