//! The integration tests' harness: real SDK clients against the local emulator (moto), one
//! set of tables, bucket and addresses per test, and read-backs of what reached the emulator.
//!
//! Run through `make test`, which starts the emulator and sets `AWS_ENDPOINT_URL`.
#![allow(dead_code)]

pub mod faults;
pub mod runtime;

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex, PoisonError};

use aws_config::SdkConfig;
use aws_sdk_s3::config::{Credentials, SharedCredentialsProvider};
use base64::Engine;
use chrono::{Duration, Utc};
use mail2sms::aws::bootstrap;
use mail2sms::aws::dynamodb::DynamoLedger;
use mail2sms::aws::{AwsGateway, gateway};
use mail2sms::config::Config;
use mail2sms::domain::account::{Account, new_api_key};
use mail2sms::domain::message::MessageRecord;
use mail2sms::domain::request::ApiKey;
use mail2sms::pipeline::Invocation;
use mail2sms::ports::Ledger;
use mail2sms::tables;
use serde_json::{Value, json};

pub const FUNCTION_ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:mail2sms";
pub const SCHEDULER_ROLE: &str = "arn:aws:iam::123456789012:role/mail2sms-scheduler";

/// One test's world in the emulator. Everything it creates is named after `token`, and every
/// request its clients make is signed with an access key of its own ([`World::access_key`]),
/// so tests run side by side and each reads back everything its own clients sent, whatever
/// the text.
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

/// The subject of every email stored so far, by message id (ids are unique across worlds): the
/// SES event of an email carries its subject, as SES's does.
static SUBJECTS: LazyLock<Mutex<HashMap<String, Option<String>>>> = LazyLock::new(Mutex::default);

impl World {
    pub async fn new() -> World {
        World::with(|_| {}).await
    }

