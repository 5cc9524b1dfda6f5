// The CLI as a team uses it every day against a real controller (issue 18, item 2 and 6): a
// typo in a trigger is an error and no run; list filters are checked; `logs -f` exits with the
// run's result like `wait`; an unknown stage lists the real ones; a run is found by JOB#N as the
// lists print it; a developer retries and cancels their own runs and nobody else's.
#include <catch2/catch.hpp>

#include <fstream>
#include <thread>

#include "harness.hpp"

using namespace gantry::e2e;

namespace {

const std::string kConfig = R"(users:
  - {name: dev, role: developer, token: dev-token, emails: [dev@example.com]}
  - {name: eve, role: developer, token: eve-token}
  - {name: ada, role: admin, token: admin-token}
)";

const std::string kPipeline = R"(pipeline {
  agent any
  stages {
    stage('Build') { steps { sh 'echo built' } }
    stage('Test') { steps { sh 'echo "FAIL: parse"; exit 3' } }
  }
}
)";

struct Shop {
  Cluster c{kConfig};
  std::string repo;
  Shop() {
    repo = c.make_repo({{"Jenkinsfile", kPipeline}});
    c.add_repository("shop", repo);
    c.start_controller();
    c.admin_token = "admin-token";
    c.start_agent({});
    c.wait_agents(1);
  }
  CliResult as(const std::string& token, std::vector<std::string> args) {
    args.insert(args.begin(), {"--token", token});
    return c.cli(args);
  }
  size_t runs() { return c.get_json("/api/v1/runs")["runs"].size(); }
};

}  // namespace

TEST_CASE("the CLI refuses typos before they become runs and exits as the run ended") {
  Shop s;
  // Until the first fetch lists the refs, wait for one (the trigger below fetches too).
  const int64_t first = std::stoll(s.as("dev-token", {"trigger", "--repo", "shop"}).out);
  REQUIRE(s.c.wait_run(first)["status"] == "failed");

  CliResult nope = s.as("dev-token", {"trigger", "--repo", "shpo"});
  INFO(nope.out);
  CHECK(nope.exit_code == 2);
  CHECK_THAT(nope.out, Catch::Contains("no repository 'shpo' (configured: shop)"));
  CliResult ref = s.as("dev-token", {"trigger", "--repo", "shop", "--ref", "mian"});
  INFO(ref.out);
  CHECK(ref.exit_code == 2);
  CHECK_THAT(ref.out, Catch::Contains("repository 'shop' has no branch or tag 'mian'"));
  CHECK_THAT(ref.out, Catch::Contains("branches: main"));
  CHECK(s.runs() == 1);  // neither typo made a run

  CliResult status = s.c.cli({"runs", "--status", "nonsense"});
  CHECK(status.exit_code == 2);
  CHECK_THAT(status.out, Catch::Contains("unknown status 'nonsense'"));
  CHECK(s.c.cli({"runs", "--repo", "nope"}).exit_code == 2);

  // The list: JOB#N, branch, status; and that name opens the same run.
  CliResult list = s.c.cli({"runs", "--repo", "shop", "--branch", "main"});
  INFO(list.out);
  CHECK_THAT(list.out, Catch::Contains("shop/main#1"));
  CHECK_THAT(list.out, Catch::Contains("main "));
  CliResult shown = s.c.cli({"show", "shop/main#1"});
  INFO(shown.out);
  CHECK(shown.exit_code == 0);
  CHECK_THAT(shown.out, Catch::Contains("(run " + std::to_string(first) + ")"));
  CHECK(s.c.cli({"show", "shop/main#9"}).exit_code == 2);

  // logs -f ends with the run's result (1: failed), like wait.
  CliResult follow = s.c.cli({"logs", std::to_string(first), "-f"});
  INFO(follow.out);
  CHECK(follow.exit_code == 1);
  CHECK_THAT(follow.out, Catch::Contains("FAIL: parse"));
  CliResult stage = s.c.cli({"logs", std::to_string(first), "Tset"});
  CHECK(stage.exit_code == 2);
  CHECK_THAT(stage.out, Catch::Contains("has no stage 'Tset' (its stages: Build, Test)"));
}

