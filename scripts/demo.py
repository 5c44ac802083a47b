"""Mail2SMS demo: the real function on the sample emails, against a local AWS emulator.

`make demo` builds the binaries, then runs this script under scripts/with-moto.sh, which starts
a moto server and points the AWS SDKs at it (AWS_ENDPOINT_URL, AWS_REGION, dummy credentials).
The script drives the function as a black box:

1. bootstraps the tables, bucket, reply identity and schedule group with `mail2sms-admin`, and
   creates the accounts the samples' expectations name (events/emails/*.expected.json: "demo",
   20 credits, sender BOUTIQUE; "petit", 2 credits);
2. starts the function binary, <target>/debug/mail2sms, once, as a warm Lambda container runs it:
   it polls a minimal Lambda Runtime API served here, and is fed one event at a time;
3. for each sample email in events/emails/*.eml: fills in its placeholders (the API key of the
   account its expectations name, {{DUE}}), stores it in S3 under inbound/<SES message id> as
   the receipt rule's S3 action would, invokes the function with events/ses-event.json for that
   message id, reads back what went out (SMS published to SNS and error replies sent through
   SES v2, from the emulator's request recorder; the record, with `mail2sms-admin messages`;
   the credits, with `mail2sms-admin account show`), fires a scheduled sample's schedule, and
   checks all of it against the sample's .expected.json, the file tests/it/samples.rs checks
   the same way on the gateway in process;
4. delivers some emails a second time, fires the scheduled sample's schedule again, and checks
   that nothing is sent, debited or answered twice;
5. follows deliveries: creates an account that wants every receipt (`account update --receipts
   all`), sends an email to two numbers, then invokes the function with SNS's delivery-status
   logs for them as CloudWatch Logs hands them over (scripts/awslogs_event.py, the lines naming
   the provider ids the record shows): the first delivered, the second failed for good, its
   parts refunded; checks the recipients, the credits and the receipt email the close sent
   (SES v2). Then one more email, delivered by an End User Messaging event (found by the context
   its SMS carried), and the same event again, which changes nothing;
6. sends the same warm function four 39 MB emails (a short text/plain part, then a 39 MB base64
   attachment, as SES accepts up to 40 MB): three from the demo account, each giving one SMS
   with the text part's content and one credit debited, and one from an unknown login, refused
   with 102 before any authentication. Its peak RSS (VmHWM) is taken before and after these
   emails, and must stay under the template's MemorySize;
7. imports a contact list of 1,200 numbers and a few lines to refuse (`mail2sms-admin list
   import demo clients`, then `list show`); sends an email to `#clients`, over the 1,000
   recipients one record holds: debited once, queued in parts on the parts queue the setup
   created (PARTS_QUEUE_URL); then plays Lambda's SQS event source mapping (one message per
   invocation, deleted unless the answer names it in batchItemFailures) and checks each number
   got one SMS (SNS Publish, from the recorder), and nothing more was debited. SEND_RATE is
   raised for the demo. Last, a dry run (`|dryrun`): nothing published nor debited, one preview;
8. prints a report, its last lines the figures measured on the function process (init time,
   peak RSS after the samples and after the 39 MB emails, against the template's MemorySize),
   and exits non-zero if a step failed or an expectation was broken: the demo doubles as a
   smoke test. `make measure` runs it on the release Lambda artifact.

Nothing here re-implements a rule of the gateway: what each email must give is data, beside the
email. The accounts' API keys never appear in the report (08-wrong-key's, no account's, does).
SMS texts and numbers do: it is the demo, and they are made up. The function's own log goes to target/demo-function.log and is checked to hold
neither keys, SMS texts nor full phone numbers.

Python 3.11 standard library, boto3 and scripts/awslogs_event.py only.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import email
import email.parser
import email.policy
import email.utils
import json
import os
import queue
import random
import re
import secrets
import string
import subprocess
import sys
import textwrap
import threading
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

# scripts/awslogs_event.py, beside this script: CloudWatch Logs subscription events from their
# payload (imported without leaving a __pycache__ in scripts/).
sys.dont_write_bytecode = True
import awslogs_event  # noqa: E402

# ---------------------------------------------------------------------------------------------
# The scenario
# ---------------------------------------------------------------------------------------------

# Delivered a second time, as SES and Lambda may: nothing more may be sent, debited or answered.
REDELIVERED = ("03-iphone-mixed-numbers", "07-petit-insufficient-credits")

# The large emails sent last to the warm function: each LARGE_EMAIL_BYTES long (SES accepts up
# to 40 MB), a short text/plain part first, then a base64 attachment filling the rest. Three come
# from LARGE_LOGIN (one SMS each to LARGE_NUMBER, written LARGE_SUBJECT_NUMBER in the subject),
# then one from a login no account has.
LARGE_EMAIL_BYTES = 39_000_000
LARGE_LOGIN = "demo"
LARGE_NUMBER = "+33612345682"
LARGE_SUBJECT_NUMBER = "06 12 34 56 82"
LARGE_SENT = 3
UNKNOWN_LOGIN = "inconnu"

# Delivery status, after the samples: an account created for it that wants every receipt sends an
# email to TRACKED_NUMBERS; SNS's delivery-status logs then say the first was delivered and the
# second failed for good (FAILURE_RESPONSE: its parts are refunded), and the message's receipt
# goes to TRACKED_FROM. A second email, to EUM_NUMBER, is reported delivered by an End User
# Messaging event (found by the context its SMS carried), delivered twice.
TRACKED_LOGIN = "suivi"
TRACKED_CREDITS = 10
TRACKED_SENDER = "BOUTIQUE"
TRACKED_FROM = "Claire Petit <claire.petit@boutique.example.com>"
TRACKED_NUMBERS = ("+33612345690", "+33612345691")
TRACKED_SUBJECT_NUMBERS = "06 12 34 56 90;06 12 34 56 91"
TRACKED_TEXT = ("Votre commande 2027-0142 vous attend en boutique : retrait du lundi au samedi de 9h à 19h, "
                "muni de ce SMS et d'une pièce d'identité. Sans retrait sous 10 jours, elle retournera en "
                "réserve. Merci !")  # 199 characters, all GSM-7: 2 parts
TRACKED_PARTS = 2
FAILURE_RESPONSE = "Invalid phone number"
EUM_NUMBER = "+33612345692"
EUM_SUBJECT_NUMBER = "06 12 34 56 92"
EUM_TEXT = "Votre retouche est terminée : vous pouvez passer la chercher dès demain 10h."

# Contact lists, large emails and dry runs, after the 39 MB emails. The operator imports LIST_SIZE
# numbers (+33 6 20 00 00 00 onwards, written three ways) and a few lines it must refuse as
# LIST_LOGIN's list LIST_NAME (LIST_FILE), and tops the account up by LIST_SIZE credits; an email
# to #LIST_NAME, over the gateway's 1,000 recipients per record, is debited once and queued in
# parts (of PART_RECIPIENTS, src/domain/message.rs) on PARTS_QUEUE, which the demo then hands to
# the function as Lambda's SQS event source mapping does. Last, a dry run to DRY_RUN_NUMBERS: a
# preview, nothing else.
LIST_LOGIN = "demo"
LIST_NAME = "clients"
LIST_SIZE = 1_200
LIST_FIRST = 620_000_000  # the national significant number of the list's first number
# The lines the import must refuse, inserted before the list's number at that index:
# (index, first column, second column, a word of the reason the CLI gives).
LIST_REFUSED = (
    (3, "abc", "Client sans numéro", "not"),
    (250, "01 23 45 67 89", "Accueil (fixe)", "SMS"),
    (600, "06 20 00 00 07", "Doublon", "same"),
    (900, "06 20 00", "Numéro tronqué", "number"),
    (1_100, "", "Ligne sans numéro", "first column"),
)
PARTS_QUEUE = "mail2sms-demo-parts"
PARTS_VISIBILITY_SECONDS = 360  # as the template's PartsQueue (mail2sms::aws::bootstrap::create_parts_queue)
PARTS_MAX_RECEIVES = 5  # the template's redrive policy: a part handed out 5 times goes to PartsDlq
PARTS_FROM = "Service client <clients@boutique.example.com>"
PARTS_TEXT = "Portes ouvertes samedi de 10h à 18h : -20 % sur toute la boutique pour nos clients fidèles. A samedi !"
DRY_RUN_FROM = "Léa Bernard <lea.bernard@boutique.example.com>"
DRY_RUN_NUMBERS = "06 20 00 00 00;06 20 00 00 01;+33 6 20 00 00 02;01 23 45 67 89"
DRY_RUN_KEPT = 3  # the landline is refused
DRY_RUN_TEXT = "Soldes privées : -30 % sur la collection d'hiver, ce week-end seulement."
DRY_RUN_LINES = 12  # the preview's first lines the report shows

# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
# Cargo's target directory, as the Makefile finds it (CARGO_TARGET_DIR and the like), else target/.
TARGET_DIR = Path(os.environ.get("MAIL2SMS_TARGET_DIR") or ROOT / "target")
# The function's binary: the debug build by default (`make measure` points this at the release
# Lambda artifact).
FUNCTION_BIN = Path(os.environ.get("MAIL2SMS_FUNCTION_BIN") or TARGET_DIR / "debug" / "mail2sms")
ADMIN_BIN = TARGET_DIR / "debug" / "mail2sms-admin"
EMAILS_DIR = ROOT / "events" / "emails"
SES_EVENT = ROOT / "events" / "ses-event.json"
SNS_DELIVERY_LOG = ROOT / "events" / "sns-delivery-logs.decoded.json"
SNS_FAILURE_LOG = ROOT / "events" / "sns-delivery-logs-failure.decoded.json"
EUM_DELIVERED = ROOT / "events" / "eum-delivered.json"
FUNCTION_LOG = ROOT / "target" / "demo-function.log"
LIST_FILE = ROOT / "target" / "demo-clients.csv"  # the contact list the demo imports, written first

CONFIG = {
    "ACCOUNTS_TABLE": "mail2sms-demo-accounts",
    "MESSAGES_TABLE": "mail2sms-demo-messages",
    "OPT_OUTS_TABLE": "mail2sms-demo-opt-outs",
    "CONTACT_LISTS_TABLE": "mail2sms-demo-contact-lists",
    "INBOUND_BUCKET": "mail2sms-demo-inbound",
    "INBOUND_PREFIX": "inbound/",
    "REPLY_FROM": "mail2sms@sms.example.com",
    "SCHEDULE_GROUP": "mail2sms-demo",
    "SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/mail2sms-scheduler",
    "DEFAULT_TIMEZONE": "Europe/Paris",
    # Large emails' parts: PARTS_QUEUE_URL joins these once setup has created the queue. The
    # template's SendRate is 20 SMS/s (SNS's default quota); the demo's provider is the emulator.
    "SEND_RATE": "5000",
    "FAN_OUT_CONCURRENCY": "2",
    "RUST_LOG": "info",
}
FUNCTION_NAME = "mail2sms"
FUNCTION_ARN = f"arn:aws:lambda:eu-west-1:123456789012:function:{FUNCTION_NAME}"

# The AWS SDK variables scripts/with-moto.sh exports, passed on to the function.
SDK_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_EC2_METADATA_DISABLED",
)

INVOCATION_SECONDS = 60  # the deadline given to each invocation
WAIT_SLACK_SECONDS = 15  # how much longer than the deadline we wait for an answer
COMMAND_SECONDS = 60  # mail2sms-admin and HTTP calls

PLACEHOLDER = re.compile(r"\{\{[A-Z_]+\}\}")


class DemoError(Exception):
    """A step of the demo failed: the demo stops."""


# ---------------------------------------------------------------------------------------------
# Expectations: each check is counted; a broken one fails the demo at the end
# ---------------------------------------------------------------------------------------------


class Checks:
    """The expectations met and broken so far."""

    def __init__(self) -> None:
        self.passed = 0
        self.failures: list[str] = []

    def expect(self, condition: bool, what: str) -> bool:
        if condition:
            self.passed += 1
        else:
            self.failures.append(what)
            say(f"    !! expectation broken: {what}")
        return condition


CHECKS = Checks()
REPORT: list[str] = []  # every line printed, to check that no API key got into the report


def say(line: str = "") -> None:
    REPORT.append(line)
    print(line, flush=True)




# ---------------------------------------------------------------------------------------------
# The operator CLI
# ---------------------------------------------------------------------------------------------


def admin(env: dict[str, str], *args: str) -> str:
    """Runs mail2sms-admin; its stdout, or DemoError with its stderr."""
    try:
        done = subprocess.run(
            [str(ADMIN_BIN), *args], env=env, capture_output=True, text=True, timeout=COMMAND_SECONDS
        )
    except subprocess.TimeoutExpired as error:
        raise DemoError(f"mail2sms-admin {args[0]} did not finish within {COMMAND_SECONDS}s") from error
    if done.returncode != 0:
        raise DemoError(f"mail2sms-admin {' '.join(args[:2])} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def account_show(env: dict[str, str], login: str) -> dict:
    return json.loads(admin(env, "account", "show", login))


def messages_of(env: dict[str, str], login: str, limit: int = 20) -> list[dict]:
    out = admin(env, "messages", login, "--limit", str(limit))
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def record_of(env: dict[str, str], login: str, message_id: str) -> dict | None:
    return next((r for r in messages_of(env, login, 50) if r.get("message_id") == message_id), None)


# ---------------------------------------------------------------------------------------------
# A minimal Lambda Runtime API (what the Lambda service serves a custom runtime's bootstrap)
# ---------------------------------------------------------------------------------------------


@dataclass
class Invocation:
    request_id: str
    event: dict
    done: threading.Event = field(default_factory=threading.Event)
    response: object = None  # the function's answer, parsed
    error: dict | None = None  # or the error it reported: errorType, errorMessage


class RuntimeApi:
    """Serves /2018-06-01/runtime/... on 127.0.0.1 at a free port, one invocation at a time.

    GET .../invocation/next blocks until an event is queued, as in Lambda; the answer and
    errors the function posts are recorded on the invocation they belong to.
    """

    def __init__(self) -> None:
        self._pending: queue.Queue[Invocation] = queue.Queue()
        self._invocations: dict[str, Invocation] = {}
        self._stopping = threading.Event()
        self.init_error: dict | None = None
        self.first_poll: float | None = None  # when the function first asked for work: init is over
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="runtime-api", daemon=True)

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def submit(self, event: dict) -> Invocation:
        invocation = Invocation(request_id=str(uuid.uuid4()), event=event)
        self._invocations[invocation.request_id] = invocation
        self._pending.put(invocation)
        return invocation

    def next_invocation(self) -> Invocation | None:
        while not self._stopping.is_set():
            try:
                return self._pending.get(timeout=0.5)
            except queue.Empty:
                continue
        return None

    def complete(self, request_id: str, response: object = None, error: dict | None = None) -> bool:
        invocation = self._invocations.get(request_id)
        if invocation is None or invocation.done.is_set():
            return False
        invocation.response, invocation.error = response, error
        invocation.done.set()
        return True

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the runtime client expects
            # An answer's head and body go in two writes: without this, each waits for the
            # client's delayed acknowledgement (40 ms on Linux).
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
                pass

            def do_GET(self) -> None:
                if self.path != "/2018-06-01/runtime/invocation/next":
                    return self._reply(404, {"errorMessage": f"unknown path {self.path}"})
                if api.first_poll is None:
                    api.first_poll = time.monotonic()
                invocation = api.next_invocation()
                if invocation is None:  # shutting down: the container is going away
                    self.close_connection = True
                    return None
                deadline_ms = int((time.time() + INVOCATION_SECONDS) * 1000)
                self._reply(
                    200,
                    invocation.event,
                    {
                        "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                        "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
                        "Lambda-Runtime-Trace-Id": trace_id(),
                    },
                )

            def do_POST(self) -> None:
                body = self._read_body()
                if self.path == "/2018-06-01/runtime/init/error":
                    api.init_error = parse_json(body)
                    api._stopping.set()
                    return self._reply(202, {"status": "OK"})
                match = re.fullmatch(r"/2018-06-01/runtime/invocation/([^/]+)/(response|error)", self.path)
                if not match:
                    return self._reply(404, {"errorMessage": f"unknown path {self.path}"})
                request_id, kind = match.groups()
                answer = parse_json(body)
                known = api.complete(request_id, response=answer if kind == "response" else None,
                                     error=answer if kind == "error" else None)
                if not known:
                    return self._reply(400, {"errorMessage": f"unknown or finished request {request_id}"})
                self._reply(202, {"status": "OK"})

            def _read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    while self.rfile.readline().strip():  # trailers
                        pass
                    return b"".join(chunks)
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _reply(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:  # the function went away meanwhile
                    self.close_connection = True

        return Handler


def trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


def parse_json(body: bytes) -> object:
    try:
        return json.loads(body or b"null")
    except json.JSONDecodeError:
        return {"raw": body.decode("utf-8", "replace")}


class Function:
    """The function binary in a warm container: started once, fed events one at a time."""

    def __init__(self, env: dict[str, str]) -> None:
        self.api = RuntimeApi()
        self._env = env
        self._process: subprocess.Popen | None = None
        self._log = None
        self.started: float | None = None
        self.peak_rss_kib: int | None = None

    def __enter__(self) -> Function:
        self.api.start()
        env = {
            **self._env,
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAME,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_LAMBDA_LOG_FORMAT": "JSON",  # as the template's LoggingConfig sets it
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{FUNCTION_NAME}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{dt.date.today():%Y/%m/%d}/[$LATEST]{secrets.token_hex(16)}",
            "TZ": ":UTC",
        }
        self._log = open(FUNCTION_LOG, "wb")
        self.started = time.monotonic()
        self._process = subprocess.Popen([str(FUNCTION_BIN)], env=env, stdout=self._log, stderr=subprocess.STDOUT)
        return self

    def peak_rss_now(self) -> int | None:
        """The running process's peak resident memory so far (VmHWM, KiB)."""
        if self._process is None or self._process.poll() is not None:
            return None
        return peak_rss_kib(self._process.pid)

    def init_ms(self) -> float | None:
        """From exec to the first request for work: the container's init duration."""
        if self.started is None or self.api.first_poll is None:
            return None
        return (self.api.first_poll - self.started) * 1000

    def __exit__(self, *exc: object) -> None:
        if self._process is not None and self._process.poll() is None:
            self.peak_rss_kib = peak_rss_kib(self._process.pid)
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self.api.stop()
        if self._log:
            self._log.close()

    def invoke(self, event: dict) -> Invocation:
        """Queues the event and waits for the function's answer (or error), within bounds."""
        invocation = self.api.submit(event)
        limit = time.monotonic() + INVOCATION_SECONDS + WAIT_SLACK_SECONDS
        while not invocation.done.wait(timeout=0.1):
            if self.api.init_error is not None:
                raise DemoError(f"the function failed to start: {self.api.init_error}")
            code = self._process.poll()
            if code is not None:
                raise DemoError(f"the function exited with status {code}; its log:\n{log_tail()}")
            if time.monotonic() > limit:
                raise DemoError(f"the function did not answer within {INVOCATION_SECONDS + WAIT_SLACK_SECONDS}s")
        return invocation

    def outcome(self, event: dict) -> dict:
        """Invokes the function on one event and returns its one outcome (Outcome in src/pipeline.rs)."""
        invocation = self.invoke(event)
        if invocation.error is not None:
            raise DemoError(f"the function failed: {invocation.error.get('errorType')}: {invocation.error.get('errorMessage')}")
        outcomes = (invocation.response or {}).get("outcomes") or [{}]
        if len(outcomes) != 1:
            raise DemoError(f"one outcome expected, got {outcomes}")
        return outcomes[0]


