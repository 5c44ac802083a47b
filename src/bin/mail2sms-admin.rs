//! `mail2sms-admin`: the operator's tool. It reads the same environment variables as the
//! function. Data comes out as JSON, confirmations as plain words, errors on stderr with a
//! non-zero exit.

use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{ArgGroup, Args, Parser, Subcommand};
use mail2sms::config::{AdminSettings, vars};
use mail2sms::domain::account::{Account, Receipts};
use mail2sms::domain::message::{Delivery, MessageRecord, RecipientRecord, sortable_time};
use mail2sms::operator::{
    Bootstrapped, Cancelled, Decision, Operator, OptOutsChanged, Resource, Settled, Settlement, spelled,
};
use mail2sms::plural::{count, english};
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
    #[arg(long, env = vars::OPT_OUTS_TABLE, global = true, hide_env_values = true)]
    opt_outs_table: Option<String>,
    #[arg(long, env = vars::CONTACT_LISTS_TABLE, global = true, hide_env_values = true)]
    contact_lists_table: Option<String>,
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
    /// Numbers that must not be texted: an account's opt-out list, or the gateway's own
    /// (--gateway: numbers that answered STOP or that the provider reported opted out, skipped
    /// for every account). An email's numbers on either list are never sent nor charged.
    #[command(subcommand)]
    Optout(OptoutCommand),
    /// Contact lists: numbers an account keeps under a name, that its emails name in their
    /// subject (`0612345678;#clients`) instead of typing them. A name is 1 to 32 letters a-z,
    /// digits, `_` or `-`, in any case (kept in lowercase); a list holds at most as many numbers
    /// as an email may have recipients, an account at most 100 lists.
    #[command(subcommand)]
    List(ListCommand),
    /// An account's messages as JSON lines, newest first (or, with --stuck, those stuck).
    ///
    /// Each message is its record without the SMS text or the lease; each of its recipients is
    /// shown as it stands: `number`, `delivery` (its fate: the furthest of what the sending and
    /// the provider said; `opted_out` when it was on an opt-out list: never sent, never
    /// charged), `refunded` (its credits went back to the account) and, when known,
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
    ///   opted_out         recipients left out because they were on an opt-out list (not in sms)
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
    /// "Best regards"), its delivery receipts, the French marketing hours, its credit alerts, and
    /// what proves that an email comes from it (its mode and its allowed senders).
    #[command(group(ArgGroup::new("changes").required(true).multiple(true).args(["cut_at", "no_cut_at", "receipts", "auth", "allow", "disallow"]).args(HOURS_AND_ALERTS)))]
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
        /// What proves that an email comes from the account: key (the default, as in the
        /// manual: the API key in the subject), key+sender (the key and an authenticated
        /// allowed sender: a leaked key alone is worthless) or sender (an authenticated allowed
        /// sender; the subject may then omit `login@apiKey`).
        #[arg(long, value_name = "key|key+sender|sender", value_parser = parse_auth)]
        auth: Option<mail2sms::domain::account::AuthMode>,
        /// Allow a sender (repeatable): an address (shop@example.com) or a whole domain
        /// (@example.com), belonging to this account only.
        #[arg(long, value_name = "ADDRESS|@DOMAIN")]
        allow: Vec<String>,
        /// Take an allowed sender away (repeatable).
        #[arg(long, value_name = "ADDRESS|@DOMAIN")]
        disallow: Vec<String>,
        #[command(flatten)]
        hours_and_alerts: HoursAndAlerts,
    },
    // ----- The customer space (issue #12) -----
    /// Set the account's password for the customer space, read from standard input (its first
    /// line, 10 to 128 characters); the login's sessions end (with WEB_TABLE set).
    Password {
        login: String,
    },
    /// Make a one-time link (24 hours) for the customer to choose its password; prints it and,
    /// with --email, sends it by SES from REPLY_FROM. Needs WEB_TABLE.
    Invite {
        login: String,
        /// Where to send the link.
        #[arg(long, value_name = "ADDRESS")]
        email: Option<String>,
        /// The customer space's address (the stack's CustomerSpaceUrl output).
        #[arg(long, env = "CUSTOMER_SPACE_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
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
        (vars::OPT_OUTS_TABLE, cli.tables.opt_outs_table),
        (vars::CONTACT_LISTS_TABLE, cli.tables.contact_lists_table),
    ])?;
    // The customer space (issue #12) writes passwords to the accounts table.
    let accounts_table = settings.accounts_table.clone();
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
            // The customer space's table (issue #12), when WEB_TABLE names it.
            if let Some((table, created)) = mail2sms::web::admin::bootstrap(&sdk).await? {
                println!("table {table}: {}", if created { "created" } else { "already there" });
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
        Command::Account(AccountCommand::Update {
            login,
            cut_at,
            no_cut_at,
            receipts,
            hours_and_alerts,
            auth,
            allow,
            disallow,
        }) => {
            // First: a sender another account has refuses the whole command before anything changes.
            if auth.is_some() || !allow.is_empty() || !disallow.is_empty() {
                let account = operator.update_senders(&login, auth, &allow, &disallow).await?;
                let senders = if account.allowed_senders.is_empty() {
                    "no allowed sender".to_owned()
                } else {
                    format!("allowed senders {}", account.allowed_senders.join(", "))
                };
                println!("account {login}: auth {}; {senders}", account.auth.as_str());
            }
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
            update_hours_and_alerts(&operator, &login, hours_and_alerts).await?;
        }
        Command::Account(AccountCommand::Password { login }) => {
            let mut typed = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut typed)?;
            mail2sms::web::admin::set_password(&sdk, &accounts_table, &login, &typed).await?;
            println!("account {login}: password set");
        }
        Command::Account(AccountCommand::Invite { login, email, url }) => {
            let reply_from = std::env::var(vars::REPLY_FROM).ok().filter(|from| !from.trim().is_empty());
            let email = match (&email, &reply_from) {
                (Some(to), Some(from)) => Some((to.as_str(), from.as_str())),
                (Some(_), None) => return Err("--email needs REPLY_FROM, the address invitations come from".into()),
                (None, _) => None,
            };
            let link = mail2sms::web::admin::invite(&sdk, &accounts_table, &login, &url, email).await?;
            println!("{link}");
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
        Command::Optout(command) => optout(&operator, command).await?,
        Command::List(command) => list(&operator, command).await?,
        Command::Credits(CreditsCommand::Add { login, credits }) => {
            let credited = operator.add_credits(&login, &credits).await?;
            println!("{} credits added to {login}: {} available", credited.added, credited.balance);
            // The customer space's statements show it (issue #12).
            if let Err(problem) =
                mail2sms::web::admin::record_credit(&sdk, &accounts_table, &login, credited.added).await
            {
                eprintln!("mail2sms-admin: the credits were added, but not recorded for the statements: {problem}");
            }
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
                        "message {message_id}: {} in doubt refunded, {} back to {login}",
                        english(count(recipients), ("recipient", "recipients")),
                        english(credits, ("credit", "credits"))
                    );
                    println!("{}", message_json(&record));
                }
                Settled::Resent { recipients, delivery } => {
                    println!(
                        "message {message_id}: {} in doubt sent again",
                        english(count(recipients), ("recipient", "recipients"))
                    );
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
        "auth": account.auth.as_str(),
        "allowed_senders": account.allowed_senders,
        "marketing_hours": on_off(!account.ignore_marketing_hours),
        "low_credit": account.low_credit,
        "contact": account.contact,
        "low_credit_alerted": account.low_credit_alerted,
    })
}

