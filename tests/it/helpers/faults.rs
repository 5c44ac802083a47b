//! Faults at the HTTP level: a reverse proxy on 127.0.0.1 between real SDK clients (or the real
//! function binary) and the emulator, which answers some calls itself as AWS would when things go
//! wrong: a 5xx, a throttling error in the service's own protocol, an answer too late for the
//! client's timeout, or no answer at all after the call was acted on.
//!
//! Every call is named by service (the SigV4 credential scope) and operation (`X-Amz-Target`, the
//! form's `Action=`, or the method and path of the REST services), and logged with the fault it
//! got, so a test can count how many times an operation was really attempted.
//!
//! The HTTP/1.1 here is written by hand on tokio's sockets, just what the SDK and the Lambda
//! runtime client speak (keep-alive, `Content-Length` or chunked bodies): it can then do what a
//! well-behaved server library would not, like closing a connection after the request was acted
//! on, and it needs no HTTP library (nor the features of one the build would then compile twice).

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::AbortHandle;

// ---------------------------------------------------------------------------------------------
// What the proxy does to a call
// ---------------------------------------------------------------------------------------------

/// What the proxy does instead of, or besides, forwarding a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answers this status with an empty body; the emulator never sees the call.
    Status(u16),
    /// Forwards the call (the emulator acts on it), then answers this status with an empty body
    /// instead of the emulator's answer: a 5xx whose outcome the service does not state.
    ForwardThenStatus(u16),
    /// Answers the service's own throttling error, as its SDK parses it; the call is not forwarded.
    Throttle,
    /// Answers the service's own "invalid request" error (400); the call is not forwarded.
    Refuse,
    /// Waits, then forwards the call whatever the client did meanwhile (a client that timed out
    /// has left; the emulator acts on the call all the same, as a slow AWS would).
    Delay(Duration),
    /// Forwards the call, then closes the client's connection without a byte of answer: the
    /// call was acted on and its answer is lost.
    ForwardThenDrop,
    /// Forwards the call, then keeps the client waiting until [`FaultProxy::release`] (or until
    /// the client dies).
    Hold,
    /// Answers the provider's refusal of a number that opted out, as its SDK parses it (SNS
    /// `OptedOut`; End User Messaging's `ConflictException` of reason
    /// `DESTINATION_PHONE_NUMBER_OPTED_OUT`); the call is not forwarded.
    OptedOut,
}

/// Which of the calls a rule matches it applies to, counted from when the rule was injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Only the nth (from 1).
    Nth(usize),
    /// The first n.
    First(usize),
    /// All of them, until the rules are cleared.
    Every,
}

/// A scripted fault: on which calls, and what happens to them.
#[derive(Debug, Clone)]
pub struct Rule {
    pub service: String,
    pub operation: String,
    /// Only calls about this (see [`Call::about`]): a phone number, a table, a schedule.
    pub about: Option<String>,
    /// Only calls whose body holds this text.
    pub body_contains: Option<String>,
    pub when: When,
    pub fault: Fault,
    seen: usize,
}

impl Rule {
    /// `fault` on every call of `operation` of `service` (narrow it with the other methods).
    pub fn new(service: &str, operation: &str, fault: Fault) -> Rule {
        Rule {
            service: service.to_owned(),
            operation: operation.to_owned(),
            about: None,
            body_contains: None,
            when: When::Every,
            fault,
            seen: 0,
        }
    }

    pub fn nth(mut self, n: usize) -> Rule {
        self.when = When::Nth(n);
        self
    }

    pub fn first(mut self, n: usize) -> Rule {
        self.when = When::First(n);
        self
    }

    pub fn about(mut self, about: &str) -> Rule {
        self.about = Some(about.to_owned());
        self
    }

    pub fn body_contains(mut self, needle: &str) -> Rule {
        self.body_contains = Some(needle.to_owned());
        self
    }

    fn matches(&self, call: &Call, body: &[u8]) -> bool {
        self.service == call.service
            && self.operation == call.operation
            && self.about.as_ref().is_none_or(|about| call.about.as_ref() == Some(about))
            && self.body_contains.as_ref().is_none_or(|needle| contains(body, needle.as_bytes()))
    }

