//! The pages and forms of the customer space, one handler each (the settings page's in
//! [`super::account_settings`], the opt-out list's in [`super::optouts`], on the helpers below).
//! Every handler but the login's, the invitation's and the assets' starts with [`customer`] (a
//! live session, else the login page); every form handler checks the session's CSRF token; every
//! record or account shown is checked to be the customer's own or one of its sub-accounts'
//! ([`scope`], [`visible`]), and answers 404 otherwise, so nobody learns what exists elsewhere.

// A refusal is the response itself, handed back to the client as it is.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Extension, Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use tracing::{error, info, warn};

use super::access::{
    FORM_COOKIE, SESSION_COOKIE, SESSION_HOURS, attempt_keys, clear_cookie, cookie, hash_password, password_problem,
    same_secret, set_cookie, token, verify_password,
};
use super::chart::{Row, chart, rows, total};
use super::statement::{Line, lines, statement};
use super::store::{MovementKind, Session, StoredMovement, SubAccountCreated, Transferred};
use super::views::*;
use super::{ClientAddress, Space, assets};
use crate::domain::account::{Account, MAX_CREDITS, credit_amount, is_possible_login, new_api_key};
use crate::domain::message::{Delivery, MessageRecord, MessageState};
use crate::domain::request::{ApiKey, parse_unsigned_subject};
use crate::domain::segments::{self, Encoding, MAX_PARTS};
use crate::domain::stats::{Period, daily};
use crate::operator::{Cancelled, OperatorError, spelled};
use crate::pipeline::{Invocation, Outcome};
use crate::plural::{self, Words, english};
use crate::ports::{Ledger, PortError};

pub(super) type Shared = Arc<Space>;

/// The customer space's unit of account, counted.
pub(super) const CREDITS: Words = ("credit", "credits");

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(log_in))
        .route("/logout", post(log_out))
        .route("/logout-everywhere", post(log_out_everywhere))
        .route("/invitation/{token}", get(invitation_page).post(accept_invitation))
        .route("/sends", get(sends))
        .route("/sends/{id}", get(message))
        .route("/sends/{id}/cancel", post(cancel_send))
        .route("/stats", get(stats))
        .route("/credits", get(credits))
        .route("/statement", get(statement_page))
        .route("/statement.csv", get(statement_csv))
        .route("/key", get(key_page).post(rotate_key))
        .route("/send", get(send_page).post(send))
        .route("/count", post(count))
        .route("/subaccounts", get(sub_accounts).post(create_sub_account))
        .route("/subaccounts/transfer", post(transfer))
        .route("/assets/style.css", get(assets::style))
        .route("/assets/app.js", get(assets::script))
        .merge(super::account_settings::routes())
        .merge(super::optouts::routes())
}

// ---------------------------------------------------------------------------------------------
// Helpers: rendering, sessions, scope
// ---------------------------------------------------------------------------------------------

pub(super) fn render(status: StatusCode, page: impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(problem) => {
            error!(error = %problem, "page not rendered");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

pub(super) fn error_page(status: StatusCode, chrome: Option<Chrome>, title: &str, message: &str) -> Response {
    render(status, ErrorPage { chrome, title: title.to_owned(), message: message.to_owned() })
}

/// A service that did not answer: logged (the error names no secret), and the customer is told
/// to try again.
pub(super) fn unavailable(problem: PortError) -> Response {
    error!(error = %problem, "a service failed");
    error_page(StatusCode::SERVICE_UNAVAILABLE, None, "Try again", "The service is busy: try again in a moment.")
}

pub(super) fn not_found(chrome: Option<Chrome>) -> Response {
    error_page(StatusCode::NOT_FOUND, chrome, "Not found", "There is nothing here, or not for this account.")
}

pub(super) fn to_login() -> Response {
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(header::SET_COOKIE, header_value(&clear_cookie(SESSION_COOKIE)));
    response
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).expect("cookies are made of token characters")
}

/// The signed-in customer: its live session, its account as it is now.
pub(super) struct Customer {
    session: Session,
    token: String,
    pub(super) account: Account,
}

fn session_token(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::COOKIE).and_then(|value| value.to_str().ok()).and_then(|value| cookie(value, SESSION_COOKIE))
}

pub(super) async fn customer(space: &Space, headers: &HeaderMap) -> Result<Customer, Response> {
    let Some(token) = session_token(headers) else { return Err(to_login()) };
    let now = (space.clock)();
    let Some(session) = space.store.session(token, now).await.map_err(unavailable)? else { return Err(to_login()) };
    let Some(account) = space.ledger.account(&session.login).await.map_err(unavailable)? else {
        return Err(to_login());
    };
    Ok(Customer { session, token: token.to_owned(), account })
}

/// The signed-in customer of a form, when the form's CSRF token is its session's.
pub(super) async fn form_customer(space: &Space, headers: &HeaderMap, csrf: &str) -> Result<Customer, Response> {
    let customer = customer(space, headers).await?;
    customer.check(csrf)?;
    Ok(customer)
}

impl Customer {
    pub(super) fn chrome(&self, current: &'static str) -> Option<Chrome> {
        Some(Chrome {
            login: self.account.login.clone(),
            csrf: self.session.csrf.clone(),
            credits: self.account.credits,
            parent: self.account.parent.clone(),
            has_subs: !self.account.sub_accounts.is_empty(),
            current,
        })
    }

    /// Refuses a form whose CSRF token is not this session's.
    fn check(&self, csrf: &str) -> Result<(), Response> {
        if same_secret(csrf, &self.session.csrf) {
            Ok(())
        } else {
            warn!(login = %self.account.login, "form refused: CSRF token missing or wrong");
            Err(error_page(
                StatusCode::FORBIDDEN,
                self.chrome(""),
                "Form expired",
                "This form is not from your current session: reload the page and try again.",
            ))
        }
    }

    /// Whether the customer may see the account `login`'s data: its own, or a sub-account's.
    fn may_see(&self, login: &str) -> bool {
        self.account.login == login || self.account.sub_accounts.iter().any(|sub| sub == login)
    }

    pub(super) fn zone(&self, space: &Space) -> Tz {
        self.account.timezone_or(space.settings.default_timezone)
    }
}

