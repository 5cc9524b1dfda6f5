// The release ledger through real daemons (SPEC §8, issue 7 first part):
// every deploy stage that starts is a release R-<n> that replaces its
// environment's current one; its steps see RELEASE_ID and PREVIOUS_RELEASE.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace gantry::e2e;

namespace {

std::string deploy(const std::string& env, const std::string& command) {
  return R"(pipeline {
  agent any
  stages {
    stage('Deploy') {
      deploy(')" +
         env + R"(')
      steps { sh ')" +
         command + R"(' }
    }
  }
}
)";
}

const char* kShow = R"(echo \"release=$RELEASE_ID previous=$PREVIOUS_RELEASE env=$DEPLOY_ENV\")";

}  // namespace

TEST_CASE("each deploy is a release that replaces its environment's current one", "[pg]") {
  Cluster c(R"(users:
  - {name: ada, role: admin, token: admin-token}
  - {name: rita, role: release-manager, groups: [release-managers], token: rita-token}
environments:
  staging: {}
  production:
    gmud: {approvers: [release-managers]}
)");
  c.start_controller();
  c.admin_token = "admin-token";
  c.start_agent({});
  c.wait_agents(1);
  auto run = [&](const std::string& pipeline) {
    // A configured repository: only those may deploy through a gate (production).
    std::string repo = c.watch_repository(c.make_repo({{"Jenkinsfile", pipeline}}));
    CliResult t = c.cli({"trigger", "--repo", repo});
    REQUIRE(t.exit_code == 0);
    return std::stoll(t.out);
  };
  int64_t first = run(deploy("staging", kShow));
  CHECK(c.wait_run(first)["status"] == "succeeded");
  CHECK(c.stage_log(first, "Deploy").find("release=R-1 previous= env=staging") !=
        std::string::npos);
  int64_t second = run(deploy("staging", kShow));
  CHECK(c.wait_run(second)["status"] == "succeeded");
  CHECK(c.stage_log(second, "Deploy").find("release=R-2 previous=R-1 env=staging") !=
        std::string::npos);
  int64_t broken = run(deploy("staging", "exit 3"));
  CHECK(c.wait_run(broken)["status"] == "failed");

  json list = json::parse(c.cli({"releases", "--json"}).out);
  REQUIRE(list.size() == 3);
  CHECK(list[0]["id"] == "R-3");
  CHECK(list[0]["status"] == "failed");
  CHECK(list[0]["previous"] == "R-2");
  CHECK(list[0]["current"] == false);
  CHECK(list[1]["id"] == "R-2");
  CHECK(list[1]["status"] == "succeeded");
  CHECK(list[1]["current"] == true);  // a failed deploy does not replace it
  CHECK(list[1]["run"] == second);
  CHECK(list[1]["commit"].get<std::string>().size() == 40);
  CHECK(list[2]["previous"].is_null());
  CHECK(list[2]["current"] == false);
  CHECK(c.get_json("/api/v1/releases/R-2")["environment"] == "staging");
  CHECK(c.http("GET", "/api/v1/releases/R-99").status == 404);

  // A gated deploy records the GMUD that allowed it.
  int64_t prod = run(deploy("production", kShow));
  c.wait_stage(prod, "Deploy", "waiting");
  CHECK(c.cli({"--token", "rita-token", "approve", "GMUD-1"}).exit_code == 0);
  CHECK(c.wait_run(prod)["status"] == "succeeded");
  json r = c.get_json("/api/v1/releases?env=production")["releases"];
  REQUIRE(r.size() == 1);
  CHECK(r[0]["id"] == "R-4");
  CHECK(r[0]["gmud"] == "GMUD-1");
  CHECK(r[0]["previous"].is_null());  // per environment
  CliResult table = c.cli({"releases", "--env", "production"});
  CHECK(table.out.find("R-4      production    succeeded*") != std::string::npos);
  CHECK(c.cli({"audit", "verify"}).exit_code == 0);
}

