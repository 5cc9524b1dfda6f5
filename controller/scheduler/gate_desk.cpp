// The gates a stage passes before it takes an agent (gate_desk.hpp). The
// request's texts (GMUD title, input message) are evaluated with the stage's
// environment, so "Release ${GIT_COMMIT}" reads as the commit. A deploy to
// an environment the controller does not define fails closed, before
// anything runs.
#include "scheduler/gate_desk.hpp"

#include "gantry/common/log.hpp"
#include "gantry/pipelines/expression.hpp"
#include "scheduler/job_spec.hpp"

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

GateDesk::Hold GateDesk::hold(RunState& run, int node, int64_t now, std::string& why) {
  const ExecNode& n = run.nodes[static_cast<size_t>(node)];
  const pipelines::Stage* st = n.stage;
  if (n.kind != NodeKind::Stage || !st || (!st->deploy && !st->input)) return Hold::Passed;
  const std::set<GateKind>& passed = run.record_of(node).gates;
  std::optional<GateKind> next;
  if (st->deploy && !passed.count(GateKind::Gmud)) {
    auto env = options_.environments.find(st->deploy->environment);
    if (env == options_.environments.end()) {
      why = "deploys to unknown environment '" + st->deploy->environment +
            "' (the controller defines: " + names_of(options_.environments) + ")";
      return Hold::Refused;
    }
    if (env->second && run.run.repo_name.empty()) {
      // Its GMUD could not say what code ships: no configured repository, no known history.
      why = "deploys to the gated environment '" + st->deploy->environment +
            "', which runs from an inline pipeline or an unconfigured URL may not: commit the "
            "pipeline to a configured repository";
      return Hold::Refused;
    }
    if (env->second && run.run.from_fork()) {
      // Whoever opened it wrote this pipeline: a fork's change request deploys nowhere gated.
      why = "deploys to the gated environment '" + st->deploy->environment +
            "', which a change request from a fork (" + run.run.change_request.at("CHANGE_FORK") +
            ") may not: merge it, and the target branch's run deploys";
      return Hold::Refused;
    }
    if (env->second) next = GateKind::Gmud;
  }
  if (!next && st->input && !passed.count(GateKind::Input)) next = GateKind::Input;
  // Last, the release: the service records it and gives the steps its id.
  if (!next && st->deploy && !passed.count(GateKind::Release)) next = GateKind::Release;
  if (!next) return Hold::Passed;
  const GateKind kind = *next;
  StageRecord& rec = run.record_of(node);
  if (!waiting_.emplace(std::make_pair(run.run.id, rec.stage_id), kind).second)
    return Hold::Waiting;  // asked already
  run.mark(node, RunStatus::Waiting, now,
           kind == GateKind::Gmud      ? "waiting for a GMUD approval"
           : kind == GateKind::Release ? "starting a release"
                                       : "waiting for input");
  GateRequest g;
  g.run_id = run.run.id;
  g.stage_id = rec.stage_id;
  g.kind = kind;
  std::string error;
  std::map<std::string, std::string> env = stage_environment(run, node, options_, nullptr, error);
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
  requests_.push_back(std::move(g));
  return Hold::Waiting;
}

bool GateDesk::deploy_held(RunState& run, int node, int64_t now) const {
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
  }
  return !blocks.empty();
}

bool GateDesk::waits(int64_t run_id, const std::string& stage_id, GateKind kind) const {
  auto it = waiting_.find({run_id, stage_id});
  return it != waiting_.end() && it->second == kind;
}

void GateDesk::leave(int64_t run_id, const std::string& stage_id) {
  waiting_.erase({run_id, stage_id});
}

void GateDesk::withdraw(int64_t run_id, const std::string& stage_id, const std::string& reason) {
  if (waiting_.erase({run_id, stage_id}) == 0) return;
  GateRequest g;
  g.run_id = run_id;
  g.stage_id = stage_id;
  g.cancel = true;
  g.reason = reason;
  requests_.push_back(std::move(g));
}

std::vector<GateRequest> GateDesk::take_requests() {
  return std::exchange(requests_, {});
}

}  // namespace gantry::controller
