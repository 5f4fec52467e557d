//! The report's figures, from the store (conversations, their messages, the outbox,
//! deliverables' state, and the week tallies of what retention forgot) and the config (members, agreed language, `reply_within`,
//! deliverables, KPIs). What counts is described in the module above; this reads every
//! message of the partnership once, one at a time, and the outbox one entry at a time, so its
//! memory does not grow with what is stored (1.09 GB at a million messages when it
//! held them all).

use std::collections::{BTreeMap, HashMap};

use c2c_config::{Config, KpiMeasure, KpiTarget, Partnership};
use c2c_core::{Conversation, DeliveryStatus, Message, MessageKind, Millis, Store, StoreError, WeekTally};
use chrono::{Datelike, NaiveDate};

use super::{
    DeliverableReport, DeliverableStatus, Figure, FirstReply, KpiReport, MemberReport, Report, Threads, WeekReport,
};

/// Why no report could be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `until` is not after `since`.
    #[error("the period is empty: since ({since}) must be before until ({until})")]
    EmptyPeriod { since: String, until: String },
}

/// The report of `partnership` over `[since, until)`, at `now`. `until` defaults to `now`;
/// `since` to 00:00 UTC of the day of the partnership's first post (or of `until`'s day when it
/// has none).
pub fn compute(
    store: &dyn Store,
    config: &Config,
    partnership: &Partnership,
    since: Option<Millis>,
    until: Option<Millis>,
    now: Millis,
) -> Result<Report, ReportError> {
    compute_in_steps(store, config, partnership, since, until, now, READ_PER_STEP)
}

