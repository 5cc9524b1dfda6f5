#include "gantry/pipelines/planner.hpp"

#include "gantry/pipelines/stage_lookup.hpp"

#include <algorithm>

namespace gantry::pipelines {
namespace {

std::string quoted(const std::string& s) {
  return "'" + s + "'";
}

std::string describe_when_condition(const When& w) {
  std::string out = when_kind_name(w.kind);
  if (w.kind == WhenKind::Expression)
    return "expression { " +
           (w.expression && !w.expression->items.empty() ? to_source(*w.expression->items.back())
                                                         : std::string()) +
           " }";
  if (!w.children.empty()) {
    out += " { ";
    for (size_t i = 0; i < w.children.size(); ++i) {
      if (i) out += "; ";
      out += describe_when_condition(w.children[i]);
    }
    return out + " }";
  }
  std::string args;
  for (const auto& [k, v] : w.args) {
    if (!args.empty()) args += ", ";
    args += k + ": " + (v ? to_source(*v) : "null");
  }
  return args.empty() ? out : out + "(" + args + ")";
}

std::string describe_when(const WhenBlock& w) {
  std::string out;
  for (const auto& c : w.conditions) {
    if (!out.empty()) out += " && ";
    out += describe_when_condition(c);
  }
  if (w.before_agent) out += " [beforeAgent]";
  if (w.before_input) out += " [beforeInput]";
  if (w.before_options) out += " [beforeOptions]";
  return out;
}

std::string describe_deploy(const Deploy& d, bool has_gmud) {
  std::string out = "deploy " + d.environment;
  if (d.canary) {
    out += " (canary ";
    for (size_t i = 0; i < d.canary->weights.size(); ++i) {
      out += (i ? "," : "") + std::to_string(d.canary->weights[i]);
    }
    if (d.canary->manual_pause) {
      out += "; pause until promoted";
    } else if (d.canary->pause_seconds) {
      out += "; pause " + std::to_string(*d.canary->pause_seconds) + "s";
    }
    if (!d.canary->analysis.empty()) {
      out += "; analysis; failureLimit " + std::to_string(d.canary->failure_limit);
      if (d.canary->inconclusive_pause) out += "; inconclusive: pause";
    }
    out += ")";
  }
  if (!d.rollback.empty()) out += " with rollback";
  if (has_gmud) out += "; gmud details";
  return out;
}

class Planner {
 public:
  explicit Planner(Plan& plan) : plan_(plan) {}

  // Adds `stages` in sequence after `after`; returns the ids the next stage
  // must wait for.
  std::vector<std::string> sequence(const std::vector<Stage>& stages,
                                    std::vector<std::string> after, const std::string& parent,
                                    int depth, const std::string& agent,
                                    const std::map<std::string, std::string>& axes) {
    for (const Stage& s : stages) after = stage(s, after, parent, depth, agent, axes);
    return after;
  }

  bool truncated = false;

 private:
  PlanNode& add(PlanNode node) {
    if (plan_.nodes.size() >= kMaxPlanNodes) {
      truncated = true;
      overflow_ = PlanNode{};
      return overflow_;
    }
    plan_.nodes.push_back(std::move(node));
    return plan_.nodes.back();
  }

  std::vector<std::string> stage(const Stage& s, const std::vector<std::string>& after,
                                 const std::string& parent, int depth,
                                 const std::string& inherited_agent,
                                 const std::map<std::string, std::string>& axes) {
    PlanNode node;
    node.name = s.name;
    node.id = parent.empty() ? s.name : parent + " / " + s.name;
    node.parent = parent;
    node.depth = depth;
    node.after = after;
    node.axes = axes;
    node.agent_inherited = s.agent.kind == AgentKind::Inherit;
    node.agent = node.agent_inherited ? inherited_agent : describe_agent(s.agent);
    if (s.when) node.when = describe_when(*s.when);
    if (s.input) {
      std::string msg = s.input->message ? to_source(*s.input->message) : "";
      node.gates.push_back(
          "input " + msg +
          (s.input->submitter.empty() ? "" : " (submitter " + s.input->submitter + ")"));
    }
    if (s.deploy) node.gates.push_back(describe_deploy(*s.deploy, s.gmud.has_value()));
    for (const auto& p : s.post) node.post.push_back(post_condition_name(p.condition));
    node.steps = s.steps.size();
    node.fail_fast = s.fail_fast;
    std::string id = node.id;
    std::string agent = node.agent;
    if (!s.parallel.empty()) {
      node.kind = "parallel";
      add(std::move(node));
      std::vector<std::string> ends;
      for (const Stage& branch : s.parallel) {
        auto e = stage(branch, {id}, id, depth + 1, agent, axes);
        ends.insert(ends.end(), e.begin(), e.end());
      }
      return ends;
    }
    if (s.matrix) {
      node.kind = "matrix";
      const Matrix& m = *s.matrix;
      if (m.agent.kind != AgentKind::Inherit) agent = describe_agent(m.agent);
      if (m.when) node.when = describe_when(*m.when);
      for (const auto& p : m.post) node.post.push_back(post_condition_name(p.condition));
      add(std::move(node));
      std::vector<std::string> ends;
      size_t excluded = 0;
      std::vector<MatrixCell> all = matrix_cells(m, &excluded);
      plan_.excluded_cells += excluded;
      for (const auto& ordered : all) {
        std::string label = cell_label(ordered);
        std::map<std::string, std::string> cell(ordered.begin(), ordered.end());
        PlanNode c;
        c.kind = "cell";
        c.name = label;
        c.id = id + " / " + label;
        c.parent = id;
        c.depth = depth + 1;
        c.after = {id};
        c.agent = agent;
        c.agent_inherited = m.agent.kind == AgentKind::Inherit;
        c.axes = cell;
        std::string cell_id = c.id;
        add(std::move(c));
        auto e = sequence(m.stages, {cell_id}, cell_id, depth + 2, agent, cell);
        ends.insert(ends.end(), e.begin(), e.end());
        if (truncated) break;
      }
      return ends;
    }
    if (!s.stages.empty()) {
      node.kind = "group";
      add(std::move(node));
      return sequence(s.stages, {id}, id, depth + 1, agent, axes);
    }
    node.kind = "stage";
    add(std::move(node));
    return {id};
  }

