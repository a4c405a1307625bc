#!/usr/bin/env bash
# Runs every test of Facilitator.Fast on a fresh machine: installs what is missing, builds the solution with
# warnings as errors, publishes the Native-AOT binary (zero trim/AOT warnings), installs the official x402 packages
# (compatibility tests and the chain suite) from their lockfiles, and runs the whole suite: the .NET tests (with the
# AOT binary smoke test and the page tests in headless Chromium), the chain suite, the load gate, load on chain and the short benchmark job.
set -euo pipefail
cd "$(dirname "$0")"
source eng/prerequisites.sh

require_dotnet
ensure_native_aot_toolchain
ensure_node
ensure_redis_server
ensure_chromium

# npm_ci_if_stale DIR: installs DIR's npm packages from its committed lockfile when they are missing or older.
npm_ci_if_stale() {
  if [ ! -f "$1/node_modules/.package-lock.json" ] || [ "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ]; then
    (cd "$1" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

echo "== official x402 clients (tests/compat) and the chain suite's packages (tests/chain)"
npm_ci_if_stale tests/compat
npm_ci_if_stale tests/chain

echo "== build (warnings are errors)"
dotnet build Facilitator.Fast.sln -c Release -nologo -clp:ErrorsOnly

echo "== publish the Native-AOT binary"
eng/publish-aot.sh artifacts/aot

echo "== tests"
mkdir -p artifacts
rm -f artifacts/aot-smoke.txt artifacts/hostile-input*.txt
set +e
dotnet test tests/Facilitator.Fast.Tests -c Release --no-build 2>&1 | tee artifacts/test-output.txt
status=${PIPESTATUS[0]}
set -e

[ -f artifacts/aot-smoke.txt ] && { echo "== AOT smoke"; cat artifacts/aot-smoke.txt; }
ls artifacts/hostile-input*.txt >/dev/null 2>&1 && { echo "== hostile input"; cat artifacts/hostile-input*.txt; }

echo "== chain suite (anvil, an EIP-3009 token, two official facilitators, the official resource server and client, two AOT gateway instances on Redis)"
rm -rf artifacts/chain
set +e
(cd tests/chain && node --test --test-concurrency=1 --test-timeout=300000 --test-reporter=tap ./*.test.mjs) > artifacts/chain-output.txt 2>&1
chain=$?
set -e
grep -E "^# (tests|pass|fail)|^not ok|^    not ok" artifacts/chain-output.txt || true

echo "== load gate (the AOT binary, a real redis-server, fake upstreams; fails on 5xx, wrong answers, lost settles, lost events)"
set +e
dotnet run -c Release --no-build --project load/Facilitator.Fast.Load -- gate --rate 300 --duration 8 \
  --binary artifacts/aot/Facilitator.Fast --out artifacts/load
gate=$?
dotnet run -c Release --no-build --project load/Facilitator.Fast.Load -- websocket --stages 500x50 --duration 5 \
  --binary artifacts/aot/Facilitator.Fast --out artifacts/load
events=$?
set -e

echo "== load on chain (verify then settle at 10/s for 5 s; fails unless every settle is exactly one transfer on chain)"
set +e
dotnet run -c Release --no-build --project load/Facilitator.Fast.Load -- chain --rate 10 --duration 5 \
  --binary artifacts/aot/Facilitator.Fast --out artifacts/load
chainLoad=$?
set -e

echo "== benchmarks (short in-process run: they compile, run, and allocate nothing where they claim to)"
set +e
dotnet run -c Release --no-build --project bench/Facilitator.Fast.Benchmarks -- --ci > artifacts/bench-ci.txt 2>&1
bench=$?
set -e
grep -E "^(\| |FAIL|bench:)" artifacts/bench-ci.txt || true

total_line() { grep -E "^\s*$1: [0-9]+" artifacts/test-output.txt | tail -n 1 | grep -oE '[0-9]+' || echo 0; }
chain_line() { grep -E "^# $1 [0-9]+" artifacts/chain-output.txt | tail -n 1 | grep -oE '[0-9]+' || echo 0; }
[ "$chain" -eq 0 ] || echo "chain suite: FAILED (exit $chain; artifacts/chain-output.txt, logs in artifacts/chain/)"
[ "$gate" -eq 0 ] || echo "load gate: FAILED (exit $gate)"
[ "$events" -eq 0 ] || echo "load gate, event stream: FAILED (exit $events)"
[ "$chainLoad" -eq 0 ] || echo "load on chain: FAILED (exit $chainLoad)"
[ "$bench" -eq 0 ] || echo "benchmarks: FAILED (exit $bench)"
passed=$(( $(total_line succeeded) + $(chain_line pass) ))
failed=$(( $(total_line failed) + $(chain_line fail) ))
echo "tests: $passed passed, $failed failed, $(total_line skipped) skipped"
for code in "$status" "$chain" "$gate" "$events" "$chainLoad" "$bench"; do
  [ "$code" -eq 0 ] || exit "$code"
done
