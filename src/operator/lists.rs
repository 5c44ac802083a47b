//! The operator's use cases for contact lists (`mail2sms-admin list`): import a list from a CSV
//! file, show an account's lists or one list, delete one. See
//! [`crate::domain::contact_list`] for what a list is, [`crate::aws::contact_lists`] for how it
//! is stored.

use std::path::Path;

use chrono::Utc;
use thiserror::Error;

use super::{Operator, OperatorError};
use crate::aws::contact_lists::{Deleted, Replaced};
use crate::domain::contact_list::{
    BadListName, ListName, ListSummary, MAX_LIST_NUMBERS, MAX_LISTS_PER_ACCOUNT, typed_name,
};
use crate::domain::optout::{ImportedFile, read_csv};
use crate::domain::recipient::Recipient;
use crate::plural::{count, english};

/// Why a `list` command did nothing.
#[derive(Debug, Error)]
pub enum ListError {
    #[error("the contact lists' table is not named: set CONTACT_LISTS_TABLE (or --contact-lists-table)")]
    NoTable,
    #[error("{0}")]
    BadName(BadListName),
    #[error("{login} has no contact list {name}")]
    NoList { login: String, name: ListName },
    #[error(
        "{path} holds no number to text ({}{}); nothing changed",
        english(count(.rejected.len()), ("line rejected", "lines rejected")),
        .rejected.first().map(|first| format!(", the first: {first}")).unwrap_or_default()
    )]
    NoNumber { path: String, rejected: Vec<String> },
    #[error("{path} holds {numbers} numbers: a list holds at most {MAX_LIST_NUMBERS}; nothing changed")]
    TooManyNumbers { path: String, numbers: usize },
    #[error(
        "{login} has {MAX_LISTS_PER_ACCOUNT} contact lists already, the most an account may have: delete one first; nothing changed"
    )]
    TooManyLists { login: String },
    #[error("{login}'s contact list {name} changed while this ran (another command): nothing done; run it again")]
    ChangedMeanwhile { login: String, name: ListName },
}

/// What `list import` did: the file as read (its numbers, its lines refused and why), and the
/// list it replaced, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListImported {
    pub login: String,
    pub name: ListName,
    pub file: ImportedFile,
    /// How many numbers the list held before, when it existed.
    pub replaced: Option<usize>,
}

impl ListImported {
    /// Each line refused and why: `line 5: "abc": not written as a phone number`.
    pub fn rejected_lines(&self) -> Vec<String> {
        rejected_lines(&self.file)
    }

    /// The sum: `shop's list clients: 120 numbers kept (replacing 118); 2 lines rejected`.
    pub fn summary(&self) -> String {
        format!(
            "{}'s list {}: {} kept ({}); {} rejected{}",
            self.login,
            self.name,
            english(count(self.file.numbers.len()), ("number", "numbers")),
            match self.replaced {
                None => "a new list".to_owned(),
                Some(before) => format!("replacing {}", english(count(before), ("number", "numbers"))),
            },
            english(count(self.file.rejected.len()), ("line", "lines")),
            if self.file.header { " (first line read as a header)" } else { "" }
        )
    }
}

fn rejected_lines(file: &ImportedFile) -> Vec<String> {
    file.rejected.iter().map(|line| format!("line {}: {:?}: {}", line.line, line.input, line.rejection)).collect()
}

impl Operator {
    pub(super) fn contact_lists_table(&self) -> Result<&String, ListError> {
        self.settings.contact_lists_table.as_ref().ok_or(ListError::NoTable)
    }

    /// The name typed and the account's login (the account must exist).
    async fn list_of(&self, login: &str, typed: &str) -> Result<(String, ListName), OperatorError> {
        self.contact_lists_table()?;
        let name = typed_name(typed).map_err(ListError::BadName)?;
        Ok((self.account(login).await?.login, name))
    }

