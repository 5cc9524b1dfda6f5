#pragma once
// The `lock` and `milestone` steps' side of the controller (scheduler/coordination.hpp holds
// the rules): the job-scoped agent routes POST /api/v1/agent/jobs/JOB/lock and .../milestone
// (checked by AgentGateway like every job route), GET /api/v1/locks, and the milestones' cleanup
// when a run ends. The lock table is the scheduler's (a release may start a run waiting for the
// pipeline's `options { lock }`), which also releases a job's locks when the job ends. A
// milestone that supersedes older runs cancels them through the scheduler.
//
// Loop thread only.

#include <string>

#include "gantry/net/http_server.hpp"
#include "scheduler/coordination.hpp"

namespace gantry::controller {

class Engine;
struct Job;

class CoordinationService {
 public:
  explicit CoordinationService(Engine& engine) : engine_(engine) {}

  // Bodies: lock {"op": "acquire"|"release", "block": N, "resource": R | "label": L,
  // "quantity": Q, "inverse": bool, "skip": bool}; milestone {"ordinal": N (optional),
  // "label": L}. Answers: {"status": "acquired"|"waiting"|"locked"|"refused"|"released",
  // "resources", "ahead", "holder", "reason"}; {"status": "passed"|"superseded", "ordinal",
  // "reason"}.
  net::Response lock(const Job& job, const std::string& body);
  net::Response milestone(const Job& job, const std::string& body);
  net::Response list_locks() const;  // GET /api/v1/locks

  void run_forgotten(int64_t run_id) { milestones_.forget_run(run_id); }

 private:
  Engine& engine_;
  MilestoneTable milestones_;
};

}  // namespace gantry::controller
