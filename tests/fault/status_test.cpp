// Terminal status and cancel under injected faults (research/agent-protocol.md
// §6.10): G3 a terminal status is never lost or duplicated, G8 cancel is
// prompt and complete, G9 a cancel during a partition is delivered when it
// heals, or the agent fences the job itself at the lease.
#include <catch2/catch.hpp>

#include <sstream>
#include <thread>

#include "fault_proxy.hpp"
#include "fault_support.hpp"

using namespace gantry::fault;

namespace {

// A one-stage pipeline noting "begin" and "end" in `marks` around a sleep.
std::string marked_pipeline(const std::string& marks, const std::string& sleep) {
  return stream_pipeline("echo begin >> " + marks + "; sleep " + sleep + "; echo end >> " + marks +
                         "; echo done");
}

}  // namespace

TEST_CASE("G3: a job that ends while the controller is down is recorded once after it returns") {
  FAULT_SEED(seed);
  Cluster c;
  c.start_controller();
  c.start_agent({"A"});
  c.wait_agents(1);
  const std::string marks = c.dir() + "/marks.txt";
  int64_t id = c.trigger(c.make_repo({{"Jenkinsfile", marked_pipeline(marks, "1")}}));
  REQUIRE(wait_for([&] { return read_file(marks) == "begin\n"; }, std::chrono::seconds(30)));
  c.stop_controller(SIGKILL);
  // The step ends meanwhile; the agent keeps its finish until it is acknowledged.
  REQUIRE(wait_for([&] { return read_file(marks) == "begin\nend\n"; }, std::chrono::seconds(10)));
  std::this_thread::sleep_for(seed.ms(0, 2000));
  const int64_t back_at = now_ms();
  c.start_controller();
  json run = c.wait_run(id);
  CHECK(run["status"] == "succeeded");
  json stage = stage_of(run, "Stream");
  CHECK(stage["attempts"] == 1);
  // Recorded within 2 s of the reconnect, which the agent's backoff (capped
  // at 5 s) may delay after the restart.
  CHECK(stage["finished_at"].get<int64_t>() - back_at <= 5000 + 2000);
  CHECK(c.stage_log(id, "Stream").find("\ndone\n") != std::string::npos);
  CHECK(read_file(marks) == "begin\nend\n");  // not run again
  CHECK(count_of(read_file(c.dir() + "/controller.log"), "event=job.finished") == 1);
}

TEST_CASE("G3: kill -9 of the agent after its step ended, before the finish got through") {
  FAULT_SEED(seed);
  ProxiedCluster pc;
  Cluster& c = pc.c;
  FaultProxy& proxy = *pc.proxy;
  const std::string marks = c.dir() + "/marks.txt";
  int64_t id = c.trigger(c.make_repo({{"Jenkinsfile", marked_pipeline(marks, "1")}}));
  REQUIRE(wait_for([&] { return read_file(marks) == "begin\n"; }, std::chrono::seconds(30)));
  // Nothing from the agent gets through from here: the finish stays with it.
  proxy.hold(Direction::Up, true);
  REQUIRE(wait_for([&] { return read_file(marks) == "begin\nend\n"; }, std::chrono::seconds(10)));
  std::this_thread::sleep_for(seed.ms(50, 1000));
  c.stop_agent(0, SIGKILL);
  proxy.hold(Direction::Up, false);
  // The same agent (same work dir) comes back within the lease and reports
  // the job it finished from its spool.
  c.start_agent({"A"});
  json run = c.wait_run(id);
  CHECK(run["status"] == "succeeded");
  json stage = stage_of(run, "Stream");
  CHECK(stage["attempts"] == 1);
  CHECK(c.stage_log(id, "Stream").find("\ndone\n") != std::string::npos);
  CHECK(read_file(marks) == "begin\nend\n");
  CHECK(count_of(read_file(c.dir() + "/controller.log"), "event=job.finished") == 1);
}

