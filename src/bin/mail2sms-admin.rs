//! `mail2sms-admin`: the operator's tool. It reads the same environment variables as the
//! function. Data comes out as JSON, confirmations as plain words, errors on stderr with a
//! non-zero exit.

use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{ArgGroup, Args, Parser, Subcommand};
use mail2sms::config::{AdminSettings, vars};
use mail2sms::domain::account::{Account, Receipts};
use mail2sms::domain::message::{Delivery, MessageRecord, RecipientRecord, sortable_time};
use mail2sms::operator::{Bootstrapped, Cancelled, Decision, Operator, Resource, Settled, Settlement, spelled};
use serde_json::{Value, json};

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
    ///
    /// Each message is its record without the SMS text or the lease; each of its recipients is
    /// shown as it stands: `number`, `delivery` (its fate: the furthest of what the sending and
    /// the provider said), `refunded` (its credits went back to the account) and, when known,
    /// `provider_id`, `reason` (why it failed or is in doubt), `changed_at` (when the provider
    /// last said so), `price` (what the provider charged, in US dollars, as it wrote it), the
    /// `sender` it went out under and `resent` (sent once more after a doubt).
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
    /// An account's activity per day, as JSON lines, oldest day first
    ///
    /// One line per day that has messages, days in the account's time zone (else
    /// DEFAULT_TIMEZONE), each an object of:
    ///   date              the day, YYYY-MM-DD
    ///   emails            emails received
    ///   accepted          emails debited: sent, being sent, scheduled, or cancelled since
    ///   rejected          refused emails by status code, e.g. {"104": 2}
    ///   dropped           emails not processed (not an email, spam, virus)
    ///   sms               recipients of the accepted emails (but the cancelled ones)
    ///   parts             their parts: the SMS credits they cost
    ///   delivered         SMS the phones got
    ///   failed            SMS refused, failed or expired
    ///   unknown           SMS in doubt, unconfirmed by the carrier, or never reported by the
    ///                     time their message closed (72 hours after sending)
    ///   open              SMS still on their way: to send, scheduled, or sent and not yet reported
    ///   credits_debited   credits the day's emails cost
    ///   credits_refunded  credits given back for them since
    /// SMS count under their fate as of now: a recent day changes as reports come.
    /// At most 366 days at a time.
    #[command(verbatim_doc_comment)]
    Stats {
        /// The account.
        login: String,
        /// The first day counted, YYYY-MM-DD (default: 29 days before --until, 30 days in all).
        #[arg(long, value_name = "YYYY-MM-DD")]
        since: Option<NaiveDate>,
        /// The last day counted, YYYY-MM-DD (default: today, in the account's time zone).
        #[arg(long, value_name = "YYYY-MM-DD")]
        until: Option<NaiveDate>,
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
        decision: DecisionFlags,
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
struct DecisionFlags {
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
    /// The account as JSON, its cut rules included.
    Show {
        login: String,
    },
    /// Change the account's settings: its cut rules (its bodies are cut at the first line that
    /// begins with one of them, case and accents ignored: a business signature, "Cordialement",
    /// "Best regards") and its delivery receipts.
    #[command(group(ArgGroup::new("changes").required(true).multiple(true).args(["cut_at", "no_cut_at", "receipts"])))]
    Update {
        login: String,
        /// Add a rule (repeatable): 1 to 100 characters on one line.
        #[arg(long = "cut-at", value_name = "TEXT", allow_hyphen_values = true)]
        cut_at: Vec<String>,
        /// Remove a rule (repeatable), written in any case, with or without accents.
        #[arg(long = "no-cut-at", value_name = "TEXT", allow_hyphen_values = true)]
        no_cut_at: Vec<String>,
        /// Delivery receipts by email, once each message's fates are known: none (the default,
        /// as in the manual), failures (only when a recipient was not delivered) or all.
        #[arg(long, value_name = "none|failures|all", value_parser = parse_receipts)]
        receipts: Option<Receipts>,
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

/// What went wrong, in one line: an operator's error, or the command line's own mistake.
type Failure = Box<dyn std::error::Error>;

async fn run(cli: Cli) -> Result<(), Failure> {
    let sdk = aws_config::load_from_env().await;
    let settings = AdminSettings::from_env(&[
        (vars::ACCOUNTS_TABLE, cli.tables.accounts_table),
        (vars::MESSAGES_TABLE, cli.tables.messages_table),
    ])?;
    let operator = Operator::new(&sdk, settings);
    match cli.command {
        Command::Bootstrap => {
            let made = |resource, created| {
                let name = match resource {
                    Resource::Table(name) => format!("table {name}"),
                    Resource::Bucket(bucket) => format!("bucket {bucket}"),
                    Resource::ReplyIdentity(address) => format!("reply identity for {address}"),
                    Resource::ScheduleGroup(group) => format!("schedule group {group}"),
                };
                println!("{name}: {}", if created { "created" } else { "already there" });
            };
            if operator.bootstrap(made).await? == Bootstrapped::Tables {
                println!("(AWS: the bucket, the reply identity and the schedule group come from the SAM template)");
            }
        }
        Command::Account(AccountCommand::Create { login, credits, sender, timezone }) => {
            let key =
                operator.create_account(&login, credits.as_deref(), sender.as_deref(), timezone.as_deref()).await?;
            println!("{}", key.expose());
        }
        Command::Account(AccountCommand::Show { login }) => {
            println!("{}", account_json(&operator.account(&login).await?))
        }
        Command::Account(AccountCommand::Update { login, cut_at, no_cut_at, receipts }) => {
            if let Some(receipts) = receipts {
                let account = operator.set_receipts(&login, receipts).await?;
                println!("account {login}: receipts {}", account.receipts.as_str());
            }
            if !cut_at.is_empty() || !no_cut_at.is_empty() {
                let account = operator.update_cut_rules(&login, &cut_at, &no_cut_at).await?;
                if account.cut_at.is_empty() {
                    println!("account {login}: no cut rule");
                } else {
                    let rules: Vec<String> = account.cut_at.iter().map(|rule| format!("{rule:?}")).collect();
                    println!("account {login}: cut at {}", rules.join(", "));
                }
            }
        }
        Command::Account(AccountCommand::RotateKey { login }) => {
            println!("{}", operator.rotate_key(&login).await?.expose())
        }
        Command::Account(AccountCommand::Suspend { login }) => {
            operator.set_suspended(&login, true).await?;
            println!("account {login} suspended");
        }
        Command::Account(AccountCommand::Resume { login }) => {
            operator.set_suspended(&login, false).await?;
            println!("account {login} resumed");
        }
        Command::Credits(CreditsCommand::Add { login, credits }) => {
            let credited = operator.add_credits(&login, &credits).await?;
            println!("{} credits added to {login}: {} available", credited.added, credited.balance);
        }
        Command::Messages { login, limit, stuck: false } => {
            let login = login.ok_or("give the account's LOGIN (or --stuck, to list every account's stuck messages)")?;
            for record in operator.messages(&login, limit).await? {
                println!("{}", message_json(&record));
            }
        }
        Command::Messages { login, limit, stuck: true } => {
            for record in operator.stuck_messages(login.as_deref(), limit).await? {
                println!("{}", message_json(&record));
            }
        }
        Command::Stats { login, since, until } => {
            for day in operator.stats(&login, since, until).await? {
                println!("{}", json!(day));
            }
        }
        Command::Cancel { message_id } => match operator.cancel(&message_id).await? {
            Cancelled::Now { refunded } => println!("message {message_id} cancelled; {refunded} credits refunded"),
            Cancelled::Already => println!("message {message_id} was already cancelled"),
        },
        Command::Settle { message_id, decision, numbers } => {
            let decision = if decision.resend { Decision::Resend } else { Decision::Refund };
            let Settlement { left_alone, outcome } = operator.settle(&message_id, decision, &numbers).await?;
            for (number, delivery) in left_alone {
                println!("{number} is {}, not in doubt: left as it is", spelled(&delivery));
            }
            match outcome {
                Settled::NothingInDoubt { named, record } => {
                    let among = if named { " among those named" } else { "" };
                    println!("message {message_id}: no recipient in doubt{among}; nothing changed");
                    println!("{}", message_json(&record));
                }
                Settled::Refunded { recipients, credits, login, record } => {
                    println!(
                        "message {message_id}: {recipients} recipient(s) in doubt refunded, {credits} credits back to {login}"
                    );
                    println!("{}", message_json(&record));
                }
                Settled::Resent { recipients, delivery } => {
                    println!("message {message_id}: {recipients} recipient(s) in doubt sent again");
                    print_delivered(&delivery?);
                }
            }
        }
        Command::Resume { message_id } => print_delivered(&operator.resume(&message_id).await?),
    }
    Ok(())
}

/// A delivered message's outcome, then the record.
fn print_delivered(record: &MessageRecord) {
    println!(
        "message {}: {}; {} sent, {} failed, {} in doubt",
        record.message_id,
        spelled(&record.state),
        record.count(Delivery::Sent),
        record.count(Delivery::Failed),
        record.count(Delivery::Unknown)
    );
    println!("{}", message_json(record));
}

fn account_json(account: &Account) -> serde_json::Value {
    json!({
        "login": account.login,
        "credits": account.credits,
        "sender": account.sender,
        "timezone": account.timezone,
        "suspended": account.suspended,
        "created_at": account.created_at,
        "cut_at": account.cut_at,
        "receipts": account.receipts.as_str(),
    })
}

fn parse_receipts(text: &str) -> Result<Receipts, String> {
    Receipts::parse(text).ok_or_else(|| format!("{text:?}: none, failures or all"))
}

/// A message as the operator reads it: everything but the text and the lease, its recipients
/// as they stand.
fn message_json(record: &MessageRecord) -> Value {
    let mut value = serde_json::to_value(record).unwrap_or_default();
    if let Some(fields) = value.as_object_mut() {
        for private in ["text", "lease_owner", "lease_until", "lease_attempt", "expires_at"] {
            fields.remove(private);
        }
        fields.insert("recipients".to_owned(), record.recipients.iter().map(recipient_json).collect());
    }
    value
}

/// A recipient as it stands: its fate and the provider's last word, what is known of it.
fn recipient_json(recipient: &RecipientRecord) -> Value {
    let report = recipient.report.as_ref();
    let mut value = json!({
        "number": recipient.number.e164(),
        "delivery": recipient.fate(),
        "refunded": recipient.was_refunded(),
    });
    let known = [
        ("sender", recipient.sender.as_ref().map(|sender| json!(sender))),
        ("provider_id", recipient.provider_id.as_deref().map(Value::from)),
        ("reason", recipient.reason().map(Value::from)),
        ("changed_at", report.map(|report| Value::from(sortable_time::format(&report.at)))),
        ("price", report.and_then(|report| report.price.as_deref()).map(Value::from)),
        ("resent", recipient.resent.then_some(Value::Bool(true))),
    ];
    if let Some(fields) = value.as_object_mut() {
        fields.extend(known.into_iter().filter_map(|(key, known)| Some((key.to_owned(), known?))));
    }
    value
}
