//! The DynamoDB tables, defined once. `mail2sms-admin bootstrap` creates them from these
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

// ----- opt-outs -----

/// The opt-out lists: one item per number on a list, keyed by `owner` (the account's login, or
/// [`GATEWAY_OWNER`](crate::domain::optout::GATEWAY_OWNER) for the gateway's own list) and
/// `number` (E.164). An email's numbers are checked by key, never by a scan; a list is read by
/// a query on its owner.
pub const OPT_OUTS: TableSpec = TableSpec {
    env_var: "OPT_OUTS_TABLE",
    logical_id: "OptOutsTable",
    partition_key: "owner",
    sort_key: Some("number"),
    indexes: &[],
    ttl_attribute: None,
};

// ----- contact lists -----

/// The contact lists (issue #10): keyed by `owner` (the account's login) and `list`, which is
/// `<name>#<chunk>` for the list's numbers, in chunks of at most
/// [`CHUNK_NUMBERS`](crate::aws::contact_lists::CHUNK_NUMBERS) (far from DynamoDB's 400 KB per
/// item), and `#<name>` for its head (count, chunks, import time). A list's numbers are read
/// by one query on its owner and the prefix `<name>#` (a name never holds `#`); an import
/// replaces head and chunks in one transaction. See [`crate::aws::contact_lists`].
pub const CONTACT_LISTS: TableSpec = TableSpec {
    env_var: "CONTACT_LISTS_TABLE",
    logical_id: "ContactListsTable",
    partition_key: "owner",
    sort_key: Some("list"),
    indexes: &[],
    ttl_attribute: None,
};

pub const ALL: [TableSpec; 4] = [ACCOUNTS, MESSAGES, OPT_OUTS, CONTACT_LISTS];

// ----- The customer space (issue #12) -----

/// What the customer space keeps besides accounts and messages, keyed by `pk` (what the item
/// is, e.g. `session#<hash>`) and `sk`: sessions, the log-out-everywhere generation of each
/// login, login-attempt counters and invitations, which expire through the TTL attribute; and
/// the credit movements no message record tells (the operator's credits, transfers between an
/// account and its sub-accounts), which do not expire. Only `mail2sms-web` reads it (and
/// `mail2sms-admin` for passwords, invitations and credits).
pub const WEB: TableSpec = TableSpec {
    env_var: "WEB_TABLE",
    logical_id: "WebTable",
    partition_key: "pk",
    sort_key: Some("sk"),
    indexes: &[],
    ttl_attribute: Some("expires_at"),
};

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
