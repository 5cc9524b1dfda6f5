// Canary deploys through real daemons (SPEC §8, issue 7): weights in order,
// an analysis that fails and rolls back by itself, pause() with promote and
// abort, and kill -9 of the controller between weights and during the
// rollback. Marker files written by the steps prove what ran, and how often.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace gantry::e2e;

namespace {

const char* kConfig = R"(users:
  - {name: ada, role: admin, token: admin-token}
  - {name: rita, role: release-manager, groups: [release-managers], token: rita-token}
  - {name: dev, role: developer, token: dev-token}
environments:
  staging: {}
)";

// A canary to staging whose steps, analysis and rollback append a line to
// `trail`; `canary` is the body of its canary block.
std::string canary_pipeline(const std::string& trail, const std::string& canary) {
  return R"(pipeline {
  agent any
  stages {
    stage('Build') { steps { echo 'built' } }
    stage('Prod') {
      deploy('staging') {
        canary {
)" + canary +
         R"(
        }
        rollback { sh 'echo "rollback $RELEASE_ID to $PREVIOUS_RELEASE" >> )" +
         trail + R"(' }
      }
      steps { sh 'echo "deploy $CANARY_WEIGHT" >> )" +
         trail + R"(' }
    }
  }
}
)";
}

std::string analysis(const std::string& trail, const std::string& fail_at = "none") {
  return "analysis { sh 'echo \"analysis $CANARY_WEIGHT\" >> " + trail +
         "; test \"$CANARY_WEIGHT\" != " + fail_at + "' }";
}

// A controller with kConfig and one agent; the steps write to `trail`.
struct Canaries {
  Cluster c{kConfig};
  std::string trail = c.dir() + "/trail.txt";
  Canaries() {
    c.start_controller();
    c.admin_token = "admin-token";
    c.start_agent({});
    c.wait_agents(1);
  }
};

int64_t trigger(Cluster& c, const std::string& pipeline) {
  CliResult t = c.cli({"trigger", "--repo", c.make_repo({{"Jenkinsfile", pipeline}})});
  REQUIRE(t.exit_code == 0);
  return std::stoll(t.out);
}

// Polls the run until its Prod stage satisfies `ok` (bounded).
json wait_prod(Cluster& c, int64_t run, const std::function<bool(const json&)>& ok,
               std::chrono::seconds timeout = std::chrono::seconds(60)) {
  auto until = std::chrono::steady_clock::now() + timeout;
  json stage;
  while (std::chrono::steady_clock::now() < until) {
    json r = c.get_json("/api/v1/runs/" + std::to_string(run));
    stage = stage_of(r, "Prod");
    if (!stage.is_null() && ok(stage)) return stage;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL("the Prod stage never got there; last: " << stage.dump());
  return stage;
}

bool starts_with(const json& stage, const std::string& status, const std::string& reason) {
  return stage["status"] == status && stage["reason"].get<std::string>().rfind(reason, 0) == 0;
}

json release(Cluster& c, const std::string& id) {
  return c.get_json("/api/v1/releases/" + id);
}

}  // namespace

TEST_CASE("a canary that passes every weight succeeds and becomes current", "[pg]") {
  Canaries f;
  Cluster& c = f.c;
  const std::string& trail = f.trail;
  int64_t run = trigger(c, canary_pipeline(trail, "weights 10, 50, 100\n" + analysis(trail)));
  CHECK(c.wait_run(run)["status"] == "succeeded");
  CHECK(read_file(trail) ==
        "deploy 10\nanalysis 10\ndeploy 50\nanalysis 50\ndeploy 100\nanalysis 100\n");
  json r = release(c, "R-1");
  CHECK(r["status"] == "succeeded");
  CHECK(r["strategy"] == "canary");
  CHECK(r["current"] == true);
  // Each phase has its own log; the third is the 50% deploy.
  CHECK(c.stage_log(run, "Prod", 3).find("Canary R-1 of staging at 50%") != std::string::npos);
  // The phases are named, on the API and in `gantry show` and `gantry logs`.
  json prod = stage_of(c.get_json("/api/v1/runs/" + std::to_string(run)), "Prod");
  CHECK(prod["attempt_names"] == json::array({"deploy 10%", "analysis 10%", "deploy 50%",
                                              "analysis 50%", "deploy 100%", "analysis 100%"}));
  CliResult shown = c.cli({"show", std::to_string(run)});
  INFO(shown.out);
  CHECK(shown.out.find("phases: 1 deploy 10%, 2 analysis 10%, 3 deploy 50%") != std::string::npos);
  CliResult logs = c.cli({"logs", std::to_string(run), "Prod"});
  CHECK(logs.out.find("==> Prod (analysis 50%) <==") != std::string::npos);
}

