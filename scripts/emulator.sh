#!/usr/bin/env bash
# Usage: scripts/emulator.sh start|env|status|stop
#
# A local AWS emulator session that outlives the command that starts it, so that
# mail2sms-admin, `make invoke-local` and boto3 all see the same tables:
#
#   start   starts moto in the background (on EMULATOR_PORT, or a free port the kernel picks),
#           records its pid and port in .demo/emulator/, creates the tables (the customer space's
#           too), the inbound bucket, the reply identity and the schedule group with
#           `mail2sms-admin bootstrap` (names from events/env.json), and prints the `export` lines on stdout (everything else on
#           stderr), so `eval "$(scripts/emulator.sh start)"` works too. If a session already
#           runs, says so and prints its `export` lines again.
#   env     the `export` lines of the running session: the AWS SDK variables (endpoint, region,
#           dummy credentials), the function's and the customer space's settings from
#           events/env.json (WEB_TABLE among them), and the debug binaries' directory on PATH. For `eval "$(make -s emulator-env)"`.
#   status  whether a session runs, and where (and the customer space, when `make demo` started it).
#   stop    stops the session, and the customer space `make demo` started on it
#           (scripts/customer_space.py: mail2sms-web, its pid in web.pid), and removes .demo/emulator/.
#
# mail2sms-admin is taken from $MAIL2SMS_TARGET_DIR/debug (the Makefile passes cargo's target
# directory; otherwise cargo is asked). Build it first: `cargo build --bins` (make does).
set -euo pipefail

# shellcheck source=scripts/moto.sh
source "$(dirname "${BASH_SOURCE[0]}")/moto.sh"
root="$moto_root"
state="$emulator_state"
me=emulator

usage() {
    echo "usage: $0 start|env|status|stop" >&2
    exit 2
}

target_dir() {
    if [ -n "${MAIL2SMS_TARGET_DIR:-}" ]; then
        echo "$MAIL2SMS_TARGET_DIR"
    else
        cargo metadata --format-version 1 --no-deps --manifest-path "$root/Cargo.toml" 2>/dev/null |
            python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null ||
            echo "$root/target"
    fi
}

# The session's pid when it runs (a live moto process of ours), else nothing.
running_pid() {
    local pid
    [ -f "$state/pid" ] || return 1
    pid="$(cat "$state/pid")"
    kill -0 "$pid" 2>/dev/null || return 1
    ps -p "$pid" -o command= 2>/dev/null | grep -q moto || return 1
    echo "$pid"
}

endpoint() {
    echo "http://127.0.0.1:$(cat "$state/port")"
}

# The pid of the customer space that `make demo` started on the session (scripts/customer_space.py)
# when it runs, else nothing.
web_pid() {
    local pid
    [ -f "$state/web.pid" ] || return 1
    pid="$(cat "$state/web.pid")"
    kill -0 "$pid" 2>/dev/null || return 1
    ps -p "$pid" -o command= 2>/dev/null | grep -q mail2sms-web || return 1
    echo "$pid"
}

stop_web() {
    local pid
    if pid="$(web_pid)"; then
        moto_stop "$pid"
        echo "$me: customer space stopped (pid $pid)" >&2
    fi
}

session_env() {
    local bin
    bin="$(target_dir)/debug"
    moto_env "$(endpoint)"
    "$moto_venv_bin/python" - "$root/events/env.json" <<'PY'
import json, shlex, sys
settings = json.load(open(sys.argv[1]))
# The function's settings, then the customer space's (WEB_TABLE…, which mail2sms-admin reads too).
for function in ("Mail2SmsFunction", "WebFunction"):
    for name, value in settings[function].items():
        if name != "AWS_ENDPOINT_URL":  # the emulator's, above (this one is for `sam local invoke`)
            print(f"export {name}={shlex.quote(value)}")
PY
    # mail2sms-admin (and mail2sms) by name.
    printf 'case ":$PATH:" in *:%q:*) ;; *) export PATH=%q:"$PATH" ;; esac\n' "$bin" "$bin"
}

start() {
    local pid port admin
    if pid="$(running_pid)"; then
        echo "$me: already running at $(endpoint) (pid $pid); 'make emulator-stop' stops it" >&2
        session_env
        return 0
    fi
    if [ -d "$state" ]; then
        echo "$me: removing the state of a session that no longer runs ($state)" >&2
        stop_web
        rm -rf "$state"
    fi
    moto_require "$me"
    admin="$(target_dir)/debug/mail2sms-admin"
    if [ ! -x "$admin" ]; then
        echo "$me: $admin not found: build it with 'cargo build --bins' (make emulator-start does)" >&2
        return 2
    fi
    if [ -n "${EMULATOR_PORT:-}" ]; then
        port="$EMULATOR_PORT"
        if ! moto_port_is_free "$port"; then
            echo "$me: port $port is taken: choose another with EMULATOR_PORT=<port>, or leave it unset for a free one" >&2
            return 1
        fi
    else
        port="$(moto_free_port)"
    fi

    mkdir -p "$state"
    moto_launch "$port" "$state/moto.log" "$state/recording" detach
    echo "$moto_pid" >"$state/pid"
    echo "$port" >"$state/port"
    if ! moto_wait "$me" "$(endpoint)" "$moto_pid" "$state/moto.log"; then
        moto_stop "$moto_pid"
        rm -rf "$state"
        return 1
    fi
    echo "$me: moto at $(endpoint) (pid $moto_pid; log ${state#"$root"/}/moto.log)" >&2
    if ! (eval "$(session_env)" && "$admin" bootstrap) >&2; then
        echo "$me: bootstrap failed; the emulator is stopped" >&2
        moto_stop "$moto_pid"
        rm -rf "$state"
        return 1
    fi
    echo "$me: ready. In your shell: eval \"\$(make -s emulator-env)\"; 'make emulator-stop' stops it" >&2
    session_env
}

env_lines() {
    if ! running_pid >/dev/null; then
        echo "$me: no emulator session runs: start one with 'make emulator-start'" >&2
        return 1
    fi
    session_env
}

status() {
    local pid
    if pid="$(running_pid)"; then
        echo "$me: running at $(endpoint) (pid $pid; state in ${state#"$root"/}/)"
        if pid="$(web_pid)"; then
            echo "$me: customer space at http://$(cat "$state/web.address" 2>/dev/null)/ (pid $pid; log ${state#"$root"/}/web.log)"
        fi
    else
        echo "$me: not running"
        return 1
    fi
}

stop() {
    local pid
    stop_web
    if pid="$(running_pid)"; then
        moto_stop "$pid"
        if kill -0 "$pid" 2>/dev/null; then
            echo "$me: pid $pid did not stop; state kept in $state" >&2
            return 1
        fi
        echo "$me: stopped (pid $pid)" >&2
    else
        echo "$me: not running" >&2
    fi
    rm -rf "$state"
    rmdir "$(dirname "$state")" 2>/dev/null || true  # .demo/, when nothing else is in it
}

[ "$#" -eq 1 ] || usage
case "$1" in
    start) start ;;
    env) env_lines ;;
    status) status ;;
    stop) stop ;;
    *) usage ;;
esac
