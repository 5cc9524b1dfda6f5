#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gantry/net/event_loop.hpp"
#include "gantry/net/http_server.hpp"
#include "gantry/net/ws_client.hpp"
#include "loop_thread.hpp"

using namespace gantry::net;
using gantry::net::test::LoopThread;
using Message = std::pair<std::string, bool>;  // data, binary

namespace {

// What both ends saw. Touched on the loop thread only (tests read it through call()).
struct Recorder {
  int upgrades = 0;
  std::vector<Message> server_messages;
  std::vector<std::pair<uint16_t, std::string>> server_closes;
  int opens = 0;
  std::vector<Message> client_messages;
  std::vector<std::string> disconnects;
  std::vector<int> refusals;
};

// Accepts "Bearer good" and echoes; "close-me" closes with 4000; path /flood overfills the queue.
WsHandler echo_ws(Recorder& rec) {
  return [&rec](const Request& req, std::shared_ptr<WsConnection> conn,
                WsHandlers& handlers) -> std::optional<Response> {
    ++rec.upgrades;
    if (req.header("authorization") != "Bearer good") {
      Response refusal;
      refusal.status = 401;
      refusal.body = R"({"error":"unauthorized"})";
      return refusal;
    }
    if (req.path == "/flood") {
      for (int i = 0; i < 100; ++i) conn->send_binary(std::string(4096, 'f'));
    }
    std::weak_ptr<WsConnection> weak = conn;  // a strong capture would be a reference cycle
    handlers.on_message = [&rec, weak](std::string_view data, bool binary) {
      rec.server_messages.emplace_back(std::string(data), binary);
      auto c = weak.lock();
      if (!c) return;
      if (data == "close-me") {
        c->close(4000, "bye");
      } else if (binary) {
        c->send_binary(std::string(data));
      } else {
        c->send_text(std::string(data));
      }
    };
    handlers.on_close = [&rec](uint16_t code, std::string reason) {
      rec.server_closes.emplace_back(code, std::move(reason));
    };
    return std::nullopt;
  };
}

ServerOptions server_options() {
  ServerOptions options;
  options.port = 0;
  options.max_ws_message = 1024 * 1024;
  return options;
}

WsClientOptions client_options(uint16_t port, const std::string& token = "good",
                               const std::string& path = "/ws") {
  WsClientOptions options;
  options.url = "ws://127.0.0.1:" + std::to_string(port) + path;
  options.headers = {{"Authorization", "Bearer " + token}};
  options.backoff_base = std::chrono::milliseconds(20);
  options.backoff_cap = std::chrono::milliseconds(100);
  options.connect_timeout = std::chrono::milliseconds(2000);
  return options;
}

void record(WsClient& client, Recorder& rec) {
  client.on_open = [&rec] { ++rec.opens; };
  client.on_message = [&rec](std::string_view data, bool binary) {
    rec.client_messages.emplace_back(std::string(data), binary);
  };
  client.on_disconnect = [&rec](std::string reason) { rec.disconnects.push_back(reason); };
}

}  // namespace

TEST_CASE("WebSocket text and binary echo, server close, client stop", "[net][ws]") {
  EventLoop loop;
  Recorder rec;
  HttpServer server(loop, server_options(), nullptr, echo_ws(rec));
  std::string error;
  REQUIRE(server.start(error));
  WsClient client(loop, client_options(server.port()));
  record(client, rec);
  client.on_open = [&] {
    ++rec.opens;
    client.send_text("hello");
    client.send_binary(std::string("\0\x01\xff", 3));
  };
  LoopThread thread(loop);
  thread.call([&] { client.start(); });

  REQUIRE(thread.wait_until([&] { return rec.client_messages.size() >= 2; }));
  auto messages = thread.call([&] { return rec.client_messages; });
  CHECK(messages[0] == Message{"hello", false});
  CHECK(messages[1] == Message{std::string("\0\x01\xff", 3), true});
  CHECK(thread.call([&] { return client.connected(); }));

  // A close from the server carries its code and reason; the client then reconnects.
  thread.call([&] { client.send_text("close-me"); });
  REQUIRE(thread.wait_until([&] { return rec.opens == 2; }));
  CHECK(thread.call([&] { return rec.disconnects; }) ==
        std::vector<std::string>{"closed 4000 bye"});
  CHECK(thread.call([&] { return rec.server_closes.at(0).first; }) == 4000);

  thread.call([&] { client.stop(); });
  REQUIRE(thread.wait_until([&] { return rec.server_closes.size() == 2; }));
  CHECK(thread.call([&] { return rec.server_closes.at(1).first; }) == 1000);
  CHECK_FALSE(thread.call([&] { return client.connected(); }));
  CHECK_FALSE(thread.call([&] { return client.send_text("late"); }));
}

