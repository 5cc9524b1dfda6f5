#pragma once
// Loads a pipeline file of either form: a Jenkinsfile (Groovy declarative) or
// a .gantry.yml (chosen by the file name: .yml/.yaml is YAML). One call from
// text to validated model, with all diagnostics. No file I/O here: the caller
// reads the file.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "gantry/pipelines/diagnostics.hpp"
#include "gantry/pipelines/model.hpp"

namespace gantry::pipelines {

enum class SourceFormat { Jenkinsfile, Yaml };

SourceFormat format_for_path(std::string_view path);

struct LoadResult {
  std::optional<Pipeline> pipeline;  // set when there were no errors
  Diagnostics diagnostics;
  // The parsed file, for the Groovy around and inside the pipeline (helper
  // methods, top-level variables, classes); set with `pipeline`.
  std::shared_ptr<const Node> tree;
};

LoadResult load_pipeline(std::string_view source, SourceFormat format);

}  // namespace gantry::pipelines
