//! The customer space's DynamoDB adapter: its own table ([`crate::tables::WEB`]) and the
//! writes to accounts that only the customer space makes (password, settings, sub-accounts,
//! transfers). Reads of accounts and messages go through [`DynamoLedger`](crate::aws::dynamodb::DynamoLedger).

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem, Update};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::access::{INVITATION_HOURS, SESSION_HOURS, token, token_digest};
use crate::aws::dynamodb::queried;
use crate::aws::{conditional, port_error};
use crate::domain::account::{Account, MAX_CREDITS, Receipts};
use crate::domain::message::sortable_time;
use crate::domain::sender::SenderId;
use crate::ports::PortError;
use crate::tables::{ACCOUNTS, WEB};

type Item = HashMap<String, AttributeValue>;

/// The most sub-accounts an account may have (they are listed on its item).
pub const MAX_SUB_ACCOUNTS: usize = 100;

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn number(item: &Item, name: &str) -> Option<i64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

fn string(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn refused(message: impl Into<String>) -> PortError {
    PortError::Refused { service: "dynamodb", message: message.into() }
}

/// A customer's session, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub login: String,
    /// The token every form of this session carries.
    pub csrf: String,
    pub expires_at: i64,
}

/// A movement of credits that no message record tells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMovement {
    #[serde(with = "sortable_time")]
    pub at: DateTime<Utc>,
    pub kind: MovementKind,
    pub credits: u64,
    /// The other account of a transfer; the message of a refund.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    /// Credits the operator added (`mail2sms-admin credits add`).
    Credit,
    /// Credits received from the parent account or a sub-account.
    TransferIn,
    /// Credits given to the parent account or a sub-account.
    TransferOut,
    /// The cost of a scheduled send the customer cancelled, given back (its message in `other`).
    /// Its record tells the refund too: [`super::statement::lines`] counts it once.
    Refund,
}

/// What a transfer of credits did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transferred {
    Done,
    /// The giving account holds fewer credits than asked.
    NotEnough,
    /// The receiving account would pass [`MAX_CREDITS`], or is not related as the transfer says.
    Refused,
}

/// What creating a sub-account did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubAccountCreated {
    Created,
    LoginTaken,
    /// The parent is itself a sub-account, or already has [`MAX_SUB_ACCOUNTS`].
    NotAllowed,
}

pub struct WebStore {
    client: Client,
    table: String,
    accounts: String,
}

impl WebStore {
    pub fn new(sdk: &aws_config::SdkConfig, web_table: &str, accounts_table: &str) -> WebStore {
        WebStore { client: Client::new(sdk), table: web_table.to_owned(), accounts: accounts_table.to_owned() }
    }

