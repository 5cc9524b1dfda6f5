#pragma once
// Runs: creating them (an inline pipeline, a repository at a ref, a push or
// cron trigger, a retry), listing and showing them, cancelling, their logs
// and artifacts; the watched repositories' status and push webhooks. Every
// git-started run takes one path, launch(). Sizes are checked at the door:
// a pipeline or parameter set that could not travel to an agent in one
// message is refused here with 422, never discovered as "agent lost".
// A store failure answers 503 with its reason and changes nothing.
//
// Depends on the engine (write-ahead), the store, the audit log and, for
// runs from git, the git reader and the repository watcher (both optional:
// tests drive inline runs without them). Threading: the loop thread.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth.hpp"
#include "config.hpp"
#include "gantry/net/http_server.hpp"
#include "service/audit_log.hpp"
#include "service/engine.hpp"
#include "webhook.hpp"

namespace gantry::controller {

class CommitStatus;
class ChangePoller;

class GitReader;
class RepoWatcher;
struct ResolvedPipeline;
struct RepoTrigger;
struct CreateRunRequest;

// What one run may carry (SPEC §11: sizes bounded at the door).
struct RunLimits {
  size_t max_param_value = size_t{64} << 10;  // one parameter's value
  size_t max_params_total = size_t{1} << 20;  // names and values, all of them
  size_t max_params = 500;
  // The pipeline and parameters travel to the agent in one assignment
  // message (protocol::kMaxTextFrame), JSON-escaped, with the environment
  // and secrets the controller adds: this much of the frame is theirs.
  size_t max_assignment_payload = (size_t{1} << 20) - (size_t{128} << 10);
};

// Whether `run` is `who`'s own: started by them, or by their push (pusher, or author e-mail).
bool owns_run(const Principal& who, const RunRecord& run);

class RunService {
 public:
  RunService(Engine& engine, Store& store, AuditLog& audit, const Config& config,
             RunLimits limits = {});
  void set_git(GitReader* git, RepoWatcher* watcher) {
    git_ = git;
    watcher_ = watcher;
  }

  // The API (routes.cpp says who may call which).
  net::Response create(const net::Request& req, const Principal& who);
  net::Response list(const net::Request& req, const Principal& who);  // the runs `who` may read
  net::Response show(int64_t id);
  net::Response cancel(int64_t id, const Principal& who);
  // Body (optional): {"from_stage": NAME} or {"failed": true}: a restart from a top-level stage.
  net::Response retry(int64_t id, const net::Request& req, const Principal& who);
  net::Response stage_log(int64_t id, const net::Request& req);
  // GET .../log/times?stage=&attempt=: when the log's bytes arrived, {"marks": [[OFFSET, MS]]},
  // one mark a second at most (log_ingest.hpp), for the page's timestamps.
  net::Response log_times(int64_t id, const net::Request& req);
  net::Response list_artifacts(int64_t id);
  net::Response get_artifact(int64_t id, const net::Request& req);
  // ?status=failed|skipped|passed, ?limit=N (1..5000, default 1000): api_json.hpp's tests_json.
  net::Response list_tests(int64_t id, const net::Request& req);
  // run_reports.cpp (docs/reports.md): GET .../reports/{name}/{path...}, a publishHTML report's
  // file under a strict Content-Security-Policy; GET .../issues, the recordIssues summaries.
  net::Response get_report(int64_t id, const std::string& name, const std::string& path);
  net::Response list_issues(int64_t id);
  // The run's JSON with its "reports" and "issues" (reports_json.hpp) added.
  std::string with_reports(std::string run_json, int64_t id);
  net::Response list_repos(const Principal& who);
  // GET /api/v1/repos/{name}/parameters?branch=B: the parameters the pipeline declares at the
  // branch's head (as last fetched), for the page's start form. The file is read off the loop
  // and kept by commit: the first answer for a commit may be {"pending": true}, to ask again.
  net::Response repo_parameters(const std::string& name, const net::Request& req,
                                const Principal& who);
  // The configured repository a run belongs to ("" for inline and URL runs), which decides who
  // may see and act on it (SPEC §9); NotFound when there is no such run.
  Result<std::string> repo_of(int64_t id);
  // " (configured: app, billing)": for messages about a repository name that is not one.
  // Only those `who` may read, when given.
  std::string known_repos(const Principal* who = nullptr) const;
  // Commit statuses (forge:), whose counts GET /api/v1/repos shows.
  void set_statuses(const CommitStatus* statuses) { statuses_ = statuses; }
  net::Response git_hook(const net::Request& req);  // signed, no token
  // A pull or merge request's delivery, its signature checked, or a change the forge's list
  // showed (`via` "poll"; docs/forges.md): opened, synchronize and reopened start a run of the
  // change unless its head is the one last built; closed cancels its waiting runs.
  net::Response change_request(const RepositoryConfig& repo, const PushEvent& event,
                               const char* via = "webhook");
  // The polling of change requests, whose state GET /api/v1/repos shows.
  void set_change_poller(const ChangePoller* changes) { changes_ = changes; }

