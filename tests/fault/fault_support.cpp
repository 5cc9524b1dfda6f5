#include "fault_support.hpp"

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <thread>

namespace gantry::fault {

Seed::Seed() {
  const char* env = std::getenv("GANTRY_FAULT_SEED");
  value_ = env && *env ? std::strtoull(env, nullptr, 10) : std::random_device{}();
  rng_.seed(value_);
  std::fprintf(stderr, "[fault] seed %llu (replay: GANTRY_FAULT_SEED=%llu)\n",
               static_cast<unsigned long long>(value_), static_cast<unsigned long long>(value_));
}

int64_t Seed::uniform(int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
}

std::string stream_command(int chunks, int lines, const std::string& pause) {
  std::string n = std::to_string(lines);
  return "i=0; while [ $i -lt " + std::to_string(chunks) + " ]; do seq -f '%010.0f " + kLineText +
         "' $((i*" + n + "+1)) $((i*" + n + "+" + n + ")); sleep " + pause + "; i=$((i+1)); done";
}

std::string stream_bytes(int chunks, int lines) {
  std::string out;
  out.reserve(static_cast<size_t>(chunks) * static_cast<size_t>(lines) * 64);
  char buf[32];
  for (long i = 1; i <= static_cast<long>(chunks) * lines; ++i) {
    std::snprintf(buf, sizeof buf, "%010ld ", i);
    out += buf;
    out += kLineText;
    out += '\n';
  }
  return out;
}

std::string stream_pipeline(const std::string& command) {
  return "pipeline {\n  agent any\n  stages {\n    stage('Stream') {\n      steps { sh '''" +
         command + "''' }\n    }\n  }\n}\n";
}

std::string expected_log(const json& run, const std::string& command, const std::string& output) {
  return "[gantry] checkout " + run["repo"].get<std::string>() + " at " +
         run["commit"].get<std::string>() + "\n[gantry] + " + command + "\n" + output;
}

bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
              std::chrono::milliseconds every) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(every);
  }
  return pred();
}

void kill_group_in(const std::string& pid_file) {
  std::istringstream in(e2e::read_file(pid_file));
  pid_t pid = 0;
  if (in >> pid && pid > 1) ::kill(-pid, SIGKILL);
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

LongStep::LongStep(Cluster& c, const std::string& options)
    : starts(c.dir() + "/starts.txt"), pid_file(c.dir() + "/step.pid") {
  std::string pipeline = "pipeline {\n  agent any\n" + options +
                         "  stages {\n    stage('Long') { steps { sh 'echo start >> " + starts +
                         "; echo $$ > " + pid_file + "; sleep 60; echo never' } }\n  }\n}\n";
  run = c.trigger(c.make_repo({{"Jenkinsfile", pipeline}}));
  REQUIRE(wait_for([&] { return e2e::read_file(pid_file).size() > 1; }, std::chrono::seconds(30)));
}

pid_t LongStep::pid() const {
  return std::stoi(e2e::read_file(pid_file));
}

ProxiedCluster::ProxiedCluster(const std::string& config) : c(config) {
  c.start_controller();
  proxy = std::make_unique<FaultProxy>(c.port);
  c.start_agent({"A", {}, 1, proxy->url()});
  c.wait_agents(1);
}

int attempts_of(Cluster& c, int64_t run, const std::string& stage) {
  json s = e2e::stage_of(c.get_json("/api/v1/runs/" + std::to_string(run)), stage);
  return s.is_object() ? s.value("attempts", 0) : 0;
}

}  // namespace gantry::fault
