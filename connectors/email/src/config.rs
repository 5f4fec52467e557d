//! The email connector's own settings, filled by the daemon from `[connectors.email]` (with
//! secrets read and the CA file loaded). The connector knows nothing about partnerships.

use std::time::Duration;

/// How a connection to a mail server is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    Tls,
    /// Plain, then `STARTTLS` (required, never optional).
    StartTls,
    /// Plain text: only for loopback test servers (the config refuses it elsewhere).
    None,
}

/// One server (IMAP or SMTP).
#[derive(Clone)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub user: String,
    pub password: String,
    /// Extra trusted root certificates (PEM), for private CAs and test servers.
    pub ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.user)
            .field("password", &"***")
            .finish_non_exhaustive()
    }
}

/// What a mail must show before its From address is believed (see `classify`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SenderAuth {
    /// A `pass` aligned with the From domain (DMARC, or DKIM or SPF) in an Authentication-Results
    /// header of a trusted authserv-id; a mail without one is refused as `authentication_failed`.
    #[default]
    Require,
    /// Only a recorded `fail` refuses; no result at all passes. For mail servers that add no
    /// Authentication-Results: a forged From is then believed.
    IfPresent,
}

/// Everything the email connector needs.
#[derive(Clone, Debug)]
pub struct EmailSettings {
    /// The bridge's address (`bridge@c2c.example.org`); replies come to `bridge+TOKEN@…`.
    pub address: String,
    pub imap: Server,
    pub smtp: Server,
    /// The mailbox watched for new mail.
    pub mailbox: String,
    /// Where committed mail is moved.
    pub processed_folder: String,
    /// Where refused mail is moved, for an admin to look at.
    pub refused_folder: String,
    pub max_attachment_bytes: usize,
    /// Mail larger than this is not fetched whole, only its start (see `inbound`).
    pub max_mail_bytes: usize,
    /// How often to look for mail when the server has no IDLE.
    pub poll_interval: Duration,
    /// How long one IDLE lasts before it is renewed (servers drop IDLE after 30 minutes).
    pub idle_renew: Duration,
    /// The bridge instance, in the `X-C2C-Bridge` header of everything it sends.
    pub instance: String,
    /// Timeout of one SMTP delivery.
    pub timeout: Duration,
    /// What a mail must show before its From address is believed.
    pub sender_auth: SenderAuth,
    /// authserv-ids of the receiving mail server: only its Authentication-Results are read.
    pub trusted_authserv_ids: Vec<String>,
    /// The instance key: tags Message-IDs and return paths (see `compose`, `classify`).
    pub key: c2c_core::InstanceKey,
}

impl EmailSettings {
    pub const DEFAULT_IDLE_RENEW: Duration = Duration::from_secs(25 * 60);

    /// The local part before any `+` (`bridge`).
    pub fn local(&self) -> &str {
        self.address.split('@').next().unwrap_or("").split('+').next().unwrap_or("")
    }

    /// The domain of the bridge's address.
    pub fn domain(&self) -> &str {
        self.address.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }
}
