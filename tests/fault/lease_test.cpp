// Leases under injected faults (research/agent-protocol.md §6.10): G1 at most
// one live execution per attempt, G4 lost-agent detection within the lease
// + 1 s, G5 a cut below the lease costs nothing, G14 a duplicate identity is
// fenced. Real daemons on 127.0.0.1; network faults through FaultProxy; the
// fault points come from the case's seed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "fault_proxy.hpp"
#include "fault_support.hpp"

using namespace gantry::fault;

namespace fs = std::filesystem;

namespace {

// A pipeline of one stage 'Work' with retry(2) and no checkout, whose step
// runs `script` (no single quotes in it).
std::string work_pipeline(const std::string& script) {
  return "pipeline {\n  agent any\n  options { skipDefaultCheckout() }\n  stages {\n"
         "    stage('Work') {\n      options { retry(2) }\n      steps { sh '" +
         script + "' }\n    }\n  }\n}\n";
}

// A stage 'Work' (retry 2) that appends "<workspace> <epoch ms>" to `ticks`
// "<workspace> <shell pid> <epoch ms>" every 100 ms, 50 times, and logs
// "tick N in <workspace>". Two agents' workspaces (<tmp>/A/, <tmp>/B/) tell
// them apart, the shell's pid each execution.
struct Ticker {
  std::string ticks;
  int64_t run = 0;
  explicit Ticker(Cluster& c) : ticks(c.dir() + "/ticks") {
    run = c.trigger(c.make_repo(
        {{"Jenkinsfile", work_pipeline("i=0; while [ $i -lt 50 ]; do echo \"$WORKSPACE $$ "
                                       "$(date +%s%3N)\" >> " +
                                       ticks +
                                       "; echo \"tick $i in $WORKSPACE\"; "
                                       "i=$((i+1)); sleep 0.1; done")}}));
  }
  int count(const std::string& ws) const {
    std::istringstream in(read_file(ticks));
    int n = 0;
    for (std::string line; std::getline(in, line);) n += line.rfind(ws, 0) == 0 ? 1 : 0;
    return n;
  }
  // The last tick of `first` and the first tick of `second` (0: none).
  std::pair<int64_t, int64_t> boundary(const std::string& first, const std::string& second) const {
    int64_t last = 0, next = 0;
    std::istringstream in(read_file(ticks));
    for (std::string line; std::getline(in, line);) {
      int64_t t = std::atoll(line.substr(line.rfind(' ') + 1).c_str());
      if (line.rfind(first, 0) == 0) last = std::max(last, t);
      if (line.rfind(second, 0) == 0 && (next == 0 || t < next)) next = t;
    }
    return {last, next};
  }
  // Executions (by shell pid) whose tick spans overlap; empty when none do.
  std::string overlaps() const {
    std::map<std::string, std::pair<int64_t, int64_t>> spans;
    std::istringstream in(read_file(ticks));
    for (std::string line; std::getline(in, line);) {
      std::istringstream l(line);
      std::string ws, pid;
      int64_t t = 0;
      if (!(l >> ws >> pid >> t)) continue;
      auto [it, fresh] = spans.try_emplace(pid, t, t);
      if (!fresh) it->second = {std::min(it->second.first, t), std::max(it->second.second, t)};
    }
    std::vector<std::pair<int64_t, int64_t>> sorted;
    sorted.reserve(spans.size());
    for (const auto& [pid, span] : spans) sorted.push_back(span);
    std::sort(sorted.begin(), sorted.end());
    std::ostringstream out;
    for (size_t i = 1; i < sorted.size(); ++i) {
      if (sorted[i].first <= sorted[i - 1].second)
        out << "[" << sorted[i - 1].first << ", " << sorted[i - 1].second << "] and ["
            << sorted[i].first << ", " << sorted[i].second << "]; ";
    }
    return out.str();
  }
};

// Waits until the stage has `attempts` attempts; the time it saw that (0: never).
int64_t wait_attempts(Cluster& c, int64_t run, const std::string& stage, int attempts,
                      std::chrono::seconds timeout) {
  int64_t at = 0;
  wait_for(
      [&] {
        if (attempts_of(c, run, stage) >= attempts) at = now_ms();
        return at != 0;
      },
      timeout);
  return at;
}

}  // namespace

