// gantry-sim-agents URL TOKEN COUNT SECONDS [--work]: COUNT simulated agents,
// each a real WebSocket session speaking the real protocol (hello,
// heartbeats at the controller's interval, accept and finish), with a fake
// executor: a job is accepted and finished SUCCESS at once, with one log
// line shipped first (--work), or never offered (idle agents, the default,
// labelled "sim" so no pipeline picks them unless it asks). Prints "ready N"
// once N sessions were welcomed, then after SECONDS one line: welcomed,
// jobs finished, disconnects. For the scale benchmarks (bench/agents.sh);
// the controller sees them as agents like any other.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
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
  std::atomic<int> welcomed{0}, finished{0}, disconnects{0};
};

class SimAgent {
 public:
  SimAgent(net::EventLoop& loop, const std::string& url, const std::string& token, int index,
           bool work, Counters& counters)
      : loop_(loop), index_(index), work_(work), counters_(counters) {
    net::WsClientOptions o;
    o.url = url + "/api/v1/agent";
    o.headers = {{"Authorization", "Bearer " + token}};
    o.backoff_base = std::chrono::milliseconds(1000);
    o.backoff_cap = std::chrono::milliseconds(10000);
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
  void start() { client_->start(); }
  void stop() { client_->stop(); }

 private:
  void hello() {
    protocol::Hello h;
    h.agent_id = "sim-" + std::to_string(index_);
    h.instance_id = h.agent_id + "-" + std::to_string(std::rand());
    h.name = h.agent_id;
    h.labels = {work_ ? "simwork" : "sim"};
    h.executors = 1;
    h.version = "sim";
    client_->send_text(protocol::encode(protocol::AgentMessage(h)));
  }
  void on_message(std::string_view text) {
    auto decoded = protocol::decode_controller(text);
    auto* m = std::get_if<protocol::ControllerMessage>(&decoded);
    if (!m) return;
    if (auto* w = std::get_if<protocol::Welcome>(m)) {
      ++counters_.welcomed;
      if (timer_) loop_.cancel_timer(timer_);
      timer_ = loop_.call_every(std::chrono::milliseconds(std::max<int64_t>(w->heartbeat_ms, 100)),
                                [this] {
                                  protocol::Heartbeat hb;
                                  for (const auto& [id, epoch] : jobs_)
                                    hb.jobs.push_back({id, epoch});
                                  client_->send_text(protocol::encode(protocol::AgentMessage(hb)));
                                });
    } else if (auto* a = std::get_if<protocol::Assign>(m)) {
      client_->send_text(
          protocol::encode(protocol::AgentMessage(protocol::Accept{a->job_id, a->epoch})));
      // The fake executor: one line of output, then SUCCESS.
      std::string line = "simulated " + a->spec.stage_id + "\n";
      protocol::LogChunk chunk{a->job_id, a->epoch, 0};
      client_->send_binary(protocol::encode_log(chunk, line));
      protocol::Finish f;
      f.job_id = a->job_id;
      f.epoch = a->epoch;
      f.result = "SUCCESS";
      f.log_bytes = line.size();
      pending_[a->job_id] = f;
      jobs_[a->job_id] = a->epoch;
    } else if (auto* ack = std::get_if<protocol::LogAck>(m)) {
      // The log is committed: the finish may go.
      auto it = pending_.find(ack->job_id);
      if (it != pending_.end() && ack->committed >= it->second.log_bytes) {
        client_->send_text(protocol::encode(protocol::AgentMessage(it->second)));
        pending_.erase(it);
      }
    } else if (auto* fa = std::get_if<protocol::FinishAck>(m)) {
      if (jobs_.erase(fa->job_id)) ++counters_.finished;
    } else if (auto* n = std::get_if<protocol::Nack>(m)) {
      pending_.erase(n->job_id);
      jobs_.erase(n->job_id);
    }
  }

  net::EventLoop& loop_;
  int index_;
  bool work_;
  Counters& counters_;
  std::unique_ptr<net::WsClient> client_;
  uint64_t timer_ = 0;
  std::map<std::string, uint64_t> jobs_;
  std::map<std::string, protocol::Finish> pending_;
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

}  // namespace

int main(int argc, char** argv) {
  if (argc == 6 && std::strcmp(argv[1], "trigger") == 0)
    return trigger(argv[2], argv[3], std::atoi(argv[4]), argv[5]);
  if (argc < 5) {
    std::fprintf(stderr, "usage: gantry-sim-agents ws://HOST:PORT TOKEN COUNT SECONDS [--work]\n");
    return 2;
  }
  log::set_min_level(log::Level::Error);
  const std::string url = argv[1], token = argv[2];
  const int count = std::atoi(argv[3]);
  const double seconds = std::atof(argv[4]);
  const bool work = argc > 5 && std::strcmp(argv[5], "--work") == 0;
  Counters counters;
  net::EventLoop loops[2];
  std::vector<std::unique_ptr<SimAgent>> agents;
  for (int i = 0; i < count; ++i)
    agents.push_back(std::make_unique<SimAgent>(loops[i % 2], url, token, i, work, counters));
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
  std::printf("ready %d\n", counters.welcomed.load());
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  for (int i = 0; i < count; ++i) {
    SimAgent* a = agents[static_cast<size_t>(i)].get();
    loops[i % 2].post([a] { a->stop(); });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (auto& loop : loops) loop.stop();
  for (auto& t : threads) t.join();
  std::printf("%d %d %d\n", counters.welcomed.load(), counters.finished.load(),
              counters.disconnects.load());
  agents.clear();
  return 0;
}
