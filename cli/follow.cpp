// Following a run: `gantry wait`, `gantry watch`, `gantry logs -f`, and the
// progress of `gantry run`. Polls the API (every 200 ms) and prints stage
// transitions as they happen: plain lines when piped, colored with a live
// status line on a terminal.
#include <chrono>
#include <ctime>
#include <map>
#include <ostream>
#include <thread>

#include "gantry/net/http_client.hpp"
#include "gantry/net/url.hpp"
#include "remote.hpp"

namespace gantry::cli {

namespace {

// When a transition happened (unix ms), as local HH:MM:SS; now when the run does not say.
std::string clock_at(int64_t at_ms) {
  std::time_t t = at_ms > 0 ? static_cast<std::time_t>(at_ms / 1000) : std::time(nullptr);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", std::localtime(&t));
  return buf;
}

std::string seconds(int64_t from, int64_t to) {
  if (!from || !to) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, " (%.1fs)", static_cast<double>(to - from) / 1000.0);
  return buf;
}

}  // namespace

int follow_run(const Remote& r, int64_t id, bool logs, std::ostream& out, std::ostream& err) {
  std::map<std::string, std::string> seen;  // stage id -> last status printed
  std::map<std::string, uint64_t> offsets;  // stage id -> log bytes printed
  std::string last_log_stage;
  int failures = 0;
  auto t0 = std::chrono::steady_clock::now();
  bool status_line = false;
  for (;;) {
    net::ClientRequest req;
    req.url = r.server + "/api/v1/runs/" + std::to_string(id);
    req.bearer_token = r.token;
    req.tls = r.tls;
    req.max_redirects = 2;
    req.max_redirects = 2;  // a follower sends us to the leader
    net::ClientResponse resp = net::http_request(req);
    if (!resp.ok || resp.status != 200) {
      if (resp.ok && resp.status < 500) {
        err << "gantry: run " << id << ": " << error_message(resp.body) << "\n";
        return 2;
      }
      // The controller may be restarting: keep trying for a while.
      if (++failures > 150) {
        err << "gantry: lost the controller: " << (resp.ok ? error_message(resp.body) : resp.error)
            << "\n";
        return 2;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    failures = 0;
    RunView v;
    parse_run(resp.body, v);
    if (status_line) {
      out << "\r\033[K";
      status_line = false;
    }
    std::vector<std::string> running;
    for (const auto& s : v.stages) {
      if (logs && s.log_bytes + 1 > 0) {
        uint64_t& off = offsets[s.id];
        net::ClientRequest lr;
        lr.url = r.server + "/api/v1/runs/" + std::to_string(id) +
                 "/log?stage=" + net::url_encode(s.id) + "&offset=" + std::to_string(off);
        lr.bearer_token = r.token;
        lr.tls = r.tls;
        lr.max_redirects = 2;
        if (!status_is(s.status, RunStatus::Queued) && !status_is(s.status, RunStatus::Skipped)) {
          net::ClientResponse l = net::http_request(lr);
          if (l.ok && l.status == 200 && !l.body.empty()) {
            if (last_log_stage != s.id) {
              out << "==> " << s.id << " <==\n";
              last_log_stage = s.id;
            }
            out << l.body;
            off += l.body.size();
          }
        }
      }
      if (status_is(s.status, RunStatus::Running)) running.push_back(s.name);
      std::string& prev = seen[s.id];
      if (prev == s.status || (prev.empty() && status_is(s.status, RunStatus::Queued))) continue;
      prev = s.status;
      if (logs && status_is(s.status, RunStatus::Running)) continue;
      // The transition's own time: a run followed late shows when things happened.
      out << clock_at(s.finished_at ? s.finished_at : s.started_at) << "  ";
      if (r.color) out << color_of(s.status, false);
      out << s.status;
      if (r.color) out << "\033[0m";
      out << "  " << s.id;
      if (status_is(s.status, RunStatus::Running) && !s.agent.empty()) out << " on " << s.agent;
      out << seconds(s.started_at, s.finished_at);
      if (!s.reason.empty() && !status_is(s.status, RunStatus::Running) &&
          !status_is(s.status, RunStatus::Succeeded))
        out << "  " << s.reason;
      out << "\n";
    }
    if (run_finished(v.status)) {
      out << "run " << v.id << " (" << v.job << " #" << v.number << ") ";
      if (r.color) out << color_of(v.status, false);
      out << v.status;
      if (r.color) out << "\033[0m";
      if (!v.reason.empty()) out << ": " << v.reason;
      if (v.tests_total) out << "  tests " << v.tests_total << ", " << v.tests_failed << " failed";
      out << "\n";
      out.flush();
      return exit_code_for(v.status);
    }
    if (r.color && !logs) {
      auto secs =
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - t0)
              .count();
      out << "\033[2m  " << v.status << " " << secs << "s";
      for (const auto& n : running) out << "  " << n;
      out << "\033[0m";
      status_line = true;
    }
    out.flush();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace gantry::cli
