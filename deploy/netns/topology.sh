#!/bin/bash
# Three companies as three hosts on one machine, in Linux network namespaces:
#
#   coex-acme     eth0 10.77.0.1/24 ─┐
#   coex-globex   eth0 10.77.0.2/24 ─┼─ bridge br0 in namespace coex-net
#   coex-initech  eth0 10.77.0.3/24 ─┘
#
# Each namespace has its own loopback (up) and one veth whose other end is a port of the bridge,
# which lives in a fourth namespace. Nothing is added to the host's own network namespace: the
# 10.77.0.0/24 addresses exist only inside these namespaces, with no route anywhere else.
#
# usage: topology.sh up                  create everything (idempotent)
#        topology.sh down                remove everything (idempotent)
#        topology.sh status              show the namespaces and their addresses
#        topology.sh exec NAME CMD...    run CMD in NAME's namespace (acme, globex, initech)
#        topology.sh addr NAME           print NAME's address (10.77.0.N)
#        topology.sh cut NAME            take NAME's link down (a network partition)
#        topology.sh heal NAME           bring it back up
#
# Needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) and iproute2. COEX_NETNS_PREFIX (default coex)
# prefixes the namespace names.
set -euo pipefail

PREFIX=${COEX_NETNS_PREFIX:-coex}
NODES=(acme globex initech)
BRIDGE_NS="$PREFIX-net"
SUBNET=10.77.0

die() { echo "topology.sh: $*" >&2; exit 1; }
usage() { # usage [EXIT]: the usage text, on stdout for --help, on stderr for a mistake
	local text
	text=$(sed -n '/^# usage:/,/^#$/p' "$0" | sed 's/^# \{0,1\}//')
	if [ "${1:-2}" -eq 0 ]; then echo "$text"; else echo "$text" >&2; fi
	exit "${1:-2}"
}

index_of() { # index_of NAME: 1-based position of NAME in NODES, or fails
	local i
	for i in "${!NODES[@]}"; do
		[ "${NODES[$i]}" = "$1" ] && { echo $((i + 1)); return 0; }
	done
	return 1
}
node_name() { # accepts acme or coex-acme
	local n=${1#"$PREFIX"-}
	index_of "$n" >/dev/null || die "unknown node '$1' (one of: ${NODES[*]})"
	echo "$n"
}
ns_of() { echo "$PREFIX-$1"; }
addr_of() { echo "$SUBNET.$(index_of "$1")"; }
ns_exists() { [ -e "/run/netns/$1" ]; }
link_exists() { ip -n "$1" link show "$2" >/dev/null 2>&1; }

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		die "must run as root: network namespaces need CAP_NET_ADMIN (try: sudo $0 $*)"
	fi
	command -v ip >/dev/null || die "'ip' not found: install iproute2"
}

up() {
	local n ns port
	ns_exists "$BRIDGE_NS" || ip netns add "$BRIDGE_NS"
	ip -n "$BRIDGE_NS" link set lo up
	link_exists "$BRIDGE_NS" br0 || ip -n "$BRIDGE_NS" link add br0 type bridge
	ip -n "$BRIDGE_NS" link set br0 up
	for n in "${NODES[@]}"; do
		ns=$(ns_of "$n")
		port="v-$n"
		ns_exists "$ns" || ip netns add "$ns"
		ip -n "$ns" link set lo up
		if ! link_exists "$ns" eth0; then
			# a half-made pair from an interrupted run
			! link_exists "$BRIDGE_NS" "$port" || ip -n "$BRIDGE_NS" link del "$port"
			ip -n "$BRIDGE_NS" link add "$port" type veth peer name eth0 netns "$ns"
		fi
		ip -n "$BRIDGE_NS" link set "$port" master br0
		ip -n "$BRIDGE_NS" link set "$port" up
		ip -n "$ns" addr replace "$(addr_of "$n")/24" dev eth0
		ip -n "$ns" link set eth0 up
	done
}

down() {
	local n ns
	for n in "${NODES[@]}"; do
		ns=$(ns_of "$n")
		! ns_exists "$ns" || ip netns del "$ns"
	done
	! ns_exists "$BRIDGE_NS" || ip netns del "$BRIDGE_NS"
}

status() {
	local n ns
	for n in "${NODES[@]}"; do
		ns=$(ns_of "$n")
		if ns_exists "$ns"; then
			printf '%-16s %s\n' "$ns" "$(ip -n "$ns" -br addr show dev eth0 2>/dev/null || echo '(no eth0)')"
		else
			printf '%-16s %s\n' "$ns" "(absent)"
		fi
	done
}

[ $# -ge 1 ] || usage
cmd=$1; shift
case "$cmd" in
	up) [ $# -eq 0 ] || usage; need_root up; up ;;
	down) [ $# -eq 0 ] || usage; need_root down; down ;;
	status) [ $# -eq 0 ] || usage; need_root status; status ;;
	addr) [ $# -eq 1 ] || usage; addr_of "$(node_name "$1")" ;;
	exec)
		[ $# -ge 2 ] || usage
		need_root exec
		n=$(node_name "$1"); shift
		ns_exists "$(ns_of "$n")" || die "namespace $(ns_of "$n") does not exist: run '$0 up' first"
		exec ip netns exec "$(ns_of "$n")" "$@" ;;
	cut|heal)
		[ $# -eq 1 ] || usage
		need_root "$cmd"
		n=$(node_name "$1")
		ns_exists "$(ns_of "$n")" || die "namespace $(ns_of "$n") does not exist: run '$0 up' first"
		ip -n "$BRIDGE_NS" link set "v-$n" "$([ "$cmd" = cut ] && echo down || echo up)" ;;
	-h|--help|help) usage 0 ;;
	*) usage ;;
esac
