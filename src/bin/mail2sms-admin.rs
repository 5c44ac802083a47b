//! `mail2sms-admin`: the operator's tool. It reads the same environment variables as the
//! function. Data comes out as JSON, confirmations as plain words, errors on stderr with a
//! non-zero exit.

use std::process::ExitCode;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use clap::{Args, Parser, Subcommand};
use mail2sms::aws::bootstrap;
use mail2sms::aws::dynamodb::DynamoLedger;
use mail2sms::aws::scheduler::EventBridgeScheduler;
use mail2sms::config::{self, vars};
use mail2sms::domain::account::{Account, new_api_key};
use mail2sms::domain::date::parse_timezone;
use mail2sms::domain::message::MessageRecord;
use mail2sms::domain::request::ApiKey;
use mail2sms::domain::sender::SenderId;
use mail2sms::ports::Ledger;
use mail2sms::tables;
use serde_json::json;

#[derive(Parser)]
#[command(name = "mail2sms-admin", version, about = "Operate a Mail2SMS gateway: tables, accounts, credits, messages")]
struct Cli {
    #[command(flatten)]
    tables: TableNames,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct TableNames {
    #[arg(long, env = vars::ACCOUNTS_TABLE, global = true, hide_env_values = true)]
    accounts_table: Option<String>,
    #[arg(long, env = vars::MESSAGES_TABLE, global = true, hide_env_values = true)]
    messages_table: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Create the tables if missing; against a local emulator (AWS_ENDPOINT_URL), also the
    /// inbound bucket, the reply identity and the schedule group.
    Bootstrap,
    /// Customer accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Prepaid credits.
    #[command(subcommand)]
    Credits(CreditsCommand),
    /// An account's messages as JSON lines, newest first.
    Messages {
        login: String,
        #[arg(long, default_value_t = 20)]
        limit: i32,
    },
    /// Cancel a scheduled message: delete its schedule, refund its credits.
    Cancel { message_id: String },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Create an account; prints its new API key, shown only this once.
    Create {
        login: String,
        #[arg(long, default_value_t = 0)]
        credits: u64,
        /// Default sender (3 to 11 letters, digits or spaces, starting with a letter).
        #[arg(long)]
        sender: Option<String>,
        /// IANA time zone `date=` is read in (default: DEFAULT_TIMEZONE).
        #[arg(long)]
        timezone: Option<String>,
    },
    /// The account as JSON.
    Show {
        login: String,
    },
    /// Replace the API key; prints the new one. The old one stops working at once.
    RotateKey {
        login: String,
    },
    /// Refuse the account's emails (102) until resumed.
    Suspend {
        login: String,
    },
    Resume {
        login: String,
    },
}

#[derive(Subcommand)]
enum CreditsCommand {
    /// Add N credits to the account.
    Add { login: String, credits: u64 },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("mail2sms-admin: {message}");
            ExitCode::FAILURE
        }
    }
}

type Outcome = Result<(), String>;

async fn run(cli: Cli) -> Outcome {
    let sdk = aws_config::load_from_env().await;
    let accounts =
        cli.tables.accounts_table.ok_or_else(|| format!("missing environment variable {}", vars::ACCOUNTS_TABLE))?;
    let messages =
        cli.tables.messages_table.ok_or_else(|| format!("missing environment variable {}", vars::MESSAGES_TABLE))?;
    let ledger = DynamoLedger::new(&sdk, &accounts, &messages);
    match cli.command {
        Command::Bootstrap => bootstrap_all(&sdk, &ledger, &accounts, &messages).await,
        Command::Account(command) => account(&ledger, command).await,
        Command::Credits(CreditsCommand::Add { login, credits }) => {
            let account = ledger
                .update_account(&login, "ADD credits :n", vec![(":n", AttributeValue::N(credits.to_string()))])
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| no_account(&login))?;
            println!("{credits} credits added to {login}: {} available", account.credits);
            Ok(())
        }
        Command::Messages { login, limit } => {
            for record in ledger.messages_of(&login, limit.max(1)).await.map_err(|e| e.to_string())? {
                println!("{}", message_json(&record));
            }
            Ok(())
        }
        Command::Cancel { message_id } => cancel(&sdk, &ledger, &message_id).await,
    }
}

