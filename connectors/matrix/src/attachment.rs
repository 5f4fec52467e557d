//! Attachments into Matrix: each one relayed with a message is uploaded to the homeserver's
//! media repository (encrypted first, in an encrypted room) and posted as its own `m.file` /
//! `m.image` / `m.video` / `m.audio` event in the conversation's thread. Attachments whose
//! content was dropped for being over the size limit stay a note in the message text.
//!
//! Out of Matrix: a file an officer posts is fetched by [`crate::media`].

use c2c_core::Attachment;
use matrix_sdk::{Client, Room};
use serde_json::{Value, json};

/// Where the uploaded bytes are: a plain `mxc://` URL, or an encrypted file (key, iv, hashes
/// and URL) for an encrypted room.
#[derive(Debug)]
pub enum Source {
    Plain(String),
    Encrypted(Value),
}

/// Upload the bytes of `a` for `room` (encrypting them when the room is encrypted).
pub async fn upload(client: &Client, room: &Room, a: &Attachment, data: &[u8]) -> Result<Source, matrix_sdk::Error> {
    let encrypted = room.latest_encryption_state().await?.is_encrypted();
    if encrypted {
        let mut reader = std::io::Cursor::new(data);
        let file = client.upload_encrypted_file(&mut reader).await?;
        let value = serde_json::to_value(&file).map_err(|e| matrix_sdk::Error::UnknownError(Box::new(e)))?;
        Ok(Source::Encrypted(value))
    } else {
        let mime: mime::Mime = a.content_type.parse().unwrap_or(mime::APPLICATION_OCTET_STREAM);
        let response = client.media().upload(&mime, data.to_vec(), None).await?;
        Ok(Source::Plain(response.content_uri.to_string()))
    }
}

/// The event content for one uploaded attachment, in the thread of `root`.
pub fn content(a: &Attachment, source: Source, root: &str) -> Value {
    let msgtype = match a.content_type.split('/').next().unwrap_or("") {
        "image" => "m.image",
        "video" => "m.video",
        "audio" => "m.audio",
        _ => "m.file",
    };
    let mut c = json!({
        "msgtype": msgtype,
        "body": a.filename,
        "filename": a.filename,
        "info": {"mimetype": a.content_type, "size": a.size},
        "m.relates_to": {
            "rel_type": "m.thread",
            "event_id": root,
            "is_falling_back": true,
            "m.in_reply_to": {"event_id": root},
        },
    });
    match source {
        Source::Plain(url) => c["url"] = json!(url),
        Source::Encrypted(file) => c["file"] = file,
    }
    c
}

/// The note in the message text for an attachment that is not uploaded (over the size limit).
pub fn too_large_note(a: &Attachment) -> String {
    format!("[The attachment \"{}\" ({} bytes) was too large to relay.]", a.filename, a.size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdf() -> Attachment {
        Attachment {
            filename: "plan.pdf".into(),
            content_type: "application/pdf".into(),
            size: 3,
            content: Some(b"%PD".to_vec()),
        }
    }

    #[test]
    fn a_plain_upload_is_a_file_event_in_the_thread() {
        let c = content(&pdf(), Source::Plain("mxc://c2c.test/abc".into()), "$root");
        assert_eq!(c["msgtype"], "m.file");
        assert_eq!(c["url"], "mxc://c2c.test/abc");
        assert_eq!(c["info"]["size"], 3);
        assert_eq!(c["m.relates_to"]["rel_type"], "m.thread");
        assert_eq!(c["m.relates_to"]["event_id"], "$root");
        assert!(c.get("file").is_none());
    }

    #[test]
    fn an_encrypted_upload_carries_the_file_keys_not_a_url() {
        let mut a = pdf();
        a.content_type = "image/png".into();
        let c = content(&a, Source::Encrypted(json!({"url": "mxc://c2c.test/x", "key": {"k": "K"}})), "$root");
        assert_eq!(c["msgtype"], "m.image");
        assert_eq!(c["file"]["key"]["k"], "K");
        assert!(c.get("url").is_none());
    }
}
