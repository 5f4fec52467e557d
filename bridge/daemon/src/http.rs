//! The HTTP listener: `/healthz`, `/metrics`, the admin API and the connectors' routes.
//!
//! Every `/api/...` route and `/metrics` needs an admin's bearer token ([`admin`]): none, or
//! one no admin has, is 401. A city-scoped admin sees and acts only on the partnerships one of
//! its cities is a member of: listings leave the others out, and another partnership's
//! conversation, delivery or deliverable is answered exactly as an unknown id (404), so nothing
//! says it exists. What concerns the whole instance (`POST /api/reload`, `/metrics`, the
//! connectors' details in `/healthz`) is for all-scope admins ([`instance_admin`]; 403 for a
//! city admin: these routes are public knowledge, so refusing says nothing). Every change an
//! admin makes is logged with its id.
//!
//! A new route about partnerships' data takes the caller from [`admin`] and asks
//! [`Caller::sees`] about every partnership it would show or touch.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use c2c_config::{Config, Partnership};
use c2c_core::{Connector, ConversationId, DeliveryStatus, Millis, OutboxId, Store, now_ms};
use serde::Deserialize;
use serde_json::json;

use crate::admins::{Admins, Caller, Scope};
use crate::clock::Clock;
use crate::conversations;
use crate::deliverables::{self, Lookup};
use crate::directory;
use crate::live::Live;
use crate::metrics::Metrics;
use crate::outbox::snapshot::Published;
use crate::outbox::view::{self as outbox_view, Wanted};
use crate::reload::Reloadable;
use crate::report::{self, Format, ReportError};
use crate::router::Router;
use crate::router::admin::{Closed, Retried};
use crate::status::{self, ConnectorFacts, StatusView};

/// What the daemon's own routes need.
#[derive(Clone)]
pub struct HttpState {
    pub metrics: Arc<Metrics>,
    pub store: Arc<dyn Store>,
    pub config: Live<Config>,
    pub connectors: Vec<Arc<dyn Connector>>,
    /// Who may use the admin API (none: it is off). Replaced on a config reload.
    pub admins: Live<Admins>,
    /// Inbound tasks that are down and being restarted.
    pub supervision: Arc<crate::supervise::Supervision>,
    /// What admins change (a deliverable marked done, a conversation closed, a delivery
    /// retried) is committed through the router, like every other change to the store.
    pub router: Router,
    /// The daemon's one clock: the directory's local times and working hours, and a report's
    /// "now", are read at it.
    pub clock: Clock,
    /// The reload `POST /api/reload` runs (the one SIGHUP runs); `None` where there is no
    /// config file to read again (tests).
    pub reload: Option<Arc<Reloadable>>,
    /// The scheduler's queues, as it last published them.
    pub deliveries: Arc<Published>,
    /// When the daemon started.
    pub started_at: Millis,
    /// This instance's federation keys (current first), to ask peers for the directory entries
    /// of the cities they host; `None` without `[federation]`.
    pub peer_keys: Option<Arc<Vec<c2c_webhook::signature::asymmetric::SecretKey>>>,
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
        .route("/api/status", get(api_status))
        .route("/api/conversations", get(api_conversations))
        .route("/api/conversations/{id}/close", post(api_conversation_close))
        .route("/api/outbox", get(api_outbox))
        .route("/api/outbox/{id}/retry", post(api_outbox_retry))
        .route("/api/deliverables", get(api_deliverables))
        .route("/api/deliverables/{id}/done", post(api_deliverable_done))
        .route("/api/directory", get(api_directory))
        .route("/api/partnerships/{id}/report", get(api_report))
        .route("/api/reload", post(api_reload))
        .with_state(state)
        .merge(extra)
        .fallback(|| async { (StatusCode::NOT_FOUND, Json(json!({"error": "no such path", "code": "not_found"}))) })
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, request_timeout))
}

/// Status words for anyone (`ok` / `degraded`, 200 / 503); each connector's state and its
/// detail (hosts, user names, error text) only for an all-scope admin.
async fn healthz(State(s): State<HttpState>, headers: HeaderMap) -> Response {
    let mut all_ok = true;
    let mut connectors = serde_json::Map::new();
    for c in &s.connectors {
        let mut h = c.health().await;
        if let Some(problem) = s.supervision.problem(c.channel()) {
            h.ok = false;
            h.detail = problem;
        }
        all_ok &= h.ok;
        connectors.insert(c.channel().to_string(), json!({"ok": h.ok, "detail": h.detail}));
    }
    let status = if all_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let word = if all_ok { "ok" } else { "degraded" };
    let body = match instance_admin(&s, &headers) {
        Err(_) => json!({ "status": word }),
        Ok(_) => json!({ "status": word, "instance": s.store.instance_id(), "connectors": connectors }),
    };
    (status, Json(body)).into_response()
}

/// Prometheus text, for all-scope admins: refusal counters and the like would tell a stranger
/// whether an address is a contact, and they are the whole instance's.
async fn metrics(State(s): State<HttpState>, headers: HeaderMap) -> Response {
    if let Err(denied) = instance_admin(&s, &headers) {
        return denied;
    }
    s.metrics.store_flushes(s.store.flushes());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], s.metrics.render()).into_response()
}

/// Each connector's state, the outbox's depth and its oldest pending delivery.
async fn api_status(State(s): State<HttpState>, headers: HeaderMap) -> Response {
    let caller = match admin(&s, &headers) {
        Ok(c) => c,
        Err(denied) => return denied,
    };
    let details = caller.scope.is_all();
    let snapshot = s.deliveries.get();
    let mut connectors = Vec::new();
    for c in &s.connectors {
        let channel = c.channel();
        let facts = ConnectorFacts {
            channel,
            health: c.health().await,
            task_down: s.supervision.down(channel),
            task_last: s.supervision.last_problem(channel),
            deliveries: snapshot.channels.get(&channel).cloned(),
        };
        connectors.push(status::connector(facts, s.started_at, details));
    }
    connectors.sort_by(|a, b| a.channel.cmp(&b.channel));
    let now = now_ms();
    let outbox = if details {
        status::outbox(snapshot.depth, snapshot.oldest_created_at, snapshot.at, now)
    } else {
        // A city admin's own partnerships only: from the store (the queues do not know
        // partnerships).
        let (store, config) = (s.store.clone(), s.config.get());
        let scope = caller.clone();
        let pending =
            blocking(move || outbox_view::collect(store.as_ref(), Wanted::Pending, None, |p| scope.sees(&config, p)))
                .await;
        match pending {
            Ok(entries) => {
                let oldest = entries
                    .iter()
                    .filter_map(|e| chrono::DateTime::parse_from_rfc3339(&e.created_at).ok())
                    .map(|t| t.timestamp_millis())
                    .min();
                status::outbox(entries.len(), oldest, Some(now), now)
            }
            Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e, "store"),
        }
    };
    let scope = match &caller.scope {
        Scope::All => Vec::new(),
        Scope::Cities(cities) => cities.iter().cloned().collect(),
    };
    Json(StatusView {
        instance: s.store.instance_id().to_string(),
        admin: caller.id,
        scope,
        started_at: outbox_view::rfc3339(s.started_at),
        connectors,
        outbox,
    })
    .into_response()
}

/// `?partnership=ID` of the listings.
#[derive(Debug, Deserialize)]
struct PartnershipQuery {
    partnership: Option<String>,
}

/// `?partnership=ID&limit=N&after=CONVERSATION` of the conversations view.
#[derive(Debug, Deserialize)]
struct ConversationsQuery {
    partnership: Option<String>,
    limit: Option<usize>,
    after: Option<String>,
}