TEST_CASE("a developer retries and cancels their own runs, and not someone else's") {
  Shop s;
  const int64_t mine = std::stoll(s.as("dev-token", {"trigger", "--repo", "shop"}).out);
  REQUIRE(s.c.wait_run(mine)["status"] == "failed");
  CliResult retried = s.as("dev-token", {"retry", std::to_string(mine)});
  INFO(retried.out);
  REQUIRE(retried.exit_code == 0);
  s.c.wait_run(std::stoll(retried.out));
  CliResult other = s.as("eve-token", {"retry", std::to_string(mine)});
  INFO(other.out);
  CHECK(other.exit_code == 2);
  CHECK_THAT(other.out, Catch::Contains("someone else's run"));
  CHECK(s.as("eve-token", {"cancel", std::to_string(mine)}).exit_code == 2);
}

TEST_CASE("a run restarts from a stage: the stages before are skipped and their stashes kept") {
  Cluster c(kConfig);
  const std::string flag = c.dir() + "/tests-fixed";
  const std::string pipeline = R"JF(pipeline {
  agent any
  stages {
    stage('Build') {
      steps {
        sh 'mkdir -p out && echo "built once" > out/app && echo BUILD-RAN'
        stash name: 'app', includes: 'out/**'
      }
    }
    stage('Test') {
      steps {
        sh 'rm -rf out'
        unstash 'app'
        sh 'cat out/app && test -f )JF" +
                               flag + R"JF('
      }
    }
  }
}
)JF";
  c.add_repository("shop", c.make_repo({{"Jenkinsfile", pipeline}}));
  c.start_controller();
  c.admin_token = "admin-token";
  c.start_agent({});
  c.wait_agents(1);
  CliResult t = c.cli({"--token", "dev-token", "trigger", "--repo", "shop"});
  REQUIRE(t.exit_code == 0);
  const int64_t first = std::stoll(t.out);
  REQUIRE(c.wait_run(first)["status"] == "failed");

  CliResult wrong =
      c.cli({"--token", "dev-token", "retry", std::to_string(first), "--from", "Tset"});
  CHECK(wrong.exit_code == 2);
  CHECK_THAT(wrong.out, Catch::Contains("no top-level stage 'Tset' to restart from (its stages: "
                                        "Build, Test)"));

  std::ofstream(flag) << "fixed\n";
  CliResult again = c.cli({"--token", "dev-token", "retry", "shop/main#1", "--failed"});
  INFO(again.out);
  REQUIRE(again.exit_code == 0);
  const int64_t second = std::stoll(again.out);
  json run = c.wait_run(second);
  INFO(run.dump());
  CHECK(run["status"] == "succeeded");
  CHECK(run["restart_stage"] == "Test");
  CHECK(run["retry_of"] == first);
  for (const auto& s : run["stages"]) {
    if (s["id"] == "Build") {
      CHECK(s["status"] == "skipped");
      CHECK_THAT(s["reason"].get<std::string>(), Catch::Contains("restarted from stage 'Test'"));
    }
  }
  // Build did not run again; Test read the stash the first run made.
  CHECK(c.stage_log(second, "Build").find("BUILD-RAN") == std::string::npos);
  CHECK_THAT(c.stage_log(second, "Test"), Catch::Contains("built once"));
}

