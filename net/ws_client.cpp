#include "gantry/net/ws_client.hpp"

#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <deque>
#include <optional>
#include <random>

#include "beast.hpp"
#include "gantry/common/log.hpp"
#include "gantry/net/event_loop.hpp"
#include "gantry/net/url.hpp"
#include "stream.hpp"
#include "tls_context.hpp"

namespace gantry::net {
namespace {

// A connection that stayed up this long resets the backoff.
constexpr auto kStableAfter = std::chrono::seconds(60);
// A connection that stayed up this long may be retried at once (WsBackoff::first_at_once).
constexpr auto kAtOnceAfter = std::chrono::seconds(1);
// Beast pings after half of this without traffic and gives up after all of it.
constexpr auto kIdleTimeout = std::chrono::seconds(60);
constexpr size_t kWriteBufferBytes = size_t{64} << 10;  // see write_buffer_bytes below
constexpr auto kCloseGrace = std::chrono::seconds(5);

// One connection attempt and, once open, the connection. In-flight operations hold it, so a
// new Link can start while the old one's operations finish failing.
struct Link {
  Link(asio::io_context& io, std::shared_ptr<ssl::context> tls)
      : resolver(io),
        ws(tls ? Stream(beast::tcp_stream(io), std::move(tls)) : Stream(beast::tcp_stream(io))),
        close_timer(io) {}
  tcp::resolver resolver;
  WsStream ws;
  asio::steady_timer close_timer;
  bool open = false;
  bool writing = false;
  bool close_requested = false;
  bool dropped = false;
  size_t in_flight_bytes = 0;
};

std::string describe_close(const error_code& ec, const WsStream& ws) {
  // A close frame from the server counts even if echoing it failed afterwards (Beast 1.81's
  // server teardown may reset the connection right after its close frame).
  if (ec == websocket::error::closed || ws.reason().code != websocket::close_code::none) {
    return "closed " + std::to_string(ws.reason().code) + " " + ws.reason().reason.c_str();
  }
  if (ec == websocket::error::message_too_big) return "message too big";
  return describe(ec);
}

}  // namespace

struct WsClient::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_context, WsClientOptions client_options)
      : io(io_context),
        options(std::move(client_options)),
        url(parse_url(options.url)),
        urls(all_urls(options)),
        backoff_timer(io_context),
        rng(std::random_device{}()) {}

  asio::io_context& io;
  const WsClientOptions options;
  const std::optional<Url> url;
  // url and the alternates, parsed; `current` is the one the next attempt uses.
  const std::vector<std::pair<std::string, std::optional<Url>>> urls;
  size_t current = 0;
  static std::vector<std::pair<std::string, std::optional<Url>>> all_urls(
      const WsClientOptions& o) {
    std::vector<std::pair<std::string, std::optional<Url>>> out{{o.url, parse_url(o.url)}};
    for (const std::string& u : o.alternates) out.emplace_back(u, parse_url(u));
    return out;
  }
  const std::string& current_url() const { return urls[current].first; }
  void rotate() { current = (current + 1) % urls.size(); }
  std::shared_ptr<ssl::context> tls;  // for wss://
  WsClient* owner = nullptr;          // null once the WsClient is gone: no more callbacks
  bool started = false;
  bool running = false;
  std::shared_ptr<Link> link;
  std::deque<std::string> control;  // text messages, sent first
  std::deque<std::string> data;     // binary messages
  size_t queued_bytes = 0;
  asio::steady_timer backoff_timer;
  unsigned failures = 0;
  std::mt19937_64 rng;

  static asio::awaitable<void> run(std::shared_ptr<Impl> self);
  static asio::awaitable<bool> connect(std::shared_ptr<Impl> self, std::shared_ptr<Link> link,
                                       std::string& failure, int& refused_status);
  static asio::awaitable<std::string> read_messages(std::shared_ptr<Impl> self,
                                                    std::shared_ptr<Link> link);
  static asio::awaitable<void> write_queue(std::shared_ptr<Impl> self, std::shared_ptr<Link> link);

  bool is_connected() const { return link && link->open && !link->close_requested; }

  bool enqueue(std::string msg, bool binary) {
    if (!is_connected()) return false;
    if (queued_bytes + link->in_flight_bytes + msg.size() > options.max_queue) return false;
    queued_bytes += msg.size();
    (binary ? data : control).push_back(std::move(msg));
    start_writer();
    return true;
  }

  void start_writer() {
    if (!link || !link->open || link->writing) return;
    if (control.empty() && data.empty() && !link->close_requested) return;
    link->writing = true;
    spawn_logged(link->ws.get_executor(), write_queue(shared_from_this(), link), "ws_client.write");
  }

  void request_close() {
    if (link->close_requested) return;
    link->close_requested = true;
    std::weak_ptr<Link> weak = link;
    link->close_timer.expires_after(kCloseGrace);
    link->close_timer.async_wait([weak](error_code ec) {
      if (auto l = weak.lock(); l && !ec) beast::get_lowest_layer(l->ws).close();
    });
    start_writer();
  }

  void opened() {
    link->open = true;
    log::info("ws_client", "open", {{"url", current_url()}});
    if (owner && owner->on_open) {
      auto callback = owner->on_open;  // the callback may destroy the WsClient
      invoke_guarded("ws_client", "on_open", callback);
    }
  }

  void closed(std::string reason) {
    link->open = false;
    control.clear();
    data.clear();
    queued_bytes = 0;
    log::info("ws_client", "disconnected", {{"url", current_url()}, {"reason", reason}});
    if (owner && owner->on_disconnect) {
      auto callback = owner->on_disconnect;
      invoke_guarded("ws_client", "on_disconnect", [&] { callback(std::move(reason)); });
    }
  }

  // Whether to keep reconnecting after the upgrade was refused with `status`.
  bool accept_refusal(int status) {
    if (!owner || !owner->on_refused) return true;
    auto callback = owner->on_refused;
    bool keep_trying = true;
    invoke_guarded("ws_client", "on_refused", [&] { keep_trying = callback(status); });
    return keep_trying;
  }

  // Full jitter: U(0, min(cap, base * 2^failures)); nothing after a connection that stayed up,
  // when the policy says so (that attempt is not counted as a failure).
  std::chrono::milliseconds next_backoff(bool after_open) {
    WsBackoff policy{options.backoff_base, options.backoff_cap, false};
    if (owner && owner->backoff_policy) {
      auto callback = owner->backoff_policy;
      invoke_guarded("ws_client", "backoff_policy", [&] { policy = callback(); });
    }
    if (after_open && policy.first_at_once) return std::chrono::milliseconds(0);
    int64_t ceiling = policy.base.count() << std::min(failures, 20u);
    ceiling = std::max<int64_t>(0, std::min<int64_t>(ceiling, policy.cap.count()));
    failures = std::min(failures + 1, 32u);
    std::uniform_int_distribution<int64_t> pick(0, ceiling);
    return std::chrono::milliseconds(pick(rng));
  }
};

