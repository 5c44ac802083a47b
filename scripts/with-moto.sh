#!/usr/bin/env bash
# Usage: scripts/with-moto.sh CMD [ARG...]
#
# Runs CMD against a throwaway local AWS emulator: a moto server (from the project's .venv, see
# `make venv`) on 127.0.0.1 at a free port, with its request recorder on. CMD sees the standard
# AWS SDK variables pointing at it (AWS_ENDPOINT_URL, AWS_REGION=eu-west-1, dummy credentials),
# so the real SDK clients of the function, of mail2sms-admin and of the tests talk to moto.
# The server is stopped however CMD ends; the script exits with CMD's status.
# Moto's own log goes to target/moto.log (MOTO_LOG overrides), its recording beside it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv_bin="$root/.venv/bin"
wait_seconds="${MOTO_WAIT_SECONDS:-30}"

if [ "$#" -eq 0 ]; then
    echo "usage: $0 CMD [ARG...]" >&2
    exit 2
fi
if [ ! -x "$venv_bin/moto_server" ]; then
    echo "with-moto: $venv_bin/moto_server not found: run 'make venv' first" >&2
    exit 2
fi

mkdir -p "$root/target"
log="${MOTO_LOG:-$root/target/moto.log}"

# A port nobody listens on now (the kernel picks it; moto binds it right after).
port="$("$venv_bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"

# scripts/moto_server.py, when present, is moto's server applying one request at a time (see
# its docstring); otherwise moto's own server.
if [ -f "$root/scripts/moto_server.py" ]; then
    server=("$venv_bin/python" "$root/scripts/moto_server.py" "$port")
else
    server=("$venv_bin/moto_server" -H 127.0.0.1 -p "$port")
fi
# Each emulator records to a file of its own, removed when it stops: readers download the
# whole recording, so it must hold this run's requests only.
recording="$root/target/moto-recording.$port"
MOTO_ENABLE_RECORDING=True \
MOTO_RECORDER_FILEPATH="$recording" \
    "${server[@]}" >"$log" 2>&1 &
moto_pid=$!

stop_moto() {
    if kill -0 "$moto_pid" 2>/dev/null; then
        kill "$moto_pid" 2>/dev/null || true
        wait "$moto_pid" 2>/dev/null || true
    fi
    rm -f "$recording"
}
trap stop_moto EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

endpoint="http://127.0.0.1:$port"

# Wait until the server answers HTTP (any status will do), or give up with its log.
deadline=$((SECONDS + wait_seconds))
until "$venv_bin/python" - "$endpoint" <<'PY' 2>/dev/null
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=1)
except urllib.error.HTTPError:
    pass  # an HTTP error is still an answer
PY
do
    if ! kill -0 "$moto_pid" 2>/dev/null; then
        echo "with-moto: moto_server exited before answering; its log ($log):" >&2
        tail -n 20 "$log" >&2 || true
        exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "with-moto: moto_server did not answer on $endpoint within ${wait_seconds}s; its log ($log):" >&2
        tail -n 20 "$log" >&2 || true
        exit 1
    fi
    sleep 0.2
done

export AWS_ENDPOINT_URL="$endpoint"
export AWS_REGION=eu-west-1
export AWS_DEFAULT_REGION=eu-west-1
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_SESSION_TOKEN=testing
export AWS_EC2_METADATA_DISABLED=true
# Never reach a real account by way of a developer's profile.
unset AWS_PROFILE AWS_DEFAULT_PROFILE

set +e
"$@"
status=$?
set -e
exit "$status"
