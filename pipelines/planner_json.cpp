// JSON codec of the plan (`gantry plan --json`).
#include <nlohmann/json.hpp>

#include "gantry/pipelines/planner.hpp"

namespace gantry::pipelines {

std::string plan_to_json(const Plan& plan) {
  nlohmann::ordered_json j;
  j["agent"] = plan.agent;
  j["parameters"] = plan.parameters;
  j["triggers"] = plan.triggers;
  auto& nodes = j["stages"] = nlohmann::ordered_json::array();
  for (const PlanNode& n : plan.nodes) {
    nlohmann::ordered_json o;
    o["id"] = n.id;
    o["name"] = n.name;
    o["kind"] = n.kind;
    o["parent"] = n.parent.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(n.parent);
    o["after"] = n.after;
    o["agent"] = n.agent;
    o["agent_inherited"] = n.agent_inherited;
    if (!n.axes.empty()) o["axes"] = n.axes;
    if (!n.when.empty()) o["when"] = n.when;
    o["gates"] = n.gates;
    o["post"] = n.post;
    o["steps"] = n.steps;
    if (n.fail_fast) o["fail_fast"] = true;
    nodes.push_back(std::move(o));
  }
  j["excluded_cells"] = plan.excluded_cells;
  j["post"] = plan.post;
  // Names come from user files and may not be UTF-8: replace, never throw.
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace gantry::pipelines
