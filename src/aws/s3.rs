//! The raw emails SES stored in S3.

use aws_sdk_s3::Client;
use aws_sdk_s3::operation::get_object::GetObjectError;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::port_error;
use crate::ports::{PortError, RawMailStore};

pub struct S3Inbox {
    client: Client,
    bucket: String,
}

impl S3Inbox {
    pub fn new(sdk: &aws_config::SdkConfig, bucket: &str) -> S3Inbox {
        // An emulator (AWS_ENDPOINT_URL) serves buckets by path, not by host name.
        let config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(sdk.endpoint_url().is_some()).build();
        S3Inbox { client: Client::from_conf(config), bucket: bucket.to_owned() }
    }
}

impl RawMailStore for S3Inbox {
    async fn fetch(&self, key: &str, limit: usize) -> Result<Option<Vec<u8>>, PortError> {
        let range = format!("bytes=0-{}", limit.max(1) - 1);
        let object = match self.client.get_object().bucket(&self.bucket).key(key).range(range).send().await {
            Ok(object) => object,
            Err(error) if matches!(error.as_service_error(), Some(GetObjectError::NoSuchKey(_))) => return Ok(None),
            // An empty object has no byte 0.
            Err(error) if error.code() == Some("InvalidRange") => return Ok(Some(Vec::new())),
            Err(error) => return Err(port_error("s3", error)),
        };
        let body = object
            .body
            .collect()
            .await
            .map_err(|e| PortError::Unavailable { service: "s3", message: e.to_string() })?;
        let mut raw = body.to_vec();
        // An S3 that ignored the range still yields no more than was asked for.
        raw.truncate(limit);
        Ok(Some(raw))
    }
}
