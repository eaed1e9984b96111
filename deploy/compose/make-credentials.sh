#!/usr/bin/env bash
# Makes what the Compose federation needs, DEVELOPMENT ONLY, in var/compose (or OUT_DIR):
#   tls/          deploy/tls/make-dev-certs.sh's CA, the localhost server certificate (the
#                 directory, reached from this machine) and client certificates for
#                 service/directory, admin/compose and every region's coordinator
#   tls/registry.pem, .key  a server certificate naming the registries' Compose services,
#                 which the localhost one does not (the directory checks the name it dials)
#   postgres-password, pgpass  a random database password (superuser and role expertise)
#
# Usage: deploy/compose/make-credentials.sh [OUT_DIR]    (idempotent: keeps what is valid)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/var/compose}
tls=$out/tls
regions=(north-east north-west yorkshire-and-the-humber east-midlands west-midlands east-of-england
         london south-east south-west)
principals=(service/directory admin/compose)
for i in 1 2 3 4 5 6 7 8 9; do principals+=("coordinator/E1200000$i"); done

bash "$root/deploy/tls/make-dev-certs.sh" "$tls" "${principals[@]}"

umask 077
if ! openssl verify -CAfile "$tls/ca.pem" -purpose sslserver "$tls/registry.pem" >/dev/null 2>&1; then
  work=$(mktemp -d "$tls/.registry.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  sans=$(printf 'DNS:registry-%s,' "${regions[@]}")
  cat >"$work/ext" <<EXT
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = ${sans%,}
EXT
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/registry.key" 2>/dev/null
  openssl req -new -key "$work/registry.key" -subj /CN=registry -out "$work/registry.csr"
  openssl x509 -req -in "$work/registry.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 30 -sha256 -extfile "$work/ext" \
    -out "$work/registry.pem" 2>/dev/null
  chmod 0644 "$work/registry.pem"
  mv -f "$work/registry.key" "$tls/registry.key"
  mv -f "$work/registry.pem" "$tls/registry.pem"
  echo "created  $tls/registry.pem (the registries' Compose service names)"
fi

if [ ! -s "$out/postgres-password" ]; then
  openssl rand -hex 24 >"$out/postgres-password"
  echo "created  $out/postgres-password"
fi
# libpq's password file: host:port:database:user:password.
echo "*:*:*:expertise:$(cat "$out/postgres-password")" >"$out/pgpass"
