// The agent gateway with fake WebSockets: a finish whose outcome cannot be
// stored is never acknowledged (the agent keeps its spool and outbox), and
// is acknowledged once when sent again after the store is back; log chunks
// are acknowledged only after the group sync; a write failure is a
// `log_error` to retry, not a fence.
#include "service/agent_gateway.hpp"

#include <fstream>

#include "service/gate_service.hpp"
#include "service/release_service.hpp"
#include "service_fixture.hpp"

using namespace gantry::controller;
using gantry::RunStatus;
using namespace gantry::controller::testing;
namespace protocol = gantry::protocol;
using gantry::Status;

namespace {

struct FakeConn final : gantry::net::WsConnection {
  std::vector<std::string> texts;
  bool closed = false;
  uint16_t close_code = 0;
  std::string who = "127.0.0.1:1";
  void send_text(std::string m) override { texts.push_back(std::move(m)); }
  void send_binary(std::string) override {}
  void send_shared(std::shared_ptr<const std::string> m) override { texts.push_back(*m); }
  void close(uint16_t code, std::string) override {
    closed = true;
    close_code = code;
  }
  size_t queued_bytes() const override { return 0; }
  const std::string& remote() const override { return who; }

  // The controller messages received since the last call.
  std::vector<protocol::ControllerMessage> take() {
    std::vector<protocol::ControllerMessage> out;
    for (const std::string& t : texts) {
      auto m = protocol::decode_controller(t);
      if (auto* ok = std::get_if<protocol::ControllerMessage>(&m)) out.push_back(*ok);
    }
    texts.clear();
    return out;
  }
  template <typename T>
  std::vector<T> take_of() {
    std::vector<T> out;
    for (auto& m : take()) {
      if (auto* t = std::get_if<T>(&m)) out.push_back(*t);
    }
    return out;
  }
};

struct World : Services {
  AgentGateway& gateway = agents;
  std::shared_ptr<FakeConn> conn = std::make_shared<FakeConn>();
  gantry::net::WsHandlers handlers;

  World() {
    gantry::net::Request req;
    req.method = "GET";
    req.path = "/api/v1/agent";
    req.headers["authorization"] = "Bearer agent-token";
    REQUIRE_FALSE(gateway.accept(req, conn, handlers));
    text(protocol::AgentMessage(hello_of("a1")));
    REQUIRE(conn->take_of<protocol::Welcome>().size() == 1);
  }
  void text(const protocol::AgentMessage& m) { handlers.on_message(protocol::encode(m), false); }
  void log(const protocol::Assign& a, uint64_t offset, std::string_view bytes) {
    protocol::LogChunk c{a.job_id, a.epoch, offset};
    handlers.on_message(protocol::encode_log(c, bytes), true);
  }
  protocol::Assign start_run() {
    RunRecord run;
    run.job_name = "app";
    run.pipeline_source = kTwoStages;
    run.pipeline_format = "jenkinsfile";
    REQUIRE(engine.start_run(run));
    auto assigns = conn->take_of<protocol::Assign>();
    REQUIRE(assigns.size() == 1);
    text(protocol::Accept{assigns[0].job_id, assigns[0].epoch});
    return assigns[0];
  }
  protocol::Finish finish_of(const protocol::Assign& a, uint64_t log_bytes) {
    protocol::Finish f;
    f.job_id = a.job_id;
    f.epoch = a.epoch;
    f.result = "SUCCESS";
    f.log_bytes = log_bytes;
    return f;
  }
};

}  // namespace