    /// Counts a matching call and says whether the fault applies to it.
    fn fires(&mut self) -> bool {
        self.seen += 1;
        match self.when {
            When::Nth(n) => self.seen == n,
            When::First(n) => self.seen <= n,
            When::Every => true,
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|window| window == needle)
}

// ---------------------------------------------------------------------------------------------
// Naming a call
// ---------------------------------------------------------------------------------------------

/// A call as the proxy names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The SigV4 signing name: `dynamodb`, `sns`, `s3`, `ses`, `scheduler`, `sms-voice`.
    pub service: String,
    /// `GetItem`, `Publish`, `GetObject`, `SendEmail`, `CreateSchedule`… or `METHOD /path` when
    /// the proxy does not know the operation.
    pub operation: String,
    /// What the call is about, when it says: the phone number of an SMS, the table of a
    /// single-item DynamoDB call, `bucket/key` in S3, the schedule's name.
    pub about: Option<String>,
}

/// Names a request: service from the `Authorization` header's credential scope, operation from
/// `X-Amz-Target`, the form body's `Action=`, or the REST method and path.
pub fn classify(request: &Message) -> Call {
    let service = request
        .header("authorization")
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|credential| credential.split(['/', ',', ' ']).nth(3))
        .unwrap_or("unsigned")
        .to_owned();
    let (method, target) = (request.method(), request.target());
    let path = target.split('?').next().unwrap_or_default();
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let json = || serde_json::from_slice::<serde_json::Value>(&request.body).ok();
    let form = || -> Vec<(String, String)> { form_urlencoded::parse(&request.body).into_owned().collect() };
    let field =
        |fields: &[(String, String)], name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();

    if let Some(target) = request.header("x-amz-target") {
        let operation = target.rsplit('.').next().unwrap_or(target).to_owned();
        let body = json();
        let about = body
            .as_ref()
            .and_then(|b| b["TableName"].as_str().or(b["DestinationPhoneNumber"].as_str()).map(str::to_owned));
        return Call { service, operation, about };
    }
    let is_form = request.header("content-type").is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"))
        || request.body.starts_with(b"Action=");
    if is_form {
        let fields = form();
        if let Some(action) = field(&fields, "Action") {
            let about = field(&fields, "PhoneNumber").or_else(|| field(&fields, "TopicArn"));
            return Call { service, operation: action, about };
        }
    }
    let named = |operation: &str, about: Option<String>| Call {
        service: service.clone(),
        operation: operation.to_owned(),
        about,
    };
    let segment = |i: usize| segments.get(i).cloned();
    match (service.as_str(), method, segments.iter().map(String::as_str).collect::<Vec<_>>().as_slice()) {
        ("s3", _, [bucket, key @ ..]) if !key.is_empty() => {
            let about = Some(format!("{bucket}/{}", key.join("/")));
            let operation = match method {
                "GET" => "GetObject",
                "PUT" if request.header("x-amz-copy-source").is_some() => "CopyObject",
                "PUT" => "PutObject",
                "HEAD" => "HeadObject",
                "DELETE" => "DeleteObject",
                _ => return named(&format!("{method} {path}"), about),
            };
            named(operation, about)
        }
        ("s3", _, [_bucket]) => {
            let operation = match method {
                "GET" if query.contains("list-type=2") => "ListObjectsV2",
                "GET" => "ListObjects",
                "PUT" => "CreateBucket",
                "HEAD" => "HeadBucket",
                "DELETE" => "DeleteBucket",
                "POST" if query.contains("delete") => "DeleteObjects",
                _ => return named(&format!("{method} {path}"), segment(0)),
            };
            named(operation, segment(0))
        }
        ("ses", "POST", ["v2", "email", "outbound-emails"]) => named("SendEmail", None),
        ("ses", "POST", ["v2", "email", "identities"]) => named("CreateEmailIdentity", None),
        ("ses", "GET", ["v2", "email", "identities", _]) => named("GetEmailIdentity", segment(3)),
        ("scheduler", _, ["schedules", _]) => {
            let operation = match method {
                "POST" => "CreateSchedule",
                "GET" => "GetSchedule",
                "PUT" => "UpdateSchedule",
                "DELETE" => "DeleteSchedule",
                _ => return named(&format!("{method} {path}"), segment(1)),
            };
            named(operation, segment(1))
        }
        ("scheduler", "GET", ["schedules"]) => named("ListSchedules", None),
        ("scheduler", _, ["schedule-groups", _]) => {
            let operation = match method {
                "POST" => "CreateScheduleGroup",
                "GET" => "GetScheduleGroup",
                "DELETE" => "DeleteScheduleGroup",
                _ => return named(&format!("{method} {path}"), segment(1)),
            };
            named(operation, segment(1))
        }
        _ => named(&format!("{method} {path}"), None),
    }
}

