#pragma once
// What runs agree on through the controller (docs/pipeline-language.md, "lock and milestone"):
// lockable resources (Jenkins' Lockable Resources `lock` step and option) and milestones
// (the Pipeline Milestone step). Steps on agents ask; these tables answer.
//
// Locks: resources are declared in the controller config, each with labels (`locks:`), or
// created when first asked for by name and dropped once nobody holds or waits for them. A
// request names one resource, or asks for `quantity` resources carrying a label (0: all of
// them). Requests wait in one queue, in order of arrival (or newest first with
// inversePrecedence, as Jenkins orders them), and a request gets all its resources at once or
// none: nothing is held while waiting, so two runs each wanting 2 of 3 cannot deadlock. An
// earlier waiter keeps the resources it could use from later ones (no overtaking, so a request
// for 2 is not starved by a stream of requests for 1); requests for other resources go on.
// A holder is a lock block of one job ("JOB#n", so nested blocks hold separately) or a whole
// run ("run:ID", the pipeline's `options { lock(...) }`). Whatever a job holds is released
// when the job ends, however it ends; a run's lock when the run ends.
//
// Milestones: once a run passes milestone N, older runs of the same job that have not passed
// N are cancelled, and an older run that reaches N after a newer one passed it is refused
// (it aborts), so deploys go out in order and only the newest. Ordinals come from the step or,
// when it names none, follow the run's previous one.
//
// Pure and synchronous; no I/O, no clock (times are passed in). Loop thread only.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace gantry::controller {

// What a lock step or option asks for.
struct LockRequest {
  std::string resource;         // one resource by name, or
  std::string label;            // `quantity` resources carrying this label
  int64_t quantity = 0;         // 0: every resource with the label
  bool inverse = false;         // inversePrecedence: newest request first
  bool skip_if_locked = false;  // not queued: acquired now or not at all
};

// A resource from the controller config (`locks: [{name, labels}]`).
struct LockResource {
  std::string name;
  std::vector<std::string> labels;
};

// "[printer-1]", "[Label: printer, Quantity: 2]", as Jenkins' log says it.
std::string describe(const LockRequest& request);

class LockTable {
 public:
  struct Answer {
    bool acquired = false;
    bool queued = false;                 // waiting in the queue (not with skip_if_locked)
    std::vector<std::string> resources;  // what it holds (when acquired)
    size_t ahead = 0;                    // requests for the same resources before this one
    std::string holder;                  // who holds them now (when waiting): "run 12"
    std::string error;                   // the request cannot be met: nothing queued
  };
  // The declared resources (a reload replaces the set). A resource no longer declared keeps
  // its holder until released; waiters may get newly declared resources at once.
  void declare(const std::vector<LockResource>& resources, int64_t now);

  // `holder`: "JOB#n" or "run:ID"; `run_id` for messages and the listing. Asking again for
  // the same holder answers without queueing twice.
  Answer acquire(const std::string& holder, int64_t run_id, const LockRequest& request,
                 int64_t now);
  bool holds(const std::string& holder) const { return held_.count(holder) != 0; }
  // Why the request can never be met (both a resource and a label, an unknown label, more
  // than the label has), or "".
  std::string check(const LockRequest& want) const;
  // A waiting holder's answer now (ahead, holder), without asking again.
  Answer position(const std::string& holder) const;
  void release(const std::string& holder, int64_t now);
  void release_job(const std::string& job_id, int64_t now);  // every "JOB#..." holder

  struct ResourceState {
    std::string name;
    std::vector<std::string> labels;
    bool declared = false;
    int64_t held_by_run = 0;  // 0: free
    std::string holder;
    int64_t since = 0;
    std::vector<int64_t> waiting_runs;  // in the order they will get it
  };
  std::vector<ResourceState> state() const;
  struct RequestState {
    std::string holder;
    int64_t run_id = 0;
    std::string wanted;                  // describe()
    std::vector<std::string> resources;  // held (empty while waiting)
    int64_t since = 0;                   // held since, or waiting since
  };
  std::vector<RequestState> holders() const;
  std::vector<RequestState> waiters() const;  // in the order they will be served

 private:
  struct Resource {
    std::vector<std::string> labels;
    bool declared = false;
    size_t rank = 0;     // declaration order first, then creation order
    std::string holder;  // "" when free
    int64_t run_id = 0, since = 0;
  };
  struct Waiter {
    std::string holder;
    int64_t run_id = 0;
    LockRequest want;
    int64_t at = 0;
  };
  struct Holding {
    int64_t run_id = 0, since = 0;
    std::string wanted;
    std::vector<std::string> resources;
  };
  std::vector<std::string> candidates(const LockRequest& want) const;
  size_t needed(const LockRequest& want) const;
  // The waiters in the order they are served.
  std::vector<const Waiter*> order() const;
  // Hands free resources to the waiters, in order, each all it asked for or nothing.
  void grant(int64_t now);
  Answer waiting_answer(const Waiter& w) const;
  void drop_unused();

  std::map<std::string, Resource> resources_;
  std::deque<Waiter> queue_;  // arrival order
  std::map<std::string, Holding> held_;
  size_t next_rank_ = 1u << 20;  // undeclared resources come after the declared ones
};

class MilestoneTable {
 public:
  struct Verdict {
    bool pass = false;
    int ordinal = 0;
    std::string reason;           // why not
    std::vector<int64_t> cancel;  // older runs to cancel, because this one passed
  };
  // `unfinished`: the job's runs still going, (run id, number), this one among them.
  Verdict pass(const std::string& job, int64_t run_id, int64_t number, std::optional<int> ordinal,
               const std::vector<std::pair<int64_t, int64_t>>& unfinished);
  void forget_run(int64_t run_id);

 private:
  struct Passed {
    int64_t number = 0, run_id = 0;
  };
  std::map<std::string, std::map<int, Passed>> newest_;  // job -> ordinal -> newest run past it
  std::map<int64_t, int> reached_;                       // run -> highest ordinal passed
};

}  // namespace gantry::controller
