// bench_soak: the load of bench/soak.sh, and its checks of runs, logs and
// events.
//
//   bench_soak http://HOST:PORT TOKEN RUNS WATCHERS SECONDS DRAIN_SECONDS
//
// Opens WATCHERS WebSocket watchers of GET /api/v1/events (live, every event,
// logs included) plus one more, the driver's own, then keeps RUNS runs in
// flight for SECONDS: each run is posted inline (POST /api/v1/runs) with a
// pipeline made from its seed (1, 2, 3, ...): build, then test (parallel:
// unit, lint), then deploy. Every stage's sh step prints seq-made lines,
// sleeps, prints more; seed % 10 == 3 fails build (exit 2), == 7 fails lint
// (exit 3), == 5 marks deploy unstable, the rest succeed. When the driver's
// watcher sees a run end, another run is posted, and a verifier thread checks
// the ended run: its status and every stage's status (GET /api/v1/runs/ID),
// every stage's log (GET .../log?stage=S) against the bytes the seed
// determines (SHA-256), and the same log rebuilt from the watcher's log
// events. After SECONDS no more runs are posted; the ones in flight get
// DRAIN_SECONDS to end. Each watcher checks that event ids come one after
// the other (id = previous + 1); a watcher closed by the controller
// reconnects with since=<last id> and the check goes on.
//
// Prints a progress line to stderr every 10 s, then the figures as
// "key value" lines on stdout (with when the soak started and when the
// frames received passed the controller's 16 MiB event ring, SOAK_RING_MIB:
// soak.sh judges RSS only after that), then the first failures. Exits 1 on any
// failure (a wrong result or log, an event gap, a watcher error, an HTTP
// error, a run that did not end), else 0.
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "gantry/common/log.hpp"
#include "gantry/net/event_loop.hpp"
#include "gantry/net/http_client.hpp"
#include "gantry/net/url.hpp"
#include "gantry/net/ws_client.hpp"

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// ------------------------------------------------------------ the pipelines

struct StageWant {
  std::string id;      // plan id, as in the run record
  std::string status;  // expected status
  std::string log;     // expected bytes of its log
};

struct RunWant {
  std::string status;
  std::vector<StageWant> stages;
};

std::string seq_lines(int64_t seed, const std::string& name, int from, int to) {
  std::string out;
  for (int i = from; i <= to; ++i)
    out += "soak " + std::to_string(seed) + " " + name + " " + std::to_string(i) + "\n";
  return out;
}

// One stage's sh: A lines, a sleep, B more lines, then `exit CODE` if CODE.
struct Sh {
  std::string script, output;
};

Sh stage_sh(int64_t seed, const std::string& name, int index, int code, int sleep_s) {
  int a = 5 + static_cast<int>((seed * 7 + index) % 20);
  int b = 5 + static_cast<int>((seed * 13 + index) % 30);
  std::string tag = "soak " + std::to_string(seed) + " " + name + " %g";
  Sh sh;
  sh.script = "seq -f \"" + tag + "\" 1 " + std::to_string(a) + "; sleep " +
              std::to_string(sleep_s) + "; seq -f \"" + tag + "\" " + std::to_string(a + 1) + " " +
              std::to_string(a + b);
  if (code != 0) sh.script += "; exit " + std::to_string(code);
  sh.output = seq_lines(seed, name, 1, a + b);
  return sh;
}

std::string sh_log(const Sh& sh, int code) {
  std::string log = "[gantry] + " + sh.script + "\n" + sh.output;
  if (code != 0) log += "[gantry] ERROR: script returned exit code " + std::to_string(code) + "\n";
  return log;
}