/// The answer AWS gives for `fault` (`Throttle`, `Refuse` or `OptedOut`) in `service`'s protocol.
fn canned(service: &str, fault: &Fault) -> Response {
    if *fault == Fault::OptedOut {
        return opted_out(service);
    }
    let throttle = *fault == Fault::Throttle;
    let json = |type_: &str, status: u16| {
        Response::new(
            status,
            "application/x-amz-json-1.0",
            format!(r#"{{"__type":"{type_}","message":"Rate exceeded"}}"#),
        )
    };
    let query_xml = |type_: &str, code: &str, status: u16| {
        let body = format!(
            "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>{type_}</Type>\
             <Code>{code}</Code><Message>{}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>",
            if throttle {
                "Rate exceeded"
            } else {
                "Invalid parameter: PhoneNumber Reason: refused by the fault proxy"
            }
        );
        Response::new(status, "text/xml", body)
    };
    let rest_json = |code: &str, status: u16| {
        let mut response =
            Response::new(status, "application/json", format!(r#"{{"message":"{code} from the fault proxy"}}"#));
        response.headers.push(("x-amzn-ErrorType".into(), code.into()));
        response
    };
    match (service, throttle) {
        ("dynamodb", true) => json("com.amazonaws.dynamodb.v20120810#ThrottlingException", 400),
        ("dynamodb", false) => json("com.amazonaws.dynamodb.v20120810#ValidationException", 400),
        ("sms-voice", true) => json("ThrottlingException", 400),
        ("sms-voice", false) => json("ValidationException", 400),
        ("sns", true) => query_xml("Sender", "Throttling", 400),
        ("sns", false) => query_xml("Sender", "InvalidParameter", 400),
        ("ses", true) => rest_json("TooManyRequestsException", 429),
        ("ses", false) => rest_json("BadRequestException", 400),
        ("scheduler", true) => rest_json("ThrottlingException", 429),
        ("scheduler", false) => rest_json("ValidationException", 400),
        ("s3", true) => Response::new(
            503,
            "application/xml",
            "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
        ),
        ("s3", false) => Response::new(
            400,
            "application/xml",
            "<Error><Code>InvalidRequest</Code><Message>refused by the fault proxy</Message></Error>",
        ),
        (_, true) => Response::new(429, "text/plain", "throttled by the fault proxy"),
        (_, false) => Response::new(400, "text/plain", "refused by the fault proxy"),
    }
}

/// A provider's refusal of a number that opted out, in its protocol.
fn opted_out(service: &str) -> Response {
    match service {
        "sns" => Response::new(
            400,
            "text/xml",
            "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type>\
             <Code>OptedOut</Code><Message>Phone number is opted out</Message></Error>\
             <RequestId>fault-proxy</RequestId></ErrorResponse>",
        ),
        "sms-voice" => Response::new(
            400,
            "application/x-amz-json-1.0",
            r#"{"__type":"ConflictException","Message":"Destination phone number opted out","Reason":"DESTINATION_PHONE_NUMBER_OPTED_OUT","ResourceType":"opt-out-list","ResourceId":"Default"}"#,
        ),
        _ => Response::new(400, "text/plain", "opted out (fault proxy)"),
    }
}

// ---------------------------------------------------------------------------------------------
// The proxy
// ---------------------------------------------------------------------------------------------

/// What became of a call the proxy took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    /// Not yet: being delayed, forwarded, or held.
    Pending,
    /// The client got this status.
    Status(u16),
    /// The connection was closed without an answer.
    Dropped,
    /// The client was gone when its answer was ready.
    ClientGone,
}

/// One call the proxy took, in the order they came.
#[derive(Debug, Clone)]
pub struct Served {
    pub call: Call,
    /// The fault applied, if any.
    pub fault: Option<Fault>,
    /// Whether the call reached the emulator (so far).
    pub forwarded: bool,
    /// A DynamoDB transaction whose `ClientRequestToken` had already been applied: answered as
    /// DynamoDB does, without applying it again (see [`FaultProxy`]).
    pub replayed: bool,
    pub answered: Answered,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    log: Vec<Served>,
    /// Calls being delayed or forwarded right now.
    forwarding: usize,
    /// Calls forwarded and held.
    held: usize,
    /// Bumped by each release: a held call waits for a bump after it.
    releases: u64,
    /// DynamoDB transactions by `ClientRequestToken`: the body, and the answer once there is one.
    transactions: HashMap<String, (Vec<u8>, Option<Response>)>,
    tasks: Vec<AbortHandle>,
}

struct Shared {
    state: Mutex<State>,
    /// Bumped on every change of `state`, for the waiters.
    changed: watch::Sender<u64>,
    upstream: String,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn update<T>(&self, change: impl FnOnce(&mut State) -> T) -> T {
        let value = change(&mut self.state());
        self.changed.send_modify(|n| *n += 1);
        value
    }
}

/// A reverse proxy on 127.0.0.1 to the emulator, applying scripted faults. Stops when dropped.
///
/// It also makes up for one thing the emulator lacks: DynamoDB applies a `TransactWriteItems`
/// once per `ClientRequestToken` (for ten minutes; the SDK puts one token on every attempt of a
/// call), and moto ignores the token. The proxy answers a transaction whose token was already
/// applied with the first answer, without forwarding it, as DynamoDB does: so the SDK's own retry
/// of a transaction whose answer was lost is not counted as a second debit that AWS would never
/// make. A retry by the pipeline (a new call, a new token) is forwarded as any other.
pub struct FaultProxy {
    shared: Arc<Shared>,
    endpoint: String,
}

impl FaultProxy {
    /// A proxy to the emulator of `AWS_ENDPOINT_URL`, on a free port, in the current runtime.
    pub async fn start() -> FaultProxy {
        let endpoint = std::env::var("AWS_ENDPOINT_URL").expect(
            "AWS_ENDPOINT_URL is not set: run the integration tests through `make test`, which starts the emulator",
        );
        FaultProxy::to(&endpoint).await
    }

    /// A proxy to `upstream` (`http://host:port`).
    pub async fn to(upstream: &str) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port on 127.0.0.1");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").trim_end_matches('/').to_owned();
        let shared = Arc::new(Shared { state: Mutex::default(), changed: watch::channel(0).0, upstream });
        let accepting = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let connection = tokio::spawn(serve_connection(Arc::clone(&accepting), stream));
                let mut state = accepting.state();
                state.tasks.retain(|task| !task.is_finished());
                state.tasks.push(connection.abort_handle());
            }
        });
        shared.state().tasks.push(task.abort_handle());
        FaultProxy { shared, endpoint }
    }

    /// `http://127.0.0.1:PORT`: what to give the SDK as its endpoint.
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// Adds a rule. Rules are tried in the order they were injected; the first that fires on a
    /// call applies (every matching rule counts the call).
    pub fn inject(&self, rule: Rule) {
        self.shared.update(|state| state.rules.push(rule));
    }

    /// Removes every rule: from now on every call is forwarded as it is.
    pub fn clear(&self) {
        self.shared.update(|state| state.rules.clear());
    }

    /// Lets every held call have its answer.
    pub fn release(&self) {
        self.shared.update(|state| state.releases += 1);
    }

    /// Every call taken so far.
    pub fn served(&self) -> Vec<Served> {
        self.shared.state().log.clone()
    }

    /// How many calls of `operation` of `service` the proxy took (faulted or not).
    pub fn count(&self, service: &str, operation: &str) -> usize {
        self.count_where(|call| call.call.service == service && call.call.operation == operation)
    }

    pub fn count_where(&self, keep: impl Fn(&Served) -> bool) -> usize {
        self.shared.state().log.iter().filter(|served| keep(served)).count()
    }

    /// How many calls got a fault.
    pub fn faults_applied(&self) -> usize {
        self.count_where(|served| served.fault.is_some())
    }

    /// Calls of `operation` whose client has no answer yet.
    pub fn unanswered(&self, service: &str, operation: &str) -> usize {
        self.count_where(|served| {
            served.call.service == service && served.call.operation == operation && served.answered == Answered::Pending
        })
    }

    /// How many calls are held (forwarded, answer kept back).
    pub fn held(&self) -> usize {
        self.shared.state().held
    }

    /// Waits until `ready` holds of the log, or `timeout`; returns whether it held.
    pub async fn wait_until(&self, timeout: Duration, ready: impl Fn(&[Served]) -> bool) -> bool {
        let mut changes = self.shared.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if ready(&self.shared.state().log) {
                return true;
            }
            if tokio::time::timeout_at(deadline, changes.changed()).await.is_err() {
                return ready(&self.shared.state().log);
            }
        }
    }

    /// Waits until `n` calls are held (their call reached the emulator), or `timeout`.
    pub async fn wait_for_held(&self, n: usize, timeout: Duration) -> bool {
        let mut changes = self.shared.changed.subscribe();
        tokio::time::timeout(timeout, async {
            while self.shared.state().held < n {
                if changes.changed().await.is_err() {
                    break;
                }
            }
        })
        .await
        .is_ok()
    }

    /// Waits until no call came in for `quiet`, or `timeout`.
    pub async fn wait_quiet(&self, quiet: Duration, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let before = self.shared.state().log.len();
            tokio::time::sleep(quiet).await;
            if self.shared.state().log.len() == before {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
        }
    }

    /// Waits until no call is being delayed or forwarded (a delayed call reaches the emulator
    /// after its client gave up: read the emulator only once it has), or `timeout`.
    pub async fn settled(&self, timeout: Duration) -> bool {
        let mut changes = self.shared.changed.subscribe();
        tokio::time::timeout(timeout, async {
            while self.shared.state().forwarding > 0 {
                if changes.changed().await.is_err() {
                    break;
                }
            }
        })
        .await
        .is_ok()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        for task in self.shared.state().tasks.drain(..) {
            task.abort();
        }
    }
}

