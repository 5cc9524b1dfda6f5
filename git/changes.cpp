// GitCache::changes: the commits a build brings in since the last one, read
// from the mirror as it is (no fetch), each with the paths it touched.
#include "gantry/git/git_cache.hpp"

#include <git2.h>

#include <algorithm>

#include "mirror.hpp"

namespace gantry::git {

using namespace detail;

namespace {

using WalkPtr = std::unique_ptr<git_revwalk, Free<git_revwalk_free>>;
using DiffPtr = std::unique_ptr<git_diff, Free<git_diff_free>>;

// Commits reachable from `to` and from none of `hidden`, newest first
// (children before parents), stopping once there is one more than `max`.
bool walk(git_repository* repo, const std::vector<git_oid>& hidden, const git_oid& to, size_t max,
          const std::string& doing, std::vector<git_oid>& out, std::string& error) {
  git_revwalk* raw = nullptr;
  if (git_revwalk_new(&raw, repo) != 0) {
    error = failure(doing);
    return false;
  }
  WalkPtr walker(raw);
  if (git_revwalk_sorting(walker.get(), GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME) != 0 ||
      git_revwalk_push(walker.get(), &to) != 0) {
    error = failure(doing);
    return false;
  }
  for (const git_oid& h : hidden) {
    if (git_revwalk_hide(walker.get(), &h) != 0) {
      error = failure(doing);
      return false;
    }
  }
  git_oid oid{};
  int rc = 0;
  while (out.size() <= max && (rc = git_revwalk_next(&oid, walker.get())) == 0) {
    out.push_back(oid);
  }
  if (rc != 0 && rc != GIT_ITEROVER) {
    error = failure(doing);
    return false;
  }
  return true;
}

void signature(const git_signature* sig, std::string& name, std::string& email) {
  if (sig == nullptr) return;
  if (sig->name != nullptr) name = sig->name;
  if (sig->email != nullptr) email = sig->email;
}

// The paths `commit` changed against its first parent, renames detected,
// sorted; the first kMaxChangedPaths of them, with `cut` set when there were
// more.
bool changed_paths(git_repository* repo, git_commit* commit, const std::string& doing,
                   std::vector<std::string>& paths, bool& cut, std::string& error) {
  const std::string sha = oid_hex(*git_commit_id(commit));
  git_tree* raw_tree = nullptr;
  if (git_commit_tree(&raw_tree, commit) != 0) {
    error = failure(doing + ": read tree of " + sha);
    return false;
  }
  TreePtr tree(raw_tree);
  TreePtr parent_tree;
  if (git_commit_parentcount(commit) > 0) {
    git_commit* raw_parent = nullptr;
    if (git_commit_parent(&raw_parent, commit, 0) != 0) {
      error = failure(doing + ": read parent of " + sha);
      return false;
    }
    CommitPtr parent(raw_parent);
    if (git_commit_tree(&raw_tree, parent.get()) != 0) {
      error = failure(doing + ": read tree of parent of " + sha);
      return false;
    }
    parent_tree.reset(raw_tree);
  }
  git_diff* raw_diff = nullptr;
  if (git_diff_tree_to_tree(&raw_diff, repo, parent_tree.get(), tree.get(), nullptr) != 0) {
    error = failure(doing + ": diff " + sha);
    return false;
  }
  DiffPtr diff(raw_diff);
  git_diff_find_options find = GIT_DIFF_FIND_OPTIONS_INIT;
  find.flags = GIT_DIFF_FIND_RENAMES;
  if (git_diff_find_similar(diff.get(), &find) != 0) {
    error = failure(doing + ": find renames in " + sha);
    return false;
  }
  const size_t deltas = git_diff_num_deltas(diff.get());
  for (size_t i = 0; i < deltas; ++i) {
    const git_diff_delta* d = git_diff_get_delta(diff.get(), i);
    if (d->old_file.path != nullptr) paths.emplace_back(d->old_file.path);
    if (d->new_file.path != nullptr) paths.emplace_back(d->new_file.path);
  }
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
  if (paths.size() > kMaxChangedPaths) {
    cut = true;
    paths.resize(kMaxChangedPaths);
  }
  return true;
}

// `paths` false: the people and the message only (no diff).
bool describe(git_repository* repo, const git_oid& oid, const std::string& doing, ChangeCommit& out,
              bool& cut, std::string& error, bool paths = true) {
  git_commit* raw = nullptr;
  if (git_commit_lookup(&raw, repo, &oid) != 0) {
    error = failure(doing + ": read commit " + oid_hex(oid));
    return false;
  }
  CommitPtr commit(raw);
  out.sha = oid_hex(oid);
  signature(git_commit_author(raw), out.author_name, out.author_email);
  signature(git_commit_committer(raw), out.committer_name, out.committer_email);
  if (const char* message = git_commit_message(raw); message != nullptr) out.message = message;
  out.time = static_cast<int64_t>(git_commit_time(raw));
  if (!paths) return true;
  return changed_paths(repo, raw, doing, out.paths, cut, error);
}

// describe() for each of `oids`, in order; `cut` set when any commit's
// paths were cut. On failure `out` is left empty.
bool describe_all(git_repository* repo, const std::vector<git_oid>& oids, const std::string& doing,
                  bool paths, std::vector<ChangeCommit>& out, bool& cut, std::string& error) {
  out.resize(oids.size());
  for (size_t i = 0; i < oids.size(); ++i) {
    bool one_cut = false;
    if (!describe(repo, oids[i], doing, out[i], one_cut, error, paths)) {
      out.clear();
      return false;
    }
    cut = cut || one_cut;
  }
  return true;
}

}  // namespace

ChangeSet GitCache::changes(const std::string& url, const std::string& from_commit,
                            const std::string& to_commit, size_t max_commits) {
  ChangeSet result;
  const std::string doing = "changes " + url;
  try {
    const std::string dir = mirror_dir(url);
    std::lock_guard lock(mirror_mutex(dir));
    RepoPtr mirror;
    if (!open_fetched_mirror(dir, url, doing, mirror, result.error)) return result;
    git_oid to{};
    if (!resolve(mirror.get(), to_commit, url, to, result.error)) return result;
    // An unknown base is not an error: the build then shows its own commit.
    git_oid from{};
    std::string ignored;
    result.from_known =
        !from_commit.empty() && resolve(mirror.get(), from_commit, url, from, ignored);
    std::vector<git_oid> oids;
    if (!result.from_known) {
      oids.push_back(to);
    } else if (!walk(mirror.get(), {from}, to, max_commits, doing, oids, result.error)) {
      return result;
    }
    if (oids.size() > max_commits) {
      result.truncated = true;
      oids.resize(max_commits);
    }
    if (!describe_all(mirror.get(), oids, doing, true, result.commits, result.truncated,
                      result.error))
      return result;
    result.ok = true;
  } catch (const std::exception& e) {
    result.error = doing + ": " + e.what();
  }
  git_error_clear();
  return result;
}

UnshippedRange GitCache::unshipped(const std::string& url, const std::string& to_commit,
                                   const std::vector<std::string>& shipped, size_t max_commits) {
  UnshippedRange result;
  const std::string doing = "range " + url;
  try {
    const std::string dir = mirror_dir(url);
    std::lock_guard lock(mirror_mutex(dir));
    RepoPtr mirror;
    if (!open_fetched_mirror(dir, url, doing, mirror, result.error)) return result;
    git_oid to{};
    if (!resolve(mirror.get(), to_commit, url, to, result.error)) return result;
    std::vector<git_oid> hidden;
    for (size_t i = 0; i < shipped.size(); ++i) {
      git_oid oid{};
      if (!is_full_sha(shipped[i]) || git_oid_fromstr(&oid, shipped[i].c_str()) != 0 ||
          !has_commit(mirror.get(), oid)) {
        result.missing.push_back(shipped[i]);
        continue;
      }
      if (i == 0 && !git_oid_equal(&oid, &to))
        result.behind = git_graph_descendant_of(mirror.get(), &oid, &to) == 1;
      hidden.push_back(oid);
    }
    std::vector<git_oid> oids;
    if (!walk(mirror.get(), hidden, to, max_commits, doing, oids, result.error)) return result;
    if (oids.size() > max_commits) {
      result.too_long = true;
      oids.resize(max_commits);
    }
    bool no_paths = false;
    if (!describe_all(mirror.get(), oids, doing, false, result.commits, no_paths, result.error))
      return result;
    result.ok = true;
  } catch (const std::exception& e) {
    result.error = doing + ": " + e.what();
  }
  git_error_clear();
  return result;
}

}  // namespace gantry::git
