#pragma once
// Decides a stage's `when` block at run time, with Jenkins' semantics:
// branch/tag patterns are Ant-style globs by default (comparator EQUALS or
// REGEXP on request), `environment` compares an env value, `equals` compares
// two evaluated expressions with Groovy's ==, `expression` runs the subset of
// expression.hpp, and not/allOf/anyOf combine. Conditions about changes
// (changeset, changelog, changeRequest) are false: Gantry does not compute
// change sets yet, and a stage guarded by one is skipped with that reason.
// Pure function; no I/O.

#include <string>

#include "gantry/pipelines/expression.hpp"
#include "gantry/pipelines/model.hpp"

namespace gantry::pipelines {

struct WhenContext {
  EvalContext eval;  // env (BRANCH_NAME, TAG_NAME, ...) and params
  std::string branch;
  std::string tag;
  std::string trigger;  // "api", "push", "cron", "retry of N", ...
  bool restarted = false;
};

struct WhenOutcome {
  bool run = false;
  std::string reason;  // why skipped: "when condition branch 'main' is false"; or the error
  bool error = false;  // an expression could not be evaluated: the stage fails
};

WhenOutcome evaluate_when(const WhenBlock& when, const WhenContext& ctx);

// Ant-style glob as Jenkins' `branch` uses it: `*` within a path segment,
// `**` across segments, `?` one character.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace gantry::pipelines
