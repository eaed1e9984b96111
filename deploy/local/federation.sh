#!/usr/bin/env bash
# A local federation on one machine: the nine English regional registries,
# each on its own embedded SQLite database, and the federated directory in
# front of them, all on loopback and all on mutual TLS: a development CA
# (deploy/tls/make-dev-certs.sh) issues the services' certificate, the
# directory's client certificate (service/directory) and client certificates
# for the coordinators; every client presents one (docs/security.md).
#
#   deploy/local/federation.sh start    start everything, load sample data through
#                                       the importer plugins, print every region's status
#   deploy/local/federation.sh status   every region's status (exit 3 if one is down)
#   deploy/local/federation.sh stop     stop everything cleanly (SIGTERM, then wait)
#
# Options (environment):
#   EXPERTISE_BIN        build folder with the binaries (default build/release)
#   FEDERATION_DIR       databases, logs, exports, pids (default var/federation)
#   FEDERATION_PORT      the directory's port (default 50050, expertctl's default);
#                        registries use the next nine ports, in region-code order
#   FEDERATION_PER_AUTHORITY  specialists generated per authority (default 40)
#   FEDERATION_LOAD=0    start empty, without sample data
#   FEDERATION_CALLER    who expertctl calls as (default coordinator/E12000001, the
#                        North East's coordinator); its settings are written to
#                        FEDERATION_DIR/expertctl.toml for `expertctl --config`
#
# Sample data: invented people (expertise-sampledata, docs/sample-data.md).
# Every authority's records come in through the importer plugins, in the
# format its region's councils export in this demo: csv (an HR export),
# openreferral (an Open Referral UK Local Offer directory) or fhir (an NHS
# trust's FHIR R4 bundle), rotating across the regions. Imports are sent to
# the directory, which routes each to the authority's region.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
bin=${EXPERTISE_BIN:-$root/build/release}
work=${FEDERATION_DIR:-$root/var/federation}
port=${FEDERATION_PORT:-50050}
per_authority=${FEDERATION_PER_AUTHORITY:-40}
directory=127.0.0.1:$port
# Region ids in ONS code order (E12000001 ... E12000009).
regions=(north-east north-west yorkshire-and-the-humber east-midlands west-midlands east-of-england
         london south-east south-west)
region_codes=(E12000001 E12000002 E12000003 E12000004 E12000005 E12000006 E12000007 E12000008 E12000009)
formats=(csv openreferral fhir)
tls=$work/tls
caller=${FEDERATION_CALLER:-coordinator/E12000001}
server_tls=(--tls-cert "$tls/server.pem" --tls-key "$tls/server.key" --tls-ca "$tls/ca.pem")