/// [`compute`], reading `per_step` conversation records at a time (tests read one).
pub(crate) fn compute_in_steps(
    store: &dyn Store,
    config: &Config,
    partnership: &Partnership,
    since: Option<Millis>,
    until: Option<Millis>,
    now: Millis,
    per_step: usize,
) -> Result<Report, ReportError> {
    let until = until.unwrap_or(now);
    let as_of = until.min(now);
    let within = Millis::try_from(partnership.reply_within.as_millis()).unwrap_or(Millis::MAX);

    if let Some(since) = since
        && until <= since
    {
        return Err(ReportError::EmptyPeriod { since: rfc3339(since), until: rfc3339(until) });
    }
    // What retention forgot, by week (see `super::fold`).
    let forgotten: Vec<(NaiveDate, WeekTally)> = store
        .week_tallies(&partnership.id)?
        .into_iter()
        .filter_map(|w| Some((NaiveDate::parse_from_str(&w.week, "%Y-%m-%d").ok()?, w)))
        .collect();
    // Without a `since`, the period starts on the day of the first post, so every post before
    // `until` is in it (and every close, which comes after its conversation's first post).
    let from = since.unwrap_or(Millis::MIN);
    let in_period = |t: Millis| from <= t && t < until;

    // One conversation at a time, its posts before `until` in commit order: memory holds one
    // step of conversation records and one conversation's messages, whatever is stored.
    let mut tally = Tally::new(partnership);
    let mut first_post: Option<Millis> = None;
    let mut after = None;
    loop {
        let mut step = Vec::new();
        let mut read = 0;
        store.each_conversation(after, &mut |c| {
            read += 1;
            after = Some(c.id);
            if c.partnership == partnership.id {
                step.push(c);
            }
            read < per_step
        })?;
        for c in step {
            // Its posts before `until`, one at a time in commit order: those in the period are
            // counted as they come; what the thread needs of them is kept (`Posts`).
            let mut posts = Posts::default();
            store.each_message(c.id, &mut |m| {
                let Some(author) = m.author.as_ref().filter(|_| m.kind == MessageKind::Post && m.committed_at < until)
                else {
                    return;
                };
                if in_period(m.committed_at) {
                    posts.in_period = true;
                    tally.post(&m, &partnership.language);
                }
                posts.add(&author.city, m.committed_at);
            })?;
            let Some((_, first)) = posts.first else { continue };
            first_post = Some(first_post.map_or(first, |t| t.min(first)));
            tally.thread(&c, &posts, partnership, &in_period, until, within, as_of);
        }
        if read < per_step {
            break;
        }
    }
    let since = since.unwrap_or_else(|| {
        let first_week = forgotten.iter().map(|(monday, _)| day_millis(*monday)).min();
        day_start(first_post.into_iter().chain(first_week).min().unwrap_or(until))
    });
    if until <= since {
        return Err(ReportError::EmptyPeriod { since: rfc3339(since), until: rfc3339(until) });
    }
    let in_period = |t: Millis| since <= t && t < until;
    tally.span(since, until);
    let mut forgotten_failures = 0;
    for (monday, w) in &forgotten {
        let start = day_millis(*monday);
        if start < until && since < start + WEEK {
            tally.forgotten(*monday, w);
            forgotten_failures += w.failed_deliveries;
        }
    }
    tally.threads.total = tally.threads.open + tally.threads.closed;

    let deliverables = deliverables(store, partnership, until, as_of)?;
    let mut failed_deliveries = forgotten_failures;
    store.each_outbox(Some(&partnership.id), &mut |e| {
        if e.status == DeliveryStatus::PermanentFailure && in_period(e.created_at) {
            failed_deliveries += 1;
        }
    })?;
    let kpis = partnership.kpis.iter().map(|k| kpi(k, &tally, &deliverables, since, until)).collect();

    let members = partnership
        .members
        .iter()
        .map(|city| {
            let mut times = tally.replies.get(city).cloned().unwrap_or_default();
            times.sort_unstable();
            MemberReport {
                city: city.clone(),
                name: config.city(city).map_or_else(|| city.clone(), |c| c.name.clone()),
                messages: tally.posts_by.get(city).copied().unwrap_or(0),
                first_reply: FirstReply {
                    median_s: percentile(&times, 0.5).map(seconds),
                    p90_s: percentile(&times, 0.9).map(seconds),
                    answered: times.len() as u64,
                    unanswered: tally.unanswered.get(city).copied().unwrap_or(0),
                },
                overdue_threads: tally.overdue_by.get(city).copied().unwrap_or(0),
                off_language: tally.off_by.get(city).copied().unwrap_or(0),
            }
        })
        .collect();
    Ok(Report {
        partnership: partnership.id.clone(),
        objective: partnership.objective.clone(),
        language: partnership.language.clone(),
        reply_within_s: partnership.reply_within.as_secs(),
        since: rfc3339(since),
        until: rfc3339(until),
        as_of: rfc3339(as_of),
        generated_at: rfc3339(now),
        messages: tally.posts_by.values().sum(),
        members,
        weeks: tally.weeks.into_values().collect(),
        threads: tally.threads,
        languages: tally.languages,
        off_language: tally.off_by.values().sum(),
        deliverables,
        failed_deliveries,
        kpis,
    })
}

/// Conversation records read per step of the report's pass.
const READ_PER_STEP: usize = 1_024;

/// What the posts add up to, member by member.
struct Tally {
    /// Every member, with 0.
    zeros: BTreeMap<String, u64>,
    posts_by: BTreeMap<String, u64>,
    off_by: BTreeMap<String, u64>,
    languages: BTreeMap<String, u64>,
    /// Monday of each week → its report.
    weeks: BTreeMap<NaiveDate, WeekReport>,
    /// Member → its first-reply times (ms).
    replies: HashMap<String, Vec<Millis>>,
    unanswered: HashMap<String, u64>,
    overdue_by: HashMap<String, u64>,
    threads: Threads,
}

impl Tally {
    fn new(partnership: &Partnership) -> Self {
        let zeros: BTreeMap<String, u64> = partnership.members.iter().map(|m| (m.clone(), 0)).collect();
        Tally {
            posts_by: zeros.clone(),
            off_by: zeros.clone(),
            zeros,
            languages: BTreeMap::new(),
            weeks: BTreeMap::new(),
            replies: HashMap::new(),
            unanswered: HashMap::new(),
            overdue_by: HashMap::new(),
            threads: Threads::default(),
        }
    }

