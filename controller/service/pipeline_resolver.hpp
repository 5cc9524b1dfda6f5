#pragma once
// Reads a run's pipeline file from git: resolves the ref to a commit in the
// controller's mirror of the repository (fetching first) and reads the file
// at that commit (the configured name, else .gantry.yml). libgit2 blocks, so
// this runs on one worker thread; results are posted back to the loop.
// Requests are queued (bounded); the destructor joins the worker.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "gantry/net/event_loop.hpp"

namespace gantry::controller {

struct ResolvedPipeline {
  bool ok = false;
  std::string error;
  std::string commit, source, path, format;  // format: "jenkinsfile" | "yaml"
  std::string author;
};

class PipelineResolver {
 public:
  PipelineResolver(net::EventLoop& loop, std::string mirrors_dir);
  ~PipelineResolver();

  // `file` empty: "Jenkinsfile", then ".gantry.yml". Returns false when the
  // queue is full (the caller answers 503).
  bool resolve(std::string url, std::string ref, std::string file,
               std::function<void(ResolvedPipeline)> done);

 private:
  struct Request {
    std::string url, ref, file;
    std::function<void(ResolvedPipeline)> done;
  };
  void work();

  net::EventLoop& loop_;
  std::string mirrors_dir_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Request> queue_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace gantry::controller
