//! The account's opt-out list: the numbers its emails never text (issue #9), listed by number a
//! page at a time, added (typed in any form a subject accepts, or from a CSV file) and removed.
//!
//! Every change goes through the operator's own use case ([`AccountSettings`], what
//! `mail2sms-admin optout add|remove|import` runs): the same number reader, the same CSV reader
//! ([`read_csv`]) and the same report, the same ledger writes. Only the account's own list is
//! shown here, never the gateway's (other customers' recipients who answered STOP). A customer
//! sees and changes its own list and its sub-accounts', nobody else's: 404.

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
use super::pages::{Customer, Shared, customer, form_customer, local, render, scope, unavailable};
use super::views::{OptOutView, OptOutsPage, Scope};
use crate::aws::dynamodb::PageStart;
use crate::domain::optout::{OptOut, OptOutList, OptOutSource, read_csv};
use crate::domain::recipient::parse_number;
use crate::operator::{AccountSettings, OperatorError};

/// How many numbers a page lists.
pub const PAGE_SIZE: usize = 50;

/// The most numbers one import from the web puts on the list (a bigger file is split, or given
/// to the operator, whose `optout import` has no such bound): each is looked up and written
/// within one request.
pub const MAX_IMPORT_NUMBERS: usize = 5_000;

/// The longest file text, and the longest list of typed numbers, one form takes.
const MAX_IMPORT_BYTES: usize = 1024 * 1024;
const MAX_TYPED_BYTES: usize = 64 * 1024;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/optouts", get(opt_outs).post(add))
        .route("/optouts/remove", post(remove))
        .route("/optouts/import", post(import))
}

/// Who put a number on the list, in the customer's words.
fn source(entry: &OptOut) -> &'static str {
    match entry.source {
        OptOutSource::Operator => "the operator",
        OptOutSource::Import => "the operator (file)",
        OptOutSource::Provider => "the SMS provider",
        OptOutSource::Customer => "the customer space",
        OptOutSource::Recipient => "the number itself (STOP by SMS)",
    }
}

/// The number of a page link, as the store keeps it (E.164). The links carry its digits alone
/// (a `+` in a query string reads as a space); anything else starts at the top.
fn e164_like(typed: &str) -> Option<String> {
    let digits = typed.trim().trim_start_matches('+');
    let plausible = !digits.is_empty() && digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit());
    plausible.then(|| format!("+{digits}"))
}

/// A number in a page link: its digits, without the `+`.
fn link(entry: Option<&OptOut>) -> Option<String> {
    entry.map(|entry| entry.number.e164().trim_start_matches('+').to_owned())
}

fn empty_page(customer: &Customer, scope: Scope) -> OptOutsPage {
    OptOutsPage {
        chrome: customer.chrome("settings"),
        scope,
        total: 0,
        entries: Vec::new(),
        earlier: None,
        later: None,
        find: String::new(),
        numbers: String::new(),
        csv: String::new(),
        max_import: MAX_IMPORT_NUMBERS,
        notice: None,
        error: None,
        report: Vec::new(),
    }
}

/// The list page of `scope`'s account from `start`, with `fill`'s notice, error or report.
async fn list_page(
    space: &Space,
    customer: &Customer,
    scope: Scope,
    start: PageStart,
    status: StatusCode,
    fill: impl FnOnce(&mut OptOutsPage),
) -> Response {
    let list = OptOutList::Account(scope.login.clone());
    let zone = customer.zone(space);
    let (found, total) =
        match (space.ledger.opt_outs_page(&list, &start, PAGE_SIZE).await, space.ledger.opt_outs_count(&list).await) {
            (Ok(found), Ok(total)) => (found, total),
            (Err(problem), _) | (_, Err(problem)) => return unavailable(problem),
        };
    let mut page = empty_page(customer, scope);
    page.total = total;
    page.earlier = found.earlier.then(|| link(found.entries.first())).flatten();
    page.later = found.later.then(|| link(found.entries.last())).flatten();
    page.entries = found
        .entries
        .iter()
        .map(|entry| OptOutView {
            number: entry.number.e164().to_owned(),
            source: source(entry),
            added: local(entry.added_at, zone),
        })
        .collect();
    fill(&mut page);
    render(status, page)
}

#[derive(Deserialize, Default)]
struct ListQuery {
    account: Option<String>,
    after: Option<String>,
    before: Option<String>,
    /// A number typed in any form a subject accepts: the page that starts there.
    find: Option<String>,
}

async fn opt_outs(State(space): State<Shared>, headers: HeaderMap, Query(query): Query<ListQuery>) -> Response {
    let customer = match customer(&space, &headers).await {
        Ok(customer) => customer,
        Err(response) => return response,
    };
    let scope = match scope(&customer, query.account.as_deref(), "settings") {
        Ok(scope) => scope,
        Err(response) => return response,
    };
    let find = query.find.as_deref().map(str::trim).filter(|typed| !typed.is_empty());
    let (start, problem) = match find.map(parse_number) {
        Some(Ok(number)) => (PageStart::From(number.e164().to_owned()), None),
        Some(Err(_)) => (PageStart::First, Some(format!("{:?} is not a phone number.", find.unwrap_or_default()))),
        None => match (query.after.as_deref().and_then(e164_like), query.before.as_deref().and_then(e164_like)) {
            (Some(after), _) => (PageStart::After(after), None),
            (None, Some(before)) => (PageStart::Before(before), None),
            (None, None) => (PageStart::First, None),
        },
    };
    let status = if problem.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let typed = find.unwrap_or_default().to_owned();
    list_page(&space, &customer, scope, start, status, |page| {
        page.find = typed;
        page.error = problem;
    })
    .await
}

