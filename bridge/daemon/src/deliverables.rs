//! The `deliverables` view (`GET /api/deliverables`): every configured deliverable and meeting
//! with where it stands, from the config (what is due, by whom, when) and the store (whether and
//! when it was marked done); and which deliverable an admin means by an id
//! (`POST /api/deliverables/{id}/done`).
//!
//! Its JSON is a public shape: fields may be added, never renamed. The statuses are the
//! report's (`product.md`, "Directory and reports").

use std::collections::HashMap;

use c2c_config::{Config, Deliverable, DeliverableKind, Partnership};
use c2c_core::{DeliverableState, Millis, Store, StoreError};
use serde::{Deserialize, Serialize};

/// One deliverable or meeting as admins see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliverableView {
    pub partnership: String,
    pub id: String,
    pub title: String,
    /// `deliverable` or `meeting`.
    pub kind: String,
    /// The member city responsible.
    pub owner: String,
    /// When it falls due (RFC 3339, UTC).
    pub due: String,
    pub status: Status,
    /// When it was marked done (RFC 3339, UTC), if it was.
    pub done_at: Option<String>,
    /// Who marked it done: a contact id (`/done`), or an admin's id (the admin API and the
    /// CLI; `admin` for the `[bridge]` token).
    pub done_by: Option<String>,
}

/// Where a deliverable stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not done, not yet due.
    Open,
    /// Not done, past due.
    Overdue,
    DoneOnTime,
    DoneLate,
}

impl Status {
    pub(crate) fn of(due: Millis, done_at: Option<Millis>, now: Millis) -> Self {
        match done_at {
            Some(done) if done <= due => Status::DoneOnTime,
            Some(_) => Status::DoneLate,
            None if now > due => Status::Overdue,
            None => Status::Open,
        }
    }
}

/// Every deliverable of one partnership, or of all, in config order, as seen at `now`.
pub fn collect_at(
    store: &dyn Store,
    config: &Config,
    partnership: Option<&str>,
    now: Millis,
) -> Result<Vec<DeliverableView>, StoreError> {
    let states: HashMap<(String, String), DeliverableState> =
        store.deliverables()?.into_iter().map(|s| ((s.partnership.clone(), s.id.clone()), s)).collect();
    let mut out = Vec::new();
    for p in config.partnerships.iter().filter(|p| partnership.is_none_or(|only| p.id == only)) {
        for d in &p.deliverables {
            let state = states.get(&(p.id.clone(), d.id.clone()));
            let done_at = state.and_then(|s| s.done_at);
            let due = d.due.timestamp_millis();
            out.push(DeliverableView {
                partnership: p.id.clone(),
                id: d.id.clone(),
                title: d.title.clone(),
                kind: kind(d.kind).to_string(),
                owner: d.owner.clone(),
                due: rfc3339(due),
                status: Status::of(due, done_at, now),
                done_at: done_at.map(rfc3339),
                done_by: state.and_then(|s| s.done_by.clone()),
            });
        }
    }
    Ok(out)
}

fn kind(k: DeliverableKind) -> &'static str {
    match k {
        DeliverableKind::Deliverable => "deliverable",
        DeliverableKind::Meeting => "meeting",
    }
}

fn rfc3339(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Why an id names no one deliverable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Lookup {
    #[error("no partnership `{0}`")]
    NoPartnership(String),
    #[error("no deliverable `{id}`{}", in_partnership(.partnership))]
    NoDeliverable { id: String, partnership: Option<String> },
    /// The id is used in several partnerships and none was named.
    #[error(
        "deliverable `{id}` is in several partnerships ({}): name one, as {{\"partnership\": \"{}\"}} or --partnership",
        .partnerships.join(", "),
        .partnerships[0]
    )]
    Ambiguous { id: String, partnerships: Vec<String> },
}

fn in_partnership(p: &Option<String>) -> String {
    p.as_ref().map(|p| format!(" in partnership `{p}`")).unwrap_or_default()
}

/// The deliverable `id` names, in `partnership` when one is given, else in whichever single
/// partnership has one by that id; only partnerships `visible` lets through count (a city
/// admin's): another's is answered as if it did not exist.
pub fn find<'a>(
    config: &'a Config,
    id: &str,
    partnership: Option<&str>,
    visible: impl Fn(&Partnership) -> bool,
) -> Result<(&'a Partnership, &'a Deliverable), Lookup> {
    if let Some(p) = partnership {
        let p = config.partnership(p).filter(|p| visible(p)).ok_or_else(|| Lookup::NoPartnership(p.to_string()))?;
        let d = p.deliverables.iter().find(|d| d.id == id);
        return d
            .map(|d| (p, d))
            .ok_or_else(|| Lookup::NoDeliverable { id: id.to_string(), partnership: Some(p.id.clone()) });
    }
    let found: Vec<_> = config
        .partnerships
        .iter()
        .filter(|p| visible(p))
        .filter_map(|p| p.deliverables.iter().find(|d| d.id == id).map(|d| (p, d)))
        .collect();
    match found.as_slice() {
        [] => Err(Lookup::NoDeliverable { id: id.to_string(), partnership: None }),
        [one] => Ok(*one),
        many => Err(Lookup::Ambiguous {
            id: id.to_string(),
            partnerships: many.iter().map(|(p, _)| p.id.clone()).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_compares_the_done_time_or_now_with_the_due_time() {
        assert_eq!(Status::of(10, None, 10), Status::Open, "due at 10: not overdue at 10");
        assert_eq!(Status::of(10, None, 11), Status::Overdue);
        assert_eq!(Status::of(10, Some(10), 99), Status::DoneOnTime);
        assert_eq!(Status::of(10, Some(11), 0), Status::DoneLate);
        assert_eq!(serde_json::to_value(Status::DoneOnTime).unwrap(), "done_on_time");
    }
}
