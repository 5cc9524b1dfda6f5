#pragma once
// The controller's git work, off the event loop: fetching watched
// repositories and reading a run's pipeline file (and its change range) at a
// commit. libgit2 blocks, so a small pool of threads shares one mirror cache
// (fetches of one repository are serialised by the cache; different
// repositories proceed in parallel, so a slow remote holds one thread, not
// the loop). Results are posted back to the loop. Requests are queued
// (bounded); the destructor finishes the request in hand and joins.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config.hpp"
#include "gantry/git/git_cache.hpp"
#include "gantry/net/event_loop.hpp"
#include "model/records.hpp"

namespace gantry::controller {

struct ResolveRequest {
  std::string url;
  std::string ref;          // branch, tag, full ref or SHA; empty: HEAD
  std::string file;         // empty: "Jenkinsfile", then ".gantry.yml"
  bool fetch = true;        // false when the mirror was just fetched (the watcher)
  std::string base_commit;  // the last run's commit: `changes` are base..commit
  // An inline pipeline (its text given, nothing read from git): only its
  // shared libraries are loaded.
  std::string inline_source, inline_format;
};

struct ResolvedPipeline {
  bool ok = false;
  std::string error;
  std::string commit, source, path, format;  // format: "jenkinsfile" | "yaml"
  std::string author, author_email;
  std::vector<ChangeRecord> changes;  // newest first, at most kMaxChangePaths paths in all
  std::string base_commit;            // what `changes` count from; empty when unknown
  bool changes_truncated = false;
  // The shared libraries the pipeline asks for (and the implicit ones), each
  // read at one commit (pipelines/libraries.hpp's JSON); "" for none. A
  // library that cannot be loaded makes the whole result fail (`error`).
  std::string libraries;
};

// Loads the libraries `source` asks for from `configured` (fetching each
// library's repository into `cache`): fills `out.libraries`, or sets
// `out.ok = false` and `out.error` to why not.
// `skip_unknown`: a name not configured is left out rather than an error (gantry run).
void load_libraries(git::GitCache& cache, const std::vector<LibraryConfig>& configured,
                    const std::string& source, const std::string& format, ResolvedPipeline& out,
                    bool skip_unknown = false);

inline constexpr size_t kMaxChangeCommits = 200;

// A commit of a range as runs and change requests keep it, without its paths.
ChangeRecord change_record(const git::ChangeCommit& c);
inline constexpr size_t kMaxChangePaths = 5000;

// What the services read from git (runs, change requests): an interface,
// so they can be tested without worker threads or a loop.
class GitReader {
 public:
  virtual ~GitReader() = default;
  virtual bool resolve(ResolveRequest request, std::function<void(ResolvedPipeline)> done) = 0;
  // A change request's range: the commits `to` ships that none of `shipped`
  // (an environment's succeeded releases) did; past `max` commits it is
  // too long (the environment's gmud.max_range).
  virtual bool unshipped(std::string url, std::string to, std::vector<std::string> shipped,
                         size_t max, std::function<void(git::UnshippedRange)> done) = 0;
};

class GitWorkers final : public GitReader {
 public:
  GitWorkers(net::EventLoop& loop, std::string mirrors_dir, int threads);
  ~GitWorkers() override;
  GitWorkers(const GitWorkers&) = delete;
  GitWorkers& operator=(const GitWorkers&) = delete;

  // Both return false when the queue is full (the caller answers 503 or
  // retries later); `done` runs on the loop.
  bool resolve(ResolveRequest request, std::function<void(ResolvedPipeline)> done) override;
  bool fetch_refs(std::string url, std::function<void(git::FetchResult)> done);
  // The `libraries:` configuration, read by every later resolve (set again on reload).
  void set_libraries(std::vector<LibraryConfig> libraries, bool skip_unknown = false);
  // The credentials the workers' fetches of `url` use (a private repository or library).
  void set_credentials(const std::string& url, git::GitCredentials credentials) {
    cache_.set_credentials(url, std::move(credentials));
  }
  // The commits `to` ships that no `shipped` commit reaches, in the mirror
  // of `url` (no fetch), without paths.
  bool unshipped(std::string url, std::string to, std::vector<std::string> shipped, size_t max,
                 std::function<void(git::UnshippedRange)> done) override;

 private:
  // Runs on a worker; returns what to run on the loop.
  using Work = std::function<std::function<void()>(git::GitCache&)>;
  bool submit(Work work);
  void run();

  net::EventLoop& loop_;
  git::GitCache cache_;
  std::mutex mu_;
  std::vector<LibraryConfig> libraries_;  // under mu_
  bool skip_unknown_libraries_ = false;   // under mu_
  std::condition_variable cv_;
  std::deque<Work> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace gantry::controller
