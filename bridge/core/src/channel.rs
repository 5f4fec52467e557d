//! Channels and the addresses messages arrive on and go to.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A way of reaching a city's contacts. Each member of a partnership has one agreed channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Matrix,
    Webhook,
    /// Another instance of the bridge (federation): posts come in as replicas under their
    /// origin's ids. Not a channel a city agrees on: a city hosted by a peer has its agreed
    /// channel on its home instance.
    Peer,
}

impl Channel {
    pub const ALL: [Channel; 4] = [Channel::Email, Channel::Matrix, Channel::Webhook, Channel::Peer];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Matrix => "matrix",
            Channel::Webhook => "webhook",
            Channel::Peer => "peer",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Channel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "email" => Ok(Channel::Email),
            "matrix" => Ok(Channel::Matrix),
            "webhook" => Ok(Channel::Webhook),
            "peer" => Ok(Channel::Peer),
            other => Err(format!("unknown channel `{other}` (expected email, matrix, webhook or peer)")),
        }
    }
}

/// Where an inbound message arrived.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub channel: Channel,
    /// The city whose endpoint it arrived on, when the endpoint belongs to one city (a city's
    /// webhook path, a city's portal room). `None` for shared endpoints such as the bridge's
    /// mailbox, where the sender's address says which city it is.
    pub city: Option<String>,
    /// The native address of the endpoint: `/hooks/leeds`, `bridge+hz-leeds@…`, a room id.
    pub address: String,
}

/// One endpoint an outbox entry delivers to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Recipient {
    /// The member city the endpoint belongs to.
    pub city: String,
    /// The contact, when the endpoint is one person's (an email address); `None` for endpoints
    /// shared by the city (its webhook, its portal room).
    pub contact: Option<String>,
    pub channel: Channel,
    /// The native address: a city id for webhooks, an email address, a room id.
    pub address: String,
}

impl Recipient {
    /// Deliveries to the same endpoint in the same conversation keep their commit order; this is
    /// the endpoint half of that ordering key.
    pub fn endpoint_key(&self) -> String {
        format!("{}:{}", self.channel, self.address)
    }
}