TEST_CASE("log chunks are acknowledged after the group sync, at the committed offset",
          "[gateway]") {
  World w;
  auto a = w.start_run();
  w.log(a, 0, "hello\n");
  w.log(a, 6, "world\n");
  CHECK(w.conn->take_of<protocol::LogAck>().empty());  // not durable yet
  w.defer.run_all();
  auto acks = w.conn->take_of<protocol::LogAck>();
  REQUIRE(acks.size() == 1);  // one cumulative ack per job
  CHECK(acks[0].committed == 12);
  // A resend of what is stored is acknowledged again, not written twice.
  w.log(a, 0, "hello\n");
  w.defer.run_all();
  REQUIRE(w.conn->take_of<protocol::LogAck>().size() == 1);
  CHECK(LogFiles::file_size(w.store.log_path(std::stoll(a.spec.run_id), a.spec.stage_id, 1)) == 12);
}

TEST_CASE("a finish that cannot be stored is not acknowledged until sent again once stored",
          "[gateway]") {
  World w;
  auto a = w.start_run();
  w.log(a, 0, "built\n");
  w.defer.run_all();
  REQUIRE(w.conn->take_of<protocol::LogAck>().size() == 1);
  const int64_t run = std::stoll(a.spec.run_id);
  {
    DbLock lock(w.dir.data());
    w.text(w.finish_of(a, 6));
    auto msgs = w.conn->take();
    bool acked = false, unavailable = false;
    for (auto& m : msgs) {
      acked = acked || std::holds_alternative<protocol::FinishAck>(m);
      if (auto* n = std::get_if<protocol::Nack>(&m)) unavailable = n->code == "unavailable";
    }
    CHECK_FALSE(acked);
    CHECK(unavailable);
    CHECK_FALSE(w.engine.healthy());
    // The agent sends it again while the store is still down: same answer.
    w.text(w.finish_of(a, 6));
    CHECK(w.conn->take_of<protocol::FinishAck>().empty());
  }
  // The store is back: the tick stores it (and dispatches the next stage),
  // and the agent's next resend is acknowledged.
  w.engine.tick();
  CHECK(w.engine.healthy());
  w.text(w.finish_of(a, 6));
  CHECK(w.conn->take_of<protocol::FinishAck>().size() == 1);
  auto stages = w.store.runs().stages(run);
  REQUIRE(!stages.empty());
  CHECK(stages[0].status == RunStatus::Succeeded);
  CHECK(stages[0].log_bytes == 6);
}

TEST_CASE("a log write failure answers log_error with the offset to resend from", "[gateway]") {
  World w;
  auto a = w.start_run();
  // The stage's log directory cannot be created: a file is in its way.
  const int64_t run = std::stoll(a.spec.run_id);
  fs::path runs_dir = fs::path(w.dir.data()) / "logs" / std::to_string(run);
  fs::remove_all(runs_dir);
  fs::create_directories(runs_dir.parent_path());
  { std::ofstream(runs_dir.string()) << "in the way"; }
  REQUIRE(fs::is_regular_file(runs_dir));
  w.log(a, 0, "first\n");
  auto nacks = w.conn->take_of<protocol::Nack>();
  REQUIRE(nacks.size() == 1);
  CHECK(nacks[0].code == "log_error");
  CHECK(nacks[0].expected == 0);
  // The job is not fenced: it is still held, and the same bytes go in later.
  CHECK(w.engine.scheduler().board().job(a.job_id) != nullptr);
  fs::remove(runs_dir);
  w.log(a, 0, "first\n");
  w.defer.run_all();
  auto acks = w.conn->take_of<protocol::LogAck>();
  REQUIRE(acks.size() == 1);
  CHECK(acks[0].committed == 6);
}

TEST_CASE("a finish claiming bytes the controller lacks gets log_gap", "[gateway]") {
  World w;
  auto a = w.start_run();
  w.log(a, 0, "abc");
  w.defer.run_all();
  w.text(w.finish_of(a, 10));
  auto nacks = w.conn->take_of<protocol::Nack>();
  REQUIRE(nacks.size() == 1);
  CHECK(nacks[0].code == "log_gap");
  CHECK(nacks[0].expected == 3);
}

