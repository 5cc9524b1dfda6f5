#include "service/git_workers.hpp"

#include "gantry/common/log.hpp"

namespace gantry::controller {

ChangeRecord change_record(const git::ChangeCommit& c) {
  return ChangeRecord{
      c.sha, c.author_name, c.author_email, c.committer_name, c.committer_email, c.message, c.time,
      {}};
}

namespace {

constexpr size_t kMaxQueued = 1024;

ResolvedPipeline resolve_now(git::GitCache& cache, const ResolveRequest& req) {
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

bool GitWorkers::resolve(ResolveRequest request, std::function<void(ResolvedPipeline)> done) {
  return submit([request = std::move(request), done = std::move(done)](git::GitCache& cache) {
    ResolvedPipeline out = resolve_now(cache, request);
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
