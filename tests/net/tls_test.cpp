// HTTPS and WSS through gantry_net: verified certificates, host names, a foreign CA, mutual TLS,
// a renewed certificate, and the errors a user sees. Certificates come from test_pki.hpp.
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "../support/test_pki.hpp"
#include "gantry/net/event_loop.hpp"
#include "gantry/net/http_client.hpp"
#include "gantry/net/http_server.hpp"
#include "gantry/net/tls.hpp"
#include "gantry/net/ws_client.hpp"
#include "loop_thread.hpp"

using namespace gantry::net;
using gantry::net::test::LoopThread;
using gantry::test::TestPki;

namespace {

const TestPki& pki() {
  static const TestPki made = gantry::test::make_test_pki(
      std::filesystem::temp_directory_path() / ("gantry-net-tls-" + std::to_string(::getpid())));
  return made;
}

// Says how the request arrived: "tls=1 cert=CN=agent-1".
Response describe_request(const Request& req) {
  Response res;
  res.content_type = "text/plain";
  res.body = "tls=" + std::to_string(req.tls ? 1 : 0) + " cert=" + req.client_cert;
  return res;
}

ServerOptions tls_server(const std::string& cert, const std::string& key,
                         const std::string& client_ca = {}) {
  ServerOptions options;
  options.port = 0;
  options.tls = TlsServerOptions{cert, key, client_ca};
  return options;
}

ClientResponse get(uint16_t port, TlsClientOptions tls, const std::string& host = "127.0.0.1") {
  ClientRequest req;
  req.url = "https://" + host + ":" + std::to_string(port) + "/who";
  req.tls = std::move(tls);
  req.timeout = std::chrono::seconds(5);
  return http_request(req);
}

}  // namespace

TEST_CASE("HTTPS with a certificate verified against the CA and the host name", "[net][tls]") {
  EventLoop loop;
  HttpServer server(loop, tls_server(pki().server_cert, pki().server_key), describe_request,
                    nullptr);
  std::string error;
  REQUIRE(server.start(error));
  LoopThread thread(loop);

  ClientResponse ok = get(server.port(), TlsClientOptions{pki().ca});
  REQUIRE(ok.ok);
  CHECK(ok.status == 200);
  CHECK(ok.body == "tls=1 cert=");
  CHECK(get(server.port(), TlsClientOptions{pki().ca}, "localhost").status == 200);

  // The system's CAs do not know the test CA.
  ClientResponse unknown = get(server.port(), TlsClientOptions{});
  CHECK_FALSE(unknown.ok);
  CHECK(unknown.error.find("certificate verify failed") != std::string::npos);

  // A CA that signed nothing here.
  ClientResponse foreign = get(server.port(), TlsClientOptions{pki().other_ca});
  CHECK_FALSE(foreign.ok);
  CHECK(foreign.error.find("tls handshake 127.0.0.1:") == 0);
  CHECK(foreign.error.find("unable to get local issuer certificate") != std::string::npos);

  // Plain HTTP to the TLS port gets nothing (and does not hang the server).
  ClientRequest plain;
  plain.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/who";
  plain.timeout = std::chrono::seconds(5);
  CHECK_FALSE(http_request(plain).ok);
  CHECK(get(server.port(), TlsClientOptions{pki().ca}).status == 200);
}

TEST_CASE("HTTPS refuses a certificate for another host unless told not to check", "[net][tls]") {
  EventLoop loop;
  HttpServer server(loop, tls_server(pki().wrong_host_cert, pki().wrong_host_key), describe_request,
                    nullptr);
  std::string error;
  REQUIRE(server.start(error));
  LoopThread thread(loop);

  ClientResponse mismatch = get(server.port(), TlsClientOptions{pki().ca});
  CHECK_FALSE(mismatch.ok);
  CHECK(mismatch.error.find("certificate verify failed") != std::string::npos);

  TlsClientOptions insecure;
  insecure.insecure_skip_verify = true;
  CHECK(get(server.port(), insecure).status == 200);
}

