//! SMS through Amazon SNS: one `Publish` to the phone number per recipient.

use aws_sdk_sns::Client;
use aws_sdk_sns::types::MessageAttributeValue;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::errors::InDoubtClassifier;
use super::port_error;
use crate::config::SmsType;
use crate::ports::{OutgoingSms, PortError, SmsGateway};

pub const SENDER_ID_ATTRIBUTE: &str = "AWS.SNS.SMS.SenderID";

/// The error code of SNS's refusal to text a number that opted out of the account's SMS
/// (`OptedOutException`).
pub const OPTED_OUT: &str = "OptedOut";
pub const SMS_TYPE_ATTRIBUTE: &str = "AWS.SNS.SMS.SMSType";

pub struct SnsSms {
    client: Client,
    sms_type: SmsType,
}

impl SnsSms {
    pub fn new(sdk: &aws_config::SdkConfig, sms_type: SmsType) -> SnsSms {
        // The SDK's retries stop where the SMS may have been taken: a second `Publish` would be
        // a second SMS.
        let config = aws_sdk_sns::config::Builder::from(sdk).retry_classifier(InDoubtClassifier).build();
        SnsSms { client: Client::from_conf(config), sms_type }
    }
}

fn string_attribute(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder().data_type("String").string_value(value).build().expect("data_type is set")
}

impl SmsGateway for SnsSms {
    async fn send(&self, sms: OutgoingSms<'_>) -> Result<String, PortError> {
        let mut publish = self
            .client
            .publish()
            .phone_number(sms.to.e164())
            .message(sms.text)
            .message_attributes(SMS_TYPE_ATTRIBUTE, string_attribute(self.sms_type.as_str()));
        if let Some(sender) = sms.sender {
            publish = publish.message_attributes(SENDER_ID_ATTRIBUTE, string_attribute(sender.as_str()));
        }
        let output = publish.send().await.map_err(|error| {
            let opted_out = error.code() == Some(OPTED_OUT);
            let error = port_error("sns", error);
            if opted_out { super::errors::opted_out(error) } else { error }
        })?;
        Ok(output.message_id.unwrap_or_default())
    }
}