TEST_CASE("gantry rollback runs the release's rollback steps once, refusals change nothing") {
  Cluster c(R"(users:
  - {name: ada, role: admin, token: admin-token}
  - {name: rita, role: release-manager, groups: [release-managers], token: rita-token}
  - {name: dev, role: developer, token: dev-token}
environments:
  staging: {}
)");
  c.start_controller();
  c.admin_token = "admin-token";
  c.start_agent({});
  c.wait_agents(1);
  const std::string marker = c.dir() + "/rolled-back.txt";
  const std::string pipeline = R"(pipeline {
  agent any
  stages {
    stage('Build') { steps { echo 'built' } }
    stage('Deploy') {
      deploy('staging') {
        rollback { sh 'echo "rollback of $RELEASE_ID to $PREVIOUS_RELEASE" >> )" +
                               marker + R"(' }
      }
      steps { echo "deploying $RELEASE_ID" }
    }
  }
}
)";
  std::string repo = c.make_repo({{"Jenkinsfile", pipeline}});
  auto run = [&] {
    CliResult t = c.cli({"trigger", "--repo", repo});
    REQUIRE(t.exit_code == 0);
    int64_t id = std::stoll(t.out);
    REQUIRE(c.wait_run(id)["status"] == "succeeded");
    return id;
  };
  run();
  run();
  // R-1 is not current; a developer may not roll back (403, audited).
  CliResult not_current = c.cli({"--token", "rita-token", "rollback", "R-1"});
  CHECK(not_current.exit_code == 1);
  CHECK(not_current.out.find("release R-1 is not the current release of staging (R-2 is)") !=
        std::string::npos);
  CHECK(c.cli({"--token", "dev-token", "rollback", "R-2"}).exit_code == 1);
  CHECK(read_file(marker).empty());

  CliResult rb = c.cli({"--token", "rita-token", "rollback", "R-2", "--comment", "bad build"});
  INFO(rb.out);
  CHECK(rb.exit_code == 0);
  CHECK(read_file(marker) == "rollback of R-2 to R-1\n");
  json list = json::parse(c.cli({"releases", "--json"}).out);
  REQUIRE(list.size() == 2);
  CHECK(list[0]["status"] == "rolled_back");
  CHECK(list[0]["rolled_back_by"] == "rita");
  CHECK(list[1]["current"] == true);  // R-1 is current again

  CliResult again = c.cli({"--token", "rita-token", "rollback", "R-2"});
  CHECK(again.exit_code == 1);
  CHECK(again.out.find("release R-2 is already rolled back") != std::string::npos);
  CHECK(read_file(marker) == "rollback of R-2 to R-1\n");  // ran once
  json rollback_run =
      c.get_json("/api/v1/runs/" + std::to_string(list[0]["rollback_run"].get<int64_t>()));
  CHECK(stage_of(rollback_run, "Build")["status"] == "skipped");
  CHECK(stage_of(rollback_run, "Deploy")["status"] == "succeeded");

  std::string actions;
  json audit = c.get_json("/api/v1/audit");
  for (const auto& e : audit["entries"])
    actions += e["actor"].get<std::string>() + ":" + e["action"].get<std::string>() + " ";
  CHECK(actions.find("dev:permission.denied") != std::string::npos);
  CHECK(actions.find("rita:release.rollback") != std::string::npos);
  CHECK(actions.find("controller:release.rolled_back") != std::string::npos);
}

TEST_CASE(
    "a rollback of a release whose stage has no rollback steps is refused and changes "
    "nothing") {
  Cluster c(R"(users:
  - {name: ada, role: admin, token: admin-token}
  - {name: rita, role: release-manager, groups: [release-managers], token: rita-token}
environments:
  staging: {}
)");
  c.start_controller();
  c.admin_token = "admin-token";
  c.start_agent({});
  c.wait_agents(1);
  CliResult t =
      c.cli({"trigger", "--repo", c.make_repo({{"Jenkinsfile", deploy("staging", kShow)}})});
  REQUIRE(t.exit_code == 0);
  REQUIRE(c.wait_run(std::stoll(t.out))["status"] == "succeeded");
  CliResult rb = c.cli({"--token", "rita-token", "rollback", "R-1"});
  INFO(rb.out);
  CHECK(rb.exit_code == 1);
  CHECK(rb.out.find("has no rollback steps") != std::string::npos);
  json releases = c.get_json("/api/v1/releases?env=staging")["releases"];
  REQUIRE(releases.size() == 1);
  CHECK(releases[0]["status"] == "succeeded");
  CHECK(releases[0]["current"] == true);
  CHECK(c.get_json("/api/v1/runs")["runs"].size() == 1);  // no rollback run
}
