// The events the services emit as state changes (runs and stages as they
// are stored, approvals, releases, agents), as JSON on the EventHub, and
// GET /api/v1/events, the live events WebSocket (docs/events.md). Log
// events come from the log ingest once their bytes are durable.
#include <charconv>
#include <nlohmann/json.hpp>

#include "service/api_json.hpp"
#include "service/approvals_json.hpp"
#include "service/audit_log.hpp"
#include "service/event_sink.hpp"
#include "service/events.hpp"
#include "service/releases_json.hpp"

namespace gantry::controller {

using nlohmann::json;

namespace {

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool parse_count(const std::string& text, int64_t& out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && p == text.data() + text.size() && out >= 0;
}

}  // namespace

void EventPublisher::run(const RunRecord& run) {
  // Stored on every stage change; an event only when the run itself changed.
  std::string state = std::string(to_string(run.status)) + "\n" + run.reason;
  auto [it, inserted] = run_state_.emplace(run.id, state);
  if (!inserted && it->second == state) return;
  it->second = state;
  hub_.emit("run", run.id,
            dump({{"number", run.number},
                  {"job", run.job_name},
                  {"status", to_string(run.status)},
                  {"reason", run.reason},
                  {"trigger", run.trigger},
                  {"ref", run.ref},
                  {"commit", run.commit}}));
}

void EventPublisher::stage(const StageRecord& s) {
  hub_.emit("stage", s.run_id,
            dump({{"stage", s.stage_id},
                  {"name", s.name},
                  {"status", to_string(s.status)},
                  {"reason", s.reason},
                  {"agent", s.agent},
                  {"attempts", s.attempts},
                  {"attempt_names", s.attempt_names},
                  {"started_at", s.started_at},
                  {"finished_at", s.finished_at},
                  {"order", s.order}}));
}

void EventPublisher::approval(const ApprovalRecord& a) {
  hub_.emit("approval", a.run_id,
            dump({{"approval", approval_name(a)},
                  {"kind", to_string(a.kind)},
                  {"status", to_string(a.status)},
                  {"stage", a.stage_id},
                  {"environment", a.environment}}));
}

void EventPublisher::release(const ReleaseRecord& r, const std::string& progress) {
  hub_.emit("release", r.run_id,
            dump({{"release", release_name(r.id)},
                  {"status", to_string(r.status)},
                  {"environment", r.environment},
                  {"stage", r.stage_id},
                  {"progress", progress}}));
}

void EventPublisher::agent(const std::string& name, const std::string& status) {
  hub_.emit("agent", 0, dump({{"agent", name}, {"status", status}}));
}

void EventPublisher::log_committed(int64_t run_id, const std::string& stage_id, int attempt,
                                   const std::string& path, uint64_t committed, bool final) {
  hub_.log_committed(run_id, stage_id, attempt, path, committed, final);
}

void EventPublisher::forget_run(int64_t run_id) {
  run_state_.erase(run_id);
  hub_.forget_run(run_id);
}

void EventPublisher::pump() {
  hub_.pump();
}

std::optional<net::Response> accept_events(const net::Request& req, const Authenticator& auth,
                                           AuditLog& audit, EventHub& hub,
                                           std::shared_ptr<net::WsConnection> conn,
                                           net::WsHandlers& handlers) {
  auto token = req.query.find("token");
  std::string authorization = req.header("authorization");
  // A browser cannot set headers on a WebSocket: the token may come in the query.
  if (authorization.empty() && token != req.query.end()) authorization = "Bearer " + token->second;
  std::optional<Principal> who = auth.authenticate(authorization);
  if (!who) return error(401, "unauthorized", "missing or unknown token (Bearer, or ?token=)");
  if (!principal_allows_somewhere(*who, Permission::Read)) {
    audit.refused(*who, req.path, "may not read events");
    return error(403, "forbidden", who->name + " may not read events");
  }
  int64_t run = 0;
  std::optional<int64_t> since;
  if (auto r = req.query.find("run"); r != req.query.end() && !parse_count(r->second, run))
    return error(400, "bad_request", "run must be a run id");
  if (auto s = req.query.find("since"); s != req.query.end()) {
    int64_t value = 0;
    if (!parse_count(s->second, value))
      return error(400, "bad_request", "since must be an event id");
    since = value;
  }
  // logs=all (default) | none | RUN: whose log events it wants (a page
  // showing one run needs that run's output, not every run's).
  int64_t log_run = EventHub::kAllLogs;
  if (auto l = req.query.find("logs"); l != req.query.end() && l->second != "all") {
    if (l->second == "none") {
      log_run = EventHub::kNoLogs;
    } else if (!parse_count(l->second, log_run) || log_run == 0) {
      return error(400, "bad_request", "logs must be all, none or a run id");
    }
  }
  // Someone who may read some repositories only sees their runs' events (SPEC §9).
  const RepoFilter readable = repos_allowing(*who, Permission::Read);
  hub.attach(std::move(conn), handlers, run, since, log_run,
             readable.all ? nullptr : &readable.names);
  return std::nullopt;
}

}  // namespace gantry::controller