TEST_CASE("G8: cancel is prompt and complete: TERM at once, KILL at the grace, nothing left") {
  FAULT_SEED(seed);
  Cluster c("cancel_grace: 1s\n");
  c.start_controller();
  c.start_agent({"A"});
  c.wait_agents(1);
  const std::string pids = c.dir() + "/pids", term = c.dir() + "/term";
  // A step that ignores TERM and leaves a background child, a setsid
  // grandchild and a double-forked daemon, each ignoring TERM too.
  const std::string stubborn =
      "trap '' TERM\necho $$ >> " + pids + "\nwhile true; do sleep 0.1; done\n";
  int64_t id = c.trigger(c.make_repo({{"stubborn.sh", stubborn}, {"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Stubborn') {
      steps {
        sh '''
          trap "date +%s%3N >> )" + term + R"(" TERM
          sh stubborn.sh &
          setsid sh stubborn.sh &
          sh -c 'sh stubborn.sh &'
          echo started
          while true; do sleep 0.1; done
        '''
      }
    }
  }
}
)"}}));
  REQUIRE(wait_for([&] { return c.stage_log(id, "Stubborn").find("started") != std::string::npos; },
                   std::chrono::seconds(30)));
  REQUIRE(wait_for([&] { return count_of(read_file(pids), "\n") == 3; }, std::chrono::seconds(5)));
  std::vector<pid_t> children;
  std::istringstream in(read_file(pids));
  for (pid_t p; in >> p;) children.push_back(p);
  for (pid_t p : children) CHECK(process_alive(p));
  std::this_thread::sleep_for(seed.ms(0, 1000));
  const int64_t cancel_at = now_ms();
  CHECK(c.cli({"cancel", std::to_string(id)}).exit_code == 0);
  json run = c.wait_run(id, std::chrono::seconds(30));
  CHECK(run["status"] == "aborted");
  const int64_t termed_at = std::atoll(read_file(term).c_str());
  CHECK(termed_at > 0);
  CHECK(termed_at - cancel_at < 1000);  // TERM within a second of the cancel
  // Everything is gone once the grace (1 s) and one more second have passed.
  CHECK(wait_for(
      [&] {
        for (pid_t p : children)
          if (process_alive(p)) return false;
        return true;
      },
      std::chrono::milliseconds(std::max<int64_t>(0, cancel_at + 2000 - now_ms()))));
  for (pid_t p : children) ::kill(p, SIGKILL);  // if not, do not leave them behind
  CHECK(c.stage_log(id, "Stubborn").find("started") != std::string::npos);
}

TEST_CASE("G9: a cancel issued during a cut reaches the job when the cut heals") {
  FAULT_SEED(seed);
  ProxiedCluster pc("agent_lost_after: 8s\n");
  Cluster& c = pc.c;
  FaultProxy& proxy = *pc.proxy;
  LongStep step(c);
  const pid_t pid = step.pid();
  proxy.blackhole(true);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(c.cli({"cancel", std::to_string(step.run)}).exit_code == 0);
  // Healed within the lease (8 s; the agent fences at 3/4 of it).
  std::this_thread::sleep_for(seed.ms(1000, 4500));
  CHECK(::kill(pid, 0) == 0);  // the cut is real: the step still runs
  proxy.blackhole(false);
  // Delivered after the cut, well before the lease: the whole group is gone.
  CHECK(wait_for([&] { return ::kill(pid, 0) != 0; }, std::chrono::seconds(5)));
  json run = c.wait_run(step.run);
  CHECK(run["status"] == "aborted");
  CHECK(stage_of(run, "Long")["attempts"] == 1);
  CHECK(c.stage_log(step.run, "Long").find("\nnever\n") == std::string::npos);
}

TEST_CASE("G9: a cancel during a cut longer than the lease: the agent fences the job itself") {
  FAULT_SEED(seed);
  ProxiedCluster pc;  // agent_lost_after: 3s
  Cluster& c = pc.c;
  FaultProxy& proxy = *pc.proxy;
  LongStep step(c, "  options { retry(2) }\n");
  const pid_t pid = step.pid();
  std::this_thread::sleep_for(seed.ms(0, 1000));
  const int64_t cut_at = now_ms();
  proxy.blackhole(true);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(c.cli({"cancel", std::to_string(step.run)}).exit_code == 0);
  // No ack for 3/4 of the lease: the agent stops the job on its own, by the lease.
  CHECK(wait_for([&] { return ::kill(pid, 0) != 0; }, std::chrono::seconds(8)));
  CHECK(now_ms() - cut_at <= 3000 + 500);
  std::this_thread::sleep_for(seed.ms(0, 3000));
  proxy.blackhole(false);
  json run = c.wait_run(step.run);
  CHECK(run["status"] == "aborted");
  CHECK(read_file(step.starts) == "start\n");  // cancelled: never retried, never run twice
}
