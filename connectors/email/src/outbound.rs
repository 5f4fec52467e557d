//! SMTP: a pooled lettre transport; 4xx and connection trouble are retried, 5xx fails for good.
//!
//! lettre's `max_size` bounds only the *idle* connections it keeps: with more sends in flight it
//! opens new sessions (TLS handshake + AUTH each) and closes them when they come back. So the
//! sends themselves are bounded to the pool's size, and every session is reused.

use std::sync::Arc;

use c2c_core::DeliveryError;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::{Security, Server};

/// The bridge's SMTP submission.
#[derive(Clone)]
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    server: String,
    /// One permit per pooled session.
    sessions: Arc<tokio::sync::Semaphore>,
}

/// SMTP sessions kept open (and mails in flight at once).
pub const SESSIONS: usize = 16;

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp").field("server", &self.server).finish_non_exhaustive()
    }
}

impl Smtp {
    pub fn new(server: &Server, timeout: std::time::Duration) -> Result<Self, String> {
        let tls_params = || -> Result<TlsParameters, String> {
            let mut b = TlsParameters::builder(server.host.clone());
            if let Some(pem) = &server.ca_pem {
                b = b.add_root_certificate(Certificate::from_pem(pem).map_err(|e| format!("SMTP CA file: {e}"))?);
            }
            b.build_rustls().map_err(|e| format!("SMTP TLS: {e}"))
        };
        let tls = match server.security {
            Security::Tls => Tls::Wrapper(tls_params()?),
            Security::StartTls => Tls::Required(tls_params()?),
            Security::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&server.host)
            .port(server.port)
            .tls(tls)
            .timeout(Some(timeout))
            .pool_config(PoolConfig::new().max_size(SESSIONS as u32));
        if !server.user.is_empty() {
            builder = builder.credentials(Credentials::new(server.user.clone(), server.password.clone()));
        }
        Ok(Self {
            transport: builder.build(),
            server: format!("{}:{}", server.host, server.port),
            sessions: Arc::new(tokio::sync::Semaphore::new(SESSIONS)),
        })
    }

    /// Send one mail.
    pub async fn send(&self, message: lettre::Message) -> Result<(), DeliveryError> {
        let _session = self.sessions.acquire().await.map_err(|_| DeliveryError::temporary("SMTP is shutting down"))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) => Err(classify(&self.server, &e)),
        }
    }

    /// Whether the server answers (a NOOP on a pooled connection).
    pub async fn check(&self) -> Result<(), String> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(format!("SMTP {} did not answer", self.server)),
            Err(e) => Err(format!("SMTP {}: {e}", self.server)),
        }
    }
}

/// SMTP 5xx is permanent; 4xx, timeouts, TLS and connection errors are worth retrying.
fn classify(server: &str, e: &lettre::transport::smtp::Error) -> DeliveryError {
    let code = e.status().map(|c| c.to_string());
    let reason = match &code {
        Some(code) => format!("SMTP {server} answered {code}: {e}"),
        None => format!("SMTP {server}: {e}"),
    };
    if e.is_permanent() { DeliveryError::permanent(reason) } else { DeliveryError::temporary(reason) }
}