TEST_CASE("WebSocket upgrade refused with 401 reaches on_refused", "[net][ws]") {
  EventLoop loop;
  Recorder rec;
  HttpServer server(loop, server_options(), nullptr, echo_ws(rec));
  std::string error;
  REQUIRE(server.start(error));
  bool keep_trying = false;
  WsClient client(loop, client_options(server.port(), "bad"));
  record(client, rec);
  client.on_refused = [&](int status) {
    rec.refusals.push_back(status);
    return keep_trying;
  };
  LoopThread thread(loop);

  SECTION("returning false stops reconnecting") {
    thread.call([&] { client.start(); });
    REQUIRE(thread.wait_until([&] { return !rec.refusals.empty(); }));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // > 2 backoff caps
    CHECK(thread.call([&] { return rec.refusals; }) == std::vector<int>{401});
    CHECK(thread.call([&] { return rec.upgrades; }) == 1);
  }
  SECTION("returning true keeps trying") {
    keep_trying = true;
    thread.call([&] { client.start(); });
    CHECK(thread.wait_until([&] { return rec.upgrades >= 3; }));
  }
  CHECK(thread.call([&] { return rec.opens; }) == 0);
}

TEST_CASE("WebSocket oversized message closes with 1009, the server keeps serving", "[net][ws]") {
  EventLoop loop;
  Recorder rec;
  ServerOptions options = server_options();
  options.max_ws_message = 1024;
  HttpServer server(loop, options, nullptr, echo_ws(rec));
  std::string error;
  REQUIRE(server.start(error));
  WsClient client(loop, client_options(server.port()));
  record(client, rec);
  client.on_open = [&] {
    ++rec.opens;
    client.send_binary(rec.opens == 1 ? std::string(4096, 'x') : std::string("small"));
  };
  LoopThread thread(loop);
  thread.call([&] { client.start(); });

  REQUIRE(thread.wait_until([&] { return !rec.client_messages.empty(); }));
  CHECK(thread.call([&] { return rec.server_closes.at(0).first; }) == 1009);
  CHECK(thread.call([&] { return rec.disconnects.at(0); }).rfind("closed 1009", 0) == 0);
  CHECK(thread.call([&] { return rec.client_messages.at(0); }) == Message{"small", true});
}

TEST_CASE("WebSocket client reconnects after the server restarts on the same port", "[net][ws]") {
  EventLoop loop;
  Recorder rec;
  auto server = std::make_unique<HttpServer>(loop, server_options(), nullptr, echo_ws(rec));
  std::string error;
  REQUIRE(server->start(error));
  uint16_t port = server->port();
  WsClient client(loop, client_options(port));
  record(client, rec);
  LoopThread thread(loop);
  thread.call([&] { client.start(); });
  REQUIRE(thread.wait_until([&] { return rec.opens == 1; }));

  thread.call([&] { server.reset(); });
  REQUIRE(thread.wait_until([&] { return rec.disconnects.size() == 1; }));
  CHECK(thread.call([&] { return rec.disconnects.at(0); }) == "closed 1001 server stopping");
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // a few refused attempts
  CHECK(thread.call([&] { return rec.opens; }) == 1);

  bool restarted = thread.call([&] {
    ServerOptions options = server_options();
    options.port = port;
    server = std::make_unique<HttpServer>(loop, options, nullptr, echo_ws(rec));
    std::string restart_error;
    return server->start(restart_error);
  });
  REQUIRE(restarted);
  REQUIRE(thread.wait_until([&] { return rec.opens == 2; }));
  CHECK(thread.call([&] { return client.send_text("again"); }));
  REQUIRE(thread.wait_until([&] { return !rec.client_messages.empty(); }));
  CHECK(thread.call([&] { return rec.client_messages.at(0).first; }) == "again");
}

