// The agent gateway (agent_gateway.hpp): sessions, protocol messages, log
// frames, and the agents' file endpoint.
#include "service/agent_gateway.hpp"

#include "service/coordination_service.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "gantry/common/log.hpp"
#include "gantry/protocol/codec.hpp"
#include "service/api_json.hpp"
#include "service/gate_service.hpp"
#include "service/run_service.hpp"

namespace gantry::controller {

namespace fs = std::filesystem;

bool safe_relative(const std::string& p) {
  if (p.empty() || p.size() > 4096 || p[0] == '/') return false;
  for (const auto& part : fs::path(p)) {
    if (part == "..") return false;
  }
  return true;
}

namespace {

net::Response json_ok(std::string body, int status = 200) {
  net::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

AgentGateway::AgentGateway(Engine& engine, Store& store, EventSink& events, AuditLog& audit,
                           const Authenticator& auth, GateService& gates, Defer defer)
    : engine_(engine),
      store_(store),
      events_(events),
      audit_(audit),
      auth_(auth),
      gates_(gates),
      logs_(engine, store, events, *this, std::move(defer)) {}

void AgentGateway::reply(Session& s, const protocol::ControllerMessage& m) {
  s.conn->send_text(protocol::encode(m));
}

std::optional<net::Response> AgentGateway::accept(const net::Request& req,
                                                  std::shared_ptr<net::WsConnection> conn,
                                                  net::WsHandlers& handlers) {
  auto json_error = [](int status, const std::string& code, const std::string& msg) {
    net::Response r;
    r.status = status;
    r.body = R"({"error":{"code":")" + code + R"(","message":")" + msg + R"("}})";
    return r;
  };
  if (req.path != "/api/v1/agent") return json_error(404, "not_found", "no WebSocket here");
  std::optional<Principal> who = auth_.authenticate(req.header("authorization"));
  if (!who) return json_error(401, "unauthorized", "missing or unknown token");
  if (!who->is_agent) {
    audit_.refused(*who, req.path, "the agent endpoint needs an agent token",
                   {{"method", req.method}});
    return json_error(403, "forbidden", "the agent endpoint needs an agent token");
  }
  auto session = std::make_shared<Session>();
  session->conn = std::move(conn);
  session->token_name = who->name;
  session->who = *who;
  handlers.on_message = [this, session](std::string_view data, bool binary) {
    if (session->closed) return;
    if (binary) {
      on_log(session, data);
    } else {
      on_text(session, data);
    }
  };
  handlers.on_close = [this, session](uint16_t, const std::string&) { on_closed(session); };
  return std::nullopt;
}

void AgentGateway::send(const std::string& agent_id, const protocol::ControllerMessage& m) {
  auto it = sessions_.find(agent_id);
  if (it == sessions_.end() || it->second->closed) return;  // re-sent after its hello
  if (const auto* assign = std::get_if<protocol::Assign>(&m)) {
    protocol::Assign signed_assign = *assign;
    signed_assign.job_token = job_token(job_key_, assign->job_id, assign->epoch, agent_id);
    it->second->conn->send_text(protocol::encode(protocol::ControllerMessage(signed_assign)));
    return;
  }
  it->second->conn->send_text(protocol::encode(m));
}

void AgentGateway::on_closed(const std::shared_ptr<Session>& s) {
  if (s->closed) return;
  s->closed = true;
  if (s->agent_id.empty()) return;
  auto it = sessions_.find(s->agent_id);
  if (it == sessions_.end() || it->second != s) return;
  sessions_.erase(it);
  engine_.scheduler().board().disconnected(s->agent_id, engine_.now());
  log::info("agents", "agent.disconnected", {{"agent", s->agent_id}});
  auto agent = engine_.scheduler().board().agents().find(s->agent_id);
  events_.agent(
      agent == engine_.scheduler().board().agents().end() ? s->agent_id : agent->second.name,
      "disconnected");
  events_.pump();
}

void AgentGateway::hello(const std::shared_ptr<Session>& s, const protocol::Hello& hello) {
  if (hello.agent_id.empty() || hello.agent_id.size() > 128) {
    s->conn->close(4400, "hello needs an agent_id of 1-128 bytes");
    return;
  }
  if (!s->agent_id.empty() && s->agent_id != hello.agent_id) {
    s->conn->close(4400, "one agent per connection");
    return;
  }
  if (std::string why = refusal(*s, hello); !why.empty()) {
    log::warn("agents", "hello.refused",
              {{"agent", hello.agent_id}, {"token", s->token_name}, {"reason", why}});
    audit_.refused(s->who, "/api/v1/agent", why,
                   {{"agent_id", hello.agent_id}, {"name", hello.name}});
    s->closed = true;
    s->conn->close(4403, why);
    return;
  }
  auto old = sessions_.find(hello.agent_id);
  if (old != sessions_.end() && old->second != s) {
    old->second->closed = true;
    old->second->conn->close(4409, "superseded by a newer session");
  }
  const int64_t t = engine_.now();
  s->agent_id = hello.agent_id;
  sessions_[s->agent_id] = s;
  protocol::Welcome w = engine_.scheduler().hello(hello, s->token_name, t);
  w.session_id = s->agent_id + "-" + std::to_string(t);
  for (protocol::ResumeVerdict& v : w.resume) v.committed = logs_.committed(v.job_id);
  AgentRecord rec;
  rec.agent_id = hello.agent_id;
  rec.name = hello.name.empty() ? hello.agent_id : hello.name;
  rec.labels = hello.labels;
  rec.executors = hello.executors;
  rec.last_seen = t;
  rec.token_name = s->token_name;
  id_owner_[rec.agent_id] = rec.token_name;
  name_owner_[rec.name] = rec.token_name;
  // The agents table is what `gantry agents` lists; the session works without it.
  if (Status st = store_.runs().put_agent(rec); !st) {
    log::warn("agents", "agent.store_failed",
              {{"agent", rec.agent_id}, {"error", st.error().message}});
  }
  events_.agent(rec.name, "connected");
  reply(*s, w);
  (void)engine_.flush();
}

std::string AgentGateway::refusal(const Session& s, const protocol::Hello& hello) {
  if (!owners_loaded_) {
    for (const AgentRecord& a : store_.runs().agents()) {
      id_owner_[a.agent_id] = a.token_name;
      name_owner_[a.name] = a.token_name;
    }
    owners_loaded_ = true;
  }
  const std::string& token = s.token_name;
  // An identity stays with its token while that token is configured; a
  // token removed from the config gives its agents' identities up.
  auto taken = [&](const std::map<std::string, std::string>& owners, const std::string& key) {
    auto it = owners.find(key);
    return it != owners.end() && it->second != token && auth_.has_agent_token(it->second);
  };
  const std::string name = hello.name.empty() ? hello.agent_id : hello.name;
  if (taken(id_owner_, hello.agent_id))
    return "agent id '" + hello.agent_id + "' belongs to another agent token";
  if (taken(name_owner_, name)) return "agent name '" + name + "' belongs to another agent token";
  const AgentPool& pool = s.who.pool;
  if (!pool.any_label) {
    auto allowed = [&](const std::string& label) {
      return std::find(pool.labels.begin(), pool.labels.end(), label) != pool.labels.end();
    };
    std::string listed;
    for (const std::string& l : pool.labels) {
      if (!listed.empty()) listed += ", ";
      listed += l;
    }
    if (listed.empty()) listed = "none";
    for (const std::string& label : hello.labels) {
      if (allowed(label)) continue;
      std::string why = "label '";
      why.append(label).append("' is outside agent token '").append(token);
      why.append("' (labels: ").append(listed).append(")");
      return why;
    }
    // A name is a label too (`agent { label 'NAME' }`): not one another pool owns.
    if (!allowed(name) && auth_.label_of_other_pool(name, token))
      return "agent name '" + name + "' is a label of another agent token";
  }
  if (pool.max_agents > 0) {
    int64_t live = 0;
    for (const auto& [id, other] : sessions_) {
      if (!other->closed && other->token_name == token && id != hello.agent_id) ++live;
    }
    if (live >= pool.max_agents)
      return "agent token '" + token + "' has its " + std::to_string(pool.max_agents) +
             " agents connected (max_agents)";
  }
  return "";
}

void AgentGateway::finish(const std::shared_ptr<Session>& s, const protocol::Finish& fin) {
  const Job* job = engine_.scheduler().board().job(fin.job_id);
  const int64_t run_id = job ? job->run_id : 0;
  uint64_t committed = logs_.committed(fin.job_id);
  auto verdict = engine_.scheduler().finish(s->agent_id, fin, committed, engine_.now());
  const bool accepted = std::holds_alternative<protocol::FinishAck>(verdict);
  if (accepted && run_id != 0) logs_.finished(fin.job_id);
  // Store the outcome before acknowledging it: an agent drops its spool and
  // outbox on the ack, so an ack for what is not stored loses the job.
  Status stored = engine_.flush();
  if (accepted && (!stored || (run_id != 0 && !engine_.durable(run_id)))) {
    std::string why = stored ? engine_.failure().message : stored.error().message;
    reply(*s,
          protocol::Nack{fin.job_id, fin.epoch, "unavailable",
                         "the controller could not store the finish (" + why + "); send it again",
                         committed});
    return;
  }
  std::visit([&](const auto& m) { reply(*s, m); }, verdict);
}

void AgentGateway::on_text(const std::shared_ptr<Session>& s, std::string_view text) {
  auto decoded = protocol::decode_agent(text);
  if (auto* err = std::get_if<protocol::DecodeError>(&decoded)) {
    protocol::Nack n;
    n.code = "bad_message";
    n.message = err->message;
    reply(*s, n);
    return;
  }
  auto& msg = std::get<protocol::AgentMessage>(decoded);
  if (auto* h = std::get_if<protocol::Hello>(&msg)) {
    hello(s, *h);
    return;
  }
  if (s->agent_id.empty()) {
    s->conn->close(4400, "the first message must be hello");
    return;
  }
  const int64_t t = engine_.now();
  if (auto* hb = std::get_if<protocol::Heartbeat>(&msg)) {
    engine_.scheduler().board().heartbeat(s->agent_id, *hb, t);
  } else if (auto* acc = std::get_if<protocol::Accept>(&msg)) {
    if (auto nack = engine_.scheduler().board().accept(s->agent_id, *acc, t)) reply(*s, *nack);
  } else if (auto* step = std::get_if<protocol::StepEvent>(&msg)) {
    if (auto nack = engine_.scheduler().board().check(s->agent_id, step->job_id, step->epoch))
      reply(*s, *nack);
  } else if (auto* fin = std::get_if<protocol::Finish>(&msg)) {
    finish(s, *fin);
    return;
  }
  (void)engine_.flush();
}

void AgentGateway::on_log(const std::shared_ptr<Session>& s, std::string_view frame) {
  if (s->agent_id.empty()) {
    s->conn->close(4400, "the first message must be hello");
    return;
  }
  protocol::LogChunk header;
  std::string_view payload;
  std::string error;
  if (!protocol::decode_log(frame, header, payload, error)) {
    reply(*s, protocol::Nack{header.job_id, header.epoch, "bad_message", error, 0});
    return;
  }
  if (auto refused = engine_.scheduler().board().check(s->agent_id, header.job_id, header.epoch)) {
    reply(*s, *refused);
    return;
  }
  if (auto nack = logs_.append(s->agent_id, header, payload)) reply(*s, *nack);
}

bool AgentGateway::held_by(const Job& job, uint64_t epoch, const std::string& agent_id,
                           const Principal& who) const {
  if (job.epoch != epoch || job.agent_id != agent_id) return false;
  const auto& agents = engine_.scheduler().board().agents();
  auto holder = agents.find(agent_id);
  return holder != agents.end() && holder->second.token_name == who.name;
}

std::optional<net::Response> AgentGateway::check_attempt(
    const net::Request& req, const Job* job, const std::string& job_id,
    const std::optional<Principal>& who) const {
  uint64_t epoch = query_u64(req, "epoch", 0);
  std::string agent_id = query(req, "agent");
  // The job must be held at this epoch by the agent that asks, connected with this very token:
  // another token cannot write into its jobs, even knowing the agent's id (GET /api/v1/agents).
  if (!job || !who || !held_by(*job, epoch, agent_id, *who))
    return error(409, "stale_epoch",
                 "job " + job_id + " is not held by this agent at epoch " + std::to_string(epoch));
  // And the request must carry the attempt's own token, which only the assignment carried: an
  // agent of the same pool, or anything that learnt the agent's token, cannot use it.
  if (!job_token_matches(job_key_, job_id, epoch, agent_id, req.header("x-gantry-job-token"))) {
    log::warn("agent_gateway", "job_token.refused",
              {{"job", job_id}, {"epoch", std::to_string(epoch)}, {"agent_token", who->name}});
    return error(403, "bad_job_token",
                 "job " + job_id + " epoch " + std::to_string(epoch) +
                     ": the X-Gantry-Job-Token header must carry this attempt's job token");
  }
  return std::nullopt;
}

std::optional<net::Response> AgentGateway::admit_upload(const net::Request& head) const {
  // /api/v1/agent/jobs/{job}/{kind}?epoch=E&agent=A
  constexpr std::string_view kPrefix = "/api/v1/agent/jobs/";
  if (head.path.rfind(kPrefix, 0) != 0)
    return error(404, "not_found", "no route for " + head.method + " " + head.path);
  std::string rest = head.path.substr(kPrefix.size());
  std::string job_id = rest.substr(0, rest.find('/'));
  const Job* job = engine_.scheduler().board().job(job_id);
  return check_attempt(head, job, job_id, auth_.authenticate(head.header("authorization")));
}

std::error_code keep_body(const net::Request& req, const fs::path& dest) {
  std::error_code ec;
  fs::create_directories(dest.parent_path(), ec);
  if (ec) return ec;
  if (!req.body_file.empty()) {
    fs::rename(req.body_file, dest, ec);
    if (ec) fs::copy_file(req.body_file, dest, fs::copy_options::overwrite_existing, ec);
    return ec;
  }
  std::ofstream out(dest, std::ios::binary | std::ios::trunc);
  out << req.body;
  return out ? std::error_code() : std::make_error_code(std::errc::io_error);
}

net::Response AgentGateway::files(const net::Request& req, const Principal& who) {
  // /api/v1/agent/jobs/{job}/{artifacts|stash}?epoch=E&path=P|name=N
  constexpr std::string_view kPrefix = "/api/v1/agent/jobs/";
  if (req.path.rfind(kPrefix, 0) != 0)
    return error(404, "not_found", "no route for " + req.method + " " + req.path);
  std::string rest = req.path.substr(kPrefix.size());
  auto slash = rest.find('/');
  if (slash == std::string::npos)
    return error(404, "not_found", "no route for " + req.method + " " + req.path);
  std::string job_id = rest.substr(0, slash), kind = rest.substr(slash + 1);
  const Job* job = engine_.scheduler().board().job(job_id);
  if (auto refused = check_attempt(req, job, job_id, who)) return *refused;
  const RunState* run = engine_.scheduler().run(job->run_id);
  const StageRecord& rec = run->record_of(job->node);
  if (kind == "input") {
    if (req.method != "POST") return error(405, "method_not_allowed", "use POST for an input");
    std::string body = req.body;
    if (!req.body_file.empty()) {
      std::ifstream in(req.body_file, std::ios::binary);
      body.assign(std::istreambuf_iterator<char>(in), {});
    }
    return gates_.input_step(*job, body);
  }
  if (kind == "notify") {
    if (req.method != "POST") return error(405, "method_not_allowed", "use POST for a notify");
    if (!notify_) return error(404, "not_found", "this controller sends no notifications");
    if (!req.body_file.empty()) return error(413, "too_large", "a notify body is at most 8 MiB");
    return notify_(*job, run->run, req.body);
  }
  if (kind == "build") {
    if (req.method != "POST") return error(405, "method_not_allowed", "use POST for a build");
    if (!build_ || !req.body_file.empty())
      return error(400, "bad_request", "a build request is a small JSON body");
    return build_(*job, run->run, req.body);
  }
  if (kind == "lock" || kind == "milestone") {
    if (req.method != "POST") return error(405, "method_not_allowed", "use POST for a " + kind);
    if (!coordination_ || !req.body_file.empty())
      return error(400, "bad_request", "a " + kind + " request is a small JSON body");
    return kind == "lock" ? coordination_->lock(*job, req.body)
                          : coordination_->milestone(*job, req.body);
  }
  if (kind == "tests") return store_tests(req, *job, rec, who);
  if (kind == "reports") return store_report(req, *job, rec, who);
  if (kind == "issues") return store_issues(req, *job, rec, who);
  bool stash = kind == "stash";
  if (!stash && kind != "artifacts") return error(404, "not_found", "no route for " + req.path);
  std::string name = query(req, stash ? "name" : "path");
  if (!safe_relative(name))
    return error(400, "bad_request",
                 "bad " + std::string(stash ? "stash name" : "artifact path") + " '" + name + "'");
  if (req.method == "GET" && stash) {
    auto a = store_.runs().artifact(job->run_id, "stash", name);
    // A run restarted from a stage reads the stashes of the stages it skipped from the run it
    // restarts (and that one's, for a restart of a restart).
    int64_t from = job->run_id;
    for (int hop = 0; !a && hop < 10; ++hop) {
      const RunState* live = engine_.scheduler().run(from);
      std::optional<RunRecord> r;
      if (live) {
        r = live->run;
      } else if (auto stored = store_.runs().run(from); stored && *stored) {
        r = **stored;
      }
      if (!r || r->restart_stage.empty() || r->retry_of == 0) break;
      from = r->retry_of;
      a = store_.runs().artifact(from, "stash", name);
    }
    if (!a)
      return error(404, "not_found",
                   "no stash '" + name + "' in run " + std::to_string(job->run_id));
    net::Response r;
    r.content_type = "application/x-tar";
    r.file_path = a->file;
    return r;
  }
  if (req.method != "PUT")
    return error(405, "method_not_allowed", req.method + " not allowed here");
  fs::path dest = fs::path(store_.artifact_dir(job->run_id)) / (stash ? "stash" : "files") /
                  (stash ? name + ".tar" : name);
  std::error_code ec = keep_body(req, dest);
  if (ec) return error(500, "io_error", "could not store " + name + ": " + ec.message());
  ArtifactRecord a;
  a.run_id = job->run_id;
  a.kind = stash ? "stash" : "artifact";
  a.name = name;
  a.stage_id = rec.stage_id;
  a.size = fs::file_size(dest, ec);
  a.file = dest.string();
  a.created_at = engine_.now();
  // Not recorded, not stored: the agent's upload fails and the step says so.
  if (Status st = store_.runs().add_artifact(a); !st) return error_response(st.error());
  log::info("controller", stash ? "stash.stored" : "artifact.stored",
            {{"run", std::to_string(job->run_id)}, {"name", name}, {"agent_token", who.name}});
  return json_ok(R"({"stored":true})", 201);
}

net::Response AgentGateway::store_tests(const net::Request& req, const Job& job,
                                        const StageRecord& rec, const Principal& who) {
  // A junit step's cases (agent/runner/junit.hpp): kept beside the run's logs, pruned with them,
  // one file per report, named by stage, attempt and order.
  if (req.method != "PUT") return error(405, "method_not_allowed", "use PUT for a test report");
  std::error_code ec;
  const uint64_t size = req.body_file.empty() ? req.body.size() : fs::file_size(req.body_file, ec);
  if (ec || size > kMaxTestReportBytes)
    return error(413, "too_large",
                 "a test report is at most " + std::to_string(kMaxTestReportBytes >> 20) + " MiB");
  std::vector<ArtifactRecord> known = store_.runs().artifacts(job.run_id);
  const size_t n = static_cast<size_t>(
      std::count_if(known.begin(), known.end(), [](const auto& a) { return a.kind == "tests"; }));
  if (n >= kMaxTestReports)
    return error(409, "too_many",
                 "a run keeps at most " + std::to_string(kMaxTestReports) + " test reports");
  const std::string name =
      rec.stage_id + "#" + std::to_string(job.attempt) + "#" + std::to_string(n + 1);
  const fs::path dest =
      fs::path(store_.run_logs_dir(job.run_id)) / "tests" / (std::to_string(n + 1) + ".json");
  ec = keep_body(req, dest);
  if (ec) return error(500, "io_error", "could not store the test report: " + ec.message());
  ArtifactRecord a;
  a.run_id = job.run_id;
  a.kind = "tests";
  a.name = name;
  a.stage_id = rec.stage_id;
  a.size = size;
  a.file = dest.string();
  a.created_at = engine_.now();
  if (Status st = store_.runs().add_artifact(a); !st) return error_response(st.error());
  log::info(
      "controller", "tests.stored",
      {{"run", std::to_string(job.run_id)}, {"stage", rec.stage_id}, {"agent_token", who.name}});
  return json_ok(R"({"stored":true})", 201);
}

}  // namespace gantry::controller
