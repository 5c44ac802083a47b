//! The customer space (issue #12; the manual's section 3, *BACKOFFICE SMS*): a responsive web
//! back-office where a customer logs in, follows its sends and their statuses, reads its
//! statistics, credits and monthly statements, rotates its API key, changes its settings, sends
//! an SMS, cancels one still scheduled and manages its sub-accounts.
//!
//! HTML is rendered on the server by askama templates (`templates/`, checked when the crate
//! compiles, escaping everything by default); the CSS and the few lines of script are embedded
//! in the binary ([`assets`]). The same [`router`] serves on Lambda (a function URL, through
//! `lambda_http`) and on a local port (`mail2sms-web` outside Lambda).
//!
//! Safety, handler by handler: every page needs a live session ([`store::WebStore::session`]);
//! every form carries the session's CSRF token (the login and invitation forms a double-submit
//! token); every record and account shown is the customer's own or one of its sub-accounts'
//! ([`pages`] checks ownership and answers 404 otherwise); every response carries a strict
//! Content-Security-Policy (no inline script or style), `X-Content-Type-Options`,
//! `Referrer-Policy`, `frame-ancestors 'none'` and `Cache-Control: no-store`. Logs carry logins,
//! never passwords, session tokens or keys.

pub mod access;
pub mod account_settings;
pub mod admin;
pub mod assets;
pub mod chart;
pub mod optouts;
pub mod pages;
pub mod settings;
pub mod statement;
pub mod store;
pub mod views;

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, Utc};

use crate::aws::AwsGateway;
use crate::aws::dynamodb::DynamoLedger;
use crate::config::AdminSettings;
use crate::operator::Operator;
use settings::WebSettings;
use store::WebStore;

/// Every IAM action the web function's code calls. A test checks that `template.yaml` grants
/// each of them to the web function, and nothing else: the tables (the messages index to list
/// sends; its own table for sessions and movements), and what a send from the web needs, as
/// the mail function has it (the SMS provider, the scheduler for `date=`, SES for credit
/// alerts), and what cancelling a scheduled send needs (the operator's own `cancel`: the
/// message's transaction, then its schedule deleted). No S3: a web send has no raw email.
pub const WEB_IAM_ACTIONS: &[&str] = &[
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:Query",
    // The pipeline's reads of the opt-out lists of a send of more than 49 numbers.
    "dynamodb:BatchGetItem",
    "sns:Publish",
    "sms-voice:SendTextMessage",
    // The pipeline's credit alerts to the account's contact (issue #9) when a web send debits.
    "ses:SendEmail",
    "scheduler:CreateSchedule",
    // A customer cancelling its scheduled send: the operator's `cancel` deletes the schedule.
    "scheduler:DeleteSchedule",
    "iam:PassRole",
    // The parts of a send to a large contact list (SendMessageBatch is authorised as SendMessage).
    "sqs:SendMessage",
];

/// The customer space and the services it runs on.
pub struct Space {
    pub settings: WebSettings,
    pub ledger: DynamoLedger,
    pub store: WebStore,
    /// The gateway a send from the web goes through; `None` when its configuration is missing
    /// (the page then says sending is not available).
    pub gateway: Option<AwsGateway>,
    /// The operator's use cases, for the one the customer shares: cancelling a scheduled send
    /// ([`Operator::cancel`], the very path of `mail2sms-admin cancel`). The web calls nothing
    /// else of it ([`WEB_IAM_ACTIONS`] grants nothing more).
    pub operator: Operator,
    pub clock: fn() -> DateTime<Utc>,
}

impl Space {
    /// Builds the adapters once per container.
    pub fn new(settings: WebSettings, sdk: &aws_config::SdkConfig) -> Space {
        Space {
            ledger: DynamoLedger::new(
                sdk,
                &settings.accounts_table,
                &settings.messages_table,
                &settings.opt_outs_table,
            ),
            store: WebStore::new(sdk, &settings.web_table, &settings.accounts_table),
            gateway: settings.gateway.as_ref().ok().map(|config| crate::aws::gateway(config, sdk)),
            operator: Operator::new(sdk, operator_settings(&settings)),
            clock: Utc::now,
            settings,
        }
    }
}

/// What the operator's use cases read, from the space's settings: the same tables, and the
/// group of the gateway's schedules.
fn operator_settings(settings: &WebSettings) -> AdminSettings {
    AdminSettings {
        accounts_table: settings.accounts_table.clone(),
        messages_table: settings.messages_table.clone(),
        opt_outs_table: Some(settings.opt_outs_table.clone()),
        contact_lists_table: None,
        inbound_bucket: None,
        reply_from: None,
        schedule_group: settings.schedule_group().to_owned(),
        function: settings.gateway.clone(),
    }
}

/// The client's address, as the server saw the connection (Lambda's request context, or the
/// local socket's peer): login attempts are counted per address. Never a forwarded header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(pub String);

/// The address of the request's client: set by whoever serves the router, or Lambda's request
/// context (the function URL's source IP).
fn client_address(request: &Request) -> ClientAddress {
    if let Some(address) = request.extensions().get::<ClientAddress>() {
        return address.clone();
    }
    if let Some(lambda_http::request::RequestContext::ApiGatewayV2(context)) =
        request.extensions().get::<lambda_http::request::RequestContext>()
        && let Some(ip) = &context.http.source_ip
    {
        return ClientAddress(ip.clone());
    }
    if let Some(axum::extract::ConnectInfo(peer)) =
        request.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
    {
        return ClientAddress(peer.ip().to_string());
    }
    ClientAddress("unknown".to_owned())
}

/// The Content-Security-Policy of every response: only the space's own CSS and script, no
/// inline code, no frames, forms only to itself.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

async fn secure(mut request: Request, next: Next) -> Response {
    let address = client_address(&request);
    request.extensions_mut().insert(address);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The customer space's routes, with the security headers on every response.
pub fn router(space: Arc<Space>) -> axum::Router {
    pages::routes().with_state(space).layer(axum::middleware::from_fn(secure))
}
