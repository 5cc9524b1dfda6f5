// A controller that cannot store (SPEC §11: "a storage failure is never
// acknowledged as success: agents keep their spool and outbox and retry").
// The real gantry-agent talks to a small protocol peer built on gantry_net's
// HttpServer, which refuses log chunks with `log_error` and the finish with
// `unavailable` until the case lets it store again. Before the agent told
// these apart from a stale epoch, the first `log_error` fenced the job and
// threw its spool away.
#include <catch2/catch.hpp>

#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "fault_support.hpp"
#include "gantry/net/event_loop.hpp"
#include "gantry/net/http_server.hpp"
#include "gantry/protocol/codec.hpp"

using namespace gantry::fault;
using namespace gantry;

namespace fs = std::filesystem;

namespace {

// The controller's side of one agent session, as docs/protocol.md says, with
// a switch for each storage failure. Runs on its own loop thread; the case
// reads and flips its state under `mu`.
class FakeController {
 public:
  explicit FakeController(protocol::Assign assign) : assign_(std::move(assign)) {
    net::ServerOptions o;
    o.port = 0;
    auto http = [](const net::Request&) {
      net::Response r;
      r.status = 404;
      r.body = "{}";
      return r;
    };
    auto ws = [this](const net::Request&, std::shared_ptr<net::WsConnection> conn,
                     net::WsHandlers& h) -> std::optional<net::Response> {
      h.on_message = [this, conn](std::string_view data, bool binary) {
        std::lock_guard lock(mu);
        if (binary) {
          on_log(*conn, data);
        } else {
          on_text(*conn, data);
        }
      };
      return std::nullopt;
    };
    server_ = std::make_unique<net::HttpServer>(loop_, o, http, ws);
    std::string error;
    if (!server_->start(error)) throw std::runtime_error(error);
    url = "http://127.0.0.1:" + std::to_string(server_->port());
    thread_ = std::thread([this] { loop_.run(); });
  }
  ~FakeController() {
    loop_.post([this] {
      server_.reset();
      loop_.stop();
    });
    thread_.join();
  }

  std::string url;
  std::mutex mu;  // guards everything below
  bool refuse_logs = false, refuse_finish = false;
  std::string log;  // the committed bytes
  int hellos = 0, chunks_at_zero = 0, log_errors = 0, finishes = 0, refused_finishes = 0;
  std::optional<protocol::Finish> finished;  // acknowledged

 private:
  void send(net::WsConnection& conn, const protocol::ControllerMessage& m) {
    conn.send_text(protocol::encode(m));
  }

  void on_text(net::WsConnection& conn, std::string_view text) {
    auto decoded = protocol::decode_agent(text);
    auto* m = std::get_if<protocol::AgentMessage>(&decoded);
    if (!m) return;
    const protocol::JobRef job{assign_.job_id, assign_.epoch};
    if (auto* hello = std::get_if<protocol::Hello>(m)) {
      ++hellos;
      protocol::Welcome w;
      w.session_id = "s" + std::to_string(hellos);
      w.heartbeat_ms = 200;
      w.lease_ttl_ms = 4000;
      for (const auto& r : hello->resume)
        w.resume.push_back({r.job_id, r.epoch, "continue", log.size(), false});
      send(conn, w);
      if (hellos == 1) send(conn, assign_);
    } else if (std::holds_alternative<protocol::Heartbeat>(*m)) {
      send(conn, protocol::HeartbeatAck{});
    } else if (auto* f = std::get_if<protocol::Finish>(m)) {
      ++finishes;
      if (refuse_finish) {
        ++refused_finishes;
        send(conn, protocol::Nack{job.job_id, job.epoch, "unavailable", "database down", 0});
      } else if (f->log_bytes > log.size()) {
        send(conn, protocol::Nack{job.job_id, job.epoch, "log_gap", "gap", log.size()});
      } else {
        finished = *f;
        send(conn, protocol::FinishAck{job.job_id, job.epoch});
      }
    }
  }

  void on_log(net::WsConnection& conn, std::string_view frame) {
    protocol::LogChunk h;
    std::string_view payload;
    std::string error;
    if (!protocol::decode_log(frame, h, payload, error)) return;
    if (h.offset == 0) ++chunks_at_zero;
    if (refuse_logs) {
      ++log_errors;
      send(conn, protocol::Nack{h.job_id, h.epoch, "log_error", "cannot write", log.size()});
      return;
    }
    if (h.offset > log.size()) {
      send(conn, protocol::Nack{h.job_id, h.epoch, "log_gap", "gap", log.size()});
      return;
    }
    if (h.offset + payload.size() > log.size())
      log.append(payload.substr(static_cast<size_t>(log.size() - h.offset)));
    send(conn, protocol::LogAck{h.job_id, h.epoch, log.size()});
  }

