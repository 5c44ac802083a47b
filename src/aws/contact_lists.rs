//! The accounts' contact lists in DynamoDB ([`tables::CONTACT_LISTS`]).
//!
//! Under the account's login (`owner`), a list `clients` is:
//! - its head, `list` = `#clients`: how many numbers it holds, in how many chunks, when it was
//!   imported, and the generation of that import;
//! - its chunks, `list` = `clients#000`, `clients#001`…: at most [`CHUNK_NUMBERS`] numbers each
//!   (E.164, about 16 bytes apiece: some 16 KB an item, far from DynamoDB's 400 KB), each
//!   naming its generation and the number of chunks.
//!
//! An email reads a list's numbers with one query on the owner and the prefix `clients#` (a
//! name never holds `#`, so no other list shares it; heads start with `#`, so none is read),
//! every page followed. An import replaces the head and the chunks, and deletes the chunks the
//! new list no longer has, in one transaction ([`MAX_CHUNKS`] + 1 items at most, far below
//! DynamoDB's 100 and 4 MB), conditioned on the generation it read: two imports at once
//! cannot mix. A query may still see one import's chunks next to another's (a query is only
//! read-committed item by item): the chunks then disagree on their generation or number, and
//! the list is read again.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use chrono::{DateTime, Utc};

use super::dynamodb::{DynamoLedger, queried};
use super::port_error;
use crate::domain::contact_list::{ListName, ListSummary, MAX_LIST_NUMBERS, MAX_LISTS_PER_ACCOUNT};
use crate::domain::message::sortable_time;
use crate::domain::recipient::Recipient;
use crate::ports::PortError;
use crate::tables::CONTACT_LISTS;

type Item = HashMap<String, AttributeValue>;

/// The most numbers one chunk item holds.
pub const CHUNK_NUMBERS: usize = 1_000;

/// The most chunks a list has.
pub const MAX_CHUNKS: usize = MAX_LIST_NUMBERS.div_ceil(CHUNK_NUMBERS);

/// The most items one DynamoDB transaction may write.
const MAX_TRANSACTION_ITEMS: usize = 100;

// An import writes the head and its chunks, and deletes only the old chunks it does not
// overwrite: at most MAX_CHUNKS + 1 items. Raising MAX_LIST_NUMBERS past this needs larger
// chunks (up to ~20,000 numbers still keep an item under 400 KB) or a different import.
const _: () = assert!(MAX_CHUNKS < MAX_TRANSACTION_ITEMS);
// Chunk keys are numbered on three digits, so that they sort as they are numbered.
const _: () = assert!(MAX_CHUNKS <= 1_000);

/// How many times a list read mixed two imports' chunks before the read gives up (retryably).
const READ_ATTEMPTS: usize = 3;

const OWNER: &str = CONTACT_LISTS.partition_key;
const LIST: &str = match CONTACT_LISTS.sort_key {
    Some(key) => key,
    None => panic!("the contact lists' table has a sort key"),
};
const NAME: &str = "name";
const COUNT: &str = "count";
const CHUNKS: &str = "chunks";
const GENERATION: &str = "generation";
const IMPORTED_AT: &str = "imported_at";
const NUMBERS: &str = "numbers";

/// What storage marks heads with: no name starts with it.
const HEAD_MARK: &str = "#";

fn head_key(name: &ListName) -> String {
    format!("{HEAD_MARK}{name}")
}

fn chunk_prefix(name: &ListName) -> String {
    format!("{name}#")
}

fn chunk_key(name: &ListName, index: usize) -> String {
    format!("{name}#{index:03}")
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: usize) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn unreadable(what: impl std::fmt::Display) -> PortError {
    PortError::Refused { service: "dynamodb", message: format!("unreadable contact list item: {what}") }
}

/// A list's head, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Head {
    summary: ListSummary,
    chunks: usize,
    generation: String,
}

fn text<'i>(item: &'i Item, attribute: &str) -> Result<&'i str, PortError> {
    match item.get(attribute) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(unreadable(format_args!("no {attribute}"))),
    }
}

fn whole(item: &Item, attribute: &str) -> Result<usize, PortError> {
    match item.get(attribute) {
        Some(AttributeValue::N(value)) => value.parse().map_err(|_| unreadable(format_args!("{attribute} {value}"))),
        _ => Err(unreadable(format_args!("no {attribute}"))),
    }
}

