//! Accounts, credits and message records in DynamoDB.
//!
//! A new email costs one transaction: the message record is put only if its SES message id is
//! new, and the account is debited only if the key matches, the account is not suspended and
//! its credits cover the cost. When either condition fails, DynamoDB hands back the item that
//! failed it, which tells a duplicate from 102 from 104 without another read. The same
//! transaction checks that none of the email's numbers is on an opt-out list (a condition check
//! per number and list; a lookup first for an email too large for one transaction): no call of
//! its own for the lists.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, ConditionCheck, DeleteRequest, KeysAndAttributes, Put, PutRequest, ReturnValue,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update, WriteRequest,
};
use chrono::{DateTime, Utc};
use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};

use super::{conditional, port_error};
use crate::domain::account::Account;
use crate::domain::alerts::Alert;
use crate::domain::contact_list::ListName;
use crate::domain::delivery::DeliveryReport;
use crate::domain::message::{Delivery, MessageRecord, MessageState, ReplyOutcome, sortable_time};
use crate::domain::optout::{Lifting, OptOut, OptOutList, OptOutSource};
use crate::domain::recipient::Recipient;
use crate::ports::{Debit, Lease, Ledger, Opening, PortError};
use crate::tables::{ACCOUNTS, MESSAGES, MESSAGES_BY_LOGIN, OPT_OUTS};

type Item = HashMap<String, AttributeValue>;

/// The condition that makes a message record exist once: its SES message id is new.
const NEW_MESSAGE: &str = "attribute_not_exists(message_id)";

pub struct DynamoLedger {
    client: Client,
    accounts: String,
    messages: String,
    opt_outs: String,
    /// The contact lists' table (see [`super::contact_lists`]); empty when not named.
    contact_lists: String,
    /// Each checkpoint also writes, for each SMS it records as sent, an item that leads from the
    /// provider's message id to its recipient (SNS's delivery logs carry nothing else of ours).
    index_provider_ids: bool,
}

/// How long an index item from a provider's message id is kept: providers report within 72 hours.
const PROVIDER_INDEX_DAYS: i64 = 7;

/// The key of the index item of a provider's message id. SES message ids have no `#`, so these
/// keys never meet a message's.
fn provider_index_key(provider_id: &str) -> String {
    format!("provider#{provider_id}")
}

/// How long the note of an inbound SMS is kept: SNS and Lambda give up on an event long before.
const INBOUND_NOTE_DAYS: i64 = 7;

/// The key of the note of an inbound SMS (two-way), by its provider's id.
fn inbound_key(inbound_id: &str) -> String {
    format!("inbound#{inbound_id}")
}

