//! What an instance tells anyone who asks, unsigned: which envelope versions it speaks
//! (`GET /peer/v1/version`) and its public keys (`GET /peer/v1/keys`), for another instance's
//! admin to pin in `[[peers]] public_keys`. Public keys are public; nothing here names a city,
//! a contact or a peer. The signed routes (`POST /peer/v1/inbox`, `GET /peer/v1/directory`)
//! come with the peer connector.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use c2c_webhook::signature::asymmetric::PublicKey;
use serde_json::{Value, json};

use crate::wire::VERSION;

/// This instance as its peers see it.
#[derive(Debug, Clone)]
pub struct Identity {
    /// `[bridge] instance`.
    pub instance: String,
    /// The key requests are signed with now (`[federation] key_file`).
    pub current: PublicKey,
    /// The key signed with before (`previous_key_file`), while peers move to the new one.
    pub previous: Option<PublicKey>,
}

/// `GET /peer/v1/version` and `GET /peer/v1/keys`.
pub fn routes(identity: Arc<Identity>) -> axum::Router {
    axum::Router::new().route("/peer/v1/version", get(version)).route("/peer/v1/keys", get(keys)).with_state(identity)
}

/// `{"instance": "brlc", "versions": [1]}`.
async fn version(State(id): State<Arc<Identity>>) -> Json<Value> {
    Json(json!({"instance": id.instance, "versions": [VERSION]}))
}

/// `{"instance": "brlc", "current": "whpk_…", "previous": "whpk_…" | null}`: pin `current`, and
/// `previous` too while it is listed (requests are signed with both until it goes).
async fn keys(State(id): State<Arc<Identity>>) -> Json<Value> {
    Json(json!({
        "instance": id.instance,
        "current": id.current.to_string(),
        "previous": id.previous.map(|k| k.to_string()),
    }))
}

#[cfg(test)]
mod tests {
    use c2c_webhook::signature::asymmetric::SecretKey;
    use tower::ServiceExt;

    use super::*;

    async fn get_json(app: axum::Router, path: &str) -> (u16, Value) {
        let request = axum::http::Request::get(path).body(axum::body::Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn the_version_and_both_keys_are_served() {
        let current = SecretKey::generate().unwrap().public_key();
        let previous = SecretKey::generate().unwrap().public_key();
        let app = routes(Arc::new(Identity { instance: "brlc".into(), current, previous: Some(previous) }));
        assert_eq!(
            get_json(app.clone(), "/peer/v1/version").await,
            (200, json!({"instance": "brlc", "versions": [1]}))
        );
        let (status, keys) = get_json(app, "/peer/v1/keys").await;
        assert_eq!(status, 200);
        assert_eq!(keys["current"], current.to_string());
        assert_eq!(keys["previous"], previous.to_string());
        assert_eq!(PublicKey::parse(keys["current"].as_str().unwrap()).unwrap(), current, "pinnable as served");
    }
}