async fn serve_connection(shared: Arc<Shared>, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    while let Ok(Some(request)) = read_request(&mut reader, &mut write).await {
        let call = classify(&request);
        let (index, fault) = shared.update(|state| {
            let mut fault = None;
            for rule in state.rules.iter_mut().filter(|rule| rule.matches(&call, &request.body)) {
                if rule.fires() && fault.is_none() {
                    fault = Some(rule.fault.clone());
                }
            }
            let forwarded = false;
            let served = Served {
                call: call.clone(),
                fault: fault.clone(),
                forwarded,
                replayed: false,
                answered: Answered::Pending,
            };
            state.log.push(served);
            (state.log.len() - 1, fault)
        });
        let pass_on = || async {
            let token = transaction_token(&call, &request);
            if let Some(token) = &token {
                let earlier = shared.update(|state| {
                    let earlier = state.transactions.get(token).cloned();
                    if earlier.is_none() {
                        state.transactions.insert(token.clone(), (request.body.clone(), None));
                    }
                    earlier
                });
                if let Some(earlier) = earlier {
                    shared.update(|state| state.log[index].replayed = true);
                    return replay(earlier, &request.body);
                }
            }
            shared.update(|state| state.forwarding += 1);
            let answer = forward(&shared.upstream, &request).await;
            shared.update(|state| {
                state.forwarding -= 1;
                state.log[index].forwarded = answer.is_ok();
                if let Some(token) = &token {
                    match &answer {
                        Ok(response) if response.status == 200 => {
                            state.transactions.insert(token.clone(), (request.body.clone(), Some(response.clone())));
                        }
                        _ => {
                            state.transactions.remove(token);
                        }
                    }
                }
            });
            answer.unwrap_or_else(|error| Response::new(502, "text/plain", format!("fault proxy: upstream: {error}")))
        };
        let response = match &fault {
            None => pass_on().await,
            Some(Fault::Status(status)) => Response::new(*status, "", ""),
            Some(Fault::ForwardThenStatus(status)) => {
                pass_on().await;
                Response::new(*status, "", "")
            }
            Some(fault @ (Fault::Throttle | Fault::Refuse | Fault::OptedOut)) => canned(&call.service, fault),
            Some(Fault::Delay(delay)) => {
                shared.update(|state| state.forwarding += 1);
                tokio::time::sleep(*delay).await;
                let response = pass_on().await;
                shared.update(|state| state.forwarding -= 1);
                response
            }
            Some(Fault::ForwardThenDrop) => {
                pass_on().await;
                shared.update(|state| state.log[index].answered = Answered::Dropped);
                return; // the connection closes: no answer
            }
            Some(Fault::Hold) => {
                let response = pass_on().await;
                let mut changes = shared.changed.subscribe();
                let releases = shared.update(|state| {
                    state.held += 1;
                    state.releases
                });
                while shared.state().releases == releases {
                    if changes.changed().await.is_err() {
                        return;
                    }
                }
                shared.update(|state| state.held -= 1);
                response
            }
        };
        let status = response.status;
        let written = response.write(&mut write).await;
        shared.update(|state| {
            state.log[index].answered = if written.is_ok() { Answered::Status(status) } else { Answered::ClientGone }
        });
        if written.is_err() {
            return;
        }
    }
}

