// Secrets have scopes (SPEC §9, issue 17 finding 1): a developer cannot
// read a production secret by naming it in a stage that does not deploy to
// production, nor from an inline pipeline, whatever encoding the step uses
// (masking is literal only, which is why scope is the defence).
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace gantry::e2e;
using namespace std::chrono_literals;

namespace {

const std::string kSecret = "prod-deploy-key-7f3a91";

// base64, reversed and hex: what literal masking cannot catch.
const char* kExfiltrate = R"(pipeline {
  agent any
  options { skipDefaultCheckout() }
  stages {
    stage('innocent') {
      environment { KEY = credentials('deploy-key') }
      steps { sh 'printf %s "$KEY" | base64; printf %s "$KEY" | rev; printf %s "$KEY" | od -An -tx1' }
    }
  }
})";

std::string config() {
  return R"(users:
  - {name: ada, role: admin, token: admin-token}
  - {name: dev, role: developer, token: dev-token}
environments:
  staging: {}
secrets:
  deploy-key: {value: )" +
         kSecret + R"(, scope: {environments: [staging]}}
  build-key: {value: build-key-value-55, scope: {repositories: [app], branches: ["main", "release/*"]}}
  plain: {value: plain-value-99}
)";
}

// The controller with `repo` as the configured repository `app`, and one agent.
void start_with_app(Cluster& c, const std::string& repo) {
  c.add_repository("app", repo);
  c.start_controller();
  c.admin_token = "admin-token";
  c.start_agent({});
  c.wait_agents(1);
}

}  // namespace

TEST_CASE("an environment-scoped secret reaches only a stage that deploys there") {
  Cluster c(config());
  std::string repo = c.make_repo({{"Jenkinsfile", kExfiltrate}});
  start_with_app(c, repo);

  SECTION("a stage that does not deploy fails, naming the secret and its scope") {
    json run = c.wait_run(c.trigger("app"), 30s);
    INFO(run.dump());
    CHECK(run["status"] == "failed");
    CHECK(run["stages"][0]["reason"].get<std::string>().find(
              "credentials 'deploy-key' are scoped to environments staging") != std::string::npos);
    std::string log = c.stage_log(run["id"].get<int64_t>(), "innocent");
    CHECK(log.find("cHJvZC1kZXBsb3kta2V5") == std::string::npos);  // base64 of its start
    CHECK(log.find("19a3f7") == std::string::npos);                // reversed
  }
  SECTION("an inline pipeline gets no secret at all, even from an admin") {
    HttpResult r =
        c.http("POST", "/api/v1/runs", json{{"source", kExfiltrate}, {"job", "innocent"}}.dump());
    REQUIRE(r.status == 201);
    json run = c.wait_run(json::parse(r.body)["id"].get<int64_t>(), 30s);
    INFO(run.dump());
    CHECK(run["status"] == "failed");
    CHECK(run["stages"][0]["reason"].get<std::string>().find(
              "not given to runs of an inline pipeline") != std::string::npos);
  }
}

TEST_CASE(
    "a deploy stage gets its environment's secret after its gate and repository and branch "
    "scopes hold") {
  Cluster c(config());
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  options { skipDefaultCheckout() }
  stages {
    stage('Build') {
      steps {
        withCredentials([string(credentialsId: 'build-key', variable: 'B'),
                         string(credentialsId: 'plain', variable: 'P')]) {
          sh 'test "$B" = build-key-value-55 && test "$P" = plain-value-99 && echo build-keys-ok'
        }
      }
    }
    stage('Deploy') {
      deploy('staging')
      environment { KEY = credentials('deploy-key') }
      steps { sh 'test "$KEY" = prod-deploy-key-7f3a91 && echo deploy-key-ok' }
    }
  }
})"}});
  start_with_app(c, repo);
  json run = c.wait_run(c.trigger("app"), 30s);
  INFO(run.dump());
  REQUIRE(run["status"] == "succeeded");
  int64_t id = run["id"].get<int64_t>();
  CHECK(c.stage_log(id, "Build").find("build-keys-ok") != std::string::npos);
  CHECK(c.stage_log(id, "Deploy").find("deploy-key-ok") != std::string::npos);

  // The same repository by URL (not as the configured `app`): no secrets.
  json by_url = c.wait_run(c.trigger(repo), 30s);
  INFO(by_url.dump());
  CHECK(by_url["status"] == "failed");
  CHECK(by_url["stages"][0]["reason"].get<std::string>().find("unconfigured URL") !=
        std::string::npos);
}

TEST_CASE("a failure reason that quotes a secret is masked as the log is") {
  Cluster c(config());
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  options { skipDefaultCheckout() }
  stages {
    stage('Leak') {
      environment { KEY = credentials('plain') }
      steps { error "the key ${env.KEY} was refused" }
    }
  }
})"}});
  start_with_app(c, repo);
  json run = c.wait_run(c.trigger("app"), 30s);
  INFO(run.dump());
  CHECK(run["status"] == "failed");
  CHECK(run["stages"][0]["reason"] == "the key **** was refused");
  CHECK(run.dump().find("plain-value-99") == std::string::npos);
  CHECK(read_file(c.dir() + "/controller.log").find("plain-value-99") == std::string::npos);
  CHECK(read_file(c.dir() + "/agent1.log").find("plain-value-99") == std::string::npos);
}
