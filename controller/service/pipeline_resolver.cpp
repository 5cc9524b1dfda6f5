#include "service/pipeline_resolver.hpp"

#include "gantry/common/log.hpp"
#include "gantry/git/git_cache.hpp"

namespace gantry::controller {

namespace {
constexpr size_t kMaxQueued = 64;
}

PipelineResolver::PipelineResolver(net::EventLoop& loop, std::string mirrors_dir)
    : loop_(loop), mirrors_dir_(std::move(mirrors_dir)), worker_([this] { work(); }) {}

PipelineResolver::~PipelineResolver() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

bool PipelineResolver::resolve(std::string url, std::string ref, std::string file,
                               std::function<void(ResolvedPipeline)> done) {
  std::lock_guard lock(mu_);
  if (queue_.size() >= kMaxQueued) return false;
  queue_.push_back({std::move(url), std::move(ref), std::move(file), std::move(done)});
  cv_.notify_one();
  return true;
}

void PipelineResolver::work() {
  git::GitCache cache(mirrors_dir_);
  for (;;) {
    Request req;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      req = std::move(queue_.front());
      queue_.pop_front();
    }
    std::vector<std::string> candidates;
    if (req.file.empty()) {
      candidates = {"Jenkinsfile", ".gantry.yml"};
    } else {
      candidates = {req.file};
    }
    git::ReadResult r = cache.read_file(req.url, req.ref, candidates);
    ResolvedPipeline out;
    out.ok = r.ok;
    out.error = r.error;
    out.commit = r.commit;
    out.source = r.content;
    out.path = r.path;
    out.author = r.author;
    bool yaml = r.path.size() >= 4 && (r.path.ends_with(".yml") || r.path.ends_with(".yaml"));
    out.format = yaml ? "yaml" : "jenkinsfile";
    if (!out.ok)
      log::warn("resolver", "pipeline.unreadable", {{"repo", req.url}, {"error", out.error}});
    auto done = std::move(req.done);
    loop_.post([done, out] { done(out); });
  }
}

}  // namespace gantry::controller
