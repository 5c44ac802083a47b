//! `mail2sms-admin`: the operator's tool. It reads the same environment variables as the
//! function. Data comes out as JSON, confirmations as plain words, errors on stderr with a
//! non-zero exit.

use std::process::ExitCode;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use clap::{Args, Parser, Subcommand};
use mail2sms::aws::bootstrap;
use mail2sms::aws::dynamodb::DynamoLedger;
use mail2sms::aws::scheduler::EventBridgeScheduler;
use mail2sms::config::{self, Config, vars};
use mail2sms::domain::account::{
    Account, CreditsAdded, MAX_CREDITS, MAX_LOGIN_BYTES, credit_amount, is_possible_login, new_api_key,
};
use mail2sms::domain::date::parse_timezone;
use mail2sms::domain::message::{Delivery, MessageRecord, MessageState};
use mail2sms::domain::recipient::parse_recipients;
use mail2sms::domain::request::ApiKey;
use mail2sms::domain::sender::SenderId;
use mail2sms::pipeline::Invocation;
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
    /// An account's messages as JSON lines, newest first (or, with --stuck, those stuck).
    Messages {
        /// The account (optional with --stuck).
        login: Option<String>,
        /// At most this many (default: 20; with --stuck, all).
        #[arg(long)]
        limit: Option<i32>,
        /// Only messages stuck in `accepted` past their lease (or with none): the invocation
        /// sending them died and nobody retries them; `resume` finishes them. Without LOGIN,
        /// every account's: a Scan of the whole messages table.
        #[arg(long)]
        stuck: bool,
    },
    /// Cancel a scheduled message: delete its schedule, refund its credits.
    Cancel { message_id: String },
    /// Send again or refund a message's recipients in doubt.
    ///
    /// A recipient in doubt (`unknown`) may or may not have had its SMS: the gateway never
    /// decides alone. Prints what was done, then the record as JSON; running it again finds
    /// nothing in doubt and changes nothing.
    Settle {
        message_id: String,
        #[command(flatten)]
        decision: Decision,
        /// The recipients to settle, written as in a subject (`06 12 34 56 78`, `+33612345678`…);
        /// every recipient in doubt when none is given.
        numbers: Vec<String>,
    },
    /// Finish a message stuck in `accepted` past its lease.
    ///
    /// As a redrive of its event would: its pending recipients are sent under a lease of this
    /// command's, those in doubt are left for `settle`. Prints the outcome, then the record.
    Resume { message_id: String },
}

