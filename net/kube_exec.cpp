#include "gantry/net/kube_exec.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <charconv>

#include "beast.hpp"
#include "gantry/net/url.hpp"
#include "stream.hpp"
#include "tls_context.hpp"

namespace gantry::net {
namespace {

constexpr std::string_view kSubprotocol = "v4.channel.k8s.io";
constexpr size_t kMaxMessage = size_t{1} << 20;
constexpr size_t kStdinChunk = size_t{32} << 10;
// After the status, the API server closes; one that does not is given this long.
constexpr auto kCloseGrace = std::chrono::seconds(5);
constexpr int kStdin = 0, kStdout = 1, kStderr = 2, kStatus = 3;

namespace json = boost::json;

// Runs one asynchronous operation to completion on the private io_context. Only until it
// completes: the WebSocket stream keeps a timer armed after a refused handshake, and io.run()
// would wait for it.
template <class Start>
error_code run_step(asio::io_context& io, Start&& start) {
  error_code result;
  bool done = false;
  start([&result, &done](error_code ec, auto&&...) {
    result = ec;
    done = true;
  });
  io.restart();
  while (!done && io.run_one()) {
  }
  return result;
}

std::string exec_target(const Url& base, const KubeExecRequest& r) {
  std::string path = base.target.substr(0, base.target.find('?'));
  while (!path.empty() && path.back() == '/') path.pop_back();
  path += "/api/v1/namespaces/" + url_encode(r.kube_namespace) + "/pods/" + url_encode(r.pod) +
          "/exec?container=" + url_encode(r.container);
  for (const auto& arg : r.command) path += "&command=" + url_encode(arg);
  path += r.stdin_data.empty() ? "&stdin=false" : "&stdin=true";
  path += "&stdout=true&stderr=true";
  return path;
}

const json::string* string_at(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  return v ? v->if_string() : nullptr;
}

// The message of a metav1.Status body, or "" when the body is not one.
std::string status_message(std::string_view body) {
  error_code ec;
  json::value v = json::parse(body, ec);
  const json::object* object = ec ? nullptr : v.if_object();
  const json::string* message = object ? string_at(*object, "message") : nullptr;
  return message ? std::string(*message) : std::string();
}

// Applies the channel 3 status to `result`: true when it was understood.
void apply_status(std::string_view text, KubeExecResult& result, const std::string& where) {
  error_code ec;
  json::value v = json::parse(text, ec);
  const json::object* object = ec ? nullptr : v.if_object();
  const json::string* status = object ? string_at(*object, "status") : nullptr;
  if (!status) {
    result.error = "exec " + where + ": malformed exit status: " + std::string(text.substr(0, 200));
    return;
  }
  if (*status == "Success") {
    result.ok = true;
    result.exit_code = 0;
    return;
  }
  const json::string* reason = string_at(*object, "reason");
  const json::string* message = string_at(*object, "message");
  if (reason && *reason == "NonZeroExitCode") {
    const json::value* details = object->if_contains("details");
    const json::value* causes =
        details && details->is_object() ? details->as_object().if_contains("causes") : nullptr;
    if (causes && causes->is_array()) {
      for (const auto& cause : causes->as_array()) {
        if (!cause.is_object()) continue;
        const json::string* cause_reason = string_at(cause.as_object(), "reason");
        const json::string* code = string_at(cause.as_object(), "message");
        if (!cause_reason || *cause_reason != "ExitCode" || !code) continue;
        int n = -1;
        auto [end, errc] = std::from_chars(code->data(), code->data() + code->size(), n);
        if (errc == std::errc() && end == code->data() + code->size()) {
          result.ok = true;
          result.exit_code = n;
          return;
        }
      }
    }
  }
  result.error = "exec " + where + ": " + (message ? std::string(*message) : std::string(text));
}

struct ExecSession {
  ExecSession(const KubeExecRequest& r, Url u, std::shared_ptr<ssl::context> tls,
              const std::function<void(int, std::string_view)>& output)
      : request(r),
        url(std::move(u)),
        where(host_port(url)),
        ws(tls ? Stream(beast::tcp_stream(io), std::move(tls)) : Stream(beast::tcp_stream(io))),
        close_timer(io),
        on_output(output) {}

  const KubeExecRequest& request;
  Url url;
  std::string where;
  asio::io_context io;
  WsStream ws;
  asio::steady_timer close_timer;
  const std::function<void(int, std::string_view)>& on_output;
  beast::flat_buffer buffer;
  std::string frame;  // the stdin frame being written
  size_t stdin_sent = 0;
  bool got_status = false;
  bool finished = false;
  KubeExecResult result;

  void fail(std::string message) {
    if (result.error.empty()) result.error = std::move(message);
    result.ok = false;
  }

  // Ends the connection: the pending read and write fail and io.run() returns.
  void finish() {
    if (finished) return;
    finished = true;
    close_timer.cancel();
    error_code ignored;
    beast::get_lowest_layer(ws).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws).close();
  }

