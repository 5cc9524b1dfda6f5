#include "gantry/net/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "gantry/net/event_loop.hpp"
#include "gantry/net/http_server.hpp"
#include "loop_thread.hpp"

using namespace gantry::net;
using gantry::net::test::LoopThread;

namespace {

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("gantry-net-client-test-" + std::to_string(::getpid()) + "-" + name);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A listening socket that never answers: the kernel completes connections, nobody reads.
class SilentListener {
 public:
  SilentListener() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 8);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  uint16_t port() const { return port_; }

 private:
  int fd_;
  uint16_t port_ = 0;
};

// Serves /big (10 KB), /status/<n>, and echoes the request's headers and body otherwise.
Response serve(const Request& req) {
  Response res;
  res.content_type = "text/plain";
  if (req.path == "/big") {
    res.body = std::string(10 * 1024, 'b');
  } else if (req.path.rfind("/status/", 0) == 0) {
    res.status = std::stoi(req.path.substr(8));
    res.body = "status body";
  } else {
    res.body = req.method + " auth=" + req.header("authorization") +
               " type=" + req.header("content-type") + " body=" + req.body;
    res.headers.emplace_back("X-Custom", "Value");
  }
  return res;
}

}  // namespace

TEST_CASE("http_request reports transport errors", "[net][http_client]") {
  ClientRequest req;
  req.url = "http://127.0.0.1:1/";
  ClientResponse res = http_request(req);
  CHECK_FALSE(res.ok);
  CHECK(res.error == "connect 127.0.0.1:1: connection refused");

  req.url = "not a url";
  CHECK(http_request(req).error == "invalid url: not a url");
  req.url = "ftp://127.0.0.1/";
  CHECK(http_request(req).error == "invalid url: ftp://127.0.0.1/");
  req.url = "wss://127.0.0.1/";
  CHECK(http_request(req).error == "unsupported scheme wss: wss://127.0.0.1/");
}

TEST_CASE("http_request times out on a silent server", "[net][http_client]") {
  SilentListener silent;
  ClientRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(silent.port()) + "/";
  req.timeout = std::chrono::milliseconds(200);
  auto start = std::chrono::steady_clock::now();
  ClientResponse res = http_request(req);
  CHECK_FALSE(res.ok);
  CHECK(res.error == "read 127.0.0.1:" + std::to_string(silent.port()) + ": timed out");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
}

TEST_CASE("http_request sends headers and bodies and reads responses", "[net][http_client]") {
  EventLoop loop;
  ServerOptions options;
  options.port = 0;
  HttpServer server(loop, options, serve, nullptr);
  std::string error;
  REQUIRE(server.start(error));
  LoopThread thread(loop);
  std::string base = "http://127.0.0.1:" + std::to_string(server.port());

  SECTION("bearer token, content type, response headers") {
    ClientRequest req;
    req.method = "POST";
    req.url = base + "/echo";
    req.bearer_token = "t0k";
    req.body = "{}";
    ClientResponse res = http_request(req);
    REQUIRE(res.ok);
    CHECK(res.body == "POST auth=Bearer t0k type=application/json body={}");
    CHECK(res.headers["x-custom"] == "Value");
  }
  SECTION("a non-2xx status is still transport success") {
    ClientRequest req;
    req.url = base + "/status/404";
    ClientResponse res = http_request(req);
    CHECK(res.ok);
    CHECK(res.status == 404);
    CHECK(res.body == "status body");
  }
  SECTION("responses past max_body are an error") {
    ClientRequest req;
    req.url = base + "/big";
    req.max_body = 1024;
    ClientResponse res = http_request(req);
    CHECK_FALSE(res.ok);
    CHECK(res.error ==
          "read 127.0.0.1:" + std::to_string(server.port()) + ": response body exceeds 1024 bytes");
  }
  SECTION("body_file streams a file as the body") {
    auto path = temp_path("upload");
    std::ofstream(path, std::ios::binary) << "from a file";
    ClientRequest req;
    req.method = "PUT";
    req.url = base + "/echo";
    req.body_file = path.string();
    req.content_type = "text/plain";
    ClientResponse res = http_request(req);
    CHECK(res.body == "PUT auth= type=text/plain body=from a file");
    std::filesystem::remove(path);

    req.body_file = path.string() + ".missing";
    res = http_request(req);
    CHECK_FALSE(res.ok);
    CHECK(res.error.rfind("open " + req.body_file + ": ", 0) == 0);
  }
  SECTION("output_file receives a 2xx body, not an error body") {
    auto path = temp_path("download");
    ClientRequest req;
    req.url = base + "/big";
    req.max_body = 16;  // the file is not limited
    req.output_file = path.string();
    ClientResponse res = http_request(req);
    REQUIRE(res.ok);
    CHECK(res.body.empty());
    CHECK(read_file(path) == std::string(10 * 1024, 'b'));
    std::filesystem::remove(path);

    req.url = base + "/status/500";
    res = http_request(req);
    CHECK(res.status == 500);
    CHECK(res.body == "status body");
    CHECK_FALSE(std::filesystem::exists(path));
  }
}
