// Gates: a leaf stage that deploys to an environment with a GMUD policy, or
// has an `input`, waits (status `waiting`, no job, no agent) until the
// service opens or fails its gate. A deploy to an environment the controller
// does not define fails closed here, before anything runs. The request's
// texts (GMUD title, input message) are evaluated with the stage's
// environment, so "Release ${GIT_COMMIT}" reads as the commit.
#include <algorithm>

#include "gantry/common/log.hpp"
#include "gantry/pipelines/expression.hpp"
#include "scheduler/scheduler.hpp"

namespace gantry::controller {

namespace {

// The text of an expression (a string with ${...}), or its error.
std::string text_of(const pipelines::NodePtr& expr, const std::map<std::string, std::string>& env) {
  if (!expr) return "";
  pipelines::EvalContext ctx;
  for (const auto& [k, v] : env) ctx.env[k] = v;
  pipelines::EvalResult v = pipelines::evaluate(*expr, ctx);
  if (auto* value = std::get_if<pipelines::Value>(&v)) return value->to_string();
  return "(" + std::get<pipelines::EvalError>(v).message + ")";
}

std::string names_of(const std::map<std::string, bool>& environments) {
  std::string out;
  for (const auto& [name, gated] : environments) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

}  // namespace

int Scheduler::node_of(const RunState& run, const std::string& stage_id) const {
  for (size_t i = 1; i < run.nodes.size(); ++i) {
    if (run.nodes[i].kind == NodeKind::Stage &&
        run.record_of(static_cast<int>(i)).stage_id == stage_id)
      return static_cast<int>(i);
  }
  return -1;
}

bool Scheduler::hold_at_gate(RunState& run, int node, int64_t now) {
  const ExecNode& n = run.nodes[static_cast<size_t>(node)];
  const pipelines::Stage* st = n.stage;
  if (n.kind != NodeKind::Stage || !st || (!st->deploy && !st->input)) return false;
  const std::set<GateKind>& passed = run.record_of(node).gates;
  std::optional<GateKind> next;
  if (st->deploy && !passed.count(GateKind::Gmud)) {
    auto env = options_.environments.find(st->deploy->environment);
    if (env == options_.environments.end()) {
      std::string why = "deploys to unknown environment '" + st->deploy->environment +
                        "' (the controller defines: " + names_of(options_.environments) + ")";
      apply(run, run.leaf_done(node, pipelines::Result::Failure, why, now), now);
      return true;
    }
    if (env->second) next = GateKind::Gmud;
  }
  if (!next && st->input && !passed.count(GateKind::Input)) next = GateKind::Input;
  // Last, the release: the service records it and gives the steps its id.
  if (!next && st->deploy && !passed.count(GateKind::Release)) next = GateKind::Release;
  if (!next) return false;
  const GateKind kind = *next;
  StageRecord& rec = run.record_of(node);
  if (!at_gate_.emplace(std::make_pair(run.run.id, rec.stage_id), kind).second)
    return true;  // asked already
  run.mark(node, RunStatus::Waiting, now,
           kind == GateKind::Gmud      ? "waiting for a GMUD approval"
           : kind == GateKind::Release ? "starting a release"
                                       : "waiting for input");
  dirty_.insert(run.run.id);
  GateRequest g;
  g.run_id = run.run.id;
  g.stage_id = rec.stage_id;
  g.kind = kind;
  std::string error;
  std::map<std::string, std::string> env = environment_of(run, node, nullptr, error);
  if (kind == GateKind::Release) {
    g.environment = st->deploy->environment;
    g.strategy = st->deploy->canary ? "canary" : "direct";
  } else if (kind == GateKind::Gmud) {
    g.environment = st->deploy->environment;
    if (st->gmud) {
      g.title = text_of(st->gmud->title, env);
      g.impact = st->gmud->impact;
      g.rollback_plan = text_of(st->gmud->rollback_plan, env);
    }
    if (g.title.empty())
      g.title = "Deploy " + run.run.job_name + " #" + std::to_string(run.run.number) + " to " +
                g.environment;
  } else {
    g.message = text_of(st->input->message, env);
    g.ok = st->input->ok;
    g.submitter = st->input->submitter;
    g.submitter_parameter = st->input->submitter_parameter;
    for (const pipelines::Parameter& p : st->input->parameters) {
      GateRequest::Parameter gp{p.name, p.type, text_of(p.default_value, env), p.description,
                                p.choices};
      if (gp.type == "choice" && gp.default_value.empty() && !gp.choices.empty())
        gp.default_value = gp.choices.front();
      g.parameters.push_back(std::move(gp));
    }
  }
  log::info("scheduler", "gate.waiting",
            {{"run", std::to_string(run.run.id)},
             {"stage", rec.stage_id},
             {"kind", std::string(to_string(kind))}});
  gate_requests_.push_back(std::move(g));
  return true;
}

bool Scheduler::open_gate(int64_t run_id, const std::string& stage_id, GateKind kind,
                          const std::map<std::string, std::string>& values, int64_t now) {
  auto it = runs_.find(run_id);
  auto gate = at_gate_.find({run_id, stage_id});
  if (it == runs_.end() || gate == at_gate_.end() || gate->second != kind) return false;
  RunState& run = *it->second;
  int node = node_of(run, stage_id);
  if (node < 0 || run.record_of(node).status != RunStatus::Waiting) return false;
  at_gate_.erase({run_id, stage_id});
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
  auto it = runs_.find(run_id);
  auto gate = at_gate_.find({run_id, stage_id});
  if (it == runs_.end() || gate == at_gate_.end() || gate->second != kind) return false;
  RunState& run = *it->second;
  int node = node_of(run, stage_id);
  if (node < 0) return false;
  at_gate_.erase({run_id, stage_id});
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

bool Scheduler::deploy_held(RunState& run, int node, int64_t now) {
  const ExecNode& n = run.nodes[static_cast<size_t>(node)];
  if (n.kind != NodeKind::Stage || !n.stage || !n.stage->deploy || !options_.deploy_blocked)
    return false;
  // Windows and freezes hold what deploys: the steps, before each canary
  // weight. Never an analysis, a rollback or a post, which make things safer.
  const CanaryPhase phase = run.record_of(node).rollout.phase;
  if (run.run.rollback_of != 0 || (phase != CanaryPhase::None && phase != CanaryPhase::Steps))
    return false;
  auto env = options_.environments.find(n.stage->deploy->environment);
  if (env == options_.environments.end() || !env->second) return false;
  std::vector<std::string> blocks = options_.deploy_blocked(env->first, now);
  std::string why;
  for (const std::string& b : blocks) why += (why.empty() ? "held: " : "; ") + b;
  StageRecord& rec = run.record_of(node);
  const bool was_held = rec.reason.rfind("held: ", 0) == 0;
  if (rec.reason != why && (was_held || !why.empty())) {
    rec.reason = why;
    run.dirty_stages.insert(n.record);
    dirty_.insert(run.run.id);
  }
  return !blocks.empty();
}

void Scheduler::annotate_gate(int64_t run_id, const std::string& stage_id,
                              const std::string& reason) {
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return;
  RunState& run = *it->second;
  int node = node_of(run, stage_id);
  if (node < 0 || run.record_of(node).status != RunStatus::Waiting ||
      run.record_of(node).reason == reason)
    return;
  run.record_of(node).reason = reason;
  run.dirty_stages.insert(run.nodes[static_cast<size_t>(node)].record);
  dirty_.insert(run_id);
}

void Scheduler::reconfigure(std::map<std::string, bool> environments,
                            std::map<std::string, std::string> secrets) {
  options_.environments = std::move(environments);
  options_.secrets = std::move(secrets);
}

std::vector<GateRequest> Scheduler::take_gate_requests() {
  return std::exchange(gate_requests_, {});
}

}  // namespace gantry::controller
