#pragma once
// Test support: a throwaway public-key infrastructure made with the `openssl` command at run time
// (nothing is checked in): a CA, a server certificate for 127.0.0.1 and localhost, a client
// certificate (CN=agent-1), a server certificate naming another host, and a second, unrelated CA
// with a server certificate of its own. EC P-256 keys: milliseconds each. Valid for two days.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace gantry::test {

struct TestPki {
  std::string dir;
  std::string ca;                                   // the CA everybody trusts
  std::string server_cert, server_key;              // 127.0.0.1 and localhost, signed by ca
  std::string client_cert, client_key;              // CN=agent-1, signed by ca
  std::string wrong_host_cert, wrong_host_key;      // only "elsewhere.example", signed by ca
  std::string other_ca;                             // an unrelated CA
  std::string other_cert, other_key;                // 127.0.0.1, signed by other_ca
  std::string other_client_cert, other_client_key;  // CN=intruder, signed by other_ca
};

// Makes the files in `dir` (created); throws std::runtime_error when openssl fails.
inline TestPki make_test_pki(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  TestPki pki;
  pki.dir = dir.string();
  auto at = [&](const std::string& name) { return (dir / name).string(); };
  pki.ca = at("ca.pem");
  pki.server_cert = at("server.pem");
  pki.server_key = at("server.key");
  pki.client_cert = at("client.pem");
  pki.client_key = at("client.key");
  pki.wrong_host_cert = at("wrong-host.pem");
  pki.wrong_host_key = at("wrong-host.key");
  pki.other_ca = at("other-ca.pem");
  pki.other_cert = at("other.pem");
  pki.other_key = at("other.key");
  pki.other_client_cert = at("other-client.pem");
  pki.other_client_key = at("other-client.key");

  std::ofstream script(at("make.sh"));
  script << R"SH(set -e
cd "$(dirname "$0")"
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
)SH";
  script.close();
  std::string command = "sh '" + at("make.sh") + "'";
  if (std::system(command.c_str()) != 0) {
    throw std::runtime_error("openssl could not make the test certificates in " + pki.dir);
  }
  return pki;
}

}  // namespace gantry::test