  protocol::Assign assign_;
  net::EventLoop loop_;
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
};

protocol::Assign work_assign(const std::string& script) {
  protocol::Assign a;
  a.job_id = "j1";
  a.epoch = 1;
  a.spec.run_id = "1";
  a.spec.run_number = 1;
  a.spec.job_name = "demo";
  a.spec.stage_id = "Work";
  a.spec.stage_name = "Work";
  a.spec.pipeline_source =
      "pipeline {\n  agent any\n  stages {\n    stage('Work') {\n"
      "      steps { sh '" +
      script + "' }\n    }\n  }\n}\n";
  a.spec.pipeline_format = "jenkinsfile";
  a.spec.workspace = "demo-1";
  a.spec.cancel_grace_ms = 1000;
  return a;
}

}  // namespace

TEST_CASE("A controller that cannot store: log_error and unavailable are retried, never fatal") {
  FAULT_SEED(seed);
  e2e::TempDir tmp;
  FakeController fake(
      work_assign("for i in $(seq 1 30); do echo line $i; sleep 0.1; done; echo done"));
  {
    std::lock_guard lock(fake.mu);
    fake.refuse_logs = true;
  }
  const std::string work = tmp.path + "/work";
  const std::string agent_log = tmp.path + "/agent.log";
  const std::string spool = work + "/state/jobs/j1/log";
  Child agent;
  REQUIRE(agent.start({GANTRY_AGENT_BIN, "--controller", fake.url, "--token", "t", "--name", "A",
                       "--work", work, "--container-engine", "none"},
                      agent_log));
  auto locked = [&](auto f) {
    std::lock_guard lock(fake.mu);
    return f();
  };
  // The step runs to its end while every chunk is refused: the job is not
  // stopped, its output stays in the spool, and the chunks come again.
  REQUIRE(wait_for([&] { return read_file(spool).find("line 30\n") != std::string::npos; },
                   std::chrono::seconds(20)));
  std::this_thread::sleep_for(seed.ms(0, 1000));
  CHECK(locked([&] { return fake.chunks_at_zero; }) >= 3);
  CHECK(locked([&] { return fake.log.size(); }) == 0);
  CHECK(locked([&] { return fake.finishes; }) == 0);  // only once every byte is acknowledged
  std::string daemon_log = read_file(agent_log);
  CHECK(count_of(daemon_log, "event=job.fenced") == 0);
  CHECK(count_of(daemon_log, "event=job.refused") == 0);
  // One line per backoff step (200 ms doubling), not one per refused chunk.
  size_t steps = count_of(daemon_log, "event=job.retry");
  CHECK(steps >= 3);
  CHECK(steps <= 8);

  // Logs are stored again, the finish not yet: it stays in the outbox and comes again.
  locked([&] {
    fake.refuse_logs = false;
    fake.refuse_finish = true;
    return 0;
  });
  REQUIRE(wait_for([&] { return locked([&] { return fake.refused_finishes; }) >= 2; },
                   std::chrono::seconds(20)));
  CHECK(fs::exists(spool));
  CHECK(agent.alive());

  locked([&] {
    fake.refuse_finish = false;
    return 0;
  });
  REQUIRE(wait_for([&] { return locked([&] { return fake.finished.has_value(); }); },
                   std::chrono::seconds(20)));
  // Acknowledged: now, and only now, the agent forgets the job.
  CHECK(wait_for([&] { return !fs::exists(spool); }, std::chrono::seconds(5)));
  std::string log = locked([&] { return fake.log; });
  protocol::Finish f = locked([&] { return *fake.finished; });
  CHECK(f.result == "SUCCESS");
  CHECK_FALSE(f.fenced);
  CHECK(f.log_bytes == log.size());
  std::string lines;
  for (int i = 1; i <= 30; ++i) lines += "line " + std::to_string(i) + "\n";
  CHECK(log.find(lines + "done\n") != std::string::npos);
  CHECK(count_of(log, "line 1\n") == 1);
  CHECK(locked([&] { return fake.hellos; }) == 1);  // one session throughout
  agent.signal(SIGTERM);
  CHECK(agent.wait() == 0);
}
