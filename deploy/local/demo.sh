#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: installs what is needed, builds,
# starts a regional registry (North West) on an embedded SQLite database,
# fills it with generated sample data (invented people): most authorities
# through the API as JSON lines, and three authorities from their own export
# formats (an HR CSV, an Open Referral directory, a FHIR bundle) through the
# sandboxed importer plugins; then runs a few coordinator queries with expertctl.
#
#   bash deploy/local/demo.sh            # run, print, stop the registry
#   bash deploy/local/demo.sh --keep     # leave the registry running afterwards
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
keep=0
[ "${1:-}" = "--keep" ] && keep=1

bash cmake/install-deps.sh
echo "== building (Release)"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DEXPERTISE_BUILD_TESTS=OFF -DEXPERTISE_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build/release -j "$(nproc)" --target expertise-registry expertctl expertise-sampledata \
  expertise-plugin-runner expertise_importer_csv expertise_importer_openreferral expertise_importer_fhir \
  expertise-importer
bin=$root/build/release

work=$root/var/demo
mkdir -p "$work"
rm -f "$work"/north-west.db* "$work"/north-west.port "$work"/north-west*.jsonl "$work"/*-export.*
echo "== starting the North West registry on $work/north-west.db"
"$bin/services/registry/expertise-registry" --region E12000002 --listen 127.0.0.1:0 \
  --db "$work/north-west.db" --port-file "$work/north-west.port" 2>>"$work/north-west.log" &
pid=$!
stop() {
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    wait "$pid" || true
    echo "== registry stopped"
  fi
}
[ "$keep" = 1 ] || trap stop EXIT
for _ in $(seq 1 300); do
  [ -s "$work/north-west.port" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/north-west.log"; exit 1; }
  sleep 0.1
done
export EXPERTCTL_SERVER=127.0.0.1:$(cat "$work/north-west.port")
ctl() { echo; echo "\$ expertctl $*"; "$bin/clients/expertctl/expertctl" "$@"; }

sampledata() { "$bin/services/registry/expertise-sampledata" "$@"; }
# Three authorities send their own exports through the importer plugins below;
# every other authority's records are loaded as JSON lines.
imported=(E08000001 E06000063 E08000003)  # Bolton, Cumberland, Manchester

echo "== loading generated specialists for most of the region (invented names; seed 2026)"
sampledata --region north-west --count 8000 --seed 2026 > "$work/north-west-all.jsonl"
exclude=()
for la in "${imported[@]}"; do exclude+=(-e "\"owning_authority\":\"$la\""); done
grep -v "${exclude[@]}" "$work/north-west-all.jsonl" > "$work/north-west.jsonl"
ctl upsert -f "$work/north-west.jsonl"
ctl upsert -f "$work/north-west.jsonl"   # the same file again changes nothing

echo; echo "== importing three authorities' own exports through the importer plugins"
# The same invented people as these authorities' lines of the 8000 above,
# written in the formats their systems export (docs/sample-data.md).
share() { grep -c "\"owning_authority\":\"$1\"" "$work/north-west-all.jsonl"; }
sampledata --authority E08000001 --count "$(share E08000001)" --seed 2026 --format csv \
  > "$work/bolton-hr-export.csv"
sampledata --authority E06000063 --count "$(share E06000063)" --seed 2026 --format openreferral \
  > "$work/cumberland-local-offer-export.json"
sampledata --authority E08000003 --count "$(share E08000003)" --seed 2026 --format fhir \
  > "$work/manchester-fhir-export.json"
ctl plugins list
config=$root/deploy/local/importers
# Bolton: an HR system's CSV export.
ctl import --plugin csv --authority E08000001 --config "$config/csv.json" "$work/bolton-hr-export.csv"
# Cumberland: its SEND Local Offer directory, Open Referral UK (HSDS 3.0) JSON.
ctl import --plugin openreferral --authority E06000063 --config "$config/openreferral.json" \
  "$work/cumberland-local-offer-export.json"
# Manchester: the community health trust's FHIR R4 bundle.
ctl import --plugin fhir --authority E08000003 --config "$config/fhir.json" \
  "$work/manchester-fhir-export.json"
# The same file again: recognised as already imported, nothing runs.
ctl import --plugin csv --authority E08000001 --config "$config/csv.json" "$work/bolton-hr-export.csv"

echo; echo "== coordinator queries"
ctl regions
ctl taxonomy --kind role
# AAC specialists with at least 2 free hours a week within 40 km of Cumberland.
ctl search --specialism aac --near-authority E06000063 --within-km 40 --min-hours 2 --limit 10
# A Qualified Teacher of the Deaf who signs (BSL) for a 3-year-old in a PVI nursery near Bolton.
ctl search --role qualified-teacher-deaf --language bfi --setting early-years-pvi --age 3 \
  --near-authority E08000001 --within-km 30 --limit 5
# Speech and language therapists with most free hours who take other authorities' requests.
ctl search --role speech-language-therapist --accepting --order hours --limit 5
# Capacity of educational psychologists across the region.
ctl capacity --role educational-psychologist
first=$("$bin/clients/expertctl/expertctl" -o csv search --specialism multi-sensory-impairment \
  --near-authority E08000012 --limit 1 | sed -n 2p | cut -d, -f1)
[ -n "$first" ] && ctl get "$first"

if [ "$keep" = 1 ]; then
  echo; echo "== registry still running (pid $pid) at $EXPERTCTL_SERVER"
  echo "   export EXPERTCTL_SERVER=$EXPERTCTL_SERVER; stop it with: kill $pid"
fi
