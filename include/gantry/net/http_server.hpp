#pragma once
// HttpServer: an HTTP/1.1 + WebSocket server on an EventLoop. It parses requests, enforces the
// size, time and connection limits in ServerOptions, and hands each request to one HttpHandler
// (or each WebSocket upgrade to one WsHandler). Routing, authentication and JSON are the caller's
// business; the HeadHandler is where the caller refuses a request from its headers alone.
//
// Behaviour: keep-alive; every response carries Content-Length; malformed requests get 400 and
// the connection is closed; headers past 16 KiB get 431; oversized bodies get 413 (connection
// closed); a handler that throws gives 500. A WebSocket connection has one write in flight and a
// bounded send queue; a client that lets it grow past max_ws_queue is closed with 1008 "too slow".
//
// Nobody the HeadHandler refuses makes the server read a body, write a file, or hold a
// connection for long (SPEC section 11):
// - The HeadHandler sees every request (WebSocket upgrades included) once its request line and
//   headers are parsed and before any body byte is read. A Response it returns is sent with
//   `Connection: close`; the body is never read (what the client already sent is drained,
//   briefly and into a small buffer, so its TCP stack delivers the response instead of an RST).
// - A connection is "unauthenticated" until the HeadHandler accepts one of its requests (without
//   a HeadHandler: until its first request's headers are parsed). Unauthenticated connections are
//   capped per remote address and in all; a connection past a cap is closed at once, and the
//   refusals are counted in a rate-limited log line. All connections together are capped below
//   the process's file descriptor limit (raised to its hard limit by start()); at the cap, and
//   when accept fails for want of descriptors, accepting pauses until a connection closes.
// - Deadlines that trickling cannot push back: the headers must arrive within head_timeout of
//   the connection (or of a later request's first byte); a body must arrive within body_timeout
//   plus one second per min_body_rate bytes received. idle_timeout bounds every read and write
//   step and the keep-alive wait between requests.
// - Per connection, memory is bounded by the header limit, a read buffer, and max_body (bodies
//   past max_body under upload_prefixes go to a temp file of at most max_upload bytes).
//
// Threading: handlers and WebSocket callbacks run on the loop thread. Construct, start, stop and
// destroy the server on the loop thread, or while the loop is not running. WsConnection methods
// must be called on the loop thread too. A WsConnection may outlive its server: it is then closed
// and its sends are ignored.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gantry/net/tls.hpp"

namespace gantry::net {

class EventLoop;

struct Request {
  std::string method;                          // "GET"
  std::string target;                          // raw target
  std::string path;                            // decoded path without query
  std::map<std::string, std::string> query;    // decoded
  std::map<std::string, std::string> headers;  // lower-case names; repeated fields joined by ", "
  std::string body;
  // Set instead of body for an upload (see ServerOptions::upload_prefixes): a temp file the
  // handler may rename away; it is removed after the handler returns.
  std::string body_file;
  std::string remote;  // "127.0.0.1:53422"
  bool tls = false;    // arrived over TLS
  // The subject of the client certificate the TLS handshake verified against
  // TlsServerOptions::client_ca_file ("CN=agent-1"); "" when none was presented.
  std::string client_cert;

