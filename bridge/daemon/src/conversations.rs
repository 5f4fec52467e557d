//! The `conversations` view: open threads, who owes a reply, how deliveries stand. Shared by
//! the CLI (`c2c-bridge conversations`) and the admin API (`GET /api/conversations`).
//!
//! Its JSON is a public shape: fields may be added, never renamed. Who owes a reply comes from
//! the follow-up record the committer keeps on the conversation (`Conversation::owing`: the
//! debts the bridge sends reminders for); an open conversation without that record (written
//! before it existed, or reopened by `/reopen` and not posted in since) falls back to "every
//! member but the one that wrote last", with no detail.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use c2c_config::Config;
use c2c_core::{Conversation, ConversationId, DeliveryStatus, Millis, OutboxEntry, Store, StoreError, now_ms};
use c2c_followup::{hours, windows};
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
    /// Members that owe a reply: the cities of `owing_detail` (see the module's note); none
    /// once closed.
    pub owing: Vec<String>,
    /// When the earliest reply is due (the start of its debt + the partnership's
    /// `reply_within`).
    pub reply_due_at: Option<String>,
    pub overdue: bool,
    /// `open`, or `closed` (by `/close`; a new post opens it again).
    #[serde(default)]
    pub state: State,
    /// When it was closed (RFC 3339, UTC), while it is.
    #[serde(default)]
    pub closed_at: Option<String>,
    /// Each member that owes a reply, with its reminders: what `owing` names, in detail.
    #[serde(default)]
    pub owing_detail: Vec<OwingView>,
    /// Member → until when its reminders here are snoozed (RFC 3339, UTC); snoozes that have
    /// ended are left out.
    #[serde(default)]
    pub snoozed: BTreeMap<String, String>,
    /// Language code → posts.
    pub languages: BTreeMap<String, u64>,
    /// Delivery status → entries.
    pub deliveries: BTreeMap<String, u64>,
    /// Deliveries that failed for good, and those still retrying.
    pub problems: Vec<DeliveryProblem>,
}

/// Whether a conversation still expects replies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    #[default]
    Open,
    Closed,
}

/// One member's debt: a reply it owes since another member wrote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwingView {
    pub city: String,
    /// When the first post it has not answered was committed (RFC 3339, UTC).
    pub since: String,
    /// When its next reminder falls due: the end of its current reply window, moved into the
    /// city's working hours (RFC 3339, UTC). After the last window, when the last one fell due.
    pub due: String,
    /// `due` as the city's contacts read it: `Mon 4 Jan 2027 09:00 (Asia/Tokyo)`.
    pub due_local: String,
    /// Reminders sent for this debt so far.
    pub reminders: u32,
    /// The members waiting for the reply.
    pub waiting: Vec<String>,
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
    collect_at(store, config, partnership, now_ms())
}

/// How a conversation's deliveries stand: counts per status, and the entries that have not gone
/// through (yet).
#[derive(Debug, Default)]
struct Deliveries {
    counts: BTreeMap<String, u64>,
    problems: Vec<DeliveryProblem>,
}

