// gantry-sim-agents URL TOKEN COUNT SECONDS [--work] [--hold MS] [--release FILE]
// [--trace]:
// COUNT simulated agents, each a real WebSocket session speaking the real
// protocol (hello with resume, heartbeats at the controller's interval,
// accept, log, finish), with a fake executor. Without --work they are idle
// (labelled "sim", so no pipeline picks them unless it asks); with --work
// (label "simwork") a job is accepted and finished SUCCESS with one log line,
// at once or, with --hold, after MS milliseconds, and with --release not
// before FILE exists (a test's signal). Held jobs survive
// reconnects as a real agent's do: the next hello lists them for resume and
// the welcome's verdict keeps or drops them. Agents reconnect with the
// backoff gantry-agent uses (500 ms base, 5 s cap, full jitter).
// Prints "ready N" once N sessions were welcomed, with --trace one line per
// welcome ("welcome INDEX EPOCH_MS"), then after SECONDS:
// "WELCOMED FINISHED DISCONNECTS ABORTED". For the scale benchmarks
// (bench/agents.sh, bench/dispatch.sh) and the fault suite (tests/fault/);
// the controller sees them as agents like any other.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include "gantry/common/log.hpp"

#include "gantry/net/event_loop.hpp"
#include "gantry/net/http_client.hpp"
#include "gantry/net/ws_client.hpp"
#include "gantry/protocol/codec.hpp"

namespace {

using namespace gantry;

struct Counters {
  std::atomic<int> welcomed{0}, finished{0}, disconnects{0}, aborted{0};
};

struct Options {
  bool work = false, trace = false;
  int64_t hold_ms = 0;
  std::string release_file;  // held jobs end only once this file exists
};

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::mutex out_mutex;  // stdout, shared by both loops' threads

class SimAgent {
 public:
  SimAgent(net::EventLoop& loop, const std::string& url, const std::string& token, int index,
           const Options& options, Counters& counters)
      : loop_(loop), index_(index), options_(options), counters_(counters) {
    net::WsClientOptions o;
    o.url = url + "/api/v1/agent";
    o.headers = {{"Authorization", "Bearer " + token}};
    o.backoff_base = std::chrono::milliseconds(500);  // as gantry-agent
    o.backoff_cap = std::chrono::milliseconds(5000);
    client_ = std::make_unique<net::WsClient>(loop, o);
    client_->on_open = [this] { hello(); };
    client_->on_message = [this](std::string_view text, bool binary) {
      if (!binary) on_message(text);
    };
    client_->on_disconnect = [this](const std::string&) {
      ++counters_.disconnects;
      if (timer_) loop_.cancel_timer(timer_);
      timer_ = 0;
    };
  }
  ~SimAgent() {
    if (timer_) loop_.cancel_timer(timer_);
  }
  void start() { client_->start(); }
  void stop() { client_->stop(); }

 private:
  void hello() {
    protocol::Hello h;
    h.agent_id = "sim-" + std::to_string(index_);
    h.instance_id = h.agent_id + "-" + std::to_string(std::rand());
    h.name = h.agent_id;
    h.labels = {options_.work ? "simwork" : "sim"};
    h.executors = 1;
    h.version = "sim";
    for (const auto& [id, job] : jobs_)
      h.resume.push_back({id, job.epoch, job.logged ? kLine.size() : 0, job.finishing});
    client_->send_text(protocol::encode(protocol::AgentMessage(h)));
  }
  void on_message(std::string_view text) {
    auto decoded = protocol::decode_controller(text);
    auto* m = std::get_if<protocol::ControllerMessage>(&decoded);
    if (!m) return;
    if (auto* w = std::get_if<protocol::Welcome>(m)) {
      welcome(*w);
    } else if (auto* a = std::get_if<protocol::Assign>(m)) {
      client_->send_text(
          protocol::encode(protocol::AgentMessage(protocol::Accept{a->job_id, a->epoch})));
      Job& job = jobs_[a->job_id];
      job.epoch = a->epoch;
      job.due = wall_ms() + options_.hold_ms;
      if (options_.hold_ms == 0) tick();
    } else if (auto* ack = std::get_if<protocol::LogAck>(m)) {
      // The log is committed: the finish may go.
      auto it = jobs_.find(ack->job_id);
      if (it != jobs_.end() && it->second.finishing && ack->committed >= kLine.size())
        send_finish(it->first, it->second);
    } else if (auto* fa = std::get_if<protocol::FinishAck>(m)) {
      if (jobs_.erase(fa->job_id)) ++counters_.finished;
    } else if (auto* n = std::get_if<protocol::Nack>(m)) {
      jobs_.erase(n->job_id);
    }
  }

  struct Job {
    uint64_t epoch = 0;
    int64_t due = 0;         // wall ms when the fake step ends
    bool logged = false;     // its one log line was sent
    bool finishing = false;  // ended: the finish goes once the line is committed
  };
  static inline const std::string kLine = "simulated step\n";

