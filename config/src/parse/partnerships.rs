//! `[[partnerships]]` and their `[[partnerships.deliverables]]`.

use std::collections::BTreeMap;
use std::time::Duration;

use c2c_core::Channel;

use crate::diag::Diag;
use crate::formats::{check_id, check_language, parse_due};
use crate::location::{join_index, join_key};
use crate::model::{
    City, Deliverable, DeliverableKind, Digest, DigestEvery, Kpi, KpiMeasure, KpiTarget, OtherChannelRule, Partnership,
    PartnershipKind, ReplyFrom, Weekdays, WorkingHours,
};
use crate::parse::non_empty;
use crate::reader::{Scalar, Table, parse_duration};

/// The longest a reminder may come before its due time.
const MAX_REMIND: Duration = Duration::from_secs(366 * 86_400);

/// A partnership; `cities` (parsed before) give deliverable owners' time zones, and
/// `default_tz` stands in for an owner that is no city (reported by `validate`).
pub(super) fn partnership(
    diag: &mut Diag<'_>,
    mut t: Table<'_, '_>,
    cities: &[City],
    default_tz: chrono_tz::Tz,
) -> Partnership {
    let id = t.req_parsed(diag, "id", |s| check_id(s).map(|()| s.to_string()));
    let kind = t.req_parsed(diag, "kind", str::parse::<PartnershipKind>);
    let members = t.req_str_list(diag, "members").unwrap_or_default();
    let objective = t.req_parsed(diag, "objective", non_empty);
    let language = t.req_parsed(diag, "language", |s| check_language(s).map(|()| s.to_string()));
    let reply_within = t.req_parsed(diag, "reply_within", |s| {
        parse_duration(s).and_then(|d| if d.is_zero() { Err("must be longer than zero".to_string()) } else { Ok(d) })
    });
    let reply_from = t.opt_parsed(diag, "reply_from", str::parse::<ReplyFrom>);
    let on_other_channel = t.opt_parsed(diag, "on_other_channel", str::parse::<OtherChannelRule>);
    let channels_path = t.child("channels");
    let channels = t
        .req_str_map(diag, "channels")
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(city, channel)| match channel.parse::<Channel>() {
            Ok(Channel::Peer) => {
                diag.value_error(
                    &join_key(&channels_path, &city),
                    "a city does not agree on \"peer\": a city hosted by a peer instance (`peer = \"...\"` on the city) has its agreed channel on its home instance, and none here",
                );
                None
            }
            Ok(channel) => Some((city, channel)),
            Err(_) => {
                let agreed: Vec<&str> = crate::SPECS.iter().filter(|s| s.agreed).map(|s| s.channel.as_str()).collect();
                let (last, rest) = agreed.split_last().expect("some channel is agreed on");
                let message = format!("unknown channel `{channel}` (expected {} or {last})", rest.join(", "));
                diag.value_error(&join_key(&channels_path, &city), message);
                None
            }
        })
        .collect::<BTreeMap<_, _>>();
    let rooms_path = t.child("matrix_rooms");
    let matrix_rooms = t
        .opt_str_map(diag, "matrix_rooms")
        .unwrap_or_default()
        .into_iter()
        .filter(|(city, room)| {
            let ok = room.starts_with('!') && room.len() > 1 && !room.contains(char::is_whitespace);
            if !ok {
                diag.value_error(
                    &join_key(&rooms_path, city),
                    format!("{room:?} is not a Matrix room id (expected \"!opaque_id:server\")"),
                );
            }
            ok
        })
        .collect();
    let deliverables =
        t.table_array(diag, "deliverables").into_iter().map(|d| deliverable(diag, d, cities, default_tz)).collect();
    let digest = digest(diag, &mut t);
    let kpis = t.table_array(diag, "kpis").into_iter().map(|k| kpi(diag, k)).collect();
    t.finish(diag);
    let reply_from = reply_from.unwrap_or_else(|| ReplyFrom::default_for(members.len()));
    Partnership {
        id: id.unwrap_or_default(),
        kind: kind.unwrap_or(PartnershipKind::MultiCity),
        members,
        objective: objective.unwrap_or_default(),
        language: language.unwrap_or_default(),
        reply_within: reply_within.unwrap_or(Duration::from_secs(86_400)),
        reply_from,
        on_other_channel: on_other_channel.unwrap_or_default(),
        channels,
        matrix_rooms,
        deliverables,
        digest,
        kpis,
    }
}

