//! `[connectors.email]`, `[connectors.matrix]`, `[connectors.webhook]`.

use std::time::Duration;

use crate::diag::Diag;
use crate::formats::{check_email, check_http_url, check_matrix_user, is_loopback_host};
use crate::model::{
    Bridge, Connectors, EmailConnector, MailServer, MatrixConnector, Security, SenderAuth, WebhookConnector,
};
use crate::parse::non_empty;
use crate::reader::{Table, parse_duration};
use crate::secret::SecretRef;

pub(super) fn connectors(diag: &mut Diag<'_>, root: &mut Table<'_, '_>, bridge: &Bridge) -> Connectors {
    let Some(mut t) = root.opt_table(diag, "connectors") else {
        return Connectors::default();
    };
    let email = t.opt_table(diag, "email").map(|table| email(diag, table));
    let matrix = t.opt_table(diag, "matrix").map(|table| matrix(diag, table, bridge));
    let webhook = t.opt_table(diag, "webhook").map(|table| webhook(diag, table));
    t.finish(diag);
    Connectors { email, matrix, webhook }
}

fn email(diag: &mut Diag<'_>, mut t: Table<'_, '_>) -> EmailConnector {
    let address = t.req_parsed(diag, "address", |s| check_email(s).map(|()| s.to_string()));
    let imap = t.req_table(diag, "imap");
    let imap = mail_server(diag, imap, Protocol::Imap, &t.child("imap"));
    let smtp = t.req_table(diag, "smtp");
    let smtp = mail_server(diag, smtp, Protocol::Smtp, &t.child("smtp"));
    let processed_folder = t.opt_parsed(diag, "processed_folder", non_empty);
    let refused_folder = t.opt_parsed(diag, "refused_folder", non_empty);
    let max_attachment_bytes = t.opt_int(diag, "max_attachment_bytes", 0, 1 << 30);
    let max_mail_bytes = t.opt_int(diag, "max_mail_bytes", 1024, 1 << 30);
    let poll_interval = t.opt_duration(diag, "poll_interval");
    let sender_auth = t.opt_parsed(diag, "sender_auth", str::parse::<SenderAuth>);
    let trusted_authserv_ids = t.opt_str_list(diag, "trusted_authserv_ids").unwrap_or_default();
    let trusted_authserv_ids = authserv_ids(diag, &t.child("trusted_authserv_ids"), trusted_authserv_ids);
    t.finish(diag);
    EmailConnector {
        address: address.unwrap_or_default(),
        imap,
        smtp,
        processed_folder: processed_folder.unwrap_or_else(|| EmailConnector::DEFAULT_PROCESSED_FOLDER.into()),
        refused_folder: refused_folder.unwrap_or_else(|| EmailConnector::DEFAULT_REFUSED_FOLDER.into()),
        max_attachment_bytes: max_attachment_bytes
            .map(|n| n as usize)
            .unwrap_or(EmailConnector::DEFAULT_MAX_ATTACHMENT_BYTES),
        max_mail_bytes: max_mail_bytes.map(|n| n as usize).unwrap_or(EmailConnector::DEFAULT_MAX_MAIL_BYTES),
        poll_interval: poll_interval.unwrap_or(EmailConnector::DEFAULT_POLL_INTERVAL),
        sender_auth: sender_auth.unwrap_or_default(),
        trusted_authserv_ids,
    }
}

/// authserv-ids as mail servers write them: host names (RFC 8601 allows any token, but a space
/// or `;` would never match a header's first token), lowercased; each problem at its element.
fn authserv_ids(diag: &mut Diag<'_>, path: &str, ids: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for (i, id) in ids.into_iter().enumerate() {
        let at = crate::location::join_index(path, i);
        if diag.has_error(&at) {
            continue;
        }
        let id = id.trim().to_ascii_lowercase();
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')) {
            diag.value_error(&at, format!("{id:?} is not an authserv-id (a host name such as \"mail.example.org\")"));
        } else if out.contains(&id) {
            diag.value_error(&at, format!("{id:?} is listed twice"));
        } else {
            out.push(id);
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Imap,
    Smtp,
}