impl Deliveries {
    fn add(&mut self, e: &OutboxEntry) {
        *self.counts.entry(e.status.as_str().to_string()).or_default() += 1;
        if matches!(e.status, DeliveryStatus::PermanentFailure | DeliveryStatus::TemporaryFailure) {
            self.problems.push(DeliveryProblem {
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
}

/// [`collect`] as seen at `now` (what is overdue, which snoozes still hold).
pub fn collect_at(
    store: &dyn Store,
    config: &Config,
    partnership: Option<&str>,
    now: Millis,
) -> Result<Vec<ConversationView>, StoreError> {
    // One pass over the outbox, one entry at a time, folded by conversation: counts per status,
    // and the entries that have not gone through (a million delivered entries are not held).
    let mut outbox: HashMap<ConversationId, Deliveries> = HashMap::new();
    store.each_outbox(partnership, &mut |e| outbox.entry(e.conversation).or_default().add(&e))?;
    let mut out = Vec::new();
    for c in store.conversations(partnership)? {
        let deliveries = outbox.remove(&c.id).unwrap_or_default();
        out.push(view(config, &c, deliveries, now));
    }
    out.sort_by(|a, b| a.started_at.cmp(&b.started_at).then(a.conversation.cmp(&b.conversation)));
    Ok(out)
}

/// Conversations per page of the view at most (`limit`).
pub const PAGE_MAX: usize = 1000;
/// Conversations per page when only `after` is asked for.
pub const PAGE_DEFAULT: usize = 100;

/// The size of a page asked for with `limit`: 1 to [`PAGE_MAX`].
pub fn page_size(limit: usize) -> usize {
    limit.clamp(1, PAGE_MAX)
}

/// One page of the view, and where the next starts.
#[derive(Debug)]
pub struct Page {
    pub views: Vec<ConversationView>,
    /// The last conversation of this page, when more follow: ask again with it as `after`.
    pub next: Option<ConversationId>,
}

/// One page of the view at `now`: at most `limit` conversations after `after` in id order (the
/// order they were opened in, within a millisecond), of `partnership` or all, those `visible`
/// accepts by partnership. Only the page's conversations, their messages and those messages'
/// deliveries are read, so memory and time follow the page, not the store (apart from skipping
/// over conversations that are not shown).
pub fn page_at(
    store: &dyn Store,
    config: &Config,
    partnership: Option<&str>,
    visible: &dyn Fn(&str) -> bool,
    after: Option<ConversationId>,
    limit: usize,
    now: Millis,
) -> Result<Page, StoreError> {
    let limit = page_size(limit);
    let (mut picked, mut more) = (Vec::new(), false);
    store.each_conversation(after, &mut |c| {
        if partnership.is_some_and(|p| p != c.partnership) || !visible(&c.partnership) {
            return true;
        }
        if picked.len() == limit {
            more = true;
            return false;
        }
        picked.push(c);
        true
    })?;
    let next = if more { picked.last().map(|c| c.id) } else { None };
    let mut views = Vec::with_capacity(picked.len());
    for c in picked {
        let mut deliveries = Deliveries::default();
        let mut failed = None;
        store.each_message(c.id, &mut |m| {
            if failed.is_some() {
                return;
            }
            match store.outbox_at(m.seq) {
                Ok(at) => at.iter().filter(|e| e.conversation == c.id).for_each(|e| deliveries.add(e)),
                Err(e) => failed = Some(e),
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        views.push(view(config, &c, deliveries, now));
    }
    Ok(Page { views, next })
}

/// Conversation `c` as admins see it at `now`, with its `deliveries`.
fn view(config: &Config, c: &Conversation, deliveries: Deliveries, now: Millis) -> ConversationView {
    let p = config.partnership(&c.partnership);
    let within = p.map(|p| Millis::try_from(p.reply_within.as_millis()).unwrap_or(Millis::MAX));
    let (owing, due): (Vec<String>, Option<Millis>) = if c.closed_at.is_some() {
        (Vec::new(), None)
    } else if !c.owing.is_empty() {
        let first = c.owing.values().map(|o| o.since).min();
        (c.owing.keys().cloned().collect(), first.zip(within).map(|(since, w)| since.saturating_add(w)))
    } else {
        // No follow-up record: everyone but the city that wrote last.
        let owing: Vec<String> =
            p.map(|p| c.owing(&p.members).into_iter().map(String::from).collect()).unwrap_or_default();
        let due = c.last_post_at.zip(within).filter(|_| !owing.is_empty()).map(|(last, w)| last.saturating_add(w));
        (owing, due)
    };
    ConversationView {
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
        state: if c.closed_at.is_some() { State::Closed } else { State::Open },
        closed_at: c.closed_at.map(rfc3339),
        owing_detail: owing_detail(config, c),
        snoozed: c.snoozed.iter().filter(|(_, until)| **until > now).map(|(m, u)| (m.clone(), rfc3339(*u))).collect(),
        languages: c.languages.clone(),
        deliveries: deliveries.counts,
        problems: deliveries.problems,
    }
}

/// The debts of an open conversation, oldest first.
fn owing_detail(config: &Config, c: &Conversation) -> Vec<OwingView> {
    if c.closed_at.is_some() {
        return Vec::new();
    }
    let mut out: Vec<OwingView> = c
        .owing
        .iter()
        .map(|(city, o)| {
            let zone = config.city(city).map_or(chrono_tz::UTC, |c| c.timezone);
            OwingView {
                city: city.clone(),
                since: rfc3339(o.since),
                due: rfc3339(o.due),
                due_local: hours::local_text(instant(o.due), zone),
                reminders: o.reminders,
                waiting: o.waiting.iter().cloned().collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| a.since.cmp(&b.since).then(a.city.cmp(&b.city)));
    out
}

fn instant(ms: Millis) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn time(ms: Millis) -> String {
    instant(ms).format("%Y-%m-%d %H:%M UTC").to_string()
}

fn rfc3339(ms: Millis) -> String {
    instant(ms).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// An RFC 3339 time of the view as the text's other times read (`2027-01-04 09:00 UTC`).
fn readable(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| time(t.timestamp_millis()))
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// The human-readable listing.
pub fn render_text(views: &[ConversationView]) -> String {
    if views.is_empty() {
        return "no conversations\n".into();
    }
    let mut s = String::new();
    for v in views {
        let closed = match (v.state, &v.closed_at) {
            (State::Closed, Some(at)) => format!("  [closed {}]", readable(at)),
            (State::Closed, None) => "  [closed]".into(),
            (State::Open, _) => String::new(),
        };
        let _ = writeln!(s, "{}  {}  \"{}\"{closed}", v.partnership, v.conversation, v.subject);
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
        for o in &v.owing_detail {
            let (n, local) = (o.reminders, &o.due_local);
            let sent = format!("{n} {}", if n == 1 { "reminder" } else { "reminders" });
            let when = match n {
                0 => format!("due {local}"),
                n if n < windows::WINDOWS => format!("OVERDUE, {sent} sent, next {local}"),
                _ => format!("OVERDUE, {sent} sent, the last at {local}"),
            };
            let (city, waiting, since) = (&o.city, o.waiting.join(", "), readable(&o.since));
            let _ = writeln!(s, "  {city} owes a reply to {waiting} since {since}: {when}");
        }
        if v.owing_detail.is_empty() && !v.owing.is_empty() {
            let _ = writeln!(
                s,
                "  owes a reply: {} ({} {})",
                v.owing.join(", "),
                if v.overdue { "OVERDUE since" } else { "due" },
                v.reply_due_at.as_deref().unwrap_or("-")
            );
        }
        for (city, until) in &v.snoozed {
            let _ = writeln!(s, "  {city} snoozed its reminders until {}", readable(until));
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use c2c_core::conformance::sample_conversation;
    use c2c_core::memory::MemoryStore;
    use c2c_core::{Commit, Owing};
    use serde_json::json;

    use super::*;

    const CONFIG: &str = r#"
[bridge]
name = "test bridge"
data_dir = "data"
listen = "127.0.0.1:1"

[connectors.webhook]

[[cities]]
id = "leeds"
name = "Leeds"
country = "GB"
timezone = "Europe/London"
languages = ["en"]
webhook = { url = "http://127.0.0.1:2/leeds", secret_env = "X_LEEDS" }
  [[cities.contacts]]
  id = "leeds-jo"
  name = "Jo Smith"
  role = "International Relations"

[[cities]]
id = "hangzhou"
name = "Hangzhou"
country = "CN"
timezone = "Asia/Shanghai"
languages = ["zh", "en"]
webhook = { url = "http://127.0.0.1:2/hangzhou", secret_env = "X_HZ" }
  [[cities.contacts]]
  id = "hz-li"
  name = "Li Wei"
  role = "Foreign Affairs Office"

[[partnerships]]
id = "hangzhou-leeds"
kind = "city-city"
members = ["hangzhou", "leeds"]
objective = "o"
language = "en"
reply_within = "5d"
channels = { hangzhou = "webhook", leeds = "webhook" }
"#;

    /// 2027-01-01T00:00:00Z.
    const T0: Millis = 1_798_761_600_000;
    const DAY: Millis = 86_400_000;
    /// When the tests look: a week after T0.
    const NOW: Millis = T0 + 7 * DAY;

    fn config() -> Config {
        Config::parse(CONFIG, Path::new("test.toml")).unwrap()
    }

    /// Leeds wrote at T0; Hangzhou owes the reply and was reminded once; Leeds snoozed its
    /// reminders here before T0 (ended) and Hangzhou until two days after NOW.
    fn owed() -> Conversation {
        let mut c = sample_conversation("hangzhou-leeds");
        c.started_at = T0;
        c.last_post_at = Some(T0);
        c.owing.insert(
            "hangzhou".into(),
            Owing {
                since: T0,
                waiting: BTreeSet::from(["leeds".to_string()]),
                // 2027-01-11 09:00 in Hangzhou (UTC+8): the second window, in working hours.
                due: T0 + 10 * DAY + 3_600_000,
                reminders: 1,
            },
        );
        c.snoozed.insert("leeds".into(), T0 - DAY);
        c.snoozed.insert("hangzhou".into(), T0 + 9 * DAY);
        c
    }

    async fn views(conversations: Vec<Conversation>) -> Vec<serde_json::Value> {
        let store = MemoryStore::new("test");
        store.commit(Commit { conversations, ..Default::default() }).await.unwrap();
        let views = collect_at(&store, &config(), None, NOW).unwrap();
        views.iter().map(|v| serde_json::to_value(v).unwrap()).collect()
    }

    #[tokio::test]
    async fn an_open_conversation_shows_each_debt_in_utc_and_in_the_owing_city_s_time() {
        let v = &views(vec![owed()]).await[0];
        assert_eq!(v["state"], "open");
        assert_eq!(v["closed_at"], serde_json::Value::Null);
        assert_eq!(v["owing"], json!(["hangzhou"]), "the older field keeps its shape");
        assert_eq!(v["reply_due_at"], "2027-01-06 00:00 UTC", "the first window's end");
        assert_eq!(v["overdue"], true);
        assert_eq!(
            v["owing_detail"],
            json!([{
                "city": "hangzhou",
                "since": "2027-01-01T00:00:00Z",
                "due": "2027-01-11T01:00:00Z",
                "due_local": "Mon 11 Jan 2027 09:00 (Asia/Shanghai)",
                "reminders": 1,
                "waiting": ["leeds"],
            }])
        );
        assert_eq!(v["snoozed"], json!({"hangzhou": "2027-01-10T00:00:00Z"}), "an ended snooze is left out");
    }

    #[tokio::test]
    async fn a_closed_conversation_owes_nothing_and_says_since_when() {
        let mut c = owed();
        c.owing.clear();
        c.closed_at = Some(T0 + DAY);
        let v = &views(vec![c]).await[0];
        assert_eq!(v["state"], "closed");
        assert_eq!(v["closed_at"], "2027-01-02T00:00:00Z");
        assert_eq!((&v["owing"], &v["owing_detail"]), (&json!([]), &json!([])));
        assert_eq!((&v["reply_due_at"], &v["overdue"]), (&serde_json::Value::Null, &json!(false)));
    }

    #[tokio::test]
    async fn a_conversation_from_before_the_follow_up_record_owes_as_it_did() {
        // Leeds wrote last; no record of debts: Hangzhou owes, due 5 days after the last post.
        let mut c = sample_conversation("hangzhou-leeds");
        c.last_post_at = Some(T0);
        let v = &views(vec![c]).await[0];
        assert_eq!(v["owing"], json!(["hangzhou"]));
        assert_eq!(v["reply_due_at"], "2027-01-06 00:00 UTC");
        assert_eq!(v["owing_detail"], json!([]));
        assert_eq!(v["state"], "open");
    }

    #[tokio::test]
    async fn the_text_names_the_owing_member_and_its_local_due_time() {
        let store = MemoryStore::new("test");
        let mut closed = sample_conversation("hangzhou-leeds");
        closed.closed_at = Some(T0 + DAY);
        closed.subject = "Done with".into();
        store.commit(Commit { conversations: vec![owed(), closed], ..Default::default() }).await.unwrap();
        let text = render_text(&collect_at(&store, &config(), None, NOW).unwrap());
        assert!(
            text.contains(
                "  hangzhou owes a reply to leeds since 2027-01-01 00:00 UTC: OVERDUE, 1 reminder sent, \
                 next Mon 11 Jan 2027 09:00 (Asia/Shanghai)\n"
            ),
            "{text}"
        );
        assert!(text.contains("  hangzhou snoozed its reminders until 2027-01-10 00:00 UTC\n"), "{text}");
        assert!(text.contains("\"Done with\"  [closed 2027-01-02 00:00 UTC]\n"), "{text}");
        assert!(!text.contains("owes a reply: "), "the older line is only for conversations without a record: {text}");
    }

    #[test]
    fn a_view_from_an_older_daemon_still_reads() {
        // The CLI may ask a daemon started from the previous release.
        let old = json!({
            "partnership": "p", "conversation": "c", "subject": "s", "started_at": "t", "started_by": null,
            "posts": 1, "posts_by_city": {}, "last_post_at": null, "last_post_city": null, "owing": [],
            "reply_due_at": null, "overdue": false, "languages": {}, "deliveries": {}, "problems": [],
        });
        let v: ConversationView = serde_json::from_value(old).unwrap();
        assert_eq!((v.state, v.owing_detail.len()), (State::Open, 0));
    }
}
