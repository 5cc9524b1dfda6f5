// The controller's edges with real daemons: bad HTTP input, tokens and roles
// (SPEC §9), bad input on the agent WebSocket (SPEC §11: epochs, bounded
// messages), and /metrics. Each case starts its own controller on a free port.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <condition_variable>
#include <fstream>
#include <functional>
#include <mutex>
#include <regex>
#include <sstream>

#include "gantry/net/event_loop.hpp"
#include "gantry/net/url.hpp"
#include "gantry/net/ws_client.hpp"
#include "gantry/protocol/codec.hpp"
#include "harness.hpp"

using namespace gantry::e2e;
using namespace std::chrono_literals;
namespace net = gantry::net;
namespace protocol = gantry::protocol;

namespace {

// Sends `bytes` on a fresh connection and returns everything the server
// sends back until it closes the connection (or `timeout` passes).
std::string raw_exchange(uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout = 5s) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return {};
  }
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t w = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (w <= 0) break;
    off += static_cast<size_t>(w);
  }
  std::string out;
  auto end = std::chrono::steady_clock::now() + timeout;
  char buf[8192];
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

int status_of(const std::string& raw_response) {
  // "HTTP/1.1 400 Bad Request\r\n..."
  if (raw_response.compare(0, 5, "HTTP/") != 0) return 0;
  auto sp = raw_response.find(' ');
  return sp == std::string::npos ? 0 : std::atoi(raw_response.c_str() + sp + 1);
}

std::string body_of(const std::string& raw_response) {
  auto p = raw_response.find("\r\n\r\n");
  return p == std::string::npos ? std::string() : raw_response.substr(p + 4);
}

// The SPEC's error shape: {"error":{"code","message"}}.
bool is_api_error(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  return j.is_object() && j.contains("error") && j["error"].is_object() &&
         j["error"].value("code", "") != "" && j["error"].value("message", "") != "";
}

std::string error_code_of(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return {};
  return j["error"].value("code", "");
}

// A WebSocket client on its own EventLoop thread that records what happens.
class WsProbe {
 public:
  struct Event {
    std::string kind;  // open, text, binary, disconnect, refused
    std::string data;
  };

  WsProbe(const std::string& url, const std::string& token, bool reconnect = false) {
    net::WsClientOptions o;
    o.url = url;
    if (!token.empty()) o.headers = {{"Authorization", "Bearer " + token}};
    o.backoff_base = 50ms;
    o.backoff_cap = 200ms;
    o.connect_timeout = 3s;
    thread_ = std::thread([this, o, reconnect] {
      client_ = std::make_unique<net::WsClient>(loop_, o);
      client_->on_open = [this] { push({"open", ""}); };
      client_->on_message = [this](std::string_view d, bool binary) {
        push({binary ? "binary" : "text", std::string(d)});
      };
      client_->on_disconnect = [this, reconnect](std::string reason) {
        push({"disconnect", reason});
        if (!reconnect) client_->stop();
      };
      client_->on_refused = [this](int status) {
        push({"refused", std::to_string(status)});
        return false;
      };
      client_->start();
      loop_.run();
      client_.reset();
    });
  }

  ~WsProbe() {
    loop_.post([this] { client_->stop(); });
    std::this_thread::sleep_for(20ms);
    loop_.stop();
    thread_.join();
  }

  void send_text(std::string msg) {
    loop_.post([this, m = std::move(msg)]() mutable { client_->send_text(std::move(m)); });
  }
  void send_binary(std::string msg) {
    loop_.post([this, m = std::move(msg)]() mutable { client_->send_binary(std::move(m)); });
  }
  void send(const protocol::AgentMessage& m) { send_text(protocol::encode(m)); }

  // The first event after the cursor for which `pred` holds; moves the
  // cursor past it. nullopt after `timeout`.
  std::optional<Event> wait_for(const std::function<bool(const Event&)>& pred,
                                std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock(mu_);
    auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      for (size_t i = cursor_; i < events_.size(); ++i) {
        if (pred(events_[i])) {
          cursor_ = i + 1;
          return events_[i];
        }
      }
      if (cv_.wait_until(lock, end) == std::cv_status::timeout) {
        for (size_t i = cursor_; i < events_.size(); ++i) {
          if (pred(events_[i])) {
            cursor_ = i + 1;
            return events_[i];
          }
        }
        return std::nullopt;
      }
    }
  }
  std::optional<Event> wait_kind(const std::string& kind, std::chrono::milliseconds timeout = 5s) {
    return wait_for([&](const Event& e) { return e.kind == kind; }, timeout);
  }
  // The next controller message of type T.
  template <typename T>
  std::optional<T> wait_message(std::chrono::milliseconds timeout = 5s,
                                const std::function<bool(const T&)>& pred = nullptr) {
    std::optional<T> found;
    wait_for(
        [&](const Event& e) {
          if (e.kind != "text") return false;
          auto d = protocol::decode_controller(e.data);
          auto* m = std::get_if<protocol::ControllerMessage>(&d);
          if (!m) return false;
          auto* t = std::get_if<T>(m);
          if (!t || (pred && !pred(*t))) return false;
          found = *t;
          return true;
        },
        timeout);
    return found;
  }
  std::string dump() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (const auto& e : events_) out += e.kind + ": " + e.data.substr(0, 200) + "\n";
    return out;
  }

 private:
  void push(Event e) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(std::move(e));
    cv_.notify_all();
  }

  net::EventLoop loop_;
  std::unique_ptr<net::WsClient> client_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Event> events_;
  size_t cursor_ = 0;
};

