//! The command line's client of the running daemon's admin API (`/api/...`), for what only the
//! daemon may do: read the store while it holds the store's lock (`conversations`, `report`,
//! `outbox`), say how it is doing (`status`), change the store, which goes through its committer
//! (`deliverable done`, `close`, `outbox retry`), and reload its config (`reload`).
//!
//! It finds the daemon where the config says it listens (`[bridge] listen`; an unspecified
//! address such as `0.0.0.0` is asked on loopback) and uses the admin token the config names:
//! the `[bridge]` admin's, or with `--admin ID` that `[[admins]]` entry's.

use anyhow::Context;
use c2c_config::{Admin, Config, Secret};
use serde::de::DeserializeOwned;

/// Nothing answers where the config says the daemon listens: it is not running (a caller may
/// then read the store itself).
#[derive(Debug, thiserror::Error)]
#[error(
    "the daemon is not running: nothing answers at {base} ([bridge] listen). Start it with `c2c-bridge run --config FILE`"
)]
pub struct NotRunning {
    pub base: String,
}

/// The daemon's admin API, as the config describes it.
#[derive(Debug)]
pub struct AdminApi {
    /// `http://HOST:PORT`.
    base: String,
    token: Secret,
    http: reqwest::Client,
}

impl AdminApi {
    /// The API of the daemon run with `config`, asked as `admin` (an `[[admins]]` id; `None`
    /// or `admin`: the `[bridge]` admin); an error when the config names no such admin or its
    /// token cannot be read.
    pub fn new(config: &Config, admin: Option<&str>) -> anyhow::Result<Self> {
        let token = match admin.filter(|a| *a != Admin::BRIDGE_ID || config.bridge.admin_token.is_none()) {
            Some(id) => {
                let Some(a) = config.admins.iter().find(|a| a.id == id) else {
                    let ids: Vec<&str> = config.admins.iter().map(|a| a.id.as_str()).collect();
                    anyhow::bail!("no [[admins]] entry has id `{id}` (they are: {})", if ids.is_empty() { "none".into() } else { ids.join(", ") });
                };
                &a.token
            }
            None => config.bridge.admin_token.as_ref().context(
                "no [bridge] admin token is configured (admin_token_env or admin_token_file), so the daemon's admin API cannot be asked; name an [[admins]] entry with --admin ID",
            )?,
        };
        let token = token.resolve().map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut addr = config.bridge.listen;
        if addr.ip().is_unspecified() {
            let loopback: std::net::IpAddr = if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            };
            addr.set_ip(loopback);
        }
        Ok(Self { base: format!("http://{addr}"), token, http: reqwest::Client::new() })
    }

    /// `http://HOST:PORT`, where it is asked.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET path?query`: the JSON answer.
    pub async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, &str)]) -> anyhow::Result<T> {
        let url = reqwest::Url::parse_with_params(&format!("{}{path}", self.base), query)?.to_string();
        let response = self.send("GET", &url, self.http.get(&url)).await?;
        response.json().await.with_context(|| format!("GET {url}: the answer is not the JSON expected"))
    }

    /// `POST path` with `body` (JSON) or none: the JSON answer.
    pub async fn post(&self, path: &str, body: Option<&serde_json::Value>) -> anyhow::Result<serde_json::Value> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.post(&url);
        if let Some(b) = body {
            request = request.json(b);
        }
        let response = self.send("POST", &url, request).await?;
        response.json().await.with_context(|| format!("POST {url}: the answer is not JSON"))
    }

    /// `POST path` with no body: the status and the JSON answer, also for a 4xx the caller
    /// reads itself (`reload`'s list of problems); other refusals are errors.
    pub async fn post_answer(&self, path: &str) -> anyhow::Result<(u16, serde_json::Value)> {
        let url = format!("{}{path}", self.base);
        let response = match self.http.post(&url).bearer_auth(self.token.expose()).send().await {
            Ok(r) => r,
            Err(e) if e.is_connect() => return Err(NotRunning { base: self.base.clone() }.into()),
            Err(e) => return Err(e).with_context(|| format!("POST {url}")),
        };
        let status = response.status();
        if status.is_client_error() && status != reqwest::StatusCode::UNPROCESSABLE_ENTITY {
            let text = response.text().await.unwrap_or_default();
            return Err(self.refused("POST", &url, status, text));
        }
        let body = response.json().await.with_context(|| format!("POST {url}: the answer is not JSON"))?;
        Ok((status.as_u16(), body))
    }

    /// A refusal, with the daemon's own words.
    fn refused(&self, method: &str, url: &str, status: reqwest::StatusCode, text: String) -> anyhow::Error {
        let said = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["error"].as_str().map(String::from))
            .unwrap_or(text);
        match status {
            reqwest::StatusCode::UNAUTHORIZED => anyhow::anyhow!(
                "{method} {url}: the daemon refused the admin token ({said}); if the token was changed, reload the daemon (SIGHUP)"
            ),
            _ => anyhow::anyhow!("{method} {url}: {status}: {said}"),
        }
    }

    /// Send with the token; a refusal becomes an error with the daemon's own words.
    async fn send(
        &self,
        method: &str,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> anyhow::Result<reqwest::Response> {
        let response = match request.bearer_auth(self.token.expose()).send().await {
            Ok(r) => r,
            Err(e) if e.is_connect() => return Err(NotRunning { base: self.base.clone() }.into()),
            Err(e) => return Err(e).with_context(|| format!("{method} {url}")),
        };
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        Err(self.refused(method, url, status, text))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn config(listen: &str) -> Config {
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/example.toml"));
        let mut c = Config::parse(&std::fs::read_to_string(path).unwrap(), path).unwrap();
        c.bridge.listen = listen.parse().unwrap();
        c
    }

    #[tokio::test]
    async fn a_daemon_that_is_not_running_is_said_so() {
        // A port nothing listens on: bound, then released.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let api =
            AdminApi { base: format!("http://127.0.0.1:{port}"), token: Secret::new("t"), http: Default::default() };
        let e = api.post("/api/deliverables/x/done", None).await.unwrap_err();
        assert!(e.downcast_ref::<NotRunning>().is_some(), "a caller can tell: {e}");
        let e = e.to_string();
        assert!(e.starts_with("the daemon is not running: nothing answers at http://127.0.0.1:"), "{e}");
    }

    #[test]
    fn an_unspecified_listen_address_is_asked_on_loopback() {
        // The example names its admin token in a demo file next to it.
        assert_eq!(AdminApi::new(&config("0.0.0.0:8080"), None).unwrap().base, "http://127.0.0.1:8080");
        assert_eq!(AdminApi::new(&config("[::]:8080"), None).unwrap().base, "http://[::1]:8080");
        assert_eq!(AdminApi::new(&config("10.0.0.5:8080"), Some("admin")).unwrap().base, "http://10.0.0.5:8080");
    }

    #[test]
    fn an_admin_is_named_by_its_id_and_an_unknown_one_is_said_so() {
        let c = config("127.0.0.1:8080");
        let e = AdminApi::new(&c, Some("gifu-admin")).unwrap_err().to_string();
        assert_eq!(e, "no [[admins]] entry has id `gifu-admin` (they are: none)");
        let mut c = c;
        c.bridge.admin_token = None;
        let e = AdminApi::new(&c, None).unwrap_err().to_string();
        assert!(e.starts_with("no [bridge] admin token is configured"), "{e}");
    }
}
