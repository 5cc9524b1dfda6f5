#pragma once
// The records the controller keeps: runs, their stages, agents, artifacts.
// Plain values shared by the scheduler (which changes them) and the store
// (which persists them); no SQLite here. Times are unix milliseconds, 0 when
// unset.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gantry::controller {

// One commit of a run's change range (the commits since the last run of its
// branch), as the `changeset`/`changelog` conditions and the API see them.
struct ChangeRecord {
  std::string sha, author, author_email, committer, committer_email;
  std::string message;  // full message
  int64_t time = 0;     // committer time, unix seconds
  std::vector<std::string> paths;
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
  std::string status = "queued";  // queued|waiting|running|succeeded|failed|unstable|aborted
  std::string reason;             // why it ended, e.g. "agent lost"
  std::string created_by;
  int64_t created_at = 0, started_at = 0, finished_at = 0;
  bool cancel_requested = false;
  int64_t tests_total = 0, tests_failed = 0, tests_skipped = 0;
};

// One per plan node (stages, groups, parallel blocks, matrix cells) and one
// for the pipeline's post section.
struct StageRecord {
  int64_t run_id = 0;
  std::string stage_id;  // plan id, "Test / Unit"
  std::string name;
  int order = 0;
  std::string status =
      "queued";       // queued|waiting|running|succeeded|failed|unstable|aborted|skipped
  std::string agent;  // agent name of the current attempt
  int attempts = 0;
  std::string job_id;
  uint64_t epoch = 0;
  std::string reason;
  int64_t started_at = 0, finished_at = 0;
  uint64_t log_bytes = 0;
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
