//! The End User Messaging SMS adapter. The emulator does not serve `pinpoint-sms-voice-v2`, so
//! the real SDK client runs against `aws-smithy-mocks`: the request it builds is checked, and
//! the service's answers (including its error bodies) are fed back through the SDK's own parsing.

use aws_sdk_pinpointsmsvoicev2::Client;
use aws_sdk_pinpointsmsvoicev2::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_pinpointsmsvoicev2::operation::send_text_message::SendTextMessageOutput;
use aws_sdk_pinpointsmsvoicev2::types::MessageType;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use mail2sms::aws::end_user_messaging::EumSms;
use mail2sms::config::Config;
use mail2sms::domain::recipient::Recipient;
use mail2sms::domain::sender::SenderId;
use mail2sms::event::{CONTEXT_MESSAGE_ID, CONTEXT_RECIPIENT};
use mail2sms::ports::{OutgoingSms, PortError, SmsGateway};

fn config(extra: &[(&str, &str)]) -> Config {
    let mut env = vec![
        ("ACCOUNTS_TABLE", "a"),
        ("MESSAGES_TABLE", "m"),
        ("OPT_OUTS_TABLE", "o"),
        ("CONTACT_LISTS_TABLE", "c"),
        ("INBOUND_BUCKET", "b"),
        ("REPLY_FROM", "mail2sms@sms.example.com"),
        ("SMS_PROVIDER", "eum"),
    ];
    env.extend_from_slice(extra);
    Config::from_lookup(|name| env.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())).unwrap()
}

fn client(rule: &Rule) -> Client {
    let interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny).with_rule(rule);
    let config = aws_sdk_pinpointsmsvoicev2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .retry_config(RetryConfig::disabled())
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .build();
    Client::from_conf(config)
}

fn sms<'a>(to: &'a Recipient, sender: Option<&'a SenderId>) -> OutgoingSms<'a> {
    OutgoingSms { message_id: "ses-message-1", position: 3, to, sender, text: "Bonjour" }
}

fn error_response(status: u16, error_type: &str) -> Response {
    let body = format!(r#"{{"__type":"{error_type}","Message":"from the service"}}"#);
    let mut response = Response::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body));
    response.headers_mut().insert("Content-Type", "application/x-amz-json-1.0");
    response
}

#[tokio::test]
async fn the_sender_becomes_the_origination_identity_and_the_recipient_travels_in_the_context() {
    let rule = mock!(Client::send_text_message)
        .match_requests(|request| {
            request.destination_phone_number() == Some("+33612345678")
                && request.message_body() == Some("Bonjour")
                && request.origination_identity() == Some("MAGASIN")
                && request.message_type() == Some(&MessageType::Transactional)
                && request.configuration_set_name() == Some("tracking")
                && request.context().and_then(|c| c.get(CONTEXT_MESSAGE_ID)).map(String::as_str)
                    == Some("ses-message-1")
                && request.context().and_then(|c| c.get(CONTEXT_RECIPIENT)).map(String::as_str) == Some("3")
        })
        .then_output(|| SendTextMessageOutput::builder().message_id("eum-42").build());
    let eum = EumSms::new(client(&rule), &config(&[("EUM_CONFIGURATION_SET", "tracking")]));
    let to = Recipient::parse_e164("+33612345678").unwrap();
    let sender = SenderId::parse("MAGASIN").unwrap();

    assert_eq!(eum.send(sms(&to, Some(&sender))).await.unwrap(), "eum-42");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn without_a_sender_the_configured_origination_identity_is_used() {
    let rule = mock!(Client::send_text_message)
        .match_requests(|request| {
            request.origination_identity() == Some("+33700000000")
                && request.message_type() == Some(&MessageType::Promotional)
        })
        .then_output(|| SendTextMessageOutput::builder().message_id("eum-43").build());
    let config = config(&[("EUM_ORIGINATION_IDENTITY", "+33700000000"), ("SMS_TYPE", "Promotional")]);
    let eum = EumSms::new(client(&rule), &config);
    let to = Recipient::parse_e164("+33612345678").unwrap();

    assert_eq!(eum.send(sms(&to, None)).await.unwrap(), "eum-43");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_validation_error_is_a_refusal_and_throttling_is_not() {
    let to = Recipient::parse_e164("+33612345678").unwrap();

    let refused = mock!(Client::send_text_message).then_http_response(|| error_response(400, "ValidationException"));
    let error = EumSms::new(client(&refused), &config(&[])).send(sms(&to, None)).await.unwrap_err();
    assert!(matches!(error, PortError::Refused { .. }), "{error:?}");

    let throttled = mock!(Client::send_text_message).then_http_response(|| error_response(400, "ThrottlingException"));
    let error = EumSms::new(client(&throttled), &config(&[])).send(sms(&to, None)).await.unwrap_err();
    assert!(error.is_retryable(), "{error:?}");
}
