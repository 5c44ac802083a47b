"""Mail2SMS end-to-end benchmark: the release function binary against a local AWS emulator.

`make bench` builds the release Lambda artifact (`make build`), then runs this script under
scripts/with-moto.sh (a throwaway moto server; AWS_ENDPOINT_URL and dummy credentials). The
function runs as Lambda runs it, behind the minimal Lambda Runtime API of scripts/demo.py
(imported, with the demo's operator-CLI helpers), with the environment the template gives it
(JSON logs at INFO level). Between the function and the emulator sits a counting HTTP proxy
(`AwsCallCounter`): it names every AWS call by service and operation, and it keeps the
function's connections alive, as AWS's endpoints do (moto's werkzeug server closes every
connection after one answer; `--connection close` measures that instead).

The emulator is warmed first by throwaway function processes (moto serves its first requests of
each kind several times slower). Then, on the function process:

- COLD_STARTS new processes, each: init, from exec to the first poll of the Runtime API, and the
  CPU its threads took; its first invocation (one 2 KB, one-recipient email, sent now), wall and
  CPU, and how much of the wall its AWS calls took. The figures are their medians.
- the last process goes on with `--emails` warm emails like it (300 by default): wall time per
  email (median) and process CPU per email, utime + stime of all the process's threads from
  /proc/PID/stat, taken before and after the whole run (and by schedstat, as a check);
- the AWS calls of each email, by kind (the first, and each warm one);
- the peak RSS (VmHWM, as Lambda's "Max Memory Used" counts it) for a 2 KB email, a 5 MB one
  and a 40 MiB one (SES accepts up to 40 MB): the high-water mark is reset (clear_refs) before
  each, so each figure is that email's own peak in the warm process; the largest is checked
  against the template's MemorySize.

It prints the figures and checks the budgets below; it exits non-zero when one is exceeded or
when an email did not give what it must (one SMS published). `--perf FILE` and `--perf-first
FILE` record CPU profiles (`perf record`, DWARF call graphs) of the warm emails and of the last
first call: build the function with the `profiling` cargo profile for symbols.

Python 3.11 standard library, boto3 and scripts/demo.py only.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

# scripts/demo.py, beside this script: the Runtime API, the function's process, the operator CLI
# (imported without leaving a __pycache__ in scripts/).
sys.dont_write_bytecode = True
import demo  # noqa: E402

# ---------------------------------------------------------------------------------------------
# The budgets (issue #10), checked on every run
# ---------------------------------------------------------------------------------------------

CPU_PER_WARM_EMAIL_MS = 1.5  # process CPU, all threads, per warm one-recipient email
FIRST_CALL_TIMES_WARM = 2.0  # the first invocation's wall time, against a warm one's (median)
AWS_CALLS_PER_WARM_EMAIL = 4  # S3 GetObject, the debit, SNS Publish, the checkpoint
# The largest email's peak RSS, as a share of the template's MemorySize: the rest is headroom.
RSS_SHARE_OF_MEMORY = 0.5
MIN_WARM_EMAILS = 100  # the CPU figure is an average over at least this many emails

# ---------------------------------------------------------------------------------------------
# The scenario
# ---------------------------------------------------------------------------------------------

LOGIN = "bench"
CREDITS = 1_000_000
SENDER = "BOUTIQUE"
NUMBER = "+33612345678"
SUBJECT_NUMBER = "06 12 34 56 78"
FROM = "Boutique <shop@boutique.example.com>"
TEXT = "Votre commande 4521 est prete au magasin. Presentez ce SMS a l'accueil. STOP au 36180"
SMALL_EMAIL_BYTES = 2_000
# Sent before the measured processes start, by throwaway ones (EMULATOR_WARM_UP_PROCESSES, each
# sending its share: a first email from the account, 5 calls, then warm ones, 4 calls): moto
# serves its first few requests of each kind several times slower than the next ones.
EMULATOR_WARM_UP_PROCESSES = 2
EMULATOR_WARM_UP_EMAILS = 6
# New processes started, each measured from exec to the end of its first call: the figures are
# their medians. The last one goes on with the warm emails.
COLD_STARTS = 5
# SES accepts up to 40 MB "including headers": 40 MiB is on the safe side of either reading.
SIZES = (("2 KB", SMALL_EMAIL_BYTES), ("5 MB", 5_000_000), ("40 MB", 40 * 1024 * 1024))

TARGET_DIR = demo.TARGET_DIR
BOOTSTRAP = TARGET_DIR / "lambda" / "mail2sms" / "bootstrap"
FUNCTION_LOG = TARGET_DIR / "bench-function.log"


class BenchError(Exception):
    """A step of the benchmark failed: it stops."""


# ---------------------------------------------------------------------------------------------
# The counting proxy between the function and the emulator
# ---------------------------------------------------------------------------------------------

# Headers of one hop only (RFC 9110, 7.6.1), not forwarded.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
# The service in a SigV4 Authorization header's credential scope: Credential=KEY/DATE/REGION/SERVICE/aws4_request.
SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/[^/,]+/([^/,]+)/aws4_request")


def call_kind(method: str, path: str, headers: dict[str, str], body: bytes) -> str:
    """An AWS call as "service Operation": the service from the request's signature, the
    operation from the JSON protocol's target, the query protocol's Action, or the REST path."""
    scope = SCOPE.search(headers.get("authorization", ""))
    service = scope.group(1) if scope else "unsigned"
    if target := headers.get("x-amz-target"):
        return f"{service} {target.rpartition('.')[2]}"
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        if action := fields.get("Action"):
            return f"{service} {action[0]}"
    path = urllib.parse.urlsplit(path).path
    if service == "s3":
        parts = [p for p in path.split("/") if p]
        operation = {"GET": "GetObject", "PUT": "PutObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}
        return f"s3 {operation.get(method, method) if len(parts) > 1 else method + 'Bucket'}"
    if service == "ses" and path.endswith("/outbound-emails"):
        return "ses SendEmail"
    if service == "scheduler" and path.startswith("/schedules/"):
        return f"scheduler {'CreateSchedule' if method == 'POST' else method}"
    return f"{service} {method} {path}"


class AwsCallCounter:
    """An HTTP/1.1 proxy on 127.0.0.1 at a free port, in front of `upstream` (the emulator).

    Every request is counted by kind (`call_kind`), forwarded whole and answered whole. The
    function's connections are kept alive (`keep_alive`), as AWS's endpoints keep them, or closed
    after each answer, as moto's server does; the proxy's own connections to the emulator are
    one per request, whatever the emulator does.
    """

    def __init__(self, upstream: str, keep_alive: bool) -> None:
        split = urllib.parse.urlsplit(upstream)
        self.upstream_host, self.upstream_port = split.hostname, split.port or 80
        self.keep_alive = keep_alive
        self.calls: list[str] = []
        self.durations: list[float] = []  # each call's time from its request read to its answer, seconds
        self.connections = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        quiet_resets(self._server)
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-call-counter", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> AwsCallCounter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def seen(self) -> int:
        with self._lock:
            return len(self.calls)

    def since(self, mark: int) -> list[str]:
        with self._lock:
            return self.calls[mark:]

    def timed_since(self, mark: int) -> list[tuple[str, float]]:
        """The calls since `mark`, each with its time in the proxy and the emulator (ms)."""
        with self._lock:
            return [(kind, seconds * 1000) for kind, seconds in zip(self.calls[mark:], self.durations[mark:])]

    def upstream_ms(self, mark: int) -> float:
        """The time the calls since `mark` spent in the proxy and the emulator, in all."""
        with self._lock:
            return sum(self.durations[mark:]) * 1000

    def _record(self, kind: str, seconds: float) -> None:
        with self._lock:
            self.calls.append(kind)
            self.durations.append(seconds)

    def _connected(self) -> None:
        with self._lock:
            self.connections += 1

    def _forward(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes):
        upstream = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=120)
        try:
            upstream.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    upstream.putheader(name, value)
            upstream.putheader("Content-Length", str(len(body)))
            upstream.endheaders(body)
            response = upstream.getresponse()
            return response.status, response.reason, response.getheaders(), response.read()
        finally:
            upstream.close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # TCP_NODELAY: an answer's head and body are two writes; with Nagle's algorithm the
            # body would wait for the client's delayed acknowledgement (40 ms on Linux).
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
                pass

            def setup(self) -> None:
                super().setup()
                proxy._connected()

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

            def _proxy(self) -> None:
                body = self._read_body()
                started = time.perf_counter()
                headers = {name.lower(): value for name, value in self.headers.items()}
                kind = call_kind(self.command, self.path, headers, body)
                try:
                    status, reason, answer_headers, answer = proxy._forward(
                        self.command, self.path, list(self.headers.items()), body)
                except OSError as error:
                    status, reason, answer_headers, answer = 502, "Bad Gateway", [], str(error).encode()
                proxy._record(kind, time.perf_counter() - started)
                self.send_response(status, reason)
                for name, value in answer_headers:
                    if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                if not proxy.keep_alive:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _proxy

        return Handler


# ---------------------------------------------------------------------------------------------
# The function process, seen from /proc
# ---------------------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process (every thread, live or gone), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # fields 14 and 15 of proc(5)


def threads_cpu_ms(pid: int) -> float:
    """The CPU time of the process's live threads, to the nanosecond (/proc/PID/task/*/schedstat):
    finer than utime + stime for one call, blind to threads gone meanwhile."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            total += int(Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # the thread ended meanwhile
    return total / 1e6


