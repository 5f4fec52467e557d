//! `GET /peer/v1/directory`: what an instance tells a peer about its own cities, and how a
//! peer asks.
//!
//! The request is signed like an envelope (Standard Webhooks headers, `v1a`, over
//! `id.timestamp.` and, as the body, its filters as compact JSON: [`signed_filters`], so a
//! changed query breaks the signature) and names its sender in the `c2c-peer` header; it is
//! believed only under a key pinned for that sender, within the timestamp tolerance. Anything
//! else gets 401 and the same body, whoever asks. What the answer holds is the daemon's to
//! decide ([`Answer`]): the entries of its cities in partnerships shared with the asker,
//! never an endpoint or a secret. The query (`city`, `partnership`, `topic`) only narrows it.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use c2c_webhook::signature::asymmetric::SecretKey;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::inbox::{Pinned, Signed, check_asker};

/// The header naming the instance that asks.
pub const ASKER: &str = "c2c-peer";

/// The directory's filters, as `c2c-bridge directory` takes them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partnership: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

/// The answer for a peer (its id) and a query: `{"v": 1, "instance": ..., "cities": [...]}`.
pub type Answer = Arc<dyn Fn(&str, &DirectoryQuery) -> Value + Send + Sync>;

/// What the route needs.
#[derive(Clone)]
pub struct DirectoryState {
    pub pinned: Pinned,
    pub tolerance: Duration,
    pub answer: Answer,
}

impl std::fmt::Debug for DirectoryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectoryState").finish_non_exhaustive()
    }
}

/// `GET /peer/v1/directory`.
pub fn routes(state: DirectoryState) -> axum::Router {
    axum::Router::new().route("/peer/v1/directory", get(handle)).with_state(state)
}

async fn handle(State(state): State<DirectoryState>, headers: HeaderMap, query: Query<DirectoryQuery>) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let asker = header(ASKER);
    let request = Signed {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: signed_filters(&query.0),
    };
    match check_asker(&state.pinned, &asker, &request, c2c_core::now_ms() / 1000, state.tolerance) {
        Ok(_) => (StatusCode::OK, Json((state.answer)(&asker, &query.0))).into_response(),
        Err(refused) => {
            tracing::info!(reason = refused.code(), "a directory request refused");
            let body = json!({"error": refused.to_string(), "code": refused.code()});
            (StatusCode::UNAUTHORIZED, Json(body)).into_response()
        }
    }
}

/// Ask the peer at `url` (its base URL) for its directory, as instance `ours` signing with
/// `keys`.
pub async fn fetch(
    client: &reqwest::Client,
    url: &str,
    ours: &str,
    keys: &[SecretKey],
    query: &DirectoryQuery,
) -> Result<Value, String> {
    let now = c2c_core::now_ms() / 1000;
    let id = format!("directory-{}", c2c_core::MessageId::new());
    let signature = c2c_webhook::signature::asymmetric::sign(keys, &id, now, &signed_filters(query));
    let answer = client
        .get(format!("{}/peer/v1/directory{}", url.trim_end_matches('/'), query_string(query)))
        .header(ASKER, ours)
        .header("webhook-id", &id)
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", signature)
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    let status = answer.status();
    let text = answer.text().await.map_err(|e| e.without_url().to_string())?;
    if !status.is_success() {
        return Err(format!("HTTP {status}: {}", text.chars().take(300).collect::<String>()));
    }
    serde_json::from_str(&text).map_err(|e| format!("not a directory: {e}"))
}

/// What a directory request's signature covers besides its id and time: its filters as the
/// receiver reads them from the query string, as compact JSON (`{}` with none, then `city`,
/// `partnership`, `topic` in that order when given). The same on both sides whatever the
/// percent-encoding.
pub fn signed_filters(q: &DirectoryQuery) -> Vec<u8> {
    serde_json::to_vec(q).unwrap_or_default()
}

/// `?city=...&topic=...` (percent-encoded), or nothing.
fn query_string(q: &DirectoryQuery) -> String {
    let encode = |v: &str| -> String {
        v.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let pairs: Vec<String> = [("city", &q.city), ("partnership", &q.partnership), ("topic", &q.topic)]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| format!("{k}={}", encode(v))))
        .collect();
    if pairs.is_empty() { String::new() } else { format!("?{}", pairs.join("&")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_percent_encoded() {
        assert_eq!(query_string(&DirectoryQuery::default()), "");
        let q = DirectoryQuery { city: Some("Kuala Lumpur".into()), partnership: None, topic: Some("a&b=c".into()) };
        assert_eq!(query_string(&q), "?city=Kuala%20Lumpur&topic=a%26b%3Dc");
    }

    #[test]
    fn a_signature_covers_the_filters_asked_for() {
        let key = SecretKey::generate().unwrap();
        let pinned = Pinned::new([("brlc".to_string(), vec![key.public_key()])]);
        let now = 1_700_000_000;
        let asked = DirectoryQuery { city: Some("leeds".into()), ..Default::default() };
        let signature =
            c2c_webhook::signature::asymmetric::sign(std::slice::from_ref(&key), "d-1", now, &signed_filters(&asked));
        let request = |q: &DirectoryQuery| Signed {
            id: "d-1".into(),
            timestamp: now.to_string(),
            signature: signature.clone(),
            body: signed_filters(q),
        };
        let tolerance = Duration::from_secs(300);
        assert!(check_asker(&pinned, "brlc", &request(&asked), now, tolerance).is_ok());
        let changed = DirectoryQuery { city: Some("hangzhou".into()), ..Default::default() };
        assert!(check_asker(&pinned, "brlc", &request(&changed), now, tolerance).is_err(), "another city");
        assert!(
            check_asker(&pinned, "brlc", &request(&DirectoryQuery::default()), now, tolerance).is_err(),
            "no filter"
        );
    }
}
