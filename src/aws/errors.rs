//! What an SDK error means for the gateway: the service said "not now" (the call may be made
//! again), it may or may not have acted (in doubt: a call that sends must not be repeated), or
//! it refused the request for good.
//!
//! The same reading drives the SDK's own retries of the SMS providers ([`InDoubtClassifier`]):
//! the SDK's standard retry would publish an SMS again after a lost answer.

use std::error::Error;

use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::result::{ConnectorError, SdkError};
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction, RetryClassifierPriority};
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::domain::recipient::mask_numbers_in;
use crate::ports::PortError;

/// Error codes by which a service says it did not act and may be asked again.
const NOT_NOW_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "TransactionConflictException",
    // Cancellations caused by a failed condition are told apart where they are expected;
    // any other cancellation is a conflict or throttling.
    "TransactionCanceledException",
    "TransactionInProgressException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "SlowDown",
    "KMSThrottlingException",
    // A permissions or account problem is the operator's to fix; the message waits for a retry.
    "AuthorizationError",
    "AccessDenied",
    "AccessDeniedException",
];

/// Error codes of a service fault whose outcome the service does not state.
const IN_DOUBT_CODES: &[&str] =
    &["InternalError", "InternalFailure", "InternalServerError", "InternalServerException", "InternalException"];

/// HTTP statuses that say "not processed, try again" without a code we know.
const NOT_NOW_STATUSES: &[u16] = &[429, 503];

/// How a failed call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doubt {
    NotNow,
    InDoubt,
    Refused,
}

/// Reads an SDK error.
pub fn doubt<E: ProvideErrorMetadata>(error: &SdkError<E, Response>) -> Doubt {
    match error {
        // Never sent: the request could not be built.
        SdkError::ConstructionFailure(_) => Doubt::Refused,
        SdkError::DispatchFailure(failure) => match failure.as_connector_error() {
            Some(connector) if connector.is_user() => Doubt::Refused,
            Some(connector) if never_reached(connector) => Doubt::NotNow,
            _ => Doubt::InDoubt,
        },
        // The request may have been written: a timeout or an unreadable answer.
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => Doubt::InDoubt,
        SdkError::ServiceError(service) => by_answer(error.code(), service.raw().status().as_u16()),
        _ => Doubt::InDoubt,
    }
}

/// Reads a service's error answer by its code, or by its status when it has none.
fn by_answer(code: Option<&str>, status: u16) -> Doubt {
    match code {
        Some(code) if NOT_NOW_CODES.contains(&code) => Doubt::NotNow,
        Some(code) if IN_DOUBT_CODES.contains(&code) => Doubt::InDoubt,
        _ if NOT_NOW_STATUSES.contains(&status) => Doubt::NotNow,
        _ if status >= 500 => Doubt::InDoubt,
        Some(_) => Doubt::Refused,
        // A 4xx without a code: the request was read and refused.
        None => Doubt::Refused,
    }
}

/// Whether a connection error happened before the request could leave: the connection was
/// refused or could not be opened.
fn never_reached(error: &ConnectorError) -> bool {
    let mut source: Option<&(dyn Error + 'static)> = Some(error);
    while let Some(error) = source {
        if let Some(io) = error.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::AddrNotAvailable
                    | std::io::ErrorKind::NetworkUnreachable
                    | std::io::ErrorKind::HostUnreachable
            )
        {
            return true;
        }
        source = error.source();
    }
    false
}

/// A conditional DynamoDB write's answer: what `made` makes of its output, `unmet` when its
/// condition did not hold (ConditionalCheckFailedException), the port's error otherwise.
pub(crate) fn conditional<O, E, T>(
    answer: Result<O, SdkError<E, Response>>,
    made: impl FnOnce(O) -> T,
    unmet: T,
) -> Result<T, PortError>
where
    E: ProvideErrorMetadata + Error + Send + Sync + 'static,
{
    match answer {
        Ok(output) => Ok(made(output)),
        Err(error) if error.code() == Some("ConditionalCheckFailedException") => Ok(unmet),
        Err(error) => Err(port_error("dynamodb", error)),
    }
}