asio::awaitable<void> WsClient::Impl::run(std::shared_ptr<Impl> self) {
  while (self->running) {
    auto link = std::make_shared<Link>(self->io, self->tls);
    self->link = link;
    std::string failure;
    int refused_status = 0;
    bool opened = co_await connect(self, link, failure, refused_status);
    bool after_open = false;
    if (opened && self->running) {
      auto since = std::chrono::steady_clock::now();
      self->opened();
      std::string reason = co_await read_messages(self, link);
      auto lasted = std::chrono::steady_clock::now() - since;
      if (lasted >= kStableAfter) self->failures = 0;
      // A server that accepts and hangs up at once must not get a hot loop.
      after_open = lasted >= kAtOnceAfter;
      self->closed(std::move(reason));
    } else if (!opened && self->running) {
      log::warn("ws_client", "connect.failed", {{"url", self->current_url()}, {"error", failure}});
      if (refused_status && !self->accept_refusal(refused_status)) self->running = false;
      self->rotate();
    }
    self->link.reset();
    if (!self->running) break;
    self->backoff_timer.expires_after(self->next_backoff(after_open));
    co_await self->backoff_timer.async_wait(use_nothrow);  // stop() cancels it
  }
  log::info("ws_client", "stopped", {{"url", self->options.url}});
}