/// What an inbound SMS's note says of its forward (`Due` when it says nothing readable).
fn inbound_forward(item: &Item) -> ReplyOutcome {
    item.get("forward")
        .and_then(|value| serde_dynamo::from_attribute_value(value.clone()).ok())
        .unwrap_or(ReplyOutcome::Due)
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn to_item<T: Serialize>(value: &T) -> Result<Item, PortError> {
    serde_dynamo::to_item(value).map_err(|e| PortError::Refused { service: "dynamodb", message: e.to_string() })
}

fn to_value<T: Serialize>(value: &T) -> Result<AttributeValue, PortError> {
    serde_dynamo::to_attribute_value(value)
        .map_err(|e| PortError::Refused { service: "dynamodb", message: e.to_string() })
}

fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, PortError> {
    serde_dynamo::from_item(item)
        .map_err(|e| PortError::Refused { service: "dynamodb", message: format!("unreadable item: {e}") })
}

fn state(state: MessageState) -> Result<AttributeValue, PortError> {
    to_value(&state)
}

/// Every item a query finds, every page of it.
pub(crate) async fn queried(query: QueryFluentBuilder) -> Result<Vec<Item>, PortError> {
    query.into_paginator().items().send().collect::<Result<_, _>>().await.map_err(|e| port_error("dynamodb", e))
}

/// Every item a scan finds, every page of it.
async fn scanned(scan: ScanFluentBuilder) -> Result<Vec<Item>, PortError> {
    scan.into_paginator().items().send().collect::<Result<_, _>>().await.map_err(|e| port_error("dynamodb", e))
}

/// The reasons of a cancelled transaction, in the order of its items.
fn cancellation_reasons(error: &TransactWriteItemsError) -> Option<&[CancellationReason]> {
    match error {
        TransactWriteItemsError::TransactionCanceledException(cancelled) => cancelled.cancellation_reasons.as_deref(),
        _ => None,
    }
}

fn failed_condition(reason: &CancellationReason) -> bool {
    reason.code() == Some("ConditionalCheckFailed")
}

impl DynamoLedger {
    /// The ledger on its three tables: accounts, messages and opt-out lists.
    pub fn new(sdk: &aws_config::SdkConfig, accounts: &str, messages: &str, opt_outs: &str) -> DynamoLedger {
        DynamoLedger {
            client: Client::new(sdk),
            accounts: accounts.to_owned(),
            messages: messages.to_owned(),
            opt_outs: opt_outs.to_owned(),
            contact_lists: String::new(),
            index_provider_ids: false,
        }
    }

    /// The same ledger, on this contact lists' table.
    pub fn with_contact_lists(self, table: &str) -> DynamoLedger {
        DynamoLedger { contact_lists: table.to_owned(), ..self }
    }

    pub(crate) fn contact_lists_table(&self) -> &str {
        &self.contact_lists
    }

    /// The same ledger, keeping (or not) the index of provider message ids.
    pub fn indexing_provider_ids(self, index: bool) -> DynamoLedger {
        DynamoLedger { index_provider_ids: index, ..self }
    }

    /// The index item leading from the provider's id of the recipient at `index` to it.
    fn provider_index_put(&self, record: &MessageRecord, index: usize, now: DateTime<Utc>) -> Option<Put> {
        let provider_id = record.recipients[index].provider_id.as_deref()?;
        let item = HashMap::from([
            (MESSAGES.partition_key.to_owned(), s(provider_index_key(provider_id))),
            ("target_message_id".to_owned(), s(&record.message_id)),
            ("position".to_owned(), n(index)),
            ("expires_at".to_owned(), n((now + chrono::Duration::days(PROVIDER_INDEX_DAYS)).timestamp())),
        ]);
        Some(Put::builder().table_name(&self.messages).set_item(Some(item)).build().expect("table and item are set"))
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    fn account_key(&self, login: &str) -> Item {
        HashMap::from([(ACCOUNTS.partition_key.to_owned(), s(login))])
    }

    fn message_key(&self, message_id: &str) -> Item {
        HashMap::from([(MESSAGES.partition_key.to_owned(), s(message_id))])
    }

    fn debit_update(&self, debit: &Debit) -> Update {
        Update::builder()
            .table_name(&self.accounts)
            .set_key(Some(self.account_key(&debit.login)))
            .update_expression("SET credits = credits - :cost")
            .condition_expression("key_sha256 = :key AND suspended = :false AND credits >= :cost")
            .expression_attribute_values(":cost", n(debit.credits))
            .expression_attribute_values(":key", s(&debit.key_sha256))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("table, key and expression are set")
    }

    fn refund_update(&self, login: &str, credits: u64) -> Update {
        Update::builder()
            .table_name(&self.accounts)
            .set_key(Some(self.account_key(login)))
            .update_expression("ADD credits :refund")
            .condition_expression("attribute_exists(login)")
            .expression_attribute_values(":refund", n(credits))
            .build()
            .expect("table, key and expression are set")
    }

    /// Puts a record only if its message id is new; a failed condition hands back the old one.
    fn put_new(&self, record: &MessageRecord) -> Result<Put, PortError> {
        Ok(Put::builder()
            .table_name(&self.messages)
            .set_item(Some(to_item(record)?))
            .condition_expression(NEW_MESSAGE)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("table and item are set"))
    }

    /// A transaction DynamoDB applies once even when the SDK sends it again (same token,
    /// within ten minutes).
    async fn transact_once(
        &self,
        items: Vec<TransactWriteItem>,
        token: &str,
    ) -> Result<(), aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError>> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(token)
            .send()
            .await
            .map(|_| ())
    }

    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<(), aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError>> {
        self.client.transact_write_items().set_transact_items(Some(items)).send().await.map(|_| ())
    }

    /// An UpdateItem of the account `login`.
    fn account_update(&self, login: &str) -> UpdateItemFluentBuilder {
        self.client.update_item().table_name(&self.accounts).set_key(Some(self.account_key(login)))
    }

    /// An update built for a transaction, made alone (an UpdateItem) when nothing changes with it.
    fn update_alone(&self, update: Update) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(update.table_name)
            .set_key(Some(update.key))
            .update_expression(update.update_expression)
            .set_condition_expression(update.condition_expression)
            .set_expression_attribute_names(update.expression_attribute_names)
            .set_expression_attribute_values(update.expression_attribute_values)
    }

    // ----- operator's calls (mail2sms-admin) -----

    /// Creates an account; false if the login is taken.
    pub async fn create_account(&self, account: &Account) -> Result<bool, PortError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.accounts)
            .set_item(Some(to_item(account)?))
            .condition_expression("attribute_not_exists(login)")
            .send()
            .await;
        conditional(put, |_| true, false)
    }

    /// Suspends the account (its emails are refused, 102) or resumes it; returns it as it is
    /// after, `None` if there is no such account.
    pub async fn set_suspended(&self, login: &str, suspended: bool) -> Result<Option<Account>, PortError> {
        self.set_account_field(login, "suspended", AttributeValue::Bool(suspended)).await
    }

    /// Replaces the account's cut rules by `rules`; returns the account as it is after, `None` if
    /// there is no such account.
    pub async fn set_cut_rules(&self, login: &str, rules: &[String]) -> Result<Option<Account>, PortError> {
        self.set_account_field(login, "cut_at", to_value(&rules)?).await
    }

    /// Sets which delivery receipts the account gets; returns the account as it is after, `None`
    /// if there is no such account.
    pub async fn set_receipts(
        &self,
        login: &str,
        receipts: crate::domain::account::Receipts,
    ) -> Result<Option<Account>, PortError> {
        self.set_account_field(login, "receipts", to_value(&receipts)?).await
    }

    /// Replaces the account's key by `key`, at once; returns the account as it is after, `None`
    /// if there is no such account.
    pub async fn rotate_key(
        &self,
        login: &str,
        key: &crate::domain::request::ApiKey,
    ) -> Result<Option<Account>, PortError> {
        self.set_account_field(login, "key_sha256", s(key.sha256_hex())).await
    }

    /// Sets one field of an existing account and returns the account as it is after; `None` if
    /// there is no such account.
    async fn set_account_field(
        &self,
        login: &str,
        field: &str,
        value: AttributeValue,
    ) -> Result<Option<Account>, PortError> {
        let update = self
            .account_update(login)
            .update_expression("SET #field = :value")
            .condition_expression("attribute_exists(login)")
            .expression_attribute_names("#field", field)
            .expression_attribute_values(":value", value)
            .return_values(ReturnValue::AllNew);
        conditional(update.send().await, |output| output.attributes, None)?.map(from_item).transpose()
    }

    /// The account's messages, newest first.
    pub async fn messages_of(&self, login: &str, limit: i32) -> Result<Vec<MessageRecord>, PortError> {
        let output = self
            .client
            .query()
            .table_name(&self.messages)
            .index_name(MESSAGES_BY_LOGIN)
            .key_condition_expression("login = :login")
            .expression_attribute_values(":login", s(login))
            .scan_index_forward(false)
            .limit(limit)
            .send()
            .await
            .map_err(|e| port_error("dynamodb", e))?;
        output.items.unwrap_or_default().into_iter().map(from_item).collect()
    }

    /// The account's messages received from `from` to `until`, both included, oldest first:
    /// every page of them.
    pub async fn messages_between(
        &self,
        login: &str,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<MessageRecord>, PortError> {
        let items = queried(
            self.client
                .query()
                .table_name(&self.messages)
                .index_name(MESSAGES_BY_LOGIN)
                .key_condition_expression("login = :login AND received_at BETWEEN :from AND :until")
                .expression_attribute_values(":login", s(login))
                .expression_attribute_values(":from", s(sortable_time::format(&from)))
                .expression_attribute_values(":until", s(sortable_time::format(&until))),
        )
        .await?;
        items.into_iter().map(from_item).collect()
    }

    /// Cancels a scheduled message and refunds what it cost, in one step. Returns the record as
    /// it stands: `Cancelled` by this call, or whatever state made the cancel impossible.
    pub async fn cancel(
        &self,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(MessageRecord, bool)>, PortError> {
        let Some(record) = self.load(message_id).await? else { return Ok(None) };
        if record.state != MessageState::Scheduled {
            return Ok(Some((record, false)));
        }
        let Some(login) = record.login.clone() else { return Ok(Some((record, false))) };
        let cancel = Update::builder()
            .table_name(&self.messages)
            .set_key(Some(self.message_key(message_id)))
            .update_expression("SET #state = :cancelled, refunded = :cost, cancelled_at = :now REMOVE #text")
            .condition_expression("#state = :scheduled")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#text", "text")
            .expression_attribute_values(":cancelled", state(MessageState::Cancelled)?)
            .expression_attribute_values(":scheduled", state(MessageState::Scheduled)?)
            .expression_attribute_values(":cost", n(record.cost))
            .expression_attribute_values(":now", s(now.to_rfc3339()))
            .build()
            .expect("table, key and expression are set");
        let mut items = vec![
            TransactWriteItem::builder().update(cancel).build(),
            TransactWriteItem::builder().update(self.refund_update(&login, record.cost)).build(),
        ];
        // A large email's parts wait with it: cancelled with it (its head gives the credits back).
        for part in record.part_ids() {
            let cancel_part = Update::builder()
                .table_name(&self.messages)
                .set_key(Some(self.message_key(&part)))
                .update_expression("SET #state = :cancelled, cancelled_at = :now REMOVE #text")
                .condition_expression("#state = :scheduled")
                .expression_attribute_names("#state", "state")
                .expression_attribute_names("#text", "text")
                .expression_attribute_values(":cancelled", state(MessageState::Cancelled)?)
                .expression_attribute_values(":scheduled", state(MessageState::Scheduled)?)
                .expression_attribute_values(":now", s(now.to_rfc3339()))
                .build()
                .expect("table, key and expression are set");
            items.push(TransactWriteItem::builder().update(cancel_part).build());
        }
        match self.transact(items).await {
            Ok(()) => Ok(self.load(message_id).await?.map(|record| (record, true))),
            Err(error) if error.as_service_error().and_then(cancellation_reasons).is_some() => {
                Ok(self.load(message_id).await?.map(|record| (record, false)))
            }
            Err(error) => Err(port_error("dynamodb", error)),
        }
    }

    /// Adds credits to an account, never taking its balance above [`MAX_CREDITS`]: the bound is
    /// the update's own condition, so concurrent adds cannot pass it either.
    ///
    /// [`MAX_CREDITS`]: crate::domain::account::MAX_CREDITS
    pub async fn add_credits(
        &self,
        login: &str,
        credits: u64,
    ) -> Result<crate::domain::account::CreditsAdded, PortError> {
        use crate::domain::account::{CreditsAdded, MAX_CREDITS};
        let Some(room) = MAX_CREDITS.checked_sub(credits) else {
            return Err(PortError::Refused {
                service: "dynamodb",
                message: format!("{credits} credits: more than the maximum balance, {MAX_CREDITS}"),
            });
        };
        let added = self
            .account_update(login)
            .update_expression("ADD credits :n")
            .condition_expression("attribute_exists(login) AND credits <= :room")
            .expression_attribute_values(":n", n(credits))
            .expression_attribute_values(":room", n(room))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let old = match added {
            Ok(output) => {
                let account = output.attributes.map(from_item).transpose()?;
                return Ok(account.map_or(CreditsAdded::NoAccount, |account| CreditsAdded::Added(Box::new(account))));
            }
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => failed.item.clone(),
                _ => return Err(port_error("dynamodb", error)),
            },
        };
        let old: Option<Account> = match old {
            Some(item) => Some(from_item(item)?),
            None => self.account(login).await?,
        };
        Ok(old.map_or(CreditsAdded::NoAccount, |account| CreditsAdded::OverMaximum { balance: account.credits }))
    }

    /// Every message stuck in `accepted` with no live lease (the invocation sending it died and
    /// nobody retries it), newest first: one login's, through the messages index, or the whole
    /// table's, through a Scan (it reads every item: an operator's command, not the function's).
    pub async fn stuck_messages(
        &self,
        login: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<MessageRecord>, PortError> {
        const STUCK: &str = "#state = :accepted AND (attribute_not_exists(lease_until) OR lease_until < :now)";
        let items: Vec<Item> = match login {
            Some(login) => {
                queried(
                    self.client
                        .query()
                        .table_name(&self.messages)
                        .index_name(MESSAGES_BY_LOGIN)
                        .key_condition_expression("login = :login")
                        .filter_expression(STUCK)
                        .expression_attribute_names("#state", "state")
                        .expression_attribute_values(":login", s(login))
                        .expression_attribute_values(":accepted", state(MessageState::Accepted)?)
                        .expression_attribute_values(":now", n(now.timestamp())),
                )
                .await?
            }
            None => {
                scanned(
                    self.client
                        .scan()
                        .table_name(&self.messages)
                        .filter_expression(STUCK)
                        .expression_attribute_names("#state", "state")
                        .expression_attribute_values(":accepted", state(MessageState::Accepted)?)
                        .expression_attribute_values(":now", n(now.timestamp())),
                )
                .await?
            }
        };
        let mut records = items.into_iter().map(from_item).collect::<Result<Vec<MessageRecord>, _>>()?;
        records.sort_by_key(|record| std::cmp::Reverse(record.received_at));
        Ok(records)
    }
}

impl Ledger for DynamoLedger {
    async fn account(&self, login: &str) -> Result<Option<Account>, PortError> {
        // The accounts table also holds the senders' index items (`sender#…`): a key no login can
        // be names no account, whoever asks for it.
        if !crate::domain::account::is_possible_login(login) {
            return Ok(None);
        }
        let output = self
            .client
            .get_item()
            .table_name(&self.accounts)
            .set_key(Some(self.account_key(login)))
            .send()
            .await
            .map_err(|e| port_error("dynamodb", e))?;
        output.item.map(from_item).transpose()
    }

    async fn open(&self, record: &MessageRecord, debit: Option<&Debit>) -> Result<Opening, PortError> {
        let Some(debit) = debit else {
            let put = self
                .client
                .put_item()
                .table_name(&self.messages)
                .set_item(Some(to_item(record)?))
                .condition_expression(NEW_MESSAGE)
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            return match put {
                Ok(_) => Ok(Opening::Opened),
                Err(error) => match error.as_service_error() {
                    Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(
                        failed,
                    )) => self.existing(failed.item.clone(), &record.message_id).await,
                    _ => Err(port_error("dynamodb", error)),
                },
            };
        };
        // A large email is written as its head and its parts, in the same step.
        let mut head = record.clone();
        let parts = if head.needs_parts() { head.split_into_parts() } else { Vec::new() };
        let mut items = vec![
            TransactWriteItem::builder().put(self.put_new(&head)?).build(),
            TransactWriteItem::builder().update(self.debit_update(debit)).build(),
        ];
        // Opt-outs: condition checks after the items above, or a lookup before.
        let first_check = items.len();
        let checked = match self.opt_out_checks(&debit.login, record, first_check).await? {
            OptOutChecks::LookedUp(listed) if !listed.is_empty() => return Ok(Opening::OptedOut(listed)),
            OptOutChecks::LookedUp(_) => Vec::new(),
            OptOutChecks::InTransaction { checked, checks } => {
                items.extend(checks);
                checked
            }
        };
        for part in &parts {
            items.push(TransactWriteItem::builder().put(self.put_new(part)?).build());
        }
        let error = match self.transact(items).await {
            Ok(()) => return Ok(Opening::Opened),
            Err(error) => error,
        };
        let Some(reasons) = error.as_service_error().and_then(cancellation_reasons) else {
            return Err(port_error("dynamodb", error));
        };
        let (message, account) = (reasons.first(), reasons.get(1));
        if message.is_some_and(failed_condition) {
            return self.existing(message.and_then(|r| r.item.clone()), &record.message_id).await;
        }
        let listed = failed_checks(&checked, reasons.get(first_check..).unwrap_or_default());
        if !listed.is_empty() {
            return Ok(Opening::OptedOut(listed));
        }
        if !account.is_some_and(failed_condition) {
            // Cancelled for another reason (a conflicting transaction, throttling): try again later.
            return Err(port_error("dynamodb", error));
        }
        let old: Option<Account> = match account.and_then(|r| r.item.clone()) {
            Some(item) => Some(from_item(item)?),
            None => self.account(&debit.login).await?,
        };
        Ok(match old {
            Some(account) if account.key_sha256 == debit.key_sha256 && !account.suspended => {
                Opening::InsufficientCredits { available: account.credits }
            }
            _ => Opening::UnknownAccount,
        })
    }

    async fn load(&self, message_id: &str) -> Result<Option<MessageRecord>, PortError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.messages)
            .set_key(Some(self.message_key(message_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error("dynamodb", e))?;
        output.item.map(from_item).transpose()
    }

    async fn take_lease(&self, record: &MessageRecord, lease: &Lease, now: DateTime<Utc>) -> Result<bool, PortError> {
        let taken = self
            .client
            .update_item()
            .table_name(&self.messages)
            .set_key(Some(self.message_key(&record.message_id)))
            .update_expression(
                "SET #state = :accepted, lease_owner = :owner, lease_until = :until, lease_attempt = :attempt",
            )
            .condition_expression(
                "#state = :expected AND (attribute_not_exists(lease_until) OR lease_until < :now OR lease_owner = :owner)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":accepted", state(MessageState::Accepted)?)
            .expression_attribute_values(":expected", state(record.state)?)
            .expression_attribute_values(":owner", s(&lease.owner))
            .expression_attribute_values(":until", n(lease.until.timestamp()))
            .expression_attribute_values(":attempt", s(&lease.attempt))
            .expression_attribute_values(":now", n(now.timestamp()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match taken {
            Ok(_) => Ok(true),
            Err(error) => match error.as_service_error() {
                // Taken by this very attempt when the answer to the first try was lost.
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    Ok(failed.item.as_ref().and_then(|item| item.get("lease_attempt")) == Some(&s(&lease.attempt)))
                }
                _ => Err(port_error("dynamodb", error)),
            },
        }
    }

    async fn checkpoint(
        &self,
        record: &MessageRecord,
        changed: &[usize],
        refund: u64,
        lease: &Lease,
    ) -> Result<(), PortError> {
        let mut sets = vec!["#state = :state".to_owned(), "checkpoints = :next".to_owned()];
        let condition = if record.checkpoints == 0 {
            "lease_owner = :owner AND (attribute_not_exists(checkpoints) OR checkpoints = :seq)"
        } else {
            "lease_owner = :owner AND checkpoints = :seq"
        };
        let mut update = Update::builder()
            .table_name(&self.messages)
            .set_key(Some(self.message_key(&record.message_id)))
            .condition_expression(condition)
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":state", state(record.state)?)
            .expression_attribute_values(":owner", s(&lease.owner))
            .expression_attribute_values(":seq", n(record.checkpoints))
            .expression_attribute_values(":next", n(record.checkpoints + 1))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        // The sender's fields of each recipient, never its provider's report (written by `report`).
        let mut removes = Vec::new();
        for &index in changed {
            let recipient = &record.recipients[index];
            sets.push(format!("recipients[{index}].#delivery = :d{index}"));
            update = update.expression_attribute_values(format!(":d{index}"), to_value(&recipient.delivery)?);
            match &recipient.provider_id {
                Some(id) => {
                    sets.push(format!("recipients[{index}].provider_id = :p{index}"));
                    update = update.expression_attribute_values(format!(":p{index}"), s(id));
                }
                None => removes.push(format!("recipients[{index}].provider_id")),
            }
            match &recipient.error {
                Some(error) => {
                    sets.push(format!("recipients[{index}].#error = :e{index}"));
                    update = update.expression_attribute_values(format!(":e{index}"), s(error));
                }
                None => removes.push(format!("recipients[{index}].#error")),
            }
        }
        if !changed.is_empty() {
            update = update
                .expression_attribute_names("#delivery", "delivery")
                .expression_attribute_names("#error", "error");
        }
        if let Some(settled_at) = record.settled_at.filter(|_| record.state.is_final()) {
            sets.push("settled_at = :settled_at".to_owned());
            update = update.expression_attribute_values(":settled_at", to_value(&sortable_time::format(&settled_at))?);
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if refund > 0 {
            expression.push_str(" ADD refunded :refund");
            update = update.expression_attribute_values(":refund", n(refund));
        }
        if record.state.is_final() {
            // Sent: nobody holds the message any more, and the text is forgotten unless a
            // recipient in doubt may still be sent again.
            removes.extend(["lease_owner", "lease_until", "lease_attempt"].map(str::to_owned));
            if record.text.is_none() {
                removes.push("#text".to_owned());
                update = update.expression_attribute_names("#text", "text");
            }
        }
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let update = update.update_expression(expression).build().expect("table, key and expression are set");
        // A failed condition is either this very write, applied once already (its answer was
        // lost and the SDK repeated it), or the lease taken by another invocation.
        let applied_or_lost = |old: Option<&Item>| {
            let applied = old.is_some_and(|old| {
                old.get("checkpoints") == Some(&n(record.checkpoints + 1))
                    && (record.state.is_final() || old.get("lease_attempt") == Some(&s(&lease.attempt)))
            });
            if applied {
                Ok(())
            } else {
                Err(PortError::Unavailable {
                    service: "dynamodb",
                    message: format!("lost the lease on {}: another invocation carries on", record.message_id),
                })
            }
        };
        let now = Utc::now();
        let index_puts: Vec<Put> = changed
            .iter()
            .filter(|_| self.index_provider_ids)
            .filter(|&&index| record.recipients[index].delivery == crate::domain::message::Delivery::Sent)
            .filter_map(|&index| self.provider_index_put(record, index, now))
            .collect();
        let refund_from = record.login.as_deref().filter(|_| refund > 0);
        if refund_from.is_none() && index_puts.is_empty() {
            let single = self
                .update_alone(update)
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            return match single {
                Ok(_) => Ok(()),
                Err(error) => match error.as_service_error() {
                    Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                        applied_or_lost(failed.item.as_ref())
                    }
                    _ => Err(port_error("dynamodb", error)),
                },
            };
        }
        // The record's update comes first: a cancelled transaction's first reason is its own.
        let mut items = vec![TransactWriteItem::builder().update(update).build()];
        if let Some(login) = refund_from {
            items.push(TransactWriteItem::builder().update(self.refund_update(login, refund)).build());
        }
        items.extend(index_puts.into_iter().map(|put| TransactWriteItem::builder().put(put).build()));
        let token = checkpoint_token(&record.message_id, record.checkpoints);
        match self.transact_once(items, &token).await {
            Ok(()) => Ok(()),
            Err(error) => match error.as_service_error().and_then(cancellation_reasons) {
                Some([first, ..]) if failed_condition(first) => applied_or_lost(first.item.as_ref()),
                _ => Err(port_error("dynamodb", error)),
            },
        }
    }

    async fn release_lease(&self, record: &MessageRecord, lease: &Lease) -> Result<(), PortError> {
        let released = self
            .client
            .update_item()
            .table_name(&self.messages)
            .set_key(Some(self.message_key(&record.message_id)))
            .update_expression("REMOVE lease_owner, lease_until, lease_attempt")
            .condition_expression("lease_attempt = :attempt")
            .expression_attribute_values(":attempt", s(&lease.attempt))
            .send()
            .await;
        conditional(released, |_| (), ())
    }

    async fn note_reply(&self, record: &MessageRecord) -> Result<(), PortError> {
        self.set_message_field(&record.message_id, "reply", to_value(&record.reply)?).await
    }

    async fn count_reply(&self, address: &str, now: DateTime<Utc>, limit: u32) -> Result<bool, PortError> {
        let counted = self
            .client
            .update_item()
            .table_name(&self.messages)
            .set_key(Some(self.message_key(&reply_quota_key(address, now))))
            .update_expression("SET expires_at = :expires ADD replies :one")
            .condition_expression("attribute_not_exists(replies) OR replies < :limit")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit))
            .expression_attribute_values(":expires", n((now + chrono::Duration::hours(2)).timestamp()))
            .send()
            .await;
        conditional(counted, |_| true, false)
    }

    async fn locate(&self, provider_id: &str) -> Result<Option<(String, usize)>, PortError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.messages)
            .set_key(Some(self.message_key(&provider_index_key(provider_id))))
            .send()
            .await
            .map_err(|e| port_error("dynamodb", e))?
            .item;
        let found = item.and_then(|item| {
            let message_id = item.get("target_message_id")?.as_s().ok()?.clone();
            let position = item.get("position")?.as_n().ok()?.parse().ok()?;
            Some((message_id, position))
        });
        Ok(found)
    }

    async fn report(&self, record: &MessageRecord, index: usize, report: &DeliveryReport) -> Result<bool, PortError> {
        let at = format!("recipients[{index}]");
        // Forward only: a report that is not final is recorded only on a recipient the provider
        // never reported and the sender left in doubt; a final one only where nothing final is.
        let condition = if report.delivery.is_final() {
            format!(
                "{at}.#number = :number AND {at}.#delivery <> :failed \
                 AND NOT {at}.#report.#delivery IN (:delivered, :failed, :expired, :unconfirmed)"
            )
        } else {
            format!(
                "{at}.#number = :number AND {at}.#delivery IN (:pending, :sending, :unknown) \
                 AND attribute_not_exists({at}.#report)"
            )
        };
        // The provider's words supersede the sender's note (an in-doubt recipient's): a recipient
        // keeps one or the other, which bounds the record's size.
        let mut expression = format!("SET {at}.#report = :report REMOVE {at}.#error");
        let mut update = Update::builder()
            .table_name(&self.messages)
            .set_key(Some(self.message_key(&record.message_id)))
            .condition_expression(condition)
            .expression_attribute_names("#number", "number")
            .expression_attribute_names("#delivery", "delivery")
            .expression_attribute_names("#report", "report")
            .expression_attribute_names("#error", "error")
            .expression_attribute_values(":number", s(record.recipients[index].number.e164()))
            .expression_attribute_values(":report", to_value(report)?);
        if report.delivery.is_final() {
            update = update
                .expression_attribute_values(":failed", to_value(&Delivery::Failed)?)
                .expression_attribute_values(":delivered", to_value(&Delivery::Delivered)?)
                .expression_attribute_values(":expired", to_value(&Delivery::Expired)?)
                .expression_attribute_values(":unconfirmed", to_value(&Delivery::Unconfirmed)?);
        } else {
            update = update
                .expression_attribute_values(":pending", to_value(&Delivery::Pending)?)
                .expression_attribute_values(":sending", to_value(&Delivery::Sending)?)
                .expression_attribute_values(":unknown", to_value(&Delivery::Unknown)?);
        }
        let refund_from = record.login.as_deref().filter(|_| report.refunded && record.parts > 0);
        if refund_from.is_some() {
            expression = format!("{expression} ADD refunded :refund");
            update = update.expression_attribute_values(":refund", n(record.parts));
        }
        let update = update.update_expression(expression).build().expect("table, key and expression are set");
        let Some(login) = refund_from else {
            let single = self.update_alone(update).send().await;
            return conditional(single, |_| true, false);
        };
        let items = vec![
            TransactWriteItem::builder().update(update).build(),
            TransactWriteItem::builder().update(self.refund_update(login, u64::from(record.parts))).build(),
        ];
        // The same report gives the same token: the SDK's repeat of a write whose answer was
        // lost applies nothing twice (and a repeat after ten minutes meets the condition).
        let token = report_token(&record.message_id, index, report);
        match self.transact_once(items, &token).await {
            Ok(()) => Ok(true),
            Err(error) => match error.as_service_error().and_then(cancellation_reasons) {
                Some([first, ..]) if failed_condition(first) => Ok(false),
                _ => Err(port_error("dynamodb", error)),
            },
        }
    }

    async fn resolve_doubt(
        &self,
        record: &MessageRecord,
        refund: &[usize],
        resend: &[usize],
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let credits = u64::from(record.parts) * refund.len() as u64;
        let login = record.login.as_deref().filter(|_| credits > 0);
        if credits > 0 && login.is_none() {
            return Err(PortError::Refused {
                service: "dynamodb",
                message: format!("message {} has no account to refund", record.message_id),
            });
        }
        let (mut sets, mut conditions, mut numbers) = in_doubt_moves(record, refund, ":failed");
        let (resent, resent_checks, resent_numbers) = in_doubt_moves(record, resend, ":pending");
        sets.extend(resent);
        conditions.extend(resent_checks);
        numbers.extend(resent_numbers);
        // What the caller decided (forget the text or keep it) holds for the state it read.
        conditions.push("#state = :expected".to_owned());
        conditions.push("(attribute_not_exists(lease_until) OR lease_until < :now)".to_owned());
        let mut removes = Vec::new();
        let mut update = Update::builder()
            .table_name(&self.messages)
            .set_key(Some(self.message_key(&record.message_id)))
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":expected", state(record.state)?)
            .expression_attribute_values(":now", n(now.timestamp()));
        if !sets.is_empty() {
            update = update
                .expression_attribute_names("#delivery", "delivery")
                .expression_attribute_names("#number", "number")
                .expression_attribute_names("#error", "error")
                .expression_attribute_names("#report", "report")
                .expression_attribute_values(":unknown", to_value(&Delivery::Unknown)?)
                .expression_attribute_values(":note", s(note));
        }
        if !refund.is_empty() {
            update = update.expression_attribute_values(":failed", to_value(&Delivery::Failed)?);
        }
        if !resend.is_empty() {
            for &index in resend {
                sets.push(format!("recipients[{index}].resent = :true"));
            }
            sets.push("#state = :accepted".to_owned());
            conditions.push("attribute_exists(#text)".to_owned());
            removes.extend(["lease_owner", "lease_until", "lease_attempt", "settled_at"]);
            update = update
                .expression_attribute_values(":pending", to_value(&Delivery::Pending)?)
                .expression_attribute_values(":true", AttributeValue::Bool(true))
                .expression_attribute_values(":accepted", state(MessageState::Accepted)?);
        }
        if resend.is_empty() && !record.needs_text_after_settling(refund) {
            removes.push("#text");
        }
        if !resend.is_empty() || removes.contains(&"#text") {
            update = update.expression_attribute_names("#text", "text");
        }
        for (name, number) in numbers {
            update = update.expression_attribute_values(name, number);
        }
        if sets.is_empty() && credits == 0 && removes.is_empty() {
            // Nothing to move: a write of the state as it is, under the same conditions.
            sets.push("#state = :expected".to_owned());
        }
        let mut expression = if sets.is_empty() { String::new() } else { format!("SET {} ", sets.join(", ")) };
        if credits > 0 {
            expression.push_str("ADD refunded :refund ");
            update = update.expression_attribute_values(":refund", n(credits));
        }
        if !removes.is_empty() {
            expression.push_str(&format!("REMOVE {}", removes.join(", ")));
        }
        let update = update
            .update_expression(expression)
            .condition_expression(conditions.join(" AND "))
            .build()
            .expect("table, key and expression are set");
        let mut items = vec![TransactWriteItem::builder().update(update).build()];
        if let Some(login) = login {
            items.push(TransactWriteItem::builder().update(self.refund_update(login, credits)).build());
        }
        // The moves' conditions make a repeat apply nothing; the token makes the SDK's own
        // repeat of this call succeed rather than fail its conditions.
        let token = &crate::domain::account::new_api_key()[..36];
        match self.transact_once(items, token).await {
            Ok(()) => Ok(true),
            Err(error) => match error.as_service_error().and_then(cancellation_reasons) {
                Some([first, ..]) if failed_condition(first) => Ok(false),
                Some([_, second]) if failed_condition(second) => Err(PortError::Refused {
                    service: "dynamodb",
                    message: format!("no account {} to refund", login.unwrap_or_default()),
                }),
                _ => Err(port_error("dynamodb", error)),
            },
        }
    }

    async fn close(&self, record: &MessageRecord) -> Result<bool, PortError> {
        let Some(closed_at) = record.closed_at else { return Ok(false) };
        let mut sets = vec!["closed_at = :closed_at"];
        let mut update = self
            .client
            .update_item()
            .table_name(&self.messages)
            .set_key(Some(self.message_key(&record.message_id)))
            .condition_expression("attribute_exists(message_id) AND attribute_not_exists(closed_at) AND NOT #state IN (:accepted, :scheduled)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#text", "text")
            .expression_attribute_values(":accepted", state(MessageState::Accepted)?)
            .expression_attribute_values(":scheduled", state(MessageState::Scheduled)?)
            .expression_attribute_values(":closed_at", s(sortable_time::format(&closed_at)));
        if let Some(receipt) = record.receipt {
            sets.push("receipt = :receipt");
            update = update.expression_attribute_values(":receipt", to_value(&receipt)?);
        }
        let closed = update.update_expression(format!("SET {} REMOVE #text", sets.join(", "))).send().await;
        conditional(closed, |_| true, false)
    }

    async fn note_receipt(&self, record: &MessageRecord) -> Result<(), PortError> {
        self.set_message_field(&record.message_id, "receipt", to_value(&record.receipt)?).await
    }

    // ----- credit alerts -----

    async fn claim_alert(&self, login: &str, alert: &Alert) -> Result<Option<Account>, PortError> {
        let update = self.account_update(login).return_values(ReturnValue::AllNew);
        let update = match alert {
            Alert::LowCredit { threshold } => update
                .update_expression("SET low_credit_alerted = :true")
                .condition_expression(
                    "attribute_exists(contact) AND low_credit = :threshold AND credits < :threshold \
                     AND (attribute_not_exists(low_credit_alerted) OR low_credit_alerted = :false)",
                )
                .expression_attribute_values(":threshold", n(threshold))
                .expression_attribute_values(":true", AttributeValue::Bool(true))
                .expression_attribute_values(":false", AttributeValue::Bool(false)),
            Alert::InsufficientCredits { day } => update
                .update_expression("SET insufficient_credit_alerted_on = :day")
                .condition_expression(
                    "attribute_exists(contact) \
                     AND (attribute_not_exists(insufficient_credit_alerted_on) OR insufficient_credit_alerted_on <> :day)",
                )
                .expression_attribute_values(":day", s(day)),
        };
        conditional(update.send().await, |output| output.attributes, None)?.map(from_item).transpose()
    }

    async fn release_alert(&self, login: &str, alert: &Alert) -> Result<(), PortError> {
        let update = self.account_update(login);
        let update = match alert {
            Alert::LowCredit { .. } => update
                .update_expression("SET low_credit_alerted = :false")
                .condition_expression("low_credit_alerted = :true")
                .expression_attribute_values(":true", AttributeValue::Bool(true))
                .expression_attribute_values(":false", AttributeValue::Bool(false)),
            Alert::InsufficientCredits { day } => update
                .update_expression("REMOVE insufficient_credit_alerted_on")
                .condition_expression("insufficient_credit_alerted_on = :day")
                .expression_attribute_values(":day", s(day)),
        };
        conditional(update.send().await, |_| (), ())
    }

    // ----- authorised senders -----

    async fn account_for_sender(&self, address: &str) -> Result<Option<Account>, PortError> {
        let Some((address, domain)) = crate::domain::account::sender_entries(address) else { return Ok(None) };
        for entry in [address, domain] {
            let output = self
                .client
                .get_item()
                .table_name(&self.accounts)
                .set_key(Some(self.account_key(&sender_index_key(&entry))))
                .send()
                .await
                .map_err(|e| port_error("dynamodb", e))?;
            if let Some(owner) = output.item.as_ref().and_then(|item| item.get(SENDER_OWNER)?.as_s().ok()) {
                return self.account(owner).await;
            }
        }
        Ok(None)
    }

    // ----- opt-outs -----

    async fn add_opt_out(&self, opt_out: &OptOut) -> Result<bool, PortError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.opt_outs)
            .set_item(Some(to_item(opt_out)?))
            .condition_expression("attribute_not_exists(#number)")
            .expression_attribute_names("#number", OPT_OUTS_NUMBER)
            .send()
            .await;
        conditional(put, |_| true, false)
    }

    async fn lift_opt_out(
        &self,
        list: &OptOutList,
        number: &Recipient,
        source: OptOutSource,
    ) -> Result<Lifting, PortError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.opt_outs)
            .set_key(Some(self.opt_out_key(list, number)))
            .condition_expression("#source = :source")
            .expression_attribute_names("#source", "source")
            .expression_attribute_values(":source", to_value(&source)?)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let failed = match deleted {
            Ok(_) => return Ok(Lifting::Lifted),
            Err(error) => match error.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(failed)) => failed.item.clone(),
                _ => return Err(port_error("dynamodb", error)),
            },
        };
        // No item handed back: none there, or an emulator that does not hand it back.
        let entry = match failed {
            Some(item) => Some(item),
            None => {
                self.client
                    .get_item()
                    .table_name(&self.opt_outs)
                    .set_key(Some(self.opt_out_key(list, number)))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| port_error("dynamodb", e))?
                    .item
            }
        };
        Ok(match entry {
            Some(item) => Lifting::Kept(from_item::<OptOut>(item)?.source),
            None => Lifting::NotListed,
        })
    }

    async fn open_inbound(
        &self,
        inbound_id: &str,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ReplyOutcome>, PortError> {
        let key = inbound_key(inbound_id);
        let item = HashMap::from([
            (MESSAGES.partition_key.to_owned(), s(&key)),
            ("target_message_id".to_owned(), s(message_id)),
            ("forward".to_owned(), to_value(&ReplyOutcome::Due)?),
            ("expires_at".to_owned(), n((now + chrono::Duration::days(INBOUND_NOTE_DAYS)).timestamp())),
        ]);
        let put = self
            .client
            .put_item()
            .table_name(&self.messages)
            .set_item(Some(item))
            .condition_expression(NEW_MESSAGE)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let existing = match put {
            Ok(_) => return Ok(None),
            Err(error) => match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => failed.item.clone(),
                _ => return Err(port_error("dynamodb", error)),
            },
        };
        let existing = match existing {
            Some(item) => Some(item),
            None => {
                self.client
                    .get_item()
                    .table_name(&self.messages)
                    .set_key(Some(self.message_key(&key)))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| port_error("dynamodb", e))?
                    .item
            }
        };
        Ok(Some(existing.as_ref().map_or(ReplyOutcome::Due, inbound_forward)))
    }

    async fn note_inbound(&self, inbound_id: &str, forward: ReplyOutcome) -> Result<(), PortError> {
        self.set_message_field(&inbound_key(inbound_id), "forward", to_value(&forward)?).await
    }

    async fn contact_list(&self, owner: &str, name: &ListName) -> Result<Option<Vec<Recipient>>, PortError> {
        self.read_contact_list(owner, name).await
    }

    /// The lookup [`Ledger::open`] makes for more numbers than its transaction holds (see
    /// [`DynamoLedger::listed_on`]), for any number of them: BatchGetItem only.
    async fn opted_out(&self, login: &str, record: &MessageRecord) -> Result<Vec<(Recipient, OptOutList)>, PortError> {
        let (lists, numbers) = opt_out_lookup(login, record);
        self.listed_on(&lists, &numbers).await
    }
}

