// SPEC section 11 against a real controller: "Nobody without a valid token can make the
// controller read a body, hold memory or disk, or hold a connection open for long". Raw sockets
// play the attacker; the controller's RSS comes from /proc.
// The controller refuses a missing or unknown token from the request head (Routes::check_head
// through HttpServer's HeadHandler), before a byte of the body is read.
#include <dirent.h>
#include <stdlib.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

#include "../net/raw_socket.hpp"
#include "../support/postgresql_cluster.hpp"
#include "harness.hpp"

using namespace gantry::e2e;
using gantry::net::test::RawSocket;
using namespace std::chrono_literals;

namespace {

// The pid of the gantry-controller started with `config`, or -1.
pid_t controller_pid(const std::string& config) {
  DIR* proc = ::opendir("/proc");
  if (!proc) return -1;
  pid_t found = -1;
  while (dirent* entry = ::readdir(proc)) {
    pid_t pid = static_cast<pid_t>(std::atoi(entry->d_name));
    if (pid <= 0) continue;
    std::string cmdline = read_file("/proc/" + std::string(entry->d_name) + "/cmdline");
    if (cmdline.rfind(GANTRY_CONTROLLER_BIN, 0) == 0 && cmdline.find(config) != std::string::npos) {
      found = pid;
      break;
    }
  }
  ::closedir(proc);
  return found;
}

// VmRSS of `pid` in KiB (0 when unknown).
int64_t rss_kib(pid_t pid) {
  std::istringstream status(read_file("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6);
  }
  return 0;
}

std::string head(const std::string& method, const std::string& path, uint64_t length,
                 const std::string& token = "") {
  std::string text = method + " " + path + " HTTP/1.1\r\nHost: x\r\n";
  if (!token.empty()) text += "Authorization: Bearer " + token + "\r\n";
  return text + "Content-Length: " + std::to_string(length) + "\r\n\r\n";
}

}  // namespace

TEST_CASE("limits: 200 connections holding large bodies neither grow the controller nor block it",
          "[e2e][limits]") {
  Cluster c;
  c.start_controller();
  const pid_t pid = controller_pid(c.config_path());
  REQUIRE(pid > 0);
  REQUIRE(c.http("GET", "/api/v1/runs").status == 200);
  const int64_t before = rss_kib(pid);
  REQUIRE(before > 0);

  // Half to the REST API (bodies up to 8 MiB in memory), half under the agents' upload prefix
  // (up to 1 GiB in a temp file); each sends its head and 64 KiB, then holds the rest.
  std::vector<std::unique_ptr<RawSocket>> held;
  const std::string part(64 << 10, 'x');
  int connected = 0;
  for (int i = 0; i < 200; ++i) {
    held.push_back(std::make_unique<RawSocket>(c.port));
    RawSocket& raw = *held.back();
    if (!raw.connected()) continue;
    ++connected;
    bool upload = i % 2 == 1;
    raw.send(upload ? head("PUT", "/api/v1/agent/jobs/" + std::to_string(i) + "/artifacts/a.tar",
                           (1ull << 30) - 1)
                    : head("POST", "/api/v1/runs", (8 << 20) - 1));
    raw.send(part);
  }
  CHECK(connected == 200);

  // Meanwhile an authenticated request is answered.
  HttpResult runs = c.http("GET", "/api/v1/runs");
  CHECK(runs.status == 200);
  std::this_thread::sleep_for(500ms);
  const int64_t during = rss_kib(pid);
  INFO("controller RSS " << before << " KiB before, " << during << " KiB with 200 connections");
  CHECK(during - before < 50 * 1024);
  CHECK(c.http("GET", "/api/v1/runs").status == 200);
  held.clear();
  CHECK(c.http("GET", "/healthz").status == 200);
}

TEST_CASE("limits: a trickled head or body is closed by its deadline", "[e2e][limits]") {
  Cluster c;
  c.start_controller();

  // The head must arrive within 10 s of the connection, whatever trickles in.
  auto head_closed = std::async(std::launch::async, [&c] {
    RawSocket raw(c.port);
    raw.send("GET /api/v1/runs HTTP/1.1\r\nHost: x\r\n");
    return raw.trickle_until_closed("X-Trickle: y\r\n", 500ms, 25s);
  });
  // A body (here with a valid token, so the body is read) within 30 s plus 1 s per 16 KiB.
  RawSocket body(c.port);
  REQUIRE(body.send(head("POST", "/api/v1/runs", 1000, c.admin_token)));
  auto body_closed = body.trickle_until_closed("{", 500ms, 50s);
  auto head_after = head_closed.get();

  REQUIRE(head_after);
  CHECK(*head_after >= 9s);
  CHECK(*head_after < 15s);
  REQUIRE(body_closed);
  CHECK(*body_closed >= 29s);
  CHECK(*body_closed < 40s);
  CHECK(c.http("GET", "/healthz").status == 200);
}

TEST_CASE("limits: a request without a valid token is refused before its body", "[e2e][limits]") {
  // The controller's temp files (uploads) go to TMPDIR: a directory of this test's own. On
  // PostgreSQL the throwaway cluster starts first, in the usual temp dir: the postgres user
  // cannot enter this test's.
  if (store_on_postgresql()) gantry::test::PostgresqlCluster::instance();
  TempDir tmp;
  std::string old_tmpdir = ::getenv("TMPDIR") ? ::getenv("TMPDIR") : "";
  ::setenv("TMPDIR", tmp.path.c_str(), 1);
  Cluster c;
  c.start_controller();
  if (old_tmpdir.empty()) {
    ::unsetenv("TMPDIR");
  } else {
    ::setenv("TMPDIR", old_tmpdir.c_str(), 1);
  }
  auto temp_files = [&] {
    size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(tmp.path))
      n += entry.path().filename().string().rfind("gantry-upload-", 0) == 0 ? 1 : 0;
    return n;
  };

  for (const std::string token : {"", "not-a-token"}) {
    INFO("token '" << token << "'");
    RawSocket api(c.port);
    auto start = std::chrono::steady_clock::now();
    api.send(head("POST", "/api/v1/runs", 100000000, token));
    std::string response = api.read_response();
    CHECK(response.rfind("HTTP/1.1 401 ", 0) == 0);
    CHECK(std::chrono::steady_clock::now() - start < 3s);

    RawSocket upload(c.port);
    upload.send(head("PUT", "/api/v1/agent/jobs/1/artifacts/a.tar", 500 << 20, token));
    upload.send(std::string(1 << 20, 'z'));
    CHECK(upload.read_response().rfind("HTTP/1.1 401 ", 0) == 0);
    CHECK(temp_files() == 0);
  }
}
