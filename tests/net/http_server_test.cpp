#include "gantry/net/http_server.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "gantry/net/event_loop.hpp"
#include "gantry/net/http_client.hpp"
#include "loop_thread.hpp"
#include "raw_socket.hpp"

using namespace gantry::net;
using gantry::net::test::LoopThread;
using gantry::net::test::RawSocket;

namespace {

std::string base_url(const HttpServer& server) {
  return "http://127.0.0.1:" + std::to_string(server.port());
}

// Echoes what the server parsed, so tests can check parsing through the public client.
Response echo(const Request& req) {
  if (req.path == "/throw") throw std::runtime_error("handler bug");
  Response res;
  res.content_type = "text/plain";
  res.body = req.method + " " + req.path + " q=" + (req.query.count("q") ? req.query.at("q") : "") +
             " auth=" + req.header("authorization") + " body=" + req.body;
  res.headers.emplace_back("X-Echo", "yes");
  return res;
}

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("gantry-net-test-" + std::to_string(::getpid()) + "-" + name);
}

ServerOptions test_options() {
  ServerOptions options;
  options.port = 0;
  options.max_body = 1024;
  return options;
}

}  // namespace

TEST_CASE("HTTP GET and POST round trip", "[net][http]") {
  EventLoop loop;
  HttpServer server(loop, test_options(), echo, nullptr);
  std::string error;
  REQUIRE(server.start(error));
  LoopThread thread(loop);

  ClientRequest get;
  get.url = base_url(server) + "/runs/a%20b?q=x+y";
  get.bearer_token = "tok";
  ClientResponse res = http_request(get);
  REQUIRE(res.ok);
  CHECK(res.status == 200);
  CHECK(res.body == "GET /runs/a b q=x y auth=Bearer tok body=");
  CHECK(res.headers["x-echo"] == "yes");
  CHECK(res.headers["content-type"] == "text/plain");
  CHECK(res.headers["content-length"] == std::to_string(res.body.size()));

  ClientRequest post;
  post.method = "POST";
  post.url = base_url(server) + "/runs";
  post.body = R"({"pipeline":"main"})";
  res = http_request(post);
  REQUIRE(res.ok);
  CHECK(res.body == R"(POST /runs q= auth= body={"pipeline":"main"})");
}