  void welcome(const protocol::Welcome& w) {
    ++counters_.welcomed;
    if (options_.trace) {
      std::lock_guard<std::mutex> lock(out_mutex);
      std::printf("welcome %d %lld\n", index_, static_cast<long long>(wall_ms()));
      std::fflush(stdout);  // read while the simulator runs
    }
    for (const auto& v : w.resume) {
      auto it = jobs_.find(v.job_id);
      if (it == jobs_.end()) continue;
      if (v.verdict != "continue") {
        ++counters_.aborted;
        jobs_.erase(it);
        continue;
      }
      // The controller holds v.committed bytes: resend the rest, or the finish.
      if (it->second.finishing) {
        if (v.committed >= kLine.size()) {
          send_finish(it->first, it->second);
        } else {
          send_line(it->first, it->second);
        }
      }
    }
    if (timer_) loop_.cancel_timer(timer_);
    timer_ =
        loop_.call_every(std::chrono::milliseconds(std::max<int64_t>(w.heartbeat_ms, 100)), [this] {
          protocol::Heartbeat hb;
          for (const auto& [id, job] : jobs_) hb.jobs.push_back({id, job.epoch});
          client_->send_text(protocol::encode(protocol::AgentMessage(hb)));
          tick();
        });
  }
  // Ends the jobs whose time has come: their line goes, then (on the ack) the finish.
  void tick() {
    if (!options_.release_file.empty() && ::access(options_.release_file.c_str(), F_OK) != 0)
      return;
    const int64_t now = wall_ms();
    for (auto& [id, job] : jobs_) {
      if (job.finishing || job.due > now) continue;
      job.finishing = true;
      send_line(id, job);
    }
  }
  void send_line(const std::string& id, Job& job) {
    protocol::LogChunk chunk{id, job.epoch, 0};
    client_->send_binary(protocol::encode_log(chunk, kLine));
    job.logged = true;
  }
  void send_finish(const std::string& id, const Job& job) {
    protocol::Finish f;
    f.job_id = id;
    f.epoch = job.epoch;
    f.result = "SUCCESS";
    f.log_bytes = kLine.size();
    client_->send_text(protocol::encode(protocol::AgentMessage(f)));
  }

  net::EventLoop& loop_;
  int index_;
  const Options& options_;
  Counters& counters_;
  std::unique_ptr<net::WsClient> client_;
  uint64_t timer_ = 0;
  std::map<std::string, Job> jobs_;
};

// gantry-sim-agents trigger http://HOST:PORT TOKEN COUNT JOB < PIPELINE:
// starts COUNT runs of the pipeline on stdin (no repository, no checkout)
// through POST /api/v1/runs, one after another; prints how long it took.
int trigger(const std::string& server, const std::string& token, int count,
            const std::string& job) {
  std::string source((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  nlohmann::json body = {{"source", source}, {"format", "jenkinsfile"}, {"job", job}};
  net::ClientRequest req;
  req.method = "POST";
  req.url = server + "/api/v1/runs";
  req.bearer_token = token;
  req.body = body.dump();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < count; ++i) {
    net::ClientResponse r = net::http_request(req);
    if (!r.ok || r.status >= 300) {
      std::fprintf(stderr, "trigger %d: %s %s\n", i, r.error.c_str(), r.body.c_str());
      return 1;
    }
  }
  std::printf("%.3f\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return 0;
}

int run(int argc, char** argv) {
  if (argc == 6 && std::strcmp(argv[1], "trigger") == 0)
    return trigger(argv[2], argv[3], std::atoi(argv[4]), argv[5]);
  if (argc < 5) {
    std::fprintf(stderr,
                 "usage: gantry-sim-agents ws://HOST:PORT TOKEN COUNT SECONDS [--work] [--hold MS] "
                 "[--release FILE] [--trace]\n"
                 "       gantry-sim-agents trigger http://HOST:PORT TOKEN COUNT JOB < PIPELINE\n");
    return 2;
  }
  log::set_min_level(log::Level::Error);
  const std::string url = argv[1], token = argv[2];
  const int count = std::atoi(argv[3]);
  const double seconds = std::atof(argv[4]);
  Options options;
  for (int i = 5; i < argc; ++i) {
    if (std::strcmp(argv[i], "--work") == 0) {
      options.work = true;
    } else if (std::strcmp(argv[i], "--trace") == 0) {
      options.trace = true;
    } else if (std::strcmp(argv[i], "--hold") == 0 && i + 1 < argc) {
      options.work = true;
      options.hold_ms = std::atoll(argv[++i]);
    } else if (std::strcmp(argv[i], "--release") == 0 && i + 1 < argc) {
      options.work = true;
      options.release_file = argv[++i];
    } else {
      std::fprintf(stderr, "gantry-sim-agents: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  Counters counters;
  net::EventLoop loops[2];
  std::vector<std::unique_ptr<SimAgent>> agents;
  agents.reserve(static_cast<size_t>(std::max(count, 0)));
  for (int i = 0; i < count; ++i)
    agents.push_back(std::make_unique<SimAgent>(loops[i % 2], url, token, i, options, counters));
  std::vector<std::thread> threads;
  for (auto& loop : loops) threads.emplace_back([&loop] { loop.run(); });
  // Connect in waves, not all at once: a listen backlog is finite.
  for (int i = 0; i < count; ++i) {
    SimAgent* a = agents[static_cast<size_t>(i)].get();
    loops[i % 2].post([a] { a->start(); });
    if (i % 200 == 199) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (counters.welcomed < count && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  {
    std::lock_guard<std::mutex> lock(out_mutex);
    std::printf("ready %d\n", counters.welcomed.load());
    std::fflush(stdout);
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  for (int i = 0; i < count; ++i) {
    SimAgent* a = agents[static_cast<size_t>(i)].get();
    loops[i % 2].post([a] { a->stop(); });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (auto& loop : loops) loop.stop();
  for (auto& t : threads) t.join();
  std::printf("%d %d %d %d\n", counters.welcomed.load(), counters.finished.load(),
              counters.disconnects.load(), counters.aborted.load());
  agents.clear();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gantry-sim-agents: %s\n", e.what());
    return 1;
  }
}
