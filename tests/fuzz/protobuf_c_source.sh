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
# The archive to ask ("URI SUITE COMPONENT"): the one the installed package came from, or
# if apt's lists do not say (never updated), the system's source for this release.
origin=$(apt-cache policy libprotobuf-c-dev 2>/dev/null |
	awk '/\*\*\*/ { f = 1; next } f && $2 ~ /^https?:/ { split($3, s, "/"); print $2, s[1], s[2]; exit }')
# shellcheck disable=SC1091
release=$(. /etc/os-release && echo "$VERSION_CODENAME")
[ -n "$origin" ] || origin=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
	awk -v r="$release" '$1 == "deb" { sub(/\[[^]]*\] */, ""); if ($3 == r) { print $2, r, "main"; exit } }')
[ -n "$origin" ] || origin=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
	awk -v r="$release" 'BEGIN { RS = ""; FS = "\n" }
	{ uri = ""; ok = 0
	  for (i = 1; i <= NF; i++) {
		n = split($i, w, " ")
		if (w[1] == "URIs:") uri = w[2]
		if (w[1] == "Suites:") for (k = 2; k <= n; k++) ok = ok || w[k] == r
	  }
	  if (ok && uri != "") { print uri, r, "main"; exit } }')
[ -n "$origin" ] || { echo "cannot tell which archive to fetch the protobuf-c source from" >&2; exit 1; }
echo "deb-src $origin" >"$sources"
opts="-o Dir::Etc::SourceList=$sources -o Dir::Etc::SourceParts=/dev/null
-o Dir::State::Lists=$apt/lists -o Dir::Cache=$apt/cache -o Debug::NoLocking=1
-o APT::Sandbox::User=$(id -un)"
# shellcheck disable=SC2086
apt-get -qq $opts update >&2
# shellcheck disable=SC2086
(cd "$dir/download" && apt-get -qq $opts source --download-only "protobuf-c=$version" >&2)
tar -xf "$dir/download/protobuf-c_$upstream".orig.tar.* -C "$dir"
rm -rf "$apt" "$dir/download"
[ -f "$src/protobuf-c/protobuf-c.c" ] || { echo "no protobuf-c.c in the source of $version" >&2; exit 1; }
echo "$src"
