#include "mirror.hpp"

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <vector>

namespace gantry::git::detail {

namespace fs = std::filesystem;

// libgit2 keeps its error per thread; read it right after the failing call.
std::string failure(const std::string& doing) {
  const git_error* e = git_error_last();
  std::string message = e != nullptr && e->message != nullptr ? e->message : "unknown error";
  // A local repository another user owns is refused, as git refuses it since
  // 2.35.2 (CVE-2022-24765); libgit2 1.5 says so with the message of its last
  // config lookup ("config value 'safe.directory' was not found").
  if (message.find("safe.directory") != std::string::npos ||
      message.find("not owned by current user") != std::string::npos) {
    message =
        "the repository belongs to another user, which git refuses unless it is listed as "
        "safe: git config --system --add safe.directory PATH";
  }
  return doing + ": " + message;
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

bool open_mirror(const std::string& dir, const std::string& url, RepoPtr& repo,
                 std::string& error) {
  std::error_code ec;
  fs::create_directories(fs::path(dir).parent_path(), ec);
  if (ec) {
    error = "create cache " + fs::path(dir).parent_path().string() + ": " + ec.message();
    return false;
  }
  git_repository* raw = nullptr;
  if (git_repository_open_bare(&raw, dir.c_str()) != 0 &&
      git_repository_init(&raw, dir.c_str(), 1) != 0) {
    error = failure("open mirror " + dir);
    return false;
  }
  repo.reset(raw);
  return ensure_origin(raw, url, kMirrorSpec, false, "open mirror " + dir, error);
}

bool open_fetched_mirror(const std::string& dir, const std::string& url, const std::string& doing,
                         RepoPtr& repo, std::string& error) {
  std::error_code ec;
  if (!fs::exists(fs::path(dir) / "HEAD", ec)) {
    error = doing + ": " + url + " has not been fetched yet";
    return false;
  }
  git_repository* raw = nullptr;
  if (git_repository_open_bare(&raw, dir.c_str()) != 0) {
    error = failure(doing + ": open mirror " + dir);
    return false;
  }
  repo.reset(raw);
  return ensure_origin(raw, url, kMirrorSpec, false, doing + ": open mirror " + dir, error);
}

bool mirror_remote(git_repository* repo, const std::string& url, RemotePtr& remote,
                   std::string& error) {
  git_remote_create_options create = GIT_REMOTE_CREATE_OPTIONS_INIT;
  create.repository = repo;
  create.fetchspec = kMirrorSpec;
  create.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF;
  git_remote* raw = nullptr;
  if (git_remote_create_with_opts(&raw, url.c_str(), &create) != 0) {
    error = failure("fetch " + url);
    return false;
  }
  remote.reset(raw);
  return true;
}

void follow_default_branch(git_repository* repo, git_remote* remote) {
  git_buf head = GIT_BUF_INIT;
  if (git_remote_default_branch(&head, remote) == 0) {
    git_reference* current = nullptr;
    const bool same = git_reference_lookup(&current, repo, "HEAD") == 0 &&
                      git_reference_type(current) == GIT_REFERENCE_SYMBOLIC &&
                      std::strcmp(git_reference_symbolic_target(current), head.ptr) == 0;
    git_reference_free(current);
    if (!same) git_repository_set_head(repo, head.ptr);
  }
  git_buf_dispose(&head);
  git_error_clear();
}

namespace {

// libgit2 1.5's local transport (paths, file://) hides every ref of the
// mirror in a revwalk and fails the fetch with "object is not a committish"
// on one that does not peel to a commit, such as a tag of a tree. Such refs
// are dropped before a fetch, which brings them back.
void drop_non_commit_refs(git_repository* repo) {
  git_reference_iterator* raw = nullptr;
  if (git_reference_iterator_new(&raw, repo) != 0) return;
  std::unique_ptr<git_reference_iterator, Free<git_reference_iterator_free>> iter(raw);
  std::vector<std::string> drop;
  git_reference* ref = nullptr;
  while (git_reference_next(&ref, iter.get()) == 0) {
    git_object* target = nullptr;
    git_object* commit = nullptr;
    if (git_reference_type(ref) == GIT_REFERENCE_DIRECT &&
        git_object_lookup(&target, repo, git_reference_target(ref), GIT_OBJECT_ANY) == 0 &&
        git_object_peel(&commit, target, GIT_OBJECT_COMMIT) != 0) {
      drop.emplace_back(git_reference_name(ref));
    }
    git_object_free(commit);
    git_object_free(target);
    git_reference_free(ref);
  }
  for (const std::string& name : drop) git_reference_remove(repo, name.c_str());
  git_error_clear();
}

}  // namespace

bool fetch(git_repository* repo, git_remote* remote, const std::string& url, std::string& error) {
  drop_non_commit_refs(repo);
  git_fetch_options opts = GIT_FETCH_OPTIONS_INIT;
  opts.prune = GIT_FETCH_PRUNE;
  CallbackState state{url};
  set_callbacks(opts.callbacks, state);
  if (git_remote_fetch(remote, nullptr, &opts, "gantry: fetch") != 0) {
    error = remote_failure("fetch " + url, state);
    return false;
  }
  follow_default_branch(repo, remote);
  return true;
}

bool fetch(git_repository* repo, const std::string& url, std::string& error) {
  RemotePtr remote;
  return mirror_remote(repo, url, remote, error) && fetch(repo, remote.get(), url, error);
}

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

}  // namespace gantry::git::detail
