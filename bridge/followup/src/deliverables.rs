//! Deliverable and meeting reminders: at which points a member is reminded, and which point
//! is next given what was already sent.
//!
//! Points of a deliverable due at T: `before:SECONDS` at T minus each `remind` duration, then
//! (deliverables only, not meetings) `overdue:N` at T plus N-1 weeks for N up to
//! `overdue_reminders`. A point is named by what it is, not by when, so a reminder sent is
//! recorded once under its name whatever the clock does. When several points are already past
//! (the bridge was stopped across them), only the latest is sent; the earlier ones are passed
//! over (a week-before reminder the day before would only confuse).

use std::time::Duration;

use c2c_config::{Deliverable, DeliverableKind};
use chrono::{DateTime, Utc};

const WEEK: Duration = Duration::from_secs(7 * 86_400);

/// One reminder point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    /// `before:604800`, `overdue:1`, ...
    pub name: String,
    pub at: DateTime<Utc>,
    pub overdue: bool,
}

/// Every reminder point of `d`, earliest first.
pub fn points(d: &Deliverable) -> Vec<Point> {
    let mut out: Vec<Point> = d
        .remind
        .iter()
        .filter_map(|ahead| {
            let at = d.due - chrono::Duration::from_std(*ahead).ok()?;
            Some(Point { name: format!("before:{}", ahead.as_secs()), at, overdue: false })
        })
        .collect();
    if d.kind == DeliverableKind::Deliverable {
        for n in 1..=d.overdue_reminders {
            let Ok(after) = chrono::Duration::from_std(WEEK * (n - 1)) else { break };
            out.push(Point { name: format!("overdue:{n}"), at: d.due + after, overdue: true });
        }
    }
    out.sort_by_key(|p| p.at);
    out
}

/// What to do next for one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Next {
    /// The point to remind of next (due now when `at <= now`).
    pub point: Point,
    /// Earlier points not yet sent that are passed over when `point` is sent.
    pub passed_over: Vec<String>,
}

/// The next point to act on, given which were `sent` (or passed over): the latest of the
/// unsent points already past, else the first one to come; `None` when nothing is left.
pub fn next(points: &[Point], sent: impl Fn(&str) -> bool, now: DateTime<Utc>) -> Option<Next> {
    let unsent: Vec<&Point> = points.iter().filter(|p| !sent(&p.name)).collect();
    let past = unsent.iter().rposition(|p| p.at <= now);
    match past {
        Some(i) => {
            Some(Next { point: unsent[i].clone(), passed_over: unsent[..i].iter().map(|p| p.name.clone()).collect() })
        }
        None => unsent.first().map(|p| Next { point: (*p).clone(), passed_over: Vec::new() }),
    }
}

/// The members a point reminds: the owner of a deliverable, every member for a meeting.
pub fn reminded<'a>(d: &'a Deliverable, members: &'a [String]) -> Vec<&'a str> {
    match d.kind {
        DeliverableKind::Deliverable => vec![d.owner.as_str()],
        DeliverableKind::Meeting => members.iter().map(String::as_str).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use c2c_config::Due;
    use chrono::TimeZone;

    fn deliverable(kind: DeliverableKind, overdue: u32) -> Deliverable {
        let due = Utc.with_ymd_and_hms(2027, 1, 15, 0, 0, 0).unwrap();
        Deliverable {
            id: "draft".into(),
            kind,
            title: "Draft".into(),
            owner: "leeds".into(),
            due,
            due_as_written: Due::Date(due.date_naive()),
            remind: Deliverable::DEFAULT_REMIND.to_vec(),
            overdue_reminders: overdue,
        }
    }

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 1, d, 12, 0, 0).unwrap()
    }

    #[test]
    fn points_are_seven_days_one_day_then_weekly_when_overdue() {
        let names: Vec<String> =
            points(&deliverable(DeliverableKind::Deliverable, 3)).into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["before:604800", "before:86400", "overdue:1", "overdue:2", "overdue:3"]);
        let meeting: Vec<String> =
            points(&deliverable(DeliverableKind::Meeting, 3)).into_iter().map(|p| p.name).collect();
        assert_eq!(meeting, ["before:604800", "before:86400"], "a meeting is never overdue");
    }

    #[test]
    fn the_next_point_is_the_first_to_come_or_the_latest_already_past() {
        let ps = points(&deliverable(DeliverableKind::Deliverable, 2));
        let none = |_: &str| false;
        let n = next(&ps, none, day(1)).unwrap();
        assert_eq!((n.point.name.as_str(), n.passed_over.len()), ("before:604800", 0));
        assert!(n.point.at > day(1));
        // Stopped from the 1st to the 14th evening: the day-before reminder, not the week-before.
        let n = next(&ps, none, Utc.with_ymd_and_hms(2027, 1, 14, 20, 0, 0).unwrap()).unwrap();
        assert_eq!(n.point.name, "before:86400");
        assert_eq!(n.passed_over, vec!["before:604800".to_string()]);
        // All sent: nothing left.
        assert_eq!(next(&ps, |_| true, day(30)), None);
        // Sent up to overdue:1: next is overdue:2, a week after the due time.
        let sent = |n: &str| n != "overdue:2";
        let n = next(&ps, sent, day(16)).unwrap();
        assert_eq!(n.point.name, "overdue:2");
        assert_eq!(n.point.at, Utc.with_ymd_and_hms(2027, 1, 22, 0, 0, 0).unwrap());
    }

    #[test]
    fn meetings_remind_every_member_and_deliverables_their_owner() {
        let members = vec!["hangzhou".to_string(), "leeds".to_string()];
        assert_eq!(reminded(&deliverable(DeliverableKind::Deliverable, 1), &members), ["leeds"]);
        assert_eq!(reminded(&deliverable(DeliverableKind::Meeting, 1), &members), ["hangzhou", "leeds"]);
    }
}
