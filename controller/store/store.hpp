#pragma once
// The controller's durable state: runs, stages, agents and artifacts in one
// SQLite file, `<data_dir>/gantry.db` (the default), or in a PostgreSQL
// database (`database:` in the config, docs/ha.md), plus the layout of log
// and artifact files in data_dir. The only code that includes sqlite3.h or
// libpq-fe.h is in store/.
//
// Store is a facade over one Database (store/database.hpp, private to
// store/) and the record stores that share it, one per kind of record:
// runs() (runs, stages, agents, artifacts, repository heads), gates()
// (change requests and releases), events(), audit() and retention().
//
// Durability on SQLite: WAL journal with synchronous=NORMAL. A committed transaction
// survives a crash of the controller process (kill -9) — the guarantee SPEC
// §11 tests; after a power loss or OS crash the last few transactions may be
// rolled back (the database itself stays consistent). On PostgreSQL, a
// commit is the server's. Schema changes are numbered migrations tracked in
// PRAGMA user_version (migrations.cpp) or PostgreSQL's schema_version table
// (migrations_postgresql.cpp); a database from a newer controller is refused.
//
// Not responsible for deciding state transitions (the run state machine does)
// nor for writing log bytes (the log writer does, at log_path()).
//
// Threading: not thread-safe. One thread (the controller's io_context) owns
// the Store; every method is synchronous. The constructor throws
// std::runtime_error when the database is unusable (a startup error). Writes
// and single-record reads return Result: an Error (code Unavailable for a
// busy, full or failing database) is never the same as "not found"
// (an empty optional). Failures are logged (component "store"). A busy
// database is waited for at most kBusyTimeoutMs (a PostgreSQL lock for at
// most lock_timeout), so the loop never stalls.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gantry/common/result.hpp"
#include "model/records.hpp"

namespace gantry::controller {

class Database;  // store/database.hpp

// Runs with their stages, agents, artifacts and the heads of watched
// repositories (store_runs.cpp, store_records.cpp).
// What a run list asks for (GET /api/v1/runs): every field empty or 0 matches any run.
struct RunFilter {
  std::string status;      // a run status word
  std::string job;         // job_name ("shop/main")
  int64_t number = 0;      // with job: one run by its number in the job
  std::string repo;        // configured repository name
  std::string ref;         // "main" matches refs/heads/main too
  std::string created_by;  // the user who started it
  // Only runs of these configured repositories (nullptr: every run, inline and URL ones too).
  const std::vector<std::string>* repos = nullptr;
};

class RunStore {
 public:
  explicit RunStore(Database& db) : db_(db) {}

  // Fills run.id and run.number and returns the id.
  [[nodiscard]] Result<int64_t> create_run(RunRecord& run);
  // Writes every field but id, job_name and number; NotFound when the run is unknown.
  [[nodiscard]] Status update_run(const RunRecord& run);
  [[nodiscard]] Result<std::optional<RunRecord>> run(int64_t id);
  // Newest first; before_id 0 = from the newest; empty status = any.
  // `summary`: without the pipeline source and parameters (lists). `repos`: only runs of these
  // configured repositories (nullptr: every run, inline and URL runs included).
  std::vector<RunRecord> list_runs(size_t limit, int64_t before_id = 0,
                                   std::string_view status = {}, bool summary = false,
                                   const std::vector<std::string>* repos = nullptr);
  // Summaries (no pipeline source or parameters), newest first, matching `filter`.
  std::vector<RunRecord> list_runs(size_t limit, int64_t before_id, const RunFilter& filter);
  // queued, waiting or running; oldest first (for recovery at startup).
  std::vector<RunRecord> unfinished_runs();
  // The latest finished run of job_name with an id below before_id. Rollback
  // runs are not part of a job's history for these two.
  std::optional<RunRecord> previous_run(const std::string& job_name, int64_t before_id);
  // The latest run of job_name below before_id that has a commit (any
  // status, or only succeeded ones): the base of a new run's change range and
  // GIT_PREVIOUS_SUCCESSFUL_COMMIT.
  std::optional<RunRecord> last_run_with_commit(const std::string& job_name, int64_t before_id,
                                                bool succeeded_only);
  // The runs the `build` steps of run `upstream_run` started, oldest first (at most `limit`).
  std::vector<RunRecord> downstream_of(int64_t upstream_run, size_t limit);
  // Every run status (zero included) -> number of runs, for /metrics.
  std::map<std::string, int64_t> run_counts_by_status();

  // The last heads seen of a watched repository (ref -> commit), so a
  // restart neither misses a push nor starts a run twice.
  std::map<std::string, std::string> repo_heads(const std::string& repo);
  [[nodiscard]] Status set_repo_heads(const std::string& repo,
                                      const std::map<std::string, std::string>& heads);

