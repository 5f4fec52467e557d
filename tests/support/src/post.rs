//! Signed posts to the bridge's `/hooks/{city}`, as a city's system makes them.

use c2c_webhook::SigningSecret;
use serde_json::Value;

/// The bridge's answer.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// The `code` of an error answer.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

/// Post `body` to `base_url/hooks/city`, signed with `secret` under `id`, at Unix time `ts`.
pub async fn post_raw(base_url: &str, city: &str, secret: &SigningSecret, id: &str, ts: i64, body: &[u8]) -> Answer {
    let signature = secret.sign(id, ts, body);
    post_with_headers(base_url, city, id, &ts.to_string(), &signature, body.to_vec()).await
}

/// Post with exactly these signature headers.
pub async fn post_with_headers(
    base_url: &str,
    city: &str,
    id: &str,
    ts: &str,
    signature: &str,
    body: Vec<u8>,
) -> Answer {
    let r = reqwest::Client::new()
        .post(format!("{base_url}/hooks/{city}"))
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", ts)
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("the answer ({status}) is not JSON: {text}"));
    Answer { status, body }
}

/// Post JSON `body`, signed now.
pub async fn post_json(base_url: &str, city: &str, secret: &SigningSecret, id: &str, body: &Value) -> Answer {
    post_raw(base_url, city, secret, id, now(), &serde_json::to_vec(body).unwrap()).await
}

/// Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}