// ----- credit alerts and marketing hours: the operator's calls -----
impl DynamoLedger {
    /// Sets the account's low-credit threshold, or removes it, and re-arms the alert (the next
    /// debit below the new threshold tells the contact); returns the account as it is after,
    /// `None` if there is no such account.
    pub async fn set_low_credit(&self, login: &str, threshold: Option<u64>) -> Result<Option<Account>, PortError> {
        let update = self
            .account_update(login)
            .condition_expression("attribute_exists(login)")
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .return_values(ReturnValue::AllNew);
        let update = match threshold {
            Some(threshold) => update
                .update_expression("SET low_credit = :threshold, low_credit_alerted = :false")
                .expression_attribute_values(":threshold", n(threshold)),
            None => update.update_expression("SET low_credit_alerted = :false REMOVE low_credit"),
        };
        conditional(update.send().await, |output| output.attributes, None)?.map(from_item).transpose()
    }

    /// Sets the address credit alerts go to, or removes it; returns the account as it is after,
    /// `None` if there is no such account.
    pub async fn set_contact(&self, login: &str, contact: Option<&str>) -> Result<Option<Account>, PortError> {
        let update = self
            .account_update(login)
            .condition_expression("attribute_exists(login)")
            .return_values(ReturnValue::AllNew);
        let update = match contact {
            Some(contact) => {
                update.update_expression("SET contact = :contact").expression_attribute_values(":contact", s(contact))
            }
            None => update.update_expression("REMOVE contact"),
        };
        conditional(update.send().await, |output| output.attributes, None)?.map(from_item).transpose()
    }

