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