    /// The week of `monday`, empty until posts are counted in it.
    fn week(&mut self, monday: NaiveDate) -> &mut WeekReport {
        let zeros = &self.zeros;
        self.weeks.entry(monday).or_insert_with(|| {
            let iso = monday.iso_week();
            WeekReport {
                week: format!("{}-W{:02}", iso.year(), iso.week()),
                start: monday.to_string(),
                messages: zeros.clone(),
            }
        })
    }

    /// Every week of `[since, until)`, those without posts too.
    fn span(&mut self, since: Millis, until: Millis) {
        let last = monday(until - 1);
        let mut week = monday(since);
        while week <= last {
            self.week(week);
            week = week + chrono::Days::new(7);
        }
    }

    /// A conversation with posts before `until` (`posts`, in commit order).
    #[allow(clippy::too_many_arguments)]
    fn thread(
        &mut self,
        c: &Conversation,
        posts: &Posts,
        partnership: &Partnership,
        in_period: &impl Fn(Millis) -> bool,
        until: Millis,
        within: Millis,
        as_of: Millis,
    ) {
        self.first_replies(partnership, posts, in_period);
        let closed = c.closed_at.is_some_and(|t| t < until);
        let active = posts.in_period || !closed || c.closed_at.is_some_and(in_period);
        if !active {
            return;
        }
        if closed {
            self.threads.closed += 1;
            return;
        }
        self.threads.open += 1;
        let overdue = overdue_members(c, posts, partnership, within, as_of);
        if !overdue.is_empty() {
            self.threads.overdue += 1;
        }
        for m in overdue {
            *self.overdue_by.entry(m).or_default() += 1;
        }
    }

    /// A post in the period.
    fn post(&mut self, m: &Message, agreed: &str) {
        let city = &m.author.as_ref().expect("posts have an author").city;
        *self.posts_by.entry(city.clone()).or_default() += 1;
        *self.languages.entry(m.language.code.clone()).or_default() += 1;
        if m.language.is_off_language(agreed) {
            *self.off_by.entry(city.clone()).or_default() += 1;
        }
        let city = city.clone();
        *self.week(monday(m.committed_at)).messages.entry(city).or_default() += 1;
    }

    /// A forgotten week's figures (its week overlaps the period).
    fn forgotten(&mut self, monday: NaiveDate, w: &WeekTally) {
        let add = |to: &mut BTreeMap<String, u64>, from: &BTreeMap<String, u64>| {
            for (k, n) in from {
                *to.entry(k.clone()).or_default() += n;
            }
        };
        add(&mut self.posts_by, &w.posts_by);
        add(&mut self.off_by, &w.off_language_by);
        add(&mut self.languages, &w.languages);
        if let Some(week) = self.weeks.get_mut(&monday) {
            add(&mut week.messages, &w.posts_by);
        }
        for (member, times) in &w.first_replies {
            self.replies.entry(member.clone()).or_default().extend(times);
        }
        for (member, n) in &w.unanswered {
            *self.unanswered.entry(member.clone()).or_default() += n;
        }
        self.threads.open += w.threads_open;
        self.threads.closed += w.threads_closed;
    }

    /// The first replies to a conversation whose first post is in the period: each other
    /// member's first post in it, or none yet.
    fn first_replies(&mut self, partnership: &Partnership, posts: &Posts, in_period: &impl Fn(Millis) -> bool) {
        let Some((starter, first)) = &posts.first else { return };
        if !in_period(*first) {
            return;
        }
        for member in partnership.members.iter().filter(|m| *m != starter) {
            match posts.first_by.get(member) {
                Some(r) => self.replies.entry(member.clone()).or_default().push(r - first),
                None => *self.unanswered.entry(member.clone()).or_default() += 1,
            }
        }
    }
}