std::string ws_url(const Cluster& c) {
  return "ws://127.0.0.1:" + std::to_string(c.port) + "/api/v1/agent";
}

protocol::Hello fake_hello(const std::string& id) {
  protocol::Hello h;
  h.agent_id = id;
  h.instance_id = id + "-instance";
  h.name = id;
  h.labels = {"fake"};
  h.executors = 1;
  h.version = "test";
  return h;
}

size_t count_lines(const std::string& text, const std::vector<std::string>& all_of) {
  std::istringstream in(text);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    bool ok = true;
    for (const auto& s : all_of) ok = ok && line.find(s) != std::string::npos;
    n += ok ? 1 : 0;
  }
  return n;
}

// Waits until the controller's log has `n` lines holding all of `all_of`.
bool wait_log_lines(Cluster& c, const std::vector<std::string>& all_of, size_t n,
                    std::chrono::milliseconds timeout = 3s) {
  auto end = std::chrono::steady_clock::now() + timeout;
  do {
    if (count_lines(read_file(c.dir() + "/controller.log"), all_of) >= n) return true;
    std::this_thread::sleep_for(20ms);
  } while (std::chrono::steady_clock::now() < end);
  return false;
}

bool healthy(Cluster& c) {
  HttpResult h = c.http("GET", "/healthz", "", "");
  return h.status == 200;
}

const char* kQuick = R"(pipeline {
  agent any
  stages {
    stage('Build') { steps { sh 'echo built' } }
    stage('Test') { steps { sh 'echo tested' } }
  }
}
)";

const char* kSlow = R"(pipeline {
  agent any
  stages {
    stage('Slow') { steps { sh 'sleep 30' } }
  }
}
)";

}  // namespace

