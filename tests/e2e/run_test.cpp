// Pipelines through real daemons: the CLI triggers, agents run, the API
// reports. Each case starts its own controller and agents on free ports.
#include <catch2/catch.hpp>

#include <filesystem>
#include <set>

#include "harness.hpp"

using namespace gantry::e2e;

namespace {

const char* kDemo = R"(pipeline {
  agent any
  stages {
    stage('Build') {
      steps { sh 'echo compiling > build.txt && cat build.txt' }
    }
    stage('Test') {
      parallel {
        stage('Unit') { steps { sh 'echo unit ok' } }
        stage('Lint') { steps { sh 'echo lint ok' } }
      }
    }
  }
  post {
    success { echo 'all good' }
    failure { echo 'it broke' }
  }
}
)";

int64_t id_from(const CliResult& r) {
  return std::stoll(r.out);
}

}  // namespace

TEST_CASE("the demo pipeline runs end to end through the CLI", "[pg]") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.start_agent({});
  c.wait_agents(2);
  std::string repo = c.make_repo({{"Jenkinsfile", kDemo}});
  CliResult t = c.cli({"trigger", "--repo", repo});
  REQUIRE(t.exit_code == 0);
  int64_t id = id_from(t);
  CliResult w = c.cli({"wait", std::to_string(id)});
  INFO(w.out);
  CHECK(w.exit_code == 0);
  CliResult show = c.cli({"show", std::to_string(id), "--json"});
  json run = json::parse(show.out);
  CHECK(run["status"] == "succeeded");
  CHECK(run["number"] == 1);
  CHECK(run["commit"].get<std::string>().size() == 40);
  CHECK(run["author"] == "Tess");
  CHECK(run["repo"] == repo);
  for (const char* key : {"id", "ref", "trigger", "stages"}) CHECK(run.contains(key));
  auto stages = stages_by_id(run);
  for (const char* s : {"Build", "Test", "Test / Unit", "Test / Lint"}) {
    CHECK(stages[s]["status"] == "succeeded");
    for (const char* key : {"name", "status", "agent", "attempts", "started_at", "finished_at"})
      CHECK(stages[s].contains(key));
  }
  CHECK(c.stage_log(id, "Build").find("compiling") != std::string::npos);
  CHECK(c.stage_log(id, "Declarative: Post Actions").find("all good") != std::string::npos);
  CliResult logs = c.cli({"logs", std::to_string(id)});
  CHECK(logs.out.find("unit ok") != std::string::npos);
  CHECK(logs.out.find("lint ok") != std::string::npos);
  CliResult runs = c.cli({"runs", "--json"});
  CHECK(json::parse(runs.out)["runs"].size() == 1);
}

TEST_CASE("a failing step fails the run and runs post failure") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Build') { steps { sh 'echo before; exit 3' } }
    stage('Deploy') { steps { sh 'echo never' } }
  }
  post {
    failure { echo 'post failure ran' }
    success { echo 'post success ran' }
  }
}
)"}});
  int64_t id = c.trigger(repo);
  CliResult w = c.cli({"wait", std::to_string(id)});
  CHECK(w.exit_code == 1);
  json run = c.wait_run(id);
  CHECK(run["status"] == "failed");
  auto stages = stages_by_id(run);
  CHECK(stages["Build"]["status"] == "failed");
  CHECK(stages["Build"]["reason"].get<std::string>().find("exit code 3") != std::string::npos);
  CHECK(stages["Deploy"]["status"] == "skipped");
  std::string post = c.stage_log(id, "Declarative: Post Actions");
  CHECK(post.find("post failure ran") != std::string::npos);
  CHECK(post.find("post success ran") == std::string::npos);
}

TEST_CASE("parallel and matrix stages run concurrently on two agents, labels route stages") {
  Cluster c;
  c.start_controller();
  c.start_agent({"linux1", {"linux"}, 1});
  c.start_agent({"arm1", {"linux", "arm"}, 1});
  c.wait_agents(2);
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent none
  stages {
    stage('Matrix') {
      matrix {
        agent { label 'linux' }
        axes { axis { name 'N'; values '1', '2' } }
        stages { stage('Run') { steps { sh 'sleep 1; echo cell $N' } } }
      }
    }
    stage('Routed') {
      parallel {
        stage('X86') {
          agent { label 'linux && !arm' }
          steps { sh 'sleep 1' }
        }
        stage('Arm') {
          agent { label 'arm' }
          steps { sh 'sleep 1' }
        }
      }
    }
  }
}
)"}});
  int64_t id = c.trigger(repo);
  json run = c.wait_run(id);
  REQUIRE(run["status"] == "succeeded");
  auto s = stages_by_id(run);
  const json& a = s["Matrix / N=1 / Run"];
  const json& b = s["Matrix / N=2 / Run"];
  CHECK(a["agent"] != b["agent"]);
  // They overlapped in time: each started before the other finished.
  CHECK(a["started_at"].get<int64_t>() < b["finished_at"].get<int64_t>());
  CHECK(b["started_at"].get<int64_t>() < a["finished_at"].get<int64_t>());
  CHECK(c.stage_log(id, "Matrix / N=2 / Run").find("cell 2") != std::string::npos);
  CHECK(s["Routed / X86"]["agent"] == "linux1");
  CHECK(s["Routed / Arm"]["agent"] == "arm1");
}

