// A short controller outage costs nothing (SPEC §11): an agent holding jobs
// retries often enough that a controller down for less than half the lease
// never fences a job. Before the agent's backoff knew about its jobs (full
// jitter capped at 5 s), a kill -9 and a restart 2 s later with a 5 s lease
// aborted the running stage about one time in three.
#include <catch2/catch.hpp>

#include <cstdio>
#include <thread>

#include "fault_support.hpp"

using namespace gantry::fault;

TEST_CASE(
    "G5: kill -9 of the controller, back 2 s later, never fences a job (lease 5 s, 20 kills)") {
  FAULT_SEED(seed);
  // The outage an agent sees is the 2 s down plus the controller's start (open the store,
  // recover the runs, listen). Under AddressSanitizer, next to other tests on 2 cores, that
  // start alone took over a second and the outage passed half of a 5 s lease (CI aborted a run
  // at kill 10, twice), so there the lease is 10 s: the claim tested is the same.
#if defined(__SANITIZE_ADDRESS__)
  Cluster c("agent_lost_after: 10s\n");
#else
  Cluster c("agent_lost_after: 5s\n");
#endif
  c.start_controller();
  c.start_agent({"A"});
  c.start_agent({"B"});
  c.wait_agents(2);
  // 4.5 s of output in 15 blocks: the step runs through the outage.
  const int chunks = 15, lines = 20;
  const std::string command = stream_command(chunks, lines, "0.3");
  const std::string output = stream_bytes(chunks, lines);
  const std::string repo = c.make_repo({{"Jenkinsfile", stream_pipeline(command)}});
  const int kKills = 20;
  int jobs = 0, lost = 0;
  for (int kill = 0; kill < kKills; ++kill) {
    INFO("kill " << kill);
    // One run per agent (one executor each), both mid-step when the controller dies.
    int64_t runs[2] = {c.trigger(repo), c.trigger(repo)};
    for (int64_t id : runs) {
      REQUIRE(
          wait_for([&] { return c.stage_log_size(id, "Stream") > 200; }, std::chrono::seconds(30)));
    }
    // A random phase against the heartbeats (1 s apart with this lease).
    std::this_thread::sleep_for(seed.ms(0, 1200));
    c.stop_controller(SIGKILL);
    std::this_thread::sleep_for(std::chrono::seconds(2));
    c.start_controller();
    for (int64_t id : runs) {
      INFO("run " << id);
      json run = c.wait_run(id);
      json stage = stage_of(run, "Stream");
      ++jobs;
      bool clean = run["status"] == "succeeded" && stage["attempts"] == 1;
      lost += clean ? 0 : 1;
      CHECK(run["status"] == "succeeded");
      CHECK(stage["attempts"] == 1);
      CHECK(c.stage_log(id, "Stream") == expected_log(run, command, output));
    }
  }
  size_t fenced = count_of(read_file(c.dir() + "/A.log"), "event=job.fenced") +
                  count_of(read_file(c.dir() + "/B.log"), "event=job.fenced");
  std::fprintf(stderr, "[fault] %d kills: %zu of %d jobs fenced, %d runs not clean\n", kKills,
               fenced, jobs, lost);
  CHECK(fenced == 0);
  CHECK(count_of(read_file(c.dir() + "/controller.log"), "event=job.lost") == 0);
}
