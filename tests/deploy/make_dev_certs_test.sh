#!/usr/bin/env bash
# Checks deploy/tls/make-dev-certs.sh: the certificates verify against the CA
# for their purpose, carry the right SANs, keys are 0600, and a second run
# reuses the CA. Needs only bash and the openssl CLI.
set -euo pipefail

script="$(cd "$(dirname "$0")/../.." && pwd)/deploy/tls/make-dev-certs.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out="$tmp/certs"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Prints the subjectAltName entries of a certificate, one a line.
sans() {
  openssl x509 -in "$1" -noout -ext subjectAltName | tail -n +2 | tr ',' '\n' | sed 's/^ *//; /^$/d'
}

fingerprint() {
  openssl x509 -in "$1" -noout -fingerprint -sha256
}

# verify PEM PURPOSE: the certificate chains to the CA and suits PURPOSE.
verify() {
  openssl verify -CAfile "$out/ca.pem" -purpose "$2" "$1" >/dev/null 2>&1 ||
    fail "$1 does not verify against $out/ca.pem for $2: $(openssl verify -CAfile "$out/ca.pem" -purpose "$2" "$1" 2>&1)"
}

check_mode_0600() {
  local mode
  mode=$(stat -c %a "$1")
  [[ "$mode" == 600 ]] || fail "$1 has mode $mode, want 600"
}

bash "$script" "$out" authority/E09000033 coordinator/E12000007 >"$tmp/run1.log" ||
  fail "first run failed: $(cat "$tmp/run1.log")"

for f in ca server authority-E09000033 coordinator-E12000007; do
  [[ -f "$out/$f.pem" ]] || fail "missing $out/$f.pem"
  [[ -f "$out/$f.key" ]] || fail "missing $out/$f.key"
  check_mode_0600 "$out/$f.key"
done

# The CA.
ca_text=$(openssl x509 -in "$out/ca.pem" -noout -text)
grep -q "Subject: CN = expertise-directory development CA" <<<"$ca_text" || fail "CA subject wrong"
grep -A1 "Basic Constraints: critical" <<<"$ca_text" | grep -q "CA:TRUE" || fail "CA lacks critical CA:TRUE"
grep -q "Certificate Sign, CRL Sign" <<<"$ca_text" || fail "CA key usage is not keyCertSign,cRLSign"

# The server certificate.
verify "$out/server.pem" sslserver
server_sans=$(sans "$out/server.pem")
grep -qx "DNS:localhost" <<<"$server_sans" || fail "server SANs lack DNS:localhost: $server_sans"
grep -qx "IP Address:127.0.0.1" <<<"$server_sans" || fail "server SANs lack IP 127.0.0.1: $server_sans"
if openssl verify -CAfile "$out/ca.pem" -purpose sslclient "$out/server.pem" >/dev/null 2>&1; then
  fail "server certificate is also valid for clientAuth"
fi

# The client certificates: exactly one SAN, the SPIFFE URI; CN is the principal.
for p in authority/E09000033 coordinator/E12000007; do
  pem="$out/${p/\//-}.pem"
  verify "$pem" sslclient
  got=$(sans "$pem")
  want="URI:spiffe://expertise.local/$p"
  [[ "$got" == "$want" ]] || fail "$pem SANs are '$got', want exactly '$want'"
  subject=$(openssl x509 -in "$pem" -noout -subject)
  [[ "$subject" == "subject=CN = $p" ]] || fail "$pem subject is '$subject', want CN = $p"
  if openssl verify -CAfile "$out/ca.pem" -purpose sslserver "$pem" >/dev/null 2>&1; then
    fail "$pem is also valid for serverAuth"
  fi
done

# A second run reuses the CA and keeps existing certificates, and can add a principal.
ca_before=$(fingerprint "$out/ca.pem")
client_before=$(fingerprint "$out/authority-E09000033.pem")
bash "$script" "$out" authority/E09000033 importer/E06000001 >"$tmp/run2.log" ||
  fail "second run failed: $(cat "$tmp/run2.log")"
[[ "$(fingerprint "$out/ca.pem")" == "$ca_before" ]] || fail "second run replaced the CA"
[[ "$(fingerprint "$out/authority-E09000033.pem")" == "$client_before" ]] ||
  fail "second run replaced an existing client certificate without --force"
verify "$out/importer-E06000001.pem" sslclient
check_mode_0600 "$out/importer-E06000001.key"

# --force reissues the leaf certificates but still keeps the CA.
bash "$script" --force "$out" authority/E09000033 >"$tmp/run3.log" ||
  fail "--force run failed: $(cat "$tmp/run3.log")"
[[ "$(fingerprint "$out/ca.pem")" == "$ca_before" ]] || fail "--force replaced the CA"
[[ "$(fingerprint "$out/authority-E09000033.pem")" != "$client_before" ]] ||
  fail "--force did not reissue the client certificate"
verify "$out/authority-E09000033.pem" sslclient

# Bad principals are refused before anything is written.
for bad in authority Authority/E09000033 authority/E09/1 authority/.. "authority/E09 1"; do
  if bash "$script" "$tmp/bad" "$bad" >/dev/null 2>&1; then
    fail "accepted bad principal '$bad'"
  fi
done
[[ ! -e "$tmp/bad" ]] || fail "a refused run still created $tmp/bad"

# No temporary files are left behind.
leftovers=$(find "$out" -name '.make-dev-certs.*')
[[ -z "$leftovers" ]] || fail "temporary files left: $leftovers"

echo "PASS: make-dev-certs.sh"
