//! `[[partnerships]]` and their `[[partnerships.deliverables]]`.

use std::collections::BTreeMap;
use std::time::Duration;

use c2c_core::Channel;

use crate::diag::Diag;
use crate::formats::{check_id, check_language};
use crate::location::join_key;
use crate::model::{Deliverable, OtherChannelRule, Partnership, PartnershipKind};
use crate::parse::non_empty;
use crate::reader::{Table, parse_duration};

pub(super) fn partnership(diag: &mut Diag<'_>, mut t: Table<'_, '_>) -> Partnership {
    let id = t.req_parsed(diag, "id", |s| check_id(s).map(|()| s.to_string()));
    let kind = t.req_parsed(diag, "kind", str::parse::<PartnershipKind>);
    let members = t.req_str_list(diag, "members").unwrap_or_default();
    let objective = t.req_parsed(diag, "objective", non_empty);
    let language = t.req_parsed(diag, "language", |s| check_language(s).map(|()| s.to_string()));
    let reply_within = t.req_parsed(diag, "reply_within", |s| {
        parse_duration(s).and_then(|d| if d.is_zero() { Err("must be longer than zero".to_string()) } else { Ok(d) })
    });
    let on_other_channel = t.opt_parsed(diag, "on_other_channel", str::parse::<OtherChannelRule>);
    let channels_path = t.child("channels");
    let channels = t
        .req_str_map(diag, "channels")
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(city, channel)| match channel.parse::<Channel>() {
            Ok(channel) => Some((city, channel)),
            Err(message) => {
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
    let deliverables = t.table_array(diag, "deliverables").into_iter().map(|d| deliverable(diag, d)).collect();
    t.finish(diag);
    Partnership {
        id: id.unwrap_or_default(),
        kind: kind.unwrap_or(PartnershipKind::MultiCity),
        members,
        objective: objective.unwrap_or_default(),
        language: language.unwrap_or_default(),
        reply_within: reply_within.unwrap_or(Duration::from_secs(86_400)),
        on_other_channel: on_other_channel.unwrap_or_default(),
        channels,
        matrix_rooms,
        deliverables,
    }
}

fn deliverable(diag: &mut Diag<'_>, mut t: Table<'_, '_>) -> Deliverable {
    let title = t.req_parsed(diag, "title", non_empty);
    let owner = t.req_str(diag, "owner");
    let due = t.req_date(diag, "due");
    t.finish(diag);
    Deliverable { title: title.unwrap_or_default(), owner: owner.unwrap_or_default(), due: due.unwrap_or_default() }
}