TEST_CASE(
    "G1: a cut longer than the lease (both ways or agent->controller) fences the job before it "
    "runs elsewhere") {
  FAULT_SEED(seed);
  ProxiedCluster pc;  // agent_lost_after: 3s
  Cluster& c = pc.c;
  FaultProxy& proxy = *pc.proxy;
  Ticker t(c);
  const std::string a_ws = c.dir() + "/A/", b_ws = c.dir() + "/B/";
  REQUIRE(wait_for([&] { return t.count(a_ws) >= 3; }, std::chrono::seconds(20)));
  c.start_agent({"B"});
  c.wait_agents(2);
  // The cut starts at a random tick, one way or both.
  const int64_t at_tick = seed.uniform(3, 15);
  const bool one_way = seed.uniform(0, 1) == 1;
  INFO("cut at tick " << at_tick << (one_way ? ", agent->controller only" : ", both ways"));
  REQUIRE(wait_for([&] { return t.count(a_ws) >= at_tick; }, std::chrono::seconds(20)));
  REQUIRE(
      wait_for([&] { return c.stage_log(t.run, "Work", 1).find("tick 2 ") != std::string::npos; },
               std::chrono::seconds(10)));
  const int64_t cut_at = now_ms();
  if (one_way) {
    proxy.hold(Direction::Up, true);
  } else {
    proxy.blackhole(true);
  }
  const int64_t retried_at = wait_attempts(c, t.run, "Work", 2, std::chrono::seconds(10));
  REQUIRE(retried_at != 0);
  const std::string attempt1 = c.stage_log(t.run, "Work", 1);
  // Twice the lease in all, then A's connection carries its late messages.
  std::this_thread::sleep_for(
      std::chrono::milliseconds(std::max<int64_t>(0, 6000 - (now_ms() - cut_at))));
  proxy.blackhole(false);
  json run = c.wait_run(t.run, std::chrono::seconds(30));

  CHECK(run["status"] == "succeeded");
  json stage = stage_of(run, "Work");
  CHECK(stage["attempts"] == 2);
  CHECK(stage["agent"] == "B");
  CHECK(retried_at - cut_at <= 4000);  // lost within the lease + 1 s
  CHECK(wait_for(
      [&] { return read_file(c.dir() + "/A.log").find("job.fenced") != std::string::npos; },
      std::chrono::seconds(5)));
  // The two executions never overlapped, and A stopped before its lease lapsed.
  INFO(read_file(t.ticks));
  auto [a_last, b_first] = t.boundary(a_ws, b_ws);
  REQUIRE(a_last > 0);
  REQUIRE(b_first > 0);
  CHECK(a_last < b_first);
  CHECK(t.overlaps().empty());
  CHECK(a_last < cut_at + 3000);
  CHECK(t.count(b_ws) == 50);
  // A's late bytes were refused: attempt 1 holds what arrived before the cut.
  CHECK(c.stage_log(t.run, "Work", 1) == attempt1);
  const std::string final_log = c.stage_log(t.run, "Work");
  CHECK(final_log.find(a_ws) == std::string::npos);
  CHECK(final_log.find("tick 49 in " + b_ws) != std::string::npos);
}

TEST_CASE("G1: an agent paused (SIGSTOP) past its lease runs nothing beside the re-dispatch") {
  FAULT_SEED(seed);
  Cluster c;  // agent_lost_after: 3s
  c.start_controller();
  const int a = c.start_agent({"A"});
  c.wait_agents(1);
  Ticker t(c);
  const std::string a_ws = c.dir() + "/A/", b_ws = c.dir() + "/B/";
  const int64_t at_tick = seed.uniform(3, 15);
  const auto paused_for = seed.ms(6000, 8000);  // two leases and more
  INFO("SIGSTOP at tick " << at_tick << " for " << paused_for.count() << " ms");
  REQUIRE(wait_for([&] { return t.count(a_ws) >= at_tick; }, std::chrono::seconds(20)));
  c.start_agent({"B"});
  c.wait_agents(2);
  const int64_t stopped_at = now_ms();
  c.agent(a).signal(SIGSTOP);
  const int64_t retried_at = wait_attempts(c, t.run, "Work", 2, std::chrono::seconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(
      std::max<int64_t>(0, paused_for.count() - (now_ms() - stopped_at))));
  c.agent(a).signal(SIGCONT);
  json run = c.wait_run(t.run, std::chrono::seconds(30));
  CHECK(retried_at != 0);
  CHECK(retried_at - stopped_at <= 4000);
  CHECK(run["status"] == "succeeded");
  CHECK(stage_of(run, "Work")["agent"] == "B");
  INFO(read_file(t.ticks));
  auto [a_last, b_first] = t.boundary(a_ws, b_ws);
  REQUIRE(b_first > 0);
  CHECK(a_last < b_first);
  CHECK(t.overlaps().empty());
  CHECK(t.count(b_ws) == 50);
  // A comes back, learns its job is gone, and takes work again.
  CHECK(wait_for(
      [&] { return read_file(c.dir() + "/A.log").find("job.fenced") != std::string::npos; },
      std::chrono::seconds(10)));
  c.wait_agents(2);
}

