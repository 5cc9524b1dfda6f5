// The agent's token stays out of its jobs' reach (SPEC §9, "Agents"): a
// step walks up its process ancestry and reads every ancestor's command line
// and environment, as an attacker's build script would.
#include <unistd.h>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace gantry::e2e;
using namespace std::chrono_literals;

namespace {

// Prints each ancestor's command line and environment, and "reached-agent"
// once it has read the agent's own.
const char* kJenkinsfile = R"JF(pipeline {
  agent none
  stages {
    stage('Probe') {
      agent { label 'probe' }
      steps {
        sh '''
          p=$$
          while [ "$p" -gt 1 ]; do
            tr '\\0' ' ' < /proc/$p/cmdline; echo
            tr '\\0' '\\n' < /proc/$p/environ 2>/dev/null | sed 's/^/env: /'
            grep -q gantry-agent /proc/$p/cmdline && echo reached-agent
            p=$(awk '/^PPid:/ { print $2 }' /proc/$p/status)
          done
        '''
      }
    }
  }
}
)JF";

}  // namespace

TEST_CASE("a step cannot read the agent token from any ancestor's command line or environment") {
  using Token = AgentOptions::Token;
  const Token how = GENERATE(Token::File, Token::CommandLine, Token::Environment);
  Cluster c;
  c.start_controller();
  AgentOptions o;
  o.labels = {"probe"};
  o.token = how;
  c.start_agent(o);
  c.wait_agents(1);
  REQUIRE(c.agent_token.size() >= 16);
  std::string repo = c.make_repo({{"Jenkinsfile", kJenkinsfile}});
  int64_t id = c.trigger(repo);
  json run = c.wait_run(id, 30s);
  std::string log = c.stage_log(id, "Probe");
  INFO(run.dump());
  INFO(log);
  REQUIRE(run["status"] == "succeeded");
  CHECK(log.find("reached-agent") != std::string::npos);  // the walk read the agent itself
  CHECK(log.find(c.agent_token) == std::string::npos);
  // Only root reads an undumpable agent's environment; these tests may run as root.
  if (how == Token::Environment && ::geteuid() == 0)
    CHECK(log.find("GANTRY_AGENT_TOKEN=****") != std::string::npos);
  if (how == Token::CommandLine) CHECK(log.find("--token ****") != std::string::npos);
}
