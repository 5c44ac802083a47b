//! The adapters: one small module per AWS service, each implementing a port of
//! [`crate::ports`] on the SDK client. Clients are built once per container from the SDK's
//! standard configuration, so `AWS_ENDPOINT_URL` and `AWS_REGION` point them at AWS or at a
//! local emulator alike.

pub mod bootstrap;
pub mod contact_lists;
pub mod dynamodb;
pub mod end_user_messaging;
pub mod errors;
pub mod s3;
pub mod scheduler;
pub mod sesv2;
pub mod sns;
pub mod sqs;

pub(crate) use errors::{conditional, port_error};

use crate::account_cache::CachedLedger;
use crate::config::{Config, SmsProvider};
use crate::pipeline::{Gateway, Settings};
use crate::ports::{OutgoingSms, PortError, ScheduledSend, SendScheduler, SmsGateway};

/// Every IAM action the function's adapters call. A test checks that `template.yaml` grants
/// each of them to the function, and nothing else. (A DynamoDB transaction is authorised as
/// its parts: `PutItem`, `UpdateItem`, `ConditionCheckItem`.)
pub const FUNCTION_IAM_ACTIONS: &[&str] = &[
    "s3:GetObject",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:ConditionCheckItem",
    // The opt-out lists of an email of more than 49 recipients, read by key before its debit.
    "dynamodb:BatchGetItem",
    // The contact lists an email names, each read by one query on its owner and name.
    "dynamodb:Query",
    "sns:Publish",
    "sms-voice:SendTextMessage",
    "ses:SendEmail",
    "scheduler:CreateSchedule",
    "iam:PassRole",
    // The parts of large emails (SendMessageBatch is authorised as SendMessage).
    "sqs:SendMessage",
    // START by SMS takes the number off the account's opt-out list, only where its STOP put it.
    "dynamodb:DeleteItem",
];

/// The gateway on AWS.
pub type AwsGateway = Gateway<s3::S3Inbox, CachedLedger<dynamodb::DynamoLedger>, Sms, sesv2::SesMailer, Later>;

/// Builds the gateway's adapters once per container.
pub fn gateway(config: &Config, sdk: &aws_config::SdkConfig) -> AwsGateway {
    let sms = match config.sms_provider {
        SmsProvider::Sns => Sms::Sns(sns::SnsSms::new(sdk, config.sms_type)),
        SmsProvider::EndUserMessaging => {
            Sms::EndUserMessaging(end_user_messaging::EumSms::new(end_user_messaging::client(sdk), config))
        }
    };
    Gateway {
        settings: Settings {
            inbound_bucket: config.inbound_bucket.clone(),
            inbound_prefix: config.inbound_prefix.clone(),
            reply_from: config.reply_from.clone(),
            reply_require_auth: config.reply_require_auth,
            reply_limit_per_hour: config.reply_limit_per_hour,
            default_timezone: config.default_timezone,
            send_concurrency: config.send_concurrency,
            refund_failed_deliveries: config.refund_failed_deliveries,
            in_doubt_after: config.in_doubt_after,
            in_doubt_policy: config.in_doubt_policy,
            part_send_rate: config.part_send_rate(),
            two_way: config.two_way,
        },
        inbox: s3::S3Inbox::new(sdk, &config.inbound_bucket),
        ledger: CachedLedger::new(
            dynamodb::DynamoLedger::new(sdk, &config.accounts_table, &config.messages_table, &config.opt_outs_table)
                // SNS's delivery logs carry no context of ours; answers by SMS name only the
                // provider's id of the SMS they answer.
                .indexing_provider_ids(config.sms_provider == SmsProvider::Sns || config.two_way)
                .with_contact_lists(&config.contact_lists_table),
            config.account_cache_ttl,
        ),
        sms,
        mailer: sesv2::SesMailer::new(sdk, &config.reply_from),
        scheduler: Later {
            schedules: scheduler::EventBridgeScheduler::new(
                sdk,
                &config.schedule_group,
                config.scheduler_role_arn.clone(),
                config.schedule_dlq_arn.clone(),
            ),
            parts: sqs::SqsParts::new(sdk, config.parts_queue_url.clone()),
        },
        clock: chrono::Utc::now,
    }
}

/// What sends later on AWS: EventBridge Scheduler at a time, the SQS parts queue as soon as the
/// rate allows.
pub struct Later {
    pub schedules: scheduler::EventBridgeScheduler,
    pub parts: sqs::SqsParts,
}

impl SendScheduler for Later {
    async fn schedule(&self, send: &ScheduledSend) -> Result<(), PortError> {
        self.schedules.schedule(send).await
    }

    async fn queue_parts(&self, part_ids: &[String]) -> Result<(), PortError> {
        self.parts.queue(part_ids).await
    }
}

/// The SMS provider chosen by `SMS_PROVIDER`.
pub enum Sms {
    Sns(sns::SnsSms),
    EndUserMessaging(end_user_messaging::EumSms),
}

impl SmsGateway for Sms {
    async fn send(&self, sms: OutgoingSms<'_>) -> Result<String, PortError> {
        match self {
            Sms::Sns(sns) => sns.send(sms).await,
            Sms::EndUserMessaging(eum) => eum.send(sms).await,
        }
    }
}