int g_stage_seconds = 4;  // SOAK_STAGE_SECONDS: a stage's mean sleep
// The controller keeps the newest 16 MiB of event frames in memory
// (EventHubOptions::ring_bytes): its RSS grows until that ring is full, so
// the driver says when the frames it received passed that (SOAK_RING_MIB).
uint64_t g_ring_bytes = 16 << 20;

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The Jenkinsfile of run SEED and what it must give.
std::string pipeline_for(int64_t seed, RunWant& want) {
  int kind = static_cast<int>(seed % 10);
  int build_code = kind == 3 ? 2 : 0, lint_code = kind == 7 ? 3 : 0;
  bool unstable = kind == 5;
  auto sleep_of = [&](int index) {
    return std::max(1, g_stage_seconds - 1 + static_cast<int>((seed + index) % 3));
  };
  Sh build = stage_sh(seed, "build", 0, build_code, sleep_of(0));
  Sh unit = stage_sh(seed, "unit", 1, 0, sleep_of(1) + 1);
  Sh lint = stage_sh(seed, "lint", 2, lint_code, std::max(1, sleep_of(2) - 1));
  Sh deploy = stage_sh(seed, "deploy", 3, 0, sleep_of(3));
  std::string warning = "soak " + std::to_string(seed) + " flaky";
  auto quote = [](const std::string& s) { return "'" + s + "'"; };
  std::string src =
      "pipeline {\n"
      "  agent any\n"
      "  options { skipDefaultCheckout() }\n"
      "  stages {\n"
      "    stage('build') { steps { sh " +
      quote(build.script) +
      " } }\n"
      "    stage('test') {\n"
      "      parallel {\n"
      "        stage('unit') { steps { sh " +
      quote(unit.script) +
      " } }\n"
      "        stage('lint') { steps { sh " +
      quote(lint.script) +
      " } }\n"
      "      }\n"
      "    }\n"
      "    stage('deploy') { steps {\n"
      "      sh " +
      quote(deploy.script) + "\n" + (unstable ? "      unstable " + quote(warning) + "\n" : "") +
      "      echo 'deployed " + std::to_string(seed) +
      "'\n"
      "    } }\n"
      "  }\n"
      "}\n";
  std::string deploy_log = sh_log(deploy, 0);
  if (unstable) deploy_log += "[gantry] WARNING: " + warning + "\n";
  deploy_log += "deployed " + std::to_string(seed) + "\n";
  if (build_code != 0) {
    want.status = "failed";
    want.stages = {{"build", "failed", sh_log(build, build_code)},
                   {"test", "skipped", ""},
                   {"test / unit", "skipped", ""},
                   {"test / lint", "skipped", ""},
                   {"deploy", "skipped", ""}};
  } else if (lint_code != 0) {
    want.status = "failed";
    want.stages = {{"build", "succeeded", sh_log(build, 0)},
                   {"test", "failed", ""},
                   {"test / unit", "succeeded", sh_log(unit, 0)},
                   {"test / lint", "failed", sh_log(lint, lint_code)},
                   {"deploy", "skipped", ""}};
  } else {
    want.status = unstable ? "unstable" : "succeeded";
    want.stages = {{"build", "succeeded", sh_log(build, 0)},
                   {"test", "succeeded", ""},
                   {"test / unit", "succeeded", sh_log(unit, 0)},
                   {"test / lint", "succeeded", sh_log(lint, 0)},
                   {"deploy", unstable ? "unstable" : "succeeded", deploy_log}};
  }
  return src;
}

std::string sha256(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr);
  static const char* k = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += k[md[i] >> 4];
    out += k[md[i] & 15];
  }
  return out;
}

// Where two texts part: the offset and a few bytes of each from there, escaped.
std::string first_difference(const std::string& got, const std::string& want) {
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  auto show = [i](const std::string& s) {
    std::string out;
    for (char c : s.substr(std::min(i, s.size()), 40))
      out += c == '\n' ? std::string("\\n") : std::string(1, c);
    return "\"" + out + "\"";
  };
  return "from byte " + std::to_string(i) + " got " + show(got) + ", expected " + show(want);
}

bool terminal(const std::string& status) {
  return status == "succeeded" || status == "failed" || status == "unstable" || status == "aborted";
}

// ------------------------------------------------------------ shared state

struct Failures {
  std::mutex mu;
  std::vector<std::string> first;
  std::map<std::string, int> by_kind;
  void add(const std::string& kind, const std::string& what) {
    std::lock_guard lock(mu);
    ++by_kind[kind];
    if (first.size() < 30) first.push_back(kind + ": " + what);
  }
  int total() {
    std::lock_guard lock(mu);
    int n = 0;
    for (const auto& [k, v] : by_kind) n += v;
    return n;
  }
};
Failures g_fail;

