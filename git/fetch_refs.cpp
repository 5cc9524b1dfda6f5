// GitCache::fetch_refs: a poll that costs one ref advertisement when nothing
// changed, and a full mirror fetch with prune when something did.
#include "gantry/git/git_cache.hpp"

#include <git2.h>

#include <algorithm>
#include <map>

#include "mirror.hpp"

namespace gantry::git {

using namespace detail;

namespace {

using RefMap = std::map<std::string, std::string>;  // ref name -> object SHA
using RefIterPtr = std::unique_ptr<git_reference_iterator, Free<git_reference_iterator_free>>;
using RefPtr = std::unique_ptr<git_reference, Free<git_reference_free>>;

// The refs a connected remote advertises under refs/ (what "+refs/*:refs/*"
// copies), without the peeled "^{}" entries, and the branch its HEAD names.
bool advertised(git_remote* remote, const std::string& doing, RefMap& refs,
                std::string& default_branch, std::string& error) {
  const git_remote_head** heads = nullptr;
  size_t count = 0;
  if (git_remote_ls(&heads, &count, remote) != 0) {
    error = failure(doing);
    return false;
  }
  for (size_t i = 0; i < count; ++i) {
    const std::string name = heads[i]->name;
    if (name == "HEAD") {
      if (heads[i]->symref_target != nullptr) default_branch = heads[i]->symref_target;
    } else if (name.starts_with("refs/") && !name.ends_with("^{}")) {
      refs[name] = oid_hex(heads[i]->oid);
    }
  }
  return true;
}

// Calls `visit` with the name of every ref in the mirror (HEAD excluded).
template <typename Visit>
bool each_ref(git_repository* repo, const std::string& doing, std::string& error, Visit visit) {
  git_reference_iterator* raw = nullptr;
  if (git_reference_iterator_new(&raw, repo) != 0) {
    error = failure(doing + ": list mirror refs");
    return false;
  }
  RefIterPtr iter(raw);
  const char* name = nullptr;
  int rc = 0;
  while ((rc = git_reference_next_name(&name, iter.get())) == 0) visit(std::string(name));
  if (rc != GIT_ITEROVER) {
    error = failure(doing + ": list mirror refs");
    return false;
  }
  git_error_clear();
  return true;
}

bool mirrored(git_repository* repo, const std::string& doing, RefMap& refs, std::string& error) {
  return each_ref(repo, doing, error, [&](const std::string& name) {
    git_oid oid{};
    if (git_reference_name_to_id(&oid, repo, name.c_str()) == 0) refs[name] = oid_hex(oid);
  });
}

// The mirror's branches and tags, each peeled to its commit, sorted by name.
bool list_heads(git_repository* repo, const std::string& doing, std::vector<RefHead>& heads,
                std::string& error) {
  const bool ok = each_ref(repo, doing, error, [&](const std::string& name) {
    if (!name.starts_with("refs/heads/") && !name.starts_with("refs/tags/")) return;
    git_reference* raw = nullptr;
    if (git_reference_lookup(&raw, repo, name.c_str()) != 0) return;
    RefPtr ref(raw);
    git_object* commit = nullptr;
    if (git_reference_peel(&commit, ref.get(), GIT_OBJECT_COMMIT) != 0) return;
    heads.push_back({name, oid_hex(*git_object_id(commit))});
    git_object_free(commit);
  });
  std::sort(heads.begin(), heads.end(),
            [](const RefHead& a, const RefHead& b) { return a.name < b.name; });
  git_error_clear();
  return ok;
}

}  // namespace

FetchResult GitCache::fetch_refs(const std::string& url) {
  FetchResult result;
  const std::string doing = "fetch " + url;
  if (url.empty()) {
    result.error = "fetch: a repository URL is required";
    return result;
  }
  try {
    const std::string dir = mirror_dir(url);
    std::lock_guard lock(mirror_mutex(dir));
    RepoPtr mirror;
    if (!open_mirror(dir, url, mirror, result.error)) {
      result.error = doing + ": " + result.error;
      return result;
    }
    RemotePtr remote;
    if (!mirror_remote(mirror.get(), url, remote, result.error)) return result;
    git_remote_connect_options connect = GIT_REMOTE_CONNECT_OPTIONS_INIT;
    const GitCredentials credentials = credentials_for(url);
    CredentialScope scope(&credentials);
    CallbackState state{url};
    set_callbacks(connect.callbacks, state);
    if (git_remote_connect_ext(remote.get(), GIT_DIRECTION_FETCH, &connect) != 0) {
      result.error = remote_failure(doing, state);
      return result;
    }
    RefMap theirs;
    RefMap ours;
    if (!advertised(remote.get(), doing, theirs, result.default_branch, result.error) ||
        !mirrored(mirror.get(), doing, ours, result.error)) {
      return result;
    }
    if (theirs != ours) {
      // The fetch reuses the connection that listed the refs.
      if (!fetch(mirror.get(), remote.get(), url, result.error)) return result;
      result.downloaded = true;
    } else {
      follow_default_branch(mirror.get(), remote.get());
      git_remote_disconnect(remote.get());
    }
    if (!list_heads(mirror.get(), doing, result.heads, result.error)) return result;
    result.ok = true;
  } catch (const std::exception& e) {
    result.error = doing + ": " + e.what();
  }
  git_error_clear();
  return result;
}

}  // namespace gantry::git