/// What the report needs of one conversation's posts (before `until`), kept as they are read.
#[derive(Debug, Default)]
struct Posts {
    /// The first post: its city and time.
    first: Option<(String, Millis)>,
    /// Each city's first post.
    first_by: HashMap<String, Millis>,
    /// The last post: its city and time.
    last: Option<(String, Millis)>,
    /// Whether one is in the period.
    in_period: bool,
}

impl Posts {
    /// The next post, in commit order.
    fn add(&mut self, city: &str, at: Millis) {
        if self.first.is_none() {
            self.first = Some((city.to_string(), at));
        }
        self.first_by.entry(city.to_string()).or_insert(at);
        self.last = Some((city.to_string(), at));
    }
}

/// The members that, at `as_of`, owe a reply in an open conversation for longer than
/// `reply_within`: from the follow-up record (`Conversation::owing`: since + window, or a due
/// time already passed); for a conversation without one (written before it existed), every
/// member but the last writer, since the last post.
fn overdue_members(
    c: &Conversation,
    posts: &Posts,
    partnership: &Partnership,
    within: Millis,
    as_of: Millis,
) -> Vec<String> {
    if !c.owing.is_empty() {
        return c
            .owing
            .iter()
            .filter(|(_, o)| o.since < as_of && (o.since.saturating_add(within) < as_of || o.due < as_of))
            .map(|(m, _)| m.clone())
            .collect();
    }
    let (last_city, last) = posts.last.as_ref().expect("threads have posts");
    if last.saturating_add(within) >= as_of {
        return Vec::new();
    }
    partnership.members.iter().filter(|m| *m != last_city).cloned().collect()
}

/// Each deliverable's status at `as_of`; a done time at or after `until` is not yet known then.
fn deliverables(
    store: &dyn Store,
    partnership: &Partnership,
    until: Millis,
    as_of: Millis,
) -> Result<Vec<DeliverableReport>, StoreError> {
    let done: HashMap<String, Millis> = store
        .deliverables()?
        .into_iter()
        .filter(|s| s.partnership == partnership.id)
        .filter_map(|s| s.done_at.filter(|t| *t < until).map(|t| (s.id, t)))
        .collect();
    Ok(partnership
        .deliverables
        .iter()
        .map(|d| {
            let due = d.due.timestamp_millis();
            let done_at = done.get(&d.id).copied();
            DeliverableReport {
                id: d.id.clone(),
                title: d.title.clone(),
                kind: d.kind.as_str().to_string(),
                owner: d.owner.clone(),
                due: rfc3339(due),
                status: DeliverableStatus::of(due, done_at, as_of),
                done_at: done_at.map(rfc3339),
            }
        })
        .collect())
}

