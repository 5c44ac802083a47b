//! The integration tests' harness: real SDK clients against the local emulator (moto), one
//! set of tables, bucket and addresses per test, and read-backs of what reached the emulator.
//!
//! Run through `make test`, which starts the emulator and sets `AWS_ENDPOINT_URL`.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_config::SdkConfig;
use base64::Engine;
use chrono::{Duration, Utc};
use mail2sms::aws::bootstrap;
use mail2sms::aws::dynamodb::DynamoLedger;
use mail2sms::aws::{AwsGateway, gateway};
use mail2sms::config::Config;
use mail2sms::domain::account::{Account, new_api_key};
use mail2sms::domain::message::MessageRecord;
use mail2sms::domain::request::ApiKey;
use mail2sms::domain::sender::SenderId;
use mail2sms::pipeline::Invocation;
use mail2sms::ports::Ledger;
use mail2sms::tables;
use serde_json::{Value, json};

pub const FUNCTION_ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:mail2sms";
pub const SCHEDULER_ROLE: &str = "arn:aws:iam::123456789012:role/mail2sms-scheduler";

/// One test's world in the emulator. Everything it creates is named after `token`, so tests
/// run side by side and each reads back only its own SMS and replies.
pub struct World {
    pub sdk: SdkConfig,
    pub config: Config,
    pub ledger: DynamoLedger,
    pub token: String,
    endpoint: String,
}

fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL")
        .expect("AWS_ENDPOINT_URL is not set: run the integration tests through `make test`, which starts the emulator")
}

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

fn unique_token() -> String {
    let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    format!("t{}{n}", &new_api_key()[..8])
}

impl World {
    pub async fn new() -> World {
        World::with(|_| {}).await
    }

    /// A world whose configuration `adjust` may change before the gateway is built.
    pub async fn with(adjust: impl FnOnce(&mut Config)) -> World {
        let endpoint = endpoint();
        let token = unique_token();
        let sdk = aws_config::load_from_env().await;
        let names = [
            ("ACCOUNTS_TABLE", format!("{token}-accounts")),
            ("MESSAGES_TABLE", format!("{token}-messages")),
            ("INBOUND_BUCKET", format!("{token}-inbound")),
            ("REPLY_FROM", format!("mail2sms@{token}.example.net")),
            ("SCHEDULE_GROUP", format!("{token}-group")),
            ("SCHEDULER_ROLE_ARN", SCHEDULER_ROLE.to_owned()),
            ("DEFAULT_TIMEZONE", "Europe/Paris".to_owned()),
        ];
        let mut config = Config::from_lookup(|name| names.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()))
            .expect("test configuration");
        adjust(&mut config);
        let ledger = DynamoLedger::new(&sdk, &config.accounts_table, &config.messages_table);
        bootstrap::create_table(ledger.client(), &tables::ACCOUNTS, &config.accounts_table).await.unwrap();
        bootstrap::create_table(ledger.client(), &tables::MESSAGES, &config.messages_table).await.unwrap();
        bootstrap::create_bucket(&sdk, &config.inbound_bucket).await.unwrap();
        bootstrap::create_reply_identity(&sdk, &config.reply_from).await.unwrap();
        bootstrap::create_schedule_group(&sdk, &config.schedule_group).await.unwrap();
        World { sdk, config, ledger, token, endpoint }
    }

    pub fn gateway(&self) -> AwsGateway {
        gateway(&self.config, &self.sdk)
    }

    /// Creates an account and returns its API key.
    pub async fn account(&self, login: &str, credits: u64) -> String {
        self.account_with(login, credits, None, None).await
    }

    pub async fn account_with(
        &self,
        login: &str,
        credits: u64,
        sender: Option<&str>,
        timezone: Option<&str>,
    ) -> String {
        let key = new_api_key();
        let account = Account {
            login: login.to_owned(),
            key_sha256: ApiKey::new(key.clone()).sha256_hex(),
            credits,
            sender: sender.map(|s| SenderId::parse(s).unwrap()),
            timezone: timezone.map(str::to_owned),
            suspended: false,
            created_at: Utc::now(),
        };
        assert!(self.ledger.create_account(&account).await.unwrap());
        key
    }

    pub async fn credits(&self, login: &str) -> u64 {
        self.ledger.account(login).await.unwrap().expect("account").credits
    }

    pub async fn record(&self, message_id: &str) -> MessageRecord {
        self.ledger.load(message_id).await.unwrap().expect("message record")
    }

    /// The customer's address in this world: replies to it are this test's.
    pub fn customer(&self) -> String {
        format!("shop@{}.example.com", self.token)
    }

    /// Stores a raw email as SES would and returns its message id.
    pub async fn receive(&self, raw: &[u8]) -> String {
        let message_id = format!("{}{}", self.token, &new_api_key()[..16]);
        self.store(&message_id, raw).await;
        message_id
    }

    pub async fn store(&self, message_id: &str, raw: &[u8]) {
        let s3 =
            aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&self.sdk).force_path_style(true).build());
        s3.put_object()
            .bucket(&self.config.inbound_bucket)
            .key(format!("{}{message_id}", self.config.inbound_prefix))
            .body(raw.to_vec().into())
            .send()
            .await
            .unwrap();
    }

    /// The SES receipt-rule event for a stored email (verdicts all PASS, as in the sample).
    pub fn ses_event(&self, message_id: &str) -> Value {
        let mut event: Value = serde_json::from_str(include_str!("../../events/ses-event.json")).unwrap();
        event["Records"][0]["ses"]["mail"]["messageId"] = json!(message_id);
        event
    }

    pub fn s3_event(&self, message_id: &str) -> Value {
        let mut event: Value = serde_json::from_str(include_str!("../../events/s3-event.json")).unwrap();
        event["Records"][0]["s3"]["bucket"]["name"] = json!(self.config.inbound_bucket);
        event["Records"][0]["s3"]["object"]["key"] = json!(format!("{}{message_id}", self.config.inbound_prefix));
        event
    }

    pub fn invocation(&self) -> Invocation {
        Invocation {
            request_id: new_api_key(),
            deadline: Utc::now() + Duration::seconds(60),
            function_arn: FUNCTION_ARN.to_owned(),
        }
    }

    /// An email from this world's customer.
    pub fn email(&self, subject: &str, body: &str) -> Vec<u8> {
        email(&self.customer(), subject, body)
    }

    /// Every SMS published to SNS whose text holds this world's token.
    pub fn sms(&self) -> Vec<PublishedSms> {
        recorded(&self.endpoint)
            .into_iter()
            .filter_map(|entry| PublishedSms::from_recorded(&entry))
            .filter(|sms| sms.message.contains(&self.token))
            .collect()
    }

    /// Every reply SES v2 was asked to send to this world's addresses.
    pub fn replies(&self) -> Vec<Reply> {
        recorded(&self.endpoint)
            .into_iter()
            .filter(|entry| entry["url"].as_str().unwrap_or_default().contains("/v2/email/outbound-emails"))
            .filter_map(|entry| serde_json::from_str::<Value>(&body_text(&entry)).ok())
            .filter(|body| body["Destination"].to_string().contains(&self.token))
            .map(|body| {
                let data = body["Content"]["Raw"]["Data"].as_str().unwrap_or_default();
                Reply::read(&base64::engine::general_purpose::STANDARD.decode(data).unwrap_or_default())
            })
            .collect()
    }
}

