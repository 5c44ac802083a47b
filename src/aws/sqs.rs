//! The parts queue of large emails (Amazon SQS): one queue message per part, whose body names
//! the part, `{"send_part": "<part id>"}`. The function is the queue's event source and
//! answers with the parts to hand out again (partial batch responses).

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use futures::future::try_join_all;

use super::port_error;
use crate::event::PartBody;
use crate::ports::PortError;

/// The most messages one `SendMessageBatch` takes.
const BATCH: usize = 10;

pub struct SqsParts {
    client: Client,
    /// `None` when the function has no parts queue: a large email then cannot be sent.
    queue_url: Option<String>,
}

impl SqsParts {
    pub fn new(sdk: &aws_config::SdkConfig, queue_url: Option<String>) -> SqsParts {
        SqsParts { client: Client::new(sdk), queue_url }
    }

    /// Queues one message per part, ten to a call, the calls at once. A part refused by the
    /// queue fails the whole step (the caller queues them all again: a part queued twice is
    /// sent once).
    pub async fn queue(&self, part_ids: &[String]) -> Result<(), PortError> {
        let Some(queue_url) = &self.queue_url else {
            return Err(PortError::Unavailable {
                service: "sqs",
                message: "PARTS_QUEUE_URL is not set: a large email cannot be sent in parts".into(),
            });
        };
        let batches = part_ids.chunks(BATCH).map(|batch| async move {
            let entries = batch
                .iter()
                .enumerate()
                .map(|(index, part_id)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(index.to_string())
                        .message_body(PartBody::for_part(part_id).to_body())
                        .build()
                        .expect("id and body are set")
                })
                .collect();
            let sent = self
                .client
                .send_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|error| port_error("sqs", error))?;
            match sent.failed().first() {
                None => Ok(()),
                Some(failed) if failed.sender_fault() => Err(PortError::Refused {
                    service: "sqs",
                    message: format!("{}: {}", failed.code(), failed.message().unwrap_or_default()),
                }),
                Some(failed) => Err(PortError::Unavailable {
                    service: "sqs",
                    message: format!("{}: {}", failed.code(), failed.message().unwrap_or_default()),
                }),
            }
        });
        try_join_all(batches).await.map(|_| ())
    }
}
