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
// The controller uses the same cache to watch repositories: fetch_refs lists
// the remote's branches and tags and fetches only when they differ from the
// mirror's; read_file_at and changes then read the mirror as it is, without
// touching the network (read_file is fetch, then read_file_at). This library
// is the only code that sees libgit2; nothing of it leaks through this
// header, and no call throws: failures come back in the result's `error`,
// prefixed with the operation ("fetch URL: ...").
//
// Thread-safe: calls for different URLs run in parallel; every call on one
// mirror (fetch or read) holds that mirror's mutex. Two checkouts into the same
// workspace at once are the caller's bug. Blocking: run it off the event loop.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace gantry::git {

// How to reach a private remote (docs/forges.md, "Private repositories"). Which fields apply
// follows the URL: ssh:// and scp-style (git@host:team/app.git) URLs use `secret` as an SSH
// private key (OpenSSH or PEM text; the user is the URL's, else "git") and check the server's
// host key against `known_hosts` (OpenSSH's format, hashed names too): a host that is not there,
// or whose key differs, is refused, as StrictHostKeyChecking=yes does. http(s):// URLs send
// `secret` as "user:password", or as a token alone (user "gantry"; GitHub and GitLab take any
// name with a token), and trust `ca_pem` besides the system's CAs. Nothing here is written to
// disk: keys are handed to libssh2 from memory.
struct GitCredentials {
  std::string secret;
  std::string passphrase;   // of an encrypted SSH key
  std::string known_hosts;  // the text of a known_hosts file
  std::string ca_pem;       // more CAs for https (PEM text)
  bool empty() const { return secret.empty() && known_hosts.empty() && ca_pem.empty(); }
};

// Credentials from a configured secret: a token read from a file loses its trailing newline;
// a key ("-----BEGIN ...") keeps its text as written.
inline GitCredentials make_credentials(std::string secret, std::string known_hosts,
                                       std::string ca_pem) {
  if (!secret.starts_with("-----BEGIN")) {
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r' ||
                               secret.back() == ' ' || secret.back() == '\t'))
      secret.pop_back();
  }
  return GitCredentials{std::move(secret), "", std::move(known_hosts), std::move(ca_pem)};
}

struct ReadResult {
  bool ok = false;
  std::string error;
  std::string commit;   // full SHA the ref resolved to
  std::string path;     // the candidate that exists
  std::string content;  // its bytes (at most kMaxReadBytes)
  std::string author;   // the commit's author name
  std::string author_email;
};

inline constexpr size_t kMaxReadBytes = size_t{4} << 20;

struct RefHead {
  std::string name;    // "refs/heads/main", "refs/tags/v1.0"
  std::string commit;  // 40-hex commit SHA; annotated tags peeled to their commit
};

struct FetchResult {
  bool ok = false;
  std::string error;
  bool downloaded = false;     // the remote's refs differed, so a fetch ran
  std::vector<RefHead> heads;  // the mirror's refs/heads/* and refs/tags/* after
                               // the call, sorted by name; tags that do not
                               // point at a commit are left out
  std::string default_branch;  // "refs/heads/main" when the remote says, else ""
};

struct ChangeCommit {
  std::string sha, author_name, author_email, committer_name, committer_email;
  std::string message;  // the full message
  int64_t time = 0;     // committer time, unix seconds
  // Paths changed against the first parent (every file for a root commit):
  // added, modified, deleted, and both names of a rename; sorted, the first
  // kMaxChangedPaths of them.
  std::vector<std::string> paths;
};

struct ChangeSet {
  bool ok = false;
  std::string error;
  std::vector<ChangeCommit> commits;  // newest first
  bool truncated = false;             // more than max_commits, or a commit's paths were cut
  bool from_known = false;            // from_commit was in the mirror and used as the base
};

inline constexpr size_t kMaxChangedPaths = 1000;

// The commits a deploy would ship that an environment has not had yet
// (GitCache::unshipped): people only, no paths.
struct UnshippedRange {
  bool ok = false;
  std::string error;
  std::vector<ChangeCommit> commits;  // newest first; paths left empty
  bool too_long = false;              // more than max_commits: `commits` is not the whole range
  std::vector<std::string> missing;   // shipped commits the mirror does not have
  bool behind = false;                // to_commit is an ancestor of shipped[0] (and not it)
};

// Files of one commit under some directories (a shared library's vars/,
// src/, resources/): read_tree_at.
struct TreeFile {
  std::string path;
  std::string content;
};
struct TreeRead {
  bool ok = false;
  std::string error;
  std::string commit;
  std::vector<TreeFile> files;  // sorted by path
};