// ----- marketing hours and credit alerts -----

/// The options of `account update` below, in its "changes" group.
const HOURS_AND_ALERTS: [&str; 5] = ["marketing_hours", "low_credit", "no_low_credit", "contact", "no_contact"];

/// `account update`'s options for the French marketing hours and the credit alerts.
#[derive(Args)]
struct HoursAndAlerts {
    /// Hold commercial messages (ending with "STOP au 36180") to French numbers to the French
    /// marketing hours, Monday to Saturday 08:00-20:00 Paris time but public holidays: on (the
    /// default) or off (the customer takes the responsibility).
    #[arg(long = "marketing-hours", value_name = "on|off", value_parser = parse_on_off)]
    marketing_hours: Option<bool>,
    /// Tell the contact once when a debit leaves fewer than N credits (1 to 1000000000); again
    /// only after `credits add` brings the balance back to N or more. Default: no threshold.
    #[arg(long = "low-credit", value_name = "N", allow_hyphen_values = true, conflicts_with = "no_low_credit")]
    low_credit: Option<String>,
    /// Remove the low-credit threshold.
    #[arg(long = "no-low-credit")]
    no_low_credit: bool,
    /// Where credit alerts go: the low-credit alert, and a 104 (insufficient credits), told at
    /// most once a day. One plain address, local@domain. Default: none, no alert.
    #[arg(long, value_name = "EMAIL", conflicts_with = "no_contact")]
    contact: Option<String>,
    /// Remove the contact: no credit alert at all.
    #[arg(long = "no-contact")]
    no_contact: bool,
}

