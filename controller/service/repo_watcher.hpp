#pragma once
// Watches the configured repositories (SPEC §6): fetches each one's bare
// mirror every `poll` (and at once on a webhook), compares the heads of the
// watched branches and tags with the last ones seen (kept in the store, so a
// restart neither misses a push nor builds one twice) and asks the
// controller to start a run for each new or moved head, with the pipeline
// file read from that commit's tree and the commit range since the branch's
// last run. It also keeps each branch's `triggers` (cron, pollSCM) from the
// pipeline at its head and fires them on the minute, in the spec's time zone.
//
// Rules: one fetch round per repository at a time; a request during a round
// makes one more round after it (so a burst of pushes becomes at most one
// more fetch, of the newest heads). A failed fetch keeps the error for
// `gantry repos` and retries with exponential backoff (capped), jittered. The
// first fetch of a repository the store has never seen records its heads
// without starting runs (a new repository is not a push). Deleted branches
// are dropped; force-pushes are new heads like any other.
//
// Everything runs on the loop; git work goes to GitWorkers. Not thread-safe.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "config.hpp"
#include "gantry/net/event_loop.hpp"
#include "gantry/pipelines/cron.hpp"
#include "service/git_workers.hpp"
#include "store/store.hpp"

namespace gantry::controller {

struct RepoStatus {
  std::string name, url;
  int64_t last_fetch_at = 0, last_success_at = 0, next_fetch_at = 0;  // unix ms; 0 = never
  std::string last_error;
  int failures = 0;  // consecutive
  std::string default_branch;
  std::map<std::string, std::string> heads;  // watched refs -> commit
};

// A run the watcher asks for.
struct RepoTrigger {
  std::string repo;  // configured name
  std::string url;
  std::string ref;       // full ref: refs/heads/main, refs/tags/v1.0
  std::string job_name;  // "app/main"
  std::string trigger;   // "push" | "cron" | "upstream"
  ResolvedPipeline pipeline;
  int64_t upstream_run = 0;  // "upstream": the run whose end started it
};

struct RepoWatcherHooks {
  // The commit a new run of job_name counts its changes from.
  std::function<std::string(const std::string& job_name)> base_commit;
  std::function<void(const RepoTrigger&)> start_run;
  std::function<int64_t()> now_ms;
};

class RepoWatcher {
 public:
  RepoWatcher(const std::vector<RepositoryConfig>& repos, net::EventLoop& loop, GitWorkers& workers,
              Store& store, RepoWatcherHooks hooks);
  ~RepoWatcher();

  void start();  // loads the stored heads; first fetches; the minute timer
  void stop();   // cancels timers; results still in flight are ignored
  // A reloaded `repositories:` list, applied without a restart: new repositories are fetched at
  // once, removed ones stop (results still in flight are ignored), changed ones take their new
  // settings and are fetched again. Returns what changed ("added: a; removed: b"), "" if nothing.
  std::string reconfigure(const std::vector<RepositoryConfig>& repos);

  // Fetches now (webhook, API trigger). False for an unknown repository.
  bool fetch_now(const std::string& name);

  const RepositoryConfig* find(const std::string& name) const;
  std::vector<RepoStatus> status() const;

  // "main" -> "refs/heads/main" (a branch the watcher has seen), "v1" ->
  // "refs/tags/v1", "" or "HEAD" -> the default branch; anything else as given.
  std::string full_ref(const std::string& name, const std::string& ref) const;
  static std::string job_name(const std::string& repo, const std::string& full_ref);
  // Why `ref` names nothing in the repository as of its last successful fetch ("no branch or
  // tag 'x' ..."); "" when it does, when it reads as a commit id, or when no fetch has listed
  // the refs yet (a run then finds out). A trigger checks this before it creates a run.
  std::string unknown_ref(const std::string& name, const std::string& ref) const;
  // The `upstream` trigger: a run of `job` ended with `result` (SUCCESS, UNSTABLE, FAILURE,
  // ABORTED); every branch whose pipeline names that job, at or above its threshold, starts.
  void upstream_finished(const std::string& job, const std::string& result, int64_t run_id);
  // Whether the repository's branch/tag patterns select this ref.
  static bool watched(const RepositoryConfig& repo, const std::string& full_ref);

 private:
  struct RefTriggers {
    std::string commit;  // the head they were read at
    std::vector<pipelines::CronSpec> cron, poll;
    // upstream(upstreamProjects: 'a/main, b', threshold: ...): job names as given, and the
    // worst result that still starts this branch.
    std::vector<std::string> upstream;
    std::string threshold = "SUCCESS";
  };
  struct Repo {
    RepositoryConfig config;
    RepoStatus status;
    bool have_heads = false;  // from the store or an earlier fetch
    // Every branch and tag of the last successful fetch (at most kMaxKnownRefs), not only the
    // watched ones; `listed` once a fetch filled it.
    std::set<std::string> all_refs;
    bool listed = false;
    bool busy = false, again = false;
    int pending = 0;  // resolves of this round still out
    uint64_t timer = 0;
    std::map<std::string, RefTriggers> triggers;  // by branch ref
  };
  struct Item {
    std::string ref, commit;
    bool start = false;
    std::string previous;  // the head seen before, if any
    int64_t upstream_run = 0;
  };

  void fetch(Repo& r);
  void on_fetched(const std::string& name, const git::FetchResult& result);
  void resolve(Repo& r, const Item& item, const std::string& trigger);
  void on_resolved(const std::string& name, const Item& item, const std::string& trigger,
                   const ResolvedPipeline& p);
  void finish_round(Repo& r);
  void schedule(Repo& r, int64_t delay_ms);
  void arm_minute_timer();
  void on_minute();
  void read_triggers(Repo& r, const std::string& ref, const ResolvedPipeline& p);
  Repo* repo(const std::string& name);

  net::EventLoop& loop_;
  GitWorkers& workers_;
  Store& store_;
  RepoWatcherHooks hooks_;
  std::map<std::string, Repo> repos_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // guards posted results
  uint64_t minute_timer_ = 0;
  bool started_ = false;  // between start() and stop()
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace gantry::controller
