#pragma once
// Test support: a throwaway public-key infrastructure made with the `openssl` command at run time
// by make_test_pki.sh (nothing is checked in): a CA, a server certificate for 127.0.0.1 and
// localhost, a client certificate (CN=agent-1), a server certificate naming another host, and a
// second, unrelated CA with a server and a client certificate of its own.

#include <cstdlib>
#include <filesystem>
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

  // The recipe is a script beside this header, shared with the browser test and bench/tls.sh.
  const std::filesystem::path script =
      std::filesystem::path(__FILE__).parent_path() / "make_test_pki.sh";
  std::string command = "sh '" + script.string() + "' '" + pki.dir + "'";
  if (std::system(command.c_str()) != 0) {
    throw std::runtime_error("openssl could not make the test certificates in " + pki.dir);
  }
  return pki;
}

}  // namespace gantry::test