TEST_CASE("uploads are admitted from the head only for the job's holder", "[gateway]") {
  World w;
  auto a = w.start_run();
  gantry::net::Request head;
  head.method = "PUT";
  head.path = "/api/v1/agent/jobs/" + a.job_id + "/artifacts";
  head.query["epoch"] = std::to_string(a.epoch);
  head.query["agent"] = "a1";
  head.headers["authorization"] = "Bearer agent-token";
  // The assignment carried the attempt's token; without it, or with another, no upload.
  REQUIRE(a.job_token.size() == 64);
  auto untokened = w.gateway.admit_upload(head);
  REQUIRE(untokened);
  CHECK(untokened->status == 403);
  head.headers["x-gantry-job-token"] = std::string(64, '0');
  CHECK(w.gateway.admit_upload(head));
  head.headers["x-gantry-job-token"] = a.job_token;
  CHECK_FALSE(w.gateway.admit_upload(head));
  head.query["agent"] = "someone-else";
  auto refused = w.gateway.admit_upload(head);
  REQUIRE(refused);
  CHECK(refused->status == 409);
  head.query["agent"] = "a1";
  head.query["epoch"] = std::to_string(a.epoch + 1);
  CHECK(w.gateway.admit_upload(head));
  head.path = "/api/v1/agent/jobs/nope/stash";
  CHECK(w.gateway.admit_upload(head));
}

namespace {

// A second session on the gateway, with its own token.
struct Peer {
  std::shared_ptr<FakeConn> conn = std::make_shared<FakeConn>();
  gantry::net::WsHandlers handlers;
  Peer(AgentGateway& gateway, const std::string& token) {
    gantry::net::Request req;
    req.method = "GET";
    req.path = "/api/v1/agent";
    req.headers["authorization"] = "Bearer " + token;
    REQUIRE_FALSE(gateway.accept(req, conn, handlers));
  }
  void hello(protocol::Hello h) {
    handlers.on_message(protocol::encode(protocol::AgentMessage(h)), false);
  }
  bool welcomed() { return !conn->take_of<protocol::Welcome>().empty(); }
};

protocol::Hello hello_with(const std::string& id, std::vector<std::string> labels) {
  protocol::Hello h = hello_of(id);
  h.labels = std::move(labels);
  return h;
}

}  // namespace

TEST_CASE(
    "an agent token cannot take another token's agent id or name, nor labels outside its "
    "pool",
    "[gateway][identity]") {
  World w;  // a1 is connected with the token "pool" (any label)
  w.auth.add_agent_token("pool-a", sha256_hex("token-a"), AgentPool{false, {"linux"}, 2});
  w.auth.add_agent_token("pool-b", sha256_hex("token-b"), AgentPool{false, {"prod"}, 0});
  Peer b(w.gateway, "token-b");
  b.hello(hello_with("agent-b", {"prod"}));
  REQUIRE(b.welcomed());

  SECTION("agent-b's id with another token: refused, audited, agent-b stays") {
    Peer impostor(w.gateway, "token-a");
    impostor.hello(hello_with("agent-b", {"linux"}));
    CHECK_FALSE(impostor.welcomed());
    CHECK(impostor.conn->close_code == 4403);
    CHECK_FALSE(b.conn->closed);
    auto audit = w.audit.list_json(0, 100);
    REQUIRE(audit);
    CHECK(audit->find("belongs to another agent token") != std::string::npos);
    CHECK(w.engine.scheduler().board().agents().at("agent-b").token_name == "pool-b");
  }
  SECTION("a label outside the pool") {
    Peer impostor(w.gateway, "token-a");
    impostor.hello(hello_with("agent-x", {"linux", "prod"}));
    CHECK(impostor.conn->close_code == 4403);
    CHECK(w.engine.scheduler().board().agents().count("agent-x") == 0);
  }
  SECTION("a name that is another pool's label, or another token's agent's name") {
    Peer named_prod(w.gateway, "token-a");
    protocol::Hello h = hello_with("agent-y", {"linux"});
    h.name = "prod";
    named_prod.hello(h);
    CHECK(named_prod.conn->close_code == 4403);
    Peer named_b(w.gateway, "token-a");
    h.name = "agent-b";
    named_b.hello(h);
    CHECK(named_b.conn->close_code == 4403);
  }
  SECTION("max_agents: a third agent of pool-a is refused, a reconnect of the first is not") {
    Peer one(w.gateway, "token-a"), two(w.gateway, "token-a"), three(w.gateway, "token-a");
    one.hello(hello_with("a-1", {"linux"}));
    two.hello(hello_with("a-2", {"linux"}));
    CHECK(one.welcomed());
    CHECK(two.welcomed());
    three.hello(hello_with("a-3", {"linux"}));
    CHECK(three.conn->close_code == 4403);
    Peer again(w.gateway, "token-a");
    again.hello(hello_with("a-1", {"linux"}));
    CHECK(again.welcomed());
  }
  SECTION("the same token reconnects with its own id") {
    Peer again(w.gateway, "token-b");
    again.hello(hello_with("agent-b", {"prod"}));
    CHECK(again.welcomed());
    CHECK(b.conn->close_code == 4409);  // superseded by its own newer session
  }
}

