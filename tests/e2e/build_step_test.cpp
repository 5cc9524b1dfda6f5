// The build step and the upstream trigger through real daemons (docs/pipeline-language.md,
// "build and upstream"): a run starts runs of another configured repository with parameters,
// waits for them, takes their failure (propagate) or reads their result (propagate: false), and
// each run links to the other; an unknown job fails the step; a job whose pipeline declares
// `upstream` starts when the named job succeeds.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace gantry::e2e;
using namespace std::chrono_literals;

namespace {

bool has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

const char* kLib = R"(pipeline {
  agent any
  parameters {
    string(name: 'WHO', defaultValue: 'nobody')
    booleanParam(name: 'FAIL', defaultValue: false)
  }
  stages {
    stage('Work') {
      steps { sh 'echo "who=$WHO undeclared=${UNDECLARED:-unset}"; if [ "$FAIL" = true ]; then exit 3; fi' }
    }
  }
}
)";

std::vector<json> runs_of(Cluster& c, const std::string& job) {
  std::vector<json> out;
  json list = c.get_json("/api/v1/runs?limit=200");
  for (const auto& r : list.value("runs", json::array())) {
    if (r.value("job", "") == job) out.push_back(r);
  }
  std::reverse(out.begin(), out.end());  // oldest first
  return out;
}

}  // namespace

TEST_CASE("build job passes parameters and waits and propagates and links both ways") {
  Cluster c;
  const std::string lib = c.make_repo({{"Jenkinsfile", kLib}});
  const std::string app = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Trigger') {
      steps {
        build job: 'lib/main', parameters: [string(name: 'WHO', value: "app-${BUILD_NUMBER}"),
                                            string(name: 'UNDECLARED', value: 'x')]
        script {
          def b = build(job: 'lib', propagate: false,
                        parameters: [booleanParam(name: 'FAIL', value: true)])
          echo "result=${b.result} number=${b.number} name=${b.fullProjectName}"
        }
        build job: '/lib/main', parameters: [booleanParam(name: 'FAIL', value: true)]
        echo 'not reached'
      }
    }
  }
}
)"}});
  c.add_repository("lib", lib);
  c.add_repository("app", app);
  c.start_controller();
  // The waiting build step holds an executor while its downstream run takes the other.
  c.start_agent({.executors = 2});
  c.wait_agents(1);
  const int64_t up = c.trigger("app");
  json run = c.wait_run(up, 120s);
  CHECK(run["status"] == "failed");
  const std::string log = c.stage_log(up, "Trigger");
  INFO(log);
  CHECK(has(log, "Scheduling project: lib/main"));
  CHECK(has(log, "Starting building: lib/main #1"));
  CHECK(has(log, "result=FAILURE number=2 name=lib/main"));
  CHECK(has(log, "lib/main #3 completed with status FAILURE"));
  CHECK(!has(log, "not reached"));
  // The downstream runs, linked both ways.
  json shown = c.get_json("/api/v1/runs/" + std::to_string(up));
  REQUIRE(shown["downstream"].size() == 3);
  const int64_t first = shown["downstream"][0]["run"].get<int64_t>();
  CHECK(shown["downstream"][0]["job"] == "lib/main");
  CHECK(shown["downstream"][0]["status"] == "succeeded");
  CHECK(shown["downstream"][1]["status"] == "failed");
  json down = c.get_json("/api/v1/runs/" + std::to_string(first));
  CHECK(down["trigger"] == "upstream");
  CHECK(down["upstream"]["run"] == up);
  CHECK(down["upstream"]["job"] == "app/main");
  CHECK(down["upstream"]["stage"] == "Trigger");
  // The parameter given, and the one the job does not declare dropped (as Jenkins does).
  CHECK(has(c.stage_log(first, "Work"), "who=app-1 undeclared=unset"));
  // `gantry show` says the same.
  CliResult shown_up = c.cli({"show", std::to_string(up)});
  CHECK(has(shown_up.out, "started lib/main#1 (run " + std::to_string(first) + ") succeeded"));
  CliResult shown_down = c.cli({"show", std::to_string(first)});
  CHECK(
      has(shown_down.out, "started by app/main#1 (run " + std::to_string(up) + ", stage Trigger)"));
  // A job may not follow a run it did not start.
  CHECK(c.http("POST", "/api/v1/agent/jobs/x/build", R"({"op":"status","run":1})").status >= 400);
}

TEST_CASE("build job names an unknown job clearly and upstream triggers start the next job") {
  Cluster c;
  const std::string lib = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages { stage('Build') { steps { sh 'echo built' } } }
}
)"}});
  const std::string after = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  triggers { upstream(upstreamProjects: 'lib/main', threshold: hudson.model.Result.SUCCESS) }
  stages { stage('After') { steps { sh 'echo "after $BUILD_NUMBER"' } } }
}
)"}});
  const std::string typo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages { stage('Go') { steps { build 'nope/main' } } }
}
)"}});
  c.add_repository("lib", lib);
  c.add_repository("after", after);
  c.add_repository("typo", typo);
  c.start_controller();
  c.start_agent({.executors = 2});
  c.wait_agents(1);
  json bad = c.wait_run(c.trigger("typo"));
  CHECK(bad["status"] == "failed");
  CHECK(has(c.stage_log(bad["id"].get<int64_t>(), "Go"), "no job 'nope/main'"));
  // The watcher reads `after`'s triggers from its head; then a run of lib/main starts it.
  REQUIRE(c.wait_run(c.trigger("lib"))["status"] == "succeeded");
  std::vector<json> started;
  for (int i = 0; i < 300 && started.empty(); ++i) {
    started = runs_of(c, "after/main");
    if (started.empty()) std::this_thread::sleep_for(100ms);
  }
  REQUIRE(started.size() == 1);
  json run = c.wait_run(started[0]["id"].get<int64_t>());
  CHECK(run["status"] == "succeeded");
  CHECK(run["trigger"] == "upstream");
  CHECK(run["upstream"]["job"] == "lib/main");
}
