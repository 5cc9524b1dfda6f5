#pragma once
// Runs one job on the agent: the steps of one stage of a pipeline (found by
// its plan id in JobSpec.stage_id) followed by the stage's post blocks, or,
// for an empty stage_id, the pipeline's post section. Steps run as Jenkins
// runs them (SPEC §4): `sh` in `/bin/sh -e -c` in the workspace, block steps
// (dir, withEnv, withCredentials, timeout, retry, catchError, ...) around
// their bodies, `script { }` through the expression subset. Every byte of
// output and every runner message ("[gantry] + make build") goes to the
// job's spool.
//
// Not responsible for checking out the workspace, building the spool (see
// job_secrets() for what it must mask), evaluating `environment` blocks or
// `when` (the controller puts the results in JobSpec.env and only dispatches
// stages that run), or talking to the controller (JobHost).
//
// Threading: run() blocks on the calling thread (the job's own); cancel() may
// be called from any thread at any time and returns at once. A JobRunner runs
// once. The spec, spool and host must outlive it.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "container_engine.hpp"
#include "gantry/protocol/messages.hpp"
#include "process.hpp"
#include "spool.hpp"

namespace gantry::git {
class GitCache;
}

namespace gantry::agent {

// An `input` step's question to the controller, and its answer so far.
struct InputQuestion {
  std::string id, message, ok, submitter, submitter_parameter;
  // What the approver fills in (string, text, booleanParam, choice, password).
  struct Parameter {
    std::string name, type, default_value, description;
    std::vector<std::string> choices;
    bool trim = false;  // string and text: the value is trimmed on its way back
  };
  std::vector<Parameter> parameters;
};
struct InputReply {
  std::string status;  // pending | approved | rejected | expired | cancelled | error
  std::string name;    // INPUT-<n>
  std::string approver, reason;
  std::map<std::string, std::string> values;  // approved: each parameter's value
};

// What the runner needs from outside: implemented by the agent over HTTP to
// the controller, by tests in memory. Called on the runner's thread.
class JobHost {
 public:
  virtual ~JobHost() = default;
  virtual bool upload_artifact(const std::string& rel_path, const std::string& abs_path,
                               std::string& error) = 0;
  virtual bool upload_stash(const std::string& name, const std::string& tar_path,
                            std::string& error) = 0;
  virtual bool download_stash(const std::string& name, const std::string& tar_path,
                              std::string& error) = 0;
  // Hands over a `junit` step's cases (junit.hpp's tests_report_json), kept with the run.
  virtual bool upload_tests(const std::string& report_path, std::string& error) = 0;
  // publishHTML (docs/reports.md): one file of report `name` at `rel_path` inside it, then,
  // once all are up, the report's description (JSON: title, entry files, count, bytes).
  virtual bool upload_report_file(const std::string& name, const std::string& rel_path,
                                  const std::string& abs_path, std::string& error) {
    (void)name;
    (void)rel_path;
    (void)abs_path;
    error = "this agent has no controller to keep reports";
    return false;
  }
  virtual bool upload_report_index(const std::string& name, const std::string& index_path,
                                   std::string& error) {
    (void)name;
    (void)index_path;
    error = "this agent has no controller to keep reports";
    return false;
  }
  // A recordIssues step's summary (issues.hpp's issues_report_json), kept with the run.
  virtual bool upload_issues(const std::string& id, const std::string& report_path,
                             std::string& error) {
    (void)id;
    (void)report_path;
    error = "this agent has no controller to keep issues";
    return false;
  }
  // For each top-level step (and each step of a post block): "started", then
  // "succeeded" or "failed".
  virtual void step_event(const std::string& step, const std::string& state) = 0;
  // Opens (or, asked again, reads) the change request of an `input` step.
  // Does not wait: the step asks again until the answer is final.
  virtual InputReply ask_input(const InputQuestion& question) = 0;
  // A metric's samples from a Prometheus-style HTTP query result (the values
  // of every series of `data.result`), for compareMetrics.
  virtual bool fetch_samples(const std::string& url, std::vector<double>& out,
                             std::string& error) = 0;
  // A mail, emailext or slackSend step's message for the controller's notification channels
  // (the host fills in job_id and epoch). Does not wait for the delivery: the step asks again
  // with the same seq until the answer is final. Status "error": the controller could not be
  // asked (ask again).
  virtual protocol::NotifyReply notify(const protocol::Notify& message) {
    (void)message;
    return {"refused", "this agent has no controller to send notifications through"};
  }
  // The lock and milestone steps ask the controller (`kind`: "lock", "milestone"; `body`
  // JSON). Returns the answer's JSON, or false with `error` ("refused: ..." when the controller
  // said no, anything else when it could not be asked: ask again).
  virtual bool coordinate(const std::string& kind, const std::string& body, std::string& answer,
                          std::string& error) {
    (void)kind;
    (void)body;
    (void)answer;
    error = "refused: this agent has no controller to hold locks and milestones";
    return false;
  }
};

struct JobOutcome {
  // What the job makes of the run's result: SUCCESS, UNSTABLE, FAILURE or
  // ABORTED. Not combined with JobSpec.current_result: the controller does.
  std::string result;
  // The stage's own result for display; differs from `result` only when
  // catchError(buildResult:, stageResult:) set them apart.
  std::string stage_result;
  std::string reason;  // "script returned exit code 2", "timeout after 5s", ...
  protocol::TestCounts tests;
  bool inconclusive = false;  // the failure was an analysis short of samples
  // What the job's Groovy set for later jobs (protocol::Finish's fields of the same names).
  std::map<std::string, std::string> env_changes;
  std::string script_state;
  std::string description;
  std::string display_name;
};

// The strings the job's spool must mask: spec.secrets' and spec.credentials'
// values, plus the password half of "user:password" credentials (a
// usernamePassword binding exposes it alone).
std::vector<std::string> job_secrets(const protocol::JobSpec& spec);

class JobControl;

class JobRunner {
 public:
  // `workspace`: an existing directory, already checked out.
  JobRunner(const protocol::JobSpec& spec, std::string workspace, Spool& spool, JobHost& host);
  ~JobRunner();
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  // Blocking. Never throws: an internal error is a FAILURE with its message.
  // Leaves the spool flushed; making it durable is the caller's (Spool::sync,
  // with the outcome).
  JobOutcome run();