# expertctl as `principal`, with its client certificate.
expertctl_as() {  # principal, args...
  local cert=$tls/${1/\//-}
  shift
  "$bin/clients/expertctl/expertctl" --server "$directory" --ca "$tls/ca.pem" --cert "$cert.pem" \
    --key "$cert.key" "$@"
}
expertctl() { expertctl_as "$caller" "$@"; }

running() { [ -f "$work/$1.pid" ] && kill -0 "$(cat "$work/$1.pid")" 2>/dev/null; }

wait_for_port_file() {  # name
  for _ in $(seq 1 300); do
    [ -s "$work/$1.port" ] && return 0
    running "$1" || { echo "federation: $1 did not start; its log:" >&2; tail -20 "$work/$1.log" >&2; return 1; }
    sleep 0.1
  done
  echo "federation: $1 did not start within 30 s (log: $work/$1.log)" >&2
  return 1
}

start_one() {  # name, command...
  local name=$1
  shift
  rm -f "$work/$name.port"
  "$@" --port-file "$work/$name.port" >>"$work/$name.log" 2>&1 &
  echo $! >"$work/$name.pid"
}

cmd_stop() {
  local stopped=0
  for name in directory "${regions[@]}"; do
    if running "$name"; then
      kill -TERM "$(cat "$work/$name.pid")"
      stopped=$((stopped + 1))
    fi
  done
  for name in directory "${regions[@]}"; do
    if [ -f "$work/$name.pid" ]; then
      local pid
      pid=$(cat "$work/$name.pid")
      for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then
        echo "federation: $name (pid $pid) did not stop in 15 s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
      fi
      rm -f "$work/$name.pid" "$work/$name.port"
    fi
  done
  echo "== federation stopped ($stopped processes)"
}

cmd_status() {
  expertctl regions status
}

load_region() {  # index
  local i=$1 region=${regions[$1]} format=${formats[$(($1 % 3))]}
  local log=$work/import-$region.log
  : >"$log"
  local authorities
  authorities=$(expertctl -o csv authorities --region "$region" |
    tail -n +2 | cut -d, -f1)
  for la in $authorities; do
    local ext=csv
    [ "$format" = csv ] || ext=json
    local export=$work/exports/$la.$format.$ext
    "$bin/services/sampledata/expertise-sampledata" --authority "$la" --count "$per_authority" \
      --seed "$((2026 + i))" --format "$format" >"$export"
    # The region's coordinator imports for the region's authorities.
    if ! expertctl_as "coordinator/${region_codes[$i]}" import --plugin "$format" --authority "$la" --config "$root/deploy/local/importers/$format.json" \
      --progress none "$export" >>"$log" 2>&1; then
      echo "federation: importing $la ($region, $format) failed; see $log" >&2
      return 1
    fi
  done
  echo "   $region: $(echo "$authorities" | wc -w) authorities imported with the $format plugin"
}

cmd_start() {
  for tool in services/registry/expertise-registry services/directory/expertise-directory \
    clients/expertctl/expertctl services/sampledata/expertise-sampledata; do
    [ -x "$bin/$tool" ] || { echo "federation: $bin/$tool is missing; build first (see README.md)" >&2; exit 2; }
  done
  mkdir -p "$work/exports"
  if running directory; then
    echo "federation: already running (stop it with: $0 stop)" >&2
    exit 1
  fi
  cmd_stop >/dev/null 2>&1 || true
  rm -f "$work"/*.db "$work"/*.db-wal "$work"/*.db-shm "$work"/*.log "$work"/*.audit.jsonl "$work"/exports/*
  echo "== development certificates (mTLS everywhere) in $tls"
  local principals=(service/directory admin/local "$caller")
  for code in "${region_codes[@]}"; do principals+=("coordinator/$code"); done
  bash "$root/deploy/tls/make-dev-certs.sh" "$tls" "${principals[@]}" >"$work/certs.log"
  local cert=$tls/${caller/\//-}
  {
    echo "# expertctl --config $work/expertctl.toml ...  (calls as $caller)"
    echo "server = \"$directory\""
    echo "ca = \"$tls/ca.pem\""
    echo "cert = \"$cert.pem\""
    echo "key = \"$cert.key\""
  } >"$work/expertctl.toml"
  : >"$work/regions.txt"
  echo "== starting nine regional registries (SQLite in $work)"
  local i=0
  for region in "${regions[@]}"; do
    i=$((i + 1))
    start_one "$region" "$bin/services/registry/expertise-registry" --region "$region" \
      --listen "127.0.0.1:$((port + i))" --db "$work/$region.db" "${server_tls[@]}"
    echo "$region 127.0.0.1:$((port + i))" >>"$work/regions.txt"
  done
  for region in "${regions[@]}"; do wait_for_port_file "$region"; done
  echo "== starting the directory on $directory"
  start_one directory "$bin/services/directory/expertise-directory" --regions "$work/regions.txt" \
    --listen "$directory" "${server_tls[@]}" --upstream-ca "$tls/ca.pem" \
    --upstream-cert "$tls/service-directory.pem" --upstream-key "$tls/service-directory.key"
  wait_for_port_file directory
  if [ "${FEDERATION_LOAD:-1}" = 1 ]; then
    echo "== importing sample data through the importer plugins, via the directory"
    # Three regions at a time: each import runs its plugin in a sandbox.
    local pids=() failed=0
    for i in "${!regions[@]}"; do
      load_region "$i" &
      pids+=($!)
      if [ ${#pids[@]} -eq 3 ]; then
        for p in "${pids[@]}"; do wait "$p" || failed=1; done
        pids=()
      fi
    done
    for p in "${pids[@]}"; do wait "$p" || failed=1; done
    [ "$failed" = 0 ] || exit 1
  fi
  echo "== every region's status"
  cmd_status
  echo "== federation running: directory at $directory (mTLS); stop it with: $0 stop"
  echo "   expertctl --config $work/expertctl.toml search ...   (as $caller)"
}

case "${1:-}" in
  start) cmd_start ;;
  status) cmd_status ;;
  stop) cmd_stop ;;
  *)
    echo "usage: $0 start|status|stop" >&2
    exit 2
    ;;
esac
