#pragma once
// The records the controller keeps: runs, their stages, agents, artifacts.
// Plain values shared by the scheduler (which changes them) and the store
// (which persists them); no SQLite here. Times are unix milliseconds, 0 when
// unset.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gantry/common/states.hpp"

namespace gantry::controller {

// One commit of a run's change range (the commits since the last run of its
// branch), as the `changeset`/`changelog` conditions and the API see them.
struct ChangeRecord {
  std::string sha, author, author_email, committer, committer_email;
  std::string message;  // full message
  int64_t time = 0;     // committer time, unix seconds
  std::vector<std::string> paths;
};

// Someone who set a change going besides its run's trigger: a pusher a
// webhook named, or the trigger of a run it retries. Never approves it.
struct InstigatorRecord {
  std::string name, email;  // either may be empty
  std::string what;         // "pushed 3f2a1c0", "triggered run 12, which this run retries"
};

struct RunRecord {
  int64_t id = 0;        // assigned by the store
  std::string job_name;  // repository or pipeline name; `number` counts per job_name
  int64_t number = 0;
  std::string repo_url, ref, commit, author, trigger;
  std::string repo_name;  // the configured repository; empty for a URL or an inline pipeline
  std::string author_email;
  std::string previous_commit;             // base of `changes`: the last run's commit
  std::string previous_successful_commit;  // GIT_PREVIOUS_SUCCESSFUL_COMMIT
  std::vector<ChangeRecord> changes;       // newest first
  std::string pipeline_path, pipeline_source, pipeline_format;  // "jenkinsfile" | "yaml"
  std::map<std::string, std::string> params;
  RunStatus status = RunStatus::Queued;
  std::string reason;  // why it ended, e.g. "agent lost"
  std::string created_by;
  int64_t created_at = 0, started_at = 0, finished_at = 0;
  bool cancel_requested = false;
  int64_t tests_total = 0, tests_failed = 0, tests_skipped = 0;
  // A rollback run (gantry rollback R): the release, and its deploy stage
  // whose rollback steps are all the run does.
  int64_t rollback_of = 0;
  std::string rollback_stage;
  int64_t retry_of = 0;  // the run this one retries (gantry retry), 0: none
  // A restart of retry_of from this top-level stage (Jenkins' "Restart from Stage"): the stages
  // before it are skipped, and their stashes are read from the run restarted.
  std::string restart_stage;
  std::vector<InstigatorRecord> pushers;  // who pushed its commit(s), as webhooks named them
  // What the run's Groovy left for its later jobs (docs/groovy.md): `env.X = ...`
  // assignments, the script variables (JSON, groovy.hpp's encode_variables), and
  // currentBuild's description and display name.
  std::map<std::string, std::string> script_env;
  std::string script_state;
  std::string description;
  std::string display_name;
  // The shared libraries the run loaded, each pinned to a commit, with their
  // files (pipelines/libraries.hpp's JSON); "" for none.
  std::string libraries;
  // A run of a pull or merge request (issue 21, docs/forges.md): Jenkins' multibranch
  // variables by name (CHANGE_ID, CHANGE_URL, CHANGE_TITLE, CHANGE_AUTHOR,
  // CHANGE_AUTHOR_DISPLAY_NAME, CHANGE_AUTHOR_EMAIL, CHANGE_TARGET, CHANGE_BRANCH, CHANGE_FORK);
  // empty for any other run. A non-empty CHANGE_FORK: the change comes from another
  // repository, and its run gets no secret and no gated deploy.
  std::map<std::string, std::string> change_request;
  bool from_fork() const {
    auto it = change_request.find("CHANGE_FORK");
    return it != change_request.end() && !it->second.empty();
  }
  // A run the `build` step of another run started (trigger "upstream"): that run and stage.
  // Its downstream runs are found by this link (RunStore::downstream_of).
  int64_t upstream_run = 0;
  std::string upstream_stage;
};

// One per plan node (stages, groups, parallel blocks, matrix cells) and one
// for the pipeline's post section.
// A deploy stage's way through its phases (docs/releases.md): a canary's
// weights, each with its steps, pause and analysis, then a rollback when it
// fails or is aborted. Stored with the stage, and written before the next
// phase's job is handed out, so a restarted controller goes on at the same
// weight and phase.
struct Rollout {
  CanaryPhase phase = CanaryPhase::None;
  int weight = 0;                        // index into the canary's weights
  int failures = 0;                      // failed analyses so far
  int tries = 0;                         // attempts at the current phase (options { retry })
  int64_t until = 0;                     // the end of a timed pause (unix ms)
  std::string abort;                     // why it rolls back (analysis failed, aborted by whom)
  std::string result;                    // the stage's result, once decided: SUCCESS, FAILURE, ...
  std::string reason;                    // and why
  std::optional<ReleaseStatus> outcome;  // for its release, once decided
};

// One live event (docs/events.md): `body` is its JSON object without the
// id. A log event's bytes are not in it: log_* say which bytes of which
// attempt's log it carries.
struct EventRecord {
  int64_t id = 0;
  int64_t run_id = 0;
  std::string body;
  std::string log_stage;
  int log_attempt = 0;
  uint64_t log_offset = 0, log_length = 0;
};

struct StageRecord {
  int64_t run_id = 0;
  std::string stage_id;  // plan id, "Test / Unit"
  std::string name;
  int order = 0;
  RunStatus status = RunStatus::Queued;
  std::string agent;  // agent name of the current attempt
  int attempts = 0;
  std::string job_id;
  uint64_t epoch = 0;
  std::string reason;
  int64_t started_at = 0, finished_at = 0;
  uint64_t log_bytes = 0;
  // Gates passed ("gmud", "input", "release") and the variables they gave
  // the steps (an input's parameters, RELEASE_ID), and a deploy's phase;
  // stored as JSON in stages.progress.
  std::set<GateKind> gates;
  std::map<std::string, std::string> gate_values;
  Rollout rollout;
  // What each attempt was, by attempt number - 1, where it was more than a try: a deploy's
  // phases ("deploy 10%", "analysis 10%", "rollback", "post"). Empty otherwise.
  std::vector<std::string> attempt_names;
};

struct AgentRecord {
  std::string agent_id, name;
  std::vector<std::string> labels;
  int executors = 1;
  int64_t last_seen = 0;
  std::string token_name;
};

struct ArtifactRecord {
  int64_t run_id = 0;
  std::string kind;  // artifact | stash
  std::string name;  // relative path or stash name
  std::string stage_id;
  uint64_t size = 0;
  std::string file;  // where it lies on disk
  int64_t created_at = 0;
};

}  // namespace gantry::controller

