//! The Lambda function: builds its clients once per container, then serves invocations.
#![recursion_limit = "256"]

use lambda_runtime::{Diagnostic, LambdaEvent, run, service_fn, tracing};
use mail2sms::aws::{AwsGateway, gateway};
use mail2sms::config::Config;
use mail2sms::domain::recipient::{mask_numbers_in, parse_recipients};
use mail2sms::metrics;
use mail2sms::pipeline::{Invocation, PipelineError};
use serde_json::Value;

/// One thread: an invocation's work is one future (its SMS are sent concurrently by futures, not
/// threads), and on a multi-threaded runtime every AWS answer crossed from the worker thread that
/// read it to the thread running the handler, a wake-up and a task switch each time
/// (docs/performance.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let sdk = aws_config::load_from_env().await;
    let gateway = gateway(&config, &sdk);
    warm_up();
    let (gateway, namespace) = (&gateway, config.metrics_namespace.as_str());
    run(service_fn(move |event: LambdaEvent<Value>| async move { handle(gateway, namespace, event).await })).await
}

/// Does during init what the first email would otherwise pay for: libphonenumber's metadata is
/// loaded on first use, every pattern of every region parsed (about 50 ms of CPU), and the
/// patterns a French mobile number meets are compiled on first match.
fn warm_up() {
    std::hint::black_box(parse_recipients("+33612345678"));
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