/// Turns an SDK error into the port's error, its message masked (a provider's message may
/// quote the phone number, and it goes to logs).
pub(crate) fn port_error<E>(service: &'static str, error: SdkError<E, Response>) -> PortError
where
    E: ProvideErrorMetadata + Error + Send + Sync + 'static,
{
    let message = mask_numbers_in(&match error.code() {
        Some(code) => format!("{code}: {}", error.message().unwrap_or_default()),
        None => DisplayErrorContext(&error).to_string(),
    });
    match doubt(&error) {
        Doubt::NotNow => PortError::Unavailable { service, message },
        Doubt::InDoubt => PortError::InDoubt { service, message },
        Doubt::Refused => PortError::Refused { service, message },
    }
}

// ----- opt-outs -----

/// A refusal the service gave because the recipient opted out (the caller read it in the
/// service's own words): [`PortError::OptedOut`]. Anything else is left as it is.
pub(crate) fn opted_out(error: PortError) -> PortError {
    match error {
        PortError::Refused { service, message } => PortError::OptedOut { service, message },
        other => other,
    }
}

/// A retry classifier for calls that send something and carry no idempotency token (SNS
/// `Publish`, End User Messaging `SendTextMessage`): it forbids the SDK's retry whenever the
/// service may have acted, and leaves the standard classifiers' verdict (throttling, 503, a
/// refused connection) otherwise. It runs after them, so its word is the last.
#[derive(Debug, Default, Clone, Copy)]
pub struct InDoubtClassifier;

impl ClassifyRetry for InDoubtClassifier {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(error)) = ctx.output_or_error() else { return RetryAction::NoActionIndicated };
        let in_doubt = if error.is_timeout_error() || error.is_response_error() {
            true
        } else if let Some(connector) = error.as_connector_error() {
            !connector.is_user() && !never_reached(connector)
        } else if let Some(response) = ctx.response() {
            let status = response.status().as_u16();
            status >= 500 && !NOT_NOW_STATUSES.contains(&status)
        } else {
            false
        };
        if in_doubt { RetryAction::RetryForbidden } else { RetryAction::NoActionIndicated }
    }

    fn name(&self) -> &'static str {
        "Mail2SMS in-doubt sends"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn answered(status: u16, code: Option<&str>) -> SdkError<ErrorMetadata, Response> {
        let response = Response::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
        let mut metadata = ErrorMetadata::builder().message("m");
        if let Some(code) = code {
            metadata = metadata.code(code);
        }
        SdkError::service_error(metadata.build(), response)
    }

    fn dispatch(connector: ConnectorError) -> SdkError<ErrorMetadata, Response> {
        SdkError::dispatch_failure(connector)
    }

    #[test]
    fn throttling_unavailability_and_permission_problems_are_not_now() {
        for code in ["Throttling", "ProvisionedThroughputExceededException", "AuthorizationError", "SlowDown"] {
            assert_eq!(doubt(&answered(400, Some(code))), Doubt::NotNow, "{code}");
        }
        assert_eq!(doubt(&answered(503, None)), Doubt::NotNow);
        assert_eq!(doubt(&answered(429, None)), Doubt::NotNow);
        assert_eq!(doubt(&answered(503, Some("ServiceUnavailable"))), Doubt::NotNow);
    }

    #[test]
    fn a_server_fault_that_does_not_say_what_it_did_is_in_doubt() {
        assert_eq!(doubt(&answered(500, Some("InternalError"))), Doubt::InDoubt);
        assert_eq!(doubt(&answered(500, None)), Doubt::InDoubt);
        assert_eq!(doubt(&answered(502, None)), Doubt::InDoubt);
        assert_eq!(doubt(&answered(504, Some("Whatever"))), Doubt::InDoubt);
    }

    #[test]
    fn invalid_requests_are_refused_for_good() {
        for code in ["InvalidParameter", "InvalidParameterValue", "ValidationException", "OptedOut"] {
            assert_eq!(doubt(&answered(400, Some(code))), Doubt::Refused, "{code}");
        }
        assert_eq!(doubt(&answered(404, None)), Doubt::Refused);
    }

    #[test]
    fn a_lost_or_late_answer_is_in_doubt() {
        let dropped = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert_eq!(doubt(&dispatch(ConnectorError::io(dropped.into()))), Doubt::InDoubt);
        let late = ConnectorError::timeout("read timed out".into());
        assert_eq!(doubt(&dispatch(late)), Doubt::InDoubt);
        let timeout: SdkError<ErrorMetadata, Response> = SdkError::timeout_error("late");
        assert_eq!(doubt(&timeout), Doubt::InDoubt);
    }

    #[test]
    fn a_connection_that_could_not_be_opened_is_not_now() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(doubt(&dispatch(ConnectorError::io(refused.into()))), Doubt::NotNow);
    }

    #[test]
    fn port_errors_follow_the_reading_and_mask_numbers() {
        let error = port_error("sns", answered(400, Some("InvalidParameter")));
        assert!(matches!(&error, PortError::Refused { message, .. } if !message.contains("0612345678")));
        assert!(matches!(port_error("sns", answered(500, None)), PortError::InDoubt { .. }));
        assert!(matches!(port_error("sns", answered(400, Some("Throttling"))), PortError::Unavailable { .. }));
    }
}
