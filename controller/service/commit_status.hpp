#pragma once
// Commit statuses (issue 21, docs/forges.md): each run of a repository with a `forge:` puts a
// status on its commit, on GitHub (POST /repos/OWNER/NAME/statuses/SHA) or GitLab
// (POST /projects/ID/statuses/SHA): pending while it runs, then success or failure, with a
// link to the run's page; with `stages: true`, one per top-level stage too.
//
// What is sent is decided on the loop thread (run_stored, from the engine's hooks): only a
// change of state or description is posted. One worker thread does the HTTP calls, in order, so
// a run's "success" never overtakes its "pending"; an update superseded by a newer one for the
// same commit and context before it was sent is dropped. A failed post is retried with backoff
// (5xx, 429 and transport errors, at most kAttempts times); a refusal (other 4xx) is not. Either
// way it is logged, counted in /metrics and shown per repository in GET /api/v1/repos; the run
// is never affected.
//
// Threading: run_stored, forget, reconfigure and stats on the loop thread; stats() locks.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config.hpp"
#include "model/records.hpp"

namespace gantry::controller {

class RunState;

struct StatusUpdate {
  std::string repo;         // the configured repository's name
  std::string commit;       // full SHA
  std::string state;        // GitHub's words: pending, success, failure, error
  std::string context;      // "gantry", "gantry/Build"
  std::string description;  // at most 140 characters (GitHub's limit)
  std::string target_url;
  std::string ref;  // the branch, for GitLab's `ref`
};

// The request a status becomes, for a forge (pure; tested on its own).
struct ForgeRequest {
  std::string url, body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string bearer;
};
ForgeRequest forge_request(const ForgeConfig& forge, const std::string& token,
                           const StatusUpdate& u);

struct StatusStats {
  uint64_t sent = 0, failed = 0, retried = 0, dropped = 0;
  std::string last_error;
  int64_t last_error_at = 0;  // unix ms
};

class CommitStatus {
 public:
  static constexpr int kAttempts = 5;
  static constexpr size_t kMaxQueue = 10000;

  CommitStatus(const std::vector<RepositoryConfig>& repos,
               const std::map<std::string, SecretConfig>& secrets);
  ~CommitStatus();
  CommitStatus(const CommitStatus&) = delete;
  CommitStatus& operator=(const CommitStatus&) = delete;

  void set_public_url(std::string url) { public_url_ = std::move(url); }
  void reconfigure(const std::vector<RepositoryConfig>& repos,
                   const std::map<std::string, SecretConfig>& secrets);
  // After the engine stored a change of `run` (its stages `stages`): posts what changed.
  void run_stored(const RunState& run, const std::vector<int>& stages);
  void forget(int64_t run_id);  // the run left memory

  std::map<std::string, StatusStats> stats() const;  // by repository
  std::string metrics_text() const;

  // The backoff before attempt `n` (1-based, n >= 2): 1 s, 2 s, 4 s, 8 s; tests shorten it.
  void set_backoff_ms(int64_t first) { backoff_ms_ = first; }

 private:
  struct Target {
    ForgeConfig forge;
    std::string token;
  };
  struct Item {
    Target target;
    StatusUpdate update;
    uint64_t seq = 0;
  };
  void enqueue(const StatusUpdate& u);
  void work();
  void send(Item& item);

  std::string public_url_;
  std::map<std::string, Target> targets_;                         // loop thread
  std::map<int64_t, std::map<std::string, std::string>> posted_;  // run -> context -> state|text

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  std::map<std::string, uint64_t> newest_;  // "repo sha context" -> newest seq queued
  uint64_t seq_ = 0;
  std::map<std::string, StatusStats> stats_;
  int64_t backoff_ms_ = 1000;
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace gantry::controller