  // The header's value, or "" when absent.
  std::string header(std::string_view lower_name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // When set, the body is this file's bytes from file_offset, streamed rather than loaded.
  // A file that cannot be opened gives 404.
  std::string file_path;
  uint64_t file_offset = 0;
  std::vector<std::pair<std::string, std::string>> headers;
};

// One accepted WebSocket.
class WsConnection {
 public:
  virtual ~WsConnection() = default;
  virtual void send_text(std::string msg) = 0;  // queued; one write in flight
  virtual void send_binary(std::string msg) = 0;
  // A text message shared by many connections (a fan-out): queued without a copy.
  virtual void send_shared(std::shared_ptr<const std::string> msg) = 0;
  // Sends what is queued, then the close frame. Later sends are ignored.
  virtual void close(uint16_t code, std::string reason) = 0;
  virtual size_t queued_bytes() const = 0;  // for the caller's backpressure decisions
  virtual const std::string& remote() const = 0;
};

struct WsHandlers {
  std::function<void(std::string_view data, bool binary)> on_message;
  // Called once, whoever closed. 1006 when the connection broke without a close frame.
  std::function<void(uint16_t code, std::string reason)> on_close;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;             // 0 = pick a free port
  size_t max_body = 8 << 20;        // larger request bodies -> 413 JSON error, connection closed
  size_t max_ws_message = 1 << 20;  // larger messages -> close 1009
  size_t max_ws_queue = 16 << 20;   // a send queue past this -> close 1008 "too slow"
  std::chrono::seconds idle_timeout{60};  // HTTP keep-alive idle, and per read/write step
  // Requests under these path prefixes may exceed max_body, up to max_upload: a body of unknown
  // length or larger than max_body goes to Request::body_file instead of Request::body.
  std::vector<std::string> upload_prefixes;
  uint64_t max_upload = 1ull << 30;
  // HTTPS and WSS instead of HTTP and WS when tls.cert_file is set. The TLS handshake must end
  // within head_timeout of the connection, like the first request's headers.
  TlsServerOptions tls;

  // Connection caps. max_connections 0: the process's descriptor limit (RLIMIT_NOFILE, whose
  // soft limit start() raises to the hard limit) minus max(64, limit / 16) kept for files.
  size_t max_connections = 0;
  size_t max_unauthenticated = 1024;  // in all
  // Per remote IP address. Agents behind one address (a NAT, a proxy, gantry-sim-agents' waves of
  // 200) arrive in bursts: at 64, 3000 simulated agents from 127.0.0.1 already met refusals.
  size_t max_unauthenticated_per_address = 256;
  // From the connection (or a later request's first byte) to the end of the headers.
  std::chrono::milliseconds head_timeout{10000};
  // A body must be read within body_timeout plus one second per min_body_rate bytes received:
  // 1 byte/s is closed after about 30 s; 100 MB over loopback never comes near.
  std::chrono::milliseconds body_timeout{30000};
  uint64_t min_body_rate = 16 << 10;
};

// Every request that is not a WebSocket upgrade goes to the HttpHandler. An upgrade goes to the
// WsHandler, which either returns a Response (a refusal, sent as a normal HTTP response, e.g. 401)
// or fills `handlers` and returns nullopt to accept. Without a WsHandler upgrades get 404.
using HttpHandler = std::function<Response(const Request&)>;
using WsHandler = std::function<std::optional<Response>(
    const Request&, std::shared_ptr<WsConnection>, WsHandlers&)>;
// Called with each request's head (body empty, body_file unset), before the body is read and
// before a WebSocket upgrade is handed to the WsHandler: a Response refuses the request (it is
// sent and the connection closed, the body unread); nullopt lets it through and marks the
// connection authenticated. It must not block: it runs on the loop thread like the others.
using HeadHandler = std::function<std::optional<Response>(const Request& head)>;

class HttpServer {
 public:
  HttpServer(EventLoop& loop, ServerOptions options, HttpHandler http, WsHandler ws,
             HeadHandler head = nullptr);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens. On failure returns false with e.g.
  // "listen 127.0.0.1:8080: address already in use".
  bool start(std::string& error);
  uint16_t port() const;  // the actual port after start()
  // Loads new certificate files (a renewed certificate): connections accepted from then on use
  // them, live ones keep theirs. A server started without TLS stays without; false with `error`
  // (and nothing changed) when the files do not load.
  bool reload_tls(const TlsServerOptions& tls, std::string& error);
  // Replaces the HeadHandler; requests whose head is read from then on go to the new one.
  void set_head_handler(HeadHandler head);
  // Closes the listener and every session (WebSockets get 1001 "server stopping").
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gantry::net