/// The account a page looks at: the customer's own, or one of its sub-accounts' (`?account=`);
/// anything else is 404.
pub(super) fn scope(customer: &Customer, asked: Option<&str>, current: &'static str) -> Result<Scope, Response> {
    let mut choices = vec![customer.account.login.clone()];
    choices.extend(customer.account.sub_accounts.iter().cloned());
    let login = match asked.filter(|asked| !asked.is_empty()) {
        None => customer.account.login.clone(),
        Some(asked) if customer.may_see(asked) => asked.to_owned(),
        Some(_) => return Err(not_found(customer.chrome(current))),
    };
    Ok(Scope { login, choices })
}

pub(super) fn local(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone).format("%Y-%m-%d %H:%M:%S").to_string()
}

fn parse_day(typed: Option<&str>) -> Result<Option<NaiveDate>, String> {
    match typed.map(str::trim).filter(|typed| !typed.is_empty()) {
        None => Ok(None),
        Some(typed) => NaiveDate::parse_from_str(typed, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| format!("{typed:?} is not a date: YYYY-MM-DD")),
    }
}

/// The first and last days a listing asks (`since`, `until`), each optional.
fn asked_days(since: Option<&str>, until: Option<&str>) -> Result<(Option<NaiveDate>, Option<NaiveDate>), String> {
    Ok((parse_day(since)?, parse_day(until)?))
}

/// A page that lists what happened over a period of days: the period it shows, or why none.
trait PeriodPage: Template {
    fn period_fields(&mut self) -> (&mut String, &mut String, &mut Option<String>);
}

impl PeriodPage for SendsPage {
    fn period_fields(&mut self) -> (&mut String, &mut String, &mut Option<String>) {
        (&mut self.since, &mut self.until, &mut self.error)
    }
}

impl PeriodPage for StatsPage {
    fn period_fields(&mut self) -> (&mut String, &mut String, &mut Option<String>) {
        (&mut self.since, &mut self.until, &mut self.error)
    }
}

/// The records of `login` received within the period `asked`, with `page` showing that period;
/// a period that is none is `page` with why (400).
async fn records_in<P: PeriodPage>(
    space: &Space,
    login: &str,
    asked: Result<Period, String>,
    zone: Tz,
    mut page: P,
) -> Result<(P, Period, Vec<MessageRecord>), Response> {
    let (since, until, error) = page.period_fields();
    let period = match asked {
        Ok(period) => period,
        Err(problem) => {
            *error = Some(problem);
            return Err(render(StatusCode::BAD_REQUEST, page));
        }
    };
    *since = period.since.to_string();
    *until = period.until.to_string();
    let (from, to) = period.bounds(zone);
    let records = space.ledger.messages_between(login, from, to).await.map_err(unavailable)?;
    Ok((page, period, records))
}

/// The form cookie of the login and invitation forms: the one the browser has, or a new one.
fn form_token(headers: &HeaderMap) -> (String, bool) {
    match headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).and_then(|v| cookie(v, FORM_COOKIE)) {
        Some(existing) => (existing.to_owned(), false),
        None => (token(), true),
    }
}

fn with_form_cookie(mut response: Response, form: &str, new: bool) -> Response {
    if new {
        response.headers_mut().append(header::SET_COOKIE, header_value(&set_cookie(FORM_COOKIE, form, 3600)));
    }
    response
}

fn form_matches(headers: &HeaderMap, typed: &str) -> bool {
    headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| cookie(v, FORM_COOKIE))
        .is_some_and(|expected| same_secret(expected, typed))
}

// ---------------------------------------------------------------------------------------------
// Log in, log out, invitations
// ---------------------------------------------------------------------------------------------

