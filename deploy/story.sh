#!/bin/sh
# The three-company story, driven through the coex CLI only, against three running nodes:
#
#     acme ---- globex ---- initech        (acme and initech are not partners at first)
#
# 1. acme and globex, then globex and initech, become partners with one-time invite codes;
# 2. acme sends globex a forwardable proposal; globex forwards it to initech; initech accepts,
#    and its answer, sealed to acme, comes back through globex;
# 3. globex introduces acme and initech; both accept, and they link directly;
# 4. acme proposes to initech directly and initech accepts: a co-signed agreement;
# 5. every node's status.
#
# Usage: story.sh [ROOT]   ROOT/acme, ROOT/globex and ROOT/initech are the data directories of
# the running nodes (default: $COEX_ROOT, then /nodes). $COEX is the CLI (default: coex on PATH).
# Used by deploy/container/compose.yml (the "story" service) and deploy/netns/demo.sh.
# Steps already done (partners, introduction) are skipped when run again.
set -eu
root=${1:-${COEX_ROOT:-/nodes}}
COEX=${COEX:-coex}
TIMEOUT=${STORY_TIMEOUT:-60}

cx() { n=$1; shift; "$COEX" --data "$root/$n" "$@"; }
step() { printf '\n== %s\n' "$*"; }
show() { n=$1; shift; printf '[%s] $ coex %s\n' "$n" "$*"; cx "$n" "$@"; }
# last NODE ARGS...: runs the CLI, shows its output (on fd 3, the story's standard output), and
# prints its last line (an id or a code) for a command substitution to keep
exec 3>&1
last() {
	n=$1; shift
	printf '[%s] $ coex %s\n' "$n" "$*" >&3
	out=$(cx "$n" "$@") || { printf '%s\n' "$out" >&3; return 1; }
	printf '%s\n' "$out" >&3
	printf '%s\n' "$out" | tail -n 1
}
wait_for() { # wait_for DESCRIPTION COMMAND...: polls until COMMAND succeeds
	what=$1; shift
	end=$(( $(date +%s) + TIMEOUT ))
	until "$@" >/dev/null 2>&1; do
		if [ "$(date +%s)" -ge "$end" ]; then
			echo "story: timed out after ${TIMEOUT}s waiting for $what" >&2
			exit 1
		fi
		sleep 0.2
	done
}
node_id() { cx "$1" id --json | sed -n 's/.*"id":"\([a-z2-7]*\)".*/\1/p'; }
link_up() { cx "$1" status --json | grep -q "\"id\":\"$2\",\"state\":\"up\""; }
is_partner() { cx "$1" partner list --json | grep -q "\"id\":\"$2\""; }
msg_state() { cx "$1" show "$2" --json | grep -q "^{[^{]*\"state\":\"$3\""; }
has_intro() { cx "$1" introductions --json | grep -q "\"id\":\"$2"; }

for n in acme globex initech; do
	wait_for "the $n node to answer on $root/$n/coexd.sock" cx "$n" id
done
acme=$(node_id acme)
globex=$(node_id globex)
initech=$(node_id initech)

# partner INVITER JOINER NAME: JOINER joins INVITER's invite, calling it NAME
partner() {
	inviter_id=$(node_id "$1")
	joiner_id=$(node_id "$2")
	if is_partner "$1" "$joiner_id"; then
		echo "$1 and $2 are partners already"
	else
		code=$(last "$1" invite --ttl 10m)
		show "$2" join "$code" --name "$3"
	fi
	wait_for "the $1-$2 link" link_up "$1" "$joiner_id"
	wait_for "the $2-$1 link" link_up "$2" "$inviter_id"
}

step "acme invites globex, globex invites initech"
partner acme globex acme
partner globex initech globex

step "acme offers globex a forwardable proposal; globex forwards it to initech"
pid=$(last acme propose --to "$globex" --title "Cold storage for your clients" \
	--terms "10% referral fee" --forwardable --hops 2)
wait_for "acme's proposal to reach globex" msg_state acme "$pid" delivered
fid=$(last globex forward "$pid" --to "$initech" --note "they need this")
wait_for "the forward to reach initech" cx initech show "$fid"
show initech inbox

step "initech accepts; its answer, sealed to acme, is relayed back by globex"
aid=$(last initech respond "$fid" accept --note "yes please, call us")
wait_for "initech's answer to reach acme" cx acme show "$aid"
show acme show "$aid"

step "globex introduces acme and initech; both accept and link directly"
if is_partner acme "$initech"; then
	echo "acme and initech are partners already"
else
	intro=$(last globex refer --to "$acme" --introduce "$initech" --note "you two should talk")
	wait_for "acme to see the introduction" has_intro acme "$intro"
	wait_for "initech to see the introduction" has_intro initech "$intro"
	show acme answer "$intro" accept --note "happy to"
	show initech answer "$intro" accept
fi
wait_for "the acme-initech link" link_up acme "$initech"
wait_for "the initech-acme link" link_up initech "$acme"

step "acme proposes to initech directly; initech accepts: a co-signed agreement"
did=$(last acme propose --to "$initech" --title "Direct pilot, 6 months")
wait_for "the direct proposal to reach initech" msg_state acme "$did" delivered
xid=$(last initech respond "$did" accept --note "agreed")
wait_for "the accept to reach acme" cx acme show "$xid"
show acme thread "$did"

step "status"
for n in acme globex initech; do show "$n" status; done
echo
echo "story: done"
