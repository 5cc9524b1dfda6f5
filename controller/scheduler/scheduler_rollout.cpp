// Deploy phases, from the scheduler's side (rollout.hpp has the phases):
// `gantry promote` and `gantry abort`.
#include "gantry/common/log.hpp"
#include "scheduler/rollout.hpp"
#include "scheduler/scheduler.hpp"

namespace gantry::controller {

std::string Scheduler::promote(int64_t run_id, const std::string& stage_id, int64_t now) {
  RunState* found = stored_run(run_id);
  if (!found) return "its run is not running";
  RunState& run = *found;
  int node = stage_node(run, stage_id);
  if (std::string refusal = promote_refusal(run, node); !refusal.empty()) return refusal;
  const Rollout& r = run.record_of(node).rollout;
  log::info("scheduler", "rollout.promoted",
            {{"run", std::to_string(run_id)},
             {"stage", stage_id},
             {"phase", std::string(to_string(r.phase))}});
  run.mark(node, RunStatus::Queued, now, "promoted");
  // A human judged an inconclusive analysis: on to the next weight.
  if (r.phase == CanaryPhase::Inconclusive)
    run.record_of(node).rollout.phase = CanaryPhase::Analysis;
  after_phase(run, node, now);
  dirty_.insert(run_id);
  dispatch_leaf(run, node, now);
  dispatch(now);
  return "";
}

std::string Scheduler::abort_deploy(int64_t run_id, const std::string& stage_id,
                                    const std::string& reason, int64_t now) {
  RunState* found = stored_run(run_id);
  if (!found) return "its run is not running";
  RunState& run = *found;
  int node = stage_node(run, stage_id);
  if (std::string refusal = abort_refusal(run, node); !refusal.empty()) return refusal;
  StageRecord& rec = run.record_of(node);
  Job* job = board_.find(rec.job_id);
  if (job && !job->queued()) {
    // Stop the running phase; its end starts the rollback.
    rec.rollout.abort = reason;
    run.dirty_stages.insert(run.nodes[static_cast<size_t>(node)].record);
    dirty_.insert(run_id);
    board_.stop(*job, reason, now);
    return "";
  }
  if (job) board_.remove(rec.job_id);  // queued, not handed out
  begin_rollback(run, node, reason, now);
  dirty_.insert(run_id);
  dispatch_leaf(run, node, now);
  dispatch(now);
  return "";
}

}  // namespace gantry::controller
