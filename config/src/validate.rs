//! Semantic checks across sections, run over whatever parsed: unique ids and endpoints,
//! partnership members, kinds, agreed channels and the endpoints they need, rooms, deliverables
//! (owners, unique ids), KPIs (members, none twice).

use std::collections::{BTreeMap, HashMap};

use c2c_core::Channel;

use crate::channels::{ChannelSpec, Endpoints, SPECS, spec};
use crate::config::Config;
use crate::diag::Diag;
use crate::location::{join_index, join_key};
use crate::model::{City, CityKind, KpiMeasure, Partnership, PartnershipKind};

/// Runs every cross-section check, reporting into `diag`. Values whose own parse already
/// failed are skipped, so one mistake is reported once.
pub(crate) fn validate(config: &Config, diag: &mut Diag<'_>) {
    unique_ids(config, diag);
    unique_endpoints(config, diag);
    let mut missing_endpoints = BTreeMap::new();
    for (p, partnership) in config.partnerships.iter().enumerate() {
        let path = join_index("partnerships", p);
        let members = members(config, partnership, &path, diag);
        kind(partnership, &members, &path, diag);
        channels(config, partnership, &members, &path, diag, &mut missing_endpoints);
        matrix_rooms(partnership, &members, &path, diag);
        deliverables(partnership, &members, &path, diag);
        deliverable_ids(partnership, &path, diag);
        kpis(partnership, &members, &path, diag);
    }
    report_missing_endpoints(config, missing_endpoints, diag);
}

fn city_path(c: usize) -> String {
    join_index("cities", c)
}

fn contact_path(c: usize, k: usize) -> String {
    join_index(&join_key(&city_path(c), "contacts"), k)
}

/// Reports the second and later uses of one value; `key` normalises the value (or skips it).
fn duplicates<'v>(
    diag: &mut Diag<'_>,
    what: &str,
    items: impl IntoIterator<Item = (String, &'v str)>,
    key: impl Fn(&str) -> Option<String>,
) {
    let mut first: HashMap<String, usize> = HashMap::new();
    for (path, value) in items {
        if diag.has_error(&path) {
            continue;
        }
        let Some(normal) = key(value) else { continue };
        match first.get(&normal) {
            Some(line) => {
                let message = format!("duplicate {what} {value:?} (first used on line {line})");
                diag.value_error(&path, message);
            }
            None => {
                first.insert(normal, diag.value_at(&path).line);
            }
        }
    }
}

fn non_empty(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_string())
}

fn unique_ids(config: &Config, diag: &mut Diag<'_>) {
    let cities = config.cities.iter().enumerate().map(|(c, city)| (join_key(&city_path(c), "id"), city.id.as_str()));
    duplicates(diag, "city id", cities, non_empty);
    let contacts = config.cities.iter().enumerate().flat_map(|(c, city)| {
        city.contacts
            .iter()
            .enumerate()
            .map(move |(k, contact)| (join_key(&contact_path(c, k), "id"), contact.id.as_str()))
    });
    duplicates(diag, "contact id", contacts, non_empty);
    let partnerships = config
        .partnerships
        .iter()
        .enumerate()
        .map(|(p, ps)| (join_key(&join_index("partnerships", p), "id"), ps.id.as_str()));
    duplicates(diag, "partnership id", partnerships, non_empty);
}

fn unique_endpoints(config: &Config, diag: &mut Diag<'_>) {
    for key in SPECS.iter().filter_map(ChannelSpec::contact_key) {
        let addresses = config.cities.iter().enumerate().flat_map(|(c, city)| {
            city.contacts.iter().enumerate().filter_map(move |(k, contact)| {
                let address = contact.endpoint(key.key)?;
                Some((join_key(&contact_path(c, k), key.key), address))
            })
        });
        let normal = |a: &str| Some(if key.fold_case { a.to_lowercase() } else { a.to_string() });
        duplicates(diag, key.noun, addresses, normal);
    }

    // A contact must not be the bridge itself: its own mail or Matrix traffic would loop.
    for (c, city) in config.cities.iter().enumerate() {
        for (k, contact) in city.contacts.iter().enumerate() {
            let path = contact_path(c, k);
            for spec in &SPECS {
                if let (Some(key), Some(own)) = (spec.contact_key(), config.connectors.own_address(spec.channel))
                    && contact.endpoint(key.key).is_some_and(|a| key.same(a, own))
                {
                    diag.value_error(&join_key(&path, key.key), key.own);
                }
            }
        }
    }
}

/// The members that exist, and whether the member list is sound (no unknown, duplicate or
/// unreadable member, at least two): kind checks only run on a sound list, so that they don't
/// pile onto those errors.
struct Members<'c> {
    cities: Vec<(usize, &'c City)>,
    sound: bool,
    /// False when the list itself did not parse (missing, or an element of the wrong type):
    /// then "is not a member" checks elsewhere stay quiet.
    readable: bool,
}