fn mail_server(diag: &mut Diag<'_>, table: Option<Table<'_, '_>>, protocol: Protocol, path: &str) -> MailServer {
    let at = diag.value_at(path);
    let placeholder = || SecretRef::Env { name: String::new(), at: at.clone() };
    let Some(mut t) = table else {
        return MailServer {
            host: String::new(),
            port: 0,
            security: Security::Tls,
            user: String::new(),
            password: placeholder(),
            mailbox: None,
            ca_file: None,
        };
    };
    let host = t.req_parsed(diag, "host", non_empty);
    let port = t.opt_int(diag, "port", 1, u64::from(u16::MAX));
    let security = t.opt_parsed(diag, "security", str::parse::<Security>);
    if let (Some(Security::None), Some(host)) = (security, &host)
        && !is_loopback_host(host)
    {
        diag.value_error(
            &t.child("security"),
            format!(
                "security = \"none\" sends the password in clear text; it is only allowed with a \
                 loopback host (127.0.0.1, ::1, localhost), not {host:?}"
            ),
        );
    }
    let security = security.unwrap_or(Security::Tls);
    let user = t.req_parsed(diag, "user", non_empty);
    let password = t.secret(diag, "password", true);
    let mailbox = match protocol {
        Protocol::Imap => Some(t.opt_parsed(diag, "mailbox", non_empty).unwrap_or_else(|| "INBOX".to_string())),
        Protocol::Smtp => None,
    };
    let ca_file = t.opt_parsed(diag, "ca_file", non_empty).map(|f| diag.resolve(&f));
    t.finish(diag);
    let default_port = match protocol {
        Protocol::Imap => security.default_imap_port(),
        Protocol::Smtp => security.default_smtp_port(),
    };
    MailServer {
        host: host.unwrap_or_default(),
        port: port.map_or(default_port, |p| p as u16),
        security,
        user: user.unwrap_or_default(),
        password: password.unwrap_or_else(placeholder),
        mailbox,
        ca_file,
    }
}

fn matrix(diag: &mut Diag<'_>, mut t: Table<'_, '_>, bridge: &Bridge) -> MatrixConnector {
    let homeserver =
        t.req_parsed(diag, "homeserver", |s| check_http_url(s).map(|()| s.trim_end_matches('/').to_string()));
    let user = t.req_parsed(diag, "user", |s| check_matrix_user(s).map(|()| s.to_string()));
    let password = t.secret(diag, "password", true);
    let store_dir = t.opt_parsed(diag, "store_dir", non_empty).map(|d| diag.resolve(&d));
    let store_passphrase = t.secret(diag, "store_passphrase", false);
    let encrypt_new_rooms = t.opt_bool(diag, "encrypt_new_rooms");
    let max_attachment_bytes = t.opt_int(diag, "max_attachment_bytes", 0, 1 << 30);
    let file_fetch_give_up_after = t.opt_parsed(diag, "file_fetch_give_up_after", |s| {
        parse_duration(s).and_then(|d| if d.is_zero() { Err("must be longer than zero".to_string()) } else { Ok(d) })
    });
    let at = diag.value_at(t.path());
    t.finish(diag);
    MatrixConnector {
        homeserver: homeserver.unwrap_or_default(),
        user: user.unwrap_or_default(),
        password: password.unwrap_or(SecretRef::Env { name: String::new(), at }),
        store_dir: store_dir.unwrap_or_else(|| bridge.data_dir.join("matrix")),
        store_passphrase,
        encrypt_new_rooms: encrypt_new_rooms.unwrap_or(true),
        max_attachment_bytes: max_attachment_bytes
            .map(|n| n as usize)
            .unwrap_or(MatrixConnector::DEFAULT_MAX_ATTACHMENT_BYTES),
        file_fetch_give_up_after: file_fetch_give_up_after.unwrap_or(MatrixConnector::DEFAULT_FILE_FETCH_GIVE_UP_AFTER),
    }
}

fn webhook(diag: &mut Diag<'_>, mut t: Table<'_, '_>) -> WebhookConnector {
    let default = WebhookConnector::default();
    let max_body_bytes = t.opt_int(diag, "max_body_bytes", 1, 1 << 30);
    let tolerance = t.opt_parsed(diag, "tolerance", |s| {
        parse_duration(s).and_then(
            |d: Duration| {
                if d.is_zero() { Err("must be longer than zero".to_string()) } else { Ok(d) }
            },
        )
    });
    t.finish(diag);
    WebhookConnector {
        max_body_bytes: max_body_bytes.map_or(default.max_body_bytes, |n| n as usize),
        tolerance: tolerance.unwrap_or(default.tolerance),
    }
}
