#include "gantry/git/git_cache.hpp"

#include <git2.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "mirror.hpp"

namespace gantry::git {

using namespace detail;

namespace {

namespace fs = std::filesystem;

// The workspace borrows the mirror's objects instead of copying them.
bool link_objects(const fs::path& git_dir, const fs::path& mirror_objects, std::string& error) {
  const fs::path file = git_dir / "objects" / "info" / "alternates";
  const std::string line = mirror_objects.string();
  std::string existing;
  {
    std::ifstream in(file);
    std::stringstream ss;
    ss << in.rdbuf();
    existing = ss.str();
  }
  std::istringstream lines(existing);
  for (std::string l; std::getline(lines, l);) {
    if (l == line) return true;
  }
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  std::ofstream out(file, std::ios::app);
  if (!existing.empty() && existing.back() != '\n') out << '\n';
  out << line << '\n';
  out.close();
  if (!out) {
    error = "write " + file.string() + ": cannot write";
    return false;
  }
  return true;
}

bool open_workspace(const std::string& workspace, const std::string& url,
                    const fs::path& mirror_objects, RepoPtr& repo, std::string& error) {
  std::error_code ec;
  fs::create_directories(workspace, ec);
  if (ec) {
    error = "create workspace " + workspace + ": " + ec.message();
    return false;
  }
  const std::string doing = "open workspace " + workspace;
  git_repository* raw = nullptr;
  // NO_SEARCH: a workspace inside another repository must not use that one.
  if (git_repository_open_ext(&raw, workspace.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) !=
          0 &&
      git_repository_init(&raw, workspace.c_str(), 0) != 0) {
    error = failure(doing);
    return false;
  }
  RepoPtr first(raw);
  const fs::path git_dir = git_repository_path(raw);
  if (!ensure_origin(raw, url, kOriginSpec, true, doing, error)) return false;
  first.reset();
  if (!link_objects(git_dir, mirror_objects, error)) return false;
  // Reopen so the object database sees the alternates file.
  if (git_repository_open_ext(&raw, workspace.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) !=
      0) {
    error = failure(doing);
    return false;
  }
  repo.reset(raw);
  return true;
}

bool check_out(git_repository* repo, const git_oid& oid, const std::string& workspace,
               std::string& error) {
  const std::string doing = "checkout " + oid_hex(oid) + " into " + workspace;
  git_object* raw = nullptr;
  if (git_object_lookup(&raw, repo, &oid, GIT_OBJECT_COMMIT) != 0) {
    error = failure(doing);
    return false;
  }
  ObjectPtr commit(raw);
  git_checkout_options opts = GIT_CHECKOUT_OPTIONS_INIT;
  opts.checkout_strategy = GIT_CHECKOUT_FORCE;
  if (git_checkout_tree(repo, commit.get(), &opts) != 0 ||
      git_repository_set_head_detached(repo, &oid) != 0) {
    error = failure(doing);
    return false;
  }
  return true;
}

// Reads the first of `paths` that exists at `ref` in the mirror as it is.
ReadResult read_at(git_repository* repo, const std::string& url, const std::string& ref,
                   const std::vector<std::string>& paths) {
  ReadResult result;
  const std::string spec = ref.empty() ? "HEAD" : ref;
  git_oid oid{};
  if (!resolve(repo, spec, url, oid, result.error)) return result;
  result.commit = oid_hex(oid);
  git_commit* commit = nullptr;
  if (git_commit_lookup(&commit, repo, &oid) != 0) {
    result.error = failure("read commit " + result.commit);
    return result;
  }
  CommitPtr commit_owner(commit);
  if (const git_signature* a = git_commit_author(commit); a != nullptr) {
    if (a->name != nullptr) result.author = a->name;
    if (a->email != nullptr) result.author_email = a->email;
  }
  git_tree* tree = nullptr;
  if (git_commit_tree(&tree, commit) != 0) {
    result.error = failure("read tree of " + result.commit);
    return result;
  }
  TreePtr tree_owner(tree);
  for (const std::string& path : paths) {
    git_tree_entry* entry = nullptr;
    if (git_tree_entry_bypath(&entry, tree, path.c_str()) != 0) continue;
    std::unique_ptr<git_tree_entry, Free<git_tree_entry_free>> entry_owner(entry);
    git_blob* blob = nullptr;
    if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB ||
        git_blob_lookup(&blob, repo, git_tree_entry_id(entry)) != 0) {
      result.error = path + " at " + result.commit.substr(0, 12) + " is not a file";
      return result;
    }
    std::unique_ptr<git_blob, Free<git_blob_free>> blob_owner(blob);
    auto size = static_cast<size_t>(git_blob_rawsize(blob));
    if (size > kMaxReadBytes) {
      result.error = path + " is larger than 4 MiB";
      return result;
    }
    result.content.assign(static_cast<const char*>(git_blob_rawcontent(blob)), size);
    result.path = path;
    result.ok = true;
    return result;
  }
  std::string names;
  for (const auto& p : paths) names += (names.empty() ? "" : " or ") + p;
  result.error =
      "no " + names + " in " + url + " at " + spec + " (" + result.commit.substr(0, 12) + ")";
  return result;
}

}  // namespace