TEST_CASE("another agent token cannot write into a job, even with its agent id and epoch",
          "[gateway][identity]") {
  World w;
  w.auth.add_agent_token("pool-a", sha256_hex("token-a"), AgentPool{false, {"linux"}, 0});
  auto a = w.start_run();
  gantry::net::Request req;
  req.method = "PUT";
  req.path = "/api/v1/agent/jobs/" + a.job_id + "/stash";
  req.query = {{"epoch", std::to_string(a.epoch)}, {"agent", "a1"}, {"name", "app"}};
  req.body = "EVIL-BUILD";
  req.headers["authorization"] = "Bearer token-a";
  req.headers["x-gantry-job-token"] = a.job_token;
  auto other = w.auth.authenticate("Bearer token-a");
  REQUIRE(other);
  CHECK(w.gateway.admit_upload(req));  // refused at the head
  CHECK(w.gateway.files(req, *other).status == 409);
  // The job's own agent, with its own token, may.
  req.headers["authorization"] = "Bearer agent-token";
  CHECK_FALSE(w.gateway.admit_upload(req));
  auto own = w.auth.authenticate("Bearer agent-token");
  REQUIRE(own);
  CHECK(w.gateway.files(req, *own).status == 201);
}

TEST_CASE("a job token is for one attempt and ends with it", "[gateway][identity]") {
  World w;
  auto a = w.start_run();
  gantry::net::Request req;
  req.method = "PUT";
  req.path = "/api/v1/agent/jobs/" + a.job_id + "/artifacts";
  req.query = {{"epoch", std::to_string(a.epoch)}, {"agent", "a1"}, {"path", "out.txt"}};
  req.body = "built";
  req.headers["authorization"] = "Bearer agent-token";
  req.headers["x-gantry-job-token"] = a.job_token;
  auto own = w.auth.authenticate("Bearer agent-token");
  REQUIRE(own);
  CHECK(w.gateway.files(req, *own).status == 201);
  // With the right token, a path out of the run's directory is still refused.
  for (const char* path : {"../evil.txt", "/tmp/evil.txt", "a/../../evil.txt", ""}) {
    INFO(path);
    gantry::net::Request bad = req;
    bad.query["path"] = path;
    CHECK(w.gateway.files(bad, *own).status == 400);
  }
  // The attempt ends: the same token opens nothing any more.
  w.text(w.finish_of(a, 0));
  CHECK(w.gateway.files(req, *own).status == 409);
  // The next stage's attempt has a token of its own.
  auto next = w.conn->take_of<protocol::Assign>();
  REQUIRE(next.size() == 1);
  CHECK(next[0].job_token.size() == 64);
  CHECK(next[0].job_token != a.job_token);
}
