#include "gantry/net/http_client.hpp"

#include "beast.hpp"
#include "gantry/net/url.hpp"
#include "stream.hpp"
#include "tls_context.hpp"

namespace gantry::net {
namespace {

constexpr size_t kHeaderLimit = size_t{64} * 1024;

struct Exchange {
  Exchange(const ClientRequest& r, Url u, std::shared_ptr<ssl::context> tls)
      : request(r),
        url(std::move(u)),
        where(host_port(url)),
        stream(tls ? Stream(beast::tcp_stream(io), std::move(tls))
                   : Stream(beast::tcp_stream(io))) {}

  const ClientRequest& request;
  Url url;
  std::string where;  // "host:port" for messages
  asio::io_context io;
  Stream stream;
  beast::flat_buffer buffer;
  ClientResponse response;

  bool fail(std::string_view step, const error_code& ec) {
    response.ok = false;
    response.error = std::string(step) + " " + where + ": " + describe(ec);
    return false;
  }
};

template <class Message>
error_code write_message(Exchange& x, Message& msg) {
  http::serializer<true, typename Message::body_type> serializer(msg);
  while (!serializer.is_done()) {
    x.stream.tcp().expires_after(x.request.timeout);
    error_code ec = run_step(x.io, [&](auto handler) {
      http::async_write_some(x.stream, serializer, std::move(handler));
    });
    if (ec) return ec;
  }
  return {};
}

template <class Body>
void fill_request(Exchange& x, http::request<Body>& msg) {
  msg.method_string(x.request.method);
  msg.target(x.url.target);
  msg.version(11);
  msg.set(http::field::host, host_port(x.url));
  msg.set(http::field::user_agent, "gantry");
  if (!x.request.bearer_token.empty()) {
    msg.set(http::field::authorization, "Bearer " + x.request.bearer_token);
  }
  if (!x.request.content_type.empty() &&
      (!x.request.body.empty() || !x.request.body_file.empty())) {
    msg.set(http::field::content_type, x.request.content_type);
  }
  for (const auto& [name, value] : x.request.headers) msg.set(name, value);
  msg.keep_alive(false);
  msg.prepare_payload();
}

error_code send_request(Exchange& x) {
  if (!x.request.body_file.empty()) {
    error_code ec;
    http::request<http::file_body> msg;
    msg.body().open(x.request.body_file.c_str(), beast::file_mode::scan, ec);
    if (ec) {
      x.response.error = "open " + x.request.body_file + ": " + describe(ec);
      return ec;
    }
    fill_request(x, msg);
    return write_message(x, msg);
  }
  http::request<http::string_body> msg;
  msg.body() = x.request.body;
  fill_request(x, msg);
  return write_message(x, msg);
}

template <class Parser>
error_code read_body(Exchange& x, Parser& parser) {
  while (!parser.is_done()) {
    x.stream.tcp().expires_after(x.request.timeout);
    error_code ec = run_step(x.io, [&](auto handler) {
      http::async_read_some(x.stream, x.buffer, parser, std::move(handler));
    });
    if (ec) return ec;
  }
  return {};
}

bool receive_response(Exchange& x) {
  http::response_parser<http::empty_body> head;
  head.header_limit(kHeaderLimit);
  head.body_limit(boost::none);
  head.skip(x.request.method == "HEAD");
  x.stream.tcp().expires_after(x.request.timeout);
  error_code ec = run_step(x.io, [&](auto handler) {
    http::async_read_header(x.stream, x.buffer, head, std::move(handler));
  });
  if (ec) return x.fail("read", ec);
  x.response.status = static_cast<int>(head.get().result_int());
  for (const auto& field : head.get()) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    x.response.headers[name] = std::string(field.value());
  }

