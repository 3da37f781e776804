#!/usr/bin/env bash
# Test certificates for TLS listeners on loopback, made with openssl into DIR (created if missing):
#   ca.pem / ca.key            a CA, valid 30 days
#   server.pem / server.key    signed by the CA for 127.0.0.1, ::1 and localhost (serverAuth)
#   broker.pem                 server.key then server.pem: Kafka's PEM keystore (ssl.keystore.type=PEM)
#   client.pem / client.key    signed by the CA for CN=flts-client (clientAuth), for mutual TLS
#   client-encrypted.key       client.key encrypted with the passphrase in client-key-password
#   other-ca.pem               a second CA that signed nothing here (a trust store that must fail)
# Keys are unencrypted PKCS#8 RSA 2048 unless named otherwise. Nothing here is for anything but tests.
# Usage: tls-certs.sh DIR
set -euo pipefail
DIR="${1:?usage: tls-certs.sh DIR}"
command -v openssl >/dev/null || { echo "tls-certs: openssl is not installed" >&2; exit 1; }
mkdir -p "$DIR"
cd "$DIR"
umask 077

key() { openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null; }

ca() { # name subject
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -sha256 -days 30 -subj "/CN=$2" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out "$1.pem"
}

leaf() { # name subject extensions
  key "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
  printf '%s\n' "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days 30 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

ca ca "flts test CA"
ca other-ca "flts other test CA"
leaf server localhost "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost"
leaf client flts-client "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
cat server.key server.pem >broker.pem
openssl rand -hex 12 >client-key-password
openssl pkey -in client.key -aes256 -passout "file:client-key-password" -out client-encrypted.key
rm -f other-ca.key ca.srl
# The servers and clients reading these run as the same user; group and others get nothing.
chmod 600 ./*.key ./*.pem client-key-password
