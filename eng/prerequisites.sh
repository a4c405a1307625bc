#!/usr/bin/env bash
# Installs what the build, the service and the tests need when it is missing. Idempotent: a machine that has
# everything installs nothing. Sourced by run.sh and test.sh.

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

_apt_updated=""

# ensure_debian_packages PKG...: installs the Debian packages that are not installed yet.
ensure_debian_packages() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing Debian packages: ${missing[*]}"
  if [ -z "$_apt_updated" ]; then
    as_root apt-get update -qq
    _apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# require_dotnet: the .NET 10 SDK is part of this kind of machine; it is not a Debian package.
require_dotnet() {
  if ! command -v dotnet >/dev/null 2>&1 || ! dotnet --list-sdks | grep -q '^10\.'; then
    echo "The .NET 10 SDK is required (dotnet on PATH)." >&2
    exit 1
  fi
  export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
}

# ensure_secp256k1: libsecp256k1 with its recovery module; the -dev package brings the static library the AOT
# binary links and the headers, and pulls in libsecp256k1-1 (libsecp256k1.so.1), which the JIT build loads.
ensure_secp256k1() {
  ensure_debian_packages libsecp256k1-dev
}

# ensure_native_aot_toolchain: Native AOT links with clang and zlib, and libsecp256k1 statically.
ensure_native_aot_toolchain() {
  ensure_debian_packages clang zlib1g-dev
  ensure_secp256k1
}

# ensure_redis_server: the tests of shared state start a real redis-server of their own on a free port.
ensure_redis_server() {
  ensure_debian_packages redis-server
}

# ensure_chromium: the page tests drive Debian's headless Chromium (/usr/bin/chromium) with Playwright.
ensure_chromium() {
  ensure_debian_packages chromium
}

# ensure_node: Node.js runs the official x402 clients in the compatibility tests, and npm restores the libraries the
# build embeds in the binary's pages (src/Facilitator.Fast/Dashboard/package-lock.json).
ensure_node() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    ensure_debian_packages nodejs npm
  fi
}

# ensure_dotnet_tool NAME DIRECTORY: a .NET tool (dotnet-trace, dotnet-counters) installed into DIRECTORY from NuGet.
ensure_dotnet_tool() {
  [ -x "$2/$1" ] && return 0
  echo "Installing the dotnet tool $1 into $2"
  dotnet tool install --tool-path "$2" "$1" >/dev/null
}