/// A KPI: its `target` is read as its `measure` needs (a duration, a whole number or a share);
/// `member` is checked against the members by `validate`. One that does not parse is reported
/// and kept as a placeholder, so the indices of the others match the file.
fn kpi(diag: &mut Diag<'_>, mut t: Table<'_, '_>) -> Kpi {
    let measure = t.req_parsed(diag, "measure", str::parse::<KpiMeasure>);
    let target_path = t.child("target");
    let target = t.req_scalar(diag, "target");
    let member = t.opt_str(diag, "member");
    t.finish(diag);
    let placeholder = Kpi { measure: KpiMeasure::Messages, target: KpiTarget::Count(0), member: member.clone() };
    let (Some(measure), Some(target)) = (measure, target) else {
        return placeholder;
    };
    let checked = match (measure, target) {
        (m, Scalar::Text(text)) if m.is_duration() => parse_duration(&text).map(KpiTarget::Duration),
        (m, Scalar::Number { .. }) if m.is_duration() => {
            Err(format!("the target of {m} is a duration, such as \"3d\" or \"36h\""))
        }
        (m, Scalar::Number { value, .. }) if m.is_share() => {
            if (0.0..=1.0).contains(&value) {
                Ok(KpiTarget::Share(value))
            } else {
                Err(format!("the target of {m} is a share from 0 to 1 (0.9 is 90%), not {value}"))
            }
        }
        (m, Scalar::Number { value, integer }) => {
            if integer && value >= 0.0 {
                Ok(KpiTarget::Count(value as u64))
            } else {
                Err(format!("the target of {m} is a whole number of at least 0, not {value}"))
            }
        }
        (m, Scalar::Text(text)) => {
            let what = if m.is_share() { "a share from 0 to 1, such as 0.9" } else { "a whole number, such as 20" };
            Err(format!("the target of {m} is {what}, written without quotes, not {text:?}"))
        }
    };
    match checked {
        Ok(target) => Kpi { measure, target, member },
        Err(message) => {
            diag.value_error(&target_path, message);
            placeholder
        }
    }
}

/// `digest = "weekly" | "daily"` with `digest_day = "mon"` (weekly) and `digest_time = "09:00"`.
fn digest(diag: &mut Diag<'_>, t: &mut Table<'_, '_>) -> Option<Digest> {
    let every = t.opt_parsed(diag, "digest", str::parse::<DigestEvery>);
    let day_path = t.child("digest_day");
    let day = t.opt_parsed(diag, "digest_day", Weekdays::parse_day);
    let time_path = t.child("digest_time");
    let time_min = t.opt_parsed(diag, "digest_time", |s| {
        let hours = format!("{s}-24:00")
            .parse::<WorkingHours>()
            .map_err(|_| format!("{s:?} is not a time of day (expected \"HH:MM\", e.g. \"09:00\")"))?;
        Ok::<u16, String>(hours.start_min)
    });
    let Some(every) = every else {
        if day.is_some() {
            diag.value_error(&day_path, "needs `digest = \"weekly\"`");
        }
        if time_min.is_some() {
            diag.value_error(&time_path, "needs `digest = \"weekly\"` or `\"daily\"`");
        }
        return None;
    };
    if every == DigestEvery::Daily && day.is_some() {
        diag.value_error(&day_path, "a daily digest has no day: remove `digest_day`, or make it `digest = \"weekly\"`");
    }
    Some(Digest { every, day: day.unwrap_or(chrono::Weekday::Mon), time_min })
}

