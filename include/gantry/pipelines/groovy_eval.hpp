#pragma once
// The controller's Groovy (docs/groovy.md): what Jenkins evaluates away from
// any agent, `when { expression { } }`, trigger arguments and agent labels,
// with all of Groovy rather than the expression subset. The Jenkinsfile's
// methods and top-level variables are there (its top-level code runs first,
// quietly), then the run's script variables (RunRecord.script_state), env,
// params and currentBuild. A step cannot run here: calling one is an error.
//
// Bounded (a few million operations) since the caller's event loop waits on
// it. Pure: no I/O, no clock beyond what scripts ask of the allow-list.

#include <memory>
#include <string_view>
#include <vector>

#include "gantry/pipelines/ast.hpp"
#include "gantry/pipelines/expression.hpp"
#include "gantry/pipelines/loader.hpp"

namespace gantry::pipelines::groovy {

// Evaluates `expr` (a closure: calls it and takes its value) as a string,
// number, boolean or null; anything else as its text.
// `libraries`: the run's parsed shared libraries (loader.hpp), or null.
EvalResult evaluate_for_controller(const std::shared_ptr<const Node>& file, const Node& expr,
                                   const EvalContext& ctx, std::string_view script_state,
                                   const std::vector<ParsedLibraryFile>* libraries = nullptr);

}  // namespace gantry::pipelines::groovy
