#!/usr/bin/env bash
# Measures what an idle connection costs the AOT binary in resident memory: its RSS before and after N connections
# that connect and send nothing (the per-client cap and the first-request timeout are lifted so they stay open).
# Usage: eng/measure-idle-connections.sh [connections] [binary]   (defaults: 1000, artifacts/aot/Facilitator.Fast)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000}"
binary="${2:-artifacts/aot/Facilitator.Fast}"
port="${PORT:-47420}"
ulimit -n $((n + 256))

FACILITATOR_1_URL=http://127.0.0.1:9 FACILITATOR_2_ENABLED=false FACILITATOR_HEALTH_CHECK=false \
  Edge__Limits__MaxConnectionsPerClient=0 Edge__Limits__FirstRequestTimeoutSeconds=3600 \
  ASPNETCORE_URLS="http://127.0.0.1:$port" Logging__LogLevel__Default=Warning "$binary" >"${TMPDIR:-/tmp}/measure-idle-connections.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
until curl -sf "http://127.0.0.1:$port/health/live" >/dev/null 2>&1; do kill -0 "$pid" 2>/dev/null || { cat "${TMPDIR:-/tmp}/measure-idle-connections.log"; exit 1; }; sleep 0.1; done
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/health/live" >/dev/null; done

rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
established() { ss -Htn state established "( sport = :$port )" | wc -l; }
until [ "$(established)" -eq 0 ]; do sleep 0.1; done
before=$(rss)
for _ in $(seq "$n"); do exec {fd}<>"/dev/tcp/127.0.0.1/$port"; done
until [ "$(established)" -ge "$n" ]; do sleep 0.1; done
sleep 1
after=$(rss)
echo "$n idle connections: RSS $((before / 1024)) MiB before, $((after / 1024)) MiB after: $(( (after - before) * 1024 / n )) bytes per connection"