  // Runs from git (the repository watcher's hooks).
  void start_triggered(const RepoTrigger& t);
  std::string base_commit(const std::string& job_name);
  // Fills the run from its pipeline at a commit and starts it (or fails it
  // with the lint errors); a waiting run of the same branch takes the newer
  // commit instead of a second run being queued.
  void launch(RunRecord run, const ResolvedPipeline& p);

  // The `build` step (run_downstream.cpp): POST /api/v1/agent/jobs/JOB/build from a job of
  // `upstream`, to start a run of another job, ask how it goes, or cancel it.
  net::Response build_step(const Job& job, const RunRecord& upstream, const std::string& body);
  // The `upstream` trigger: `finished` ended; start the jobs whose pipelines name it.
  void upstream_finished(const RunRecord& finished);

  // Why this pipeline and these parameters cannot be sent (empty: they can).
  std::string oversize(const std::string& source,
                       const std::map<std::string, std::string>& params) const;

 private:
  struct DownstreamJob {
    const RepositoryConfig* repo = nullptr;
    std::string ref;  // full ref
  };
  // A `build job:` name, as Jenkins resolves item names, relative to `from`'s job.
  bool resolve_job(const std::string& name, const RunRecord& from, DownstreamJob& out,
                   std::string& why) const;
  // A stage record of run `id`, live or stored; NotFound names the stage.
  Result<StageRecord> stage_of(int64_t id, const std::string& stage);
  // Why `who` (not an admin) may not start this run: an inline pipeline, or a URL that is neither
  // a configured repository nor under allowed_run_urls. Empty: allowed.
  std::string unconfigured_refusal(const CreateRunRequest& c) const;
  // `run` as the API shows it: its password parameters' values masked (SPEC §9), read from
  // `pipeline` or, without one, from the run's own source.
  static RunRecord shown(RunRecord run, const pipelines::Pipeline* pipeline);
  // Whether an inline pipeline loads shared libraries (so must be resolved on a git worker).
  bool needs_libraries(const RunRecord& run) const;
  void audit_webhook_refusal(const std::string& repo, const std::string& remote,
                             const std::string& why);
  // Pushers that webhooks named, by "repo ref", until a push run of that
  // ref takes them (bounded: a burst names at most kMaxPushers each).
  void remember_pusher(const std::string& repo, const PushEvent& event);
  std::vector<InstigatorRecord> take_pushers(const std::string& repo, const std::string& ref);
  // The head of change `label` ("PR-7") last built, kept in the store (forge_changes.hpp); an
  // empty `sha` forgets the change.
  void record_change_head(const std::string& repo, const std::string& label,
                          const std::string& sha);

  Engine& engine_;
  Store& store_;
  AuditLog& audit_;
  const Config& config_;
  RunLimits limits_;
  GitReader* git_ = nullptr;
  RepoWatcher* watcher_ = nullptr;
  const CommitStatus* statuses_ = nullptr;
  const ChangePoller* changes_ = nullptr;
  static constexpr size_t kMaxChangeHeads = 1000;  // per repository
  int64_t refusal_window_start_ = 0;               // audited webhook refusals, per minute
  int refusals_in_window_ = 0;
  int refusals_suppressed_ = 0;
  std::map<std::string, std::vector<InstigatorRecord>> pushers_;
  // The runs `build` steps started, by (upstream run, the step's key): an agent that asks again
  // after a lost answer gets the same run.
  std::map<std::pair<int64_t, std::string>, int64_t> started_by_key_;
  // Parameters by "url commit file" (repo_parameters): {"parameters", "error"?}, or null while
  // being read.
  std::map<std::string, nlohmann::json> declared_params_;
  static constexpr size_t kMaxDeclaredParams = 256;
  static constexpr uint64_t kMaxLineCountBytes = uint64_t{16} << 20;
};

// An error response for a failed Result: the code's HTTP status (404, 409,
// 413, 422, 503...) and the message.
net::Response error_response(const Error& e);

}  // namespace gantry::controller