TEST_CASE("WebSocket control messages overtake queued binary messages", "[net][ws]") {
  EventLoop loop;
  Recorder rec;
  HttpServer server(loop, server_options(), nullptr, echo_ws(rec));
  std::string error;
  REQUIRE(server.start(error));
  WsClient client(loop, client_options(server.port()));
  record(client, rec);
  size_t queued = 0;
  client.on_open = [&] {
    for (char c = 'a'; c < 'e'; ++c) client.send_binary(std::string(256 * 1024, c));
    client.send_text("control");
    queued = client.queued_bytes();
  };
  LoopThread thread(loop);
  thread.call([&] { client.start(); });

  REQUIRE(thread.wait_until([&] { return rec.server_messages.size() == 5; }));
  auto messages = thread.call([&] { return rec.server_messages; });
  std::vector<std::string> order;
  for (const auto& [data, binary] : messages) order.push_back(binary ? data.substr(0, 1) : data);
  // The first binary message may already be in flight when the text one is queued.
  bool overtook = order == std::vector<std::string>{"control", "a", "b", "c", "d"} ||
                  order == std::vector<std::string>{"a", "control", "b", "c", "d"};
  CAPTURE(order);
  CHECK(overtook);
  for (const auto& [data, binary] : messages) {
    if (binary) CHECK(data == std::string(256 * 1024, data[0]));
  }
  CHECK(thread.call([&] { return queued; }) == 4 * 256 * 1024 + 7);
}

TEST_CASE("WebSocket server closes a connection whose queue overflows with 1008", "[net][ws]") {
  EventLoop loop;
  Recorder rec;
  ServerOptions options = server_options();
  options.max_ws_queue = 64 * 1024;
  HttpServer server(loop, options, nullptr, echo_ws(rec));
  std::string error;
  REQUIRE(server.start(error));
  WsClient client(loop, client_options(server.port(), "good", "/flood"));
  record(client, rec);
  LoopThread thread(loop);
  thread.call([&] { client.start(); });

  REQUIRE(thread.wait_until([&] { return !rec.disconnects.empty(); }));
  CHECK(thread.call([&] { return rec.disconnects.at(0); }) == "closed 1008 too slow");
  REQUIRE(thread.wait_until([&] { return !rec.server_closes.empty(); }));
  CHECK(thread.call([&] { return rec.server_closes.at(0).first; }) == 1008);
  thread.call([&] { client.stop(); });
}

TEST_CASE("WebSocket sessions open when the loop is destroyed are released", "[net][ws]") {
  std::weak_ptr<WsConnection> seen;
  {
    EventLoop loop;
    // Handlers holding their own connection, as daemons do: a cycle only on_close breaks.
    auto handler = [&seen](const Request&, std::shared_ptr<WsConnection> conn,
                           WsHandlers& handlers) -> std::optional<Response> {
      seen = conn;
      handlers.on_message = [conn](std::string_view, bool) {};
      return std::nullopt;
    };
    HttpServer server(loop, server_options(), nullptr, handler);
    std::string error;
    REQUIRE(server.start(error));
    WsClient client(loop, client_options(server.port()));
    bool open = false;
    client.on_open = [&] { open = true; };
    LoopThread thread(loop);
    thread.call([&] { client.start(); });
    REQUIRE(thread.wait_until([&] { return open; }));
  }  // the loop stops first, then everything is destroyed with the connection still open
  CHECK(seen.expired());
}

TEST_CASE("WebSocket client drop() breaks the connection and reconnects", "[net][ws]") {
  EventLoop loop;
  Recorder rec;
  HttpServer server(loop, server_options(), nullptr, echo_ws(rec));
  std::string error;
  REQUIRE(server.start(error));
  WsClient client(loop, client_options(server.port()));
  record(client, rec);
  LoopThread thread(loop);
  thread.call([&] { client.start(); });
  REQUIRE(thread.wait_until([&] { return rec.opens == 1; }));

  thread.call([&] { client.drop(); });
  REQUIRE(thread.wait_until([&] { return rec.opens == 2; }));
  CHECK(thread.call([&] { return rec.disconnects; }) == std::vector<std::string>{"dropped"});
  REQUIRE(thread.wait_until([&] { return rec.server_closes.size() == 1; }));
  CHECK(thread.call([&] { return rec.server_closes.at(0).first; }) == 1006);  // no close frame
}
