// The route table (routes.hpp). Read Routes::Routes to see who may do what.
#include "service/routes.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

#include "gantry/common/log.hpp"
#include "gantry/net/url.hpp"
#include "service/agent_gateway.hpp"
#include "service/api_json.hpp"
#include "service/audit_log.hpp"
#include "service/engine.hpp"
#include "service/gate_service.hpp"
#include "service/release_service.hpp"
#include "service/repo_watcher.hpp"
#include "service/run_service.hpp"

namespace gantry::controller {

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

// Whether `path` matches `pattern`; fills the {placeholders}' values. A last placeholder
// "{*...}" takes the rest of the path (one segment or more), joined by '/'.
bool match(std::string_view pattern, const std::vector<std::string_view>& path,
           std::vector<std::string>& args) {
  std::vector<std::string_view> want = split_path(pattern);
  const bool tail = !want.empty() && want.back().starts_with("{*");
  if (tail ? path.size() < want.size() : want.size() != path.size()) return false;
  args.clear();
  for (size_t i = 0; i < want.size(); ++i) {
    if (tail && i + 1 == want.size()) {
      std::string rest(path[i]);
      for (size_t j = i + 1; j < path.size(); ++j) rest += "/" + std::string(path[j]);
      args.push_back(std::move(rest));
    } else if (want[i].starts_with('{')) {
      args.emplace_back(path[i]);
    } else if (want[i] != path[i]) {
      return false;
    }
  }
  return true;
}

bool parse_id(const std::string& s, int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out > 0;
}

// A query parameter as a non-negative integer; `fallback` when absent.
bool query_number(const net::Request& req, const std::string& key, int64_t fallback, int64_t& out) {
  auto it = req.query.find(key);
  if (it == req.query.end()) {
    out = fallback;
    return true;
  }
  const std::string& v = it->second;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && p == v.data() + v.size() && out >= 0;
}

bool is_agent_path(std::string_view path) {
  return path == "/api/v1/agent" || path.starts_with("/api/v1/agent/");
}

net::Response unauthorized() {
  net::Response r =
      error(401, "unauthorized", "missing or unknown token (Authorization: Bearer TOKEN)");
  r.headers.push_back({"WWW-Authenticate", "Bearer realm=\"gantry\""});
  return r;
}

uint64_t content_length(const net::Request& head) {
  std::string v = head.header("content-length");
  uint64_t n = 0;
  std::from_chars(v.data(), v.data() + v.size(), n);
  return n;
}

}  // namespace

