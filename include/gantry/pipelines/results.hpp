#pragma once
// Build results as Jenkins names and orders them, and the rule that decides
// whether a `post { <condition> { } }` block runs. The agent's job runner uses
// it for a stage's post section and the pipeline's; the controller can use it
// to combine stage results into the run's.
//
// Not responsible for running anything or for storing results. Pure
// functions on plain values; safe from any thread.

#include <optional>
#include <string_view>

#include "gantry/pipelines/model.hpp"

namespace gantry::pipelines {

// Jenkins' order: a larger value is worse (SUCCESS < UNSTABLE < FAILURE <
// NOT_BUILT < ABORTED), so combining two results keeps the larger.
enum class Result { Success, Unstable, Failure, NotBuilt, Aborted };

const char* result_name(Result r);  // "SUCCESS", "UNSTABLE", ...

// Accepts exactly the names result_name() returns.
std::optional<Result> parse_result(std::string_view name);

Result worse(Result a, Result b);

// Whether a post block with condition `c` runs when the result so far is
// `current` and the previous run ended with `previous` (none for a first
// run), as in Jenkins:
//   always, cleanup      always (cleanup runs last: callers sort by condition)
//   changed              previous exists and differs
//   fixed                current SUCCESS, previous UNSTABLE or FAILURE
//   regression           previous SUCCESS, current UNSTABLE, FAILURE or ABORTED
//   aborted, success, unstable, failure, notBuilt   current is that result
//   unsuccessful         current is not SUCCESS
bool post_applies(PostCondition c, Result current, std::optional<Result> previous);

}  // namespace gantry::pipelines