/// The `ClientRequestToken` of a DynamoDB transaction.
fn transaction_token(call: &Call, request: &Message) -> Option<String> {
    if call.service != "dynamodb" || call.operation != "TransactWriteItems" {
        return None;
    }
    let body: serde_json::Value = serde_json::from_slice(&request.body).ok()?;
    body["ClientRequestToken"].as_str().map(str::to_owned)
}

/// DynamoDB's answer to a transaction whose token it has seen: the same success without applying
/// it again, a mismatch if the token came with other items, or "in progress".
fn replay((body, answer): (Vec<u8>, Option<Response>), again: &[u8]) -> Response {
    let error = |type_: &str, message: &str| {
        let body = format!(r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{type_}","message":"{message}"}}"#);
        Response::new(400, "application/x-amz-json-1.0", body)
    };
    match answer {
        _ if body != again => error("IdempotentParameterMismatchException", "token reused with other items"),
        Some(answer) => answer,
        None => error("TransactionInProgressException", "a transaction with this token is in progress"),
    }
}

/// Sends `request` to `upstream` on a connection of its own and reads the whole answer.
async fn forward(upstream: &str, request: &Message) -> io::Result<Response> {
    let stream = TcpStream::connect(upstream).await?;
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let headers: Vec<(String, String)> = request
        .headers
        .iter()
        .filter(|(name, _)| !is_hop_by_hop(name) && !name.eq_ignore_ascii_case("expect"))
        .cloned()
        .chain([("Connection".to_owned(), "close".to_owned())])
        .collect();
    write_message(&mut write, &request.start, &headers, &request.body).await?;
    let mut reader = BufReader::new(read);
    let head = read_head(&mut reader).await?.ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
    let status = head.status();
    let no_body = request.method() == "HEAD" || status / 100 == 1 || status == 204 || status == 304;
    let body = if no_body { Vec::new() } else { read_body(&mut reader, &head, true).await? };
    Ok(Response { status, headers: head.headers.into_iter().filter(|(name, _)| !is_hop_by_hop(name)).collect(), body })
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1, as much as the SDK and the Lambda runtime client speak
// ---------------------------------------------------------------------------------------------

/// One HTTP/1.1 message, its body de-chunked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// The request line (`POST / HTTP/1.1`) or status line (`HTTP/1.1 200 OK`).
    pub start: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Message {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn method(&self) -> &str {
        self.start.split(' ').next().unwrap_or_default()
    }

    /// The request target: path and query.
    pub fn target(&self) -> &str {
        self.start.split(' ').nth(1).unwrap_or_default()
    }

    /// The status of a response.
    pub fn status(&self) -> u16 {
        self.start.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
    }

    /// Parses one request from `bytes` (for tests of the classification).
    pub async fn parse_request(mut bytes: &[u8]) -> io::Result<Message> {
        let mut reader = BufReader::new(&mut bytes);
        read_request(&mut reader, &mut tokio::io::sink())
            .await?
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))
    }
}

