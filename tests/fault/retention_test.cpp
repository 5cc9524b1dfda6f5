// Disks do not fill by themselves (SPEC §11): the agent prunes the
// workspaces of finished runs, keeping the newest per job for reuse, and the
// mirrors no job has used for `mirror_max_age`. A real controller and agent.
#include <catch2/catch.hpp>

#include <filesystem>
#include <set>
#include <thread>

#include "fault_support.hpp"

using namespace gantry::fault;

namespace fs = std::filesystem;

namespace {

std::set<std::string> entries(const std::string& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.insert(e.path().filename().string());
  return out;
}

std::string quick_pipeline() {
  return "pipeline {\n  agent any\n  stages {\n    stage('Build') {\n"
         "      steps { sh 'echo built > out.txt' }\n    }\n  }\n}\n";
}

}  // namespace

TEST_CASE("Workspaces of finished runs and unused mirrors are pruned, the newest per job kept") {
  FAULT_SEED(seed);
  Cluster c;
  c.start_controller();
  c.start_agent({"A"});
  c.wait_agents(1);
  const std::string work = c.dir() + "/A";
  const std::string app = c.make_repo({{"Jenkinsfile", quick_pipeline()}});
  const std::string lib = c.make_repo({{"Jenkinsfile", quick_pipeline()}});
  std::vector<std::string> seen;  // every workspace a run used
  auto run_once = [&](const std::string& repo) {
    int64_t id = c.trigger(repo);
    json run = c.wait_run(id);
    REQUIRE(run["status"] == "succeeded");
    // The workspace the run used, as the agent names it: JOB-NUMBER.
    std::string ws = run["job"].get<std::string>() + "-" + std::to_string(run["number"].get<int>());
    seen.push_back(ws);
    return ws;
  };
  run_once(app);
  run_once(app);
  run_once(lib);
  std::string newest_app = run_once(app);
  std::string newest_lib = seen[2];
  const std::set<std::string> want = {newest_app, newest_lib};
  INFO("workspaces used: " << seen[0] << " " << seen[1] << " " << seen[2] << " " << seen[3]);
  CHECK(wait_for([&] { return entries(work + "/workspace") == want; }, std::chrono::seconds(10)));
  CHECK(read_file(work + "/workspace/" + newest_app + "/out.txt") == "built\n");
  // Removed through state/trash/, which is emptied too.
  CHECK(wait_for([&] { return entries(work + "/state/trash").empty(); }, std::chrono::seconds(10)));

  // At startup too: a workspace of an older run (left by a crash) and a
  // mirror unused for longer than mirror_max_age go; the ones in use stay.
  c.stop_agent(0);
  fs::create_directories(work + "/workspace/" + seen[0] + "/leftover");
  auto mirrors = entries(work + "/mirrors");
  REQUIRE(mirrors.size() == 2);
  const std::string stale = work + "/mirrors/0123456789abcdef-stale.git";
  fs::create_directories(stale + "/objects");
  auto old = fs::file_time_type::clock::now() - std::chrono::hours(24 * 3);
  fs::last_write_time(stale, old);
  c.start_agent({"A", {}, 1, "", {"--mirror-max-age", "2d"}});
  c.wait_agents(1);
  CHECK(wait_for([&] { return entries(work + "/workspace") == want; }, std::chrono::seconds(10)));
  CHECK(wait_for([&] { return entries(work + "/mirrors") == mirrors; }, std::chrono::seconds(10)));
  // The kept workspace is reused by the job's next run.
  std::string next = run_once(app);
  CHECK(wait_for(
      [&] {
        return entries(work + "/workspace") == std::set<std::string>{next, newest_lib};
      },
      std::chrono::seconds(10)));
}
