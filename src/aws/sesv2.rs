//! Error replies through Amazon SES v2, as raw MIME (so that `In-Reply-To`, `References` and
//! `Auto-Submitted` are ours to set).

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};

use super::port_error;
use crate::ports::{PortError, ReplyMailer};

pub struct SesMailer {
    client: Client,
    from: String,
}

impl SesMailer {
    pub fn new(sdk: &aws_config::SdkConfig, from: &str) -> SesMailer {
        SesMailer { client: Client::new(sdk), from: from.to_owned() }
    }
}

impl ReplyMailer for SesMailer {
    async fn send_raw(&self, to: &str, mime: Vec<u8>) -> Result<(), PortError> {
        let raw = RawMessage::builder().data(Blob::new(mime)).build().expect("data is set");
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().raw(raw).build())
            .send()
            .await
            .map_err(|e| port_error("sesv2", e))?;
        Ok(())
    }
}