TEST_CASE(
    "G4: kill -9 of an agent at a random point: lost within the lease + 1 s, retried elsewhere") {
  FAULT_SEED(seed);
  Cluster c;  // agent_lost_after: 3s
  c.start_controller();
  const std::string marker = c.dir() + "/attempt1", pid_file = c.dir() + "/pid",
                    started = c.dir() + "/started2";
  const int first = c.start_agent({"A"});
  c.wait_agents(1);
  std::string repo = c.make_repo(
      {{"Jenkinsfile",
        work_pipeline("if [ -e " + marker + " ]; then date +%s%3N > " + started +
                      "; echo second attempt; else touch " + marker + "; echo $$ > " + pid_file +
                      "; while true; do echo working; sleep 0.05; done; fi")}});
  int64_t id = c.trigger(repo);
  REQUIRE(wait_for([&] { return !read_file(pid_file).empty(); }, std::chrono::seconds(20)));
  c.start_agent({"B"});
  c.wait_agents(2);
  const auto kill_after = seed.ms(0, 2500);
  INFO("kill -9 " << kill_after.count() << " ms into the step");
  std::this_thread::sleep_for(kill_after);
  const int64_t killed_at = now_ms();
  c.stop_agent(first, SIGKILL);
  const int64_t retried_at = wait_attempts(c, id, "Work", 2, std::chrono::seconds(10));
  // The step dies with its agent (PR_SET_PDEATHSIG), so attempt 1 does not
  // run on beside attempt 2.
  pid_t orphan = static_cast<pid_t>(std::atoll(read_file(pid_file).c_str()));
  CHECK(wait_for([&] { return !process_alive(orphan); }, std::chrono::seconds(2)));
  json run = c.wait_run(id, std::chrono::seconds(30));
  kill_group_in(pid_file);
  REQUIRE(retried_at != 0);
  CHECK(retried_at - killed_at <= 4000);
  CHECK(std::atoll(read_file(started).c_str()) - killed_at <= 4000);
  CHECK(run["status"] == "succeeded");
  json stage = stage_of(run, "Work");
  CHECK(stage["attempts"] == 2);
  CHECK(stage["agent"] == "B");
}

TEST_CASE("G4: kill -9 of an agent without retry fails the stage with 'agent lost' in time") {
  FAULT_SEED(seed);
  Cluster c;  // agent_lost_after: 3s
  c.start_controller();
  c.start_agent({"A"});
  c.wait_agents(1);
  LongStep step(c);
  const auto kill_after = seed.ms(0, 2000);
  INFO("kill -9 " << kill_after.count() << " ms into the step");
  std::this_thread::sleep_for(kill_after);
  const int64_t killed_at = now_ms();
  c.stop_agent(0, SIGKILL);
  json run = c.wait_run(step.run, std::chrono::seconds(10));
  kill_group_in(step.pid_file);
  CHECK(run["status"] == "failed");
  json stage = stage_of(run, "Long");
  CHECK(stage["reason"] == "agent lost");
  CHECK(stage["attempts"] == 1);
  CHECK(stage["finished_at"].get<int64_t>() - killed_at <= 4000);
}

