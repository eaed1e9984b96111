#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: installs what is needed, builds,
# starts a local federation (the nine regional registries on embedded SQLite
# databases and the federated directory, deploy/local/federation.sh), imports
# generated sample data (invented people) through the sandboxed importer
# plugins in three formats, then runs national coordinator queries with
# expertctl through the directory, and stops everything. Every connection is
# mutual TLS with certificates from a development CA; expertctl calls as the
# North East's regional coordinator.
#
#   bash deploy/local/demo.sh            # run, print, stop the federation
#   bash deploy/local/demo.sh --keep     # leave it running afterwards
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
keep=0
[ "${1:-}" = "--keep" ] && keep=1

bash cmake/install-deps.sh
echo "== building (Release)"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DEXPERTISE_BUILD_TESTS=OFF -DEXPERTISE_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build/release -j "$(nproc)" --target expertise-registry expertise-directory expertctl \
  expertise-sampledata expertise-plugin-runner expertise_importer_csv expertise_importer_openreferral \
  expertise_importer_fhir expertise-importer
bin=$root/build/release
export EXPERTISE_BIN=$bin
federation=$root/deploy/local/federation.sh
stop() { bash "$federation" stop; }
[ "$keep" = 1 ] || trap stop EXIT
bash "$federation" start

# expertctl talks to the directory (127.0.0.1:50050) with the coordinator's
# certificate, from the config file the federation wrote.
config=${FEDERATION_DIR:-$root/var/federation}/expertctl.toml
ctl() { echo; echo "\$ expertctl $*"; "$bin/clients/expertctl/expertctl" --config "$config" "$@"; }

echo; echo "== national coordinator queries, through the directory"
ctl regions
# AAC specialists with at least 2 free hours a week within 40 km of Cumbria
# (Cumberland's centre): distance decides, so the North East's are found too.
ctl search --specialism aac --near-authority E06000063 --within-km 40 --min-hours 2 --limit 10
# Multi-sensory impairment is rare: the nearest qualified teachers anywhere in England.
ctl search --role qualified-teacher-multi-sensory-impairment --near-authority E06000064 --limit 5
# A Qualified Teacher of the Deaf for a 3-year-old in a PVI nursery near Bolton, across regions.
ctl search --role qualified-teacher-deaf --setting early-years-pvi --age 3 \
  --near-authority E08000001 --within-km 60 --limit 5
# Speech and language therapists with most free hours who take other authorities' requests.
ctl search --role speech-language-therapist --accepting --order hours --limit 5
# One region only (routed to its registry).
ctl search --region london --role educational-psychologist --order hours --limit 3
# National capacity of educational psychologists, region by region.
ctl capacity --national --role educational-psychologist
first=$("$bin/clients/expertctl/expertctl" --config "$config" -o csv search --specialism multi-sensory-impairment \
  --near-authority E08000012 --limit 1 | sed -n 2p | cut -d, -f1)
[ -n "$first" ] && ctl get "$first"
ctl regions status
# Who did what: the North East's audit trail, first its imports, then who was
# given contact details by the searches above.
ctl audit --region north-east --action ImportSpecialists --limit 4
ctl audit --region north-east --action SearchSpecialists --limit 4

# Capacity sharing: Darlington (North East, on the Yorkshire border) needs a
# speech and language therapist for early years PVI settings. Suggestions
# rank every region's specialists (distance, free hours, specialism and
# setting fit, with reasons); the best-ranked one outside the North East is
# offered by its region's coordinator; the North East's coordinator accepts
# for Darlington, which commits the hours on the provider's record in its own
# region. Then the North East's equity report for the role (also as a
# self-contained HTML file with charts) and national coverage gaps of a rare role.
tls=${FEDERATION_DIR:-$root/var/federation}/tls
echo; echo "== capacity sharing between authorities, through the directory"
ctl requests create --authority E06000005 --role speech-language-therapist \
  --setting early-years-pvi --age-band early-years --hours 3 --weeks 12 --urgency soon \
  --request-id demo-darlington-slt-1 --note "Two PVI nurseries need language assessments this term"
request=$("$bin/clients/expertctl/expertctl" --config "$config" -o csv requests list --authority E06000005 \
  --state open | sed -n 2p | cut -d, -f1)
ctl requests suggest "$request" --max 5
# The best-ranked provider outside the North East makes the offer.
provider=$("$bin/clients/expertctl/expertctl" --config "$config" -o csv requests suggest "$request" --max 100 \
  | awk -F, 'NR > 1 && $2 !~ /north-east/ { print $2; exit }')
provider_region=$(echo "$provider" | cut -d/ -f2)
provider_coordinator=$(awk -F, -v id="$provider_region" '$1 == id { print $2 }' <<'REGIONS'
north-west,E12000002
yorkshire-and-the-humber,E12000003
east-midlands,E12000004
west-midlands,E12000005
east-of-england,E12000006
london,E12000007
south-east,E12000008
south-west,E12000009
REGIONS
)
as_provider=(--ca "$tls/ca.pem" --cert "$tls/coordinator-$provider_coordinator.pem"
             --key "$tls/coordinator-$provider_coordinator.key")
echo; echo "\$ expertctl (as coordinator/$provider_coordinator) requests offer $request --specialist $provider"
"$bin/clients/expertctl/expertctl" --config "$config" "${as_provider[@]}" requests offer "$request" \
  --specialist "$provider" --note "Can start after half term"
ctl requests accept "$request" --offer o-1 --request-id demo-accept-1
ctl requests show "$request"
ctl get "$provider"
ctl report equity --region north-east --role speech-language-therapist --within-km 20
ctl report equity --role speech-language-therapist -o html \
  --out "${FEDERATION_DIR:-$root/var/federation}/equity-report.html"
ctl report gaps --role qualified-teacher-multi-sensory-impairment --within-km 40

if [ "$keep" = 1 ]; then
  echo; echo "== federation still running (mTLS); call it with: expertctl --config $config ..."
  echo "   stop it with: EXPERTISE_BIN=$bin bash deploy/local/federation.sh stop"
fi
