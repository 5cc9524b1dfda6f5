#pragma once
// The planner expands a pipeline model into the graph of stages a run
// executes: sequential order, parallel branches, matrix cells (axes crossed,
// excludes removed), each stage's effective agent (inherited as in Jenkins),
// its gates (input, deploy/GMUD) and post conditions. `gantry plan` prints it;
// the scheduler runs it. Pure function of the model: no I/O, no clock.

#include <map>
#include <string>
#include <vector>

#include "gantry/pipelines/model.hpp"

namespace gantry::pipelines {

struct PlanNode {
  std::string id;    // unique path: "Test / Unit", "Browsers / OS=linux, B=ff / Run"
  std::string name;  // the stage's own name
  std::string kind;  // "stage" (has steps), "group" (nested stages), "parallel", "matrix", "cell"
  int depth = 0;
  std::string parent;              // id of the enclosing node, empty at top level
  std::vector<std::string> after;  // ids that must finish before this starts
  std::string agent;               // effective agent, e.g. "label 'linux'", "any", "none"
  bool agent_inherited = false;
  std::map<std::string, std::string> axes;  // matrix cells and their stages
  std::string when;                         // summary of the when block, empty if none
  std::vector<std::string> gates;           // "input 'Ship it?'", "deploy production (canary ...)"
  std::vector<std::string> post;            // post condition names, in run order
  size_t steps = 0;                         // number of top-level steps
  bool fail_fast = false;
};

struct Plan {
  std::string agent;  // the pipeline's agent
  std::vector<PlanNode> nodes;
  std::vector<std::string> post;
  std::vector<std::string> parameters;  // "string TARGET = 'prod'"
  std::vector<std::string> triggers;    // "cron 'H * * * *'"
  size_t excluded_cells = 0;
};

// Refuses to expand beyond this many nodes (a matrix can multiply quickly);
// `truncated` is set and the plan stops growing.
inline constexpr size_t kMaxPlanNodes = 100000;

Plan make_plan(const Pipeline& pipeline, bool* truncated = nullptr);

std::string describe_agent(const Agent& agent);
std::string plan_to_text(const Plan& plan);
std::string plan_to_json(const Plan& plan);  // planner_json.cpp

}  // namespace gantry::pipelines
