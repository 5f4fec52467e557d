//! The post-activity report of one partnership (Template 1.0's "post activity report" and its
//! "mutually decided KPIs"), over a period `[since, until)`: messages per member and per ISO
//! week, first-reply times per member, threads open / overdue / closed, the language mix,
//! deliverables and their status, failed deliveries, and the partnership's KPIs with target,
//! actual and met.
//!
//! - [`compute`]: the figures, from the store and the config, at a `now` the caller gives (the
//!   daemon's clock), so tests run on a time they control.
//! - [`fold`]: what is kept of a conversation retention forgets (its figures by week), so a
//!   report still counts it.
//! - [`text`], [`html`]: the same report for a terminal, and as one self-contained page
//!   (inline CSS and SVG charts, nothing fetched) for a phone, a browser or paper.
//!
//! The JSON is a public shape (`product.md`, "Directory and reports"): fields may be added,
//! never renamed. What counts:
//! - a **message** is a contact's post (`MessageKind::Post`); notices, reminders, commands and
//!   delivery notices are the bridge's or nobody's traffic. Weeks are ISO weeks in UTC.
//! - a member's **first reply** in a conversation another member started in the period is the
//!   time from the conversation's first post to that member's first post in it, before
//!   `until`. Median and p90 interpolate between the nearest ranks (as numpy's default and
//!   spreadsheets' `PERCENTILE.INC` do); conversations the member had not answered by `until`
//!   are counted as `unanswered`, not as times.
//! - **threads** are the conversations with at least one post before `until` that were posted
//!   in or closed during the period, or are still open at its end. `open` counts every thread
//!   not closed, `overdue` those of them in which some member owes a reply for longer than
//!   `reply_within` (so `open` includes `overdue`). States are judged at `as_of` (the end of the
//!   period, or now if that is earlier) from what the store holds now: a debt settled after
//!   `as_of` is no longer seen, so a report on a past period may count fewer overdue threads
//!   than it would have then.
//! - **off-language** posts are those tagged surely enough in another language than the
//!   agreed one (the ones recipients see flagged; see `LanguageTag::is_off_language`).
//! - a **deliverable**'s status is judged at `as_of` from its due time and when it was marked
//!   done.
//! - **failed deliveries** are the outbox entries created in the period that failed for good.
//! - with `retention`, what was forgotten counts by whole weeks (see [`fold`]).

pub mod compute;
pub mod fold;
pub mod html;
#[cfg(test)]
mod tests;
pub mod text;

use std::collections::BTreeMap;

use c2c_core::Millis;
use serde::{Deserialize, Serialize};

pub use crate::deliverables::Status as DeliverableStatus;
pub use compute::{ReportError, compute};

/// One partnership's report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub partnership: String,
    pub objective: String,
    /// The agreed language.
    pub language: String,
    /// The follow-up window (`reply_within`), in seconds.
    pub reply_within_s: u64,
    /// The period, RFC 3339 UTC: from `since` (included) to `until` (excluded).
    pub since: String,
    pub until: String,
    /// When states (threads, deliverables) are judged: `until`, or when the report was made if
    /// that is earlier.
    pub as_of: String,
    /// When the report was made.
    pub generated_at: String,
    /// Posts in the period, all members.
    pub messages: u64,
    /// Every member, in the config's order.
    pub members: Vec<MemberReport>,
    /// Every ISO week the period touches, oldest first.
    pub weeks: Vec<WeekReport>,
    pub threads: Threads,
    /// Language code → posts in the period.
    pub languages: BTreeMap<String, u64>,
    /// Posts in the period not in the agreed language.
    pub off_language: u64,
    /// The partnership's deliverables and meetings, in the config's order.
    pub deliverables: Vec<DeliverableReport>,
    /// Deliveries of the period that failed for good.
    pub failed_deliveries: u64,
    /// The partnership's KPIs, in the config's order.
    pub kpis: Vec<KpiReport>,
}

/// One member's part.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberReport {
    /// The city id.
    pub city: String,
    /// Its display name.
    pub name: String,
    /// Its posts in the period.
    pub messages: u64,
    pub first_reply: FirstReply,
    /// Threads in which it owes a reply for longer than `reply_within`.
    pub overdue_threads: u64,
    /// Its posts not in the agreed language.
    pub off_language: u64,
}

/// A member's first-reply times, in seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FirstReply {
    /// `None` when it answered none.
    pub median_s: Option<u64>,
    pub p90_s: Option<u64>,
    /// Conversations started by another member in the period that it answered before `until`,
    pub answered: u64,
    /// and those it had not.
    pub unanswered: u64,
}

/// One ISO week.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WeekReport {
    /// `2027-W01` (ISO 8601 week date; the year is the week's, which may differ from the
    /// calendar year in late December and early January).
    pub week: String,
    /// Its Monday, `2027-01-04`.
    pub start: String,
    /// Member city → posts (every member, zeros too).
    pub messages: BTreeMap<String, u64>,
}

/// Conversations by state at `as_of`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Threads {
    /// Not closed (`overdue` included).
    pub open: u64,
    /// Open, with a reply owed for longer than `reply_within`.
    pub overdue: u64,
    pub closed: u64,
    /// `open + closed`.
    pub total: u64,
}

/// A deliverable or meeting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliverableReport {
    pub id: String,
    pub title: String,
    /// `deliverable` or `meeting`.
    pub kind: String,
    /// The member responsible.
    pub owner: String,
    /// RFC 3339, UTC.
    pub due: String,
    pub status: DeliverableStatus,
    /// When it was marked done (before `until`), RFC 3339 UTC.
    pub done_at: Option<String>,
}

