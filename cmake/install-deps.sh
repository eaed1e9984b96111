#!/usr/bin/env bash
# Installs every Debian 12 package expertise-directory needs to build, test and run,
# and nothing else. Idempotent: packages already present are left alone, and apt is
# not touched at all when everything is installed.
set -euo pipefail

packages=(
  # toolchain; mold links the many test executables several times faster than ld
  build-essential cmake ninja-build pkg-config mold
  # RPC stack: gRPC 1.51 (grpc++, reflection, error details), Protobuf 3.21, Abseil
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  # google/rpc/{status,error_details}.proto and grpc/health/v1/health.proto sources
  golang-github-gogo-googleapis-dev grpc-proto
  # storage, logging, CLI, JSON; libpqxx (C++ client of libpq) for the PostgreSQL store
  libsqlite3-dev libpqxx-dev libspdlog-dev libcli11-dev nlohmann-json3-dev
  # metrics registry and text exposition (prometheus-cpp core), the one HTTP server
  # (cpp-httplib: /metrics today, the portal and JSON API next), UTF-8 checks for the
  # plugin SDK (utfcpp, header-only)
  prometheus-cpp-dev libcpp-httplib-dev libutfcpp-dev libre2-dev
  # importer sandbox: bubblewrap (namespaces) and libseccomp (syscall filter);
  # OpenSSL: SHA-256 (plugin hashes, API keys, audit chain); the openssl tool makes the
  # development CA and certificates (deploy/tls/make-dev-certs.sh)
  bubblewrap libseccomp-dev libssl-dev openssl
  # tests and benchmarks; clang-14 and libclang-rt-14-dev for the libFuzzer targets
  libgtest-dev libgmock-dev libbenchmark-dev clang-14 libclang-rt-14-dev
  # tests only: a throwaway PostgreSQL 15 server (initdb in a temporary folder) for the
  # store conformance suite and the replica tests; python3-yaml parses the deploy
  # manifests in tests/deploy
  postgresql-15 python3 python3-yaml
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
