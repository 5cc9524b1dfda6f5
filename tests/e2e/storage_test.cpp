// Storage failure is never success (SPEC §11), with real daemons: the
// database locked by another process (the sqlite3 tool, as an operator or a
// backup might) while a job finishes and while runs are created, and a log
// the controller cannot write. The API answers 503 with the reason,
// /healthz says unhealthy, nothing is acknowledged that is not stored, and
// when the storage comes back everything completes by itself, byte-exact.
// Also the sizes checked at the door (400/413/422), end to end, and a data directory moved from
// SQLite to PostgreSQL by `gantry-controller --migrate-sqlite`.
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../support/postgresql_cluster.hpp"
#include "harness.hpp"

using namespace gantry::e2e;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string inline_body(const std::string& source, const json& params = json::object()) {
  return json{{"source", source}, {"params", params}}.dump();
}

int64_t create(Cluster& c, const std::string& source) {
  HttpResult r = c.http("POST", "/api/v1/runs", inline_body(source));
  INFO(r.body);
  REQUIRE(r.status == 201);
  return json::parse(r.body)["id"].get<int64_t>();
}

// Holds the database's write lock from the sqlite3 tool until released.
class SqliteLock {
 public:
  SqliteLock(const std::string& db, const std::string& log) : log_(log) {
    // .timeout first: BEGIN EXCLUSIVE waits out a write of the controller's instead of
    // failing at once (the CLI then went on to print "locked" without holding the lock).
    REQUIRE(
        child_.start({"/usr/bin/sqlite3", db, "-cmd", ".timeout 5000", "-cmd", "BEGIN EXCLUSIVE;",
                      "-cmd", ".shell echo locked", "-cmd", ".shell sleep 120"},
                     log));
    auto until = std::chrono::steady_clock::now() + 10s;
    while (read_file(log_).find("locked") == std::string::npos) {
      REQUIRE(std::chrono::steady_clock::now() < until);
      std::this_thread::sleep_for(20ms);
    }
  }
  void release() {
    child_.signal(SIGKILL);  // the process's locks go with it
    child_.wait();
  }
  ~SqliteLock() { release(); }

 private:
  Child child_;
  std::string log_;
};

const char* kTwoStages = R"(pipeline {
  agent any
  stages {
    stage('One') { steps { sh 'echo one; sleep 2; echo one-done' } }
    stage('Two') { steps { sh 'echo two' } }
  }
})";

}  // namespace

TEST_CASE("a locked database: 503 and unhealthy, the finish kept, all completes after",
          "[e2e][storage]") {
  if (store_on_postgresql()) {
    WARN("SQLite only: this case locks gantry.db (PostgreSQL's lost connection: store_test.cpp)");
    return;
  }
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  int64_t id = create(c, kTwoStages);
  c.wait_stage(id, "One", "running");
  {
    SqliteLock lock(c.dir() + "/data/gantry.db", c.dir() + "/sqlite3.log");
    // The stage finishes while the lock is held: its finish cannot be stored.
    std::this_thread::sleep_for(3500ms);
    HttpResult health = c.http("GET", "/healthz", "", "");
    CHECK(health.status == 503);
    CHECK_THAT(health.body, Catch::Contains("busy"));
    HttpResult created = c.http("POST", "/api/v1/runs", inline_body(kTwoStages));
    CHECK(created.status == 503);
    CHECK_THAT(created.body, Catch::Contains("database is busy"));
    CHECK(created.headers.count("retry-after") == 1);
    // Reads still work (WAL), and say the run is not over.
    HttpResult shown = c.http("GET", "/api/v1/runs/" + std::to_string(id));
    CHECK(shown.status == 200);
    CHECK(json::parse(shown.body)["status"] == "running");
    std::this_thread::sleep_for(2s);
  }
  json run = c.wait_run(id, 60s);
  CHECK(run["status"] == "succeeded");
  CHECK(c.stage_log(id, "One") == "[gantry] + echo one; sleep 2; echo one-done\none\none-done\n");
  CHECK(c.stage_log(id, "Two") == "[gantry] + echo two\ntwo\n");
  for (const auto& [sid, st] : stages_by_id(run)) CHECK(st["attempts"] == 1);
  CHECK(c.http("GET", "/healthz", "", "").status == 200);
  // The refused create left nothing behind: one run in all.
  CHECK(c.get_json("/api/v1/runs")["runs"].size() == 1);
}