    /// Holds the account's commercial messages to the French marketing hours (`true`, the
    /// default) or not; returns the account as it is after, `None` if there is no such account.
    pub async fn set_marketing_hours(&self, login: &str, hold: bool) -> Result<Option<Account>, PortError> {
        self.set_account_field(login, "ignore_marketing_hours", AttributeValue::Bool(!hold)).await
    }

    /// Re-arms the low-credit alert after credits were added: only if it was told and the
    /// balance is now at or above the threshold (both read in the write's own condition, so a
    /// debit in between that took the balance below again leaves the alert told). Returns
    /// whether it was re-armed.
    pub async fn rearm_low_credit_alert(&self, login: &str) -> Result<bool, PortError> {
        let update = self
            .account_update(login)
            .update_expression("SET low_credit_alerted = :false")
            .condition_expression("low_credit_alerted = :true AND credits >= low_credit")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":false", AttributeValue::Bool(false));
        conditional(update.send().await, |_| true, false)
    }
}

impl DynamoLedger {
    /// Sets one field of an existing message record.
    async fn set_message_field(&self, message_id: &str, field: &str, value: AttributeValue) -> Result<(), PortError> {
        self.client
            .update_item()
            .table_name(&self.messages)
            .set_key(Some(self.message_key(message_id)))
            .update_expression("SET #field = :value")
            .condition_expression("attribute_exists(message_id)")
            .expression_attribute_names("#field", field)
            .expression_attribute_values(":value", value)
            .send()
            .await
            .map_err(|e| port_error("dynamodb", e))?;
        Ok(())
    }