/// An error reply as its reader sees it: the raw message, and its subject and text decoded.
#[derive(Debug, Clone)]
pub struct Reply {
    pub raw: String,
    pub subject: String,
    pub text: String,
}

impl Reply {
    fn read(raw: &[u8]) -> Reply {
        let message = mail_parser::MessageParser::default().parse(raw).expect("a reply is an email");
        Reply {
            raw: String::from_utf8_lossy(raw).into_owned(),
            subject: message.subject().unwrap_or_default().to_owned(),
            text: message.body_text(0).unwrap_or_default().into_owned(),
        }
    }

    /// Whether `needle` shows anywhere, raw or decoded.
    pub fn contains(&self, needle: &str) -> bool {
        self.raw.contains(needle) || self.subject.contains(needle) || self.text.contains(needle)
    }
}

/// A plain-text email as a mail client writes it.
pub fn email(from: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Boutique <{from}>\r\nTo: mail2sms@sms.example.com\r\nSubject: {subject}\r\n\
         Message-ID: <{}@mail.example.com>\r\nDate: Wed, 25 Nov 2026 10:12:40 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
        &new_api_key()[..12]
    )
    .into_bytes()
}

/// An SMS as it reached SNS.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedSms {
    pub phone_number: String,
    pub message: String,
    pub sender_id: Option<String>,
    pub sms_type: Option<String>,
}

impl PublishedSms {
    fn from_recorded(entry: &Value) -> Option<PublishedSms> {
        let body = body_text(entry);
        let fields: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
        let get = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        if get("Action").as_deref() != Some("Publish") {
            return None;
        }
        let attribute = |wanted: &str| {
            (1..=10).find_map(|i| {
                (get(&format!("MessageAttributes.entry.{i}.Name")).as_deref() == Some(wanted))
                    .then(|| get(&format!("MessageAttributes.entry.{i}.Value.StringValue")))
                    .flatten()
            })
        };
        Some(PublishedSms {
            phone_number: get("PhoneNumber")?,
            message: get("Message")?,
            sender_id: attribute("AWS.SNS.SMS.SenderID"),
            sms_type: attribute("AWS.SNS.SMS.SMSType"),
        })
    }
}

fn body_text(entry: &Value) -> String {
    let body = entry["body"].as_str().unwrap_or_default();
    if entry["body_encoded"].as_bool().unwrap_or(false) {
        String::from_utf8_lossy(&base64::engine::general_purpose::STANDARD.decode(body).unwrap_or_default())
            .into_owned()
    } else {
        body.to_owned()
    }
}

/// The emulator's recording of every request it served.
fn recorded(endpoint: &str) -> Vec<Value> {
    http_get(endpoint, "/moto-api/recorder/download-recording")
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// A GET on the emulator, with nothing but the standard library.
pub fn http_get(endpoint: &str, path: &str) -> String {
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(host).expect("emulator reachable");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default()
}
