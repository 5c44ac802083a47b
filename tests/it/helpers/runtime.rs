//! The real function binary, run as Lambda runs it: a child process polling a local Lambda
//! Runtime API served here, fed one event at a time. A test can kill it with SIGKILL mid-call,
//! start it again, and invoke the same event with the same request id, as Lambda's asynchronous
//! retries do.

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mail2sms::config::{Config, SmsProvider, vars};
use serde_json::Value;
use tokio::io::{AsyncReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;

use super::faults::{Response, read_request};
use super::{FUNCTION_ARN, World};

/// How the function answered an invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `POST …/invocation/{id}/response`: the function's result.
    Response(Value),
    /// `POST …/invocation/{id}/error`: `{"errorType": …, "errorMessage": …}`.
    Error(Value),
}

impl Answer {
    pub fn is_error(&self) -> bool {
        matches!(self, Answer::Error(_))
    }

    /// The error type (`Mail2Sms.Retryable`, `Mail2Sms.Invalid`), for an error.
    pub fn error_type(&self) -> Option<&str> {
        match self {
            Answer::Error(error) => error["errorType"].as_str(),
            Answer::Response(_) => None,
        }
    }
}

struct Queued {
    request_id: String,
    event: Value,
    deadline_ms: i64,
}

struct Api {
    queue: mpsc::UnboundedSender<Queued>,
    next: tokio::sync::Mutex<mpsc::UnboundedReceiver<Queued>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    init_error: Mutex<Option<String>>,
    /// How many `GET …/invocation/next` came in.
    polls: AtomicUsize,
}

/// The function binary behind a local Lambda Runtime API. Killed when dropped.
pub struct Function {
    api: Arc<Api>,
    address: String,
    server: AbortHandle,
    binary: PathBuf,
    env: Vec<(String, String)>,
    child: Option<Child>,
    log: PathBuf,
    /// How long each invocation is given (`Lambda-Runtime-Deadline-Ms`).
    pub timeout: Duration,
}

/// An invocation handed to the function, its answer to come.
pub struct Pending {
    answer: oneshot::Receiver<Answer>,
}

impl Pending {
    /// The answer, or `None` if none came within `timeout` (or the invocation was superseded).
    pub async fn answer(self, timeout: Duration) -> Option<Answer> {
        tokio::time::timeout(timeout, self.answer).await.ok().and_then(Result::ok)
    }
}

/// The binary cargo built for this test run.
pub fn function_binary() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_BIN_EXE_mail2sms"));
    assert!(
        path.is_file(),
        "the function binary {} is missing: build it with `cargo build --bins` (make test does)",
        path.display()
    );
    path
}