def reset_peak_rss(pid: int) -> None:
    """Sets the process's VmHWM back to its current RSS (proc(5), /proc/PID/clear_refs: 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def process_threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


# ---------------------------------------------------------------------------------------------
# The emails
# ---------------------------------------------------------------------------------------------


def small_email(key: str, size: int) -> bytes:
    """A one-recipient text/plain email of about `size` bytes: the SMS text, then a signature
    (cut by the gateway) long enough to fill it, as a business email's footer would."""
    raw = demo.plain_email("bench", "", LOGIN, key, FROM, SUBJECT_NUMBER, TEXT + "\r\n-- \r\n", {}).raw
    footer = ("Boutique Exemple - 12 rue de la Paix, 75002 Paris - 01 23 45 67 89 - "
              "https://boutique.example.com\r\n")
    lines = max(0, (size - len(raw)) // len(footer))
    return raw + (footer * lines).encode()


def large_email(key: str, size: int) -> bytes:
    """A `size`-byte email: the SMS text in a text/plain part, then a base64 attachment."""
    head = demo.large_email("bench", LOGIN, key, FROM, "<large@bench.example.com>", TEXT, b"", {}).raw
    attachment = demo.large_attachment(max(78, size - len(head)))
    sample = demo.large_email("bench", LOGIN, key, FROM, "<large@bench.example.com>", TEXT, attachment, {})
    return sample.raw


@dataclass
class Sent:
    """One invocation: its wall time, the process CPU it took (in clock ticks, and to the
    nanosecond for its live threads), its AWS calls by kind."""

    wall_ms: float
    cpu_ms: float
    threads_cpu_ms: float
    calls: list[str]
    outcome: dict
    aws_ms: float  # of the wall time, the time its AWS calls took in the proxy and the emulator
    timed_calls: list[tuple[str, float]]


@dataclass
class ColdStart:
    """A new process: its init (wall, and CPU of its threads), its AWS calls during init, and its
    first invocation."""

    init_ms: float
    init_cpu_ms: float
    init_calls: int
    first: Sent
    connections: int  # the connections to AWS the process opened, up to the end of its first call


# ---------------------------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------------------------


def function_process(env: dict[str, str]) -> demo.Function:
    """The function binary behind the demo's Runtime API, started by `with`."""
    function = demo.Function(env)
    # The demo's Runtime API writes each answer's head and body apart: without TCP_NODELAY, every
    # invocation would wait for the function's delayed acknowledgement (40 ms on Linux).
    function.api._server.RequestHandlerClass.disable_nagle_algorithm = True
    quiet_resets(function.api._server)
    return function


def quiet_resets(server: ThreadingHTTPServer) -> None:
    """A connection the function's end reset (its process stopped between two benchmarks' runs)
    is no error of the server's: it is closed without a traceback."""
    report = server.handle_error

    def handle_error(request: object, address: object) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            report(request, address)

    server.handle_error = handle_error


class Bench:
    def __init__(self, env: dict[str, str], emails: int, keep_alive: bool, perf: Path | None,
                 perf_first: Path | None) -> None:
        self.env = env
        self.emails = emails
        self.keep_alive = keep_alive
        self.perf = perf
        self.perf_first = perf_first
        boto = BotoConfig(connect_timeout=5, read_timeout=demo.COMMAND_SECONDS, retries={"max_attempts": 2},
                          s3={"addressing_style": "path"})
        self.s3 = boto3.client("s3", config=boto)
        self.key = ""
        self.failures: list[str] = []

    def expect(self, condition: bool, what: str) -> None:
        if not condition:
            self.failures.append(what)
            print(f"  !! {what}", flush=True)

    def setup(self) -> None:
        demo.admin(self.env, "bootstrap")
        self.key = demo.admin(self.env, "account", "create", LOGIN, "--credits", str(CREDITS),
                              "--sender", SENDER).strip()
        if not re.fullmatch(r"[0-9a-f]{32,}", self.key):
            raise BenchError("account create did not print a key")

    def store(self, raw: bytes) -> str:
        """Stores a raw email as SES's receipt rule would; its SES message id."""
        message_id = demo.ses_message_id()
        self.s3.put_object(Bucket=demo.CONFIG["INBOUND_BUCKET"], Key=demo.CONFIG["INBOUND_PREFIX"] + message_id,
                           Body=raw)
        return message_id

    def send(self, function: demo.Function, counter: AwsCallCounter, message_id: str, what: str) -> Sent:
        pid = function._process.pid
        mark, cpu, threads_cpu = counter.seen(), process_cpu_seconds(pid), threads_cpu_ms(pid)
        started = time.perf_counter()
        outcome = function.outcome(demo.ses_event(message_id))
        wall = time.perf_counter() - started
        sent = Sent(wall * 1000, (process_cpu_seconds(pid) - cpu) * 1000, threads_cpu_ms(pid) - threads_cpu,
                    counter.since(mark), outcome, counter.upstream_ms(mark),
                    counter.timed_since(mark))
        publishes = sum(1 for kind in sent.calls if kind == "sns Publish")
        self.expect(outcome.get("outcome") == "sent" and publishes == 1,
                    f"{what}: outcome {outcome}, {publishes} SMS published, expected one SMS sent")
        return sent

    def run(self) -> int:
        print(f"Mail2SMS bench: {demo.shown(demo.FUNCTION_BIN)} against the emulator at {self.env['AWS_ENDPOINT_URL']}",
              flush=True)
        self.setup()
        print(f"  storing {EMULATOR_WARM_UP_EMAILS + COLD_STARTS} + {self.emails} one-recipient emails of "
              f"{SMALL_EMAIL_BYTES / 1000:g} KB, then one of "
              + ", one of ".join(label for label, size in SIZES if size > SMALL_EMAIL_BYTES), flush=True)
        small = small_email(self.key, SMALL_EMAIL_BYTES)
        emulator_ids = [self.store(small) for _ in range(EMULATOR_WARM_UP_EMAILS)]
        first_ids = [self.store(small) for _ in range(COLD_STARTS)]
        warm_ids = [self.store(small) for _ in range(self.emails)]
        large = {label: self.store(large_email(self.key, size) if size > SMALL_EMAIL_BYTES else small)
                 for label, size in SIZES}

        with AwsCallCounter(self.env["AWS_ENDPOINT_URL"], self.keep_alive) as counter:
            env = {**self.env, "AWS_ENDPOINT_URL": counter.url, "AWS_LAMBDA_LOG_LEVEL": "INFO"}
            demo.FUNCTION_LOG = FUNCTION_LOG
            # moto serves its first requests of each kind slower (its code paths load and warm
            # up): throwaway function processes send emails first, so that the measured ones meet
            # a warm emulator, as a new Lambda container meets a warm AWS.
            share = EMULATOR_WARM_UP_EMAILS // EMULATOR_WARM_UP_PROCESSES
            for start in range(0, EMULATOR_WARM_UP_EMAILS, share):
                with function_process(env) as function:
                    for message_id in emulator_ids[start : start + share]:
                        self.send(function, counter, message_id, "an emulator warm-up email")
            print(f"  {COLD_STARTS} cold starts, then {self.emails} warm emails and the large ones in the last "
                  f"process; AWS through {counter.url}", flush=True)
            colds: list[ColdStart] = []
            for n, first_id in enumerate(first_ids, 1):
                with function_process(env) as function:
                    colds.append(self.cold_start(function, counter, first_id, last=n == COLD_STARTS))
                    if n < COLD_STARTS:
                        continue
                    pid, connections_before = function._process.pid, counter.connections
                    recorder = self.start_perf(pid, self.perf)
                    cpu_before, started = process_cpu_seconds(pid), time.perf_counter()
                    warm = [self.send(function, counter, message_id, f"warm email {i + 1}")
                            for i, message_id in enumerate(warm_ids)]
                    warm_cpu_ms = (process_cpu_seconds(pid) - cpu_before) * 1000 / len(warm)
                    warm_elapsed = time.perf_counter() - started
                    self.stop_perf(recorder)
                    threads = process_threads(pid)

                    peaks = {}
                    for label, _ in SIZES:
                        reset_peak_rss(pid)
                        sent = self.send(function, counter, large[label], f"the {label} email")
                        peaks[label] = (function.peak_rss_now(), sent)
                    connections = counter.connections - connections_before
        return self.report(colds, warm, warm_cpu_ms, warm_elapsed, threads, peaks, connections)

    def cold_start(self, function: demo.Function, counter: AwsCallCounter, first_id: str, last: bool) -> ColdStart:
        """A new process's init and first call (profiled with --perf-first in the last one)."""
        pid = function._process.pid
        mark, connections = counter.seen(), counter.connections
        limit = time.monotonic() + 30
        while function.api.first_poll is None:
            if function._process.poll() is not None or time.monotonic() > limit:
                raise BenchError(f"the function did not start; its log:\n{demo.log_tail()}")
            time.sleep(0.001)
        init_ms, init_cpu_ms, init_calls = function.init_ms(), threads_cpu_ms(pid), counter.since(mark)
        recorder = self.start_perf(pid, self.perf_first if last else None)
        first = self.send(function, counter, first_id, "the first email")
        self.stop_perf(recorder)
        return ColdStart(init_ms, init_cpu_ms, len(init_calls), first, counter.connections - connections)

    @staticmethod
    def start_perf(pid: int, output: Path | None) -> subprocess.Popen | None:
        """`perf record` of the function process into `output` (call graphs from DWARF: the
        release build has no frame pointers; the `profiling` profile keeps its symbols)."""
        if output is None:
            return None
        if not shutil.which("perf"):
            raise BenchError("--perf needs perf on PATH")
        recorder = subprocess.Popen(["perf", "record", "--call-graph", "dwarf,65528", "-F", "1999", "-p", str(pid),
                                     "-o", str(output)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1)  # perf attaches before the first email it is for
        return recorder

    @staticmethod
    def stop_perf(recorder: subprocess.Popen | None) -> None:
        if recorder is None:
            return
        recorder.send_signal(signal.SIGINT)
        _, errors = recorder.communicate(timeout=60)
        if recorder.returncode not in (0, -signal.SIGINT):
            raise BenchError(f"perf record failed: {errors.decode(errors='replace').strip()}")

    def report(self, colds: list[ColdStart], warm: list[Sent], warm_cpu_ms: float, warm_elapsed: float,
               threads: int, peaks: dict[str, tuple[int | None, Sent]], connections: int) -> int:
        walls = [sent.wall_ms for sent in warm]
        warm_wall = statistics.median(walls)
        memory_mb = demo.template_memory_mb()
        binary = demo.shown(demo.FUNCTION_BIN)
        init_ms = statistics.median(cold.init_ms for cold in colds)
        first_ms = statistics.median(cold.first.wall_ms for cold in colds)
        # The cold start whose first call took the median time: its calls are the ones shown.
        first = sorted(colds, key=lambda cold: cold.first.wall_ms)[len(colds) // 2].first

        def spread(values: list[float]) -> str:
            return f"{min(values):.1f}–{max(values):.1f}"

        print()
        print(f"Function: {binary}, behind a local Lambda Runtime API; AWS: moto through a counting proxy "
              f"({'connections kept alive' if self.keep_alive else 'one connection per call'}); "
              f"medians of {len(colds)} cold starts (range)")
        print(f"  init                    {init_ms:8.1f} ms wall   "
              f"{statistics.median(cold.init_cpu_ms for cold in colds):6.1f} ms CPU   "
              f"({spread([cold.init_ms for cold in colds])} ms; exec to first poll; "
              f"{max(cold.init_calls for cold in colds)} AWS calls; CPU of its threads, schedstat)")
        print(f"  first call              {first_ms:8.1f} ms wall   "
              f"{statistics.median(cold.first.threads_cpu_ms for cold in colds):6.1f} ms CPU   "
              f"({spread([cold.first.wall_ms for cold in colds])} ms; {first_ms / warm_wall:.1f}× a warm one; "
              f"{statistics.median(cold.first.aws_ms for cold in colds):.1f} ms of it in AWS calls)")
        print(f"  init + first call       {statistics.median(c.init_ms + c.first.wall_ms for c in colds):8.1f} ms wall   "
              f"{statistics.median(c.init_cpu_ms + c.first.threads_cpu_ms for c in colds):6.1f} ms CPU")
        print(f"  warm wall per email     {warm_wall:8.2f} ms median, {statistics.fmean(walls):.2f} ms mean, "
              f"{max(walls):.2f} ms max, over {len(warm)} emails ({len(warm) / warm_elapsed:.0f} emails/s); "
              f"{statistics.median(s.aws_ms for s in warm):.2f} ms of it in AWS calls (median)")
        print(f"  process CPU per email   {warm_cpu_ms:8.3f} ms (utime + stime, all {threads} threads, "
              f"over {len(warm)} warm emails; {statistics.fmean(s.threads_cpu_ms for s in warm):.3f} ms by schedstat)")
        print(f"  AWS calls, first email  {len(first.calls)}: {describe_calls(first.calls)}")
        print(f"                          in order: "
              + ", ".join(f"{kind} {ms:.1f} ms" for kind, ms in first.timed_calls))
        counts = [len(sent.calls) for sent in warm]
        every = [call for sent in warm for call in sent.calls]
        print(f"  AWS calls, warm email   {statistics.fmean(counts):.2f} per email (max {max(counts)}): "
              f"{describe_calls(every, len(warm))}")
        timed: dict[str, list[float]] = {}
        for sent in warm:
            for kind, ms in sent.timed_calls:
                timed.setdefault(kind, []).append(ms)
        print(f"                          each in the proxy and the emulator (median): "
              + ", ".join(f"{kind} {statistics.median(times):.1f} ms" for kind, times in timed.items()))
        print(f"  connections to AWS      {colds[-1].connections} opened by the first call, {connections} by the "
              f"{len(warm) + len(peaks)} emails after it (in the last process)")
        for label, (peak, sent) in peaks.items():
            print(f"  peak RSS, {label + ' email':<13} {mib(peak):>8} (VmHWM, reset before it; "
                  f"{sent.wall_ms:.0f} ms wall, AWS calls: {describe_calls(sent.calls)})")
        largest = max((peak or 0) for peak, _ in peaks.values())
        if memory_mb is not None:
            print(f"  template MemorySize     {memory_mb:5d} MB: the largest peak is "
                  f"{largest * 1024 / (memory_mb * 1_000_000):.0%} of it")

        print()
        budgets = [
            (f"process CPU per warm email {warm_cpu_ms:.3f} ms ≤ {CPU_PER_WARM_EMAIL_MS} ms",
             warm_cpu_ms <= CPU_PER_WARM_EMAIL_MS),
            (f"first call {first_ms:.1f} ms ≤ {FIRST_CALL_TIMES_WARM:g}× a warm one ({warm_wall:.1f} ms)",
             first_ms <= FIRST_CALL_TIMES_WARM * warm_wall),
            (f"AWS calls per warm email, at most {max(counts)} ≤ {AWS_CALLS_PER_WARM_EMAIL}",
             max(counts) <= AWS_CALLS_PER_WARM_EMAIL),
            (f"peak RSS {mib(largest)} ≤ {RSS_SHARE_OF_MEMORY:.0%} of MemorySize {memory_mb} MB",
             memory_mb is not None and largest * 1024 <= RSS_SHARE_OF_MEMORY * memory_mb * 1_000_000),
            (f"at least {MIN_WARM_EMAILS} warm emails measured ({len(warm)})", len(warm) >= MIN_WARM_EMAILS),
        ]
        for what, ok in budgets:
            print(f"  {'ok  ' if ok else 'OVER'} {what}")
            if not ok:
                self.failures.append(what)
        log = FUNCTION_LOG.read_text(encoding="utf-8", errors="replace")
        self.expect(self.key not in log and TEXT not in log and not any(n in log for n in (NUMBER, demo.LARGE_NUMBER)),
                    f"the function's log ({demo.shown(FUNCTION_LOG)}) shows the key, the number or the text")
        print()
        if self.failures:
            print(f"BENCH FAILED: {len(self.failures)} budget(s) or expectation(s) broken", flush=True)
            return 1
        print("Bench passed: every budget met.", flush=True)
        return 0


def describe_calls(calls: list[str], per: int = 1) -> str:
    counts: dict[str, int] = {}
    for call in calls:
        counts[call] = counts.get(call, 0) + 1
    return ", ".join(f"{kind} ×{n / per:g}" for kind, n in counts.items()) or "none"


def mib(kib: int | None) -> str:
    return f"{kib / 1024:.1f} MiB" if kib is not None else "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emails", type=int, default=300, help="warm emails to average over (default 300)")
    parser.add_argument("--connection", choices=("keep-alive", "close"), default="keep-alive",
                        help="the emulator's connections as the function sees them (default: kept alive, as AWS)")
    parser.add_argument("--function", type=Path, default=Path(os.environ.get("MAIL2SMS_FUNCTION_BIN") or BOOTSTRAP),
                        help="the function binary (default: the release Lambda artifact of `make build`)")
    parser.add_argument("--perf", type=Path, help="record a CPU profile of the warm emails into this file")
    parser.add_argument("--perf-first", type=Path, help="record a CPU profile of the first call into this file")
    args = parser.parse_args()
    demo.FUNCTION_BIN = args.function
    if admin := os.environ.get("MAIL2SMS_ADMIN_BIN"):
        demo.ADMIN_BIN = Path(admin)
    try:
        for binary in (demo.FUNCTION_BIN, demo.ADMIN_BIN):
            if not binary.is_file():
                raise BenchError(f"{demo.shown(binary)} is missing: run `make bench` (it builds both)")
        bench = Bench(demo.demo_env(), args.emails, args.connection == "keep-alive", args.perf,
                      args.perf_first)
        return bench.run()
    except (BenchError, demo.DemoError) as error:
        print(f"\nbench: {error}", file=sys.stderr, flush=True)
        return 1
    except (BotoCoreError, ClientError) as error:
        print(f"\nbench: an AWS call to the emulator failed: {error}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