  // Upsert by (run_id, stage_id); the run must exist.
  [[nodiscard]] Status put_stage(const StageRecord& stage);
  std::vector<StageRecord> stages(int64_t run_id);  // by order
  // A waiting run given a newer commit's pipeline.
  [[nodiscard]] Status delete_stages(int64_t run_id);

  [[nodiscard]] Status put_agent(const AgentRecord& agent);  // upsert by agent_id
  std::vector<AgentRecord> agents();                         // by name

  // Replaces one of the same kind and name.
  [[nodiscard]] Status add_artifact(const ArtifactRecord& artifact);
  std::vector<ArtifactRecord> artifacts(int64_t run_id);  // by kind, then name
  std::optional<ArtifactRecord> artifact(int64_t run_id, std::string_view kind,
                                         std::string_view name);

 private:
  Database& db_;
};

// Change requests (GMUD and input, with their decisions) and the release
// ledger (store_approvals.cpp, store_releases.cpp).
class GateStore {
 public:
  explicit GateStore(Database& db) : db_(db) {}

  // Fills approval.id.
  [[nodiscard]] Result<int64_t> create_approval(ApprovalRecord& approval);
  // Writes status, decided_at, reason, values (not the decisions).
  [[nodiscard]] Status update_approval(const ApprovalRecord& approval);
  // Conflict when this user has decided already (one decision per person).
  [[nodiscard]] Status add_decision(int64_t approval_id, const DecisionRecord& decision);
  [[nodiscard]] Result<std::optional<ApprovalRecord>> approval(int64_t id);  // with its decisions
  // Newest first; empty status = any; `repos` as in list_runs (by the request's repository).
  std::vector<ApprovalRecord> list_approvals(size_t limit, std::string_view status = {},
                                             const std::vector<std::string>* repos = nullptr);
  std::vector<ApprovalRecord> approvals_of_run(int64_t run_id);

  // Fills release.id.
  [[nodiscard]] Result<int64_t> create_release(ReleaseRecord& release);
  // status, reason, finished_at, rollback_run, rolled_back_by
  [[nodiscard]] Status update_release(const ReleaseRecord& release);
  [[nodiscard]] Result<std::optional<ReleaseRecord>> release(int64_t id);
  std::optional<ReleaseRecord> release_of(int64_t run_id, const std::string& stage_id);
  // Newest first; empty environment = all; `repos` as in list_runs.
  std::vector<ReleaseRecord> list_releases(size_t limit, std::string_view environment = {},
                                           const std::vector<std::string>* repos = nullptr);
  // The environment's newest succeeded release.
  std::optional<ReleaseRecord> current_release(std::string_view environment);
  // The environment's succeeded releases of `repo`, newest first: what it
  // has shipped of that repository (a GMUD's range starts from them).
  std::vector<ReleaseRecord> succeeded_releases(std::string_view environment, std::string_view repo,
                                                size_t limit);

 private:
  Database& db_;
};

// Live events (store_events.cpp, docs/events.md).
class EventStore {
 public:
  explicit EventStore(Database& db) : db_(db) {}

  // Fills event.id.
  [[nodiscard]] Status append_event(EventRecord& event);
  // Oldest first, ids above after_id; run_id 0 = every run's.
  std::vector<EventRecord> events_after(int64_t after_id, int64_t run_id, size_t limit);
  int64_t last_event_id();
  // Where the log events of one attempt end (0: none yet).
  uint64_t log_events_end(int64_t run_id, const std::string& stage_id, int attempt);
  // Deletes all but the newest `keep` events; returns how many went.
  int64_t prune_events(int64_t keep);
  // Deletes the oldest events beyond the newest `keep`, at most max_rows of
  // them; returns how many went.
  int64_t prune_events_bounded(int64_t keep, int64_t max_rows);

 private:
  Database& db_;
};

// The audit log (store_audit.cpp): append-only, each entry chained to the
// one before by hash. Never pruned.
class AuditStore {
 public:
  explicit AuditStore(Database& db) : db_(db) {}

  // Fills id, prev_hash and hash.
  [[nodiscard]] Status append_audit(AuditRecord& entry);
  // Oldest first, ids above after_id.
  std::vector<AuditRecord> audit_entries(int64_t after_id, size_t limit);

 private:
  Database& db_;
};

// What the retention service reads to find old runs, and a deletion in two
// phases that a crash cannot split (store_retention.cpp, docs/retention.md):
// mark_prune() records what is to go (one transaction); the caller deletes
// the files (Store::run_logs_dir, run_artifacts_dir); finish_prune() then
// removes the rows, or records the files gone. Marked runs stay listed by
// pending_prunes(), across restarts, until finished.
class RetentionStore {
 public:
  explicit RetentionStore(Database& db) : db_(db) {}

