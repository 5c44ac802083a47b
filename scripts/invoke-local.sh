#!/usr/bin/env bash
# Usage: scripts/invoke-local.sh EVENT [RAW]     (what `make invoke-local EVENT=… RAW=…` runs)
#
# Runs the function once on EVENT, Docker-free, against the local emulator session
# (scripts/emulator.sh; one is started when none runs, and left running): the function runs
# under `cargo lambda watch` (the Lambda runtime API on 127.0.0.1) with the session's settings
# (events/env.json's), and `cargo lambda invoke` sends it the event.
#
# - The sample emails say {{KEY}} where the API key goes: the key of $API_KEY when set (the
#   account `boutique` must then exist), else the key this script created for `boutique` in
#   this session (10 credits, sender BOUTIQUE) the first time; an account `boutique` whose key
#   it does not know gets a new key (rotate-key), with a note.
# - Before invoking, the event's raw email (RAW, by default EVENT with .eml for .json) is stored
#   in the session's inbound bucket under the event's key, {{KEY}} replaced and {{DUE}} replaced
#   by a date two days ahead (for `date=`).
# - A scheduled send ({"scheduled_send": "<id>"}, the input EventBridge Scheduler gives the
#   function) fires a message that must exist: the SES event of events/ whose message id is <id>
#   (events/ses-scheduled.json for events/scheduled-send.json) is invoked first, so the message
#   is accepted and scheduled, then the scheduled send sends it. Invoked again, both find the
#   message already done and change nothing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/moto.sh
source "$here/moto.sh"
root="$moto_root"
me=invoke-local
login=boutique
# cargo lambda (and the zig it links with) live in the venv.
export PATH="$moto_venv_bin:$PATH"

[ "$#" -ge 1 ] && [ "$#" -le 2 ] || { echo "usage: $0 EVENT [RAW]" >&2; exit 2; }
event="$1"
raw="${2:-${event%.json}.eml}"
test -f "$event" || { echo "$me: no event file $event (EVENT=events/<x>.json)" >&2; exit 2; }

if "$here/emulator.sh" status >/dev/null; then
    eval "$("$here/emulator.sh" env)"
    echo "$me: against the emulator session at $AWS_ENDPOINT_URL"
else
    "$here/emulator.sh" start >/dev/null
    eval "$("$here/emulator.sh" env)"
fi
state="$emulator_state"

# The account the samples name, and its key.
key_file="$state/$login.key"
if [ -n "${API_KEY:-}" ]; then
    key="$API_KEY"
    echo "$me: account $login, with the key of API_KEY"
elif [ -s "$key_file" ] && mail2sms-admin account show "$login" >/dev/null 2>&1; then
    key="$(cat "$key_file")"
    echo "$me: account $login, with the key created for it in this session"
else
    if key="$(mail2sms-admin account create "$login" --credits 10 --sender BOUTIQUE 2>"$state/admin.err")"; then
        echo "$me: account $login created (10 credits, sender BOUTIQUE)"
    elif grep -q "already exists" "$state/admin.err"; then
        key="$(mail2sms-admin account rotate-key "$login")"
        echo "$me: account $login exists and its key is not known here: it got a new one" \
             "(export API_KEY=<its key> to use yours)"
    else
        cat "$state/admin.err" >&2
        exit 1
    fi
    (umask 077 && printf '%s' "$key" >"$key_file")
fi
export API_KEY="$key"

# What to invoke, in order: a scheduled send's email first.
events=()
raws=()
scheduled="$("$moto_venv_bin/python" - "$event" "$root"/events/*.json <<'PY'
import json, sys
def load(path):
    try:
        return json.load(open(path))
    except (OSError, ValueError):
        return None
event = load(sys.argv[1])
message_id = event.get("scheduled_send") if isinstance(event, dict) else None
if message_id:
    for path in sys.argv[2:]:
        other = load(path)
        try:
            if other["Records"][0]["ses"]["mail"]["messageId"] == message_id:
                print(path)
                break
        except (KeyError, IndexError, TypeError):
            pass
    else:
        print(f"invoke-local: no SES event in events/ has the message id {message_id}: the scheduled send "
              "finds the message only if it was accepted before", file=sys.stderr)
PY
)"
if [ -n "$scheduled" ]; then
    echo "$me: $event fires the message of ${scheduled#"$root"/}: that email is invoked first"
    events+=("$scheduled")
    raws+=("${scheduled%.json}.eml")
fi
events+=("$event")
raws+=("$raw")

store_raw() {
    "$moto_venv_bin/python" - "$1" "$2" <<'PY'
import boto3, datetime, json, os, sys
record = json.load(open(sys.argv[1]))["Records"][0]
if "ses" in record:
    key = os.environ["INBOUND_PREFIX"] + record["ses"]["mail"]["messageId"]
else:
    key = record["s3"]["object"]["key"]
bucket = os.environ["INBOUND_BUCKET"]
due = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)
body = (open(sys.argv[2], "rb").read()
        .replace(b"{{KEY}}", os.environ["API_KEY"].encode())
        .replace(b"{{DUE}}", due.strftime("%Y-%m-%d %H:%M:00").encode()))
boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=body)
print(f"invoke-local: stored {os.path.relpath(sys.argv[2])} as s3://{bucket}/{key}")
PY
}

log="$root/target/lambda-watch.log"
mkdir -p "$root/target"
port="$(moto_free_port)"
(cd "$root" && exec cargo lambda watch --ignore-changes --invoke-address 127.0.0.1 --invoke-port "$port") \
    </dev/null >"$log" 2>&1 &
watch_pid=$!
trap 'kill $watch_pid 2>/dev/null || true; wait $watch_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
    "$moto_venv_bin/python" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
        "$port" 2>/dev/null && break
    kill -0 $watch_pid 2>/dev/null || { echo "$me: cargo lambda watch exited; see $log" >&2; exit 1; }
    sleep 0.5
done

for i in "${!events[@]}"; do
    ev="${events[$i]}"
    if [ -f "${raws[$i]}" ]; then
        store_raw "$ev" "${raws[$i]}"
    fi
    echo "$me: invoking the function on ${ev#"$root"/}:"
    cargo lambda invoke mail2sms --invoke-address 127.0.0.1 --invoke-port "$port" --data-file "$ev"
    echo
done
echo "$me: the function's log is ${log#"$root"/}; the emulator keeps running:" \
     "mail2sms-admin messages $login lists the messages, 'make emulator-stop' stops it"
