// Faults at scale (research/agent-protocol.md §6.10, G6): 200 agents, each
// a real protocol session of gantry-sim-agents (tools/sim_agents.cpp) whose
// fake executor holds its job for a while, behind a FaultProxy that counts
// connection attempts. kill -9 of the controller with 200 jobs running must
// expire no lease and cause no reconnect storm.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "fault_proxy.hpp"
#include "fault_support.hpp"

using namespace gantry::fault;

namespace {

// Each sim agent's welcomes ("welcome INDEX EPOCH_MS" lines of --trace).
std::multimap<int, int64_t> welcomes(const std::string& out) {
  std::multimap<int, int64_t> w;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    std::istringstream l(line);
    std::string word;
    int index = 0;
    int64_t at = 0;
    if (l >> word >> index >> at && word == "welcome") w.emplace(index, at);
  }
  return w;
}

// How many jobs the controller's agents hold, in all.
size_t held_jobs(Cluster& c) {
  size_t held = 0;
  const json agents = c.get_json("/api/v1/agents");  // not a temporary: it is iterated
  for (const auto& a : agents["agents"]) held += a["jobs"].size();
  return held;
}

}  // namespace

TEST_CASE(
    "G6: kill -9 of the controller under 200 agents with 200 running jobs: no lease lost, no "
    "storm") {
  FAULT_SEED(seed);
  constexpr int kAgents = 200;
  Cluster c("agent_lost_after: 10s\n");
  c.start_controller();
  FaultProxy proxy(c.port);
  Child sim;
  const std::string sim_out = c.dir() + "/sim.out", release = c.dir() + "/release";
  // The simulated jobs run until `release` exists.
  REQUIRE(
      sim.start({GANTRY_SIM_AGENTS_BIN, "ws://127.0.0.1:" + std::to_string(proxy.port()),
                 c.agent_token, std::to_string(kAgents), "120", "--release", release, "--trace"},
                sim_out));
  c.wait_agents(kAgents, std::chrono::seconds(60));

  const std::string pipeline =
      "pipeline {\n  agent { label 'simwork' }\n  stages {\n    stage('Hold') { steps { sh 'true' "
      "} }\n  }\n}\n";
  const json body = {{"source", pipeline}, {"format", "jenkinsfile"}, {"job", "g6"}};
  std::vector<int64_t> runs;
  for (int i = 0; i < kAgents; ++i) {
    HttpResult r = c.http("POST", "/api/v1/runs", body.dump());
    REQUIRE(r.status == 201);
    runs.push_back(json::parse(r.body)["id"].get<int64_t>());
  }
  // Every agent holds one job.
  REQUIRE(wait_for([&] { return held_jobs(c) == kAgents; }, std::chrono::seconds(30),
                   std::chrono::milliseconds(200)));

  const int before = proxy.accepted();
  const auto down_for = seed.ms(500, 4000);
  INFO("controller down for " << down_for.count() << " ms");
  c.stop_controller(SIGKILL);
  std::this_thread::sleep_for(down_for);
  const int64_t back_at = now_ms();
  c.start_controller();
  c.wait_agents(kAgents, std::chrono::seconds(30));
  // Still held, every one, then let them end.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  CHECK(held_jobs(c) == kAgents);
  std::ofstream(release) << "go\n";

  for (int64_t id : runs) {
    json run = c.wait_run(id, std::chrono::seconds(60));
    INFO("run " << id);
    CHECK(run["status"] == "succeeded");
    CHECK(stage_of(run, "Hold")["attempts"] == 1);
  }
  CHECK(read_file(c.dir() + "/controller.log").find("job.lost") == std::string::npos);

  // Every session was back within 10 s of the controller, without a storm:
  // the agents' jittered backoff spreads the hellos.
  const auto w = welcomes(read_file(sim_out));
  std::map<int64_t, int> per_100ms;
  int back = 0;
  int64_t last = 0;  // the last agent's return, ms after the controller's
  for (int i = 0; i < kAgents; ++i) {
    auto [from, to] = w.equal_range(i);
    bool resumed = false;
    for (auto it = from; it != to; ++it) {
      if (it->second >= back_at) last = std::max(last, it->second - back_at);
      if (it->second >= back_at && it->second <= back_at + 10000) {
        resumed = true;
        ++per_100ms[(it->second - back_at) / 100];
      }
    }
    back += resumed ? 1 : 0;
  }
  INFO("the last agent was back " << last << " ms after the controller");
  CHECK(back == kAgents);
  int peak = 0;
  for (const auto& [slot, n] : per_100ms) peak = std::max(peak, n);
  const int attempts = proxy.accepted() - before;
  INFO("connection attempts during the restart: " << attempts
                                                  << ", peak hellos per 100 ms: " << peak);
  // A storm is an agent retrying at once, again and again. Full-jitter
  // backoff from 500 ms doubles each time: an outage of 4 s costs an agent a
  // handful of attempts (about 4), not dozens.
  CHECK(attempts <= kAgents * 8);
  WARN("G6: " << attempts << " connection attempts for " << kAgents
              << " agents, peak hellos per 100 ms " << peak << ", down " << down_for.count()
              << " ms");
}