def peak_rss_kib(pid: int) -> int | None:
    """The process's peak resident memory (VmHWM), as Lambda's "Max Memory Used" counts it."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def log_tail(lines: int = 20) -> str:
    try:
        return "\n".join(FUNCTION_LOG.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# ---------------------------------------------------------------------------------------------
# The emulator: what reached it
# ---------------------------------------------------------------------------------------------


@dataclass
class Sms:
    number: str
    text: str
    sender: str | None
    sms_type: str | None


@dataclass
class Reply:
    to: str
    subject: str
    in_reply_to: str | None
    auto_submitted: str | None
    text: str
    raw: bytes

    def expectation(self) -> dict:
        """The reply as an expectation file writes it."""
        return {"to": self.to, "subject": self.subject, "in_reply_to": self.in_reply_to,
                "auto_submitted": self.auto_submitted, "text": self.text}


@dataclass
class Traffic:
    sms: list[Sms]
    replies: list[Reply]

    @property
    def quiet(self) -> bool:
        return not self.sms and not self.replies


class Emulator:
    """Reads what the emulator served from its request recorder, in the order served.

    The recording file may be shared with other emulators (it is per checkout): only requests
    to this emulator (their Host) count, from the demo's start on.
    """

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.host = urllib.parse.urlsplit(self.endpoint).netloc
        self._seen = len(self._requests())

    def _requests(self) -> list[dict]:
        url = f"{self.endpoint}/moto-api/recorder/download-recording"
        try:
            with urllib.request.urlopen(url, timeout=COMMAND_SECONDS) as response:
                text = response.read().decode("utf-8", "replace")
        except OSError as error:
            raise DemoError(f"cannot read the emulator's recording at {url}: {error}") from error
        entries = []
        for line in text.splitlines():
            if self.host not in line:  # another emulator's request: skip it unparsed
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            headers = {k.lower(): v for k, v in (entry.get("headers") or {}).items()}
            if headers.get("host") == self.host:
                entries.append(entry)
        return entries

    @contextlib.contextmanager
    def unrecorded(self):
        """Requests made meanwhile are left out of the recording. The recorder keeps request
        bodies and every read of the traffic downloads the whole recording: a 39 MB upload is
        stored unrecorded (the function only reads, so nothing it sends is missed)."""
        self._recorder("stop-recording")
        try:
            yield
        finally:
            self._recorder("start-recording")

    def _recorder(self, action: str) -> None:
        url = f"{self.endpoint}/moto-api/recorder/{action}"
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=COMMAND_SECONDS) as response:
                response.read()
        except OSError as error:
            raise DemoError(f"cannot {action.replace('-', ' ')} on the emulator at {url}: {error}") from error

    def new_traffic(self) -> Traffic:
        """The SMS and replies sent since the last call."""
        entries = self._requests()
        fresh, self._seen = entries[self._seen :], len(entries)
        sms = [s for s in map(sms_of, fresh) if s]
        replies = [r for r in map(reply_of, fresh) if r]
        return Traffic(sms, replies)


def body_of(entry: dict) -> bytes:
    body = entry.get("body") or ""
    return base64.b64decode(body) if entry.get("body_encoded") else body.encode()


def sms_of(entry: dict) -> Sms | None:
    """An SNS Publish to a phone number (form-encoded query API)."""
    if entry.get("method") != "POST":
        return None
    fields = dict(urllib.parse.parse_qsl(body_of(entry).decode("utf-8", "replace"), keep_blank_values=True))
    if fields.get("Action") != "Publish" or "PhoneNumber" not in fields:
        return None
    attributes = {}
    for name, value in fields.items():
        if m := re.fullmatch(r"MessageAttributes\.entry\.(\d+)\.Name", name):
            attributes[value] = fields.get(f"MessageAttributes.entry.{m.group(1)}.Value.StringValue")
    return Sms(fields["PhoneNumber"], fields.get("Message", ""), attributes.get("AWS.SNS.SMS.SenderID"),
               attributes.get("AWS.SNS.SMS.SMSType"))


def reply_of(entry: dict) -> Reply | None:
    """An email sent through SES v2 SendEmail with raw content."""
    if "/v2/email/outbound-emails" not in (entry.get("url") or ""):
        return None
    request = json.loads(body_of(entry))
    raw = base64.b64decode(request["Content"]["Raw"]["Data"])
    message = email.message_from_bytes(raw, policy=email.policy.default)
    part = message.get_body(("plain",))
    addresses = message["To"].addresses if message["To"] else ()
    return Reply(
        to=addresses[0].addr_spec if addresses else None,
        subject=str(message["Subject"]),
        in_reply_to=message["In-Reply-To"] and str(message["In-Reply-To"]),
        auto_submitted=message["Auto-Submitted"] and str(message["Auto-Submitted"]),
        text=part.get_content().replace("\r\n", "\n") if part else "",
        raw=raw,
    )


# ---------------------------------------------------------------------------------------------
# Samples and their expectations
# ---------------------------------------------------------------------------------------------


def ses_message_id() -> str:
    """A fresh id shaped like SES's: 40 lowercase letters and digits."""
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(40))