    /// Makes the numbers of a CSV file (see [`read_csv`]: the subject's number parser, each
    /// number once, every other line reported) the account's list `name`, created or replaced
    /// whole and at once. A file with no number to text, or more than [`MAX_LIST_NUMBERS`],
    /// changes nothing; so does a new list past [`MAX_LISTS_PER_ACCOUNT`].
    pub async fn import_list(&self, login: &str, name: &str, path: &Path) -> Result<ListImported, OperatorError> {
        let (login, name) = self.list_of(login, name).await?;
        let bytes = std::fs::read(path).map_err(|error| OperatorError::Unreadable {
            path: path.display().to_string(),
            error: error.to_string(),
        })?;
        let file = read_csv(&String::from_utf8_lossy(&bytes));
        let shown = || path.display().to_string();
        if file.numbers.is_empty() {
            return Err(ListError::NoNumber { path: shown(), rejected: rejected_lines(&file) }.into());
        }
        if file.numbers.len() > MAX_LIST_NUMBERS {
            return Err(ListError::TooManyNumbers { path: shown(), numbers: file.numbers.len() }.into());
        }
        let replaced = match self.ledger.import_contact_list(&login, &name, &file.numbers, Utc::now()).await? {
            Replaced::Created => None,
            Replaced::Replaced { before } => Some(before),
            Replaced::TooManyLists => return Err(ListError::TooManyLists { login }.into()),
            Replaced::ChangedMeanwhile => return Err(ListError::ChangedMeanwhile { login, name }.into()),
        };
        Ok(ListImported { login, name, file, replaced })
    }

    /// The account's lists, by name.
    pub async fn lists(&self, login: &str) -> Result<Vec<ListSummary>, OperatorError> {
        self.contact_lists_table()?;
        let login = self.account(login).await?.login;
        Ok(self.ledger.contact_lists_of(&login).await?)
    }

    /// The account's list `name` (typed with or without its `#`) and its numbers, in the order
    /// imported.
    pub async fn list(&self, login: &str, name: &str) -> Result<(ListSummary, Vec<Recipient>), OperatorError> {
        let (login, name) = self.list_of(login, name).await?;
        match self.ledger.contact_list_with_numbers(&login, &name).await? {
            Some(list) => Ok(list),
            None => Err(ListError::NoList { login, name }.into()),
        }
    }

    /// Deletes the account's list `name`; returns what it was.
    pub async fn delete_list(&self, login: &str, name: &str) -> Result<ListSummary, OperatorError> {
        let (login, name) = self.list_of(login, name).await?;
        match self.ledger.delete_contact_list(&login, &name).await? {
            Deleted::Deleted(summary) => Ok(summary),
            Deleted::NoList => Err(ListError::NoList { login, name }.into()),
            Deleted::ChangedMeanwhile => Err(ListError::ChangedMeanwhile { login, name }.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imported(text: &str, replaced: Option<usize>) -> ListImported {
        ListImported { login: "shop".into(), name: ListName::parse("clients").unwrap(), file: read_csv(text), replaced }
    }

    #[test]
    fn an_import_says_what_it_kept_what_it_refused_and_what_it_replaced() {
        let new = imported("numéro\n0612345678\nabc\n0612345678\n+32470123456\n", None);
        assert_eq!(
            new.rejected_lines(),
            ["line 3: \"abc\": not written as a phone number", "line 4: \"0612345678\": the same number as line 2"]
        );
        assert_eq!(
            new.summary(),
            "shop's list clients: 2 numbers kept (a new list); 2 lines rejected (first line read as a header)"
        );
        let again = imported("0612345678\n", Some(2));
        assert_eq!(again.summary(), "shop's list clients: 1 number kept (replacing 2 numbers); 0 lines rejected");
    }

    #[test]
    fn a_file_without_a_number_is_refused_quoting_its_first_rejected_line() {
        let file = read_csv("06 12 x\n0123456789\n");
        let error = ListError::NoNumber { path: "f.csv".into(), rejected: rejected_lines(&file) }.to_string();
        assert_eq!(
            error,
            "f.csv holds no number to text (2 lines rejected, the first: line 1: \"06 12 x\": not written as a phone number); nothing changed"
        );
        let empty = ListError::NoNumber { path: "f.csv".into(), rejected: Vec::new() }.to_string();
        assert_eq!(empty, "f.csv holds no number to text (0 lines rejected); nothing changed");
    }
}