  bool connect();
  void write_stdin();
  void read_next();
  void on_message(std::string_view message);
};

bool ExecSession::connect() {
  error_code ec;
  tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(url.host, std::to_string(url.port), ec);
  if (ec) {
    fail("resolve " + url.host + ": " + describe(ec));
    return false;
  }
  auto& tcp_stream = beast::get_lowest_layer(ws);
  tcp_stream.expires_after(request.timeout);
  ec = run_step(io, [&](auto handler) { tcp_stream.async_connect(endpoints, std::move(handler)); });
  if (ec) {
    fail("connect " + where + ": " + describe(ec));
    return false;
  }
  error_code nodelay_ec;
  tcp_stream.socket().set_option(tcp::no_delay(true), nodelay_ec);
  if (ws.next_layer().is_tls()) {
    auto& tls = ws.next_layer().tls();
    prepare_client(tls, url.host, request.tls);
    tcp_stream.expires_after(request.timeout);
    ec = run_step(io, [&](auto handler) {
      tls.async_handshake(ssl::stream_base::client, std::move(handler));
    });
    if (ec) {
      fail("tls handshake " + where + ": " + describe_handshake(tls, ec));
      return false;
    }
  }
  tcp_stream.expires_never();  // the WebSocket stream's own timeouts from here
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = request.timeout;
  timeouts.idle_timeout = websocket::stream_base::none();  // a command may be silent for long
  timeouts.keep_alive_pings = false;
  ws.set_option(timeouts);
  std::string token = request.token;
  ws.set_option(websocket::stream_base::decorator([token](websocket::request_type& req) {
    req.set(http::field::user_agent, "gantry");
    req.set(http::field::sec_websocket_protocol, kSubprotocol);
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  }));
  ws.read_message_max(kMaxMessage);
  ws.auto_fragment(false);

  websocket::response_type response;
  std::string target = exec_target(url, request);
  ec = run_step(
      io, [&](auto handler) { ws.async_handshake(response, where, target, std::move(handler)); });
  if (ec == websocket::error::upgrade_declined) {
    std::string reason(response.reason());
    if (reason.empty()) reason = std::string(http::obsolete_reason(response.result()));
    std::string message = status_message(response.body());
    if (message.empty()) message = response.body().substr(0, 200);
    fail("exec handshake " + where + ": " + std::to_string(response.result_int()) + " " + reason +
         (message.empty() ? "" : ": " + message));
    return false;
  }
  if (ec) {
    fail("exec handshake " + where + ": " + describe(ec));
    return false;
  }
  if (response[http::field::sec_websocket_protocol] != kSubprotocol) {
    fail("exec handshake " + where + ": the server did not accept subprotocol " +
         std::string(kSubprotocol));
    return false;
  }
  return true;
}

void ExecSession::write_stdin() {
  if (finished || stdin_sent >= request.stdin_data.size()) return;
  size_t n = std::min(kStdinChunk, request.stdin_data.size() - stdin_sent);
  frame.assign(1, static_cast<char>(kStdin));
  frame.append(request.stdin_data, stdin_sent, n);
  stdin_sent += n;
  ws.binary(true);
  ws.async_write(asio::buffer(frame), [this](error_code ec, size_t) {
    // A failed write ends nothing by itself: the read side sees the same connection end, after
    // any output and status already on their way.
    if (!ec) write_stdin();
  });
}

void ExecSession::read_next() {
  ws.async_read(buffer, [this](error_code ec, size_t) {
    if (ec) {
      if (!got_status && !finished) {
        if (ec == websocket::error::message_too_big) {
          fail("exec read " + where + ": a message exceeds " + std::to_string(kMaxMessage) +
               " bytes");
        } else if (ec == websocket::error::closed) {
          fail("exec " + where + ": the server closed before the exit status");
        } else {
          fail("exec read " + where + ": " + describe(ec));
        }
      }
      finish();
      return;
    }
    auto bytes = buffer.data();
    on_message(std::string_view(static_cast<const char*>(bytes.data()), bytes.size()));
    buffer.consume(buffer.size());
    if (!finished) read_next();
  });
}

void ExecSession::on_message(std::string_view message) {
  if (message.empty()) return;
  int channel = static_cast<unsigned char>(message.front());
  message.remove_prefix(1);
  if (channel == kStdout || channel == kStderr) {
    if (got_status || message.empty() || !on_output) return;
    try {
      on_output(channel, message);
    } catch (const std::exception& e) {
      fail(std::string("exec output callback threw: ") + e.what());
      finish();
    } catch (...) {
      fail("exec output callback threw");
      finish();
    }
    return;
  }
  if (channel != kStatus || got_status) return;
  got_status = true;
  apply_status(message, result, where);
  close_timer.expires_after(kCloseGrace);
  close_timer.async_wait([this](error_code ec) {
    if (!ec) finish();
  });
}

}  // namespace

KubeExecResult kube_exec(
    const KubeExecRequest& request,
    const std::function<void(int channel, std::string_view bytes)>& on_output) {
  auto url = parse_url(request.api);
  if (!url || (url->scheme != "http" && url->scheme != "https")) {
    return KubeExecResult{false, "invalid API server url: " + request.api, -1};
  }
  if (request.command.empty()) return KubeExecResult{false, "exec: empty command", -1};
  try {
    std::shared_ptr<ssl::context> tls;
    if (url->scheme == "https") {
      std::string error;
      tls = client_context(request.tls, error);
      if (!tls) return KubeExecResult{false, error, -1};
    }
    ExecSession session(request, *url, std::move(tls), on_output);
    if (!session.connect()) return std::move(session.result);
    session.write_stdin();
    session.read_next();
    session.io.restart();
    while (!session.finished && session.io.run_one()) {
    }
    return std::move(session.result);
  } catch (const std::exception& e) {
    return KubeExecResult{false, std::string("exec failed: ") + e.what(), -1};
  }
}

}  // namespace gantry::net