GitCache::GitCache(std::string cache_dir) : cache_dir_(std::move(cache_dir)) {
  init_libgit2();
}

std::string GitCache::mirror_dir(const std::string& url) const {
  return fs::absolute(fs::path(cache_dir_) / mirror_name(url)).string();
}

std::mutex& GitCache::mirror_mutex(const std::string& mirror_dir) {
  std::lock_guard lock(map_mu_);
  auto& mu = mirror_mu_[mirror_dir];
  if (!mu) mu = std::make_unique<std::mutex>();
  return *mu;
}

void GitCache::set_credentials(const std::string& url, GitCredentials credentials) {
  std::lock_guard lock(credentials_mu_);
  if (credentials.empty()) {
    credentials_.erase(url);
  } else {
    credentials_[url] = std::move(credentials);
  }
}

GitCredentials GitCache::credentials_for(const std::string& url) {
  std::lock_guard lock(credentials_mu_);
  auto it = credentials_.find(url);
  return it == credentials_.end() ? GitCredentials{} : it->second;
}

CheckoutResult GitCache::checkout(const std::string& url, const std::string& commit,
                                  const std::string& workspace, const GitCredentials* credentials) {
  CheckoutResult result;
  const GitCredentials configured = credentials ? GitCredentials{} : credentials_for(url);
  CredentialScope scope(credentials ? credentials : &configured);
  if (url.empty() || commit.empty() || workspace.empty()) {
    result.error = "checkout: url, commit and workspace are required";
    return result;
  }
  try {
    const std::string dir = mirror_dir(url);
    git_oid oid{};
    {
      std::lock_guard lock(mirror_mutex(dir));
      RepoPtr mirror;
      if (!open_mirror(dir, url, mirror, result.error)) return result;
      // A named ref may have moved on the remote, so only a SHA already in
      // the mirror skips the fetch.
      const bool cached = is_full_sha(commit) && git_oid_fromstr(&oid, commit.c_str()) == 0 &&
                          has_commit(mirror.get(), oid);
      if (!cached) {
        if (!fetch(mirror.get(), url, result.error)) return result;
        result.fetched = true;
        if (!resolve(mirror.get(), commit, url, oid, result.error)) return result;
      }
    }
    RepoPtr ws;
    if (!open_workspace(workspace, url, fs::path(dir) / "objects", ws, result.error)) return result;
    if (!check_out(ws.get(), oid, workspace, result.error)) return result;
    result.commit = oid_hex(oid);
    result.ok = true;
  } catch (const std::exception& e) {
    result.error = std::string("checkout ") + url + ": " + e.what();
  }
  return result;
}

std::string resolve_submodule_url(const std::string& parent_url, const std::string& url) {
  if (!url.starts_with("./") && !url.starts_with("../")) return url;
  std::string base = parent_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string rest = url;
  for (;;) {
    if (rest.starts_with("./")) {
      rest.erase(0, 2);
    } else if (rest.starts_with("../")) {
      rest.erase(0, 3);
      // Up one path component; "host:org/app" (scp-like) climbs past the ':' too.
      size_t cut = base.find_last_of("/:");
      if (cut == std::string::npos) return url;
      if (base[cut] == ':') {
        base.resize(cut + 1);
        return base + rest;
      }
      base.resize(cut);
    } else {
      break;
    }
  }
  return base + "/" + rest;
}

