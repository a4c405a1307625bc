#!/usr/bin/env bash
# Starts Facilitator.Fast on its embedded defaults: http://localhost:4020, in-memory state (no Redis), the seed's
# upstream facilitators. Settings come from src/Facilitator.Fast/appsettings.json and environment variables
# (README.md lists them); extra arguments are passed to the service (e.g. --urls http://0.0.0.0:8080).
set -euo pipefail
cd "$(dirname "$0")"
source eng/prerequisites.sh
require_dotnet
ensure_secp256k1
ensure_node
exec dotnet run --project src/Facilitator.Fast -c Release -- "$@"
