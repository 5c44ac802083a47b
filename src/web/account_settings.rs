//! The settings page and its forms: the default sender, time zone and delivery receipts; what
//! proves that an email comes from the account (its authentication mode and allowed senders);
//! the credit alerts (low-credit threshold, contact); the French marketing hours. The opt-out
//! list has a page of its own ([`super::optouts`]).
//!
//! Every change of the account's rules goes through the operator's own use case
//! ([`AccountSettings`], what `mail2sms-admin account update` runs): the same domain checks, the
//! same ledger writes (an allowed sender stays one account's only, in one DynamoDB transaction; a
//! new threshold re-arms the alert), so that nothing typed on the web skips a rule. A customer
//! changes its own settings and its sub-accounts' (`?account=`, as every page that shows a
//! sub-account's data), nobody else's: 404, as for anything that is not the customer's.

// A refusal is the response itself, handed back to the client as it is.
#![allow(clippy::result_large_err)]

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use tracing::info;

use super::Space;
use super::pages::{
    CREDITS, Customer, Shared, customer, form_customer, not_found, render, scope, to_login, unavailable,
};
use super::views::{Scope, SettingsPage};
use crate::domain::account::{Account, AccountError, AuthMode, Receipts, credit_amount};
use crate::domain::alerts::parse_contact;
use crate::domain::date::parse_timezone;
use crate::domain::sender::SenderId;
use crate::operator::{AccountSettings, OperatorError};
use crate::plural::english;
use crate::ports::Ledger;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/settings", get(settings_page).post(save_settings))
        .route("/settings/senders", post(change_senders))
        .route("/settings/alerts", post(change_alerts))
        .route("/settings/hours", post(change_hours))
}

/// The account whose settings a page shows or a form changes, as it is now: the customer's own,
/// or one of its sub-accounts' (`asked`); anything else is 404.
async fn settings_account(
    space: &Space,
    customer: &Customer,
    asked: Option<&str>,
) -> Result<(Scope, Account), Response> {
    let scope = scope(customer, asked, "settings")?;
    if scope.login == customer.account.login {
        return Ok((scope, customer.account.clone()));
    }
    match space.ledger.account(&scope.login).await {
        Ok(Some(account)) => Ok((scope, account)),
        Ok(None) => Err(not_found(customer.chrome("settings"))),
        Err(problem) => Err(unavailable(problem)),
    }
}

/// The signed-in customer of a settings form (its CSRF token checked), and the account it changes.
async fn form_account(
    space: &Space,
    headers: &HeaderMap,
    csrf: &str,
    asked: &str,
) -> Result<(Customer, Scope, Account), Response> {
    let customer = form_customer(space, headers, csrf).await?;
    let (scope, account) = settings_account(space, &customer, Some(asked.trim())).await?;
    Ok((customer, scope, account))
}

fn settings_view(space: &Space, customer: &Customer, scope: Scope, account: &Account) -> SettingsPage {
    SettingsPage {
        chrome: customer.chrome("settings"),
        own: scope.login == customer.account.login,
        scope,
        sender: account.sender.as_ref().map(|sender| sender.as_str().to_owned()).unwrap_or_default(),
        timezone: account.timezone.clone().unwrap_or_default(),
        default_timezone: space.settings.default_timezone.name().to_owned(),
        receipts: account.receipts.as_str().to_owned(),
        auth: account.auth.as_str().to_owned(),
        allowed_senders: account.allowed_senders.clone(),
        allow: String::new(),
        ignore_marketing_hours: account.ignore_marketing_hours,
        low_credit: account.low_credit.map(|credits| credits.to_string()).unwrap_or_default(),
        contact: account.contact.clone().unwrap_or_default(),
        cut_at: account.cut_at.clone(),
        notice: None,
        error: None,
    }
}

#[derive(Deserialize, Default)]
struct AccountQuery {
    account: Option<String>,
}

