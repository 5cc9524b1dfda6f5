#pragma once
// Private to gantry_net: Beast aliases for the few files that speak HTTP or WebSocket
// (Beast's own examples keep these in one beast.hpp). The rules in net.hpp apply here too.

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "net.hpp"

namespace gantry::net {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

}  // namespace gantry::net
