#pragma once
// Builds the pipeline model from a syntax tree and validates it against
// Jenkins' declarative rules (sections, directives, when and post conditions,
// agents, options, triggers, parameters, matrix, input) and Gantry's own
// `deploy` and `gmud` directives. Every problem is reported with its position;
// the builder never stops at the first.
//
// Input is the tree of parse_groovy() or of the YAML front end: both go through
// here, so both forms mean the same. Not responsible for running anything.
// Plain synchronous code.

#include <optional>
#include <set>
#include <string>

#include "gantry/pipelines/ast.hpp"
#include "gantry/pipelines/diagnostics.hpp"
#include "gantry/pipelines/model.hpp"

namespace gantry::pipelines {

// What shared libraries (libraries.hpp) bring to a file.
struct ModelOptions {
  bool libraries_loaded = false;      // the file's libraries are known: no warning about them
  std::set<std::string> globals;      // vars/ globals, callable as steps
  std::set<std::string> classes;      // src/ classes
  Node* template_pipeline = nullptr;  // a vars/ template's `pipeline` call, when the file has none
};

// Consumes `root` (moves expression nodes into the model). Returns nullopt
// when there were errors.
std::optional<Pipeline> build_model(Node& root, Diagnostics& diags,
                                    const ModelOptions& options = {});

}  // namespace gantry::pipelines
