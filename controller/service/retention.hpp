#pragma once
// Retention (SPEC §11, docs/retention.md): deletes old runs, their logs and
// artifacts, and old live events, by the config's `retention:` policy or a
// job's own buildDiscarder(logRotator(...)), so the data dir does not grow
// without end. Never touched: unfinished runs; a job's newest succeeded run
// and newest succeeded-or-unstable run (Jenkins' lastStable and
// lastSuccessful builds); the runs of a current or in-progress release or of
// a pending approval; the audit log.
//
// Work comes in bounded slices (at most `max_runs` runs and about
// `budget_ms` each), so the event loop never waits long. Each deletion is
// marked in the store first, then its files go, then its rows; a crash
// anywhere leaves marks that the next slice (also after a restart) finishes.
//
// Not responsible for workspaces (the agents') or git mirrors. Threading:
// the controller's loop thread; holds a reference to the Store, which must
// outlive it. Time comes from the injected clock (unix ms).

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "config.hpp"
#include "gantry/pipelines/build_discarder.hpp"
#include "store/store.hpp"

namespace gantry::controller {

// One job's limits, from the config or its buildDiscarder; kUnlimited (-1)
// turns one off.
struct RetentionLimits {
  static constexpr int64_t kUnlimited = RetentionConfig::kUnlimited;
  int64_t keep_last = kUnlimited;            // runs
  int64_t runs_ms = kUnlimited;              // age of a run
  int64_t logs_ms = kUnlimited;              // age of its logs (the run stays)
  int64_t artifacts_ms = kUnlimited;         // age of its artifacts (the run stays)
  int64_t artifacts_keep_last = kUnlimited;  // runs with artifacts
  friend bool operator==(const RetentionLimits&, const RetentionLimits&) = default;
};

// The config's limits, or a discarder's (Jenkins' meaning: it replaces the
// config for its job; logs go with their run).
RetentionLimits retention_limits(const RetentionConfig& config,
                                 const std::optional<pipelines::BuildDiscarder>& discarder);

// The runs.discarder column: "none" (the pipeline has no buildDiscarder),
// "invalid" (it does not load), or "logRotator num=N days=N artifact_num=N
// artifact_days=N".
std::string encode_discarder(const std::optional<pipelines::BuildDiscarder>& d);
// nullopt for "none"; false for "invalid" or text it cannot read.
bool decode_discarder(const std::string& text, std::optional<pipelines::BuildDiscarder>& out);

struct RetentionOptions {
  size_t max_runs = 50;       // runs deleted or trimmed per slice
  int64_t budget_ms = 20;     // and about this long (steady clock)
  int64_t idle_ms = 60000;    // a full pass at least this often
  int64_t backlog_ms = 250;   // the next slice while work remains
  int64_t check_ms = 1000;    // how often tick() looks for runs created or ended
  int64_t max_events = 5000;  // events deleted per slice
  // Deletes a directory tree (std::filesystem::remove_all when empty); tests
  // make it fail.
  std::function<std::error_code(const std::string& path)> remove_tree;
};

class Retention {
 public:
  using Clock = std::function<int64_t()>;  // unix ms

  struct Slice {
    int runs = 0, logs = 0, artifacts = 0;  // deleted (logs, artifacts: of runs kept)
    int64_t events = 0;
    bool more = false;  // work left: call again soon
  };

  Retention(Store& store, RetentionConfig config, Clock clock, RetentionOptions options = {});

  // From the controller's tick: a slice when one is due (at start, after
  // runs were created or ended, every idle_ms, and every backlog_ms while
  // work remains).
  void tick();
  // One bounded slice, now.
  Slice run_slice();

 private:
  struct Budget;
  struct JobState {
    int64_t good = 0, good_or_unstable = 0;  // newest succeeded / succeeded-or-unstable run
  };

  int finish_pending(Budget& b, Slice& s);  // how many marks are still stuck
  bool prune_jobs(Budget& b, Slice& s);     // true when the pass is complete
  bool prune_job(const std::string& job, Budget& b, Slice& s);
  RetentionLimits limits_of(const std::string& job);
  // Oldest first: the job's runs `doomed` says go, up to the first it keeps.
  // false when the budget ran out first.
  bool collect(const std::string& job, int still_having, const std::set<int64_t>& keep,
               const std::function<bool(const RetentionStore::RetentionRun&)>& doomed, Budget& b,
               std::vector<int64_t>& out);
  int apply(const std::vector<int64_t>& ids, int what);  // mark, delete files, finish

  Store& store_;
  RetentionConfig config_;
  Clock clock_;
  RetentionOptions options_;
  std::map<std::string, JobState> jobs_;
  std::set<int64_t> in_use_;        // runs_in_use() at the slice's start
  std::optional<std::string> job_;  // the job a pass is at
  std::string last_job_;            // the last job a pass finished
  int64_t next_at_ = 0;             // 0: at the first tick
  int64_t next_check_ = 0;
  std::pair<int64_t, int64_t> activity_{-1, -1};
};

}  // namespace gantry::controller
