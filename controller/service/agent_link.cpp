// The agent endpoint: one WebSocket per agent process at /api/v1/agent.
// Text frames are protocol messages handed to the scheduler; binary frames
// are log chunks appended to the stage attempt's log file and acknowledged
// after a group fsync (at most every 2 ms while chunks arrive).
#include "gantry/common/log.hpp"
#include "gantry/protocol/codec.hpp"
#include "service/controller.hpp"

namespace gantry::controller {

struct Controller::AgentSession {
  std::shared_ptr<net::WsConnection> conn;
  std::string agent_id;  // set by hello
  std::string token_name;
  bool closed = false;
};

std::optional<net::Response> Controller::accept_agent(const net::Request& req,
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
    audit(who->name, "permission.denied", req.path,
          {{"method", req.method},
           {"role", role_name(who->role)},
           {"reason", "the agent endpoint needs an agent token"}});
    return json_error(403, "forbidden", "the agent endpoint needs an agent token");
  }
  auto session = std::make_shared<AgentSession>();
  session->conn = std::move(conn);
  session->token_name = who->name;
  std::weak_ptr<AgentSession> weak = session;
  handlers.on_message = [this, session](std::string_view data, bool binary) {
    if (session->closed) return;
    if (binary) {
      on_agent_log(session, data);
    } else {
      on_agent_text(session, data);
    }
  };
  handlers.on_close = [this, session](uint16_t, const std::string&) { on_agent_closed(session); };
  return std::nullopt;
}

void Controller::send_to_agent(const std::string& agent_id, const protocol::ControllerMessage& m) {
  auto it = sessions_.find(agent_id);
  if (it == sessions_.end() || it->second->closed) return;  // re-sent after its hello
  it->second->conn->send_text(protocol::encode(m));
}

void Controller::on_agent_closed(const std::shared_ptr<AgentSession>& s) {
  if (s->closed) return;
  s->closed = true;
  if (s->agent_id.empty()) return;
  auto it = sessions_.find(s->agent_id);
  if (it != sessions_.end() && it->second == s) {
    sessions_.erase(it);
    scheduler_->disconnected(s->agent_id, now());
    log::info("agents", "agent.disconnected", {{"agent", s->agent_id}});
    auto agent = scheduler_->agents().find(s->agent_id);
    emit_agent(agent == scheduler_->agents().end() ? s->agent_id : agent->second.name,
               "disconnected");
    events_->pump();
  }
}

std::string Controller::log_path_for(const std::string& job_id, bool* ok) {
  *ok = false;
  const Job* job = scheduler_->job(job_id);
  if (!job) return {};
  const RunState* run = scheduler_->run(job->run_id);
  if (!run) return {};
  const StageRecord& rec = run->record_of(job->node);
  *ok = true;
  return store_->log_path(job->run_id, rec.stage_id, job->attempt);
}

void Controller::on_agent_text(const std::shared_ptr<AgentSession>& s, std::string_view text) {
  auto decoded = protocol::decode_agent(text);
  if (auto* err = std::get_if<protocol::DecodeError>(&decoded)) {
    protocol::Nack n;
    n.code = "bad_message";
    n.message = err->message;
    s->conn->send_text(protocol::encode(protocol::ControllerMessage(n)));
    return;
  }
  auto& msg = std::get<protocol::AgentMessage>(decoded);
  int64_t t = now();
  if (auto* hello = std::get_if<protocol::Hello>(&msg)) {
    if (hello->agent_id.empty() || hello->agent_id.size() > 128) {
      s->conn->close(4400, "hello needs an agent_id of 1-128 bytes");
      return;
    }
    if (!s->agent_id.empty() && s->agent_id != hello->agent_id) {
      s->conn->close(4400, "one agent per connection");
      return;
    }
    auto old = sessions_.find(hello->agent_id);
    if (old != sessions_.end() && old->second != s) {
      old->second->closed = true;
      old->second->conn->close(4409, "superseded by a newer session");
    }
    s->agent_id = hello->agent_id;
    sessions_[s->agent_id] = s;
    protocol::Welcome w = scheduler_->hello(*hello, s->token_name, t);
    w.session_id = s->agent_id + "-" + std::to_string(t);
    for (protocol::ResumeVerdict& v : w.resume) {
      bool ok = false;
      std::string path = log_path_for(v.job_id, &ok);
      if (ok) v.committed = logs_.committed(v.job_id, path);
    }
    AgentRecord rec;
    rec.agent_id = hello->agent_id;
    rec.name = hello->name.empty() ? hello->agent_id : hello->name;
    rec.labels = hello->labels;
    rec.executors = hello->executors;
    rec.last_seen = t;
    rec.token_name = s->token_name;
    store_->put_agent(rec);
    emit_agent(rec.name, "connected");
    s->conn->send_text(protocol::encode(protocol::ControllerMessage(w)));
    flush();
    return;
  }
  if (s->agent_id.empty()) {
    s->conn->close(4400, "the first message must be hello");
    return;
  }
  if (auto* hb = std::get_if<protocol::Heartbeat>(&msg)) {
    scheduler_->heartbeat(s->agent_id, *hb, t);
  } else if (auto* acc = std::get_if<protocol::Accept>(&msg)) {
    if (auto nack = scheduler_->accept(s->agent_id, *acc, t))
      s->conn->send_text(protocol::encode(protocol::ControllerMessage(*nack)));
  } else if (auto* step = std::get_if<protocol::StepEvent>(&msg)) {
    if (auto nack = scheduler_->check(s->agent_id, step->job_id, step->epoch))
      s->conn->send_text(protocol::encode(protocol::ControllerMessage(*nack)));
  } else if (auto* fin = std::get_if<protocol::Finish>(&msg)) {
    bool ok = false;
    std::string path = log_path_for(fin->job_id, &ok);
    uint64_t committed = ok ? logs_.committed(fin->job_id, path) : 0;
    if (ok) {
      logs_.sync();
      note_log(fin->job_id, path, committed);  // also bytes from before a restart
    }
    publish_logs();
    auto verdict = scheduler_->finish(s->agent_id, *fin, committed, t);
    if (std::holds_alternative<protocol::FinishAck>(verdict)) {
      logs_.close(fin->job_id);
      publish_logs(fin->job_id);
    }
    // Store the outcome before acknowledging it.
    flush();
    std::visit(
        [&](const auto& m) {
          s->conn->send_text(protocol::encode(protocol::ControllerMessage(m)));
        },
        verdict);
    return;
  }
  flush();
}

