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
        self.send_built(async { Ok::<_, DeliveryError>((message, ())) }).await.map(|((), _)| ())
    }

    /// Build a mail only once a session is free, then send it; returns what `build` returned
    /// beside the mail. A mail with attachments is several times their size once built (the
    /// parts, then base64), so building under the session permit bounds that memory by the
    /// number of sessions, not by the number of deliveries waiting.
    pub async fn send_built<T>(
        &self,
        build: impl std::future::Future<Output = Result<(lettre::Message, T), DeliveryError>>,
    ) -> Result<(T, ()), DeliveryError> {
        let _session = self.sessions.acquire().await.map_err(|_| DeliveryError::temporary("SMTP is shutting down"))?;
        let (message, extra) = build.await?;
        match self.transport.send(message).await.map(|_| (extra, ())) {
            Ok(sent) => Ok(sent),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A mail is built only once a session is free: with every session busy, no delivery holds
    /// a built mail (its attachments copied and encoded), however many are waiting.
    #[tokio::test(flavor = "current_thread")]
    async fn mails_are_built_only_under_a_session_permit() {
        // Nothing listens on this port: the sends fail after building, which is all we need.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let server = Server {
            host: "127.0.0.1".into(),
            port,
            security: Security::None,
            user: String::new(),
            password: String::new(),
            ca_pem: None,
        };
        let smtp = Smtp::new(&server, std::time::Duration::from_secs(5)).unwrap();
        let busy = smtp.sessions.clone().acquire_many_owned(SESSIONS as u32).await.unwrap();
        let built = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let (smtp, built) = (smtp.clone(), built.clone());
            tasks.push(tokio::spawn(async move {
                smtp.send_built(async {
                    built.fetch_add(1, Ordering::SeqCst);
                    Err::<(lettre::Message, ()), _>(DeliveryError::temporary("built"))
                })
                .await
            }));
        }
        // On this one thread, every task runs until it waits for a permit.
        for _ in 0..1000 {
            tokio::task::yield_now().await;
        }
        assert_eq!(built.load(Ordering::SeqCst), 0, "no mail is built while every session is busy");
        drop(busy);
        for t in tasks {
            assert!(t.await.unwrap().is_err());
        }
        assert_eq!(built.load(Ordering::SeqCst), 100);
    }
}
