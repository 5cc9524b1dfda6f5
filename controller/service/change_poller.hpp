#pragma once
// Discovers pull and merge requests by polling the forge's API (docs/forges.md, "Polling"), for
// each repository with a `forge:` (its api and token) whose change requests are not off, every
// repository `poll`: GitHub's open pull requests, GitLab's opened merge requests, one page of at
// most 100. A change whose head differs from the one last built (kept in the store, shared with
// webhooks: forge_changes.hpp) starts a run through the same path as a webhook's delivery; a
// change no longer listed is closed as a webhook closes it. The first poll of a repository the
// store has never seen polled records the heads without starting runs, as the branch watcher does.
//
// Not responsible for starting or cancelling runs: the `change` hook (RunService::change_request)
// does, and records the heads it built.
//
// Threading: everything but the HTTP call runs on the loop thread. One worker thread does the
// calls, one at a time, at most one in flight per repository, and posts each outcome back to the
// loop. An error (HTTP status, bad JSON, timeout) is logged when it changes and shown in
// status(); polling goes on.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config.hpp"
#include "gantry/net/event_loop.hpp"
#include "store/store.hpp"
#include "webhook.hpp"

namespace gantry::controller {

struct ChangePollStatus {
  int64_t last_poll_at = 0;  // unix ms of the last answer, good or bad; 0 = never
  std::string last_error;
  int64_t open = -1;  // changes listed by the last good poll; -1 = none yet
};

struct ChangePollerHooks {
  // A change to build (action opened or synchronize) or to close, as a webhook's event.
  std::function<void(const RepositoryConfig&, const PushEvent&)> change;
  std::function<int64_t()> now_ms;
};

class ChangePoller {
 public:
  static constexpr int64_t kMinIntervalMs = 1000;

  ChangePoller(net::EventLoop& loop, Store& store, ChangePollerHooks hooks);
  ~ChangePoller();
  ChangePoller(const ChangePoller&) = delete;
  ChangePoller& operator=(const ChangePoller&) = delete;

  // The repositories to poll: new or changed ones are polled at once (once started).
  void reconfigure(const std::vector<RepositoryConfig>& repos,
                   const std::map<std::string, SecretConfig>& secrets);
  void start();
  void stop();  // timers cancelled; outcomes in flight ignored
  std::map<std::string, ChangePollStatus> status() const;  // by repository

 private:
  struct Target {
    RepositoryConfig repo;
    std::string token;
    ChangePollStatus status;
    uint64_t timer = 0;
    bool busy = false;
    uint64_t generation = 0;  // outcomes of an older configuration are dropped
  };
  struct Call {
    std::string name;
    ForgeConfig forge;
    std::string token;
    uint64_t generation = 0;
    std::weak_ptr<bool> alive;  // taken on the loop thread
  };
  struct Outcome {
    std::vector<ChangeRequestEvent> open;
    std::string error;
  };

  void poll(Target& t);
  void schedule(Target& t);
  void polled(const std::string& name, uint64_t generation, const Outcome& outcome);
  void work();
  Outcome call(const Call& c);

  net::EventLoop& loop_;
  Store& store_;
  ChangePollerHooks hooks_;
  std::map<std::string, Target> targets_;  // loop thread
  uint64_t generation_ = 0;
  bool started_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // guards posted outcomes

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Call> calls_;  // at most one per repository
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace gantry::controller
