//! The `conversations` view: open threads, who owes a reply, how deliveries stand. Shared by
//! the CLI (`c2c-bridge conversations`) and the admin API (`GET /api/conversations`).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use c2c_config::Config;
use c2c_core::{ConversationId, DeliveryStatus, Millis, OutboxEntry, Store, StoreError, now_ms};
use serde::{Deserialize, Serialize};

/// One conversation as admins see it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConversationView {
    pub partnership: String,
    pub conversation: String,
    pub subject: String,
    pub started_at: String,
    pub started_by: Option<String>,
    pub posts: u64,
    pub posts_by_city: BTreeMap<String, u64>,
    pub last_post_at: Option<String>,
    pub last_post_city: Option<String>,
    /// Members that owe a reply (everyone but the city that wrote last).
    pub owing: Vec<String>,
    /// When the reply is due (last post + the partnership's `reply_within`).
    pub reply_due_at: Option<String>,
    pub overdue: bool,
    /// Language code → posts.
    pub languages: BTreeMap<String, u64>,
    /// Delivery status → entries.
    pub deliveries: BTreeMap<String, u64>,
    /// Deliveries that failed for good, and those still retrying.
    pub problems: Vec<DeliveryProblem>,
}

/// A delivery that has not gone through (yet).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeliveryProblem {
    pub entry: String,
    pub status: String,
    pub city: String,
    pub channel: String,
    pub address: String,
    pub attempts: u32,
    pub error: Option<String>,
}

/// The conversations of one partnership, or all, oldest first.
pub fn collect(
    store: &dyn Store,
    config: &Config,
    partnership: Option<&str>,
) -> Result<Vec<ConversationView>, StoreError> {
    let now = now_ms();
    // One pass over the outbox, grouped by conversation.
    let mut outbox: HashMap<ConversationId, Vec<OutboxEntry>> = HashMap::new();
    for e in store.outbox(partnership)? {
        outbox.entry(e.conversation).or_default().push(e);
    }
    let mut out = Vec::new();
    for c in store.conversations(partnership)? {
        let p = config.partnership(&c.partnership);
        let owing: Vec<String> =
            p.map(|p| c.owing(&p.members).into_iter().map(String::from).collect()).unwrap_or_default();
        let due = match (c.last_post_at, p) {
            (Some(last), Some(p)) if !owing.is_empty() => Some(last + p.reply_within.as_millis() as Millis),
            _ => None,
        };
        let mut deliveries = BTreeMap::new();
        let mut problems = Vec::new();
        for e in outbox.remove(&c.id).unwrap_or_default() {
            *deliveries.entry(e.status.as_str().to_string()).or_default() += 1;
            if matches!(e.status, DeliveryStatus::PermanentFailure | DeliveryStatus::TemporaryFailure) {
                problems.push(DeliveryProblem {
                    entry: e.id.to_string(),
                    status: e.status.as_str().to_string(),
                    city: e.recipient.city.clone(),
                    channel: e.recipient.channel.to_string(),
                    address: e.recipient.address.clone(),
                    attempts: e.attempts,
                    error: e.last_error.clone(),
                });
            }
        }
        out.push(ConversationView {
            partnership: c.partnership.clone(),
            conversation: c.id.to_string(),
            subject: c.subject.clone(),
            started_at: time(c.started_at),
            started_by: c.started_by.as_ref().map(|a| a.contact.clone()),
            posts: c.posts,
            posts_by_city: c.posts_by_city.clone(),
            last_post_at: c.last_post_at.map(time),
            last_post_city: c.last_post_city.clone(),
            owing,
            reply_due_at: due.map(time),
            overdue: due.is_some_and(|d| d < now),
            languages: c.languages.clone(),
            deliveries,
            problems,
        });
    }
    out.sort_by(|a, b| a.started_at.cmp(&b.started_at).then(a.conversation.cmp(&b.conversation)));
    Ok(out)
}

fn time(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The human-readable listing.
pub fn render_text(views: &[ConversationView]) -> String {
    if views.is_empty() {
        return "no conversations\n".into();
    }
    let mut s = String::new();
    for v in views {
        let _ = writeln!(s, "{}  {}  \"{}\"", v.partnership, v.conversation, v.subject);
        let by_city: Vec<String> = v.posts_by_city.iter().map(|(c, n)| format!("{c} {n}")).collect();
        let langs: Vec<String> = v.languages.iter().map(|(l, n)| format!("{l} {n}")).collect();
        let _ = writeln!(
            s,
            "  {} {} ({}), last by {} at {}; languages: {}",
            v.posts,
            if v.posts == 1 { "post" } else { "posts" },
            by_city.join(", "),
            v.last_post_city.as_deref().unwrap_or("-"),
            v.last_post_at.as_deref().unwrap_or("-"),
            langs.join(", ")
        );
        if !v.owing.is_empty() {
            let _ = writeln!(
                s,
                "  owes a reply: {} ({} {})",
                v.owing.join(", "),
                if v.overdue { "OVERDUE since" } else { "due" },
                v.reply_due_at.as_deref().unwrap_or("-")
            );
        }
        let d: Vec<String> = v.deliveries.iter().map(|(st, n)| format!("{n} {st}")).collect();
        let _ = writeln!(s, "  deliveries: {}", if d.is_empty() { "none".into() } else { d.join(", ") });
        for p in &v.problems {
            let _ = writeln!(
                s,
                "  {} {} → {} {} ({} attempts): {}",
                if p.status == "permanent_failure" { "FAILED" } else { "retrying" },
                p.entry,
                p.channel,
                p.address,
                p.attempts,
                p.error.as_deref().unwrap_or("-")
            );
        }
    }
    s
}