fn head_of(item: &Item) -> Result<Head, PortError> {
    let name = text(item, NAME)?;
    let imported_at = text(item, IMPORTED_AT)?;
    Ok(Head {
        summary: ListSummary {
            name: ListName::parse(name).ok_or_else(|| unreadable(format_args!("list name {name:?}")))?,
            count: whole(item, COUNT)?,
            imported_at: DateTime::parse_from_rfc3339(imported_at)
                .map_err(|_| unreadable(format_args!("{IMPORTED_AT} {imported_at:?}")))?
                .with_timezone(&Utc),
        },
        chunks: whole(item, CHUNKS)?,
        generation: text(item, GENERATION)?.to_owned(),
    })
}

/// The numbers of a list's chunk items, as one query returned them (in key order, so in chunk
/// order): `None` when they are not all of one import, every chunk once.
fn assembled(items: &[Item]) -> Result<Option<Vec<Recipient>>, PortError> {
    let Some(first) = items.first() else { return Ok(Some(Vec::new())) };
    let generation = text(first, GENERATION)?;
    let chunks = whole(first, CHUNKS)?;
    if items.len() != chunks {
        return Ok(None);
    }
    let mut numbers = Vec::with_capacity(chunks * CHUNK_NUMBERS);
    for item in items {
        if text(item, GENERATION)? != generation || whole(item, CHUNKS)? != chunks {
            return Ok(None);
        }
        let Some(AttributeValue::L(values)) = item.get(NUMBERS) else { return Err(unreadable("no numbers")) };
        for value in values {
            let AttributeValue::S(number) = value else { return Err(unreadable("a number that is not a string")) };
            numbers.push(Recipient::parse_e164(number).ok_or_else(|| unreadable("a number that is not E.164"))?);
        }
    }
    Ok(Some(numbers))
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replaced {
    /// A new list.
    Created,
    /// The list's numbers replaced; it held `before` numbers.
    Replaced { before: usize },
    /// The account has [`MAX_LISTS_PER_ACCOUNT`] lists already: nothing written.
    TooManyLists,
    /// Another import or deletion of the list ran meanwhile: nothing written.
    ChangedMeanwhile,
}

/// What a deletion did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deleted {
    /// The list is gone; this is what it was.
    Deleted(ListSummary),
    NoList,
    /// The list was imported again meanwhile: nothing deleted.
    ChangedMeanwhile,
}

impl DynamoLedger {
    fn list_key(&self, owner: &str, list: String) -> Item {
        HashMap::from([(OWNER.to_owned(), s(owner)), (LIST.to_owned(), s(list))])
    }

    /// The numbers of `owner`'s list `name` (see [`crate::ports::Ledger::contact_list`]): one
    /// query, strongly consistent, every page followed; again when it saw two imports at once.
    pub(crate) async fn read_contact_list(
        &self,
        owner: &str,
        name: &ListName,
    ) -> Result<Option<Vec<Recipient>>, PortError> {
        for _ in 0..READ_ATTEMPTS {
            let query = self
                .client()
                .query()
                .table_name(self.contact_lists_table())
                .key_condition_expression("#owner = :owner AND begins_with(#list, :prefix)")
                .expression_attribute_names("#owner", OWNER)
                .expression_attribute_names("#list", LIST)
                .expression_attribute_values(":owner", s(owner))
                .expression_attribute_values(":prefix", s(chunk_prefix(name)))
                .consistent_read(true);
            let items = queried(query).await?;
            if items.is_empty() {
                return Ok(None);
            }
            if let Some(numbers) = assembled(&items)? {
                return Ok(Some(numbers));
            }
        }
        Err(PortError::Unavailable {
            service: "dynamodb",
            message: format!("contact list {name} was being imported at each of {READ_ATTEMPTS} reads"),
        })
    }

