#include "ws_session.hpp"

#include <algorithm>

#include "gantry/common/log.hpp"

namespace gantry::net {
namespace {

// How long a close handshake may take before the socket is simply closed (a client too slow to
// drain its queue will not read our close frame either).
constexpr auto kCloseGrace = std::chrono::seconds(5);

std::pair<uint16_t, std::string> close_info(const error_code& ec, const WsStream& ws) {
  // A close frame from the peer counts even if echoing it failed afterwards.
  if (ec == websocket::error::closed || ws.reason().code != websocket::close_code::none) {
    return {static_cast<uint16_t>(ws.reason().code), std::string(ws.reason().reason.c_str())};
  }
  if (ec == websocket::error::message_too_big) {
    return {static_cast<uint16_t>(websocket::close_code::too_big), "message too big"};
  }
  return {static_cast<uint16_t>(websocket::close_code::abnormal), describe(ec)};
}

}  // namespace

WsSession::WsSession(std::shared_ptr<ServerState> state, std::string remote)
    : state_(std::move(state)), remote_(std::move(remote)), close_timer_(state_->io) {}

WsSession::~WsSession() {
  if (registration_) state_->remove_session(registration_);
}

void WsSession::start(std::shared_ptr<WsSession> self, Stream stream, ConnectionSlot slot,
                      http::request<http::empty_body> request, WsHandlers handlers) {
  self->handlers_ = std::move(handlers);
  self->ws_.emplace(std::move(stream));
  self->slot_ = std::move(slot);
  std::weak_ptr<WsSession> weak = self;
  self->registration_ = self->state_->add_session([weak] {
    if (auto session = weak.lock()) session->close(1001, "server stopping");
  });
  if (self->close_request_) self->arm_close_timer();
  auto executor = self->ws_->get_executor();
  spawn_logged(executor, run(FrameRef(std::move(self)), std::move(request)), "ws.session");
}

asio::awaitable<void> WsSession::run(FrameRef self, http::request<http::empty_body> request) {
  WsStream& ws = *self->ws_;
  const ServerOptions& options = self->state_->options;
  beast::get_lowest_layer(ws).expires_never();  // the websocket stream has its own timeouts
  ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws.read_message_max(options.max_ws_message);
  ws.auto_fragment(false);
  auto [accept_ec] = co_await ws.async_accept(request, use_nothrow);
  if (accept_ec) {
    self->finish(static_cast<uint16_t>(websocket::close_code::abnormal), describe(accept_ec));
    co_return;
  }
  self->open_ = true;
  // The query may carry a token (?token=, for browsers): never in the log.
  std::string_view target = request.target();
  log::info("ws", "open",
            {{"remote", self->remote_}, {"path", std::string(target.substr(0, target.find('?')))}});
  self->start_writer();

  beast::flat_buffer buffer;
  for (;;) {
    auto [ec, n] = co_await ws.async_read(buffer, use_nothrow);
    // Our own close aborts the read; write_queue finishes once the close handshake is done.
    if (ec == asio::error::operation_aborted && self->close_request_) co_return;
    if (ec) {
      auto [code, reason] = close_info(ec, ws);
      self->finish(code, std::move(reason));
      co_return;
    }
    auto data = buffer.data();
    self->deliver(std::string_view(static_cast<const char*>(data.data()), data.size()),
                  ws.got_binary());
    buffer.consume(buffer.size());
  }
}

void WsSession::deliver(std::string_view data, bool binary) {
  if (finished_ || close_request_ || !handlers_.on_message) return;
  if (!invoke_guarded("ws", "on_message", [&] { handlers_.on_message(data, binary); })) {
    close(static_cast<uint16_t>(websocket::close_code::internal_error), "internal error");
  }
}

void WsSession::enqueue(std::shared_ptr<const std::string> msg, bool binary) {
  if (finished_ || close_request_) return;
  if (!msg) return;
  if (queued_bytes_ + in_flight_bytes_ + msg->size() > state_->options.max_ws_queue) {
    log::warn("ws", "too_slow",
              {{"remote", remote_}, {"queued", std::to_string(queued_bytes_ + in_flight_bytes_)}});
    queue_.clear();
    queued_bytes_ = 0;
    close(static_cast<uint16_t>(websocket::close_code::policy_error), "too slow");
    return;
  }
  queued_bytes_ += msg->size();
  queue_.push_back(Outgoing{std::move(msg), binary});
  start_writer();
}

void WsSession::close(uint16_t code, std::string reason) {
  if (finished_ || close_request_) return;
  close_request_.emplace(code, std::move(reason));
  if (!ws_) return;  // not started yet: start() arms the timer
  arm_close_timer();
  start_writer();
}

void WsSession::arm_close_timer() {
  std::weak_ptr<WsSession> weak = weak_from_this();
  close_timer_.expires_after(kCloseGrace);
  close_timer_.async_wait([weak](error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->finished_) return;
    log::info("ws", "close.timeout", {{"remote", self->remote_}});
    beast::get_lowest_layer(*self->ws_).close();
  });
}

void WsSession::start_writer() {
  if (!open_ || writing_ || finished_) return;
  if (queue_.empty() && !close_request_) return;
  writing_ = true;
  spawn_logged(ws_->get_executor(), write_queue(FrameRef(shared_from_this())), "ws.write");
}

// Writes queued messages one at a time, then the close frame if one was requested.
asio::awaitable<void> WsSession::write_queue(FrameRef self) {
  WsStream& ws = *self->ws_;
  while (!self->finished_) {
    if (!self->queue_.empty()) {
      Outgoing out = std::move(self->queue_.front());
      self->queue_.pop_front();
      self->queued_bytes_ -= out.data->size();
      self->in_flight_bytes_ = out.data->size();
      ws.binary(out.binary);
      auto [ec, n] = co_await ws.async_write(asio::buffer(*out.data), use_nothrow);
      self->in_flight_bytes_ = 0;
      if (ec) {
        auto [code, reason] = close_info(ec, ws);
        self->finish(code, std::move(reason));
        break;
      }
      continue;
    }
    if (self->close_request_) {
      auto [code, text] = *self->close_request_;
      websocket::close_reason reason;
      reason.code = code;
      // The frame carries at most 123 bytes of reason; a longer one would throw.
      reason.reason.assign(text.data(), std::min<size_t>(text.size(), reason.reason.max_size()));
      auto [ec] = co_await ws.async_close(reason, use_nothrow);
      self->finish(code, ec ? describe(ec) : text);
    }
    break;
  }
  self->writing_ = false;
}

void WsSession::finish(uint16_t code, std::string reason) {
  if (finished_) return;
  finished_ = true;
  open_ = false;
  queue_.clear();
  queued_bytes_ = 0;
  close_timer_.cancel();
  if (registration_) state_->remove_session(registration_);
  registration_ = 0;
  slot_ = ConnectionSlot();
  log::info("ws", "closed",
            {{"remote", remote_}, {"code", std::to_string(code)}, {"reason", reason}});
  // Drop the handlers after on_close: they often hold this connection, a reference cycle.
  WsHandlers handlers = std::move(handlers_);
  handlers_ = {};
  if (handlers.on_close) {
    invoke_guarded("ws", "on_close", [&] { handlers.on_close(code, std::move(reason)); });
  }
}

}  // namespace gantry::net