  // From any thread. Stops the running step (its process tree gets SIGTERM,
  // then SIGKILL after `grace`), runs no further step, then the stage's post
  // blocks that apply to ABORTED; the result is ABORTED with `reason`.
  // `fenced` (the agent lost its lease): kill everything now and run nothing
  // more, reason "fenced: lease lost".
  void cancel(const std::string& reason, std::chrono::milliseconds grace, bool fenced = false);

  // The GANTRY_JOB_COOKIE every process of this job carries; the agent keeps
  // it on disk to kill leftovers after a crash (signal_cookie_holders).
  const std::string& cookie() const { return cookie_; }
  // Every process of the job runs as this user (the agent's job_user); its temporary files
  // (ws@tmp, credential files) are given to it. Before run().
  void set_run_as(std::optional<RunAs> run_as) { run_as_ = run_as; }
  // The agent's tools ("TYPE:NAME" -> home), for the job's `tools { }` and `tool` steps;
  // `from_path`: one not listed is looked up on PATH (gantry run). Before run().
  void set_tools(std::map<std::string, std::string> tools, bool from_path) {
    tools_ = std::move(tools);
    tools_from_path_ = from_path;
  }
  // The agent's container engine (null: none) for docker, dockerfile and kubernetes
  // stages, and the agent's id, which labels the job's containers. Before run().
  void set_containers(std::shared_ptr<const ContainerEngine> engine, std::string agent_id) {
    engine_ = std::move(engine);
    agent_id_ = std::move(agent_id);
  }
  // The agent's mirror cache (git_cache.hpp), for the `git` and `checkout` steps; it must
  // outlive run(). Null: those steps fail saying the agent has none. Before run().
  void set_git(git::GitCache* git) { git_ = git; }

 private:
  const protocol::JobSpec& spec_;
  std::string workspace_;
  Spool& spool_;
  JobHost& host_;
  std::string cookie_;
  std::unique_ptr<JobControl> control_;
  std::optional<RunAs> run_as_;
  std::map<std::string, std::string> tools_;
  bool tools_from_path_ = false;
  std::shared_ptr<const ContainerEngine> engine_;
  std::string agent_id_;
  git::GitCache* git_ = nullptr;
};

}  // namespace gantry::agent
