#include "gantry/git/git_cache.hpp"

#include <git2.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace gantry::git {
namespace {

namespace fs = std::filesystem;

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

constexpr const char* kMirrorSpec = "+refs/*:refs/*";
constexpr const char* kOriginSpec = "+refs/heads/*:refs/remotes/origin/*";

// libgit2 keeps its error per thread; read it right after the failing call.
std::string failure(const std::string& doing) {
  const git_error* e = git_error_last();
  return doing + ": " + (e != nullptr && e->message != nullptr ? e->message : "unknown error");
}

void init_libgit2() {
  static std::once_flag once;
  std::call_once(once, [] { git_libgit2_init(); });
}

// FNV-1a: stable across runs and platforms; the mirror's "origin" URL is
// checked on open, so a collision is reported rather than mixed up.
std::string mirror_name(const std::string& url) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : url) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return std::string(buf) + ".git";
}

bool is_full_sha(const std::string& s) {
  if (s.size() != GIT_OID_HEXSZ) return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string oid_hex(const git_oid& oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, &oid);
  return buf;
}

bool has_commit(git_repository* repo, const git_oid& oid) {
  git_object* obj = nullptr;
  if (git_object_lookup(&obj, repo, &oid, GIT_OBJECT_COMMIT) != 0) return false;
  git_object_free(obj);
  return true;
}

// The "origin" remote is kept as plain config entries. Going through
// git_remote_lookup/create would apply url.*.insteadOf, whose regex match
// leaks about 20 KiB per config entry in libgit2 1.5 (fixed upstream in 1.6).
bool ensure_origin(git_repository* repo, const std::string& url, const char* fetchspec,
                   bool may_change, const std::string& doing, std::string& error) {
  git_config* raw = nullptr;
  if (git_repository_config(&raw, repo) != 0) {
    error = failure(doing);
    return false;
  }
  std::unique_ptr<git_config, Free<git_config_free>> cfg(raw);
  git_buf current = GIT_BUF_INIT;
  const int rc = git_config_get_string_buf(&current, cfg.get(), "remote.origin.url");
  const std::string existing = rc == 0 ? std::string(current.ptr, current.size) : "";
  git_buf_dispose(&current);
  if (rc != 0 && rc != GIT_ENOTFOUND) {
    error = failure(doing);
    return false;
  }
  if (rc == 0 && existing == url) return true;
  if (rc == 0 && !may_change) {
    error = doing + ": it mirrors " + existing + ", not " + url;
    return false;
  }
  if (git_config_set_string(cfg.get(), "remote.origin.url", url.c_str()) != 0 ||
      (rc == GIT_ENOTFOUND &&
       git_config_set_string(cfg.get(), "remote.origin.fetch", fetchspec) != 0)) {
    error = failure(doing);
    return false;
  }
  return true;
}

// Opens the bare mirror for `url`, creating it on first use (or completing
// one whose creation was interrupted).
bool open_mirror(const std::string& dir, const std::string& url, RepoPtr& repo,
                 std::string& error) {
  git_repository* raw = nullptr;
  if (git_repository_open_bare(&raw, dir.c_str()) != 0 &&
      git_repository_init(&raw, dir.c_str(), 1) != 0) {
    error = failure("open mirror " + dir);
    return false;
  }
  repo.reset(raw);
  return ensure_origin(raw, url, kMirrorSpec, false, "open mirror " + dir, error);
}

bool fetch(git_repository* repo, const std::string& url, std::string& error) {
  git_remote_create_options create = GIT_REMOTE_CREATE_OPTIONS_INIT;
  create.repository = repo;
  create.fetchspec = kMirrorSpec;
  create.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF;
  git_remote* raw = nullptr;
  if (git_remote_create_with_opts(&raw, url.c_str(), &create) != 0) {
    error = failure("fetch " + url);
    return false;
  }
  RemotePtr remote(raw);
  git_fetch_options opts = GIT_FETCH_OPTIONS_INIT;
  opts.prune = GIT_FETCH_PRUNE;
  if (git_remote_fetch(remote.get(), nullptr, &opts, "gantry: fetch") != 0) {
    error = failure("fetch " + url);
    return false;
  }
  // Point the mirror's HEAD at the remote's default branch so "HEAD" resolves.
  git_buf head = GIT_BUF_INIT;
  if (git_remote_default_branch(&head, remote.get()) == 0) {
    git_repository_set_head(repo, head.ptr);
  }
  git_buf_dispose(&head);
  git_error_clear();
  return true;
}