/// The conversations view. With `limit` or `after`, one page: at most `limit` (default 100, at
/// most 1000) conversations after `after` in id order, and a `Link: <…>; rel="next"` header
/// when more follow. Without, every conversation, oldest first, as before. Read on a blocking
/// thread: it is a scan of the store.
async fn api_conversations(
    State(s): State<HttpState>,
    headers: HeaderMap,
    Query(q): Query<ConversationsQuery>,
) -> Response {
    let caller = match admin(&s, &headers) {
        Ok(c) => c,
        Err(denied) => return denied,
    };
    let config = s.config.get();
    let after = match q.after.as_deref().map(str::parse::<ConversationId>) {
        Some(Err(_)) => {
            return error(StatusCode::BAD_REQUEST, "`after` is not a conversation id", "bad_request");
        }
        Some(Ok(id)) => Some(id),
        None => None,
    };
    let paged = q.limit.is_some() || after.is_some();
    let limit = q.limit.unwrap_or(conversations::PAGE_DEFAULT);
    let (store, partnership) = (s.store.clone(), q.partnership.clone());
    let read = tokio::task::spawn_blocking(move || {
        let visible = |p: &str| caller.sees(&config, p);
        if paged {
            let now = c2c_core::now_ms();
            conversations::page_at(store.as_ref(), &config, partnership.as_deref(), &visible, after, limit, now)
        } else {
            let mut views = conversations::collect(store.as_ref(), &config, partnership.as_deref())?;
            views.retain(|v| visible(&v.partnership));
            Ok(conversations::Page { views, next: None })
        }
    })
    .await;
    match read {
        Ok(Ok(page)) => {
            let mut response = Json(page.views).into_response();
            if let Some(next) = page.next {
                // A partnership with conversations is one of the config's ids: nothing to escape.
                let partnership = q.partnership.as_ref().map(|p| format!("partnership={p}&")).unwrap_or_default();
                let limit = conversations::page_size(limit);
                let query = format!("{partnership}limit={limit}&after={next}");
                if let Ok(link) = HeaderValue::from_str(&format!("</api/conversations?{query}>; rel=\"next\"")) {
                    response.headers_mut().insert(header::LINK, link);
                }
            }
            response
        }
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string(), "store"),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &format!("conversations view task: {e}"), "internal"),
    }
}

/// Close a conversation, as a member's `/close` does (its debts settled, their reminders
/// ended): 200 once durable (also when it already was closed); 404 for an id that is not a
/// conversation in the caller's partnerships.
async fn api_conversation_close(State(s): State<HttpState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let caller = match admin(&s, &headers) {
        Ok(c) => c,
        Err(denied) => return denied,
    };
    let not_found = || error(StatusCode::NOT_FOUND, &format!("no conversation `{id}`"), "not_found");
    let Ok(conversation) = id.parse::<ConversationId>() else { return not_found() };
    let partnership = match s.store.conversation(conversation) {
        Ok(Some(c)) => c.partnership,
        Ok(None) => return not_found(),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string(), "store"),
    };
    if !caller.sees(&s.config.get(), &partnership) {
        tracing::info!(admin = %caller.id, %conversation, "close asked for a conversation outside the admin's partnerships; answered as unknown");
        return not_found();
    }
    match s.router.close_conversation(conversation).await {
        Ok(Closed::Closed { partnership, at }) => {
            tracing::info!(admin = %caller.id, %conversation, %partnership, "admin closed a conversation");
            Json(json!({"conversation": id, "partnership": partnership, "result": "closed", "closed_at": outbox_view::rfc3339(at)}))
                .into_response()
        }
        Ok(Closed::AlreadyClosed { partnership, at }) => {
            tracing::info!(admin = %caller.id, %conversation, "admin closed a conversation that already was");
            Json(json!({"conversation": id, "partnership": partnership, "result": "already closed", "closed_at": outbox_view::rfc3339(at)}))
                .into_response()
        }
        Ok(Closed::NotFound) => not_found(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, &e, "unavailable"),
    }
}

/// `?status=failed|pending&partnership=ID` of the outbox listing.
#[derive(Debug, Deserialize)]
struct OutboxQuery {
    status: Option<String>,
    partnership: Option<String>,
}

/// Deliveries not delivered: failed for good, pending, or both (no `status`).
async fn api_outbox(State(s): State<HttpState>, headers: HeaderMap, Query(q): Query<OutboxQuery>) -> Response {
    let caller = match admin(&s, &headers) {
        Ok(c) => c,
        Err(denied) => return denied,
    };
    let wanted = match Wanted::parse(q.status.as_deref()) {
        Ok(w) => w,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e, "malformed"),
    };
    let (store, config) = (s.store.clone(), s.config.get());
    let listed = blocking(move || {
        outbox_view::collect(store.as_ref(), wanted, q.partnership.as_deref(), |p| caller.sees(&config, p))
    })
    .await;
    match listed {
        Ok(entries) => Json(entries).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e, "store"),
    }
}

/// Schedule a delivery that failed for good again, through the committer (the scheduler gets
/// it once that is durable): 200 then; 409 `not_failed` for one that is pending or delivered;
/// 404 for an id that is not a delivery in the caller's partnerships.
async fn api_outbox_retry(State(s): State<HttpState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let caller = match admin(&s, &headers) {
        Ok(c) => c,
        Err(denied) => return denied,
    };
    let not_found = || error(StatusCode::NOT_FOUND, &format!("no delivery `{id}`"), "not_found");
    let entry_id = OutboxId(id.clone());
    let store = s.store.clone();
    let found = {
        let entry_id = entry_id.clone();
        blocking(move || store.find_outbox_entry(&entry_id)).await
    };
    let entry = match found {
        Ok(Some(e)) => e,
        Ok(None) => return not_found(),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e, "store"),
    };
    if !caller.sees(&s.config.get(), &entry.partnership) {
        tracing::info!(admin = %caller.id, entry = %id, "retry asked for a delivery outside the admin's partnerships; answered as unknown");
        return not_found();
    }
    let not_failed = |status: DeliveryStatus| {
        let body = json!({
            "error": format!("delivery `{id}` has not failed for good (it is {}): nothing to retry", status.as_str()),
            "code": "not_failed",
            "status": status.as_str(),
        });
        (StatusCode::CONFLICT, Json(body)).into_response()
    };
    if entry.status != DeliveryStatus::PermanentFailure {
        return not_failed(entry.status);
    }
    match s.router.retry_delivery(entry.seq, entry_id).await {
        Ok(Retried::Scheduled) => {
            tracing::info!(admin = %caller.id, entry = %id, partnership = %entry.partnership,
                to = %entry.recipient.address, "admin scheduled a failed delivery again");
            Json(json!({"entry": id, "partnership": entry.partnership, "status": "scheduled", "result": "scheduled again"}))
                .into_response()
        }
        Ok(Retried::NotFailed(status)) => not_failed(status),
        Ok(Retried::NotFound) => not_found(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, &e, "unavailable"),
    }
}

/// Every configured deliverable and meeting of the caller's partnerships, with its status.
async fn api_deliverables(
    State(s): State<HttpState>,
    headers: HeaderMap,
    Query(q): Query<PartnershipQuery>,
) -> Response {
    let caller = match admin(&s, &headers) {
        Ok(c) => c,
        Err(denied) => return denied,
    };
    let config = s.config.get();
    match deliverables::collect_at(s.store.as_ref(), &config, q.partnership.as_deref(), now_ms()) {
        Ok(mut views) => {
            views.retain(|v| caller.sees(&config, &v.partnership));
            Json(views).into_response()
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string(), "store"),
    }
}

/// The directory (`?city=ID&partnership=ID&topic=WORD`, each optional) at the daemon's now, with
/// the entries of cities peers host as those peers give them: 404 `not_found` for a city or
/// partnership the config does not have. A city admin sees its
/// cities, their partnerships and those partnerships' members; anything else is not found, as
/// what does not exist.
async fn api_directory(State(s): State<HttpState>, headers: HeaderMap, Query(q): Query<directory::Query>) -> Response {
    let caller = match admin(&s, &headers) {
        Ok(c) => c,
        Err(denied) => return denied,
    };
    let config = s.config.get();
    let now = chrono::DateTime::from_timestamp_millis(s.clock.now()).unwrap_or_default();
    let visible = match &caller.scope {
        Scope::All => None,
        Scope::Cities(cities) => Some(directory::Visible::partners_of(&config, cities.iter().map(String::as_str))),
    };
    let found = match directory::build(&config, now, &q, visible.as_ref()) {
        Ok(found) => found,
        Err(e) => return error(StatusCode::NOT_FOUND, &e.to_string(), "not_found"),
    };
    // The cities peers host, as their home instances describe them (each asked for 5 s at most).
    let Some(keys) =
        s.peer_keys.as_ref().filter(|_| found.cities.iter().any(|c| c.instance.is_some()) || q.topic.is_some())
    else {
        return Json(found).into_response();
    };
    let (mut found, problems) =
        crate::peer_directory::with_peers(&config, keys, found, &q, std::time::Duration::from_secs(5)).await;
    for p in problems {
        tracing::info!(problem = %p, "a peer's directory entries are missing from the answer");
    }
    if let Some(v) = &visible {
        found.cities.retain(|c| v.cities.contains(&c.id));
    }
    Json(found).into_response()
}

