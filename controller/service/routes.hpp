#pragma once
// The REST API's route table (SPEC §10): every route with the permission it
// needs, on one screen (routes.cpp, Routes::Routes), so who may do what is
// visible at once. Routing is by method and path pattern; authentication
// comes first (a missing or unknown token: 401), then the permission (403,
// audited and rate-limited), then the handler of the service that owns the
// resource. Agent tokens open only /api/v1/agent/.
//
// Also the door: check_head() judges a request from its head alone, before
// the server reads a byte of its body (a missing token, an upload for a job
// the agent does not hold, a body past the route's size); and every JSON
// body is checked for depth before any parser sees it.
//
// Threading: the loop thread.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth.hpp"
#include "gantry/net/http_server.hpp"

namespace gantry::controller {

class AuditLog;
class Engine;
class RunService;
class GateService;
class ReleaseService;
class AgentGateway;
class RepoWatcher;
struct Config;

// The operators' web page: GET / and /assets/NAME, no token (web_page.cpp).
net::Response serve_web(const net::Request& req);

struct RouteLimits {
  size_t max_json_depth = 64;
  size_t max_body = size_t{64} << 10;      // most API bodies
  size_t max_run_body = size_t{4} << 20;   // POST /api/v1/runs (inline pipelines)
  size_t max_hook_body = size_t{5} << 20;  // webhooks (signed, no token)
  // Mutual TLS for agents (`tls: {client_ca}`): agent paths need a verified client certificate.
  bool agent_client_cert = false;
};

class Routes {
 public:
  struct Call {
    const net::Request& req;
    const Principal& who;
    const std::vector<std::string>& args;  // the pattern's {placeholders}, in order
    const std::string& what;               // the route's, for messages
  };
  using Handler = std::function<net::Response(const Call&)>;
  struct Route {
    std::string method;
    std::string pattern;  // "/api/v1/runs/{id}/log"
    // nullopt: any user (the handler checks, e.g. cancel-own, approvers).
    std::optional<Permission> permission;
    // Repo: the permission may come from a role granted on some repository (SPEC §9); the
    // handler then shows or acts only on resources of repositories where it holds. Global: the
    // global role must have it (the audit log, metrics).
    enum class Scope { Global, Repo } scope = Scope::Repo;
    std::string what;  // "read runs": the 403 says "NAME may not read runs"
    Handler handler;
  };

  Routes(const Authenticator& auth, AuditLog& audit, Engine& engine, RunService& runs,
         GateService& gates, ReleaseService& releases, AgentGateway& agents,
         const RepoWatcher* watcher, RouteLimits limits = {});

  net::Response handle(const net::Request& req);
  // Before the body is read: a Response refuses the request.
  std::optional<net::Response> check_head(const net::Request& head) const;
  const std::vector<Route>& table() const { return table_; }

  // GET /api/v1/locks: the lockable resources, who holds each and who waits.
  void set_locks(std::function<net::Response()> list) { locks_ = std::move(list); }
  // The key report links are signed with (auth.hpp, report_link_token); none: no links.
  void set_report_key(std::string key) { report_key_ = std::move(key); }
  // Controllers sharing PostgreSQL (docs/ha.md): this one leads at `term`; /healthz says so.
  void set_term(int64_t term) { term_ = term; }
  // More /metrics text from a part of the service (commit statuses, notifications).
  void add_metrics(std::function<std::string()> source) {
    metric_sources_.push_back(std::move(source));
  }

 private:
  std::vector<std::function<std::string()>> metric_sources_;
  int64_t term_ = 0;  // 0: one controller on SQLite
  std::function<net::Response()> locks_;
  std::string report_key_;
  // POST /api/v1/runs/ID/reports/NAME/link; GET /reports/TOKEN/PATH (no API token: the link's).
  net::Response report_link(int64_t run_id, const std::string& name) const;
  net::Response linked_report(const net::Request& req);
  net::Response dispatch(const net::Request& req, const Principal& who);
  net::Response metrics() const;
  net::Response health() const;

  const Authenticator& auth_;
  AuditLog& audit_;
  Engine& engine_;
  RunService& runs_;
  GateService& gates_;
  ReleaseService& releases_;
  AgentGateway& agents_;
  const RepoWatcher* watcher_;
  RouteLimits limits_;
  std::vector<Route> table_;
};

// Whether `body` nests JSON arrays and objects at most `max_depth` deep
// (strings skipped). O(n), no allocation: run before any parser.
bool json_depth_ok(std::string_view body, size_t max_depth);

}  // namespace gantry::controller
