// lock and milestone through real daemons: two runs on an agent with two executors contend
// for one resource and take turns; a newer run passing a milestone cancels an older one.
#include <catch2/catch.hpp>

#include <fstream>

#include "harness.hpp"

using namespace gantry::e2e;
using namespace std::chrono_literals;

namespace {

bool has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("two runs contending for a lock take turns and the stage option holds it too") {
  Cluster c;
  c.start_controller();
  c.start_agent({.executors = 3});
  c.wait_agents(1);
  const std::string trace = c.dir() + "/trace.txt";
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Migrate') {
      steps {
        lock('staging-db') {
          sh 'echo "in $BUILD_NUMBER" >> )" + trace + R"(; sleep 2; echo "out $BUILD_NUMBER" >> )" +
                                                      trace + R"('
        }
      }
    }
    stage('Smoke') {
      options { lock(resource: 'staging-web') }
      steps { sh 'echo "smoke $BUILD_NUMBER" >> )" + trace +
                                                      R"('; sh 'sleep 1' }
    }
  }
}
)"}});
  const int64_t first = c.trigger(repo);
  const int64_t second = c.trigger(repo);
  // While one holds it, the lock is listed with its holder and the other waiting.
  json held;
  for (int i = 0; i < 100; ++i) {
    json locks = c.get_json("/api/v1/locks");
    for (const auto& l : locks.value("locks", json::array())) {
      if (l["resource"] == "staging-db" && !l["waiting"].empty()) held = l;
    }
    if (!held.is_null()) break;
    std::this_thread::sleep_for(50ms);
  }
  REQUIRE(held.is_object());
  CHECK(held["run"].is_number());
  CHECK(c.wait_run(first)["status"] == "succeeded");
  CHECK(c.wait_run(second)["status"] == "succeeded");
  // Never two inside at once: in/out pairs follow each other.
  std::istringstream lines(slurp(trace));
  std::vector<std::string> migrate;
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("smoke")) migrate.push_back(line);
  }
  INFO(slurp(trace));
  REQUIRE(migrate.size() == 4);
  CHECK(migrate[0].substr(0, 3) == "in ");
  CHECK(migrate[1] == "out " + migrate[0].substr(3));
  CHECK(migrate[2].substr(0, 3) == "in ");
  CHECK(migrate[3] == "out " + migrate[2].substr(3));
  const std::string waited = c.stage_log(first, "Migrate") + c.stage_log(second, "Migrate");
  CHECK(has(waited, "[staging-db] is locked by run "));
  CHECK(has(c.stage_log(first, "Smoke"), "Lock acquired on [staging-web]"));
  CHECK(has(c.stage_log(first, "Smoke"), "Lock released on resource [staging-web]"));
  // Released with their jobs: nothing is held any more.
  CHECK(c.get_json("/api/v1/locks")["locks"].empty());
}

TEST_CASE("a newer run passing a milestone cancels the older run that has not") {
  Cluster c;
  c.start_controller();
  c.start_agent({.executors = 2});
  c.wait_agents(1);
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  parameters { string(name: 'SLEEP', defaultValue: '0') }
  stages {
    stage('Build') { steps { sh "sleep ${params.SLEEP}" } }
    stage('Deploy') {
      steps {
        milestone(1)
        echo 'deploying'
      }
    }
  }
}
)"}});
  const int64_t older = c.trigger(repo, {{"SLEEP", "6"}});
  const int64_t newer = c.trigger(repo, {{"SLEEP", "0"}});
  json n = c.wait_run(newer);
  CHECK(n["status"] == "succeeded");
  CHECK(has(c.stage_log(newer, "Deploy"), "Milestone 1 passed"));
  json o = c.wait_run(older);
  INFO(o.dump());
  CHECK(o["status"] == "aborted");
  CHECK(has(o.dump(), "superseded by run #" + std::to_string(n["number"].get<int64_t>()) +
                          " at milestone 1"));
}

