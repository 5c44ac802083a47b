//! Future sends through Amazon EventBridge Scheduler: one one-time schedule per message, named
//! after it, that invokes this same function with `{"scheduled_send": "<message id>"}`.

use aws_sdk_scheduler::Client;
use aws_sdk_scheduler::operation::create_schedule::CreateScheduleError;
use aws_sdk_scheduler::operation::delete_schedule::DeleteScheduleError;
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode, RetryPolicy, Target,
};
use chrono::{DateTime, Utc};

use super::port_error;
use crate::ports::{PortError, ScheduledSend};

/// How often and for how long EventBridge retries invoking the function.
pub const MAXIMUM_RETRY_ATTEMPTS: i32 = 10;
pub const MAXIMUM_EVENT_AGE_SECONDS: i32 = 6 * 3600;

pub struct EventBridgeScheduler {
    client: Client,
    group: String,
    role_arn: Option<String>,
    dead_letter_arn: Option<String>,
}

/// The schedule expression of an instant. The instant was resolved in the account's time zone
/// by [`crate::domain::date::resolve_local`]; it is handed over in UTC so that EventBridge never
/// has to interpret a local time on a daylight-saving edge.
pub fn at_expression(at: DateTime<Utc>) -> String {
    format!("at({})", at.format("%Y-%m-%dT%H:%M:%S"))
}

pub const EXPRESSION_TIMEZONE: &str = "UTC";

impl EventBridgeScheduler {
    /// Schedules in `group`, invoking the function as `role_arn`, failed invocations going to
    /// `dead_letter_arn`. Without a role it can delete schedules but not create them.
    pub fn new(
        sdk: &aws_config::SdkConfig,
        group: &str,
        role_arn: Option<String>,
        dead_letter_arn: Option<String>,
    ) -> EventBridgeScheduler {
        EventBridgeScheduler { client: Client::new(sdk), group: group.to_owned(), role_arn, dead_letter_arn }
    }

    /// Deletes a schedule; one already gone counts as deleted.
    pub async fn delete(&self, name: &str) -> Result<(), PortError> {
        match self.client.delete_schedule().group_name(&self.group).name(name).send().await {
            Ok(_) => Ok(()),
            Err(error)
                if matches!(error.as_service_error(), Some(DeleteScheduleError::ResourceNotFoundException(_))) =>
            {
                Ok(())
            }
            Err(error) => Err(port_error("scheduler", error)),
        }
    }
}

impl EventBridgeScheduler {
    /// Creates the schedule; one of the same name already there counts as created.
    pub async fn schedule(&self, send: &ScheduledSend) -> Result<(), PortError> {
        let Some(role_arn) = &self.role_arn else {
            return Err(PortError::Unavailable {
                service: "scheduler",
                message: "SCHEDULER_ROLE_ARN is not set: scheduled sends cannot be created".into(),
            });
        };
        let target = Target::builder()
            .arn(&send.target_arn)
            .role_arn(role_arn)
            .input(&send.input)
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_retry_attempts(MAXIMUM_RETRY_ATTEMPTS)
                    .maximum_event_age_in_seconds(MAXIMUM_EVENT_AGE_SECONDS)
                    .build(),
            )
            .set_dead_letter_config(
                self.dead_letter_arn.as_ref().map(|arn| DeadLetterConfig::builder().arn(arn).build()),
            )
            .build()
            .expect("arn and role are set");
        let window = FlexibleTimeWindow::builder().mode(FlexibleTimeWindowMode::Off).build().expect("mode is set");
        let created = self
            .client
            .create_schedule()
            .name(&send.name)
            .group_name(&self.group)
            .schedule_expression(at_expression(send.at))
            .schedule_expression_timezone(EXPRESSION_TIMEZONE)
            .flexible_time_window(window)
            .action_after_completion(ActionAfterCompletion::Delete)
            .target(target)
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            // A second delivery of the same email: the schedule is already there.
            Err(error) if matches!(error.as_service_error(), Some(CreateScheduleError::ConflictException(_))) => Ok(()),
            Err(error) => Err(port_error("scheduler", error)),
        }
    }
}
