// HttpServer against clients that hold resources without a valid request (SPEC section 11): the
// HeadHandler refuses before a body byte is read, unauthenticated connections are capped, and
// trickling cannot push the head and body deadlines back. Raw sockets on 127.0.0.1.
#include <stdlib.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "gantry/net/event_loop.hpp"
#include "gantry/net/http_server.hpp"
#include "loop_thread.hpp"
#include "raw_socket.hpp"

using namespace gantry::net;
using gantry::net::test::LoopThread;
using gantry::net::test::RawSocket;
using std::chrono::milliseconds;

namespace {

constexpr std::string_view kToken = "Bearer good";

// What the handlers saw, read and written on the loop thread only.
struct Seen {
  int heads = 0, requests = 0, upgrades = 0;
  std::string head_method, head_path, head_auth, head_body, head_body_file, body;
};

// Refuses a head without kToken, the way the controller refuses a missing or unknown token.
HeadHandler token_check(Seen& seen) {
  return [&seen](const Request& head) -> std::optional<Response> {
    ++seen.heads;
    seen.head_method = head.method;
    seen.head_path = head.path;
    seen.head_auth = head.header("authorization");
    seen.head_body = head.body;
    seen.head_body_file = head.body_file;
    if (head.header("authorization") == kToken) return std::nullopt;
    Response res;
    res.status = 401;
    res.body = R"({"error":{"code":"unauthorized","message":"missing or unknown token"}})";
    return res;
  };
}

HttpHandler recorder(Seen& seen) {
  return [&seen](const Request& req) {
    ++seen.requests;
    seen.body = req.body;
    Response res;
    res.content_type = "text/plain";
    res.body = "ok " + std::to_string(req.body.size());
    return res;
  };
}

WsHandler ws_recorder(Seen& seen) {
  return [&seen](const Request&, std::shared_ptr<WsConnection>, WsHandlers&) {
    ++seen.upgrades;
    return std::optional<Response>();
  };
}

ServerOptions limit_options() {
  ServerOptions options;
  options.port = 0;
  options.max_body = 1 << 20;
  return options;
}

std::string post_head(std::string_view path, uint64_t length, bool token) {
  std::string head = "POST " + std::string(path) + " HTTP/1.1\r\nHost: x\r\n";
  if (token) head += "Authorization: " + std::string(kToken) + "\r\n";
  return head + "Content-Length: " + std::to_string(length) + "\r\n\r\n";
}

const std::string kAuthorizedGet =
    "GET /ping HTTP/1.1\r\nHost: x\r\nAuthorization: " + std::string(kToken) + "\r\n\r\n";

// True when a connection made now is served: false when the server closed it at once.
bool served(uint16_t port) {
  RawSocket raw(port);
  return raw.connected() && raw.send(kAuthorizedGet) &&
         raw.read_response().rfind("HTTP/1.1 200 ", 0) == 0;
}

template <class F>
bool eventually(F done) {
  for (int i = 0; i < 150; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return false;
}

}  // namespace

TEST_CASE("HTTP head handler refuses before the body is read", "[net][http][limits]") {
  EventLoop loop;
  Seen seen;
  HttpServer server(loop, limit_options(), recorder(seen), nullptr, token_check(seen));
  std::string error;
  REQUIRE(server.start(error));
  LoopThread thread(loop);

  SECTION("no body sent: the refusal comes at once") {
    RawSocket raw(server.port());
    REQUIRE(raw.connected());
    auto start = std::chrono::steady_clock::now();
    raw.send(post_head("/runs", 100000000, false));
    std::string response = raw.read_response();
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
    CHECK(response.rfind("HTTP/1.1 401 ", 0) == 0);
    CHECK(response.find("Connection: close\r\n") != std::string::npos);
    CHECK(response.find("missing or unknown token") != std::string::npos);
    CHECK(raw.closed_by_peer());
  }
  SECTION("part of the body sent: the refusal is still delivered, not reset") {
    RawSocket raw(server.port());
    REQUIRE(raw.connected());
    raw.send(post_head("/runs", 100000000, false));
    raw.send(std::string(1 << 20, 'x'));
    CHECK(raw.read_response().rfind("HTTP/1.1 401 ", 0) == 0);
  }
  CHECK(thread.call([&] { return seen.requests; }) == 0);
  CHECK(thread.call([&] { return seen.heads; }) == 1);
}

TEST_CASE("HTTP head handler sees the head and accepted requests go on", "[net][http][limits]") {
  EventLoop loop;
  Seen seen;
  HttpServer server(loop, limit_options(), recorder(seen), ws_recorder(seen));
  server.set_head_handler(token_check(seen));
  std::string error;
  REQUIRE(server.start(error));
  LoopThread thread(loop);

  RawSocket raw(server.port());
  REQUIRE(raw.connected());
  raw.send(post_head("/runs/7", 5, true) + "hello");
  CHECK(raw.read_response().find("ok 5") != std::string::npos);
  thread.call([&] {
    CHECK(seen.heads == 1);
    CHECK(seen.head_method == "POST");
    CHECK(seen.head_path == "/runs/7");
    CHECK(seen.head_auth == kToken);
    CHECK(seen.head_body.empty());
    CHECK(seen.head_body_file.empty());
    CHECK(seen.body == "hello");
    return 0;
  });

  // WebSocket upgrades meet the HeadHandler before the WsHandler.
  const std::string upgrade =
      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
  RawSocket refused(server.port());
  REQUIRE(refused.connected());
  refused.send(upgrade + "\r\n");
  CHECK(refused.read_response().rfind("HTTP/1.1 401 ", 0) == 0);
  CHECK(thread.call([&] { return seen.upgrades; }) == 0);

  RawSocket accepted(server.port());
  REQUIRE(accepted.connected());
  accepted.send(upgrade + "Authorization: " + std::string(kToken) + "\r\n\r\n");
  CHECK(accepted.read_head().rfind("HTTP/1.1 101 ", 0) == 0);
  CHECK(thread.call([&] { return seen.upgrades; }) == 1);
}

TEST_CASE("HTTP unauthenticated connections are capped per address and in all",
          "[net][http][limits]") {
  EventLoop loop;
  Seen seen;
  ServerOptions options = limit_options();
  bool per_address = GENERATE(true, false);
  if (per_address) {
    options.max_unauthenticated_per_address = 4;
  } else {
    options.max_unauthenticated = 4;
  }
  HttpServer server(loop, options, recorder(seen), nullptr, token_check(seen));
  std::string error;
  REQUIRE(server.start(error));
  LoopThread thread(loop);

  // Four connections that send nothing fill the cap. Until the server has accepted them all, a
  // fifth may still get in: wait for the refusal.
  std::vector<std::unique_ptr<RawSocket>> idle;
  for (int i = 0; i < 4; ++i) {
    idle.push_back(std::make_unique<RawSocket>(server.port()));
    REQUIRE(idle.back()->connected());
  }
  CHECK(eventually([&] { return !served(server.port()); }));
  CHECK_FALSE(served(server.port()));

  // One authenticates: a place is free, and it stays open beside the others.
  REQUIRE(idle[0]->send(kAuthorizedGet));
  CHECK(idle[0]->read_response().rfind("HTTP/1.1 200 ", 0) == 0);
  CHECK(served(server.port()));
  idle.push_back(std::make_unique<RawSocket>(server.port()));
  CHECK(eventually([&] { return !served(server.port()); }));

  // A refused request does not authenticate its connection; closing it frees its place.
  REQUIRE(idle[1]->send(post_head("/runs", 0, false)));
  CHECK(idle[1]->read_response().rfind("HTTP/1.1 401 ", 0) == 0);
  CHECK_FALSE(served(server.port()));
  idle[1].reset();
  CHECK(eventually([&] { return served(server.port()); }));
  REQUIRE(idle[0]->send(kAuthorizedGet));
  CHECK(idle[0]->read_response().rfind("HTTP/1.1 200 ", 0) == 0);
}

TEST_CASE("HTTP accepting pauses at the connection cap and resumes when one closes",
          "[net][http][limits]") {
  EventLoop loop;
  Seen seen;
  ServerOptions options = limit_options();
  options.max_connections = 3;
  HttpServer server(loop, options, recorder(seen), nullptr, token_check(seen));
  std::string error;
  REQUIRE(server.start(error));
  LoopThread thread(loop);

  std::vector<std::unique_ptr<RawSocket>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(std::make_unique<RawSocket>(server.port()));
    REQUIRE(open.back()->send(kAuthorizedGet));
    REQUIRE(open.back()->read_response().rfind("HTTP/1.1 200 ", 0) == 0);
  }
  // The fourth waits in the listen backlog: connected, not answered, not closed.
  RawSocket waiting(server.port());
  REQUIRE(waiting.connected());
  REQUIRE(waiting.send(kAuthorizedGet));
  CHECK_FALSE(waiting.readable(milliseconds(500)));
  open.pop_back();
  CHECK(waiting.read_response().rfind("HTTP/1.1 200 ", 0) == 0);
}

