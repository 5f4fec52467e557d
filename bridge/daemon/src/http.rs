//! The HTTP listener: `/healthz`, `/metrics`, the admin API and the connectors' routes.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use c2c_config::{Config, Partnership, Secret};
use c2c_core::{Connector, Store, now_ms};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::clock::Clock;
use crate::conversations;
use crate::deliverables::{self, Lookup};
use crate::directory;
use crate::live::Live;
use crate::metrics::Metrics;
use crate::report::{self, Format, ReportError};
use crate::router::Router;

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
    /// What admins change (a deliverable marked done) is committed through the router, like
    /// every other change to the store.
    pub router: Router,
    /// The daemon's one clock: the directory's local times and working hours, and a report's
    /// "now", are read at it.
    pub clock: Clock,
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
        .route("/api/deliverables", get(api_deliverables))
        .route("/api/deliverables/{id}/done", post(api_deliverable_done))
        .route("/api/directory", get(api_directory))
        .route("/api/partnerships/{id}/report", get(api_report))
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

/// `?partnership=ID` of the listings.
#[derive(Debug, Deserialize)]
struct PartnershipQuery {
    partnership: Option<String>,
}

async fn api_conversations(
    State(s): State<HttpState>,
    headers: HeaderMap,
    Query(q): Query<PartnershipQuery>,
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

/// Every configured deliverable and meeting with its status.
async fn api_deliverables(
    State(s): State<HttpState>,
    headers: HeaderMap,
    Query(q): Query<PartnershipQuery>,
) -> Response {
    if let Some(denied) = deny(&s, &headers) {
        return denied;
    }
    let config = s.config.get();
    match deliverables::collect_at(s.store.as_ref(), &config, q.partnership.as_deref(), now_ms()) {
        Ok(views) => Json(views).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string(), "store"),
    }
}

/// The directory (`?city=ID&partnership=ID&topic=WORD`, each optional) at the daemon's now: 404
/// `not_found` for a city or partnership the config does not have.
async fn api_directory(State(s): State<HttpState>, headers: HeaderMap, Query(q): Query<directory::Query>) -> Response {
    if let Some(denied) = deny(&s, &headers) {
        return denied;
    }
    let config = s.config.get();
    let now = chrono::DateTime::from_timestamp_millis(s.clock.now()).unwrap_or_default();
    // A city-scoped admin will pass `Some(&directory::Visible::partners_of(&config, its cities))`:
    // what it may not see is then not found, as what does not exist.
    match directory::build(&config, now, &q, None) {
        Ok(found) => Json(found).into_response(),
        Err(e) => error(StatusCode::NOT_FOUND, &e.to_string(), "not_found"),
    }
}

/// The body of `POST /api/deliverables/{id}/done`, all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DoneBody {
    /// Needed only when several partnerships have a deliverable with this id.
    partnership: Option<String>,
}

/// Mark a deliverable done (its reminders end), as `admin`: 200 with the sentence the committer
/// answers once that is durable (also when it already was done); 404 for an id (or partnership)
/// the config does not have; 409 when the id is in several partnerships and none was named.
async fn api_deliverable_done(
    State(s): State<HttpState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Some(denied) = deny(&s, &headers) {
        return denied;
    }
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
        match deliverables::find(&config, &id, asked.partnership.as_deref()) {
            Ok((p, d)) => (p.id.clone(), d.id.clone()),
            Err(e) => return not_one(&e),
        }
    };
    match s.router.deliverable_done(&partnership, &deliverable, "admin").await {
        Ok(result) => {
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
    if let Some(denied) = deny(&s, &headers) {
        return denied;
    }
    let config = s.config.get();
    let Some(partnership) = partnership_for(&config, &id).cloned() else {
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
/// up, so a narrower admin scope (city admins) is checked here.
fn partnership_for<'c>(config: &'c Config, id: &str) -> Option<&'c Partnership> {
    config.partnership(id)
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

#[cfg(test)]
mod tests {
    use std::path::Path as FilePath;
    use std::time::Duration;

    use c2c_core::memory::MemoryStore;
    use c2c_core::{InstanceKey, Millis, Shutdown};
    use c2c_language::Tagger;
    use serde_json::Value;
    use tokio::sync::mpsc;

    use super::*;
    use crate::router::committer::Committer;

    const TOKEN: &str = "test-admin-token-0123456789abcdef";

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
        _outbox: mpsc::UnboundedReceiver<Vec<crate::outbox::Queued>>,
        _stop: Shutdown,
    }

    impl Api {
        async fn start() -> Self {
            let config = Config::parse(CONFIG, FilePath::new("test.toml")).unwrap();
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
            let state = HttpState {
                metrics,
                store: Arc::new(store.clone()),
                config,
                connectors: Vec::new(),
                admin_token: Live::new(Some(Secret::new(TOKEN))),
                supervision: Default::default(),
                router,
                clock: Clock::manual(NOW),
            };
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let app = app(state, axum::Router::new(), Duration::from_secs(30));
            tokio::spawn(async move { axum::serve(listener, app).await });
            Self { base, store, http: reqwest::Client::new(), _outbox: outbox, _stop: stop }
        }

        async fn get(&self, path: &str) -> (u16, Value) {
            let r = self.http.get(format!("{}{path}", self.base)).bearer_auth(TOKEN).send().await.unwrap();
            (r.status().as_u16(), r.json().await.unwrap())
        }

        async fn done(&self, id: &str, body: Option<&str>) -> (u16, Value) {
            let mut r = self.http.post(format!("{}/api/deliverables/{id}/done", self.base)).bearer_auth(TOKEN);
            if let Some(b) = body {
                r = r.header("content-type", "application/json").body(b.to_string());
            }
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.json().await.unwrap())
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
}
