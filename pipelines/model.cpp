#include "gantry/pipelines/model.hpp"

namespace gantry::pipelines {

const Node* Step::arg(std::string_view key, size_t position) const {
  for (const auto& n : named) {
    if (n.name == key) return n.value.get();
  }
  return position < args.size() ? args[position].get() : nullptr;
}

const char* post_condition_name(PostCondition c) {
  switch (c) {
    case PostCondition::Always:
      return "always";
    case PostCondition::Changed:
      return "changed";
    case PostCondition::Fixed:
      return "fixed";
    case PostCondition::Regression:
      return "regression";
    case PostCondition::Aborted:
      return "aborted";
    case PostCondition::Success:
      return "success";
    case PostCondition::Unsuccessful:
      return "unsuccessful";
    case PostCondition::Unstable:
      return "unstable";
    case PostCondition::Failure:
      return "failure";
    case PostCondition::NotBuilt:
      return "notBuilt";
    case PostCondition::Cleanup:
      return "cleanup";
  }
  return "always";
}

const char* when_kind_name(WhenKind k) {
  switch (k) {
    case WhenKind::Branch:
      return "branch";
    case WhenKind::Tag:
      return "tag";
    case WhenKind::BuildingTag:
      return "buildingTag";
    case WhenKind::ChangeRequest:
      return "changeRequest";
    case WhenKind::Changeset:
      return "changeset";
    case WhenKind::Changelog:
      return "changelog";
    case WhenKind::Environment:
      return "environment";
    case WhenKind::Equals:
      return "equals";
    case WhenKind::Expression:
      return "expression";
    case WhenKind::TriggeredBy:
      return "triggeredBy";
    case WhenKind::IsRestartedRun:
      return "isRestartedRun";
    case WhenKind::AllOf:
      return "allOf";
    case WhenKind::AnyOf:
      return "anyOf";
    case WhenKind::Not:
      return "not";
  }
  return "branch";
}

const char* agent_kind_name(AgentKind k) {
  switch (k) {
    case AgentKind::Inherit:
      return "inherit";
    case AgentKind::None:
      return "none";
    case AgentKind::Any:
      return "any";
    case AgentKind::Label:
      return "label";
    case AgentKind::Node:
      return "node";
    case AgentKind::Docker:
      return "docker";
    case AgentKind::Dockerfile:
      return "dockerfile";
    case AgentKind::Kubernetes:
      return "kubernetes";
    case AgentKind::Other:
      return "other";
  }
  return "inherit";
}

bool runs_in_container(AgentKind k) {
  return k == AgentKind::Docker || k == AgentKind::Dockerfile || k == AgentKind::Kubernetes;
}

std::string agent_label(AgentKind k, const std::string& label) {
  switch (k) {
    case AgentKind::Label:
    case AgentKind::Node:
      return label;
    case AgentKind::Docker:
    case AgentKind::Dockerfile: {
      const std::string cap = kContainerCapability;
      if (label.empty() || label == cap) return cap;
      if (label.size() > cap.size() + 4 &&
          label.compare(label.size() - cap.size() - 4, std::string::npos, " && " + cap) == 0)
        return label;  // already asks for it (a reuseNode under a top agent that does)
      return "(" + label + ") && " + cap;
    }
    case AgentKind::Kubernetes:  // its `label` names the pod, not an agent
      return kContainerCapability;
    default:
      return {};
  }
}

namespace {

bool reuses_in_container(const std::vector<Stage>& stages, int depth) {
  if (depth > 64) return false;
  for (const Stage& s : stages) {
    if (s.agent.kind != AgentKind::Inherit) {
      if (s.agent.reuse_node && runs_in_container(s.agent.kind)) return true;
      continue;  // below it, stages reuse this stage's agent, not the pipeline's
    }
    if (reuses_in_container(s.stages, depth + 1) || reuses_in_container(s.parallel, depth + 1))
      return true;
    if (s.matrix && s.matrix->agent.kind == AgentKind::Inherit &&
        reuses_in_container(s.matrix->stages, depth + 1))
      return true;
  }
  return false;
}

}  // namespace

std::string top_agent_label(const Pipeline& pipeline) {
  std::string label = agent_label(pipeline.agent);
  if ((pipeline.agent.kind == AgentKind::Label || pipeline.agent.kind == AgentKind::Node ||
       pipeline.agent.kind == AgentKind::Any) &&
      reuses_in_container(pipeline.stages, 0))
    return agent_label(AgentKind::Docker, label);
  return label;
}

}  // namespace gantry::pipelines