    async fn contact_head(&self, owner: &str, name: &ListName) -> Result<Option<Head>, PortError> {
        let output = self
            .client()
            .get_item()
            .table_name(self.contact_lists_table())
            .set_key(Some(self.list_key(owner, head_key(name))))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| port_error("dynamodb", error))?;
        output.item.as_ref().map(head_of).transpose()
    }

    async fn contact_heads(&self, owner: &str) -> Result<Vec<Head>, PortError> {
        let query = self
            .client()
            .query()
            .table_name(self.contact_lists_table())
            .key_condition_expression("#owner = :owner AND begins_with(#list, :mark)")
            .expression_attribute_names("#owner", OWNER)
            .expression_attribute_names("#list", LIST)
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":mark", s(HEAD_MARK))
            .consistent_read(true);
        queried(query).await?.iter().map(head_of).collect()
    }

    /// `owner`'s lists, by name.
    pub async fn contact_lists_of(&self, owner: &str) -> Result<Vec<ListSummary>, PortError> {
        Ok(self.contact_heads(owner).await?.into_iter().map(|head| head.summary).collect())
    }

    /// `owner`'s list `name` and its numbers, in the order imported; `None` when there is none.
    pub async fn contact_list_with_numbers(
        &self,
        owner: &str,
        name: &ListName,
    ) -> Result<Option<(ListSummary, Vec<Recipient>)>, PortError> {
        let Some(head) = self.contact_head(owner, name).await? else { return Ok(None) };
        let numbers = self.read_contact_list(owner, name).await?.unwrap_or_default();
        Ok(Some((head.summary, numbers)))
    }

    /// Makes `numbers` (1 to [`MAX_LIST_NUMBERS`], each once) `owner`'s list `name`, in one
    /// transaction: the head, the chunks, and the deletion of the old chunks past the new
    /// ones, only if the list is still as read (or still absent). A new list is refused when
    /// the account has [`MAX_LISTS_PER_ACCOUNT`] already.
    pub async fn import_contact_list(
        &self,
        owner: &str,
        name: &ListName,
        numbers: &[Recipient],
        now: DateTime<Utc>,
    ) -> Result<Replaced, PortError> {
        if numbers.is_empty() || numbers.len() > MAX_LIST_NUMBERS {
            return Err(PortError::Refused {
                service: "dynamodb",
                message: format!("a contact list holds 1 to {MAX_LIST_NUMBERS} numbers, not {}", numbers.len()),
            });
        }
        let before = self.contact_head(owner, name).await?;
        if before.is_none() && self.contact_heads(owner).await?.len() >= MAX_LISTS_PER_ACCOUNT {
            return Ok(Replaced::TooManyLists);
        }
        let table = self.contact_lists_table();
        let generation = crate::domain::account::new_api_key()[..32].to_owned();
        let chunks: Vec<&[Recipient]> = numbers.chunks(CHUNK_NUMBERS).collect();

        let mut head = self.list_key(owner, head_key(name));
        head.extend([
            (NAME.to_owned(), s(name.as_str())),
            (COUNT.to_owned(), n(numbers.len())),
            (CHUNKS.to_owned(), n(chunks.len())),
            (GENERATION.to_owned(), s(&generation)),
            (IMPORTED_AT.to_owned(), s(sortable_time::format(&now))),
        ]);
        let put_head = Put::builder().table_name(table).set_item(Some(head));
        let put_head = match &before {
            None => {
                put_head.condition_expression("attribute_not_exists(#list)").expression_attribute_names("#list", LIST)
            }
            Some(before) => put_head
                .condition_expression("#generation = :generation")
                .expression_attribute_names("#generation", GENERATION)
                .expression_attribute_values(":generation", s(&before.generation)),
        };
        let mut items =
            vec![TransactWriteItem::builder().put(put_head.build().expect("table and item are set")).build()];
        for (index, chunk) in chunks.iter().enumerate() {
            let mut item = self.list_key(owner, chunk_key(name, index));
            item.extend([
                (GENERATION.to_owned(), s(&generation)),
                (CHUNKS.to_owned(), n(chunks.len())),
                (NUMBERS.to_owned(), AttributeValue::L(chunk.iter().map(|number| s(number.e164())).collect())),
            ]);
            let put = Put::builder().table_name(table).set_item(Some(item)).build().expect("table and item are set");
            items.push(TransactWriteItem::builder().put(put).build());
        }
        let old_chunks = before.as_ref().map_or(0, |before| before.chunks);
        for index in chunks.len()..old_chunks {
            items.push(self.list_chunk_deletion(owner, name, index));
        }
        if !self.transact_list(items, &generation).await? {
            return Ok(Replaced::ChangedMeanwhile);
        }
        Ok(match before {
            None => Replaced::Created,
            Some(before) => Replaced::Replaced { before: before.summary.count },
        })
    }

    /// Deletes `owner`'s list `name`, head and chunks, in one transaction, only if it is still
    /// as read.
    pub async fn delete_contact_list(&self, owner: &str, name: &ListName) -> Result<Deleted, PortError> {
        let Some(before) = self.contact_head(owner, name).await? else { return Ok(Deleted::NoList) };
        let head = Delete::builder()
            .table_name(self.contact_lists_table())
            .set_key(Some(self.list_key(owner, head_key(name))))
            .condition_expression("#generation = :generation")
            .expression_attribute_names("#generation", GENERATION)
            .expression_attribute_values(":generation", s(&before.generation))
            .build()
            .expect("table and key are set");
        let mut items = vec![TransactWriteItem::builder().delete(head).build()];
        items.extend((0..before.chunks).map(|index| self.list_chunk_deletion(owner, name, index)));
        if !self.transact_list(items, &crate::domain::account::new_api_key()[..32]).await? {
            return Ok(Deleted::ChangedMeanwhile);
        }
        Ok(Deleted::Deleted(before.summary))
    }

    fn list_chunk_deletion(&self, owner: &str, name: &ListName, index: usize) -> TransactWriteItem {
        let delete = Delete::builder()
            .table_name(self.contact_lists_table())
            .set_key(Some(self.list_key(owner, chunk_key(name, index))))
            .build()
            .expect("table and key are set");
        TransactWriteItem::builder().delete(delete).build()
    }

    /// Writes `items` in one transaction, its first item's condition deciding: `false`, having
    /// written nothing, when that condition failed. `token` makes the SDK's own retries of the
    /// call apply it once.
    async fn transact_list(&self, items: Vec<TransactWriteItem>, token: &str) -> Result<bool, PortError> {
        let answer = self
            .client()
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(token)
            .send()
            .await;
        let error = match answer {
            Ok(_) => return Ok(true),
            Err(error) => error,
        };
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = error.as_service_error()
            && cancelled.cancellation_reasons().first().and_then(|reason| reason.code())
                == Some("ConditionalCheckFailed")
        {
            return Ok(false);
        }
        Err(port_error("dynamodb", error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(typed: &str) -> ListName {
        ListName::parse(typed).unwrap()
    }

    fn chunk(generation: &str, chunks: usize, numbers: &[&str]) -> Item {
        HashMap::from([
            (GENERATION.to_owned(), s(generation)),
            (CHUNKS.to_owned(), n(chunks)),
            (NUMBERS.to_owned(), AttributeValue::L(numbers.iter().map(|&number| s(number)).collect())),
        ])
    }

    #[test]
    fn a_list_s_chunks_share_a_prefix_no_other_list_or_head_has() {
        let clients = name("clients");
        assert_eq!(chunk_key(&clients, 0), "clients#000");
        assert_eq!(chunk_key(&clients, 9), "clients#009");
        assert!(chunk_key(&clients, 0).starts_with(&chunk_prefix(&clients)));
        for other in ["clients2", "clients-vip", "clients_old", "client"] {
            assert!(!chunk_key(&name(other), 0).starts_with(&chunk_prefix(&clients)), "{other}");
        }
        assert!(!head_key(&clients).starts_with(&chunk_prefix(&clients)));
        assert!(head_key(&clients).starts_with(HEAD_MARK) && !chunk_key(&clients, 0).starts_with(HEAD_MARK));
        // Chunks sort as they are numbered.
        let mut keys: Vec<String> = (0..MAX_CHUNKS).map(|index| chunk_key(&clients, index)).collect();
        keys.sort();
        assert_eq!(keys, (0..MAX_CHUNKS).map(|index| chunk_key(&clients, index)).collect::<Vec<_>>());
    }

    #[test]
    fn a_full_chunk_stays_far_below_dynamodb_s_item_size() {
        // The longest E.164 number, with DynamoDB's per-element overhead counted generously.
        let item_bytes = CHUNK_NUMBERS * (16 + 3) + 200;
        assert!(item_bytes < 400 * 1024 / 10, "{item_bytes} bytes");
        assert!(MAX_CHUNKS * item_bytes < 4 * 1024 * 1024 / 2, "one import's transaction");
    }

    #[test]
    fn chunks_of_one_import_are_assembled_in_order() {
        let items = [chunk("g1", 2, &["+33612345678", "+33698765432"]), chunk("g1", 2, &["+32470123456"])];
        let numbers = assembled(&items).unwrap().unwrap();
        assert_eq!(
            numbers.iter().map(Recipient::e164).collect::<Vec<_>>(),
            ["+33612345678", "+33698765432", "+32470123456"]
        );
    }

    #[test]
    fn chunks_of_two_imports_or_missing_chunks_are_read_again() {
        let mixed = [chunk("g1", 2, &["+33612345678"]), chunk("g2", 2, &["+33698765432"])];
        assert_eq!(assembled(&mixed).unwrap(), None);
        let missing = [chunk("g1", 2, &["+33612345678"])];
        assert_eq!(assembled(&missing).unwrap(), None);
        let left_over = [chunk("g2", 1, &["+33612345678"]), chunk("g1", 2, &["+33698765432"])];
        assert_eq!(assembled(&left_over).unwrap(), None);
    }

    #[test]
    fn an_item_that_is_no_chunk_is_an_error_not_a_list() {
        let mut broken = chunk("g1", 1, &["0612345678"]);
        assert!(assembled(std::slice::from_ref(&broken)).is_err());
        broken.remove(NUMBERS);
        assert!(assembled(&[broken]).is_err());
    }
}
