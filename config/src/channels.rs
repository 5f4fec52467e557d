//! What an endpoint is on each channel, as the config declares it: one row per channel.
//!
//! The config's checks (a member's agreed channel needs its endpoints), sender identification
//! and the router's recipients all read this table instead of matching on channels, so a
//! channel's shape is said once, here. The connector crates know their protocols; this knows
//! only which config keys name an endpoint and how addresses compare.

use c2c_core::Channel;

use crate::config::Config;
use crate::model::{City, Connectors, Contact, Partnership};

/// One channel's endpoints and senders.
#[derive(Debug)]
pub struct ChannelSpec {
    pub channel: Channel,
    pub endpoints: Endpoints,
    pub sender: Sender,
    /// Whether an endpoint belongs to one city, so that a contact of another city writing on
    /// it is refused (`other_city`). A Matrix portal room does not: officers of the
    /// partnership's other members may be in it (invited by a colleague).
    pub endpoint_binds_city: bool,
    /// Whether a city may agree on it in a partnership's `channels` (a peer is not agreed on).
    pub agreed: bool,
}

/// Where a member's posts go on a channel.
#[derive(Debug)]
pub enum Endpoints {
    /// One per contact: its address under `key` (email: each contact's `email`).
    PerContact(ContactKey),
    /// One per city: the city's `key` table (webhook: `webhook = { url, secret_env }`); the
    /// endpoint's address is the city id.
    PerCity {
        key: &'static str,
        /// How the key is written, for a message saying it is missing.
        example: &'static str,
    },
    /// One room per (partnership, member): the partnership's `rooms` entry for the member, or
    /// a portal room the connector makes (`portal:PARTNERSHIP:CITY`); the member's contacts
    /// are invited by their `invite` address (Matrix: `matrix_rooms`, each contact's `matrix`).
    PerMember { rooms: &'static str, invite: ContactKey },
    /// One per instance hosting members: a city's `key` names the instance that hosts it
    /// (`peer = "ID"`), and that id is the endpoint's address. The members one instance hosts
    /// share its endpoint: it routes to its own cities.
    PerHost { key: &'static str },
}

/// A contact's address on a channel.
#[derive(Debug)]
pub struct ContactKey {
    /// The contact's key in the config (`email`, `matrix`).
    pub key: &'static str,
    /// What one is called in messages ("email address", "Matrix id").
    pub noun: &'static str,
    /// Whether addresses compare case-insensitively (email) or exactly (Matrix ids).
    pub fold_case: bool,
    /// What a contact with the bridge's own address is told (its traffic would loop).
    pub own: &'static str,
}

impl ContactKey {
    /// Whether `a` and `b` are the same address.
    pub fn same(&self, a: &str, b: &str) -> bool {
        if self.fold_case { a.trim().eq_ignore_ascii_case(b.trim()) } else { a == b }
    }
}

/// How the sender of a post is named.
#[derive(Debug)]
pub enum Sender {
    /// By its contact id (a city's system signs the post: webhooks).
    ContactId,
    /// By its address on the channel (the endpoints' or the invitees' [`ContactKey`]).
    Address,
    /// Never here: its posts come as replicas, their authors named by their home instance.
    HomeInstance,
}

const EMAIL: ContactKey = ContactKey {
    key: "email",
    noun: "email address",
    fold_case: true,
    own: "this is the bridge's own address ([connectors.email] address)",
};
const MATRIX: ContactKey = ContactKey {
    key: "matrix",
    noun: "Matrix id",
    fold_case: false,
    own: "this is the bridge's own Matrix user ([connectors.matrix] user)",
};

/// Every channel's row, in [`Channel::ALL`]'s order.
pub static SPECS: [ChannelSpec; 4] = [
    ChannelSpec {
        channel: Channel::Email,
        endpoints: Endpoints::PerContact(EMAIL),
        sender: Sender::Address,
        endpoint_binds_city: true,
        agreed: true,
    },
    ChannelSpec {
        channel: Channel::Matrix,
        endpoints: Endpoints::PerMember { rooms: "matrix_rooms", invite: MATRIX },
        sender: Sender::Address,
        endpoint_binds_city: false,
        agreed: true,
    },
    ChannelSpec {
        channel: Channel::Webhook,
        endpoints: Endpoints::PerCity { key: "webhook", example: "{ url = ..., secret_env = ... }" },
        sender: Sender::ContactId,
        endpoint_binds_city: true,
        agreed: true,
    },
    // The instance hosting a city (`peer = "..."`).
    ChannelSpec {
        channel: Channel::Peer,
        endpoints: Endpoints::PerHost { key: "peer" },
        sender: Sender::HomeInstance,
        endpoint_binds_city: true,
        agreed: false,
    },
];

/// The row of `channel`.
pub fn spec(channel: Channel) -> &'static ChannelSpec {
    SPECS.iter().find(|s| s.channel == channel).expect("every channel has a row in SPECS")
}

impl ChannelSpec {
    /// The contacts' address on this channel, if contacts have one (email, Matrix).
    pub fn contact_key(&self) -> Option<&ContactKey> {
        match &self.endpoints {
            Endpoints::PerContact(key) | Endpoints::PerMember { invite: key, .. } => Some(key),
            Endpoints::PerCity { .. } | Endpoints::PerHost { .. } => None,
        }
    }
}

impl Contact {
    /// The contact's address under config key `key` (`email`, `matrix`).
    pub fn endpoint(&self, key: &str) -> Option<&str> {
        match key {
            "email" => self.email.as_deref(),
            "matrix" => self.matrix.as_deref(),
            _ => None,
        }
    }
}

impl City {
    /// Whether the city has its own endpoint table `key` (`webhook`).
    pub fn has_endpoint(&self, key: &str) -> bool {
        match key {
            "webhook" => self.webhook.is_some(),
            _ => false,
        }
    }

