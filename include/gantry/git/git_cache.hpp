#pragma once
// The agent's checkout of a job's commit. A per-agent mirror cache keeps one
// bare repository per remote URL under `cache_dir` (named by a hash of the
// URL), fetched with "+refs/*:refs/*". A checkout fetches only when the
// commit is not already in the mirror (a ref name is always fetched, since it
// may have moved), then checks the commit out into `workspace` (created if
// missing), forcing tracked files to match it, and leaves a detached HEAD
// there. The workspace is a git repository whose "origin" is the URL and
// which borrows the mirror's objects through objects/info/alternates, so a
// checkout copies no history. Untracked files in the workspace are left
// alone; cleaning them is the pipeline's business. URLs are used as given:
// url.*.insteadOf from git config is not applied.
//
// The controller uses the same cache to read a run's pipeline file at the
// ref's commit (read_file). This library is the only code that sees libgit2; nothing of it leaks
// through this header, and no call throws: failures come back in
// CheckoutResult::error, prefixed with the operation ("fetch URL: ...").
//
// Thread-safe: checkouts of different URLs run in parallel; fetches of one
// mirror are serialised by a mutex per mirror. Two checkouts into the same
// workspace at once are the caller's bug. Blocking: run it off the event loop.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace gantry::git {

struct ReadResult {
  bool ok = false;
  std::string error;
  std::string commit;   // full SHA the ref resolved to
  std::string path;     // the candidate that exists
  std::string content;  // its bytes (at most kMaxReadBytes)
  std::string author;   // the commit's author name
};

inline constexpr size_t kMaxReadBytes = size_t{4} << 20;

struct CheckoutResult {
  bool ok = false;
  std::string error;
  bool fetched = false;  // the mirror was fetched for this checkout
  std::string commit;    // full SHA checked out
};

class GitCache {
 public:
  explicit GitCache(std::string cache_dir);

  // `commit` may be a full SHA or a ref name ("main", "refs/heads/main",
  // "v1.0"); a name is resolved after the fetch. URLs: local paths, file://,
  // git:// (and whatever transports libgit2 was built with).
  CheckoutResult checkout(const std::string& url, const std::string& commit,
                          const std::string& workspace);

  // Fetches the mirror, resolves `ref` ("HEAD", a branch, tag or SHA) and
  // reads the first of `paths` that exists in that commit's tree.
  ReadResult read_file(const std::string& url, const std::string& ref,
                       const std::vector<std::string>& paths);

 private:
  std::mutex& mirror_mutex(const std::string& mirror_dir);

  std::string cache_dir_;
  std::mutex map_mu_;
  std::map<std::string, std::unique_ptr<std::mutex>> mirror_mu_;
};

}  // namespace gantry::git
