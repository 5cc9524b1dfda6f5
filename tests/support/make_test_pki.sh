#!/bin/sh
# make_test_pki.sh DIR: a throwaway public-key infrastructure for tests and benchmarks, made with
# openssl at run time (nothing is checked in). EC P-256 keys, valid two days. In DIR:
#   ca.pem                       the CA everybody trusts
#   server.pem/.key              127.0.0.1 and localhost, signed by ca
#   client.pem/.key              CN=agent-1, a client certificate signed by ca
#   wrong-host.pem/.key          only "elsewhere.example", signed by ca
#   other-ca.pem                 an unrelated CA
#   other.pem/.key               127.0.0.1, signed by other-ca
#   other-client.pem/.key        CN=intruder, signed by other-ca
# Used by tests/support/test_pki.hpp, tests/browser/run.sh and bench/tls.sh.
set -e
mkdir -p "$1"
cd "$1"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() {  # NAME SUBJECT
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 2 -subj "$2" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}
leaf() {  # NAME CA SUBJECT EXTENSIONS
  key "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "$3"
  printf '%s\n' "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -out "$1.pem" \
    -days 2 -extfile "$1.ext" 2>/dev/null
}
ca ca "/CN=Gantry Test CA"
ca other-ca "/CN=Someone Else's CA"
leaf server ca /CN=localhost "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
leaf client ca /CN=agent-1 "extendedKeyUsage=clientAuth"
leaf wrong-host ca /CN=elsewhere.example "subjectAltName=DNS:elsewhere.example
extendedKeyUsage=serverAuth"
leaf other other-ca /CN=localhost "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
leaf other-client other-ca /CN=intruder "extendedKeyUsage=clientAuth"
chmod 600 ./*.key