async fn bootstrap_all(sdk: &aws_config::SdkConfig, ledger: &DynamoLedger, accounts: &str, messages: &str) -> Outcome {
    for (spec, name) in [(tables::ACCOUNTS, accounts), (tables::MESSAGES, messages)] {
        let created = bootstrap::create_table(ledger.client(), &spec, name).await.map_err(|e| e.to_string())?;
        println!("table {name}: {}", if created { "created" } else { "already there" });
    }
    if sdk.endpoint_url().is_none() {
        println!("(AWS: the bucket, the reply identity and the schedule group come from the SAM template)");
        return Ok(());
    }
    let optional = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let Some(bucket) = optional(vars::INBOUND_BUCKET) {
        let created = bootstrap::create_bucket(sdk, &bucket).await.map_err(|e| e.to_string())?;
        println!("bucket {bucket}: {}", if created { "created" } else { "already there" });
    }
    if let Some(reply_from) = optional(vars::REPLY_FROM) {
        let created = bootstrap::create_reply_identity(sdk, &reply_from).await.map_err(|e| e.to_string())?;
        println!("reply identity for {reply_from}: {}", if created { "created" } else { "already there" });
    }
    let group = optional(vars::SCHEDULE_GROUP).unwrap_or_else(|| config::DEFAULT_SCHEDULE_GROUP.into());
    let created = bootstrap::create_schedule_group(sdk, &group).await.map_err(|e| e.to_string())?;
    println!("schedule group {group}: {}", if created { "created" } else { "already there" });
    Ok(())
}

async fn account(ledger: &DynamoLedger, command: AccountCommand) -> Outcome {
    match command {
        AccountCommand::Create { login, credits, sender, timezone } => {
            if login.is_empty() || login.contains('|') || login.chars().any(char::is_whitespace) {
                return Err("a login may not be empty nor hold '|' or spaces".into());
            }
            let sender = sender.map(|s| SenderId::parse(&s).map_err(|r| r.status_text)).transpose()?;
            if let Some(zone) = &timezone {
                parse_timezone(zone).ok_or_else(|| format!("unknown time zone {zone:?}"))?;
            }
            let key = new_api_key();
            let account = Account {
                login: login.clone(),
                key_sha256: ApiKey::new(key.clone()).sha256_hex(),
                credits,
                sender,
                timezone,
                suspended: false,
                created_at: Utc::now(),
            };
            if !ledger.create_account(&account).await.map_err(|e| e.to_string())? {
                return Err(format!("an account {login} already exists"));
            }
            println!("{key}");
            Ok(())
        }
        AccountCommand::Show { login } => {
            let account = ledger.account(&login).await.map_err(|e| e.to_string())?.ok_or_else(|| no_account(&login))?;
            println!("{}", account_json(&account));
            Ok(())
        }
        AccountCommand::RotateKey { login } => {
            let key = new_api_key();
            let hash = AttributeValue::S(ApiKey::new(key.clone()).sha256_hex());
            ledger
                .update_account(&login, "SET key_sha256 = :key", vec![(":key", hash)])
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| no_account(&login))?;
            println!("{key}");
            Ok(())
        }
        AccountCommand::Suspend { login } => set_suspended(ledger, &login, true).await,
        AccountCommand::Resume { login } => set_suspended(ledger, &login, false).await,
    }
}

async fn set_suspended(ledger: &DynamoLedger, login: &str, suspended: bool) -> Outcome {
    ledger
        .update_account(login, "SET suspended = :s", vec![(":s", AttributeValue::Bool(suspended))])
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| no_account(login))?;
    println!("account {login} {}", if suspended { "suspended" } else { "resumed" });
    Ok(())
}

async fn cancel(sdk: &aws_config::SdkConfig, ledger: &DynamoLedger, message_id: &str) -> Outcome {
    let (record, cancelled_now) = ledger
        .cancel(message_id, Utc::now())
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no message {message_id}"))?;
    if let Some(name) = &record.schedule_name {
        let group = std::env::var(vars::SCHEDULE_GROUP).ok().filter(|g| !g.is_empty());
        let group = group.as_deref().unwrap_or(config::DEFAULT_SCHEDULE_GROUP);
        EventBridgeScheduler::new(sdk, group, None, None).delete(name).await.map_err(|e| e.to_string())?;
    }
    match (cancelled_now, record.state) {
        (true, _) => println!("message {message_id} cancelled; {} credits refunded", record.refunded),
        (false, mail2sms::domain::message::MessageState::Cancelled) => {
            println!("message {message_id} was already cancelled")
        }
        (false, state) => return Err(format!("message {message_id} is {state:?}, not scheduled: nothing to cancel")),
    }
    Ok(())
}

fn no_account(login: &str) -> String {
    format!("no account {login}")
}

fn account_json(account: &Account) -> serde_json::Value {
    json!({
        "login": account.login,
        "credits": account.credits,
        "sender": account.sender,
        "timezone": account.timezone,
        "suspended": account.suspended,
        "created_at": account.created_at,
    })
}

/// A message as the operator reads it: everything but the text and the lease.
fn message_json(record: &MessageRecord) -> serde_json::Value {
    let mut value = serde_json::to_value(record).unwrap_or_default();
    if let Some(fields) = value.as_object_mut() {
        for private in ["text", "lease_owner", "lease_until", "expires_at"] {
            fields.remove(private);
        }
    }
    value
}