// The runs: posted ones, their seeds and expectations, ended ones to verify.
struct Runs {
  std::mutex mu;
  std::condition_variable cv;
  std::map<int64_t, int64_t> seed_of;                           // run id -> seed
  std::map<int64_t, std::string> ended;                         // run id -> status from its event
  std::map<std::pair<int64_t, std::string>, std::string> logs;  // rebuilt from log events
  std::deque<int64_t> to_verify;
  int to_post = 0;  // runs to post now (one per ended run while the soak lasts)
  int64_t posted = 0, finished = 0, verified = 0, in_flight = 0;
  std::map<std::string, int64_t> by_status;
  bool posting = true, quit = false;
};
Runs g_runs;

std::atomic<int64_t> g_http_requests{0};

std::string frame_id_text(std::string_view frame) {
  size_t p = frame.find("\"id\":");
  if (p == std::string_view::npos) return {};
  p += 5;
  while (p < frame.size() && frame[p] == ' ') ++p;
  size_t e = p;
  while (e < frame.size() && frame[e] >= '0' && frame[e] <= '9') ++e;
  return std::string(frame.substr(p, e - p));
}

// One watcher of GET /api/v1/events; the driver's own also follows the runs.
class Watcher {
 public:
  Watcher(gantry::net::EventLoop& loop, std::string url, std::string token, int index, bool driver)
      : loop_(loop),
        url_(std::move(url)),
        token_(std::move(token)),
        index_(index),
        driver_(driver) {}

  void connect() {  // on the loop thread
    gantry::net::WsClientOptions o;
    o.url = url_ + "/api/v1/events";
    if (last_id_ > 0) o.url += "?since=" + std::to_string(last_id_);
    o.headers = {{"Authorization", "Bearer " + token_}};
    o.max_message = 4 << 20;
    o.backoff_base = std::chrono::milliseconds(200);
    o.backoff_cap = std::chrono::milliseconds(2000);
    client_ = std::make_unique<gantry::net::WsClient>(loop_, o);
    gantry::net::WsClient* raw = client_.get();
    client_->on_open = [this, raw] { open_ = raw == client_.get(); };
    client_->on_message = [this, raw](std::string_view frame, bool binary) {
      if (!binary && raw == client_.get()) on_frame(frame);
    };
    client_->on_disconnect = [this, raw](const std::string& why) {
      if (raw != client_.get() || stopping_ || why == "stopped") return;
      open_ = false;
      if (why.rfind("closed 4008", 0) == 0) {
        ++slow_closes_;
      } else {
        g_fail.add("watcher", "watcher " + std::to_string(index_) + " disconnected: " + why);
        ++other_closes_;
      }
      // Resume where it stopped: a new client with since=<last id>.
      client_->stop();
      loop_.post([this] {
        retired_.push_back(std::move(client_));
        connect();
        client_->start();
      });
    };
    client_->on_refused = [this, raw](int status) {
      if (raw != client_.get()) return false;
      g_fail.add("watcher",
                 "watcher " + std::to_string(index_) + " refused: HTTP " + std::to_string(status));
      return false;
    };
  }
  void start() { client_->start(); }
  void stop() {
    stopping_ = true;
    client_->stop();
  }
  bool open() const { return open_; }
  int64_t last_id() const { return last_id_; }
  uint64_t events() const { return events_; }
  uint64_t bytes() const { return bytes_; }
  int slow_closes() const { return slow_closes_; }
  int other_closes() const { return other_closes_; }
  int64_t gaps() const { return gaps_; }

 private:
  void on_frame(std::string_view frame) {
    int64_t id = std::atoll(frame_id_text(frame).c_str());
    if (id <= 0) {
      g_fail.add("event", "watcher " + std::to_string(index_) +
                              ": a frame with no id: " + std::string(frame.substr(0, 120)));
      return;
    }
    if (last_id_ > 0 && id != last_id_ + 1) {
      ++gaps_;
      g_fail.add("event-gap", "watcher " + std::to_string(index_) + ": id " + std::to_string(id) +
                                  " after " + std::to_string(last_id_));
    }
    if (id <= last_id_) return;  // nothing twice
    last_id_ = id;
    ++events_;
    bytes_ += frame.size();
    if (driver_) follow(frame);
  }

