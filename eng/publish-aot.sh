#!/usr/bin/env bash
# The one publish command of the Native-AOT binary, used by the test command, CI and Dockerfile.aot.
# Usage: eng/publish-aot.sh [output-directory]   (default: artifacts/aot)
set -euo pipefail
cd "$(dirname "$0")/.."
output="${1:-artifacts/aot}"
dotnet publish src/Facilitator.Fast/Facilitator.Fast.csproj -c Release -r linux-x64 -p:PublishAot=true -o "$output" -nologo
