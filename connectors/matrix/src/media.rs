//! Fetching the bytes of a file posted in Matrix from the homeserver's media repository.
//!
//! The download is streamed (`GET /_matrix/client/v1/media/download/{server}/{id}` with the
//! bot's access token) and stops as soon as more than the limit has arrived: the size an event
//! declares is the sender's word, and a `Content-Length` over the limit is refused before any
//! byte is read. A file in an encrypted room (`file` instead of `url`) is decrypted once it is
//! in, and its hash checked; AES-CTR keeps the size, so the limit bounds both. matrix-sdk's own
//! media API returns only whole files, hence the plain request here.
//!
//! Failures say what to do next: [`FetchError::Temporary`] may pass (a transport failure, a
//! server error, 429; the connector tries again, within a bound), the others will not.

use std::time::Duration;

use c2c_core::AttachmentDrop;
use matrix_sdk::Client;
use matrix_sdk::reqwest::{self, StatusCode, Url};
use matrix_sdk::ruma::events::room::message::{MessageType, RoomMessageEventContent};
use matrix_sdk::ruma::events::room::{EncryptedFile, MediaSource};
use matrix_sdk::ruma::{MxcUri, ServerName};
use serde_json::Value;

/// A download that receives nothing for this long has failed (as a transport failure would).
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the homeserver may wait for a file that was announced but is not uploaded yet
/// (asynchronous upload, Matrix 1.7). The connector asks again at its own pace.
const NOT_YET_UPLOADED_WAIT_MS: &str = "2000";
/// The most of an error answer that is read (for its `errcode`).
const MAX_ERROR_BODY: usize = 4096;

/// Why a file's bytes could not be had.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// More than `limit` bytes: declared, announced by `Content-Length`, or read.
    #[error("the file is larger than {limit} bytes (at least {seen})")]
    TooLarge { seen: u64, limit: u64 },
    /// A transport failure, a server error or 429: may pass.
    #[error("{0}")]
    Temporary(String),
    /// The homeserver refuses the file for good (gone, forbidden, too large for it).
    #[error("{0}")]
    Refused(String),
    /// The event names its bytes in a way that cannot be read, or they fail to decrypt or
    /// their hash check.
    #[error("{0}")]
    Unreadable(String),
}

impl FetchError {
    /// What the counter calls it when the file is dropped for this.
    pub fn drop_reason(&self) -> AttachmentDrop {
        match self {
            FetchError::TooLarge { .. } => AttachmentDrop::TooLarge,
            FetchError::Temporary(_) => AttachmentDrop::Unavailable,
            FetchError::Refused(_) => AttachmentDrop::Refused,
            FetchError::Unreadable(_) => AttachmentDrop::Unreadable,
        }
    }
}

/// What one fetch came to, and how many bytes it read from the network on the way.
#[derive(Debug)]
pub struct Fetched {
    pub result: Result<Vec<u8>, FetchError>,
    pub bytes_read: u64,
}

/// Fetch the bytes of the file event `content` (plain `url` or encrypted `file`), at most
/// `max_bytes` of them.
pub async fn fetch(client: &Client, content: &Value, max_bytes: u64) -> Fetched {
    let mut bytes_read = 0;
    let result = fetch_counting(client, content, max_bytes, &mut bytes_read).await;
    Fetched { result, bytes_read }
}

