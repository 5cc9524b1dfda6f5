// bench_fanout: the two ends of bench/fanout.sh.
//
//   bench_fanout emit BYTES_PER_SECOND SECONDS
//     The step: prints 100-byte lines, each starting with the wall-clock time
//     it was written ("t=<unix ns> "), paced to the rate, flushed every 10 ms.
//   bench_fanout watch URL TOKEN CLIENTS SECONDS
//     Opens CLIENTS WebSocket watchers of /api/v1/events (live, no filter)
//     on two event loops, prints "ready", and records for every log event the
//     latency from the oldest line in it being written to the event arriving,
//     until the next run ends (or SECONDS pass). Prints one line of figures:
//     clients events bytes p50_ms p99_ms max_ms closed(4008) incomplete.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gantry/common/log.hpp"
#include "gantry/net/event_loop.hpp"
#include "gantry/net/ws_client.hpp"

namespace {

int64_t unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int emit(double rate, double seconds) {
  constexpr size_t kLine = 100;
  std::string buf;
  auto start = std::chrono::steady_clock::now();
  double sent = 0;
  for (;;) {
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (elapsed >= seconds) break;
    size_t lines = std::min<size_t>(static_cast<size_t>((rate * elapsed - sent) / kLine), 100000);
    buf.clear();
    for (size_t i = 0; i < lines; ++i) {
      char head[40];
      int k = std::snprintf(head, sizeof head, "t=%lld ", static_cast<long long>(unix_ns()));
      buf.append(head, static_cast<size_t>(k));
      buf.append(kLine - 1 - static_cast<size_t>(k), 'x');
      buf.push_back('\n');
    }
    if (!buf.empty()) {
      std::fwrite(buf.data(), 1, buf.size(), stdout);
      std::fflush(stdout);
      sent += static_cast<double>(buf.size());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return 0;
}

struct Stats {
  std::mutex mu;
  std::vector<double> latencies_ms;
  uint64_t events = 0, bytes = 0;
  int closed_slow = 0;
};

struct Watcher {
  std::unique_ptr<gantry::net::WsClient> client;
  bool done = false;
};

int watch(const std::string& url, const std::string& token, int clients, double seconds) {
  gantry::log::set_min_level(gantry::log::Level::Warn);
  Stats stats;
  std::atomic<int> open{0}, done{0};
  gantry::net::EventLoop loops[2];
  std::vector<std::unique_ptr<Watcher>> watchers;
  for (int i = 0; i < clients; ++i) {
    gantry::net::WsClientOptions o;
    o.url = url + "/api/v1/events";
    o.headers = {{"Authorization", "Bearer " + token}};
    o.max_message = 4 << 20;
    auto w = std::make_unique<Watcher>();
    w->client = std::make_unique<gantry::net::WsClient>(loops[i % 2], o);
    Watcher* raw = w.get();
    w->client->on_open = [&open] { ++open; };
    w->client->on_disconnect = [&stats, raw](const std::string& why) {
      if (why.rfind("closed 4008", 0) == 0) {
        std::lock_guard lock(stats.mu);
        ++stats.closed_slow;
      }
      raw->client->stop();
    };
    w->client->on_message = [&stats, &done, raw](std::string_view frame, bool) {
      int64_t now = unix_ns();
      if (frame.find("\"type\":\"run\"") != std::string_view::npos &&
          frame.find("\"status\":\"succeeded\"") != std::string_view::npos && !raw->done) {
        raw->done = true;
        ++done;
        return;
      }
      if (frame.find("\"type\":\"log\"") == std::string_view::npos) return;
      size_t t = frame.find("t=");
      double latency = -1;
      if (t != std::string_view::npos) {
        int64_t written = std::strtoll(std::string(frame.substr(t + 2, 20)).c_str(), nullptr, 10);
        if (written > 0) latency = static_cast<double>(now - written) / 1e6;
      }
      std::lock_guard lock(stats.mu);
      ++stats.events;
      stats.bytes += frame.size();
      if (latency >= 0) stats.latencies_ms.push_back(latency);
    };
    watchers.push_back(std::move(w));
  }
  std::vector<std::thread> threads;
  for (auto& loop : loops) threads.emplace_back([&loop] { loop.run(); });
  for (int i = 0; i < clients; ++i) {
    auto* c = watchers[static_cast<size_t>(i)]->client.get();
    loops[i % 2].post([c] { c->start(); });
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (open < clients && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::printf("ready %d\n", open.load());
  std::fflush(stdout);
  while (done + stats.closed_slow < clients && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  for (int i = 0; i < clients; ++i) {
    auto* c = watchers[static_cast<size_t>(i)]->client.get();
    loops[i % 2].post([c] { c->stop(); });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (auto& loop : loops) loop.stop();
  for (auto& t : threads) t.join();
  std::lock_guard lock(stats.mu);
  auto& l = stats.latencies_ms;
  std::sort(l.begin(), l.end());
  auto pct = [&l](double p) {
    return l.empty()
               ? -1.0
               : l[std::min(l.size() - 1, static_cast<size_t>(p * static_cast<double>(l.size())))];
  };
  std::printf(
      "%d %llu %llu %.2f %.2f %.2f %d %d\n", clients, static_cast<unsigned long long>(stats.events),
      static_cast<unsigned long long>(stats.bytes), pct(0.5), pct(0.99),
      l.empty() ? -1.0 : l.back(), stats.closed_slow, clients - done.load() - stats.closed_slow);
  watchers.clear();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "emit") == 0)
    return emit(std::atof(argv[2]), std::atof(argv[3]));
  if (argc == 6 && std::strcmp(argv[1], "watch") == 0)
    return watch(argv[2], argv[3], std::atoi(argv[4]), std::atof(argv[5]));
  std::fprintf(stderr,
               "usage: bench_fanout emit BYTES_PER_SECOND SECONDS\n"
               "       bench_fanout watch ws://HOST:PORT TOKEN CLIENTS SECONDS\n");
  return 2;
}
