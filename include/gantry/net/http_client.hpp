#pragma once
// http_request: a small synchronous HTTP/1.1 client for the CLI and the agent's job threads.
// One request per connection; http or https (the certificate and host name verified as
// ClientRequest::tls says). It never throws: transport failures come back as
// ClientResponse::ok == false with a message such as "connect 127.0.0.1:1: connection refused".
// Any HTTP status counts as transport success; the caller checks `status`.
//
// Threading: blocks the calling thread; each call has its own private I/O context, so any
// thread may call it, including several at once. Do not call it on an EventLoop thread.

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gantry/net/tls.hpp"

namespace gantry::net {

struct ClientResponse {
  bool ok = false;  // transport ok
  std::string error;
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

struct ClientRequest {
  std::string method = "GET";
  std::string url;       // http(s)://host:port/path?query
  TlsClientOptions tls;  // for https
  std::string bearer_token;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra fields, as given
  std::string body_file;    // stream this file as the body instead of `body`
  std::string output_file;  // a 2xx response body goes into this file instead of `body`
  // Inactivity limit: for connecting, and for each read or write step after that.
  std::chrono::milliseconds timeout{30000};
  size_t max_body = 64 << 20;  // bigger in-memory responses -> error
  // 307 and 308 redirects followed (same method and body, same scheme): a controller that does
  // not lead sends clients to the one that does (docs/ha.md).
  int max_redirects = 0;
};

ClientResponse http_request(const ClientRequest& request);

}  // namespace gantry::net