    /// The record a failed `attribute_not_exists` found, read again if DynamoDB did not return it.
    async fn existing(&self, item: Option<Item>, message_id: &str) -> Result<Opening, PortError> {
        let record = match item {
            Some(item) => Some(from_item(item)?),
            None => self.load(message_id).await?,
        };
        match record {
            Some(record) => Ok(Opening::Exists(Box::new(record))),
            None => Err(PortError::Unavailable { service: "dynamodb", message: format!("{message_id} vanished") }),
        }
    }
}

/// A decision on recipients in doubt (see [`Ledger::resolve_doubt`]): each recipient at
/// `indexes` moves to the delivery named by the value `to` (`:failed`, `:pending`) with the note
/// `:note`, on the condition that it is still `:unknown` with the same number and no report.
/// Returns the `SET` parts, the conditions and the number values they name (`:n<index>`).
fn in_doubt_moves(
    record: &MessageRecord,
    indexes: &[usize],
    to: &str,
) -> (Vec<String>, Vec<String>, Vec<(String, AttributeValue)>) {
    let mut sets = Vec::new();
    let mut conditions = Vec::new();
    let mut numbers = Vec::new();
    for &index in indexes {
        sets.push(format!("recipients[{index}].#delivery = {to}, recipients[{index}].#error = :note"));
        conditions.push(format!(
            "recipients[{index}].#delivery = :unknown AND recipients[{index}].#number = :n{index} \
             AND attribute_not_exists(recipients[{index}].#report)"
        ));
        numbers.push((format!(":n{index}"), s(record.recipients[index].number.e164())));
    }
    (sets, conditions, numbers)
}

