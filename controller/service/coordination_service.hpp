#pragma once
// The `lock` and `milestone` steps' side of the controller (scheduler/coordination.hpp holds
// the rules): the job-scoped agent routes POST /api/v1/agent/jobs/JOB/lock and .../milestone
// (checked by AgentGateway like every job route), GET /api/v1/locks, and the cleanup when a
// job or run ends. A milestone that supersedes older runs cancels them through the scheduler.
//
// Loop thread only.

#include <string>

#include "gantry/net/http_server.hpp"
#include "scheduler/coordination.hpp"

namespace gantry::controller {

class Engine;
class RunState;
struct Job;

class CoordinationService {
 public:
  explicit CoordinationService(Engine& engine) : engine_(engine) {}

  // Bodies: lock {"op": "acquire"|"release", "block": N, "resource": R, "inverse": bool};
  // milestone {"ordinal": N (optional), "label": L}. Answers: {"status": "acquired"|"waiting"|
  // "released", "ahead", "holder"}; {"status": "passed"|"superseded", "ordinal", "reason"}.
  net::Response lock(const Job& job, const std::string& body);
  net::Response milestone(const Job& job, const std::string& body);
  net::Response list_locks() const;  // GET /api/v1/locks

  void stage_ended(const RunState& run, int record);  // its job's locks are released
  void run_forgotten(int64_t run_id) { milestones_.forget_run(run_id); }

 private:
  Engine& engine_;
  LockTable locks_;
  MilestoneTable milestones_;
};

}  // namespace gantry::controller
