#!/bin/sh
# Puts the source of the protobuf-c runtime that is installed (libprotobuf-c-dev) into DIR,
# so that fuzz builds compile it with coverage and sanitizers instead of linking the
# uninstrumented shared library: protobuf decoding is then fuzzed too.
#
#     tests/fuzz/protobuf_c_source.sh DIR      prints DIR/protobuf-c-VERSION on success
#
# The source comes from Debian through apt-get source, with apt's own state kept under DIR
# (the system's apt configuration is neither needed nor changed; root is not needed). apt
# checks the files against the archive's signed index. Nothing is fetched if DIR already
# holds the right version.
set -eu
dir=$1
version=$(dpkg-query -W -f='${source:Version}' libprotobuf-c-dev)
upstream=${version%-*}
src="$dir/protobuf-c-$upstream"
if [ -f "$src/protobuf-c/protobuf-c.c" ]; then
	echo "$src"
	exit 0
fi
apt="$dir/apt"
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$dir/download"
sources="$apt/sources.list"
# The source of the archive the installed package came from ("URI SUITE COMPONENT").
origin=$(apt-cache policy libprotobuf-c-dev |
	awk '/\*\*\*/ { f = 1; next } f && $2 ~ /^https?:/ { split($3, s, "/"); print $2, s[1], s[2]; exit }')
[ -n "$origin" ] || { echo "cannot tell which archive libprotobuf-c-dev came from" >&2; exit 1; }
echo "deb-src $origin" >"$sources"
opts="-o Dir::Etc::SourceList=$sources -o Dir::Etc::SourceParts=/dev/null
-o Dir::State::Lists=$apt/lists -o Dir::Cache=$apt/cache -o Debug::NoLocking=1
-o APT::Sandbox::User=$(id -un)"
# shellcheck disable=SC2086
apt-get -qq $opts update >&2
# shellcheck disable=SC2086
(cd "$dir/download" && apt-get -qq $opts source --download-only "protobuf-c=$version" >&2)
tar -xzf "$dir/download/protobuf-c_$upstream.orig.tar.gz" -C "$dir"
rm -rf "$apt" "$dir/download"
[ -f "$src/protobuf-c/protobuf-c.c" ] || { echo "no protobuf-c.c in the source of $version" >&2; exit 1; }
echo "$src"