struct CheckoutResult {
  bool ok = false;
  std::string error;
  bool fetched = false;  // the mirror was fetched for this checkout
  std::string commit;    // full SHA checked out
};

// A submodule of a checked-out commit: where it goes, where it comes from (a relative URL
// resolved against the parent's), and the commit the parent's tree pins.
struct SubmoduleRef {
  std::string path, url, commit;
};

// "../lib.git" against "https://host/org/app.git" -> "https://host/org/lib.git"; an absolute
// URL as it is.
std::string resolve_submodule_url(const std::string& parent_url, const std::string& url);

class GitCache {
 public:
  explicit GitCache(std::string cache_dir);

  // `commit` may be a full SHA or a ref name ("main", "refs/heads/main",
  // "v1.0"); a name is resolved after the fetch. URLs: local paths, file://,
  // git:// (and whatever transports libgit2 was built with).
  // `credentials`: for this checkout only (an agent's job), over those set for the URL.
  CheckoutResult checkout(const std::string& url, const std::string& commit,
                          const std::string& workspace,
                          const GitCredentials* credentials = nullptr);

  // The submodules (.gitmodules and the tree's gitlinks) of the commit checked out in
  // `workspace` by checkout(); at most 100. False with `error` when the workspace or its
  // .gitmodules cannot be read.
  bool submodules(const std::string& workspace, const std::string& parent_url,
                  std::vector<SubmoduleRef>& out, std::string& error);
  // Points local branch `name` at the workspace's HEAD and checks it out (Jenkins' LocalBranch
  // extension: `git rev-parse --abbrev-ref HEAD` then names a branch, not HEAD).
  bool local_branch(const std::string& workspace, const std::string& name, std::string& error);

  // The credentials every later fetch of `url` uses (the controller's repositories and
  // libraries); empty ones remove them. Thread-safe.
  void set_credentials(const std::string& url, GitCredentials credentials);

  // Connects to the remote and compares its advertised refs with the
  // mirror's; only when they differ fetches everything with prune, so
  // deleted branches vanish and force-pushes are taken.
  FetchResult fetch_refs(const std::string& url);

  // Fetches the mirror, then read_file_at.
  ReadResult read_file(const std::string& url, const std::string& ref,
                       const std::vector<std::string>& paths);

  // Resolves `commit_or_ref` ("HEAD", a branch, tag or SHA) in the mirror as
  // it is, without fetching, and reads the first of `paths` that exists in
  // that commit's tree. An URL never fetched is an error.
  ReadResult read_file_at(const std::string& url, const std::string& commit_or_ref,
                          const std::vector<std::string>& paths);

  // Every file (blob) of `commit_or_ref`'s tree under one of `dirs` ("vars",
  // "src"), recursively, no fetch. More than `max_files` files or `max_bytes`
  // bytes in all is an error naming the limit.
  TreeRead read_tree_at(const std::string& url, const std::string& commit_or_ref,
                        const std::vector<std::string>& dirs, size_t max_files, size_t max_bytes);

  // The commits reachable from `to_commit` and not from `from_commit` (git's
  // from..to, also after a force-push), newest first, at most `max_commits`.
  // When `from_commit` is empty or not in the mirror (a first build, history
  // rewritten and collected) the set is `to_commit` alone. No fetch.
  ChangeSet changes(const std::string& url, const std::string& from_commit,
                    const std::string& to_commit, size_t max_commits = 200);

  // Every commit reachable from `to_commit` and from none of `shipped` (the
  // commits an environment's succeeded releases shipped; shipped[0] its
  // current one), with no cap but `max_commits`: past it `too_long` is set
  // and the caller must treat the range as unknown. Shipped commits the
  // mirror lacks are listed in `missing` and hide nothing. No fetch.
  UnshippedRange unshipped(const std::string& url, const std::string& to_commit,
                           const std::vector<std::string>& shipped, size_t max_commits);

 private:
  std::string mirror_dir(const std::string& url) const;
  std::mutex& mirror_mutex(const std::string& mirror_dir);

  GitCredentials credentials_for(const std::string& url);

  std::string cache_dir_;
  std::mutex credentials_mu_;
  std::map<std::string, GitCredentials> credentials_;
  std::mutex map_mu_;
  std::map<std::string, std::unique_ptr<std::mutex>> mirror_mu_;
};

}  // namespace gantry::git