/// Applies `account update`'s marketing-hours and credit-alert options, each confirmed on a line.
async fn update_hours_and_alerts(operator: &Operator, login: &str, change: HoursAndAlerts) -> Result<(), Failure> {
    if let Some(hold) = change.marketing_hours {
        operator.set_marketing_hours(login, hold).await?;
        println!("account {login}: marketing hours {}", on_off(hold));
    }
    if change.contact.is_some() || change.no_contact {
        let account = operator.set_contact(login, change.contact.as_deref()).await?;
        match &account.contact {
            Some(contact) => println!("account {login}: credit alerts to {contact}"),
            None => println!("account {login}: no contact, no credit alert"),
        }
    }
    if change.low_credit.is_some() || change.no_low_credit {
        let account = operator.set_low_credit(login, change.low_credit.as_deref()).await?;
        match (account.low_credit, &account.contact) {
            (Some(threshold), Some(_)) => println!("account {login}: low-credit alert below {threshold} credits"),
            (Some(threshold), None) => println!(
                "account {login}: low-credit alert below {threshold} credits (no contact yet: none is sent until --contact)"
            ),
            (None, _) => println!("account {login}: no low-credit alert"),
        }
    }
    Ok(())
}

fn parse_on_off(text: &str) -> Result<bool, String> {
    match text {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("{text:?}: on or off")),
    }
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

fn parse_receipts(text: &str) -> Result<Receipts, String> {
    Receipts::parse(text).ok_or_else(|| format!("{text:?}: none, failures or all"))
}

fn parse_auth(text: &str) -> Result<mail2sms::domain::account::AuthMode, String> {
    mail2sms::domain::account::AuthMode::parse(text).ok_or_else(|| format!("{text:?}: key, key+sender or sender"))
}

/// A message as the operator reads it: everything but the text and the lease, its recipients
/// as they stand.
fn message_json(record: &MessageRecord) -> Value {
    let mut value = serde_json::to_value(record).unwrap_or_default();
    if let Some(fields) = value.as_object_mut() {
        for private in ["text", "lease_owner", "lease_until", "lease_attempt", "expires_at"] {
            fields.remove(private);
        }
        let closed = record.is_closed(chrono::Utc::now());
        let recipients = record.recipients.iter().map(|recipient| recipient_json(recipient, closed)).collect();
        fields.insert("recipients".to_owned(), recipients);
    }
    value
}

/// A recipient as it stands: its fate (unknown if still open once its message is `closed`) and
/// the provider's last word, what is known of it.
fn recipient_json(recipient: &RecipientRecord, closed: bool) -> Value {
    let report = recipient.report.as_ref();
    let mut value = json!({
        "number": recipient.number.e164(),
        "delivery": recipient.told_fate(closed),
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

// ----- opt-outs -----

#[derive(Subcommand)]
enum OptoutCommand {
    /// Put numbers on the list, each in any form a subject accepts (06 12 34 56 78,
    /// +33612345678, 0033…); those already there stay as they were. A typed item that is not a
    /// number to text refuses them all.
    #[command(
        override_usage = "mail2sms-admin optout add LOGIN NUMBER...\n       mail2sms-admin optout add --gateway NUMBER..."
    )]
    Add {
        /// The gateway's list instead of an account's: then every argument is a number.
        #[arg(long)]
        gateway: bool,
        /// LOGIN then the numbers (the numbers alone with --gateway).
        #[arg(value_name = "LOGIN|NUMBER", required = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Take numbers off the list.
    #[command(
        override_usage = "mail2sms-admin optout remove LOGIN NUMBER...\n       mail2sms-admin optout remove --gateway NUMBER..."
    )]
    Remove {
        /// The gateway's list instead of an account's: then every argument is a number.
        #[arg(long)]
        gateway: bool,
        /// LOGIN then the numbers (the numbers alone with --gateway).
        #[arg(value_name = "LOGIN|NUMBER", required = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The list as JSON lines, by number: `number` (E.164), `source` (operator, import,
    /// provider or customer), `added_at` and, for a provider's, `provider`.
    List {
        #[command(flatten)]
        list: ListChoice,
    },
    /// Put the numbers of a CSV file on the list: one number per line, or numbers in the first
    /// column (`,`, `;` or tab between columns), a header line allowed. Prints each line
    /// refused and why, then how many numbers were added.
    #[command(
        override_usage = "mail2sms-admin optout import LOGIN FILE\n       mail2sms-admin optout import --gateway FILE"
    )]
    Import {
        /// The gateway's list instead of an account's.
        #[arg(long)]
        gateway: bool,
        /// LOGIN then the file (the file alone with --gateway).
        #[arg(value_name = "LOGIN|FILE", required = true, num_args = 1..=2)]
        args: Vec<String>,
    },
}

/// An account's list, or the gateway's.
#[derive(Args)]
#[group(required = true, multiple = false)]
struct ListChoice {
    /// The account whose list it is.
    login: Option<String>,
    /// The gateway's own list.
    #[arg(long)]
    gateway: bool,
}

