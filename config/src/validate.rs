//! Semantic checks across sections, run over whatever parsed: unique ids and endpoints, peers
//! (what federating needs, unique ids, urls and keys) and the cities they host, partnership
//! members (at least one hosted here), kinds, agreed channels (of members hosted here) and the
//! endpoints they need, rooms, deliverables (owners, unique ids), KPIs (members, none twice).

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
    peers(config, diag);
    hosted_cities(config, diag);
    let mut missing_endpoints = BTreeMap::new();
    for (p, partnership) in config.partnerships.iter().enumerate() {
        let path = join_index("partnerships", p);
        let members = members(config, partnership, &path, diag);
        kind(partnership, &members, &path, diag);
        channels(config, partnership, &members, &path, diag, &mut missing_endpoints);
        matrix_rooms(config, partnership, &members, &path, diag);
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

fn peer_path(p: usize) -> String {
    join_index("peers", p)
}

/// `[[peers]]` need this instance's id and its signing key; each peer once (by id and by url),
/// never this instance itself, and a key pinned for one peer only.
fn peers(config: &Config, diag: &mut Diag<'_>) {
    if config.peers.is_empty() {
        return;
    }
    let own_id_written = ["bridge.instance", "bridge.instance_id"].iter().any(|p| diag.is_present(p));
    if config.bridge.instance.is_none() && !own_id_written {
        diag.value_error(
            &peer_path(0),
            "a peer needs this instance's own id: add `instance = \"...\"` to [bridge] (the id its peers know it by)",
        );
    }
    if !diag.is_present("federation") {
        diag.value_error(
            &peer_path(0),
            "a peer needs this instance's signing key: add [federation] with `key_file = \"...\"` (made by \
             `c2c-bridge peer keygen`)",
        );
    }
    let ids = config.peers.iter().enumerate().map(|(p, peer)| (join_key(&peer_path(p), "id"), peer.id.as_str()));
    duplicates(diag, "peer id", ids, non_empty);
    let urls = config.peers.iter().enumerate().map(|(p, peer)| (join_key(&peer_path(p), "url"), peer.url.as_str()));
    // Scheme and host compare case-insensitively, the path exactly.
    let same_url = |url: &str| {
        let (scheme, rest) = url.split_once("://")?;
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        Some(format!("{}://{}{path}", scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
    };
    duplicates(diag, "peer url", urls, same_url);
    if let Some(own) = &config.bridge.instance {
        for (p, peer) in config.peers.iter().enumerate() {
            let at = join_key(&peer_path(p), "id");
            if peer.id == *own && !diag.has_error(&at) {
                diag.value_error(
                    &at,
                    format!("{own:?} is this instance's own id ([bridge] instance); a peer is another instance"),
                );
            }
        }
    }
    // One key pinned for two peers would let either speak for the other's cities.
    let mut pinned: HashMap<&str, (&str, usize)> = HashMap::new();
    for (p, peer) in config.peers.iter().enumerate() {
        let keys_path = join_key(&peer_path(p), "public_keys");
        for (k, key) in peer.public_keys.iter().enumerate() {
            let at = join_index(&keys_path, k);
            if diag.has_error(&at) {
                continue;
            }
            match pinned.get(key.as_str()) {
                Some(&(other, line)) if other != peer.id => diag.value_error(
                    &at,
                    format!("this key is already pinned for peer {other:?} (line {line}); each instance signs with its own key"),
                ),
                Some(_) => {}
                None => {
                    pinned.insert(key, (&peer.id, diag.value_at(&at).line));
                }
            }
        }
    }
}

/// A city's `peer` names a declared peer.
fn hosted_cities(config: &Config, diag: &mut Diag<'_>) {
    for (c, city) in config.cities.iter().enumerate() {
        let Some(peer) = &city.peer else { continue };
        let at = join_key(&city_path(c), "peer");
        if !diag.has_error(&at) && config.peer(peer).is_none() {
            diag.value_error(&at, format!("no peer with id {peer:?} (declare it in [[peers]])"));
        }
    }
}

/// True when city `id` is hosted by a peer, or says so in a `peer` that did not parse (so that
/// it is not also asked for what only a city hosted here has).
fn hosted_elsewhere(config: &Config, id: &str, diag: &Diag<'_>) -> bool {
    config
        .cities
        .iter()
        .enumerate()
        .any(|(c, city)| city.id == id && (city.is_remote() || diag.has_error(&join_key(&city_path(c), "peer"))))
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
    if complete && resolved.iter().all(|(_, city)| city.is_remote()) {
        diag.value_error(
            &members_path,
            "every member is hosted by a peer: at least one member must be hosted here (a partnership \
             spanning instances is declared on each instance that hosts a member)",
        );
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
            && !hosted_elsewhere(config, member, diag)
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
        if let Some(peer) = &city.peer {
            diag.key_error(
                &at,
                format!("{:?} is hosted by peer {peer:?}: its agreed channel is set on its home instance", city.id),
            );
            continue;
        }
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
            // Not agreed on (see `ChannelSpec::agreed`).
            Endpoints::PerHost { .. } => {}
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

fn matrix_rooms(config: &Config, partnership: &Partnership, members: &Members<'_>, path: &str, diag: &mut Diag<'_>) {
    let rooms_path = join_key(path, "matrix_rooms");
    if !members.readable {
        return;
    }
    for city in partnership.matrix_rooms.keys() {
        let at = join_key(&rooms_path, city);
        if !partnership.has_member(city) {
            diag.key_error(&at, format!("{city:?} is not a member of this partnership"));
        } else if let Some(peer) = config.city(city).and_then(|c| c.peer.as_deref()) {
            diag.key_error(&at, format!("{city:?} is hosted by peer {peer:?}, so it has no Matrix room here"));
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
    let quoted: Vec<String> = SPECS.iter().filter(|s| s.agreed).map(|s| format!("\"{}\"", s.channel)).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}