fn deliverable(diag: &mut Diag<'_>, mut t: Table<'_, '_>, cities: &[City], default_tz: chrono_tz::Tz) -> Deliverable {
    let id = t.opt_parsed(diag, "id", |s| check_id(s).map(|()| s.to_string()));
    let kind = t.opt_parsed(diag, "kind", str::parse::<DeliverableKind>);
    let title_path = t.child("title");
    let title = t.req_parsed(diag, "title", non_empty);
    let owner = t.req_str(diag, "owner").unwrap_or_default();
    let due_path = t.child("due");
    let due_as_written = t.req_when(diag, "due", parse_due);
    let remind = remind(diag, &mut t);
    let overdue_reminders = t.opt_int(diag, "overdue_reminders", 0, 100);
    t.finish(diag);

    let id = id.unwrap_or_else(|| {
        let slug = title.as_deref().map(slug).unwrap_or_default();
        if slug.is_empty() && title.is_some() {
            diag.value_error(
                &title_path,
                "an id cannot be made from this title (it has no ASCII letters or digits): add `id = \"...\"`",
            );
        }
        slug
    });
    let zone = cities.iter().find(|c| c.id == owner).map_or(default_tz, |c| c.timezone);
    let due = due_as_written.and_then(|d| {
        let due = d.resolve(zone);
        if due.is_none() {
            diag.value_error(&due_path, "this date is out of range");
        }
        due
    });
    Deliverable {
        id,
        kind: kind.unwrap_or_default(),
        title: title.unwrap_or_default(),
        owner,
        due: due.unwrap_or_default(),
        due_as_written: due_as_written.unwrap_or(crate::model::Due::Date(chrono::NaiveDate::MIN)),
        remind: remind.unwrap_or_else(|| Deliverable::DEFAULT_REMIND.to_vec()),
        overdue_reminders: overdue_reminders.map_or(Deliverable::DEFAULT_OVERDUE_REMINDERS, |n| n as u32),
    }
}

/// `remind = ["7d", "1d"]`: durations above zero and at most [`MAX_REMIND`], none twice;
/// longest first.
fn remind(diag: &mut Diag<'_>, t: &mut Table<'_, '_>) -> Option<Vec<Duration>> {
    let path = t.child("remind");
    let texts = t.opt_str_list(diag, "remind")?;
    let mut out: Vec<Duration> = Vec::with_capacity(texts.len());
    for (i, text) in texts.iter().enumerate() {
        let at = join_index(&path, i);
        if diag.has_error(&at) {
            continue;
        }
        let checked = parse_duration(text).and_then(|d| {
            if d.is_zero() {
                Err("must be longer than zero".to_string())
            } else if d > MAX_REMIND {
                Err("must be at most 366d".to_string())
            } else {
                Ok(d)
            }
        });
        match checked {
            Ok(d) if out.contains(&d) => diag.value_error(&at, format!("{text:?} is listed twice")),
            Ok(d) => out.push(d),
            Err(message) => diag.value_error(&at, message),
        }
    }
    out.sort_unstable_by(|a, b| b.cmp(a));
    Some(out)
}

/// The default id of a deliverable: ASCII letters and digits of `title` lowercased, every other
/// run of characters one `-`, none at either end, at most 64 characters (the longest id).
pub(crate) fn slug(title: &str) -> String {
    let mut out = String::with_capacity(title.len());
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(64);
    out.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn slugs() {
        assert_eq!(slug("Library exchange programme draft"), "library-exchange-programme-draft");
        assert_eq!(slug("  Q3 report: Hangzhou/Leeds (v2)! "), "q3-report-hangzhou-leeds-v2");
        assert_eq!(slug("Café — visite"), "caf-visite");
        assert_eq!(slug("图书馆交流"), "");
        assert_eq!(slug(&"a ".repeat(40)).len(), 63);
        assert!(crate::formats::check_id(&slug(&"word ".repeat(30))).is_ok());
    }
}
