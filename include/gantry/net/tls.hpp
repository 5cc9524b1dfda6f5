#pragma once
// TLS settings for gantry_net's server and clients. Plain data: OpenSSL and Asio stay inside
// gantry_net. Files are PEM.

#include <string>

namespace gantry::net {

// What the server presents, and whom it asks for a client certificate.
struct TlsServerOptions {
  std::string cert_file;  // the certificate chain, leaf first
  std::string key_file;
  // When set, clients may present a certificate signed by one of these CAs (mutual TLS). A
  // client that presents one that does not verify fails the handshake; a client that presents
  // none still connects, and Request::client_cert is empty (the caller decides which paths need
  // one: browsers and the CLI usually have none).
  std::string client_ca_file;

  bool enabled() const { return !cert_file.empty(); }
  bool operator==(const TlsServerOptions&) const = default;
};

// How a client checks the server, and what it presents.
struct TlsClientOptions {
  std::string ca_file;  // empty: the system's CAs
  // Accept any certificate for any name. Only for experiments: callers warn when it is set.
  bool insecure_skip_verify = false;
  std::string cert_file, key_file;  // a client certificate, for mutual TLS

  bool operator==(const TlsClientOptions&) const = default;
};

// Loads the files the way the server will: "" when they are usable, else what is wrong
// ("tls: cert server.pem: no such file", "tls: key does not match the certificate").
std::string check_tls_server(const TlsServerOptions& options);
// The same for a client's CA and certificate files.
std::string check_tls_client(const TlsClientOptions& options);

}  // namespace gantry::net