TEST_CASE("an analysis that fails at 50% rolls back by itself, the previous release is current") {
  Canaries f;
  Cluster& c = f.c;
  const std::string& trail = f.trail;
  int64_t good = trigger(c, canary_pipeline(trail, "weights 100\n" + analysis(trail)));
  REQUIRE(c.wait_run(good)["status"] == "succeeded");
  std::remove(trail.c_str());

  int64_t bad = trigger(c, canary_pipeline(trail, "weights 10, 50, 100\n" + analysis(trail, "50")));
  json done = c.wait_run(bad);
  CHECK(done["status"] == "failed");
  CHECK(read_file(trail) ==
        "deploy 10\nanalysis 10\ndeploy 50\nanalysis 50\nrollback R-2 to R-1\n");
  json prod = stage_of(done, "Prod");
  CHECK(prod["status"] == "failed");
  CHECK(prod["reason"] == "analysis failed at 50%: script returned exit code 1; rolled back");
  CHECK(prod["attempt_names"].back() == "rollback");
  json r2 = release(c, "R-2");
  CHECK(r2["status"] == "rolled_back");
  CHECK(r2["current"] == false);
  CHECK(release(c, "R-1")["current"] == true);
  json audit = c.get_json("/api/v1/audit");
  bool audited = false;
  for (const auto& e : audit["entries"])
    audited = audited || (e["action"] == "release.rolled_back" && e["subject"] == "R-2");
  CHECK(audited);
}

TEST_CASE("pause() waits without an agent until promote, abort during a pause rolls back") {
  Canaries f;
  Cluster& c = f.c;
  const std::string& trail = f.trail;
  int64_t run = trigger(c, canary_pipeline(trail, "weights 10, 50, 100\npause()"));
  wait_prod(c, run, [](const json& s) {
    return starts_with(s, "waiting", "canary at 10%: paused, waiting for gantry promote R-1");
  });
  // No agent is held while it waits.
  json agents = c.get_json("/api/v1/agents");
  for (const auto& a : agents["agents"]) CHECK(a["jobs"].empty());
  CHECK(c.get_json("/api/v1/releases/R-1")["progress"].get<std::string>().find(
            "paused, waiting for gantry promote") != std::string::npos);

  CliResult refused = c.cli({"--token", "dev-token", "promote", "R-1"});
  CHECK(refused.exit_code == 1);
  CHECK(refused.out.find("dev may not promote releases") != std::string::npos);
  CliResult promoted = c.cli({"--token", "rita-token", "promote", "R-1", "--comment", "looks ok"});
  INFO(promoted.out);
  CHECK(promoted.exit_code == 0);
  wait_prod(c, run,
            [](const json& s) { return starts_with(s, "waiting", "canary at 50%: paused"); });
  CliResult aborted =
      c.cli({"--token", "rita-token", "abort", "R-1", "--comment", "error budget burning"});
  INFO(aborted.out);
  CHECK(aborted.exit_code == 0);
  CHECK(aborted.out.find("R-1 rolled_back: aborted by rita: error budget burning; rolled back") !=
        std::string::npos);
  CHECK(read_file(trail) == "deploy 10\ndeploy 50\nrollback R-1 to \n");
  CHECK(c.wait_run(run)["status"] == "failed");
  CHECK(release(c, "R-1")["status"] == "rolled_back");
  // Nothing is left to promote or abort, and a rolled-back release is never rolled back again.
  CHECK(c.cli({"--token", "rita-token", "abort", "R-1"})
            .out.find("release R-1 is not in progress (it is rolled_back)") != std::string::npos);
  CHECK(c.cli({"--token", "rita-token", "rollback", "R-1"})
            .out.find("release R-1 is already rolled back") != std::string::npos);

  std::string log = c.cli({"audit"}).out;
  CHECK(log.find("release.promote") != std::string::npos);
  CHECK(log.find("release.abort") != std::string::npos);
  CHECK(log.find("permission.denied") != std::string::npos);
  CHECK(c.cli({"audit", "verify"}).exit_code == 0);
}

TEST_CASE("kill -9 of the controller between two weights: the canary resumes at the next one") {
  Canaries f;
  Cluster& c = f.c;
  const std::string& trail = f.trail;
  int64_t run =
      trigger(c, canary_pipeline(trail, "weights 10, 50, 100\npause '3s'\n" + analysis(trail)));
  wait_prod(c, run,
            [](const json& s) { return starts_with(s, "waiting", "canary at 50%: pause"); });
  c.stop_controller(9);
  c.start_controller();
  c.admin_token = "admin-token";
  CHECK(c.wait_run(run)["status"] == "succeeded");
  CHECK(read_file(trail) ==
        "deploy 10\nanalysis 10\ndeploy 50\nanalysis 50\ndeploy 100\nanalysis 100\n");
  CHECK(release(c, "R-1")["status"] == "succeeded");
}

TEST_CASE(
    "kill -9 of the controller during the rollback: it runs once and the release rolls back") {
  Canaries f;
  Cluster& c = f.c;
  const std::string& trail = f.trail;
  std::string pipeline = canary_pipeline(trail, "weights 10, 50\n" + analysis(trail, "10"));
  // A rollback slow enough to kill the controller in the middle of it.
  pipeline.replace(pipeline.find("sh 'echo \"rollback"), 4, "sh 'sleep 2; ");
  int64_t run = trigger(c, pipeline);
  wait_prod(c, run, [](const json& s) { return starts_with(s, "running", "rolling back"); });
  c.stop_controller(9);
  c.start_controller();
  c.admin_token = "admin-token";
  json done = c.wait_run(run);
  CHECK(done["status"] == "failed");
  CHECK(read_file(trail) == "deploy 10\nanalysis 10\nrollback R-1 to \n");
  CHECK(release(c, "R-1")["status"] == "rolled_back");
  CHECK(stage_of(done, "Prod")["reason"] ==
        "analysis failed at 10%: script returned exit code 1; rolled back");
}
