// The `input` step with `parameters` through real daemons: the agent's
// question carries the definitions, the controller's INPUT-n checks the
// approver's values (`gantry approve INPUT-n -p NAME=VALUE`), and the step
// returns them to Groovy as Jenkins does: a map for several, the bare value
// for one.
#include <catch2/catch.hpp>

#include <thread>

#include "harness.hpp"

using namespace gantry::e2e;

namespace {

const std::string kUsers = R"(users:
  - {name: dev, role: developer, token: dev-token}
  - {name: rita, role: release-manager, token: rita-token}
  - {name: ada, role: admin, token: admin-token}
)";

struct InputCluster {
  Cluster c{kUsers};
  std::string repo;
  InputCluster(const std::string& pipeline) {
    c.start_controller();
    c.admin_token = "admin-token";
    c.start_agent({});
    c.wait_agents(1);
    repo = c.watch_repository(c.make_repo({{"Jenkinsfile", pipeline}}));
  }
  int64_t trigger() {
    CliResult t = c.cli({"--token", "dev-token", "trigger", "--repo", repo});
    REQUIRE(t.exit_code == 0);
    return std::stoll(t.out);
  }
  CliResult approve(std::vector<std::string> args) {
    args.insert(args.begin(), {"--token", "rita-token", "approve"});
    return c.cli(args);
  }
  // The change request `name` once it is open.
  json wait_request(const std::string& name) {
    for (int i = 0; i < 400; ++i) {
      json list = c.get_json("/api/v1/approvals");
      for (const auto& a : list["approvals"]) {
        if (a["id"] == name) return a;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    FAIL("no change request " << name);
    return {};
  }
};

}  // namespace

TEST_CASE("an input step's parameters come back to Groovy as a map or as the bare value") {
  InputCluster g(R"(pipeline {
  agent any
  stages {
    stage('Ask') {
      steps {
        script {
          def r = input message: 'Go?', parameters: [string(name: 'WHO', defaultValue: 'x'), booleanParam(name: 'FAST', defaultValue: false)]
          echo "who=${r.WHO} fast=${r.FAST}"
          def where = input message: 'Where?', parameters: [choice(name: 'WHERE', choices: ['eu', 'us'])]
          echo "where=${where}"
        }
      }
    }
  }
}
)");
  int64_t id = g.trigger();
  json a = g.wait_request("INPUT-1");
  CHECK(a["message"] == "Go?");
  REQUIRE(a["parameters"].size() == 2);
  CHECK(a["parameters"][0]["name"] == "WHO");
  CHECK(a["parameters"][1]["type"] == "booleanParam");
  CHECK(g.approve({"INPUT-1", "-p", "FAST=maybe"}).exit_code == 2);
  CHECK(g.approve({"INPUT-1", "-p", "WHO=alice", "-p", "FAST=true"}).exit_code == 0);

  // A choice outside its choices is refused on approve, and the step still waits.
  g.wait_request("INPUT-2");
  CliResult bad = g.approve({"INPUT-2", "-p", "WHERE=mars"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.out.find("must be one of the input's choices") != std::string::npos);
  CHECK(g.c.get_json("/api/v1/runs/" + std::to_string(id))["status"] == "running");
  CHECK(g.approve({"INPUT-2", "-p", "WHERE=us"}).exit_code == 0);

  CHECK(g.c.wait_run(id)["status"] == "succeeded");
  std::string log = g.c.stage_log(id, "Ask");
  CHECK(log.find("who=alice fast=true\n") != std::string::npos);
  CHECK(log.find("where=us\n") != std::string::npos);
  CHECK(log.find("gantry approve INPUT-1 -p NAME=VALUE") != std::string::npos);
}
