// Retention through the real daemons (SPEC §11, docs/retention.md): with
// `retention: {keep_last: 3}`, six runs of one job leave its newest three in
// the API, and the others' logs and artifacts are gone from the data dir.
#include <catch2/catch.hpp>

#include <filesystem>
#include <set>
#include <thread>

#include "harness.hpp"

using namespace gantry::e2e;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// The ids of a job's runs as GET /api/v1/runs lists them.
std::set<int64_t> listed_runs(Cluster& c, const std::string& job) {
  std::set<int64_t> out;
  const json list = c.get_json("/api/v1/runs?limit=100");
  for (const json& r : list["runs"]) {
    if (r.value("job", "") == job) out.insert(r["id"].get<int64_t>());
  }
  return out;
}

}  // namespace

TEST_CASE("retention keep_last: the API lists a job's newest runs, the others' files are gone") {
  Cluster c("retention: {keep_last: 3}\n");
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Build') {
      steps {
        sh 'echo "built $BUILD_NUMBER" | tee out.txt'
        archiveArtifacts artifacts: 'out.txt'
      }
    }
  }
}
)"}});
  std::vector<int64_t> ids;
  std::string job;
  for (int i = 0; i < 6; ++i) {
    int64_t id = c.trigger(repo);
    json run = c.wait_run(id, 30s);
    INFO(run.dump());
    REQUIRE(run["status"] == "succeeded");
    job = run.value("job", "");
    ids.push_back(id);
  }
  const fs::path data = fs::path(c.dir()) / "data";
  const std::set<int64_t> newest = {ids[3], ids[4], ids[5]};
  // The controller looks again soon after a run ends (within seconds).
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (listed_runs(c, job) != newest && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
  }
  INFO(read_file(c.dir() + "/controller.log"));
  CHECK(listed_runs(c, job) == newest);
  for (int i = 0; i < 3; ++i) {
    INFO("pruned run " << ids[i]);
    CHECK_FALSE(fs::exists(data / "logs" / std::to_string(ids[i])));
    CHECK_FALSE(fs::exists(data / "artifacts" / std::to_string(ids[i])));
    CHECK(c.http("GET", "/api/v1/runs/" + std::to_string(ids[i])).status == 404);
  }
  for (int64_t id : newest) {
    INFO("kept run " << id);
    CHECK(fs::exists(data / "logs" / std::to_string(id)));
    CHECK(fs::exists(data / "artifacts" / std::to_string(id)));
    CHECK(c.stage_log(id, "Build").find("built") != std::string::npos);
  }
}
