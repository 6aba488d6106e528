#!/bin/sh
# The main job: builds coex, starts two local partner nodes on 127.0.0.1, partners them with
# an invite code and shows the live, mutually authenticated link. The nodes' data stays in
# ./demo-data for inspection; every process started here is stopped on exit.
set -eu
cd "$(dirname "$0")/.."
./scripts/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs" >/dev/null
COEX=./build/coex
COEXD=./build/coexd
DATA=./demo-data
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM
rm -rf "$DATA"
mkdir -p "$DATA"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...: polls until COMMAND succeeds
	t=$1; what=$2; shift 2
	end=$(( $(date +%s) + t ))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || { echo "demo: timed out waiting for $what" >&2; exit 1; }
		sleep 0.1
	done
}
link_up() { "$COEX" --data "$1" status --json | grep -q '"state":"up"'; }

step "Two companies create their node identities"
show "$COEX" --data "$DATA/acme" init --name "Acme Logistics" --listen 127.0.0.1:0
show "$COEX" --data "$DATA/globex" init --name "Globex" --listen 127.0.0.1:0

step "Each runs its node (logs in $DATA/*.log)"
"$COEXD" --data "$DATA/acme" 2>"$DATA/acme.log" & pids="$pids $!"
"$COEXD" --data "$DATA/globex" 2>"$DATA/globex.log" & pids="$pids $!"
wait_for 10 "acme to start" "$COEX" --data "$DATA/acme" id
wait_for 10 "globex to start" "$COEX" --data "$DATA/globex" id

step "Acme invites Globex; Globex joins with the one-time code"
code=$("$COEX" --data "$DATA/acme" invite | tail -n 1)
echo "invite code: $code"
show "$COEX" --data "$DATA/globex" join "$code"
wait_for 20 "the link" link_up "$DATA/acme"

step "The link is up on both sides"
show "$COEX" --data "$DATA/acme" status
show "$COEX" --data "$DATA/globex" partner list

step "Done: nodes stopped, their data kept in $DATA"