    /// A world whose configuration `adjust` may change before the gateway is built.
    pub async fn with(adjust: impl FnOnce(&mut Config)) -> World {
        let endpoint = endpoint();
        let token = unique_token();
        // The emulator serves any access key from its one default account; the key tells this
        // world's requests apart in its recording.
        let credentials = Credentials::new(access_key(&token), "testing", None, None, "mail2sms-tests");
        let sdk = aws_config::load_from_env()
            .await
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build();
        let names = [
            ("ACCOUNTS_TABLE", format!("{token}-accounts")),
            ("MESSAGES_TABLE", format!("{token}-messages")),
            ("OPT_OUTS_TABLE", format!("{token}-opt-outs")),
            ("CONTACT_LISTS_TABLE", format!("{token}-contact-lists")),
            ("INBOUND_BUCKET", format!("{token}-inbound")),
            ("REPLY_FROM", format!("mail2sms@{token}.example.net")),
            ("SCHEDULE_GROUP", format!("{token}-group")),
            ("SCHEDULER_ROLE_ARN", SCHEDULER_ROLE.to_owned()),
            ("DEFAULT_TIMEZONE", "Europe/Paris".to_owned()),
        ];
        let mut config = Config::from_lookup(|name| names.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()))
            .expect("test configuration");
        adjust(&mut config);
        let ledger = DynamoLedger::new(&sdk, &config.accounts_table, &config.messages_table, &config.opt_outs_table)
            .with_contact_lists(&config.contact_lists_table);
        bootstrap::create_table(ledger.client(), &tables::ACCOUNTS, &config.accounts_table).await.unwrap();
        bootstrap::create_table(ledger.client(), &tables::MESSAGES, &config.messages_table).await.unwrap();
        bootstrap::create_table(ledger.client(), &tables::OPT_OUTS, &config.opt_outs_table).await.unwrap();
        bootstrap::create_table(ledger.client(), &tables::CONTACT_LISTS, &config.contact_lists_table).await.unwrap();
        if config.parts_queue_url.is_none() {
            config.parts_queue_url =
                Some(bootstrap::create_parts_queue(&sdk, &format!("{token}-parts")).await.unwrap());
        }
        bootstrap::create_bucket(&sdk, &config.inbound_bucket).await.unwrap();
        bootstrap::create_reply_identity(&sdk, &config.reply_from).await.unwrap();
        bootstrap::create_schedule_group(&sdk, &config.schedule_group).await.unwrap();
        World { sdk, config, ledger, token, endpoint }
    }

    /// The access key every request of this world is signed with.
    pub fn access_key(&self) -> String {
        access_key(&self.token)
    }

    /// The SDK credentials a process of this world (the function's binary, mail2sms-admin) takes
    /// from its environment, so that the emulator's recording shows its requests as this world's.
    pub fn credentials_env(&self) -> [(&'static str, String); 2] {
        [("AWS_ACCESS_KEY_ID", self.access_key()), ("AWS_SECRET_ACCESS_KEY", "testing".to_owned())]
    }

    pub fn gateway(&self) -> AwsGateway {
        gateway(&self.config, &self.sdk)
    }

    /// This world's SDK configuration with every call going through `proxy`, and a test's short
    /// timeouts: an attempt without an answer after a second has timed out (and the SDK's retries
    /// start after 20 ms, not a second). `gateway(&world.config, &world.through(&proxy))`.
    pub fn through(&self, proxy: &faults::FaultProxy) -> SdkConfig {
        let second = std::time::Duration::from_secs(1);
        let timeouts = aws_smithy_types::timeout::TimeoutConfig::builder()
            .connect_timeout(second)
            .operation_attempt_timeout(second)
            .build();
        let retries =
            aws_smithy_types::retry::RetryConfig::standard().with_initial_backoff(std::time::Duration::from_millis(20));
        let mut sdk =
            self.sdk.to_builder().endpoint_url(proxy.endpoint()).timeout_config(timeouts).retry_config(retries);
        // Set in code, so that each client takes it over AWS_ENDPOINT_URL (the emulator's).
        sdk.insert_origin("endpoint_url", aws_types::origin::Origin::shared_config());
        sdk.build()
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
        let account = Account::new(login, &ApiKey::new(key.clone()), credits, Utc::now())
            .and_then(|account| account.with_sender(sender))
            .and_then(|account| account.with_timezone(timezone))
            .expect("a test account");
        assert!(self.ledger.create_account(&account).await.unwrap());
        key
    }

    pub async fn credits(&self, login: &str) -> u64 {
        self.ledger.account(login).await.unwrap().expect("account").credits
    }

    /// The schedule `name` of the world's group, as the emulator holds it.
    pub async fn schedule(&self, name: &str) -> aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput {
        let scheduler = aws_sdk_scheduler::Client::new(&self.sdk);
        scheduler.get_schedule().group_name(&self.config.schedule_group).name(name).send().await.unwrap()
    }

    /// The names of the world's schedules.
    pub async fn schedules(&self) -> Vec<String> {
        let scheduler = aws_sdk_scheduler::Client::new(&self.sdk);
        let listed = scheduler.list_schedules().group_name(&self.config.schedule_group).send().await.unwrap();
        listed.schedules().iter().filter_map(|s| s.name().map(str::to_owned)).collect()
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
        SUBJECTS.lock().unwrap().insert(message_id.to_owned(), subject_of(raw));
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

    /// The SES receipt-rule event for a stored email (verdicts all PASS, as in the sample). Like
    /// SES's, it carries the email's subject, API key included.
    pub fn ses_event(&self, message_id: &str) -> Value {
        let subject = SUBJECTS.lock().unwrap().get(message_id).cloned().flatten();
        ses_event(message_id, subject.as_deref())
    }

    /// The SES event for `message_id`, saying `subject` whatever the stored email's is.
    pub fn ses_event_with_subject(&self, message_id: &str, subject: &str) -> Value {
        ses_event(message_id, Some(subject))
    }

    pub fn s3_event(&self, message_id: &str) -> Value {
        let mut event: Value = serde_json::from_str(include_str!("../../../events/s3-event.json")).unwrap();
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

    /// Every request this world's clients made, in the order the emulator served them.
    pub fn requests(&self) -> Vec<Recorded> {
        let mine = recorded_by(&self.endpoint, &self.access_key());
        // At least the setup's (tables, bucket, identity): an empty list means the recording is
        // off or lost, and every "nothing was sent" would pass.
        assert!(!mine.is_empty(), "the emulator recorded no request of this world: is MOTO_ENABLE_RECORDING on?");
        mine
    }

    /// Every SMS this world's clients published to SNS, whatever its text.
    pub fn sms(&self) -> Vec<PublishedSms> {
        self.requests().iter().filter_map(PublishedSms::from_recorded).collect()
    }

    /// Every email this world's clients asked SES v2 to send, whoever it is to.
    pub fn replies(&self) -> Vec<Reply> {
        self.requests().iter().filter_map(Reply::from_recorded).collect()
    }
}

fn access_key(token: &str) -> String {
    format!("AKIA{}", token.to_uppercase())
}

/// The subject of a raw email, decoded, as SES puts it in its event; `None` without one.
fn subject_of(raw: &[u8]) -> Option<String> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").map_or(raw.len(), |at| at + 4);
    let headers = mail_parser::MessageParser::default().parse_headers(&raw[..end])?;
    headers.subject().map(str::to_owned)
}

/// events/ses-event.json for `message_id`, its subject (in `commonHeaders` and in the header
/// list) replaced by `subject`, or removed when the email has none.
/// `mail2sms-admin` with the world's tables, bucket and addresses, as the operator runs it:
/// add the arguments (and any other setting) before running it.
pub fn admin_command(world: &World) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mail2sms-admin"));
    command
        .env("ACCOUNTS_TABLE", &world.config.accounts_table)
        .env("MESSAGES_TABLE", &world.config.messages_table)
        .env("OPT_OUTS_TABLE", &world.config.opt_outs_table)
        .env("CONTACT_LISTS_TABLE", &world.config.contact_lists_table)
        .env("INBOUND_BUCKET", &world.config.inbound_bucket)
        .env("REPLY_FROM", &world.config.reply_from)
        .env("SCHEDULE_GROUP", &world.config.schedule_group)
        .envs(world.credentials_env());
    command
}

