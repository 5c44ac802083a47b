//! The two DynamoDB tables, defined once. `mail2sms-admin bootstrap` creates them from these
//! definitions, and a test checks that `template.yaml` declares exactly the same ones.

/// A table's shape: its keys, indexes and time-to-live attribute. Every key attribute is a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSpec {
    /// The environment variable that names the table.
    pub env_var: &'static str,
    /// The table's logical id in `template.yaml`.
    pub logical_id: &'static str,
    pub partition_key: &'static str,
    pub sort_key: Option<&'static str>,
    pub indexes: &'static [IndexSpec],
    pub ttl_attribute: Option<&'static str>,
}

/// A global secondary index projecting all attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: &'static str,
    pub partition_key: &'static str,
    pub sort_key: Option<&'static str>,
}

/// One item per customer account, keyed by login.
pub const ACCOUNTS: TableSpec = TableSpec {
    env_var: "ACCOUNTS_TABLE",
    logical_id: "AccountsTable",
    partition_key: "login",
    sort_key: None,
    indexes: &[],
    ttl_attribute: None,
};

/// The name of the index that lists an account's messages, newest first.
pub const MESSAGES_BY_LOGIN: &str = "by-login";

/// One item per inbound email, keyed by its SES message id; also the reply-quota counters,
/// which expire through the TTL attribute.
pub const MESSAGES: TableSpec = TableSpec {
    env_var: "MESSAGES_TABLE",
    logical_id: "MessagesTable",
    partition_key: "message_id",
    sort_key: None,
    indexes: &[IndexSpec { name: MESSAGES_BY_LOGIN, partition_key: "login", sort_key: Some("received_at") }],
    ttl_attribute: Some("expires_at"),
};

pub const ALL: [TableSpec; 2] = [ACCOUNTS, MESSAGES];

impl TableSpec {
    /// Every attribute that a key of the table or of one of its indexes uses, each once.
    pub fn key_attributes(&self) -> Vec<&'static str> {
        let mut names = vec![self.partition_key];
        names.extend(self.sort_key);
        for index in self.indexes {
            names.push(index.partition_key);
            names.extend(index.sort_key);
        }
        let mut seen = Vec::with_capacity(names.len());
        for name in names {
            if !seen.contains(&name) {
                seen.push(name);
            }
        }
        seen
    }
}