// Resolves a SHA, ref name, tag or revision expression to a commit id.
bool resolve(git_repository* repo, const std::string& spec, const std::string& url, git_oid& oid,
             std::string& error) {
  git_object* raw = nullptr;
  if (git_revparse_single(&raw, repo, spec.c_str()) != 0) {
    error = failure("resolve " + spec + " in " + url);
    return false;
  }
  ObjectPtr obj(raw);
  git_object* peeled = nullptr;
  if (git_object_peel(&peeled, obj.get(), GIT_OBJECT_COMMIT) != 0) {
    error = failure("resolve " + spec + " in " + url);
    return false;
  }
  oid = *git_object_id(peeled);
  git_object_free(peeled);
  return true;
}

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

}  // namespace

GitCache::GitCache(std::string cache_dir) : cache_dir_(std::move(cache_dir)) {
  init_libgit2();
}

std::mutex& GitCache::mirror_mutex(const std::string& mirror_dir) {
  std::lock_guard lock(map_mu_);
  auto& mu = mirror_mu_[mirror_dir];
  if (!mu) mu = std::make_unique<std::mutex>();
  return *mu;
}

CheckoutResult GitCache::checkout(const std::string& url, const std::string& commit,
                                  const std::string& workspace) {
  CheckoutResult result;
  if (url.empty() || commit.empty() || workspace.empty()) {
    result.error = "checkout: url, commit and workspace are required";
    return result;
  }
  try {
    std::error_code ec;
    fs::create_directories(cache_dir_, ec);
    const fs::path mirror_dir = fs::absolute(fs::path(cache_dir_) / mirror_name(url));
    if (ec) {
      result.error = "create cache " + cache_dir_ + ": " + ec.message();
      return result;
    }
    git_oid oid{};
    {
      std::lock_guard lock(mirror_mutex(mirror_dir.string()));
      RepoPtr mirror;
      if (!open_mirror(mirror_dir.string(), url, mirror, result.error)) return result;
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
    if (!open_workspace(workspace, url, mirror_dir / "objects", ws, result.error)) return result;
    if (!check_out(ws.get(), oid, workspace, result.error)) return result;
    result.commit = oid_hex(oid);
    result.ok = true;
  } catch (const std::exception& e) {
    result.error = std::string("checkout ") + url + ": " + e.what();
  }
  return result;
}

ReadResult GitCache::read_file(const std::string& url, const std::string& ref,
                               const std::vector<std::string>& paths) {
  ReadResult result;
  try {
    std::error_code ec;
    fs::create_directories(cache_dir_, ec);
    const fs::path mirror_dir = fs::absolute(fs::path(cache_dir_) / mirror_name(url));
    std::lock_guard lock(mirror_mutex(mirror_dir.string()));
    RepoPtr mirror;
    if (!open_mirror(mirror_dir.string(), url, mirror, result.error)) return result;
    if (!fetch(mirror.get(), url, result.error)) return result;
    git_oid oid{};
    if (!resolve(mirror.get(), ref.empty() ? "HEAD" : ref, url, oid, result.error)) return result;
    result.commit = oid_hex(oid);
    git_commit* commit = nullptr;
    if (git_commit_lookup(&commit, mirror.get(), &oid) != 0) {
      result.error = failure("read commit " + result.commit);
      return result;
    }
    std::unique_ptr<git_commit, Free<git_commit_free>> commit_owner(commit);
    if (const git_signature* a = git_commit_author(commit); a && a->name) result.author = a->name;
    git_tree* tree = nullptr;
    if (git_commit_tree(&tree, commit) != 0) {
      result.error = failure("read tree of " + result.commit);
      return result;
    }
    std::unique_ptr<git_tree, Free<git_tree_free>> tree_owner(tree);
    for (const std::string& path : paths) {
      git_tree_entry* entry = nullptr;
      if (git_tree_entry_bypath(&entry, tree, path.c_str()) != 0) continue;
      std::unique_ptr<git_tree_entry, Free<git_tree_entry_free>> entry_owner(entry);
      git_blob* blob = nullptr;
      if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB ||
          git_blob_lookup(&blob, mirror.get(), git_tree_entry_id(entry)) != 0) {
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
        "no " + names + " in " + url + " at " + ref + " (" + result.commit.substr(0, 12) + ")";
  } catch (const std::exception& e) {
    result.error = "read " + url + ": " + e.what();
  }
  git_error_clear();
  return result;
}

}  // namespace gantry::git
