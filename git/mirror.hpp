#pragma once
// Private to gantry_git: the libgit2 pieces shared by the GitCache operations
// (checkout and reads in git_cache.cpp, fetch_refs.cpp, changes.cpp). Owning
// pointers for libgit2 objects, the mirror's on-disk layout, fetch and
// revision resolution. Functions here report failures through `error` and
// never throw on libgit2 failures; callers hold the mirror's mutex.

#include <git2.h>

#include "gantry/git/git_cache.hpp"

#include <memory>
#include <string>

namespace gantry::git::detail {

template <auto Fn>
struct Free {
  template <typename T>
  void operator()(T* p) const {
    Fn(p);
  }
};
using RepoPtr = std::unique_ptr<git_repository, Free<git_repository_free>>;
using RemotePtr = std::unique_ptr<git_remote, Free<git_remote_free>>;
using ObjectPtr = std::unique_ptr<git_object, Free<git_object_free>>;
using CommitPtr = std::unique_ptr<git_commit, Free<git_commit_free>>;
using TreePtr = std::unique_ptr<git_tree, Free<git_tree_free>>;

inline constexpr const char* kMirrorSpec = "+refs/*:refs/*";
inline constexpr const char* kOriginSpec = "+refs/heads/*:refs/remotes/origin/*";

// "doing: <libgit2's last error on this thread>".
std::string failure(const std::string& doing);

void init_libgit2();

// The mirror's directory name for `url`: a stable hash plus ".git".
std::string mirror_name(const std::string& url);

bool is_full_sha(const std::string& s);
std::string oid_hex(const git_oid& oid);
bool has_commit(git_repository* repo, const git_oid& oid);

// Records `url` as remote.origin.url (and `fetchspec` when new). With
// `may_change` false an existing different URL is an error.
bool ensure_origin(git_repository* repo, const std::string& url, const char* fetchspec,
                   bool may_change, const std::string& doing, std::string& error);

// Opens the bare mirror for `url`, creating it on first use (or completing one
// whose creation was interrupted).
bool open_mirror(const std::string& dir, const std::string& url, RepoPtr& repo, std::string& error);

// Opens the mirror only if a fetch already created it; reads never create one.
bool open_fetched_mirror(const std::string& dir, const std::string& url, const std::string& doing,
                         RepoPtr& repo, std::string& error);

// An in-memory remote for `url` with the mirror refspec; url.*.insteadOf is
// not applied.
bool mirror_remote(git_repository* repo, const std::string& url, RemotePtr& remote,
                   std::string& error);

// The credentials of the fetch this thread makes now (set by GitCache around each operation);
// nullptr: none. fetch() and connect_callbacks() read it.
struct CredentialScope {
  explicit CredentialScope(const GitCredentials* credentials);
  ~CredentialScope();
  CredentialScope(const CredentialScope&) = delete;
  CredentialScope& operator=(const CredentialScope&) = delete;

 private:
  const GitCredentials* previous_;
};

// Remote callbacks answering libgit2's credential and certificate questions from the thread's
// CredentialScope for `url`. `state` must outlive the remote operation.
struct CallbackState {
  std::string url;
  int attempts = 0;
  std::string refusal;  // why a host key or certificate was refused ("" if not)
};
void set_callbacks(git_remote_callbacks& callbacks, CallbackState& state);
// "doing: ..." for a failed remote operation, with the refusal if one explains it.
std::string remote_failure(const std::string& doing, const CallbackState& state);

// Fetches with prune through `remote` (connected or not) and points the
// mirror's HEAD at the remote's default branch so "HEAD" resolves.
bool fetch(git_repository* repo, git_remote* remote, const std::string& url, std::string& error);
bool fetch(git_repository* repo, const std::string& url, std::string& error);

// Points the mirror's HEAD at the default branch of the connected (or just
// fetched) `remote`, when that is known and differs.
void follow_default_branch(git_repository* repo, git_remote* remote);

// Resolves a SHA, ref name, tag or revision expression to a commit id.
bool resolve(git_repository* repo, const std::string& spec, const std::string& url, git_oid& oid,
             std::string& error);

}  // namespace gantry::git::detail