/// The idempotency token of a report's write: the same report of the same recipient, the same
/// token (at most 36 characters).
fn report_token(message_id: &str, index: usize, report: &DeliveryReport) -> String {
    let digest = Sha256::digest(format!("{message_id}/{index}/{:?}/{}", report.delivery, report.at.timestamp_millis()));
    digest.iter().take(18).map(|b| format!("{b:02x}")).collect()
}

/// The idempotency token of a message's checkpoint: at most 36 characters, as DynamoDB asks.
fn checkpoint_token(message_id: &str, checkpoint: u64) -> String {
    let digest = Sha256::digest(format!("{message_id}#{checkpoint}").as_bytes());
    hex::encode(digest)[..36].to_owned()
}

/// The counter of replies to one address in one hour: a short-lived item of the messages
/// table, named by a hash so the address itself is not a key.
fn reply_quota_key(address: &str, now: DateTime<Utc>) -> String {
    let digest = Sha256::digest(address.trim().to_lowercase().as_bytes());
    format!("reply-quota#{}#{}", &hex::encode(digest)[..32], now.format("%Y%m%d%H"))
}

// ----- authorised senders: the index and the operator's call -----

/// The attribute of a sender's index item that names the account allowing the sender.
const SENDER_OWNER: &str = "owner";

/// The key, in the accounts table, of the index item of an allowed sender (an address, or
/// `@domain`): it names the one account allowing it. Logins never hold `#` (see
/// [`is_possible_login`](crate::domain::account::is_possible_login)), so these keys never meet
/// an account's.
fn sender_index_key(sender: &str) -> String {
    format!("sender#{sender}")
}

/// What [`DynamoLedger::set_senders`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum SendersSet {
    /// Done: the account as it is now.
    Set(Box<Account>),
    /// Nothing done: there is no such account.
    NoAccount,
    /// Nothing done: `sender` is allowed by the account `owner` already.
    Taken { sender: String, owner: String },
    /// Nothing done: the account's allowed senders changed since they were read.
    Changed,
}

impl DynamoLedger {
    /// Moves the account from `before` (as read) to `after`'s mode and allowed senders, in one
    /// transaction with the index items that make each sender one account's only: one item per
    /// sender of `after` (`sender#<sender>`, naming the account), put only if no other account
    /// has it, and the items of the senders `after` dropped deleted. The account is changed only
    /// if its senders are still `before`'s. Any failed condition cancels the whole: nothing
    /// changes.
    pub async fn set_senders(&self, before: &Account, after: &Account) -> Result<SendersSet, PortError> {
        use aws_sdk_dynamodb::types::Delete;
        let login = &after.login;
        let owner_is_free = "attribute_not_exists(login) OR #owner = :owner";
        let mut update = Update::builder()
            .table_name(&self.accounts)
            .set_key(Some(self.account_key(login)))
            .expression_attribute_names("#auth", "auth")
            .expression_attribute_values(":auth", to_value(&after.auth)?);
        update = if after.allowed_senders.is_empty() {
            update.update_expression("SET #auth = :auth REMOVE allowed_senders")
        } else {
            update
                .update_expression("SET #auth = :auth, allowed_senders = :senders")
                .expression_attribute_values(":senders", to_value(&after.allowed_senders)?)
        };
        update = if before.allowed_senders.is_empty() {
            update.condition_expression("attribute_exists(login) AND attribute_not_exists(allowed_senders)")
        } else {
            update
                .condition_expression("attribute_exists(login) AND allowed_senders = :before")
                .expression_attribute_values(":before", to_value(&before.allowed_senders)?)
        };
        let mut items = vec![
            TransactWriteItem::builder().update(update.build().expect("table, key and expression are set")).build(),
        ];
        let dropped: Vec<&String> =
            before.allowed_senders.iter().filter(|sender| !after.allowed_senders.contains(sender)).collect();
        let senders: Vec<&String> = after.allowed_senders.iter().chain(dropped.iter().copied()).collect();
        for sender in &after.allowed_senders {
            let item = HashMap::from([
                (ACCOUNTS.partition_key.to_owned(), s(sender_index_key(sender))),
                (SENDER_OWNER.to_owned(), s(login)),
            ]);
            let put = Put::builder()
                .table_name(&self.accounts)
                .set_item(Some(item))
                .condition_expression(owner_is_free)
                .expression_attribute_names("#owner", SENDER_OWNER)
                .expression_attribute_values(":owner", s(login))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build()
                .expect("table and item are set");
            items.push(TransactWriteItem::builder().put(put).build());
        }
        for sender in &dropped {
            let delete = Delete::builder()
                .table_name(&self.accounts)
                .set_key(Some(self.account_key(&sender_index_key(sender))))
                .condition_expression(owner_is_free)
                .expression_attribute_names("#owner", SENDER_OWNER)
                .expression_attribute_values(":owner", s(login))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build()
                .expect("table and key are set");
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        let error = match self.transact(items).await {
            Ok(()) => {
                let account = self.account(login).await?;
                return Ok(account.map_or(SendersSet::NoAccount, |account| SendersSet::Set(Box::new(account))));
            }
            Err(error) => error,
        };
        let Some(reasons) = error.as_service_error().and_then(cancellation_reasons) else {
            return Err(port_error("dynamodb", error));
        };
        if reasons.first().is_some_and(failed_condition) {
            return Ok(match self.account(login).await? {
                None => SendersSet::NoAccount,
                Some(_) => SendersSet::Changed,
            });
        }
        let taken = reasons.iter().skip(1).zip(senders).find(|(reason, _)| failed_condition(reason));
        match taken {
            Some((reason, sender)) => {
                let owner = reason.item.as_ref().and_then(|item| item.get(SENDER_OWNER)?.as_s().ok());
                Ok(SendersSet::Taken { sender: sender.clone(), owner: owner.cloned().unwrap_or_default() })
            }
            // Cancelled for another reason (a conflicting transaction, throttling): try again later.
            None => Err(port_error("dynamodb", error)),
        }
    }
}

// ----- opt-outs: the checks of an opening, and the operator's calls -----

/// The key attributes of the opt-out lists (`owner` and `number` are reserved words in
/// DynamoDB's expressions: they are named through `#owner` and `#number`).
const OPT_OUTS_OWNER: &str = OPT_OUTS.partition_key;
const OPT_OUTS_NUMBER: &str = "number";

/// The most actions one DynamoDB transaction takes.
const MAX_TRANSACTION_ITEMS: usize = 100;

/// The most keys one BatchGetItem reads, and the most writes one BatchWriteItem makes.
const MAX_BATCH_GET: usize = 100;
const MAX_BATCH_WRITE: usize = 25;

/// How many times keys or writes a batch left unprocessed (throttling) are sent again.
const BATCH_ATTEMPTS: u32 = 6;

/// Where a page of an opt-out list starts ([`DynamoLedger::opt_outs_page`]); numbers in E.164.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageStart {
    First,
    /// At this number, or the first after it.
    From(String),
    /// Just after this number.
    After(String),
    /// The page that ends just before this number.
    Before(String),
}

