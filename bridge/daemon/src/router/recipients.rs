//! Who receives what, on which channel: the routing decisions, in one place.
//!
//! A post in a partnership goes to every *other* member's contacts on that member's agreed
//! channel: one endpoint per contact address on email, one portal room per member on Matrix,
//! one endpoint per city on webhooks. What the bridge says to an author goes back to the
//! endpoint the author wrote from.

use std::collections::HashSet;

use c2c_config::{Config, Partnership};
use c2c_core::{Author, Channel, Origin, Recipient};

/// The Matrix endpoint of a member: its configured room, or a portal key the Matrix connector
/// resolves to the room it created (`portal:PARTNERSHIP:CITY`).
pub fn matrix_address(partnership: &Partnership, city: &str) -> String {
    partnership.matrix_rooms.get(city).cloned().unwrap_or_else(|| format!("portal:{}:{}", partnership.id, city))
}

/// Every recipient endpoint of a post by a contact of `author_city`, in a stable order
/// (members in config order, then contacts in config order).
pub fn recipients(config: &Config, partnership: &Partnership, author_city: &str) -> Vec<Recipient> {
    partnership
        .members
        .iter()
        .filter(|m| *m != author_city)
        .flat_map(|m| member_endpoints(config, partnership, m))
        .collect()
}

/// The endpoints of one member's contacts on its agreed channel (what the bridge says to a
/// member, such as a reminder, goes there too).
pub fn member_endpoints(config: &Config, partnership: &Partnership, member: &str) -> Vec<Recipient> {
    let (Some(channel), Some(city)) = (partnership.channel_of(member), config.city(member)) else {
        return Vec::new();
    };
    let one = |address: String| vec![Recipient { city: member.to_string(), contact: None, channel, address }];
    match channel {
        Channel::Webhook => one(member.to_string()),
        Channel::Matrix => one(matrix_address(partnership, member)),
        Channel::Email => city
            .contacts
            .iter()
            .filter_map(|contact| {
                contact.email.as_ref().map(|email| Recipient {
                    city: member.to_string(),
                    contact: Some(contact.id.clone()),
                    channel,
                    address: email.clone(),
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
    for city in &config.cities {
        if city.webhook.is_some() {
            out.insert(format!("{}:{}", Channel::Webhook, city.id));
        }
        for contact in &city.contacts {
            if let Some(email) = &contact.email {
                out.insert(format!("{}:{email}", Channel::Email));
            }
        }
    }
    for p in &config.partnerships {
        for member in &p.members {
            if p.channel_of(member) == Some(Channel::Matrix) {
                out.insert(format!("{}:{}", Channel::Matrix, matrix_address(p, member)));
            }
        }
    }
    out
}

/// The endpoint to answer an author on: the one their message came from.
pub fn reply_endpoint(config: &Config, author: &Author, origin: &Origin) -> Option<Recipient> {
    let address = match origin.channel {
        Channel::Webhook => origin.city.clone().unwrap_or_else(|| author.city.clone()),
        Channel::Matrix => origin.address.clone(),
        Channel::Email => config.contact(&author.contact)?.1.email.clone()?,
    };
    Some(Recipient {
        city: author.city.clone(),
        contact: Some(author.contact.clone()),
        channel: origin.channel,
        address,
    })
}