  if (!x.request.output_file.empty() && x.response.status / 100 == 2) {
    http::response_parser<http::file_body> parser(std::move(head));
    parser.body_limit(boost::none);
    parser.get().body().open(x.request.output_file.c_str(), beast::file_mode::write, ec);
    if (ec) {
      x.response.error = "open " + x.request.output_file + ": " + describe(ec);
      return false;
    }
    ec = read_body(x, parser);
  } else {
    // Beast checks a Content-Length against the limit only while parsing the header.
    bool too_long = head.content_length() && *head.content_length() > x.request.max_body;
    http::response_parser<http::string_body> parser(std::move(head));
    parser.body_limit(x.request.max_body);
    ec = too_long ? error_code(http::error::body_limit) : read_body(x, parser);
    if (ec == http::error::body_limit) {
      x.response.error = "read " + x.where + ": response body exceeds " +
                         std::to_string(x.request.max_body) + " bytes";
      return false;
    }
    if (!ec) x.response.body = parser.release().body();
  }
  if (ec) return x.fail("read", ec);
  return true;
}

void exchange(Exchange& x) {
  error_code ec;
  tcp::resolver resolver(x.io);
  auto endpoints = resolver.resolve(x.url.host, std::to_string(x.url.port), ec);
  if (ec) {
    x.response.error = "resolve " + x.url.host + ": " + describe(ec);
    return;
  }
  x.stream.tcp().expires_after(x.request.timeout);
  ec = run_step(x.io,
                [&](auto handler) { x.stream.tcp().async_connect(endpoints, std::move(handler)); });
  if (ec) {
    x.fail("connect", ec);
    return;
  }
  error_code nodelay_ec;
  x.stream.tcp().socket().set_option(tcp::no_delay(true), nodelay_ec);
  if (x.stream.is_tls()) {
    prepare_client(x.stream.tls(), x.url.host, x.request.tls);
    x.stream.tcp().expires_after(x.request.timeout);
    ec = run_step(x.io, [&](auto handler) {
      x.stream.tls().async_handshake(ssl::stream_base::client, std::move(handler));
    });
    if (ec) {
      x.response.error = "tls handshake " + x.where + ": " + describe_handshake(x.stream.tls(), ec);
      return;
    }
  }
  error_code write_ec = send_request(x);
  if (write_ec && !x.response.error.empty()) return;  // a local file problem
  // A server that rejects the request early (413) may close before taking the whole body;
  // its response is still worth reading.
  bool read = receive_response(x);
  if (write_ec && !read) {
    x.fail("write", write_ec);
    return;
  }
  x.response.ok = read;
  error_code ignored;
  x.stream.tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
}

}  // namespace

namespace {

ClientResponse request_once(const ClientRequest& request) {
  auto url = parse_url(request.url);
  if (!url) return ClientResponse{false, "invalid url: " + request.url};
  if (url->scheme != "http" && url->scheme != "https") {
    return ClientResponse{false, "unsupported scheme " + url->scheme + ": " + request.url};
  }
  try {
    std::shared_ptr<ssl::context> tls;
    if (url->scheme == "https") {
      std::string error;
      tls = client_context(request.tls, error);
      if (!tls) return ClientResponse{false, error};
    }
    Exchange x(request, *url, std::move(tls));
    exchange(x);
    return std::move(x.response);
  } catch (const std::exception& e) {
    return ClientResponse{false, std::string("request failed: ") + e.what()};
  }
}

}  // namespace

ClientResponse http_request(const ClientRequest& request) {
  ClientResponse response = request_once(request);
  ClientRequest next = request;
  for (int i = 0; i < request.max_redirects && response.ok &&
                  (response.status == 307 || response.status == 308);
       ++i) {
    auto location = response.headers.find("location");
    if (location == response.headers.end()) break;
    auto from = parse_url(next.url);
    auto to = parse_url(location->second);
    if (!from || !to || to->scheme != from->scheme) break;  // never from https down to http
    next.url = location->second;
    response = request_once(next);
  }
  return response;
}

}  // namespace gantry::net
