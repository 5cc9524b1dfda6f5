// REST routing and authorization: every route but /healthz needs a Bearer
// token; a missing or unknown one gets 401, a known one without the
// permission 403. Agent tokens open only /api/v1/agent/.
#include <charconv>

#include "gantry/common/log.hpp"
#include "service/api_json.hpp"
#include "service/controller.hpp"
#include "service/repo_watcher.hpp"

namespace gantry::controller {

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

bool parse_id(const std::string& s, int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out > 0;
}

}  // namespace

net::Response Controller::handle_http(const net::Request& req) {
  if (req.path == "/healthz") {
    net::Response r;
    r.body = R"({"status":"ok"})";
    return r;
  }
  if (req.path == "/" || req.path.rfind("/assets/", 0) == 0) return serve_web(req);
  // Webhooks carry a signature, not a token (api_repos.cpp).
  if (req.path == "/api/v1/hooks/git") {
    if (req.method != "POST") {
      net::Response r = error(405, "method_not_allowed", "use POST for " + req.path);
      r.headers.push_back({"Allow", "POST"});
      return r;
    }
    return git_hook(req);
  }
  std::optional<Principal> who = auth_.authenticate(req.header("authorization"));
  if (!who) {
    net::Response r =
        error(401, "unauthorized", "missing or unknown token (Authorization: Bearer TOKEN)");
    r.headers.push_back({"WWW-Authenticate", "Bearer realm=\"gantry\""});
    return r;
  }
  auto audit_denied = [&](const std::string& why) {
    audit(who->name, "permission.denied", req.path,
          {{"method", req.method},
           {"role", who->is_agent ? "agent" : role_name(who->role)},
           {"reason", why}});
  };
  auto forbid = [&](Permission p, const char* what) -> std::optional<net::Response> {
    if (principal_allows(*who, p)) return std::nullopt;
    audit_denied(std::string("may not ") + what);
    return error(403, "forbidden", who->name + " may not " + what);
  };
  auto not_allowed = [&](const char* allowed) {
    net::Response r =
        error(405, "method_not_allowed",
              req.method + " is not allowed on " + req.path + " (use " + allowed + ")");
    r.headers.push_back({"Allow", allowed});
    return r;
  };
  std::vector<std::string> parts = split_path(req.path);
  if (parts.size() >= 3 && parts[0] == "api" && parts[1] == "v1" && parts[2] == "agent") {
    if (!who->is_agent) {
      audit_denied("the agent endpoint needs an agent token");
      return error(403, "forbidden", "the agent endpoint needs an agent token");
    }
    return agent_files(req, *who);
  }
  if (who->is_agent) {
    audit_denied("agent tokens open only the agent endpoint");
    return error(403, "forbidden", "agent tokens open only the agent endpoint");
  }
  if (req.path == "/metrics") {
    if (req.method != "GET") return not_allowed("GET");
    if (auto f = forbid(Permission::Read, "read metrics")) return *f;
    return metrics();
  }
  if (parts.size() < 3 || parts[0] != "api" || parts[1] != "v1")
    return error(404, "not_found", "no route for " + req.method + " " + req.path);
  const std::string& collection = parts[2];
  if (collection == "runs") {
    if (parts.size() == 3) {
      if (req.method == "GET") {
        if (auto f = forbid(Permission::Read, "read runs")) return *f;
        return list_runs(req);
      }
      if (req.method == "POST") {
        if (auto f = forbid(Permission::Trigger, "trigger runs")) return *f;
        return create_run(req, *who);
      }
      return not_allowed("GET, POST");
    }
    int64_t id = 0;
    if (!parse_id(parts[3], id)) return error(404, "not_found", "no run '" + parts[3] + "'");
    std::string action = parts.size() > 4 ? parts[4] : "";
    bool file = parts.size() == 6 && action == "artifacts" && parts[5] == "file";
    if (parts.size() > 5 && !file) return error(404, "not_found", "no route for " + req.path);
    if (action.empty()) {
      if (req.method != "GET") return not_allowed("GET");
      if (auto f = forbid(Permission::Read, "read runs")) return *f;
      return show_run(id);
    }
    if (action == "cancel") {
      if (req.method != "POST") return not_allowed("POST");
      return cancel_run(id, *who);
    }
    if (action == "retry") {
      if (req.method != "POST") return not_allowed("POST");
      if (auto f = forbid(Permission::Retry, "retry runs")) return *f;
      return retry_run(id, *who);
    }
    if (action == "log") {
      if (req.method != "GET") return not_allowed("GET");
      if (auto f = forbid(Permission::Read, "read logs")) return *f;
      return stage_log(id, req);
    }
    if (action == "artifacts") {
      if (req.method != "GET") return not_allowed("GET");
      if (auto f = forbid(Permission::Read, "read artifacts")) return *f;
      return file ? get_artifact(id, req) : list_artifacts(id);
    }
    return error(404, "not_found", "no route for " + req.method + " " + req.path);
  }
  if (collection == "approvals" && parts.size() <= 5) {
    if (parts.size() == 3) {
      if (req.method != "GET") return not_allowed("GET");
      if (auto f = forbid(Permission::Read, "read approvals")) return *f;
      return list_approvals(req);
    }
    if (parts.size() == 4) {
      if (req.method != "GET") return not_allowed("GET");
      if (auto f = forbid(Permission::Read, "read approvals")) return *f;
      return show_approval(parts[3]);
    }
    if (parts[4] != "approve" && parts[4] != "reject")
      return error(404, "not_found", "no route for " + req.method + " " + req.path);
    if (req.method != "POST") return not_allowed("POST");
    return decide(parts[3], req, *who, parts[4] == "approve");
  }
  if (collection == "releases" && parts.size() <= 5) {
    if (parts.size() == 5) {
      if (parts[4] != "rollback" && parts[4] != "promote" && parts[4] != "abort")
        return error(404, "not_found", "no route for " + req.method + " " + req.path);
      if (req.method != "POST") return not_allowed("POST");
      if (parts[4] != "rollback") return steer_release(parts[3], req, *who, parts[4] == "promote");
      return rollback_release(parts[3], req, *who);
    }
    if (req.method != "GET") return not_allowed("GET");
    if (auto f = forbid(Permission::Read, "read releases")) return *f;
    return parts.size() == 3 ? list_releases(req) : show_release(parts[3]);
  }
  if (collection == "environments" && parts.size() == 3) {
    if (req.method != "GET") return not_allowed("GET");
    if (auto f = forbid(Permission::Read, "read environments")) return *f;
    return list_environments();
  }
  if (collection == "repos" && parts.size() == 3) {
    if (req.method != "GET") return not_allowed("GET");
    if (auto f = forbid(Permission::Read, "read repositories")) return *f;
    return list_repos();
  }
  if (collection == "audit" && (parts.size() == 3 || (parts.size() == 4 && parts[3] == "verify"))) {
    if (req.method != "GET") return not_allowed("GET");
    if (auto f = forbid(Permission::Read, "read the audit log")) return *f;
    return parts.size() == 4 ? verify_audit() : list_audit(req);
  }
  if (collection == "agents" && parts.size() == 3) {
    if (req.method != "GET") return not_allowed("GET");
    if (auto f = forbid(Permission::Read, "read agents")) return *f;
    return list_agents();
  }
  return error(404, "not_found", "no route for " + req.method + " " + req.path);
}