/// `mail2sms-admin` run with `args` against the world, to its end.
pub fn admin(world: &World, args: &[&str]) -> Output {
    admin_command(world).args(args).output().expect("mail2sms-admin runs")
}

/// What a command that succeeded printed.
pub fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Why a command failed: on standard error, nothing on standard output.
pub fn stderr(output: &Output) -> String {
    assert!(!output.status.success(), "succeeded: {}", String::from_utf8_lossy(&output.stdout));
    assert!(output.stdout.is_empty(), "printed on stdout: {}", String::from_utf8_lossy(&output.stdout));
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// `account show` of `login`, read.
pub fn show(world: &World, login: &str) -> Value {
    serde_json::from_str(&stdout(&admin(world, &["account", "show", login]))).unwrap()
}

pub fn ses_event(message_id: &str, subject: Option<&str>) -> Value {
    let mut event: Value = serde_json::from_str(include_str!("../../../events/ses-event.json")).unwrap();
    let mail = &mut event["Records"][0]["ses"]["mail"];
    mail["messageId"] = json!(message_id);
    let headers = mail["headers"].as_array_mut().expect("the sample lists its headers");
    let at = headers.iter().position(|h| h["name"] == "Subject").expect("the sample's headers hold its subject");
    match subject {
        Some(subject) => {
            headers[at]["value"] = json!(subject);
            mail["commonHeaders"]["subject"] = json!(subject);
        }
        None => {
            headers.remove(at);
            mail["commonHeaders"].as_object_mut().unwrap().remove("subject");
        }
    }
    event
}

/// An error reply as its reader sees it: the raw message, its subject and text decoded, and the
/// header fields that tie it to the email it answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub raw: String,
    pub subject: String,
    pub text: String,
    /// The address of its `To` field.
    pub to: Option<String>,
    /// `In-Reply-To` and `Auto-Submitted` as written (angle brackets included).
    pub in_reply_to: Option<String>,
    pub auto_submitted: Option<String>,
}

impl Reply {
    /// The reply a recorded SES v2 SendEmail carries; `None` for any other request. A SendEmail
    /// that cannot be read fails the test: it must not vanish from the list.
    fn from_recorded(request: &Recorded) -> Option<Reply> {
        if request.service() != Some("ses") {
            return None;
        }
        assert!(request.url.contains("/v2/"), "an SES v1 request, which replies() cannot read: {}", request.url);
        if !request.url.contains("/v2/email/outbound-emails") {
            return None;
        }
        let body: Value = serde_json::from_str(&request.body_text())
            .unwrap_or_else(|e| panic!("a SendEmail whose body is not JSON ({e}): {}", request.body_text()));
        let data = body["Content"]["Raw"]["Data"]
            .as_str()
            .unwrap_or_else(|| panic!("a SendEmail without Content.Raw.Data: {body}"));
        let raw = base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap_or_else(|e| panic!("a SendEmail whose Raw.Data is not base64 ({e}): {data}"));
        Some(Reply::read(&raw))
    }

