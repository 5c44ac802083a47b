//! SMS through AWS End User Messaging SMS (`pinpoint-sms-voice-v2` `SendTextMessage`).
//!
//! The sender applies as the origination identity: a sender ID must be registered (requested)
//! in End User Messaging for the destination country; without a sender, the configured
//! origination identity (a phone number, sender ID or pool) is used, or the service picks one.
//! The email's message id travels in the message context, for delivery tracking.

use aws_sdk_pinpointsmsvoicev2::Client;
use aws_sdk_pinpointsmsvoicev2::operation::send_text_message::SendTextMessageError;
use aws_sdk_pinpointsmsvoicev2::types::MessageType;

use super::errors::InDoubtClassifier;
use super::port_error;
use crate::config::{Config, SmsType};
use crate::ports::{OutgoingSms, PortError, SmsGateway};

use crate::event::{CONTEXT_MESSAGE_ID, CONTEXT_RECIPIENT};

/// The client, whose SDK retries stop where the message may have been taken: a second
/// `SendTextMessage` would be a second SMS.
pub fn client(sdk: &aws_config::SdkConfig) -> Client {
    Client::from_conf(
        aws_sdk_pinpointsmsvoicev2::config::Builder::from(sdk).retry_classifier(InDoubtClassifier).build(),
    )
}

pub struct EumSms {
    client: Client,
    message_type: MessageType,
    origination_identity: Option<String>,
    configuration_set: Option<String>,
}

impl EumSms {
    pub fn new(client: Client, config: &Config) -> EumSms {
        EumSms {
            client,
            message_type: match config.sms_type {
                SmsType::Transactional => MessageType::Transactional,
                SmsType::Promotional => MessageType::Promotional,
            },
            origination_identity: config.eum_origination_identity.clone(),
            configuration_set: config.eum_configuration_set.clone(),
        }
    }
}

impl SmsGateway for EumSms {
    async fn send(&self, sms: OutgoingSms<'_>) -> Result<String, PortError> {
        let origination =
            sms.sender.map(|sender| sender.as_str().to_owned()).or_else(|| self.origination_identity.clone());
        let output = self
            .client
            .send_text_message()
            .destination_phone_number(sms.to.e164())
            .message_body(sms.text)
            .message_type(self.message_type.clone())
            .set_origination_identity(origination)
            .set_configuration_set_name(self.configuration_set.clone())
            .context(CONTEXT_MESSAGE_ID, sms.message_id)
            .context(CONTEXT_RECIPIENT, sms.position.to_string())
            .send()
            .await
            .map_err(|error| {
                let opted_out = says_opted_out(error.as_service_error());
                let error = port_error("sms-voice", error);
                if opted_out { super::errors::opted_out(error) } else { error }
            })?;
        Ok(output.message_id.unwrap_or_default())
    }
}

// ----- opt-outs -----

/// The reason End User Messaging gives for refusing to text a number on the opt-out list of
/// the origination identity or configuration set.
pub const OPTED_OUT_REASON: &str = "DESTINATION_PHONE_NUMBER_OPTED_OUT";

/// Whether `SendTextMessage` refused because the number opted out: a `ConflictException` whose
/// reason is [`OPTED_OUT_REASON`] (a `ValidationException` saying so is read the same way).
fn says_opted_out(error: Option<&SendTextMessageError>) -> bool {
    match error {
        Some(SendTextMessageError::ConflictException(conflict)) => {
            conflict.reason().is_some_and(|reason| reason.as_str() == OPTED_OUT_REASON)
        }
        Some(SendTextMessageError::ValidationException(invalid)) => {
            invalid.reason().is_some_and(|reason| reason.as_str() == OPTED_OUT_REASON)
        }
        _ => false,
    }
}