asio::awaitable<bool> WsClient::Impl::connect(std::shared_ptr<Impl> self,
                                              std::shared_ptr<Link> link, std::string& failure,
                                              int& refused_status) {
  if (!self->urls[self->current].second) {
    failure = "bad url " + self->current_url();
    co_return false;
  }
  const Url& url = *self->urls[self->current].second;
  const WsClientOptions& options = self->options;
  auto& stream = beast::get_lowest_layer(link->ws);
  stream.expires_after(options.connect_timeout);
  auto [resolve_ec, endpoints] =
      co_await link->resolver.async_resolve(url.host, std::to_string(url.port), use_nothrow);
  if (resolve_ec) {
    failure = "resolve " + url.host + ": " + describe(resolve_ec);
    co_return false;
  }
  auto [connect_ec, endpoint] = co_await stream.async_connect(endpoints, use_nothrow);
  if (connect_ec) {
    failure = "connect " + host_port(url) + ": " + describe(connect_ec);
    co_return false;
  }

  // Small control messages (heartbeats, acks, finishes) must not wait for
  // Nagle's algorithm and delayed ACKs (~40 ms each).
  error_code nodelay_ec;
  stream.socket().set_option(tcp::no_delay(true), nodelay_ec);
  if (link->ws.next_layer().is_tls()) {
    auto& tls = link->ws.next_layer().tls();
    prepare_client(tls, url.host, options.tls);
    auto [tls_ec] = co_await tls.async_handshake(ssl::stream_base::client, use_nothrow);
    if (tls_ec) {
      failure = "tls handshake " + host_port(url) + ": " + describe_handshake(tls, tls_ec);
      co_return false;
    }
  }
  stream.expires_never();  // the websocket stream has its own timeouts
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = options.connect_timeout;
  timeouts.idle_timeout = kIdleTimeout;
  timeouts.keep_alive_pings = true;
  link->ws.set_option(timeouts);
  auto headers = options.headers;
  auto decorate = [headers](websocket::request_type& req) {
    req.set(http::field::user_agent, "gantry");
    for (const auto& [name, value] : headers) req.set(name, value);
  };
  link->ws.set_option(websocket::stream_base::decorator(decorate));
  link->ws.read_message_max(options.max_message);
  link->ws.auto_fragment(false);
  // A client masks what it sends through this buffer, and each fill is one write to the next
  // layer: at Beast's default (4 KiB) a 64 KiB log frame takes 16 writes, and over TLS 16 records
  // of 4 KiB instead of 4 of 16 KiB. Sized for a whole log frame (protocol::kMaxChunk).
  link->ws.write_buffer_bytes(kWriteBufferBytes);

  websocket::response_type response;
  std::string host = host_port(url);
  auto [handshake_ec] = co_await link->ws.async_handshake(response, host, url.target, use_nothrow);
  if (handshake_ec == websocket::error::upgrade_declined) {
    refused_status = static_cast<int>(response.result_int());
    failure = "upgrade refused with HTTP " + std::to_string(refused_status);
    co_return false;
  }
  if (handshake_ec) {
    failure = "handshake " + host + ": " + describe(handshake_ec);
    co_return false;
  }
  co_return true;
}

