#!/usr/bin/env bash
# Federated search speed (docs/benchmarks.md): nine registries with
# FEDERATION_BENCH_PER_REGION specialists each (default 20,000) and the
# directory, all on loopback; then expertise-loadgen runs, in one go against
# the directory, the empty call (health, the baseline), a search routed to
# one region, and two national searches; and, for the directory's own cost,
# the empty call and the same one-region search straight at that registry.
#
#   cmake --build build/release --target expertise-registry expertise-directory \
#     expertctl expertise-sampledata expertise-loadgen
#   bash tests/benchmarks/federation_benchmark.sh
#
# Environment: EXPERTISE_BIN (default build/release), FEDERATION_BENCH_PER_REGION,
# FEDERATION_BENCH_DURATION (per scenario, default 10s), FEDERATION_BENCH_CONCURRENCY
# (default 8), FEDERATION_BENCH_DIR (default a temporary folder, removed at the end).
# Everything it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
bin=${EXPERTISE_BIN:-$root/build/release}
per_region=${FEDERATION_BENCH_PER_REGION:-20000}
duration=${FEDERATION_BENCH_DURATION:-10s}
concurrency=${FEDERATION_BENCH_CONCURRENCY:-8}
work=${FEDERATION_BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
# A reused folder: stale port files would point at servers long gone.
rm -f "$work"/*.port "$work"/*.db "$work"/*.db-wal "$work"/*.db-shm "$work"/*.audit.jsonl "$work"/keyring
regions=(north-east north-west yorkshire-and-the-humber east-midlands west-midlands east-of-england
         london south-east south-west)
loadgen=$bin/clients/loadgen/expertise-loadgen
for tool in services/registry/expertise-registry services/directory/expertise-directory \
  clients/expertctl/expertctl services/sampledata/expertise-sampledata clients/loadgen/expertise-loadgen; do
  [ -x "$bin/$tool" ] || { echo "federation_benchmark: build $bin/$tool first" >&2; exit 2; }
done

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "${FEDERATION_BENCH_DIR:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

wait_port() {
  for _ in $(seq 1 600); do [ -s "$1" ] && { cat "$1"; return; }; sleep 0.1; done
  echo "federation_benchmark: $1 never appeared" >&2
  exit 1
}

# Identities: API keys (hashes in a keyring) for each region's coordinator,
# who loads the region, and for the directory. The servers run in the
# plaintext development mode on loopback with rate limits off, so the figures
# are the service's, not TLS's or the limiter's.
codes=(E12000001 E12000002 E12000003 E12000004 E12000005 E12000006 E12000007 E12000008 E12000009)
: >"$work/keyring"
for principal in service/directory "${codes[@]/#/coordinator/}"; do
  "$bin/clients/expertctl/expertctl" keys create --principal "$principal" \
    >"$work/${principal/\//-}.token" 2> >(tail -1 >>"$work/keyring")
done
sleep 0.2  # the process substitutions finish writing
chmod 600 "$work/keyring"
dev=(--insecure-dev --api-keys "$work/keyring" --rate-limit 0)

echo "== $per_region specialists in each of 9 regions (generating and loading)"
: >"$work/regions.txt"
i=0
for region in "${regions[@]}"; do
  i=$((i + 1))
  "$bin/services/registry/expertise-registry" --region "$region" --db "$work/$region.db" \
    --listen 127.0.0.1:0 --port-file "$work/$region.port" --log-level warn "${dev[@]}" 2>>"$work/$region.log" &
  pids+=($!)
done
i=0
for region in "${regions[@]}"; do
  i=$((i + 1))
  port=$(wait_port "$work/$region.port")
  echo "$region 127.0.0.1:$port" >>"$work/regions.txt"
  "$bin/services/sampledata/expertise-sampledata" --region "$region" --count "$per_region" --seed "$i" \
    >"$work/$region.jsonl"
  "$bin/clients/expertctl/expertctl" --server "127.0.0.1:$port" --token-file "$work/coordinator-${codes[$((i - 1))]}.token" \
    --timeout 120 upsert -f "$work/$region.jsonl" \
    --batch-size 1000 | tail -1
done
"$bin/services/directory/expertise-directory" --regions "$work/regions.txt" --listen 127.0.0.1:0 \
  --port-file "$work/directory.port" --log-level warn "${dev[@]}" \
  --upstream-token-file "$work/service-directory.token" 2>>"$work/directory.log" &
pids+=($!)
directory=127.0.0.1:$(wait_port "$work/directory.port")
north_west=$(awk '$1 == "north-west" {print $2}' "$work/regions.txt")

# The same need asked three ways: near Cumberland (on the North West's
# border with the North East), a role, some free hours.
need='"roles": ["speech-language-therapist"], "near_authority": "E06000063", "within_km": 60,
      "min_available_hours": 1, "available_on": {"year": 2026, "month": 11, "day": 2}, "page_size": 20'
echo "{\"parent\": \"regions/north-west\", $need}" >"$work/one-region.json"
echo "{\"parent\": \"regions/-\", $need}" >"$work/national-near.json"
# Every region contributes a full page: the heaviest merge.
echo '{"parent": "regions/-", "roles": ["educational-psychologist"], "order_by": "SEARCH_ORDER_AVAILABLE_HOURS",
       "available_on": {"year": 2026, "month": 11, "day": 2}, "page_size": 20}' >"$work/national-hours.json"

connections=$((concurrency < 2 ? concurrency : 2))
# Searches as the North West's coordinator.
common=(-c "$concurrency" --connections "$connections" -z "$duration" --warmup 2s -t 10s
        --token-file "$work/coordinator-E12000002.token")
echo; echo "== through the directory ($directory): empty call, one region, national"
"$loadgen" --server "$directory" "${common[@]}" --scenario health \
  --scenario "search=@$work/one-region.json" --scenario "search=@$work/national-near.json" \
  --scenario "search=@$work/national-hours.json" "$@"
echo; echo "== straight at the North West registry ($north_west): empty call, one region"
"$loadgen" --server "$north_west" "${common[@]}" --scenario health \
  --scenario "search=@$work/one-region.json" "$@"