  // The driver's watcher: ended runs and their logs rebuilt from log events.
  void follow(std::string_view frame) {
    json e = json::parse(frame, nullptr, false);
    if (e.is_discarded()) {
      g_fail.add("event", "not JSON: " + std::string(frame.substr(0, 120)));
      return;
    }
    std::string type = e.value("type", "");
    int64_t run = e.value("run", int64_t{0});
    if (type == "log") {
      std::lock_guard lock(g_runs.mu);
      std::string& text = g_runs.logs[{run, e.value("stage", "")}];
      if (e.value("attempt", 0) != 1 || e.value("offset", uint64_t{0}) != text.size()) {
        g_fail.add("event-log", "run " + std::to_string(run) + " stage " + e.value("stage", "") +
                                    ": attempt " + std::to_string(e.value("attempt", 0)) +
                                    " offset " + std::to_string(e.value("offset", uint64_t{0})) +
                                    ", rebuilt so far " + std::to_string(text.size()));
      }
      text += e.value("data", "");
    } else if (type == "run") {
      std::string status = e.value("status", "");
      if (!terminal(status)) return;
      std::lock_guard lock(g_runs.mu);
      if (!g_runs.ended.emplace(run, status).second) {
        g_fail.add("event", "run " + std::to_string(run) + " ended twice");
        return;
      }
      if (g_runs.seed_of.count(run)) {
        g_runs.to_verify.push_back(run);
        ++g_runs.finished;
        --g_runs.in_flight;
        ++g_runs.by_status[status];
        if (g_runs.posting) ++g_runs.to_post;
        g_runs.cv.notify_all();
      }
    }
  }

  gantry::net::EventLoop& loop_;
  std::string url_, token_;
  int index_;
  bool driver_;
  std::unique_ptr<gantry::net::WsClient> client_;
  std::vector<std::unique_ptr<gantry::net::WsClient>> retired_;
  std::atomic<bool> open_{false}, stopping_{false};
  std::atomic<int64_t> last_id_{0}, gaps_{0};
  std::atomic<uint64_t> events_{0}, bytes_{0};
  std::atomic<int> slow_closes_{0}, other_closes_{0};
};

// ------------------------------------------------------------ posting and verifying

gantry::net::ClientResponse http(const std::string& method, const std::string& url,
                                 const std::string& token, std::string body = {}) {
  gantry::net::ClientRequest req;
  req.method = method;
  req.url = url;
  req.bearer_token = token;
  req.body = std::move(body);
  ++g_http_requests;
  return gantry::net::http_request(req);
}

std::atomic<int64_t> g_next_seed{1};

void post_one(const std::string& server, const std::string& token) {
  int64_t seed = g_next_seed++;
  RunWant want;
  std::string src = pipeline_for(seed, want);
  json body = {{"source", src}, {"format", "jenkinsfile"}, {"job", "soak"}};
  auto r = http("POST", server + "/api/v1/runs", token, body.dump());
  if (!r.ok || r.status != 201) {
    g_fail.add("http", "POST /api/v1/runs (seed " + std::to_string(seed) + "): " + r.error + " " +
                           std::to_string(r.status) + " " + r.body.substr(0, 200));
    return;
  }
  json run = json::parse(r.body, nullptr, false);
  int64_t id = run.is_object() ? run.value("id", int64_t{0}) : 0;
  if (id <= 0) {
    g_fail.add("http", "POST /api/v1/runs gave no id: " + r.body.substr(0, 200));
    return;
  }
  std::lock_guard lock(g_runs.mu);
  g_runs.seed_of[id] = seed;
  ++g_runs.posted;
  ++g_runs.in_flight;
  auto e = g_runs.ended.find(id);
  if (e != g_runs.ended.end()) {  // it ended before the POST answered
    g_runs.to_verify.push_back(id);
    ++g_runs.finished;
    --g_runs.in_flight;
    ++g_runs.by_status[e->second];
    if (g_runs.posting) ++g_runs.to_post;
    g_runs.cv.notify_all();
  }
}

