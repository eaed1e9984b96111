#!/usr/bin/env bash
# Makes a development CA and certificates for a local federation.
#
# DEVELOPMENT ONLY: NOT FOR PRODUCTION. The CA key sits unencrypted next to the
# certificates it signs. In production, certificates come from the
# authority's own PKI.
#
# Usage: make-dev-certs.sh [--force] OUT_DIR [PRINCIPAL...]
#
#   OUT_DIR/ca.pem, ca.key          the CA (EC P-256, 30 days); reused if present,
#                                   so principals can be added later
#   OUT_DIR/server.pem, server.key  serverAuth for every service on this machine
#                                   (DNS:localhost, IP:127.0.0.1, IP:::1)
#   OUT_DIR/<kind>-<code>.pem/.key  clientAuth for each PRINCIPAL kind/code, e.g.
#                                   authority/E09000033 -> authority-E09000033.pem,
#                                   whose only SAN is URI:spiffe://expertise.local/<principal>
#                                   (gRPC takes the peer's SPIFFE ID from a single URI SAN)
#
# Existing certificates are kept unless --force is given, or they no longer
# verify against the CA (expired, or signed by an earlier CA). Keys are 0600.
set -euo pipefail

readonly TRUST_DOMAIN=expertise.local
readonly DAYS=30
readonly CA_CN="expertise-directory development CA"

usage() {
  echo "usage: $0 [--force] OUT_DIR [PRINCIPAL...]   (PRINCIPAL: kind/code, e.g. authority/E09000033)" >&2
  exit 2
}

die() {
  echo "make-dev-certs: $*" >&2
  exit 1
}

force=0
out=""
principals=()
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h | --help) usage ;;
    -*) echo "make-dev-certs: unknown option $arg" >&2; usage ;;
    *)
      if [[ -z "$out" ]]; then out="$arg"; else principals+=("$arg"); fi
      ;;
  esac
done
[[ -n "$out" ]] || usage
command -v openssl >/dev/null || die "openssl not found"

# Check every principal before making anything. The SPIFFE spec forbids the
# path segments "." and "..".
for p in "${principals[@]}"; do
  if [[ ! "$p" =~ ^[a-z]+/[A-Za-z0-9._-]{1,64}$ ]] || [[ "${p#*/}" == "." || "${p#*/}" == ".." ]]; then
    die "bad principal '$p': want kind/code (kind: a-z; code: 1-64 of A-Z a-z 0-9 . _ -)"
  fi
done

umask 077  # keys are private from the moment they exist
mkdir -p "$out"
# Work inside OUT_DIR so the final renames are atomic: an interrupted run never
# leaves a certificate without its key.
work=$(mktemp -d "$out/.make-dev-certs.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A minimal config, so the system openssl.cnf cannot add extensions or prompt.
cat >"$work/req.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
EOF

# Runs a command, showing its chatter only if it fails.
quiet() {
  local log
  if ! log=$("$@" 2>&1); then
    echo "$log" >&2
    return 1
  fi
}

new_key() {
  quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
}

serial() {
  echo "0x$(openssl rand -hex 16)"
}

# leaf NAME CN EXTFILE: issues NAME.pem/NAME.key unless a valid one exists.
leaf() {
  local name=$1 cn=$2 extfile=$3
  # In -subj a "/" starts a new attribute, so any in the CN are escaped.
  local subject="/CN=${cn//\//\\/}"
  local pem="$out/$name.pem" key="$out/$name.key"
  if [[ -f "$pem" && -f "$key" && "$force" == 0 ]]; then
    if openssl verify -CAfile "$out/ca.pem" "$pem" >/dev/null 2>&1; then
      echo "kept     $pem"
      return
    fi
    echo "replacing $pem: it does not verify against $out/ca.pem (expired or from an earlier CA)"
  fi
  new_key "$work/$name.key"
  openssl req -new -config "$work/req.cnf" -key "$work/$name.key" -subj "$subject" \
    -out "$work/$name.csr"
  quiet openssl x509 -req -in "$work/$name.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" \
    -set_serial "$(serial)" -days "$DAYS" -sha256 -extfile "$extfile" \
    -out "$work/$name.pem"
  chmod 0600 "$work/$name.key"
  chmod 0644 "$work/$name.pem"
  mv -f "$work/$name.key" "$key"
  mv -f "$work/$name.pem" "$pem"
  echo "created  $pem (CN=$cn, valid $DAYS days)"
}

# The CA.
if [[ -f "$out/ca.pem" && -f "$out/ca.key" ]]; then
  if ! openssl x509 -in "$out/ca.pem" -noout -checkend 0 >/dev/null; then
    die "$out/ca.pem has expired; delete $out/ca.pem and $out/ca.key and run again (certificates will be reissued)"
  fi
  echo "kept     $out/ca.pem"
elif [[ -e "$out/ca.pem" || -e "$out/ca.key" ]]; then
  die "only one of $out/ca.pem and $out/ca.key exists; delete it to make a new CA"
else
  cat "$work/req.cnf" - >"$work/ca.cnf" <<'EOF'
[ca]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
EOF
  new_key "$work/ca.key"
  openssl req -new -x509 -config "$work/ca.cnf" -extensions ca -key "$work/ca.key" \
    -subj "/CN=$CA_CN" -days "$DAYS" -sha256 -set_serial "$(serial)" \
    -out "$work/ca.pem"
  chmod 0600 "$work/ca.key"
  chmod 0644 "$work/ca.pem"
  mv -f "$work/ca.key" "$out/ca.key"
  mv -f "$work/ca.pem" "$out/ca.pem"
  echo "created  $out/ca.pem (CN=$CA_CN, valid $DAYS days)"
fi

# The server certificate, shared by every service on this machine.
cat >"$work/server.ext" <<'EOF'
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
leaf server localhost "$work/server.ext"

# One client certificate per principal.
for p in "${principals[@]}"; do
  kind=${p%%/*}
  code=${p#*/}
  cat >"$work/client.ext" <<EOF
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = URI:spiffe://$TRUST_DOMAIN/$p
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
  leaf "$kind-$code" "$p" "$work/client.ext"
done

# Certificates for principals not named this time are left alone; say if they
# no longer verify (e.g. after a new CA), so they can be reissued.
for pem in "$out"/*.pem; do
  [[ "$pem" == "$out/ca.pem" ]] && continue
  if ! openssl verify -CAfile "$out/ca.pem" "$pem" >/dev/null 2>&1; then
    echo "warning: $pem does not verify against $out/ca.pem; name its principal again to reissue it" >&2
  fi
done
