#!/usr/bin/env bash
# Usage: scripts/with-moto.sh CMD [ARG...]
#
# Runs CMD against a throwaway local AWS emulator: a moto server (from the project's .venv, see
# `make venv`) on 127.0.0.1 at a free port, with its request recorder on. CMD sees the standard
# AWS SDK variables pointing at it (AWS_ENDPOINT_URL, AWS_REGION=eu-west-1, dummy credentials),
# so the real SDK clients of the function, of mail2sms-admin and of the tests talk to moto.
# The server is stopped however CMD ends; the script exits with CMD's status.
# Moto's own log goes to target/moto.log (MOTO_LOG overrides), its recording beside it.
# How moto starts and is reached is scripts/moto.sh, shared with the long-running session of
# scripts/emulator.sh (`make emulator-start`).
set -euo pipefail

# shellcheck source=scripts/moto.sh
source "$(dirname "${BASH_SOURCE[0]}")/moto.sh"
root="$moto_root"

if [ "$#" -eq 0 ]; then
    echo "usage: $0 CMD [ARG...]" >&2
    exit 2
fi
moto_require with-moto

mkdir -p "$root/target"
log="${MOTO_LOG:-$root/target/moto.log}"
port="$(moto_free_port)"
recording="$root/target/moto-recording.$port"
moto_launch "$port" "$log" "$recording"

stop_moto() {
    moto_stop "$moto_pid"
    rm -f "$recording"
}
trap stop_moto EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

endpoint="http://127.0.0.1:$port"
moto_wait with-moto "$endpoint" "$moto_pid" "$log"
eval "$(moto_env "$endpoint")"

set +e
"$@"
status=$?
set -e
exit "$status"
