#pragma once
// serve_http: one accepted TCP connection speaking HTTP/1.1. Reads requests (keep-alive) within
// their deadlines, asks the HeadHandler about each head before reading its body, applies the body
// limits, calls the HttpHandler, writes responses; hands a WebSocket upgrade (and the connection's
// slot) to WsSession. Runs on the loop thread; ends when the connection closes or the server stops.

#include <memory>

#include "connection_limits.hpp"
#include "net.hpp"
#include "server_state.hpp"

namespace gantry::net {

asio::awaitable<void> serve_http(std::shared_ptr<ServerState> state, tcp::socket socket,
                                 ConnectionSlot slot);

}  // namespace gantry::net