async fn fetch_counting(
    client: &Client,
    content: &Value,
    max_bytes: u64,
    bytes_read: &mut u64,
) -> Result<Vec<u8>, FetchError> {
    if let Some(declared) = content["info"]["size"].as_u64()
        && declared > max_bytes
    {
        return Err(FetchError::TooLarge { seen: declared, limit: max_bytes });
    }
    let source = source(content)?;
    let mxc = match &source {
        MediaSource::Plain(uri) => uri.as_ref(),
        MediaSource::Encrypted(file) => file.url.as_ref(),
    };
    let (server, media_id) = parts(mxc)?;
    let token = client.access_token().ok_or_else(|| FetchError::Temporary("not logged in to Matrix yet".into()))?;
    let http = client.http_client();
    let mut response =
        get(http, download_url(&client.homeserver(), MediaApi::Authenticated, server, media_id), &token).await?;
    if response.status() == StatusCode::NOT_FOUND || response.status() == StatusCode::METHOD_NOT_ALLOWED {
        let (status, errcode) = error_of(response).await;
        // A homeserver older than Matrix 1.11 knows only the unauthenticated endpoint.
        if errcode.as_deref() == Some("M_UNRECOGNIZED") || status == StatusCode::METHOD_NOT_ALLOWED {
            response =
                get(http, download_url(&client.homeserver(), MediaApi::Legacy, server, media_id), &token).await?;
        } else {
            return Err(FetchError::Refused(answer(status, errcode.as_deref())));
        }
    }
    let status = response.status();
    if !status.is_success() {
        let (status, errcode) = error_of(response).await;
        let text = answer(status, errcode.as_deref());
        return Err(if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            FetchError::Temporary(text)
        } else {
            FetchError::Refused(text)
        });
    }
    let data = read_bounded(response, max_bytes, bytes_read).await?;
    match source {
        MediaSource::Plain(_) => Ok(data),
        MediaSource::Encrypted(file) => decrypt(data, *file).await,
    }
}

/// Where the event's bytes are: its `url`, or its encrypted `file`.
fn source(content: &Value) -> Result<MediaSource, FetchError> {
    let parsed: RoomMessageEventContent = serde_json::from_value(content.clone())
        .map_err(|e| FetchError::Unreadable(format!("the file event cannot be read: {e}")))?;
    match parsed.msgtype {
        MessageType::File(f) => Ok(f.source),
        MessageType::Image(f) => Ok(f.source),
        MessageType::Video(f) => Ok(f.source),
        MessageType::Audio(f) => Ok(f.source),
        _ => Err(FetchError::Unreadable("not a file event".into())),
    }
}

/// The server name and media id of `mxc`; the id limited to the characters the spec allows.
fn parts(mxc: &MxcUri) -> Result<(&ServerName, &str), FetchError> {
    let (server, id) = mxc.parts().map_err(|e| FetchError::Unreadable(format!("the file's URI {mxc}: {e}")))?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(FetchError::Unreadable(format!("the file's URI {mxc} has an invalid media id")));
    }
    Ok((server, id))
}

#[derive(Clone, Copy, Debug)]
enum MediaApi {
    /// `/_matrix/client/v1/media/download` (Matrix 1.11), with the access token.
    Authenticated,
    /// `/_matrix/media/v3/download`, for older homeservers.
    Legacy,
}

fn download_url(homeserver: &Url, api: MediaApi, server: &ServerName, media_id: &str) -> Url {
    let mut url = homeserver.clone();
    let prefix: &[&str] = match api {
        MediaApi::Authenticated => &["_matrix", "client", "v1", "media", "download"],
        MediaApi::Legacy => &["_matrix", "media", "v3", "download"],
    };
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().extend(prefix).push(server.as_str()).push(media_id);
    }
    url.query_pairs_mut().append_pair("timeout_ms", NOT_YET_UPLOADED_WAIT_MS).append_pair("allow_redirect", "true");
    url
}

async fn get(http: &reqwest::Client, url: Url, token: &str) -> Result<reqwest::Response, FetchError> {
    let request = http.get(url).bearer_auth(token).send();
    match tokio::time::timeout(IDLE_TIMEOUT, request).await {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(e)) => Err(FetchError::Temporary(format!("fetching the file: {}", transport(&e)))),
        Err(_) => Err(FetchError::Temporary(format!("the homeserver did not answer within {IDLE_TIMEOUT:?}"))),
    }
}

/// A reqwest error without the URL (which carries nothing secret, but is long).
fn transport(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// The status and `errcode` of an error answer, reading at most [`MAX_ERROR_BODY`] of it.
async fn error_of(mut response: reqwest::Response) -> (StatusCode, Option<String>) {
    let status = response.status();
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY {
        match tokio::time::timeout(IDLE_TIMEOUT, response.chunk()).await {
            Ok(Ok(Some(chunk))) => body.extend_from_slice(&chunk[..chunk.len().min(MAX_ERROR_BODY - body.len())]),
            _ => break,
        }
    }
    let errcode = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["errcode"].as_str().map(|c| c.chars().take(64).collect()));
    (status, errcode)
}