/// Splits an `optout` command's arguments: the login first unless `gateway`, then the rest.
fn login_then(gateway: bool, mut args: Vec<String>, rest: &str) -> Result<(Option<String>, Vec<String>), Failure> {
    if gateway {
        return Ok((None, args));
    }
    if args.len() < 2 {
        return Err(format!("give the account's LOGIN then {rest} (or --gateway then {rest})").into());
    }
    let login = args.remove(0);
    Ok((Some(login), args))
}

async fn optout(operator: &Operator, command: OptoutCommand) -> Result<(), Failure> {
    match command {
        OptoutCommand::Add { gateway, args } => {
            let (login, numbers) = login_then(gateway, args, "the numbers")?;
            let list = operator.opt_out_list(login.as_deref()).await?;
            let added = operator.add_opt_outs(&list, &numbers).await?;
            print_changed(&added, "added", "already on it");
        }
        OptoutCommand::Remove { gateway, args } => {
            let (login, numbers) = login_then(gateway, args, "the numbers")?;
            let list = operator.opt_out_list(login.as_deref()).await?;
            let removed = operator.remove_opt_outs(&list, &numbers).await?;
            print_changed(&removed, "removed", "was not on it");
        }
        OptoutCommand::List { list } => {
            let list = operator.opt_out_list(list.login.as_deref().filter(|_| !list.gateway)).await?;
            for entry in operator.opt_outs(&list).await? {
                let mut line = json!({
                    "number": entry.number.e164(),
                    "source": entry.source,
                    "added_at": sortable_time::format(&entry.added_at),
                });
                if let Some(provider) = entry.provider {
                    line["provider"] = Value::from(provider);
                }
                println!("{line}");
            }
        }
        OptoutCommand::Import { gateway, args } => {
            let (login, file) = login_then(gateway, args, "the FILE")?;
            let [file] = file.as_slice() else { return Err("give one FILE".into()) };
            let list = operator.opt_out_list(login.as_deref()).await?;
            let imported = operator.import_opt_outs(&list, std::path::Path::new(file)).await?;
            for line in imported.rejected_lines() {
                println!("{line}");
            }
            println!("{}", imported.summary());
        }
    }
    Ok(())
}

/// What `optout add` or `remove` did: each number, then the sum.
fn print_changed(changed: &OptOutsChanged, done: &str, left: &str) {
    for number in &changed.changed {
        println!("{number}: {done}");
    }
    for number in &changed.unchanged {
        println!("{number}: {left}");
    }
    println!("{}", changed.summary(done, left));
}

// ----- contact lists -----

#[derive(Subcommand)]
enum ListCommand {
    /// Make the numbers of a CSV file the account's list NAME, created or replaced whole: one
    /// number per line, or numbers in the first column (`,`, `;` or tab between columns), a
    /// header line allowed, each read as a subject's numbers are. Prints each line refused and
    /// why (not a number to text, or the same number as an earlier line), then how many numbers
    /// the list keeps. A file without a number to text, or with too many, changes nothing.
    Import {
        login: String,
        /// The list's name, with or without its `#`.
        name: String,
        file: std::path::PathBuf,
    },
    /// Without NAME, the account's lists as JSON lines, by name: `name`, `count` (its numbers)
    /// and `imported_at`. With NAME, that list as one JSON object, its `numbers` (E.164) in the
    /// order imported.
    Show { login: String, name: Option<String> },
    /// Delete the account's list NAME: emails naming it are refused (109) from then on.
    Delete { login: String, name: String },
}

async fn list(operator: &Operator, command: ListCommand) -> Result<(), Failure> {
    let head = |summary: &mail2sms::domain::contact_list::ListSummary| {
        json!({
            "name": summary.name.as_str(),
            "count": summary.count,
            "imported_at": sortable_time::format(&summary.imported_at),
        })
    };
    match command {
        ListCommand::Import { login, name, file } => {
            let imported = operator.import_list(&login, &name, &file).await?;
            for line in imported.rejected_lines() {
                println!("{line}");
            }
            println!("{}", imported.summary());
        }
        ListCommand::Show { login, name: None } => {
            for summary in operator.lists(&login).await? {
                println!("{}", head(&summary));
            }
        }
        ListCommand::Show { login, name: Some(name) } => {
            let (summary, numbers) = operator.list(&login, &name).await?;
            let mut shown = head(&summary);
            shown["numbers"] = numbers.iter().map(|number| number.e164()).collect();
            println!("{shown}");
        }
        ListCommand::Delete { login, name } => {
            let deleted = operator.delete_list(&login, &name).await?;
            println!(
                "{login}'s list {} deleted ({})",
                deleted.name,
                english(count(deleted.count), ("number", "numbers"))
            );
        }
    }
    Ok(())
}
