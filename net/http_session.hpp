#pragma once
// serve_http: one accepted TCP connection speaking HTTP/1.1. Reads requests (keep-alive), applies
// the body limits, calls the HttpHandler, writes responses; hands a WebSocket upgrade to
// WsSession. Runs on the loop thread; ends when the connection closes or the server stops.

#include <memory>

#include "net.hpp"
#include "server_state.hpp"

namespace gantry::net {

asio::awaitable<void> serve_http(std::shared_ptr<ServerState> state, tcp::socket socket);

}  // namespace gantry::net
