// The agent's token stays out of its jobs' reach (SPEC §9, "Agents"): a
// step walks up its process ancestry and reads every ancestor's command line
// and environment, as an attacker's build script would.
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

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

TEST_CASE("an agent token cannot impersonate another token's agent or claim its labels") {
  Cluster c(R"(users:
  - {name: ada, role: admin, token: admin-token}
agent_tokens:
  - {name: pool-a, token: token-aaaaaaaaaaaaaaaa, labels: [linux]}
  - {name: pool-b, token: token-bbbbbbbbbbbbbbbb, labels: [prod]}
)");
  c.start_controller();
  c.admin_token = "admin-token";
  std::ofstream(c.dir() + "/a.token") << "token-aaaaaaaaaaaaaaaa\n";
  std::ofstream(c.dir() + "/b.token") << "token-bbbbbbbbbbbbbbbb\n";
  AgentOptions b;
  b.name = "agent-b";
  b.labels = {"prod"};
  b.token_file = c.dir() + "/b.token";
  int real = c.start_agent(b);
  c.wait_agents(1);

  // The impostor: pool-a's token with agent-b's identity (its id copied from
  // agent-b's work dir, its name) and the prod label.
  std::filesystem::create_directories(c.dir() + "/impostor/state");
  std::filesystem::copy_file(c.dir() + "/agent-b/state/agent_id",
                             c.dir() + "/impostor/state/agent_id");
  AgentOptions imp;
  imp.name = "impostor";
  imp.labels = {"prod"};
  imp.token_file = c.dir() + "/a.token";
  imp.extra_args = {"--name", "agent-b"};
  int impostor = c.start_agent(imp);
  CHECK(c.agent(impostor).wait(std::chrono::seconds(10)) == 2);  // refused, and it says why
  std::string said = read_file(c.dir() + "/impostor.log");
  INFO(said);
  CHECK(said.find("the controller refused this agent: agent id") != std::string::npos);
  CHECK(c.agent(real).alive());

  // Labels alone: pool-a's own agent claiming prod is refused too.
  AgentOptions greedy;
  greedy.name = "greedy";
  greedy.labels = {"linux", "prod"};
  greedy.token_file = c.dir() + "/a.token";
  int g = c.start_agent(greedy);
  CHECK(c.agent(g).wait(std::chrono::seconds(10)) == 2);
  CHECK(read_file(c.dir() + "/greedy.log").find("label 'prod' is outside agent token 'pool-a'") !=
        std::string::npos);

  // A prod job still goes to the real agent-b; the refusals are in the audit log.
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent { label 'prod' }
  options { skipDefaultCheckout() }
  stages { stage('Deploy') { steps { sh 'echo on $NODE_NAME' } } }
})"}});
  json run = c.wait_run(c.trigger(repo), 30s);
  INFO(run.dump());
  CHECK(run["status"] == "succeeded");
  CHECK(run["stages"][0]["agent"] == "agent-b");
  std::string audit = c.http("GET", "/api/v1/audit").body;
  CHECK(audit.find("belongs to another agent token") != std::string::npos);
}
