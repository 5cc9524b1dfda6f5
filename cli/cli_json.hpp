#pragma once
// JSON output of the CLI's local commands.

#include <string>
#include <vector>

#include "gantry/pipelines/diagnostics.hpp"

namespace gantry::cli {

struct LintReport {
  std::string file;
  pipelines::Diagnostics diagnostics;
};

// {"files":[{"file","errors","warnings","diagnostics":[{"severity","line","column","message"}]}],
//  "errors":N,"warnings":N}
std::string lint_reports_to_json(const std::vector<LintReport>& reports);

}  // namespace gantry::cli
