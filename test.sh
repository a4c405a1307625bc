#!/usr/bin/env bash
# Runs every test of Facilitator.Fast on a fresh machine: installs what is missing, builds the solution with
# warnings as errors, publishes the Native-AOT binary (zero trim/AOT warnings), installs the official x402 clients
# for the compatibility tests, and runs the whole suite, including the AOT binary smoke test.
set -euo pipefail
cd "$(dirname "$0")"
source eng/prerequisites.sh

require_dotnet
ensure_native_aot_toolchain
ensure_node
ensure_redis_server

echo "== official x402 clients (tests/compat)"
if [ ! -f tests/compat/node_modules/.package-lock.json ] || [ tests/compat/package-lock.json -nt tests/compat/node_modules/.package-lock.json ]; then
  (cd tests/compat && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "== build (warnings are errors)"
dotnet build Facilitator.Fast.sln -c Release -nologo -clp:ErrorsOnly

echo "== publish the Native-AOT binary"
eng/publish-aot.sh artifacts/aot

echo "== tests"
mkdir -p artifacts
rm -f artifacts/aot-smoke.txt artifacts/hostile-input.txt
set +e
dotnet test tests/Facilitator.Fast.Tests -c Release --no-build 2>&1 | tee artifacts/test-output.txt
status=${PIPESTATUS[0]}
set -e

[ -f artifacts/aot-smoke.txt ] && { echo "== AOT smoke"; cat artifacts/aot-smoke.txt; }
[ -f artifacts/hostile-input.txt ] && { echo "== hostile input"; cat artifacts/hostile-input.txt; }

echo "== load gate (the AOT binary, a real redis-server, fake upstreams; fails on 5xx, wrong answers, lost settles)"
set +e
dotnet run -c Release --no-build --project load/Facilitator.Fast.Load -- gate --rate 100 --duration 8 \
  --binary artifacts/aot/Facilitator.Fast --out artifacts/load
gate=$?
set -e

echo "== benchmarks (short in-process run: they compile, run, and allocate nothing where they claim to)"
set +e
dotnet run -c Release --no-build --project bench/Facilitator.Fast.Benchmarks -- --ci > artifacts/bench-ci.txt 2>&1
bench=$?
set -e
grep -E "^(\| |FAIL|bench:)" artifacts/bench-ci.txt || true

total_line() { grep -E "^\s*$1: [0-9]+" artifacts/test-output.txt | tail -n 1 | grep -oE '[0-9]+' || echo 0; }
[ "$gate" -eq 0 ] || echo "load gate: FAILED (exit $gate)"
[ "$bench" -eq 0 ] || echo "benchmarks: FAILED (exit $bench)"
echo "tests: $(total_line succeeded) passed, $(total_line failed) failed, $(total_line skipped) skipped"
[ "$status" -eq 0 ] || exit "$status"
[ "$gate" -eq 0 ] || exit "$gate"
exit "$bench"
