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

}  // namespace gantry::pipelines
