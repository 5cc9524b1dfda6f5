#include "gantry/net/http_server.hpp"

#include <boost/asio/steady_timer.hpp>

#include "gantry/common/log.hpp"
#include "gantry/net/event_loop.hpp"
#include "http_session.hpp"
#include "net.hpp"
#include "server_state.hpp"

namespace gantry::net {
namespace {

// Accepts until the acceptor is closed, one serve_http coroutine per connection.
asio::awaitable<void> accept_loop(std::shared_ptr<ServerState> state,
                                  std::shared_ptr<tcp::acceptor> acceptor) {
  asio::steady_timer pause(acceptor->get_executor());
  for (;;) {
    auto [ec, socket] = co_await acceptor->async_accept(use_nothrow);
    if (state->stopping || !acceptor->is_open()) co_return;
    if (ec) {
      // Usually out of file descriptors: pause rather than spin.
      log::warn("http", "accept.failed", {{"error", describe(ec)}});
      pause.expires_after(std::chrono::milliseconds(100));
      co_await pause.async_wait(use_nothrow);  // cancelled only by stop()
      continue;
    }
    auto executor = socket.get_executor();
    spawn_logged(executor, serve_http(state, std::move(socket)), "http.session");
  }
}

}  // namespace

std::string Request::header(std::string_view lower_name) const {
  auto it = headers.find(std::string(lower_name));
  return it == headers.end() ? std::string() : it->second;
}

struct HttpServer::Impl {
  std::shared_ptr<ServerState> state;
  std::shared_ptr<tcp::acceptor> acceptor;
  uint16_t port = 0;
};

HttpServer::HttpServer(EventLoop& loop, ServerOptions options, HttpHandler http, WsHandler ws)
    : impl_(std::make_unique<Impl>()) {
  impl_->state = std::make_shared<ServerState>(io_of(loop), std::move(options), std::move(http),
                                               std::move(ws));
}

HttpServer::~HttpServer() {
  stop();
}

bool HttpServer::start(std::string& error) {
  ServerState& state = *impl_->state;
  const ServerOptions& options = state.options;
  std::string where = options.host + ":" + std::to_string(options.port);
  if (!options.tls_cert.empty() || !options.tls_key.empty()) {
    error = "TLS is not supported in this build";
    return false;
  }
  if (impl_->acceptor || state.stopping) {
    error = "listen " + where + ": server already started";
    return false;
  }

  error_code ec;
  tcp::resolver resolver(state.io);
  auto endpoints = resolver.resolve(options.host, std::to_string(options.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    error = "listen " + where + ": " + (ec ? describe(ec) : "host not found");
    return false;
  }
  auto acceptor = std::make_shared<tcp::acceptor>(state.io);
  tcp::endpoint endpoint = endpoints.begin()->endpoint();
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error = "listen " + where + ": " + describe(ec);
    return false;
  }
  impl_->port = acceptor->local_endpoint().port();
  impl_->acceptor = acceptor;
  spawn_logged(acceptor->get_executor(), accept_loop(impl_->state, acceptor), "http.accept");
  log::info("http", "listening", {{"addr", endpoint_string(acceptor->local_endpoint())}});
  return true;
}

uint16_t HttpServer::port() const {
  return impl_->port;
}

void HttpServer::stop() {
  ServerState& state = *impl_->state;
  if (state.stopping) return;
  state.stopping = true;
  if (impl_->acceptor) {
    error_code ignored;
    impl_->acceptor->close(ignored);
    log::info("http", "stopped", {{"port", std::to_string(impl_->port)}});
  }
  state.close_sessions();
}

}  // namespace gantry::net
