//! `webhook-send` and `webhook-listen`: what a city's system does, from the command line, for
//! trying the bridge out and for checking an integration.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use c2c_config::Config;
use c2c_webhook::wire::{InboundPost, OutboundPost};

use crate::app::{BadConfig, webhook_cities};

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
        .header("webhook-signature", signer.secret.sign(&id, ts, &body))
        .body(body)
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    println!("{} {text}", status.as_u16());
    if status.is_success() { Ok(()) } else { anyhow::bail!("the bridge answered {status}") }
}

/// Listen for the bridge's webhooks to one city, verify and print each.
pub async fn listen(path: &Path, city: &str, listen: Option<String>) -> anyhow::Result<()> {
    let config = load(path)?;
    let cities = webhook_cities(&config)?;
    let target =
        cities.get(city).with_context(|| format!("city `{city}` has no webhook in {}", path.display()))?.clone();
    let addr = match listen {
        Some(a) => a,
        None => {
            let url = reqwest::Url::parse(&target.url).with_context(|| format!("the webhook URL of {city}"))?;
            format!("{}:{}", url.host_str().unwrap_or("127.0.0.1"), url.port_or_known_default().unwrap_or(80))
        }
    };
    let tolerance =
        config.connectors.webhook.as_ref().map(|w| w.tolerance).unwrap_or(std::time::Duration::from_secs(300));
    let seen = Arc::new(Mutex::new(HashSet::<String>::new()));
    let handler = move |headers: HeaderMap, body: Bytes| {
        let target = target.clone();
        let seen = seen.clone();
        async move {
            let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            let id = h("webhook-id");
            let verified = target.secret.verify(
                &id,
                &h("webhook-timestamp"),
                &h("webhook-signature"),
                &body,
                c2c_core::now_ms() / 1000,
                tolerance,
            );
            if let Err(e) = verified {
                println!("REFUSED {id}: {e}");
                return StatusCode::UNAUTHORIZED;
            }
            let repeat = !seen.lock().unwrap_or_else(|p| p.into_inner()).insert(id.clone());
            match serde_json::from_slice::<OutboundPost>(&body) {
                Ok(post) => {
                    println!(
                        "{id}{} [{}] {} ({}) in {} / {} \"{}\" [{} {:.2}]\n  {}",
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
                    StatusCode::NO_CONTENT
                }
                Err(e) => {
                    println!("UNREADABLE {id}: {e}");
                    StatusCode::BAD_REQUEST
                }
            }
        }
    };
    let app = axum::Router::new().fallback(axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("listening on {addr}"))?;
    println!("listening on http://{addr} for {city}'s webhooks (Ctrl-C to stop)");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