/// Checks the member list.
fn members<'c>(config: &'c Config, partnership: &Partnership, path: &str, diag: &mut Diag<'_>) -> Members<'c> {
    let members_path = join_key(path, "members");
    if diag.has_error_within(&members_path) {
        return Members { cities: Vec::new(), sound: false, readable: false };
    }
    let mut resolved = Vec::new();
    let mut complete = true;
    for (i, member) in partnership.members.iter().enumerate() {
        let at = join_index(&members_path, i);
        if diag.has_error(&at) {
            complete = false;
        } else if partnership.members[..i].contains(member) {
            diag.value_error(&at, format!("{member:?} is listed twice"));
            complete = false;
        } else if let Some(c) = config.cities.iter().position(|city| city.id == *member) {
            resolved.push((c, &config.cities[c]));
        } else {
            diag.value_error(&at, format!("no city with id {member:?}"));
            complete = false;
        }
    }
    if partnership.members.len() < 2 {
        diag.value_error(&members_path, "a partnership needs at least two members");
        complete = false;
    }
    Members { cities: resolved, sound: complete, readable: true }
}

fn kind(partnership: &Partnership, members: &Members<'_>, path: &str, diag: &mut Diag<'_>) {
    let kind_path = join_key(path, "kind");
    if !members.sound || diag.has_error(&kind_path) {
        return;
    }
    let of_kind = |kind: CityKind| -> Vec<&str> {
        members.cities.iter().filter(|(_, c)| c.kind == kind).map(|(_, c)| c.id.as_str()).collect()
    };
    let lgas = of_kind(CityKind::Lga);
    let cities = of_kind(CityKind::City);
    let count = members.cities.len();
    let problem = match partnership.kind {
        PartnershipKind::CityCity if count != 2 => Some(format!(
            "a city-city partnership has exactly 2 members, this one has {count} (use kind = \
             \"multi-city\")"
        )),
        PartnershipKind::CityCity if !lgas.is_empty() => Some(format!(
            "a city-city partnership is between two cities, but {} of kind \"lga\" (use kind = \
             \"{}\")",
            listing(&lgas),
            if cities.is_empty() { "lga-lga" } else { "city-lga" }
        )),
        PartnershipKind::CityLga if lgas.len() != 1 || cities.is_empty() => Some(format!(
            "a city-lga partnership has exactly one member of kind \"lga\" and at least one of \
             kind \"city\"; this one has {} of kind \"lga\" and {} of kind \"city\"",
            lgas.len(),
            cities.len()
        )),
        PartnershipKind::LgaLga if !cities.is_empty() => {
            Some(format!("an lga-lga partnership is between LGAs only, but {} of kind \"city\"", listing(&cities)))
        }
        _ => None,
    };
    if let Some(problem) = problem {
        diag.value_error(&kind_path, problem);
    }
}

/// `"a" is` / `"a" and "b" are`.
fn listing(ids: &[&str]) -> String {
    let quoted: Vec<String> = ids.iter().map(|id| format!("{id:?}")).collect();
    match quoted.as_slice() {
        [one] => format!("{one} is"),
        [rest @ .., last] => format!("{} and {last} are", rest.join(", ")),
        [] => String::new(),
    }
}

/// (city index, contact index, channel) → partnerships whose agreed channel needs an endpoint
/// the contact lacks.
type MissingEndpoints = BTreeMap<(usize, usize, Channel), Vec<String>>;

fn channels(
    config: &Config,
    partnership: &Partnership,
    members: &Members<'_>,
    path: &str,
    diag: &mut Diag<'_>,
    missing_endpoints: &mut MissingEndpoints,
) {
    let channels_path = join_key(path, "channels");
    if diag.has_error(&channels_path) {
        return;
    }
    for city in partnership.channels.keys() {
        if members.readable && !partnership.has_member(city) {
            diag.key_error(&join_key(&channels_path, city), format!("{city:?} is not a member of this partnership"));
        }
    }
    let members_path = join_key(path, "members");
    for (i, member) in partnership.members.iter().enumerate() {
        if members.readable
            && !diag.has_error(&join_index(&members_path, i))
            && !partnership.channels.contains_key(member)
            && !diag.has_error(&join_key(&channels_path, member))
        {
            diag.value_error(
                &channels_path,
                format!("no agreed channel for member {member:?} (add {member} = {})", channel_words()),
            );
        }
    }
    for &(c, city) in &members.cities {
        let Some(channel) = partnership.channel_of(&city.id) else {
            continue;
        };
        let at = join_key(&channels_path, &city.id);
        if !config.connectors.has(channel) {
            diag.value_error(&at, format!("{channel} is agreed here, but [connectors.{channel}] is not configured"));
        }
        match &spec(channel).endpoints {
            Endpoints::PerCity { key, example } => {
                if !city.has_endpoint(key) && !diag.has_error_within(&join_key(&city_path(c), key)) {
                    diag.value_error(
                        &at,
                        format!("{channel} is agreed here, but city {:?} has no `{key} = {example}`", city.id),
                    );
                }
            }
            Endpoints::PerContact(key) | Endpoints::PerMember { invite: key, .. } => {
                for (k, contact) in city.contacts.iter().enumerate() {
                    if contact.endpoint(key.key).is_none() && !diag.has_error(&join_key(&contact_path(c, k), key.key)) {
                        missing_endpoints.entry((c, k, channel)).or_default().push(partnership.id.clone());
                    }
                }
            }
        }
    }
}

