//! The HTTP listener: `/healthz`, `/metrics`, the admin API and the connectors' routes.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use c2c_config::{Config, Secret};
use c2c_core::{Connector, Store};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::conversations;
use crate::live::Live;
use crate::metrics::Metrics;

/// What the daemon's own routes need.
#[derive(Clone)]
pub struct HttpState {
    pub metrics: Arc<Metrics>,
    pub store: Arc<dyn Store>,
    pub config: Live<Config>,
    pub connectors: Vec<Arc<dyn Connector>>,
    /// `None`: the admin API is disabled. Replaced on a config reload.
    pub admin_token: Live<Option<Secret>>,
    /// Inbound tasks that are down and being restarted.
    pub supervision: Arc<crate::supervise::Supervision>,
}

impl std::fmt::Debug for HttpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpState").finish_non_exhaustive()
    }
}

/// The whole HTTP application: the daemon's routes merged with the connectors' (`extra`).
pub fn app(state: HttpState, extra: axum::Router, request_timeout: std::time::Duration) -> axum::Router {
    axum::Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/conversations", get(api_conversations))
        .with_state(state)
        .merge(extra)
        .fallback(|| async { (StatusCode::NOT_FOUND, Json(json!({"error": "no such path", "code": "not_found"}))) })
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, request_timeout))
}

/// Status words for anyone (`ok` / `degraded`, 200 / 503); each connector's state and its
/// detail (hosts, user names, error text) only with the admin token.
async fn healthz(State(s): State<HttpState>, headers: HeaderMap) -> Response {
    let mut all_ok = true;
    let mut connectors = serde_json::Map::new();
    for c in &s.connectors {
        let mut h = c.health().await;
        if let Some(problem) = s.supervision.problem(c.channel()) {
            h = c2c_core::Health { ok: false, detail: problem };
        }
        all_ok &= h.ok;
        connectors.insert(c.channel().to_string(), json!({"ok": h.ok, "detail": h.detail}));
    }
    let status = if all_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let word = if all_ok { "ok" } else { "degraded" };
    let body = match deny(&s, &headers) {
        Some(_) => json!({ "status": word }),
        None => json!({ "status": word, "instance": s.store.instance_id(), "connectors": connectors }),
    };
    (status, Json(body)).into_response()
}

/// Prometheus text, with the admin token: refusal counters and the like would tell a stranger
/// whether an address is a contact.
async fn metrics(State(s): State<HttpState>, headers: HeaderMap) -> Response {
    if let Some(denied) = deny(&s, &headers) {
        return denied;
    }
    s.metrics.store_flushes(s.store.flushes());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], s.metrics.render()).into_response()
}

#[derive(Debug, Deserialize)]
struct ConversationsQuery {
    partnership: Option<String>,
}

async fn api_conversations(
    State(s): State<HttpState>,
    headers: HeaderMap,
    Query(q): Query<ConversationsQuery>,
) -> Response {
    if let Some(denied) = deny(&s, &headers) {
        return denied;
    }
    let config = s.config.get();
    match conversations::collect(s.store.as_ref(), &config, q.partnership.as_deref()) {
        Ok(views) => Json(views).into_response(),
        Err(e) => {
            (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": e.to_string(), "code": "store"}))).into_response()
        }
    }
}

/// Bearer-token check for `/api/...` and `/metrics`: the refusal, or `None` when the token is
/// right.
fn deny(s: &HttpState, headers: &HeaderMap) -> Option<Response> {
    let refuse = |status: StatusCode, msg: &str, code: &str| {
        Some((status, Json(json!({"error": msg, "code": code}))).into_response())
    };
    let token = s.admin_token.get();
    let Some(token) = token.as_ref() else {
        return refuse(
            StatusCode::FORBIDDEN,
            "the admin API is disabled: set [bridge] admin_token_env or admin_token_file",
            "disabled",
        );
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if bool::from(given.as_bytes().ct_eq(token.expose().as_bytes())) {
        None
    } else {
        refuse(StatusCode::UNAUTHORIZED, "missing or wrong bearer token", "unauthorized")
    }
}