net::Response Controller::metrics() {
  net::Response r;
  r.content_type = "text/plain; version=0.0.4";
  std::string& out = r.body;
  out += "# HELP gantry_runs Runs by status.\n# TYPE gantry_runs gauge\n";
  for (const auto& [status, n] : store_->run_counts_by_status())
    out += "gantry_runs{status=\"" + status + "\"} " + std::to_string(n) + "\n";
  out += "# HELP gantry_stage_duration_seconds Stage durations since start, by result.\n";
  out += "# TYPE gantry_stage_duration_seconds summary\n";
  for (const auto& [status, sum] : stage_seconds_sum_) {
    out += "gantry_stage_duration_seconds_sum{status=\"" + status + "\"} " + std::to_string(sum) +
           "\n";
    out += "gantry_stage_duration_seconds_count{status=\"" + status + "\"} " +
           std::to_string(stage_count_[status]) + "\n";
  }
  out += "# HELP gantry_queue_depth Jobs waiting for an agent.\n# TYPE gantry_queue_depth gauge\n";
  out += "gantry_queue_depth " + std::to_string(scheduler_->queue_depth()) + "\n";
  out += "# HELP gantry_jobs_running Jobs held by agents.\n# TYPE gantry_jobs_running gauge\n";
  out += "gantry_jobs_running " + std::to_string(scheduler_->running_jobs()) + "\n";
  size_t connected = 0;
  for (const auto& [id, a] : scheduler_->agents()) connected += a.connected ? 1 : 0;
  out +=
      "# HELP gantry_agents_connected Agents with a live session.\n# TYPE gantry_agents_connected "
      "gauge\n";
  out += "gantry_agents_connected " + std::to_string(connected) + "\n";
  out += "# HELP gantry_repo_fetch_failures Consecutive failed fetches of a watched repository.\n";
  out += "# TYPE gantry_repo_fetch_failures gauge\n";
  for (const RepoStatus& repo : watcher_->status()) {
    std::string label;  // Prometheus label value escaping
    for (char ch : repo.name)
      label += ch == '\n'                ? std::string("\\n")
               : ch == '"' || ch == '\\' ? std::string("\\") + ch
                                         : std::string(1, ch);
    out += "gantry_repo_fetch_failures{repo=\"" + label + "\"} " + std::to_string(repo.failures) +
           "\n";
  }
  return r;
}

net::Response Controller::list_agents() {
  net::Response r;
  r.body = agents_json(store_->agents(), scheduler_->agents());
  return r;
}

}  // namespace gantry::controller
