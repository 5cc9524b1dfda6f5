// Job isolation on the agent (SPEC §9, "Jobs"; issue 17, item 4): with `--job-user nobody`,
// steps run as nobody, build in their workspace, read the credential files of their own
// withCredentials, and cannot read the agent's token file or its state directory.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <fstream>

#include "harness.hpp"

using namespace gantry::e2e;
using namespace std::chrono_literals;

TEST_CASE("steps run as the job user and cannot read the agent's token or state") {
  if (::geteuid() != 0) {
    WARN("not root: the agent cannot switch users here, nothing to test");
    return;
  }
  Cluster c;
  // The job user walks through the test's directory to its workspace (as it would through
  // /var/lib/gantry-agent), but lists nothing in it.
  REQUIRE(::chmod(c.dir().c_str(), 0711) == 0);
  { std::ofstream(c.dir() + "/key.txt") << "job-user-file-secret-31\n"; }
  const std::string token_file = c.dir() + "/data/agent.token";
  const std::string state_dir = c.dir() + "/isolated/state";
  std::string repo = c.make_repo({{"Jenkinsfile", R"JF(pipeline {
  agent any
  stages {
    stage('Build') {
      steps {
        sh 'echo "user=$(id -un)"'
        sh 'echo built > out.txt && cat out.txt'
        sh 'cat )JF" + token_file + R"JF( && echo TOKEN-READ || echo "token: denied"'
        sh 'ls )JF" + state_dir + R"JF( && echo STATE-LISTED || echo "state: denied"'
        withCredentials([file(credentialsId: 'keyfile', variable: 'KEY')]) {
          sh 'echo "key=$(cat "$KEY")"'
        }
        stash name: 'out', includes: 'out.txt'
      }
    }
    stage('Use') {
      steps {
        sh 'rm -f out.txt'
        unstash 'out'
        sh 'echo "unstashed=$(cat out.txt)"; echo more >> out.txt'
      }
    }
  }
}
)JF"}});
  c.add_repository("app", repo);
  std::ofstream(c.config_path(), std::ios::app)
      << "secrets:\n  keyfile: {file: " << c.dir() << "/key.txt}\n";
  c.start_controller();
  AgentOptions o;
  o.name = "isolated";
  o.extra_args = {"--job-user", "nobody"};
  c.start_agent(o);
  c.wait_agents(1);
  int64_t id = c.trigger("app");
  json run = c.wait_run(id, 60s);
  std::string build = c.stage_log(id, "Build");
  std::string use = c.stage_log(id, "Use");
  INFO(build);
  INFO(use);
  INFO(read_file(c.dir() + "/isolated.log"));
  REQUIRE(run["status"] == "succeeded");
  CHECK(build.find("user=nobody") != std::string::npos);
  CHECK(build.find("\nbuilt\n") != std::string::npos);
  CHECK(build.find("token: denied") != std::string::npos);
  CHECK(build.find("\nTOKEN-READ\n") == std::string::npos);  // the command line shows it
  CHECK(build.find("state: denied") != std::string::npos);
  CHECK(build.find("\nSTATE-LISTED\n") == std::string::npos);
  CHECK(build.find("key=****") != std::string::npos);
  CHECK(use.find("unstashed=built") != std::string::npos);
}