    /// The instance hosting the city under config key `key` (`peer`), if it is not hosted here.
    pub fn host(&self, key: &str) -> Option<&str> {
        match key {
            "peer" => self.peer.as_deref(),
            _ => None,
        }
    }
}

impl Partnership {
    /// The room of member `city` on a per-member channel: its entry in the partnership's
    /// `rooms` table, or the portal the connector makes.
    pub fn room_of(&self, rooms: &str, city: &str) -> String {
        let configured = match rooms {
            "matrix_rooms" => self.matrix_rooms.get(city),
            _ => None,
        };
        configured.cloned().unwrap_or_else(|| format!("portal:{}:{}", self.id, city))
    }
}

impl Connectors {
    /// The bridge's own address on `channel`, where it has one (a contact must not share it).
    pub fn own_address(&self, channel: Channel) -> Option<&str> {
        match channel {
            Channel::Email => self.email.as_ref().map(|e| e.address.as_str()),
            Channel::Matrix => self.matrix.as_ref().map(|m| m.user.as_str()),
            Channel::Webhook | Channel::Peer => None,
        }
    }
}

impl Config {
    /// The contact whose address under `key` is `address`, and their city.
    pub fn contact_by_endpoint(&self, key: &ContactKey, address: &str) -> Option<(&City, &Contact)> {
        self.find_contact(|c| c.endpoint(key.key).is_some_and(|a| key.same(a, address)))
    }

    /// The contact who sent a post on `channel` as `sender`, and their city.
    pub fn sender(&self, channel: Channel, sender: &str) -> Option<(&City, &Contact)> {
        let spec = spec(channel);
        match (&spec.sender, spec.contact_key()) {
            (Sender::ContactId, _) => self.contact(sender),
            (Sender::Address, Some(key)) => self.contact_by_endpoint(key, sender),
            (Sender::Address, None) | (Sender::HomeInstance, _) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_has_one_row_in_order() {
        let channels: Vec<Channel> = SPECS.iter().map(|s| s.channel).collect();
        assert_eq!(channels, Channel::ALL);
        for c in Channel::ALL {
            assert_eq!(spec(c).channel, c);
        }
    }

    #[test]
    fn addresses_compare_as_their_channel_does() {
        assert!(EMAIL.same("Jo@Leeds.Example ", "jo@leeds.example"));
        assert!(!MATRIX.same("@Jo:x", "@jo:x"));
        assert!(MATRIX.same("@jo:x", "@jo:x"));
    }
}