async fn settings_page(State(space): State<Shared>, headers: HeaderMap, Query(query): Query<AccountQuery>) -> Response {
    let customer = match customer(&space, &headers).await {
        Ok(customer) => customer,
        Err(response) => return response,
    };
    match settings_account(&space, &customer, query.account.as_deref()).await {
        Ok((scope, account)) => render(StatusCode::OK, settings_view(&space, &customer, scope, &account)),
        Err(response) => response,
    }
}

/// The settings page again, the account read anew, with what was done or why not.
async fn settings_after(
    space: &Space,
    customer: &Customer,
    scope: Scope,
    status: StatusCode,
    fill: impl FnOnce(&mut SettingsPage),
) -> Response {
    let account = match space.ledger.account(&scope.login).await {
        Ok(Some(account)) => account,
        Ok(None) if scope.login == customer.account.login => return to_login(),
        Ok(None) => return not_found(customer.chrome("settings")),
        Err(problem) => return unavailable(problem),
    };
    let mut page = settings_view(space, customer, scope, &account);
    fill(&mut page);
    render(status, page)
}

/// What a refused change tells the customer, and its status: what it can do about it, never
/// which account holds a sender another account asks for.
fn refusal(problem: &OperatorError) -> (StatusCode, String) {
    match problem {
        OperatorError::SenderTaken { sender, .. } => (
            StatusCode::CONFLICT,
            format!(
                "Not saved: {sender} is allowed by another account already, and an address or a domain belongs to \
                 one account only. Nothing changed."
            ),
        ),
        OperatorError::SendersChangedMeanwhile(_) => (
            StatusCode::CONFLICT,
            "Not saved: the allowed senders changed meanwhile (in another window, or by the operator). Nothing \
             changed: see them below, then try again."
                .to_owned(),
        ),
        OperatorError::Account(AccountError::NobodyAllowed(mode)) => (
            StatusCode::BAD_REQUEST,
            format!(
                "Not saved: in {} mode the account needs at least one allowed sender, or nobody could send. Allow \
                 one first. Nothing changed.",
                mode.as_str()
            ),
        ),
        other => (StatusCode::BAD_REQUEST, format!("Not saved: {other}.")),
    }
}

/// The settings page with a change refused, and why (see [`refusal`]); `allow` is what the
/// customer typed to allow, given back.
async fn refused(space: &Space, customer: &Customer, scope: Scope, problem: OperatorError, allow: String) -> Response {
    let (status, told) = match problem {
        OperatorError::Port(problem) => return unavailable(problem),
        OperatorError::NoAccount(_) => return not_found(customer.chrome("settings")),
        problem => refusal(&problem),
    };
    info!(login = %customer.account.login, account = %scope.login, status = status.as_u16(), "settings refused");
    settings_after(space, customer, scope, status, |page| {
        page.error = Some(told);
        page.allow = allow;
    })
    .await
}

async fn saved(space: &Space, customer: &Customer, scope: Scope, what: &str, notice: String) -> Response {
    info!(login = %customer.account.login, account = %scope.login, what, "settings saved");
    settings_after(space, customer, scope, StatusCode::OK, |page| page.notice = Some(notice)).await
}

// ----- default sender, time zone, delivery receipts -----

#[derive(Deserialize, Default)]
#[serde(default)]
struct SettingsForm {
    csrf: String,
    account: String,
    sender: String,
    timezone: String,
    receipts: String,
}