/// One KPI, measured.
fn kpi(
    k: &c2c_config::Kpi,
    tally: &Tally,
    deliverables: &[DeliverableReport],
    since: Millis,
    until: Millis,
) -> KpiReport {
    let member = k.member.as_deref();
    let whose = |city: &str| member.is_none_or(|m| m == city);
    let sum = |map: &BTreeMap<String, u64>| map.iter().filter(|(c, _)| whose(c)).map(|(_, n)| n).sum::<u64>();
    let (unit, actual) = match k.measure {
        KpiMeasure::MedianFirstReply | KpiMeasure::P90FirstReply => {
            let mut times: Vec<Millis> =
                tally.replies.iter().filter(|(c, _)| whose(c)).flat_map(|(_, t)| t.iter().copied()).collect();
            times.sort_unstable();
            let q = if k.measure == KpiMeasure::MedianFirstReply { 0.5 } else { 0.9 };
            ("seconds", percentile(&times, q).map(|ms| seconds(ms) as f64))
        }
        KpiMeasure::DeliverablesOnTime => {
            // Those due in the period, judged (done, or overdue): the share done on time.
            let judged: Vec<&DeliverableReport> = deliverables
                .iter()
                .filter(|d| whose(&d.owner) && d.status != DeliverableStatus::Open)
                .filter(|d| parse_ms(&d.due).is_some_and(|due| since <= due && due < until))
                .collect();
            let on_time = judged.iter().filter(|d| d.status == DeliverableStatus::DoneOnTime).count();
            ("share", (!judged.is_empty()).then(|| share(on_time as u64, judged.len() as u64)))
        }
        KpiMeasure::Messages => ("messages", Some(sum(&tally.posts_by) as f64)),
        KpiMeasure::OverdueThreads => {
            let n = match member {
                Some(m) => tally.overdue_by.get(m).copied().unwrap_or(0),
                None => tally.threads.overdue,
            };
            ("threads", Some(n as f64))
        }
        KpiMeasure::OffLanguage => {
            let posts = sum(&tally.posts_by);
            ("share", (posts > 0).then(|| share(sum(&tally.off_by), posts)))
        }
    };
    let target = match k.target {
        KpiTarget::Duration(d) => d.as_secs_f64(),
        KpiTarget::Count(n) => n as f64,
        KpiTarget::Share(s) => s,
    };
    let at_least = k.measure.at_least();
    KpiReport {
        measure: k.measure.as_str().to_string(),
        member: k.member.clone(),
        target: Figure(target),
        actual: actual.map(Figure),
        met: actual.map(|a| if at_least { a >= target } else { a <= target }),
        unit: unit.to_string(),
        comparison: if at_least { "at_least" } else { "at_most" }.to_string(),
    }
}

/// `part / whole`, to four decimals (what the report shows is what was compared).
fn share(part: u64, whole: u64) -> f64 {
    (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0
}

/// The `q` quantile (0 to 1) of sorted `values`, interpolated between the nearest ranks.
pub(crate) fn percentile(sorted: &[Millis], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let pos = q * last as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let (a, b) = (sorted[lo] as f64, sorted[hi] as f64);
    Some(a + (b - a) * (pos - lo as f64))
}

/// Milliseconds to whole seconds, rounded.
fn seconds(ms: f64) -> u64 {
    (ms / 1000.0).round().max(0.0) as u64
}

/// A week's length in milliseconds.
const WEEK: Millis = 7 * 86_400_000;

/// 00:00 UTC of `date`.
fn day_millis(date: NaiveDate) -> Millis {
    date.and_time(chrono::NaiveTime::MIN).and_utc().timestamp_millis()
}

pub(crate) fn monday(t: Millis) -> NaiveDate {
    let date = instant(t).date_naive();
    date - chrono::Days::new(u64::from(date.weekday().num_days_from_monday()))
}

fn day_start(t: Millis) -> Millis {
    day_millis(instant(t).date_naive())
}

fn instant(t: Millis) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(t).unwrap_or_default()
}

pub(crate) fn rfc3339(t: Millis) -> String {
    instant(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn parse_ms(rfc3339: &str) -> Option<Millis> {
    chrono::DateTime::parse_from_rfc3339(rfc3339).ok().map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_between_the_nearest_ranks() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[7], 0.9), Some(7.0));
        assert_eq!(percentile(&[1, 3], 0.5), Some(2.0));
        assert_eq!(percentile(&[1, 2, 10], 0.5), Some(2.0), "an odd count: the middle one");
        // 0.9 × 4 = 3.6: 60% of the way from the 4th to the 5th.
        assert_eq!(percentile(&[6, 8, 12, 30, 48], 0.9), Some(30.0 + 0.6 * 18.0));
        assert_eq!(share(1, 3), 0.3333);
    }

    #[test]
    fn weeks_start_on_monday_in_utc() {
        // 2027-01-03 is a Sunday (2026-W53), 2027-01-04 a Monday (2027-W01).
        let sunday = 1_798_934_400_000 + 86_399_000;
        assert_eq!(monday(sunday).to_string(), "2026-12-28");
        assert_eq!(monday(sunday + 1_000).to_string(), "2027-01-04");
    }
}
