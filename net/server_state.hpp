#pragma once
// ServerState: what an HttpServer shares with its sessions: options, handlers, connection limits,
// and the set of live sessions to close on stop(). Sessions hold it by shared_ptr, so a session
// finishing after its HttpServer was destroyed still finds it. Loop thread only.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <utility>

#include "connection_limits.hpp"
#include "gantry/net/http_server.hpp"
#include "net.hpp"
#include "stream.hpp"

namespace gantry::net {

struct ServerState {
  ServerState(asio::io_context& io_context, ServerOptions server_options, HttpHandler http_handler,
              WsHandler ws_handler, HeadHandler head_handler)
      : io(io_context),
        options(std::move(server_options)),
        http(std::move(http_handler)),
        ws(std::move(ws_handler)),
        head(std::move(head_handler)) {}

  asio::io_context& io;
  const ServerOptions options;
  const HttpHandler http;
  const WsHandler ws;
  HeadHandler head;                          // may be replaced while sessions run
  std::shared_ptr<ConnectionLimits> limits;  // set by start()
  std::shared_ptr<ssl::context> tls;         // set by start() when TLS is on; reload_tls() swaps it
  bool stopping = false;

  // Each live session registers how to close it.
  uint64_t add_session(std::function<void()> close) {
    uint64_t id = next_session_++;
    sessions_.emplace(id, std::move(close));
    return id;
  }
  void remove_session(uint64_t id) { sessions_.erase(id); }
  void close_sessions() {
    // Closing may unregister sessions, so iterate over a copy.
    auto sessions = sessions_;
    for (auto& [id, close] : sessions) close();
  }

 private:
  uint64_t next_session_ = 1;
  std::map<uint64_t, std::function<void()>> sessions_;
};

}  // namespace gantry::net