/// One page of an opt-out list, by number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptOutPage {
    pub entries: Vec<OptOut>,
    /// Whether numbers may come before this page (`false`: it is the first).
    pub earlier: bool,
    /// Whether numbers come after this page.
    pub later: bool,
}

/// How an opening checks the opt-out lists.
enum OptOutChecks {
    /// A condition check per number and list (`attribute_not_exists`) in the opening's own
    /// transaction, in the order of `checked`: no call of its own, and atomic with the debit.
    InTransaction { checked: Vec<(Recipient, OptOutList)>, checks: Vec<TransactWriteItem> },
    /// Too many numbers for one transaction: looked up before it (these are listed).
    LookedUp(Vec<(Recipient, OptOutList)>),
}

/// The numbers whose condition check failed (`reasons` are the checks' own, in the order of
/// `checked`), each once, its first list named (the account's before the gateway's).
fn failed_checks(checked: &[(Recipient, OptOutList)], reasons: &[CancellationReason]) -> Vec<(Recipient, OptOutList)> {
    let mut listed: Vec<(Recipient, OptOutList)> = Vec::new();
    for ((number, list), _) in checked.iter().zip(reasons).filter(|(_, reason)| failed_condition(reason)) {
        if !listed.iter().any(|(seen, _)| seen == number) {
            listed.push((number.clone(), list.clone()));
        }
    }
    listed
}

impl DynamoLedger {
    fn opt_out_key(&self, list: &OptOutList, number: &Recipient) -> Item {
        HashMap::from([(OPT_OUTS_OWNER.to_owned(), s(list.owner())), (OPT_OUTS_NUMBER.to_owned(), s(number.e164()))])
    }

    /// How the opening of `record`, whose transaction already holds `taken` actions, checks
    /// the account's list and the gateway's for each recipient still to be charged. Two checks
    /// a number: up to 49 numbers ride in the transaction, at no cost in calls; beyond, one
    /// BatchGetItem per 100 keys looks them up first.
    async fn opt_out_checks(
        &self,
        login: &str,
        record: &MessageRecord,
        taken: usize,
    ) -> Result<OptOutChecks, PortError> {
        let (lists, numbers) = opt_out_lookup(login, record);
        if taken + numbers.len() * lists.len() > MAX_TRANSACTION_ITEMS {
            return Ok(OptOutChecks::LookedUp(self.listed_on(&lists, &numbers).await?));
        }
        let checked: Vec<(Recipient, OptOutList)> =
            numbers.iter().flat_map(|number| lists.iter().map(move |list| (number.clone(), list.clone()))).collect();
        let checks = checked
            .iter()
            .map(|(number, list)| {
                let check = ConditionCheck::builder()
                    .table_name(&self.opt_outs)
                    .set_key(Some(self.opt_out_key(list, number)))
                    .condition_expression("attribute_not_exists(#number)")
                    .expression_attribute_names("#number", OPT_OUTS_NUMBER)
                    .build()
                    .expect("table, key and condition are set");
                TransactWriteItem::builder().condition_check(check).build()
            })
            .collect();
        Ok(OptOutChecks::InTransaction { checked, checks })
    }

    /// Which of `numbers` are on which of `lists`, read by key (BatchGetItem, 100 keys a call;
    /// keys a call leaves unprocessed are asked again). Each number once, in the order given,
    /// with the first of `lists` it is on.
    pub async fn listed_on(
        &self,
        lists: &[OptOutList],
        numbers: &[Recipient],
    ) -> Result<Vec<(Recipient, OptOutList)>, PortError> {
        let keys: Vec<Item> =
            numbers.iter().flat_map(|number| lists.iter().map(|list| self.opt_out_key(list, number))).collect();
        let mut found: std::collections::HashSet<(String, String)> = std::collections::HashSet::new();
        for chunk in keys.chunks(MAX_BATCH_GET) {
            let answers = until_processed(chunk, "opt-out keys", |asked| async move {
                let wanted = KeysAndAttributes::builder()
                    .set_keys(Some(asked))
                    .projection_expression("#owner, #number")
                    .expression_attribute_names("#owner", OPT_OUTS_OWNER)
                    .expression_attribute_names("#number", OPT_OUTS_NUMBER)
                    .build()
                    .expect("keys are set");
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.opt_outs, wanted)
                    .send()
                    .await
                    .map_err(|e| port_error("dynamodb", e))?;
                let items = output.responses.and_then(|mut tables| tables.remove(&self.opt_outs)).unwrap_or_default();
                let left = output
                    .unprocessed_keys
                    .and_then(|mut tables| tables.remove(&self.opt_outs))
                    .map(|left| left.keys)
                    .unwrap_or_default();
                Ok((items, left))
            })
            .await?;
            for item in answers.into_iter().flatten() {
                let text = |name: &str| item.get(name).and_then(|value| value.as_s().ok()).cloned();
                if let (Some(owner), Some(number)) = (text(OPT_OUTS_OWNER), text(OPT_OUTS_NUMBER)) {
                    found.insert((owner, number));
                }
            }
        }
        Ok(numbers
            .iter()
            .filter_map(|number| {
                let on = |list: &&OptOutList| found.contains(&(list.owner().to_owned(), number.e164().to_owned()));
                lists.iter().find(on).map(|list| (number.clone(), list.clone()))
            })
            .collect())
    }

    /// Every number on `list`, by number: a query on its owner, every page of it.
    pub async fn opt_outs_of(&self, list: &OptOutList) -> Result<Vec<OptOut>, PortError> {
        let items = queried(
            self.client
                .query()
                .table_name(&self.opt_outs)
                .key_condition_expression("#owner = :owner")
                .expression_attribute_names("#owner", OPT_OUTS_OWNER)
                .expression_attribute_values(":owner", s(list.owner())),
        )
        .await?;
        items.into_iter().map(from_item).collect()
    }

    /// One page of `list`, by number: at most `size` entries from `start` on (or, for
    /// [`PageStart::Before`], the last `size` before it), and whether the list goes on either side.
    pub async fn opt_outs_page(
        &self,
        list: &OptOutList,
        start: &PageStart,
        size: usize,
    ) -> Result<OptOutPage, PortError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.opt_outs)
            .expression_attribute_names("#owner", OPT_OUTS_OWNER)
            .expression_attribute_values(":owner", s(list.owner()))
            .limit(i32::try_from(size + 1).unwrap_or(i32::MAX));
        query = match start {
            PageStart::First => query.key_condition_expression("#owner = :owner"),
            PageStart::From(number) | PageStart::After(number) | PageStart::Before(number) => {
                let condition = match start {
                    PageStart::From(_) => "#owner = :owner AND #number >= :number",
                    PageStart::After(_) => "#owner = :owner AND #number > :number",
                    _ => "#owner = :owner AND #number < :number",
                };
                query
                    .key_condition_expression(condition)
                    .expression_attribute_names("#number", OPT_OUTS_NUMBER)
                    .expression_attribute_values(":number", s(number))
                    .scan_index_forward(!matches!(start, PageStart::Before(_)))
            }
        };
        let items = query.send().await.map_err(|e| port_error("dynamodb", e))?.items.unwrap_or_default();
        let more = items.len() > size;
        let mut entries: Vec<OptOut> = items.into_iter().take(size).map(from_item).collect::<Result<_, _>>()?;
        Ok(match start {
            PageStart::Before(_) => {
                entries.reverse();
                OptOutPage { entries, earlier: more, later: true }
            }
            PageStart::First => OptOutPage { entries, earlier: false, later: more },
            PageStart::From(_) | PageStart::After(_) => OptOutPage { entries, earlier: true, later: more },
        })
    }

    /// How many numbers are on `list` (a query that counts, every page of it).
    pub async fn opt_outs_count(&self, list: &OptOutList) -> Result<usize, PortError> {
        let pages = self
            .client
            .query()
            .table_name(&self.opt_outs)
            .key_condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", OPT_OUTS_OWNER)
            .expression_attribute_values(":owner", s(list.owner()))
            .select(aws_sdk_dynamodb::types::Select::Count)
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| port_error("dynamodb", e))?;
        Ok(pages.iter().map(|page| usize::try_from(page.count).unwrap_or(0)).sum())
    }

    /// Puts each entry not yet on its list (entries of one list, each number once), leaving
    /// those already there as they are. Returns the numbers added.
    pub async fn add_opt_outs(&self, entries: &[OptOut]) -> Result<Vec<Recipient>, PortError> {
        let Some(first) = entries.first() else { return Ok(Vec::new()) };
        let list = first.list();
        let numbers: Vec<Recipient> = entries.iter().map(|entry| entry.number.clone()).collect();
        let already = self.listed_on(std::slice::from_ref(&list), &numbers).await?;
        let mut writes = Vec::new();
        let mut added = Vec::new();
        for entry in entries.iter().filter(|entry| !already.iter().any(|(number, _)| *number == entry.number)) {
            let put = PutRequest::builder().set_item(Some(to_item(entry)?)).build().expect("the item is set");
            writes.push(WriteRequest::builder().put_request(put).build());
            added.push(entry.number.clone());
        }
        self.write_batches(writes).await?;
        Ok(added)
    }

    /// Takes `numbers` off `list`. Returns the numbers that were on it.
    pub async fn remove_opt_outs(&self, list: &OptOutList, numbers: &[Recipient]) -> Result<Vec<Recipient>, PortError> {
        let listed = self.listed_on(std::slice::from_ref(list), numbers).await?;
        let writes = listed
            .iter()
            .map(|(number, _)| {
                let delete = DeleteRequest::builder()
                    .set_key(Some(self.opt_out_key(list, number)))
                    .build()
                    .expect("the key is set");
                WriteRequest::builder().delete_request(delete).build()
            })
            .collect();
        self.write_batches(writes).await?;
        Ok(listed.into_iter().map(|(number, _)| number).collect())
    }

    /// Makes writes to the opt-out lists, 25 a BatchWriteItem; writes a call leaves unprocessed
    /// are made again.
    async fn write_batches(&self, writes: Vec<WriteRequest>) -> Result<(), PortError> {
        for chunk in writes.chunks(MAX_BATCH_WRITE) {
            until_processed(chunk, "opt-out writes", |left| async move {
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.opt_outs, left)
                    .send()
                    .await
                    .map_err(|e| port_error("dynamodb", e))?;
                let left =
                    output.unprocessed_items.and_then(|mut tables| tables.remove(&self.opt_outs)).unwrap_or_default();
                Ok(((), left))
            })
            .await?;
        }
        Ok(())
    }
}