namespace gantry::controller {

// One decision on a change request. `values`: an input gate's parameter
// values as the approver gave them.
struct DecisionRecord {
  std::string user;
  bool approve = true;
  std::string comment;
  int64_t at = 0;
  std::map<std::string, std::string> values;
};

// A change request: a GMUD (a deploy to an environment with a gmud policy)
// or a Jenkins `input` gate. Ids are shown as GMUD-<id> or INPUT-<id>.
struct ApprovalRecord {
  int64_t id = 0;                  // assigned by the store
  GateKind kind = GateKind::Gmud;  // gmud | input
  int64_t run_id = 0;              // with stage_id: the gated stage
  std::string stage_id, environment, repo, commit;
  ApprovalStatus status = ApprovalStatus::Pending;
  std::string title, impact, rollback_plan;   // from the stage's gmud block
  std::string message, submitter;             // input: its message, submitter list, ok text
  std::string parameters;                     // input: the parameter definitions (JSON)
  int required = 1;                           // approvals needed
  std::string triggered_by;                   // the user who started the run ("" for a push)
  std::string range_base;                     // the commit the range counts from ("" = unknown)
  int64_t base_release = 0;                   // the release range_base is (0: none)
  std::string range_unknown;                  // why the range is not known in full (it blocks)
  std::vector<ChangeRecord> changes;          // the commits it ships (paths not kept)
  std::vector<InstigatorRecord> instigators;  // ineligible besides triggered_by
  // The run's parameters when the request opened (password ones masked):
  // what an approval approves. A run whose parameters differ needs its own.
  std::map<std::string, std::string> run_parameters;
  int64_t requested_at = 0, expires_at = 0, decided_at = 0;
  std::string reason;  // why it ended: "rejected by bob: ...", "expired", ...
  std::map<std::string, std::string> values;  // input: the accepted parameter values
  std::vector<DecisionRecord> decisions;      // by time
};

// One entry of the append-only audit log. `hash` is the SHA-256 of the
// entry's canonical JSON, which includes `prev_hash` (controller/audit.hpp).
struct AuditRecord {
  int64_t id = 0;
  int64_t at = 0;
  std::string actor, action, subject;
  std::map<std::string, std::string> details;
  std::string prev_hash, hash;
};

}  // namespace gantry::controller

namespace gantry::controller {

// A deploy (SPEC §8): made when a deploy stage starts, shown as R-<id>. Its
// environment's current release is the newest one that succeeded.
struct ReleaseRecord {
  int64_t id = 0;
  std::string environment;
  int64_t run_id = 0;
  std::string stage_id, repo, commit;
  std::string strategy = "direct";  // direct | canary
  int64_t previous = 0;             // the release it replaces (0: none)
  int64_t gmud = 0;                 // the GMUD that allowed it (0: none)
  ReleaseStatus status = ReleaseStatus::InProgress;
  std::string reason;
  int64_t created_at = 0, finished_at = 0;
  int64_t rollback_run = 0;    // the run rolling it back (one at a time)
  std::string rolled_back_by;  // who asked
};

}  // namespace gantry::controller