/// The environment the template gives the function, from a test's configuration.
pub fn function_env(config: &Config) -> Vec<(String, String)> {
    let optional = |value: &Option<String>| value.clone().unwrap_or_default();
    vec![
        (vars::ACCOUNTS_TABLE, config.accounts_table.clone()),
        (vars::MESSAGES_TABLE, config.messages_table.clone()),
        (vars::OPT_OUTS_TABLE, config.opt_outs_table.clone()),
        (vars::CONTACT_LISTS_TABLE, config.contact_lists_table.clone()),
        (vars::INBOUND_BUCKET, config.inbound_bucket.clone()),
        (vars::INBOUND_PREFIX, config.inbound_prefix.clone()),
        (vars::REPLY_FROM, config.reply_from.clone()),
        (vars::REPLY_REQUIRE_AUTH, config.reply_require_auth.to_string()),
        (vars::REPLY_LIMIT_PER_HOUR, config.reply_limit_per_hour.to_string()),
        (
            vars::SMS_PROVIDER,
            match config.sms_provider {
                SmsProvider::Sns => "sns",
                SmsProvider::EndUserMessaging => "eum",
            }
            .to_owned(),
        ),
        (vars::SMS_TYPE, config.sms_type.as_str().to_owned()),
        (vars::EUM_ORIGINATION_IDENTITY, optional(&config.eum_origination_identity)),
        (vars::EUM_CONFIGURATION_SET, optional(&config.eum_configuration_set)),
        (vars::DEFAULT_TIMEZONE, config.default_timezone.name().to_owned()),
        (vars::SCHEDULE_GROUP, config.schedule_group.clone()),
        (vars::SCHEDULER_ROLE_ARN, optional(&config.scheduler_role_arn)),
        (vars::SCHEDULE_DLQ_ARN, optional(&config.schedule_dlq_arn)),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

impl Function {
    /// Serves a Runtime API and starts the function with `world`'s variables and credentials
    /// (so the emulator's recording shows its calls as the world's), its AWS calls going to
    /// `aws_endpoint` (a fault proxy's endpoint, or the emulator's).
    pub async fn start(world: &World, aws_endpoint: &str) -> Function {
        let config = &world.config;
        let binary = function_binary();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port on 127.0.0.1");
        let address = listener.local_addr().unwrap().to_string();
        let (queue, next) = mpsc::unbounded_channel();
        let api = Arc::new(Api {
            queue,
            next: tokio::sync::Mutex::new(next),
            waiting: Mutex::default(),
            init_error: Mutex::default(),
            polls: AtomicUsize::new(0),
        });
        let serving = Arc::clone(&api);
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_connection(Arc::clone(&serving), stream));
            }
        })
        .abort_handle();

        let mut env = function_env(config);
        let sdk = ["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN"];
        env.extend(sdk.iter().filter_map(|name| std::env::var(name).ok().map(|value| (name.to_string(), value))));
        env.extend(world.credentials_env().map(|(name, value)| (name.to_owned(), value)));
        let name = FUNCTION_ARN.rsplit(':').next().unwrap_or("mail2sms");
        let stream = format!("{}/[$LATEST]{}", chrono::Utc::now().format("%Y/%m/%d"), &config.accounts_table);
        env.extend(
            [
                ("AWS_ENDPOINT_URL", aws_endpoint),
                ("AWS_EC2_METADATA_DISABLED", "true"),
                ("AWS_LAMBDA_RUNTIME_API", &address),
                ("AWS_LAMBDA_FUNCTION_NAME", name),
                ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
                ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
                ("AWS_LAMBDA_LOG_GROUP_NAME", &format!("/aws/lambda/{name}")),
                ("AWS_LAMBDA_LOG_STREAM_NAME", &stream),
                ("RUST_LOG", "info"),
            ]
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned())),
        );
        let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("function-{}.log", config.accounts_table));
        let mut function =
            Function { api, address, server, binary, env, child: None, log, timeout: Duration::from_secs(60) };
        function.spawn();
        function
    }

    fn spawn(&mut self) {
        let log = File::options().create(true).append(true).open(&self.log).expect("the function's log file");
        let child = Command::new(&self.binary)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("the function binary starts");
        self.child = Some(child);
    }

    /// The Runtime API's address (`127.0.0.1:PORT`).
    pub fn runtime_api(&self) -> &str {
        &self.address
    }

    /// Hands `event` to the function as request `request_id`; its answer comes later.
    /// A second invocation with the same id supersedes the first's answer.
    pub fn submit(&self, event: &Value, request_id: &str) -> Pending {
        let (sender, answer) = oneshot::channel();
        self.api.waiting.lock().unwrap().insert(request_id.to_owned(), sender);
        let deadline_ms = (chrono::Utc::now() + self.timeout).timestamp_millis();
        let queued = Queued { request_id: request_id.to_owned(), event: event.clone(), deadline_ms };
        self.api.queue.send(queued).expect("the runtime API is up");
        Pending { answer }
    }

    /// Invokes the function and waits for its answer; fails the test, with the function's log,
    /// if it dies or does not answer in time.
    pub async fn invoke(&mut self, event: &Value, request_id: &str) -> Answer {
        let pending = self.submit(event, request_id);
        let mut answer = std::pin::pin!(pending.answer(self.timeout + Duration::from_secs(5)));
        loop {
            tokio::select! {
                answer = &mut answer => match answer {
                    Some(answer) => return answer,
                    None => panic!("the function did not answer request {request_id}; its log:\n{}", self.log_text()),
                },
                _ = tokio::time::sleep(Duration::from_millis(100)) => {
                    if let Some(status) = self.child.as_mut().and_then(|child| child.try_wait().ok().flatten()) {
                        panic!(
                            "the function exited ({status}) during request {request_id}; init error: {:?}; its log:\n{}",
                            self.api.init_error.lock().unwrap(),
                            self.log_text()
                        );
                    }
                }
            }
        }
    }

    /// Kills the process with SIGKILL, as Lambda does at a timeout or an out-of-memory, and
    /// reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill(); // SIGKILL on Unix
            let _ = child.wait();
        }
    }

    /// Starts a fresh process (a new container) against the same Runtime API.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// How many times the function asked for work.
    pub fn polls(&self) -> usize {
        self.api.polls.load(Ordering::SeqCst)
    }

    /// What the function logged, every process of it.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        self.kill();
        self.server.abort();
    }
}

