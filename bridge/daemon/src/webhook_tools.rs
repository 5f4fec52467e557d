//! `webhook-send` and `webhook-listen`: what a city's system does, from the command line, for
//! trying the bridge out and for checking an integration.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use c2c_config::Config;
use c2c_webhook::WebhookCity;
use c2c_webhook::wire::{InboundPost, OutboundPost};

use crate::app::BadConfig;
use crate::channels::webhook_cities;

fn load(path: &Path) -> anyhow::Result<Config> {
    Config::load(path).map_err(|e| anyhow::Error::new(BadConfig(e)))
}

/// POST one signed message to the bridge and print its answer.
pub async fn send(
    path: &Path,
    city: &str,
    post: InboundPost,
    id: Option<String>,
    url: Option<String>,
) -> anyhow::Result<()> {
    let config = load(path)?;
    let cities = webhook_cities(&config)?;
    let signer = cities.get(city).with_context(|| format!("city `{city}` has no webhook in {}", path.display()))?;
    let url = url.unwrap_or_else(|| format!("http://{}/hooks/{city}", config.bridge.listen));
    let id = id.unwrap_or_else(|| format!("msg_{}", ulid::Ulid::new()));
    let body = serde_json::to_vec(&post)?;
    let ts = c2c_core::now_ms() / 1000;
    let response = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signer.keys.sign(&id, ts, &body))
        .body(body)
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    println!("{} {text}", status.as_u16());
    if status.is_success() { Ok(()) } else { anyhow::bail!("the bridge answered {status}") }
}

/// Listen for the bridge's webhooks, verify each with the secrets (current or previous) of the
/// city whose URL it came to, and print it.
pub async fn listen(path: &Path, only: Option<&str>, listen: Option<String>) -> anyhow::Result<()> {
    let config = load(path)?;
    let mut cities: Vec<WebhookCity> = webhook_cities(&config)?.into_values().collect();
    cities.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(c) = only {
        cities.retain(|w| w.id == c);
        anyhow::ensure!(!cities.is_empty(), "city `{c}` has no webhook in {}", path.display());
    }
    let host_port = |u: &reqwest::Url| -> String {
        format!("{}:{}", u.host_str().unwrap_or("127.0.0.1"), u.port_or_known_default().unwrap_or(80))
    };
    let addr = match listen {
        Some(a) => a,
        None => host_port(&cities.first().context("no city has a webhook")?.url),
    };
    // Path of each city's URL on this address → that city.
    let mut by_path = HashMap::new();
    for c in cities {
        if host_port(&c.url) == addr || only.is_some() {
            let p = c.url.path().to_string();
            println!("  {} ← POST {p}", c.id);
            by_path.insert(p, c);
        }
    }
    let tolerance =
        config.connectors.webhook.as_ref().map(|w| w.tolerance).unwrap_or(std::time::Duration::from_secs(300));
    let state = Arc::new((by_path, Mutex::new(HashSet::<String>::new()), tolerance));
    let handler = move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
        let state = state.clone();
        async move { receive(&state.0, &state.1, state.2, uri.path(), &headers, &body) }
    };
    let app = axum::Router::new().fallback(axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("listening on {addr}"))?;
    println!("listening on http://{addr} (Ctrl-C to stop)");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// Verify and print one webhook; the status the listener answers.
fn receive(
    by_path: &HashMap<String, WebhookCity>,
    seen: &Mutex<HashSet<String>>,
    tolerance: std::time::Duration,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> StatusCode {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let id = h("webhook-id");
    let Some(city) = by_path.get(path) else {
        println!("UNKNOWN PATH {path} ({id})");
        return StatusCode::NOT_FOUND;
    };
    let now = c2c_core::now_ms() / 1000;
    if let Err(e) = city.keys.verify(&id, &h("webhook-timestamp"), &h("webhook-signature"), body, now, tolerance) {
        println!("REFUSED for {} {id}: {e}", city.id);
        return StatusCode::UNAUTHORIZED;
    }
    let repeat = !seen.lock().unwrap_or_else(|p| p.into_inner()).insert(id.clone());
    match serde_json::from_slice::<OutboundPost>(body) {
        Ok(post) => {
            println!(
                "→ {} {id}{} [{}] from {} ({}) in {} / {} \"{}\" [{} {:.2}]\n  {}",
                city.id,
                if repeat { " (repeat)" } else { "" },
                post.kind,
                post.from.name,
                post.from.city_name.as_deref().or(post.from.city.as_deref()).unwrap_or("bridge"),
                post.partnership,
                post.conversation,
                post.subject,
                post.language.code,
                post.language.confidence,
                post.text.replace('\n', "\n  ")
            );
            if let Some(r) = &post.reminder {
                let about = r.deliverable.as_deref().or(r.conversation.as_deref()).unwrap_or("-");
                let waiting = r.waiting.join(", ");
                println!(
                    "  reminder {} about {about}: owed by {}, waiting {waiting}, due {}",
                    r.reason, r.owed_by, r.due
                );
            }
            StatusCode::NO_CONTENT
        }
        Err(e) => {
            println!("UNREADABLE for {} {id}: {e}", city.id);
            StatusCode::BAD_REQUEST
        }
    }
}