bool json_depth_ok(std::string_view body, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false, escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

Routes::Routes(const Authenticator& auth, AuditLog& audit, Engine& engine, RunService& runs,
               GateService& gates, ReleaseService& releases, AgentGateway& agents,
               const RepoWatcher* watcher, RouteLimits limits)
    : auth_(auth),
      audit_(audit),
      engine_(engine),
      runs_(runs),
      gates_(gates),
      releases_(releases),
      agents_(agents),
      watcher_(watcher),
      limits_(limits) {
  using P = Permission;
  const auto any = std::nullopt;  // the handler decides, and audits a refusal
  const auto global = Route::Scope::Global;
  const auto repo = Route::Scope::Repo;
  // A run id from the path, or 404; the run's repository must grant `need` to the caller (a run
  // they may not read is "no run", as if it did not exist).
  auto with_run = [this](Permission need, auto fn) {
    return [this, need, fn](const Call& c) {
      int64_t id = 0;
      if (!parse_id(c.args[0], id)) return error(404, "not_found", "no run '" + c.args[0] + "'");
      Result<std::string> owner = runs_.repo_of(id);
      if (!owner) return error_response(owner.error());
      if (!principal_allows_on(c.who, Permission::Read, *owner)) {
        audit_.refused(c.who, c.req.path, "may not read runs of this repository",
                       {{"method", c.req.method}});
        return error(404, "not_found", "no run " + std::to_string(id));
      }
      if (!principal_allows_on(c.who, need, *owner)) {
        const std::string why = "may not " + c.what + " of " +
                                (owner->empty() ? std::string("no configured repository")
                                                : "repository '" + *owner + "'");
        audit_.refused(c.who, c.req.path, why, {{"method", c.req.method}});
        return error(403, "forbidden", c.who.name + " " + why);
      }
      return fn(c, id);
    };
  };
  table_ = {
      {"GET", "/metrics", P::Read, global, "read metrics",
       [this](const Call&) { return metrics(); }},
      {"GET", "/api/v1/runs", P::Read, repo, "read runs",
       [this](const Call& c) { return runs_.list(c.req, c.who); }},
      {"POST", "/api/v1/runs", P::Trigger, repo,
       "trigger runs",  // on the repository, checked there
       [this](const Call& c) { return runs_.create(c.req, c.who); }},
      {"GET", "/api/v1/runs/{id}", P::Read, repo, "read runs",
       with_run(P::Read, [this](const Call&, int64_t id) { return runs_.show(id); })},
      {"POST", "/api/v1/runs/{id}/cancel", any, repo,
       "cancel runs",  // own runs, or the Cancel permission
       with_run(P::Read, [this](const Call& c, int64_t id) { return runs_.cancel(id, c.who); })},
      {"POST", "/api/v1/runs/{id}/retry", P::RetryOwn, repo,
       "retry runs",  // own runs, or the Retry permission
       with_run(P::Read,
                [this](const Call& c, int64_t id) { return runs_.retry(id, c.req, c.who); })},
      {"GET", "/api/v1/runs/{id}/log", P::Read, repo, "read logs",
       with_run(P::Read, [this](const Call& c, int64_t id) { return runs_.stage_log(id, c.req); })},
      {"GET", "/api/v1/runs/{id}/log/times", P::Read, repo, "read logs",
       with_run(P::Read, [this](const Call& c, int64_t id) { return runs_.log_times(id, c.req); })},
      {"GET", "/api/v1/runs/{id}/artifacts", P::Read, repo, "read artifacts",
       with_run(P::Read, [this](const Call&, int64_t id) { return runs_.list_artifacts(id); })},
      {"GET", "/api/v1/runs/{id}/tests", P::Read, repo, "read test results",
       with_run(P::Read,
                [this](const Call& c, int64_t id) { return runs_.list_tests(id, c.req); })},
      // docs/reports.md: publishHTML's reports, each file under a strict CSP; recordIssues'.
      {"GET", "/api/v1/runs/{id}/reports/{name}/{*path}", P::Read, repo, "read artifacts",
       with_run(P::Read,
                [this](const Call& c, int64_t id) {
                  return runs_.get_report(id, c.args[1], c.args[2]);
                })},
      {"POST", "/api/v1/runs/{id}/reports/{name}/link", P::Read, repo, "read artifacts",
       with_run(P::Read, [this](const Call& c, int64_t id) { return report_link(id, c.args[1]); })},
      {"GET", "/api/v1/runs/{id}/issues", P::Read, repo, "read test results",
       with_run(P::Read, [this](const Call&, int64_t id) { return runs_.list_issues(id); })},
      {"GET", "/api/v1/runs/{id}/artifacts/file", P::Read, repo, "read artifacts",
       with_run(P::Read,
                [this](const Call& c, int64_t id) { return runs_.get_artifact(id, c.req); })},
      {"GET", "/api/v1/approvals", P::Read, repo, "read approvals",
       [this](const Call& c) { return gates_.list(c.req, c.who); }},
      {"GET", "/api/v1/approvals/{id}", P::Read, repo, "read approvals",
       [this](const Call& c) { return gates_.show(c.args[0], c.who); }},
      {"POST", "/api/v1/approvals/{id}/approve", any, repo, "approve",  // the GMUD policy decides
       [this](const Call& c) { return gates_.decide(c.args[0], c.req, c.who, true); }},
      {"POST", "/api/v1/approvals/{id}/reject", any, repo, "reject",
       [this](const Call& c) { return gates_.decide(c.args[0], c.req, c.who, false); }},
      {"GET", "/api/v1/releases", P::Read, repo, "read releases",
       [this](const Call& c) { return releases_.list(c.req, c.who); }},
      {"GET", "/api/v1/releases/{id}", P::Read, repo, "read releases",
       [this](const Call& c) { return releases_.show(c.args[0], c.who); }},
      {"POST", "/api/v1/releases/{id}/rollback", any, repo, "roll back",  // Rollback, audited there
       [this](const Call& c) { return releases_.rollback(c.args[0], c.req, c.who); }},
      {"POST", "/api/v1/releases/{id}/promote", any, repo, "promote",  // Promote, audited there
       [this](const Call& c) { return releases_.steer(c.args[0], c.req, c.who, true); }},
      {"POST", "/api/v1/releases/{id}/abort", any, repo, "abort",  // Abort, audited there
       [this](const Call& c) { return releases_.steer(c.args[0], c.req, c.who, false); }},
      {"GET", "/api/v1/environments", P::Read, repo, "read environments",
       [this](const Call&) { return gates_.environments(); }},
      {"GET", "/api/v1/repos", P::Read, repo, "read repositories",
       [this](const Call& c) { return runs_.list_repos(c.who); }},
      {"GET", "/api/v1/repos/{name}/parameters", P::Read, repo, "read repositories",
       [this](const Call& c) { return runs_.repo_parameters(c.args[0], c.req, c.who); }},
      {"GET", "/api/v1/audit", P::Read, global, "read the audit log",
       [this](const Call& c) {
         int64_t after = 0, limit = 0;
         if (!query_number(c.req, "after", 0, after))
           return error(400, "bad_request", "after must be an entry id (a non-negative integer)");
         if (!query_number(c.req, "limit", 500, limit) || limit == 0)
           return error(400, "bad_request", "limit must be a positive integer");
         auto body = audit_.list_json(after, static_cast<size_t>(limit));
         if (!body) return error_response(body.error());
         net::Response r;
         r.body = std::move(*body);
         return r;
       }},
      {"GET", "/api/v1/audit/verify", P::Read, global, "read the audit log",
       [this](const Call&) {
         auto result = audit_.verify();
         if (!result) return error_response(result.error());
         // 200 either way: the request worked; its answer may be that the log is broken.
         net::Response r;
         r.body = audit_verification_json(*result);
         return r;
       }},
      {"GET", "/api/v1/locks", P::Read, repo, "read locks",
       [this](const Call&) {
         return locks_ ? locks_() : error(404, "not_found", "this controller keeps no locks");
       }},
      {"GET", "/api/v1/agents", P::Read, repo, "read agents",
       [this](const Call&) {
         net::Response r;
         r.body =
             agents_json(engine_.store().runs().agents(), engine_.scheduler().board().agents());
         return r;
       }},
  };
}

std::optional<net::Response> Routes::check_head(const net::Request& head) const {
  if (head.path == "/healthz" || head.path == "/livez" || head.path == "/" ||
      head.path.starts_with("/assets/"))
    return std::nullopt;
  // A report link carries its own signature; no body is read for it.
  if (head.path.starts_with("/reports/"))
    return content_length(head) > 0 ? std::optional(error(413, "too_large", "a GET has no body"))
                                    : std::nullopt;
  const uint64_t length = content_length(head);
  // Webhooks carry a signature, not a token: only their size is judged here.
  if (head.path == "/api/v1/hooks/git") {
    if (length > limits_.max_hook_body)
      return error(413, "too_large",
                   "a webhook body is at most " + std::to_string(limits_.max_hook_body) + " bytes");
    return std::nullopt;
  }
  std::string authorization = head.header("authorization");
  // The events WebSocket may carry its token in the query (browsers).
  if (authorization.empty() && head.path == "/api/v1/events") {
    auto t = head.query.find("token");
    if (t != head.query.end()) authorization = "Bearer " + t->second;
  }
  std::optional<Principal> who = auth_.authenticate(authorization);
  if (!who) return unauthorized();
  if (is_agent_path(head.path)) {
    if (!who->is_agent) return std::nullopt;  // refused (and audited) by handle()
    if (limits_.agent_client_cert && head.client_cert.empty()) {
      return error(403, "client_certificate_required",
                   "agents must present a TLS client certificate signed by the controller's "
                   "client_ca");
    }
    if (head.path.starts_with("/api/v1/agent/jobs/")) return agents_.admit_upload(head);
    return std::nullopt;
  }
  const size_t max = head.method == "POST" && head.path == "/api/v1/runs" ? limits_.max_run_body
                                                                          : limits_.max_body;
  if (length > max)
    return error(413, "too_large",
                 "a request body here is at most " + std::to_string(max) + " bytes");
  return std::nullopt;
}

namespace {

constexpr int64_t kReportLinkSeconds = 3600;

}  // namespace

net::Response Routes::report_link(int64_t run_id, const std::string& name) const {
  if (report_key_.empty()) return error(404, "not_found", "this controller makes no report links");
  const int64_t expires = engine_.now() / 1000 + kReportLinkSeconds;
  net::Response r;
  r.body = nlohmann::json{{"url", "/reports/" +
                                      report_link_token(report_key_, run_id, name, expires) + "/"},
                          {"expires_at", expires * 1000}}
               .dump();
  return r;
}

net::Response Routes::linked_report(const net::Request& req) {
  if (req.method != "GET") return error(405, "method_not_allowed", "use GET for a report");
  // /reports/TOKEN/PATH: the token names the run and report; PATH the file in it.
  const std::string rest = req.path.substr(std::string_view("/reports/").size());
  const size_t slash = rest.find('/');
  int64_t run_id = 0;
  std::string name;
  if (slash == std::string::npos ||
      !parse_report_link(report_key_, rest.substr(0, slash), engine_.now() / 1000, run_id, name))
    return error(404, "not_found", "no such report link (links expire after an hour)");
  std::string path = net::url_decode(rest.substr(slash + 1), false);
  if (path.empty()) path = "index.html";
  return runs_.get_report(run_id, name, path);
}

net::Response Routes::health() const {
  net::Response r;
  const bool ok = engine_.healthy();
  r.status = ok ? 200 : 503;
  r.body = health_json(ok, ok ? "" : "storage: " + engine_.failure().message, term_);
  return r;
}

net::Response Routes::handle(const net::Request& req) {
  if (req.path == "/healthz") return health();
  // Liveness, whatever the role (a follower answers it too, service/follower.cpp): the process
  // serves. /healthz is readiness: 200 on the leader with a healthy store.
  if (req.path == "/livez") return net::Response{200, "application/json", R"({"status":"ok"})"};
  if (req.path == "/" || req.path.starts_with("/assets/")) return serve_web(req);
  // Webhooks carry a signature, not a token (run_service.cpp).
  if (req.path == "/api/v1/hooks/git") {
    if (req.method != "POST") {
      net::Response r = error(405, "method_not_allowed", "use POST for " + req.path);
      r.headers.push_back({"Allow", "POST"});
      return r;
    }
    return runs_.git_hook(req);
  }
  if (req.path.starts_with("/reports/")) return linked_report(req);
  std::optional<Principal> who = auth_.authenticate(req.header("authorization"));
  if (!who) return unauthorized();
  if (is_agent_path(req.path)) {
    if (!who->is_agent) {
      audit_.refused(*who, req.path, "the agent endpoint needs an agent token",
                     {{"method", req.method}});
      return error(403, "forbidden", "the agent endpoint needs an agent token");
    }
    return agents_.files(req, *who);
  }
  if (who->is_agent) {
    audit_.refused(*who, req.path, "agent tokens open only the agent endpoint",
                   {{"method", req.method}});
    return error(403, "forbidden", "agent tokens open only the agent endpoint");
  }
  if (!req.body.empty() && !json_depth_ok(req.body, limits_.max_json_depth))
    return error(
        400, "bad_request",
        "the JSON body nests deeper than " + std::to_string(limits_.max_json_depth) + " levels");
  return dispatch(req, *who);
}

net::Response Routes::dispatch(const net::Request& req, const Principal& who) {
  std::vector<std::string_view> path = split_path(req.path);
  std::vector<std::string> args;
  std::string allowed;
  for (const Route& route : table_) {
    if (!match(route.pattern, path, args)) continue;
    if (route.method != req.method) {
      allowed += (allowed.empty() ? "" : ", ") + route.method;
      continue;
    }
    const bool allowed =
        !route.permission ||
        (route.scope == Route::Scope::Global ? principal_allows(who, *route.permission)
                                             : principal_allows_somewhere(who, *route.permission));
    if (!allowed) {
      audit_.refused(who, req.path, "may not " + route.what, {{"method", req.method}});
      return error(403, "forbidden", who.name + " may not " + route.what);
    }
    return route.handler(Call{req, who, args, route.what});
  }
  if (!allowed.empty()) {
    net::Response r =
        error(405, "method_not_allowed",
              req.method + " is not allowed on " + req.path + " (use " + allowed + ")");
    r.headers.push_back({"Allow", allowed});
    return r;
  }
  return error(404, "not_found", "no route for " + req.method + " " + req.path);
}

net::Response Routes::metrics() const {
  net::Response r;
  r.content_type = "text/plain; version=0.0.4";
  std::string& out = r.body;
  out += "# HELP gantry_runs Runs by status.\n# TYPE gantry_runs gauge\n";
  for (const auto& [status, n] : engine_.store().runs().run_counts_by_status())
    out += "gantry_runs{status=\"" + status + "\"} " + std::to_string(n) + "\n";
  out += engine_.metrics_text();
  for (const auto& source : metric_sources_) out += source();
  const Scheduler& scheduler = engine_.scheduler();
  out += "# HELP gantry_queue_depth Jobs waiting for an agent.\n# TYPE gantry_queue_depth gauge\n";
  out += "gantry_queue_depth " + std::to_string(scheduler.board().queue_depth()) + "\n";
  out += "# HELP gantry_jobs_running Jobs held by agents.\n# TYPE gantry_jobs_running gauge\n";
  out += "gantry_jobs_running " + std::to_string(scheduler.board().running_jobs()) + "\n";
  size_t connected = 0;
  for (const auto& [id, a] : scheduler.board().agents()) connected += a.connected ? 1 : 0;
  out +=
      "# HELP gantry_agents_connected Agents with a live session.\n# TYPE gantry_agents_connected "
      "gauge\n";
  out += "gantry_agents_connected " + std::to_string(connected) + "\n";
  out += "# HELP gantry_repo_fetch_failures Consecutive failed fetches of a watched repository.\n";
  out += "# TYPE gantry_repo_fetch_failures gauge\n";
  if (watcher_) {
    for (const RepoStatus& repo : watcher_->status()) {
      std::string label;  // Prometheus label value escaping
      for (char ch : repo.name)
        label += ch == '\n'                ? std::string("\\n")
                 : ch == '"' || ch == '\\' ? std::string("\\") + ch
                                           : std::string(1, ch);
      out += "gantry_repo_fetch_failures{repo=\"" + label + "\"} " + std::to_string(repo.failures) +
             "\n";
    }
  }
  return r;
}

}  // namespace gantry::controller