    fn read(raw: &[u8]) -> Reply {
        let lossy = String::from_utf8_lossy(raw);
        let message = mail_parser::MessageParser::default()
            .parse(raw)
            .unwrap_or_else(|| panic!("a reply that is not an email: {lossy}"));
        let field = |name: &str| message.header_raw(name).map(|value| value.trim().to_owned());
        Reply {
            subject: message.subject().unwrap_or_else(|| panic!("a reply without a subject: {lossy}")).to_owned(),
            text: message.body_text(0).unwrap_or_else(|| panic!("a reply without a text part: {lossy}")).into_owned(),
            to: message.to().and_then(|to| to.first()).and_then(|to| to.address()).map(str::to_owned),
            in_reply_to: field("In-Reply-To"),
            auto_submitted: field("Auto-Submitted"),
            raw: lossy.into_owned(),
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
    /// The SMS a recorded SNS Publish carries; `None` for any other request. A Publish that
    /// cannot be read fails the test: it must not vanish from the list.
    fn from_recorded(request: &Recorded) -> Option<PublishedSms> {
        assert!(
            request.service() != Some("sms-voice"),
            "an End User Messaging request, which sms() cannot read: {}",
            request.body_text()
        );
        if request.service() != Some("sns") {
            return None;
        }
        let body = request.body_text();
        let fields: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
        let get = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let action = get("Action").unwrap_or_else(|| panic!("an SNS request without an Action: {body}"));
        if action != "Publish" {
            return None;
        }
        let required = |name: &str| get(name).unwrap_or_else(|| panic!("a Publish without {name}: {body}"));
        // MessageAttributes.entry.N.Name / .Value.StringValue, for any N.
        let attribute = |wanted: &str| {
            fields.iter().find_map(|(k, v)| {
                let n = k.strip_prefix("MessageAttributes.entry.")?.strip_suffix(".Name")?;
                (v == wanted).then(|| required(&format!("MessageAttributes.entry.{n}.Value.StringValue")))
            })
        };
        Some(PublishedSms {
            phone_number: required("PhoneNumber"),
            message: required("Message"),
            sender_id: attribute("AWS.SNS.SMS.SenderID"),
            sms_type: attribute("AWS.SNS.SMS.SMSType"),
        })
    }
}

/// One request as the emulator recorded it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub url: String,
    pub headers: serde_json::Map<String, Value>,
    body: Value,
    body_encoded: bool,
}

impl Recorded {
    fn parse(line: &str) -> Recorded {
        let entry: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("the emulator's recording holds a line that is not JSON ({e}): {line:.300}"));
        let field =
            |name: &str| entry.get(name).unwrap_or_else(|| panic!("a recorded request without {name}: {line:.300}"));
        let text = |name: &str| {
            field(name).as_str().unwrap_or_else(|| panic!("a recorded request whose {name} is not text: {line:.300}"))
        };
        Recorded {
            method: text("method").to_owned(),
            url: text("url").to_owned(),
            headers: field("headers")
                .as_object()
                .unwrap_or_else(|| panic!("a recorded request whose headers are not an object: {line:.300}"))
                .clone(),
            body: entry.get("body").cloned().unwrap_or(Value::Null),
            body_encoded: entry.get("body_encoded").and_then(Value::as_bool).unwrap_or(false),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).and_then(|(_, v)| v.as_str())
    }

    /// The SigV4 `Authorization` header: `… Credential=KEY/DATE/REGION/SERVICE/aws4_request, …`.
    pub fn authorization(&self) -> Option<&str> {
        self.header("Authorization")
    }

    /// The access key the request was signed with.
    pub fn access_key(&self) -> Option<&str> {
        self.authorization()?.split("Credential=").nth(1)?.split('/').next()
    }

    /// The service the request was signed for (`sns`, `ses`, `s3`, `dynamodb`, `scheduler`).
    pub fn service(&self) -> Option<&str> {
        let scope = self.authorization()?.split("Credential=").nth(1)?.split([',', ' ']).next()?;
        scope.split('/').nth(3)
    }

