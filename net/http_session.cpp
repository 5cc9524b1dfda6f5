#include "http_session.hpp"

#include <boost/asio/write.hpp>

#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <filesystem>

#include "beast.hpp"
#include "gantry/common/log.hpp"
#include "gantry/net/url.hpp"
#include "offset_file.hpp"
#include "stream.hpp"
#include "tls_context.hpp"
#include "ws_session.hpp"

namespace gantry::net {
namespace {

constexpr size_t kHeaderLimit = size_t{16} * 1024;
// The read buffer holds at most a partial header and one read's worth of body (Beast reads up to
// 64 KiB at a time and the parser consumes body bytes as they come).
constexpr size_t kBufferLimit = kHeaderLimit + size_t{64} * 1024;
// After an error reply we read and discard what the client is still sending for a while:
// closing with unread data makes the kernel send RST, which can destroy our reply in flight.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kLingerBytes = 4 << 20;

enum class Next { KeepAlive, Close, Upgraded };

using Clock = std::chrono::steady_clock;

struct Connection {
  std::shared_ptr<ServerState> state;
  Stream stream;
  ConnectionSlot slot;
  std::string remote;
  std::string client_cert;  // the verified client certificate's subject
  beast::flat_buffer buffer{kBufferLimit};
  Clock::time_point accepted = Clock::now();
  uint64_t requests = 0;  // heads read so far
};

// The REST error shape, {"error":{"code","message"}}; messages here are fixed ASCII.
Response error_response(int status, std::string_view message) {
  std::string_view code = status == 400   ? "bad_request"
                          : status == 404 ? "not_found"
                          : status == 413 ? "too_large"
                          : status == 431 ? "header_too_large"
                                          : "internal";
  Response res;
  res.status = status;
  res.body = "{\"error\":{\"code\":\"" + std::string(code) + "\",\"message\":\"" +
             std::string(message) + "\"}}";
  return res;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Request make_request(const http::request_header<>& head, Connection& c) {
  Request req;
  req.method = std::string(head.method_string());
  req.target = std::string(head.target());
  Target target = parse_target(req.target);
  req.path = std::move(target.path);
  req.query = std::move(target.query);
  for (const auto& field : head) {
    auto [it, inserted] =
        req.headers.emplace(lower(field.name_string()), std::string(field.value()));
    if (!inserted) it->second += ", " + std::string(field.value());
  }
  req.remote = c.remote;
  req.tls = c.stream.is_tls();
  req.client_cert = c.client_cert;
  return req;
}

bool is_parse_error(const error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream;
}

bool is_upload(const ServerOptions& options, const std::string& path) {
  for (const auto& prefix : options.upload_prefixes) {
    if (path.compare(0, prefix.size(), prefix) == 0) return true;
  }
  return false;
}

std::string make_temp_file() {
  std::string pattern = (std::filesystem::temp_directory_path() / "gantry-upload-XXXXXX").string();
  int fd = ::mkstemp(pattern.data());
  if (fd < 0) return {};
  ::close(fd);
  return pattern;
}

Response call_handler(const ServerState& state, const Request& req) {
  try {
    if (!state.http) return error_response(404, "not found");
    return state.http(req);
  } catch (...) {
    log_callback_exception("http", "handler " + req.method + " " + req.path,
                           std::current_exception());
    return error_response(500, "internal error");
  }
}

std::optional<Response> call_head_handler(const ServerState& state, const Request& head) {
  try {
    if (!state.head) return std::nullopt;
    return state.head(head);
  } catch (...) {
    log_callback_exception("http", "head handler " + head.method + " " + head.path,
                           std::current_exception());
    return error_response(500, "internal error");
  }
}

template <class Body>
void fill_head(http::response<Body>& msg, const Response& res, bool keep_alive) {
  msg.result(static_cast<unsigned>(res.status));
  msg.version(11);
  msg.set(http::field::server, "gantry");
  if (!res.content_type.empty()) msg.set(http::field::content_type, res.content_type);
  for (const auto& [name, value] : res.headers) msg.insert(name, value);
  msg.keep_alive(keep_alive);
}

// Writes `msg` step by step so the idle timeout bounds each step, not the whole file.
template <class Message>
asio::awaitable<error_code> write_message(Connection& c, Message& msg) {
  http::serializer<false, typename Message::body_type> serializer(msg);
  while (!serializer.is_done()) {
    c.stream.tcp().expires_after(c.state->options.idle_timeout);
    auto [ec, n] = co_await http::async_write_some(c.stream, serializer, use_nothrow);
    if (ec) co_return ec;
  }
  co_return error_code{};
}

asio::awaitable<error_code> write_response(Connection& c, const Response& res, bool keep_alive) {
  if (!res.file_path.empty()) {
    error_code ec;
    OffsetFile file;
    file.open(res.file_path.c_str(), beast::file_mode::scan, ec);
    if (!ec) file.skip(res.file_offset, ec);
    http::response<http::basic_file_body<OffsetFile>> msg;
    if (!ec) msg.body().reset(std::move(file), ec);
    if (!ec) {
      fill_head(msg, res, keep_alive);
      msg.prepare_payload();
      error_code write_ec = co_await write_message(c, msg);
      co_return write_ec;
    }
    log::warn("http", "file.unavailable", {{"path", res.file_path}, {"error", describe(ec)}});
    Response missing = error_response(404, "file not found");
    error_code write_ec = co_await write_response(c, missing, keep_alive);
    co_return write_ec;
  }
  http::response<http::string_body> msg;
  fill_head(msg, res, keep_alive);
  msg.body() = res.body;
  msg.prepare_payload();
  error_code ec = co_await write_message(c, msg);
  co_return ec;
}

// Half-closes, then discards what the client still sends, for a bounded time and size.
asio::awaitable<void> linger_close(Connection& c) {
  error_code ignored;
  c.stream.tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
  c.stream.tcp().expires_after(kLingerTime);
  std::array<char, 8192> sink;
  for (size_t total = 0; total < kLingerBytes;) {
    auto [ec, n] = co_await c.stream.async_read_some(asio::buffer(sink), use_nothrow);
    if (ec) break;
    total += n;
  }
  c.stream.tcp().close();
}

// Replies with an error and closes the connection.
asio::awaitable<Next> reject(Connection& c, int status, std::string_view message) {
  log::info("http", "request.rejected",
            {{"remote", c.remote}, {"status", std::to_string(status)}, {"reason", message}});
  Response res = error_response(status, message);
  error_code ec = co_await write_response(c, res, false);
  if (!ec) co_await linger_close(c);
  co_return Next::Close;
}

// Sends the HeadHandler's refusal with Connection: close, and closes without reading the body.
asio::awaitable<Next> refuse(Connection& c, const Request& head, const Response& refusal) {
  log::write(log::Level::Debug, "http", "request.refused",
             {{"remote", c.remote},
              {"method", head.method},
              {"path", head.path},
              {"status", std::to_string(refusal.status)}});
  error_code ec = co_await write_response(c, refusal, false);
  if (!ec) co_await linger_close(c);
  co_return Next::Close;
}

// Reads the body with a deadline trickling cannot push back: body_timeout from the start, plus
// one second per min_body_rate bytes received. idle_timeout still bounds each read.
template <class Parser>
asio::awaitable<error_code> read_body(Connection& c, Parser& parser) {
  const ServerOptions& options = c.state->options;
  const Clock::time_point start = Clock::now();
  uint64_t received = 0;
  while (!parser.is_done()) {
    Clock::time_point deadline = start + options.body_timeout;
    if (options.min_body_rate > 0)
      deadline += std::chrono::milliseconds(received * 1000 / options.min_body_rate);
    c.stream.tcp().expires_at(std::min(deadline, Clock::now() + options.idle_timeout));
    auto [ec, n] = co_await http::async_read_some(c.stream, c.buffer, parser, use_nothrow);
    if (ec == beast::error::timeout) {
      log::info("http", "body.timeout",
                {{"remote", c.remote}, {"received", std::to_string(received + n)}});
    }
    if (ec) co_return ec;
    received += n;
  }
  co_return error_code{};
}

// Reads the body into memory, or for an upload into a temp file. Returns nullopt when the body
// was read; otherwise how the connection ends (after an error reply where one is due).
asio::awaitable<std::optional<Next>> read_request_body(Connection& c,
                                                       http::request_parser<http::empty_body>& head,
                                                       Request& req) {
  const ServerOptions& options = c.state->options;
  std::optional<uint64_t> length;
  if (head.content_length()) length = *head.content_length();
  bool upload = is_upload(options, req.path);
  uint64_t limit = upload ? options.max_upload : options.max_body;
  if (length && *length > limit) {
    Next next = co_await reject(c, 413, "request body too large");
    co_return next;
  }
  if (beast::iequals(head.get()[http::field::expect], "100-continue")) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    c.stream.tcp().expires_after(options.idle_timeout);
    auto [ec, n] = co_await asio::async_write(c.stream, asio::buffer(kContinue), use_nothrow);
    if (ec) co_return Next::Close;
  }

  error_code ec;
  if (upload && (!length || *length > options.max_body)) {
    http::request_parser<http::file_body> parser(std::move(head));
    parser.body_limit(options.max_upload);
    req.body_file = make_temp_file();
    if (!req.body_file.empty())
      parser.get().body().open(req.body_file.c_str(), beast::file_mode::write, ec);
    if (req.body_file.empty() || ec) {
      log::error("http", "upload.tempfile", {{"error", ec ? describe(ec) : "mkstemp failed"}});
      Next next = co_await reject(c, 500, "cannot store upload");
      co_return next;
    }
    ec = co_await read_body(c, parser);
  } else {
    http::request_parser<http::string_body> parser(std::move(head));
    parser.body_limit(options.max_body);
    ec = co_await read_body(c, parser);
    if (!ec) req.body = parser.release().body();
  }
  if (!ec) co_return std::nullopt;
  if (ec == http::error::body_limit) {
    Next next = co_await reject(c, 413, "request body too large");
    co_return next;
  }
  if (is_parse_error(ec)) {
    Next next = co_await reject(c, 400, "bad request");
    co_return next;
  }
  co_return Next::Close;
}

std::optional<Response> call_ws_handler(const ServerState& state, const Request& req,
                                        std::shared_ptr<WsConnection> conn, WsHandlers& handlers) {
  try {
    if (!state.ws) return error_response(404, "not found");
    return state.ws(req, std::move(conn), handlers);
  } catch (...) {
    log_callback_exception("http", "ws handler " + req.path, std::current_exception());
    return error_response(500, "internal error");
  }
}

asio::awaitable<Next> upgrade(Connection& c, http::request_parser<http::empty_body>& head,
                              const Request& req, uint64_t& registration) {
  auto session = std::make_shared<WsSession>(c.state, c.remote);
  WsHandlers handlers;
  std::optional<Response> refusal = call_ws_handler(*c.state, req, session, handlers);
  if (refusal) {
    log::info(
        "http", "ws.refused",
        {{"remote", c.remote}, {"path", req.path}, {"status", std::to_string(refusal->status)}});
    // A refused upgrade is not reused: any body it carried has not been read.
    co_await write_response(c, *refusal, false);
    co_return Next::Close;
  }
  c.state->remove_session(registration);
  registration = 0;
  WsSession::start(std::move(session), std::move(c.stream), std::move(c.slot), head.release(),
                   std::move(handlers));
  co_return Next::Upgraded;
}

// Waits up to idle_timeout for the first byte of the next request on a kept-alive connection.
asio::awaitable<bool> await_next_request(Connection& c) {
  if (c.buffer.size() > 0) co_return true;
  c.stream.tcp().expires_after(c.state->options.idle_timeout);
  auto [ec, n] = co_await c.stream.async_read_some(c.buffer.prepare(4096), use_nothrow);
  c.buffer.commit(n);
  co_return !ec;
}

asio::awaitable<Next> serve_request(Connection& c, uint64_t& registration) {
  const ServerOptions& options = c.state->options;
  http::request_parser<http::empty_body> head;
  head.header_limit(kHeaderLimit);
  head.body_limit(boost::none);  // checked per request in read_request_body
  // The head's deadline runs from the connection (a first request) or from the first byte of a
  // later one, and is not pushed back by the bytes that trickle in.
  if (c.requests > 0) {
    bool more = co_await await_next_request(c);
    if (!more) co_return Next::Close;  // closed, reset or idle
  }
  Clock::time_point from = c.requests == 0 ? c.accepted : Clock::now();
  ++c.requests;
  c.stream.tcp().expires_at(
      std::min(from + options.head_timeout, Clock::now() + options.idle_timeout));
  auto [ec, n] = co_await http::async_read_header(c.stream, c.buffer, head, use_nothrow);
  if (ec == http::error::header_limit) {
    Next next = co_await reject(c, 431, "request header too large");
    co_return next;
  }
  if (is_parse_error(ec)) {
    Next next = co_await reject(c, 400, "bad request");
    co_return next;
  }
  if (ec == beast::error::timeout) {
    log::write(log::Level::Debug, "http", "head.timeout", {{"remote", c.remote}});
  }
  if (ec) co_return Next::Close;  // closed, reset or past the deadline

  // The caller's verdict on the head, before any body byte is read.
  Request req = make_request(head.get(), c);
  std::optional<Response> refusal = call_head_handler(*c.state, req);
  if (refusal) {
    Next next = co_await refuse(c, req, *refusal);
    co_return next;
  }
  c.slot.authenticate();
  if (websocket::is_upgrade(head.get())) {
    Next next = co_await upgrade(c, head, req, registration);
    co_return next;
  }

  bool keep_alive = head.get().keep_alive() && !c.state->stopping;
  std::optional<Next> failed = co_await read_request_body(c, head, req);
  std::error_code ignored;
  if (failed) {
    if (!req.body_file.empty()) std::filesystem::remove(req.body_file, ignored);
    co_return *failed;
  }

  Response res = call_handler(*c.state, req);
  if (!req.body_file.empty()) std::filesystem::remove(req.body_file, ignored);
  log::write(log::Level::Debug, "http", "request",
             {{"remote", c.remote},
              {"method", req.method},
              {"path", req.path},
              {"status", std::to_string(res.status)}});
  keep_alive = keep_alive && !c.state->stopping;
  error_code write_ec = co_await write_response(c, res, keep_alive);
  if (write_ec) co_return Next::Close;
  co_return keep_alive ? Next::KeepAlive : Next::Close;
}

// The server's side of the TLS handshake, within the first request's head deadline.
asio::awaitable<bool> handshake(Connection& c) {
  c.stream.tcp().expires_at(c.accepted + c.state->options.head_timeout);
  auto [ec] = co_await c.stream.tls().async_handshake(ssl::stream_base::server, use_nothrow);
  if (ec) {
    log::write(log::Level::Debug, "http", "tls.handshake_failed",
               {{"remote", c.remote}, {"error", describe_handshake(c.stream.tls(), ec)}});
    co_return false;
  }
  c.client_cert = verified_peer_subject(c.stream.tls());
  co_return true;
}

}  // namespace

asio::awaitable<void> serve_http(std::shared_ptr<ServerState> state, tcp::socket socket,
                                 ConnectionSlot slot) {
  error_code ec;
  tcp::endpoint peer = socket.remote_endpoint(ec);
  std::string remote = ec ? "?" : endpoint_string(peer);
  // Replies and WebSocket frames are small and latency-bound: no Nagle.
  socket.set_option(tcp::no_delay(true), ec);
  std::shared_ptr<ssl::context> tls = state->tls;
  Stream stream = tls ? Stream(beast::tcp_stream(std::move(socket)), std::move(tls))
                      : Stream(beast::tcp_stream(std::move(socket)));
  Connection c{state, std::move(stream), std::move(slot), std::move(remote)};
  // Unregisters even if the loop is destroyed with this coroutine suspended.
  struct Registration {
    ServerState& state;
    uint64_t id;
    ~Registration() {
      if (id) state.remove_session(id);
    }
  } registration{*state, state->add_session([&c] { c.stream.tcp().close(); })};

  Next next = Next::KeepAlive;
  if (c.stream.is_tls()) {
    bool secured = co_await handshake(c);
    if (!secured) next = Next::Close;
  }
  while (next == Next::KeepAlive && !state->stopping) {
    next = co_await serve_request(c, registration.id);
  }
  if (next == Next::Close && c.stream.tcp().socket().is_open()) {
    c.stream.tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
    c.stream.tcp().close();
  }
}

}  // namespace gantry::net
