#!/bin/bash
# The three-company story on three separate "hosts" on this machine: acme, globex and initech
# each run coexd in their own network namespace (topology.sh), listening on their own address
# (10.77.0.1-3, port 7400 each). They partner by invite, a proposal goes from acme to globex and
# is forwarded to initech, and so on (deploy/story.sh); then every node's status and TCP
# connections are shown. Everything (processes, namespaces, data) is removed on exit, also when
# a step fails or on Ctrl-C.
#
# usage: sudo deploy/netns/demo.sh        (COEX_BIN: the build directory, default ./build)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
topo="$here/topology.sh"
die() { echo "demo.sh: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root: it creates network namespaces (try: sudo $0)"
bin=${COEX_BIN:-$root/build}
if [ ! -x "$bin/coexd" ] || [ ! -x "$bin/coex" ]; then
	die "no coexd and coex in $bin: build them (cmake -S . -B build && cmake --build build) or set COEX_BIN"
fi
bin=$(cd "$bin" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/coex-netns.XXXXXX")
pids=()
cleanup() {
	local rc=$? p n
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ "$rc" -ne 0 ]; then
		echo "demo.sh: failed (exit $rc); the nodes' last log lines:" >&2
		for n in acme globex initech; do
			[ -f "$work/$n.log" ] && { echo "---- $n" >&2; tail -n 15 "$work/$n.log" >&2; }
		done
	fi
	"$topo" down || true
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Three hosts: network namespaces joined by a bridge"
"$topo" up
"$topo" status

step "Each company creates its node and runs it on its own host"
echo "data in $work (removed on exit)"
declare -A display=([acme]="Acme Logistics" [globex]="Globex" [initech]="Initech")
for n in acme globex initech; do
	addr=$("$topo" addr "$n")
	"$bin/coex" --data "$work/$n" init --name "${display[$n]}" --listen "$addr:7400" | tail -n 1
	# topology.sh exec replaces itself with coexd in the namespace: $! is coexd's pid
	"$topo" exec "$n" "$bin/coexd" --data "$work/$n" 2>"$work/$n.log" &
	pids+=($!)
	echo "$n: coexd pid $! in namespace ${COEX_NETNS_PREFIX:-coex}-$n, listening on $addr:7400"
done

# The CLI talks only to its node's control socket (a Unix socket in the data directory), so it
# runs from here; every partner link is made by the daemons, between the namespaces.
step "The story (deploy/story.sh)"
# (in the background, so that a signal to this script is handled at once)
COEX="$bin/coex" STORY_TIMEOUT=${STORY_TIMEOUT:-60} "$root/deploy/story.sh" "$work" &
story=$!
pids=("$story" "${pids[@]}")
wait "$story"

step "The links are TCP connections between the hosts"
for n in acme globex initech; do
	echo "[$n] \$ ss -tn"
	"$topo" exec "$n" ss -tn
done

step "Done: stopping the nodes and removing the namespaces"
