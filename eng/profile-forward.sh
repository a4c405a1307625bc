#!/usr/bin/env bash
# Where a forwarded /verify's CPU goes: the proxy scenario's forwarding run (local verification off, rate limits off,
# gateway pinned to core 0, upstream nginx and wrk on core 1), profiled — the JIT build with dotnet-trace (EventPipe's
# sampled thread time) and dotnet-counters, the Native AOT binary with perf (its EventPipe has no sample profiler) — and
# summarised by component. Installs nginx, wrk, perf (Debian) and the two dotnet tools (into artifacts/tools) when
# missing; publishes the AOT binary when it is not there. Writes profiles, counters and the hottest functions to
# artifacts/profile. Usage: eng/profile-forward.sh [seconds] [connections]   (defaults: 10, 64)
set -euo pipefail
cd "$(dirname "$0")/.."
source eng/prerequisites.sh
require_dotnet
ensure_native_aot_toolchain
ensure_debian_packages nginx wrk linux-perf
command -v nginx >/dev/null 2>&1 || export PATH="$PATH:/usr/sbin"
ensure_dotnet_tool dotnet-trace artifacts/tools
ensure_dotnet_tool dotnet-counters artifacts/tools
[ -x artifacts/aot/Facilitator.Fast ] || bash eng/publish-aot.sh
dotnet build -c Release src/Facilitator.Fast >/dev/null
dotnet run -c Release --project load/Facilitator.Fast.Load -- profile --binary artifacts/aot/Facilitator.Fast \
  --jit src/Facilitator.Fast/bin/Release/net10.0/Facilitator.Fast.dll --tools artifacts/tools --out artifacts/profile \
  --duration "${1:-10}" --connections "${2:-64}"
