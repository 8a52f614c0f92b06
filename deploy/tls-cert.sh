#!/bin/sh
# nginx's certificate and key in DIR (default /tls): kept when both are there (mounted by the
# operator, or made at an earlier start), else a self-signed one is made for localhost and
# TLS_HOSTNAME (if set), valid for a year. docker-compose.yml runs this before nginx starts.
# Browsers warn about a self-signed certificate: mount a real one for anything public.
#
#   sh deploy/tls-cert.sh [DIR]        (needs the openssl command)
set -eu
dir=${1:-/tls}
if [ -s "$dir/cert.pem" ] && [ -s "$dir/key.pem" ]; then
  echo "tls-cert: using the certificate in $dir"
  exit 0
fi
mkdir -p "$dir"
name=${TLS_HOSTNAME:-localhost}
san="DNS:localhost,IP:127.0.0.1,IP:::1"
[ "$name" = localhost ] || san="DNS:$name,$san"
# ECDSA P-256: a small key and a fast handshake, accepted by every current browser.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
  -subj "/CN=$name" -addext "subjectAltName=$san" \
  -keyout "$dir/key.pem.tmp" -out "$dir/cert.pem.tmp" 2>/dev/null
# Written whole or not at all: nginx never finds half a pair.
chmod 600 "$dir/key.pem.tmp"
mv "$dir/key.pem.tmp" "$dir/key.pem"
mv "$dir/cert.pem.tmp" "$dir/cert.pem"
echo "tls-cert: made a self-signed certificate for $name in $dir"
