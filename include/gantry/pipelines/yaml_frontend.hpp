#pragma once
// The YAML form of a pipeline (.gantry.yml). It is translated into the same
// syntax tree the Jenkinsfile parser produces for the equivalent Jenkinsfile,
// so that one model builder validates both and both mean exactly the same.
// Positions come from yaml-cpp marks. yaml-cpp exceptions stop here: bad YAML
// is a diagnostic. Plain synchronous code.
//
// The schema, each construct beside its Jenkinsfile twin, is docs/yaml-form.md.
// Only YAML-structural problems are reported here (a stage that is not a map,
// `stages` that is not a list); unknown sections, steps and options are
// translated like known ones so that the model builder judges them exactly as
// it judges a Jenkinsfile, at the YAML key's line and column.

#include <string_view>

#include "gantry/pipelines/ast.hpp"
#include "gantry/pipelines/diagnostics.hpp"

namespace gantry::pipelines {

// Returns a Block holding one `pipeline { ... }` call statement (never null;
// empty when the document could not be read).
NodePtr parse_yaml_pipeline(std::string_view source, Diagnostics& diags);

}  // namespace gantry::pipelines