    fn key(pk: impl Into<String>, sk: &str) -> Item {
        HashMap::from([(WEB.partition_key.to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
    }

    /// Puts `item` in the web table, in place of any item of its key.
    async fn put(&self, item: Item) -> Result<(), PortError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| port_error("dynamodb", e))?;
        Ok(())
    }

    fn generation_key(login: &str) -> Item {
        WebStore::key(format!("login#{login}"), "generation")
    }

    async fn get(&self, key: Item) -> Result<Option<Item>, PortError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error("dynamodb", e))?;
        Ok(output.item)
    }

    /// The login's current session generation: "log out everywhere" moves it on.
    async fn generation(&self, login: &str) -> Result<i64, PortError> {
        Ok(self.get(WebStore::generation_key(login)).await?.and_then(|item| number(&item, "generation")).unwrap_or(0))
    }

    // ----- sessions -----

    /// Opens a session for `login`; returns its token (for the cookie, never kept) and the session.
    pub async fn open_session(&self, login: &str, now: DateTime<Utc>) -> Result<(String, Session), PortError> {
        let session_token = token();
        let session = Session {
            login: login.to_owned(),
            csrf: token(),
            expires_at: (now + Duration::hours(SESSION_HOURS)).timestamp(),
        };
        let mut item = WebStore::key(format!("session#{}", token_digest(&session_token)), "session");
        item.insert("login".into(), s(login));
        item.insert("csrf".into(), s(&session.csrf));
        item.insert("generation".into(), n(self.generation(login).await?));
        item.insert("expires_at".into(), n(session.expires_at));
        self.put(item).await?;
        Ok((session_token, session))
    }

    /// The live session of `token`: not expired (DynamoDB's TTL deletes late), not closed, and
    /// of the login's current generation.
    pub async fn session(&self, session_token: &str, now: DateTime<Utc>) -> Result<Option<Session>, PortError> {
        let Some(item) = self.get(WebStore::key(format!("session#{}", token_digest(session_token)), "session")).await?
        else {
            return Ok(None);
        };
        let (Some(login), Some(csrf), Some(expires_at)) =
            (string(&item, "login"), string(&item, "csrf"), number(&item, "expires_at"))
        else {
            return Ok(None);
        };
        if expires_at <= now.timestamp() || number(&item, "generation").unwrap_or(0) != self.generation(&login).await? {
            return Ok(None);
        }
        Ok(Some(Session { login, csrf, expires_at }))
    }

    pub async fn close_session(&self, session_token: &str) -> Result<(), PortError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(WebStore::key(format!("session#{}", token_digest(session_token)), "session")))
            .send()
            .await
            .map_err(|e| port_error("dynamodb", e))?;
        Ok(())
    }

    /// Ends every session of `login` at once, wherever it was opened.
    pub async fn close_every_session(&self, login: &str) -> Result<(), PortError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(WebStore::generation_key(login)))
            .update_expression("ADD generation :one")
            .expression_attribute_values(":one", n(1))
            .send()
            .await
            .map_err(|e| port_error("dynamodb", e))?;
        Ok(())
    }

    // ----- login attempts -----

    /// Counts one attempt under `counter` (see [`super::access::attempt_keys`]); false, counting
    /// nothing, when it already had `limit` in its window. The counter expires with its window.
    pub async fn count_attempt(&self, counter: &str, limit: u32, now: DateTime<Utc>) -> Result<bool, PortError> {
        let expires = now + Duration::minutes(super::access::ATTEMPT_WINDOW_MINUTES * 2);
        let counted = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(WebStore::key(counter, "attempts")))
            .update_expression("ADD attempts :one SET expires_at = if_not_exists(expires_at, :expires)")
            .condition_expression("attribute_not_exists(attempts) OR attempts < :limit")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit))
            .expression_attribute_values(":expires", n(expires.timestamp()))
            .send()
            .await;
        conditional(counted, |_| true, false)
    }

    /// Forgets a counter (the login's, after a successful log in).
    pub async fn forget_attempts(&self, counter: &str) -> Result<(), PortError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(WebStore::key(counter, "attempts")))
            .send()
            .await
            .map_err(|e| port_error("dynamodb", e))?;
        Ok(())
    }

    // ----- invitations -----

    /// A one-time invitation for `login` to choose its password, valid [`INVITATION_HOURS`];
    /// returns its token (for the link, never kept).
    pub async fn invite(&self, login: &str, now: DateTime<Utc>) -> Result<String, PortError> {
        let invitation = token();
        let mut item = WebStore::key(format!("invite#{}", token_digest(&invitation)), "invite");
        item.insert("login".into(), s(login));
        item.insert("expires_at".into(), n((now + Duration::hours(INVITATION_HOURS)).timestamp()));
        self.put(item).await?;
        Ok(invitation)
    }

    /// The login an invitation is for, while it is valid (it stays valid).
    pub async fn invitation(&self, invitation: &str, now: DateTime<Utc>) -> Result<Option<String>, PortError> {
        let item = self.get(WebStore::key(format!("invite#{}", token_digest(invitation)), "invite")).await?;
        Ok(item
            .filter(|item| number(item, "expires_at").is_some_and(|at| at > now.timestamp()))
            .and_then(|item| string(&item, "login")))
    }

    /// Uses an invitation up: returns its login if it was valid; a second use finds nothing.
    pub async fn take_invitation(&self, invitation: &str, now: DateTime<Utc>) -> Result<Option<String>, PortError> {
        let taken = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(WebStore::key(format!("invite#{}", token_digest(invitation)), "invite")))
            .condition_expression("expires_at > :now")
            .expression_attribute_values(":now", n(now.timestamp()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        conditional(taken, |output| output.attributes.and_then(|item| string(&item, "login")), None)
    }

    // ----- accounts -----

    fn account_key(login: &str) -> Item {
        HashMap::from([(ACCOUNTS.partition_key.to_owned(), s(login))])
    }

    /// Sets fields of an existing account (`None` removes one); false if there is no such account.
    async fn set_account_fields(
        &self,
        login: &str,
        fields: Vec<(&str, Option<AttributeValue>)>,
    ) -> Result<bool, PortError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.accounts)
            .set_key(Some(WebStore::account_key(login)))
            .condition_expression("attribute_exists(login)");
        let (mut sets, mut removes) = (Vec::new(), Vec::new());
        for (i, (field, value)) in fields.into_iter().enumerate() {
            update = update.expression_attribute_names(format!("#f{i}"), field);
            match value {
                Some(value) => {
                    sets.push(format!("#f{i} = :v{i}"));
                    update = update.expression_attribute_values(format!(":v{i}"), value);
                }
                None => removes.push(format!("#f{i}")),
            }
        }
        let mut expression = String::new();
        if !sets.is_empty() {
            expression.push_str(&format!("SET {} ", sets.join(", ")));
        }
        if !removes.is_empty() {
            expression.push_str(&format!("REMOVE {}", removes.join(", ")));
        }
        conditional(update.update_expression(expression).send().await, |_| true, false)
    }

    /// Sets the account's password hash (see [`super::access::hash_password`]); false if there
    /// is no such account.
    pub async fn set_password_hash(&self, login: &str, hash: &str) -> Result<bool, PortError> {
        self.set_account_fields(login, vec![("password_hash", Some(s(hash)))]).await
    }

    /// The settings a customer changes: default sender, time zone, delivery receipts.
    pub async fn update_settings(
        &self,
        login: &str,
        sender: Option<&SenderId>,
        timezone: Option<&str>,
        receipts: Receipts,
    ) -> Result<bool, PortError> {
        self.set_account_fields(
            login,
            vec![
                ("sender", sender.map(|sender| s(sender.as_str()))),
                ("timezone", timezone.map(s)),
                ("receipts", (!receipts.is_none()).then(|| s(receipts.as_str()))),
            ],
        )
        .await
    }

    /// Creates `sub` as a sub-account of `parent`, in one transaction: the new account only if
    /// its login is free, and the parent's list only if the parent is not itself a sub-account and
    /// has room.
    pub async fn create_sub_account(&self, parent: &str, sub: &Account) -> Result<SubAccountCreated, PortError> {
        let item = serde_dynamo::to_item(sub).map_err(|e| refused(e.to_string()))?;
        let put = Put::builder()
            .table_name(&self.accounts)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(login)")
            .build()
            .expect("table and item are set");
        let listed = Update::builder()
            .table_name(&self.accounts)
            .set_key(Some(WebStore::account_key(parent)))
            .update_expression("SET sub_accounts = list_append(if_not_exists(sub_accounts, :none), :new)")
            .condition_expression(
                "attribute_exists(login) AND attribute_not_exists(parent) AND \
                 (attribute_not_exists(sub_accounts) OR size(sub_accounts) < :max)",
            )
            .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":new", AttributeValue::L(vec![s(&sub.login)]))
            .expression_attribute_values(":max", n(MAX_SUB_ACCOUNTS))
            .build()
            .expect("table, key and expression are set");
        let items =
            vec![TransactWriteItem::builder().put(put).build(), TransactWriteItem::builder().update(listed).build()];
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(SubAccountCreated::Created),
            Err(error) => match failed_conditions(&error) {
                Some(failed) if failed.first() == Some(&true) => Ok(SubAccountCreated::LoginTaken),
                Some(failed) if failed.get(1) == Some(&true) => Ok(SubAccountCreated::NotAllowed),
                _ => Err(port_error("dynamodb", error)),
            },
        }
    }

    /// Moves `credits` from `from` to `to`, in one transaction that also records the movement on
    /// both sides: only if `from` holds them (never below zero), `to` stays within
    /// [`MAX_CREDITS`], and one is the other's parent (`parent` names which).
    pub async fn transfer(
        &self,
        from: &str,
        to: &str,
        parent: &str,
        credits: u64,
        now: DateTime<Utc>,
    ) -> Result<Transferred, PortError> {
        if credits == 0 || credits > MAX_CREDITS || from == to || (parent != from && parent != to) {
            return Ok(Transferred::Refused);
        }
        // The child's item says who its parent is: its own update checks it, inside the transaction.
        let related = |condition: &str| {
            if from == parent { condition.to_owned() } else { format!("{condition} AND parent = :parent") }
        };
        let debit = Update::builder()
            .table_name(&self.accounts)
            .set_key(Some(WebStore::account_key(from)))
            .update_expression("SET credits = credits - :n")
            .condition_expression(related("attribute_exists(login) AND credits >= :n"))
            .expression_attribute_values(":n", n(credits));
        let debit = if from == parent { debit } else { debit.expression_attribute_values(":parent", s(parent)) };
        let credit = Update::builder()
            .table_name(&self.accounts)
            .set_key(Some(WebStore::account_key(to)))
            .update_expression("ADD credits :n")
            .condition_expression(if to == parent {
                "attribute_exists(login) AND credits <= :room".to_owned()
            } else {
                "attribute_exists(login) AND credits <= :room AND parent = :parent".to_owned()
            })
            .expression_attribute_values(":n", n(credits))
            .expression_attribute_values(":room", n(MAX_CREDITS - credits));
        let credit = if to == parent { credit } else { credit.expression_attribute_values(":parent", s(parent)) };
        let (debit, credit) = (debit.build().expect("set"), credit.build().expect("set"));
        let out = self.movement_put(
            from,
            &StoredMovement { at: now, kind: MovementKind::TransferOut, credits, other: Some(to.to_owned()) },
        )?;
        let into = self.movement_put(
            to,
            &StoredMovement { at: now, kind: MovementKind::TransferIn, credits, other: Some(from.to_owned()) },
        )?;
        let items = vec![
            TransactWriteItem::builder().update(debit).build(),
            TransactWriteItem::builder().update(credit).build(),
            TransactWriteItem::builder().put(out).build(),
            TransactWriteItem::builder().put(into).build(),
        ];
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(Transferred::Done),
            Err(error) => match failed_conditions(&error) {
                Some(failed) if failed.first() == Some(&true) => Ok(Transferred::NotEnough),
                Some(failed) if failed.iter().any(|f| *f) => Ok(Transferred::Refused),
                _ => Err(port_error("dynamodb", error)),
            },
        }
    }

    // ----- credit movements -----

    fn movement_put(&self, login: &str, movement: &StoredMovement) -> Result<Put, PortError> {
        let mut item: Item = serde_dynamo::to_item(movement).map_err(|e| refused(e.to_string()))?;
        let mut nonce = [0u8; 4];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut nonce);
        item.insert(WEB.partition_key.to_owned(), s(format!("movements#{login}")));
        item.insert("sk".to_owned(), s(format!("{}#{}", sortable_time::format(&movement.at), hex::encode(nonce))));
        Ok(Put::builder().table_name(&self.table).set_item(Some(item)).build().expect("table and item are set"))
    }

    /// Records a movement of `login`'s credits (the operator's credits: written after the add).
    pub async fn record_movement(&self, login: &str, movement: &StoredMovement) -> Result<(), PortError> {
        let put = self.movement_put(login, movement)?;
        self.put(put.item).await
    }

    /// `login`'s recorded movements from `from` on, oldest first.
    pub async fn movements(&self, login: &str, from: DateTime<Utc>) -> Result<Vec<StoredMovement>, PortError> {
        let items = queried(
            self.client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk >= :from")
                .expression_attribute_values(":pk", s(format!("movements#{login}")))
                .expression_attribute_values(":from", s(sortable_time::format(&from))),
        )
        .await?;
        items
            .into_iter()
            .map(|item| serde_dynamo::from_item(item).map_err(|e| refused(format!("unreadable movement: {e}"))))
            .collect()
    }
}

/// For a cancelled transaction, whether each of its items failed its condition.
fn failed_conditions<R>(
    error: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        R,
    >,
) -> Option<Vec<bool>> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => Some(
            cancelled
                .cancellation_reasons()
                .iter()
                .map(|reason| reason.code() == Some("ConditionalCheckFailed"))
                .collect(),
        ),
        _ => None,
    }
}