/// One KPI: its target, what the period shows, and whether that meets it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KpiReport {
    /// `median_first_reply`, `p90_first_reply`, `deliverables_on_time`, `messages`,
    /// `overdue_threads` or `off_language`.
    pub measure: String,
    /// The member it is about; `None`: the partnership as a whole.
    pub member: Option<String>,
    /// In `unit`.
    pub target: Figure,
    /// `None` when the period has nothing to measure (no reply, no deliverable due, no post).
    pub actual: Option<Figure>,
    /// `None` when `actual` is.
    pub met: Option<bool>,
    /// `seconds`, `share` (0 to 1), `messages` or `threads`.
    pub unit: String,
    /// `at_most` or `at_least`: how `actual` meets `target`.
    pub comparison: String,
}

/// A number in JSON: written as an integer when it is a whole one (`259200`, not
/// `259200.0`), else as a decimal.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Deserialize)]
#[serde(transparent)]
pub struct Figure(pub f64);

impl Serialize for Figure {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
            s.serialize_i64(v as i64)
        } else {
            s.serialize_f64(v)
        }
    }
}

/// A period's start or end as written on the command line or in a query: a date
/// (`2027-01-04`, its 00:00 UTC) or an RFC 3339 date-time.
pub fn parse_when(text: &str) -> Result<Millis, String> {
    let text = text.trim();
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_time(chrono::NaiveTime::MIN).and_utc().timestamp_millis());
    }
    chrono::DateTime::parse_from_rfc3339(text).map(|t| t.timestamp_millis()).map_err(|_| {
        format!("{text:?} is neither a date (2027-01-04, meaning 00:00 UTC) nor an RFC 3339 date-time (2027-01-04T09:00:00Z)")
    })
}

/// The report's output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Json,
    Text,
    Html,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "json" => Ok(Format::Json),
            "text" => Ok(Format::Text),
            "html" => Ok(Format::Html),
            other => Err(format!("unknown format {other:?} (expected \"text\", \"json\" or \"html\")")),
        }
    }
}

impl Report {
    /// The report in `format`.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Json => serde_json::to_string_pretty(self).expect("a report serialises") + "\n",
            Format::Text => text::render(self),
            Format::Html => html::render(self),
        }
    }

    /// KPIs met, and KPIs that could be measured.
    pub fn kpis_met(&self) -> (usize, usize) {
        let measured = self.kpis.iter().filter(|k| k.met.is_some()).count();
        (self.kpis.iter().filter(|k| k.met == Some(true)).count(), measured)
    }

    /// A member's display name (its id when it is not one).
    pub fn member_name<'a>(&'a self, city: &'a str) -> &'a str {
        self.members.iter().find(|m| m.city == city).map_or(city, |m| m.name.as_str())
    }
}

/// `1d 4h`, `11h 36m`, `45m`, `30s`: the two largest units of a number of seconds.
pub fn duration_text(seconds: u64) -> String {
    const UNITS: [(u64, &str); 4] = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
    let mut parts = Vec::new();
    let mut rest = seconds;
    for (size, name) in UNITS {
        if rest >= size || (!parts.is_empty() && parts.len() < 2) {
            let n = rest / size;
            rest %= size;
            if n > 0 {
                parts.push(format!("{n}{name}"));
            } else if !parts.is_empty() {
                // A zero in the second place ends it: "1d", not "1d 0h".
                break;
            }
        }
        if parts.len() == 2 {
            break;
        }
    }
    if parts.is_empty() { "0s".into() } else { parts.join(" ") }
}

/// `2027-01-04 09:00 UTC`.
pub fn time_text(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.with_timezone(&chrono::Utc).format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// A KPI's target or actual as people read it: a duration, a percentage or a count.
pub fn figure_text(unit: &str, value: f64) -> String {
    match unit {
        "seconds" => duration_text(value.round().max(0.0) as u64),
        "share" => {
            let pct = value * 100.0;
            if (pct - pct.round()).abs() < 0.05 { format!("{}%", pct.round()) } else { format!("{pct:.1}%") }
        }
        _ => format!("{}", value.round()),
    }
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn durations_read_in_their_two_largest_units() {
        assert_eq!(duration_text(0), "0s");
        assert_eq!(duration_text(45), "45s");
        assert_eq!(duration_text(2_700), "45m");
        assert_eq!(duration_text(36_000), "10h");
        assert_eq!(duration_text(41_760), "11h 36m");
        assert_eq!(duration_text(86_400), "1d");
        assert_eq!(duration_text(86_400 + 3_600 * 4 + 59), "1d 4h");
        assert_eq!(duration_text(86_400 + 59), "1d", "a zero hour ends it");
        assert_eq!(duration_text(3_600 + 5), "1h", "minutes are zero");
    }

    #[test]
    fn figures_are_whole_numbers_in_json_when_they_can_be() {
        assert_eq!(serde_json::to_string(&Figure(259_200.0)).unwrap(), "259200");
        assert_eq!(serde_json::to_string(&Figure(0.3333)).unwrap(), "0.3333");
        assert_eq!(serde_json::from_str::<Figure>("7").unwrap(), Figure(7.0));
        assert_eq!(figure_text("share", 0.3333), "33.3%");
        assert_eq!(figure_text("share", 0.9), "90%");
        assert_eq!(figure_text("seconds", 43_200.0), "12h");
        assert_eq!(figure_text("messages", 7.0), "7");
    }

    #[test]
    fn a_period_is_a_date_or_a_date_time() {
        assert_eq!(parse_when("2027-01-04").unwrap(), 1_799_020_800_000);
        assert_eq!(parse_when("2027-01-04T09:00:00+09:00").unwrap(), 1_799_020_800_000);
        assert!(parse_when("4 Jan").unwrap_err().contains("neither a date"));
    }
}
