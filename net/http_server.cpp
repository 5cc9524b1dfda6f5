#include "gantry/net/http_server.hpp"

#include <boost/asio/steady_timer.hpp>

#include "connection_limits.hpp"
#include "gantry/common/log.hpp"
#include "gantry/net/event_loop.hpp"
#include "http_session.hpp"
#include "net.hpp"
#include "server_state.hpp"
#include "tls_context.hpp"

namespace gantry::net {
namespace {

// How long accepting pauses after a failed accept (usually out of descriptors) unless a
// connection closes first, and how often that is logged.
constexpr auto kAcceptRetry = std::chrono::seconds(1);
constexpr auto kAcceptLogEvery = std::chrono::seconds(10);

// Accepts until the acceptor is closed, one serve_http coroutine per admitted connection. While
// the connection cap is reached, or accept fails, it waits on `resume`, which a closing
// connection (ConnectionLimits::on_release) or stop() cancels.
asio::awaitable<void> accept_loop(std::shared_ptr<ServerState> state,
                                  std::shared_ptr<tcp::acceptor> acceptor,
                                  std::shared_ptr<asio::steady_timer> resume) {
  ConnectionLimits& limits = *state->limits;
  // Logged at the first pause; not min(), whose distance to now overflows.
  auto last_log = std::chrono::steady_clock::now() - kAcceptLogEvery;
  for (;;) {
    if (state->stopping || !acceptor->is_open()) co_return;
    if (limits.full()) {
      if (std::chrono::steady_clock::now() - last_log >= kAcceptLogEvery) {
        log::warn("http", "accept.paused", {{"open", std::to_string(limits.connections())}});
        last_log = std::chrono::steady_clock::now();
      }
      resume->expires_at(asio::steady_timer::time_point::max());
      co_await resume->async_wait(use_nothrow);
      continue;
    }
    auto [ec, socket] = co_await acceptor->async_accept(use_nothrow);
    if (state->stopping || !acceptor->is_open()) co_return;
    if (ec) {
      // Usually out of file descriptors: pause rather than spin.
      if (std::chrono::steady_clock::now() - last_log >= kAcceptLogEvery) {
        log::warn("http", "accept.failed",
                  {{"error", describe(ec)}, {"open", std::to_string(limits.connections())}});
        last_log = std::chrono::steady_clock::now();
      }
      resume->expires_after(kAcceptRetry);
      co_await resume->async_wait(use_nothrow);
      continue;
    }
    error_code peer_ec;
    tcp::endpoint peer = socket.remote_endpoint(peer_ec);
    if (peer_ec) continue;  // already gone
    ConnectionSlot slot = limits.admit(peer.address().to_string());
    if (!slot) continue;  // over a cap (logged): the socket closes here
    auto executor = socket.get_executor();
    spawn_logged(executor, serve_http(state, std::move(socket), std::move(slot)), "http.session");
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
  std::shared_ptr<asio::steady_timer> resume;  // wakes a paused accept loop
  uint16_t port = 0;
};

HttpServer::HttpServer(EventLoop& loop, ServerOptions options, HttpHandler http, WsHandler ws,
                       HeadHandler head)
    : impl_(std::make_unique<Impl>()) {
  impl_->state = std::make_shared<ServerState>(io_of(loop), std::move(options), std::move(http),
                                               std::move(ws), std::move(head));
}

HttpServer::~HttpServer() {
  stop();
}

bool HttpServer::start(std::string& error) {
  ServerState& state = *impl_->state;
  const ServerOptions& options = state.options;
  std::string where = options.host + ":" + std::to_string(options.port);
  if (impl_->acceptor || state.stopping) {
    error = "listen " + where + ": server already started";
    return false;
  }
  if (options.tls.enabled()) {
    state.tls = make_server_context(options.tls, error);
    if (!state.tls) return false;
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
  auto resume = std::make_shared<asio::steady_timer>(state.io);
  impl_->resume = resume;
  state.limits =
      std::make_shared<ConnectionLimits>(descriptor_budget(options), options.max_unauthenticated,
                                         options.max_unauthenticated_per_address);
  std::weak_ptr<asio::steady_timer> weak_resume = resume;
  state.limits->on_release = [weak_resume] {
    if (auto timer = weak_resume.lock()) timer->cancel();
  };
  spawn_logged(acceptor->get_executor(), accept_loop(impl_->state, acceptor, resume),
               "http.accept");
  log::info("http", "listening",
            {{"addr", endpoint_string(acceptor->local_endpoint())},
             {"tls", state.tls ? "on" : "off"},
             {"max_connections", std::to_string(state.limits->max_connections())}});
  return true;
}

uint16_t HttpServer::port() const {
  return impl_->port;
}

bool HttpServer::reload_tls(const TlsServerOptions& tls, std::string& error) {
  ServerState& state = *impl_->state;
  if (!state.tls) {
    error = "tls: the server was started without TLS; a restart is needed to turn it on";
    return false;
  }
  auto context = make_server_context(tls, error);
  if (!context) return false;
  state.tls = std::move(context);
  log::info("http", "tls.reloaded", {{"cert", tls.cert_file}});
  return true;
}

void HttpServer::set_head_handler(HeadHandler head) {
  impl_->state->head = std::move(head);
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
  // Slots given back later (sessions outlive the server) must not touch the timer.
  if (state.limits) state.limits->on_release = nullptr;
  if (impl_->resume) impl_->resume->cancel();
  state.close_sessions();
}

}  // namespace gantry::net