TEST_CASE("gantry artifacts lists a run's artifacts and downloads one") {
  Shop s;
  const std::string pipeline = R"(pipeline {
  agent any
  stages {
    stage('Pack') {
      steps {
        sh 'mkdir -p dist && printf "release bytes" > dist/app.tgz'
        archiveArtifacts artifacts: 'dist/app.tgz'
      }
    }
  }
}
)";
  const int64_t id = s.c.trigger(s.c.make_repo({{"Jenkinsfile", pipeline}}));
  REQUIRE(s.c.wait_run(id)["status"] == "succeeded");
  CliResult list = s.c.cli({"artifacts", std::to_string(id)});
  INFO(list.out);
  CHECK(list.exit_code == 0);
  CHECK_THAT(list.out, Catch::Contains("dist/app.tgz"));
  CHECK_THAT(list.out, Catch::Contains("Pack"));
  const std::string dest = s.c.dir() + "/got.tgz";
  CliResult got = s.c.cli({"artifacts", std::to_string(id), "dist/app.tgz", "-o", dest});
  INFO(got.out);
  CHECK(got.exit_code == 0);
  CHECK(read_file(dest) == "release bytes");
  CHECK(s.c.cli({"artifacts", std::to_string(id), "dist/nope"}).exit_code == 2);
}

TEST_CASE(
    "the start form reads the parameters at the branch head and lists show the commit title") {
  Cluster c(kConfig);
  const std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  parameters {
    choice(name: 'TARGET', choices: ['eu', 'us'], description: 'Where')
    booleanParam(name: 'DRY', defaultValue: true)
    password(name: 'PIN', defaultValue: 'never-shown')
  }
  stages { stage('Go') { steps { sh 'echo "target=$TARGET dry=$DRY"' } } }
}
)"}});
  c.add_repository("geo", repo);
  c.start_controller();
  c.admin_token = "admin-token";
  c.start_agent({});
  c.wait_agents(1);
  // The watcher's first fetch, then the file read off the loop: "pending" until it is.
  json got;
  for (int i = 0; i < 200; ++i) {
    got = c.get_json("/api/v1/repos/geo/parameters?branch=main");
    if (got.is_object() && !got.value("pending", false) && !got["parameters"].empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  INFO(got.dump());
  REQUIRE(got["parameters"].size() == 3);
  CHECK(got["parameters"][0]["name"] == "TARGET");
  CHECK(got["parameters"][0]["type"] == "choice");
  CHECK(got["parameters"][0]["choices"] == json::array({"eu", "us"}));
  CHECK(got["parameters"][0]["default"] == "eu");
  CHECK(got["parameters"][0]["description"] == "Where");
  CHECK(got["parameters"][1]["default"] == "true");
  CHECK(got["parameters"][2]["type"] == "password");
  CHECK(got["parameters"][2]["default"] == "");  // a password's default is never shown
  CHECK(c.http("GET", "/api/v1/repos/nope/parameters").status == 404);
  CHECK(c.http("GET", "/api/v1/repos/geo/parameters", "", "eve-token").status == 200);

  const int64_t id = c.trigger("geo", {{"TARGET", "us"}});
  REQUIRE(c.wait_run(id)["status"] == "succeeded");
  CHECK(c.stage_log(id, "Go").find("target=us dry=true") != std::string::npos);
  // When the log's bytes arrived: the first mark is at offset 0, within the stage's time.
  json marks = c.get_json("/api/v1/runs/" + std::to_string(id) + "/log/times?stage=Go");
  INFO(marks.dump());
  REQUIRE(!marks["marks"].empty());
  CHECK(marks["marks"][0][0] == 0);
  json go = c.get_json("/api/v1/runs/" + std::to_string(id))["stages"][0];
  CHECK(marks["marks"][0][1].get<int64_t>() >= go["started_at"].get<int64_t>());
  CHECK(marks["marks"][0][1].get<int64_t>() <= go["finished_at"].get<int64_t>());
  CHECK(c.http("GET", "/api/v1/runs/" + std::to_string(id) + "/log/times?stage=Nope").status ==
        404);
  // The list carries the commit's title (make_repo commits "init") and the pipeline file.
  json runs = c.get_json("/api/v1/runs");
  REQUIRE(runs["runs"].size() == 1);
  CHECK(runs["runs"][0]["title"] == "init");
  CHECK(runs["runs"][0]["pipeline"] == "Jenkinsfile");
  CliResult listed = c.cli({"runs"});
  INFO(listed.out);
  CHECK_THAT(listed.out, Catch::Contains("TITLE"));
  CHECK_THAT(listed.out, Catch::Contains(" init"));
}
