// Which agents of a pool could run each stage.
#include "gantry/pipelines/pool_fit.hpp"

#include "gantry/pipelines/groovy_parser.hpp"
#include "gantry/pipelines/label_expr.hpp"

namespace gantry::pipelines {

namespace {

struct Needed {
  std::string label;
  Pos pos;
  bool evaluated = false;
};

// As the scheduler derives it (controller/scheduler/run_state.cpp): a stage's own agent
// replaces the inherited one; `reuseNode` keeps the inherited label and adds the capability.
Needed apply(const Agent& a, const Needed& inherited) {
  if (a.kind == AgentKind::Inherit) return inherited;
  Needed out;
  out.pos = a.pos;
  out.evaluated = a.label_expr != nullptr;
  if (a.reuse_node && runs_in_container(a.kind)) {
    out.label = agent_label(a.kind, a.label.empty() ? inherited.label : a.label);
    out.evaluated = out.evaluated || inherited.evaluated;
  } else {
    out.label = agent_label(a);
  }
  return out;
}

void walk(const std::vector<Stage>& stages, const std::string& parent, const Needed& inherited,
          const std::vector<PoolAgent>& pool, std::vector<StageFit>& out, int depth) {
  if (depth > kMaxDepth) return;
  for (const Stage& s : stages) {
    const std::string id = parent.empty() ? s.name : parent + " / " + s.name;
    Needed need = apply(s.agent, inherited);
    if (!s.parallel.empty() || !s.stages.empty()) {
      walk(s.parallel, id, need, pool, out, depth + 1);
      walk(s.stages, id, need, pool, out, depth + 1);
      continue;
    }
    if (s.matrix) {
      walk(s.matrix->stages, id, apply(s.matrix->agent, need), pool, out, depth + 1);
      continue;
    }
    StageFit fit;
    fit.stage_id = id;
    fit.pos = need.pos.line != 0 ? need.pos : s.pos;
    fit.label = need.label;
    fit.evaluated = need.evaluated;
    if (!fit.evaluated) {
      auto parsed = fit.label.empty() ? LabelExprResult{} : parse_label_expr(fit.label);
      const LabelExpr* expr = std::get_if<LabelExpr>(&parsed);
      for (const PoolAgent& agent : pool) {
        if (fit.label.empty() || (expr && expr->matches(agent.labels)))
          fit.agents.push_back(agent.name);
      }
    }
    out.push_back(std::move(fit));
  }
}

}  // namespace

std::vector<StageFit> fit_to_pool(const Pipeline& pipeline, const std::vector<PoolAgent>& pool) {
  std::vector<StageFit> out;
  Needed top;
  if (pipeline.agent.kind != AgentKind::Inherit) {
    top = apply(pipeline.agent, Needed{});
    top.label = top_agent_label(pipeline);
  }
  walk(pipeline.stages, "", top, pool, out, 0);
  return out;
}

}  // namespace gantry::pipelines