TEST_CASE("G5: cuts, delays, throttling and one-way loss shorter than the lease cost nothing") {
  FAULT_SEED(seed);
  ProxiedCluster pc("agent_lost_after: 6s\n");
  Cluster& c = pc.c;
  FaultProxy& proxy = *pc.proxy;
  constexpr int kChunks = 60, kLines = 8192;  // 60 x 512 KiB over about 6 s
  const std::string cmd = stream_command(kChunks, kLines, "0.1");
  const std::string output = stream_bytes(kChunks, kLines);
  int64_t id = c.trigger(c.make_repo({{"Jenkinsfile", stream_pipeline(cmd)}}));
  REQUIRE(wait_for([&] { return c.stage_log_size(id, "Stream") >= (int64_t{1} << 20); },
                   std::chrono::seconds(30)));
  // Four faults in a random order, each shorter than the lease.
  std::vector<int> order = {0, 1, 2, 3};
  for (size_t i = order.size() - 1; i > 0; --i)
    std::swap(order[i], order[static_cast<size_t>(seed.uniform(0, static_cast<int64_t>(i)))]);
  std::ostringstream faults;
  for (int fault : order) {
    const auto length = seed.ms(200, 3000);
    if (fault == 0) {
      faults << "silent cut both ways";
      proxy.blackhole(true);
    } else if (fault == 1) {
      const auto d = seed.ms(20, 300);
      faults << "delay " << d.count() << " ms";
      proxy.delay(d);
    } else if (fault == 2) {
      faults << "throttle to 256 KB/s";
      proxy.throttle(int64_t{256} * 1024);
    } else {
      const bool up = seed.uniform(0, 1) == 1;
      faults << "one-way cut " << (up ? "agent->controller" : "controller->agent");
      proxy.hold(up ? Direction::Up : Direction::Down, true);
    }
    faults << " for " << length.count() << " ms; ";
    std::this_thread::sleep_for(length);
    proxy.blackhole(false);
    proxy.delay(std::chrono::milliseconds(0));
    proxy.throttle(0);
    std::this_thread::sleep_for(seed.ms(100, 600));
  }
  INFO(faults.str());
  json run = c.wait_run(id, std::chrono::seconds(60));
  CHECK(run["status"] == "succeeded");
  json stage = stage_of(run, "Stream");
  CHECK(stage["attempts"] == 1);
  const std::string want = expected_log(run, cmd, output);
  const std::string got = c.stage_log(id, "Stream");
  CHECK(got.size() == want.size());
  CHECK(sha256(got) == sha256(want));
  CHECK(read_file(c.dir() + "/A.log").find("job.fenced") == std::string::npos);
  CHECK(read_file(c.dir() + "/controller.log").find("job.lost") == std::string::npos);
}

TEST_CASE("G14: a second agent with the same identity supersedes the first, which stops its job") {
  FAULT_SEED(seed);
  Cluster c;
  c.start_controller();
  int first = c.start_agent({"a1"});
  c.wait_agents(1);
  LongStep step(c);
  std::this_thread::sleep_for(seed.ms(0, 1500));
  // A copy of a1's work dir identity (a cloned machine) connects.
  fs::create_directories(c.dir() + "/dup/state");
  fs::copy_file(c.dir() + "/a1/state/agent_id", c.dir() + "/dup/state/agent_id");
  c.start_agent({"dup"});
  // The old process stops its job and leaves, instead of taking the identity back.
  CHECK(c.agent(first).wait(std::chrono::seconds(15)) == 2);
  pid_t pid = step.pid();
  CHECK(wait_for([&] { return ::kill(pid, 0) != 0; }, std::chrono::seconds(10)));
  json run = c.wait_run(step.run);
  CHECK(run["status"] == "failed");
  CHECK(stage_of(run, "Long")["reason"].get<std::string>().find("agent lost") != std::string::npos);
  CHECK(read_file(step.starts) == "start\n");  // it ran once
  c.wait_agents(1);
  int connected = 0;
  json agents = c.get_json("/api/v1/agents");
  INFO(agents.dump());
  for (const auto& ag : agents["agents"]) connected += ag["connected"].get<bool>() ? 1 : 0;
  CHECK(connected == 1);
}

TEST_CASE(
    "G1/G5: a controller paused (SIGSTOP) below the lease costs nothing and past it nothing "
    "runs twice at once") {
  FAULT_SEED(seed);
  Cluster c;  // agent_lost_after: 3s
  c.start_controller();
  c.start_agent({"A"});
  c.start_agent({"B"});
  c.wait_agents(2);
  Ticker t(c);
  const bool past_lease = seed.uniform(0, 1) == 1;
  const auto paused_for = past_lease ? seed.ms(4500, 6000) : seed.ms(300, 1500);
  const int64_t at_tick = seed.uniform(2, 20);
  INFO("SIGSTOP of the controller at tick " << at_tick << " for " << paused_for.count() << " ms");
  REQUIRE(
      wait_for([&] { return count_of(read_file(t.ticks), "\n") >= static_cast<size_t>(at_tick); },
               std::chrono::seconds(20)));
  c.signal_controller(SIGSTOP);
  std::this_thread::sleep_for(paused_for);
  c.signal_controller(SIGCONT);
  json run = c.wait_run(t.run, std::chrono::seconds(40));
  CHECK(run["status"] == "succeeded");
  INFO(read_file(t.ticks));
  CHECK(t.overlaps().empty());
  json stage = stage_of(run, "Work");
  if (past_lease) {
    // The agent fenced the job when its heartbeats went unanswered; the run
    // went on with a new attempt.
    CHECK(stage["attempts"] == 2);
  } else {
    CHECK(stage["attempts"] == 1);
    CHECK(read_file(c.dir() + "/controller.log").find("job.lost") == std::string::npos);
    const std::string log = c.stage_log(t.run, "Work");
    for (int i = 0; i < 50; ++i) CHECK(count_of(log, "tick " + std::to_string(i) + " in ") == 1);
  }
}