void poster(const std::string& server, const std::string& token) {
  for (;;) {
    {
      std::unique_lock lock(g_runs.mu);
      g_runs.cv.wait(lock, [] { return g_runs.quit || (g_runs.posting && g_runs.to_post > 0); });
      if (g_runs.quit) return;
      --g_runs.to_post;
    }
    post_one(server, token);
  }
}

void verify(const std::string& server, const std::string& token, int64_t id) {
  int64_t seed;
  std::string event_status;
  {
    std::lock_guard lock(g_runs.mu);
    seed = g_runs.seed_of[id];
    event_status = g_runs.ended[id];
  }
  RunWant want;
  pipeline_for(seed, want);
  std::string what = "run " + std::to_string(id) + " (seed " + std::to_string(seed) + ")";
  if (event_status != want.status)
    g_fail.add("result", what + ": its event says " + event_status + ", expected " + want.status);
  auto r = http("GET", server + "/api/v1/runs/" + std::to_string(id), token);
  json run = r.ok && r.status == 200 ? json::parse(r.body, nullptr, false) : json();
  if (!run.is_object()) {
    g_fail.add("http", "GET " + what + ": " + r.error + " " + std::to_string(r.status));
    return;
  }
  if (run.value("status", "") != want.status)
    g_fail.add("result", what + ": " + run.value("status", "") + " (" + run.value("reason", "") +
                             "), expected " + want.status);
  std::map<std::string, json> stages;
  for (const auto& s : run.value("stages", json::array())) stages[s.value("id", "")] = s;
  if (stages.size() != want.stages.size())
    g_fail.add("result", what + ": " + std::to_string(stages.size()) + " stages, expected " +
                             std::to_string(want.stages.size()));
  for (const StageWant& w : want.stages) {
    auto it = stages.find(w.id);
    std::string got = it == stages.end() ? "(missing)" : it->second.value("status", "");
    if (got != w.status)
      g_fail.add("result", what + " stage " + w.id + ": " + got + ", expected " + w.status);
    auto l = http("GET",
                  server + "/api/v1/runs/" + std::to_string(id) +
                      "/log?stage=" + gantry::net::url_encode(w.id),
                  token);
    if (!l.ok || l.status != 200) {
      g_fail.add("http", "GET the log of " + what + " stage " + w.id + ": " + l.error + " " +
                             std::to_string(l.status));
      continue;
    }
    std::string want_sha = sha256(w.log);
    if (sha256(l.body) != want_sha)
      g_fail.add("log", what + " stage " + w.id + ": " + std::to_string(l.body.size()) +
                            " bytes sha256 " + sha256(l.body).substr(0, 16) + ", expected " +
                            std::to_string(w.log.size()) + " bytes " + want_sha.substr(0, 16) +
                            "; " + first_difference(l.body, w.log));
    std::string rebuilt;
    {
      std::lock_guard lock(g_runs.mu);
      auto e = g_runs.logs.find({id, w.id});
      if (e != g_runs.logs.end()) rebuilt = std::move(e->second);
      if (e != g_runs.logs.end()) g_runs.logs.erase(e);
    }
    if (sha256(rebuilt) != want_sha)
      g_fail.add("event-log", what + " stage " + w.id + ": rebuilt from log events " +
                                  std::to_string(rebuilt.size()) + " bytes, expected " +
                                  std::to_string(w.log.size()) + "; " +
                                  first_difference(rebuilt, w.log));
  }
  std::lock_guard lock(g_runs.mu);
  ++g_runs.verified;
}