TEST_CASE("HTTP oversized body gets 413 and the server keeps serving", "[net][http]") {
  EventLoop loop;
  HttpServer server(loop, test_options(), echo, nullptr);
  std::string error;
  REQUIRE(server.start(error));
  LoopThread thread(loop);

  ClientRequest big;
  big.method = "POST";
  big.url = base_url(server) + "/runs";
  big.body = std::string(64 * 1024, 'x');
  ClientResponse res = http_request(big);
  REQUIRE(res.ok);
  CHECK(res.status == 413);
  CHECK(res.body == R"({"error":{"code":"too_large","message":"request body too large"}})");

  SECTION("chunked bodies are limited too") {
    RawSocket raw(server.port());
    REQUIRE(raw.connected());
    raw.send("POST /runs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 4; ++i) raw.send("200\r\n" + std::string(0x200, 'y') + "\r\n");
    raw.send("0\r\n\r\n");
    CHECK(raw.read_response().rfind("HTTP/1.1 413 ", 0) == 0);
  }

  ClientRequest next;
  next.url = base_url(server) + "/after";
  res = http_request(next);
  REQUIRE(res.ok);
  CHECK(res.status == 200);
}

TEST_CASE("HTTP garbage gets 400 and the server keeps serving", "[net][http]") {
  EventLoop loop;
  HttpServer server(loop, test_options(), echo, nullptr);
  std::string error;
  REQUIRE(server.start(error));
  LoopThread thread(loop);

  RawSocket raw(server.port());
  REQUIRE(raw.connected());
  raw.send("\x01\x02 garbage \xff\r\n\r\n");
  std::string response = raw.read_response();
  CHECK(response.rfind("HTTP/1.1 400 ", 0) == 0);
  CHECK(response.find(R"({"error":{"code":"bad_request","message":"bad request"}})") !=
        std::string::npos);
  CHECK(raw.closed_by_peer());

  ClientRequest next;
  next.url = base_url(server) + "/after";
  ClientResponse res = http_request(next);
  REQUIRE(res.ok);
  CHECK(res.status == 200);
}

TEST_CASE("HTTP keep-alive serves several requests on one connection", "[net][http]") {
  EventLoop loop;
  HttpServer server(loop, test_options(), echo, nullptr);
  std::string error;
  REQUIRE(server.start(error));
  LoopThread thread(loop);

  RawSocket raw(server.port());
  REQUIRE(raw.connected());
  raw.send("GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(raw.read_response().find("GET /one ") != std::string::npos);
  CHECK(raw.read_response().find("GET /two ") != std::string::npos);
  raw.send("GET /three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(raw.read_response().find("GET /three ") != std::string::npos);
  CHECK(raw.closed_by_peer());
}

TEST_CASE("HTTP idle keep-alive connections are closed", "[net][http]") {
  EventLoop loop;
  ServerOptions options = test_options();
  options.idle_timeout = std::chrono::seconds(1);
  HttpServer server(loop, options, echo, nullptr);
  std::string error;
  REQUIRE(server.start(error));
  LoopThread thread(loop);

  RawSocket raw(server.port());
  REQUIRE(raw.connected());
  auto start = std::chrono::steady_clock::now();
  CHECK(raw.closed_by_peer());
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(4));
}

TEST_CASE("HTTP handler exceptions become 500", "[net][http]") {
  EventLoop loop;
  HttpServer server(loop, test_options(), echo, nullptr);
  std::string error;
  REQUIRE(server.start(error));
  LoopThread thread(loop);

  ClientRequest req;
  req.url = base_url(server) + "/throw";
  ClientResponse res = http_request(req);
  REQUIRE(res.ok);
  CHECK(res.status == 500);
  CHECK(res.body == R"({"error":{"code":"internal","message":"internal error"}})");
  req.url = base_url(server) + "/fine";
  CHECK(http_request(req).status == 200);
}

TEST_CASE("HTTP file responses stream from an offset", "[net][http]") {
  auto path = temp_path("file-response");
  std::string content;
  for (int i = 0; i < 50000; ++i) content += "line " + std::to_string(i) + "\n";
  std::ofstream(path, std::ios::binary) << content;

  EventLoop loop;
  auto handler = [&](const Request& req) {
    Response res;
    res.content_type = "text/plain";
    res.file_path = req.path == "/missing" ? path.string() + ".missing" : path.string();
    res.file_offset = req.query.count("offset") ? std::stoull(req.query.at("offset")) : 0;
    return res;
  };
  HttpServer server(loop, test_options(), handler, nullptr);
  std::string error;
  REQUIRE(server.start(error));
  LoopThread thread(loop);

  ClientRequest req;
  req.url = base_url(server) + "/log?offset=1000";
  req.max_body = 1 << 20;
  ClientResponse res = http_request(req);
  REQUIRE(res.ok);
  CHECK(res.status == 200);
  CHECK(res.headers["content-length"] == std::to_string(content.size() - 1000));
  CHECK(res.body == content.substr(1000));

  req.url = base_url(server) + "/log?offset=99999999";
  res = http_request(req);
  CHECK(res.status == 200);
  CHECK(res.body.empty());

  req.url = base_url(server) + "/missing";
  CHECK(http_request(req).status == 404);
  std::filesystem::remove(path);
}

TEST_CASE("HTTP uploads under an upload prefix go to a temp file", "[net][http]") {
  EventLoop loop;
  ServerOptions options = test_options();
  options.upload_prefixes = {"/artifacts/"};
  options.max_upload = 1 << 20;
  std::string seen_body, seen_file_content, seen_file;
  auto handler = [&](const Request& req) {
    seen_body = req.body;
    seen_file = req.body_file;
    if (!req.body_file.empty()) {
      std::ifstream in(req.body_file, std::ios::binary);
      seen_file_content.assign(std::istreambuf_iterator<char>(in), {});
    }
    return Response{};
  };
  HttpServer server(loop, options, handler, nullptr);
  std::string error;
  REQUIRE(server.start(error));
  LoopThread thread(loop);

  ClientRequest req;
  req.method = "PUT";
  req.url = base_url(server) + "/artifacts/app.tar";
  req.body = std::string(200 * 1024, 'a');
  ClientResponse res = http_request(req);
  REQUIRE(res.ok);
  CHECK(res.status == 200);
  // The handler ran on the loop thread: read what it saw there.
  CHECK(thread.call([&] { return seen_body; }).empty());
  CHECK(thread.call([&] { return seen_file_content; }) == req.body);
  CHECK_FALSE(std::filesystem::exists(thread.call([&] { return seen_file; })));  // removed

  req.body = "small";
  CHECK(http_request(req).status == 200);
  CHECK(thread.call([&] { return seen_body; }) == "small");
  CHECK(thread.call([&] { return seen_file; }).empty());

  req.body = std::string(2 << 20, 'a');  // past max_upload
  CHECK(http_request(req).status == 413);
}

TEST_CASE("HTTP start reports listen errors", "[net][http]") {
  EventLoop loop;
  HttpServer first(loop, test_options(), echo, nullptr);
  std::string error;
  REQUIRE(first.start(error));

  ServerOptions options = test_options();
  options.port = first.port();
  HttpServer second(loop, options, echo, nullptr);
  CHECK_FALSE(second.start(error));
  CHECK(error == "listen 127.0.0.1:" + std::to_string(first.port()) + ": address already in use");
}