TEST_CASE("bad HTTP input gets a clear error and the controller keeps serving") {
  Cluster c;
  c.start_controller();

  SECTION("/healthz needs no token") {
    HttpResult h = c.http("GET", "/healthz", "", "");
    CHECK(h.status == 200);
    CHECK(json::parse(h.body, nullptr, false).value("status", "") == "ok");
  }

  SECTION("malformed and invalid run requests get 400 with a JSON error") {
    for (const std::string& body : std::vector<std::string>{
             "{not json", "", "[]", "\"repo\"", R"({"repo": 5})", R"({"repo": "x", "source": "y"})",
             R"({"repo": "x", "params": [1]})", R"({"repo": "x", "params": {"a": {"b": 1}}})",
             R"({"repo": "x", "bogus": true})", R"({"source": "pipeline {}", "format": "xml"})",
             std::string(100000, '[')}) {
      INFO("body: " << body.substr(0, 60));
      HttpResult r = c.http("POST", "/api/v1/runs", body);
      CHECK(r.status == 400);
      CHECK(is_api_error(r.body));
      CHECK(error_code_of(r.body) == "bad_request");
    }
    // An inline pipeline that does not parse: 422 with FILE:LINE:COL.
    HttpResult bad = c.http("POST", "/api/v1/runs", R"({"source": "pipeline { stages { "})");
    CHECK(bad.status == 422);
    CHECK(is_api_error(bad.body));
    // Nothing was created.
    CHECK(c.get_json("/api/v1/runs")["runs"].size() == 0);
  }

  SECTION("a body over 8 MiB gets 413") {
    // Announced: refused before the body is read.
    std::string head =
        "POST /api/v1/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + c.admin_token +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string((8 << 20) + 1) +
        "\r\n\r\n";
    std::string raw = raw_exchange(c.port, head + std::string(1 << 20, ' '));
    CHECK(status_of(raw) == 413);
    CHECK(is_api_error(body_of(raw)));
    // Chunked, with no length: refused when the limit is crossed.
    std::string chunked = "POST /api/v1/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                          c.admin_token + "\r\nTransfer-Encoding: chunked\r\n\r\n";
    std::string chunk(1 << 20, 'x');
    char size_line[32];
    std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
    for (int i = 0; i < 9; ++i) chunked += size_line + chunk + "\r\n";
    raw = raw_exchange(c.port, chunked);
    CHECK(status_of(raw) == 413);
    // Through an ordinary client that writes the whole body before reading.
    HttpResult whole = c.http("POST", "/api/v1/runs", std::string(40 << 20, ' '));
    CHECK(whole.status == 413);
    CHECK(is_api_error(whole.body));
    // POST /api/v1/runs has its own, lower limit (4 MiB, routes.hpp), judged
    // from the head; just under it is read (and refused as JSON, not as size).
    HttpResult over = c.http("POST", "/api/v1/runs", std::string((4 << 20) + 1, ' '));
    CHECK(over.status == 413);
    HttpResult r = c.http("POST", "/api/v1/runs", std::string((4 << 20) - 16, ' ') + "{}");
    CHECK(r.status == 400);
  }

  SECTION("unknown routes get 404 and wrong methods 405, as JSON") {
    for (const char* path :
         {"/nope", "/api/v2/runs", "/api/v1/nope", "/api/v1/runs/abc", "/api/v1/runs/999",
          "/api/v1/runs/1/nope", "/api/v1/runs/-1", "/api/v1/runs/99999999999999999999999",
          "/api/v1/%FF%FE", "/api/v1/%00", "/api/v1/%", "/api/v1/%Z", "/api/v1/runs/1%2F..%2Fx"}) {
      INFO(path);
      HttpResult r = c.http("GET", path);
      CHECK(r.status == 404);
      CHECK(is_api_error(r.body));
    }
    // Odd queries are tolerated, not fatal.
    for (const char* q : {"?limit=%ZZ", "?limit=-1", "?limit=99999999999999999999", "?%=%&&="}) {
      INFO(q);
      HttpResult r = c.http("GET", std::string("/api/v1/runs") + q);
      CHECK(r.status == 200);
      CHECK(json::parse(r.body, nullptr, false).contains("runs"));
    }
    // An unknown status is a clear error, not an empty list.
    HttpResult odd = c.http("GET", "/api/v1/runs?status=%FF");
    CHECK(odd.status == 400);
    CHECK(is_api_error(odd.body));
    CHECK(c.http("GET", "/api/v1/" + std::string(12000, 'a')).status == 404);
    for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{
             {"DELETE", "/api/v1/runs"},
             {"PUT", "/api/v1/runs"},
             {"POST", "/api/v1/agents"},
             {"DELETE", "/api/v1/runs/1"},
             {"GET", "/api/v1/runs/1/cancel"},
             {"GET", "/api/v1/runs/1/retry"},
             {"POST", "/api/v1/runs/1/log"},
             {"POST", "/metrics"},
             {"PUT", "/api/v1/runs/1/artifacts"},
         }) {
      INFO(method << " " << path);
      HttpResult r = c.http(method, path);
      CHECK(r.status == 405);
      CHECK(is_api_error(r.body));
    }
  }

  SECTION("garbage bytes on a raw socket get 400 and the next request works") {
    for (const std::string& garbage : std::vector<std::string>{
             std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),
             std::string("GARBAGE GARBAGE GARBAGE\r\n\r\n"),
             std::string("GET / HTTP/9.9\r\nHost: x\r\n\r\n"),
             std::string("GET /healthz HTTP/1.1\r\nContent-Length: -5\r\n\r\n"),
             std::string("GET /healthz HTTP/1.1\r\nBad Header Line\r\n\r\n")}) {
      std::string raw = raw_exchange(c.port, garbage);
      INFO("response: " << raw);
      CHECK(status_of(raw) == 400);
      CHECK(is_api_error(body_of(raw)));
      CHECK(healthy(c));
    }
    // Headers past the limit: 431; a client that sends nothing and leaves.
    std::string big = "GET /healthz HTTP/1.1\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n";
    CHECK(status_of(raw_exchange(c.port, big)) == 431);
    raw_exchange(c.port, "", 100ms);
    raw_exchange(c.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n", 200ms);  // never finished
    // Several requests on one keep-alive connection still work.
    std::string two =
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n"
        "Connection: close\r\n\r\n";
    std::string raw = raw_exchange(c.port, two);
    CHECK(count_lines(raw, {"HTTP/1.1 200"}) == 2);
    CHECK(c.get_json("/api/v1/runs").contains("runs"));
  }
}

TEST_CASE("tokens and roles: 401 without a known token, 403 without the permission, audited") {
  Cluster c(R"(users:
  - {name: vera, role: viewer, token: viewer-token}
  - {name: dev, role: developer, token: dev-token}
  - {name: dora, role: developer, token: dora-token}
  - {name: opal, role: operator, token: operator-token}
  - {name: rema, role: release-manager, token: rm-token}
  - {name: ada, role: admin, token: admin-token}
  - {name: hashy, role: viewer, token_sha256: )" +
            sha256("hashed-token") + R"(}
cancel_grace: 1s
)");
  c.start_controller();
  c.admin_token = "admin-token";  // the generated one is not registered when users are named
  c.start_agent({"a1", {}, 2});
  c.wait_agents(1);
  std::string repo = c.make_repo({{"Jenkinsfile", kSlow}});
  json trigger = {{"repo", repo}};
  auto create = [&](const std::string& token) {
    return c.http("POST", "/api/v1/runs", trigger.dump(), token);
  };

  // Missing, unknown and malformed tokens.
  for (const std::string& token :
       std::vector<std::string>{"", "nope", "Viewer-token", "admin-tokenX"}) {
    HttpResult r = c.http("GET", "/api/v1/runs", "", token);
    INFO("token '" << token << "'");
    CHECK(r.status == 401);
    CHECK(error_code_of(r.body) == "unauthorized");
    CHECK(r.headers["www-authenticate"].rfind("Bearer", 0) == 0);
  }
  CHECK(c.http("GET", "/metrics", "", "").status == 401);
  CHECK(c.http("POST", "/api/v1/runs", trigger.dump(), "").status == 401);
  // The generated admin token is not valid when the config names users.
  std::string generated = read_file(c.dir() + "/data/admin.token");
  while (!generated.empty() && generated.back() == '\n') generated.pop_back();
  REQUIRE(generated.size() == 64);
  CHECK(c.http("GET", "/api/v1/runs", "", generated).status == 401);

  // A token configured by its hash; the scheme is case-insensitive.
  CHECK(c.http("GET", "/api/v1/runs", "", "hashed-token").status == 200);
  CHECK(c.http("GET", "/api/v1/runs", "", sha256("hashed-token")).status == 401);
  for (const char* auth : {"bearer admin-token", "BEARER  admin-token"}) {
    std::string raw = raw_exchange(
        c.port, "GET /api/v1/runs HTTP/1.1\r\nHost: x\r\nAuthorization: " + std::string(auth) +
                    "\r\nConnection: close\r\n\r\n");
    CHECK(status_of(raw) == 200);
  }
  for (const char* auth :
       {"Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer ", "admin-token", "Bearer admin-token extra"}) {
    INFO(auth);
    std::string raw = raw_exchange(
        c.port, "GET /api/v1/runs HTTP/1.1\r\nHost: x\r\nAuthorization: " + std::string(auth) +
                    "\r\nConnection: close\r\n\r\n");
    CHECK(status_of(raw) == 401);
  }

  // viewer: reads runs and agents, triggers nothing.
  CHECK(c.http("GET", "/api/v1/runs", "", "viewer-token").status == 200);
  CHECK(c.http("GET", "/api/v1/agents", "", "viewer-token").status == 200);
  HttpResult denied = create("viewer-token");
  CHECK(denied.status == 403);
  CHECK(error_code_of(denied.body) == "forbidden");

  // developer: triggers and cancels its own run, not someone else's.
  HttpResult mine = create("dev-token");
  REQUIRE(mine.status == 201);
  int64_t mine_id = json::parse(mine.body)["id"];
  HttpResult theirs = create("dora-token");
  REQUIRE(theirs.status == 201);
  int64_t theirs_id = json::parse(theirs.body)["id"];
  CHECK(json::parse(mine.body)["created_by"] == "dev");
  c.wait_stage(mine_id, "Slow", "running");
  std::string mine_path = "/api/v1/runs/" + std::to_string(mine_id);
  std::string theirs_path = "/api/v1/runs/" + std::to_string(theirs_id);
  CHECK(c.http("POST", theirs_path + "/cancel", "", "dev-token").status == 403);
  CHECK(c.http("POST", theirs_path + "/cancel", "", "vera-token").status == 401);
  CHECK(c.http("POST", theirs_path + "/cancel", "", "viewer-token").status == 403);
  CHECK(c.http("POST", mine_path + "/cancel", "", "dev-token").status == 200);
  CHECK(c.wait_run(mine_id, 20s)["status"] == "aborted");
  // A developer retries their own runs (issue 18), not someone else's.
  CHECK(c.http("POST", theirs_path + "/retry", "", "dev-token").status == 403);
  CHECK(c.http("POST", mine_path + "/retry", "", "viewer-token").status == 403);

  // operator: cancels others' runs and retries.
  CHECK(c.http("POST", theirs_path + "/cancel", "", "operator-token").status == 200);
  CHECK(c.wait_run(theirs_id, 20s)["status"] == "aborted");
  HttpResult retried = c.http("POST", mine_path + "/retry", "", "operator-token");
  CHECK(retried.status == 201);
  int64_t retry_id = json::parse(retried.body, nullptr, false).value("id", int64_t{0});
  CHECK(retry_id > theirs_id);
  CHECK(c.http("POST", "/api/v1/runs/" + std::to_string(retry_id) + "/cancel", "", "rm-token")
            .status == 200);
  CHECK(c.wait_run(retry_id, 20s)["status"] == "aborted");
  CHECK(c.http("GET", "/api/v1/agents", "", "operator-token").status == 200);

  // Agent tokens open only the agent endpoint.
  CHECK(c.http("GET", "/api/v1/runs", "", c.agent_token).status == 403);
  CHECK(c.http("POST", "/api/v1/runs", trigger.dump(), c.agent_token).status == 403);
  CHECK(c.http("GET", "/metrics", "", c.agent_token).status == 403);
  // ...and user tokens do not open the agent's file endpoints.
  CHECK(
      c.http("PUT", "/api/v1/agent/jobs/1.0/artifacts?epoch=1&path=x", "x", "admin-token").status ==
      403);

  // Every 403 is audited, naming who was refused.
  std::string log = read_file(c.dir() + "/controller.log");
  INFO(log);
  CHECK(count_lines(log, {"comp=audit", "user=vera"}) >= 3);
  CHECK(count_lines(log, {"comp=audit", "user=dev", "cancel"}) >= 1);
  CHECK(count_lines(log, {"comp=audit", "user=dev", "retry"}) >= 1);
  CHECK(count_lines(log, {"comp=audit", "user=default"}) >= 3);  // the agent token
  CHECK(count_lines(log, {"comp=audit", "user=ada"}) >= 1);
}

TEST_CASE("the agent WebSocket refuses user tokens at the upgrade, audited") {
  Cluster c(R"(users:
  - {name: ada, role: admin, token: admin-token}
)");
  c.start_controller();
  c.admin_token = "admin-token";
  {
    WsProbe admin(ws_url(c), "admin-token");
    auto refused = admin.wait_kind("refused");
    REQUIRE(refused);
    CHECK(refused->data == "403");
  }
  {
    WsProbe nobody(ws_url(c), "");
    auto refused = nobody.wait_kind("refused");
    REQUIRE(refused);
    CHECK(refused->data == "401");
  }
  {
    WsProbe agent(ws_url(c), c.agent_token);
    CHECK(agent.wait_kind("open"));
  }
  std::string log = read_file(c.dir() + "/controller.log");
  INFO(log);
  CHECK(count_lines(log, {"comp=audit", "user=ada"}) >= 1);
  CHECK(healthy(c));
}

TEST_CASE("bad WebSocket input on the agent endpoint is refused and changes nothing") {
  Cluster c;
  c.start_controller();
  c.start_agent({"real", {"real"}, 1});
  c.wait_agents(1);

  SECTION("a message before hello closes the connection") {
    WsProbe p(ws_url(c), c.agent_token);
    REQUIRE(p.wait_kind("open"));
    p.send(protocol::Heartbeat{});
    auto d = p.wait_kind("disconnect");
    REQUIRE(d);
    CHECK(d->data.find("4400") != std::string::npos);
    WsProbe q(ws_url(c), c.agent_token);
    REQUIRE(q.wait_kind("open"));
    q.send_binary(protocol::encode_log({"1.0", 1, 0}, "sneaky"));
    d = q.wait_kind("disconnect");
    REQUIRE(d);
    CHECK(d->data.find("4400") != std::string::npos);
    for (const std::string& id : {std::string(), std::string(200, 'x')}) {
      WsProbe r(ws_url(c), c.agent_token);
      REQUIRE(r.wait_kind("open"));
      r.send(fake_hello(id));
      d = r.wait_kind("disconnect");
      REQUIRE(d);
      CHECK(d->data.find("4400") != std::string::npos);
    }
    CHECK(healthy(c));
    CHECK(c.get_json("/api/v1/agents")["agents"].size() == 1);
  }

  SECTION("garbage frames are nacked and the connection stays usable") {
    WsProbe p(ws_url(c), c.agent_token);
    REQUIRE(p.wait_kind("open"));
    p.send(fake_hello("fake-1"));
    REQUIRE(p.wait_message<protocol::Welcome>());
    for (const std::string& garbage :
         std::vector<std::string>{"not json {", "{}", "[1,2]", R"({"t":"launch_missiles"})",
                                  R"({"t":"accept","epoch":"x"})", R"({"t":"hb","jobs":"nope"})",
                                  R"({"t":"finish","job_id":7})", "null", std::string(1000, '{')}) {
      INFO(garbage.substr(0, 40));
      p.send_text(garbage);
      auto n = p.wait_message<protocol::Nack>();
      REQUIRE(n);
      CHECK(n->code == "bad_message");
      CHECK_FALSE(n->message.empty());
    }
    for (const std::string& garbage : std::vector<std::string>{
             std::string("\x00\x00\x00\x02", 4), std::string("\xff\xff\xff\xff{}", 6),
             std::string("\x00\x00\x00\x05[1,2]", 9), std::string("\x00\x00\x00\x03{}}", 7)}) {
      p.send_binary(garbage);
      auto n = p.wait_message<protocol::Nack>();
      REQUIRE(n);
      CHECK(n->code == "bad_message");
    }
    // A well-formed header naming no job.
    p.send_binary(std::string("\x00\x00\x00\x02{}data", 10));
    auto n = p.wait_message<protocol::Nack>();
    REQUIRE(n);
    CHECK((n->code == "bad_message" || n->code == "unknown_job"));
    p.send(protocol::Heartbeat{});
    CHECK(p.wait_message<protocol::HeartbeatAck>());
    CHECK_FALSE(p.wait_kind("disconnect", 100ms));
    // A text frame that is not UTF-8 is a WebSocket protocol error (1007), not a crash.
    p.send_text("{\"t\":\"hb\",\"x\":\"\xff\xfe\"}");
    auto d = p.wait_kind("disconnect");
    REQUIRE(d);
    CHECK(d->data.find("1007") != std::string::npos);
    // The fake agent is listed; the controller serves.
    json agents = c.get_json("/api/v1/agents");
    CHECK(agents["agents"].size() == 2);
    CHECK(healthy(c));
  }

  SECTION("an oversized frame closes the connection with 1009; the controller keeps serving") {
    WsProbe p(ws_url(c), c.agent_token);
    REQUIRE(p.wait_kind("open"));
    p.send(fake_hello("fake-big"));
    REQUIRE(p.wait_message<protocol::Welcome>());
    p.send_text(std::string((1 << 20) + 100, 'x'));
    auto d = p.wait_kind("disconnect");
    REQUIRE(d);
    // The controller closes with 1009. The client does not always see the
    // code: Beast 1.81's teardown closes the socket after one read, and the
    // reset that unread bytes cause can overtake the close frame. So the
    // controller's log is the witness.
    CHECK(wait_log_lines(c, {"comp=ws", "event=closed", "code=1009"}, 1));
    CHECK(healthy(c));
    // A binary one too, on a new connection.
    WsProbe q(ws_url(c), c.agent_token);
    REQUIRE(q.wait_kind("open"));
    q.send(fake_hello("fake-big"));
    REQUIRE(q.wait_message<protocol::Welcome>());
    q.send_binary(protocol::encode_log({"1.0", 1, 0}, std::string((1 << 20) + 100, 'y')));
    d = q.wait_kind("disconnect");
    REQUIRE(d);
    CHECK(wait_log_lines(c, {"comp=ws", "event=closed", "code=1009"}, 2));
    CHECK(healthy(c));
    std::string repo = c.make_repo({{"Jenkinsfile", kQuick}});
    CHECK(c.wait_run(c.trigger(repo), 30s)["status"] == "succeeded");
  }

  SECTION("job messages for a job the agent does not hold are refused; the run is untouched") {
    std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent { label 'real' }
  stages {
    stage('Work') { steps { sh 'sleep 2; echo real-output' } }
  }
}
)"}});
    WsProbe p(ws_url(c), c.agent_token);
    REQUIRE(p.wait_kind("open"));
    p.send(fake_hello("fake-thief"));
    REQUIRE(p.wait_message<protocol::Welcome>());
    int64_t id = c.trigger(repo);
    c.wait_stage(id, "Work", "running");
    // Job ids are "<run>.<node>"; node 0 is the run's root, 1 its first stage.
    std::string job = std::to_string(id) + ".1";

    auto expect_nack = [&](const char* what, const std::string& code) {
      INFO(what);
      auto n = p.wait_message<protocol::Nack>();
      REQUIRE(n);
      CHECK(n->code == code);
    };
    // Wrong epoch, and the right epoch from the wrong agent.
    for (uint64_t epoch : {uint64_t{0}, uint64_t{1}, uint64_t{99}}) {
      p.send(protocol::Accept{job, epoch});
      expect_nack("accept", "stale_epoch");
      p.send(protocol::StepEvent{job, epoch, "sh", "started"});
      expect_nack("step", "stale_epoch");
      p.send_binary(protocol::encode_log({job, epoch, 0}, "FAKE-LOG-BYTES\n"));
      expect_nack("log", "stale_epoch");
      protocol::Finish f;
      f.job_id = job;
      f.epoch = epoch;
      f.result = "FAILURE";
      f.reason = "stolen";
      p.send(f);
      expect_nack("finish", "stale_epoch");
    }
    // The agents' file endpoints check the epoch too, and the path.
    std::string files = "/api/v1/agent/jobs/" + job;
    CHECK(
        c.http("PUT", files + "/artifacts?epoch=99&path=evil.txt", "evil", c.agent_token).status ==
        409);
    CHECK(c.http("PUT", files + "/stash?epoch=99&name=evil", "evil", c.agent_token).status == 409);
    CHECK(c.http("GET", files + "/stash?epoch=99&name=evil", "", c.agent_token).status == 409);
    CHECK(c.http("PUT", "/api/v1/agent/jobs/999.0/artifacts?epoch=1&path=evil.txt", "evil",
                 c.agent_token)
              .status == 409);
    // The right epoch is not enough: only the agent holding the job may write.
    CHECK(c.http("PUT", files + "/artifacts?epoch=1&path=evil.txt", "evil", c.agent_token).status ==
          409);
    CHECK(c.http("PUT", files + "/artifacts?epoch=1&agent=fake-thief&path=evil.txt", "evil",
                 c.agent_token)
              .status == 409);
    std::string holder;
    json agents = c.get_json("/api/v1/agents");
    for (const auto& a : agents["agents"]) {
      if (a.value("name", "") == "real") holder = a.value("id", "");
    }
    REQUIRE_FALSE(holder.empty());
    // The holder's id and its token are not enough either: each attempt has its own job token,
    // which only the assignment carried (bad paths are refused after it: service tests).
    for (const char* path : {"../evil.txt", "/tmp/evil.txt", "a/../../evil.txt", ""}) {
      INFO(path);
      HttpResult r = c.http("PUT",
                            files + "/artifacts?epoch=1&agent=" + net::url_encode(holder) +
                                "&path=" + net::url_encode(path),
                            "evil", c.agent_token);
      CHECK(r.status == 403);
      CHECK(r.body.find("bad_job_token") != std::string::npos);
    }
    // A job that does not exist.
    p.send(protocol::Accept{"999.0", 1});
    expect_nack("accept unknown", "unknown_job");
    p.send_binary(protocol::encode_log({"999.0", 1, 0}, "FAKE"));
    expect_nack("log unknown", "unknown_job");
    protocol::Finish f;
    f.job_id = "999.0";
    f.epoch = 1;
    f.result = "SUCCESS";
    p.send(f);
    expect_nack("finish unknown", "unknown_job");
    // A heartbeat naming the job does not extend anything or break anything.
    protocol::Heartbeat hb;
    hb.jobs.push_back({job, 1});
    p.send(hb);
    CHECK(p.wait_message<protocol::HeartbeatAck>());

    json run = c.wait_run(id, 30s);
    CHECK(run["status"] == "succeeded");
    CHECK(run["stages"][0]["agent"] == "real");
    CHECK(run["stages"][0]["attempts"] == 1);
    std::string log = c.stage_log(id, "Work");
    CHECK(log.find("real-output") != std::string::npos);
    CHECK(log.find("FAKE") == std::string::npos);
    CHECK(c.get_json("/api/v1/runs/" + std::to_string(id) + "/artifacts")["artifacts"].size() == 0);
    CHECK(std::system(("grep -rqs evil " + c.dir() + "/data " + c.dir() + "/evil.txt").c_str()) !=
          0);
    // The real agent's finish was applied once; replaying it is harmless.
    p.send(protocol::Finish{job, 1, "FAILURE", "late", 0, 0, {}});
    auto late = p.wait_message<protocol::Nack>(2s);
    CHECK((!late || late->code == "stale_epoch" || late->code == "unknown_job"));
    CHECK(c.get_json("/api/v1/runs/" + std::to_string(id))["status"] == "succeeded");
  }
}

