#!/usr/bin/env bash
# Forwarding at proxy speed: the gateway (Native AOT, and the JIT build) against nginx as a failover proxy, each pinned
# to core 0, in front of the same fast upstream, driven to saturation by wrk on core 1; then refusals of wrongly signed
# payments against libsecp256k1's own recovery rate. Installs nginx and wrk (Debian) when missing, publishes the AOT
# binary when it is not there. Usage: eng/measure-proxy.sh [seconds per run] [connections]   (defaults: 10, 64)
set -euo pipefail
cd "$(dirname "$0")/.."
source eng/prerequisites.sh
require_dotnet
ensure_native_aot_toolchain
ensure_debian_packages nginx wrk
# Debian's package starts a system nginx on port 80; the scenario runs its own, so that one is not needed.
command -v nginx >/dev/null 2>&1 || export PATH="$PATH:/usr/sbin"
[ -x artifacts/aot/Facilitator.Fast ] || bash eng/publish-aot.sh
dotnet build -c Release src/Facilitator.Fast >/dev/null
dotnet build -c Release load/Facilitator.Fast.Load >/dev/null
# The scenario itself on core 0 (it waits while others run), so libsecp256k1's own rate is measured on the gateway's core.
taskset -c 0 dotnet run --no-build -c Release --project load/Facilitator.Fast.Load -- proxy --binary artifacts/aot/Facilitator.Fast \
  --jit src/Facilitator.Fast/bin/Release/net10.0/Facilitator.Fast.dll --duration "${1:-10}" --connections "${2:-64}"
