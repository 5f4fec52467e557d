//! [`EmailConnector`]: the email channel, both directions.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use c2c_core::{
    Channel, Connector, ConnectorError, Delivery, DeliveryError, Health, Inbox, NativeKey, Receipt, Shutdown,
};

use crate::compose::compose;
use crate::config::EmailSettings;
use crate::inbound;
use crate::outbound::Smtp;

/// Officers on email: IMAP in, SMTP out.
#[derive(Debug, Clone)]
pub struct EmailConnector {
    settings: Arc<EmailSettings>,
    smtp: Smtp,
    /// The inbound side's own view of its health (connected, or why not).
    health: Arc<Mutex<Health>>,
}

impl EmailConnector {
    pub fn new(settings: EmailSettings) -> Result<Self, String> {
        let smtp = Smtp::new(&settings.smtp, settings.timeout)?;
        crate::tls::client_config(settings.imap.ca_pem.as_deref()).map_err(|e| format!("IMAP TLS: {e}"))?;
        let health = Health { ok: false, detail: "IMAP not connected yet".into() };
        Ok(Self { settings: Arc::new(settings), smtp, health: Arc::new(Mutex::new(health)) })
    }
}

#[async_trait]
impl Connector for EmailConnector {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    async fn health(&self) -> Health {
        self.health.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    async fn run_inbound(&self, inbox: Arc<dyn Inbox>, shutdown: Shutdown) -> Result<(), ConnectorError> {
        inbound::run(self.settings.clone(), self.smtp.clone(), inbox, shutdown, self.health.clone()).await;
        Ok(())
    }

    async fn deliver(&self, delivery: &Delivery) -> Result<Receipt, DeliveryError> {
        let composed = compose(delivery, &self.settings).map_err(DeliveryError::permanent)?;
        self.smtp.send(composed.message).await?;
        Ok(Receipt { native_ids: vec![NativeKey::email(&composed.message_id)] })
    }
}