TEST_CASE("retry runs a stage again and timeout aborts it") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Flaky') {
      options { retry(3) }
      steps {
        sh '''
          n=$(cat /tmp/gantry-flaky-$BUILD_ID-$RUN_ID 2>/dev/null || echo 0)
          n=$((n+1)); echo $n > /tmp/gantry-flaky-$BUILD_ID-$RUN_ID
          echo attempt $n
          test $n -ge 2
        '''
      }
    }
    stage('Slow') {
      options { timeout(time: 2, unit: 'SECONDS') }
      steps { sh 'sleep 60' }
    }
  }
}
)"}});
  int64_t id = c.trigger(repo);
  json run = c.wait_run(id, std::chrono::seconds(40));
  auto s = stages_by_id(run);
  CHECK(s["Flaky"]["status"] == "succeeded");
  CHECK(s["Flaky"]["attempts"] == 2);
  CHECK(s["Slow"]["status"] == "aborted");
  CHECK(s["Slow"]["finished_at"].get<int64_t>() - s["Slow"]["started_at"].get<int64_t>() < 20000);
  CHECK(run["status"] == "aborted");
  std::system(("rm -f /tmp/gantry-flaky-1-" + std::to_string(id)).c_str());
}

TEST_CASE("cancel kills the whole process tree, grandchildren included") {
  Cluster c("cancel_grace: 1s\n");
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  std::string pids = c.dir() + "/pids";
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Stubborn') {
      steps {
        sh '''
          trap "echo ignoring TERM" TERM
          (trap "" TERM; while true; do sleep 0.2; done) &
          echo $! >> )" + pids + R"(
          setsid sh -c 'trap "" TERM; while true; do sleep 0.2; done' &
          echo $! >> )" + pids + R"(
          echo started
          while true; do sleep 0.2; done
        '''
      }
    }
  }
}
)"}});
  int64_t id = c.trigger(repo);
  c.wait_stage(id, "Stubborn", "running");
  for (int i = 0; i < 200 && c.stage_log(id, "Stubborn").find("started") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::vector<pid_t> children;
  {
    std::istringstream in(read_file(pids));
    for (pid_t p; in >> p;) children.push_back(p);
  }
  REQUIRE(children.size() == 2);
  for (pid_t p : children) CHECK(process_alive(p));
  CliResult cancel = c.cli({"cancel", std::to_string(id)});
  CHECK(cancel.exit_code == 0);
  json run = c.wait_run(id, std::chrono::seconds(30));
  CHECK(run["status"] == "aborted");
  for (pid_t p : children) CHECK_FALSE(process_alive(p));
  CHECK(c.cli({"wait", std::to_string(id)}).exit_code == 4);
}

TEST_CASE("customWorkspace is a directory of its own that the next run finds again") {
  Cluster c;
  std::string repo = c.make_repo({{"Jenkinsfile", R"JF(pipeline {
  agent none
  stages {
    stage('Cache') {
      agent { node { label 'builder'; customWorkspace '/var/shared cache' } }
      steps { sh 'echo run >> cache.txt; echo "runs=$(wc -l < cache.txt) in $(basename "$PWD")"' }
    }
    stage('Own') {
      agent { label 'builder' }
      steps { sh 'test ! -e cache.txt && echo "own workspace"' }
    }
  }
}
)JF"}});
  c.add_repository("app", repo);
  c.start_controller();
  AgentOptions o;
  o.labels = {"builder"};
  c.start_agent(o);
  c.wait_agents(1);
  int64_t first = c.trigger("app");
  REQUIRE(c.wait_run(first)["status"] == "succeeded");
  int64_t second = c.trigger("app");
  REQUIRE(c.wait_run(second)["status"] == "succeeded");
  std::string log = c.stage_log(second, "Cache");
  INFO(log);
  CHECK(log.find("runs=2 in custom-_var_shared_cache") != std::string::npos);
  CHECK(c.stage_log(second, "Own").find("own workspace") != std::string::npos);
  // Under the agent's workspaces, whatever path was written.
  CHECK(!std::filesystem::exists("/var/shared cache"));
}
