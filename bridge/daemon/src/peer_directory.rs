//! The directory across instances. What this instance tells a peer about its own cities
//! ([`for_peer`], served on the signed `GET /peer/v1/directory`), and the entries of the cities
//! peers host, asked from their home instances ([`with_peers`]) for `c2c-bridge directory`.
//!
//! A peer hears only of the cities hosted here that share a partnership with a city it hosts,
//! and only of those partnerships; never an endpoint or a secret (the directory's entries have
//! no field for one). What a peer answers is believed only for the cities our config says it
//! hosts.

use std::collections::BTreeSet;
use std::time::Duration;

use c2c_config::Config;
use c2c_peer::directory::DirectoryQuery;
use c2c_webhook::signature::asymmetric::SecretKey;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::directory::{self, CityEntry, Directory, Query, Visible};
use crate::router::recipients::hosted_here;

/// The answer to peer `asker`'s directory request at `now`.
pub fn for_peer(config: &Config, asker: &str, now: DateTime<Utc>, query: &DirectoryQuery) -> Value {
    let hosted_by_asker = |m: &String| config.city(m).and_then(|c| c.peer.as_deref()) == Some(asker);
    let mut visible = Visible::default();
    for p in &config.partnerships {
        if p.members.iter().any(hosted_by_asker) && p.members.iter().any(|m| hosted_here(config, m)) {
            visible.partnerships.insert(p.id.clone());
            visible.cities.extend(p.members.iter().filter(|m| hosted_here(config, m)).cloned());
        }
    }
    let query = Query { city: query.city.clone(), partnership: query.partnership.clone(), topic: query.topic.clone() };
    // A city or partnership it may not see is answered as one that does not exist: no cities.
    let cities = directory::build(config, now, &query, Some(&visible)).map(|d| d.cities).unwrap_or_default();
    json!({ "v": 1, "instance": config.bridge.instance, "cities": cities })
}

/// `found` (built from the config) with the entries of peer-hosted cities as their home
/// instances give them, asked with `query`; and, for each peer that could not be asked, why.
pub async fn with_peers(
    config: &Config,
    keys: &[SecretKey],
    mut found: Directory,
    query: &Query,
    timeout: Duration,
) -> (Directory, Vec<String>) {
    let Some(ours) = config.bridge.instance.as_deref() else {
        return (found, Vec::new());
    };
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("the HTTP client builds with static settings");
    let asked =
        DirectoryQuery { city: query.city.clone(), partnership: query.partnership.clone(), topic: query.topic.clone() };
    let hosts: BTreeSet<&str> = config.cities.iter().filter_map(|c| c.peer.as_deref()).collect();
    let answers = futures::future::join_all(config.peers.iter().filter(|p| hosts.contains(p.id.as_str())).map(|p| {
        let (client, asked) = (&client, &asked);
        async move { (p, c2c_peer::directory::fetch(client, &p.url, ours, keys, asked).await) }
    }))
    .await;
    let mut problems = Vec::new();
    for (peer, answer) in answers {
        let cities = match answer.and_then(|v| {
            serde_json::from_value::<Vec<CityEntry>>(v["cities"].clone()).map_err(|e| format!("not a directory: {e}"))
        }) {
            Ok(cities) => cities,
            Err(e) => {
                problems.push(format!("{}: its directory could not be read: {e}", peer.id));
                continue;
            }
        };
        for city in cities {
            // Only what our config says it hosts.
            if config.city(&city.id).and_then(|c| c.peer.as_deref()) != Some(peer.id.as_str()) {
                continue;
            }
            let entry = city.from_peer(&peer.id);
            match found.cities.iter_mut().find(|c| c.id == entry.id) {
                Some(placeholder) => *placeholder = entry,
                None => found.cities.push(entry),
            }
        }
    }
    let order = |id: &str| config.cities.iter().position(|c| c.id == id).unwrap_or(usize::MAX);
    found.cities.sort_by_key(|c| order(&c.id));
    (found, problems)
}
