# Sourced, not run: how the local AWS emulator starts, answers and is reached. Shared by
# scripts/with-moto.sh (a throwaway emulator around one command: the tests, the demo) and
# scripts/emulator.sh (the long-running session of `make emulator-start`).
#
# The emulator is moto's server from the project's .venv (`make venv`): scripts/moto_server.py,
# which applies one request at a time, or moto's own server when that file is absent. It listens
# on 127.0.0.1 only, with its request recorder on (the demo reads it).

moto_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
moto_venv_bin="$moto_root/.venv/bin"

# moto_require PREFIX: fail in one line when the venv lacks moto.
moto_require() {
    if [ ! -x "$moto_venv_bin/moto_server" ]; then
        echo "$1: $moto_venv_bin/moto_server not found: run 'make venv' first" >&2
        return 2
    fi
}

# moto_free_port: a port nobody listens on now (the kernel picks it; moto binds it right after).
moto_free_port() {
    "$moto_venv_bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# moto_port_is_free PORT
moto_port_is_free() {
    "$moto_venv_bin/python" -c 'import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)' "$1"
}

# moto_launch PORT LOG RECORDING [detach]: starts the server in the background and sets
# moto_pid. With `detach`, the server gets a session of its own, so that it outlives the make
# that started it and a Ctrl-C in that terminal does not reach it.
moto_launch() {
    local port="$1" log="$2" recording="$3" detach="${4:-}"
    local server
    if [ -f "$moto_root/scripts/moto_server.py" ]; then
        server=("$moto_venv_bin/python" "$moto_root/scripts/moto_server.py" "$port")
    else
        server=("$moto_venv_bin/moto_server" -H 127.0.0.1 -p "$port")
    fi
    if [ -n "$detach" ]; then
        server=("$moto_venv_bin/python" -c 'import os, sys
try:
    os.setsid()
except OSError:
    pass  # already a group leader: fine
os.execv(sys.argv[1], sys.argv[1:])' "${server[@]}")
    fi
    # Each emulator records to a file of its own, removed when it stops: readers download the
    # whole recording, so it must hold this emulator's requests only.
    MOTO_ENABLE_RECORDING=True \
    MOTO_RECORDER_FILEPATH="$recording" \
        "${server[@]}" </dev/null >"$log" 2>&1 &
    moto_pid=$!
}

# moto_answers ENDPOINT: the server answers HTTP (any status will do).
moto_answers() {
    "$moto_venv_bin/python" - "$1" <<'PY' 2>/dev/null
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=1)
except urllib.error.HTTPError:
    pass  # an HTTP error is still an answer
PY
}

# moto_wait PREFIX ENDPOINT PID LOG [SECONDS]: until the server answers, or fail with its log.
moto_wait() {
    local prefix="$1" endpoint="$2" pid="$3" log="$4" seconds="${5:-${MOTO_WAIT_SECONDS:-30}}"
    local deadline=$((SECONDS + seconds))
    until moto_answers "$endpoint"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$prefix: the emulator (moto) exited before answering; its log ($log):" >&2
            tail -n 20 "$log" >&2 || true
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "$prefix: the emulator (moto) did not answer on $endpoint within ${seconds}s; its log ($log):" >&2
            tail -n 20 "$log" >&2 || true
            return 1
        fi
        sleep 0.2
    done
}

# moto_stop PID: stops the server (SIGTERM, then SIGKILL after 5 s) and waits for it.
moto_stop() {
    local pid="$1"
    kill -0 "$pid" 2>/dev/null || return 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# moto_env ENDPOINT: the `export` lines that point the AWS SDKs (the function's,
# mail2sms-admin's, the tests', boto3's) at the emulator, with dummy credentials, and never at a
# real account by way of a developer's profile.
moto_env() {
    cat <<EOF
export AWS_ENDPOINT_URL=$1
export AWS_REGION=eu-west-1
export AWS_DEFAULT_REGION=eu-west-1
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_SESSION_TOKEN=testing
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_DEFAULT_PROFILE
EOF
}

# The long-running session's home (scripts/emulator.sh): its pid, port, log and recording, and
# the API key scripts/invoke-local.sh uses. Git-ignored; removed by `make emulator-stop`.
emulator_state="${EMULATOR_STATE:-$moto_root/.demo/emulator}"
