#pragma once
// What runs agree on through the controller (docs/pipeline-language.md, "lock and milestone"):
// lockable resources (Jenkins' Lockable Resources `lock` step and option) and milestones
// (the Pipeline Milestone step). Steps on agents ask; these tables answer.
//
// Locks: a resource is created when first asked for and free once nobody holds or waits for
// it. Requests wait in order of arrival (or newest first with inversePrecedence, as Jenkins
// orders them); a holder is a lock block of one job ("JOB#n"), so nested blocks hold separately.
// Whatever a job holds is released when the job ends, however it ends.
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

class LockTable {
 public:
  struct Answer {
    bool acquired = false;
    std::string resource;
    size_t ahead = 0;    // requests before this one (when waiting)
    std::string holder;  // who holds it now (when waiting): "run 12"
  };
  // `holder`: "JOB#n", the job's n-th lock block; `run_id` for messages and the listing.
  // Asking again for the same holder and resource answers without queueing twice.
  Answer acquire(const std::string& holder, int64_t run_id, const std::string& resource,
                 bool inverse_precedence, int64_t now);
  void release(const std::string& holder, int64_t now);
  void release_job(const std::string& job_id, int64_t now);  // every "JOB#..." holder

  struct ResourceState {
    std::string name;
    int64_t held_by_run = 0;  // 0: free
    std::string holder;
    int64_t since = 0;
    std::vector<int64_t> waiting_runs;  // in the order they will get it
  };
  std::vector<ResourceState> state() const;

 private:
  struct Waiter {
    std::string holder;
    int64_t run_id = 0;
    int64_t at = 0;
    bool inverse = false;
  };
  struct Resource {
    std::string holder;  // "" when free
    int64_t run_id = 0, since = 0;
    std::deque<Waiter> queue;
  };
  // Hands a free resource to the first waiter.
  static void grant(Resource& r, int64_t now);
  // The waiters in the order they get the resource.
  static std::vector<const Waiter*> order(const Resource& r);
  void drop_unused(const std::string& name);

  std::map<std::string, Resource> resources_;
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