TEST_CASE("/metrics is Prometheus text with runs, queue, agents and stage durations") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  std::string repo = c.make_repo({{"Jenkinsfile", kQuick}});
  REQUIRE(c.wait_run(c.trigger(repo), 30s)["status"] == "succeeded");
  std::string bad = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Boom') { steps { sh 'exit 1' } }
    stage('Never') { steps { sh 'true' } }
  }
}
)"}});
  REQUIRE(c.wait_run(c.trigger(bad), 30s)["status"] == "failed");
  // Parallel branches, retries and a post section: each stage counted once.
  std::string busy = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Fan') {
      parallel {
        stage('A') { steps { sh 'true' } }
        stage('B') {
          options { retry(2) }
          steps { sh 'test -e flag || { touch flag; exit 1; }' }
        }
      }
    }
  }
  post { always { echo 'done' } }
}
)"}});
  json busy_run = c.wait_run(c.trigger(busy), 30s);
  INFO(busy_run.dump() << c.stage_log(busy_run["id"], "Fan / B"));
  REQUIRE(busy_run["status"] == "succeeded");
  std::map<std::string, int> expected;
  json runs = c.get_json("/api/v1/runs");
  for (const auto& r : runs["runs"]) {
    json full = c.get_json("/api/v1/runs/" + std::to_string(r["id"].get<int64_t>()));
    for (const auto& s : full["stages"]) {
      if (s["status"] != "skipped" && !s["finished_at"].is_null())
        expected[s["status"].get<std::string>()] += 1;
    }
  }

  HttpResult m = c.http("GET", "/metrics");
  REQUIRE(m.status == 200);
  CHECK(m.headers["content-type"].rfind("text/plain", 0) == 0);
  const std::string& text = m.body;
  INFO(text);
  // Every line is a comment or `name{labels} value`.
  std::regex sample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})? -?[0-9.eE+-]+$)");
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    INFO(line);
    CHECK(std::regex_match(line, sample));
  }
  CHECK(text.find("gantry_runs{status=\"succeeded\"} 2\n") != std::string::npos);
  CHECK(text.find("gantry_runs{status=\"failed\"} 1\n") != std::string::npos);
  CHECK(text.find("gantry_queue_depth 0\n") != std::string::npos);
  CHECK(text.find("gantry_agents_connected 1\n") != std::string::npos);
  CHECK(text.find("# TYPE gantry_runs gauge") != std::string::npos);
  // Each finished stage counted once, by its final status.
  INFO(json(expected).dump());
  CHECK(expected["succeeded"] == 6);  // Build, Test, Fan, A, B, post
  CHECK(expected["failed"] == 1);
  for (const auto& [status, n] : expected) {
    CHECK(text.find("gantry_stage_duration_seconds_count{status=\"" + status + "\"} " +
                    std::to_string(n) + "\n") != std::string::npos);
  }
  CHECK(text.find("gantry_stage_duration_seconds_sum{status=\"succeeded\"} ") != std::string::npos);
}