TEST_CASE("HTTP a trickled body is closed by its deadline", "[net][http][limits]") {
  EventLoop loop;
  Seen seen;
  ServerOptions options = limit_options();
  options.idle_timeout = std::chrono::seconds(5);
  options.body_timeout = milliseconds(1000);
  options.min_body_rate = 1000;  // bytes per second
  HttpServer server(loop, options, recorder(seen), nullptr, token_check(seen));
  std::string error;
  REQUIRE(server.start(error));
  LoopThread thread(loop);

  SECTION("1 byte per 100 ms is closed after about a second") {
    RawSocket raw(server.port());
    REQUIRE(raw.connected());
    raw.send(post_head("/runs", 1000, true));
    auto closed = raw.trickle_until_closed("x", milliseconds(100), milliseconds(4000));
    REQUIRE(closed);
    CHECK(*closed >= milliseconds(900));
    CHECK(*closed < milliseconds(2500));
    CHECK(thread.call([&] { return seen.requests; }) == 0);
  }
  SECTION("a body faster than min_body_rate may take longer than body_timeout") {
    RawSocket raw(server.port());
    REQUIRE(raw.connected());
    raw.send(post_head("/runs", 5000, true));
    // 2000 bytes/s for 2.5 s.
    for (int i = 0; i < 25; ++i) {
      REQUIRE(raw.send(std::string(200, 'y')));
      std::this_thread::sleep_for(milliseconds(100));
    }
    CHECK(raw.read_response().find("ok 5000") != std::string::npos);
  }
}

