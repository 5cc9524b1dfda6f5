// gantry watch RUN: the run's live events (GET /api/v1/events?run=RUN) in a
// terminal: a stage tree redrawn in place with the tail of the running
// stage's log, or plain lines when stdout is not a terminal. Exits with the
// run's exit status (0 succeeded, 1 failed, 3 unstable, 4 aborted), 2 when
// the controller refuses or stays away for a minute. A dropped connection
// reconnects by itself; events seen already are skipped by id.
#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <ostream>

#include "gantry/common/log.hpp"
#include "gantry/net/event_loop.hpp"
#include "gantry/net/url.hpp"
#include "gantry/net/ws_client.hpp"
#include "remote.hpp"
#include "watch_view.hpp"

namespace gantry::cli {

namespace {

constexpr int64_t kGiveUpMs = 60000;

size_t terminal_width() {
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 100;
}

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int watch_run(const Remote& r, int64_t id, std::ostream& out, std::ostream& err) {
  log::set_min_level(log::Level::Warn);  // the terminal is for the run
  // A run that does not exist would have no events at all: ask first.
  auto exists = call(r, "GET", "/api/v1/runs/" + std::to_string(id));
  if (!exists.ok || exists.status != 200) return report(exists, "watch " + std::to_string(id), err);
  // The server answered over HTTP just now, so its URL parses.
  std::optional<net::Url> server = net::parse_url(r.server);
  if (!server) return (err << "gantry watch: bad server URL '" << r.server << "'\n", 2);
  net::WsClientOptions o;
  std::string base = server->target;  // a server behind a path prefix keeps it
  while (!base.empty() && base.back() == '/') base.pop_back();
  o.url = std::string(server->scheme == "https" ? "wss://" : "ws://") + net::host_port(*server) +
          base + "/api/v1/events?run=" + std::to_string(id);
  o.headers = {{"Authorization", "Bearer " + r.token}};
  o.tls = r.tls;
  o.max_message = 4 << 20;
  o.backoff_base = std::chrono::milliseconds(200);
  o.backoff_cap = std::chrono::milliseconds(2000);

  const bool tty = r.color;  // stdout is a terminal
  net::EventLoop loop;
  net::WsClient client(loop, o);
  WatchView view(id, tty);
  int code = 2;
  size_t drawn = 0;  // lines of the last frame on the terminal
  bool dirty = true, known = false;
  int64_t away_since = steady_ms();

  auto draw = [&] {
    if (!tty || !dirty) return;
    dirty = false;
    std::string frame;
    if (drawn > 0) frame += "\033[" + std::to_string(drawn) + "A\r\033[J";
    std::vector<std::string> lines = view.render(now_ms(), terminal_width() - 1);
    for (const std::string& l : lines) frame += l + "\n";
    drawn = lines.size();
    out << frame << std::flush;
  };
  bool done = false;
  auto finish = [&](int exit_code) {
    if (done) return;
    done = true;
    code = exit_code;
    dirty = true;
    draw();
    if (!tty) {
      for (const std::string& l : view.flush_partial_lines()) out << l << "\n";
      out << "run " << id << " " << view.status() << "\n";
    }
    out << std::flush;
    client.stop();
    loop.stop();
  };
  client.on_open = [&] { away_since = 0; };
  client.on_message = [&](std::string_view data, bool) {
    known = true;
    std::vector<std::string> lines = view.apply(std::string(data));
    dirty = true;
    if (!tty) {
      for (const std::string& l : lines) out << l << "\n";
    }
    if (view.finished()) loop.post([&] { finish(exit_code_for(view.status())); });
  };
  // Reconnects by itself (also after 4008 "too slow"): events seen already
  // come again from the run's start and are skipped by id.
  client.on_disconnect = [&](const std::string&) {
    if (away_since == 0) away_since = steady_ms();
  };
  client.on_refused = [&](int status) {
    err << "gantry watch: the controller refused the events stream (HTTP " << status << ")\n";
    loop.post([&] { finish(2); });
    return false;
  };
  uint64_t timer = loop.call_every(std::chrono::milliseconds(100), [&] {
    draw();
    if (away_since != 0 && steady_ms() - away_since > kGiveUpMs) {
      err << "gantry watch: lost the controller at " << o.url << "\n";
      finish(2);
    }
  });
  client.start();
  loop.run();
  loop.cancel_timer(timer);
  if (!known && code == 2) return 2;
  return code;
}

}  // namespace gantry::cli