TEST_CASE("a configured repository is triggered by its name (SPEC: --repo NAME_OR_URL)") {
  Cluster c;
  std::string app = c.make_repo({{"Jenkinsfile", kQuick}});
  std::string tools = c.make_repo({{"ci/Pipeline", R"(pipeline {
  agent any
  stages { stage('Tools') { steps { sh 'echo from ci/Pipeline' } } }
}
)"}});
  {
    std::ofstream cfg(c.dir() + "/controller.yml", std::ios::app);
    cfg << "repositories:\n"
        << "  - {name: app, url: \"file://" << app << "\", branches: [main]}\n"
        << "  - {name: tools, url: \"" << tools << "\", pipeline: ci/Pipeline}\n";
  }
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  CliResult t = c.cli({"trigger", "--repo", "app"});
  INFO(t.out);
  REQUIRE(t.exit_code == 0);
  json run = c.wait_run(std::stoll(t.out), 30s);
  INFO(run.dump());
  CHECK(run["status"] == "succeeded");
  CHECK(run["job"] == "app/main");  // the branch's job, as a push starts it
  CHECK(run["commit"].get<std::string>().size() == 40);
  json tools_run = c.wait_run(c.trigger("tools"), 30s);
  INFO(tools_run.dump());
  CHECK(tools_run["status"] == "succeeded");
  CHECK(tools_run["job"] == "tools/main");
  CHECK(c.stage_log(tools_run["id"], "Tools").find("from ci/Pipeline") != std::string::npos);
  // A name that is neither configured nor a URL or path is refused, clearly, and makes no run.
  const size_t runs = c.get_json("/api/v1/runs")["runs"].size();
  HttpResult bad = c.http("POST", "/api/v1/runs", R"({"repo":"no-such-repo"})");
  CHECK(bad.status == 404);
  CHECK_THAT(bad.body, Catch::Contains("no repository 'no-such-repo' (configured: app, tools)"));
  CHECK(c.get_json("/api/v1/runs")["runs"].size() == runs);
}

TEST_CASE("a secret travels only to the job whose stage names it (SPEC §5)") {
  Cluster c(
      "secrets:\n  deploy-key: {value: only-for-deploy-42}\n"
      "  a: {value: short-id-secret}\n");
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent none
  stages {
    stage('Build') {
      agent { label 'fake' }
      steps { sh 'make all' }
    }
    stage('Deploy') {
      agent { label 'real' }
      steps {
        withCredentials([string(credentialsId: 'deploy-key', variable: 'T')]) { sh 'true' }
      }
    }
  }
}
)"}});
  c.add_repository("app", repo);
  c.start_controller();
  c.start_agent({"real", {"real"}, 1});
  c.wait_agents(1);
  WsProbe fake(ws_url(c), c.agent_token);
  REQUIRE(fake.wait_kind("open"));
  fake.send(fake_hello("fake-builder"));
  REQUIRE(fake.wait_message<protocol::Welcome>());
  int64_t id = c.trigger("app");
  auto assign = fake.wait_message<protocol::Assign>(10s);
  REQUIRE(assign);
  CHECK(assign->spec.stage_id == "Build");
  CHECK(assign->spec.credentials.count("deploy-key") == 0);
  CHECK(assign->spec.credentials.count("a") == 0);  // named nowhere, though "a" is in the text
  for (const auto& [name, value] : assign->spec.env) CHECK(value != "only-for-deploy-42");
  // Finish the fake's job so the run goes on to the real agent.
  fake.send(protocol::Accept{assign->job_id, assign->epoch});
  protocol::Finish f;
  f.job_id = assign->job_id;
  f.epoch = assign->epoch;
  f.result = "SUCCESS";
  fake.send(f);
  CHECK(fake.wait_message<protocol::FinishAck>());
  json run = c.wait_run(id, 30s);
  CHECK(run["status"] == "succeeded");
}