asio::awaitable<std::string> WsClient::Impl::read_messages(std::shared_ptr<Impl> self,
                                                           std::shared_ptr<Link> link) {
  beast::flat_buffer buffer;
  for (;;) {
    auto [ec, n] = co_await link->ws.async_read(buffer, use_nothrow);
    if (ec && link->dropped) co_return "dropped";
    if (ec && link->close_requested) co_return "stopped";  // our close aborts the read
    if (ec) co_return describe_close(ec, link->ws);
    if (self->owner && self->owner->on_message && !link->close_requested) {
      auto bytes = buffer.data();
      std::string_view view(static_cast<const char*>(bytes.data()), bytes.size());
      bool binary = link->ws.got_binary();
      invoke_guarded("ws_client", "on_message", [&] { self->owner->on_message(view, binary); });
    }
    buffer.consume(buffer.size());
  }
}

// One write in flight: text messages first, then binary, then the close frame if requested.
asio::awaitable<void> WsClient::Impl::write_queue(std::shared_ptr<Impl> self,
                                                  std::shared_ptr<Link> link) {
  while (self->link == link && link->open) {
    if (!self->control.empty() || !self->data.empty()) {
      bool binary = self->control.empty();
      auto& queue = binary ? self->data : self->control;
      std::string msg = std::move(queue.front());
      queue.pop_front();
      self->queued_bytes -= msg.size();
      link->in_flight_bytes = msg.size();
      link->ws.binary(binary);
      auto [ec, n] = co_await link->ws.async_write(asio::buffer(msg), use_nothrow);
      link->in_flight_bytes = 0;
      if (ec) break;
      continue;
    }
    if (link->close_requested) {
      websocket::close_reason reason(websocket::close_code::normal, "client stopping");
      co_await link->ws.async_close(reason, use_nothrow);  // the read side reports the outcome
    }
    break;
  }
  link->writing = false;
}

WsClient::WsClient(EventLoop& loop, WsClientOptions options)
    : impl_(std::make_shared<Impl>(io_of(loop), std::move(options))) {
  impl_->owner = this;
}

WsClient::~WsClient() {
  impl_->owner = nullptr;
  try {
    stop();
  } catch (...) {  // a destructor must not throw; stop() only closes sockets
  }
}

void WsClient::start() {
  if (impl_->started) return;
  impl_->started = true;
  const auto& url = impl_->url;
  if (!url || (url->scheme != "ws" && url->scheme != "wss")) {
    log::error("ws_client", "bad_url",
               {{"url", impl_->options.url}, {"error", "expected ws:// or wss://"}});
    return;
  }
  for (const auto& [text, alternate] : impl_->urls) {
    if (!alternate || alternate->scheme != url->scheme) {
      log::error("ws_client", "bad_url",
                 {{"url", text}, {"error", "expected " + url->scheme + ":// like the first URL"}});
      return;
    }
  }
  if (url->scheme == "wss") {
    std::string error;
    impl_->tls = client_context(impl_->options.tls, error);
    if (!impl_->tls) {
      log::error("ws_client", "bad_tls", {{"url", impl_->options.url}, {"error", error}});
      return;
    }
  }
  impl_->running = true;
  spawn_logged(impl_->io.get_executor(), Impl::run(impl_), "ws_client.run");
}

const std::string& WsClient::url() const {
  return impl_->current_url();
}

void WsClient::next_url() {
  impl_->rotate();
}

void WsClient::stop() {
  impl_->running = false;
  impl_->backoff_timer.cancel();
  auto link = impl_->link;
  if (!link) return;
  if (link->open) {
    impl_->request_close();
    return;
  }
  link->resolver.cancel();
  beast::get_lowest_layer(link->ws).close();
}

void WsClient::drop() {
  auto link = impl_->link;
  if (!link || !link->open) return;
  link->dropped = true;
  beast::get_lowest_layer(link->ws).close();
}

bool WsClient::connected() const {
  return impl_->is_connected();
}

bool WsClient::send_text(std::string msg) {
  return impl_->enqueue(std::move(msg), false);
}

bool WsClient::send_binary(std::string msg) {
  return impl_->enqueue(std::move(msg), true);
}

size_t WsClient::queued_bytes() const {
  return impl_->queued_bytes + (impl_->link ? impl_->link->in_flight_bytes : 0);
}

}  // namespace gantry::net
