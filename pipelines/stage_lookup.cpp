#include "gantry/pipelines/stage_lookup.hpp"

#include <algorithm>
#include <map>

#include "gantry/pipelines/planner.hpp"

namespace gantry::pipelines {
namespace {

constexpr std::string_view kSep = " / ";

bool excluded_by(const MatrixCell& cell, const std::vector<Axis>& exclude) {
  std::map<std::string_view, std::string_view> values;
  for (const auto& [k, v] : cell) values.emplace(k, v);
  return std::all_of(exclude.begin(), exclude.end(), [&](const Axis& a) {
    auto it = values.find(a.name);
    if (it == values.end()) return false;
    bool listed = std::find(a.values.begin(), a.values.end(), it->second) != a.values.end();
    return a.not_values ? !listed : listed;
  });
}

// Descends through `stages` following `rest`, the part of the id below the
// enclosing node. Depth is bounded by the model (the builder limits nesting).
class Finder {
 public:
  explicit Finder(StageLookup& out) : out_(out) {}

  bool sequence(const std::vector<Stage>& stages, std::string_view rest, const Matrix* matrix,
                const MatrixCell& axes) {
    for (const Stage& s : stages) {
      if (stage(s, rest, matrix, axes)) return true;
    }
    return false;
  }

 private:
  bool stage(const Stage& s, std::string_view rest, const Matrix* matrix, const MatrixCell& axes) {
    if (rest == s.name) {
      out_ = StageLookup{&s, matrix, axes};
      return true;
    }
    if (!rest.starts_with(s.name) || !rest.substr(s.name.size()).starts_with(kSep)) return false;
    std::string_view below = rest.substr(s.name.size() + kSep.size());
    if (!s.parallel.empty()) return sequence(s.parallel, below, matrix, axes);
    if (!s.matrix) return !s.stages.empty() && sequence(s.stages, below, matrix, axes);
    for (const MatrixCell& cell : matrix_cells(*s.matrix)) {
      std::string label = cell_label(cell);
      if (!below.starts_with(label) || !below.substr(label.size()).starts_with(kSep)) continue;
      if (sequence(s.matrix->stages, below.substr(label.size() + kSep.size()), s.matrix.get(),
                   cell)) {
        return true;
      }
    }
    return false;
  }

  StageLookup& out_;
};

void collect(const std::vector<Stage>& stages, const std::string& parent,
             std::vector<std::string>& out) {
  for (const Stage& s : stages) {
    if (out.size() >= kMaxPlanNodes) return;
    std::string id = parent.empty() ? s.name : parent + std::string(kSep) + s.name;
    if (!s.parallel.empty()) {
      collect(s.parallel, id, out);
    } else if (s.matrix) {
      for (const MatrixCell& cell : matrix_cells(*s.matrix)) {
        collect(s.matrix->stages, id + std::string(kSep) + cell_label(cell), out);
        if (out.size() >= kMaxPlanNodes) return;
      }
    } else if (!s.stages.empty()) {
      collect(s.stages, id, out);
    } else {
      out.push_back(std::move(id));
    }
  }
}

}  // namespace

std::string cell_label(const MatrixCell& cell) {
  std::string label;
  for (const auto& [k, v] : cell) {
    if (!label.empty()) label += ", ";
    label.append(k).append("=").append(v);
  }
  return label;
}

std::vector<MatrixCell> matrix_cells(const Matrix& m, size_t* excluded) {
  std::vector<MatrixCell> all = {{}};
  for (const Axis& axis : m.axes) {
    std::vector<MatrixCell> next;
    for (const auto& partial : all) {
      for (const auto& v : axis.values) {
        if (next.size() >= kMaxPlanNodes) break;
        MatrixCell cell = partial;
        cell.emplace_back(axis.name, v);
        next.push_back(std::move(cell));
      }
    }
    all = std::move(next);
  }
  std::vector<MatrixCell> kept;
  size_t removed = 0;
  for (auto& cell : all) {
    bool out = std::any_of(m.excludes.begin(), m.excludes.end(),
                           [&](const std::vector<Axis>& ex) { return excluded_by(cell, ex); });
    if (out) {
      ++removed;
    } else {
      kept.push_back(std::move(cell));
    }
  }
  if (excluded) *excluded = removed;
  return kept;
}

StageLookup find_stage(const Pipeline& pipeline, std::string_view id) {
  StageLookup found;
  if (id.empty()) return found;
  Finder(found).sequence(pipeline.stages, id, nullptr, {});
  return found;
}

std::vector<std::string> runnable_stage_ids(const Pipeline& pipeline) {
  std::vector<std::string> out;
  collect(pipeline.stages, "", out);
  return out;
}

}  // namespace gantry::pipelines
