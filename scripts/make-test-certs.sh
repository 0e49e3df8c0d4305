#!/usr/bin/env bash
# Makes a CA, a server certificate for 127.0.0.1 and a client certificate in DIR, the way Docker's
# "Protect the Docker daemon socket" guide does: dockerd gets ca.pem, server-cert.pem and
# server-key.pem; clients get ca.pem, cert.pem and key.pem (DOCKER_CERT_PATH=DIR). Keeps
# existing files.
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"
[ -f key.pem ] && [ -f server-cert.pem ] && exit 0
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=gpudock-test-ca \
  -keyout ca-key.pem -out ca.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server-key.pem -out server.csr 2>/dev/null
printf 'subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n' >server.ext
openssl x509 -req -days 3650 -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
  -extfile server.ext -out server-cert.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=client -keyout key.pem -out client.csr 2>/dev/null
printf 'extendedKeyUsage = clientAuth\n' >client.ext
openssl x509 -req -days 3650 -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
  -extfile client.ext -out cert.pem 2>/dev/null
rm -f server.csr client.csr server.ext client.ext
chmod 600 ca-key.pem server-key.pem key.pem