fn answer(status: StatusCode, errcode: Option<&str>) -> String {
    match errcode {
        Some(code) => format!("the homeserver answered {status} ({code})"),
        None => format!("the homeserver answered {status}"),
    }
}

/// The body, chunk by chunk, refused as soon as it passes `max_bytes`.
async fn read_bounded(
    mut response: reqwest::Response,
    max_bytes: u64,
    bytes_read: &mut u64,
) -> Result<Vec<u8>, FetchError> {
    if let Some(length) = response.content_length()
        && length > max_bytes
    {
        return Err(FetchError::TooLarge { seen: length, limit: max_bytes });
    }
    let capacity = response.content_length().unwrap_or(0).min(max_bytes);
    let mut data = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    loop {
        let chunk = match tokio::time::timeout(IDLE_TIMEOUT, response.chunk()).await {
            Ok(Ok(Some(chunk))) => chunk,
            Ok(Ok(None)) => return Ok(data),
            Ok(Err(e)) => return Err(FetchError::Temporary(format!("reading the file: {}", transport(&e)))),
            Err(_) => return Err(FetchError::Temporary(format!("no data from the homeserver for {IDLE_TIMEOUT:?}"))),
        };
        *bytes_read += chunk.len() as u64;
        if *bytes_read > max_bytes {
            return Err(FetchError::TooLarge { seen: *bytes_read, limit: max_bytes });
        }
        data.extend_from_slice(&chunk);
    }
}

