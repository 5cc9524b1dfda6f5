#include "service/git_workers.hpp"

#include <set>

#include "gantry/common/log.hpp"
#include "gantry/pipelines/libraries.hpp"
#include "gantry/pipelines/loader.hpp"

namespace gantry::controller {

ChangeRecord change_record(const git::ChangeCommit& c) {
  return ChangeRecord{
      c.sha, c.author_name, c.author_email, c.committer_name, c.committer_email, c.message, c.time,
      {}};
}

void load_libraries(git::GitCache& cache, const std::vector<LibraryConfig>& configured,
                    const std::string& source, const std::string& format, ResolvedPipeline& out,
                    bool skip_unknown) {
  std::optional<pipelines::LibraryRequests> found = pipelines::find_library_requests(
      source,
      format == "yaml" ? pipelines::SourceFormat::Yaml : pipelines::SourceFormat::Jenkinsfile);
  if (!found) return;  // the load reports it, with every error
  pipelines::LibraryRequests& asked = *found;
  std::vector<pipelines::LibraryRequest> wanted;
  for (const LibraryConfig& lib : configured) {  // implicit ones first, as Jenkins loads them
    if (lib.implicit) wanted.push_back(pipelines::LibraryRequest{lib.name, "", {}});
  }
  for (auto& r : asked.wanted) {
    bool have = false;
    for (auto& w : wanted) {
      if (w.name == r.name) {
        have = true;
        if (!r.version.empty()) w.version = r.version;
      }
    }
    if (!have) wanted.push_back(std::move(r));
  }
  if (wanted.empty()) return;
  pipelines::LibraryBundle bundle;
  std::set<std::string> fetched;
  size_t bytes = 0;
  for (const pipelines::LibraryRequest& w : wanted) {
    const std::string at =
        w.pos.line != 0 ? " (line " + std::to_string(w.pos.line) + ")" : std::string();
    const LibraryConfig* lib = nullptr;
    for (const LibraryConfig& c : configured) {
      if (c.name == w.name) lib = &c;
    }
    if (lib == nullptr && skip_unknown) {
      log::warn("git", "library.not_given", {{"library", w.name}});
      continue;
    }
    if (lib == nullptr) {
      std::string names;
      for (const LibraryConfig& c : configured) {
        if (!names.empty()) names += ", ";
        names += c.name;
      }
      out.ok = false;
      out.error = "library '" + w.name + "'" + at + " is not configured on this controller (" +
                  (names.empty() ? std::string("it has no `libraries:`") : "it has: " + names) +
                  ")";
      return;
    }
    const std::string version = w.version.empty() ? lib->default_version : w.version;
    if (!w.version.empty() && !lib->allowed_versions.empty()) {
      bool allowed = false;
      for (const std::string& v : lib->allowed_versions) allowed = allowed || v == w.version;
      if (!allowed) {
        std::string list;
        for (const std::string& v : lib->allowed_versions) {
          if (!list.empty()) list += ", ";
          list += v;
        }
        out.ok = false;
        out.error = "library '" + w.name + "@" + w.version + "'" + at +
                    ": that version is not allowed (allowed: " + list + ")";
        return;
      }
    }
    if (fetched.insert(lib->url).second) {
      git::FetchResult f = cache.fetch_refs(lib->url);
      if (!f.ok) {
        out.ok = false;
        out.error = "library '" + w.name + "': " + f.error;
        return;
      }
    }
    git::TreeRead t = cache.read_tree_at(
        lib->url, version.empty() ? "HEAD" : version, {"vars", "src", "resources"},
        pipelines::kMaxLibraryFiles,
        pipelines::kMaxLibraryBytes - std::min(bytes, pipelines::kMaxLibraryBytes));
    if (!t.ok) {
      out.ok = false;
      out.error =
          "library '" + w.name + "@" + (version.empty() ? "HEAD" : version) + "': " + t.error;
      return;
    }
    pipelines::LoadedLibrary loaded;
    loaded.name = w.name;
    loaded.version = version.empty() ? "HEAD" : version;
    loaded.commit = t.commit;
    bool any_groovy = false;
    for (git::TreeFile& f : t.files) {
      if (!pipelines::is_library_file(f.path)) continue;
      any_groovy = any_groovy || f.path.ends_with(".groovy");
      bytes += f.content.size();
      loaded.files.push_back(pipelines::LibraryFile{std::move(f.path), std::move(f.content)});
    }
    if (!any_groovy) {
      out.ok = false;
      out.error = "library '" + w.name + "@" + loaded.version + "' (" + t.commit.substr(0, 12) +
                  ") has no vars/*.groovy or src/**.groovy: is " + lib->url + " a shared library?";
      return;
    }
    log::info("git", "library.loaded",
              {{"library", w.name},
               {"version", loaded.version},
               {"commit", t.commit},
               {"files", std::to_string(loaded.files.size())}});
    bundle.push_back(std::move(loaded));
  }
  if (!bundle.empty()) out.libraries = pipelines::encode_libraries(bundle);
}

namespace {

constexpr size_t kMaxQueued = 1024;

ResolvedPipeline resolve_now(git::GitCache& cache, const ResolveRequest& req,
                             const std::vector<LibraryConfig>& libraries, bool skip_unknown) {
  if (!req.inline_source.empty()) {
    ResolvedPipeline out;
    out.ok = true;
    out.source = req.inline_source;
    out.format = req.inline_format;
    load_libraries(cache, libraries, out.source, out.format, out, skip_unknown);
    return out;
  }
  std::vector<std::string> candidates;
  if (req.file.empty()) {
    candidates = {"Jenkinsfile", ".gantry.yml"};
  } else {
    candidates = {req.file};
  }
  const std::string ref = req.ref.empty() ? "HEAD" : req.ref;
  git::ReadResult r = req.fetch ? cache.read_file(req.url, ref, candidates)
                                : cache.read_file_at(req.url, ref, candidates);
  ResolvedPipeline out;
  out.ok = r.ok;
  out.error = r.error;
  out.commit = r.commit;
  out.source = std::move(r.content);
  out.path = r.path;
  out.author = r.author;
  out.author_email = r.author_email;
  bool yaml = r.path.ends_with(".yml") || r.path.ends_with(".yaml");
  out.format = yaml ? "yaml" : "jenkinsfile";
  if (out.commit.empty()) return out;
  if (out.ok) load_libraries(cache, libraries, out.source, out.format, out, skip_unknown);
  // The range is informative: a failure to compute it does not fail the run.
  git::ChangeSet cs = cache.changes(req.url, req.base_commit, out.commit, kMaxChangeCommits);
  if (!cs.ok) {
    log::warn("git", "changes.unreadable", {{"repo", req.url}, {"error", cs.error}});
    return out;
  }
  out.changes_truncated = cs.truncated;
  if (cs.from_known) out.base_commit = req.base_commit;
  size_t paths = 0;
  for (git::ChangeCommit& c : cs.commits) {
    ChangeRecord rec = change_record(c);
    for (std::string& p : c.paths) {
      if (paths == kMaxChangePaths) {
        out.changes_truncated = true;
        break;
      }
      rec.paths.push_back(std::move(p));
      ++paths;
    }
    out.changes.push_back(std::move(rec));
  }
  return out;
}

}  // namespace

GitWorkers::GitWorkers(net::EventLoop& loop, std::string mirrors_dir, int threads)
    : loop_(loop), cache_(std::move(mirrors_dir)) {
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { run(); });
}

