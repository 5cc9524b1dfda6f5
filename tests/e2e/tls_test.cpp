// Transport security end to end (SPEC §9, "Transport"): a controller serving HTTPS and WSS with a
// certificate from a throwaway CA, agents and the CLI that verify it, mutual TLS for agents, and
// the refusals a user sees when something does not match.
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

#include "../support/test_pki.hpp"
#include "harness.hpp"

using namespace gantry::e2e;
using namespace std::chrono_literals;

namespace {

const gantry::test::TestPki& pki() {
  static const gantry::test::TestPki made = gantry::test::make_test_pki(
      std::filesystem::temp_directory_path() / ("gantry-e2e-tls-" + std::to_string(::getpid())));
  return made;
}

const char* kJenkinsfile = R"JF(pipeline {
  agent any
  stages {
    stage('Build') { steps { sh 'echo built over tls' } }
  }
}
)JF";

// Waits for `child` to exit; its exit status or -1.
int exit_status(Child& child, std::chrono::seconds timeout = 20s) {
  return child.wait(timeout);
}

}  // namespace

TEST_CASE("a run through HTTPS and WSS with verified certificates and mutual TLS for agents") {
  const auto& p = pki();
  Cluster c("tls: {cert: " + p.server_cert + ", key: " + p.server_key + ", client_ca: " + p.ca +
            "}\n");
  c.ca_file = p.ca;
  c.start_controller();
  REQUIRE(c.url.rfind("https://127.0.0.1:", 0) == 0);

  AgentOptions good;
  good.name = "verified";
  good.extra_args = {"--ca", p.ca, "--client-cert", p.client_cert, "--client-key", p.client_key};
  c.start_agent(good);
  c.wait_agents(1);

  // The CLI over HTTPS: trigger, wait, logs, and watch (WSS).
  std::string repo = c.make_repo({{"Jenkinsfile", kJenkinsfile}});
  CliResult triggered = c.cli({"trigger", "--repo", repo});
  INFO(triggered.out);
  REQUIRE(triggered.exit_code == 0);
  std::string id = triggered.out.substr(0, triggered.out.find_first_of(" \n"));
  CliResult waited = c.cli({"wait", id});
  INFO(waited.out);
  CHECK(waited.exit_code == 0);
  CliResult logs = c.cli({"logs", id, "Build"});
  CHECK(logs.out.find("built over tls") != std::string::npos);
  CliResult watched = c.cli({"watch", id});
  INFO(watched.out);
  CHECK(watched.exit_code == 0);
  CHECK(watched.out.find("Build") != std::string::npos);

  // Plain HTTP to the HTTPS port gets no answer; the CLI without the CA refuses the server.
  std::string plain_url = "http" + c.url.substr(5);
  std::string saved = c.url;
  c.url = plain_url;
  CHECK(c.http("GET", "/api/v1/runs").status == 0);
  c.url = saved;
  c.ca_file.clear();
  CliResult unverified = c.cli({"runs"});
  CHECK(unverified.exit_code == 2);
  CHECK(unverified.out.find("certificate verify failed") != std::string::npos);
  c.ca_file = p.ca;

  SECTION("an agent without a client certificate is refused and says what it needs") {
    AgentOptions bare;
    bare.name = "bare";
    bare.extra_args = {"--ca", p.ca};
    int index = c.start_agent(bare);
    CHECK(exit_status(c.agent(index)) == 2);
    std::string log = read_file(c.dir() + "/bare.log");
    INFO(log);
    CHECK(log.find("client certificate") != std::string::npos);
  }

  SECTION("an agent with a certificate from another CA does not get in") {
    AgentOptions intruder;
    intruder.name = "intruder";
    intruder.extra_args = {
        "--ca", p.ca, "--client-cert", p.other_client_cert, "--client-key", p.other_client_key};
    c.start_agent(intruder);
    std::this_thread::sleep_for(1500ms);
    CHECK(c.get_json("/api/v1/agents")["agents"].size() == 1);
    std::string log = read_file(c.dir() + "/intruder.log");
    INFO(log);
    // TLS 1.3: the server checks the client's certificate after the client's side of the
    // handshake is done, so the refusal arrives as an alert on the first read.
    CHECK(log.find("alert unknown ca") != std::string::npos);
  }

  SECTION("an agent that does not trust the controller's CA does not connect") {
    AgentOptions wary;
    wary.name = "wary";
    wary.extra_args = {"--ca",        p.other_ca,     "--client-cert",
                       p.client_cert, "--client-key", p.client_key};
    c.start_agent(wary);
    std::this_thread::sleep_for(1500ms);
    CHECK(c.get_json("/api/v1/agents")["agents"].size() == 1);
    std::string log = read_file(c.dir() + "/wary.log");
    INFO(log);
    CHECK(log.find("certificate verify failed") != std::string::npos);
  }
}

TEST_CASE(
    "a controller refuses plain HTTP on a non-loopback address unless the config says insecure") {
  TempDir dir;
  std::string config = dir.path + "/controller.yml";
  std::ofstream(config) << "listen: 0.0.0.0:0\ndata_dir: " << dir.path << "/data\n";
  Child controller;
  REQUIRE(controller.start({GANTRY_CONTROLLER_BIN, "--config", config}, dir.path + "/log"));
  CHECK(controller.wait(10s) == 2);
  std::string log = read_file(dir.path + "/log");
  INFO(log);
  CHECK(log.find("not a loopback address") != std::string::npos);
  CHECK(log.find("insecure: true") != std::string::npos);
}