namespace {

struct SubmoduleWalk {
  git_repository* repo = nullptr;
  std::string parent_url;
  std::vector<SubmoduleRef>* out = nullptr;
};

int collect_submodule(git_submodule* sm, const char* name, void* payload) {
  (void)name;
  auto* walk = static_cast<SubmoduleWalk*>(payload);
  if (walk->out->size() >= 100) return 1;
  const char* path = git_submodule_path(sm);
  const char* url = git_submodule_url(sm);
  const git_oid* head = git_submodule_head_id(sm);
  if (path == nullptr || url == nullptr || head == nullptr) return 0;  // not in this commit
  walk->out->push_back({path, resolve_submodule_url(walk->parent_url, url), oid_hex(*head)});
  return 0;
}

}  // namespace

bool GitCache::submodules(const std::string& workspace, const std::string& parent_url,
                          std::vector<SubmoduleRef>& out, std::string& error) {
  git_repository* raw = nullptr;
  if (git_repository_open_ext(&raw, workspace.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) !=
      0) {
    error = failure("open workspace " + workspace);
    return false;
  }
  RepoPtr repo(raw);
  SubmoduleWalk walk{raw, parent_url, &out};
  const int rc = git_submodule_foreach(raw, collect_submodule, &walk);
  if (rc < 0) {
    error = failure("read the submodules of " + workspace);
    return false;
  }
  std::sort(out.begin(), out.end(),
            [](const SubmoduleRef& a, const SubmoduleRef& b) { return a.path < b.path; });
  return true;
}

bool GitCache::local_branch(const std::string& workspace, const std::string& name,
                            std::string& error) {
  git_repository* raw = nullptr;
  const std::string doing = "local branch " + name + " in " + workspace;
  if (git_repository_open_ext(&raw, workspace.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) !=
      0) {
    error = failure(doing);
    return false;
  }
  RepoPtr repo(raw);
  git_oid head{};
  if (git_reference_name_to_id(&head, raw, "HEAD") != 0) {
    error = failure(doing);
    return false;
  }
  git_commit* commit = nullptr;
  if (git_commit_lookup(&commit, raw, &head) != 0) {
    error = failure(doing);
    return false;
  }
  CommitPtr owner(commit);
  git_reference* branch = nullptr;
  if (git_branch_create(&branch, raw, name.c_str(), commit, 1) != 0) {
    error = failure(doing);
    return false;
  }
  const std::string ref = git_reference_name(branch);
  git_reference_free(branch);
  if (git_repository_set_head(raw, ref.c_str()) != 0) {
    error = failure(doing);
    return false;
  }
  return true;
}

ReadResult GitCache::read_file(const std::string& url, const std::string& ref,
                               const std::vector<std::string>& paths) {
  ReadResult result;
  const GitCredentials configured = credentials_for(url);
  CredentialScope scope(&configured);
  try {
    const std::string dir = mirror_dir(url);
    std::lock_guard lock(mirror_mutex(dir));
    RepoPtr mirror;
    if (!open_mirror(dir, url, mirror, result.error)) return result;
    if (!fetch(mirror.get(), url, result.error)) return result;
    result = read_at(mirror.get(), url, ref, paths);
  } catch (const std::exception& e) {
    result.error = "read " + url + ": " + e.what();
  }
  git_error_clear();
  return result;
}

ReadResult GitCache::read_file_at(const std::string& url, const std::string& commit_or_ref,
                                  const std::vector<std::string>& paths) {
  ReadResult result;
  try {
    const std::string dir = mirror_dir(url);
    std::lock_guard lock(mirror_mutex(dir));
    RepoPtr mirror;
    if (!open_fetched_mirror(dir, url, "read " + url, mirror, result.error)) return result;
    result = read_at(mirror.get(), url, commit_or_ref, paths);
  } catch (const std::exception& e) {
    result.error = "read " + url + ": " + e.what();
  }
  git_error_clear();
  return result;
}