/// The body of `POST /api/deliverables/{id}/done`, all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DoneBody {
    /// Needed only when several partnerships have a deliverable with this id.
    partnership: Option<String>,
}

/// Mark a deliverable done (its reminders end), as the calling admin: 200 with the sentence the
/// committer answers once that is durable (also when it already was done); 404 for an id (or
/// partnership) the config does not have in the caller's partnerships; 409 when the id is in
/// several of them and none was named.
async fn api_deliverable_done(
    State(s): State<HttpState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let caller = match admin(&s, &headers) {
        Ok(c) => c,
        Err(denied) => return denied,
    };
    let asked = if body.iter().all(u8::is_ascii_whitespace) {
        DoneBody::default()
    } else {
        match serde_json::from_slice::<DoneBody>(&body) {
            Ok(b) => b,
            Err(e) => {
                let msg = format!("the body is not {{\"partnership\": ID}}: {e}");
                return error(StatusCode::BAD_REQUEST, &msg, "malformed");
            }
        }
    };
    let (partnership, deliverable) = {
        let config = s.config.get();
        let visible = |p: &c2c_config::Partnership| caller.sees(&config, &p.id);
        match deliverables::find(&config, &id, asked.partnership.as_deref(), visible) {
            Ok((p, d)) => (p.id.clone(), d.id.clone()),
            Err(e) => return not_one(&e),
        }
    };
    match s.router.deliverable_done(&partnership, &deliverable, &caller.id).await {
        Ok(result) => {
            tracing::info!(admin = %caller.id, %partnership, %deliverable, %result, "admin marked a deliverable done");
            Json(json!({"deliverable": deliverable, "partnership": partnership, "result": result})).into_response()
        }
        // The committer is stopping, or the store failed (the daemon then stops): try again.
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, &e, "unavailable"),
    }
}

/// `?format=json|text|html&since=DATE&until=DATE` of the report (all optional).
#[derive(Debug, Default, Deserialize)]
struct ReportQuery {
    format: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

/// A partnership's post-activity report at the daemon's now: JSON (the default), text, or the
/// self-contained HTML page (served with its Content-Security-Policy as a header too). 404 for
/// a partnership the admin may not see; 400 for a bad format, date or an empty period.
async fn api_report(
    State(s): State<HttpState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Response {
    let caller = match admin(&s, &headers) {
        Ok(c) => c,
        Err(denied) => return denied,
    };
    let config = s.config.get();
    let Some(partnership) = partnership_for(&caller, &config, &id).cloned() else {
        return error(StatusCode::NOT_FOUND, &format!("no partnership `{id}`"), "not_found");
    };
    let format = match q.format.as_deref().map(str::parse::<Format>).transpose() {
        Ok(f) => f.unwrap_or_default(),
        Err(e) => return error(StatusCode::BAD_REQUEST, &e, "malformed"),
    };
    let when = |text: Option<&String>| text.map(|t| report::parse_when(t)).transpose();
    let (since, until) = match (when(q.since.as_ref()), when(q.until.as_ref())) {
        (Ok(since), Ok(until)) => (since, until),
        (Err(e), _) | (_, Err(e)) => return error(StatusCode::BAD_REQUEST, &e, "malformed"),
    };
    let (store, now) = (s.store.clone(), s.clock.now());
    // Reads every message of the partnership: off the async workers.
    let made =
        tokio::task::spawn_blocking(move || report::compute(store.as_ref(), &config, &partnership, since, until, now))
            .await;
    let report = match made {
        Ok(Ok(r)) => r,
        Ok(Err(e @ ReportError::EmptyPeriod { .. })) => {
            return error(StatusCode::BAD_REQUEST, &e.to_string(), "empty_period");
        }
        Ok(Err(ReportError::Store(e))) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string(), "store"),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string(), "internal"),
    };
    match format {
        Format::Json => Json(report).into_response(),
        Format::Text => {
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], report.render(Format::Text)).into_response()
        }
        Format::Html => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CONTENT_SECURITY_POLICY, report::html::CSP)],
            report.render(Format::Html),
        )
            .into_response(),
    }
}

/// The partnership `id` names, if the admin asking may see it (else the route answers 404
/// `not_found`, whether it exists or not). The one place a route about one partnership looks it
/// up, so the caller's scope (a city admin's partnerships) is checked here.
fn partnership_for<'c>(caller: &Caller, config: &'c Config, id: &str) -> Option<&'c Partnership> {
    config.partnership(id).filter(|p| caller.sees(config, &p.id))
}

/// Read the config file again, with the same checks as SIGHUP: 200 with what was applied (and
/// what waits for a restart); 422 with every problem (`file:line:column: path: what`) when the
/// new config is bad, the running one staying. All-scope admins only.
async fn api_reload(State(s): State<HttpState>, headers: HeaderMap) -> Response {
    let caller = match instance_admin(&s, &headers) {
        Ok(c) => c,
        Err(denied) => return denied,
    };
    let Some(reload) = s.reload.clone() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "this daemon has no config file to reload", "unavailable");
    };
    // Reading files, and one reload at a time: not on an async worker.
    let by = caller.id.clone();
    let result = tokio::task::spawn_blocking(move || reload.reload(&by)).await;
    match result {
        Ok(Ok(reloaded)) => {
            Json(json!({"reloaded": true, "summary": reloaded.summary, "restart_needed": reloaded.restart_needed}))
                .into_response()
        }
        Ok(Err(errors)) => {
            let problems: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            let body = json!({
                "error": "the config has problems; the running config stays",
                "code": "invalid_config",
                "problems": problems,
            });
            (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &format!("the reload failed (a bug): {e}"), "internal"),
    }
}

/// Run a store scan off the async workers; its error as text.
async fn blocking<T: Send + 'static>(
    scan: impl FnOnce() -> Result<T, c2c_core::StoreError> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(scan).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(format!("reading the store failed (a bug): {e}")),
    }
}

/// 409 `ambiguous` (with the partnerships to choose from) or 404 `not_found`.
fn not_one(e: &Lookup) -> Response {
    match e {
        Lookup::Ambiguous { partnerships, .. } => {
            let body = json!({"error": e.to_string(), "code": "ambiguous", "partnerships": partnerships});
            (StatusCode::CONFLICT, Json(body)).into_response()
        }
        Lookup::NoPartnership(_) | Lookup::NoDeliverable { .. } => {
            error(StatusCode::NOT_FOUND, &e.to_string(), "not_found")
        }
    }
}

fn error(status: StatusCode, msg: &str, code: &str) -> Response {
    (status, Json(json!({"error": msg, "code": code}))).into_response()
}

