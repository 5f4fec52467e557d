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

/// Attachments larger than this in total are encoded on a blocking thread.
const BUILD_INLINE_BYTES: usize = 64 * 1024;

impl EmailConnector {
    pub fn new(settings: EmailSettings) -> Result<Self, String> {
        let smtp = Smtp::new(&settings.smtp, settings.timeout)?;
        crate::tls::client_config(settings.imap.ca_pem.as_deref()).map_err(|e| format!("IMAP TLS: {e}"))?;
        let health = Health::starting("IMAP not connected yet");
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
        let build = async {
            let files: usize =
                delivery.message.attachments.iter().filter_map(|a| a.content.as_ref()).map(Vec::len).sum();
            let composed = if files > BUILD_INLINE_BYTES {
                // Encoding megabytes of attachments takes CPU time: not on an async worker.
                let (d, s) = (delivery.clone(), self.settings.clone());
                tokio::task::spawn_blocking(move || compose(&d, &s))
                    .await
                    .map_err(|e| DeliveryError::temporary(format!("composing the mail failed (a bug): {e}")))?
            } else {
                compose(delivery, &self.settings)
            }
            .map_err(DeliveryError::permanent)?;
            Ok((composed.message, composed.message_id))
        };
        let (message_id, ()) = self.smtp.send_built(build).await?;
        Ok(Receipt { native_ids: vec![NativeKey::email(&message_id)], thread: Vec::new() })
    }
}
