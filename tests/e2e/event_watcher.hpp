#pragma once
// A client of the live events WebSocket for the end-to-end tests: on its own loop thread,
// keeping every frame (events_test.cpp, repo_roles_test.cpp).
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../net/loop_thread.hpp"
#include "gantry/net/event_loop.hpp"
#include "gantry/net/ws_client.hpp"
#include "harness.hpp"

namespace gantry::e2e {

// One WebSocket client on its own loop thread, keeping every frame.
class Watcher {
 public:
  // `stall`: the first message blocks the client that long (it reads
  // nothing meanwhile), and a close is final (no reconnect).
  // `token`: the admin's when empty.
  Watcher(const Cluster& c, const std::string& query, std::chrono::milliseconds stall = {},
          const std::string& token = "")
      : stall_(stall), stop_on_close_(stall.count() > 0) {
    gantry::net::WsClientOptions o;
    o.url = "ws://127.0.0.1:" + std::to_string(c.port) + "/api/v1/events" + query;
    o.headers = {{"Authorization", "Bearer " + (token.empty() ? c.admin_token : token)}};
    o.backoff_base = std::chrono::milliseconds(50);
    o.backoff_cap = std::chrono::milliseconds(200);
    client_ = std::make_unique<gantry::net::WsClient>(loop_, o);
    client_->on_message = [this](std::string_view data, bool) {
      if (stall_.count() > 0 && frames_.empty())
        std::this_thread::sleep_for(stall_);  // reads nothing meanwhile
      frames_.emplace_back(data);
    };
    client_->on_disconnect = [this](std::string reason) {
      disconnects_.push_back(std::move(reason));
      if (stop_on_close_) client_->stop();
    };
    thread_.call([this] { client_->start(); });
  }
  ~Watcher() {
    thread_.call([this] { client_->stop(); });
  }
  std::vector<json> events() {
    auto frames = thread_.call([this] { return frames_; });
    std::vector<json> out;
    for (const auto& f : frames) out.push_back(json::parse(f));
    return out;
  }
  size_t count() {
    return thread_.call([this] { return frames_.size(); });
  }
  std::vector<std::string> disconnects() {
    return thread_.call([this] { return disconnects_; });
  }
  // Until the run's `run` event says it ended (bounded).
  bool wait_run_end(int64_t run, std::chrono::seconds timeout = std::chrono::seconds(60)) {
    return thread_.wait_until(
        [this, run] {
          for (auto it = frames_.rbegin(); it != frames_.rend(); ++it) {
            json e = json::parse(*it);
            if (e["type"] == "run" && e["run"] == run) {
              std::string s = e["status"];
              return s == "succeeded" || s == "failed" || s == "aborted" || s == "unstable";
            }
          }
          return false;
        },
        timeout);
  }
  bool wait_count(size_t n, std::chrono::seconds timeout = std::chrono::seconds(30)) {
    return thread_.wait_until([this, n] { return frames_.size() >= n; }, timeout);
  }

 private:
  gantry::net::EventLoop loop_;
  std::chrono::milliseconds stall_;
  std::unique_ptr<gantry::net::WsClient> client_;
  std::vector<std::string> frames_;
  std::vector<std::string> disconnects_;
  bool stop_on_close_;
  gantry::net::test::LoopThread thread_{loop_};
};

}  // namespace gantry::e2e