  enum PruneWhat : int { kPruneLogs = 1, kPruneArtifacts = 2, kPruneRun = 4 };
  struct RetentionRun {
    int64_t id = 0;
    RunStatus status = RunStatus::Queued;
    int64_t created_at = 0, finished_at = 0;
  };
  // A finished run's `discarder` column ('' until the retention service has
  // read its pipeline: then its text and format are filled).
  struct RunDiscarder {
    int64_t id = 0;
    std::string discarder, pipeline_source, pipeline_format;
  };
  // The newest run's id and how many runs are unfinished: when either
  // changes, runs were created or ended.
  std::pair<int64_t, int64_t> run_activity();
  // The first job name after `after` in byte order ("" = the first); "" when none.
  std::string next_job_name(const std::string& after);
  // A job's runs oldest first, ids above after_id, none marked. `still_having`
  // kPruneLogs or kPruneArtifacts: only runs whose logs or artifacts retention
  // has not deleted (0: all).
  std::vector<RetentionRun> retention_runs(const std::string& job, int64_t after_id,
                                           int still_having, size_t limit);
  // The id of the job's n-th newest run (1: the newest); 0 when it has fewer.
  int64_t nth_newest_run(const std::string& job, int64_t n);
  // The job's newest run above above_id that is not a rollback and succeeded
  // (or, with unstable_too, was unstable); 0 when none.
  int64_t newest_good_run(const std::string& job, bool unstable_too, int64_t above_id);
  // Runs still needed: those of each environment's current release, of
  // releases in progress, and of pending approvals.
  std::vector<int64_t> runs_in_use();
  // The job's newest finished runs, newest first.
  std::vector<RunDiscarder> run_discarders(const std::string& job, size_t limit);
  bool set_run_discarder(int64_t run_id, const std::string& discarder);
  bool mark_prune(const std::vector<int64_t>& run_ids, int what);
  // Marked runs, oldest first: id -> what is to go.
  std::vector<std::pair<int64_t, int>> pending_prunes(size_t limit);
  // Acts on the runs' marks: kPruneRun deletes the run with its stages,
  // artifacts and events; kPruneLogs its log events; kPruneArtifacts its
  // artifact and stash rows. One transaction.
  bool finish_prune(const std::vector<int64_t>& run_ids);
  // What retention deleted of a run: kPruneLogs | kPruneArtifacts (0: none,
  // or no such run), so the API can say "pruned by retention".
  int pruned_parts(int64_t run_id);

 private:
  Database& db_;
};

class Store {
 public:
  // Creates data_dir and, with no database_url, gantry.db in it as needed;
  // with one (postgresql://...), connects to that server instead. Migrates
  // the schema either way.
  explicit Store(const std::string& data_dir, const std::string& database_url = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  RunStore& runs() { return runs_; }
  GateStore& gates() { return gates_; }
  EventStore& events() { return events_; }
  AuditStore& audit() { return audit_; }
  RetentionStore& retention() { return retention_; }

  // Runs body in BEGIN IMMEDIATE .. COMMIT, or ROLLBACK when it returns false
  // or throws (the exception propagates). Nested calls use savepoints.
  [[nodiscard]] Status transaction(const std::function<bool()>& body);

  // <data_dir>/logs/<run>/<stage>/<attempt>.log, parent directories created.
  // The stage id is made filesystem-safe; when that changes it, a hash of the
  // original is appended so distinct ids never share a directory.
  std::string log_path(int64_t run_id, const std::string& stage_id, int attempt) const;
  // <data_dir>/artifacts/<run> (no trailing slash), created.
  std::string artifact_dir(int64_t run_id) const;
  // <data_dir>/logs/<run> and <data_dir>/artifacts/<run>; not created.
  std::string run_logs_dir(int64_t run_id) const;
  std::string run_artifacts_dir(int64_t run_id) const;
  const std::string& data_dir() const { return data_dir_; }

  // Health: false from a failed write (busy, disk full, I/O error) until
  // the next write succeeds; last_failure() says what failed.
  bool healthy() const;
  const Error& last_failure() const;
  int schema_version();  // PRAGMA user_version, or schema_version's row
  // Controllers sharing PostgreSQL (docs/ha.md): every write from now on first checks that the
  // leader's lease still has this term and holder, and calls on_fenced when it does not (the
  // write fails). A no-op on SQLite.
  void set_fence(int64_t term, const std::string& holder, std::function<void()> on_fenced);
  // PostgreSQL: how long a statement may wait for the server before it fails (Unavailable).
  void set_statement_deadline(int64_t ms);

 private:
  std::string data_dir_;
  std::unique_ptr<Database> db_;
  RunStore runs_;
  GateStore gates_;
  EventStore events_;
  AuditStore audit_;
  RetentionStore retention_;
};

}  // namespace gantry::controller
