#pragma once
// Private to gantry_net: the OpenSSL contexts behind TlsServerOptions and TlsClientOptions, and
// the checks a client makes on the server it reached. TLS 1.2 at least; OpenSSL's default
// ciphers.

#include <memory>
#include <string>

#include "gantry/net/tls.hpp"
#include "stream.hpp"

namespace gantry::net {

// A fresh server context from the files, or nullptr and `error`.
std::shared_ptr<ssl::context> make_server_context(const TlsServerOptions& options,
                                                  std::string& error);

// The client context for these options, shared by every connection made with them (loading the
// system's CAs costs milliseconds). nullptr and `error` when a file does not load.
std::shared_ptr<ssl::context> client_context(const TlsClientOptions& options, std::string& error);

// Before a client's handshake: the server name to send (SNI) and to verify the certificate
// against (a DNS name or an IP address), unless verification is off.
void prepare_client(Stream::TlsStream& stream, const std::string& host,
                    const TlsClientOptions& options);

// A failed handshake, said with what the certificate check found when that was the cause:
// "certificate verify failed: unable to get local issuer certificate".
std::string describe_handshake(Stream::TlsStream& stream, const error_code& ec);

// The subject of the client certificate the server verified ("CN=agent-1,O=ops"); "" if none.
std::string verified_peer_subject(Stream::TlsStream& stream);

}  // namespace gantry::net