TEST_CASE("two runs wanting both printers of a label take turns with the names exported") {
  Cluster c(
      "locks:\n"
      "  - {name: printer-1, labels: [printer]}\n"
      "  - {name: printer-2, labels: [printer]}\n");
  c.start_controller();
  c.start_agent({.executors = 2});
  c.wait_agents(1);
  const std::string trace = c.dir() + "/trace.txt";
  std::string repo = c.make_repo(
      {{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Print') {
      steps {
        lock(label: 'printer', quantity: 2, variable: 'P') {
          sh 'echo "in $BUILD_NUMBER $P $P0 $P1" >> )" +
                           trace + R"(; sleep 2; echo "out $BUILD_NUMBER" >> )" + trace + R"('
        }
      }
    }
  }
}
)"}});
  const int64_t first = c.trigger(repo);
  const int64_t second = c.trigger(repo);
  // While one holds both, the listing shows the labels, the holder with its quantity and the
  // other run waiting in the queue.
  json seen;
  for (int i = 0; i < 100 && seen.is_null(); ++i) {
    json locks = c.get_json("/api/v1/locks");
    if (!locks.value("queue", json::array()).empty() &&
        !locks.value("holders", json::array()).empty())
      seen = locks;
    std::this_thread::sleep_for(50ms);
  }
  REQUIRE(seen.is_object());
  INFO(seen.dump());
  REQUIRE(seen["locks"].size() == 2);
  CHECK(seen["locks"][0]["resource"] == "printer-1");
  CHECK(seen["locks"][0]["labels"] == json::array({"printer"}));
  CHECK(seen["locks"][0]["run"].is_number());
  CHECK(seen["locks"][0]["waiting"].size() == 1);
  CHECK(seen["holders"][0]["quantity"] == 2);
  CHECK(seen["queue"][0]["wanted"] == "[Label: printer, Quantity: 2]");
  CHECK(c.wait_run(first)["status"] == "succeeded");
  CHECK(c.wait_run(second)["status"] == "succeeded");
  std::istringstream lines(slurp(trace));
  std::vector<std::string> got;
  for (std::string line; std::getline(lines, line);) got.push_back(line);
  INFO(slurp(trace));
  REQUIRE(got.size() == 4);
  const std::string n1 = got[0].substr(3, got[0].find(' ', 3) - 3);
  CHECK(got[0] == "in " + n1 + " printer-1,printer-2 printer-1 printer-2");
  CHECK(got[1] == "out " + n1);
  CHECK(got[2].starts_with("in "));
  CHECK(got[3] == "out " + got[2].substr(3, got[2].find(' ', 3) - 3));
  const std::string waited = c.stage_log(first, "Print") + c.stage_log(second, "Print");
  CHECK(has(waited, "[Label: printer, Quantity: 2] is locked by run "));
  CHECK(has(waited, "Lock acquired on [printer-1,printer-2]"));
  // Declared resources stay listed, free; nothing is held or queued.
  json after = c.get_json("/api/v1/locks");
  CHECK(after["locks"].size() == 2);
  CHECK(after["locks"][1]["run"].is_null());
  CHECK(after["holders"].empty());
  CHECK(after["queue"].empty());
  CliResult listed = c.cli({"locks"});
  CHECK(listed.exit_code == 0);
  CHECK(has(listed.out, "printer-2            printer              -"));
  // An unknown label fails the step and says why.
  std::string bad = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages { stage('Scan') { steps { lock(label: 'scanner') { echo 'never' } } } }
}
)"}});
  const int64_t refused = c.trigger(bad);
  CHECK(c.wait_run(refused)["status"] == "failed");
  CHECK(has(c.wait_run(refused).dump() + c.stage_log(refused, "Scan"),
            "no lockable resource has the label 'scanner'"));
}

TEST_CASE("the pipeline option lock is held by the run across all its stages") {
  Cluster c("locks:\n  - {name: printer-1, labels: [printer]}\n");
  c.start_controller();
  c.start_agent({.executors = 3});
  c.wait_agents(1);
  const std::string trace = c.dir() + "/trace.txt";
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  options { lock(label: 'printer', quantity: 1, variable: 'P') }
  stages {
    stage('A') { steps { sh 'echo "a $BUILD_NUMBER $P" >> )" +
                                                      trace + R"(; sleep 2' } }
    stage('B') { steps { sh 'echo "b $BUILD_NUMBER $P0" >> )" +
                                                      trace + R"(; sleep 1' } }
  }
}
)"}});
  const int64_t first = c.trigger(repo);
  const int64_t second = c.trigger(repo);
  // One of them waits, queued, and says for what.
  std::string reason;
  for (int i = 0; i < 100 && reason.empty(); ++i) {
    for (int64_t id : {first, second}) {
      json r = c.get_json("/api/v1/runs/" + std::to_string(id));
      if (r.value("status", "") == "queued" &&
          r.value("reason", "").starts_with("waiting for lock "))
        reason = r["reason"];
    }
    std::this_thread::sleep_for(50ms);
  }
  CHECK(has(reason, "waiting for lock [Label: printer, Quantity: 1], held by run "));
  CHECK(c.wait_run(first)["status"] == "succeeded");
  CHECK(c.wait_run(second)["status"] == "succeeded");
  std::istringstream lines(slurp(trace));
  std::vector<std::string> got;
  for (std::string line; std::getline(lines, line);) got.push_back(line);
  INFO(slurp(trace));
  REQUIRE(got.size() == 4);
  // All of one run's stages, then all of the other's: the lock is not let go in between.
  const std::string n1 = got[0].substr(2, got[0].find(' ', 2) - 2);
  CHECK(got[0] == "a " + n1 + " printer-1");
  CHECK(got[1] == "b " + n1 + " printer-1");
  CHECK(got[2].starts_with("a "));
  CHECK(got[3] == "b " + got[2].substr(2, got[2].find(' ', 2) - 2) + " printer-1");
  CHECK(c.get_json("/api/v1/locks")["holders"].empty());
}
