#!/bin/sh
# Installs everything coex needs to build, test and run on a minimal Debian 12.
# Idempotent and quiet when everything is already there.
set -eu
pkgs="build-essential cmake pkg-config clang libclang-rt-14-dev
libsodium-dev libuv1-dev libprotobuf-c-dev protobuf-c-compiler libsqlite3-dev
libinih-dev libcmocka-dev libcjson-dev
python3 python3-dissononce python3-nacl iproute2 nftables procps python3-yaml libzmq3-dev faketime"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "coex: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