/// An answer to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        let headers =
            if content_type.is_empty() { Vec::new() } else { vec![("Content-Type".into(), content_type.into())] };
        Response { status, headers, body: body.into() }
    }

    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub async fn write(&self, writer: &mut (impl AsyncWrite + Unpin)) -> io::Result<()> {
        let start = format!("HTTP/1.1 {} {}", self.status, reason(self.status));
        write_message(writer, &start, &self.headers, &self.body).await
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Fault",
    }
}

fn is_hop_by_hop(name: &str) -> bool {
    ["connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer", "upgrade"]
        .iter()
        .any(|hop| name.eq_ignore_ascii_case(hop))
}

/// Reads one request (answering `Expect: 100-continue` on `writer`); `None` at a clean end of
/// the connection.
pub async fn read_request(
    reader: &mut (impl AsyncBufRead + Unpin),
    writer: &mut (impl AsyncWrite + Unpin),
) -> io::Result<Option<Message>> {
    let Some(mut head) = read_head(reader).await? else { return Ok(None) };
    if head.header("expect").is_some_and(|e| e.eq_ignore_ascii_case("100-continue")) {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        writer.flush().await?;
    }
    head.body = read_body(reader, &head, false).await?;
    Ok(Some(head))
}

/// Writes a message with a `Content-Length` of its own (any length or chunking header given is
/// dropped).
pub async fn write_message(
    writer: &mut (impl AsyncWrite + Unpin),
    start: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> io::Result<()> {
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(start.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("transfer-encoding") {
            continue;
        }
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    writer.write_all(&out).await?;
    writer.flush().await
}

const MAX_HEAD: usize = 256 * 1024;

/// Reads a start line and headers; `None` if the connection ends before the first byte.
async fn read_head(reader: &mut (impl AsyncBufRead + Unpin)) -> io::Result<Option<Message>> {
    let mut message = Message::default();
    let mut total = 0;
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).await?;
        total += n;
        if n == 0 {
            return if message.start.is_empty() { Ok(None) } else { Err(io::ErrorKind::UnexpectedEof.into()) };
        }
        if total > MAX_HEAD {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "head too large"));
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if message.start.is_empty() {
            if line.is_empty() {
                continue; // stray CRLF between messages
            }
            message.start = line.to_owned();
        } else if line.is_empty() {
            return Ok(Some(message));
        } else if let Some((name, value)) = line.split_once(':') {
            message.headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
}

/// Reads the body `head` announces; `to_eof` when a body without a length runs to the end of
/// the connection (a response), else it is empty (a request).
async fn read_body(reader: &mut (impl AsyncBufRead + Unpin), head: &Message, to_eof: bool) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    if head.header("transfer-encoding").is_some_and(|te| te.to_ascii_lowercase().contains("chunked")) {
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let size = line.trim().split(';').next().unwrap_or_default();
            let size = usize::from_str_radix(size, 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("bad chunk size {line:?}")))?;
            if size == 0 {
                // Trailers, up to the empty line.
                loop {
                    let mut trailer = String::new();
                    if reader.read_line(&mut trailer).await? == 0 || trailer.trim().is_empty() {
                        return Ok(body);
                    }
                }
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..]).await?;
            let mut crlf = String::new();
            reader.read_line(&mut crlf).await?;
        }
    }
    if let Some(length) = head.header("content-length") {
        let length: usize =
            length.parse().map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad Content-Length"))?;
        body.resize(length, 0);
        reader.read_exact(&mut body).await?;
    } else if to_eof {
        reader.read_to_end(&mut body).await?;
    }
    Ok(body)
}