@dataclass
class Sample:
    """One sample email, ready to be received, and what it must give."""

    name: str
    note: str
    raw: bytes  # as stored: placeholders filled in, CRLF line endings
    login: str  # the login of the account it is sent from
    expected: dict  # its .expected.json, placeholders filled in, without its account
    message_id: str = field(default_factory=ses_message_id)

    @property
    def headers(self) -> email.message.EmailMessage:
        """The header fields only (a 39 MB email's body is not parsed again for them)."""
        head = self.raw.partition(b"\r\n\r\n")[0] + b"\r\n\r\n"
        return email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(head)

    @property
    def cost(self) -> int:
        return self.expected.get("cost", 0)


def split_note(text: str) -> tuple[str, str]:
    """The X-Demo-Note header lines at the top of a sample (folded lines included), and the rest."""
    lines = text.splitlines(keepends=True)
    note: list[str] = []
    while lines and (lines[0].startswith("X-Demo-Note:") or (note and lines[0][:1] in (" ", "\t"))):
        note.append(lines.pop(0).removeprefix("X-Demo-Note:").strip())
    return " ".join(note), "".join(lines)


def read_expectations() -> dict[str, dict]:
    """events/emails/<name>.expected.json by name, in name order: one beside each <name>.eml."""
    emails = {path.stem for path in EMAILS_DIR.glob("*.eml")}
    files = {path.name.removesuffix(".expected.json"): path for path in EMAILS_DIR.glob("*.expected.json")}
    if emails != set(files):
        raise DemoError(f"events/emails: emails without expectations {sorted(emails - set(files))}, "
                        f"expectations without an email {sorted(set(files) - emails)}")
    expectations = {}
    for name in sorted(files):
        try:
            expectations[name] = json.loads(files[name].read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise DemoError(f"{files[name].name}: {error}") from error
    return expectations


def accounts_of(expectations: dict[str, dict]) -> dict[str, dict]:
    """The accounts the samples are sent from, by login (login, credits, sender, and the
    placeholder its API key fills in), as their expectations describe them, alike."""
    accounts: dict[str, dict] = {}
    for name, expected in expectations.items():
        account = expected.get("account") or {}
        if not account.get("login") or not account.get("key"):
            raise DemoError(f"{name}.expected.json: an account needs a login and a key placeholder: {account}")
        known = accounts.setdefault(account["login"], account)
        if known != account:
            raise DemoError(f"{name}.expected.json describes account {account['login']} as {account}, "
                            f"another sample as {known}")
    return accounts


def load_samples(expectations: dict[str, dict], values: dict[str, str]) -> list[Sample]:
    """The sample emails and their expectations, `values` filling in their placeholders."""
    def fill(text: str, where: str) -> str:
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        if leftover := PLACEHOLDER.search(text):
            raise DemoError(f"{where}: unknown placeholder {leftover.group()}")
        return text

    samples = []
    for name, expected in expectations.items():
        note, text = split_note((EMAILS_DIR / f"{name}.eml").read_text(encoding="utf-8"))
        raw = fill(text, f"{name}.eml").replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
        expected = json.loads(fill(json.dumps(expected), f"{name}.expected.json"))
        login = expected.pop("account")["login"]
        samples.append(Sample(name, note, raw, login, expected))
    return samples


def one(items: list) -> object:
    """The one item of a list as itself, none as None, several as the list."""
    return None if not items else items[0] if len(items) == 1 else items


def observed(outcome: dict, traffic: Traffic, record: dict | None, cost: int) -> dict:
    """What became of an email, in the shape of its expectation file (tests/it/samples.rs builds
    the same from the gateway in process): the outcome, the SMS and reply that reached the
    emulator, the record's parts, encoding, numbers dropped and local time, the credits spent."""
    got = {
        "outcome": outcome.get("outcome"),
        "sms": sorted(({"to": sms.number, "sender": sms.sender} for sms in traffic.sms), key=lambda sms: sms["to"]),
        "cost": cost,
        "reply": one([reply.expectation() for reply in traffic.replies]),
    }
    if got["outcome"] == "rejected":
        got["status"] = outcome.get("status")
    elif got["outcome"] in ("sent", "scheduled"):
        record = record or {}
        got["text"] = one(sorted({sms.text for sms in traffic.sms}))
        got["parts"] = record.get("parts")
        got["encoding"] = record.get("encoding")
        got["dropped"] = record.get("dropped", [])
        if got["outcome"] == "scheduled":
            got["scheduled"] = {"local_date": record.get("local_date"), "timezone": record.get("timezone")}
    return got


def matches(wanted: object, got: object) -> bool:
    """Equal; a dict matches one holding at least its keys, each matching."""
    if isinstance(wanted, dict) and isinstance(got, dict):
        return all(key in got and matches(value, got[key]) for key, value in wanted.items())
    return wanted == got


def check_expected(name: str, expected: dict, got: dict) -> None:
    """One check per field of the expectation or of what came (a field on one side only breaks it)."""
    for key in sorted(set(expected) | set(got)):
        wanted, had = expected.get(key, "(absent)"), got.get(key, "(absent)")
        CHECKS.expect(matches(wanted, had), f"{name}: {key} {json.dumps(had, ensure_ascii=False)}, "
                                            f"expected {json.dumps(wanted, ensure_ascii=False)}")


def ses_event(message_id: str) -> dict:
    """The SES receipt-rule event of events/ses-event.json, for this message id."""
    event = json.loads(SES_EVENT.read_text())
    event["Records"][0]["ses"]["mail"]["messageId"] = message_id
    return event


def large_attachment(size: int) -> bytes:
    """About `size` bytes of a base64 attachment body: 76-character lines of pseudo-random bytes
    (fixed seed), CRLF-terminated, as mail clients write them."""
    lines = max(1, size // 78)
    encoded = base64.b64encode(random.Random(40).randbytes(lines * 57))
    return b"".join(encoded[i : i + 76] + b"\r\n" for i in range(0, len(encoded), 76))


def large_email(name: str, login: str, key: str, sender: str, message_id: str, text: str, attachment: bytes,
                expected: dict) -> Sample:
    """A multipart/mixed email: `text` as its first part, then `attachment` as a PDF."""
    boundary = f"=_demo_{secrets.token_hex(12)}"
    head = "\r\n".join([
        "MIME-Version: 1.0",
        f"Date: {email.utils.format_datetime(dt.datetime.now(dt.timezone.utc))}",
        f"Message-ID: {message_id}",
        f"Subject: {login}@{key}|{LARGE_SUBJECT_NUMBER}",
        f"From: {sender}",
        "To: mail2sms@sms.example.com",
        f'Content-Type: multipart/mixed; boundary="{boundary}"',
        "",
        f"--{boundary}",
        'Content-Type: text/plain; charset="UTF-8"',
        "Content-Transfer-Encoding: 8bit",
        "",
        text,
        f"--{boundary}",
        'Content-Type: application/pdf; name="catalogue-2027.pdf"',
        'Content-Disposition: attachment; filename="catalogue-2027.pdf"',
        "Content-Transfer-Encoding: base64",
        "",
        "",
    ]).encode("utf-8")
    tail = f"--{boundary}--\r\n".encode()
    raw = head + attachment + tail
    note = (f"{len(raw) / 1e6:.1f} MB: a text/plain part of {len(text.encode())} bytes, then a "
            f"{len(attachment) / 1e6:.1f} MB base64 attachment.")
    return Sample(name, note, raw, login, expected)


def plain_email(name: str, note: str, login: str, key: str, sender: str, numbers: str, text: str,
                expected: dict) -> Sample:
    """A one-part text/plain email from `sender` to `numbers` (as written in a subject)."""
    message_id = f"<{secrets.token_hex(12)}@mail.example.com>"
    raw = "\r\n".join([
        "MIME-Version: 1.0",
        f"Date: {email.utils.format_datetime(dt.datetime.now(dt.timezone.utc))}",
        f"Message-ID: {message_id}",
        f"Subject: {login}@{key}|{numbers}",
        f"From: {sender}",
        "To: mail2sms@sms.example.com",
        'Content-Type: text/plain; charset="UTF-8"',
        "Content-Transfer-Encoding: 8bit",
        "",
        text,
        "",
    ]).encode("utf-8")
    return Sample(name, note, raw, login, expected)


def contact_list_csv() -> tuple[list[str], list[str], dict[int, tuple[str, str]]]:
    """The contact list's file: a header, then LIST_SIZE numbers (national with spaces, E.164,
    international with 00, in turn), each with a name, LIST_REFUSED's lines among them. The
    numbers the list must keep (E.164, in order), the file's lines, and the lines to refuse by
    line number (from 1): their first column and a word of the reason."""
    numbers: list[str] = []
    lines = ["numero;nom"]
    refused: dict[int, tuple[str, str]] = {}
    inserted = {index: (column, name, word) for index, column, name, word in LIST_REFUSED}
    for i in range(LIST_SIZE):
        if i in inserted:
            column, name, word = inserted[i]
            lines.append(f"{column};{name}")
            refused[len(lines)] = (column, word)
        significant = str(LIST_FIRST + i)
        national = "0" + significant
        written = (" ".join(national[j : j + 2] for j in range(0, 10, 2)), f"+33{significant}",
                   f"0033 {significant}")[i % 3]
        lines.append(f"{written};Client {i + 1:04d}")
        numbers.append(f"+33{significant}")
    return numbers, lines, refused


def gateway_constant(name: str) -> int:
    """A `pub const NAME: usize` of src/domain/message.rs (MAX_RECORD_RECIPIENTS, PART_RECIPIENTS):
    what the gateway does with a large email, read where it is decided."""
    text = (ROOT / "src" / "domain" / "message.rs").read_text(encoding="utf-8")
    if not (match := re.search(rf"pub const {name}: usize = ([0-9_]+);", text)):
        raise DemoError(f"src/domain/message.rs: no `pub const {name}: usize`")
    return int(match.group(1).replace("_", ""))


def sqs_event(message: dict, queue_arn: str) -> dict:
    """The event Lambda's SQS event source mapping invokes the function with for one queue
    message (the template's batch size: 1), from the message as ReceiveMessage gave it."""
    attributes = message.get("Attributes") or {}
    return {"Records": [{
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {name: attributes[name] for name in
                       ("ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp")
                       if name in attributes},
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }]}


def now_ms() -> int:
    return int(time.time() * 1000)


def sns_delivery_event(decoded: Path, provider_id: str, number: str, status: str, response: str) -> dict:
    """The CloudWatch Logs subscription event of one SNS delivery-status line: `decoded`'s payload
    (its log group, stream and filter), its one line about `provider_id` sent to `number`, now."""
    payload = json.loads(decoded.read_text(encoding="utf-8"))
    entry = payload["logEvents"][0]
    line = json.loads(entry["message"])
    at = dt.datetime.now(dt.timezone.utc)
    line["notification"] = {"messageId": provider_id, "timestamp": f"{at:%Y-%m-%d %H:%M:%S}.{at.microsecond // 1000:03d}"}
    line["delivery"].update({"destination": number, "providerResponse": response, "numberOfMessageParts": TRACKED_PARTS})
    line["status"] = status
    entry.update({"id": str(secrets.randbelow(10**56)).zfill(56), "timestamp": now_ms(), "message": line})
    payload["logEvents"] = [entry]
    return json.loads(awslogs_event.event_text(payload))


def eum_delivery_event(message_id: str, index: int, number: str, sender: str) -> dict:
    """events/eum-delivered.json for the recipient at `index` of `message_id`, now: the context its
    SMS carried names them; the provider's own message id is End User Messaging's, not ours."""
    event = json.loads(EUM_DELIVERED.read_text(encoding="utf-8"))
    now = dt.datetime.now(dt.timezone.utc)
    event.update({"id": str(uuid.uuid4()), "time": f"{now:%Y-%m-%dT%H:%M:%SZ}"})
    event["detail"].update({
        "eventTimestamp": now_ms(),
        "messageRequestTimestamp": now_ms() - 4000,
        "originationPhoneNumber": sender,
        "destinationPhoneNumber": number,
        "messageId": str(uuid.uuid4()),
        "context": {"mail2sms_message_id": message_id, "mail2sms_recipient": str(index)},
    })
    return event


def template_memory_mb() -> int | None:
    """MemorySize of the function in template.yaml: its Mail2SmsFunction resource's, else the
    Globals' (read line by line: the template's !Ref tags are not plain YAML)."""
    try:
        lines = (ROOT / "template.yaml").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    found: dict[str, int] = {}
    path: list[tuple[int, str]] = []
    for line in lines:
        match = re.match(r"^( *)([A-Za-z0-9_]+):\s*(\S*)", line)
        if not match or line.lstrip().startswith("#"):
            continue
        indent, key, value = len(match.group(1)), match.group(2), match.group(3)
        while path and path[-1][0] >= indent:
            path.pop()
        path.append((indent, key))
        keys = "/".join(k for _, k in path)
        if key == "MemorySize" and value.isdigit():
            found[keys] = int(value)
    return found.get("Resources/Mail2SmsFunction/Properties/MemorySize", found.get("Globals/Function/MemorySize"))




# ---------------------------------------------------------------------------------------------
# The demo
# ---------------------------------------------------------------------------------------------


class Demo:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.emulator = Emulator(env["AWS_ENDPOINT_URL"])
        boto = BotoConfig(connect_timeout=5, read_timeout=COMMAND_SECONDS, retries={"max_attempts": 2},
                          s3={"addressing_style": "path"})
        self.s3 = boto3.client("s3", config=boto)
        self.scheduler = boto3.client("scheduler", config=boto)
        self.sqs = boto3.client("sqs", config=boto)
        self.expectations = read_expectations()
        self.accounts = accounts_of(self.expectations)  # login -> what the expectations say of it
        self.keys: dict[str, str] = {}  # the accounts' API keys, by login
        self.hidden: list[str] = []  # the keys the report hides: the accounts', a stranger's
        self.credits_before: dict[str, int] = {}
        self.samples: list[Sample] = []
        self.large: list[Sample] = []  # the 39 MB emails, once sent (their raw cut to the headers)
        self.tracked: list[Sample] = []  # the delivery-status section's emails, once sent
        self.refunded: dict[str, int] = {}  # credits given back for failed deliveries, by login
        self.added: dict[str, int] = {}  # credits the operator added on the way, by login
        self.listed: list[Sample] = []  # the contact list's section's emails, once sent
        self.list_numbers: list[str] = []  # the contact list's numbers, E.164, as imported
        self.parts_queue_url = ""
        self.sent_texts: list[str] = []
        self.due = f"{dt.date.today() + dt.timedelta(days=2):%Y-%m-%d} 09:30:00"  # {{DUE}}

    # -- setup --------------------------------------------------------------------------------

    def setup(self) -> None:
        say("Setup")
        say(f"  AWS emulator (moto) at {self.env['AWS_ENDPOINT_URL']}, region {self.env.get('AWS_REGION')}")
        for line in admin(self.env, "bootstrap").splitlines():
            say(f"  {line}")
        # The template's PartsQueue: its URL joins the environment the function starts with.
        self.parts_queue_url = self.sqs.create_queue(
            QueueName=PARTS_QUEUE, Attributes={"VisibilityTimeout": str(PARTS_VISIBILITY_SECONDS)})["QueueUrl"]
        self.env["PARTS_QUEUE_URL"] = self.parts_queue_url
        say(f"  parts queue {PARTS_QUEUE}: created (visibility timeout {PARTS_VISIBILITY_SECONDS} s), "
            f"its URL the function's PARTS_QUEUE_URL")
        for login, account in self.accounts.items():
            sender = account.get("sender")
            args = ["account", "create", login, "--credits", str(account.get("credits", 0))]
            key = admin(self.env, *args, *(["--sender", sender] if sender else [])).strip()
            if not re.fullmatch(r"[0-9a-f]{32,}", key):
                raise DemoError(f"account create {login} did not print a key")
            self.keys[login] = key
            self.hidden.append(key)
            say(f"  account {login} created, its API key fills in {account['key']} "
                f"({account.get('credits', 0)} credits, sender {sender or '(none)'})")
        self.credits_before = self.credits()
        for login in self.accounts:
            account = account_show(self.env, login)
            say(f"  account show {login}: {json.dumps({k: account[k] for k in ('login', 'credits', 'sender', 'timezone', 'suspended')})}")
        values = {account["key"]: self.keys[login] for login, account in self.accounts.items()}
        values["{{DUE}}"] = self.due
        self.samples = load_samples(self.expectations, values)
        say()

    def credits(self) -> dict[str, int]:
        return {login: account_show(self.env, login)["credits"] for login in self.accounts}

    def without_keys(self, text: str) -> str:
        """`text` with the API keys of the accounts and of the stranger hidden."""
        for key in self.hidden:
            text = text.replace(key, "‹key›")
        return text

    # -- one sample ---------------------------------------------------------------------------

    def store(self, sample: Sample) -> None:
        key = CONFIG["INBOUND_PREFIX"] + sample.message_id
        if len(sample.raw) > 1024 * 1024:
            with self.emulator.unrecorded():
                self.s3.put_object(Bucket=CONFIG["INBOUND_BUCKET"], Key=key, Body=sample.raw)
        else:
            self.s3.put_object(Bucket=CONFIG["INBOUND_BUCKET"], Key=key, Body=sample.raw)

    def run_sample(self, function: Function, sample: Sample, blank_line: bool = True) -> None:
        """Receives the sample, shows what came of it and checks that against its expectations."""
        headers = sample.headers
        say(f"── {sample.name}.eml " + "─" * max(0, 76 - len(sample.name)))
        if sample.note:
            say(textwrap.fill(sample.note, WIDTH, initial_indent="  ", subsequent_indent="  "))
        say(f"  From: {headers['From']}")
        say(f"  Subject: {self.without_keys(str(headers['Subject']))}")
        self.store(sample)
        before = self.credits()
        outcome = function.outcome(ses_event(sample.message_id))
        traffic = self.emulator.new_traffic()
        kind = outcome.get("outcome")
        record = record_of(self.env, sample.login, sample.message_id) if kind in ("sent", "scheduled") else None
        if kind == "scheduled":
            traffic, record = self.fire_schedule(function, sample, outcome, traffic, record or {})
        after = self.credits()
        cost = before.get(sample.login, 0) - after.get(sample.login, 0)
        others = {login: (before[login], after[login]) for login in before if login != sample.login}
        got = observed(outcome, traffic, record, cost)
        self.show(outcome, got)
        check_expected(sample.name, sample.expected, got)
        CHECKS.expect(all(b == a for b, a in others.values()), f"{sample.name}: other accounts' credits moved: {others}")
        if blank_line:
            say()

    def show(self, outcome: dict, got: dict) -> None:
        """What came of an email, as the report shows it."""
        if got["outcome"] == "rejected":
            reply = got["reply"] if isinstance(got["reply"], dict) else None
            say(f"  → rejected with status {got.get('status')}, error reply {outcome.get('reply')}")
            if reply:
                say(f"    reply to {reply['to']}: {reply['subject']}")
                for line in reply["text"].rstrip("\n").split("\n"):
                    say(textwrap.fill(line, WIDTH, initial_indent="      ", subsequent_indent="        ") or "")
            return
        if got["outcome"] not in ("sent", "scheduled"):
            say(f"  → {got['outcome']}: {json.dumps(outcome)}")
            return
        say(f"  → {len(got['sms'])} SMS sent, {plural(got['cost'], 'credit')} spent")
        for sms in got["sms"]:
            say(f"    SMS to {sms['to']:<16} sender {sms['sender'] or '(none)':<9} "
                f"{plural(got.get('parts'), 'part')}, {got.get('encoding')}")
        for dropped in got.get("dropped", []):
            say(f"    dropped {dropped.get('input')!r} ({dropped.get('reason')})")
        texts = got.get("text")
        for text in texts if isinstance(texts, list) else [texts] if texts else []:
            self.sent_texts.append(text)
            say(show_text(text))

    def fire_schedule(self, function: Function, sample: Sample, outcome: dict, traffic: Traffic,
                      record: dict) -> tuple[Traffic, dict | None]:
        """Shows the schedule a scheduled email got and fires it, twice (EventBridge delivers at
        least once). What was sent from the email's reception to the first firing, and the record."""
        name = record.get("schedule_name") or f"mail2sms-{sample.message_id}"
        say(f"  → scheduled, due {outcome.get('due_at')}; {plural(record.get('cost', 0), 'credit')} debited now")
        say(f"    record: state {record.get('state')}, local time {record.get('local_date')} {record.get('timezone')}, "
            f"due {record.get('due_at')}")
        schedule = self.scheduler.get_schedule(Name=name, GroupName=CONFIG["SCHEDULE_GROUP"])
        target = schedule.get("Target", {})
        say(f"    schedule {name} in group {CONFIG['SCHEDULE_GROUP']}:")
        say(f"      {schedule.get('ScheduleExpression')} ({schedule.get('ScheduleExpressionTimezone')}), "
            f"then {schedule.get('ActionAfterCompletion')}, target {target.get('Arn', '').rsplit(':', 1)[-1]}, "
            f"input {target.get('Input')}")
        say(f"    sent so far: {len(traffic.sms)} SMS")
        CHECKS.expect(record.get("state") == "scheduled", f"{sample.name}: record state {record.get('state')}")
        CHECKS.expect(traffic.quiet, f"{sample.name}: something was sent before the due time")
        CHECKS.expect(json.loads(target.get("Input") or "{}") == {"scheduled_send": sample.message_id},
                      f"{sample.name}: schedule input {target.get('Input')}")
        CHECKS.expect(target.get("Arn") == FUNCTION_ARN and target.get("RoleArn") == CONFIG["SCHEDULER_ROLE_ARN"],
                      f"{sample.name}: schedule target {target.get('Arn')} / role {target.get('RoleArn')}")
        due = dt.datetime.fromisoformat(record.get("due_at", "1970-01-01T00:00:00Z").replace("Z", "+00:00"))
        CHECKS.expect(schedule.get("ScheduleExpression") == f"at({due:%Y-%m-%dT%H:%M:%S})"
                      and schedule.get("ScheduleExpressionTimezone") == "UTC",
                      f"{sample.name}: schedule expression {schedule.get('ScheduleExpression')}")

        say("  The schedule fires: the function is invoked with the schedule's own Input")
        fired = function.outcome(json.loads(target["Input"]))
        sent = self.emulator.new_traffic()
        CHECKS.expect(fired.get("outcome") == "sent", f"{sample.name}: the schedule fired, giving {fired.get('outcome')}")
        record = record_of(self.env, sample.login, sample.message_id)
        say("  It fires again (EventBridge delivers at least once)")
        again = function.outcome(json.loads(target["Input"]))
        quiet = self.emulator.new_traffic()
        say(f"  → {again.get('outcome')}: {'nothing sent' if quiet.quiet else f'{len(quiet.sms)} SMS sent'}")
        CHECKS.expect(again.get("outcome") == "nothing_due", f"{sample.name}: second firing gave {again.get('outcome')}")
        CHECKS.expect(quiet.quiet, f"{sample.name}: the second firing sent something")
        say("  (In AWS, EventBridge Scheduler invokes the function with this Input at the due time, then deletes the schedule.)")
        say("  What the first firing sent:")
        return Traffic(traffic.sms + sent.sms, traffic.replies + sent.replies), record

    # -- idempotency ---------------------------------------------------------------------------

    def redeliver(self, function: Function) -> None:
        say("Second deliveries (SES and Lambda deliver at least once)")
        by_name = {s.name: s for s in self.samples}
        for name in REDELIVERED:
            sample = by_name[name]
            credits = self.credits()
            outcome = function.outcome(ses_event(sample.message_id))
            traffic = self.emulator.new_traffic()
            after = self.credits()
            sent = "nothing sent" if traffic.quiet else f"{len(traffic.sms)} SMS and {len(traffic.replies)} replies sent"
            say(f"  {name}.eml again → {outcome.get('outcome')} (state {outcome.get('state')}): {sent}, "
                f"credits {'unchanged' if after == credits else f'{credits} → {after}'}")
            CHECKS.expect(outcome.get("outcome") == "duplicate", f"{name} again: outcome {outcome.get('outcome')}")
            CHECKS.expect(traffic.quiet, f"{name} again: something was sent again")
            CHECKS.expect(after == credits, f"{name} again: credits went from {credits} to {after}")
        say()

    # -- delivery status and receipts ---------------------------------------------------------

    def delivery_status(self, function: Function) -> None:
        """The providers' delivery events, through the function: SNS's delivery-status logs move
        a two-number message's recipients to delivered and failed (refunded), its receipt goes
        out; an End User Messaging event delivers a third SMS, and again changes nothing."""
        say("Delivery status and receipts: the providers' delivery events reach the same function")
        say()
        key = admin(self.env, "account", "create", TRACKED_LOGIN, "--credits", str(TRACKED_CREDITS),
                    "--sender", TRACKED_SENDER).strip()
        if not re.fullmatch(r"[0-9a-f]{32,}", key):
            raise DemoError(f"account create {TRACKED_LOGIN} did not print a key")
        self.keys[TRACKED_LOGIN] = key
        self.hidden.append(key)
        self.accounts[TRACKED_LOGIN] = {"login": TRACKED_LOGIN, "credits": TRACKED_CREDITS, "sender": TRACKED_SENDER}
        self.credits_before[TRACKED_LOGIN] = TRACKED_CREDITS
        self.refunded[TRACKED_LOGIN] = 0
        say(f"  mail2sms-admin account create {TRACKED_LOGIN} --credits {TRACKED_CREDITS} --sender {TRACKED_SENDER}")
        say(f"  mail2sms-admin account update {TRACKED_LOGIN} --receipts all")
        say(f"    {admin(self.env, 'account', 'update', TRACKED_LOGIN, '--receipts', 'all').strip()}")
        account = account_show(self.env, TRACKED_LOGIN)
        say(f"  account show {TRACKED_LOGIN}: "
            f"{json.dumps({k: account.get(k) for k in ('login', 'credits', 'sender', 'receipts')})}")
        CHECKS.expect(account.get("receipts") == "all", f"{TRACKED_LOGIN}: receipts {account.get('receipts')}, expected all")
        say()
        self.sns_deliveries(function, key)
        self.eum_delivery(function, key)

    def send_tracked(self, function: Function, sample: Sample) -> dict:
        """Sends one of the section's emails as a sample; its record, each recipient `sent`."""
        self.run_sample(function, sample, blank_line=False)
        self.tracked.append(sample)
        record = record_of(self.env, sample.login, sample.message_id)
        if record is None:
            raise DemoError(f"{sample.name}: no record of message {sample.message_id}")
        self.show_recipients(record)
        for recipient in record.get("recipients", []):
            CHECKS.expect(recipient.get("delivery") == "sent" and bool(recipient.get("provider_id")),
                          f"{sample.name}: {recipient.get('number')} is {recipient.get('delivery')} "
                          f"with provider id {recipient.get('provider_id')}, expected sent with one")
        return record

    def show_recipients(self, record: dict) -> None:
        """A message's recipients as `mail2sms-admin messages` prints them, one or two lines each."""
        closed = (f"closed {record['closed_at']}, receipt {record.get('receipt') or '-'}" if record.get("closed_at")
                  else "open")
        say(f"  mail2sms-admin messages {record.get('login') or TRACKED_LOGIN}: message {record.get('state')}, "
            f"{plural(record.get('refunded', 0), 'credit')} refunded, {closed}")
        for recipient in record.get("recipients", []):
            say(f"    {recipient.get('number'):<13} {recipient.get('delivery'):<9} "
                f"provider_id {recipient.get('provider_id') or '-'}  refunded: {json.dumps(recipient.get('refunded'))}")
            known = [f"{name} {json.dumps(recipient[name], ensure_ascii=False)}"
                     for name in ("reason", "changed_at", "price") if recipient.get(name)]
            if known:
                say(f"    {'':<13} {'':<9} {', '.join(known)}")

    def deliver_event(self, function: Function, name: str, event: dict, message_id: str, delivery: str,
                      changed: bool, refunded: int) -> tuple[dict, Traffic]:
        """Invokes the function with a delivery event; shows and checks its answer. Its answer,
        and what it sent."""
        outcome = function.outcome(event)
        traffic = self.emulator.new_traffic()
        answer = {k: v for k, v in outcome.items() if k != "message_id"}
        say(f"  → the function answers {json.dumps(answer)}")
        wanted = {"outcome": "reported", "message_id": message_id, "delivery": delivery, "changed": changed,
                  "refunded": refunded}
        CHECKS.expect(outcome == wanted, f"{name}: the function answered {json.dumps(outcome)}, expected {json.dumps(wanted)}")
        CHECKS.expect(not traffic.sms, f"{name}: {len(traffic.sms)} SMS sent")
        return outcome, traffic

    def sns_deliveries(self, function: Function, key: str) -> None:
        first, second = TRACKED_NUMBERS
        sender = email.utils.parseaddr(TRACKED_FROM)[1]
        cost = TRACKED_PARTS * len(TRACKED_NUMBERS)
        expected = {"outcome": "sent", "sms": [{"to": n, "sender": TRACKED_SENDER} for n in TRACKED_NUMBERS],
                    "text": TRACKED_TEXT, "parts": TRACKED_PARTS, "encoding": "gsm7", "dropped": [], "cost": cost,
                    "reply": None}
        sample = plain_email("tracked-sns", f"Two numbers, sent through SNS (SMS_PROVIDER=sns); the account wants "
                             f"every receipt, so its sender {sender} will get one once both fates are known.",
                             TRACKED_LOGIN, key, TRACKED_FROM, TRACKED_SUBJECT_NUMBERS, TRACKED_TEXT, expected)
        record = self.send_tracked(function, sample)
        ids = {r.get("number"): r.get("provider_id") for r in record.get("recipients", [])}
        if set(ids) != set(TRACKED_NUMBERS):
            raise DemoError(f"{sample.name}: recipients {sorted(ids)}, expected {list(TRACKED_NUMBERS)}")
        say()

        say("  SNS logs each SMS's fate to CloudWatch Logs; each log group's subscription filter hands the function")
        say(f"  the lines ({shown(Path(awslogs_event.__file__))}, in the shape of events/sns-delivery-logs*.decoded.json):")
        steps = (
            (SNS_DELIVERY_LOG, first, "SUCCESS", "Message has been accepted by phone carrier", "delivered", 0),
            (SNS_FAILURE_LOG, second, "FAILURE", FAILURE_RESPONSE, "failed", TRACKED_PARTS),
        )
        for decoded, number, status, response, delivery, refund in steps:
            group = json.loads(decoded.read_text(encoding="utf-8"))["logGroup"]
            event = sns_delivery_event(decoded, ids[number], number, status, response)
            say()
            say(f"  {group}:")
            say(f"    {status} for {number}, messageId {ids[number]}: \"{response}\"")
            before = account_show(self.env, TRACKED_LOGIN)["credits"]
            _, traffic = self.deliver_event(function, f"{sample.name} {status}", event, sample.message_id, delivery,
                                            True, refund)
            after = account_show(self.env, TRACKED_LOGIN)["credits"]
            say(f"  credits of {TRACKED_LOGIN}: {before} → {after}"
                + (f" (the failed SMS's {plural(after - before, 'part')} refunded: \"{response}\" is a definitive failure)"
                   if after != before else " (unchanged)"))
            CHECKS.expect(after - before == refund, f"{sample.name} {status}: credits {before} → {after}, expected +{refund}")
            self.refunded[TRACKED_LOGIN] += refund
            record = record_of(self.env, TRACKED_LOGIN, sample.message_id) or {}
            self.show_recipients(record)
            by_number = {r.get("number"): r for r in record.get("recipients", [])}
            CHECKS.expect(by_number.get(number, {}).get("delivery") == delivery,
                          f"{sample.name}: {number} is {by_number.get(number, {}).get('delivery')}, expected {delivery}")
            if refund:
                failed = by_number.get(number, {})
                CHECKS.expect(record.get("refunded") == refund and record.get("receipt") == "sent"
                              and bool(record.get("closed_at")),
                              f"{sample.name}: record refunded {record.get('refunded')}, closed_at "
                              f"{record.get('closed_at')}, receipt {record.get('receipt')}: expected {refund}, a time, sent")
                CHECKS.expect(failed.get("refunded") is True and failed.get("reason") == FAILURE_RESPONSE,
                              f"{sample.name}: {number} refunded {failed.get('refunded')}, reason {failed.get('reason')!r}")
                CHECKS.expect(by_number.get(first, {}).get("delivery") == "delivered",
                              f"{sample.name}: {first} is now {by_number.get(first, {}).get('delivery')}")
                self.show_receipt(sample, traffic, sender, cost, refund,
                                  {first: "délivré", second: "échec"})
            else:
                CHECKS.expect(by_number.get(second, {}).get("delivery") == "sent",
                              f"{sample.name}: {second} is {by_number.get(second, {}).get('delivery')} before its event")
                say(f"  no receipt yet: {second}'s fate is not known" if not traffic.replies
                    else f"  !! {len(traffic.replies)} email(s) sent before every fate was known")
                CHECKS.expect(not traffic.replies, f"{sample.name}: a receipt went out before every fate was known")
        say()

    def show_receipt(self, sample: Sample, traffic: Traffic, to: str, cost: int, refunded: int,
                     fates: dict[str, str]) -> None:
        """The receipt the message's close sent (SES v2 SendEmail, from the emulator's recording)."""
        say(f"  Every fate known: the message is closed, its receipt sent through SES v2 "
            f"({plural(len(traffic.replies), 'email')}):")
        if len(traffic.replies) != 1:
            CHECKS.expect(False, f"{sample.name}: {len(traffic.replies)} receipts sent, expected one")
            return
        receipt = traffic.replies[0]
        say(f"    To: {receipt.to}")
        say(f"    Subject: {receipt.subject}")
        say(f"    In-Reply-To: {receipt.in_reply_to}")
        say(f"    Auto-Submitted: {receipt.auto_submitted}")
        for line in receipt.text.rstrip("\n").split("\n"):
            say(textwrap.fill(line, WIDTH, initial_indent="      ", subsequent_indent="        ") or "")
        self.check_receipt(sample, receipt, to, cost, refunded, fates)

    def check_receipt(self, sample: Sample, receipt: Reply, to: str, cost: int, refunded: int,
                      fates: dict[str, str]) -> None:
        """A receipt: to the email's sender, threaded under it, auto-replied, each number with
        its fate, the credits debited and refunded, neither the SMS text nor an API key."""
        text = receipt.text
        checks = {
            f"sent to {receipt.to}, expected {to}": receipt.to == to,
            f"In-Reply-To {receipt.in_reply_to}, expected {sample.headers['Message-ID']}":
                receipt.in_reply_to == str(sample.headers["Message-ID"]),
            f"Auto-Submitted {receipt.auto_submitted}": receipt.auto_submitted == "auto-replied",
            f"subject {receipt.subject!r}": receipt.subject.startswith("Mail2SMS: accusé de réception"),
            "its text does not list each number with its fate": all(
                re.search(rf"^{re.escape(number)} : {fate}", text, re.M) for number, fate in fates.items()),
            f"its text does not say {cost} credits debited, {refunded} refunded":
                f"Crédits débités : {cost}" in text and f"Crédits remboursés : {refunded}" in text,
            "it holds the SMS text": sample.expected["text"][:30] not in text,
            "it holds the API key": not any(key in receipt.raw.decode("utf-8", "replace") for key in self.hidden),
        }
        for what, ok in checks.items():
            CHECKS.expect(ok, f"{sample.name}: the receipt: {what}")

    def eum_delivery(self, function: Function, key: str) -> None:
        expected = {"outcome": "sent", "sms": [{"to": EUM_NUMBER, "sender": TRACKED_SENDER}], "text": EUM_TEXT,
                    "parts": 1, "encoding": "gsm7", "dropped": [], "cost": 1, "reply": None}
        sample = plain_email("tracked-eum", "One number. End User Messaging reports deliveries on EventBridge, with the "
                             "context every SMS of the gateway carries (mail2sms_message_id, mail2sms_recipient): the "
                             "function finds the recipient by it, whichever provider sent the SMS.",
                             TRACKED_LOGIN, key, TRACKED_FROM, EUM_SUBJECT_NUMBER, EUM_TEXT, expected)
        record = self.send_tracked(function, sample)
        numbers = [r.get("number") for r in record.get("recipients", [])]
        if EUM_NUMBER not in numbers:
            raise DemoError(f"{sample.name}: recipients {numbers}, expected {EUM_NUMBER}")
        index = numbers.index(EUM_NUMBER)
        event = eum_delivery_event(sample.message_id, index, EUM_NUMBER, TRACKED_SENDER)
        detail = event["detail"]
        say()
        say(f"  EventBridge, source {event['source']}, \"{event['detail-type']}\" ({shown(EUM_DELIVERED)}'s shape):")
        say(f"    {detail['messageStatus']} for {EUM_NUMBER}, context {json.dumps(detail['context'])}")
        _, traffic = self.deliver_event(function, f"{sample.name} DELIVERED", event, sample.message_id, "delivered",
                                        True, 0)
        record = record_of(self.env, TRACKED_LOGIN, sample.message_id) or {}
        self.show_recipients(record)
        recipient = (record.get("recipients") or [{}])[index]
        CHECKS.expect(recipient.get("delivery") == "delivered",
                      f"{sample.name}: {EUM_NUMBER} is {recipient.get('delivery')}, expected delivered")
        receipts = traffic.replies
        if len(receipts) == 1:
            say(f"  its receipt, to {receipts[0].to}: {receipts[0].subject}")
            bilan = next((line for line in receipts[0].text.split("\n") if line.startswith("Bilan")), "")
            say(f"      {bilan}")
            self.check_receipt(sample, receipts[0], email.utils.parseaddr(TRACKED_FROM)[1], 1, 0,
                               {EUM_NUMBER: "délivré"})
        else:
            CHECKS.expect(False, f"{sample.name}: {len(receipts)} receipts sent, expected one")
        say()
        say("  The same event again (EventBridge delivers at least once):")
        credits = account_show(self.env, TRACKED_LOGIN)["credits"]
        _, traffic = self.deliver_event(function, f"{sample.name} DELIVERED again", event, sample.message_id,
                                        "delivered", False, 0)
        again = record_of(self.env, TRACKED_LOGIN, sample.message_id) or {}
        after = account_show(self.env, TRACKED_LOGIN)["credits"]
        say(f"  {'nothing sent' if traffic.quiet else f'{len(traffic.replies)} email(s) sent'}, "
            f"credits {'unchanged' if after == credits else f'{credits} → {after}'}, "
            f"record {'unchanged' if again == record else 'changed'}")
        CHECKS.expect(traffic.quiet, f"{sample.name}: the repeated event sent something")
        CHECKS.expect(after == credits, f"{sample.name}: the repeated event moved credits {credits} → {after}")
        CHECKS.expect(again == record, f"{sample.name}: the repeated event changed the record")
        say()

    # -- 39 MB emails --------------------------------------------------------------------------

    def large_emails(self, function: Function) -> tuple[int | None, int | None]:
        """Sends the warm function LARGE_SENT 39 MB emails from LARGE_LOGIN, then one from an
        unknown login; checks each as a sample. The function's peak RSS (VmHWM, KiB) before and after."""
        size = LARGE_EMAIL_BYTES / 1e6
        say(f"{size:.0f} MB emails (SES accepts up to 40 MB): the same warm function, a text/plain part first, "
            f"then a base64 attachment; the function reads only the head of each")
        say()
        before = function.peak_rss_now()
        attachment = large_attachment(LARGE_EMAIL_BYTES - 1000)
        # No from= option: the account's own sender goes with each SMS.
        sender = self.accounts[LARGE_LOGIN].get("sender")
        emails = []
        for i in range(1, LARGE_SENT + 1):
            text = f"Grand email {i}/{LARGE_SENT} : le catalogue 2027 est en pièce jointe, bonne lecture !"
            expected = {"outcome": "sent", "sms": [{"to": LARGE_NUMBER, "sender": sender}], "text": text, "parts": 1,
                        "encoding": "gsm7", "dropped": [], "cost": 1, "reply": None}
            emails.append((f"large-{i}-{LARGE_LOGIN}", LARGE_LOGIN, self.keys[LARGE_LOGIN],
                           "Service client <clients@boutique.example.com>", text, expected))
        stranger, stranger_key = "quelquun@ailleurs.example.net", secrets.token_hex(20)
        self.hidden.append(stranger_key)
        emails.append((f"large-{LARGE_SENT + 1}-unknown", UNKNOWN_LOGIN, stranger_key, f"Inconnu <{stranger}>",
                       "Un inconnu envoie un gros email.",
                       {"outcome": "rejected", "status": 102, "sms": [], "cost": 0,
                        "reply": {"to": stranger, "auto_submitted": "auto-replied"}}))
        for name, login, key, from_, text, expected in emails:
            message_id = f"<{secrets.token_hex(12)}@mail.example.com>"
            if expected["reply"]:
                expected["reply"]["in_reply_to"] = message_id
            sample = large_email(name, login, key, from_, message_id, text, attachment, expected)
            started = time.monotonic()
            self.run_sample(function, sample, blank_line=False)
            peak = function.peak_rss_now()
            say(f"  function peak RSS so far {f'{peak / 1024:.1f} MiB' if peak is not None else '(not measured)'} "
                f"({time.monotonic() - started:.1f} s to store, invoke and check)")
            say()
            sample.raw = sample.raw.partition(b"\r\n\r\n")[0] + b"\r\n\r\n"  # the headers are enough from now on
            self.large.append(sample)
        return before, function.peak_rss_now()

    # -- contact list, large email in parts, dry run ------------------------------------------

    def contact_list(self) -> None:
        """Writes LIST_FILE and imports it as LIST_LOGIN's list LIST_NAME; shows and checks what
        `list import` refused and what `list show` gives."""
        say("Contact list: the operator imports a customer's numbers once; its emails name the list")
        numbers, lines, refused = contact_list_csv()
        self.list_numbers = numbers
        LIST_FILE.parent.mkdir(parents=True, exist_ok=True)
        LIST_FILE.write_text("\n".join(lines) + "\n", encoding="utf-8")
        say(f"  {shown(LIST_FILE)}: {len(lines):,} lines, a header, {LIST_SIZE:,} numbers written three ways, "
            f"{len(refused)} lines to refuse:")
        for line in lines[:4]:
            say(f"    {line}")
        say("    …")
        say(f"  mail2sms-admin list import {LIST_LOGIN} {LIST_NAME} {shown(LIST_FILE)}")
        out = admin(self.env, "list", "import", LIST_LOGIN, LIST_NAME, str(LIST_FILE)).splitlines()
        for line in out:
            say(f"    {line}")
        told = [line for line in out if re.match(r"line \d+\b", line)]
        CHECKS.expect(len(told) == len(refused), f"list import: {len(told)} lines refused, expected {len(refused)}")
        for number, (column, word) in refused.items():
            CHECKS.expect(any(re.match(rf"line {number}\b", line) and word.lower() in line.lower() for line in told),
                          f"list import: line {number} ({column!r}) not refused with a reason saying {word!r}")
        summary = out[-1] if out else ""
        CHECKS.expect(re.search(rf"\b{LIST_SIZE}\b|{LIST_SIZE:,}", summary) is not None,
                      f"list import: {summary!r} does not say {LIST_SIZE} numbers kept")

        say(f"  mail2sms-admin list show {LIST_LOGIN}")
        heads = [json.loads(line) for line in admin(self.env, "list", "show", LIST_LOGIN).splitlines() if line.strip()]
        for head in heads:
            say(f"    {json.dumps(head)}")
        CHECKS.expect([(h.get("name"), h.get("count")) for h in heads] == [(LIST_NAME, LIST_SIZE)],
                      f"list show {LIST_LOGIN}: {heads}, expected one list {LIST_NAME} of {LIST_SIZE}")
        say(f"  mail2sms-admin list show {LIST_LOGIN} {LIST_NAME}")
        whole = json.loads(admin(self.env, "list", "show", LIST_LOGIN, LIST_NAME))
        kept = whole.get("numbers") or []
        say(f"    \"numbers\": {json.dumps(kept[:3])[:-1]}, …]: {len(kept):,} in the file's order")
        CHECKS.expect(kept == numbers, f"list show {LIST_LOGIN} {LIST_NAME}: {len(kept)} numbers, not the file's "
                                       f"{len(numbers)} in its order")
        say(f"  mail2sms-admin credits add {LIST_LOGIN} {LIST_SIZE}")
        say(f"    {admin(self.env, 'credits', 'add', LIST_LOGIN, str(LIST_SIZE)).strip()}")
        self.added[LIST_LOGIN] = self.added.get(LIST_LOGIN, 0) + LIST_SIZE
        say()

    def queued(self) -> tuple[int, int]:
        """The parts queue's messages: visible, and handed out but not yet deleted."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.parts_queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return (int(attributes.get("ApproximateNumberOfMessages", 0)),
                int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)))

    def in_parts(self, function: Function) -> None:
        """An email to #LIST_NAME: debited once and queued in parts; then the parts queue's
        messages, handed to the function one by one as Lambda's SQS event source mapping does."""
        per_record, per_part = gateway_constant("MAX_RECORD_RECIPIENTS"), gateway_constant("PART_RECIPIENTS")
        if LIST_SIZE <= per_record:
            raise DemoError(f"LIST_SIZE {LIST_SIZE} must be over MAX_RECORD_RECIPIENTS {per_record} to go in parts")
        parts = -(-LIST_SIZE // per_part)
        say(f"A large email: to #{LIST_NAME}, {LIST_SIZE:,} recipients (over the {per_record:,} one record holds), "
            f"sent in parts of {per_part}")
        sender = self.accounts[LIST_LOGIN].get("sender")
        expected = {"outcome": "in_parts", "sms": [{"to": n, "sender": sender} for n in self.list_numbers],
                    "cost": LIST_SIZE}
        sample = plain_email(f"{LIST_NAME}-in-parts", "", LIST_LOGIN, self.keys[LIST_LOGIN], PARTS_FROM,
                             f"#{LIST_NAME}", PARTS_TEXT, expected)
        headers = sample.headers
        say(f"  From: {headers['From']}")
        say(f"  Subject: {self.without_keys(str(headers['Subject']))}")
        say(show_text(PARTS_TEXT))
        self.store(sample)
        before = account_show(self.env, LIST_LOGIN)["credits"]
        outcome = function.outcome(ses_event(sample.message_id))
        traffic = self.emulator.new_traffic()
        debited = account_show(self.env, LIST_LOGIN)["credits"]
        visible, hidden = self.queued()
        self.listed.append(sample)
        self.sent_texts.append(PARTS_TEXT)
        say(f"  → the function answers {json.dumps({k: v for k, v in outcome.items() if k != 'message_id'})}")
        say(f"    credits of {LIST_LOGIN}: {before:,} → {debited:,}; {len(traffic.sms)} SMS sent yet; "
            f"{visible} messages on {PARTS_QUEUE}")
        wanted = {"outcome": "in_parts", "parts": parts, "recipients": LIST_SIZE, "cost": LIST_SIZE}
        CHECKS.expect(matches(wanted, outcome), f"{sample.name}: the function answered {json.dumps(outcome)}, "
                                                f"expected {json.dumps(wanted)}")
        CHECKS.expect(before - debited == LIST_SIZE, f"{sample.name}: {before - debited} credits debited, "
                                                     f"expected {LIST_SIZE}")
        CHECKS.expect(traffic.quiet, f"{sample.name}: the accepting invocation sent {len(traffic.sms)} SMS, "
                                     f"{len(traffic.replies)} emails")
        CHECKS.expect((visible, hidden) == (parts, 0), f"{sample.name}: {visible} messages queued ({hidden} in "
                                                       f"flight), expected {parts}")
        say()

        rate = float(CONFIG["SEND_RATE"]) / int(CONFIG["FAN_OUT_CONCURRENCY"])
        say("  Lambda's SQS event source mapping, played here: each message received is one invocation "
            "(batch size 1),")
        say("  deleted unless the answer names it in batchItemFailures. One warm container takes the parts in turn;")
        say(f"  SEND_RATE={CONFIG['SEND_RATE']} for the demo (the template's default is 20 SMS/s, SNS's default "
            f"quota),")
        say(f"  FAN_OUT_CONCURRENCY={CONFIG['FAN_OUT_CONCURRENCY']}: each invocation sends at {rate:,.0f} SMS/s.")
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.parts_queue_url,
                                                  AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        published: list[Sms] = []
        replies: list[Reply] = []
        receives: dict[str, int] = {}
        invocations = handed_back = 0
        started = time.monotonic()
        for _ in range(parts * PARTS_MAX_RECEIVES + 1):
            received = self.sqs.receive_message(QueueUrl=self.parts_queue_url, MaxNumberOfMessages=1,
                                                WaitTimeSeconds=0, AttributeNames=["All"]).get("Messages", [])
            if not received:
                break
            message = received[0]
            part_id = (parse_json(message["Body"].encode()) or {}).get("send_part", "?")
            receives[message["MessageId"]] = receives.get(message["MessageId"], 0) + 1
            at = time.monotonic()
            invocation = function.invoke(sqs_event(message, queue_arn))
            invocations += 1
            if invocation.error is not None:
                raise DemoError(f"{sample.name}: part {part_id} failed: {invocation.error.get('errorType')}: "
                                f"{invocation.error.get('errorMessage')}")
            answer = invocation.response if isinstance(invocation.response, dict) else {}
            failed = {f.get("itemIdentifier") for f in answer.get("batchItemFailures") or []}
            sent = self.emulator.new_traffic()
            published += sent.sms
            replies += sent.replies
            if message["MessageId"] in failed:
                handed_back += 1
                if receives[message["MessageId"]] >= PARTS_MAX_RECEIVES:
                    raise DemoError(f"{sample.name}: part {part_id} handed back {PARTS_MAX_RECEIVES} times")
                # Lambda would wait out the visibility timeout (360 s): the demo hands it out again now.
                self.sqs.change_message_visibility(QueueUrl=self.parts_queue_url,
                                                   ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
                fate = "handed back"
            else:
                self.sqs.delete_message(QueueUrl=self.parts_queue_url, ReceiptHandle=message["ReceiptHandle"])
                fate = "deleted"
            say(f"    part …{part_id[-5:]}: {json.dumps(answer)}, {len(sent.sms):>3} SMS in "
                f"{time.monotonic() - at:.1f} s, message {fate}")
        wall = time.monotonic() - started
        after = account_show(self.env, LIST_LOGIN)["credits"]
        left = self.queued()
        counts: dict[str, int] = {}
        for sms in published:
            counts[sms.number] = counts.get(sms.number, 0) + 1
        twice = sorted(number for number, n in counts.items() if n > 1)
        missed = sorted(set(self.list_numbers) - set(counts))
        strays = sorted(set(counts) - set(self.list_numbers))
        senders = ", ".join(sorted({str(s.sender) for s in published})) or "-"
        say(f"  parts:       {parts} sent in {plural(invocations, 'invocation')}, {handed_back} handed back, "
            f"queue {'empty' if left == (0, 0) else f'not empty: {left}'}; wall time {wall:.1f} s")
        say(f"  SMS:         {len(published):,} published (SNS Publish, in the emulator's recording) to "
            f"{len(counts):,} numbers, {'each once' if not twice else f'{len(twice)} more than once'}, sender {senders}")
        say(f"  credits:     {before - after:,} debited, once: {before:,} → {debited:,} at acceptance, "
            f"{after:,} after the parts")
        CHECKS.expect(not twice and not missed and not strays,
                      f"{sample.name}: {len(twice)} numbers texted twice, {len(missed)} missed, {len(strays)} not on the "
                      f"list (e.g. {(twice + missed + strays)[:3]})")
        CHECKS.expect(len(published) == LIST_SIZE, f"{sample.name}: {len(published)} SMS published, expected {LIST_SIZE}")
        CHECKS.expect(all(s.sender == sender and s.text == PARTS_TEXT for s in published),
                      f"{sample.name}: an SMS went with another sender or text than {sender} and the email's")
        CHECKS.expect(not replies, f"{sample.name}: the parts sent {len(replies)} emails")
        CHECKS.expect(after == debited, f"{sample.name}: the parts moved credits {debited} → {after}")
        CHECKS.expect((invocations, handed_back) == (parts, 0),
                      f"{sample.name}: {invocations} invocations, {handed_back} parts handed back: expected {parts}, none")
        CHECKS.expect(left == (0, 0), f"{sample.name}: {left[0]} messages left on the queue, {left[1]} in flight")
        records = {r["message_id"]: r for r in messages_of(self.env, LIST_LOGIN, 40)}
        part_records = [records.get(f"{sample.message_id}-p{i:03d}") or {} for i in range(1, parts + 1)]
        part_sent = [sum(r.get("delivery") == "sent" for r in record.get("recipients", [])) for record in part_records]
        states = sorted({record.get("state") or "missing" for record in part_records})
        say(f"  records:     the email {records.get(sample.message_id, {}).get('state')}, its parts "
            f"{', '.join(states)} (-p001…-p{parts:03d}), recipients sent {' + '.join(map(str, part_sent))} = "
            f"{sum(part_sent):,}")
        CHECKS.expect(states == ["sent"] and sum(part_sent) == LIST_SIZE,
                      f"{sample.name}: the parts' records are {[r.get('state') for r in part_records]}, "
                      f"{sum(part_sent)} recipients sent")
        say()

    def dry_run(self, function: Function) -> None:
        """An email with `dryrun`: nothing published, nothing debited, one preview answered."""
        say("A dry run: |dryrun among the options; every check of a real send, nothing sent nor debited, a preview")
        to = email.utils.parseaddr(DRY_RUN_FROM)[1]
        sample = plain_email("dry-run", "", LIST_LOGIN, self.keys[LIST_LOGIN], DRY_RUN_FROM,
                             f"{DRY_RUN_NUMBERS}|dryrun", DRY_RUN_TEXT, {"outcome": "previewed", "sms": [], "cost": 0})
        headers = sample.headers
        say(f"  From: {headers['From']}")
        say(f"  Subject: {self.without_keys(str(headers['Subject']))}")
        say(show_text(DRY_RUN_TEXT))
        self.store(sample)
        before = account_show(self.env, LIST_LOGIN)["credits"]
        outcome = function.outcome(ses_event(sample.message_id))
        traffic = self.emulator.new_traffic()
        after = account_show(self.env, LIST_LOGIN)["credits"]
        record = record_of(self.env, LIST_LOGIN, sample.message_id) or {}
        self.listed.append(sample)
        self.sent_texts.append(DRY_RUN_TEXT)
        say(f"  → the function answers {json.dumps({k: v for k, v in outcome.items() if k != 'message_id'})}")
        say(f"    {len(traffic.sms)} SMS published, credits {before:,} → {after:,}, record {record.get('state')}, "
            f"{plural(len(traffic.replies), 'email')} sent")
        wanted = {"outcome": "previewed", "cost": DRY_RUN_KEPT, "reply": "sent"}
        CHECKS.expect(outcome == {**wanted, "message_id": sample.message_id},
                      f"dry run: the function answered {json.dumps(outcome)}, expected {json.dumps(wanted)}")
        CHECKS.expect(not traffic.sms, f"dry run: {len(traffic.sms)} SMS published")
        CHECKS.expect(after == before, f"dry run: credits {before} → {after}")
        CHECKS.expect(record.get("state") == "previewed" and not record.get("cost"),
                      f"dry run: record {record.get('state')}, cost {record.get('cost')}")
        if not CHECKS.expect(len(traffic.replies) == 1, f"dry run: {len(traffic.replies)} emails sent, expected one preview"):
            say()
            return
        preview = traffic.replies[0]
        lines = preview.text.rstrip("\n").split("\n")
        say(f"  the preview, to {preview.to}: {preview.subject}")
        for line in lines[:DRY_RUN_LINES]:
            say(textwrap.fill(line, WIDTH, initial_indent="      ", subsequent_indent="        ") or "")
        say(f"      … ({len(lines) - DRY_RUN_LINES} more lines)")
        subject = f"Mail2SMS: simulation, envoi accepté : {DRY_RUN_KEPT} SMS, {DRY_RUN_KEPT} crédits"
        CHECKS.expect(preview.to == to and preview.subject == subject,
                      f"dry run: the preview went to {preview.to} as {preview.subject!r}, expected {to}, {subject!r}")
        CHECKS.expect(preview.in_reply_to == str(headers["Message-ID"]) and preview.auto_submitted == "auto-replied",
                      f"dry run: the preview's In-Reply-To {preview.in_reply_to}, Auto-Submitted {preview.auto_submitted}")
        CHECKS.expect(DRY_RUN_TEXT in preview.text and f"Destinataires retenus : {DRY_RUN_KEPT}" in preview.text,
                      f"dry run: the preview does not show the text and the {DRY_RUN_KEPT} recipients kept")
        CHECKS.expect(not any(key in preview.raw.decode("utf-8", "replace") for key in self.hidden),
                      "dry run: the preview holds an API key")
        say()

    # -- summary -------------------------------------------------------------------------------

    def summary(self) -> None:
        self.show_credits()
        self.show_messages(LARGE_LOGIN)

    def show_credits(self) -> None:
        say("Credits")
        say(f"  {'account':<8} {'before':>6} {'added':>6} {'after':>6} {'spent':>6}")
        spent_expected = {login: 0 for login in self.accounts}
        for sample in (*self.samples, *self.tracked, *self.large, *self.listed):
            if sample.login in spent_expected:
                spent_expected[sample.login] += sample.cost
        for login, refunded in self.refunded.items():
            spent_expected[login] -= refunded
        after = self.credits()
        for login in self.accounts:
            before, added = self.credits_before[login], self.added.get(login, 0)
            spent = before + added - after[login]
            say(f"  {login:<8} {before:>6} {added:>6} {after[login]:>6} {spent:>6}")
            CHECKS.expect(spent == spent_expected[login], f"{login}: {spent} credits spent, expected {spent_expected[login]}")
        say()

    def show_messages(self, login: str) -> None:
        say(f"Messages of {login} (mail2sms-admin messages {login} --limit {MESSAGES_SHOWN})")
        records = messages_of(self.env, login, MESSAGES_SHOWN)
        names = {s.message_id: s.name for s in (*self.samples, *self.large, *self.listed)}
        for sample in self.listed:  # a large email's parts: <message id>-p001…
            names.update({f"{sample.message_id}-p{i:03d}": f"{sample.name} p{i:03d}" for i in range(1, 100)})
        say(f"  {'sample':<26} {'message id':<12} {'state':<11} {'status':>6}  {'recipients':<22} {'cost':>4}")
        for record in records:
            say(f"  {names.get(record['message_id'], '?'):<26} {record['message_id'][:8] + '…':<12} "
                f"{record.get('state', ''):<11} {record.get('status') or '-':>6}  "
                f"{describe_recipients(record):<22} {record.get('cost', 0):>4}")
        listed = {record["message_id"] for record in records}
        elsewhere = [f"{s.name} ({'no record of ' + login if s.login == login else 'account ' + s.login})"
                     for s in self.samples if s.message_id not in listed]
        if elsewhere:
            say(f"  not listed: {', '.join(elsewhere)}")
        CHECKS.expect(all(r.get("state") != "scheduled" for r in records), f"{login}: a message is still scheduled")
        say()

    def check_log(self) -> None:
        log = FUNCTION_LOG.read_text(encoding="utf-8", errors="replace")
        numbers = {sms["to"] for s in (*self.samples, *self.tracked, *self.large, *self.listed)
                   for sms in s.expected.get("sms", [])}
        leaks = [f"the {login} account's API key" for login, key in self.keys.items() if key in log]
        leaks += [f"a full number ({number})" for number in numbers if number in log]
        leaks += [f"an SMS text ({t[:20]}…)" for t in set(self.sent_texts) if t in log]
        say(f"Function log: {shown(FUNCTION_LOG)} ({len(log.splitlines())} lines), "
            f"{'with ' + ', '.join(sorted(set(leaks))) if leaks else 'free of API keys, SMS texts and full numbers'}")
        CHECKS.expect(not leaks, f"the function's log shows {', '.join(sorted(set(leaks)))}")


NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}
MESSAGES_SHOWN = 30  # the summary's `mail2sms-admin messages demo --limit`
WIDTH = 100  # the report's line width, for notes and SMS texts


def describe_recipients(record: dict) -> str:
    """How a message's recipients fared, e.g. "4 sent, 1 dropped"."""
    counts: dict[str, int] = {}
    for recipient in record.get("recipients", []):
        counts[recipient.get("delivery")] = counts.get(recipient.get("delivery"), 0) + 1
    described = [f"{n} {delivery}" for delivery, n in counts.items()]
    if record.get("dropped"):
        described.append(f"{len(record['dropped'])} dropped")
    return ", ".join(described) or "-"



def shown(path: Path) -> str:
    """A path as the report shows it: relative to the project when inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def plural(n: int | None, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def show_text(text: str) -> str:
    """An SMS text for the report: its lines kept, long ones wrapped, under a "text:" label."""
    shown = []
    for line in text.split("\n"):
        shown += textwrap.wrap(line, WIDTH - 10, drop_whitespace=True) or [""]
    return "\n".join(("    text: " if i == 0 else "          " if line else "") + line for i, line in enumerate(shown))


def demo_env() -> dict[str, str]:
    """The environment the function and the CLI run with: the SDK's variables and CONFIG."""
    if not os.environ.get("AWS_ENDPOINT_URL"):
        raise DemoError("AWS_ENDPOINT_URL is not set: run the demo with `make demo` (it starts the local emulator)")
    env = {name: os.environ[name] for name in SDK_VARIABLES if name in os.environ}
    env.update(CONFIG)
    env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
    return env


def required_variables() -> list[str]:
    """The variables the function cannot start without: `required(vars::NAME)` in src/config.rs."""
    text = (ROOT / "src" / "config.rs").read_text(encoding="utf-8")
    return sorted(set(re.findall(r"required\(vars::([A-Z0-9_]+)\)", text)))


def run() -> int:
    for binary in (FUNCTION_BIN, ADMIN_BIN):
        if not binary.is_file():
            raise DemoError(f"{shown(binary)} is missing: run `cargo build --bins` (make demo does)")
    env = demo_env()
    if missing := [name for name in required_variables() if not env.get(name)]:
        raise DemoError(f"the function requires {', '.join(missing)} (src/config.rs): add it to CONFIG in {shown(Path(__file__))}")
    demo = Demo(env)
    title = "Mail2SMS demo: the real function on the sample emails, against a local AWS emulator"
    say(title)
    say("=" * len(title))
    say()
    demo.setup()
    with Function(env) as function:
        say(f"Function: {shown(FUNCTION_BIN)}, one warm container, "
            f"behind a local Lambda Runtime API at {function.api.address}")
        say(f"Each email is stored at s3://{CONFIG['INBOUND_BUCKET']}/{CONFIG['INBOUND_PREFIX']}<SES message id>, "
            f"then the function gets {shown(SES_EVENT)} for it.")
        say()
        for sample in demo.samples:
            demo.run_sample(function, sample)
        demo.redeliver(function)
        demo.delivery_status(function)
        peak_samples, peak_large = demo.large_emails(function)
        demo.contact_list()
        demo.in_parts(function)
        demo.dry_run(function)
    init_ms = function.init_ms()
    memory_mb = template_memory_mb()
    if memory_mb is not None and peak_large is not None:
        # Lambda stops a function whose memory reaches MemorySize (counted here in 10^6 bytes, the stricter reading).
        CHECKS.expect(peak_large * 1024 < memory_mb * 1_000_000,
                      f"peak RSS {peak_large / 1024:.1f} MiB after the {LARGE_EMAIL_BYTES / 1e6:.0f} MB emails, "
                      f"over the template's MemorySize {memory_mb} MB")
    demo.summary()
    demo.check_log()
    keys_shown = [login for login, key in demo.keys.items() if any(key in line for line in REPORT)]
    CHECKS.expect(not keys_shown, f"the report shows the API key of {keys_shown}")
    say()
    if CHECKS.failures:
        say(f"DEMO FAILED: {len(CHECKS.failures)} of {CHECKS.passed + len(CHECKS.failures)} expectations broken:")
        for failure in CHECKS.failures:
            say(f"  - {failure}")
    else:
        say(f"Demo passed: {CHECKS.passed} expectations met.")
    # The figures measured, alone and last.
    def mib(kib: int | None) -> str:
        return f"{kib / 1024:.1f} MiB" if kib is not None else "not measured"

    say()
    say(f"Function process: {shown(FUNCTION_BIN)}, one warm container; peak RSS is its VmHWM")
    say(f"init time: {f'{init_ms:.0f} ms' if init_ms is not None else 'not measured'} "
        f"(exec to first poll of the Runtime API)")
    say(f"peak RSS after the samples: {mib(peak_samples)}")
    count = NUMBER_WORDS.get(len(demo.large), str(len(demo.large)))
    say(f"peak RSS after {count} {LARGE_EMAIL_BYTES / 1e6:.0f} MB emails (warm): {mib(peak_large)}"
        + (f" (template memory: {memory_mb} MB)" if memory_mb is not None else ""))
    return 1 if CHECKS.failures else 0


def main() -> int:
    try:
        return run()
    except DemoError as error:
        print(f"\ndemo: {error}", file=sys.stderr, flush=True)
        return 1
    except (BotoCoreError, ClientError) as error:
        print(f"\ndemo: an AWS call to the emulator failed: {error}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