/// Decrypt an encrypted room's file and check its hash (on a blocking thread: it is CPU work
/// proportional to the size).
async fn decrypt(data: Vec<u8>, file: EncryptedFile) -> Result<Vec<u8>, FetchError> {
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut plain = Vec::with_capacity(data.len());
        let mut cursor = std::io::Cursor::new(data);
        let mut reader = matrix_sdk_crypto::AttachmentDecryptor::new(&mut cursor, file.into())
            .map_err(|e| FetchError::Unreadable(format!("the file's keys cannot be used: {e}")))?;
        reader
            .read_to_end(&mut plain)
            .map_err(|e| FetchError::Unreadable(format!("the file failed to decrypt: {e}")))?;
        Ok(plain)
    })
    .await
    .unwrap_or_else(|e| Err(FetchError::Unreadable(format!("decrypting the file failed: {e}"))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_download_url_names_the_server_and_the_media_id() {
        let hs: Url = "https://matrix.example.org/".parse().unwrap();
        let server: &ServerName = "c2c.test".try_into().unwrap();
        let url = download_url(&hs, MediaApi::Authenticated, server, "AbC_1-2");
        assert_eq!(
            url.as_str(),
            "https://matrix.example.org/_matrix/client/v1/media/download/c2c.test/AbC_1-2?timeout_ms=2000&allow_redirect=true"
        );
        let hs: Url = "https://example.org/matrix".parse().unwrap();
        let url = download_url(&hs, MediaApi::Legacy, server, "x");
        assert_eq!(url.path(), "/matrix/_matrix/media/v3/download/c2c.test/x");
    }

    #[test]
    fn a_media_id_outside_the_allowed_characters_is_unreadable() {
        let ok: &MxcUri = "mxc://c2c.test/abc".into();
        assert!(parts(ok).is_ok());
        for bad in ["mxc://c2c.test/a%2F..", "mxc://c2c.test/", "mxc://c2c.test/a?b", "https://x/y"] {
            let uri: &MxcUri = bad.into();
            assert!(matches!(parts(uri), Err(FetchError::Unreadable(_))), "{bad}");
        }
    }

    #[test]
    fn the_source_is_the_url_or_the_encrypted_file() {
        let plain = json!({"msgtype": "m.file", "body": "a.pdf", "url": "mxc://c2c.test/abc"});
        assert!(matches!(source(&plain), Ok(MediaSource::Plain(_))));
        let text = json!({"msgtype": "m.text", "body": "hi"});
        assert!(matches!(source(&text), Err(FetchError::Unreadable(_))));
    }

    fn encrypted(plain: &[u8]) -> (Vec<u8>, EncryptedFile) {
        use std::io::Read;
        let mut cursor = std::io::Cursor::new(plain.to_vec());
        let mut encryptor = matrix_sdk_crypto::AttachmentEncryptor::new(&mut cursor);
        let mut data = Vec::new();
        encryptor.read_to_end(&mut data).unwrap();
        let info = serde_json::to_value(encryptor.finish()).unwrap();
        let mut file = info.as_object().unwrap().clone();
        file.insert("url".into(), json!("mxc://c2c.test/abc"));
        (data, serde_json::from_value(Value::Object(file)).unwrap())
    }

    #[tokio::test]
    async fn an_encrypted_file_is_decrypted_and_a_tampered_one_is_unreadable() {
        let (data, file) = encrypted(b"the site plan");
        assert_eq!(data.len(), 13, "AES-CTR keeps the size: the limit bounds both");
        assert_eq!(decrypt(data.clone(), file.clone()).await.unwrap(), b"the site plan");
        let mut tampered = data;
        tampered[0] ^= 1;
        assert!(matches!(decrypt(tampered, file).await, Err(FetchError::Unreadable(_))));
    }

    /// A real HTTP server on loopback that answers any request with `head` and then `chunks`
    /// chunks of 8 KiB (chunked encoding) until the client goes away.
    async fn server(head: &'static str, chunks: usize) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = socket.read(&mut buf).await.unwrap();
                if n == 0 {
                    return;
                }
                request.extend_from_slice(&buf[..n]);
            }
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = [b"2000\r\n".as_slice(), &[b'x'; 8192], b"\r\n"].concat();
            for _ in 0..chunks {
                if socket.write_all(&chunk).await.is_err() {
                    return; // the client stopped reading
                }
            }
            let _ = socket.write_all(b"0\r\n\r\n").await;
        });
        url
    }

    #[tokio::test]
    async fn a_body_without_a_length_is_cut_once_it_passes_the_limit() {
        // 64 MiB on offer, no Content-Length: reading stops just past the limit.
        let url = server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 8192).await;
        let response = reqwest::Client::new().get(url).send().await.unwrap();
        let mut read = 0;
        let result = read_bounded(response, 100_000, &mut read).await;
        assert!(matches!(result, Err(FetchError::TooLarge { limit: 100_000, .. })), "{result:?}");
        assert!(read > 100_000 && read < 100_000 + 512 * 1024, "read {read} bytes of 64 MiB");
    }

    #[tokio::test]
    async fn a_length_over_the_limit_is_refused_before_reading() {
        let url = server("HTTP/1.1 200 OK\r\nContent-Length: 67108864\r\n\r\n", 0).await;
        let response = reqwest::Client::new().get(url).send().await.unwrap();
        let mut read = 0;
        let result = read_bounded(response, 100_000, &mut read).await;
        assert_eq!(result, Err(FetchError::TooLarge { seen: 67_108_864, limit: 100_000 }));
        assert_eq!(read, 0);
    }

    #[tokio::test]
    async fn a_body_within_the_limit_is_read_whole() {
        let url = server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 3).await;
        let response = reqwest::Client::new().get(url).send().await.unwrap();
        let mut read = 0;
        let data = read_bounded(response, 100_000, &mut read).await.unwrap();
        assert_eq!((data.len(), read), (3 * 8192, 3 * 8192));
    }

    #[test]
    fn drop_reasons_are_precise() {
        assert_eq!(FetchError::TooLarge { seen: 2, limit: 1 }.drop_reason(), AttachmentDrop::TooLarge);
        assert_eq!(FetchError::Temporary("x".into()).drop_reason(), AttachmentDrop::Unavailable);
        assert_eq!(FetchError::Refused("x".into()).drop_reason(), AttachmentDrop::Refused);
        assert_eq!(FetchError::Unreadable("x".into()).drop_reason(), AttachmentDrop::Unreadable);
    }
}
