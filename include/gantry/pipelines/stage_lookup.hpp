#pragma once
// Finds a stage of a pipeline model by its plan id (planner.hpp): "Build" at
// the top level, "Parent / Child" for nested and parallel stages, "Matrix /
// K=V, K2=V2" for a matrix cell (axes in declaration order) and "Matrix /
// K=V, K2=V2 / Inner" for the stages of a cell. The agent receives a job as
// the pipeline source plus such an id, and looks the stage up here.
//
// Also lists the runnable stage ids (the plan's "stage" nodes) in plan order,
// and expands a matrix into its cells, as the planner does.
//
// Not responsible for evaluating `when`, environments or agents. Pure
// functions; results point into the Pipeline passed in, which must outlive
// them. Safe from any thread on a const Pipeline.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gantry/pipelines/model.hpp"

namespace gantry::pipelines {

// One matrix cell: (axis name, value) in axis declaration order.
using MatrixCell = std::vector<std::pair<std::string, std::string>>;

struct StageLookup {
  const Stage* stage = nullptr;    // nullptr: no stage has this id
  const Matrix* matrix = nullptr;  // the innermost matrix, for stages of a cell
  MatrixCell axes;                 // that cell's values
};

StageLookup find_stage(const Pipeline& pipeline, std::string_view id);

// Ids of the stages that run steps (plan nodes of kind "stage"), in plan
// order; stops after kMaxPlanNodes ids, as the planner does.
std::vector<std::string> runnable_stage_ids(const Pipeline& pipeline);

// The cartesian product of the axes in axis order, minus excluded cells;
// `excluded` (optional) receives how many cells the excludes removed.
std::vector<MatrixCell> matrix_cells(const Matrix& matrix, size_t* excluded = nullptr);

// "K=V, K2=V2": a cell's label in plan ids.
std::string cell_label(const MatrixCell& cell);

}  // namespace gantry::pipelines
