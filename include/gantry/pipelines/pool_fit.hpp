#pragma once
// Which agents of a pool could run each stage (`gantry lint --agents`, `gantry plan
// --agents`): the label each stage needs once agents are inherited (a container agent
// adds the `docker` capability, docs/containers.md), matched against the agents'
// labels. Pure: the caller fetches the pool.

#include <set>
#include <string>
#include <vector>

#include "gantry/pipelines/model.hpp"

namespace gantry::pipelines {

struct PoolAgent {
  std::string name;
  std::set<std::string> labels;  // the agent's name is one of them, as in Jenkins
};

struct StageFit {
  std::string stage_id;    // "Build", "Test / Unit" (a matrix's stages once, not per cell)
  Pos pos;                 // of the agent section that decides
  std::string label;       // what the stage needs; empty: any agent
  bool evaluated = false;  // the label is an expression the controller evaluates at run time
  std::vector<std::string> agents;  // of the pool, those that qualify
};

// Stages that run steps, in document order.
std::vector<StageFit> fit_to_pool(const Pipeline& pipeline, const std::vector<PoolAgent>& pool);

}  // namespace gantry::pipelines
