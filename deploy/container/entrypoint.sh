#!/bin/sh
# Container entrypoint. Runs the command (by default: coexd --data /data). Before starting coexd
# on a data volume that holds no node yet (the first start), creates the node with 'coex init'
# from COEX_NAME (required then) and COEX_LISTEN (default 0.0.0.0:7400).
set -eu
data=${COEX_DATA:-/data}
case "${1:-}" in
	-*|"") set -- coexd --data "$data" "$@" ;; # 'docker run IMAGE --help' goes to coexd
esac
if [ "$1" = coexd ] && [ ! -e "$data/identity.key" ]; then
	if [ -z "${COEX_NAME:-}" ]; then
		echo "coex-entrypoint: $data holds no node yet; set COEX_NAME (and COEX_LISTEN) to create one" >&2
		exit 1
	fi
	coex --data "$data" init --name "$COEX_NAME" --listen "${COEX_LISTEN:-0.0.0.0:7400}"
fi
exec "$@"
