#pragma once
// JSON bodies of the REST API (/api/v1): runs, stages, agents, artifacts,
// errors, and the run-creation request. nlohmann_json stays in api_json.cpp.
// Pure functions.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gantry/net/http_server.hpp"
#include "scheduler/scheduler.hpp"
#include "service/repo_watcher.hpp"
#include "store/store.hpp"

namespace gantry::controller {

// A query parameter ("" when absent), and one as a number (`fallback` when
// absent or not a number).
std::string query(const net::Request& req, const std::string& key);
uint64_t query_u64(const net::Request& req, const std::string& key, uint64_t fallback);

std::string error_json(const std::string& code, const std::string& message);
// A JSON error response: {"error":{"code","message"}} with this status.
net::Response error(int status, const std::string& code, const std::string& message);
// GET /healthz: {"status":"ok"} or {"status":"unhealthy","reason":...}.
// /healthz: {"status": "ok"|"unhealthy", "role": "leader", "term" (controllers sharing
// PostgreSQL; absent on SQLite)}.
std::string health_json(bool ok, const std::string& reason, int64_t term = 0);
// A single run (with `stages`) may carry its links: the run that started it through a build
// step or an upstream trigger, and the runs its build steps started.
struct RunLinks {
  std::optional<RunRecord> upstream;
  std::vector<RunRecord> downstream;
};
std::string run_json(const RunRecord& run, const std::vector<StageRecord>* stages,
                     const RunLinks* links = nullptr);
std::string runs_json(const std::vector<RunRecord>& runs);
std::string repos_json(const std::vector<RepoStatus>& repos);
std::string agents_json(const std::vector<AgentRecord>& stored,
                        const std::map<std::string, AgentState>& live);
std::string artifacts_json(const std::vector<ArtifactRecord>& artifacts);
// GET /api/v1/runs/{id}/tests: the cases of the stages' test reports (`reports`: a stage id and
// the report's JSON text, agent/runner/junit.hpp), failed first, then skipped, then passed, in
// stage order; `status` ("" for all) filters, at most `limit` cases are listed and the rest
// counted in "omitted". A report that does not parse is counted in "unreadable".
std::string tests_json(const RunRecord& run,
                       const std::vector<std::pair<std::string, std::string>>& reports,
                       const std::string& status, size_t limit);

struct CreateRunRequest {
  std::string repo;    // URL or path; empty with inline source
  std::string ref;     // branch, tag or commit; default HEAD
  std::string file;    // pipeline path in the repo
  std::string source;  // inline pipeline (gantry run, tests)
  std::string format;  // with source: "jenkinsfile" | "yaml"
  std::string job;     // job name; default from repo or "pipeline"
  std::map<std::string, std::string> params;
};
// False with a message when the body is not a valid request.
bool parse_create_run(const std::string& body, CreateRunRequest& out, std::string& error);

}  // namespace gantry::controller