async fn save_settings(State(space): State<Shared>, headers: HeaderMap, Form(form): Form<SettingsForm>) -> Response {
    let (customer, scope, account) = match form_account(&space, &headers, &form.csrf, &form.account).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let refuse = |problem: &str| {
        let mut page = settings_view(&space, &customer, scope.clone(), &account);
        page.error = Some(format!("Not saved: {problem}."));
        render(StatusCode::BAD_REQUEST, page)
    };
    let sender = form.sender.trim();
    let sender = match (!sender.is_empty()).then(|| SenderId::parse(sender)).transpose() {
        Ok(sender) => sender,
        Err(_) => return refuse("a sender is 3 to 11 unaccented letters, digits or spaces, starting with a letter"),
    };
    let timezone = Some(form.timezone.trim()).filter(|zone| !zone.is_empty());
    if timezone.is_some_and(|zone| parse_timezone(zone).is_none()) {
        return refuse("unknown time zone (an IANA name, such as Europe/Paris)");
    }
    let Some(receipts) = Receipts::parse(form.receipts.trim()) else {
        return refuse("receipts are none, failures or all");
    };
    match space.store.update_settings(&scope.login, sender.as_ref(), timezone, receipts).await {
        Ok(true) => {}
        Ok(false) => return to_login(),
        Err(problem) => return unavailable(problem),
    }
    saved(&space, &customer, scope, "sender, time zone, receipts", "Saved.".to_owned()).await
}

// ----- authentication mode and allowed senders -----

/// One change of what proves that an email comes from the account, as `account update --auth
/// --allow --disallow` makes it: the mode (empty: kept), senders to allow (one or more,
/// separated by spaces, commas or line breaks) and one to take away.
#[derive(Deserialize, Default)]
#[serde(default)]
struct SendersForm {
    csrf: String,
    account: String,
    auth: String,
    allow: String,
    disallow: String,
}

async fn change_senders(State(space): State<Shared>, headers: HeaderMap, Form(form): Form<SendersForm>) -> Response {
    let (customer, scope, _) = match form_account(&space, &headers, &form.csrf, &form.account).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let auth = match form.auth.trim() {
        "" => None,
        typed => match AuthMode::parse(typed) {
            Some(auth) => Some(auth),
            None => {
                let problem = "the authentication is key, key+sender or sender";
                return settings_after(&space, &customer, scope, StatusCode::BAD_REQUEST, |page| {
                    page.error = Some(format!("Not saved: {problem}."))
                })
                .await;
            }
        },
    };
    let allow: Vec<String> = form
        .allow
        .split([' ', '\t', '\r', '\n', ',', ';'])
        .filter(|typed| !typed.is_empty())
        .map(str::to_owned)
        .collect();
    let disallow: Vec<String> =
        Some(form.disallow.trim()).filter(|typed| !typed.is_empty()).map(str::to_owned).into_iter().collect();
    if auth.is_none() && allow.is_empty() && disallow.is_empty() {
        return settings_after(&space, &customer, scope, StatusCode::BAD_REQUEST, |page| {
            page.error = Some("Nothing to change: type a sender to allow.".to_owned())
        })
        .await;
    }
    match AccountSettings::new(&space.ledger).update_senders(&scope.login, auth, &allow, &disallow).await {
        Ok(account) => {
            let senders = match account.allowed_senders.len() {
                0 => "no allowed sender".to_owned(),
                _ => format!("allowed senders {}", account.allowed_senders.join(", ")),
            };
            let notice = format!("Saved: authentication {}; {senders}.", account.auth.as_str());
            saved(&space, &customer, scope, "allowed senders", notice).await
        }
        Err(problem) => refused(&space, &customer, scope, problem, form.allow).await,
    }
}

// ----- credit alerts -----

/// The low-credit threshold and the contact alerts go to (each empty: none).
#[derive(Deserialize, Default)]
#[serde(default)]
struct AlertsForm {
    csrf: String,
    account: String,
    low_credit: String,
    contact: String,
}

