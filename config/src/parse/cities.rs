//! `[[cities]]`, their `webhook`, working time and `[[cities.contacts]]`; or, for a city hosted
//! by a peer instance (`peer`), none of these.

use crate::diag::Diag;
use crate::formats::{check_country, check_email, check_http_url, check_id, check_matrix_user, check_topic};
use crate::model::{Bridge, City, CityKind, CityWebhook, Contact};
use crate::parse::{check_languages, non_empty};
use crate::reader::Table;

pub(super) fn city(diag: &mut Diag<'_>, mut t: Table<'_, '_>, bridge: &Bridge) -> City {
    let id = t.req_parsed(diag, "id", |s| check_id(s).map(|()| s.to_string()));
    let name = t.req_parsed(diag, "name", non_empty);
    let country = t.req_parsed(diag, "country", |s| check_country(s).map(|()| s.to_string()));
    let kind = t.opt_parsed(diag, "kind", str::parse::<CityKind>);
    let timezone = t.opt_parsed(diag, "timezone", super::bridge::parse_timezone);
    let languages = t.opt_str_list(diag, "languages").unwrap_or_default();
    check_languages(diag, &t.child("languages"), &languages);
    let peer_path = t.child("peer");
    let peer = t.opt_parsed(diag, "peer", |s| check_id(s).map(|()| s.to_string()));
    let webhook_path = t.child("webhook");
    let webhook = t.opt_table(diag, "webhook").and_then(|w| webhook(diag, w));
    let working = super::working::working_time(diag, &mut t, &bridge.working, true);
    let contacts_path = t.child("contacts");
    let contacts: Vec<Contact> =
        t.table_array(diag, "contacts").into_iter().map(|c| contact(diag, c, &languages)).collect();
    if let Some(peer) = &peer {
        // Hosted elsewhere: its home instance holds its contacts, endpoints and working time.
        let here = format!("a city hosted by peer {peer:?} has no contacts or endpoints here");
        for at in [&contacts_path, &webhook_path] {
            if diag.is_present(at) {
                diag.value_error(at, format!("{here} (its home instance holds them)"));
            }
        }
        for key in super::working::KEYS {
            let at = t.child(key);
            if diag.is_present(&at) && !diag.has_error_within(&at) {
                diag.value_error(
                    &at,
                    format!("a city hosted by peer {peer:?} has its working time on its home instance, which sends its reminders"),
                );
            }
        }
    } else if contacts.is_empty() && !diag.has_error(&contacts_path) && !diag.is_present(&peer_path) {
        let at = if diag.is_present(&contacts_path) { contacts_path.as_str() } else { t.path() };
        diag.value_error(at, "a city needs at least one nodal contact ([[cities.contacts]])");
    }
    t.finish(diag);
    City {
        id: id.unwrap_or_default(),
        name: name.unwrap_or_default(),
        country: country.unwrap_or_default(),
        kind: kind.unwrap_or_default(),
        timezone: timezone.unwrap_or(bridge.default_timezone),
        languages,
        webhook,
        contacts,
        working: if peer.is_some() { bridge.working.clone() } else { working },
        peer,
    }
}

fn webhook(diag: &mut Diag<'_>, mut t: Table<'_, '_>) -> Option<CityWebhook> {
    let url = t.req_parsed(diag, "url", |s| check_http_url(s).map(|()| s.to_string()));
    let secret = t.secret(diag, "secret", true);
    let previous_secret = t.secret(diag, "previous_secret", false);
    t.finish(diag);
    Some(CityWebhook { url: url?, secret: secret?, previous_secret })
}

fn contact(diag: &mut Diag<'_>, mut t: Table<'_, '_>, city_languages: &[String]) -> Contact {
    let id = t.req_parsed(diag, "id", |s| check_id(s).map(|()| s.to_string()));
    let name = t.req_parsed(diag, "name", non_empty);
    let role = t.req_parsed(diag, "role", non_empty);
    let languages = t.opt_str_list(diag, "languages");
    if let Some(languages) = &languages {
        check_languages(diag, &t.child("languages"), languages);
    }
    let topics = t.opt_str_list(diag, "topics").unwrap_or_default();
    check_topics(diag, &t.child("topics"), &topics);
    let email = t.opt_parsed(diag, "email", |s| check_email(s).map(|()| s.to_string()));
    let matrix = t.opt_parsed(diag, "matrix", |s| check_matrix_user(s).map(|()| s.to_string()));
    t.finish(diag);
    Contact {
        id: id.unwrap_or_default(),
        name: name.unwrap_or_default(),
        role: role.unwrap_or_default(),
        languages: languages.unwrap_or_else(|| city_languages.to_vec()),
        topics,
        email,
        matrix,
    }
}

/// Checks each topic of a contact's list at `path` (and that none is listed twice).
fn check_topics(diag: &mut Diag<'_>, path: &str, topics: &[String]) {
    for (i, topic) in topics.iter().enumerate() {
        let at = crate::location::join_index(path, i);
        if diag.has_error(&at) {
            continue;
        }
        if let Err(message) = check_topic(topic) {
            diag.value_error(&at, message);
        } else if topics[..i].contains(topic) {
            diag.value_error(&at, format!("{topic:?} is listed twice"));
        }
    }
}
