// Gates, from the scheduler's side (gate_desk.hpp has the desk): a gate
// that opens queues its stage (or sends it to the next gate); one that
// fails ends the stage.
#include "gantry/common/log.hpp"
#include "scheduler/scheduler.hpp"

namespace gantry::controller {

bool Scheduler::open_gate(int64_t run_id, const std::string& stage_id, GateKind kind,
                          const std::map<std::string, std::string>& values, int64_t now) {
  RunState* found = stored_run(run_id);
  if (!found || !gates_.waits(run_id, stage_id, kind)) return false;
  RunState& run = *found;
  int node = stage_node(run, stage_id);
  if (node < 0 || run.record_of(node).status != RunStatus::Waiting) return false;
  gates_.leave(run_id, stage_id);
  run.record_of(node).gates.insert(kind);
  for (const auto& [k, v] : values) run.record_of(node).gate_values[k] = v;
  run.mark(node, RunStatus::Queued, now);
  run.record_of(node).reason.clear();
  log::info("scheduler", "gate.open",
            {{"run", std::to_string(run_id)},
             {"stage", stage_id},
             {"kind", std::string(to_string(kind))}});
  dispatch_leaf(run, node, now);  // the next gate, or the queue
  dirty_.insert(run_id);
  dispatch(now);
  return true;
}

bool Scheduler::fail_gate(int64_t run_id, const std::string& stage_id, GateKind kind,
                          const std::string& reason, int64_t now) {
  RunState* found = stored_run(run_id);
  if (!found || !gates_.waits(run_id, stage_id, kind)) return false;
  RunState& run = *found;
  int node = stage_node(run, stage_id);
  if (node < 0) return false;
  gates_.leave(run_id, stage_id);
  log::info("scheduler", "gate.failed",
            {{"run", std::to_string(run_id)},
             {"stage", stage_id},
             {"kind", std::string(to_string(kind))},
             {"reason", reason}});
  // Jenkins aborts a stage whose input was refused; a GMUD's refusal fails it.
  auto result = kind == GateKind::Input ? pipelines::Result::Aborted : pipelines::Result::Failure;
  apply(run, run.leaf_done(node, result, reason, now), now);
  return true;
}

void Scheduler::annotate_gate(int64_t run_id, const std::string& stage_id,
                              const std::string& reason) {
  RunState* found = stored_run(run_id);
  if (!found) return;
  RunState& run = *found;
  int node = stage_node(run, stage_id);
  if (node < 0 || run.record_of(node).status != RunStatus::Waiting ||
      run.record_of(node).reason == reason)
    return;
  run.record_of(node).reason = reason;
  run.dirty_stages.insert(run.nodes[static_cast<size_t>(node)].record);
  dirty_.insert(run_id);
}

void Scheduler::reconfigure(std::map<std::string, bool> environments,
                            std::map<std::string, std::string> secrets,
                            std::map<std::string, SecretScope> scopes) {
  options_.environments = std::move(environments);
  options_.secrets = std::move(secrets);
  options_.secret_scopes = std::move(scopes);
}

}  // namespace gantry::controller