async fn change_alerts(State(space): State<Shared>, headers: HeaderMap, Form(form): Form<AlertsForm>) -> Response {
    let (customer, scope, account) = match form_account(&space, &headers, &form.csrf, &form.account).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let threshold = Some(form.low_credit.trim()).filter(|typed| !typed.is_empty());
    let contact = Some(form.contact.trim()).filter(|typed| !typed.is_empty());
    // Both read first, by the rules the writes apply again: a wrong one changes neither.
    let wanted_threshold = match threshold.map(credit_amount).transpose() {
        Ok(wanted) => wanted,
        Err(problem) => return refused(&space, &customer, scope, problem.into(), String::new()).await,
    };
    let wanted_contact = match contact.map(|typed| parse_contact(typed).ok_or(typed)).transpose() {
        Ok(wanted) => wanted,
        Err(typed) => {
            let problem = OperatorError::ImpossibleContact(typed.to_owned());
            return refused(&space, &customer, scope, problem, String::new()).await;
        }
    };
    let settings = AccountSettings::new(&space.ledger);
    let (mut after, mut changed) = (account.clone(), false);
    // Only what changed is written: a threshold written again would re-arm an alert already told.
    if wanted_contact != account.contact {
        match settings.set_contact(&scope.login, contact).await {
            Ok(account) => (after, changed) = (account, true),
            Err(problem) => return refused(&space, &customer, scope, problem, String::new()).await,
        }
    }
    if wanted_threshold != account.low_credit {
        match settings.set_low_credit(&scope.login, threshold).await {
            Ok(account) => (after, changed) = (account, true),
            Err(problem) => return refused(&space, &customer, scope, problem, String::new()).await,
        }
    }
    let notice = match (after.low_credit, &after.contact) {
        _ if !changed => "Nothing changed.".to_owned(),
        (Some(threshold), Some(contact)) => {
            format!("Saved: an alert to {contact} when the balance goes below {}.", english(threshold, CREDITS))
        }
        (Some(threshold), None) => format!(
            "Saved: a threshold of {}, but no contact: no alert is sent until you give one.",
            english(threshold, CREDITS)
        ),
        (None, Some(contact)) => {
            format!("Saved: no low-credit threshold; a refusal for want of credits (104) is told to {contact}.")
        }
        (None, None) => "Saved: no credit alert.".to_owned(),
    };
    saved(&space, &customer, scope, "credit alerts", notice).await
}

// ----- French marketing hours -----

#[derive(Deserialize, Default)]
#[serde(default)]
struct HoursForm {
    csrf: String,
    account: String,
    /// `hold` (the default) or `ignore` (the customer takes the responsibility).
    marketing_hours: String,
}

async fn change_hours(State(space): State<Shared>, headers: HeaderMap, Form(form): Form<HoursForm>) -> Response {
    let (customer, scope, _) = match form_account(&space, &headers, &form.csrf, &form.account).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let hold = match form.marketing_hours.as_str() {
        "hold" => true,
        "ignore" => false,
        _ => {
            return settings_after(&space, &customer, scope, StatusCode::BAD_REQUEST, |page| {
                page.error =
                    Some("Not saved: choose whether commercial messages wait for the marketing hours.".to_owned())
            })
            .await;
        }
    };
    match AccountSettings::new(&space.ledger).set_marketing_hours(&scope.login, hold).await {
        Ok(_) => {
            let notice = if hold {
                "Saved: commercial messages to French numbers wait for the marketing hours."
            } else {
                "Saved: commercial messages go at any hour, under your responsibility."
            };
            saved(&space, &customer, scope, "marketing hours", notice.to_owned()).await
        }
        Err(problem) => refused(&space, &customer, scope, problem, String::new()).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sender_taken_is_refused_without_naming_the_account_that_has_it() {
        let taken = OperatorError::SenderTaken { sender: "claire@shop.example".into(), owner: "rival".into() };
        let (status, told) = refusal(&taken);
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(told.contains("claire@shop.example") && told.contains("another account"), "{told}");
        assert!(!told.contains("rival"), "{told}");
        assert!(taken.to_string().contains("rival"), "the operator, though, is told");
    }

    #[test]
    fn a_mode_without_a_sender_is_explained_in_the_customers_words() {
        let (status, told) = refusal(&OperatorError::Account(AccountError::NobodyAllowed(AuthMode::Sender)));
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(told.contains("in sender mode") && !told.contains("--allow"), "{told}");
    }
}