TEST_CASE("Mutual TLS: the server sees a verified client certificate and refuses a foreign one",
          "[net][tls]") {
  EventLoop loop;
  HttpServer server(loop, tls_server(pki().server_cert, pki().server_key, pki().ca),
                    describe_request, nullptr);
  std::string error;
  REQUIRE(server.start(error));
  LoopThread thread(loop);

  TlsClientOptions with_cert{pki().ca, false, pki().client_cert, pki().client_key};
  ClientResponse agent = get(server.port(), with_cert);
  REQUIRE(agent.ok);
  CHECK(agent.body == "tls=1 cert=CN=agent-1");

  // No certificate: connected, and the handler knows there was none.
  CHECK(get(server.port(), TlsClientOptions{pki().ca}).body == "tls=1 cert=");

  TlsClientOptions intruder{pki().ca, false, pki().other_client_cert, pki().other_client_key};
  CHECK_FALSE(get(server.port(), intruder).ok);

  // A key that does not belong to the certificate is refused before any connection.
  TlsClientOptions mixed{pki().ca, false, pki().client_cert, pki().server_key};
  ClientResponse bad = get(server.port(), mixed);
  CHECK_FALSE(bad.ok);
  CHECK(bad.error.find("does not match") != std::string::npos);
}

TEST_CASE("A renewed certificate is loaded without a restart", "[net][tls]") {
  EventLoop loop;
  HttpServer server(loop, tls_server(pki().other_cert, pki().other_key), describe_request, nullptr);
  std::string error;
  REQUIRE(server.start(error));
  LoopThread thread(loop);
  CHECK_FALSE(get(server.port(), TlsClientOptions{pki().ca}).ok);

  bool bad_reload = thread.call([&] {
    std::string e;
    return server.reload_tls(TlsServerOptions{pki().server_cert, pki().other_key, ""}, e);
  });
  CHECK_FALSE(bad_reload);  // key and certificate do not match: the old ones stay
  CHECK(get(server.port(), TlsClientOptions{pki().other_ca}).status == 200);

  bool reloaded = thread.call([&] {
    std::string e;
    return server.reload_tls(TlsServerOptions{pki().server_cert, pki().server_key, ""}, e);
  });
  CHECK(reloaded);
  CHECK(get(server.port(), TlsClientOptions{pki().ca}).status == 200);
}

TEST_CASE("A TLS server with unusable files does not start and says why", "[net][tls]") {
  EventLoop loop;
  std::string error;
  HttpServer missing(loop, tls_server("/nonexistent/cert.pem", pki().server_key), describe_request,
                     nullptr);
  CHECK_FALSE(missing.start(error));
  CHECK(error == "tls: cert /nonexistent/cert.pem: cannot be read");

  HttpServer mismatched(loop, tls_server(pki().server_cert, pki().client_key), describe_request,
                        nullptr);
  CHECK_FALSE(mismatched.start(error));
  CHECK(error.find("does not match the certificate") != std::string::npos);

  CHECK(check_tls_server(TlsServerOptions{pki().server_cert, pki().server_key, pki().ca}).empty());
}

TEST_CASE("WSS: a WebSocket over TLS echoes and refuses an unverified server", "[net][tls]") {
  EventLoop loop;
  std::vector<std::string> received;
  int opens = 0;
  WsHandler ws = [](const Request& req, std::shared_ptr<WsConnection> conn,
                    WsHandlers& handlers) -> std::optional<Response> {
    std::weak_ptr<WsConnection> weak = conn;
    bool tls = req.tls;
    handlers.on_message = [weak, tls](std::string_view data, bool) {
      if (auto c = weak.lock()) c->send_text(std::string(data) + (tls ? " over tls" : ""));
    };
    return std::nullopt;
  };
  HttpServer server(loop, tls_server(pki().server_cert, pki().server_key), describe_request, ws);
  std::string error;
  REQUIRE(server.start(error));

  WsClientOptions good;
  good.url = "wss://127.0.0.1:" + std::to_string(server.port()) + "/ws";
  good.tls.ca_file = pki().ca;
  WsClient client(loop, good);
  client.on_open = [&] {
    ++opens;
    client.send_text("hello");
  };
  client.on_message = [&](std::string_view data, bool) { received.emplace_back(data); };

  WsClientOptions foreign = good;
  foreign.tls.ca_file = pki().other_ca;
  foreign.backoff_base = std::chrono::milliseconds(20);
  foreign.backoff_cap = std::chrono::milliseconds(50);
  WsClient refused(loop, foreign);
  int refused_opens = 0;
  refused.on_open = [&] { ++refused_opens; };

  LoopThread thread(loop);
  thread.call([&] {
    client.start();
    refused.start();
    return 0;
  });
  CHECK(thread.wait_until([&] { return !received.empty(); }));
  CHECK(thread.call([&] { return received; }) == std::vector<std::string>{"hello over tls"});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(thread.call([&] { return refused_opens; }) == 0);
  thread.call([&] {
    client.stop();
    refused.stop();
    return 0;
  });
}