/// What `settle` does with the recipients in doubt.
#[derive(Args)]
#[group(required = true, multiple = false)]
struct Decision {
    /// Send them again (only while the message still has its text: until it is settled).
    #[arg(long)]
    resend: bool,
    /// Mark them failed and give their credits back to the account.
    #[arg(long)]
    refund: bool,
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Create an account; prints its new API key, shown only this once.
    Create {
        /// 1 to 64 ASCII letters, digits, `.`, `_`, `-`, `@` or `+` (it may be an email address).
        login: String,
        /// Credits to start with, 1 to 1000000000 (default: none).
        #[arg(long, allow_hyphen_values = true)]
        credits: Option<String>,
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
    /// Add N credits to the account: 1 to 1000000000, and never past a balance of 1000000000.
    Add {
        login: String,
        #[arg(allow_hyphen_values = true)]
        credits: String,
    },
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
    let tables = Tables { accounts, messages };
    match cli.command {
        Command::Bootstrap => bootstrap_all(&sdk, &ledger, &tables.accounts, &tables.messages).await,
        Command::Account(command) => account(&ledger, command).await,
        Command::Credits(CreditsCommand::Add { login, credits }) => add_credits(&ledger, &login, &credits).await,
        Command::Messages { login, limit, stuck: false } => {
            let login = login.ok_or("give the account's LOGIN (or --stuck, to list every account's stuck messages)")?;
            for record in ledger.messages_of(&login, limit.unwrap_or(20).max(1)).await.map_err(|e| e.to_string())? {
                println!("{}", message_json(&record));
            }
            Ok(())
        }
        Command::Messages { login, limit, stuck: true } => {
            let stuck = ledger.stuck_messages(login.as_deref(), Utc::now()).await.map_err(|e| e.to_string())?;
            let limit = limit.map_or(usize::MAX, |limit| usize::try_from(limit.max(1)).unwrap_or(1));
            for record in stuck.iter().take(limit) {
                println!("{}", message_json(record));
            }
            Ok(())
        }
        Command::Cancel { message_id } => cancel(&sdk, &ledger, &message_id).await,
        Command::Settle { message_id, decision, numbers } => {
            settle(&sdk, &ledger, &tables, &message_id, decision.resend, &numbers).await
        }
        Command::Resume { message_id } => resume(&sdk, &ledger, &tables, &message_id).await,
    }
}

/// The tables the command works on, as given on the command line or in the environment.
struct Tables {
    accounts: String,
    messages: String,
}

/// What a settled recipient's `error` says the operator did.
const REFUNDED_NOTE: &str = "refunded by the operator";
const RESENT_NOTE: &str = "resent by the operator";

/// How long the operator's own delivery may hold a message (as a Lambda invocation would).
const DELIVERY_DEADLINE_SECONDS: i64 = 60;

async fn add_credits(ledger: &DynamoLedger, login: &str, typed: &str) -> Outcome {
    let credits = credit_amount(typed).map_err(|e| e.to_string())?;
    match ledger.add_credits(login, credits).await.map_err(|e| e.to_string())? {
        CreditsAdded::Added(account) => {
            println!("{credits} credits added to {login}: {} available", account.credits);
            Ok(())
        }
        CreditsAdded::OverMaximum { balance } => Err(format!(
            "{credits} credits not added to {login}: its balance, {balance}, may not pass {MAX_CREDITS} \
             (at most {} more); nothing changed",
            MAX_CREDITS.saturating_sub(balance)
        )),
        CreditsAdded::NoAccount => Err(no_account(login)),
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
            if !is_possible_login(&login) {
                return Err(format!(
                    "a login is 1 to {MAX_LOGIN_BYTES} ASCII letters, digits, '.', '_', '-', '@' or '+'; \
                     {} is not one",
                    printable(&login)
                ));
            }
            let credits = credits.as_deref().map(credit_amount).transpose().map_err(|e| e.to_string())?.unwrap_or(0);
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

/// Settles the message's recipients in doubt (those named, or all): `resend` puts them back to
/// `pending` and delivers the message; otherwise they are refunded.
async fn settle(
    sdk: &aws_config::SdkConfig,
    ledger: &DynamoLedger,
    tables: &Tables,
    message_id: &str,
    resend: bool,
    numbers: &[String],
) -> Outcome {
    let record = load(ledger, message_id).await?;
    let chosen = in_doubt(&record, numbers)?;
    if chosen.is_empty() {
        let among = if numbers.is_empty() { "" } else { " among those named" };
        println!("message {message_id}: no recipient in doubt{among}; nothing changed");
        println!("{}", message_json(&record));
        return Ok(());
    }
    if !resend {
        if !ledger.refund_in_doubt(&record, &chosen, REFUNDED_NOTE).await.map_err(|e| e.to_string())? {
            return Err(changed_meanwhile(message_id));
        }
        let credits = u64::from(record.parts) * chosen.len() as u64;
        let login = record.login.as_deref().unwrap_or_default();
        println!(
            "message {message_id}: {} recipient(s) in doubt refunded, {credits} credits back to {login}",
            chosen.len()
        );
        println!("{}", message_json(&load(ledger, message_id).await?));
        return Ok(());
    }
    if record.text.is_none() {
        return Err(format!(
            "message {message_id} no longer has its text (it is {}): it cannot be sent again, only refunded (--refund)",
            state_name(record.state)
        ));
    }
    let now = Utc::now();
    refuse_live_lease(&record, now)?;
    if !ledger.reopen_in_doubt(&record, &chosen, RESENT_NOTE, now).await.map_err(|e| e.to_string())? {
        return Err(changed_meanwhile(message_id));
    }
    println!("message {message_id}: {} recipient(s) in doubt sent again", chosen.len());
    deliver(sdk, ledger, tables, message_id).await
}

/// Finishes a message stuck in `accepted` whose lease has lapsed.
async fn resume(sdk: &aws_config::SdkConfig, ledger: &DynamoLedger, tables: &Tables, message_id: &str) -> Outcome {
    let record = load(ledger, message_id).await?;
    if record.state != MessageState::Accepted {
        return Err(format!("message {message_id} is {}, not accepted: nothing to resume", state_name(record.state)));
    }
    refuse_live_lease(&record, Utc::now())?;
    deliver(sdk, ledger, tables, message_id).await
}

/// The indexes of the recipients to settle: every one in doubt, or those of `numbers` that are
/// (numbers are read as a subject's list; one that is not the message's is refused).
fn in_doubt(record: &MessageRecord, numbers: &[String]) -> Result<Vec<usize>, String> {
    if numbers.is_empty() {
        return Ok((0..record.recipients.len())
            .filter(|&i| record.recipients[i].delivery == Delivery::Unknown)
            .collect());
    }
    let mut chosen = Vec::new();
    for typed in numbers {
        let read = parse_recipients(typed);
        if let Some(dropped) = read.dropped.first() {
            return Err(format!("{:?} is not a phone number a subject accepts", dropped.input));
        }
        if read.valid.is_empty() {
            return Err(format!("{typed:?} holds no phone number"));
        }
        for number in read.valid {
            let Some(index) = record.recipients.iter().position(|r| r.number == number) else {
                return Err(format!("{number} is not a recipient of message {}", record.message_id));
            };
            match record.recipients[index].delivery {
                Delivery::Unknown if !chosen.contains(&index) => chosen.push(index),
                Delivery::Unknown => {}
                delivery => println!("{number} is {}, not in doubt: left as it is", delivery_name(delivery)),
            }
        }
    }
    Ok(chosen)
}

/// Refuses to touch a message another invocation is working on.
fn refuse_live_lease(record: &MessageRecord, now: DateTime<Utc>) -> Outcome {
    match record.lease_until.and_then(|until| DateTime::from_timestamp(until, 0)) {
        Some(until) if until >= now => Err(format!(
            "message {} is held by a live invocation until {} ({} s from now): nothing done; try again after",
            record.message_id,
            until.to_rfc3339(),
            (until - now).num_seconds()
        )),
        _ => Ok(()),
    }
}

/// Delivers what is pending of the message exactly as the function does when its
/// `scheduled_send` event comes (a redrive): the function's gateway, built from the same
/// configuration, under a lease of its own. Prints the outcome, then the record as JSON.
async fn deliver(sdk: &aws_config::SdkConfig, ledger: &DynamoLedger, tables: &Tables, message_id: &str) -> Outcome {
    let mut config = Config::from_env().map_err(|e| format!("{e}: sending needs the function's configuration"))?;
    config.accounts_table.clone_from(&tables.accounts);
    config.messages_table.clone_from(&tables.messages);
    let gateway = mail2sms::aws::gateway(&config, sdk);
    let invocation = Invocation {
        request_id: format!("mail2sms-admin-{}", new_api_key()),
        deadline: Utc::now() + Duration::seconds(DELIVERY_DEADLINE_SECONDS),
        function_arn: "mail2sms-admin".to_owned(),
    };
    let delivered = gateway.handle(json!({ "scheduled_send": message_id }), &invocation).await;
    let record = load(ledger, message_id).await?;
    if let Err(error) = delivered {
        return Err(format!(
            "message {message_id} not finished ({}): {error}; see `messages --stuck`, and `resume` it later",
            state_name(record.state)
        ));
    }
    let count = |delivery| record.count(delivery);
    println!(
        "message {message_id}: {}; {} sent, {} failed, {} in doubt",
        state_name(record.state),
        count(Delivery::Sent),
        count(Delivery::Failed),
        count(Delivery::Unknown)
    );
    println!("{}", message_json(&record));
    Ok(())
}

async fn load(ledger: &DynamoLedger, message_id: &str) -> Result<MessageRecord, String> {
    ledger.load(message_id).await.map_err(|e| e.to_string())?.ok_or_else(|| format!("no message {message_id}"))
}

fn changed_meanwhile(message_id: &str) -> String {
    format!("message {message_id} changed while this ran (another command or invocation): nothing done; run it again")
}

/// A state or a delivery as the records spell it (`partially_failed`).
fn state_name(state: MessageState) -> String {
    serde_json::to_value(state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn delivery_name(delivery: Delivery) -> String {
    serde_json::to_value(delivery).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Operator input quoted back on one line: control characters escaped, cut short.
fn printable(input: &str) -> String {
    let quoted = format!("{:?}", input.chars().take(80).collect::<String>());
    if input.chars().count() > 80 { format!("{quoted}… ({} bytes)", input.len()) } else { quoted }
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