fn report_missing_endpoints(config: &Config, missing: MissingEndpoints, diag: &mut Diag<'_>) {
    for ((c, k, channel), partnerships) in missing {
        let city = &config.cities[c];
        let contact = &city.contacts[k];
        let quoted: Vec<String> = partnerships.iter().map(|p| format!("{p:?}")).collect();
        let (noun, list) = match quoted.as_slice() {
            [one] => ("partnership", one.clone()),
            _ => ("partnerships", quoted.join(", ")),
        };
        let key = spec(channel).contact_key().map_or("", |k| k.key);
        diag.value_error(
            &contact_path(c, k),
            format!(
                "contact {:?} has no `{key}`, but city {:?} agreed on {channel} in {noun} {list}",
                contact.id, city.id
            ),
        );
    }
}

fn matrix_rooms(partnership: &Partnership, members: &Members<'_>, path: &str, diag: &mut Diag<'_>) {
    let rooms_path = join_key(path, "matrix_rooms");
    if !members.readable {
        return;
    }
    for city in partnership.matrix_rooms.keys() {
        let at = join_key(&rooms_path, city);
        if !partnership.has_member(city) {
            diag.key_error(&at, format!("{city:?} is not a member of this partnership"));
        } else if let Some(channel) = partnership.channel_of(city)
            && channel != Channel::Matrix
        {
            diag.key_error(&at, format!("{city:?}'s agreed channel is {channel}, so it has no Matrix room"));
        }
    }
}

fn deliverables(partnership: &Partnership, members: &Members<'_>, path: &str, diag: &mut Diag<'_>) {
    if !members.readable {
        return;
    }
    for (d, deliverable) in partnership.deliverables.iter().enumerate() {
        let at = join_key(&join_index(&join_key(path, "deliverables"), d), "owner");
        if diag.has_error(&at) || !diag.is_present(&at) {
            continue;
        }
        if !partnership.has_member(&deliverable.owner) {
            diag.value_error(
                &at,
                format!("the owner must be a member of this partnership; {:?} is not", deliverable.owner),
            );
        }
    }
}

/// A KPI's member is a member of the partnership, and no KPI is declared twice (one measure
/// for one member, or for the whole partnership, has one target).
fn kpis(partnership: &Partnership, members: &Members<'_>, path: &str, diag: &mut Diag<'_>) {
    let mut first: HashMap<(KpiMeasure, Option<&str>), usize> = HashMap::new();
    for (k, kpi) in partnership.kpis.iter().enumerate() {
        let at = join_index(&join_key(path, "kpis"), k);
        let member_path = join_key(&at, "member");
        if let Some(member) = &kpi.member
            && members.readable
            && !diag.has_error(&member_path)
            && !partnership.has_member(member)
        {
            diag.value_error(&member_path, format!("{member:?} is not a member of this partnership"));
            continue;
        }
        if diag.has_error_within(&at) {
            continue;
        }
        let key = (kpi.measure, kpi.member.as_deref());
        match first.get(&key) {
            Some(line) => {
                let whom = kpi.member.as_deref().map_or("the partnership".to_string(), |m| format!("{m:?}"));
                diag.value_error(
                    &join_key(&at, "measure"),
                    format!("{} is already a KPI for {whom} (line {line})", kpi.measure),
                );
            }
            None => {
                first.insert(key, diag.value_at(&at).line);
            }
        }
    }
}

/// Deliverable ids are unique within their partnership (`/done ID` names one). An id made from
/// the title is reported at the title, with the way out.
fn deliverable_ids(partnership: &Partnership, path: &str, diag: &mut Diag<'_>) {
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (d, deliverable) in partnership.deliverables.iter().enumerate() {
        let at = join_index(&join_key(path, "deliverables"), d);
        let id_path = join_key(&at, "id");
        if deliverable.id.is_empty() || diag.has_error(&id_path) {
            continue;
        }
        let given = diag.is_present(&id_path);
        let Some(&line) = first.get(deliverable.id.as_str()) else {
            first.insert(&deliverable.id, diag.value_at(if given { &id_path } else { &at }).line);
            continue;
        };
        if given {
            diag.value_error(
                &id_path,
                format!("duplicate deliverable id {:?} (first used on line {line})", deliverable.id),
            );
        } else {
            diag.value_error(
                &join_key(&at, "title"),
                format!(
                    "this title gives the id {:?}, already used on line {line}: add `id = \"...\"`",
                    deliverable.id
                ),
            );
        }
    }
}

/// `"email", "matrix" or "webhook"`: every channel, as a config value.
fn channel_words() -> String {
    let quoted: Vec<String> = Channel::ALL.iter().map(|c| format!("\"{c}\"")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}