  Plan& plan_;
  PlanNode overflow_;
};

}  // namespace

std::string describe_agent(const Agent& a) {
  switch (a.kind) {
    case AgentKind::Inherit:
    case AgentKind::None:
      return "none";
    case AgentKind::Any:
      return "any";
    case AgentKind::Label:
    case AgentKind::Node: {
      std::string out = "label " + quoted(a.label);
      if (auto it = a.fields.find("customWorkspace"); it != a.fields.end())
        out += " in " + it->second;
      return out;
    }
    case AgentKind::Docker: {
      auto it = a.fields.find("image");
      return "docker " + quoted(it == a.fields.end() ? "" : it->second) +
             " (needs the docker capability)";
    }
    case AgentKind::Dockerfile: {
      auto it = a.fields.find("filename");
      return "dockerfile " + quoted(it == a.fields.end() ? "Dockerfile" : it->second) +
             " (needs the docker capability)";
    }
    case AgentKind::Kubernetes:
      return "kubernetes pod (needs the docker capability)";
    case AgentKind::Other:
      return a.type;
  }
  return "none";
}

Plan make_plan(const Pipeline& p, bool* truncated) {
  Plan plan;
  plan.agent = describe_agent(p.agent);
  for (const auto& post : p.post) plan.post.push_back(post_condition_name(post.condition));
  for (const auto& param : p.parameters) {
    std::string d = param.type + " " + param.name;
    if (param.default_value) d += " = " + to_source(*param.default_value);
    plan.parameters.push_back(d);
  }
  for (const auto& t : p.triggers) {
    plan.triggers.push_back(t.spec.empty() ? t.type : t.type + " " + quoted(t.spec));
  }
  Planner planner(plan);
  planner.sequence(p.stages, {}, "", 0, plan.agent, {});
  if (truncated) *truncated = planner.truncated;
  return plan;
}

std::string plan_to_text(const Plan& plan) {
  std::string out = "pipeline (agent: " + plan.agent + ")\n";
  for (const auto& p : plan.parameters) out += "  parameter " + p + "\n";
  for (const auto& t : plan.triggers) out += "  trigger " + t + "\n";
  for (const PlanNode& n : plan.nodes) {
    std::string indent(2 + 2 * static_cast<size_t>(n.depth), ' ');
    out += indent;
    if (n.kind == "parallel") {
      out += n.name + "  [parallel" + std::string(n.fail_fast ? ", failFast" : "") + "]";
    } else if (n.kind == "matrix") {
      out += n.name + "  [matrix]";
    } else if (n.kind == "cell") {
      out += "cell " + n.name;
    } else if (n.kind == "group") {
      out += n.name + "  [stages]";
    } else {
      out += n.name;
    }
    if (n.kind == "stage" || (n.kind == "cell" && !n.agent_inherited) || !n.agent_inherited) {
      out += "  agent: " + n.agent;
    }
    if (n.kind == "stage") out += "  steps: " + std::to_string(n.steps);
    out += "\n";
    if (!n.when.empty()) out.append(indent).append("  when ").append(n.when).append("\n");
    for (const auto& g : n.gates) out.append(indent).append("  gate: ").append(g).append("\n");
    if (!n.post.empty()) {
      out += indent + "  post:";
      for (const auto& p : n.post) out += " " + p;
      out += "\n";
    }
  }
  if (plan.excluded_cells)
    out += "  (" + std::to_string(plan.excluded_cells) + " matrix cells excluded)\n";
  if (!plan.post.empty()) {
    out += "post:";
    for (const auto& p : plan.post) out += " " + p;
    out += "\n";
  }
  return out;
}

}  // namespace gantry::pipelines