async fn home(State(space): State<Shared>, headers: HeaderMap) -> Response {
    match customer(&space, &headers).await {
        Ok(_) => Redirect::to("/sends").into_response(),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
struct LoginQuery {
    done: Option<String>,
}

fn login_form(
    headers: &HeaderMap,
    status: StatusCode,
    login: &str,
    error: Option<&str>,
    notice: Option<&str>,
) -> Response {
    let (csrf, new) = form_token(headers);
    let page = LoginPage {
        chrome: None,
        csrf: csrf.clone(),
        login: login.to_owned(),
        error: error.map(str::to_owned),
        notice: notice.map(str::to_owned),
    };
    with_form_cookie(render(status, page), &csrf, new)
}

async fn login_page(headers: HeaderMap, Query(query): Query<LoginQuery>) -> Response {
    let notice = query.done.map(|_| "Your password is set: log in with it.");
    login_form(&headers, StatusCode::OK, "", None, notice)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LoginForm {
    login: String,
    password: String,
    csrf: String,
}

async fn log_in(
    State(space): State<Shared>,
    Extension(address): Extension<ClientAddress>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let login = form.login.trim().to_owned();
    if !form_matches(&headers, &form.csrf) {
        return login_form(&headers, StatusCode::FORBIDDEN, &login, Some("This form expired: try again."), None);
    }
    let now = (space.clock)();
    let counters = attempt_keys(&login, &address.0, now);
    for (counter, limit) in &counters {
        match space.store.count_attempt(counter, *limit, now).await {
            Ok(true) => {}
            Ok(false) => {
                info!("log in refused: too many attempts");
                let wait = "Too many attempts: wait a quarter of an hour, then try again.";
                return login_form(&headers, StatusCode::TOO_MANY_REQUESTS, &login, Some(wait), None);
            }
            Err(problem) => return unavailable(problem),
        }
    }
    let account = if is_possible_login(&login) {
        match space.ledger.account(&login).await {
            Ok(account) => account,
            Err(problem) => return unavailable(problem),
        }
    } else {
        None
    };
    let hash = account.as_ref().and_then(|account| account.password_hash.clone());
    let password = form.password;
    let matches =
        tokio::task::spawn_blocking(move || verify_password(&password, hash.as_deref())).await.unwrap_or(false);
    let Some(account) = account.filter(|_| matches) else {
        info!("log in refused: wrong login or password");
        return login_form(&headers, StatusCode::UNAUTHORIZED, &login, Some("Wrong login or password."), None);
    };
    if let Err(problem) = space.store.forget_attempts(&counters[0].0).await {
        warn!(error = %problem, "login attempts not forgotten");
    }
    let (session_token, _) = match space.store.open_session(&account.login, now).await {
        Ok(opened) => opened,
        Err(problem) => return unavailable(problem),
    };
    info!(login = %account.login, "logged in");
    let mut response = Redirect::to("/sends").into_response();
    let cookies = response.headers_mut();
    cookies.append(header::SET_COOKIE, header_value(&set_cookie(SESSION_COOKIE, &session_token, SESSION_HOURS * 3600)));
    cookies.append(header::SET_COOKIE, header_value(&clear_cookie(FORM_COOKIE)));
    response
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CsrfForm {
    csrf: String,
}

async fn log_out(State(space): State<Shared>, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Response {
    let customer = match form_customer(&space, &headers, &form.csrf).await {
        Ok(customer) => customer,
        Err(response) => return response,
    };
    if let Err(problem) = space.store.close_session(&customer.token).await {
        return unavailable(problem);
    }
    info!(login = %customer.account.login, "logged out");
    to_login()
}

async fn log_out_everywhere(State(space): State<Shared>, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Response {
    let customer = match form_customer(&space, &headers, &form.csrf).await {
        Ok(customer) => customer,
        Err(response) => return response,
    };
    if let Err(problem) = space.store.close_every_session(&customer.account.login).await {
        return unavailable(problem);
    }
    info!(login = %customer.account.login, "logged out everywhere");
    to_login()
}

fn is_token(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn invitation_form(
    headers: &HeaderMap,
    status: StatusCode,
    login: &str,
    invitation: &str,
    error: Option<&str>,
) -> Response {
    let (csrf, new) = form_token(headers);
    let page = InvitationPage {
        chrome: None,
        csrf: csrf.clone(),
        login: login.to_owned(),
        token: invitation.to_owned(),
        error: error.map(str::to_owned),
    };
    with_form_cookie(render(status, page), &csrf, new)
}

fn invitation_gone() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        None,
        "Link no longer valid",
        "This invitation was used already or is more than 24 hours old: ask your operator for a new one.",
    )
}

async fn invitation_page(State(space): State<Shared>, headers: HeaderMap, Path(invitation): Path<String>) -> Response {
    if !is_token(&invitation) {
        return invitation_gone();
    }
    match space.store.invitation(&invitation, (space.clock)()).await {
        Ok(Some(login)) => invitation_form(&headers, StatusCode::OK, &login, &invitation, None),
        Ok(None) => invitation_gone(),
        Err(problem) => unavailable(problem),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PasswordForm {
    csrf: String,
    password: String,
    confirm: String,
}

async fn accept_invitation(
    State(space): State<Shared>,
    headers: HeaderMap,
    Path(invitation): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Response {
    if !is_token(&invitation) {
        return invitation_gone();
    }
    let now = (space.clock)();
    let login = match space.store.invitation(&invitation, now).await {
        Ok(Some(login)) => login,
        Ok(None) => return invitation_gone(),
        Err(problem) => return unavailable(problem),
    };
    let problem = if !form_matches(&headers, &form.csrf) {
        Some("This form expired: try again.".to_owned())
    } else if form.password != form.confirm {
        Some("The two passwords differ.".to_owned())
    } else {
        password_problem(&form.password).map(|problem| format!("Not set: {problem}."))
    };
    if let Some(problem) = problem {
        return invitation_form(&headers, StatusCode::BAD_REQUEST, &login, &invitation, Some(&problem));
    }
    match space.store.take_invitation(&invitation, now).await {
        Ok(Some(taken)) if taken == login => {}
        Ok(_) => return invitation_gone(),
        Err(problem) => return unavailable(problem),
    }
    let password = form.password;
    let Ok(hash) = tokio::task::spawn_blocking(move || hash_password(&password)).await else {
        return error_page(StatusCode::INTERNAL_SERVER_ERROR, None, "Not set", "The password could not be set.");
    };
    let set = space.store.set_password_hash(&login, &hash).await;
    let closed = space.store.close_every_session(&login).await;
    match (set, closed) {
        (Ok(true), Ok(())) => {
            info!(login = %login, "password set from an invitation");
            let mut response = Redirect::to("/login?done=1").into_response();
            response.headers_mut().append(header::SET_COOKIE, header_value(&clear_cookie(FORM_COOKIE)));
            response
        }
        (Ok(false), _) => invitation_gone(),
        (Err(problem), _) | (_, Err(problem)) => unavailable(problem),
    }
}

// ---------------------------------------------------------------------------------------------
// Sends and one message
// ---------------------------------------------------------------------------------------------

/// Every state a message can be in, as the filter offers them.
const STATES: [&str; 9] =
    ["accepted", "scheduled", "sent", "partially_failed", "failed", "rejected", "dropped", "cancelled", "previewed"];

/// The most messages one listing shows.
const LISTED: usize = 500;

#[derive(Deserialize, Default)]
struct SendsQuery {
    account: Option<String>,
    since: Option<String>,
    until: Option<String>,
    status: Option<String>,
}

fn fates(record: &MessageRecord, now: DateTime<Utc>) -> (usize, usize, usize) {
    let closed = record.is_closed(now);
    let (mut delivered, mut failed, mut open) = (0, 0, 0);
    for recipient in &record.recipients {
        match recipient.told_fate(closed) {
            Delivery::Delivered => delivered += 1,
            Delivery::Failed | Delivery::Expired => failed += 1,
            fate if !fate.is_final() => open += 1,
            _ => {}
        }
    }
    (delivered, failed, open)
}

async fn sends(State(space): State<Shared>, headers: HeaderMap, Query(query): Query<SendsQuery>) -> Response {
    let customer = match customer(&space, &headers).await {
        Ok(customer) => customer,
        Err(response) => return response,
    };
    let scope = match scope(&customer, query.account.as_deref(), "sends") {
        Ok(scope) => scope,
        Err(response) => return response,
    };
    let zone = customer.zone(&space);
    let now = (space.clock)();
    let status = query.status.clone().filter(|status| STATES.contains(&status.as_str())).unwrap_or_default();
    let period = asked_days(query.since.as_deref(), query.until.as_deref()).and_then(|(since, until)| {
        Period::new(since, until, now.with_timezone(&zone).date_naive()).map_err(|problem| problem.to_string())
    });
    let page = SendsPage {
        chrome: customer.chrome("sends"),
        scope: scope.clone(),
        since: String::new(),
        until: String::new(),
        status: status.clone(),
        statuses: STATES.to_vec(),
        rows: Vec::new(),
        truncated: false,
        error: None,
    };
    let (mut page, _, records) = match records_in(&space, &scope.login, period, zone, page).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let mut chosen: Vec<&MessageRecord> =
        records.iter().rev().filter(|record| status.is_empty() || spelled(&record.state) == status).collect();
    page.truncated = chosen.len() > LISTED;
    chosen.truncate(LISTED);
    page.rows = chosen
        .into_iter()
        .map(|record| {
            let (delivered, failed, open) = fates(record, now);
            SendRow {
                id: record.message_id.clone(),
                received: local(record.received_at, zone),
                state: spelled(&record.state),
                status: record.status.map(|status| status.code().to_string()),
                recipients: record.recipients.len(),
                delivered,
                failed,
                open,
                parts: record.parts,
                cost: record.cost,
                refunded: record.refunded,
                due: record.due_at.map(|due| local(due, zone)),
            }
        })
        .collect();
    render(StatusCode::OK, page)
}

/// The record `id` when the customer may see it (its own or a sub-account's); else the 404 page.
async fn visible(space: &Space, customer: &Customer, id: &str) -> Result<MessageRecord, Response> {
    // The messages table also holds counters and indexes, whose keys have a '#'.
    if id.is_empty() || id.len() > 256 || id.contains('#') {
        return Err(not_found(customer.chrome("sends")));
    }
    match space.ledger.load(id).await {
        Ok(Some(record)) if record.login.as_deref().is_some_and(|login| customer.may_see(login)) => Ok(record),
        Ok(_) => Err(not_found(customer.chrome("sends"))),
        Err(problem) => Err(unavailable(problem)),
    }
}

/// Whether the customer may cancel the send: still scheduled (by `date=`, or held to the
/// marketing hours), its own (a parent sees its sub-accounts' sends, but cancels only its own),
/// and a whole send (a large email's part goes with its email).
fn cancellable(customer: &Customer, record: &MessageRecord) -> bool {
    record.state == MessageState::Scheduled
        && record.login.as_deref() == Some(customer.account.login.as_str())
        && record.part_of.is_none()
}

async fn message(State(space): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let customer = match customer(&space, &headers).await {
        Ok(customer) => customer,
        Err(response) => return response,
    };
    match visible(&space, &customer, &id).await {
        Ok(record) => render(StatusCode::OK, message_view(&space, &customer, &record)),
        Err(response) => response,
    }
}

fn message_view(space: &Space, customer: &Customer, record: &MessageRecord) -> MessagePage {
    let zone = customer.zone(space);
    let now = (space.clock)();
    let closed = record.is_closed(now);
    let open = record.recipients.iter().any(|recipient| !recipient.told_fate(closed).is_final());
    let waiting = matches!(record.state, MessageState::Scheduled | MessageState::Cancelled);
    let refresh = !waiting && !closed && open;
    let recipients = record
        .recipients
        .iter()
        .map(|recipient| {
            let fate = recipient.told_fate(closed);
            // A cancelled send's recipients were never sent to: each one's parts came back with it.
            let cancelled = record.state == MessageState::Cancelled && !fate.is_final();
            RecipientView {
                number: recipient.number.e164().to_owned(),
                sender: recipient.sender.as_ref().map(|sender| sender.as_str().to_owned()).unwrap_or_default(),
                fate: if cancelled { spelled(&MessageState::Cancelled) } else { spelled(&fate) },
                reason: recipient.reason().map(str::to_owned),
                refunded: cancelled || recipient.was_refunded(),
                at: recipient.report.as_ref().map(|report| local(report.at, zone)),
                price: recipient.report.as_ref().and_then(|report| report.price.clone()),
                resent: recipient.resent,
            }
        })
        .collect();
    MessagePage {
        chrome: customer.chrome("sends"),
        refresh,
        id: record.message_id.clone(),
        login: record.login.clone().unwrap_or_default(),
        received: local(record.received_at, zone),
        state: spelled(&record.state),
        status: record.status.map(|status| status.code().to_string()),
        status_text: record.status_text.clone(),
        discard: record.discard.map(|discard| spelled(&discard)),
        text: record.text.clone(),
        encoding: record.encoding.map(|encoding| spelled(&encoding)),
        parts: record.parts,
        cost: record.cost,
        refunded: record.refunded,
        due: record.due_at.map(|due| match (&record.local_date, &record.timezone) {
            (Some(date), Some(zone)) => format!("{date} ({zone})"),
            _ => local(due, zone),
        }),
        cancelled: record.cancelled_at.map(|at| local(at, zone)),
        recipients,
        dropped: record.dropped.iter().map(|dropped| (dropped.input.clone(), spelled(&dropped.reason))).collect(),
        dropped_count: record.dropped_count,
        cancellable: cancellable(customer, record),
        notice: None,
        error: None,
    }
}

/// Why a send the customer asked to cancel was not: it is no longer scheduled.
fn not_scheduled(state: MessageState) -> String {
    match state {
        MessageState::Cancelled => {
            "Not cancelled again: this send was cancelled already, and its credits refunded then. Nothing changed."
                .to_owned()
        }
        state => format!(
            "Not cancelled: this send is no longer scheduled (it is {} now: its time came), so it cannot be \
             cancelled. Nothing changed.",
            spelled(&state)
        ),
    }
}

/// "Cancel this send": a scheduled send of the customer's own, cancelled through the operator's
/// own path ([`crate::operator::Operator::cancel`]: the message, and a large email's parts,
/// cancelled and its cost refunded in one transaction, then its schedule deleted), once. The
/// refund is recorded with the credit movements. Anything else changes nothing and says why.
async fn cancel_send(
    State(space): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let customer = match form_customer(&space, &headers, &form.csrf).await {
        Ok(customer) => customer,
        Err(response) => return response,
    };
    let record = match visible(&space, &customer, &id).await {
        Ok(record) => record,
        Err(response) => return response,
    };
    let login = customer.account.login.clone();
    let refuse = |status: StatusCode, record: &MessageRecord, problem: String| {
        info!(login = %login, message_id = %record.message_id, "send not cancelled: {problem}");
        let mut page = message_view(&space, &customer, record);
        page.error = Some(problem);
        render(status, page)
    };
    let owner = record.login.clone().unwrap_or_default();
    if owner != login {
        let problem = format!("Not cancelled: only {owner}, whose send it is, can cancel it. Nothing changed.");
        return refuse(StatusCode::FORBIDDEN, &record, problem);
    }
    if let Some(email) = &record.part_of {
        let problem = format!(
            "Not cancelled: this is a part of the large email {email}; cancel that email, which cancels every \
             part. Nothing changed."
        );
        return refuse(StatusCode::CONFLICT, &record, problem);
    }
    if record.state != MessageState::Scheduled {
        return refuse(StatusCode::CONFLICT, &record, not_scheduled(record.state));
    }
    let cancelled = match space.operator.cancel(&id).await {
        Ok(Cancelled::Now { refunded }) => Ok(refunded),
        Ok(Cancelled::Already) => Err(MessageState::Cancelled),
        Err(OperatorError::NotScheduled { state, .. }) => Err(state),
        Err(OperatorError::NoMessage(_)) => return not_found(customer.chrome("sends")),
        Err(OperatorError::Port(problem)) => return unavailable(problem),
        Err(problem) => {
            error!(error = %problem, message_id = %id, "scheduled send not cancelled");
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                customer.chrome("sends"),
                "Try again",
                "The send could not be cancelled now: try again in a moment.",
            );
        }
    };
    let refunded = match cancelled {
        Ok(refunded) => refunded,
        // Cancelled, or gone out, since it was read (another tab, the operator, its schedule):
        // said, and shown as it is now.
        Err(state) => {
            let now = space.ledger.load(&id).await.ok().flatten().unwrap_or(record);
            return refuse(StatusCode::CONFLICT, &now, not_scheduled(state));
        }
    };
    let record = match space.ledger.load(&id).await {
        Ok(Some(record)) => record,
        Ok(None) => return not_found(customer.chrome("sends")),
        Err(problem) => return unavailable(problem),
    };
    let at = record.cancelled_at.unwrap_or_else(space.clock);
    let refund = StoredMovement { at, kind: MovementKind::Refund, credits: refunded, other: Some(id.clone()) };
    if refunded > 0
        && let Err(problem) = space.store.record_movement(&login, &refund).await
    {
        // The record tells the refund too: the statements read it from there.
        warn!(error = %problem, message_id = %id, "the refund of a cancelled send not recorded with the movements");
    }
    info!(login = %login, message_id = %id, refunded, "scheduled send cancelled in the customer space");
    let balance = match space.ledger.account(&login).await {
        Ok(Some(account)) => account.credits,
        Ok(None) => return to_login(),
        Err(problem) => return unavailable(problem),
    };
    let mut page = message_view(&space, &customer, &record);
    if let Some(chrome) = page.chrome.as_mut() {
        chrome.credits = balance;
    }
    page.notice = Some(format!(
        "Send cancelled: nothing will be sent, and {} refunded. Your balance is now {}.",
        english(refunded, CREDITS),
        english(balance, CREDITS)
    ));
    render(StatusCode::OK, page)
}

// ---------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct StatsQuery {
    account: Option<String>,
    since: Option<String>,
    until: Option<String>,
    by: Option<String>,
}

async fn stats(State(space): State<Shared>, headers: HeaderMap, Query(query): Query<StatsQuery>) -> Response {
    let customer = match customer(&space, &headers).await {
        Ok(customer) => customer,
        Err(response) => return response,
    };
    let scope = match scope(&customer, query.account.as_deref(), "stats") {
        Ok(scope) => scope,
        Err(response) => return response,
    };
    let monthly = query.by.as_deref() == Some("month");
    let zone = customer.zone(&space);
    let now = (space.clock)();
    let today = now.with_timezone(&zone).date_naive();
    let period = asked_days(query.since.as_deref(), query.until.as_deref()).and_then(|(since, until)| {
        // Per month, a year by default: from the first day of the month eleven months back.
        let since = since.or_else(|| {
            monthly.then(|| {
                let end = until.unwrap_or(today);
                let months = end.year() * 12 + end.month0() as i32 - 11;
                NaiveDate::from_ymd_opt(months.div_euclid(12), months.rem_euclid(12) as u32 + 1, 1).unwrap_or(end)
            })
        });
        Period::new(since, until, today).map_err(|problem| problem.to_string())
    });
    let page = StatsPage {
        chrome: customer.chrome("stats"),
        scope: scope.clone(),
        since: String::new(),
        until: String::new(),
        monthly,
        rows: Vec::new(),
        totals: Row::default(),
        chart: chart(&[]),
        error: None,
    };
    let (mut page, period, records) = match records_in(&space, &scope.login, period, zone, page).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let days = daily(&records, period, zone, now);
    page.rows = rows(&days, monthly);
    page.totals = total(&days);
    page.chart = chart(&page.rows);
    render(StatusCode::OK, page)
}

// ---------------------------------------------------------------------------------------------
// Credits and statements
// ---------------------------------------------------------------------------------------------

/// Records of messages received this long before a period still count in it: their refunds
/// come up to 72 hours (and the in-doubt window) after sending.
const REFUNDS_LATE_DAYS: i64 = 4;

/// How far back the credits page lists movements.
const MOVEMENT_DAYS: i64 = 90;

#[derive(Deserialize, Default)]
struct AccountQuery {
    account: Option<String>,
    month: Option<String>,
}

/// Every movement of `login`'s credits since `from` (and the records a little before, for their
/// refunds), with the balance it holds now.
async fn movements(space: &Space, login: &str, from: DateTime<Utc>) -> Result<(Vec<Line>, u64), PortError> {
    let now = (space.clock)();
    let balance = space.ledger.account(login).await?.map_or(0, |account| account.credits);
    let records = space.ledger.messages_between(login, from - Duration::days(REFUNDS_LATE_DAYS), now).await?;
    let stored = space.store.movements(login, from).await?;
    Ok((lines(&records, &stored, balance), balance))
}

fn line_view(line: &Line) -> LineView {
    LineView {
        at: line.at.format("%Y-%m-%d %H:%M").to_string(),
        label: line.what.label(),
        message_id: line.what.message_id().map(str::to_owned),
        credits: if line.credits > 0 { format!("+{}", line.credits) } else { line.credits.to_string() },
        balance: line.balance,
    }
}

async fn credits(State(space): State<Shared>, headers: HeaderMap, Query(query): Query<AccountQuery>) -> Response {
    let customer = match customer(&space, &headers).await {
        Ok(customer) => customer,
        Err(response) => return response,
    };
    let scope = match scope(&customer, query.account.as_deref(), "credits") {
        Ok(scope) => scope,
        Err(response) => return response,
    };
    let now = (space.clock)();
    let since = now - Duration::days(MOVEMENT_DAYS);
    let (all, balance) = match movements(&space, &scope.login, since).await {
        Ok(found) => found,
        Err(problem) => return unavailable(problem),
    };
    let today = now.with_timezone(&customer.zone(&space)).date_naive();
    let months = (0..12)
        .map(|back| {
            let months = today.year() * 12 + today.month0() as i32 - back;
            format!("{:04}-{:02}", months.div_euclid(12), months.rem_euclid(12) + 1)
        })
        .collect();
    let page = CreditsPage {
        chrome: customer.chrome("credits"),
        scope,
        balance,
        payment_link: space.settings.payment_link.clone(),
        operator_contact: space.settings.operator_contact.clone(),
        lines: all.iter().rev().filter(|line| line.at >= since).map(line_view).collect(),
        months,
    };
    render(StatusCode::OK, page)
}

/// The month `YYYY-MM` asked, as the first and last instants of it in `zone`.
fn month_bounds(typed: Option<&str>, zone: Tz) -> Option<(String, DateTime<Utc>, DateTime<Utc>)> {
    let typed = typed?.trim();
    let first = NaiveDate::parse_from_str(&format!("{typed}-01"), "%Y-%m-%d").ok()?;
    let next = first.checked_add_months(chrono::Months::new(1))?;
    let midnight =
        |day: NaiveDate| crate::domain::date::resolve_local(day.and_hms_opt(0, 0, 0).expect("midnight"), zone);
    Some((first.format("%Y-%m").to_string(), midnight(first), midnight(next) - Duration::milliseconds(1)))
}

async fn month_statement(
    space: &Space,
    customer: &Customer,
    query: &AccountQuery,
) -> Result<(Scope, String, super::statement::Statement), Response> {
    let scope = scope(customer, query.account.as_deref(), "credits")?;
    let Some((month, from, until)) = month_bounds(query.month.as_deref(), customer.zone(space)) else {
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            customer.chrome("credits"),
            "Which month?",
            "Give a month as YYYY-MM.",
        ));
    };
    let (all, balance) = movements(space, &scope.login, from).await.map_err(unavailable)?;
    Ok((scope, month, statement(&all, from, until, balance)))
}

async fn statement_page(
    State(space): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<AccountQuery>,
) -> Response {
    let customer = match customer(&space, &headers).await {
        Ok(customer) => customer,
        Err(response) => return response,
    };
    let (scope, month, statement) = match month_statement(&space, &customer, &query).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let page = StatementPage {
        chrome: customer.chrome("credits"),
        login: scope.login,
        month,
        opening: statement.opening,
        closing: statement.closing,
        debited: statement.debited,
        credited: statement.credited,
        lines: statement.lines.iter().map(line_view).collect(),
    };
    render(StatusCode::OK, page)
}

async fn statement_csv(State(space): State<Shared>, headers: HeaderMap, Query(query): Query<AccountQuery>) -> Response {
    let customer = match customer(&space, &headers).await {
        Ok(customer) => customer,
        Err(response) => return response,
    };
    let (scope, month, statement) = match month_statement(&space, &customer, &query).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let disposition = format!("attachment; filename=\"statement-{}-{month}.csv\"", scope.login);
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        super::statement::csv(&scope.login, &month, &statement),
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// API key
// ---------------------------------------------------------------------------------------------

async fn key_page(State(space): State<Shared>, headers: HeaderMap) -> Response {
    match customer(&space, &headers).await {
        Ok(customer) => render(
            StatusCode::OK,
            KeyPage { chrome: customer.chrome("key"), login: customer.account.login.clone(), new_key: None },
        ),
        Err(response) => response,
    }
}

async fn rotate_key(State(space): State<Shared>, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Response {
    let customer = match form_customer(&space, &headers, &form.csrf).await {
        Ok(customer) => customer,
        Err(response) => return response,
    };
    let key = ApiKey::new(new_api_key());
    match space.ledger.rotate_key(&customer.account.login, &key).await {
        Ok(Some(_)) => {}
        Ok(None) => return to_login(),
        Err(problem) => return unavailable(problem),
    }
    info!(login = %customer.account.login, "API key rotated from the customer space");
    let page = KeyPage {
        chrome: customer.chrome("key"),
        login: customer.account.login.clone(),
        new_key: Some(key.expose().to_owned()),
    };
    render(StatusCode::OK, page)
}

// ---------------------------------------------------------------------------------------------
// Send an SMS from the web
// ---------------------------------------------------------------------------------------------

/// What the counter says of a text: the gateway's own count ([`segments::count`]).
fn count_summary(text: &str) -> String {
    let counted = segments::count(text);
    let characters = text.chars().count();
    let encoding = match counted.encoding {
        Encoding::Gsm7 => "GSM-7",
        Encoding::Ucs2 => "UCS-2 (Unicode)",
    };
    let parts = if counted.parts > MAX_PARTS {
        format!("{} SMS: too long, at most {MAX_PARTS}", counted.parts)
    } else {
        format!("{} SMS", counted.parts)
    };
    format!("{characters} characters, {parts}, {encoding}")
}

fn send_view(space: &Space, customer: &Customer) -> SendPage {
    SendPage {
        chrome: customer.chrome("send"),
        available: space.gateway.is_some(),
        numbers: String::new(),
        text: String::new(),
        from: String::new(),
        date: String::new(),
        timezone: customer.zone(space).name().to_owned(),
        count: count_summary(""),
        outcome: None,
        error: None,
        preview: None,
    }
}

async fn send_page(State(space): State<Shared>, headers: HeaderMap) -> Response {
    match customer(&space, &headers).await {
        Ok(customer) => render(StatusCode::OK, send_view(&space, &customer)),
        Err(response) => response,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CountForm {
    csrf: String,
    text: String,
}

/// The live counter's question: how the gateway counts this text.
async fn count(State(space): State<Shared>, headers: HeaderMap, Form(form): Form<CountForm>) -> Response {
    let customer = match customer(&space, &headers).await {
        Ok(customer) => customer,
        Err(_) => return StatusCode::UNAUTHORIZED.into_response(),
    };
    if !same_secret(&form.csrf, &customer.session.csrf) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let counted = segments::count(&form.text);
    axum::Json(serde_json::json!({
        "characters": form.text.chars().count(),
        "encoding": counted.encoding,
        "units": counted.units,
        "parts": counted.parts,
        "summary": count_summary(&form.text),
    }))
    .into_response()
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SendForm {
    csrf: String,
    numbers: String,
    text: String,
    from: String,
    date: String,
    /// `preview` for the "Preview" button (a dry run); anything else sends.
    action: String,
}

/// The form's fields written as the manual's subject without `login@apiKey`
/// (`numbers|from=…|date=…`), so that they are read by the subject's own rules; `None` when a
/// field holds a `|` or a line break, which would change what the subject says.
fn unsigned_subject(form: &SendForm) -> Option<String> {
    let fields = [form.numbers.trim(), form.from.trim(), form.date.trim()];
    if fields.iter().any(|field| field.contains(['|', '\r', '\n'])) {
        return None;
    }
    Some(format!("{}|from={}|date={}", fields[0], fields[1], fields[2]))
}

async fn send(State(space): State<Shared>, headers: HeaderMap, Form(form): Form<SendForm>) -> Response {
    let customer = match form_customer(&space, &headers, &form.csrf).await {
        Ok(customer) => customer,
        Err(response) => return response,
    };
    let mut page = send_view(&space, &customer);
    page.numbers = form.numbers.clone();
    page.text = form.text.clone();
    page.from = form.from.clone();
    page.date = form.date.clone();
    page.count = count_summary(&form.text);
    let Some(gateway) = &space.gateway else { return render(StatusCode::SERVICE_UNAVAILABLE, page) };
    let Some(subject) = unsigned_subject(&form) else {
        page.error = Some("Numbers, sender and date cannot hold a | or a line break.".to_owned());
        return render(StatusCode::BAD_REQUEST, page);
    };
    if form.action == "preview" {
        // A dry run: the same checks, nothing recorded, sent or debited; the form is kept.
        let previewed = gateway.preview_typed(customer.account.clone(), parse_unsigned_subject(&subject), &form.text);
        let status = match previewed.await {
            Ok(Ok(preview)) => {
                page.preview = Some(preview.body);
                StatusCode::OK
            }
            Ok(Err(refusal)) => {
                page.error = Some(format!("Would not be sent: {} {}", refusal.status.code(), refusal.status_text));
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Err(problem) => {
                warn!(error = %crate::domain::recipient::mask_numbers_in(&problem.to_string()), "web preview not made");
                page.error = Some("The preview could not be made now: try again.".to_owned());
                StatusCode::SERVICE_UNAVAILABLE
            }
        };
        info!(login = %customer.account.login, ok = status == StatusCode::OK, "SMS previewed in the customer space");
        return render(status, page);
    }
    let message_id = format!("web-{}", new_api_key());
    let now = (space.clock)();
    let invocation = Invocation {
        request_id: format!("mail2sms-web-{}", &new_api_key()[..16]),
        deadline: now + Duration::seconds(25),
        function_arn: space.settings.mail_function_arn.clone().unwrap_or_default(),
    };
    let outcome = gateway
        .send_typed(&message_id, customer.account.clone(), parse_unsigned_subject(&subject), &form.text, &invocation)
        .await;
    let (summary, ok) = match outcome {
        Ok(Outcome::Sent { sent, failed, unknown, cost, refunded, .. }) => (
            format!(
                "Sent to {} ({failed} refused, {unknown} in doubt): {}, {refunded} refunded.",
                english(plural::count(sent), ("recipient", "recipients")),
                english(cost, CREDITS),
            ),
            true,
        ),
        Ok(Outcome::Scheduled { due_at, cost, .. }) => (
            format!("Scheduled for {}: {} debited.", local(due_at, customer.zone(&space)), english(cost, CREDITS)),
            true,
        ),
        Ok(Outcome::Rejected { status, .. }) => {
            let record = space.ledger.load(&message_id).await.ok().flatten();
            let text = record.and_then(|record| record.status_text).unwrap_or_default();
            (format!("Not sent: {} {text}", status.code()), false)
        }
        Ok(other) => (format!("{other:?}"), false),
        Err(problem) => {
            error!(error = %crate::domain::recipient::mask_numbers_in(&problem.to_string()), "web send not finished");
            ("Not finished: the service will finish it; see the email's page.".to_owned(), false)
        }
    };
    info!(login = %customer.account.login, message_id = %message_id, ok, "SMS typed in the customer space");
    // The header's balance as the send left it (debited, partly refunded), not as it was before.
    match space.ledger.account(&customer.account.login).await {
        Ok(Some(account)) => {
            if let Some(chrome) = page.chrome.as_mut() {
                chrome.credits = account.credits;
            }
        }
        Ok(None) => return to_login(),
        Err(problem) => warn!(error = %problem, "balance not read again after a web send"),
    }
    if ok {
        page.numbers.clear();
        page.text.clear();
        page.from.clear();
        page.date.clear();
        page.count = count_summary("");
    }
    page.outcome = Some(SentView { id: message_id, summary, ok });
    render(if ok { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY }, page)
}

// ---------------------------------------------------------------------------------------------
// Sub-accounts
// ---------------------------------------------------------------------------------------------

async fn sub_accounts_view(space: &Space, customer: &Customer, account: &Account) -> Result<SubAccountsPage, Response> {
    let mut subs = Vec::new();
    for login in &account.sub_accounts {
        if let Some(sub) = space.ledger.account(login).await.map_err(unavailable)? {
            subs.push(SubView { login: sub.login, credits: sub.credits });
        }
    }
    let mut chrome = customer.chrome("subaccounts");
    if let Some(chrome) = chrome.as_mut() {
        chrome.credits = account.credits;
    }
    Ok(SubAccountsPage { chrome, parent: account.parent.clone(), subs, created: None, notice: None, error: None })
}

async fn sub_accounts(State(space): State<Shared>, headers: HeaderMap) -> Response {
    let customer = match customer(&space, &headers).await {
        Ok(customer) => customer,
        Err(response) => return response,
    };
    match sub_accounts_view(&space, &customer, &customer.account).await {
        Ok(page) => render(StatusCode::OK, page),
        Err(response) => response,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SubAccountForm {
    csrf: String,
    login: String,
    password: String,
}

/// The sub-accounts page again, with what was done or why not.
async fn sub_accounts_after(
    space: &Space,
    customer: &Customer,
    status: StatusCode,
    fill: impl FnOnce(&mut SubAccountsPage),
) -> Response {
    let account = match space.ledger.account(&customer.account.login).await {
        Ok(Some(account)) => account,
        Ok(None) => return to_login(),
        Err(problem) => return unavailable(problem),
    };
    match sub_accounts_view(space, customer, &account).await {
        Ok(mut page) => {
            fill(&mut page);
            render(status, page)
        }
        Err(response) => response,
    }
}

async fn refuse_sub(space: &Space, customer: &Customer, problem: String) -> Response {
    sub_accounts_after(space, customer, StatusCode::BAD_REQUEST, |page| page.error = Some(problem)).await
}

async fn create_sub_account(
    State(space): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<SubAccountForm>,
) -> Response {
    let customer = match form_customer(&space, &headers, &form.csrf).await {
        Ok(customer) => customer,
        Err(response) => return response,
    };
    if customer.account.parent.is_some() {
        return refuse_sub(&space, &customer, "a sub-account has no sub-accounts of its own".to_owned()).await;
    }
    let login = form.login.trim().to_owned();
    if let Some(problem) = password_problem(&form.password) {
        return refuse_sub(&space, &customer, format!("Not created: {problem}.")).await;
    }
    let key = ApiKey::new(new_api_key());
    let mut sub = match Account::new(&login, &key, 0, (space.clock)()) {
        Ok(sub) => sub,
        Err(problem) => return refuse_sub(&space, &customer, format!("Not created: {problem}.")).await,
    };
    sub.parent = Some(customer.account.login.clone());
    sub.timezone = customer.account.timezone.clone();
    let password = form.password;
    let Ok(hash) = tokio::task::spawn_blocking(move || hash_password(&password)).await else {
        return refuse_sub(&space, &customer, "Not created: the password could not be hashed.".to_owned()).await;
    };
    sub.password_hash = Some(hash);
    match space.store.create_sub_account(&customer.account.login, &sub).await {
        Ok(SubAccountCreated::Created) => {}
        Ok(SubAccountCreated::LoginTaken) => {
            return refuse_sub(&space, &customer, format!("Not created: the login {login} is taken.")).await;
        }
        Ok(SubAccountCreated::NotAllowed) => {
            return refuse_sub(
                &space,
                &customer,
                format!(
                    "Not created: an account has at most {} sub-accounts, and a sub-account none.",
                    super::store::MAX_SUB_ACCOUNTS
                ),
            )
            .await;
        }
        Err(problem) => return unavailable(problem),
    }
    info!(login = %customer.account.login, sub = %login, "sub-account created");
    let created = (login, key.expose().to_owned());
    sub_accounts_after(&space, &customer, StatusCode::OK, |page| page.created = Some(created)).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TransferForm {
    csrf: String,
    sub: String,
    direction: String,
    credits: String,
}

async fn transfer(State(space): State<Shared>, headers: HeaderMap, Form(form): Form<TransferForm>) -> Response {
    let customer = match form_customer(&space, &headers, &form.csrf).await {
        Ok(customer) => customer,
        Err(response) => return response,
    };
    let parent = customer.account.login.clone();
    let sub = form.sub.trim().to_owned();
    // Only between an account and one of its own sub-accounts (checked again in the transaction).
    if customer.account.parent.is_some() || !customer.account.sub_accounts.contains(&sub) {
        return not_found(customer.chrome("subaccounts"));
    }
    let credits = match credit_amount(&form.credits) {
        Ok(credits) => credits,
        Err(problem) => {
            let problem = problem.to_string();
            return sub_accounts_after(&space, &customer, StatusCode::BAD_REQUEST, |page| page.error = Some(problem))
                .await;
        }
    };
    let (from, to) = match form.direction.as_str() {
        "give" => (parent.as_str(), sub.as_str()),
        "take" => (sub.as_str(), parent.as_str()),
        _ => {
            return error_page(
                StatusCode::BAD_REQUEST,
                customer.chrome("subaccounts"),
                "Which way?",
                "Give or take back.",
            );
        }
    };
    let done = match space.store.transfer(from, to, &parent, credits, (space.clock)()).await {
        Ok(done) => done,
        Err(problem) => return unavailable(problem),
    };
    let (status, message, ok) = match done {
        Transferred::Done => {
            (StatusCode::OK, format!("{} moved from {from} to {to}.", english(credits, CREDITS)), true)
        }
        Transferred::NotEnough => (
            StatusCode::CONFLICT,
            format!("Nothing moved: {from} holds fewer than {}.", english(credits, CREDITS)),
            false,
        ),
        Transferred::Refused => {
            (StatusCode::CONFLICT, format!("Nothing moved: {to} would hold more than {MAX_CREDITS} credits."), false)
        }
    };
    info!(login = %parent, from, to, credits, ok, "credits moved between sub-accounts");
    sub_accounts_after(&space, &customer, status, |page| {
        if ok { page.notice = Some(message) } else { page.error = Some(message) }
    })
    .await
}

/// What the operator's `credits add` records, so that statements show it (see
/// [`super::statement`]).
pub fn operator_credit(at: DateTime<Utc>, credits: u64) -> StoredMovement {
    StoredMovement { at, kind: MovementKind::Credit, credits, other: None }
}