TEST_CASE("a log the controller cannot write: no job killed, the log complete after",
          "[e2e][storage]") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  // Run 1's log directory cannot be created while a file stands in its way.
  fs::path blocker = fs::path(c.dir()) / "data" / "logs" / "1";
  fs::create_directories(blocker.parent_path());
  { std::ofstream(blocker.string()) << "in the way\n"; }
  int64_t id = create(c, R"(pipeline {
  agent any
  stages {
    stage('Talk') { steps { sh 'for i in 1 2 3 4 5 6; do echo line-$i; sleep 0.5; done' } }
  }
})");
  REQUIRE(id == 1);
  c.wait_stage(id, "Talk", "running");
  std::this_thread::sleep_for(2s);
  fs::remove(blocker);
  json run = c.wait_run(id, 60s);
  CHECK(run["status"] == "succeeded");
  CHECK(stage_of(run, "Talk")["attempts"] == 1);
  CHECK(c.stage_log(id, "Talk") ==
        "[gantry] + for i in 1 2 3 4 5 6; do echo line-$i; sleep 0.5; done\n"
        "line-1\nline-2\nline-3\nline-4\nline-5\nline-6\n");
}

TEST_CASE("sizes and depth are judged at the door", "[e2e][storage]") {
  Cluster c;
  c.start_controller();
  // A 1.2 MB inline pipeline: refused with the limit, never "agent lost".
  std::string big = std::string(kTwoStages) + "\n// " + std::string(1200 * 1000, 'x') + "\n";
  HttpResult r = c.http("POST", "/api/v1/runs", inline_body(big));
  CHECK(r.status == 422);
  CHECK_THAT(r.body, Catch::Contains("as sent to an agent"));
  // A parameter past 64 KiB.
  r = c.http("POST", "/api/v1/runs",
             inline_body(kTwoStages, json{{"BIG", std::string(70 * 1024, 'v')}}));
  CHECK(r.status == 422);
  CHECK_THAT(r.body, Catch::Contains("64 KiB"));
  // JSON nested 100 000 deep.
  r = c.http("POST", "/api/v1/runs", std::string(100000, '['));
  CHECK(r.status == 400);
  // A body past the route's size is refused from its head.
  r = c.http("POST", "/api/v1/runs", std::string(5 << 20, ' '));
  CHECK(r.status == 413);
  CHECK(c.get_json("/api/v1/runs")["runs"].empty());
}

TEST_CASE("gantry-controller --migrate-sqlite: a run with its log and the audit chain carry over",
          "[e2e][storage]") {
  if (store_on_postgresql()) {
    WARN("SQLite only: this case starts on SQLite and copies gantry.db to PostgreSQL itself");
    return;
  }
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  int64_t id = create(c, kTwoStages);
  REQUIRE(c.wait_run(id, 60s)["status"] == "succeeded");
  const std::string log = c.stage_log(id, "One");
  REQUIRE(log.find("one-done") != std::string::npos);

  const std::string url = gantry::test::PostgresqlCluster::instance().fresh_database_url();
  const std::string migrate = std::string(GANTRY_CONTROLLER_BIN) + " --migrate-sqlite " + c.dir() +
                              "/data --to " + url + " 2>&1";
  CliResult busy = shell(migrate);
  CHECK(busy.exit_code == 1);
  CHECK_THAT(busy.out, Catch::Contains("(a controller?): stop it first"));

  c.stop_controller();
  CliResult copied = shell(migrate);
  INFO(copied.out);
  REQUIRE(copied.exit_code == 0);
  CHECK_THAT(copied.out, Catch::Contains("\n  runs ") && Catch::Contains("verified.") &&
                             Catch::Contains("data_dir at that same directory"));
  // A second copy into the database, now holding the records, is refused.
  CliResult twice = shell(migrate);
  CHECK(twice.exit_code == 1);
  CHECK_THAT(twice.out, Catch::Contains("already holds records"));

  // The same data_dir, the store now in PostgreSQL.
  { std::ofstream(c.config_path(), std::ios::app) << "database: " << url << "\n"; }
  c.start_controller();
  c.wait_agents(1);
  CHECK(c.get_json("/api/v1/runs/" + std::to_string(id))["status"] == "succeeded");
  CHECK(c.stage_log(id, "One") == log);
  CliResult verified = c.cli({"audit", "verify"});
  CHECK(verified.exit_code == 0);
  int64_t next = create(c, kTwoStages);
  CHECK(next == id + 1);
  CHECK(c.wait_run(next, 60s)["status"] == "succeeded");
}
