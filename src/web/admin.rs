//! What `mail2sms-admin` does for the customer space: the first password (`account password`),
//! an invitation by email (`account invite`), the web table at `bootstrap`, and the record of
//! the operator's credits for the statements (`credits add`). The web table's name comes from
//! `WEB_TABLE`; without it, only the password can be set (and no session is ended).

use chrono::Utc;
use mail_builder::MessageBuilder;

use super::access::{INVITATION_HOURS, hash_password, password_problem};
use super::settings::vars;
use super::store::WebStore;
use crate::aws::sesv2::SesMailer;
use crate::ports::ReplyMailer;

/// The customer space's table, when the environment names it.
pub fn web_table() -> Option<String> {
    std::env::var(vars::WEB_TABLE).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Creates the web table if missing (`bootstrap`); `None` when `WEB_TABLE` is not set.
pub async fn bootstrap(sdk: &aws_config::SdkConfig) -> Result<Option<(String, bool)>, String> {
    let Some(table) = web_table() else { return Ok(None) };
    let client = aws_sdk_dynamodb::Client::new(sdk);
    let created =
        crate::aws::bootstrap::create_table(&client, &crate::tables::WEB, &table).await.map_err(|e| e.to_string())?;
    Ok(Some((table, created)))
}

/// Sets `login`'s password (read from `input`: its first line) and, with a web table, ends the
/// login's sessions. The password is never printed nor logged.
pub async fn set_password(
    sdk: &aws_config::SdkConfig,
    accounts_table: &str,
    login: &str,
    input: &str,
) -> Result<(), String> {
    let password = input.lines().next().unwrap_or_default();
    if let Some(problem) = password_problem(password) {
        return Err(format!("{problem}; nothing changed"));
    }
    let table = web_table();
    let store = WebStore::new(sdk, table.as_deref().unwrap_or_default(), accounts_table);
    if !store.set_password_hash(login, &hash_password(password)).await.map_err(|e| e.to_string())? {
        return Err(format!("no account {login}"));
    }
    if table.is_some() {
        store.close_every_session(login).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Makes a one-time invitation for `login` and returns its link under `base_url`; with `email`,
/// sends it from `from` through SES (an error says so, after the link was made).
pub async fn invite(
    sdk: &aws_config::SdkConfig,
    accounts_table: &str,
    login: &str,
    base_url: &str,
    email: Option<(&str, &str)>,
) -> Result<String, String> {
    let table =
        web_table().ok_or_else(|| format!("{} is not set: invitations live in the web table", vars::WEB_TABLE))?;
    let store = WebStore::new(sdk, &table, accounts_table);
    let ledger = crate::aws::dynamodb::DynamoLedger::new(sdk, accounts_table, "", "");
    if crate::ports::Ledger::account(&ledger, login).await.map_err(|e| e.to_string())?.is_none() {
        return Err(format!("no account {login}"));
    }
    let token = store.invite(login, Utc::now()).await.map_err(|e| e.to_string())?;
    let link = format!("{}/invitation/{token}", base_url.trim_end_matches('/'));
    if let Some((to, from)) = email {
        let text = format!(
            "Hello,\n\nYour Mail2SMS customer space is ready for the account {login}.\n\
             Choose your password here (the link works once, for {INVITATION_HOURS} hours):\n\n{link}\n\n\
             Then log in at {}/login with the login {login}.\n",
            base_url.trim_end_matches('/')
        );
        let domain = from.rsplit_once('@').map_or("localhost", |(_, domain)| domain);
        let mut mime = Vec::new();
        MessageBuilder::new()
            .from(from)
            .to(to)
            .subject("Your Mail2SMS customer space")
            .date(mail_builder::headers::date::Date::new(Utc::now().timestamp()))
            .message_id(format!("{}@{domain}", &super::access::token()[..32]))
            .text_body(text.replace('\n', "\r\n"))
            .write_to(&mut mime)
            .map_err(|e| e.to_string())?;
        SesMailer::new(sdk, from)
            .send_raw(to, mime)
            .await
            .map_err(|e| format!("the invitation was made ({link}) but not sent: {e}"))?;
    }
    Ok(link)
}

/// Records credits the operator added, for the statements; `false` without a web table.
pub async fn record_credit(
    sdk: &aws_config::SdkConfig,
    accounts_table: &str,
    login: &str,
    credits: u64,
) -> Result<bool, String> {
    let Some(table) = web_table() else { return Ok(false) };
    let store = WebStore::new(sdk, &table, accounts_table);
    store
        .record_movement(login, &super::pages::operator_credit(Utc::now(), credits))
        .await
        .map_err(|e| e.to_string())?;
    Ok(true)
}
