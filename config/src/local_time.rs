//! Local times to instants in a city's time zone, across daylight-saving changes: what a
//! deliverable's `due = "2027-01-15"` (the end of that day where its owner is) and the start of a
//! city's working hours mean as instants.

use chrono::offset::LocalResult;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

/// The first instant whose local time in `zone` is at or after `local`:
/// - the instant itself, when `local` happens once that day;
/// - the earlier of the two, when clocks go back over `local` (it happens twice);
/// - the moment of the change, when clocks go forward over `local` (it never happens): 02:30 on
///   the night London moves from 01:00 GMT to 02:00 BST gives 01:00 UTC, that is 02:00 BST.
pub fn local_instant(zone: chrono_tz::Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(instant) => instant.with_timezone(&Utc),
        LocalResult::Ambiguous(earliest, _) => earliest.with_timezone(&Utc),
        LocalResult::None => after_gap(zone, local),
    }
}

/// For a local time skipped by clocks going forward: the moment of the change, found by
/// bisection over the instants a day either side (no time zone's offset reaches a day, and no
/// zone changes its clocks twice within a day, so local time only grows across that span).
fn after_gap(zone: chrono_tz::Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let reached = |seconds: i64| {
        DateTime::from_timestamp(seconds, 0).is_some_and(|u| u.with_timezone(&zone).naive_local() >= local)
    };
    let naive_seconds = local.and_utc().timestamp();
    // Invariant: `lo` is before the change, `hi` at or after it.
    let (mut lo, mut hi) = (naive_seconds - 86_400, naive_seconds + 86_400);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if reached(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::from_timestamp(hi, 0).unwrap_or_else(|| local.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        at(text).and_utc()
    }

    #[test]
    fn ordinary_times_are_unchanged() {
        assert_eq!(local_instant(chrono_tz::Asia::Tokyo, at("2027-01-04 09:00")), utc("2027-01-04 00:00"));
        assert_eq!(local_instant(chrono_tz::UTC, at("2027-01-04 09:00")), utc("2027-01-04 09:00"));
    }

    #[test]
    fn a_time_skipped_by_clocks_going_forward_is_the_moment_of_the_change() {
        // London, 28 March 2027: 01:00 GMT becomes 02:00 BST.
        let london = chrono_tz::Europe::London;
        assert_eq!(local_instant(london, at("2027-03-28 01:30")), utc("2027-03-28 01:00"));
        assert_eq!(local_instant(london, at("2027-03-28 01:00")), utc("2027-03-28 01:00"));
        assert_eq!(local_instant(london, at("2027-03-28 02:00")), utc("2027-03-28 01:00"));
        // Santiago, 5 September 2027: 00:00 -04 becomes 01:00 -03 (midnight does not exist).
        let santiago = chrono_tz::America::Santiago;
        assert_eq!(local_instant(santiago, at("2027-09-05 00:00")), utc("2027-09-05 04:00"));
    }

    #[test]
    fn a_time_that_happens_twice_is_the_first() {
        // London, 31 October 2027: 02:00 BST becomes 01:00 GMT; 01:30 happens twice.
        let london = chrono_tz::Europe::London;
        assert_eq!(local_instant(london, at("2027-10-31 01:30")), utc("2027-10-31 00:30"));
    }
}