GitWorkers::~GitWorkers() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

bool GitWorkers::submit(Work work) {
  std::lock_guard lock(mu_);
  if (queue_.size() >= kMaxQueued) return false;
  queue_.push_back(std::move(work));
  cv_.notify_one();
  return true;
}

void GitWorkers::set_libraries(std::vector<LibraryConfig> libraries, bool skip_unknown) {
  std::lock_guard lock(mu_);
  libraries_ = std::move(libraries);
  skip_unknown_libraries_ = skip_unknown;
}

bool GitWorkers::resolve(ResolveRequest request, std::function<void(ResolvedPipeline)> done) {
  std::vector<LibraryConfig> libraries;
  bool skip_unknown = false;
  {
    std::lock_guard lock(mu_);
    libraries = libraries_;
    skip_unknown = skip_unknown_libraries_;
  }
  return submit([request = std::move(request), done = std::move(done),
                 libraries = std::move(libraries), skip_unknown](git::GitCache& cache) {
    ResolvedPipeline out = resolve_now(cache, request, libraries, skip_unknown);
    if (!out.ok)
      log::warn("git", "pipeline.unreadable", {{"repo", request.url}, {"error", out.error}});
    return std::function<void()>([done, out = std::move(out)] { done(out); });
  });
}

bool GitWorkers::unshipped(std::string url, std::string to, std::vector<std::string> shipped,
                           size_t max, std::function<void(git::UnshippedRange)> done) {
  return submit([url = std::move(url), to = std::move(to), shipped = std::move(shipped), max,
                 done = std::move(done)](git::GitCache& cache) -> std::function<void()> {
    git::UnshippedRange r = cache.unshipped(url, to, shipped, max);
    return [done, r = std::move(r)]() mutable { done(std::move(r)); };
  });
}

bool GitWorkers::fetch_refs(std::string url, std::function<void(git::FetchResult)> done) {
  return submit([url = std::move(url), done = std::move(done)](git::GitCache& cache) {
    git::FetchResult out = cache.fetch_refs(url);
    return std::function<void()>([done, out = std::move(out)] { done(out); });
  });
}

void GitWorkers::run() {
  for (;;) {
    Work work;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    loop_.post(work(cache_));
  }
}

}  // namespace gantry::controller