void verifier(const std::string& server, const std::string& token) {
  for (;;) {
    int64_t id;
    {
      std::unique_lock lock(g_runs.mu);
      g_runs.cv.wait(lock, [] { return g_runs.quit || !g_runs.to_verify.empty(); });
      if (g_runs.to_verify.empty()) return;  // quit, and nothing left
      id = g_runs.to_verify.front();
      g_runs.to_verify.pop_front();
    }
    verify(server, token, id);
    g_runs.cv.notify_all();
  }
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

int soak(const std::string& server, const std::string& token, int runs, int nwatchers,
         double seconds, double drain) {
  gantry::log::set_min_level(gantry::log::Level::Error);
  std::string ws = "ws://" + server.substr(server.find("://") + 3);
  gantry::net::EventLoop loops[2];
  std::vector<std::unique_ptr<Watcher>> watchers;
  for (int i = 0; i <= nwatchers; ++i)  // the last one is the driver's
    watchers.push_back(std::make_unique<Watcher>(loops[i % 2], ws, token, i, i == nwatchers));
  Watcher& driver = *watchers.back();
  std::vector<std::thread> threads;
  for (auto& loop : loops) threads.emplace_back([&loop] { loop.run(); });
  for (size_t i = 0; i < watchers.size(); ++i) {
    Watcher* w = watchers[i].get();
    loops[i % 2].post([w] {
      w->connect();
      w->start();
    });
  }
  auto t0 = Clock::now();
  auto all_open = [&] {
    return std::all_of(watchers.begin(), watchers.end(), [](auto& w) { return w->open(); });
  };
  while (!all_open() && seconds_since(t0) < 30)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (!all_open()) g_fail.add("watcher", "not every watcher connected within 30 s");
  std::fprintf(stderr, "# %zu watchers open after %.1f s; posting %d runs\n", watchers.size(),
               seconds_since(t0), runs);

  std::vector<std::thread> workers;
  workers.emplace_back(poster, server, token);
  workers.emplace_back(verifier, server, token);
  workers.emplace_back(verifier, server, token);
  {
    std::lock_guard lock(g_runs.mu);
    g_runs.to_post = runs;
  }
  g_runs.cv.notify_all();
  auto start = Clock::now();
  double start_unix = unix_seconds(), ring_full_unix = 0;
  auto progress = [&](const char* phase) {
    uint64_t events = 0;
    int64_t min_id = INT64_MAX;
    int reconnects = 0;
    for (auto& w : watchers) {
      events += w->events();
      min_id = std::min(min_id, w->last_id());
      reconnects += w->slow_closes() + w->other_closes();
    }
    std::lock_guard lock(g_runs.mu);
    std::fprintf(stderr,
                 "# %s t=%.0fs posted %lld in flight %lld ended %lld verified %lld; events %llu "
                 "(last id %lld, slowest watcher at %lld); reconnects %d; failures %d\n",
                 phase, seconds_since(start), static_cast<long long>(g_runs.posted),
                 static_cast<long long>(g_runs.in_flight), static_cast<long long>(g_runs.finished),
                 static_cast<long long>(g_runs.verified), static_cast<unsigned long long>(events),
                 static_cast<long long>(driver.last_id()), static_cast<long long>(min_id),
                 reconnects, g_fail.total());
  };
  auto next_report = start + std::chrono::seconds(10);
  while (seconds_since(start) < seconds) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (ring_full_unix == 0 && driver.bytes() >= g_ring_bytes) ring_full_unix = unix_seconds();
    if (Clock::now() >= next_report) {
      progress("soak");
      next_report += std::chrono::seconds(10);
    }
  }
  {
    std::lock_guard lock(g_runs.mu);
    g_runs.posting = false;
    g_runs.to_post = 0;
  }
  auto drain_start = Clock::now();
  for (;;) {
    {
      std::lock_guard lock(g_runs.mu);
      if (g_runs.in_flight <= 0 && g_runs.to_verify.empty() && g_runs.verified == g_runs.finished)
        break;
    }
    if (seconds_since(drain_start) > drain) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (Clock::now() >= next_report) {
      progress("drain");
      next_report += std::chrono::seconds(10);
    }
  }
  double drain_s = seconds_since(drain_start);
  {
    std::lock_guard lock(g_runs.mu);
    if (g_runs.in_flight > 0)
      g_fail.add("unfinished", std::to_string(g_runs.in_flight) + " runs had not ended " +
                                   std::to_string(static_cast<int>(drain)) + " s after the soak");
    g_runs.quit = true;
  }
  g_runs.cv.notify_all();
  for (auto& t : workers) t.join();
  // Every watcher should reach the newest event.
  auto caught_up = [&] {
    int64_t newest = driver.last_id();
    return std::all_of(watchers.begin(), watchers.end(),
                       [newest](auto& w) { return w->last_id() == newest; });
  };
  auto settle = Clock::now();
  while (!caught_up() && seconds_since(settle) < 15)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  int behind = 0;
  for (auto& w : watchers) behind += w->last_id() != driver.last_id();
  if (behind > 0)
    g_fail.add("watcher", std::to_string(behind) + " watchers had not reached event " +
                              std::to_string(driver.last_id()) + " 15 s after the last run");
  progress("end");
  for (size_t i = 0; i < watchers.size(); ++i) {
    Watcher* w = watchers[i].get();
    loops[i % 2].post([w] { w->stop(); });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (auto& loop : loops) loop.stop();
  for (auto& t : threads) t.join();

  // Figures for bench/soak.sh.
  uint64_t events = 0, bytes = 0, min_events = UINT64_MAX, max_events = 0;
  int slow = 0, other = 0;
  int64_t gaps = 0;
  for (size_t i = 0; i + 1 < watchers.size(); ++i) {
    auto& w = watchers[i];
    events += w->events();
    bytes += w->bytes();
    min_events = std::min(min_events, w->events());
    max_events = std::max(max_events, w->events());
    slow += w->slow_closes();
    other += w->other_closes();
    gaps += w->gaps();
  }
  if (nwatchers == 0) min_events = 0;
  std::lock_guard lock(g_runs.mu);
  std::printf("soak_seconds %.0f\n", seconds);
  std::printf("soak_start_unix %.1f\n", start_unix);
  std::printf("ring_full_unix %.1f\n", ring_full_unix);
  std::printf("drain_seconds %.1f\n", drain_s);
  std::printf("runs_posted %lld\n", static_cast<long long>(g_runs.posted));
  std::printf("runs_ended %lld\n", static_cast<long long>(g_runs.finished));
  std::printf("runs_verified %lld\n", static_cast<long long>(g_runs.verified));
  for (const char* s : {"succeeded", "failed", "unstable", "aborted"})
    std::printf("runs_%s %lld\n", s, static_cast<long long>(g_runs.by_status[s]));
  std::printf("stage_logs_checked %lld\n", static_cast<long long>(g_runs.verified * 5));
  std::printf("http_requests %lld\n", static_cast<long long>(g_http_requests.load()));
  std::printf("watchers %d\n", nwatchers);
  std::printf("events_last_id %lld\n", static_cast<long long>(driver.last_id()));
  std::printf("events_per_watcher_min %llu\n", static_cast<unsigned long long>(min_events));
  std::printf("events_per_watcher_max %llu\n", static_cast<unsigned long long>(max_events));
  std::printf("events_all_watchers %llu\n", static_cast<unsigned long long>(events));
  std::printf("event_bytes_all_watchers %llu\n", static_cast<unsigned long long>(bytes));
  std::printf("driver_events %llu\n", static_cast<unsigned long long>(driver.events()));
  std::printf("watcher_gaps %lld\n", static_cast<long long>(gaps));
  std::printf("watcher_closed_slow_4008 %d\n", slow);
  std::printf("watcher_closed_other %d\n", other);
  int total = 0;
  {
    std::lock_guard flock(g_fail.mu);
    for (const auto& [kind, n] : g_fail.by_kind) {
      std::printf("failures_%s %d\n", kind.c_str(), n);
      total += n;
    }
    std::printf("failures %d\n", total);
    for (const auto& f : g_fail.first) std::printf("failure %s\n", f.c_str());
  }
  watchers.clear();
  return total == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr,
                 "usage: bench_soak http://HOST:PORT TOKEN RUNS WATCHERS SECONDS DRAIN_SECONDS\n"
                 "       (SOAK_STAGE_SECONDS: a stage's mean sleep, 4; SOAK_RING_MIB: the\n"
                 "       controller's event ring, 16)\n");
    return 2;
  }
  if (const char* s = std::getenv("SOAK_STAGE_SECONDS"))
    g_stage_seconds = std::max(1, std::atoi(s));
  if (const char* s = std::getenv("SOAK_RING_MIB"))
    g_ring_bytes = static_cast<uint64_t>(std::max(1, std::atoi(s))) << 20;
  return soak(argv[1], argv[2], std::atoi(argv[3]), std::atoi(argv[4]), std::atof(argv[5]),
              std::atof(argv[6]));
}