void Controller::on_agent_log(const std::shared_ptr<AgentSession>& s, std::string_view frame) {
  protocol::LogChunk header;
  std::string_view payload;
  std::string error;
  auto nack = [&](const std::string& code, const std::string& message, uint64_t expected) {
    protocol::Nack n{header.job_id, header.epoch, code, message, expected};
    s->conn->send_text(protocol::encode(protocol::ControllerMessage(n)));
  };
  if (s->agent_id.empty()) {
    s->conn->close(4400, "the first message must be hello");
    return;
  }
  if (!protocol::decode_log(frame, header, payload, error)) {
    nack("bad_message", error, 0);
    return;
  }
  if (auto refused = scheduler_->check(s->agent_id, header.job_id, header.epoch)) {
    s->conn->send_text(protocol::encode(protocol::ControllerMessage(*refused)));
    return;
  }
  bool ok = false;
  std::string path = log_path_for(header.job_id, &ok);
  uint64_t committed = 0;
  LogFiles::Outcome outcome = logs_.append(header.job_id, path, header.offset, payload, committed);
  switch (outcome) {
    case LogFiles::Outcome::Gap:
      nack("log_gap", "expected offset " + std::to_string(committed), committed);
      return;
    case LogFiles::Outcome::TooLarge:
      nack("log_limit", "the log is past its 1 GiB cap", committed);
      return;
    case LogFiles::Outcome::Error:
      nack("log_error", "the controller could not write the log", committed);
      return;
    case LogFiles::Outcome::Written:
    case LogFiles::Outcome::Duplicate:
      break;
  }
  note_log(header.job_id, path, committed);
  pending_acks_.push_back({header.job_id, header.epoch, committed});
  pending_ack_agents_.push_back(s->agent_id);
  if (!sync_scheduled_) {
    sync_scheduled_ = true;
    // Group commit: one fdatasync for every chunk that arrives meanwhile, at
    // most one every 2 ms. A chunk after a quiet spell (a stage's last
    // output, which its finish waits for) is synced at once.
    constexpr auto kGroup = std::chrono::milliseconds(2);
    auto since = std::chrono::steady_clock::now() - last_log_sync_;
    if (since >= kGroup) {
      loop_.post([this] { sync_logs(); });
    } else {
      loop_.call_after(std::chrono::ceil<std::chrono::milliseconds>(kGroup - since),
                       [this] { sync_logs(); });
    }
  }
}

void Controller::sync_logs() {
  sync_scheduled_ = false;
  logs_.sync();
  last_log_sync_ = std::chrono::steady_clock::now();
  // One cumulative ack per job: the last committed offset wins.
  std::map<std::pair<std::string, std::string>, protocol::LogAck> latest;
  for (size_t i = 0; i < pending_acks_.size(); ++i) {
    latest[{pending_ack_agents_[i], pending_acks_[i].job_id}] = pending_acks_[i];
  }
  pending_acks_.clear();
  pending_ack_agents_.clear();
  for (const auto& [key, ack] : latest) send_to_agent(key.first, ack);
  publish_logs();
  events_->pump();
}

void Controller::note_log(const std::string& job_id, const std::string& path, uint64_t committed) {
  const Job* job = scheduler_->job(job_id);
  const RunState* run = job ? scheduler_->run(job->run_id) : nullptr;
  if (!run) return;
  LogProgress& p = log_progress_[job_id];
  p.run_id = job->run_id;
  p.stage_id = run->record_of(job->node).stage_id;
  p.attempt = job->attempt;
  p.path = path;
  p.committed = committed;
}

void Controller::publish_logs(const std::string& final_job) {
  for (auto it = log_progress_.begin(); it != log_progress_.end();) {
    const LogProgress& p = it->second;
    bool final = it->first == final_job;
    if (final_job.empty() || final)
      events_->log_committed(p.run_id, p.stage_id, p.attempt, p.path, p.committed, final);
    it = final ? log_progress_.erase(it) : std::next(it);
  }
}

}  // namespace gantry::controller
