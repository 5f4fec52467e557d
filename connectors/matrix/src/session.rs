//! The bot's Matrix client: one device for its whole life.
//!
//! The first start logs in with the password and saves the session (`session.json`, mode 0600)
//! next to matrix-sdk's SQLite state and crypto store in `store_dir`; every later start restores
//! it, so the bot keeps its device, its keys and can still decrypt. If the server no longer
//! accepts the saved token, the bot logs in again *with the same device id*.

use std::path::Path;

use matrix_sdk::Client;
use matrix_sdk::authentication::matrix::MatrixSession;

use crate::config::MatrixSettings;

const SESSION_FILE: &str = "session.json";

/// Build the client and log in (or restore the saved session).
pub async fn connect(s: &MatrixSettings) -> Result<Client, String> {
    std::fs::create_dir_all(&s.store_dir).map_err(|e| format!("store_dir {}: {e}", s.store_dir.display()))?;
    let client = Client::builder()
        .homeserver_url(&s.homeserver)
        .sqlite_store(s.store_dir.join("sdk"), None)
        .build()
        .await
        .map_err(|e| format!("Matrix client: {e}"))?;
    let path = s.store_dir.join(SESSION_FILE);
    let saved: Option<MatrixSession> =
        std::fs::read_to_string(&path).ok().and_then(|text| serde_json::from_str(&text).ok());
    if let Some(session) = saved.clone() {
        client.restore_session(session).await.map_err(|e| format!("restoring the Matrix session: {e}"))?;
        match client.whoami().await {
            Ok(_) => return Ok(client),
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
    Ok(client)
}

fn save(path: &Path, session: &MatrixSession) -> Result<(), String> {
    let text = serde_json::to_string(session).map_err(|e| e.to_string())?;
    let tmp = path.with_extension("tmp");
    // The session holds the access token: never readable by others, not even for a moment.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let write = |mut f: std::fs::File| std::io::Write::write_all(&mut f, text.as_bytes());
    options.open(&tmp).and_then(write).map_err(|e| format!("{}: {e}", tmp.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(|e| e.to_string())?;
    }
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}
