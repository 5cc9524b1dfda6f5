#pragma once
// The parameters a run may be started with (SPEC §9, "Parameters"): only
// those the pipeline declares, each checked against its type and choices,
// and never a name that would change what Gantry itself sets (GIT_*,
// BUILD_*, RUN_ID, BRANCH_NAME, CHANGE_*, RELEASE_ID, ...) or how a shell
// or the loader starts (PATH, LD_*, BASH_ENV, ENV, ...), whatever the
// pipeline declares. Pure; no I/O.

#include <map>
#include <string>
#include <string_view>

#include "gantry/pipelines/expression.hpp"
#include "gantry/pipelines/model.hpp"

namespace gantry::pipelines {

// Why no parameter may have this name ("" when it may): not an environment
// variable name, one of Gantry's variables, or a loader or shell start-up one.
std::string reserved_parameter(std::string_view name);

// Why `params` cannot start a run of `pipeline` ("" when they can): a
// reserved name, one it does not declare (the message names the declared
// ones), a choice outside its choices, a booleanParam that is not
// true/false.
std::string check_run_parameters(const Pipeline& pipeline,
                                 const std::map<std::string, std::string>& params);

// `params` as anyone but the steps may see them: the values of the pipeline's `password`
// parameters replaced by "****" (they are secrets, SPEC §9).
std::map<std::string, std::string> shown_parameters(const Pipeline& pipeline,
                                                    std::map<std::string, std::string> params);

// `params` as Groovy code sees them (params.X in `when { expression }`, GStrings): the declared
// defaults, then the values given, each of its declared type: a booleanParam is a boolean ("true"
// is true, anything else false, as Jenkins' BooleanParameterValue), the rest strings. Given
// values the pipeline does not declare stay strings.
std::map<std::string, Value> typed_parameters(const Pipeline& pipeline,
                                              const std::map<std::string, std::string>& given);

}  // namespace gantry::pipelines
