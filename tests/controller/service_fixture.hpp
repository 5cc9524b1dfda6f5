#pragma once
// What the controller services' in-process tests share: a real store in a
// temp dir, a manual clock, an event sink and an outbox that record, a fake
// WebSocket, and a real lock on the database from a second connection (the
// way `sqlite3 gantry.db 'BEGIN EXCLUSIVE'` makes every write fail BUSY).
// No sockets, no event loop, no real time.
#include <sqlite3.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gantry/protocol/codec.hpp"
#include "service/agent_gateway.hpp"
#include "service/audit_log.hpp"
#include "service/clock.hpp"
#include "service/engine.hpp"
#include "service/event_sink.hpp"
#include "service/gate_service.hpp"
#include "service/log_ingest.hpp"
#include "service/release_service.hpp"
#include "service/routes.hpp"
#include "service/run_service.hpp"
#include "store/store.hpp"

namespace gantry::controller::testing {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "gantry-svc-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path); }
  std::string data() const { return (path / "data").string(); }
};

struct RecordingSink final : EventSink {
  std::vector<std::string> seen;  // "run 1 succeeded", "stage 1 build running", ...
  void run(const RunRecord& r) override {
    seen.push_back("run " + std::to_string(r.id) + " " + std::string(to_string(r.status)));
  }
  void stage(const StageRecord& s) override {
    seen.push_back("stage " + std::to_string(s.run_id) + " " + s.stage_id + " " +
                   std::string(to_string(s.status)));
  }
  void approval(const ApprovalRecord& a) override {
    seen.push_back("approval " + std::to_string(a.id) + " " + std::string(to_string(a.status)));
  }
  void release(const ReleaseRecord& r, const std::string&) override {
    seen.push_back("release " + std::to_string(r.id) + " " + std::string(to_string(r.status)));
  }
  void agent(const std::string& name, const std::string& status) override {
    seen.push_back("agent " + name + " " + status);
  }
  void log_committed(int64_t run, const std::string& stage, int, const std::string&,
                     uint64_t committed, bool) override {
    seen.push_back("log " + std::to_string(run) + " " + stage + " " + std::to_string(committed));
  }
  void forget_run(int64_t) override {}
  void pump() override {}
};

struct RecordingOutbox final : AgentOutbox {
  std::vector<std::pair<std::string, protocol::ControllerMessage>> sent;
  void send(const std::string& agent, const protocol::ControllerMessage& m) override {
    sent.emplace_back(agent, m);
  }
  template <typename T>
  std::vector<T> take() {
    std::vector<T> out;
    for (auto it = sent.begin(); it != sent.end();) {
      if (auto* m = std::get_if<T>(&it->second)) {
        out.push_back(*m);
        it = sent.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  }
};

// Timers for LogIngest without a loop: run when the test says.
struct ManualDefer {
  std::deque<std::function<void()>> due;
  Defer fn() {
    return
        [this](std::chrono::milliseconds, std::function<void()> f) { due.push_back(std::move(f)); };
  }
  void run_all() {
    while (!due.empty()) {
      auto f = std::move(due.front());
      due.pop_front();
      f();
    }
  }
};

// Holds the database's write lock from a second connection while alive.
class DbLock {
 public:
  explicit DbLock(const std::string& data_dir) {
    REQUIRE(sqlite3_open((data_dir + "/gantry.db").c_str(), &db_) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db_, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  ~DbLock() { release(); }
  void release() {
    if (!db_) return;
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
    db_ = nullptr;
  }

 private:
  sqlite3* db_ = nullptr;
};

// Every service, wired as the Controller wires them, on a temp store. The
// engine's outbox is the gateway (as in the daemon).
struct Services {
  TempDir dir;
  Store store{dir.data()};
  ManualClock clock;
  RecordingSink events;
  Config config;
  Authenticator auth{config};
  AuditLog audit{store, clock};
  Engine engine{store, clock, events, SchedulerOptions{}};
  RunService runs{engine, store, audit, config};
  ReleaseService releases{engine, store, audit, events};
  GateService gates{engine, store, audit, events, releases, config};
  ManualDefer defer;
  AgentGateway agents{engine, store, events, audit, auth, gates, defer.fn()};
  Routes routes{auth, audit, engine, runs, gates, releases, agents, nullptr};

  Services() {
    auth.add_agent_token("pool", sha256_hex("agent-token"));
    agents.set_job_key("service-test-job-key");
    engine.set_outbox(&agents);
  }
};

inline const char* kTwoStages = R"(pipeline {
  agent any
  stages {
    stage('build') { steps { sh 'make' } }
    stage('test') { steps { sh 'make test' } }
  }
})";

inline protocol::Hello hello_of(const std::string& id) {
  protocol::Hello h;
  h.agent_id = id;
  h.instance_id = id + "-1";
  h.name = id;
  h.executors = 1;
  return h;
}

}  // namespace gantry::controller::testing
