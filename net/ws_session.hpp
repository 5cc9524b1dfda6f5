#pragma once
// WsSession: one accepted WebSocket on the server. Reads messages into the WsHandlers callbacks
// and writes from a bounded queue with one write in flight (Beast's chat-multi pattern), close
// frame last. Created by serve_http before the WsHandler runs, so the handler gets its
// WsConnection; start() then takes over the TCP stream and the connection's slot, given back
// when the session finishes. Loop thread only.

#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "beast.hpp"
#include "connection_limits.hpp"
#include "gantry/net/http_server.hpp"
#include "server_state.hpp"
#include "stream.hpp"

namespace gantry::net {

class WsSession final : public WsConnection, public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(std::shared_ptr<ServerState> state, std::string remote);
  ~WsSession() override;

  // Accepts the upgrade `request` on `stream` (plain or TLS) and runs the session.
  static void start(std::shared_ptr<WsSession> self, Stream stream, ConnectionSlot slot,
                    http::request<http::empty_body> request, WsHandlers handlers);

  void send_text(std::string msg) override {
    enqueue(std::make_shared<const std::string>(std::move(msg)), false);
  }
  void send_binary(std::string msg) override {
    enqueue(std::make_shared<const std::string>(std::move(msg)), true);
  }
  void send_shared(std::shared_ptr<const std::string> msg) override {
    enqueue(std::move(msg), false);
  }
  void close(uint16_t code, std::string reason) override;
  size_t queued_bytes() const override { return queued_bytes_ + in_flight_bytes_; }
  const std::string& remote() const override { return remote_; }

 private:
  struct Outgoing {
    std::shared_ptr<const std::string> data;
    bool binary = false;
  };

  // Keeps the session alive in a coroutine frame. If the loop is destroyed with the session's
  // coroutines suspended, on_close never runs; the last FrameRef then drops the handlers, which
  // usually hold this connection (a reference cycle that would leak).
  class FrameRef {
   public:
    explicit FrameRef(std::shared_ptr<WsSession> session) : session_(std::move(session)) {
      ++session_->frames_;
    }
    FrameRef(FrameRef&& other) noexcept = default;
    FrameRef& operator=(FrameRef&&) = delete;
    ~FrameRef() {
      if (session_ && --session_->frames_ == 0 && !session_->finished_) session_->handlers_ = {};
    }
    WsSession* operator->() const { return session_.get(); }

   private:
    std::shared_ptr<WsSession> session_;
  };

  static asio::awaitable<void> run(FrameRef self, http::request<http::empty_body> request);
  static asio::awaitable<void> write_queue(FrameRef self);
  void enqueue(std::shared_ptr<const std::string> msg, bool binary);
  void start_writer();
  void arm_close_timer();
  void deliver(std::string_view data, bool binary);
  void finish(uint16_t code, std::string reason);

  std::shared_ptr<ServerState> state_;
  std::string remote_;
  std::optional<WsStream> ws_;
  ConnectionSlot slot_;
  asio::steady_timer close_timer_;
  WsHandlers handlers_;
  std::deque<Outgoing> queue_;
  size_t queued_bytes_ = 0;
  size_t in_flight_bytes_ = 0;
  uint64_t registration_ = 0;
  int frames_ = 0;         // live FrameRefs
  bool open_ = false;      // accepted and not finished
  bool writing_ = false;   // write_queue is running
  bool finished_ = false;  // on_close delivered; nothing more happens
  std::optional<std::pair<uint16_t, std::string>> close_request_;
};

}  // namespace gantry::net
