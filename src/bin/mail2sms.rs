//! The Lambda function: builds its clients once per container, then serves invocations.
#![recursion_limit = "256"]

use lambda_runtime::{Diagnostic, LambdaEvent, run, service_fn, tracing};
use mail2sms::aws::{AwsGateway, gateway};
use mail2sms::config::Config;
use mail2sms::domain::recipient::mask_numbers_in;
use mail2sms::metrics;
use mail2sms::pipeline::{Invocation, PipelineError};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let sdk = aws_config::load_from_env().await;
    let gateway = gateway(&config, &sdk);
    let (gateway, namespace) = (&gateway, config.metrics_namespace.as_str());
    run(service_fn(move |event: LambdaEvent<Value>| async move { handle(gateway, namespace, event).await })).await
}

/// Serves one invocation; its outcomes become metrics, printed on stdout.
async fn handle(gateway: &AwsGateway, namespace: &str, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let invocation = Invocation {
        request_id: event.context.request_id.clone(),
        deadline: chrono::DateTime::from_timestamp_millis(event.context.deadline as i64)
            .unwrap_or_else(chrono::Utc::now),
        function_arn: event.context.invoked_function_arn.clone(),
    };
    // The parts queue reads the answer: the queue messages to hand out again.
    let from_queue = mail2sms::event::is_from_queue(&event.payload);
    match gateway.handle(event.payload, &invocation).await {
        Ok(outcomes) => {
            metrics::print(namespace, &outcomes);
            if from_queue {
                return Ok(mail2sms::fan_out::batch_response(&outcomes));
            }
            Ok(serde_json::json!({ "outcomes": outcomes }))
        }
        Err(error) => {
            let diagnostic = diagnostic(&error);
            tracing::error!(error = %diagnostic.error_message, retryable = error.is_retryable(), "invocation failed");
            Err(diagnostic)
        }
    }
}

/// The error as Lambda reports it: its type says whether a retry may help.
fn diagnostic(error: &PipelineError) -> Diagnostic {
    let error_type = if error.is_retryable() { "Mail2Sms.Retryable" } else { "Mail2Sms.Invalid" };
    // Lambda logs the message too: a provider's text may quote a number.
    Diagnostic { error_type: error_type.to_owned(), error_message: mask_numbers_in(&error.to_string()) }
}
