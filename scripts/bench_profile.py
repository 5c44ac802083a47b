"""Where the function's CPU goes, from a profile `make bench` recorded (docs/performance.md).

Usage: scripts/bench_profile.py PERF_DATA

PERF_DATA is a `perf record` of the function (`make bench BENCH_ARGS="--perf FILE"`, or
`--perf-first FILE` for the first call), ideally of the `profiling` cargo profile's build, which
keeps the symbols. Each sample is put in one bucket: the innermost frame of its user-space stack
that names one (the SDK's signing, endpoint rules, interceptors…, hyper, tokio, our code), whether
the sample itself was taken in the binary, in libc (malloc, memmove) or in the kernel. It prints
the share of each bucket with that split, then the threads and the top self symbols.

Python 3.11 standard library and `perf script` only.
"""

from __future__ import annotations

import collections
import subprocess
import sys

# Buckets, first match wins, tried on each frame from the leaf up.
BUCKETS = (
    ("SDK: SigV4 signing", ("aws_sigv4", "SigV4Signer")),
    ("SDK: endpoint rules", ("resolve_endpoint", "endpoint_lib", "EndpointResolver", "::endpoint::")),
    ("logging (tracing)", ("tracing_subscriber", "tracing_core::", "lambda_runtime::tracing")),
    ("SDK: stalled-stream protection", ("minimum_throughput", "stalled_stream", "ThroughputLogs")),
    ("SDK: retries", ("::retries::", "retry_classifier", "token_bucket", "RetryStrategy")),
    ("SDK: identity (credentials)", ("identity", "credentials", "IdentityCache")),
    ("SDK: (de)serialization", ("protocol_serde", "aws_smithy_json", "aws_smithy_xml", "aws_smithy_query", "ser_de")),
    ("SDK: interceptors", ("Interceptor", "interceptors::")),
    ("SDK: per-call configuration", ("RuntimeComponents", "ConfigBag", "config_bag", "runtime_plugin",
                                     "RuntimePlugins", "FrozenLayer", "TypeErasedBox")),
    ("HTTP (hyper)", ("hyper::", "hyper_util", "httparse", "aws_smithy_http_client")),
    ("SDK: orchestrator, other", ("aws_smithy_runtime", "aws_smithy_types", "aws_runtime", "aws_sdk_", "aws_smithy_")),
    ("ours: MIME", ("mail2sms::mail", "mail_parser")),
    ("ours: domain (numbers, text)", ("mail2sms::domain", "phonenumber", "regex")),
    ("ours: records (serde_dynamo)", ("serde_dynamo", "mail2sms::aws::dynamodb")),
    ("ours: other", ("mail2sms::",)),
    ("serde_json", ("serde_json",)),
    ("Lambda runtime client", ("lambda_runtime",)),
    ("tokio runtime", ("tokio::",)),
)


def bucket(frames: list[str]) -> str:
    for frame in frames:
        for name, keys in BUCKETS:
            if any(key in frame for key in keys):
                return name
    return "unattributed"


def where(leaf: str) -> str:
    if "kernel.kallsyms" in leaf:
        return "kernel"
    if any(lib in leaf for lib in ("libc.so", "libm.so", "[vdso]")):
        return "libc"
    return "binary"


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    script = subprocess.run(["perf", "script", "-i", sys.argv[1]], capture_output=True, text=True, check=True)
    buckets: collections.Counter[str] = collections.Counter()
    split: collections.Counter[tuple[str, str]] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    samples = [block for block in script.stdout.split("\n\n") if block.strip()]
    for block in samples:
        lines = block.strip().split("\n")
        threads[lines[0].split()[0]] += 1
        frames = [line.strip() for line in lines[1:]]
        if not frames:
            continue
        name = bucket([frame for frame in frames if "kernel.kallsyms" not in frame])
        buckets[name] += 1
        split[(name, where(frames[0]))] += 1
        leaves[frames[0].split(" ", 1)[1].rsplit(" (", 1)[0].split("+0x")[0]] += 1
    total = len(samples)
    if not total:
        print("no samples")
        return 1
    print(f"{total} samples")
    for name, n in buckets.most_common():
        parts = ", ".join(f"{kind} {100 * split[(name, kind)] / total:.1f}"
                          for kind in ("binary", "libc", "kernel") if split[(name, kind)])
        print(f"  {name:<34} {100 * n / total:5.1f} %   ({parts})")
    print("threads: " + ", ".join(f"{name} {100 * n / total:.0f} %" for name, n in threads.most_common()))
    print("top self symbols:")
    for symbol, n in leaves.most_common(15):
        print(f"  {100 * n / total:5.1f} %  {symbol[:110]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
