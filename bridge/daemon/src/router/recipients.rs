//! Who receives what, on which channel: the routing decisions, in one place.
//!
//! A post in a partnership goes to every *other* member's contacts on that member's agreed
//! channel: one endpoint per contact address on email, one portal room per member on Matrix,
//! one endpoint per city on webhooks. What the bridge says to an author goes back to the
//! endpoint the author wrote from.

use std::collections::HashSet;

use c2c_config::{Config, Endpoints, Partnership, SPECS, spec};
use c2c_core::{Author, Channel, Origin, Recipient};

/// The Matrix endpoint of a member: its configured room, or a portal key the Matrix connector
/// resolves to the room it created (`portal:PARTNERSHIP:CITY`).
pub fn matrix_address(partnership: &Partnership, city: &str) -> String {
    match &spec(Channel::Matrix).endpoints {
        Endpoints::PerMember { rooms, .. } => partnership.room_of(rooms, city),
        _ => unreachable!("Matrix has a room per member"),
    }
}

/// Every recipient endpoint of a post by a contact of `author_city`, in a stable order
/// (members in config order, then contacts in config order; then one per instance hosting
/// other members, in the order of the first member each hosts).
pub fn recipients(config: &Config, partnership: &Partnership, author_city: &str) -> Vec<Recipient> {
    let others = || partnership.members.iter().filter(|m| *m != author_city);
    let mut out: Vec<Recipient> = others().flat_map(|m| member_endpoints(config, partnership, m)).collect();
    for member in others() {
        if let Some(host) = host_endpoint(config, member)
            && !out.iter().any(|r| r.channel == host.channel && r.address == host.address)
        {
            out.push(host);
        }
    }
    out
}

/// Whether `city` is hosted by this instance (not by a peer). What the bridge says to a city
/// hosted elsewhere (reminders, notices), its home instance says, in its working hours.
pub fn hosted_here(config: &Config, city: &str) -> bool {
    host_endpoint(config, city).is_none()
}

/// The endpoint of the instance hosting `member`, when another instance does.
fn host_endpoint(config: &Config, member: &str) -> Option<Recipient> {
    let city = config.city(member)?;
    SPECS.iter().find_map(|spec| match &spec.endpoints {
        Endpoints::PerHost { key } => city.host(key).map(|host| Recipient {
            city: member.to_string(),
            contact: None,
            channel: spec.channel,
            address: host.to_string(),
        }),
        _ => None,
    })
}

/// The endpoints of one member's contacts on its agreed channel (what the bridge says to a
/// member, such as a reminder, goes there too).
pub fn member_endpoints(config: &Config, partnership: &Partnership, member: &str) -> Vec<Recipient> {
    let (Some(channel), Some(city)) = (partnership.channel_of(member), config.city(member)) else {
        return Vec::new();
    };
    let one = |address: String| vec![Recipient { city: member.to_string(), contact: None, channel, address }];
    match &spec(channel).endpoints {
        Endpoints::PerCity { .. } => one(member.to_string()),
        Endpoints::PerMember { rooms, .. } => one(partnership.room_of(rooms, member)),
        // Not agreed on: a member hosted elsewhere has no agreed channel here.
        Endpoints::PerHost { .. } => Vec::new(),
        Endpoints::PerContact(key) => city
            .contacts
            .iter()
            .filter_map(|contact| {
                contact.endpoint(key.key).map(|address| Recipient {
                    city: member.to_string(),
                    contact: Some(contact.id.clone()),
                    channel,
                    address: address.to_string(),
                })
            })
            .collect(),
    }
}

/// The key ([`Recipient::endpoint_key`]) of every endpoint the config routes to: each webhook
/// city, each contact's email address, each Matrix member's room or portal. Metrics label
/// endpoints only from this set, so their number is bounded by the config.
pub fn configured_endpoints(config: &Config) -> HashSet<String> {
    let mut out = HashSet::new();
    for spec in &SPECS {
        let channel = spec.channel;
        match &spec.endpoints {
            Endpoints::PerCity { key, .. } => {
                out.extend(config.cities.iter().filter(|c| c.has_endpoint(key)).map(|c| format!("{channel}:{}", c.id)));
            }
            Endpoints::PerContact(key) => {
                let contacts = config.cities.iter().flat_map(|c| &c.contacts);
                out.extend(contacts.filter_map(|c| c.endpoint(key.key)).map(|a| format!("{channel}:{a}")));
            }
            Endpoints::PerHost { key } => {
                out.extend(config.cities.iter().filter_map(|c| c.host(key)).map(|h| format!("{channel}:{h}")));
            }
            Endpoints::PerMember { rooms, .. } => {
                for p in &config.partnerships {
                    let on_it = p.members.iter().filter(|m| p.channel_of(m) == Some(channel));
                    out.extend(on_it.map(|m| format!("{channel}:{}", p.room_of(rooms, m))));
                }
            }
        }
    }
    out
}

/// The endpoint to answer an author on: the one their message came from. None for an author
/// hosted by another instance: their home instance answers them.
pub fn reply_endpoint(config: &Config, author: &Author, origin: &Origin) -> Option<Recipient> {
    let address = match &spec(origin.channel).endpoints {
        Endpoints::PerHost { .. } => return None,
        Endpoints::PerCity { .. } => origin.city.clone().unwrap_or_else(|| author.city.clone()),
        Endpoints::PerMember { .. } => origin.address.clone(),
        Endpoints::PerContact(key) => config.contact(&author.contact)?.1.endpoint(key.key)?.to_string(),
    };
    Some(Recipient {
        city: author.city.clone(),
        contact: Some(author.contact.clone()),
        channel: origin.channel,
        address,
    })
}