    /// The body as text; a body that is missing, not base64 when it says so, or not UTF-8 fails
    /// the test.
    pub fn body_text(&self) -> String {
        let body =
            self.body.as_str().unwrap_or_else(|| panic!("a recorded {} {} without a body", self.method, self.url));
        if !self.body_encoded {
            return body.to_owned();
        }
        let bytes = base64::engine::general_purpose::STANDARD.decode(body).unwrap_or_else(|e| {
            panic!("a recorded body marked base64 that is not ({e}): {} {}", self.method, self.url)
        });
        String::from_utf8(bytes)
            .unwrap_or_else(|e| panic!("a recorded body that is not UTF-8 ({e}): {} {}", self.method, self.url))
    }
}

/// The requests signed with `access_key` that the emulator recorded, in the order it served them.
///
/// The emulator serves one request at a time (scripts/moto_server.py) and its recording only
/// grows: once the large-email tests have stored theirs, it holds over 100 MB, and downloading
/// it whole on every read held up every other test's calls past their timeouts. So the file
/// itself is read when it is at hand, each time from where the last read stopped, and every
/// request is filed under the key that signed it. Without the file (an emulator elsewhere), the
/// recording is downloaded whole.
fn recorded_by(endpoint: &str, access_key: &str) -> Vec<Recorded> {
    let Some(path) = recording_file(endpoint) else {
        let downloaded = http_get(endpoint, "/moto-api/recorder/download-recording");
        let requests = downloaded.lines().filter(|line| !line.trim().is_empty()).map(Recorded::parse);
        return requests.filter(|request| request.access_key() == Some(access_key)).collect();
    };
    let mut recording = RECORDING.lock().unwrap_or_else(PoisonError::into_inner);
    let recording = match &mut *recording {
        Some(recording) if recording.path == path => recording,
        other => other.insert(Recording { path, read: 0, by_key: HashMap::new() }),
    };
    recording.catch_up();
    recording.by_key.get(access_key).cloned().unwrap_or_default()
}

/// The file the emulator records to: `MOTO_RECORDER_FILEPATH` when set, else the one
/// scripts/with-moto.sh gives it, `target/moto-recording.<port>`, if it is there.
fn recording_file(endpoint: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("MOTO_RECORDER_FILEPATH") {
        return Some(path.into());
    }
    let port = endpoint.trim_end_matches('/').rsplit(':').next()?;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join(format!("moto-recording.{port}"));
    path.is_file().then_some(path)
}

/// The recording file as read so far, its requests by access key.
struct Recording {
    path: PathBuf,
    read: u64,
    by_key: HashMap<String, Vec<Recorded>>,
}

static RECORDING: Mutex<Option<Recording>> = Mutex::new(None);

impl Recording {
    /// Reads the lines appended since the last read; a line still being written waits for the
    /// next. A line it cannot read fails the test.
    fn catch_up(&mut self) {
        let mut file =
            File::open(&self.path).unwrap_or_else(|e| panic!("the emulator's recording {}: {e}", self.path.display()));
        if file.metadata().map(|metadata| metadata.len()).unwrap_or(0) < self.read {
            // Reset since (moto's reset-recording): start again.
            self.read = 0;
            self.by_key.clear();
        }
        let mut appended = Vec::new();
        file.seek(SeekFrom::Start(self.read)).and_then(|_| file.read_to_end(&mut appended)).unwrap();
        let complete = appended.iter().rposition(|&byte| byte == b'\n').map_or(0, |end| end + 1);
        self.read += complete as u64;
        for line in appended[..complete].split(|&byte| byte == b'\n') {
            let line = std::str::from_utf8(line)
                .unwrap_or_else(|e| panic!("the emulator's recording holds a line that is not UTF-8: {e}"));
            if line.trim().is_empty() {
                continue;
            }
            let request = Recorded::parse(line);
            if let Some(key) = request.access_key() {
                self.by_key.entry(key.to_owned()).or_default().push(request);
            }
        }
    }
}

/// A GET on the emulator, with nothing but the standard library; anything but a 200 fails.
pub fn http_get(endpoint: &str, path: &str) -> String {
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(host).expect("emulator reachable");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response =
        String::from_utf8(response).unwrap_or_else(|e| panic!("GET {path}: an answer that is not UTF-8: {e}"));
    let (head, body) =
        response.split_once("\r\n\r\n").unwrap_or_else(|| panic!("GET {path}: not an HTTP answer: {response:.300}"));
    let status = head.lines().next().unwrap_or_default();
    assert!(status.split_whitespace().nth(1) == Some("200"), "GET {path}: {status}\n{body:.300}");
    body.to_owned()
}