TEST_CASE("a bad controller config is refused with FILE:LINE:COL and exit 2") {
  TempDir dir;
  struct Bad {
    std::string yaml, expect;
  };
  for (const Bad& b : std::vector<Bad>{
           {"listn: 127.0.0.1:0\n", ":1:1: error: unknown key 'listn'"},
           {"listen: 127.0.0.1:0\nagent_lost_after: soon\n", ":2:"},
           {"listen: 127.0.0.1:0\nusers:\n  - {name: a, role: root, token: t}\n", ":3:"},
           {"listen: 127.0.0.1:0\nsecrets:\n  k: {file: /nonexistent/key}\n", ":3:"},
           {"listen: [unclosed\n", ":"},
           {"- just\n- a list\n", ":1:1: error:"},
           {std::string("\xff\xfe\x00garbage\x01", 11), ":1:1: error:"},
       }) {
    std::string path = dir.path + "/bad.yml";
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << b.yaml;
    }
    std::string log = dir.path + "/out.log";
    std::remove(log.c_str());
    Child ctl;
    REQUIRE(
        ctl.start({GANTRY_CONTROLLER_BIN, "--config", path, "--data", dir.path + "/data"}, log));
    int code = ctl.wait(std::chrono::seconds(10));
    std::string out = read_file(log);
    INFO(b.yaml << "\n---\n" << out);
    CHECK(code == 2);
    CHECK(out.find(path + b.expect) != std::string::npos);
  }
}