TEST_CASE("HTTP the head has a deadline trickling cannot push back", "[net][http][limits]") {
  EventLoop loop;
  Seen seen;
  ServerOptions options = limit_options();
  options.idle_timeout = std::chrono::seconds(10);
  options.head_timeout = milliseconds(1000);
  HttpServer server(loop, options, recorder(seen), nullptr, token_check(seen));
  std::string error;
  REQUIRE(server.start(error));
  LoopThread thread(loop);

  SECTION("the first request's, from the connection") {
    RawSocket raw(server.port());
    REQUIRE(raw.connected());
    raw.send("GET /ping HTTP/1.1\r\n");
    auto closed = raw.trickle_until_closed("X-A: b\r\n", milliseconds(100), milliseconds(5000));
    REQUIRE(closed);
    CHECK(*closed < milliseconds(2500));
  }
  SECTION("a later request's, from its first byte, after an idle wait") {
    RawSocket raw(server.port());
    REQUIRE(raw.send(kAuthorizedGet));
    REQUIRE(raw.read_response().rfind("HTTP/1.1 200 ", 0) == 0);
    // Idle longer than head_timeout is allowed between requests (idle_timeout is 10 s)...
    std::this_thread::sleep_for(milliseconds(1500));
    REQUIRE(raw.send(kAuthorizedGet));
    REQUIRE(raw.read_response().rfind("HTTP/1.1 200 ", 0) == 0);
    // ...but not within one.
    raw.send("GET /ping HTTP/1.1\r\n");
    auto closed = raw.trickle_until_closed("X-A: b\r\n", milliseconds(100), milliseconds(5000));
    REQUIRE(closed);
    CHECK(*closed < milliseconds(2500));
  }
}

TEST_CASE("HTTP a refused upload creates no file", "[net][http][limits]") {
  // The server's temp files go to TMPDIR: a directory of this test's own.
  auto dir = std::filesystem::temp_directory_path() /
             ("gantry-net-test-" + std::to_string(::getpid()) + "-uploads");
  std::filesystem::create_directories(dir);
  std::string old_tmpdir = ::getenv("TMPDIR") ? ::getenv("TMPDIR") : "";
  ::setenv("TMPDIR", dir.c_str(), 1);
  struct Restore {
    std::string old;
    std::filesystem::path dir;
    ~Restore() {
      if (old.empty()) {
        ::unsetenv("TMPDIR");
      } else {
        ::setenv("TMPDIR", old.c_str(), 1);
      }
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } restore{old_tmpdir, dir};

  EventLoop loop;
  Seen seen;
  ServerOptions options = limit_options();
  options.upload_prefixes = {"/agent/"};
  HttpServer server(loop, options, recorder(seen), nullptr, token_check(seen));
  std::string error;
  REQUIRE(server.start(error));
  LoopThread thread(loop);

  RawSocket raw(server.port());
  REQUIRE(raw.connected());
  raw.send(post_head("/agent/jobs/1/artifacts", 500 << 20, false));
  raw.send(std::string(1 << 20, 'z'));
  CHECK(raw.read_response().rfind("HTTP/1.1 401 ", 0) == 0);
  CHECK(std::filesystem::is_empty(dir));

  // The same upload with the token is stored (and removed after the handler).
  RawSocket ok(server.port());
  ok.send(post_head("/agent/jobs/1/artifacts", 3 << 20, true));
  ok.send(std::string(2 << 20, 'z'));
  CHECK(eventually([&] { return !std::filesystem::is_empty(dir); }));  // the body's temp file
  CHECK(thread.call([&] { return seen.requests; }) == 0);
  ok.send(std::string(1 << 20, 'z'));
  CHECK(ok.read_response().find("ok 0") != std::string::npos);
}