namespace {

struct TreeWalk {
  git_repository* repo = nullptr;
  size_t max_files = 0, max_bytes = 0, bytes = 0;
  TreeRead* out = nullptr;
};

int collect_blob(const char* root, const git_tree_entry* entry, void* payload) {
  auto& w = *static_cast<TreeWalk*>(payload);
  if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB) return 0;
  if (w.out->files.size() >= w.max_files) {
    w.out->error = "more than " + std::to_string(w.max_files) + " files";
    return -1;
  }
  git_blob* blob = nullptr;
  if (git_blob_lookup(&blob, w.repo, git_tree_entry_id(entry)) != 0) return 0;
  std::unique_ptr<git_blob, Free<git_blob_free>> owner(blob);
  auto size = static_cast<size_t>(git_blob_rawsize(blob));
  w.bytes += size;
  if (w.bytes > w.max_bytes) {
    w.out->error = "more than " + std::to_string(w.max_bytes >> 10) + " KiB";
    return -1;
  }
  TreeFile f;
  f.path = std::string(root) + git_tree_entry_name(entry);
  f.content.assign(static_cast<const char*>(git_blob_rawcontent(blob)), size);
  w.out->files.push_back(std::move(f));
  return 0;
}

}  // namespace

TreeRead GitCache::read_tree_at(const std::string& url, const std::string& commit_or_ref,
                                const std::vector<std::string>& dirs, size_t max_files,
                                size_t max_bytes) {
  TreeRead result;
  try {
    const std::string dir = mirror_dir(url);
    std::lock_guard lock(mirror_mutex(dir));
    RepoPtr mirror;
    if (!open_fetched_mirror(dir, url, "read " + url, mirror, result.error)) return result;
    const std::string spec = commit_or_ref.empty() ? "HEAD" : commit_or_ref;
    git_oid oid{};
    if (!resolve(mirror.get(), spec, url, oid, result.error)) return result;
    result.commit = oid_hex(oid);
    git_commit* commit = nullptr;
    if (git_commit_lookup(&commit, mirror.get(), &oid) != 0) {
      result.error = failure("read commit " + result.commit);
      return result;
    }
    CommitPtr commit_owner(commit);
    git_tree* tree = nullptr;
    if (git_commit_tree(&tree, commit) != 0) {
      result.error = failure("read tree of " + result.commit);
      return result;
    }
    TreePtr tree_owner(tree);
    TreeWalk walk{mirror.get(), max_files, max_bytes, 0, &result};
    for (const std::string& d : dirs) {
      git_tree_entry* entry = nullptr;
      if (git_tree_entry_bypath(&entry, tree, d.c_str()) != 0) continue;
      std::unique_ptr<git_tree_entry, Free<git_tree_entry_free>> entry_owner(entry);
      if (git_tree_entry_type(entry) != GIT_OBJECT_TREE) continue;
      git_tree* sub = nullptr;
      if (git_tree_lookup(&sub, mirror.get(), git_tree_entry_id(entry)) != 0) continue;
      TreePtr sub_owner(sub);
      // Paths below `d`: the walk's roots are relative to the subtree.
      size_t first = result.files.size();
      if (git_tree_walk(sub, GIT_TREEWALK_PRE, collect_blob, &walk) != 0) {
        if (result.error.empty()) result.error = failure("walk " + d);
        result.error =
            url + " at " + result.commit.substr(0, 12) + ": " + d + "/ has " + result.error;
        git_error_clear();
        return result;
      }
      for (size_t i = first; i < result.files.size(); ++i) {
        result.files[i].path = d + "/" + result.files[i].path;
      }
    }
    std::sort(result.files.begin(), result.files.end(),
              [](const TreeFile& a, const TreeFile& b) { return a.path < b.path; });
    result.ok = true;
  } catch (const std::exception& e) {
    result.error = "read " + url + ": " + e.what();
  }
  git_error_clear();
  return result;
}

}  // namespace gantry::git