/// The signed-in customer of a list form (its CSRF token checked), and the list it changes.
async fn form_scope(
    space: &Space,
    headers: &HeaderMap,
    csrf: &str,
    asked: &str,
) -> Result<(Customer, Scope), Response> {
    let customer = form_customer(space, headers, csrf).await?;
    let scope = scope(&customer, Some(asked.trim()), "settings")?;
    Ok((customer, scope))
}

/// The first page again, with why nothing changed: what was typed is given back.
async fn refused(
    space: &Space,
    customer: &Customer,
    scope: Scope,
    told: String,
    fill: impl FnOnce(&mut OptOutsPage),
) -> Response {
    info!(login = %customer.account.login, account = %scope.login, "opt-out list change refused");
    list_page(space, customer, scope, PageStart::First, StatusCode::BAD_REQUEST, |page| {
        page.error = Some(told);
        fill(page);
    })
    .await
}

/// What a refused change tells the customer.
fn told(problem: OperatorError) -> Result<String, Response> {
    match problem {
        OperatorError::Port(problem) => Err(unavailable(problem)),
        other => Ok(format!("{other}.")),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NumbersForm {
    csrf: String,
    account: String,
    /// One or more numbers, a line each (or separated by `;` or `,`, as in a subject).
    numbers: String,
}

fn typed_numbers(form: &NumbersForm) -> Result<Vec<String>, String> {
    if form.numbers.len() > MAX_TYPED_BYTES {
        return Err(format!("Nothing changed: at most {} KB of numbers at a time.", MAX_TYPED_BYTES / 1024));
    }
    let typed: Vec<String> =
        form.numbers.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_owned).collect();
    if typed.is_empty() {
        return Err("Nothing changed: type a number.".to_owned());
    }
    Ok(typed)
}

async fn add(State(space): State<Shared>, headers: HeaderMap, Form(form): Form<NumbersForm>) -> Response {
    change(space, headers, form, true).await
}

async fn remove(State(space): State<Shared>, headers: HeaderMap, Form(form): Form<NumbersForm>) -> Response {
    change(space, headers, form, false).await
}

async fn change(space: Shared, headers: HeaderMap, form: NumbersForm, adding: bool) -> Response {
    let (customer, scope) = match form_scope(&space, &headers, &form.csrf, &form.account).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let typed = match typed_numbers(&form) {
        Ok(typed) => typed,
        Err(problem) => return refused(&space, &customer, scope, problem, |page| page.numbers = form.numbers).await,
    };
    let list = OptOutList::Account(scope.login.clone());
    let settings = AccountSettings::new(&space.ledger);
    let changed = if adding {
        settings.add_opt_outs(&list, &typed, OptOutSource::Customer).await
    } else {
        settings.remove_opt_outs(&list, &typed).await
    };
    let summary = match changed {
        Ok(changed) if adding => changed.summary("added", "already on it"),
        Ok(changed) => changed.summary("removed", "was not on it"),
        Err(problem) => {
            return match told(problem) {
                Ok(told) => refused(&space, &customer, scope, told, |page| page.numbers = form.numbers).await,
                Err(response) => response,
            };
        }
    };
    info!(login = %customer.account.login, account = %scope.login, adding, "opt-out list changed");
    list_page(&space, &customer, scope, PageStart::First, StatusCode::OK, |page| page.notice = Some(summary)).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ImportForm {
    csrf: String,
    account: String,
    /// The CSV file's text (the page's script reads a chosen file into it; it can be pasted too).
    csv: String,
}

async fn import(State(space): State<Shared>, headers: HeaderMap, Form(form): Form<ImportForm>) -> Response {
    let (customer, scope) = match form_scope(&space, &headers, &form.csrf, &form.account).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if form.csv.len() > MAX_IMPORT_BYTES {
        let problem = format!("Nothing imported: a file of at most {} MB at a time.", MAX_IMPORT_BYTES / 1024 / 1024);
        return refused(&space, &customer, scope, problem, |_| {}).await;
    }
    let file = read_csv(&form.csv);
    if file.numbers.len() > MAX_IMPORT_NUMBERS {
        let problem = format!(
            "Nothing imported: the file holds {} numbers, and at most {MAX_IMPORT_NUMBERS} are imported at a time. \
             Split it, or ask your operator to import it.",
            file.numbers.len()
        );
        return refused(&space, &customer, scope, problem, |_| {}).await;
    }
    if file.numbers.is_empty() && file.rejected.is_empty() {
        return refused(&space, &customer, scope, "Nothing imported: the file holds no number.".to_owned(), |_| {})
            .await;
    }
    let list = OptOutList::Account(scope.login.clone());
    let imported = match AccountSettings::new(&space.ledger).import_opt_outs(&list, file, OptOutSource::Customer).await
    {
        Ok(imported) => imported,
        Err(problem) => {
            return match told(problem) {
                Ok(told) => refused(&space, &customer, scope, told, |_| {}).await,
                Err(response) => response,
            };
        }
    };
    info!(
        login = %customer.account.login,
        account = %scope.login,
        added = imported.added,
        rejected = imported.file.rejected.len(),
        "opt-out list imported"
    );
    list_page(&space, &customer, scope, PageStart::First, StatusCode::OK, |page| {
        page.notice = Some(imported.summary());
        page.report = imported.rejected_lines();
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_links_carry_digits_and_read_back_as_e164() {
        assert_eq!(e164_like("33612345678").as_deref(), Some("+33612345678"));
        assert_eq!(e164_like("+33612345678").as_deref(), Some("+33612345678"));
        assert_eq!(e164_like(" 33612345678").as_deref(), Some("+33612345678"), "a + read from a query string");
        for garbage in ["", "+", "06 12", "336123456789012345", "33<script>"] {
            assert_eq!(e164_like(garbage), None, "{garbage:?}");
        }
    }
}
