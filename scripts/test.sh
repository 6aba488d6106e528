#!/bin/sh
# The whole test suite, as CI runs it: installs what it needs, builds with AddressSanitizer and
# UndefinedBehaviorSanitizer (warnings are errors), runs unit and integration tests, then
# replays every fuzz corpus and fuzzes each target for a bounded time (FUZZ_SECONDS, default 30).
set -eu
cd "$(dirname "$0")/.."
./scripts/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)

echo "== build (ASan + UBSan, -Werror)"
cmake -S . -B build-test -DCOEX_SANITIZE=ON -DCOEX_WERROR=ON -DCOEX_FAILPOINTS=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-test -j"$jobs" >/dev/null

echo "== unit and integration tests"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
(cd build-test && ctest --output-on-failure -j"$jobs")

echo "== fuzz targets (clang libFuzzer): replay corpora, then fuzz ${FUZZ_SECONDS:=30} s each"
CC=clang cmake -S . -B build-fuzz -DCOEX_FUZZ=ON -DCOEX_WERROR=ON >/dev/null
cmake --build build-fuzz -j"$jobs" >/dev/null
for bin in build-fuzz/tests/fuzz_*; do
	name=$(basename "$bin")
	corpus="tests/fuzz/corpus/${name#fuzz_}"
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	[ -d "$corpus" ] && cp -r "$corpus"/. "$work"/ 2>/dev/null || true
	"$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
		-artifact_prefix="$work.crash-" \
		"$work" >"$work.log" 2>&1 || { tail -n 40 "$work.log"; mkdir -p fuzz-artifacts; cp "$work".crash-* fuzz-artifacts/ 2>/dev/null;
		     echo "fuzz: $name FAILED (input saved in fuzz-artifacts/)"; exit 1; }
	echo "fuzz: $name ok ($(grep -c . "$work.log" >/dev/null; ls "$work" | wc -l) corpus entries)"
	rm -rf "$work" "$work.log"
	trap - EXIT
done
echo "all tests passed"
