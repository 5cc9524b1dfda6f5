#pragma once
// Private to gantry_net: Stream, one TCP connection that speaks either plain bytes or TLS, so that
// the HTTP session, the WebSocket session and both clients are written once for both.
//
// A TLS Stream owns a Beast ssl_stream over a tcp_stream and the SSL context it was made from (a
// reloaded context does not pull the rug from under a live connection). The deadlines stay on
// the tcp_stream, reached with tcp(): they bound the TLS records' reads and writes as they bound
// the plain ones. Beast's get_lowest_layer() finds it through next_layer(), and the WebSocket
// stream closes it through the teardown overloads below.

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <memory>
#include <utility>

#include "beast.hpp"

namespace gantry::net {

namespace ssl = asio::ssl;

class Stream {
 public:
  using executor_type = beast::tcp_stream::executor_type;
  using TlsStream = beast::ssl_stream<beast::tcp_stream>;

  explicit Stream(beast::tcp_stream tcp)
      : plain_(std::make_unique<beast::tcp_stream>(std::move(tcp))) {}
  Stream(beast::tcp_stream tcp, std::shared_ptr<ssl::context> context)
      : context_(std::move(context)),
        tls_(std::make_unique<TlsStream>(std::move(tcp), *context_)) {}
  Stream(Stream&&) noexcept = default;
  Stream& operator=(Stream&&) noexcept = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() = default;

  bool is_tls() const { return tls_ != nullptr; }
  TlsStream& tls() { return *tls_; }
  beast::tcp_stream& tcp() { return tls_ ? tls_->next_layer() : *plain_; }
  beast::tcp_stream& next_layer() { return tcp(); }  // for beast::get_lowest_layer
  executor_type get_executor() { return tcp().get_executor(); }

  // Both branches complete with (error_code, size_t), so they yield the same type for any token.
  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    if (tls_) return tls_->async_read_some(buffers, std::forward<Token>(token));
    return plain_->async_read_some(buffers, std::forward<Token>(token));
  }
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    if (tls_) return tls_->async_write_some(buffers, std::forward<Token>(token));
    return plain_->async_write_some(buffers, std::forward<Token>(token));
  }

 private:
  std::shared_ptr<ssl::context> context_;  // outlives tls_
  std::unique_ptr<beast::tcp_stream> plain_;
  std::unique_ptr<TlsStream> tls_;
};

// The WebSocket stream's closing handshake ends the transport through these (found by ADL).
void teardown(beast::role_type role, Stream& stream, error_code& ec);

template <class Handler>
void async_teardown(beast::role_type role, Stream& stream, Handler&& handler) {
  using beast::websocket::async_teardown;
  if (stream.is_tls()) {
    async_teardown(role, stream.tls(), std::forward<Handler>(handler));
  } else {
    async_teardown(role, stream.tcp(), std::forward<Handler>(handler));
  }
}

using WsStream = websocket::stream<Stream>;

// Runs one asynchronous operation to completion on a client's private io_context (the HTTP and
// SMTP clients). Async operations, unlike blocking ones, honour the tcp_stream's timeout.
template <class Start>
error_code run_step(asio::io_context& io, Start&& start) {
  error_code result;
  start([&result](error_code ec, auto&&...) { result = ec; });
  io.restart();
  io.run();
  return result;
}

}  // namespace gantry::net
