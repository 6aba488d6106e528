#!/bin/sh
# The main job: builds coex, starts three companies' nodes on 127.0.0.1 (Acme, Globex,
# Initech, each with its own data directory), partners them by invite codes and runs the
# whole story: a proposal countered and accepted (a co-signed agreement), a forward from
# Globex to Initech with Initech's sealed answer relayed back, an introduction that makes Acme
# and Initech direct partners, a direct proposal; then it exports and audits all three logs
# and cross-checks each pair. The nodes' data stays in ./demo-data; every process started
# here is stopped on exit.
set -eu
cd "$(dirname "$0")/.."
./scripts/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
echo "building..."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs" >/dev/null
BIN=$(pwd)/build
DATA=$(pwd)/demo-data
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM
rm -rf "$DATA"
mkdir -p "$DATA"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# co NODE ARGS...: run the CLI for a node, echoing the command
co() { n=$1; shift; printf '%s$ coex %s\n' "$n" "$*" >&2; "$BIN/coex" --data "$DATA/$n" "$@"; }
q() { n=$1; shift; "$BIN/coex" --data "$DATA/$n" "$@"; }
last() { tail -n 1; }
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...: polls until COMMAND succeeds
	t=$1; what=$2; shift 2
	end=$(( $(date +%s) + t ))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || { echo "demo: timed out waiting for $what" >&2; exit 1; }
		sleep 0.1
	done
}
state_is() { q "$1" show "$2" --json | grep -q "\"state\":\"$3\""; }
has() { q "$1" "$2" --json | grep -q "$3"; }
linked() { q "$1" status --json | grep -q "\"id\":\"$2\",\"state\":\"up\""; }

step "Three companies create their node identities"
for n in acme:"Acme Logistics" globex:"Globex" initech:"Initech"; do
	dir=${n%%:*}; name=${n#*:}
	co "$dir" init --name "$name" --listen 127.0.0.1:0 | last
done

step "Each runs its node (logs in demo-data/*.log)"
for n in acme globex initech; do
	"$BIN/coexd" --data "$DATA/$n" 2>"$DATA/$n.log" & pids="$pids $!"
	wait_for 10 "$n to start" q "$n" id
done
ACME=$(q acme id --json | sed 's/.*"id":"\([a-z0-9]*\)".*/\1/')
GLOBEX=$(q globex id --json | sed 's/.*"id":"\([a-z0-9]*\)".*/\1/')
INITECH=$(q initech id --json | sed 's/.*"id":"\([a-z0-9]*\)".*/\1/')

step "Acme invites Globex; Globex invites Initech (one-time codes)"
code=$(q acme invite | last)
co globex join "$code"
code=$(q globex invite | last)
co initech join "$code"
wait_for 20 "the links" linked acme "$GLOBEX"
wait_for 20 "the links" linked initech "$GLOBEX"
co globex status

step "Acme proposes to Globex; Globex counters; Acme accepts: a co-signed agreement"
printf '# Joint cold-chain pilot\nShare refrigerated trucks on the Rotterdam-Milan lane.\n' >"$DATA/pitch.md"
P=$(co acme propose --to globex --title "Joint cold-chain pilot" --summary "Share refrigerated capacity" \
	--body-file "$DATA/pitch.md" --terms "50/50 cost" --tag logistics --value 25000 EUR --expires 30d | last)
wait_for 20 "the receipt" state_is acme "$P" delivered
co globex inbox
C=$(co globex respond "$P" counter --title "Joint cold-chain pilot, 60/40" --terms "60/40 cost" | last)
wait_for 20 "the counter" state_is globex "$C" delivered
A=$(co acme respond "$C" accept --note "Let's talk" | last)
wait_for 20 "the accept" state_is acme "$A" delivered
co globex thread "$P"

step "Acme reaches Initech, a client of Globex: a forwardable proposal, forwarded by Globex"
F=$(co acme propose --to globex --title "Cold storage for your clients" --terms "10% referral fee" \
	--forwardable --hops 2 | last)
wait_for 20 "the receipt" state_is acme "$F" delivered
co globex forward "$F" --to initech --note "Initech needs this"
wait_for 20 "the forward" has initech inbox forwarded
FI=$(q initech inbox --json | sed 's/.*"id":"\([0-9a-f]*\)","kind":"forwarded".*/\1/')
co initech show "$FI"
R=$(co initech respond "$FI" accept --note "Yes, call us" | last)
wait_for 20 "the answer relayed back" has acme inbox "$R"
echo "Acme reads Initech's answer (sealed to Acme; Globex relayed it without reading it):"
co acme show "$R"

step "Globex introduces Acme and Initech; both accept; they become direct partners"
I=$(co globex refer --to "$ACME" --introduce initech --note "You two should talk" | last)
wait_for 20 "the introduction" has acme introductions "$I"
wait_for 20 "the introduction" has initech introductions "$I"
co acme answer "$I" accept --note "Happy to"
co initech answer "$I" accept
wait_for 30 "the direct link" linked acme "$INITECH"
co acme partner list
D=$(co acme propose --to initech --title "Direct pilot, 6 months" | last)
wait_for 20 "the receipt" state_is acme "$D" delivered
co initech respond "$D" accept --note "Agreed" >/dev/null
co acme outbox

step "A lead, shared with its consent"
co globex refer --to "$ACME" --contact "Dana Ruiz <dana@hooli.example>" \
	--consent "Dana agreed on 2026-11-20 by email" --note "Needs cold storage" | last

step "Every node verifies its own log; export and audit all three, then cross-check each pair"
for n in acme globex initech; do co "$n" log verify; done
for n in acme globex initech; do q "$n" log export -o "$DATA/$n.cxlog" >/dev/null; done
for n in acme globex initech; do co "$n" audit "$DATA/$n.cxlog"; done
co acme audit "$DATA/acme.cxlog" --against "$DATA/globex.cxlog"
co globex audit "$DATA/globex.cxlog" --against "$DATA/initech.cxlog"
co acme audit "$DATA/acme.cxlog" --against "$DATA/initech.cxlog"

# As root, the same companies also run as separate hosts: one network namespace each, with
# its own address (deploy/netns). Skipped where namespaces cannot be made (e.g. a container).
if [ "$(id -u)" -eq 0 ] && ip netns add coex-demo-probe 2>/dev/null; then
	ip netns del coex-demo-probe
	step "As root: the companies as three hosts in network namespaces (deploy/netns/demo.sh)"
	COEX_BIN="$BIN" ./deploy/netns/demo.sh
fi

step "Done: nodes stopped, their data and logs kept in demo-data/"