/// Makes one batch call (`call`, given what is left to ask) until DynamoDB processed all of
/// `chunk`: what a call leaves unprocessed is asked again, after a wait that doubles, at most
/// [`BATCH_ATTEMPTS`] calls. Returns what each call answered; `what` names the items in the error.
async fn until_processed<T, A, F, Fut>(chunk: &[T], what: &str, mut call: F) -> Result<Vec<A>, PortError>
where
    T: Clone,
    F: FnMut(Vec<T>) -> Fut,
    Fut: std::future::Future<Output = Result<(A, Vec<T>), PortError>>,
{
    let mut left = chunk.to_vec();
    let mut answers = Vec::new();
    for attempt in 0.. {
        if left.is_empty() {
            break;
        }
        if attempt == BATCH_ATTEMPTS {
            return Err(PortError::Unavailable {
                service: "dynamodb",
                message: format!("{} {what} still unprocessed", left.len()),
            });
        }
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(25 << attempt)).await;
        }
        let (answer, unprocessed) = call(std::mem::take(&mut left)).await?;
        answers.push(answer);
        left = unprocessed;
    }
    Ok(answers)
}

/// What an opt-out lookup asks about: the account's list and the gateway's, for each recipient
/// still to be sent (all of them but the opted-out at a debit; only those left when a scheduled
/// message goes out).
fn opt_out_lookup(login: &str, record: &MessageRecord) -> ([OptOutList; 2], Vec<Recipient>) {
    let lists = [OptOutList::Account(login.to_owned()), OptOutList::Gateway];
    let numbers = record
        .recipients
        .iter()
        .filter(|recipient| matches!(recipient.delivery, Delivery::Pending | Delivery::Sending))
        .map(|recipient| recipient.number.clone())
        .collect();
    (lists, numbers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// An item's size as DynamoDB counts it: attribute names and values, numbers by their
    /// digits, one byte per list or map element and three per list or map.
    fn item_size(item: &Item) -> usize {
        fn value_size(value: &AttributeValue) -> usize {
            match value {
                AttributeValue::S(text) => text.len(),
                AttributeValue::N(number) => number.trim_start_matches('-').len().div_ceil(2) + 1,
                AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
                AttributeValue::L(list) => 3 + list.iter().map(|v| value_size(v) + 1).sum::<usize>(),
                AttributeValue::M(map) => 3 + map.iter().map(|(k, v)| k.len() + value_size(v) + 1).sum::<usize>(),
                AttributeValue::Ss(set) => set.iter().map(String::len).sum(),
                other => panic!("unexpected attribute type {other:?}"),
            }
        }
        item.iter().map(|(name, value)| name.len() + value_size(value)).sum()
    }

    #[test]
    fn the_largest_record_an_email_can_make_fits_in_a_dynamodb_item() {
        use crate::domain::delivery::DeliveryReport;
        use crate::domain::message::{
            Delivery, MAX_ERROR_BYTES, MAX_PROVIDER_ID_BYTES, MAX_RECORD_RECIPIENTS, RecipientRecord,
        };
        use crate::domain::recipient::{DROPPED_INPUT_CHARS, DROPPED_LISTED, DropReason, DroppedNumber, Recipient};
        use crate::domain::segments::{Encoding, MAX_PARTS};
        use crate::domain::sender::SenderId;
        use crate::domain::status::{Rejection, StatusCode};

        let now = Utc::now();
        let mut record = MessageRecord::rejected(
            "0123456789abcdefghij0123456789abcdefghij",
            now,
            &Rejection::with_detail(StatusCode::InvalidRequest, "x".repeat(200)),
        );
        record.state = MessageState::Accepted;
        record.login = Some("l".repeat(64));
        // The longest text: every part full of three-byte characters.
        record.text = Some("€".repeat(MAX_PARTS as usize * 160));
        record.encoding = Some(Encoding::Ucs2);
        record.parts = MAX_PARTS;
        record.cost = u64::from(MAX_PARTS) * MAX_RECORD_RECIPIENTS as u64;
        record.refunded = record.cost;
        record.recipients = (0..MAX_RECORD_RECIPIENTS)
            .map(|i| RecipientRecord {
                number: Recipient::parse_e164(&format!("+4479{:08}", 11_000_000 + i)).unwrap(),
                sender: Some(SenderId::parse("ABCDEFGHIJK").unwrap()),
                delivery: Delivery::Unknown,
                provider_id: Some("p".repeat(MAX_PROVIDER_ID_BYTES)),
                // A report's reason supersedes the sender's note (the report's write removes it).
                error: None,
                report: Some(DeliveryReport {
                    delivery: Delivery::Unconfirmed,
                    at: now,
                    reason: Some("é".repeat(MAX_ERROR_BYTES / 2)),
                    price: Some("0".repeat(16)),
                    refunded: true,
                }),
                resent: true,
            })
            .collect();
        record.dropped = (0..DROPPED_LISTED)
            .map(|_| DroppedNumber::new(&"€".repeat(DROPPED_INPUT_CHARS * 2), DropReason::Malformed))
            .collect();
        record.dropped_count = usize::MAX;
        record.due_at = Some(now);
        record.local_date = Some("2026-12-01 09:30:00".into());
        record.timezone = Some("America/Argentina/ComodRivadavia".into());
        record.schedule_name = Some("s".repeat(64));
        record.settled_at = Some(now);
        record.closed_at = Some(now);
        record.mail_message_id = Some("m".repeat(crate::domain::message::MAX_MAIL_MESSAGE_ID_BYTES));
        record.receipt_to = Some("r".repeat(254));
        record.answers_to = Some("a".repeat(crate::domain::message::MAX_ANSWERS_TO_BYTES));
        record.receipt = Some(crate::domain::message::ReplyOutcome::Sent);
        record.lease_owner = Some("o".repeat(64));
        record.lease_until = Some(i64::MAX);
        record.lease_attempt = Some("a".repeat(16));
        record.checkpoints = u64::MAX;

        let size = item_size(&to_item(&record).unwrap());
        // Room is left for what the record does not hold yet (a reply's notes, the operator's).
        assert!(size < 360 * 1024, "{size} bytes");
    }

    #[test]
    fn reply_quotas_are_per_address_and_hour_and_hide_the_address() {
        let t = Utc.with_ymd_and_hms(2026, 11, 25, 9, 59, 0).unwrap();
        let key = reply_quota_key("Shop@Example.com", t);
        assert_eq!(key, reply_quota_key(" shop@example.com", t));
        assert!(!key.contains("example"));
        assert_ne!(key, reply_quota_key("shop@example.com", t + chrono::Duration::minutes(1)));
        assert_ne!(key, reply_quota_key("other@example.com", t));
    }
}