/// The admin a request comes from, by its bearer token; else the refusal: 403 `disabled` when
/// no admin is configured, 401 for no token or one no admin has.
// A refusal is the response itself, built once per refused request: no need to box it.
#[allow(clippy::result_large_err)]
pub fn admin(s: &HttpState, headers: &HeaderMap) -> Result<Caller, Response> {
    let admins = s.admins.get();
    if admins.is_empty() {
        return Err(error(
            StatusCode::FORBIDDEN,
            "the admin API is disabled: set [bridge] admin_token_env or admin_token_file, or add [[admins]]",
            "disabled",
        ));
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    admins
        .authenticate(given)
        .ok_or_else(|| error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token", "unauthorized"))
}

/// [`admin`], for what concerns the whole instance: a city admin gets 403 `forbidden`.
// A refusal is the response itself, built once per refused request: no need to box it.
#[allow(clippy::result_large_err)]
pub fn instance_admin(s: &HttpState, headers: &HeaderMap) -> Result<Caller, Response> {
    let caller = admin(s, headers)?;
    if caller.scope.is_all() {
        Ok(caller)
    } else {
        Err(error(StatusCode::FORBIDDEN, "this concerns the whole instance: it needs an all-scope admin", "forbidden"))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path as FilePath;
    use std::time::Duration;

    use c2c_core::conformance::{sample_commit, sample_conversation};
    use c2c_core::memory::MemoryStore;
    use c2c_core::{Commit, Conversation, InstanceKey, OutboxEntry, Shutdown};
    use c2c_language::Tagger;
    use serde_json::Value;
    use tokio::sync::mpsc;

    use super::*;
    use crate::router::committer::Committer;

    /// The `[bridge]` admin (`admin`, all-scope).
    const TOKEN: &str = "test-admin-token-0123456789abcdef";
    /// City admins: Gifu's (a member of `gifu-leeds`), Hangzhou's (of `hangzhou-leeds`).
    const GIFU: &str = "gifu-admin-token-0123456789abcdef";
    const HANGZHOU: &str = "hangzhou-admin-token-0123456789abc";

    /// Two partnerships with a deliverable `report` each; `library-draft` fell due long ago,
    /// the reports and the visit are far ahead.
    const CONFIG: &str = r#"
[bridge]
name = "test bridge"
data_dir = "data"
listen = "127.0.0.1:1"

[connectors.webhook]

[[cities]]
id = "leeds"
name = "Leeds"
country = "GB"
languages = ["en"]
webhook = { url = "http://127.0.0.1:2/leeds", secret_env = "X_LEEDS" }
  [[cities.contacts]]
  id = "leeds-jo"
  name = "Jo Smith"
  role = "International Relations"

[[cities]]
id = "hangzhou"
name = "Hangzhou"
country = "CN"
languages = ["zh", "en"]
webhook = { url = "http://127.0.0.1:2/hangzhou", secret_env = "X_HZ" }
  [[cities.contacts]]
  id = "hz-li"
  name = "Li Wei"
  role = "Foreign Affairs Office"

[[cities]]
id = "gifu"
name = "Gifu"
country = "JP"
languages = ["ja"]
webhook = { url = "http://127.0.0.1:2/gifu", secret_env = "X_GIFU" }
  [[cities.contacts]]
  id = "gifu-sato"
  name = "Sato Hana"
  role = "International Exchange"

[[partnerships]]
id = "hangzhou-leeds"
kind = "city-city"
members = ["hangzhou", "leeds"]
objective = "o"
language = "en"
reply_within = "5d"
channels = { hangzhou = "webhook", leeds = "webhook" }
  [[partnerships.deliverables]]
  id = "library-draft"
  title = "Library exchange programme draft"
  owner = "leeds"
  due = "2020-06-01T12:00:00Z"
  [[partnerships.deliverables]]
  id = "report"
  title = "Annual report"
  owner = "hangzhou"
  due = "2100-01-01T00:00:00Z"

[[partnerships]]
id = "gifu-leeds"
kind = "city-city"
members = ["gifu", "leeds"]
objective = "o"
language = "en"
reply_within = "5d"
channels = { gifu = "webhook", leeds = "webhook" }
  [[partnerships.deliverables]]
  id = "report"
  title = "Schools report"
  owner = "gifu"
  due = "2100-01-01T00:00:00Z"
  [[partnerships.deliverables]]
  id = "visit"
  kind = "meeting"
  title = "Delegation visit"
  owner = "gifu"
  due = "2100-05-20T10:00:00+09:00"
"#;

    /// When the committer marks things done: 2027-01-01T00:00:00Z.
    const NOW: Millis = 1_798_761_600_000;

    /// The daemon's HTTP app on a loopback port, with its router's committer on a memory store.
    struct Api {
        base: String,
        store: MemoryStore,
        http: reqwest::Client,
        /// What the committer hands the scheduler.
        outbox: mpsc::UnboundedReceiver<Vec<crate::outbox::Queued>>,
        config: Live<Config>,
        admins: Live<Admins>,
        _stop: Shutdown,
    }

    /// The admins of these tests.
    fn admins() -> Admins {
        Admins::with_tokens([
            ("admin", Scope::All, TOKEN),
            ("gifu-admin", Scope::Cities(["gifu".to_string()].into()), GIFU),
            ("hangzhou-admin", Scope::Cities(["hangzhou".to_string()].into()), HANGZHOU),
        ])
    }

    impl Api {
        async fn start() -> Self {
            Self::start_with(CONFIG, None, Vec::new()).await
        }

        /// With the config `text` (as read from `path`, for reloads) and these connectors.
        async fn start_with(text: &str, path: Option<&FilePath>, connectors: Vec<Arc<dyn Connector>>) -> Self {
            let config = Config::parse(text, path.unwrap_or(FilePath::new("test.toml"))).unwrap();
            let tagger = Live::new(Tagger::new(config.languages_mentioned()));
            let config = Live::new(config);
            let store = MemoryStore::new("test");
            let metrics = Arc::new(Metrics::new());
            let (bounces, _) = mpsc::unbounded_channel();
            let (router, work) = Router::new(config.clone(), tagger, metrics.clone(), Arc::new(store.clone()), bounces);
            let (outbox_tx, outbox) = mpsc::unbounded_channel();
            let key = InstanceKey::new([7; 32]);
            let committer = Committer::new(
                config.clone(),
                Arc::new(store.clone()),
                metrics.clone(),
                outbox_tx,
                key,
                Clock::manual(NOW),
            )
            .unwrap();
            let stop = Shutdown::new();
            tokio::spawn(committer.run(work, stop.clone()));
            let admins = Live::new(admins());
            let reload = path.map(|path| {
                let cities = c2c_webhook::config::SharedCities::new(Default::default());
                let tagger = Live::new(Tagger::new(config.get().languages_mentioned()));
                Arc::new(Reloadable::new(
                    path.to_path_buf(),
                    config.clone(),
                    tagger,
                    cities,
                    admins.clone(),
                    None,
                    router.clone(),
                ))
            });
            let state = HttpState {
                metrics,
                store: Arc::new(store.clone()),
                config: config.clone(),
                connectors,
                admins: admins.clone(),
                supervision: Default::default(),
                router,
                clock: Clock::manual(NOW),
                reload,
                deliveries: Default::default(),
                started_at: NOW,
                peer_keys: None,
            };
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let app = app(state, axum::Router::new(), Duration::from_secs(30));
            tokio::spawn(async move { axum::serve(listener, app).await });
            Self { base, store, http: reqwest::Client::new(), outbox, config, admins, _stop: stop }
        }

        async fn get(&self, path: &str) -> (u16, Value) {
            self.get_as(TOKEN, path).await
        }

        async fn get_as(&self, token: &str, path: &str) -> (u16, Value) {
            let r = self.http.get(format!("{}{path}", self.base)).bearer_auth(token).send().await.unwrap();
            (r.status().as_u16(), r.json().await.unwrap())
        }

        async fn post_as(&self, token: &str, path: &str) -> (u16, Value) {
            let r = self.http.post(format!("{}{path}", self.base)).bearer_auth(token).send().await.unwrap();
            (r.status().as_u16(), r.json().await.unwrap())
        }

        async fn done(&self, id: &str, body: Option<&str>) -> (u16, Value) {
            self.done_as(TOKEN, id, body).await
        }

        async fn done_as(&self, token: &str, id: &str, body: Option<&str>) -> (u16, Value) {
            let mut r = self.http.post(format!("{}/api/deliverables/{id}/done", self.base)).bearer_auth(token);
            if let Some(b) = body {
                r = r.header("content-type", "application/json").body(b.to_string());
            }
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.json().await.unwrap())
        }

        /// A conversation in `partnership` with one post and its delivery, `status`, stored.
        async fn conversation(
            &self,
            partnership: &str,
            seq: u64,
            status: DeliveryStatus,
        ) -> (Conversation, OutboxEntry) {
            let conv = sample_conversation(partnership);
            let (commit, _, mut entry) = sample_commit(&conv, seq);
            entry.status = status;
            entry.attempts = 1;
            entry.last_error = Some("HTTP 410 Gone".into());
            self.store.commit(commit).await.unwrap();
            self.store.commit(Commit { outbox: vec![entry.clone()], ..Commit::default() }).await.unwrap();
            (conv, entry)
        }

        fn done_by(&self, partnership: &str, id: &str) -> Option<(Millis, String)> {
            let s = self.store.deliverable(partnership, id).unwrap()?;
            s.done_at.zip(s.done_by)
        }
    }

    /// `partnership/id status` of each listed deliverable.
    fn statuses(list: &Value) -> Vec<String> {
        let s = |v: &Value| v.as_str().unwrap().to_string();
        list.as_array()
            .unwrap()
            .iter()
            .map(|d| format!("{}/{} {}", s(&d["partnership"]), s(&d["id"]), s(&d["status"])))
            .collect()
    }

    #[tokio::test]
    async fn deliverables_are_listed_with_their_status_and_marked_done_through_the_committer() {
        let api = Api::start().await;
        let (status, list) = api.get("/api/deliverables").await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(
            list[0],
            json!({
                "partnership": "hangzhou-leeds", "id": "library-draft", "title": "Library exchange programme draft",
                "kind": "deliverable", "owner": "leeds", "due": "2020-06-01T12:00:00Z", "status": "overdue",
                "done_at": null, "done_by": null,
            })
        );
        assert_eq!(list[3]["kind"], "meeting");
        assert_eq!(list[3]["due"], "2100-05-20T01:00:00Z", "in UTC");
        assert_eq!(
            statuses(&list),
            [
                "hangzhou-leeds/library-draft overdue",
                "hangzhou-leeds/report open",
                "gifu-leeds/report open",
                "gifu-leeds/visit open",
            ]
        );

        // Without a body: the id is the only one by that name.
        let (status, answer) = api.done("library-draft", None).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            answer,
            json!({
                "deliverable": "library-draft",
                "partnership": "hangzhou-leeds",
                "result": "`library-draft` (Library exchange programme draft) is marked done",
            })
        );
        assert_eq!(
            api.done_by("hangzhou-leeds", "library-draft"),
            Some((NOW, "admin".into())),
            "durable when answered"
        );
        // Again: nothing changes, and the answer says so.
        let (status, again) = api.done("library-draft", Some("{}")).await;
        assert_eq!(status, 200);
        assert!(again["result"].as_str().unwrap().ends_with("was already done"), "{again}");

        let (_, list) = api.get("/api/deliverables?partnership=hangzhou-leeds").await;
        assert_eq!(list.as_array().unwrap().len(), 2, "only the partnership asked for: {list}");
        assert_eq!(list[0]["status"], "done_late");
        assert_eq!((&list[0]["done_at"], &list[0]["done_by"]), (&json!("2027-01-01T00:00:00Z"), &json!("admin")));
    }

    #[tokio::test]
    async fn an_id_in_several_partnerships_is_a_conflict_until_one_is_named() {
        let api = Api::start().await;
        let (status, answer) = api.done("report", None).await;
        assert_eq!(status, 409, "{answer}");
        assert_eq!(answer["code"], "ambiguous");
        assert_eq!(answer["partnerships"], json!(["hangzhou-leeds", "gifu-leeds"]));
        let error = answer["error"].as_str().unwrap();
        assert!(error.contains("hangzhou-leeds, gifu-leeds") && error.contains("\"partnership\""), "{error}");
        assert_eq!(api.done_by("hangzhou-leeds", "report"), None);

        let (status, answer) = api.done("report", Some(r#"{"partnership": "gifu-leeds"}"#)).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!((&answer["deliverable"], &answer["partnership"]), (&json!("report"), &json!("gifu-leeds")));
        assert_eq!(api.done_by("gifu-leeds", "report"), Some((NOW, "admin".into())));
        assert_eq!(api.done_by("hangzhou-leeds", "report"), None, "the other partnership's is untouched");
        let (_, list) = api.get("/api/deliverables?partnership=gifu-leeds").await;
        assert_eq!(list[0]["status"], "done_on_time");
    }

    #[tokio::test]
    async fn unknown_ids_are_not_found_bad_bodies_are_refused_and_the_token_is_checked() {
        let api = Api::start().await;
        for (id, body) in [
            ("nope", None),
            ("report", Some(r#"{"partnership": "nope"}"#)),
            ("library-draft", Some(r#"{"partnership": "gifu-leeds"}"#)),
        ] {
            let (status, answer) = api.done(id, body).await;
            assert_eq!((status, &answer["code"]), (404, &json!("not_found")), "{id} {body:?}: {answer}");
        }
        for body in ["[1]", r#"{"partnership": 5}"#, r#"{"partner": "gifu-leeds"}"#] {
            let (status, answer) = api.done("visit", Some(body)).await;
            assert_eq!((status, &answer["code"]), (400, &json!("malformed")), "{body}: {answer}");
        }
        assert_eq!(api.done_by("gifu-leeds", "visit"), None);

        let url = |p: &str| format!("{}{p}", api.base);
        let r = api.http.post(url("/api/deliverables/visit/done")).send().await.unwrap();
        assert_eq!(r.status(), 401);
        let r = api.http.post(url("/api/deliverables/visit/done")).bearer_auth("wrong").send().await.unwrap();
        assert_eq!(r.status(), 401);
        let r = api.http.get(url("/api/deliverables")).send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(api.done_by("gifu-leeds", "visit"), None);
    }

    #[tokio::test]
    async fn the_directory_is_served_at_the_daemons_clock_with_its_filters() {
        let api = Api::start().await;
        let (status, all) = api.get("/api/directory").await;
        assert_eq!(status, 200, "{all}");
        let ids: Vec<&str> = all["cities"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["leeds", "hangzhou", "gifu"]);
        // The committer's clock: Friday 2027-01-01 00:00 UTC, before work (the default zone is UTC).
        assert_eq!(
            (&all["cities"][0]["local_time"], &all["cities"][0]["working_now"]),
            (&json!("2027-01-01T00:00:00+00:00"), &json!(false))
        );
        assert_eq!(
            all["cities"][2],
            json!({
                "id": "gifu", "name": "Gifu", "country": "JP", "timezone": "UTC", "local_time": "2027-01-01T00:00:00+00:00",
                "working_now": false, "languages": ["ja"], "instance": null,
                "contacts": [{"id": "gifu-sato", "name": "Sato Hana", "role": "International Exchange", "languages": ["ja"], "topics": []}],
                "partnerships": [{"id": "gifu-leeds", "channel": "webhook", "language": "en"}],
            })
        );
        let (status, leeds) = api.get("/api/directory?city=Leeds&partnership=gifu-leeds").await;
        assert_eq!(status, 200, "{leeds}");
        assert_eq!(leeds["cities"].as_array().unwrap().len(), 1);
        assert_eq!(
            leeds["cities"][0]["partnerships"],
            json!([{"id": "gifu-leeds", "channel": "webhook", "language": "en"}])
        );
        let (status, none) = api.get("/api/directory?topic=education").await;
        assert_eq!((status, none), (200, json!({"cities": []})));
        for path in ["/api/directory?city=atlantis", "/api/directory?partnership=nope"] {
            let (status, answer) = api.get(path).await;
            assert_eq!((status, &answer["code"]), (404, &json!("not_found")), "{path}: {answer}");
        }
        let r = api.http.get(format!("{}/api/directory", api.base)).send().await.unwrap();
        assert_eq!(r.status(), 401);
    }

    #[tokio::test]
    async fn a_partnership_s_report_comes_in_each_format_at_the_daemon_s_now() {
        let api = Api::start().await;
        let (status, r) = api.get("/api/partnerships/hangzhou-leeds/report?since=2026-12-01").await;
        assert_eq!(status, 200, "{r}");
        assert_eq!((&r["partnership"], &r["since"]), (&json!("hangzhou-leeds"), &json!("2026-12-01T00:00:00Z")));
        assert_eq!(r["until"], "2027-01-01T00:00:00Z", "until defaults to the daemon's clock");
        assert_eq!(r["messages"], 0);
        assert_eq!(r["members"].as_array().unwrap().len(), 2);
        assert_eq!(r["weeks"].as_array().unwrap().len(), 5, "2026-W49 to 2026-W53");
        let statuses: Vec<&str> =
            r["deliverables"].as_array().unwrap().iter().map(|d| d["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["overdue", "open"]);

        let get = |q: &str| api.http.get(format!("{}/api/partnerships/{q}", api.base)).bearer_auth(TOKEN).send();
        let html = get("hangzhou-leeds/report?format=html&since=2026-12-01").await.unwrap();
        assert_eq!(html.status(), 200);
        assert_eq!(html.headers()["content-type"], "text/html; charset=utf-8");
        assert_eq!(html.headers()["content-security-policy"], report::html::CSP);
        assert!(html.text().await.unwrap().starts_with("<!DOCTYPE html>"));
        let text = get("hangzhou-leeds/report?format=text&since=2026-12-01&until=2027-01-01T00:00:00Z").await.unwrap();
        assert_eq!(text.headers()["content-type"], "text/plain; charset=utf-8");
        assert!(text.text().await.unwrap().starts_with("Post-activity report: hangzhou-leeds\n"));

        for (query, status, code) in [
            ("nope/report", 404, "not_found"),
            ("hangzhou-leeds/report?format=pdf", 400, "malformed"),
            ("hangzhou-leeds/report?since=yesterday", 400, "malformed"),
            ("hangzhou-leeds/report?since=2027-02-01", 400, "empty_period"),
        ] {
            let answer = get(query).await.unwrap();
            assert_eq!(answer.status().as_u16(), status, "{query}");
            let body: Value = answer.json().await.unwrap();
            assert_eq!(body["code"], code, "{query}: {body}");
        }
        let r = api.http.get(format!("{}/api/partnerships/hangzhou-leeds/report", api.base)).send().await.unwrap();
        assert_eq!(r.status(), 401);
    }

    /// The ids listed in a JSON array under `field`.
    fn ids(list: &Value, field: &str) -> Vec<String> {
        list.as_array().unwrap().iter().map(|v| v[field].as_str().unwrap().to_string()).collect()
    }

    #[tokio::test]
    async fn a_city_admin_s_directory_and_reports_are_its_partnerships_and_their_members() {
        let api = Api::start().await;
        // Gifu is in gifu-leeds only: it sees Gifu and Leeds, and of Leeds only that partnership.
        let (status, dir) = api.get_as(GIFU, "/api/directory").await;
        assert_eq!(status, 200, "{dir}");
        assert_eq!(ids(&dir["cities"], "id"), ["leeds", "gifu"]);
        assert_eq!(ids(&dir["cities"][0]["partnerships"], "id"), ["gifu-leeds"]);
        let (_, all) = api.get("/api/directory").await;
        assert_eq!(ids(&all["cities"][0]["partnerships"], "id"), ["hangzhou-leeds", "gifu-leeds"]);
        // Hangzhou, and a partnership Gifu is not in, are answered as ones that do not exist.
        for (asked, unknown) in [
            ("/api/directory?city=hangzhou", "/api/directory?city=atlantis"),
            ("/api/directory?partnership=hangzhou-leeds", "/api/directory?partnership=nope"),
        ] {
            let (s1, a1) = api.get_as(GIFU, asked).await;
            let (s2, a2) = api.get_as(GIFU, unknown).await;
            assert_eq!((s1, s2, &a1["code"]), (404, 404, &a2["code"]), "{asked}: {a1}");
            let (words1, words2) = (a1["error"].as_str().unwrap(), a2["error"].as_str().unwrap());
            assert_eq!(
                words1.replace("hangzhou-leeds", "X").replace("hangzhou", "X"),
                words2.replace("atlantis", "X").replace("nope", "X")
            );
        }
        let (status, hangzhou) = api.get_as(HANGZHOU, "/api/directory?city=hangzhou").await;
        assert_eq!((status, ids(&hangzhou["cities"], "id")), (200, vec!["hangzhou".to_string()]));

        // Reports: its own partnership's, and another's is 404 as an unknown one's.
        let (status, own) = api.get_as(GIFU, "/api/partnerships/gifu-leeds/report?since=2026-12-01").await;
        assert_eq!((status, &own["partnership"]), (200, &json!("gifu-leeds")), "{own}");
        let (s1, a1) = api.get_as(GIFU, "/api/partnerships/hangzhou-leeds/report?since=2026-12-01").await;
        let (s2, a2) = api.get_as(GIFU, "/api/partnerships/nope/report?since=2026-12-01").await;
        assert_eq!((s1, s2), (404, 404));
        assert_eq!(
            a1["error"].as_str().unwrap().replace("hangzhou-leeds", "X"),
            a2["error"].as_str().unwrap().replace("nope", "X")
        );
        let (status, _) = api.get_as(HANGZHOU, "/api/partnerships/hangzhou-leeds/report?since=2026-12-01").await;
        assert_eq!(status, 200);
        for path in ["/api/directory", "/api/partnerships/gifu-leeds/report"] {
            assert_eq!(api.get_as(&format!("{GIFU}x"), path).await.0, 401, "{path}");
        }
    }

    #[tokio::test]
    async fn the_conversations_view_in_pages_shows_each_once_as_the_whole_view_does() {
        let api = Api::start().await;
        for (i, p) in
            ["hangzhou-leeds", "gifu-leeds", "hangzhou-leeds", "gifu-leeds", "hangzhou-leeds"].iter().enumerate()
        {
            let status = if i == 2 { DeliveryStatus::PermanentFailure } else { DeliveryStatus::Delivered };
            api.conversation(p, i as u64 + 1, status).await;
        }
        let page = |token: &'static str, path: String| {
            let (http, base) = (api.http.clone(), api.base.clone());
            async move {
                let r = http.get(format!("{base}{path}")).bearer_auth(token).send().await.unwrap();
                let link = r.headers().get("link").map(|l| l.to_str().unwrap().to_string());
                (r.status().as_u16(), link, r.json::<Value>().await.unwrap())
            }
        };
        // Every page of two, following the Link header: each conversation once, in id order,
        // each as the whole view shows it (its deliveries read from its messages).
        let (_, whole) = api.get("/api/conversations").await;
        let mut seen: Vec<Value> = Vec::new();
        let mut path = "/api/conversations?limit=2".to_string();
        let mut pages = 0;
        loop {
            let (status, link, list) = page(TOKEN, path.clone()).await;
            assert_eq!(status, 200, "{list}");
            pages += 1;
            seen.extend(list.as_array().unwrap().iter().cloned());
            match link {
                Some(l) => path = l.trim_start_matches('<').split('>').next().unwrap().to_string(),
                None => break,
            }
        }
        assert_eq!(pages, 3);
        let ids: Vec<String> = seen.iter().map(|v| v["conversation"].as_str().unwrap().to_string()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted, "id order");
        let mut whole: Vec<Value> = whole.as_array().unwrap().clone();
        whole.sort_by_key(|v| v["conversation"].as_str().unwrap().to_string());
        assert_eq!(seen, whole);
        assert!(seen.iter().any(|v| v["problems"].as_array().unwrap().len() == 1), "the failed delivery is shown");

        // A city admin's pages hold only its partnerships' conversations, and are full.
        let (_, link, first) = page(GIFU, "/api/conversations?limit=1".into()).await;
        assert_eq!(first.as_array().unwrap().len(), 1);
        assert_eq!(first[0]["partnership"], "gifu-leeds");
        let next = link.expect("a second gifu-leeds conversation follows");
        let path = next.trim_start_matches('<').split('>').next().unwrap().to_string();
        let (_, link, second) = page(GIFU, path).await;
        assert_eq!((second[0]["partnership"].as_str(), link), (Some("gifu-leeds"), None));

        let (status, _, answer) = page(TOKEN, "/api/conversations?after=nonsense".into()).await;
        assert_eq!((status, answer["code"].as_str()), (400, Some("bad_request")));
    }

    #[tokio::test]
    async fn a_city_admin_sees_only_its_partnerships_and_anything_else_is_not_found() {
        let api = Api::start().await;
        let (hl, hl_entry) = api.conversation("hangzhou-leeds", 1, DeliveryStatus::PermanentFailure).await;
        let (gl, gl_entry) = api.conversation("gifu-leeds", 2, DeliveryStatus::PermanentFailure).await;

        // Listings are filtered.
        let (status, all) = api.get("/api/conversations").await;
        assert_eq!(status, 200);
        let mut every = ids(&all, "conversation");
        every.sort();
        let mut both = [hl.id.to_string(), gl.id.to_string()];
        both.sort();
        assert_eq!(every, both);
        let (_, gifu) = api.get_as(GIFU, "/api/conversations").await;
        assert_eq!(ids(&gifu, "conversation"), [gl.id.to_string()]);
        let (_, hangzhou) = api.get_as(HANGZHOU, "/api/conversations").await;
        assert_eq!(ids(&hangzhou, "conversation"), [hl.id.to_string()]);
        let (_, asked) = api.get_as(GIFU, "/api/conversations?partnership=hangzhou-leeds").await;
        assert_eq!(asked, json!([]), "as a partnership that does not exist");
        let (_, failed) = api.get_as(GIFU, "/api/outbox?status=failed").await;
        assert_eq!(ids(&failed, "id"), [gl_entry.id.to_string()]);
        let (_, failed) = api.get("/api/outbox?status=failed").await;
        assert_eq!(ids(&failed, "id"), [hl_entry.id.to_string(), gl_entry.id.to_string()]);
        let (_, deliverables) = api.get_as(GIFU, "/api/deliverables").await;
        assert_eq!(statuses(&deliverables), ["gifu-leeds/report open", "gifu-leeds/visit open"]);

        // Another partnership's conversation, delivery or deliverable is answered as an unknown
        // id: the same status and code, the same words but for the id asked.
        let unknown = ConversationId::new().to_string();
        let (s1, a1) = api.post_as(GIFU, &format!("/api/conversations/{}/close", hl.id)).await;
        let (s2, a2) = api.post_as(GIFU, &format!("/api/conversations/{unknown}/close")).await;
        assert_eq!((s1, s2), (404, 404));
        assert_eq!(
            a1["error"].as_str().unwrap().replace(&hl.id.to_string(), "X"),
            a2["error"].as_str().unwrap().replace(&unknown, "X")
        );
        assert_eq!(a1["code"], a2["code"]);
        let (s1, a1) = api.post_as(GIFU, &format!("/api/outbox/{}/retry", hl_entry.id)).await;
        let (s2, a2) = api.post_as(GIFU, "/api/outbox/01ARZ3NDEKTSV4RRFFQ69G5FAV-0/retry").await;
        assert_eq!((s1, s2), (404, 404));
        assert_eq!(
            a1["error"].as_str().unwrap().replace(&hl_entry.id.to_string(), "X"),
            a2["error"].as_str().unwrap().replace("01ARZ3NDEKTSV4RRFFQ69G5FAV-0", "X")
        );
        let (status, answer) = api.done_as(GIFU, "library-draft", None).await;
        assert_eq!((status, &answer["error"]), (404, &json!("no deliverable `library-draft`")), "{answer}");
        let (status, answer) = api.done_as(GIFU, "report", Some(r#"{"partnership": "hangzhou-leeds"}"#)).await;
        assert_eq!((status, &answer["error"]), (404, &json!("no partnership `hangzhou-leeds`")), "{answer}");
        // `report` is in two partnerships, but only one is Gifu's: not ambiguous for its admin.
        let (status, answer) = api.done_as(GIFU, "report", None).await;
        assert_eq!((status, &answer["partnership"]), (200, &json!("gifu-leeds")), "{answer}");
        assert_eq!(
            api.done_by("gifu-leeds", "report"),
            Some((NOW, "gifu-admin".into())),
            "done by the admin who did it"
        );
        assert_eq!(api.done_by("hangzhou-leeds", "report"), None);
        let conv = api.store.conversation(hl.id).unwrap().unwrap();
        assert_eq!(conv.closed_at, None, "untouched");
        assert_eq!(
            api.store.outbox_entry(hl_entry.seq, &hl_entry.id).unwrap().unwrap().status,
            DeliveryStatus::PermanentFailure
        );

        // Their own is theirs to act on.
        let (status, answer) = api.post_as(HANGZHOU, &format!("/api/outbox/{}/retry", hl_entry.id)).await;
        assert_eq!(status, 200, "{answer}");

        // What concerns the whole instance is for all-scope admins.
        let (status, answer) = api.post_as(GIFU, "/api/reload").await;
        assert_eq!((status, &answer["code"]), (403, &json!("forbidden")));
        let r = api.http.get(format!("{}/metrics", api.base)).bearer_auth(GIFU).send().await.unwrap();
        assert_eq!(r.status(), 403);
        let r = api.http.get(format!("{}/metrics", api.base)).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let (_, health) = api.get_as(GIFU, "/healthz").await;
        assert_eq!(health, json!({"status": "ok"}), "no details for a city admin");
        let (_, health) = api.get("/healthz").await;
        assert_eq!(health["instance"], "test");

        // No token, or one no admin has: 401 everywhere, before anything is looked up.
        for path in ["/api/status", "/api/conversations", "/api/outbox", "/api/deliverables"] {
            assert_eq!(api.get_as("", path).await.0, 401, "{path}");
            assert_eq!(api.get_as(&format!("{GIFU}x"), path).await.0, 401, "{path}");
        }
        for path in [
            format!("/api/conversations/{}/close", gl.id),
            format!("/api/outbox/{}/retry", gl_entry.id),
            "/api/reload".into(),
        ] {
            assert_eq!(api.post_as("wrong", &path).await.0, 401, "{path}");
        }
    }

    #[tokio::test]
    async fn closing_a_conversation_settles_its_debts_through_the_committer() {
        let api = Api::start().await;
        let mut conv = sample_conversation("hangzhou-leeds");
        let debt =
            c2c_core::Owing { since: NOW - 1000, waiting: ["leeds".to_string()].into(), due: NOW + 1000, reminders: 0 };
        conv.owing.insert("hangzhou".into(), debt);
        let timer = c2c_core::Timer {
            key: c2c_core::Timer::reply_key(conv.id, "hangzhou", NOW - 1000, 1),
            due: NOW + 1000,
            what: c2c_core::TimerWhat::Reply {
                conversation: conv.id,
                partnership: "hangzhou-leeds".into(),
                member: "hangzhou".into(),
                since: NOW - 1000,
                window: 1,
                point: NOW + 1000,
            },
        };
        api.store
            .commit(Commit { conversations: vec![conv.clone()], timers: vec![timer.clone()], ..Commit::default() })
            .await
            .unwrap();

        let (status, answer) = api.post_as(HANGZHOU, &format!("/api/conversations/{}/close", conv.id)).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            answer,
            json!({"conversation": conv.id.to_string(), "partnership": "hangzhou-leeds", "result": "closed", "closed_at": "2027-01-01T00:00:00Z"})
        );
        let stored = api.store.conversation(conv.id).unwrap().unwrap();
        assert_eq!((stored.closed_at, stored.owing.len()), (Some(NOW), 0), "durable when answered");
        assert_eq!(api.store.timer(&timer.key).unwrap(), None, "its reminder ended");
        let (_, list) = api.get("/api/conversations").await;
        assert_eq!(list[0]["state"], "closed");

        let (status, again) = api.post_as(TOKEN, &format!("/api/conversations/{}/close", conv.id)).await;
        assert_eq!((status, &again["result"]), (200, &json!("already closed")));
        let (status, _) = api.post_as(TOKEN, "/api/conversations/not-an-id/close").await;
        assert_eq!(status, 404);
    }

    #[tokio::test]
    async fn a_retry_schedules_a_failed_delivery_again_and_hands_it_to_the_scheduler() {
        let mut api = Api::start().await;
        let (_, failed) = api.conversation("gifu-leeds", 3, DeliveryStatus::PermanentFailure).await;
        let (_, pending) = api.conversation("gifu-leeds", 4, DeliveryStatus::TemporaryFailure).await;

        let (status, answer) = api.post_as(GIFU, &format!("/api/outbox/{}/retry", failed.id)).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["status"], "scheduled");
        let stored = api.store.outbox_entry(failed.seq, &failed.id).unwrap().unwrap();
        assert_eq!(stored.status, DeliveryStatus::Scheduled, "durable when answered");
        assert_eq!((stored.next_due, stored.created_at, stored.attempts), (NOW, NOW, 1), "due now, its age from now");
        let handed = api.outbox.try_recv().expect("handed to the scheduler with the commit");
        assert_eq!(handed.iter().map(|q| &q.entry.id).collect::<Vec<_>>(), [&failed.id]);

        // Pending again now, so nothing to retry; nor for one still retrying.
        let (status, answer) = api.post_as(GIFU, &format!("/api/outbox/{}/retry", failed.id)).await;
        assert_eq!((status, &answer["code"], &answer["status"]), (409, &json!("not_failed"), &json!("scheduled")));
        let (status, answer) = api.post_as(GIFU, &format!("/api/outbox/{}/retry", pending.id)).await;
        assert_eq!((status, &answer["status"]), (409, &json!("temporary_failure")));
        assert!(api.outbox.try_recv().is_err(), "nothing more handed over");

        let (_, list) = api.get_as(GIFU, "/api/outbox?status=pending").await;
        assert_eq!(ids(&list, "id"), [failed.id.to_string(), pending.id.to_string()]);
        let (status, answer) = api.get_as(GIFU, "/api/outbox?status=lost").await;
        assert_eq!((status, &answer["code"]), (400, &json!("malformed")));
    }

    /// A connector whose inbound side is down.
    #[derive(Debug)]
    struct Down;

    #[async_trait::async_trait]
    impl Connector for Down {
        fn channel(&self) -> c2c_core::Channel {
            c2c_core::Channel::Email
        }
        async fn health(&self) -> c2c_core::Health {
            c2c_core::Health {
                ok: false,
                detail: "IMAP: connection refused (imap.example.org:993)".into(),
                since: Some(NOW - 60_000),
                last_error: Some(("IMAP: connection refused (imap.example.org:993)".into(), NOW - 1000)),
            }
        }
        async fn deliver(&self, _: &c2c_core::Delivery) -> Result<c2c_core::Receipt, c2c_core::DeliveryError> {
            Err(c2c_core::DeliveryError::temporary("down"))
        }
    }

    #[tokio::test]
    async fn the_status_says_what_is_down_and_details_are_for_all_scope_admins() {
        let api = Api::start_with(CONFIG, None, vec![Arc::new(Down)]).await;
        api.conversation("hangzhou-leeds", 1, DeliveryStatus::Scheduled).await;
        api.conversation("gifu-leeds", 2, DeliveryStatus::TemporaryFailure).await;

        let (status, all) = api.get("/api/status").await;
        assert_eq!(status, 200, "{all}");
        assert_eq!((&all["admin"], &all["scope"], &all["instance"]), (&json!("admin"), &json!([]), &json!("test")));
        let email = &all["connectors"][0];
        assert_eq!(
            (&email["channel"], &email["state"], &email["since"]),
            (&json!("email"), &json!("down"), &json!("2026-12-31T23:59:00Z"))
        );
        assert_eq!(email["detail"], "IMAP: connection refused (imap.example.org:993)");
        assert_eq!(email["last_error"]["side"], "inbound");
        // The scheduler has published nothing in this test: its figures are empty.
        assert_eq!((&all["outbox"]["pending"], &all["outbox"]["as_of"]), (&json!(0), &Value::Null));

        let (_, gifu) = api.get_as(GIFU, "/api/status").await;
        assert_eq!((&gifu["admin"], &gifu["scope"]), (&json!("gifu-admin"), &json!(["gifu"])));
        let email = &gifu["connectors"][0];
        assert_eq!(
            (&email["state"], &email["detail"], &email["last_error"]),
            (&json!("down"), &Value::Null, &Value::Null)
        );
        assert_eq!(gifu["outbox"]["pending"], 1, "its own partnerships' pending deliveries: {gifu}");
    }

    #[tokio::test]
    async fn a_reload_applies_a_good_config_and_lists_every_problem_of_a_bad_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c2c.toml");
        let text =
            CONFIG.replace("listen = \"127.0.0.1:1\"", "listen = \"127.0.0.1:1\"\nadmin_token_file = \"admin.token\"");
        let text = ["X_LEEDS", "X_HZ", "X_GIFU"].iter().fold(text, |t, var| {
            std::fs::write(dir.path().join(var), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n").unwrap();
            t.replace(&format!("secret_env = \"{var}\""), &format!("secret_file = \"{var}\""))
        });
        std::fs::write(dir.path().join("admin.token"), format!("{TOKEN}\n")).unwrap();
        std::fs::write(&path, &text).unwrap();
        let api = Api::start_with(&text, Some(&path), Vec::new()).await;

        // A good config, with a partnership more and the token rotated.
        let rotated = "rotated-admin-token-0123456789abcdef";
        std::fs::write(dir.path().join("admin.token"), format!("{rotated}\n")).unwrap();
        let more = text.replace("id = \"gifu-leeds\"", "id = \"gifu-leeds-2\"")
            + "\n[[partnerships]]\nid = \"gifu-hangzhou\"\nkind = \"city-city\"\nmembers = [\"gifu\", \"hangzhou\"]\n\
               objective = \"o\"\nlanguage = \"en\"\nreply_within = \"5d\"\nchannels = { gifu = \"webhook\", hangzhou = \"webhook\" }\n";
        std::fs::write(&path, &more).unwrap();
        let (status, answer) = api.post_as(TOKEN, "/api/reload").await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            answer,
            json!({"reloaded": true, "summary": "3 cities, 3 contacts, 3 partnerships; connectors: webhook", "restart_needed": []})
        );
        assert!(api.config.get().partnership("gifu-hangzhou").is_some());
        assert_eq!(api.get("/api/status").await.0, 401, "the old token is refused from now on");
        assert_eq!(api.get_as(rotated, "/api/status").await.0, 200);
        assert!(api.admins.get().authenticate(GIFU).is_none(), "the test's city admins are not in the file");

        // A bad one: every problem, located; the running config stays.
        let bad = more
            .replace(
                "reply_within = \"5d\"\nchannels = { gifu = \"webhook\", hangzhou",
                "reply_within = \"soon\"\nchannels = { gifu = \"webhook\", hangzhou",
            )
            .replace("country = \"JP\"", "country = \"Japan\"");
        std::fs::write(&path, &bad).unwrap();
        std::fs::write(dir.path().join("admin.token"), "short\n").unwrap();
        let (status, answer) = api.post_as(rotated, "/api/reload").await;
        assert_eq!((status, &answer["code"]), (422, &json!("invalid_config")), "{answer}");
        let file = path.display().to_string();
        let problems: Vec<&str> = answer["problems"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with(&format!("{file}:35:11: cities[2].country: \"Japan\" is not")), "{problems:?}");
        assert!(
            problems[1].starts_with(&format!("{file}:"))
                && problems[1].contains(": partnerships[2].reply_within: \"soon\" is not a duration"),
            "{problems:?}"
        );
        assert_eq!(api.config.get().partnerships.len(), 3, "the running config stays");
        assert_eq!(api.get_as(rotated, "/api/status").await.0, 200, "and its admins");

        // A file that parses but whose token is too short: refused too, at the token's key.
        std::fs::write(&path, &more).unwrap();
        let (status, answer) = api.post_as(rotated, "/api/reload").await;
        assert_eq!(status, 422, "{answer}");
        let problems = answer["problems"].to_string();
        assert!(
            problems.contains("bridge.admin_token_file: the admin token has 5 characters; at least 32"),
            "{problems}"
        );
        assert!(!problems.contains("short"), "never the token");
    }
}