static TRACES: AtomicUsize = AtomicUsize::new(1);

async fn serve_connection(api: Arc<Api>, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    while let Ok(Some(request)) = read_request(&mut reader, &mut write).await {
        let path = request.target().to_owned();
        let response = match (request.method(), path.as_str()) {
            ("GET", "/2018-06-01/runtime/invocation/next") => {
                api.polls.fetch_add(1, Ordering::SeqCst);
                let mut next = api.next.lock().await;
                // A process killed while it waits must not take the next event with it: a
                // connection that ends while waiting gives its turn up.
                let mut probe = [0u8; 1];
                let queued = tokio::select! {
                    queued = next.recv() => queued,
                    _ = reader.read(&mut probe) => None,
                };
                drop(next);
                let Some(queued) = queued else { return };
                let trace = format!(
                    "Root=1-{:08x}-{:024x};Sampled=0",
                    chrono::Utc::now().timestamp(),
                    TRACES.fetch_add(1, Ordering::SeqCst)
                );
                Response::new(200, "application/json", queued.event.to_string())
                    .header("Lambda-Runtime-Aws-Request-Id", &queued.request_id)
                    .header("Lambda-Runtime-Deadline-Ms", &queued.deadline_ms.to_string())
                    .header("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN)
                    .header("Lambda-Runtime-Trace-Id", &trace)
            }
            ("POST", "/2018-06-01/runtime/init/error") => {
                *api.init_error.lock().unwrap() = Some(String::from_utf8_lossy(&request.body).into_owned());
                Response::new(202, "application/json", r#"{"status":"OK"}"#)
            }
            ("POST", path) => {
                let answered = path
                    .strip_prefix("/2018-06-01/runtime/invocation/")
                    .and_then(|rest| rest.rsplit_once('/'))
                    .filter(|(_, kind)| matches!(*kind, "response" | "error"));
                match answered {
                    Some((request_id, kind)) => {
                        let body = serde_json::from_slice(&request.body)
                            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&request.body).into_owned()));
                        let answer = if kind == "response" { Answer::Response(body) } else { Answer::Error(body) };
                        if let Some(waiter) = api.waiting.lock().unwrap().remove(request_id) {
                            let _ = waiter.send(answer);
                        }
                        Response::new(202, "application/json", r#"{"status":"OK"}"#)
                    }
                    None => Response::new(404, "text/plain", "unknown runtime API path"),
                }
            }
            _ => Response::new(404, "text/plain", "unknown runtime API path"),
        };
        if response.write(&mut write).await.is_err() {
            return;
        }
    }
}
