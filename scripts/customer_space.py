"""The customer space on the local emulator: accounts ready to log in, emails with every status,
and mail2sms-web serving them. Two uses:

    customer_space.py session
        `make demo`'s last step, in the emulator session (`make emulator-start`; the Makefile
        starts it and evals its `export` lines first): the account `demo` with the password
        DEMO_PASSWORD and, when the account is new, a few emails through the function (one to
        three numbers that SNS's delivery logs then report delivered, failed and nothing yet; one
        scheduled two days ahead; one refused with its error code). Starts <target>/debug/mail2sms-web
        in the background on LISTEN_ADDR (127.0.0.1:8080, or a free port when that one is taken),
        its pid, address and log in the session's state (.demo/emulator/web.*; `make emulator-stop`
        stops it with the emulator), logs in over HTTP to check it serves the account's emails,
        and prints the address and the login, last.

    customer_space.py test CMD [ARG...]
        `make browser-test`, under scripts/with-moto.sh (a throwaway emulator): the same for one
        account per viewport of the browser test (LOGINS), mail2sms-web on a free port, then CMD
        with MAIL2SMS_WORLD naming a JSON file that says what to find (address, logins, passwords,
        API keys, each email's id and its recipients' statuses). Stops the server, exits with
        CMD's status.

The emails go through the real function binary (<target>/debug/mail2sms), fed by the demo's own
Lambda Runtime API (scripts/demo.py's Function), from raw emails stored in the inbound bucket
as SES's receipt rule does; delivery reports are SNS's delivery-status logs as CloudWatch Logs
hands them over (scripts/awslogs_event.py). The settings are events/env.json's, the function's
and the space's (WEB_TABLE, MAIL_FUNCTION_ARN…), as in the emulator session.

Python 3.11 standard library, boto3, scripts/demo.py and scripts/awslogs_event.py only.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from dataclasses import asdict, dataclass, field
from pathlib import Path

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

sys.dont_write_bytecode = True
import demo  # noqa: E402  (scripts/demo.py: the Runtime API, the function, the delivery events)

ROOT = demo.ROOT
TARGET_DIR = demo.TARGET_DIR
WEB_BIN = TARGET_DIR / "debug" / "mail2sms-web"
ENV_JSON = ROOT / "events" / "env.json"
# The emulator session's state (scripts/moto.sh's emulator_state): the web server's pid,
# address and log go beside moto's, so that `make emulator-stop` stops both.
SESSION_STATE = Path(os.environ.get("EMULATOR_STATE") or ROOT / ".demo" / "emulator")
WORLD_FILE = TARGET_DIR / "browser" / "world.json"
FUNCTION_LOG = TARGET_DIR / "customer-space-function.log"
TEST_WEB_LOG = TARGET_DIR / "browser" / "mail2sms-web.log"

# Besides events/env.json's settings (the function's and the space's: WEB_TABLE, MAIL_FUNCTION_ARN…).
WEB_SETTINGS = {
    "RUST_LOG": "info",
}
DEFAULT_LISTEN_ADDR = "127.0.0.1:8080"

DEMO_LOGIN = "demo"
DEMO_PASSWORD = "demo-password"  # a local emulator's throwaway account: printed for the user
# The browser test's accounts, one per viewport (tests/browser/playwright.config.mjs's projects).
LOGINS = {"phone": "fleuriste", "desktop": "boutique"}
TEST_PASSWORD = "browser-test-password"
CREDITS = 100
SENDER = "BOUTIQUE"
FROM = "Claire Petit <claire.petit@boutique.example.com>"

# The email whose recipients end up in each state, by SNS's delivery-status logs: the first
# delivered, the second failed for good (refunded), the third not reported yet.
DELIVERED, FAILED, OPEN = "+33612345670", "+33612345671", "+33612345672"
FAILURE_RESPONSE = "Invalid phone number"
TRACKED_TEXT = "Bonjour, votre commande 2027-0142 est arrivée : retrait en boutique du lundi au samedi de 9h à 19h."
SCHEDULED_TEXT = "Rappel : votre rendez-vous retouches est demain à 10h. Répondez STOP pour ne plus recevoir."
SCHEDULED_NUMBER = "06 12 34 56 73"
REFUSED_NUMBERS = "01 23"  # no valid mobile number: 114
REFUSED_TEXT = "Nos soldes commencent demain !"

SECONDS = 60


class SpaceError(Exception):
    """A step failed: the script stops."""


def say(line: str = "") -> None:
    print(line, flush=True)


# ---------------------------------------------------------------------------------------------
# The settings and the CLI
# ---------------------------------------------------------------------------------------------


def space_env() -> dict[str, str]:
    """The function's and the space's settings from events/env.json (as the emulator session's),
    the SDK's variables from this environment (the emulator's endpoint, dummy credentials)."""
    if not os.environ.get("AWS_ENDPOINT_URL"):
        raise SpaceError("AWS_ENDPOINT_URL is not set: run this through `make demo` or `make browser-test`")
    env = {name: os.environ[name] for name in demo.SDK_VARIABLES if name in os.environ}
    settings = json.loads(ENV_JSON.read_text(encoding="utf-8"))
    for function in ("Mail2SmsFunction", "WebFunction"):
        env.update({name: value for name, value in settings[function].items() if name != "AWS_ENDPOINT_URL"})
    env.update(WEB_SETTINGS)
    env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
    return env


def admin(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """mail2sms-admin's standard output, or SpaceError with its standard error."""
    try:
        done = subprocess.run([str(demo.ADMIN_BIN), *args], env=env, input=stdin, capture_output=True, text=True,
                              timeout=SECONDS)
    except subprocess.TimeoutExpired as error:
        raise SpaceError(f"mail2sms-admin {args[0]} did not finish within {SECONDS}s") from error
    if done.returncode != 0:
        raise SpaceError(f"mail2sms-admin {' '.join(args[:2])} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def account_exists(env: dict[str, str], login: str) -> bool:
    done = subprocess.run([str(demo.ADMIN_BIN), "account", "show", login], env=env, capture_output=True, text=True,
                          timeout=SECONDS)
    return done.returncode == 0


def record_of(env: dict[str, str], login: str, message_id: str) -> dict:
    for line in admin(env, "messages", login, "--limit", "50").splitlines():
        if line.strip() and (record := json.loads(line)).get("message_id") == message_id:
            return record
    raise SpaceError(f"no record of message {message_id} for {login}")


# ---------------------------------------------------------------------------------------------
# Accounts and their emails
# ---------------------------------------------------------------------------------------------


@dataclass
class Account:
    login: str
    password: str
    key: str  # its API key before the browser test makes a new one
    emails: dict[str, dict] = field(default_factory=dict)  # by kind: id, numbers and statuses


class Seeder:
    """Creates accounts and sends their emails through the function (one warm container)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.s3 = boto3.client("s3", config=BotoConfig(connect_timeout=5, read_timeout=SECONDS,
                                                       retries={"max_attempts": 2}, s3={"addressing_style": "path"}))
        self.function: demo.Function | None = None

    def __enter__(self) -> Seeder:
        demo.FUNCTION_LOG = FUNCTION_LOG  # not the demo's own log
        FUNCTION_LOG.parent.mkdir(parents=True, exist_ok=True)
        self.function = demo.Function(self.env).__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.function is not None:
            self.function.__exit__(*exc)

    def account(self, login: str, password: str) -> Account:
        key = admin(self.env, "account", "create", login, "--credits", str(CREDITS), "--sender", SENDER).strip()
        if not re.fullmatch(r"[0-9a-f]{32,}", key):
            raise SpaceError(f"account create {login} did not print a key")
        admin(self.env, "account", "password", login, stdin=password + "\n")
        account = Account(login, password, key)
        account.emails["tracked"] = self.tracked(account)
        account.emails["scheduled"] = self.scheduled(account)
        account.emails["refused"] = self.refused(account)
        return account

    def send(self, account: Account, numbers: str, text: str, wanted: str) -> tuple[str, dict]:
        """One email through the function, as SES hands it over; its id and the function's outcome."""
        message_id = demo.ses_message_id()
        raw = "\r\n".join([
            "MIME-Version: 1.0",
            f"Date: {email.utils.format_datetime(dt.datetime.now(dt.timezone.utc))}",
            f"Message-ID: <{secrets.token_hex(12)}@mail.example.com>",
            f"Subject: {account.login}@{account.key}|{numbers}",
            f"From: {FROM}",
            "To: mail2sms@sms.example.com",
            'Content-Type: text/plain; charset="UTF-8"',
            "Content-Transfer-Encoding: 8bit",
            "",
            text,
            "",
        ]).encode("utf-8")
        self.s3.put_object(Bucket=self.env["INBOUND_BUCKET"], Key=f"{self.env['INBOUND_PREFIX']}{message_id}", Body=raw)
        outcome = self.function.outcome(demo.ses_event(message_id))
        if outcome.get("outcome") != wanted:
            raise SpaceError(f"an email of {account.login} to {numbers}: {outcome}, expected {wanted}")
        return message_id, outcome

    def tracked(self, account: Account) -> dict:
        numbers = (DELIVERED, FAILED, OPEN)
        message_id, _ = self.send(account, ";".join(numbers), TRACKED_TEXT, "sent")
        ids = {r["number"]: r.get("provider_id") for r in record_of(self.env, account.login, message_id)["recipients"]}
        for decoded, number, status, response in (
            (demo.SNS_DELIVERY_LOG, DELIVERED, "SUCCESS", "Message has been accepted by phone carrier"),
            (demo.SNS_FAILURE_LOG, FAILED, "FAILURE", FAILURE_RESPONSE),
        ):
            if not ids.get(number):
                raise SpaceError(f"{account.login}: no provider id for {number} in {message_id}")
            event = demo.sns_delivery_event(decoded, ids[number], number, status, response)
            outcome = self.function.outcome(event)
            if outcome.get("outcome") != "reported" or not outcome.get("changed"):
                raise SpaceError(f"{account.login}: the {status} report for {number} gave {outcome}")
        fates = {r["number"]: r.get("delivery") for r in record_of(self.env, account.login, message_id)["recipients"]}
        wanted = {DELIVERED: "delivered", FAILED: "failed", OPEN: "sent"}
        if fates != wanted:
            raise SpaceError(f"{account.login}: recipients {fates}, expected {wanted}")
        return {"id": message_id, "recipients": wanted, "reason": FAILURE_RESPONSE}

    def scheduled(self, account: Account) -> dict:
        due = f"{dt.date.today() + dt.timedelta(days=2):%Y-%m-%d} 09:30:00"
        message_id, _ = self.send(account, f"{SCHEDULED_NUMBER}|date={due}", SCHEDULED_TEXT, "scheduled")
        return {"id": message_id, "due": due, "text": SCHEDULED_TEXT}

    def refused(self, account: Account) -> dict:
        message_id, outcome = self.send(account, REFUSED_NUMBERS, REFUSED_TEXT, "rejected")
        return {"id": message_id, "status": outcome.get("status")}


# ---------------------------------------------------------------------------------------------
# The web server
# ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(address: str) -> bool:
    host, _, port = address.rpartition(":")
    with socket.socket() as s:
        try:
            s.bind((host.strip("[]") or "127.0.0.1", int(port)))
        except (OSError, ValueError):
            return False
    return True


def start_web(env: dict[str, str], address: str, log: Path, detach: bool) -> subprocess.Popen:
    """mail2sms-web on `address`, once it answers; with `detach`, in a session of its own that
    outlives this script (and a Ctrl-C in its terminal)."""
    if not WEB_BIN.is_file():
        raise SpaceError(f"{WEB_BIN} is missing: run `cargo build --bins` (make does)")
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        process = subprocess.Popen([str(WEB_BIN)], env={**env, "LISTEN_ADDR": address}, stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=detach)
    deadline = time.monotonic() + SECONDS
    while True:
        if process.poll() is not None:
            raise SpaceError(f"mail2sms-web exited with status {process.returncode}; its log ({log}):\n"
                             + "\n".join(log.read_text(errors="replace").splitlines()[-20:]))
        try:
            if Client(f"http://{address}").get("/login").status == 200:
                return process
        except OSError:
            pass
        if time.monotonic() > deadline:
            end(process)
            raise SpaceError(f"mail2sms-web did not answer on http://{address}/ within {SECONDS}s; its log: {log}")
        time.sleep(0.2)


def end(process: subprocess.Popen) -> None:
    """Stops a server this script started: SIGTERM, then SIGKILL after 5 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def stop(pid: int) -> None:
    """Stops a server an earlier run started (not a child of this one): SIGTERM, then SIGKILL
    after 5 s."""
    try:
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            time.sleep(0.1)
            os.kill(pid, 0)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@dataclass
class Answer:
    status: int
    location: str | None
    body: str


class Client:
    """A few HTTP requests with the space's cookies. The session cookie is `Secure`, which
    browsers send to http://127.0.0.1 (a secure origin) but http.cookiejar never sends over
    http: the cookies are kept here by hand."""

    def __init__(self, base: str) -> None:
        self.base = urllib.parse.urlsplit(base)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Answer:
        connection = http.client.HTTPConnection(self.base.hostname, self.base.port, timeout=SECONDS)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            for value in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
            return Answer(response.status, response.headers.get("Location"), response.read().decode("utf-8", "replace"))
        finally:
            connection.close()

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def log_in(self, login: str, password: str) -> Answer:
        page = self.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.body)
        if page.status != 200 or not csrf:
            raise SpaceError(f"the login page answered {page.status} without a form token")
        return self.request("POST", "/login", {"login": login, "password": password, "csrf": csrf.group(1)})


def check_login(address: str, account: Account) -> None:
    """Logs in as the account over HTTP and finds its tracked email with its recipients' statuses."""
    client = Client(f"http://{address}")
    answer = client.log_in(account.login, account.password)
    if answer.status not in (302, 303) or answer.location != "/sends":
        raise SpaceError(f"logging in as {account.login} answered {answer.status} to {answer.location}")
    tracked = account.emails.get("tracked")
    if tracked:
        page = client.get(f"/sends/{tracked['id']}")
        missing = [f"{number} {fate}" for number, fate in tracked["recipients"].items()
                   if not re.search(rf"{re.escape(number)}</td>\s*<td><span class=\"badge {fate}\">", page.body)]
        if page.status != 200 or missing:
            raise SpaceError(f"the page of {tracked['id']} ({page.status}) does not show {missing}")
    elif client.get("/sends").status != 200:
        raise SpaceError(f"the sends page of {account.login} does not answer")


# ---------------------------------------------------------------------------------------------
# The two uses
# ---------------------------------------------------------------------------------------------


def session() -> int:
    """`make demo`'s last step: the demo account in the emulator session, and the space serving it."""
    env = space_env()
    admin(env, "bootstrap")  # the session's tables are there; this adds the space's (WEB_TABLE)
    if account_exists(env, DEMO_LOGIN):
        admin(env, "account", "password", DEMO_LOGIN, stdin=DEMO_PASSWORD + "\n")
        account = Account(DEMO_LOGIN, DEMO_PASSWORD, key="")
        say(f"Account {DEMO_LOGIN} was already in the emulator session: its password is set again")
    else:
        with Seeder(env) as seeder:
            account = seeder.account(DEMO_LOGIN, DEMO_PASSWORD)
        say(f"Account {DEMO_LOGIN} created in the emulator session ({CREDITS} credits, sender {SENDER}), "
            f"with a password and three emails through the function: one to three numbers (delivered, failed, "
            f"not reported yet), one scheduled, one refused ({account.emails['refused']['status']})")

    SESSION_STATE.mkdir(parents=True, exist_ok=True)
    pid_file, address_file, log = SESSION_STATE / "web.pid", SESSION_STATE / "web.address", SESSION_STATE / "web.log"
    if pid_file.is_file():  # the previous demo's server: this build replaces it
        pid = int(pid_file.read_text().strip() or 0)
        if pid and is_web_server(pid):
            stop(pid)
        pid_file.unlink()
    address = os.environ.get("LISTEN_ADDR") or DEFAULT_LISTEN_ADDR
    if not port_is_free(address):
        taken, address = address, f"127.0.0.1:{free_port()}"
        say(f"({taken} is taken: the space listens on {address}; set LISTEN_ADDR to choose)")
    process = start_web(env, address, log, detach=True)
    pid_file.write_text(f"{process.pid}\n")
    address_file.write_text(f"{address}\n")
    try:
        check_login(address, account)
    except SpaceError:
        end(process)
        pid_file.unlink()
        raise
    say(f"mail2sms-web runs in the background (pid {process.pid}, log {shown(log)}); "
        f"`make emulator-stop` stops it with the emulator.")
    say()
    say(f"The customer space, on the emulator session: http://{address}/")
    say(f"  login: {DEMO_LOGIN}   password: {DEMO_PASSWORD}")
    return 0


def shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def is_web_server(pid: int) -> bool:
    try:
        return "mail2sms-web" in Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace")
    except OSError:
        return False


def test(command: list[str]) -> int:
    """`make browser-test`: the accounts, the space on a free port, then the browser test."""
    env = space_env()
    admin(env, "bootstrap")
    with Seeder(env) as seeder:
        accounts = {viewport: seeder.account(login, TEST_PASSWORD) for viewport, login in LOGINS.items()}
    address = f"127.0.0.1:{free_port()}"
    TEST_WEB_LOG.unlink(missing_ok=True)
    process = start_web(env, address, TEST_WEB_LOG, detach=False)
    try:
        check_login(address, accounts["desktop"])  # the server side works before a browser looks
        WORLD_FILE.parent.mkdir(parents=True, exist_ok=True)
        WORLD_FILE.write_text(json.dumps({
            "url": f"http://{address}",
            "accounts": {viewport: asdict(account) for viewport, account in accounts.items()},
        }, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        logins = ", ".join(f"{login} ({viewport})" for viewport, login in LOGINS.items())
        say(f"mail2sms-web at http://{address}/ (log {shown(TEST_WEB_LOG)}), accounts {logins}: {' '.join(command)}")
        return subprocess.run(command, env={**os.environ, "MAIL2SMS_WORLD": str(WORLD_FILE)}).returncode
    finally:
        end(process)


def main() -> int:
    args = sys.argv[1:]
    try:
        if args == ["session"]:
            return session()
        if len(args) >= 2 and args[0] == "test":
            return test(args[1:])
        print("usage: customer_space.py session | test CMD [ARG...]", file=sys.stderr)
        return 2
    except (SpaceError, demo.DemoError) as error:
        print(f"customer_space: {error}", file=sys.stderr, flush=True)
        return 1
    except (BotoCoreError, ClientError) as error:
        print(f"customer_space: an AWS call to the emulator failed: {error}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
