//! The bot's Matrix client: one device for its whole life.
//!
//! The first start logs in with the password and saves the session (`session.json`, mode 0600)
//! next to matrix-sdk's SQLite state and crypto store in `store_dir` (see [`crate::store`]);
//! every later start restores it, so the bot keeps its device, its keys and can still decrypt.
//! If the server no longer accepts the saved token, the bot logs in again *with the same device
//! id*.

use std::path::Path;

use matrix_sdk::Client;
use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::store::StateStoreDataKey;

use crate::config::MatrixSettings;

const SESSION_FILE: &str = "session.json";

/// Build the client on the store ([`crate::store::prepare`] has checked it) and log in (or
/// restore the saved session).
pub async fn connect(s: &MatrixSettings) -> Result<Client, String> {
    let client = crate::store::builder(s).build().await.map_err(|e| format!("Matrix client: {e}"))?;
    // The bridge keeps its own sync token, saved only once what came before it is committed.
    // matrix-sdk's own (saved as soon as it has read a batch) would make it answer the batch the
    // bridge fetches again after a crash with nothing ("same sync response twice"): forget it
    // before the session loads it.
    client
        .state_store()
        .remove_kv_data(StateStoreDataKey::SyncToken)
        .await
        .map_err(|e| format!("Matrix store: {e}"))?;
    let path = s.store_dir.join(SESSION_FILE);
    let saved: Option<MatrixSession> =
        std::fs::read_to_string(&path).ok().and_then(|text| serde_json::from_str(&text).ok());
    if let Some(session) = saved.clone() {
        client.restore_session(session).await.map_err(|e| format!("restoring the Matrix session: {e}"))?;
        match client.whoami().await {
            Ok(_) => return Ok(private(client, s)),
            Err(e) => {
                tracing::warn!(error = %e, "the saved Matrix session was refused; logging in again with the same device")
            }
        }
    }
    let mut login = client.matrix_auth().login_username(&s.user, &s.password).initial_device_display_name("c2c-bridge");
    let device = saved.as_ref().map(|sv| sv.meta.device_id.to_string());
    if let Some(device) = &device {
        login = login.device_id(device);
    }
    login.await.map_err(|e| format!("Matrix login as {}: {e}", s.user))?;
    let session = client.matrix_auth().session().ok_or("no session after login")?;
    save(&path, &session)?;
    tracing::info!(user = %session.meta.user_id, device = %session.meta.device_id, "logged in to Matrix");
    Ok(private(client, s))
}

/// The files matrix-sdk created while opening and logging in, made private too.
fn private(client: Client, s: &MatrixSettings) -> Client {
    if let Err(e) = crate::store::secure_files(&s.store_dir) {
        tracing::warn!(store = %s.store_dir.display(), error = %e, "could not make the Matrix store's files private");
    }
    client
}

fn save(path: &Path, session: &MatrixSession) -> Result<(), String> {
    // The session holds the access token: never readable by others, not even for a moment.
    let text = serde_json::to_string(session).map_err(|e| e.to_string())?;
    crate::store::write_private(path, text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))
}
